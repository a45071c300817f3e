package sqlindex

import (
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/index"
)

// Table aliases used in every generated query.
var levelAlias = map[index.Level]string{
	index.PatientLevel:  "p",
	index.StudyLevel:    "s",
	index.SeriesLevel:   "se",
	index.InstanceLevel: "i",
}

// pn_words kinds.
const (
	wordsPatientName  = 1
	wordsReferringPhy = 2
)

// column maps a key of the model to its storage.
type column struct {
	name     string    // column of the level's table
	pn       [3]string // PN: upper-cased group columns
	words    int       // PN: pn_words kind for fuzzy matching
	intCol   bool      // integer column
	nullable bool      // integer column where NULL means absent
	utc      string    // DT: column of the UTC instant ('' when the offset is unknown)
}

var columns = map[index.Key]column{
	index.PatientName:       {pn: [3]string{"name_a_u", "name_i_u", "name_p_u"}, words: wordsPatientName},
	index.PatientID:         {name: "patient_id"},
	index.IssuerOfPatientID: {name: "issuer"},
	index.PatientBirthDate:  {name: "birth_date"},
	index.PatientSex:        {name: "sex"},

	index.StudyInstanceUID:       {name: "study_uid"},
	index.StudyDate:              {name: "study_date"},
	index.StudyTime:              {name: "study_time"},
	index.AccessionNumber:        {name: "accession"},
	index.StudyID:                {name: "study_id"},
	index.StudyDescription:       {name: "description"},
	index.ReferringPhysicianName: {pn: [3]string{"ref_a_u", "ref_i_u", "ref_p_u"}, words: wordsReferringPhy},
	index.ModalitiesInStudy:      {name: "modality"},      // matched on series rows
	index.SOPClassesInStudy:      {name: "sop_class_uid"}, // matched on instance rows

	index.SeriesInstanceUID:               {name: "series_uid"},
	index.Modality:                        {name: "modality"},
	index.SeriesNumber:                    {name: "series_number", intCol: true, nullable: true},
	index.SeriesDescription:               {name: "description"},
	index.BodyPartExamined:                {name: "body_part"},
	index.SeriesDate:                      {name: "series_date"},
	index.SeriesTime:                      {name: "series_time"},
	index.PerformedProcedureStepStartDate: {name: "pps_date"},
	index.PerformedProcedureStepStartTime: {name: "pps_time"},
	index.InstitutionName:                 {name: "institution"},
	index.StationName:                     {name: "station"},
	index.Manufacturer:                    {name: "manufacturer"},

	index.SOPInstanceUID:      {name: "sop_uid"},
	index.SOPClassUID:         {name: "sop_class_uid"},
	index.InstanceNumber:      {name: "instance_number", intCol: true, nullable: true},
	index.TransferSyntaxUID:   {name: "ts_uid"},
	index.NumberOfFrames:      {name: "num_frames", intCol: true},
	index.Rows:                {name: "num_rows", intCol: true},
	index.Columns:             {name: "num_columns", intCol: true},
	index.ContentDate:         {name: "content_date"},
	index.ContentTime:         {name: "content_time"},
	index.AcquisitionDateTime: {name: "acq_datetime", utc: "acq_datetime_utc"},
}

const patientSelect = "p.patient_id, p.issuer, p.name_a, p.name_i, p.name_p, p.birth_date, p.sex, " +
	"p.num_studies, p.num_series, p.num_instances"

const studySelect = "s.study_uid, s.study_date, s.study_time, s.accession, s.study_id, s.description, " +
	"s.ref_a, s.ref_i, s.ref_p, s.modalities, s.sop_classes, s.num_series, s.num_instances"

const seriesSelect = "se.series_uid, se.modality, se.series_number, se.description, se.body_part, " +
	"se.series_date, se.series_time, se.pps_date, se.pps_time, se.institution, se.station, se.manufacturer, " +
	"se.num_instances"

const instanceSelect = "i.sop_uid, i.sop_class_uid, i.instance_number, i.ts_uid, i.num_frames, i.num_rows, " +
	"i.num_columns, i.content_date, i.content_time, i.acq_datetime, i.acq_datetime_utc, i.blob_key, i.size, i.sha256, " +
	"i.received_at, i.calling_ae"

// selectList returns the columns selected for results of level.
func selectList(level index.Level) string {
	parts := []string{patientSelect}
	if level >= index.StudyLevel {
		parts = append(parts, studySelect)
	}
	if level >= index.SeriesLevel {
		parts = append(parts, seriesSelect)
	}
	if level >= index.InstanceLevel {
		parts = append(parts, instanceSelect)
	}
	return strings.Join(parts, ", ")
}

// fromClause returns the FROM clause of a query at level: the level's table
// joined with every level above it.
func fromClause(level index.Level) string {
	switch level {
	case index.PatientLevel:
		return "patients p"
	case index.StudyLevel:
		return "studies s JOIN patients p ON p.pk = s.patient_pk"
	case index.SeriesLevel:
		return "series se JOIN studies s ON s.pk = se.study_pk JOIN patients p ON p.pk = s.patient_pk"
	}
	return "instances i JOIN series se ON se.pk = i.series_pk JOIN studies s ON s.pk = i.study_pk " +
		"JOIN patients p ON p.pk = s.patient_pk"
}

// headerSelect returns a scalar subquery selecting the header of the
// level's entity: its own at IMAGE level, else of its first instance.
func headerSelect(level index.Level) string {
	switch level {
	case index.PatientLevel:
		return "(SELECT h.header FROM headers h WHERE h.instance_pk = " +
			"(SELECT min(i2.pk) FROM studies s2 JOIN instances i2 ON i2.study_pk = s2.pk WHERE s2.patient_pk = p.pk))"
	case index.StudyLevel:
		return "(SELECT h.header FROM headers h WHERE h.instance_pk = (SELECT min(i2.pk) FROM instances i2 WHERE i2.study_pk = s.pk))"
	case index.SeriesLevel:
		return "(SELECT h.header FROM headers h WHERE h.instance_pk = (SELECT min(i2.pk) FROM instances i2 WHERE i2.series_pk = se.pk))"
	}
	return "(SELECT h.header FROM headers h WHERE h.instance_pk = i.pk)"
}

// joinList and splitList store multi-valued attributes as
// backslash-separated text.
func joinList(v []string) string { return strings.Join(v, `\`) }

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, `\`)
}

func intPtr(n sql.NullInt64) *int {
	if !n.Valid {
		return nil
	}
	v := int(n.Int64)
	return &v
}

func nullInt(p *int) sql.NullInt64 {
	if p == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: int64(*p), Valid: true}
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// recordScanner scans result rows of a query at one level, reusing its
// destination list from row to row.
type recordScanner struct {
	r                      index.InstanceRecord
	mods, classes          string
	seriesNum, instanceNum sql.NullInt64
	sha                    []byte
	receivedAt             int64
	header                 []byte
	dest                   []any
	level                  index.Level
	withHeader             bool
}

func newRecordScanner(level index.Level, withHeader bool) *recordScanner {
	sc := &recordScanner{level: level, withHeader: withHeader}
	p, st, se, in := &sc.r.Patient, &sc.r.Study, &sc.r.Series, &sc.r.Instance
	sc.dest = append(sc.dest, &p.PatientID, &p.IssuerOfPatientID, &p.PatientName.Alphabetic, &p.PatientName.Ideographic,
		&p.PatientName.Phonetic, &p.PatientBirthDate, &p.PatientSex, &p.NumberOfPatientRelatedStudies,
		&p.NumberOfPatientRelatedSeries, &p.NumberOfPatientRelatedInstances)
	if level >= index.StudyLevel {
		sc.dest = append(sc.dest, &st.StudyInstanceUID, &st.StudyDate, &st.StudyTime, &st.AccessionNumber, &st.StudyID,
			&st.StudyDescription, &st.ReferringPhysicianName.Alphabetic, &st.ReferringPhysicianName.Ideographic,
			&st.ReferringPhysicianName.Phonetic, &sc.mods, &sc.classes, &st.NumberOfStudyRelatedSeries,
			&st.NumberOfStudyRelatedInstances)
	}
	if level >= index.SeriesLevel {
		sc.dest = append(sc.dest, &se.SeriesInstanceUID, &se.Modality, &sc.seriesNum, &se.SeriesDescription,
			&se.BodyPartExamined, &se.SeriesDate, &se.SeriesTime, &se.PerformedProcedureStepStartDate,
			&se.PerformedProcedureStepStartTime, &se.InstitutionName, &se.StationName, &se.Manufacturer,
			&se.NumberOfSeriesRelatedInstances)
	}
	if level >= index.InstanceLevel {
		sc.dest = append(sc.dest, &in.SOPInstanceUID, &in.SOPClassUID, &sc.instanceNum, &in.TransferSyntaxUID,
			&in.NumberOfFrames, &in.Rows, &in.Columns, &in.ContentDate, &in.ContentTime, &in.AcquisitionDateTime, &in.AcquisitionDateTimeUTC,
			&in.BlobKey, &in.Size, &sc.sha, &sc.receivedAt, &in.CallingAE)
	}
	if withHeader {
		sc.dest = append(sc.dest, &sc.header)
	}
	return sc
}

// scan scans the current row of rows into a new record.
func (sc *recordScanner) scan(rows *sql.Rows) (index.InstanceRecord, error) {
	sc.header = nil
	if err := rows.Scan(sc.dest...); err != nil {
		return index.InstanceRecord{}, fmt.Errorf("scan %s row: %w", sc.level, err)
	}
	r := sc.r
	r.Study.ModalitiesInStudy = splitList(sc.mods)
	r.Study.SOPClassesInStudy = splitList(sc.classes)
	r.Series.SeriesNumber = intPtr(sc.seriesNum)
	r.Instance.InstanceNumber = intPtr(sc.instanceNum)
	copy(r.Instance.SHA256[:], sc.sha)
	r.Instance.ReceivedAt = fromMicros(sc.receivedAt)
	if sc.withHeader {
		r.Header = sc.header
	}
	return r, nil
}
