package dicomweb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// FrameInfo describes the pixels of a frame (Image Pixel module).
type FrameInfo struct {
	Rows, Columns, SamplesPerPixel int
	BitsAllocated, BitsStored      int
	PixelRepresentation            int
	PhotometricInterpretation      string
	PlanarConfiguration            int
}

// dicomChoice is one acceptable way to send instances, from negotiating
// an application/dicom response.
type dicomChoice struct {
	single bool   // single part application/dicom (one instance only)
	ts     string // target syntax; "" = each instance as stored
}

// negotiateDICOM lists, in the client's order of preference (q, then
// order of appearance), the acceptable ways to send instances stored in
// the syntaxes given. A syntax is only a candidate when every stored one
// can be converted to it; whether a particular instance's pixels can be
// encoded (JPEG baseline needs 8-bit samples, ...) is found out when it is
// sent, falling back to the next candidate. A lossy syntax is a candidate
// only when named in a transfer-syntax parameter, never through "*".
func (s *Service) negotiateDICOM(accept string, stored []string, one bool) ([]dicomChoice, error) {
	var why []string
	var out []dicomChoice
	for _, it := range parseAccept(accept) {
		single := false
		switch {
		case it.multipart && (it.typ == "" || it.typ == "application/dicom"):
		case !it.multipart && it.typ == "application/dicom" && one:
			single = true
		case !it.multipart && (it.typ == "*/*" || it.typ == "multipart/*" || it.typ == "application/*"):
			// Any type: the multipart default.
		default:
			continue
		}
		if it.ts == "" || it.ts == "*" {
			out = append(out, dicomChoice{single: single})
			continue
		}
		ok, allStored := true, true
		for _, ts := range stored {
			allStored = allStored && ts == it.ts
			if ts != it.ts && (s.opts.Transcoder == nil || !s.opts.Transcoder.CanTranscode(ts, it.ts)) {
				ok = false
				why = append(why, fmt.Sprintf("an instance is stored in %s, which this server cannot convert to %s (no codec decodes the one or encodes the other); ask for transfer-syntax=* for the stored bytes", ts, it.ts))
				break
			}
		}
		switch {
		case ok && allStored:
			out = append(out, dicomChoice{single: single})
		case ok:
			out = append(out, dicomChoice{single: single, ts: it.ts})
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	if len(why) > 0 {
		return nil, errorf(http.StatusNotAcceptable, "%s", why[0])
	}
	return nil, errorf(http.StatusNotAcceptable,
		`instances are served as multipart/related; type="application/dicom" (or application/dicom for one instance); the Accept header %q allows neither`, accept)
}

// retrieve serves WADO-RS study, series and instance retrieval.
func (s *Service) retrieve(w http.ResponseWriter, r *http.Request) error {
	t, err := targetOf(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r, ActionRetrieve, t.resource()); err != nil {
		return err
	}
	recs, err := s.instances(r, t)
	if err != nil {
		return err
	}
	return s.sendInstances(w, r, recs, t.level() == index.InstanceLevel, r.Header.Get("Accept"))
}

// sendInstances streams recs as multipart/related (or one instance single
// part), after negotiating with accept.
func (s *Service) sendInstances(w http.ResponseWriter, r *http.Request, recs []index.InstanceRecord, one bool, accept string) error {
	stored := make([]string, 0, 4)
	seen := map[string]bool{}
	for i := range recs {
		ts := recs[i].Instance.TransferSyntaxUID
		if !seen[ts] {
			seen[ts] = true
			stored = append(stored, ts)
		}
	}
	cands, err := s.negotiateDICOM(accept, stored, one && len(recs) == 1)
	if err != nil {
		return err
	}
	choice := cands[0]
	key := "dicom"
	for _, c := range cands {
		key += ";" + strconv.FormatBool(c.single) + c.ts
	}
	v := validatorsOf(recs, key)
	ctx := ctxOf(r)
	if choice.ts != "" {
		if v.notModified(w, r) {
			return nil
		}
		return s.sendTranscoded(w, r, recs, cands)
	}
	if choice.single {
		rec := &recs[0]
		br, err := s.arch.Blobs().Open(ctx, rec.Instance.BlobKey)
		if err != nil {
			return fmt.Errorf("dicomweb: open %s: %w", rec.Instance.SOPInstanceUID, err)
		}
		defer br.Close()
		w.Header().Set("Content-Type", "application/dicom; transfer-syntax="+rec.Instance.TransferSyntaxUID)
		w.Header().Set("ETag", v.etag)
		http.ServeContent(w, r, "", rec.Instance.ReceivedAt, br)
		return nil
	}
	if v.notModified(w, r) {
		return nil
	}
	// Stored bytes: the framing is known in advance, so the response has a
	// Content-Length (no chunking) and the blobs are copied straight to
	// the connection (sendfile where the blob store keeps files).
	base := s.baseURL(r)
	boundary := newBoundary()
	heads := make([][]byte, len(recs))
	total := int64(0)
	for i := range recs {
		rec := &recs[i]
		var h []byte
		if i > 0 {
			h = append(h, "\r\n"...)
		}
		h = append(h, "--"+boundary+"\r\nContent-Type: application/dicom; transfer-syntax="+rec.Instance.TransferSyntaxUID+
			"\r\nContent-Length: "+strconv.FormatInt(rec.Instance.Size, 10)+
			"\r\nContent-Location: "+instanceURL(base, rec)+"\r\n\r\n"...)
		heads[i] = h
		total += int64(len(h)) + rec.Instance.Size
	}
	tail := "\r\n--" + boundary + "--\r\n"
	total += int64(len(tail))
	w.Header().Set("Content-Type", `multipart/related; type="application/dicom"; boundary=`+boundary)
	w.Header().Set("Content-Length", strconv.FormatInt(total, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	for i := range recs {
		if _, err := w.Write(heads[i]); err != nil {
			return err
		}
		if err := s.copyBlob(ctx, w, &recs[i]); err != nil {
			return err
		}
	}
	_, err = io.WriteString(w, tail)
	return err
}

// sendTranscoded streams recs converted to the first candidate syntax that
// works for each (see negotiateDICOM), one instance at a time: a part is
// started only once its instance has been converted up to its first
// bytes, so an instance the candidate cannot represent moves on to the
// next candidate. When no candidate works for the first instance the
// answer is 406; for a later one the response, already under way, is
// aborted.
func (s *Service) sendTranscoded(w http.ResponseWriter, r *http.Request, recs []index.InstanceRecord, cands []dicomChoice) error {
	ctx := ctxOf(r)
	base := s.baseURL(r)
	if r.Method == http.MethodHead {
		if c := cands[0]; c.single {
			w.Header().Set("Content-Type", "application/dicom; transfer-syntax="+c.ts)
		} else {
			newMultipart(w, "application/dicom")
		}
		w.WriteHeader(http.StatusOK)
		return nil
	}
	var mw *multipartWriter
	for i := range recs {
		rec := &recs[i]
		var errs []string
		sent := false
		for _, c := range cands {
			if c.single && (mw != nil || len(recs) > 1) {
				continue
			}
			ts := c.ts
			if ts == "" {
				ts = rec.Instance.TransferSyntaxUID
			}
			lw := &lazyWriter{begin: func() (io.Writer, error) {
				if c.single {
					w.Header().Set("Content-Type", "application/dicom; transfer-syntax="+ts)
					w.WriteHeader(http.StatusOK)
					return w, nil
				}
				if mw == nil {
					mw = newMultipart(w, "application/dicom")
				}
				hdr := textproto.MIMEHeader{}
				hdr.Set("Content-Type", "application/dicom; transfer-syntax="+ts)
				hdr.Set("Content-Location", instanceURL(base, rec))
				return mw.CreatePart(hdr)
			}}
			if ts == rec.Instance.TransferSyntaxUID {
				err := s.copyBlob(ctx, lw, rec)
				if err != nil {
					return err
				}
			} else if err := s.transcodeInstance(ctx, lw, rec, ts); err != nil {
				if lw.started || !errors.Is(err, codec.ErrUnsupported) {
					return err
				}
				errs = append(errs, err.Error())
				continue
			}
			if !lw.started {
				// An empty result still makes its part.
				if _, err := lw.Write(nil); err != nil {
					return err
				}
			}
			sent = true
			break
		}
		if !sent {
			msg := fmt.Sprintf("instance %s cannot be sent in any transfer syntax the Accept header allows: %s",
				rec.Instance.SOPInstanceUID, strings.Join(errs, "; "))
			if mw == nil {
				return errorf(http.StatusNotAcceptable, "%s", msg)
			}
			return errors.New("dicomweb: " + msg)
		}
	}
	if mw == nil {
		return nil // one instance, single part
	}
	return mw.Close()
}

// lazyWriter starts its destination (a response or multipart part) on the
// first Write, so that a conversion that fails before producing output
// leaves nothing behind.
type lazyWriter struct {
	begin   func() (io.Writer, error)
	w       io.Writer
	started bool
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if !l.started {
		l.started = true
		w, err := l.begin()
		if err != nil {
			return 0, err
		}
		l.w = w
	}
	return l.w.Write(p)
}

// copyBlob copies an instance's stored bytes to w.
func (s *Service) copyBlob(ctx context.Context, w io.Writer, rec *index.InstanceRecord) error {
	br, err := s.arch.Blobs().Open(ctx, rec.Instance.BlobKey)
	if err != nil {
		return fmt.Errorf("dicomweb: open %s: %w", rec.Instance.SOPInstanceUID, err)
	}
	defer br.Close()
	if _, err := io.Copy(w, br); err != nil {
		return fmt.Errorf("dicomweb: send %s: %w", rec.Instance.SOPInstanceUID, err)
	}
	return nil
}

func (s *Service) transcodeInstance(ctx context.Context, w io.Writer, rec *index.InstanceRecord, ts string) error {
	f, br, err := s.readHeader(ctx, rec)
	if err != nil {
		return err
	}
	defer br.Close()
	return s.opts.Transcoder.TranscodeInstance(ctx, w, f, br, ts)
}

// multipartWriter writes a multipart/related response.
type multipartWriter struct {
	*multipart.Writer
}

// newMultipart sets the response's Content-Type to multipart/related with
// the given part type and returns a writer for its parts.
func newMultipart(w http.ResponseWriter, partType string) *multipartWriter {
	mw := multipart.NewWriter(w)
	boundary := newBoundary()
	mw.SetBoundary(boundary)
	w.Header().Set("Content-Type", `multipart/related; type="`+partType+`"; boundary=`+boundary)
	return &multipartWriter{mw}
}

// newBoundary returns a fresh multipart boundary.
func newBoundary() string {
	var b [16]byte
	rand.Read(b[:])
	return "lightbox-" + hex.EncodeToString(b[:])
}
