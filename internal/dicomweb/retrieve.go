package dicomweb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"

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

// dicomChoice is the outcome of negotiating an application/dicom response.
type dicomChoice struct {
	single bool   // single part application/dicom (one instance only)
	ts     string // target syntax; "" = each instance as stored
}

// negotiateDICOM picks how to send instances with the stored syntaxes
// given from the Accept header.
func (s *Service) negotiateDICOM(accept string, stored []string, one bool) (dicomChoice, error) {
	var why []string
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
			return dicomChoice{single: single}, nil
		}
		ok := true
		for _, ts := range stored {
			if ts != it.ts && (s.opts.Transcoder == nil || !s.opts.Transcoder.CanTranscode(ts, it.ts)) {
				ok = false
				why = append(why, fmt.Sprintf("an instance is stored in %s and cannot be converted to %s (transcoding arrives with the pixel codecs; ask for transfer-syntax=*)", ts, it.ts))
				break
			}
		}
		if ok {
			allStored := true
			for _, ts := range stored {
				allStored = allStored && ts == it.ts
			}
			if allStored {
				return dicomChoice{single: single}, nil
			}
			return dicomChoice{single: single, ts: it.ts}, nil
		}
	}
	if len(why) > 0 {
		return dicomChoice{}, errorf(http.StatusNotAcceptable, "%s", why[0])
	}
	return dicomChoice{}, errorf(http.StatusNotAcceptable,
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
	choice, err := s.negotiateDICOM(accept, stored, one && len(recs) == 1)
	if err != nil {
		return err
	}
	v := validatorsOf(recs, "dicom"+choice.ts)
	ctx := ctxOf(r)
	if choice.single {
		rec := &recs[0]
		if choice.ts != "" {
			w.Header().Set("Content-Type", "application/dicom; transfer-syntax="+choice.ts)
			if v.notModified(w, r) {
				return nil
			}
			return s.transcodeInstance(ctx, w, rec, choice.ts)
		}
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
	if choice.ts != "" {
		return s.sendTranscoded(w, r, recs, choice.ts)
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

// sendTranscoded streams recs converted to ts, as multipart/related.
func (s *Service) sendTranscoded(w http.ResponseWriter, r *http.Request, recs []index.InstanceRecord, ts string) error {
	ctx := ctxOf(r)
	mw := newMultipart(w, "application/dicom")
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	for i := range recs {
		rec := &recs[i]
		hdr := textproto.MIMEHeader{}
		hdr.Set("Content-Type", "application/dicom; transfer-syntax="+ts)
		hdr.Set("Content-Location", instanceURL(s.baseURL(r), rec))
		pw, err := mw.CreatePart(hdr)
		if err != nil {
			return err
		}
		if ts == rec.Instance.TransferSyntaxUID {
			err = s.copyBlob(ctx, pw, rec)
		} else {
			err = s.transcodeInstance(ctx, pw, rec, ts)
		}
		if err != nil {
			return err
		}
	}
	return mw.Close()
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
