package sqlindex

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/index"
)

// writer is the state of one write transaction: prepared statements, the
// rows of the hierarchy already looked up, and the count deltas applied
// once at the end (a batch of 500 instances of one series updates the
// series, study and patient rows once, not 500 times).
type writer struct {
	s     *Store
	d     Dialect
	tx    *sql.Tx
	now   int64
	stmts map[string]*sql.Stmt

	patients     map[string]*patientRow // by identity key
	patientsByPK map[int64]*patientRow
	studies      map[string]*studyRow // by Study Instance UID
	studiesByPK  map[int64]*studyRow
	series       map[string]*seriesRow // by Series Instance UID

	dPatients, dStudies, dSeries map[int64]*delta

	// absent holds the SOP Instance UIDs of the batch known not to be
	// indexed (see findAbsent).
	absent map[string]bool

	// filled remembers series and studies known to have values of a
	// configured attribute (see hasValues).
	filled map[valueOwner]bool
}

type delta struct {
	studies, series, instances, bytes int64
}

type patientRow struct {
	pk  int64
	key string
	p   index.Patient
}

type studyRow struct {
	pk        int64
	patientPK int64
	st        index.Study
}

type seriesRow struct {
	pk      int64
	studyPK int64
	se      index.Series
}

func newWriter(s *Store, tx *sql.Tx) *writer {
	w := &writer{s: s, d: s.cfg.Dialect, tx: tx, now: time.Now().UnixMicro(), stmts: map[string]*sql.Stmt{}}
	w.reset()
	return w
}

// reset forgets cached rows and pending deltas (after flush, before a delete).
func (w *writer) reset() {
	w.patients = map[string]*patientRow{}
	w.patientsByPK = map[int64]*patientRow{}
	w.studies = map[string]*studyRow{}
	w.studiesByPK = map[int64]*studyRow{}
	w.series = map[string]*seriesRow{}
	w.dPatients = map[int64]*delta{}
	w.dStudies = map[int64]*delta{}
	w.dSeries = map[int64]*delta{}
	w.filled = nil // a delete may free pks that new rows reuse
}

func (w *writer) closeStmts() {
	for _, st := range w.stmts {
		_ = st.Close()
	}
}

// stmt returns a statement prepared on the transaction, once per query text.
func (w *writer) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := w.stmts[q]; ok {
		return st, nil
	}
	st, err := w.tx.PrepareContext(ctx, w.d.rebind(q))
	if err != nil {
		return nil, fmt.Errorf("prepare %q: %w", q, err)
	}
	w.stmts[q] = st
	return st, nil
}

// The statements of a transaction are prepared once on SQLite; pgx caches
// prepared statements per connection by itself, and an explicit prepare
// would cost PostgreSQL two extra round trips.

func (w *writer) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if w.d == Postgres {
		return w.tx.ExecContext(ctx, w.d.rebind(q), args...)
	}
	st, err := w.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (w *writer) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if w.d == Postgres {
		return w.tx.QueryRowContext(ctx, w.d.rebind(q), args...)
	}
	st, err := w.stmt(ctx, q)
	if err != nil {
		// Let Scan report the preparation error.
		return w.tx.QueryRowContext(ctx, w.d.rebind(q), args...)
	}
	return st.QueryRowContext(ctx, args...)
}

func (w *writer) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if w.d == Postgres {
		return w.tx.QueryContext(ctx, w.d.rebind(q), args...)
	}
	st, err := w.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// patientKey is the identity of a patient: Patient ID with its issuer. A
// patient without an ID cannot be identified across studies, so each such
// study gets a patient of its own.
func patientKey(p *index.Patient, studyUID string) string {
	if p.PatientID == "" {
		return "study:" + studyUID
	}
	return fmt.Sprintf("%d:%s:%s", len(p.IssuerOfPatientID), p.IssuerOfPatientID, p.PatientID)
}

func deltaOf(m map[int64]*delta, pk int64) *delta {
	d := m[pk]
	if d == nil {
		d = &delta{}
		m[pk] = d
	}
	return d
}

// flush applies the pending count deltas.
func (w *writer) flush(ctx context.Context) error {
	for _, pk := range sortedKeys(w.dSeries) {
		d := w.dSeries[pk]
		if _, err := w.exec(ctx, "UPDATE series SET num_instances = num_instances + ?, bytes = bytes + ? WHERE pk = ?",
			d.instances, d.bytes, pk); err != nil {
			return fmt.Errorf("update series counts: %w", err)
		}
	}
	for _, pk := range sortedKeys(w.dStudies) {
		d := w.dStudies[pk]
		if _, err := w.exec(ctx, "UPDATE studies SET num_series = num_series + ?, num_instances = num_instances + ? WHERE pk = ?",
			d.series, d.instances, pk); err != nil {
			return fmt.Errorf("update study counts: %w", err)
		}
	}
	for _, pk := range sortedKeys(w.dPatients) {
		d := w.dPatients[pk]
		if _, err := w.exec(ctx, "UPDATE patients SET num_studies = num_studies + ?, num_series = num_series + ?, "+
			"num_instances = num_instances + ? WHERE pk = ?", d.studies, d.series, d.instances, pk); err != nil {
			return fmt.Errorf("update patient counts: %w", err)
		}
	}
	w.dPatients = map[int64]*delta{}
	w.dStudies = map[int64]*delta{}
	w.dSeries = map[int64]*delta{}
	return nil
}

func sortedKeys(m map[int64]*delta) []int64 {
	keys := make([]int64, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}

const patientRowCols = "pk, patient_key, patient_id, issuer, name_a, name_i, name_p, birth_date, sex"

func (w *writer) loadPatient(ctx context.Context, where string, arg any) (*patientRow, error) {
	r := &patientRow{}
	p := &r.p
	err := w.queryRow(ctx, "SELECT "+patientRowCols+" FROM patients WHERE "+where, arg).Scan(&r.pk, &r.key,
		&p.PatientID, &p.IssuerOfPatientID, &p.PatientName.Alphabetic, &p.PatientName.Ideographic,
		&p.PatientName.Phonetic, &p.PatientBirthDate, &p.PatientSex)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load patient: %w", err)
	}
	w.patients[r.key] = r
	w.patientsByPK[r.pk] = r
	return r, nil
}

func (w *writer) patientByKey(ctx context.Context, key string) (*patientRow, error) {
	if r, ok := w.patients[key]; ok {
		return r, nil
	}
	return w.loadPatient(ctx, "patient_key = ?", key)
}

func (w *writer) patientByPK(ctx context.Context, pk int64) (*patientRow, error) {
	if r, ok := w.patientsByPK[pk]; ok {
		return r, nil
	}
	r, err := w.loadPatient(ctx, "pk = ?", pk)
	if err == nil && r == nil {
		err = fmt.Errorf("patient row %d vanished", pk)
	}
	return r, err
}

const studyRowCols = "pk, patient_pk, study_uid, study_date, study_time, accession, study_id, description, " +
	"ref_a, ref_i, ref_p, modalities, sop_classes"

func (w *writer) loadStudy(ctx context.Context, where string, arg any) (*studyRow, error) {
	r := &studyRow{}
	st := &r.st
	var mods, classes string
	err := w.queryRow(ctx, "SELECT "+studyRowCols+" FROM studies WHERE "+where, arg).Scan(&r.pk, &r.patientPK,
		&st.StudyInstanceUID, &st.StudyDate, &st.StudyTime, &st.AccessionNumber, &st.StudyID, &st.StudyDescription,
		&st.ReferringPhysicianName.Alphabetic, &st.ReferringPhysicianName.Ideographic,
		&st.ReferringPhysicianName.Phonetic, &mods, &classes)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load study: %w", err)
	}
	st.ModalitiesInStudy, st.SOPClassesInStudy = splitList(mods), splitList(classes)
	w.studies[st.StudyInstanceUID] = r
	w.studiesByPK[r.pk] = r
	return r, nil
}

func (w *writer) studyByUID(ctx context.Context, uid string) (*studyRow, error) {
	if r, ok := w.studies[uid]; ok {
		return r, nil
	}
	return w.loadStudy(ctx, "study_uid = ?", uid)
}

func (w *writer) studyByPK(ctx context.Context, pk int64) (*studyRow, error) {
	if r, ok := w.studiesByPK[pk]; ok {
		return r, nil
	}
	r, err := w.loadStudy(ctx, "pk = ?", pk)
	if err == nil && r == nil {
		err = fmt.Errorf("study row %d vanished", pk)
	}
	return r, err
}

const seriesRowCols = "pk, study_pk, series_uid, modality, series_number, description, body_part, series_date, " +
	"series_time, pps_date, pps_time, institution, station, manufacturer"

func (w *writer) seriesByUID(ctx context.Context, uid string) (*seriesRow, error) {
	if r, ok := w.series[uid]; ok {
		return r, nil
	}
	r := &seriesRow{}
	se := &r.se
	var num sql.NullInt64
	err := w.queryRow(ctx, "SELECT "+seriesRowCols+" FROM series WHERE series_uid = ?", uid).Scan(&r.pk, &r.studyPK,
		&se.SeriesInstanceUID, &se.Modality, &num, &se.SeriesDescription, &se.BodyPartExamined, &se.SeriesDate,
		&se.SeriesTime, &se.PerformedProcedureStepStartDate, &se.PerformedProcedureStepStartTime,
		&se.InstitutionName, &se.StationName, &se.Manufacturer)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load series: %w", err)
	}
	se.SeriesNumber = intPtr(num)
	w.series[uid] = r
	return r, nil
}

// addWords indexes the fuzzy-matching words of a person name.
func (w *writer) addWords(ctx context.Context, kind int, owner int64, pn index.PersonName) error {
	for _, word := range index.NameWords(pn) {
		if _, err := w.exec(ctx, "INSERT INTO pn_words (kind, word, owner_pk) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
			int64(kind), word, owner); err != nil {
			return fmt.Errorf("index name words: %w", err)
		}
	}
	return nil
}

// fill collects "column = value" assignments that fill empty stored values
// with incoming ones. Stored values are never overwritten.
type fill struct {
	sets []string
	args []any
}

func (f *fill) str(col string, cur *string, in string) {
	if *cur == "" && in != "" {
		f.sets = append(f.sets, col+" = ?")
		f.args = append(f.args, in)
		*cur = in
	}
}

func (f *fill) num(col string, cur **int, in *int) {
	if *cur == nil && in != nil {
		f.sets = append(f.sets, col+" = ?")
		f.args = append(f.args, int64(*in))
		v := *in
		*cur = &v
	}
}

// pn fills empty groups of a stored name; it reports whether it did.
func (f *fill) pn(prefix string, cur *index.PersonName, in index.PersonName) bool {
	changed := false
	cg, ig := cur.Groups(), in.Groups()
	suffix := [3]string{"_a", "_i", "_p"}
	for g := range 3 {
		if cg[g] == "" && ig[g] != "" {
			f.sets = append(f.sets, prefix+suffix[g]+" = ?", prefix+suffix[g]+"_u = ?")
			f.args = append(f.args, ig[g], index.UpperPN(ig[g]))
			cg[g] = ig[g]
			changed = true
		}
	}
	*cur = index.PersonName{Alphabetic: cg[0], Ideographic: cg[1], Phonetic: cg[2]}
	return changed
}

func (f *fill) apply(ctx context.Context, w *writer, table string, pk int64) error {
	if len(f.sets) == 0 {
		return nil
	}
	q := "UPDATE " + table + " SET " + strings.Join(f.sets, ", ") + " WHERE pk = ?"
	if _, err := w.exec(ctx, q, append(f.args, pk)...); err != nil {
		return fmt.Errorf("fill %s: %w", table, err)
	}
	return nil
}
