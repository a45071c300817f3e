package sqlindex

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"

	"github.com/lightbox-pacs/lightbox/internal/index"
)

// Insert implements index.Index.
func (s *Store) Insert(ctx context.Context, rec index.InstanceRecord) (index.InsertResult, error) {
	res, err := s.insertBatch(ctx, []index.InstanceRecord{rec}, false)
	if err != nil {
		return index.InsertResult{}, err
	}
	return res[0], nil
}

// InsertBatch implements index.Index.
func (s *Store) InsertBatch(ctx context.Context, recs []index.InstanceRecord) ([]index.InsertResult, error) {
	return s.insertBatch(ctx, recs, false)
}

// Replace implements index.Index.
func (s *Store) Replace(ctx context.Context, rec index.InstanceRecord) (index.InsertResult, error) {
	res, err := s.insertBatch(ctx, []index.InstanceRecord{rec}, true)
	if err != nil {
		return index.InsertResult{}, err
	}
	return res[0], nil
}

func (s *Store) insertBatch(ctx context.Context, in []index.InstanceRecord, replace bool) ([]index.InsertResult, error) {
	if len(in) == 0 {
		return nil, nil
	}
	recs := make([]index.InstanceRecord, len(in))
	for i := range in {
		recs[i] = in[i]
		recs[i].Normalize()
		if err := recs[i].Validate(); err != nil {
			return nil, fmt.Errorf("index/%s: record %d: %w", s.cfg.Dialect, i, err)
		}
	}
	// Work through the batch in hierarchy order: rows of one study are
	// touched together, and concurrent transactions (PostgreSQL) take row
	// locks in the same order, which keeps deadlocks rare.
	order := make([]int, len(recs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		ra, rb := &recs[order[a]], &recs[order[b]]
		if ra.Study.StudyInstanceUID != rb.Study.StudyInstanceUID {
			return ra.Study.StudyInstanceUID < rb.Study.StudyInstanceUID
		}
		return ra.Series.SeriesInstanceUID < rb.Series.SeriesInstanceUID
	})
	results := make([]index.InsertResult, len(recs))
	what := "insert"
	if replace {
		what = "replace"
	}
	uids := make([]string, len(recs))
	for i := range recs {
		uids[i] = recs[i].Instance.SOPInstanceUID
	}
	err := s.write(ctx, what, func(w *writer) error {
		if err := w.findAbsent(ctx, uids); err != nil {
			return err
		}
		for _, i := range order {
			res, err := w.insert(ctx, &recs[i], replace)
			if err != nil {
				return fmt.Errorf("instance %s: %w", recs[i].Instance.SOPInstanceUID, err)
			}
			results[i] = res
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// findAbsent looks up the SOP Instance UIDs of a batch at once (one round
// trip per 500 instead of one per instance) and remembers those not indexed.
func (w *writer) findAbsent(ctx context.Context, uids []string) error {
	w.absent = make(map[string]bool, len(uids))
	for _, uid := range uids {
		w.absent[uid] = true
	}
	for start := 0; start < len(uids); start += 500 {
		chunk := uids[start:min(start+500, len(uids))]
		args := make([]any, len(chunk))
		for i, uid := range chunk {
			args[i] = uid
		}
		rows, err := w.query(ctx, "SELECT sop_uid FROM instances WHERE sop_uid IN ("+
			strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")+")", args...)
		if err != nil {
			return fmt.Errorf("look up instances: %w", err)
		}
		for rows.Next() {
			var uid string
			if err := rows.Scan(&uid); err != nil {
				rows.Close()
				return fmt.Errorf("look up instances: %w", err)
			}
			delete(w.absent, uid)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("look up instances: %w", err)
		}
	}
	return nil
}

func (w *writer) instancePK(ctx context.Context, uid string) (int64, bool, error) {
	if w.absent[uid] {
		// Known absent at the start of the batch; the first insert of it
		// clears the mark, so a second copy in the batch is looked up.
		return 0, false, nil
	}
	var pk int64
	err := w.queryRow(ctx, "SELECT pk FROM instances WHERE sop_uid = ?", uid).Scan(&pk)
	if err != nil {
		if isNoRows(err) {
			return 0, false, nil
		}
		return 0, false, fmt.Errorf("look up instance: %w", err)
	}
	return pk, true, nil
}

func (w *writer) insert(ctx context.Context, rec *index.InstanceRecord, replace bool) (index.InsertResult, error) {
	res := index.InsertResult{Status: index.Inserted}
	uid := rec.Instance.SOPInstanceUID
	pk, exists, err := w.instancePK(ctx, uid)
	if err != nil {
		return res, err
	}
	if exists {
		existing, err := w.s.instance(ctx, w.tx, uid)
		if err != nil {
			return res, err
		}
		res.Existing = &existing
		if !replace {
			res.Status = index.Duplicate
			return res, nil
		}
		if _, err := w.deleteInstances(ctx, "i.pk = ?", pk); err != nil {
			return res, err
		}
		res.Status = index.Replaced
	}

	pa, st, se, conflicts, err := w.resolve(ctx, rec)
	if err != nil {
		return res, err
	}
	res.Conflicts = conflicts

	in := &rec.Instance
	var ipk int64
	err = w.queryRow(ctx, "INSERT INTO instances (series_pk, study_pk, sop_uid, sop_class_uid, instance_number, "+
		"ts_uid, num_frames, num_rows, num_columns, content_date, content_time, acq_datetime, acq_datetime_utc, blob_key, "+
		"size, sha256, received_at, calling_ae) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "+
		"ON CONFLICT (sop_uid) DO NOTHING RETURNING pk",
		se.pk, st.pk, uid, in.SOPClassUID, nullInt(in.InstanceNumber), in.TransferSyntaxUID, int64(in.NumberOfFrames),
		int64(in.Rows), int64(in.Columns), in.ContentDate, in.ContentTime, in.AcquisitionDateTime, in.AcquisitionDateTimeUTC, in.BlobKey,
		in.Size, in.SHA256[:], micros(in.ReceivedAt), in.CallingAE).Scan(&ipk)
	if isNoRows(err) {
		// Another node inserted the same instance since we looked.
		existing, err := w.s.instance(ctx, w.tx, uid)
		if err != nil {
			return res, err
		}
		return index.InsertResult{Status: index.Duplicate, Existing: &existing, Conflicts: conflicts}, nil
	}
	if err != nil {
		return res, fmt.Errorf("insert instance: %w", err)
	}
	delete(w.absent, uid)
	header := rec.Header
	if header == nil {
		header = []byte{}
	}
	if _, err := w.exec(ctx, "INSERT INTO headers (instance_pk, header) VALUES (?, ?)", ipk, header); err != nil {
		return res, fmt.Errorf("insert header: %w", err)
	}
	if err := w.insertValues(ctx, rec, ipk, se.pk, st.pk); err != nil {
		return res, err
	}
	ds := deltaOf(w.dSeries, se.pk)
	ds.instances++
	ds.bytes += in.Size
	deltaOf(w.dStudies, st.pk).instances++
	deltaOf(w.dPatients, pa.pk).instances++
	if err := w.addToStudyList(ctx, st, index.SOPClassesInStudy, in.SOPClassUID); err != nil {
		return res, err
	}
	return res, nil
}

// resolve finds or creates the patient, study and series of rec and checks
// the identity of what exists against what arrives.
func (w *writer) resolve(ctx context.Context, rec *index.InstanceRecord) (*patientRow, *studyRow, *seriesRow, []index.Conflict, error) {
	for range 3 {
		se, err := w.seriesByUID(ctx, rec.Series.SeriesInstanceUID)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		if se != nil {
			st, err := w.studyByPK(ctx, se.studyPK)
			if err != nil {
				return nil, nil, nil, nil, err
			}
			pa, err := w.patientByPK(ctx, st.patientPK)
			if err != nil {
				return nil, nil, nil, nil, err
			}
			conflicts, err := w.checkIdentity(ctx, rec, pa, st, se)
			return pa, st, se, conflicts, err
		}
		st, err := w.studyByUID(ctx, rec.Study.StudyInstanceUID)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		var pa *patientRow
		if st == nil {
			if pa, err = w.ensurePatient(ctx, rec); err != nil {
				return nil, nil, nil, nil, err
			}
			created := false
			if st, created, err = w.createStudy(ctx, pa, rec); err != nil {
				return nil, nil, nil, nil, err
			}
			if !created {
				continue // created concurrently by another node: look again
			}
		} else if pa, err = w.patientByPK(ctx, st.patientPK); err != nil {
			return nil, nil, nil, nil, err
		}
		se, created, err := w.createSeries(ctx, pa, st, rec)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		if !created {
			continue
		}
		conflicts, err := w.checkIdentity(ctx, rec, pa, st, nil)
		return pa, st, se, conflicts, err
	}
	return nil, nil, nil, nil, fmt.Errorf("series %s: hierarchy changed concurrently, giving up", rec.Series.SeriesInstanceUID)
}

func (w *writer) ensurePatient(ctx context.Context, rec *index.InstanceRecord) (*patientRow, error) {
	key := patientKey(&rec.Patient, rec.Study.StudyInstanceUID)
	pa, err := w.patientByKey(ctx, key)
	if err != nil || pa != nil {
		return pa, err
	}
	p := rec.Patient
	n := p.PatientName
	var pk int64
	err = w.queryRow(ctx, "INSERT INTO patients (patient_key, patient_id, issuer, name_a, name_i, name_p, "+
		"name_a_u, name_i_u, name_p_u, birth_date, sex, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "+
		"ON CONFLICT (patient_key) DO NOTHING RETURNING pk",
		key, p.PatientID, p.IssuerOfPatientID, n.Alphabetic, n.Ideographic, n.Phonetic,
		index.UpperPN(n.Alphabetic), index.UpperPN(n.Ideographic), index.UpperPN(n.Phonetic),
		p.PatientBirthDate, p.PatientSex, w.now).Scan(&pk)
	if isNoRows(err) {
		// Created concurrently by another node.
		pa, err := w.loadPatient(ctx, "patient_key = ?", key)
		if err == nil && pa == nil {
			err = fmt.Errorf("patient %q neither inserted nor found", key)
		}
		return pa, err
	}
	if err != nil {
		return nil, fmt.Errorf("insert patient: %w", err)
	}
	pa = &patientRow{pk: pk, key: key, p: p}
	w.patients[key] = pa
	w.patientsByPK[pk] = pa
	return pa, w.addWords(ctx, wordsPatientName, pk, n)
}

func (w *writer) createStudy(ctx context.Context, pa *patientRow, rec *index.InstanceRecord) (*studyRow, bool, error) {
	s := rec.Study
	r := s.ReferringPhysicianName
	var pk int64
	err := w.queryRow(ctx, "INSERT INTO studies (patient_pk, study_uid, study_date, study_time, accession, study_id, "+
		"description, ref_a, ref_i, ref_p, ref_a_u, ref_i_u, ref_p_u, modalities, sop_classes, created_at) "+
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', ?) ON CONFLICT (study_uid) DO NOTHING RETURNING pk",
		pa.pk, s.StudyInstanceUID, s.StudyDate, s.StudyTime, s.AccessionNumber, s.StudyID, s.StudyDescription,
		r.Alphabetic, r.Ideographic, r.Phonetic, index.UpperPN(r.Alphabetic), index.UpperPN(r.Ideographic),
		index.UpperPN(r.Phonetic), w.now).Scan(&pk)
	if isNoRows(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("insert study: %w", err)
	}
	st := &studyRow{pk: pk, patientPK: pa.pk, st: s}
	w.studies[s.StudyInstanceUID] = st
	w.studiesByPK[pk] = st
	deltaOf(w.dPatients, pa.pk).studies++
	return st, true, w.addWords(ctx, wordsReferringPhy, pk, r)
}

func (w *writer) createSeries(ctx context.Context, pa *patientRow, st *studyRow, rec *index.InstanceRecord) (*seriesRow, bool, error) {
	se := rec.Series
	var pk int64
	err := w.queryRow(ctx, "INSERT INTO series (study_pk, series_uid, modality, series_number, description, "+
		"body_part, series_date, series_time, pps_date, pps_time, institution, station, manufacturer, created_at) "+
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (series_uid) DO NOTHING RETURNING pk",
		st.pk, se.SeriesInstanceUID, se.Modality, nullInt(se.SeriesNumber), se.SeriesDescription, se.BodyPartExamined,
		se.SeriesDate, se.SeriesTime, se.PerformedProcedureStepStartDate, se.PerformedProcedureStepStartTime,
		se.InstitutionName, se.StationName, se.Manufacturer, w.now).Scan(&pk)
	if isNoRows(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("insert series: %w", err)
	}
	row := &seriesRow{pk: pk, studyPK: st.pk, se: se}
	w.series[se.SeriesInstanceUID] = row
	deltaOf(w.dStudies, st.pk).series++
	deltaOf(w.dPatients, pa.pk).series++
	return row, true, w.addToStudyList(ctx, st, index.ModalitiesInStudy, se.Modality)
}

// addToStudyList adds a value to ModalitiesInStudy or SOPClassesInStudy of
// a study. The row is locked and re-read first so that concurrent writers
// (PostgreSQL) do not lose each other's additions.
func (w *writer) addToStudyList(ctx context.Context, st *studyRow, key index.Key, v string) error {
	list := &st.st.ModalitiesInStudy
	col := "modalities"
	if key == index.SOPClassesInStudy {
		list, col = &st.st.SOPClassesInStudy, "sop_classes"
	}
	if v == "" || slices.Contains(*list, v) {
		return nil
	}
	var mods, classes string
	if err := w.queryRow(ctx, "SELECT modalities, sop_classes FROM studies WHERE pk = ?"+w.d.forUpdate(), st.pk).
		Scan(&mods, &classes); err != nil {
		return fmt.Errorf("lock study: %w", err)
	}
	st.st.ModalitiesInStudy, st.st.SOPClassesInStudy = splitList(mods), splitList(classes)
	if slices.Contains(*list, v) {
		return nil
	}
	*list = append(*list, v)
	slices.Sort(*list)
	if _, err := w.exec(ctx, "UPDATE studies SET "+col+" = ? WHERE pk = ?", joinList(*list), st.pk); err != nil {
		return fmt.Errorf("update %s: %w", col, err)
	}
	return nil
}

// checkIdentity compares an arriving instance with the stored hierarchy it
// is filed under (se is nil for a series created just now). Differences in
// identity are recorded as conflicts; empty stored values are filled in;
// stored values are never overwritten.
func (w *writer) checkIdentity(ctx context.Context, rec *index.InstanceRecord, pa *patientRow, st *studyRow, se *seriesRow) ([]index.Conflict, error) {
	var out []index.Conflict
	record := func(kind index.ConflictKind, attr index.Key, existing, incoming string, subject ...string) error {
		c, err := w.recordConflict(ctx, kind, pa, rec, attr, existing, incoming, subject)
		if err == nil {
			out = append(out, c)
		}
		return err
	}
	if se != nil {
		var f fill
		f.str("modality", &se.se.Modality, rec.Series.Modality)
		f.num("series_number", &se.se.SeriesNumber, rec.Series.SeriesNumber)
		f.str("description", &se.se.SeriesDescription, rec.Series.SeriesDescription)
		f.str("body_part", &se.se.BodyPartExamined, rec.Series.BodyPartExamined)
		f.str("series_date", &se.se.SeriesDate, rec.Series.SeriesDate)
		f.str("series_time", &se.se.SeriesTime, rec.Series.SeriesTime)
		f.str("pps_date", &se.se.PerformedProcedureStepStartDate, rec.Series.PerformedProcedureStepStartDate)
		f.str("pps_time", &se.se.PerformedProcedureStepStartTime, rec.Series.PerformedProcedureStepStartTime)
		f.str("institution", &se.se.InstitutionName, rec.Series.InstitutionName)
		f.str("station", &se.se.StationName, rec.Series.StationName)
		f.str("manufacturer", &se.se.Manufacturer, rec.Series.Manufacturer)
		modalityFilled := len(f.sets) > 0 && strings.HasPrefix(f.sets[0], "modality ")
		if err := f.apply(ctx, w, "series", se.pk); err != nil {
			return nil, err
		}
		if modalityFilled {
			if err := w.addToStudyList(ctx, st, index.ModalitiesInStudy, se.se.Modality); err != nil {
				return nil, err
			}
		}
		if st.st.StudyInstanceUID != rec.Study.StudyInstanceUID {
			err := record(index.ConflictSeriesStudy, index.StudyInstanceUID, st.st.StudyInstanceUID,
				rec.Study.StudyInstanceUID, se.se.SeriesInstanceUID, rec.Study.StudyInstanceUID)
			return out, err
		}
	}

	var f fill
	f.str("study_date", &st.st.StudyDate, rec.Study.StudyDate)
	f.str("study_time", &st.st.StudyTime, rec.Study.StudyTime)
	f.str("accession", &st.st.AccessionNumber, rec.Study.AccessionNumber)
	f.str("study_id", &st.st.StudyID, rec.Study.StudyID)
	f.str("description", &st.st.StudyDescription, rec.Study.StudyDescription)
	refFilled := f.pn("ref", &st.st.ReferringPhysicianName, rec.Study.ReferringPhysicianName)
	if err := f.apply(ctx, w, "studies", st.pk); err != nil {
		return nil, err
	}
	if refFilled {
		if err := w.addWords(ctx, wordsReferringPhy, st.pk, st.st.ReferringPhysicianName); err != nil {
			return nil, err
		}
	}

	inKey := patientKey(&rec.Patient, st.st.StudyInstanceUID)
	if inKey != pa.key {
		attr, existing, incoming := index.PatientID, pa.p.PatientID, rec.Patient.PatientID
		if existing == incoming {
			attr, existing, incoming = index.IssuerOfPatientID, pa.p.IssuerOfPatientID, rec.Patient.IssuerOfPatientID
		}
		err := record(index.ConflictStudyPatient, attr, existing, incoming, st.st.StudyInstanceUID, inKey)
		return out, err
	}

	// Same patient: compare demographics.
	subject := []string{pa.key, rec.Study.StudyInstanceUID}
	var pf fill
	if namesConflict(pa.p.PatientName, rec.Patient.PatientName) {
		if err := record(index.ConflictPatientDemographics, index.PatientName, pa.p.PatientName.String(),
			rec.Patient.PatientName.String(), subject...); err != nil {
			return nil, err
		}
	} else if pf.pn("name", &pa.p.PatientName, rec.Patient.PatientName) {
		if err := w.addWords(ctx, wordsPatientName, pa.pk, pa.p.PatientName); err != nil {
			return nil, err
		}
	}
	for _, d := range []struct {
		key      index.Key
		col      string
		cur      *string
		incoming string
	}{
		{index.PatientBirthDate, "birth_date", &pa.p.PatientBirthDate, rec.Patient.PatientBirthDate},
		{index.PatientSex, "sex", &pa.p.PatientSex, rec.Patient.PatientSex},
	} {
		if *d.cur != "" && d.incoming != "" && *d.cur != d.incoming {
			if err := record(index.ConflictPatientDemographics, d.key, *d.cur, d.incoming, subject...); err != nil {
				return nil, err
			}
			continue
		}
		pf.str(d.col, d.cur, d.incoming)
	}
	if err := pf.apply(ctx, w, "patients", pa.pk); err != nil {
		return nil, err
	}
	return out, nil
}

// namesConflict reports whether two names differ in a group both have,
// ignoring case.
func namesConflict(a, b index.PersonName) bool {
	ag, bg := a.Groups(), b.Groups()
	for g := range 3 {
		if ag[g] != "" && bg[g] != "" && index.UpperPN(ag[g]) != index.UpperPN(bg[g]) {
			return true
		}
	}
	return false
}

const conflictCols = "pk, kind, patient_id, issuer, study_uid, series_uid, sop_uid, attribute, existing, incoming, " +
	"occurrences, first_seen, last_seen"

type rowScanner interface{ Scan(dest ...any) error }

func scanConflict(r rowScanner) (index.Conflict, error) {
	var (
		c           index.Conflict
		kind, attr  string
		first, last int64
	)
	err := r.Scan(&c.ID, &kind, &c.PatientID, &c.IssuerOfPatientID, &c.StudyInstanceUID, &c.SeriesInstanceUID,
		&c.SOPInstanceUID, &attr, &c.Existing, &c.Incoming, &c.Count, &first, &last)
	c.Kind, c.Attribute = index.ConflictKind(kind), index.Key(attr)
	c.FirstSeen, c.LastSeen = fromMicros(first), fromMicros(last)
	return c, err
}

// recordConflict inserts a conflict, or counts one more occurrence of it.
// subject identifies the conflict for de-duplication.
func (w *writer) recordConflict(ctx context.Context, kind index.ConflictKind, pa *patientRow, rec *index.InstanceRecord,
	attr index.Key, existing, incoming string, subject []string) (index.Conflict, error) {
	h := sha256.Sum256([]byte(strings.Join(append([]string{string(kind), string(attr), incoming}, subject...), "\x1f")))
	row := w.queryRow(ctx, "INSERT INTO conflicts (dedup_key, kind, patient_id, issuer, study_uid, series_uid, sop_uid, "+
		"attribute, existing, incoming, occurrences, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?) "+
		"ON CONFLICT (dedup_key) DO UPDATE SET occurrences = conflicts.occurrences + 1, last_seen = excluded.last_seen "+
		"RETURNING "+conflictCols,
		hex.EncodeToString(h[:]), string(kind), pa.p.PatientID, pa.p.IssuerOfPatientID, rec.Study.StudyInstanceUID,
		rec.Series.SeriesInstanceUID, rec.Instance.SOPInstanceUID, string(attr), existing, incoming, w.now, w.now)
	c, err := scanConflict(row)
	if err != nil {
		return c, fmt.Errorf("record conflict: %w", err)
	}
	level := slog.LevelDebug
	if c.Count == 1 {
		level = slog.LevelWarn
	}
	w.s.log.Log(ctx, level, "identity conflict", "kind", kind, "occurrences", c.Count, "patient_id", pa.p.PatientID, "issuer", pa.p.IssuerOfPatientID,
		"study", rec.Study.StudyInstanceUID, "attribute", attr, "existing", existing, "incoming", incoming)
	return c, nil
}
