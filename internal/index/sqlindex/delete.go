package sqlindex

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/lightbox-pacs/lightbox/internal/index"
)

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// DeleteInstance implements index.Index.
func (s *Store) DeleteInstance(ctx context.Context, sopInstanceUID string) ([]string, error) {
	uid := index.NormalizeUID(sopInstanceUID)
	return s.deleteWhat(ctx, "instance "+uid, "i.sop_uid = ?", uid)
}

// DeleteSeries implements index.Index.
func (s *Store) DeleteSeries(ctx context.Context, seriesInstanceUID string) ([]string, error) {
	uid := index.NormalizeUID(seriesInstanceUID)
	return s.deleteWhat(ctx, "series "+uid, "i.series_pk = (SELECT pk FROM series WHERE series_uid = ?)", uid)
}

// DeleteStudy implements index.Index.
func (s *Store) DeleteStudy(ctx context.Context, studyInstanceUID string) ([]string, error) {
	uid := index.NormalizeUID(studyInstanceUID)
	return s.deleteWhat(ctx, "study "+uid, "i.study_pk = (SELECT pk FROM studies WHERE study_uid = ?)", uid)
}

// DeletePatient implements index.Index. Patients without a Patient ID
// exist once per study and are deleted with their study.
func (s *Store) DeletePatient(ctx context.Context, patientID, issuerOfPatientID string) ([]string, error) {
	p := index.Patient{PatientID: index.TrimText(patientID), IssuerOfPatientID: index.TrimText(issuerOfPatientID)}
	if p.PatientID == "" {
		return nil, fmt.Errorf("%w: patient without Patient ID (delete its studies instead)", index.ErrNotFound)
	}
	key := patientKey(&p, "")
	keys, err := s.deleteWhat(ctx, "patient "+p.PatientID,
		"i.study_pk IN (SELECT s.pk FROM studies s JOIN patients p ON p.pk = s.patient_pk WHERE p.patient_key = ?)", key)
	if err != nil && errors.Is(err, index.ErrNotFound) {
		// A patient row left without instances (possible after a lost
		// race between nodes) is still deleted.
		var n int64
		werr := s.write(ctx, "delete patient", func(w *writer) error {
			res, err := w.exec(ctx, "DELETE FROM patients WHERE patient_key = ? AND num_instances <= 0", key)
			if err == nil {
				n, err = res.RowsAffected()
			}
			return err
		})
		if werr != nil {
			return nil, werr
		}
		if n > 0 {
			return nil, nil
		}
	}
	return keys, err
}

func (s *Store) deleteWhat(ctx context.Context, what, pred string, arg any) ([]string, error) {
	var keys []string
	err := s.write(ctx, "delete "+what, func(w *writer) error {
		var err error
		keys, err = w.deleteInstances(ctx, pred, arg)
		if err == nil && len(keys) == 0 {
			return passthrough{fmt.Errorf("%w: %s", index.ErrNotFound, what)}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return keys, nil
}

type gone struct {
	seriesPK, studyPK, patientPK int64
	size                         int64
}

// deleteInstances deletes the instances selected by pred (on alias i),
// updates the counts, removes parents left empty and returns the blob keys.
func (w *writer) deleteInstances(ctx context.Context, pred string, args ...any) ([]string, error) {
	if err := w.flush(ctx); err != nil {
		return nil, err
	}
	defer w.reset()
	rows, err := w.query(ctx, "SELECT i.pk, i.series_pk, i.study_pk, s.patient_pk, i.size, i.blob_key "+
		"FROM instances i JOIN studies s ON s.pk = i.study_pk WHERE "+pred, args...)
	if err != nil {
		return nil, fmt.Errorf("select instances to delete: %w", err)
	}
	var (
		keys []string
		pks  []int64
		all  []gone
	)
	for rows.Next() {
		var (
			pk  int64
			g   gone
			key string
		)
		if err := rows.Scan(&pk, &g.seriesPK, &g.studyPK, &g.patientPK, &g.size, &key); err != nil {
			rows.Close()
			return nil, fmt.Errorf("select instances to delete: %w", err)
		}
		keys = append(keys, key)
		pks = append(pks, pk)
		all = append(all, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("select instances to delete: %w", err)
	}
	if len(pks) == 0 {
		return nil, nil
	}
	for start := 0; start < len(pks); start += 500 {
		chunk := pks[start:min(start+500, len(pks))]
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(chunk)), ", ")
		args := make([]any, len(chunk))
		for i, pk := range chunk {
			args[i] = pk
		}
		if _, err := w.exec(ctx, "DELETE FROM headers WHERE instance_pk IN ("+marks+")", args...); err != nil {
			return nil, fmt.Errorf("delete headers: %w", err)
		}
		if _, err := w.exec(ctx, "DELETE FROM attr_values WHERE level = "+levelInstance+" AND owner_pk IN ("+marks+")", args...); err != nil {
			return nil, fmt.Errorf("delete attribute values: %w", err)
		}
		if _, err := w.exec(ctx, "DELETE FROM instances WHERE pk IN ("+marks+")", args...); err != nil {
			return nil, fmt.Errorf("delete instances: %w", err)
		}
	}

	// Count what went per parent.
	seriesOf := map[int64]*gone{} // series pk -> its parents
	for _, g := range all {
		d := deltaOf(w.dSeries, g.seriesPK)
		d.instances--
		d.bytes -= g.size
		deltaOf(w.dStudies, g.studyPK).instances--
		deltaOf(w.dPatients, g.patientPK).instances--
		if seriesOf[g.seriesPK] == nil {
			g := g
			seriesOf[g.seriesPK] = &g
		}
	}
	dSeries := w.dSeries
	w.dSeries = map[int64]*delta{}
	for _, pk := range sortedKeys(dSeries) {
		d := dSeries[pk]
		if _, err := w.exec(ctx, "UPDATE series SET num_instances = num_instances + ?, bytes = bytes + ? WHERE pk = ?",
			d.instances, d.bytes, pk); err != nil {
			return nil, fmt.Errorf("update series counts: %w", err)
		}
		n, err := w.execCount(ctx, "DELETE FROM series WHERE pk = ? AND num_instances <= 0", pk)
		if err != nil {
			return nil, fmt.Errorf("delete series: %w", err)
		}
		if n > 0 {
			if _, err := w.exec(ctx, "DELETE FROM attr_values WHERE level = "+levelSeries+" AND owner_pk = ?", pk); err != nil {
				return nil, fmt.Errorf("delete series attribute values: %w", err)
			}
			g := seriesOf[pk]
			deltaOf(w.dStudies, g.studyPK).series--
			deltaOf(w.dPatients, g.patientPK).series--
		}
	}
	studies := w.dStudies
	studyPatient := map[int64]int64{}
	for _, g := range all {
		studyPatient[g.studyPK] = g.patientPK
	}
	w.dStudies = map[int64]*delta{}
	for _, pk := range sortedKeys(studies) {
		d := studies[pk]
		if _, err := w.exec(ctx, "UPDATE studies SET num_series = num_series + ?, num_instances = num_instances + ? WHERE pk = ?",
			d.series, d.instances, pk); err != nil {
			return nil, fmt.Errorf("update study counts: %w", err)
		}
		n, err := w.execCount(ctx, "DELETE FROM studies WHERE pk = ? AND num_instances <= 0", pk)
		if err != nil {
			return nil, fmt.Errorf("delete study: %w", err)
		}
		if n > 0 {
			deltaOf(w.dPatients, studyPatient[pk]).studies--
			if _, err := w.exec(ctx, "DELETE FROM attr_values WHERE level = "+levelStudy+" AND owner_pk = ?", pk); err != nil {
				return nil, fmt.Errorf("delete study attribute values: %w", err)
			}
			if _, err := w.exec(ctx, "DELETE FROM pn_words WHERE kind = ? AND owner_pk = ?", int64(wordsReferringPhy), pk); err != nil {
				return nil, fmt.Errorf("delete study words: %w", err)
			}
			continue
		}
		if err := w.recomputeStudyLists(ctx, pk); err != nil {
			return nil, err
		}
	}
	patients := w.dPatients
	w.dPatients = map[int64]*delta{}
	for _, pk := range sortedKeys(patients) {
		d := patients[pk]
		if _, err := w.exec(ctx, "UPDATE patients SET num_studies = num_studies + ?, num_series = num_series + ?, "+
			"num_instances = num_instances + ? WHERE pk = ?", d.studies, d.series, d.instances, pk); err != nil {
			return nil, fmt.Errorf("update patient counts: %w", err)
		}
		n, err := w.execCount(ctx, "DELETE FROM patients WHERE pk = ? AND num_instances <= 0", pk)
		if err != nil {
			return nil, fmt.Errorf("delete patient: %w", err)
		}
		if n > 0 {
			if _, err := w.exec(ctx, "DELETE FROM pn_words WHERE kind = ? AND owner_pk = ?", int64(wordsPatientName), pk); err != nil {
				return nil, fmt.Errorf("delete patient words: %w", err)
			}
		}
	}
	return keys, nil
}

func (w *writer) execCount(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := w.exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// recomputeStudyLists rebuilds ModalitiesInStudy and SOPClassesInStudy of a
// study from its remaining series and instances.
func (w *writer) recomputeStudyLists(ctx context.Context, pk int64) error {
	distinct := func(q string) (string, error) {
		rows, err := w.query(ctx, q, pk)
		if err != nil {
			return "", err
		}
		defer rows.Close()
		var vals []string
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				return "", err
			}
			vals = append(vals, v)
		}
		return joinList(vals), rows.Err()
	}
	mods, err := distinct("SELECT DISTINCT modality FROM series WHERE study_pk = ? AND modality <> '' ORDER BY modality")
	if err != nil {
		return fmt.Errorf("recompute modalities: %w", err)
	}
	classes, err := distinct("SELECT DISTINCT sop_class_uid FROM instances WHERE study_pk = ? AND sop_class_uid <> '' " +
		"ORDER BY sop_class_uid")
	if err != nil {
		return fmt.Errorf("recompute SOP classes: %w", err)
	}
	if _, err := w.exec(ctx, "UPDATE studies SET modalities = ?, sop_classes = ? WHERE pk = ?", mods, classes, pk); err != nil {
		return fmt.Errorf("update study lists: %w", err)
	}
	return nil
}
