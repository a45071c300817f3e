package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/api"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// objectsCorpus is what the non-image tests load: the GE CT study (tag
// browser, print), a Comprehensive 3D SR with a measurement, and the
// corpus's Encapsulated PDF.
var objectsCorpus = []string{
	"series/pydicom-ge-ct-2series",
	"sr/highdicom-comprehensive3d-sr.dcm",
	"encapsulated/encapsulated-pdf.dcm",
}

// objectsUploads are dropped on the study browser: two DICOM files not in
// the archive and one file that is not DICOM.
var objectsUploads = []string{"cr-dx/fujifilm-dx.dcm", "cr-dx/konica-cr-mono1-jpeg.dcm"}

// uploadFile is one dropped file and what the archive should make of it.
type uploadFile struct {
	Path        string `json:"path"`
	Name        string `json:"name"`
	Study       string `json:"study,omitempty"`
	PatientName string `json:"patientName,omitempty"`
	DICOM       bool   `json:"dicom"`
}

// srExpect is the first numeric measurement of the SR, as pydicom reads it.
type srExpect struct {
	Study   string `json:"study"`
	Series  string `json:"series"`
	SOP     string `json:"sop"`
	Title   string `json:"title"`
	Concept string `json:"concept"`
	Value   string `json:"value"`
	Unit    string `json:"unit"`
}

type objectsConfig struct {
	BaseURL   string       `json:"baseURL"`
	Chromium  string       `json:"chromium"`
	ViewerDir string       `json:"viewerDir"`
	Artifacts string       `json:"artifacts"`
	Uploads   []uploadFile `json:"uploads"`
	CT        struct {
		Study       string `json:"study"`
		PatientName string `json:"patientName"` // (0010,0010) as stored
		PatientID   string `json:"patientID"`
	} `json:"ct"`
	SR  srExpect `json:"sr"`
	PNG struct {
		Path   string `json:"path"`
		Width  int    `json:"width"`
		Height int    `json:"height"`
	} `json:"png"`
	PDF struct {
		Path string `json:"path"`
		Size int    `json:"size"`
	} `json:"pdf"`
	CorpusPDF struct {
		Study string `json:"study"`
		Size  int    `json:"size"`
	} `json:"corpusPDF"`
	// KOS is a Key Object Selection (written with pydicom) flagging two
	// images of the CT series.
	// Folder is a directory picked with the folder picker: a copy of a
	// stored corpus file (duplicate) and a new one (stored).
	Folder struct {
		Path      string `json:"path"`
		Duplicate string `json:"duplicate"`
		New       string `json:"new"`
		NewStudy  string `json:"newStudy"`
	} `json:"folder"`
	KOS struct {
		Study     string   `json:"study"`
		Series    string   `json:"series"`
		ImageSer  string   `json:"imageSeries"`
		SOPs      []string `json:"sops"`
		Title     string   `json:"title"`
		Described string   `json:"description"`
	} `json:"kos"`
}

// kosScript writes a Key Object Selection Document (PS3.3 A.35.4, TID
// 2010) for CT images: argv = template CT file, output, series UID,
// referenced SOP Instance UIDs.
const kosScript = `
import sys, datetime, pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
ct = pydicom.dcmread(sys.argv[1], stop_before_pixels=True)
out, series_uid, sops = sys.argv[2], sys.argv[3], sys.argv[4:]
def code(v, s, m):
    c = Dataset(); c.CodeValue = v; c.CodingSchemeDesignator = s; c.CodeMeaning = m; return c
def ref(sop):
    r = Dataset(); r.ReferencedSOPClassUID = ct.SOPClassUID; r.ReferencedSOPInstanceUID = sop; return r
ds = Dataset()
ds.SpecificCharacterSet = "ISO_IR 100"
ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.59"
ds.SOPInstanceUID = generate_uid()
for k in ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID", "StudyDate", "StudyTime",
          "ReferringPhysicianName", "StudyID", "AccessionNumber"):
    setattr(ds, k, ct.get(k, ""))
ds.Modality = "KO"; ds.SeriesInstanceUID = series_uid; ds.SeriesNumber = 99; ds.InstanceNumber = 1
ds.Manufacturer = "pydicom"
ds.ReferencedPerformedProcedureStepSequence = []
now = datetime.datetime.now()
ds.ContentDate = now.strftime("%Y%m%d"); ds.ContentTime = now.strftime("%H%M%S")
ds.ValueType = "CONTAINER"; ds.ContinuityOfContent = "SEPARATE"
ds.ConceptNameCodeSequence = [code("113000", "DCM", "Of Interest")]
t = Dataset(); t.MappingResource = "DCMR"; t.TemplateIdentifier = "2010"
ds.ContentTemplateSequence = [t]
se = Dataset(); se.SeriesInstanceUID = ct.SeriesInstanceUID; se.ReferencedSOPSequence = [ref(s) for s in sops]
st = Dataset(); st.StudyInstanceUID = ct.StudyInstanceUID; st.ReferencedSeriesSequence = [se]
ds.CurrentRequestedProcedureEvidenceSequence = [st]
text = Dataset(); text.RelationshipType = "CONTAINS"; text.ValueType = "TEXT"
text.ConceptNameCodeSequence = [code("113012", "DCM", "Key Object Description")]; text.TextValue = "Two slices worth a look"
items = [text]
for s in sops:
    im = Dataset(); im.RelationshipType = "CONTAINS"; im.ValueType = "IMAGE"; im.ReferencedSOPSequence = [ref(s)]
    items.append(im)
ds.ContentSequence = items
ds.file_meta = FileMetaDataset()
ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
ds.is_little_endian = True; ds.is_implicit_VR = False
pydicom.dcmwrite(out, ds, write_like_original=False)
`

// TestViewerObjects drives the viewer through the non-image objects, the
// tag browser, print, import by drag and drop and attaching a scan and a
// PDF (objects.mjs), against a server with DICOMweb and the REST API.
func TestViewerObjects(t *testing.T) {
	chromium := testenv.RequireTool(t, "chromium")
	node := testenv.RequireTool(t, "node")
	root := testenv.RepoRoot(t)
	requireBundle(t)
	viewerDir := filepath.Join(root, "web", "viewer")
	requirePlaywright(t, viewerDir)
	corpus := testenv.CorpusDir(t)
	py := testenv.PythonWithPydicom(t)
	tmp := t.TempDir()

	// The Key Object Selection, written with pydicom, checked by dciodvfy.
	ctDir := filepath.Join(corpus, "series", "pydicom-ge-ct-2series")
	var ctFile string
	for _, rel := range corpusFiles(t, corpus, []string{"series/pydicom-ge-ct-2series"}) {
		if a := pyAttrs(t, py, filepath.Join(corpus, rel), "SOPInstanceUID"); a["SOPInstanceUID"] == geCT.Instances[0] {
			ctFile = filepath.Join(corpus, rel)
		}
	}
	if ctFile == "" {
		t.Fatalf("no file of %s in %s", geCT.Instances[0], ctDir)
	}
	kosPath := filepath.Join(tmp, "kos.dcm")
	kosSeries := "2.25.318114061916297245238412339811627263001"
	if out, err := exec.Command(py, "-c", kosScript, ctFile, kosPath, kosSeries, geCT.Instances[1], geCT.Instances[3]).CombinedOutput(); err != nil {
		t.Fatalf("pydicom KOS: %v\n%s", err, out)
	}
	if out, _ := exec.Command(testenv.RequireTool(t, "dciodvfy"), kosPath).CombinedOutput(); bytes.Contains(out, []byte("Error")) {
		t.Fatalf("dciodvfy on the test's KOS:\n%s", out)
	}

	srv := startObjectsServer(t, corpus, kosPath)
	cfg := objectsConfig{BaseURL: srv.URL, Chromium: chromium, ViewerDir: viewerDir,
		Artifacts: filepath.Join(root, "build", "test-artifacts", "browser-objects")}
	if err := os.RemoveAll(cfg.Artifacts); err != nil {
		t.Fatal(err)
	}

	for _, rel := range objectsUploads {
		a := pyAttrs(t, py, filepath.Join(corpus, rel), "StudyInstanceUID", "PatientName")
		cfg.Uploads = append(cfg.Uploads, uploadFile{Path: filepath.Join(corpus, rel), Name: filepath.Base(rel),
			Study: a["StudyInstanceUID"], PatientName: a["PatientName"], DICOM: true})
	}
	notes := filepath.Join(tmp, "notes.txt")
	os.WriteFile(notes, []byte("not a DICOM file, but dropped with the others\n"), 0o644)
	cfg.Uploads = append(cfg.Uploads, uploadFile{Path: notes, Name: "notes.txt"})

	ct := pyAttrs(t, py, filepath.Join(corpus, "series", "pydicom-ge-ct-2series", firstDCM(t, filepath.Join(corpus, "series", "pydicom-ge-ct-2series"))),
		"StudyInstanceUID", "PatientName", "PatientID")
	cfg.CT.Study, cfg.CT.PatientName, cfg.CT.PatientID = ct["StudyInstanceUID"], ct["PatientName"], ct["PatientID"]
	cfg.SR = srMeasurement(t, py, filepath.Join(corpus, "sr", "highdicom-comprehensive3d-sr.dcm"))

	// A scan to attach: a 120x80 PNG, left half red, right half blue.
	img := image.NewRGBA(image.Rect(0, 0, 120, 80))
	for y := 0; y < 80; y++ {
		for x := 0; x < 120; x++ {
			c := color.RGBA{200, 30, 30, 255}
			if x >= 60 {
				c = color.RGBA{30, 30, 200, 255}
			}
			img.Set(x, y, c)
		}
	}
	var pngBuf bytes.Buffer
	png.Encode(&pngBuf, img)
	cfg.PNG.Path, cfg.PNG.Width, cfg.PNG.Height = filepath.Join(tmp, "film-scan.png"), 120, 80
	os.WriteFile(cfg.PNG.Path, pngBuf.Bytes(), 0o644)

	// A PDF to attach: the one inside the corpus's Encapsulated PDF.
	f, err := dicom.ReadFile(filepath.Join(corpus, "encapsulated", "encapsulated-pdf.dcm"), dicom.ReadOptions{LoadBulk: true})
	if err != nil {
		t.Fatal(err)
	}
	pdf := f.Dataset.Get(dicom.NewTag(0x0042, 0x0011)).Value
	if n, ok := f.Dataset.Int(dicom.NewTag(0x0042, 0x0015)); ok && int(n) <= len(pdf) {
		pdf = pdf[:n]
	} else {
		pdf = bytes.TrimRight(pdf, "\x00")
	}
	// Grown past the 64 KiB bulk data threshold (a comment after the end
	// marker and a second one, as an incremental save leaves), so that the
	// viewer fetches it as WADO-RS bulk data rather than inline.
	big := append(append(append([]byte(nil), pdf...), "\n%"+strings.Repeat("lightbox", 10000)+"\n"...), "%%EOF\n"...)
	cfg.PDF.Path, cfg.PDF.Size = filepath.Join(tmp, "referral.pdf"), len(big)
	os.WriteFile(cfg.PDF.Path, big, 0o644)
	cfg.CorpusPDF.Study, cfg.CorpusPDF.Size = f.Dataset.String(dicom.TagStudyInstanceUID), len(f.Dataset.Get(dicom.NewTag(0x0042, 0x0011)).Value)

	cfg.Folder.Path = filepath.Join(tmp, "folder", "sub")
	if err := os.MkdirAll(cfg.Folder.Path, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg.Folder.Duplicate, cfg.Folder.New = "highdicom-sr.dcm", "dcmtk-sr.dcm"
	for name, rel := range map[string]string{cfg.Folder.Duplicate: "sr/highdicom-comprehensive3d-sr.dcm", cfg.Folder.New: "sr/dcmtk-basic-text-sr.dcm"} {
		b, err := os.ReadFile(filepath.Join(corpus, rel))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(cfg.Folder.Path, name), b, 0o644)
	}
	cfg.Folder.NewStudy = pyAttrs(t, py, filepath.Join(corpus, "sr", "dcmtk-basic-text-sr.dcm"), "StudyInstanceUID")["StudyInstanceUID"]
	cfg.Folder.Path = filepath.Dir(cfg.Folder.Path) // the picked folder holds a subfolder

	cfg.KOS.Study, cfg.KOS.Series, cfg.KOS.ImageSer = geCT.Study, kosSeries, geCT.Series
	cfg.KOS.SOPs = []string{geCT.Instances[1], geCT.Instances[3]}
	cfg.KOS.Title, cfg.KOS.Described = "Of Interest", "Two slices worth a look"

	runBrowserScript(t, node, filepath.Join(root, "test", "browser", "objects.mjs"), "LIGHTBOX_OBJECTS", cfg, cfg.Artifacts)
}

func firstDCM(t *testing.T, dir string) string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if strings.HasSuffix(e.Name(), ".dcm") {
			return e.Name()
		}
	}
	t.Fatalf("no .dcm in %s", dir)
	return ""
}

// pyAttrs reads attributes with pydicom, as strings.
func pyAttrs(t *testing.T, py, path string, keys ...string) map[string]string {
	t.Helper()
	script := "import sys, json, pydicom\nds = pydicom.dcmread(sys.argv[1], stop_before_pixels=True)\n" +
		"json.dump({k: str(ds.get(k, '')) for k in sys.argv[2:]}, sys.stdout)"
	out, err := exec.Command(py, append([]string{"-c", script, path}, keys...)...).Output()
	if err != nil {
		t.Fatalf("pydicom %s: %v", path, err)
	}
	m := map[string]string{}
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("pydicom output %s", out)
	}
	return m
}

// srMeasurement reads, with pydicom, an SR's identity, title and its
// first NUM content item (depth first): concept, value and UCUM unit.
func srMeasurement(t *testing.T, py, path string) srExpect {
	t.Helper()
	script := `
import sys, json, pydicom
ds = pydicom.dcmread(sys.argv[1])
def first_num(items):
    for it in items:
        if it.get("ValueType") == "NUM" and it.get("MeasuredValueSequence"):
            mv = it.MeasuredValueSequence[0]
            return {"concept": it.ConceptNameCodeSequence[0].CodeMeaning, "value": str(mv.NumericValue),
                    "unit": mv.MeasurementUnitsCodeSequence[0].CodeValue}
        found = first_num(it.get("ContentSequence", []))
        if found:
            return found
out = first_num(ds.ContentSequence)
out.update({"study": ds.StudyInstanceUID, "series": ds.SeriesInstanceUID, "sop": ds.SOPInstanceUID,
            "title": ds.ConceptNameCodeSequence[0].CodeMeaning})
json.dump(out, sys.stdout)
`
	out, err := exec.Command(py, "-c", script, path).Output()
	if err != nil {
		t.Fatalf("pydicom %s: %v", path, err)
	}
	var e srExpect
	if err := json.Unmarshal(out, &e); err != nil || e.Concept == "" || e.Value == "" {
		t.Fatalf("SR measurement from %s: %v %s", path, err, out)
	}
	return e
}

// startObjectsServer serves the viewer, DICOMweb and the REST API (for the
// capture endpoint) over a fresh archive loaded with objectsCorpus and
// the extra files (absolute paths).
func startObjectsServer(t *testing.T, corpus string, extra ...string) *httptest.Server {
	t.Helper()
	ctx := context.Background()
	ts := newTestServer(t)
	var files []string
	for _, rel := range objectsCorpus {
		if strings.HasSuffix(rel, ".dcm") {
			files = append(files, rel)
		} else {
			files = append(files, corpusFiles(t, corpus, []string{rel})...)
		}
	}
	files = append(files, extra...)
	for _, rel := range files {
		if !filepath.IsAbs(rel) {
			rel = filepath.Join(corpus, rel)
		}
		data, err := os.ReadFile(rel)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ts.arch.Store(ctx, bytes.NewReader(data), archive.IngestMeta{Size: int64(len(data)), Source: rel}); err != nil {
			t.Fatalf("store %s: %v", rel, err)
		}
	}
	ts.mux.Handle("/api/", api.New(ts.arch, api.Options{Logger: ts.log, IndexBackend: "sqlite"}))
	return ts.start(t)
}
