package dimsesvc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
	"github.com/lightbox-pacs/lightbox/ul"
)

// storeFiles puts corpus files straight into the site's archive.
func (s *testSite) storeFiles(t testing.TB, paths ...string) {
	t.Helper()
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.arch.Store(context.Background(), f, archive.IngestMeta{Size: -1})
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
}

func ident(level string, kv ...any) *dicom.Dataset {
	ds := dicom.NewDataset()
	ds.Set(dicom.NewStringElement(tagQueryRetrieveLevel, dicom.CS, level))
	for i := 0; i < len(kv); i++ {
		if e, ok := kv[i].(*dicom.Element); ok {
			ds.Set(e)
			continue
		}
		tag := kv[i].(dicom.Tag)
		i++
		ds.Set(dicom.NewStringElement(tag, dictVR(tag), kv[i].(string)))
	}
	return ds
}

func find(t *testing.T, c *dimse.Client, model string, id *dicom.Dataset) ([]*dicom.Dataset, error) {
	t.Helper()
	var out []*dicom.Dataset
	for ds, err := range c.Find(context.Background(), model, id) {
		if err != nil {
			return out, err
		}
		out = append(out, ds)
	}
	return out, nil
}

func TestFindModels(t *testing.T) {
	s := newSite(t, Options{AllowUnknownQuery: true, MaxMatches: 19})
	corpus := testenv.CorpusDir(t)
	philips, _ := filepath.Glob(filepath.Join(corpus, "series", "pydicom-philips-mr-patient-3series", "*.dcm"))
	s.storeFiles(t, philips...)
	s.storeFiles(t, filepath.Join(corpus, "charset", "japanese-iso2022-ir87.dcm"), filepath.Join(corpus, "charset", "french-iso-ir-100.dcm"))
	first, err := dicom.ReadFile(philips[0], dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	study := first.Dataset.String(dicom.TagStudyInstanceUID)
	pid := first.Dataset.String(dicom.TagPatientID)

	models := dimse.QueryRetrieveContexts(dimse.StudyRootFind, dimse.PatientRootFind, dimse.PatientStudyOnlyFind)
	hier, err := s.dial(t, "WS", models)
	if err != nil {
		t.Fatal(err)
	}
	cfg := dimse.ClientConfig{CallingAE: "WS", CalledAE: "LIGHTBOX", Contexts: models,
		ExtendedNegotiations: []ul.ExtendedNegotiation{{SOPClassUID: dimse.StudyRootFind, Info: []byte{1, 0, 1}}}}
	rel, err := dimse.Dial(context.Background(), s.addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer rel.Close()
	if got := rel.Association().Response(); got == nil {
		t.Fatal("no A-ASSOCIATE-AC")
	}

	// A non-unique key above the level: ignored in hierarchical queries,
	// matched in relational ones.
	q := ident("SERIES", dicom.TagStudyInstanceUID, study, dicom.TagPatientName, "NOBODY*", dicom.TagSeriesInstanceUID, "")
	res, err := find(t, hier, dimse.StudyRootFind, q)
	if err != nil || len(res) < 2 {
		t.Errorf("hierarchical: %d results, %v", len(res), err)
	}
	res, err = find(t, rel, dimse.StudyRootFind, q)
	if err != nil || len(res) != 0 {
		t.Errorf("relational: %d results, %v", len(res), err)
	}
	// Relational, without the study: series of the patient by name.
	res, err = find(t, rel, dimse.StudyRootFind, ident("SERIES", dicom.TagPatientID, pid, dicom.TagSeriesInstanceUID, ""))
	if err != nil || len(res) < 3 {
		t.Errorf("relational by Patient ID: %d results, %v", len(res), err)
	}
	// Fuzzy name matching was granted: a word prefix matches.
	name := first.Dataset.Text(first.Dataset.Get(dicom.TagPatientName))
	res, err = find(t, rel, dimse.StudyRootFind, ident("STUDY", dicom.TagPatientName, name[:3]))
	if err != nil || len(res) == 0 {
		t.Errorf("fuzzy %q: %d results, %v", name[:3], len(res), err)
	}

	// Patient Root at every level; Patient/Study Only has no SERIES.
	for _, lv := range []string{"PATIENT", "STUDY", "SERIES", "IMAGE"} {
		res, err := find(t, hier, dimse.PatientRootFind, ident(lv, dicom.TagPatientID, pid, dicom.TagStudyInstanceUID, ""))
		if err != nil || len(res) == 0 || res[0].String(tagQueryRetrieveLevel) != lv {
			t.Errorf("Patient Root %s: %d results, %v", lv, len(res), err)
		}
	}
	if _, err := find(t, hier, dimse.PatientStudyOnlyFind, ident("STUDY", dicom.TagPatientID, pid)); err != nil {
		t.Errorf("Patient/Study Only STUDY: %v", err)
	}
	_, err = find(t, hier, dimse.PatientStudyOnlyFind, ident("SERIES", dicom.TagPatientID, pid))
	var se *dimse.StatusError
	if !errors.As(err, &se) || se.Status != dimse.StatusIdentifierDoesNotMatchSOPClass {
		t.Errorf("Patient/Study Only SERIES: %v", err)
	}

	// Keys: a model key below the level comes back empty, a header key
	// valued, an unknown one empty, a sequence with only the item keys asked.
	ge := filepath.Join(corpus, "series", "ge-genesis-signa-mr-16slices", "MR01.dcm")
	s.storeFiles(t, ge)
	geFile, _ := dicom.ReadFile(ge, dicom.ReadOptions{})
	item := dicom.NewDataset()
	item.Set(dicom.NewStringElement(0x00081155, dicom.UI))
	seq := &dicom.Element{Tag: 0x00081110, VR: dicom.SQ, Items: []*dicom.Dataset{item}} // ReferencedStudySequence
	res, err = find(t, hier, dimse.StudyRootFind, ident("IMAGE", dicom.TagStudyInstanceUID, geFile.Dataset.String(dicom.TagStudyInstanceUID),
		dicom.TagSOPInstanceUID, geFile.Dataset.String(dicom.TagSOPInstanceUID),
		dicom.Tag(0x00180050), "", dicom.Tag(0x00181316), "", seq))
	if err != nil || len(res) != 1 {
		t.Fatalf("IMAGE: %d results, %v", len(res), err)
	}
	r := res[0]
	if r.Get(0x00180050) == nil || r.String(0x00180050) != geFile.Dataset.String(0x00180050) {
		t.Errorf("SliceThickness %q, stored %q", r.String(0x00180050), geFile.Dataset.String(0x00180050))
	}
	if e := r.Get(0x00181316); e == nil || len(e.Value) != 0 {
		t.Errorf("unknown key: %v", e)
	}
	if e := r.Get(0x00081110); e == nil || len(e.Items) != 1 {
		t.Errorf("sequence key: %v", e)
	} else if it := e.Items[0]; it.Len() != 1 || it.String(0x00081155) != "1.113654.3.13.1026" {
		t.Errorf("sequence item holds %d elements: %v", it.Len(), it.Elements)
	}
	res, err = find(t, hier, dimse.StudyRootFind, ident("STUDY", dicom.TagStudyInstanceUID, study, dicom.TagModality, ""))
	if err != nil || len(res) != 1 || len(res[0].Get(dicom.TagModality).Value) != 0 {
		t.Errorf("SERIES key at STUDY level: %v %v", res, err)
	}

	// Character sets: asked in Latin-1, answered in Latin-1 when possible,
	// in ISO_IR 192 otherwise.
	q = ident("STUDY", dicom.TagPatientName, "", dicom.TagSpecificCharacterSet, "ISO_IR 100")
	res, err = find(t, hier, dimse.StudyRootFind, q)
	if err != nil {
		t.Fatal(err)
	}
	var latin, utf8 int
	for _, r := range res {
		switch r.String(dicom.TagSpecificCharacterSet) {
		case "ISO_IR 100":
			latin++
		case "ISO_IR 192":
			utf8++
			if got := r.Text(r.Get(dicom.TagPatientName)); got != "Yamada^Tarou=山田^太郎=やまだ^たろう" {
				t.Errorf("UTF-8 fallback %q", got)
			}
		default:
			t.Errorf("response in %q", r.String(dicom.TagSpecificCharacterSet))
		}
	}
	if latin == 0 || utf8 != 1 {
		t.Errorf("%d Latin-1 responses, %d UTF-8", latin, utf8)
	}

	// MaxMatches: beyond it the query ends with A700.
	_, err = find(t, hier, dimse.StudyRootFind, ident("IMAGE", dicom.TagSOPInstanceUID, ""))
	if !errors.As(err, &se) || se.Status != dimse.StatusOutOfResources {
		t.Errorf("more than MaxMatches: %v", err)
	}
}
