package dicomweb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/blob"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// readHeader opens an instance's blob and parses its header, leaving bulk
// values in the blob (read later by offset). A deflated instance, whose
// offsets are those of the inflated stream, is read whole. The caller
// closes the reader.
func (s *Service) readHeader(ctx context.Context, rec *index.InstanceRecord) (*dicom.File, blob.Reader, error) {
	br, err := s.arch.Blobs().Open(ctx, rec.Instance.BlobKey)
	if err != nil {
		return nil, nil, fmt.Errorf("dicomweb: open %s: %w", rec.Instance.SOPInstanceUID, err)
	}
	opts := dicom.ReadOptions{}
	if rec.Instance.TransferSyntaxUID == dicom.DeflatedExplicitVRLittleEndian {
		opts.LoadBulk = true
	}
	f, err := dicom.Read(br, br.Size(), opts)
	if err != nil {
		br.Close()
		return nil, nil, fmt.Errorf("dicomweb: read %s: %w", rec.Instance.SOPInstanceUID, err)
	}
	if f.TransferSyntax == dicom.DeflatedExplicitVRLittleEndian && !opts.LoadBulk {
		br.Close()
		if br, err = s.arch.Blobs().Open(ctx, rec.Instance.BlobKey); err != nil {
			return nil, nil, err
		}
		if f, err = dicom.Read(br, br.Size(), dicom.ReadOptions{LoadBulk: true}); err != nil {
			br.Close()
			return nil, nil, fmt.Errorf("dicomweb: read %s: %w", rec.Instance.SOPInstanceUID, err)
		}
	}
	if _, err := br.Seek(0, io.SeekStart); err != nil {
		br.Close()
		return nil, nil, err
	}
	return f, br, nil
}

// valueBytes returns the bytes of a non-encapsulated element, read from
// src when left there, converted to little endian when the data set is
// big endian.
func valueBytes(e *dicom.Element, ds *dicom.Dataset, src io.ReaderAt) ([]byte, error) {
	v := e.Value
	if e.Bulk {
		v = make([]byte, e.Length)
		if _, err := src.ReadAt(v, e.Offset); err != nil {
			return nil, fmt.Errorf("dicomweb: read %s at %d: %w", e.Tag, e.Offset, err)
		}
	}
	if ds.Encoding.BigEndian {
		v = swapped(v, e.VR.WordSize())
	}
	return v, nil
}

func swapped(v []byte, word int) []byte {
	if word <= 1 {
		return v
	}
	out := make([]byte, len(v))
	for i := 0; i+word <= len(v); i += word {
		for j := 0; j < word; j++ {
			out[i+j] = v[i+word-1-j]
		}
	}
	return out
}

// pixelInfo reads the Image Pixel module attributes frames depend on.
func pixelInfo(ds *dicom.Dataset) FrameInfo {
	get := func(t dicom.Tag) int {
		v, _ := ds.Int(t)
		return int(v)
	}
	fi := FrameInfo{
		Rows:                      get(dicom.TagRows),
		Columns:                   get(dicom.TagColumns),
		SamplesPerPixel:           get(dicom.TagSamplesPerPixel),
		BitsAllocated:             get(dicom.TagBitsAllocated),
		BitsStored:                get(dicom.TagBitsStored),
		PixelRepresentation:       get(dicom.TagPixelRepresentation),
		PhotometricInterpretation: ds.String(dicom.Tag(0x00280004)),
		PlanarConfiguration:       get(dicom.Tag(0x00280006)),
	}
	if fi.SamplesPerPixel == 0 {
		fi.SamplesPerPixel = 1
	}
	return fi
}

func numberOfFrames(ds *dicom.Dataset) int {
	if n, ok := ds.Int(dicom.TagNumberOfFrames); ok && n > 0 {
		return int(n)
	}
	return 1
}

// pixelElement returns the pixel data element (Pixel Data, Float or Double
// Float Pixel Data).
func pixelElement(ds *dicom.Dataset) *dicom.Element {
	for _, t := range []dicom.Tag{dicom.TagPixelData, dicom.TagFloatPixelData, dicom.TagDoubleFloatPixelData} {
		if e := ds.Get(t); e != nil {
			return e
		}
	}
	return nil
}

// frameSource extracts frames of one instance.
type frameSource struct {
	f      *dicom.File
	src    io.ReaderAt
	pix    *dicom.Element
	info   FrameInfo
	frames int
	ts     string
	// encapsulated: the fragments of each frame
	spans []codec.FrameSpan
	// px locates encapsulated frames when the codec package can
	px *codec.Pixels
}

// newFrameSource prepares frame extraction for the instance. Encapsulated
// frames are located by the codec package (offset tables, fragments,
// codestream markers) when it knows the syntax, and otherwise here.
func newFrameSource(f *dicom.File, src io.ReaderAt) (*frameSource, error) {
	return newFrameSourceWith(f, src, true)
}

func newFrameSourceWith(f *dicom.File, src io.ReaderAt, useCodec bool) (*frameSource, error) {
	ds := f.Dataset
	pix := pixelElement(ds)
	if pix == nil {
		return nil, errorf(http.StatusNotFound, "the instance has no pixel data")
	}
	fs := &frameSource{f: f, src: src, pix: pix, info: pixelInfo(ds), frames: numberOfFrames(ds), ts: f.TransferSyntax}
	if pix.IsEncapsulated() && useCodec {
		if px, err := codec.Open(ds, f.TransferSyntax, src, codec.Options{}); err == nil {
			fs.px = px
			fs.frames = px.NumFrames()
			return fs, nil
		}
	}
	if !pix.IsEncapsulated() {
		if fs.frameBits() <= 0 {
			return nil, errorf(http.StatusNotFound, "the instance's Rows, Columns or Bits Allocated are missing; frames cannot be delimited")
		}
		return fs, nil
	}
	if err := fs.delimit(); err != nil {
		return nil, err
	}
	return fs, nil
}

func (fs *frameSource) frameBits() int64 {
	bits := int64(fs.info.BitsAllocated)
	switch fs.pix.Tag {
	case dicom.TagFloatPixelData:
		bits = 32
	case dicom.TagDoubleFloatPixelData:
		bits = 64
	}
	return int64(fs.info.Rows) * int64(fs.info.Columns) * int64(fs.info.SamplesPerPixel) * bits
}

// delimit finds the fragments of each frame of encapsulated pixel data,
// with the codec package's rules (offset tables, one fragment per frame,
// frame-start markers), for syntaxes it cannot decode too.
func (fs *frameSource) delimit() error {
	spans, err := codec.LocateFrames(fs.f.Dataset, fs.pix, fs.frames, fs.src)
	if err != nil {
		return errorf(http.StatusNotImplemented, "cannot delimit %d frames in %d fragments: %v", fs.frames, len(fs.pix.Fragments)-1, err)
	}
	fs.spans = spans
	return nil
}

// frame returns frame n (1-based) as stored (native frames little endian).
func (fs *frameSource) frame(n int) ([]byte, error) {
	if n < 1 || n > fs.frames {
		return nil, errorf(http.StatusNotFound, "frame %d does not exist (the instance has %d)", n, fs.frames)
	}
	if !fs.pix.IsEncapsulated() {
		bits := fs.frameBits()
		start, end := int64(n-1)*bits, int64(n)*bits
		if end > int64(fs.pix.ValueLength())*8 {
			return nil, errorf(http.StatusNotFound, "frame %d lies beyond the pixel data (%d bytes)", n, fs.pix.ValueLength())
		}
		lo, hi := start/8, (end+7)/8
		buf := make([]byte, hi-lo)
		if fs.pix.Bulk {
			if _, err := fs.src.ReadAt(buf, fs.pix.Offset+lo); err != nil {
				return nil, fmt.Errorf("dicomweb: read frame %d: %w", n, err)
			}
		} else {
			copy(buf, fs.pix.Value[lo:hi])
		}
		if fs.f.Dataset.Encoding.BigEndian && fs.pix.VR != dicom.OB {
			buf = swapped(buf, max(2, fs.pix.VR.WordSize()))
		}
		if shift := start % 8; shift != 0 || bits%8 != 0 {
			buf = shiftBits(buf, int(shift), int((bits+7)/8))
		}
		return buf, nil
	}
	if fs.px != nil {
		b, err := fs.px.RawFrame(n - 1)
		if err != nil {
			return nil, fmt.Errorf("dicomweb: read frame %d: %w", n, err)
		}
		return b, nil
	}
	span := fs.spans[n-1]
	frags := fs.pix.Fragments[span.First:span.End]
	var total int64
	for _, fr := range frags {
		total += int64(fr.Length)
	}
	var b bytes.Buffer
	b.Grow(int(total))
	for _, fr := range frags {
		if fr.Data != nil {
			b.Write(fr.Data)
			continue
		}
		buf := make([]byte, fr.Length)
		if _, err := fs.src.ReadAt(buf, fr.Offset); err != nil {
			return nil, fmt.Errorf("dicomweb: read frame %d: %w", n, err)
		}
		b.Write(buf)
	}
	out := b.Bytes()
	if span.Length >= 0 && span.Length < int64(len(out)) {
		out = out[:span.Length] // Extended Offset Table length: the rest is padding
	}
	return out, nil
}

// shiftBits returns n bytes of buf starting shift bits in (single-bit
// pixel data whose frames do not start on a byte boundary; bit order as
// PS3.5 8.1.1 packs it, least significant bit first).
func shiftBits(buf []byte, shift, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		var lo, hi byte
		if i < len(buf) {
			lo = buf[i] >> shift
		}
		if shift > 0 && i+1 < len(buf) {
			hi = buf[i+1] << (8 - shift)
		}
		out[i] = lo | hi
	}
	return out
}

// parseFrameList reads "1,3,5" into frame numbers.
func parseFrameList(s string) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 {
			return nil, errorf(http.StatusBadRequest, "frame list %q: %q is not a frame number (frames count from 1)", s, p)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, errorf(http.StatusBadRequest, "empty frame list")
	}
	return out, nil
}

// frameChoice is one acceptable way to send frames, from negotiating a
// frame or pixel response.
type frameChoice struct {
	single   bool   // single part response
	ctype    string // Content-Type of the parts
	ts       string // syntax sent
	transTo  string // non-empty: transcode from the stored syntax to this one
	partType string // type parameter of the multipart response
}

// defaultFrameTS is the default transfer syntax of each compressed pixel
// media type (PS3.18 Table 8.7.3-5), used when the Accept header names the
// type without a transfer-syntax parameter.
var defaultFrameTS = map[string]string{
	"image/jpeg":        dicom.JPEGBaseline8Bit,
	"image/jls":         dicom.JPEGLSLossless,
	"image/x-jls":       dicom.JPEGLSLossless,
	"image/jp2":         dicom.JPEG2000Lossless,
	"image/jphc":        dicom.HTJ2KLossless,
	"image/jhc":         dicom.HTJ2KLossless,
	"image/jxl":         dicom.JPEGXLLossless,
	"image/dicom-rle":   dicom.RLELossless,
	"image/x-dicom-rle": dicom.RLELossless,
}

// negotiateFrames lists, in the client's order of preference, the
// acceptable ways to send frames stored in syntax ts (see the "Transfer
// syntaxes" notes of the package documentation). A lossy syntax is a
// candidate only when the client names it: in a transfer-syntax
// parameter, or as the default of a media type it names (image/jpeg
// means JPEG baseline); never from "*" or a wildcard type.
func (s *Service) negotiateFrames(accept, ts string, one bool) ([]frameChoice, error) {
	native := isNative(ts)
	storedType := pixelMediaType(ts)
	label := func(typ, sendTS string) string { return typ + "; transfer-syntax=" + sendTS }
	var out []frameChoice
	var why string
	can := func(to string) bool {
		return s.opts.Transcoder != nil && s.opts.Transcoder.CanTranscode(ts, to)
	}
	for _, it := range parseAccept(accept) {
		single := !it.multipart && it.typ != "*/*"
		if single && !one {
			continue
		}
		// stored adds the frames as they are; conv adds them converted to
		// sendTS (labelled typ) when a transcoder can.
		stored := func(typ string) {
			sendTS := ts
			if native {
				sendTS = dicom.ExplicitVRLittleEndian
			}
			out = append(out, frameChoice{single: single, ctype: label(typ, sendTS), ts: sendTS, partType: typ})
		}
		conv := func(typ, sendTS string) {
			switch {
			case sendTS == ts || native && sendTS == dicom.ExplicitVRLittleEndian:
				stored(typ)
			case can(sendTS):
				out = append(out, frameChoice{single: single, ctype: label(typ, sendTS), ts: sendTS, transTo: sendTS, partType: typ})
			case why == "":
				why = fmt.Sprintf("the pixel data is stored as %s (%s) and this server cannot convert it to %s in %s (no codec decodes the one or encodes the other); ask for transfer-syntax=* for the stored bytes",
					ts, storedType, typ, sendTS)
			}
		}
		typ, anyTS := it.typ, it.ts == "" || it.ts == "*"
		switch {
		case typ == "" || typ == "*/*":
			switch {
			case anyTS && native:
				stored("application/octet-stream")
			case anyTS:
				stored(storedType)
			case isNative(it.ts):
				if it.ts == dicom.ExplicitVRLittleEndian {
					conv("application/octet-stream", it.ts)
				}
			default:
				conv(pixelMediaType(it.ts), it.ts)
			}
		case typ == "application/octet-stream":
			switch {
			case native && (anyTS || it.ts == dicom.ExplicitVRLittleEndian):
				stored(typ)
			case it.ts == "*":
				out = append(out, frameChoice{single: single, ctype: label(typ, ts), ts: ts, partType: typ})
			case it.ts == "":
				// The default is uncompressed, which needs a codec; clients
				// that send no transfer-syntax want the pixels in whatever
				// syntax they are, so without one send the stored bytes,
				// labelled.
				if can(dicom.ExplicitVRLittleEndian) {
					conv(typ, dicom.ExplicitVRLittleEndian)
				} else {
					out = append(out, frameChoice{single: single, ctype: label(storedType, ts), ts: ts, partType: typ})
				}
			case isNative(it.ts):
				if it.ts == dicom.ExplicitVRLittleEndian {
					conv(typ, it.ts)
				}
			default:
				conv(typ, it.ts)
			}
		case strings.HasSuffix(typ, "/*"):
			switch {
			case anyTS && !native && typeMatchesTS(typ, ts):
				stored(storedType)
			case !anyTS && typeMatchesTS(typ, it.ts):
				conv(pixelMediaType(it.ts), it.ts)
			}
		default:
			switch {
			case !anyTS && !typeMatchesTS(typ, it.ts):
				if why == "" {
					why = fmt.Sprintf("media type %s cannot carry transfer syntax %s", typ, it.ts)
				}
			case !anyTS:
				conv(typ, it.ts)
			case !native && typeMatchesTS(typ, ts):
				stored(typ)
			default:
				def, ok := defaultFrameTS[typ]
				if ok && (it.ts == "" || !isLossy(def)) {
					conv(typ, def)
				}
			}
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	if why == "" {
		why = fmt.Sprintf(`pixel data is served as multipart/related; type="application/octet-stream" or type="%s", or converted to a compressed type with a transfer-syntax parameter; the Accept header %q allows none of these`, storedType, accept)
	}
	return nil, errorf(http.StatusNotAcceptable, "%s", why)
}

// frames serves WADO-RS /frames/{list}.
func (s *Service) frames(w http.ResponseWriter, r *http.Request) error {
	t, err := targetOf(r)
	if err != nil {
		return err
	}
	list, err := parseFrameList(r.PathValue("frames"))
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
	rec := &recs[0]
	cands, err := s.negotiateFrames(r.Header.Get("Accept"), rec.Instance.TransferSyntaxUID, len(list) == 1)
	if err != nil {
		return err
	}
	f, br, err := s.readHeader(ctxOf(r), rec)
	if err != nil {
		return err
	}
	defer br.Close()
	src, err := newFrameSource(f, br)
	if err != nil {
		return err
	}
	for _, n := range list {
		if n > src.frames {
			return errorf(http.StatusNotFound, "frame %d does not exist (the instance has %d)", n, src.frames)
		}
	}
	v := validatorsOf(recs, "frames"+r.PathValue("frames")+";"+r.Header.Get("Accept"))
	return s.sendFrames(w, r, src, list, cands, v)
}

// sendFrames writes frames as a multipart or single part response.
// The first frame is converted with each candidate in turn until one can
// represent it (JPEG baseline cannot encode 16-bit samples, ...): none
// gives 406.
func (s *Service) sendFrames(w http.ResponseWriter, r *http.Request, src *frameSource, list []int, cands []frameChoice, v validators) error {
	ctx := ctxOf(r)
	var choice frameChoice
	get := func(n int) ([]byte, error) {
		if choice.transTo == "" {
			return src.frame(n)
		}
		return s.opts.Transcoder.TranscodeFrame(ctx, src.f, src.src, n, choice.transTo)
	}
	if !cands[0].single && v.notModified(w, r) {
		return nil
	}
	var first []byte
	var errs []string
	for _, c := range cands {
		choice = c
		b, err := get(list[0])
		if err == nil {
			first, errs = b, nil
			break
		}
		if !errors.Is(err, codec.ErrUnsupported) {
			return err
		}
		errs = append(errs, err.Error())
	}
	if errs != nil {
		return errorf(http.StatusNotAcceptable, "frame %d cannot be sent in any transfer syntax the Accept header allows: %s", list[0], strings.Join(errs, "; "))
	}
	if choice.single {
		b := first
		w.Header().Set("Content-Type", choice.ctype)
		w.Header().Set("ETag", v.etag)
		http.ServeContent(w, r, "", v.lastMod, bytes.NewReader(b))
		return nil
	}
	mw := newMultipart(w, choice.partType)
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	for i, n := range list {
		b := first
		if i > 0 {
			var err error
			if b, err = get(n); err != nil {
				return err
			}
		}
		hdr := textproto.MIMEHeader{}
		hdr.Set("Content-Type", choice.ctype)
		hdr.Set("Content-Length", strconv.Itoa(len(b)))
		pw, err := mw.CreatePart(hdr)
		if err != nil {
			return err
		}
		if _, err := pw.Write(b); err != nil {
			return err
		}
	}
	return mw.Close()
}

// typeMatchesTS reports whether the media range typ admits a media type of
// compressed pixel data in syntax ts.
func typeMatchesTS(typ, ts string) bool {
	for _, t := range tsMediaTypes[ts] {
		if matchesType(typ, t) {
			return true
		}
	}
	return false
}
