// Package indextest is the conformance suite every index backend passes:
// inserts, duplicates, replacement, every matching rule (table-driven),
// counts after insert and delete, identity conflicts, statistics,
// concurrent inserts and pagination. It also holds the synthetic data
// generator and query benchmarks shared by the backends.
package indextest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/lightbox-pacs/lightbox/internal/index"
)

// Run runs the conformance suite. open must return a new, empty index for
// each call and arrange for it to be closed when t ends.
func Run(t *testing.T, open func(t *testing.T) index.Index) {
	t.Run("InsertAndGet", func(t *testing.T) { testInsertAndGet(t, open) })
	t.Run("Duplicates", func(t *testing.T) { testDuplicates(t, open) })
	t.Run("Replace", func(t *testing.T) { testReplace(t, open) })
	t.Run("InvalidRecords", func(t *testing.T) { testInvalidRecords(t, open) })
	t.Run("Matching", func(t *testing.T) { testMatching(t, open) })
	t.Run("Results", func(t *testing.T) { testResults(t, open) })
	t.Run("Counts", func(t *testing.T) { testCounts(t, open) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, open) })
	t.Run("Conflicts", func(t *testing.T) { testConflicts(t, open) })
	t.Run("Stats", func(t *testing.T) { testStats(t, open) })
	t.Run("Pagination", func(t *testing.T) { testPagination(t, open) })
	t.Run("Each", func(t *testing.T) { testEach(t, open) })
	t.Run("ConcurrentInserts", func(t *testing.T) { testConcurrentInserts(t, open) })
	t.Run("Closed", func(t *testing.T) { testClosed(t, open) })
	t.Run("Order", func(t *testing.T) { testOrder(t, open) })
}

func insertFixture(t *testing.T, ix index.Index) {
	t.Helper()
	recs := fixture()
	// Half one by one, half in a batch: both paths build the same index.
	for _, r := range recs[:6] {
		res, err := ix.Insert(context.Background(), r)
		if err != nil {
			t.Fatalf("Insert %s: %v", r.Instance.SOPInstanceUID, err)
		}
		if res.Status != index.Inserted || len(res.Conflicts) != 0 {
			t.Fatalf("Insert %s: %+v, want inserted without conflicts", r.Instance.SOPInstanceUID, res)
		}
	}
	results, err := ix.InsertBatch(context.Background(), recs[6:])
	if err != nil {
		t.Fatalf("InsertBatch: %v", err)
	}
	for i, res := range results {
		if res.Status != index.Inserted || len(res.Conflicts) != 0 {
			t.Fatalf("InsertBatch[%d]: %+v, want inserted without conflicts", i, res)
		}
	}
}

func mustInstance(t *testing.T, ix index.Index, uid string) index.InstanceRecord {
	t.Helper()
	r, err := ix.Instance(context.Background(), uid)
	if err != nil {
		t.Fatalf("Instance(%s): %v", uid, err)
	}
	return r
}

func testInsertAndGet(t *testing.T, open func(t *testing.T) index.Index) {
	ctx := context.Background()
	ix := open(t)
	rec := fixture()[1]
	res, err := ix.Insert(ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != index.Inserted || res.Existing != nil {
		t.Fatalf("Insert = %+v, want Inserted", res)
	}
	got := mustInstance(t, ix, I(2))
	want := rec
	want.Normalize()
	want.Patient.NumberOfPatientRelatedStudies, want.Patient.NumberOfPatientRelatedSeries = 1, 1
	want.Patient.NumberOfPatientRelatedInstances = 1
	want.Study.NumberOfStudyRelatedSeries, want.Study.NumberOfStudyRelatedInstances = 1, 1
	want.Study.ModalitiesInStudy, want.Study.SOPClassesInStudy = []string{"CT"}, []string{ctImage}
	want.Series.NumberOfSeriesRelatedInstances = 1
	compareRecords(t, got, want)

	if _, err := ix.Instance(ctx, "9.9.9"); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("Instance(unknown) error = %v, want ErrNotFound", err)
	}
	// Padded lookups find the normalised UID.
	if r, err := ix.Instance(ctx, I(2)+"\x00"); err != nil || r.Instance.SOPInstanceUID != I(2) {
		t.Errorf("Instance(padded) = %v, %v", r.Instance.SOPInstanceUID, err)
	}
}

func compareRecords(t *testing.T, got, want index.InstanceRecord) {
	t.Helper()
	if !bytes.Equal(got.Header, want.Header) {
		t.Errorf("Header = %s, want %s", got.Header, want.Header)
	}
	if !got.Instance.ReceivedAt.Equal(want.Instance.ReceivedAt) {
		t.Errorf("ReceivedAt = %v, want %v", got.Instance.ReceivedAt, want.Instance.ReceivedAt)
	}
	got.Header, want.Header = nil, nil
	got.Instance.ReceivedAt = want.Instance.ReceivedAt
	if g, w := fmt.Sprintf("%+v", deref(got)), fmt.Sprintf("%+v", deref(want)); g != w {
		t.Errorf("record mismatch:\n got  %s\n want %s", g, w)
	}
}

// deref renders optional integers by value for comparison.
func deref(r index.InstanceRecord) any {
	iv := func(p *int) string {
		if p == nil {
			return "nil"
		}
		return fmt.Sprint(*p)
	}
	sn, in := iv(r.Series.SeriesNumber), iv(r.Instance.InstanceNumber)
	r.Series.SeriesNumber, r.Instance.InstanceNumber = nil, nil
	return struct {
		R              index.InstanceRecord
		SeriesNumber   string
		InstanceNumber string
	}{r, sn, in}
}

func testDuplicates(t *testing.T, open func(t *testing.T) index.Index) {
	ctx := context.Background()
	ix := open(t)
	first := fixture()[0]
	if _, err := ix.Insert(ctx, first); err != nil {
		t.Fatal(err)
	}
	again := first
	again.Instance.BlobKey = "blob/other"
	again.Header = []byte(`{"other":true}`)
	res, err := ix.Insert(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != index.Duplicate || res.Existing == nil {
		t.Fatalf("second Insert = %+v, want Duplicate with the existing record", res)
	}
	if res.Existing.Instance.BlobKey != first.Instance.BlobKey || !bytes.Equal(res.Existing.Header, first.Header) ||
		res.Existing.Instance.SHA256 != first.Instance.SHA256 {
		t.Errorf("Existing = %+v, want the first record", res.Existing.Instance)
	}
	if got := mustInstance(t, ix, first.Instance.SOPInstanceUID); got.Instance.BlobKey != first.Instance.BlobKey {
		t.Errorf("stored blob key = %s after duplicate, want %s", got.Instance.BlobKey, first.Instance.BlobKey)
	}
	expectCounts(t, ix, S1, 1, 1)

	// Within one batch: the later copy is the duplicate.
	r2 := fixture()[1]
	r2b := r2
	r2b.Instance.BlobKey = "blob/second-copy"
	results, err := ix.InsertBatch(ctx, []index.InstanceRecord{r2, fixture()[2], r2b, first})
	if err != nil {
		t.Fatal(err)
	}
	statuses := []index.InsertStatus{results[0].Status, results[1].Status, results[2].Status, results[3].Status}
	if !slices.Equal(statuses, []index.InsertStatus{index.Inserted, index.Inserted, index.Duplicate, index.Duplicate}) {
		t.Fatalf("batch statuses = %v", statuses)
	}
	if results[2].Existing == nil || results[2].Existing.Instance.BlobKey != r2.Instance.BlobKey {
		t.Errorf("in-batch duplicate Existing = %+v, want the batch's first copy", results[2].Existing)
	}
	expectCounts(t, ix, S1, 1, 3)
}

func testReplace(t *testing.T, open func(t *testing.T) index.Index) {
	ctx := context.Background()
	ix := open(t)
	insertFixture(t, ix)
	old := fixture()[3] // only instance of SE2
	nu := old
	nu.Instance.BlobKey = "blob/replacement"
	nu.Instance.Size = 999
	nu.Header = []byte(`{"replaced":true}`)
	res, err := ix.Replace(ctx, nu)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != index.Replaced || res.Existing == nil || res.Existing.Instance.BlobKey != old.Instance.BlobKey {
		t.Fatalf("Replace = %+v, want Replaced with the old record", res)
	}
	got := mustInstance(t, ix, old.Instance.SOPInstanceUID)
	if got.Instance.BlobKey != "blob/replacement" || string(got.Header) != `{"replaced":true}` || got.Instance.Size != 999 {
		t.Errorf("after Replace: %+v %s", got.Instance, got.Header)
	}
	expectCounts(t, ix, S1, 2, 4)
	st, err := ix.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Instances != 12 || st.Series != 8 || st.Studies != 6 || st.Patients != 5 {
		t.Errorf("Stats after Replace = %+v", st)
	}
	// Replacing something absent inserts it.
	fresh := record(p1, s1, se1, fixInstance{"1.2.826.3.99", ctImage, 4, 512, "", "", "", 1})
	if res, err := ix.Replace(ctx, fresh); err != nil || res.Status != index.Inserted || res.Existing != nil {
		t.Fatalf("Replace(new) = %+v, %v, want Inserted", res, err)
	}
	expectCounts(t, ix, S1, 2, 5)
}

func testInvalidRecords(t *testing.T, open func(t *testing.T) index.Index) {
	ctx := context.Background()
	ix := open(t)
	for _, mut := range []func(r *index.InstanceRecord){
		func(r *index.InstanceRecord) { r.Study.StudyInstanceUID = " " },
		func(r *index.InstanceRecord) { r.Series.SeriesInstanceUID = "" },
		func(r *index.InstanceRecord) { r.Instance.SOPInstanceUID = "\x00" },
		func(r *index.InstanceRecord) { r.Instance.BlobKey = "" },
	} {
		good, bad := fixture()[0], fixture()[1]
		mut(&bad)
		if _, err := ix.InsertBatch(ctx, []index.InstanceRecord{good, bad}); !errors.Is(err, index.ErrInvalidRecord) {
			t.Errorf("InsertBatch with invalid record: error = %v, want ErrInvalidRecord", err)
		}
	}
	if n, err := ix.Count(ctx, index.Query{Level: index.InstanceLevel}); err != nil || n != 0 {
		t.Errorf("a failed batch wrote %d instances (%v)", n, err)
	}
}

// testResults checks the values returned at each level.
func testResults(t *testing.T, open func(t *testing.T) index.Index) {
	ctx := context.Background()
	ix := open(t)
	insertFixture(t, ix)

	rs, err := ix.Find(ctx, index.Query{Level: index.StudyLevel, Matches: m("StudyInstanceUID", S4), IncludeHeader: true})
	if err != nil || len(rs) != 1 {
		t.Fatalf("Find S4 = %d results, %v", len(rs), err)
	}
	r := rs[0]
	if r.Patient.PatientID != "PID3" || r.Patient.PatientName.Alphabetic != "Müller^Jean-Pierre" ||
		r.Patient.PatientBirthDate != "19900303" || r.Patient.PatientSex != "M" {
		t.Errorf("normalised patient = %+v", r.Patient)
	}
	if r.Study.StudyDate != "20200115" || r.Study.StudyTime != "235959.5" || r.Study.StudyInstanceUID != S4 {
		t.Errorf("normalised study = %+v", r.Study)
	}
	if !slices.Equal(r.Study.ModalitiesInStudy, []string{"US"}) || !slices.Equal(r.Study.SOPClassesInStudy, []string{usImage}) {
		t.Errorf("study lists = %v %v", r.Study.ModalitiesInStudy, r.Study.SOPClassesInStudy)
	}
	if r.Series.SeriesInstanceUID != "" || r.Instance.SOPInstanceUID != "" {
		t.Errorf("study result carries lower levels: %+v %+v", r.Series, r.Instance)
	}
	if want := fixture()[8].Header; !bytes.Equal(r.Header, want) {
		t.Errorf("study header = %s, want the first instance's %s", r.Header, want)
	}

	rs, err = ix.Find(ctx, index.Query{Level: index.SeriesLevel, Matches: m("SeriesInstanceUID", SE5)})
	if err != nil || len(rs) != 1 {
		t.Fatalf("Find SE5 = %d results, %v", len(rs), err)
	}
	if se := rs[0].Series; se.SeriesNumber != nil || se.Modality != "SR" || se.NumberOfSeriesRelatedInstances != 1 ||
		se.InstitutionName != "Lightbox Hospital" || rs[0].Header != nil {
		t.Errorf("series SE5 = %+v (header %q)", se, rs[0].Header)
	}
	if rs[0].Patient.PatientName.Ideographic != "山田^太郎" || rs[0].Patient.PatientName.Phonetic != "やまだ^たろう" {
		t.Errorf("PN groups = %+v", rs[0].Patient.PatientName)
	}

	rs, err = ix.Find(ctx, index.Query{Level: index.PatientLevel, Matches: m("PatientID", "PID1", "IssuerOfPatientID", "OTHER"),
		IncludeHeader: true})
	if err != nil || len(rs) != 1 {
		t.Fatalf("Find P4 = %d results, %v", len(rs), err)
	}
	if !bytes.Equal(rs[0].Header, fixture()[10].Header) || rs[0].Study.StudyInstanceUID != "" {
		t.Errorf("patient result = %+v", rs[0])
	}

	rs, err = ix.Find(ctx, index.Query{Level: index.InstanceLevel, Matches: m("SeriesInstanceUID", SE6)})
	if err != nil || len(rs) != 2 {
		t.Fatalf("Find SE6 instances = %d, %v", len(rs), err)
	}
	in := rs[0].Instance
	if in.SOPInstanceUID != I(9) || in.ContentTime != "235959" || in.ContentDate != "20200115" || in.NumberOfFrames != 30 ||
		in.Rows != 480 || in.InstanceNumber == nil || *in.InstanceNumber != 1 || in.CallingAE != "MODALITY1" ||
		rs[0].Series.Modality != "US" || rs[0].Header != nil {
		t.Errorf("instance I9 = %+v", in)
	}
}

// expectCounts checks the maintained study counts (series, instances).
func expectCounts(t *testing.T, ix index.Index, studyUID string, series, instances int) {
	t.Helper()
	rs, err := ix.Find(context.Background(), index.Query{Level: index.StudyLevel, Matches: m("StudyInstanceUID", studyUID)})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 {
		t.Fatalf("study %s: %d results", studyUID, len(rs))
	}
	st := rs[0].Study
	if st.NumberOfStudyRelatedSeries != series || st.NumberOfStudyRelatedInstances != instances {
		t.Errorf("study %s counts = %d series, %d instances; want %d, %d", studyUID,
			st.NumberOfStudyRelatedSeries, st.NumberOfStudyRelatedInstances, series, instances)
	}
}

type patientCounts struct{ studies, series, instances int }

func expectPatient(t *testing.T, ix index.Index, id, issuer string, want *patientCounts) {
	t.Helper()
	rs, err := ix.Find(context.Background(), index.Query{Level: index.PatientLevel,
		Matches: m("PatientID", id, "IssuerOfPatientID", issuer)})
	if err != nil {
		t.Fatal(err)
	}
	if want == nil {
		if len(rs) != 0 {
			t.Errorf("patient %s/%s still exists: %+v", id, issuer, rs[0].Patient)
		}
		return
	}
	if len(rs) != 1 {
		t.Fatalf("patient %s/%s: %d results", id, issuer, len(rs))
	}
	p := rs[0].Patient
	got := patientCounts{p.NumberOfPatientRelatedStudies, p.NumberOfPatientRelatedSeries, p.NumberOfPatientRelatedInstances}
	if got != *want {
		t.Errorf("patient %s/%s counts = %+v, want %+v", id, issuer, got, *want)
	}
}

func expectSeries(t *testing.T, ix index.Index, uid string, instances int) {
	t.Helper()
	rs, err := ix.Find(context.Background(), index.Query{Level: index.SeriesLevel, Matches: m("SeriesInstanceUID", uid)})
	if err != nil {
		t.Fatal(err)
	}
	if instances < 0 {
		if len(rs) != 0 {
			t.Errorf("series %s still exists", uid)
		}
		return
	}
	if len(rs) != 1 || rs[0].Series.NumberOfSeriesRelatedInstances != instances {
		t.Errorf("series %s: %d results, want 1 with %d instances (%+v)", uid, len(rs), instances, rs)
	}
}

func testCounts(t *testing.T, open func(t *testing.T) index.Index) {
	ix := open(t)
	insertFixture(t, ix)
	expectCounts(t, ix, S1, 2, 4)
	expectCounts(t, ix, S2, 1, 2)
	expectCounts(t, ix, S3, 2, 2)
	expectCounts(t, ix, S4, 1, 2)
	expectSeries(t, ix, SE1, 3)
	expectSeries(t, ix, SE6, 2)
	expectPatient(t, ix, "PID1", "HOSP", &patientCounts{2, 3, 6})
	expectPatient(t, ix, "PID2", "HOSP", &patientCounts{1, 2, 2})
	expectPatient(t, ix, "PID1", "OTHER", &patientCounts{1, 1, 1})
	rs, err := ix.Find(context.Background(), index.Query{Level: index.StudyLevel, Matches: m("StudyInstanceUID", S1)})
	if err != nil {
		t.Fatal(err)
	}
	if st := rs[0].Study; !slices.Equal(st.ModalitiesInStudy, []string{"CT", "MR"}) ||
		!slices.Equal(st.SOPClassesInStudy, []string{ctImage, mrImage}) {
		t.Errorf("S1 lists = %v %v", st.ModalitiesInStudy, st.SOPClassesInStudy)
	}
}

func testDelete(t *testing.T, open func(t *testing.T) index.Index) {
	ctx := context.Background()
	ix := open(t)
	insertFixture(t, ix)

	// The only instance of SE2: the series goes, S1 loses MR.
	keys, err := ix.DeleteInstance(ctx, I(4))
	if err != nil || !slices.Equal(keys, []string{"blob/" + I(4)}) {
		t.Fatalf("DeleteInstance = %v, %v", keys, err)
	}
	expectSeries(t, ix, SE2, -1)
	expectCounts(t, ix, S1, 1, 3)
	expectPatient(t, ix, "PID1", "HOSP", &patientCounts{2, 2, 5})
	rs, _ := ix.Find(ctx, index.Query{Level: index.StudyLevel, Matches: m("StudyInstanceUID", S1)})
	if st := rs[0].Study; !slices.Equal(st.ModalitiesInStudy, []string{"CT"}) || !slices.Equal(st.SOPClassesInStudy, []string{ctImage}) {
		t.Errorf("S1 lists after delete = %v %v", st.ModalitiesInStudy, st.SOPClassesInStudy)
	}
	if rs, _ := ix.Find(ctx, index.Query{Level: index.StudyLevel, Matches: m("ModalitiesInStudy", "MR")}); len(rs) != 1 {
		t.Errorf("ModalitiesInStudy=MR after delete: %d studies, want 1 (S2)", len(rs))
	}

	// One instance of a series of three.
	if _, err := ix.DeleteInstance(ctx, I(1)); err != nil {
		t.Fatal(err)
	}
	expectSeries(t, ix, SE1, 2)
	expectCounts(t, ix, S1, 1, 2)

	// The rest of SE1 empties S1.
	keys, err = ix.DeleteSeries(ctx, SE1)
	if err != nil || !sameSet(keys, []string{"blob/" + I(2), "blob/" + I(3)}) {
		t.Fatalf("DeleteSeries = %v, %v", keys, err)
	}
	if rs, _ := ix.Find(ctx, index.Query{Level: index.StudyLevel, Matches: m("StudyInstanceUID", S1)}); len(rs) != 0 {
		t.Errorf("empty study S1 still exists")
	}
	expectPatient(t, ix, "PID1", "HOSP", &patientCounts{1, 1, 2})

	// The last study of P1 takes the patient with it.
	keys, err = ix.DeleteStudy(ctx, S2)
	if err != nil || !sameSet(keys, []string{"blob/" + I(5), "blob/" + I(6)}) {
		t.Fatalf("DeleteStudy = %v, %v", keys, err)
	}
	expectPatient(t, ix, "PID1", "HOSP", nil)
	expectPatient(t, ix, "PID1", "OTHER", &patientCounts{1, 1, 1})
	if rs, _ := ix.Find(ctx, index.Query{Level: index.PatientLevel, Matches: m("PatientName", "john"), FuzzyNames: true}); len(rs) != 0 {
		t.Errorf("fuzzy words of a deleted patient still match")
	}

	keys, err = ix.DeletePatient(ctx, "PID2", "HOSP")
	if err != nil || !sameSet(keys, []string{"blob/" + I(7), "blob/" + I(8)}) {
		t.Fatalf("DeletePatient = %v, %v", keys, err)
	}
	expectPatient(t, ix, "PID2", "HOSP", nil)

	for name, del := range map[string]func() ([]string, error){
		"instance":       func() ([]string, error) { return ix.DeleteInstance(ctx, I(4)) },
		"series":         func() ([]string, error) { return ix.DeleteSeries(ctx, SE1) },
		"study":          func() ([]string, error) { return ix.DeleteStudy(ctx, "9.9") },
		"patient":        func() ([]string, error) { return ix.DeletePatient(ctx, "PID1", "HOSP") },
		"patient issuer": func() ([]string, error) { return ix.DeletePatient(ctx, "PID2", "OTHER") },
		"no patient ID":  func() ([]string, error) { return ix.DeletePatient(ctx, "", "") },
	} {
		if keys, err := del(); !errors.Is(err, index.ErrNotFound) {
			t.Errorf("delete missing %s = %v, %v; want ErrNotFound", name, keys, err)
		}
	}

	st, err := ix.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Patients != 3 || st.Studies != 3 || st.Series != 3 || st.Instances != 4 {
		t.Errorf("Stats after deletes = %+v, want 3 patients, 3 studies, 3 series, 4 instances", st)
	}
	// The remaining data still matches.
	if n, _ := ix.Count(ctx, index.Query{Level: index.InstanceLevel}); n != 4 {
		t.Errorf("%d instances remain, want 4", n)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func testConflicts(t *testing.T, open func(t *testing.T) index.Index) {
	ctx := context.Background()
	ix := open(t)
	insertFixture(t, ix)
	// Same Patient ID and issuer, another name and birth date, a new study.
	s7 := fixStudy{"1.2.826.1.7", "20220101", "", "ACC7", "", "", ""}
	pBad := fixPatient{"PID1", "HOSP", "Smith^Jon", "19700102", "M"}
	r1 := record(pBad, s7, fixSeries{"1.2.826.2.70", "CT", nil, "", ""}, fixInstance{uid: "1.2.826.3.70", class: ctImage})
	res, err := ix.Insert(ctx, r1)
	if err != nil || res.Status != index.Inserted {
		t.Fatalf("Insert = %+v, %v", res, err)
	}
	if len(res.Conflicts) != 2 || res.Conflicts[0].Kind != index.ConflictPatientDemographics {
		t.Fatalf("conflicts = %+v, want name and birth date", res.Conflicts)
	}
	byAttr := map[index.Key]index.Conflict{}
	for _, c := range res.Conflicts {
		byAttr[c.Attribute] = c
	}
	if c := byAttr[index.PatientName]; c.Existing != "Smith^John" || c.Incoming != "Smith^Jon" || c.Count != 1 ||
		c.PatientID != "PID1" || c.IssuerOfPatientID != "HOSP" || c.StudyInstanceUID != "1.2.826.1.7" {
		t.Errorf("name conflict = %+v", c)
	}
	if c := byAttr[index.PatientBirthDate]; c.Existing != "19700101" || c.Incoming != "19700102" {
		t.Errorf("birth date conflict = %+v", c)
	}
	// Stored demographics untouched; the study is filed under the patient.
	rs, _ := ix.Find(ctx, index.Query{Level: index.StudyLevel, Matches: m("StudyInstanceUID", "1.2.826.1.7")})
	if len(rs) != 1 || rs[0].Patient.PatientName.Alphabetic != "Smith^John" || rs[0].Patient.PatientBirthDate != "19700101" {
		t.Fatalf("study under conflicting demographics: %+v", rs)
	}
	expectPatient(t, ix, "PID1", "HOSP", &patientCounts{3, 4, 7})

	// A second occurrence is counted, not repeated.
	r2 := record(pBad, s7, fixSeries{"1.2.826.2.70", "CT", nil, "", ""}, fixInstance{uid: "1.2.826.3.71", class: ctImage})
	if res, err := ix.Insert(ctx, r2); err != nil || len(res.Conflicts) != 2 || res.Conflicts[0].Count != 2 {
		t.Fatalf("second conflicting insert = %+v, %v", res, err)
	}

	// Case and padding differences are no conflict.
	r3 := record(fixPatient{"PID1", "HOSP", "SMITH^JOHN^^", "19700101", "M"}, s7,
		fixSeries{"1.2.826.2.70", "CT", nil, "", ""}, fixInstance{uid: "1.2.826.3.72", class: ctImage})
	if res, err := ix.Insert(ctx, r3); err != nil || len(res.Conflicts) != 0 {
		t.Fatalf("insert with case-different name = %+v, %v; want no conflict", res, err)
	}

	// A known study under another patient.
	r4 := record(fixPatient{"PIDX", "HOSP", "Smith^John", "", ""}, s1, se1, fixInstance{uid: "1.2.826.3.73", class: ctImage})
	res, err = ix.Insert(ctx, r4)
	if err != nil || len(res.Conflicts) != 1 {
		t.Fatalf("study under other patient: %+v, %v", res, err)
	}
	if c := res.Conflicts[0]; c.Kind != index.ConflictStudyPatient || c.Attribute != index.PatientID || c.Existing != "PID1" ||
		c.Incoming != "PIDX" || c.StudyInstanceUID != S1 {
		t.Errorf("study-patient conflict = %+v", c)
	}
	if got := mustInstance(t, ix, "1.2.826.3.73"); got.Patient.PatientID != "PID1" || got.Study.StudyInstanceUID != S1 {
		t.Errorf("instance filed under %s/%s, want PID1/S1", got.Patient.PatientID, got.Study.StudyInstanceUID)
	}
	expectPatient(t, ix, "PIDX", "HOSP", nil)

	// Only the issuer differs.
	r5 := record(fixPatient{"PID1", "ELSEWHERE", "", "", ""}, s2, se3, fixInstance{uid: "1.2.826.3.74", class: mrImage})
	if res, err := ix.Insert(ctx, r5); err != nil || len(res.Conflicts) != 1 ||
		res.Conflicts[0].Attribute != index.IssuerOfPatientID || res.Conflicts[0].Incoming != "ELSEWHERE" {
		t.Fatalf("issuer conflict = %+v, %v", res, err)
	}

	// A known series under another study.
	r6 := record(p1, fixStudy{uid: "1.2.826.1.99"}, se1, fixInstance{uid: "1.2.826.3.75", class: ctImage})
	res, err = ix.Insert(ctx, r6)
	if err != nil || len(res.Conflicts) != 1 {
		t.Fatalf("series under other study: %+v, %v", res, err)
	}
	if c := res.Conflicts[0]; c.Kind != index.ConflictSeriesStudy || c.Existing != S1 || c.Incoming != "1.2.826.1.99" ||
		c.SeriesInstanceUID != SE1 {
		t.Errorf("series-study conflict = %+v", c)
	}
	if rs, _ := ix.Find(ctx, index.Query{Level: index.StudyLevel, Matches: m("StudyInstanceUID", "1.2.826.1.99")}); len(rs) != 0 {
		t.Errorf("conflicting study was created")
	}
	expectSeries(t, ix, SE1, 5)

	// Empty stored demographics are filled in, no conflict.
	p5b := fixPatient{"PIDF", "", "Fill^In", "", ""}
	s8 := fixStudy{uid: "1.2.826.1.8"}
	if _, err := ix.Insert(ctx, record(p5b, s8, fixSeries{"1.2.826.2.80", "OT", nil, "", ""}, fixInstance{uid: "1.2.826.3.80"})); err != nil {
		t.Fatal(err)
	}
	p5c := fixPatient{"PIDF", "", "Fill^In=漢字", "20000101", "F"}
	res, err = ix.Insert(ctx, record(p5c, fixStudy{uid: "1.2.826.1.8", acc: "LATE"},
		fixSeries{"1.2.826.2.80", "OT", index.IntPtr(7), "", ""}, fixInstance{uid: "1.2.826.3.81"}))
	if err != nil || len(res.Conflicts) != 0 {
		t.Fatalf("fill-in insert = %+v, %v", res, err)
	}
	rs, _ = ix.Find(ctx, index.Query{Level: index.SeriesLevel, Matches: m("PatientName", "=漢字", "AccessionNumber", "LATE")})
	if len(rs) != 1 || rs[0].Patient.PatientBirthDate != "20000101" || rs[0].Patient.PatientSex != "F" ||
		rs[0].Series.SeriesNumber == nil || *rs[0].Series.SeriesNumber != 7 {
		t.Errorf("filled-in values = %+v", rs)
	}

	all, err := ix.Conflicts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[index.ConflictKind]int{}
	for _, c := range all {
		kinds[c.Kind]++
		if c.ID == 0 || c.FirstSeen.IsZero() || c.LastSeen.Before(c.FirstSeen) {
			t.Errorf("conflict bookkeeping = %+v", c)
		}
	}
	if kinds[index.ConflictPatientDemographics] != 2 || kinds[index.ConflictStudyPatient] != 2 || kinds[index.ConflictSeriesStudy] != 1 {
		t.Errorf("Conflicts() kinds = %v (%+v)", kinds, all)
	}
}

func testStats(t *testing.T, open func(t *testing.T) index.Index) {
	ctx := context.Background()
	ix := open(t)
	st, err := ix.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Patients != 0 || st.Instances != 0 || len(st.Modalities) != 0 {
		t.Errorf("empty Stats = %+v", st)
	}
	insertFixture(t, ix)
	st, err = ix.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	want := map[string]index.ModalityStats{}
	for _, r := range fixture() {
		total += r.Instance.Size
		mod := index.NormalizeCode(r.Series.Modality)
		ms := want[mod]
		ms.Modality = mod
		ms.Instances++
		ms.Bytes += r.Instance.Size
		want[mod] = ms
	}
	for mod, n := range map[string]int{"CT": 2, "MR": 2, "SR": 1, "US": 1, "CR": 1, "OT": 1} {
		ms := want[mod]
		ms.Series = n
		want[mod] = ms
	}
	if st.Patients != 5 || st.Studies != 6 || st.Series != 8 || st.Instances != 12 || st.Bytes != total {
		t.Errorf("Stats = %+v", st)
	}
	if len(st.Modalities) != len(want) {
		t.Fatalf("Modalities = %+v", st.Modalities)
	}
	for i, ms := range st.Modalities {
		if i > 0 && st.Modalities[i-1].Modality >= ms.Modality {
			t.Errorf("Modalities not sorted: %+v", st.Modalities)
		}
		if ms != want[ms.Modality] {
			t.Errorf("Modality %s = %+v, want %+v", ms.Modality, ms, want[ms.Modality])
		}
	}
}

func testPagination(t *testing.T, open func(t *testing.T) index.Index) {
	ctx := context.Background()
	ix := open(t)
	insertFixture(t, ix)
	all, err := ix.Find(ctx, index.Query{Level: index.InstanceLevel})
	if err != nil {
		t.Fatal(err)
	}
	// Default instance order (series, instance number, UID), which is the
	// insertion order of the fixture.
	var want []string
	for i := 1; i <= 12; i++ {
		want = append(want, I(i))
	}
	if got := ids(index.InstanceLevel, all); !slices.Equal(got, want) {
		t.Fatalf("order = %v, want insertion order", got)
	}
	for _, size := range []int{1, 5, 12, 20} {
		var pages []string
		for off := 0; ; off += size {
			page, err := ix.Find(ctx, index.Query{Level: index.InstanceLevel, Limit: size, Offset: off})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > size {
				t.Fatalf("page of %d with limit %d", len(page), size)
			}
			pages = append(pages, ids(index.InstanceLevel, page)...)
			if len(page) < size {
				break
			}
		}
		if !slices.Equal(pages, want) {
			t.Errorf("limit %d: pages = %v", size, pages)
		}
	}
	q := index.Query{Level: index.StudyLevel, Matches: m("PatientName", "SMITH*"), Offset: 1}
	page, err := ix.Find(ctx, q)
	// Default study order: S2 (20200301), S1 (20200115), S5 (no date).
	if err != nil || !slices.Equal(ids(index.StudyLevel, page), []string{S1, S5}) {
		t.Errorf("offset without limit = %v, %v", ids(index.StudyLevel, page), err)
	}
	if n, err := ix.Count(ctx, q); err != nil || n != 3 {
		t.Errorf("Count ignores offset: %d, %v", n, err)
	}
}

func testEach(t *testing.T, open func(t *testing.T) index.Index) {
	ctx := context.Background()
	ix := open(t)
	insertFixture(t, ix)
	var seen []string
	stop := errors.New("stop")
	err := ix.Each(ctx, index.Query{Level: index.SeriesLevel}, func(r index.InstanceRecord) error {
		seen = append(seen, r.Series.SeriesInstanceUID)
		if len(seen) == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || !slices.Equal(seen, []string{SE1, SE2, SE3}) {
		t.Errorf("Each = %v after %v, want stop after SE1 SE2 SE3", err, seen)
	}
	n := 0
	if err := ix.Each(ctx, index.Query{Level: index.InstanceLevel}, func(index.InstanceRecord) error { n++; return nil }); err != nil || n != 12 {
		t.Errorf("Each over instances = %d, %v", n, err)
	}
	// The index is usable again after an early stop.
	if _, err := ix.Insert(ctx, record(p1, s1, se1, fixInstance{uid: "1.2.826.3.50", class: ctImage})); err != nil {
		t.Errorf("Insert after Each: %v", err)
	}
}

func testConcurrentInserts(t *testing.T, open func(t *testing.T) index.Index) {
	ctx := context.Background()
	ix := open(t)
	const workers, batches, perBatch = 6, 10, 5
	// Every worker writes into the same three studies (new series per
	// worker and shared ones) so that rows are created and counted
	// concurrently.
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				var recs []index.InstanceRecord
				for k := range perBatch {
					n := (w*batches+b)*perBatch + k
					st := fixStudy{uid: fmt.Sprintf("1.2.9.1.%d", n%3), date: "20230101"}
					pa := fixPatient{id: fmt.Sprintf("CP%d", n%3), name: "Con^Current"}
					se := fixSeries{uid: fmt.Sprintf("1.2.9.2.%d.%d", n%3, (w+b)%4), modality: []string{"CT", "MR"}[(w+b)%2]}
					recs = append(recs, record(pa, st, se, fixInstance{uid: fmt.Sprintf("1.2.9.3.%d", n), class: ctImage}))
				}
				if _, err := ix.InsertBatch(ctx, recs); err != nil {
					errs <- err
					return
				}
				if _, err := ix.Find(ctx, index.Query{Level: index.StudyLevel, Matches: m("PatientName", "CON*")}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent insert: %v", err)
	}
	total := workers * batches * perBatch
	st, err := ix.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Instances != total || st.Studies != 3 || st.Patients != 3 {
		t.Fatalf("Stats = %+v, want %d instances in 3 studies of 3 patients", st, total)
	}
	sum := 0
	rs, err := ix.Find(ctx, index.Query{Level: index.StudyLevel})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		n, err := ix.Count(ctx, index.Query{Level: index.InstanceLevel, Matches: m("StudyInstanceUID", r.Study.StudyInstanceUID)})
		if err != nil {
			t.Fatal(err)
		}
		if r.Study.NumberOfStudyRelatedInstances != n || r.Patient.NumberOfPatientRelatedInstances != n {
			t.Errorf("study %s: maintained count %d (patient %d), actual %d", r.Study.StudyInstanceUID,
				r.Study.NumberOfStudyRelatedInstances, r.Patient.NumberOfPatientRelatedInstances, n)
		}
		nse, _ := ix.Count(ctx, index.Query{Level: index.SeriesLevel, Matches: m("StudyInstanceUID", r.Study.StudyInstanceUID)})
		if r.Study.NumberOfStudyRelatedSeries != nse {
			t.Errorf("study %s: maintained series count %d, actual %d", r.Study.StudyInstanceUID, r.Study.NumberOfStudyRelatedSeries, nse)
		}
		if !slices.Equal(r.Study.ModalitiesInStudy, []string{"CT", "MR"}) {
			t.Errorf("study %s: ModalitiesInStudy = %v", r.Study.StudyInstanceUID, r.Study.ModalitiesInStudy)
		}
		sum += n
	}
	if sum != total {
		t.Errorf("instances across studies = %d, want %d", sum, total)
	}
}

func testClosed(t *testing.T, open func(t *testing.T) index.Index) {
	ix := open(t)
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := ix.Find(context.Background(), index.Query{Level: index.StudyLevel}); !errors.Is(err, index.ErrClosed) {
		t.Errorf("Find after Close: %v", err)
	}
	if _, err := ix.Insert(context.Background(), fixture()[0]); !errors.Is(err, index.ErrClosed) {
		t.Errorf("Insert after Close: %v", err)
	}
}
