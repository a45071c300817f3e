package dicomweb

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/index"
)

// target is the entity a WADO-RS or DELETE path names.
type target struct {
	study, series, instance string
}

func (t target) level() index.Level {
	switch {
	case t.instance != "":
		return index.InstanceLevel
	case t.series != "":
		return index.SeriesLevel
	}
	return index.StudyLevel
}

func (t target) resource() Resource {
	return Resource{StudyInstanceUID: t.study, SeriesInstanceUID: t.series, SOPInstanceUID: t.instance}
}

func (t target) String() string {
	switch t.level() {
	case index.InstanceLevel:
		return "instance " + t.instance
	case index.SeriesLevel:
		return "series " + t.series
	}
	return "study " + t.study
}

// validUID reports whether s is a syntactically valid UID (PS3.5 9.1),
// tolerating over-long ones seen in the wild.
func validUID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}

// targetOf reads and validates the UIDs of a request path.
func targetOf(r *http.Request) (target, error) {
	t := target{study: r.PathValue("study"), series: r.PathValue("series"), instance: r.PathValue("instance")}
	for _, u := range []struct{ name, v string }{{"Study", t.study}, {"Series", t.series}, {"SOP", t.instance}} {
		if u.v == "" {
			continue
		}
		if !validUID(u.v) {
			return t, errorf(http.StatusBadRequest, "%q is not a valid %s Instance UID", u.v, u.name)
		}
	}
	return t, nil
}

// instances returns the index records of the instances under t, in the
// order they were stored, or a 404 when there are none.
func (s *Service) instances(r *http.Request, t target) ([]index.InstanceRecord, error) {
	return s.findInstances(r, t, false)
}

// findInstances is instances, with the stored headers when withHeaders.
func (s *Service) findInstances(r *http.Request, t target, withHeaders bool) ([]index.InstanceRecord, error) {
	q := index.Query{Level: index.InstanceLevel, IncludeHeader: withHeaders}
	if t.study != "" {
		q.Matches = append(q.Matches, index.Match{Key: index.StudyInstanceUID, Value: t.study})
	}
	if t.series != "" {
		q.Matches = append(q.Matches, index.Match{Key: index.SeriesInstanceUID, Value: t.series})
	}
	if t.instance != "" {
		q.Matches = append(q.Matches, index.Match{Key: index.SOPInstanceUID, Value: t.instance})
	}
	recs, err := s.arch.Index().Find(ctxOf(r), q)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, errorf(http.StatusNotFound, "no %s in the archive", t)
	}
	return recs, nil
}

// validatorsOf derives an ETag and Last-Modified for a set of instances:
// the ETag digests their content digests (so it changes when any instance
// is added, removed or replaced), tagged with the representation.
func validatorsOf(recs []index.InstanceRecord, repr string) validators {
	h := sha256.New()
	h.Write([]byte(repr))
	var last time.Time
	for i := range recs {
		in := &recs[i].Instance
		h.Write([]byte(in.SOPInstanceUID))
		h.Write(in.SHA256[:])
		if in.ReceivedAt.After(last) {
			last = in.ReceivedAt
		}
	}
	sum := h.Sum(nil)
	return validators{etag: `"` + hex.EncodeToString(sum[:12]) + `"`, lastMod: last}
}

// instanceURL is the WADO-RS URL of an instance.
func instanceURL(base string, rec *index.InstanceRecord) string {
	var b strings.Builder
	b.Grow(len(base) + 200)
	b.WriteString(base)
	b.WriteString("/studies/")
	b.WriteString(rec.Study.StudyInstanceUID)
	b.WriteString("/series/")
	b.WriteString(rec.Series.SeriesInstanceUID)
	b.WriteString("/instances/")
	b.WriteString(rec.Instance.SOPInstanceUID)
	return b.String()
}
