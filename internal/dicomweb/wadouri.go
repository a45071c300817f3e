package dicomweb

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/lightbox-pacs/lightbox/imaging"
)

// wadoURI serves WADO-URI (PS3.18 9): one instance by its UIDs, as
// application/dicom or rendered as image/jpeg (the default) or image/png.
// Rendering takes windowCenter/windowWidth, rows/columns (the viewport),
// region (fractions of the frame), frameNumber and imageQuality; a request
// without contentType for an instance without pixel data gets the
// instance as application/dicom.
func (s *Service) wadoURI(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if rt := q.Get("requestType"); rt != "WADO" {
		return errorf(http.StatusBadRequest, "requestType must be WADO, not %q", rt)
	}
	t := target{study: q.Get("studyUID"), series: q.Get("seriesUID"), instance: q.Get("objectUID")}
	for _, u := range []struct{ name, v string }{{"studyUID", t.study}, {"seriesUID", t.series}, {"objectUID", t.instance}} {
		if !validUID(u.v) {
			return errorf(http.StatusBadRequest, "%s=%q is missing or not a valid UID", u.name, u.v)
		}
	}
	if err := s.authorize(r, ActionRetrieve, t.resource()); err != nil {
		return err
	}
	ctype := strings.TrimSpace(q.Get("contentType"))
	media, dcm := "", false
pick:
	for _, it := range parseAccept(ctype) {
		switch {
		case it.multipart:
		case it.typ == "application/dicom":
			dcm = true
		case it.typ == imaging.MediaTypeJPEG || it.typ == "image/*" || it.typ == "*/*":
			media = imaging.MediaTypeJPEG
		case it.typ == imaging.MediaTypePNG:
			media = imaging.MediaTypePNG
		default:
			continue
		}
		break pick
	}
	if media == "" && !dcm {
		return errorf(http.StatusNotAcceptable, "contentType %q is not supported; ask for image/jpeg, image/png or application/dicom", ctype)
	}
	recs, err := s.instances(r, t)
	if err != nil {
		return err
	}
	if dcm || (ctype == "" && recs[0].Instance.Rows == 0) {
		accept := "application/dicom"
		if ts := q.Get("transferSyntax"); ts != "" {
			accept += "; transfer-syntax=" + ts
		} else {
			accept += "; transfer-syntax=*"
		}
		return s.sendInstances(w, r, recs, true, accept)
	}
	p, frame, err := parseWADOURIRender(q)
	if err != nil {
		return err
	}
	return s.sendRendered(w, r, &recs[0], frame, p, media)
}

// parseWADOURIRender reads the WADO-URI rendering parameters (PS3.18 9.1.2).
func parseWADOURIRender(q url.Values) (renderParams, int, error) {
	var p renderParams
	frame := 1
	num := func(name string) (float64, bool, error) {
		v := strings.TrimSpace(q.Get(name))
		if v == "" {
			return 0, false, nil
		}
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, false, errorf(http.StatusBadRequest, "%s=%q is not a number", name, v)
		}
		return x, true, nil
	}
	c, hasC, err := num("windowCenter")
	if err != nil {
		return p, 0, err
	}
	wd, hasW, err := num("windowWidth")
	if err != nil {
		return p, 0, err
	}
	if hasC != hasW {
		return p, 0, errorf(http.StatusBadRequest, "windowCenter and windowWidth go together")
	}
	if hasC {
		if wd < 1 {
			return p, 0, errorf(http.StatusBadRequest, "windowWidth=%g: must be >= 1", wd)
		}
		p.window = &imaging.Window{Center: c, Width: wd, Function: imaging.FunctionLinear}
	}
	for _, d := range []struct {
		name string
		dst  *int
		max  int
	}{{"columns", &p.vw, 1 << 16}, {"rows", &p.vh, 1 << 16}, {"frameNumber", &frame, math.MaxInt32}, {"imageQuality", &p.quality, 100}} {
		v := strings.TrimSpace(q.Get(d.name))
		if v == "" {
			continue
		}
		x, err := strconv.Atoi(v)
		if err != nil || x < 1 || x > d.max {
			return p, 0, errorf(http.StatusBadRequest, "%s=%q: want an integer 1..%d", d.name, v, d.max)
		}
		*d.dst = x
	}
	if v := strings.TrimSpace(q.Get("region")); v != "" {
		parts := strings.Split(v, ",")
		if len(parts) != 4 {
			return p, 0, errorf(http.StatusBadRequest, "region=%q: want four fractions x1,y1,x2,y2", v)
		}
		for i, s := range parts {
			x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || !(x >= 0 && x <= 1) {
				return p, 0, errorf(http.StatusBadRequest, "region=%q: %q is not a fraction 0..1", v, s)
			}
			p.regionN[i] = x
		}
		if p.regionN[2] <= p.regionN[0] || p.regionN[3] <= p.regionN[1] {
			return p, 0, errorf(http.StatusBadRequest, "region=%q: the bottom-right corner must lie after the top-left one", v)
		}
		p.hasRegN = true
	}
	return p, frame, nil
}
