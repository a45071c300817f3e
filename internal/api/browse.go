package api

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// PersonName is a DICOM person name by component group.
type PersonName struct {
	Alphabetic  string `json:"alphabetic,omitempty"`
	Ideographic string `json:"ideographic,omitempty"`
	Phonetic    string `json:"phonetic,omitempty"`
}

// Patient is a patient as the API shows it.
type Patient struct {
	PatientID         string     `json:"patientID"`
	IssuerOfPatientID string     `json:"issuerOfPatientID,omitempty"`
	PatientName       PersonName `json:"patientName"`
	BirthDate         string     `json:"birthDate,omitempty"`
	Sex               string     `json:"sex,omitempty"`
	NumberOfStudies   int        `json:"numberOfStudies"`
	NumberOfSeries    int        `json:"numberOfSeries"`
	NumberOfInstances int        `json:"numberOfInstances"`
}

// Study is a study as the API shows it.
type Study struct {
	StudyInstanceUID       string     `json:"studyInstanceUID"`
	StudyDate              string     `json:"studyDate,omitempty"`
	StudyTime              string     `json:"studyTime,omitempty"`
	AccessionNumber        string     `json:"accessionNumber,omitempty"`
	StudyID                string     `json:"studyID,omitempty"`
	Description            string     `json:"description,omitempty"`
	ReferringPhysicianName PersonName `json:"referringPhysicianName"`
	Modalities             []string   `json:"modalities"`
	SOPClasses             []string   `json:"sopClasses"`
	NumberOfSeries         int        `json:"numberOfSeries"`
	NumberOfInstances      int        `json:"numberOfInstances"`
	Patient                Patient    `json:"patient"`
}

// Series is a series as the API shows it.
type Series struct {
	SeriesInstanceUID string `json:"seriesInstanceUID"`
	StudyInstanceUID  string `json:"studyInstanceUID"`
	Modality          string `json:"modality,omitempty"`
	SeriesNumber      *int   `json:"seriesNumber,omitempty"`
	Description       string `json:"description,omitempty"`
	BodyPartExamined  string `json:"bodyPartExamined,omitempty"`
	SeriesDate        string `json:"seriesDate,omitempty"`
	SeriesTime        string `json:"seriesTime,omitempty"`
	InstitutionName   string `json:"institutionName,omitempty"`
	StationName       string `json:"stationName,omitempty"`
	Manufacturer      string `json:"manufacturer,omitempty"`
	NumberOfInstances int    `json:"numberOfInstances"`
}

// Instance is an instance as the API shows it; Header (the DICOM JSON of
// the non-bulk header) only in GET /instances/{uid}.
type Instance struct {
	SOPInstanceUID    string          `json:"sopInstanceUID"`
	SOPClassUID       string          `json:"sopClassUID"`
	SeriesInstanceUID string          `json:"seriesInstanceUID"`
	StudyInstanceUID  string          `json:"studyInstanceUID"`
	InstanceNumber    *int            `json:"instanceNumber,omitempty"`
	TransferSyntaxUID string          `json:"transferSyntaxUID"`
	NumberOfFrames    int             `json:"numberOfFrames,omitempty"`
	Rows              int             `json:"rows,omitempty"`
	Columns           int             `json:"columns,omitempty"`
	Size              int64           `json:"size"`
	SHA256            string          `json:"sha256"`
	ReceivedAt        time.Time       `json:"receivedAt"`
	CallingAE         string          `json:"callingAE,omitempty"`
	Header            json.RawMessage `json:"header,omitempty"`
}

// List is a page of results.
type List[T any] struct {
	Items  []T `json:"items"`
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

func pn(p index.PersonName) PersonName { return PersonName(p) }

func patientOf(p index.Patient) Patient {
	return Patient{p.PatientID, p.IssuerOfPatientID, pn(p.PatientName), p.PatientBirthDate, p.PatientSex,
		p.NumberOfPatientRelatedStudies, p.NumberOfPatientRelatedSeries, p.NumberOfPatientRelatedInstances}
}

func studyOf(rec index.InstanceRecord) Study {
	s := rec.Study
	out := Study{s.StudyInstanceUID, s.StudyDate, s.StudyTime, s.AccessionNumber, s.StudyID, s.StudyDescription,
		pn(s.ReferringPhysicianName), s.ModalitiesInStudy, s.SOPClassesInStudy, s.NumberOfStudyRelatedSeries,
		s.NumberOfStudyRelatedInstances, patientOf(rec.Patient)}
	if out.Modalities == nil {
		out.Modalities = []string{}
	}
	if out.SOPClasses == nil {
		out.SOPClasses = []string{}
	}
	return out
}

func seriesOf(rec index.InstanceRecord) Series {
	s := rec.Series
	return Series{s.SeriesInstanceUID, rec.Study.StudyInstanceUID, s.Modality, s.SeriesNumber, s.SeriesDescription,
		s.BodyPartExamined, s.SeriesDate, s.SeriesTime, s.InstitutionName, s.StationName, s.Manufacturer,
		s.NumberOfSeriesRelatedInstances}
}

func instanceOf(rec index.InstanceRecord) Instance {
	in := rec.Instance
	out := Instance{in.SOPInstanceUID, in.SOPClassUID, rec.Series.SeriesInstanceUID, rec.Study.StudyInstanceUID,
		in.InstanceNumber, in.TransferSyntaxUID, in.NumberOfFrames, in.Rows, in.Columns, in.Size,
		hex.EncodeToString(in.SHA256[:]), in.ReceivedAt.UTC(), in.CallingAE, nil}
	if len(rec.Header) > 0 {
		out.Header = json.RawMessage(rec.Header)
	}
	return out
}

// friendly names of query parameters, per level; any keyword of the index
// model is accepted too.
var friendly = map[string]index.Key{
	"patientID":   index.PatientID,
	"issuer":      index.IssuerOfPatientID,
	"name":        index.PatientName,
	"birthDate":   index.PatientBirthDate,
	"sex":         index.PatientSex,
	"date":        index.StudyDate,
	"modality":    index.ModalitiesInStudy,
	"accession":   index.AccessionNumber,
	"description": index.StudyDescription,
	"studyID":     index.StudyID,
}

// query builds an index query from the request's parameters.
func (h *Handler) query(r *http.Request, level index.Level, fixed ...index.Match) (index.Query, error) {
	q := index.Query{Level: level, CombinedDateTime: true, Matches: fixed}
	var err error
	if q.Limit, err = intParam(r, "limit", 100); err != nil {
		return q, err
	}
	if q.Limit == 0 || q.Limit > h.opts.MaxLimit {
		q.Limit = h.opts.MaxLimit
	}
	if q.Offset, err = intParam(r, "offset", 0); err != nil {
		return q, err
	}
	for k, vs := range r.URL.Query() {
		switch k {
		case "limit", "offset":
			continue
		case "fuzzy":
			q.FuzzyNames = vs[0] == "true"
			continue
		}
		key, ok := friendly[k]
		if !ok {
			if _, isKey := index.LookupKey(index.Key(k)); !isKey {
				return q, badRequest("unknown query parameter %q", k)
			}
			key = index.Key(k)
		}
		if key == index.ModalitiesInStudy && level != index.StudyLevel {
			key = index.Modality
		}
		q.Matches = append(q.Matches, index.Match{Key: key, Value: vs[0]})
	}
	return q, nil
}

// list runs q and converts the records.
func list[T any](h *Handler, r *http.Request, q index.Query, conv func(index.InstanceRecord) T) (any, int, error) {
	recs, err := h.arch.Index().Find(r.Context(), q)
	if err != nil {
		return nil, 0, err
	}
	total, err := h.arch.Index().Count(r.Context(), q)
	if err != nil {
		return nil, 0, err
	}
	out := List[T]{Items: make([]T, 0, len(recs)), Total: total, Limit: q.Limit, Offset: q.Offset}
	for _, rec := range recs {
		out.Items = append(out.Items, conv(rec))
	}
	return out, http.StatusOK, nil
}

func (h *Handler) listPatients(w http.ResponseWriter, r *http.Request) (any, int, error) {
	q, err := h.query(r, index.PatientLevel)
	if err != nil {
		return nil, 0, err
	}
	return list(h, r, q, func(rec index.InstanceRecord) Patient { return patientOf(rec.Patient) })
}

func (h *Handler) patientStudies(w http.ResponseWriter, r *http.Request) (any, int, error) {
	fixed := []index.Match{{Key: index.PatientID, Value: r.PathValue("patientID")}}
	if vs, ok := r.URL.Query()["issuer"]; ok {
		v := vs[0]
		if v == "" {
			v = `""`
		}
		fixed = append(fixed, index.Match{Key: index.IssuerOfPatientID, Value: v})
		qv := r.URL.Query()
		qv.Del("issuer")
		r.URL.RawQuery = qv.Encode()
	}
	q, err := h.query(r, index.StudyLevel, fixed...)
	if err != nil {
		return nil, 0, err
	}
	return list(h, r, q, studyOf)
}

func (h *Handler) listStudies(w http.ResponseWriter, r *http.Request) (any, int, error) {
	q, err := h.query(r, index.StudyLevel)
	if err != nil {
		return nil, 0, err
	}
	return list(h, r, q, studyOf)
}

// one finds exactly one entity of level by its UID.
func (h *Handler) one(r *http.Request, level index.Level, key index.Key, uid string, header bool) (index.InstanceRecord, error) {
	if !validUID(uid) {
		return index.InstanceRecord{}, badRequest("%q is not a valid UID", uid)
	}
	recs, err := h.arch.Index().Find(r.Context(), index.Query{Level: level, Limit: 1, IncludeHeader: header,
		Matches: []index.Match{{Key: key, Value: uid}}})
	if err != nil {
		return index.InstanceRecord{}, err
	}
	if len(recs) == 0 {
		return index.InstanceRecord{}, &httpError{http.StatusNotFound, "no " + string(key) + " " + uid}
	}
	return recs[0], nil
}

// StudyDetail is a study with its series.
type StudyDetail struct {
	Study
	Series []Series `json:"series"`
}

func (h *Handler) getStudy(w http.ResponseWriter, r *http.Request) (any, int, error) {
	uid := r.PathValue("study")
	rec, err := h.one(r, index.StudyLevel, index.StudyInstanceUID, uid, false)
	if err != nil {
		return nil, 0, err
	}
	series, err := h.arch.Index().Find(r.Context(), index.Query{Level: index.SeriesLevel,
		Matches: []index.Match{{Key: index.StudyInstanceUID, Value: uid}}})
	if err != nil {
		return nil, 0, err
	}
	out := StudyDetail{Study: studyOf(rec), Series: make([]Series, 0, len(series))}
	for _, s := range series {
		out.Series = append(out.Series, seriesOf(s))
	}
	return out, http.StatusOK, nil
}

func (h *Handler) studySeries(w http.ResponseWriter, r *http.Request) (any, int, error) {
	uid := r.PathValue("study")
	if !validUID(uid) {
		return nil, 0, badRequest("%q is not a valid UID", uid)
	}
	q, err := h.query(r, index.SeriesLevel, index.Match{Key: index.StudyInstanceUID, Value: uid})
	if err != nil {
		return nil, 0, err
	}
	return list(h, r, q, seriesOf)
}

func (h *Handler) getSeries(w http.ResponseWriter, r *http.Request) (any, int, error) {
	rec, err := h.one(r, index.SeriesLevel, index.SeriesInstanceUID, r.PathValue("series"), false)
	if err != nil {
		return nil, 0, err
	}
	return seriesOf(rec), http.StatusOK, nil
}

func (h *Handler) seriesInstances(w http.ResponseWriter, r *http.Request) (any, int, error) {
	uid := r.PathValue("series")
	if !validUID(uid) {
		return nil, 0, badRequest("%q is not a valid UID", uid)
	}
	q, err := h.query(r, index.InstanceLevel, index.Match{Key: index.SeriesInstanceUID, Value: uid})
	if err != nil {
		return nil, 0, err
	}
	return list(h, r, q, instanceOf)
}

func (h *Handler) getInstance(w http.ResponseWriter, r *http.Request) (any, int, error) {
	rec, err := h.one(r, index.InstanceLevel, index.SOPInstanceUID, r.PathValue("instance"), true)
	if err != nil {
		return nil, 0, err
	}
	return instanceOf(rec), http.StatusOK, nil
}

// DeleteResult is the answer of a DELETE.
type DeleteResult struct {
	Instances   int `json:"instances"`
	BlobsFailed int `json:"blobsFailed"`
}

func (h *Handler) del(r *http.Request, level archive.Level, id, issuer string) (any, int, error) {
	if level != archive.DeletePatient && !validUID(id) {
		return nil, 0, badRequest("%q is not a valid UID", id)
	}
	res, err := h.arch.Delete(r.Context(), level, id, issuer)
	if err != nil {
		return nil, 0, err
	}
	h.log.Info("deleted", "level", level, "id", id, "instances", res.Instances, "peer", r.RemoteAddr)
	return DeleteResult{res.Instances, res.BlobsFailed}, http.StatusOK, nil
}

func (h *Handler) deletePatient(w http.ResponseWriter, r *http.Request) (any, int, error) {
	return h.del(r, archive.DeletePatient, r.PathValue("patientID"), r.URL.Query().Get("issuer"))
}

func (h *Handler) deleteStudy(w http.ResponseWriter, r *http.Request) (any, int, error) {
	return h.del(r, archive.DeleteStudy, r.PathValue("study"), "")
}

func (h *Handler) deleteSeries(w http.ResponseWriter, r *http.Request) (any, int, error) {
	return h.del(r, archive.DeleteSeries, r.PathValue("series"), "")
}

func (h *Handler) deleteInstance(w http.ResponseWriter, r *http.Request) (any, int, error) {
	return h.del(r, archive.DeleteInstance, r.PathValue("instance"), "")
}

func validUID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return false
		}
	}
	return true
}
