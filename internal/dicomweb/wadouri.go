package dicomweb

import (
	"net/http"
	"strings"
)

// wadoURI serves WADO-URI (PS3.18 9): one instance by its UIDs, as
// application/dicom. Rendered types (image/jpeg, the default for images)
// need the imaging work and are answered 406 until then.
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
	accept := "application/dicom"
	switch {
	case ctype == "" || strings.HasPrefix(ctype, "image/") || ctype == "*/*":
		return errorf(http.StatusNotAcceptable, "contentType %q needs image rendering, which this version of Lightbox does not have yet; ask for contentType=application/dicom", ctype)
	default:
		ok := false
		for _, it := range parseAccept(ctype) {
			if !it.multipart && it.typ == "application/dicom" {
				ok = true
			}
		}
		if !ok {
			return errorf(http.StatusNotAcceptable, "contentType %q is not supported; ask for contentType=application/dicom", ctype)
		}
	}
	if ts := q.Get("transferSyntax"); ts != "" {
		accept += "; transfer-syntax=" + ts
	} else {
		accept += "; transfer-syntax=*"
	}
	recs, err := s.instances(r, t)
	if err != nil {
		return err
	}
	return s.sendInstances(w, r, recs, true, accept)
}
