package dicomweb

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/imaging"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// renderParams are the rendering query parameters (PS3.18 8.3.5.1) of a
// /rendered or /thumbnail request, or their WADO-URI equivalents.
type renderParams struct {
	window  *imaging.Window
	vw, vh  int             // viewport; 0 = unbounded
	region  image.Rectangle // source rectangle in pixels; empty = whole frame
	regionN [4]float64      // WADO-URI region, fractions of the frame
	hasRegN bool
	quality int // 0 = default
}

// key is a canonical form of p for ETags.
func (p renderParams) key() string {
	var b strings.Builder
	if p.window != nil {
		fmt.Fprintf(&b, "w%g,%g,%s;", p.window.Center, p.window.Width, p.window.Function)
	}
	fmt.Fprintf(&b, "v%d,%d;r%v;n%v%v;q%d", p.vw, p.vh, p.region, p.hasRegN, p.regionN, p.quality)
	return b.String()
}

// voiFunctions maps the window parameter's function names (PS3.18 Table
// 8.3.5-1) to VOI LUT Functions.
var voiFunctions = map[string]string{
	"linear":       imaging.FunctionLinear,
	"linear-exact": imaging.FunctionLinearExact,
	"sigmoid":      imaging.FunctionSigmoid,
}

// parseRenderQuery reads window, viewport and quality; annotation (burned-in
// patient/technique text) and other parameters are accepted and ignored.
func parseRenderQuery(q url.Values) (renderParams, error) {
	var p renderParams
	if v, ok := q["window"]; ok {
		parts := strings.Split(v[0], ",")
		if len(parts) < 2 || len(parts) > 3 {
			return p, errorf(http.StatusBadRequest, "window=%q: want center,width[,function]", v[0])
		}
		c, err1 := strconv.ParseFloat(strings.TrimSpace(parts[0]), 64)
		wd, err2 := strconv.ParseFloat(strings.TrimSpace(parts[1]), 64)
		if err1 != nil || err2 != nil || math.IsNaN(c) || math.IsInf(c, 0) || !(wd > 0) || math.IsInf(wd, 0) {
			return p, errorf(http.StatusBadRequest, "window=%q: center and width must be numbers, width > 0", v[0])
		}
		w := &imaging.Window{Center: c, Width: wd, Function: imaging.FunctionLinear}
		if len(parts) == 3 {
			fn, ok := voiFunctions[strings.ToLower(strings.TrimSpace(parts[2]))]
			if !ok {
				return p, errorf(http.StatusBadRequest, "window=%q: function must be linear, linear-exact or sigmoid", v[0])
			}
			w.Function = fn
		}
		if w.Function == imaging.FunctionLinear && wd < 1 {
			return p, errorf(http.StatusBadRequest, "window=%q: a linear window needs width >= 1", v[0])
		}
		p.window = w
	}
	if v, ok := q["viewport"]; ok {
		parts := strings.Split(v[0], ",")
		if len(parts) != 2 && len(parts) != 6 {
			return p, errorf(http.StatusBadRequest, "viewport=%q: want vw,vh or vw,vh,sx,sy,sw,sh", v[0])
		}
		n := make([]int, len(parts))
		for i, s := range parts {
			x, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || x < 0 || x > 1<<16 {
				return p, errorf(http.StatusBadRequest, "viewport=%q: %q is not a non-negative integer (negative sizes, which flip, are not supported)", v[0], s)
			}
			n[i] = x
		}
		if n[0] == 0 || n[1] == 0 {
			return p, errorf(http.StatusBadRequest, "viewport=%q: width and height must be positive", v[0])
		}
		p.vw, p.vh = n[0], n[1]
		if len(n) == 6 {
			if n[4] == 0 || n[5] == 0 {
				return p, errorf(http.StatusBadRequest, "viewport=%q: source width and height must be positive", v[0])
			}
			p.region = image.Rect(n[2], n[3], n[2]+n[4], n[3]+n[5])
		}
	}
	if v, ok := q["quality"]; ok {
		x, err := strconv.Atoi(strings.TrimSpace(v[0]))
		if err != nil || x < 1 || x > 100 {
			return p, errorf(http.StatusBadRequest, "quality=%q: want an integer 1..100", v[0])
		}
		p.quality = x
	}
	return p, nil
}

// negotiateRendered picks the rendered media type from the Accept header:
// image/jpeg (the default) or image/png.
func negotiateRendered(accept string) (string, error) {
	for _, it := range parseAccept(accept) {
		if it.multipart {
			continue
		}
		switch it.typ {
		case imaging.MediaTypeJPEG, "image/*", "*/*":
			return imaging.MediaTypeJPEG, nil
		case imaging.MediaTypePNG:
			return imaging.MediaTypePNG, nil
		}
	}
	return "", errorf(http.StatusNotAcceptable,
		"rendered images are served as image/jpeg or image/png; the Accept header %q allows neither (GIF, video and multi-frame renderings are not supported)", accept)
}

// rendered serves /rendered and /thumbnail (PS3.18 10.4, 10.5) at
// instance and frame level, and /thumbnail of a series or study (the
// middle image of the first series with images). /rendered of several
// frames, of a series or of a study is a multipart of rendered images
// (sendRenderedParts).
func (s *Service) rendered(w http.ResponseWriter, r *http.Request) error {
	thumb := strings.HasSuffix(r.URL.Path, "/thumbnail")
	t, err := targetOf(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r, ActionRetrieve, t.resource()); err != nil {
		return err
	}
	p, err := parseRenderQuery(r.URL.Query())
	if err != nil {
		return err
	}
	frame := 1
	var list []int
	if fl := r.PathValue("frames"); fl != "" {
		if list, err = parseFrameList(fl); err != nil {
			return err
		}
		if len(list) > 1 && thumb {
			return errorf(http.StatusBadRequest, "frame list %q: a thumbnail is of one frame", fl)
		}
		frame = list[0]
	}
	if !thumb && (t.level() != index.InstanceLevel || len(list) > 1) {
		// Several images: multipart/related, one rendered image per part.
		media, err := negotiateRenderedParts(r.Header.Get("Accept"))
		if err != nil {
			return err
		}
		recs, err := s.instances(r, t)
		if err != nil {
			return err
		}
		if t.level() != index.InstanceLevel {
			recs = displayOrder(recs)
			list = nil
		}
		return s.sendRenderedParts(w, r, t, recs, list, p, media)
	}
	media, err := negotiateRendered(r.Header.Get("Accept"))
	if err != nil {
		return err
	}
	recs, err := s.instances(r, t)
	if err != nil {
		return err
	}
	rec := &recs[0]
	if t.level() != index.InstanceLevel {
		rec = representative(recs)
	}
	if thumb && p.vw == 0 {
		p.vw, p.vh = imaging.DefaultThumbnailSize, imaging.DefaultThumbnailSize
	}
	return s.sendRendered(w, r, rec, frame, p, media)
}

// representative returns the instance a series or study thumbnail shows:
// in the first series (by Series Number, then UID) that has images, the
// middle one by Instance Number. Without images, the first record.
func representative(recs []index.InstanceRecord) *index.InstanceRecord {
	var imgs []*index.InstanceRecord
	for i := range recs {
		if recs[i].Instance.Rows > 0 {
			imgs = append(imgs, &recs[i])
		}
	}
	if len(imgs) == 0 {
		return &recs[0]
	}
	num := func(p *int) int {
		if p == nil {
			return math.MaxInt
		}
		return *p
	}
	sort.SliceStable(imgs, func(i, j int) bool {
		a, b := imgs[i], imgs[j]
		if a.Series.SeriesInstanceUID != b.Series.SeriesInstanceUID {
			if na, nb := num(a.Series.SeriesNumber), num(b.Series.SeriesNumber); na != nb {
				return na < nb
			}
			return a.Series.SeriesInstanceUID < b.Series.SeriesInstanceUID
		}
		return num(a.Instance.InstanceNumber) < num(b.Instance.InstanceNumber)
	})
	first := imgs[0].Series.SeriesInstanceUID
	n := 0
	for n < len(imgs) && imgs[n].Series.SeriesInstanceUID == first {
		n++
	}
	return imgs[n/2]
}

// sendRendered renders frame (1-based) of rec with p and writes it as
// media. An instance without pixel data (SR, KOS, PR, encapsulated PDF, ...)
// is answered 400: the rendered resource of such objects would be text or
// a document, which Lightbox does not produce, and the request cannot
// succeed with any image Accept value. A missing frame is 404.
func (s *Service) sendRendered(w http.ResponseWriter, r *http.Request, rec *index.InstanceRecord, frame int, p renderParams, media string) error {
	v := validatorsOf([]index.InstanceRecord{*rec}, "rendered;"+media+";f"+strconv.Itoa(frame)+";"+p.key())
	h := w.Header()
	h.Add("Vary", "Accept")
	h.Set("Cache-Control", "private, no-cache")
	if v.notModified(w, r) {
		return nil
	}
	f, br, err := s.readHeader(ctxOf(r), rec)
	if err != nil {
		return err
	}
	defer br.Close()
	buf, err := renderImage(f, br, rec, frame, p, media)
	if err != nil {
		return err
	}
	h.Set("Content-Type", media)
	h.Set("Content-Length", strconv.Itoa(len(buf)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err = w.Write(buf)
	return err
}

// renderImage renders frame (1-based) of the instance rec, whose header is
// f and whose bytes br holds, with p, encoded as media.
func renderImage(f *dicom.File, br io.ReaderAt, rec *index.InstanceRecord, frame int, p renderParams, media string) ([]byte, error) {
	ds := f.Dataset
	if pixelElement(ds) == nil {
		return nil, errorf(http.StatusBadRequest, "instance %s (SOP Class %s) has no pixel data; rendering of non-image objects is not supported, retrieve it as application/dicom or its /metadata",
			rec.Instance.SOPInstanceUID, rec.Instance.SOPClassUID)
	}
	if n := numberOfFrames(ds); frame > n {
		return nil, errorf(http.StatusNotFound, "instance %s has %d frame(s), there is no frame %d", rec.Instance.SOPInstanceUID, n, frame)
	}
	fr, err := imaging.DecodeFrame(ds, f.TransferSyntax, br, frame-1)
	if err != nil {
		switch {
		case errors.Is(err, codec.ErrFrameRange):
			return nil, &HTTPError{Status: http.StatusNotFound, Msg: err.Error(), Err: err}
		case errors.Is(err, codec.ErrUnsupported):
			return nil, &HTTPError{Status: http.StatusNotImplemented, Msg: "cannot decode the pixel data: " + err.Error(), Err: err}
		case errors.Is(err, codec.ErrNoPixelData), errors.Is(err, codec.ErrInvalidPixelInfo):
			return nil, &HTTPError{Status: http.StatusBadRequest, Msg: "cannot render: " + err.Error(), Err: err}
		}
		return nil, fmt.Errorf("dicomweb: render %s frame %d: %w", rec.Instance.SOPInstanceUID, frame, err)
	}
	opts := imaging.Options{Window: p.window, Width: p.vw, Height: p.vh, Region: p.region, Source: br}
	if p.hasRegN {
		c, rw := float64(fr.Info.Columns), float64(fr.Info.Rows)
		opts.Region = image.Rect(int(p.regionN[0]*c), int(p.regionN[1]*rw), int(math.Ceil(p.regionN[2]*c)), int(math.Ceil(p.regionN[3]*rw)))
	}
	if !opts.Region.Empty() && opts.Region.Intersect(image.Rect(0, 0, fr.Info.Columns, fr.Info.Rows)).Empty() {
		return nil, errorf(http.StatusBadRequest, "the source region %v lies outside the %dx%d frame", opts.Region, fr.Info.Columns, fr.Info.Rows)
	}
	img, err := imaging.Render(ds, fr, opts)
	if err != nil {
		if errors.Is(err, imaging.ErrUnsupported) {
			return nil, &HTTPError{Status: http.StatusNotImplemented, Msg: "cannot render: " + err.Error(), Err: err}
		}
		return nil, fmt.Errorf("dicomweb: render %s frame %d: %w", rec.Instance.SOPInstanceUID, frame, err)
	}
	var buf bytes.Buffer
	if err := imaging.Encode(&buf, img, media, p.quality); err != nil {
		return nil, fmt.Errorf("dicomweb: render %s frame %d: %w", rec.Instance.SOPInstanceUID, frame, err)
	}
	return buf.Bytes(), nil
}
