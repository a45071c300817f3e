// Package browser holds Lightbox's end-to-end tests of the web viewer in
// headless Chromium.
//
// A test here starts an HTTP server the way `lightbox serve` wires it — the
// embedded viewer (internal/webui) at "/" and DICOMweb (internal/dicomweb)
// at /dicom-web over an archive with a SQLite index in a temporary
// directory, loaded with corpus studies — then runs e2e.mjs under Node,
// which drives Debian's Chromium with playwright-core (from web/viewer's
// node_modules) through the reader's steps and checks what is drawn.
// Screenshots of every step are kept in build/test-artifacts/browser/.
//
// The tests build nothing: the viewer bundle must have been built into the
// binary (go generate ./internal/webui) and web/viewer's npm dependencies
// installed (scripts/setup.sh). Missing either, or Chromium, Node or
// pydicom (the reference for pixel values and ROI statistics), skips loudly
// on a developer's machine and fails under CI=true.
package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/lightbox-pacs/lightbox/codec/all" // the server's codecs, as `lightbox serve` links them
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
	"github.com/lightbox-pacs/lightbox/internal/webui"
)

// corpusDirs are loaded into the archive: whole series sets (several
// studies of one patient among them) and single CT, MR and US images, so
// that the study browser has something to search, sort and page.
var corpusDirs = []string{"series", "ct", "mr", "us"}

// corpusExtra are single corpus files loaded besides corpusDirs: a
// multi-frame MR without a window of its own (MR auto window, cine).
// multi-frame colour ultrasound (sonosite-us-30f-jpeg, JPEG YBR_FULL_422)
// and a lossy JPEG 2000 CT.
var corpusExtra = []string{"multiframe/philips-mr-16f.dcm", "multiframe/sonosite-us-30f-jpeg.dcm", "transfer-syntax/ge-ct-j2k-91.dcm", "multiframe/us-palette-10f-rle.dcm", "mr/philips-mr2-j2k-lossy.dcm"}

// mrScenario is the multi-frame MR the MR auto window and cine steps use:
// corpus multiframe/philips-mr-16f.dcm (Philips MR Image Storage, 16 frames
// of 256x256, no Window Center/Width). Values are those of the file.
type mrScenario struct {
	Study   string `json:"study"`
	Series  string `json:"series"`
	SOP     string `json:"sop"`
	Frames  int    `json:"frames"`
	Rows    int    `json:"rows"`
	Columns int    `json:"columns"`
	FPS     int    `json:"fps"` // 1000 / Frame Time (0018,1063), rounded
	File    string `json:"-"`
	// From pydicom's modality values of frame 1: the 1st and 99th
	// percentiles (sorted value at round(p*(n-1)), the MR auto window),
	// min and max, and a grid of (column, row, value) samples.
	AutoLower float64      `json:"autoLower"`
	AutoUpper float64      `json:"autoUpper"`
	Min       float64      `json:"min"`
	Max       float64      `json:"max"`
	Samples   [][3]float64 `json:"samples"`
}

var philipsMR = mrScenario{
	File:    "multiframe/philips-mr-16f.dcm",
	Study:   "999.999.2.19960619.163000",
	Series:  "999.999.2.19960619.163000.1",
	SOP:     "999.999.2.19960619.163000.1.103",
	Frames:  16,
	Rows:    256,
	Columns: 256,
	FPS:     14, // Frame Time 69.47 ms
}

// ctScenario is the CT study the e2e steps read: corpus
// series/pydicom-ge-ct-2series (GE CT, explicit VR little endian, two
// series of 16x16 images). Values are those of the files (dcmdump).
type ctScenario struct {
	SearchName    string    `json:"searchName"`    // typed into "Patient name"
	PatientFamily string    `json:"patientFamily"` // every result's name starts with it
	Modality      string    `json:"modality"`
	StudyDate     string    `json:"studyDate"` // YYYY-MM-DD, searched as a one-day range
	PatientID     string    `json:"patientID"`
	Study         string    `json:"study"`
	SeriesCount   int       `json:"seriesCount"`
	Series        string    `json:"series"` // the series the steps scroll and measure
	SeriesNumber  int       `json:"seriesNumber"`
	ImageCount    int       `json:"imageCount"`
	Instances     []string  `json:"instances"` // SOP Instance UIDs in Instance Number order
	Window        float64   `json:"window"`    // Window Width of the files
	Center        float64   `json:"center"`    // Window Center of the files
	Rows          int       `json:"rows"`
	Columns       int       `json:"columns"`
	PixelSpacing  []float64 `json:"pixelSpacing"` // row spacing, column spacing (mm)
	ScoutSeries   string    `json:"scoutSeries"`  // the study's other series (2 scout images)
	// Prior studies: the other studies of the patient (corpus
	// series/pydicom-philips-mr-patient-3series, MR, another frame of
	// reference), and the one the comparison opens with its 3-image series.
	Priors           []string `json:"priors"`
	PriorStudy       string   `json:"priorStudy"`
	PriorSeries      string   `json:"priorSeries"`
	PriorSeriesCount int      `json:"priorSeriesCount"`
	// HU are pydicom's modality values (Rescale applied) of image 3 (the
	// one the ROI steps measure), row by row: the reference the ROI
	// statistics are computed from, independently of the viewer's decoder.
	HU     []float64 `json:"hu"`
	HUFile string    `json:"-"` // the corpus file of image 3
}

var geCT = ctScenario{
	SearchName:    "doe",
	PatientFamily: "Doe",
	Modality:      "CT",
	StudyDate:     "2001-01-01",
	PatientID:     "98890234",
	Study:         "1.3.6.1.4.1.5962.1.1.0.0.0.1194734704.16302.0.1",
	SeriesCount:   2,
	Series:        "1.3.6.1.4.1.5962.1.1.0.0.0.1194734704.16302.0.6",
	SeriesNumber:  5,
	ImageCount:    5,
	Instances: []string{
		"1.3.6.1.4.1.5962.1.1.0.0.0.1194734704.16302.0.12",
		"1.3.6.1.4.1.5962.1.1.0.0.0.1194734704.16302.0.13",
		"1.3.6.1.4.1.5962.1.1.0.0.0.1194734704.16302.0.14",
		"1.3.6.1.4.1.5962.1.1.0.0.0.1194734704.16302.0.15",
		"1.3.6.1.4.1.5962.1.1.0.0.0.1194734704.16302.0.16",
	},
	Window:       400,
	Center:       40,
	Rows:         16,
	Columns:      16,
	PixelSpacing: []float64{0.488281, 0.488281},
	ScoutSeries:  "1.3.6.1.4.1.5962.1.1.0.0.0.1194734704.16302.0.2",
	Priors: []string{
		"1.3.6.1.4.1.5962.1.1.0.0.0.1196533885.18148.0.1",
		"1.3.6.1.4.1.5962.1.1.0.0.0.1196533885.18148.0.133",
		"1.3.6.1.4.1.5962.1.1.0.0.0.1196533885.18148.0.427",
	},
	PriorStudy:       "1.3.6.1.4.1.5962.1.1.0.0.0.1196533885.18148.0.133",
	PriorSeries:      "1.3.6.1.4.1.5962.1.1.0.0.0.1196533885.18148.0.136",
	PriorSeriesCount: 3,
	HUFile:           "series/pydicom-ge-ct-2series/CT5N_2693.dcm",
}

// e2eConfig is what e2e.mjs reads from LIGHTBOX_E2E.
type e2eConfig struct {
	BaseURL    string      `json:"baseURL"`
	Chromium   string      `json:"chromium"`
	ViewerDir  string      `json:"viewerDir"`
	Artifacts  string      `json:"artifacts"`
	StudyCount int         `json:"studyCount"`
	CT         ctScenario  `json:"ct"`
	MRAuto     mrScenario  `json:"mrAuto"`
	Images     []imageCase `json:"images"`
}

// imageCase is one image the e2e steps open and whose drawn pixels they
// check against an independent decoder: JPEG 2000 (lossless and lossy),
// a multi-frame colour ultrasound (JPEG baseline YBR_FULL_422), and a file
// the browser cannot decode (the viewer falls back to the server's decode).
type imageCase struct {
	Name      string `json:"name"`
	File      string `json:"file"`
	PatientID string `json:"patientID"` // searched from the home page; "" opens the image's URL
	Modality  string `json:"modality"`
	Study     string `json:"study"`
	Series    string `json:"series"`
	SOP       string `json:"sop"`
	Syntax    string `json:"syntax"` // stored Transfer Syntax UID, checked in the series metadata
	Frames    int    `json:"frames"`
	Rows      int    `json:"rows"`
	Columns   int    `json:"columns"`
	Colour    bool   `json:"colour"`
	// Tol is how far a modality value (grey) or a channel (colour, 0-255)
	// may be from the reference.
	Tol float64 `json:"tol"`
	// Decode is where the viewer must decode it: "browser" or "server".
	Decode string `json:"decode"`
	// BreakBrowserDecode makes the browser's decode fail: the test answers
	// the viewer's requests for the stored bytes (transfer-syntax=*) with a
	// JPEG 2000 stream of garbage, as a codec refusing a stream would, and
	// lets the server-decoded request through. The corpus has no file in a
	// syntax Cornerstone 5.14 lacks a decoder for that Lightbox decodes.
	BreakBrowserDecode bool `json:"breakBrowserDecode"`
	// BreakServerDecode answers the server-decoded requests with an error
	// too: the viewer's last resort is the server's /rendered frame, whose
	// greys are the reference values under the file's window (Window:
	// width, centre).
	BreakServerDecode bool `json:"breakServerDecode"`
	// PretendSyntax relabels the instance's (0002,0010) in the series
	// metadata the viewer reads with a syntax Cornerstone's loader has no
	// decoder for (the corpus has no such file that Lightbox decodes): the
	// viewer must ask the server for decoded frames from the start.
	PretendSyntax string    `json:"pretendSyntax,omitempty"`
	Window        []float64 `json:"window,omitempty"`
	// Reference names the decoder of the expected values (pydicom).
	Reference string `json:"reference"`
	// Checks are the frames checked (1-based) with their samples: column,
	// row, then the modality value (grey) or R, G, B (colour) and, for
	// coloured samples, an extra tolerance (their neighbourhood's spread).
	Checks []frameCheck `json:"checks"`
}

type frameCheck struct {
	Frame   int         `json:"frame"`
	Samples [][]float64 `json:"samples"`
}

var imageCases = []imageCase{
	{
		Name: "JPEG 2000 lossless MR", File: "mr/hitachi-mr-j2k-lossless.dcm", PatientID: "b6a45b55-6441-4993-a151-498a0cb0fb66", Modality: "MR",
		Study: "1.2.276.0.7230010.3.1.2.2358427580.3460.1646695830.793", Series: "1.2.276.0.7230010.3.1.3.2358427580.3460.1646695830.794",
		SOP: "1.2.276.0.7230010.3.1.4.2358427580.3460.1646695830.795", Syntax: "1.2.840.10008.1.2.4.90", Frames: 1, Rows: 256, Columns: 256, Tol: 0, Decode: "browser", Reference: "pydicom",
	},
	{
		Name: "JPEG 2000 lossy CT", File: "transfer-syntax/ge-ct-j2k-91.dcm", PatientID: "2178309", Modality: "CT",
		Study: "1.2.840.113619.2.30.1.1762295590.1623.978668949.886", Series: "1.2.840.113619.2.30.1.1762295590.1623.978668949.890",
		SOP: "1.2.826.0.1.3680043.2.1143.4125370814499755226971558133553910467", Syntax: "1.2.840.10008.1.2.4.91", Frames: 1, Rows: 512, Columns: 512, Tol: 2, Decode: "browser", Reference: "pydicom",
	},
	{
		// A non-integer Rescale Slope (3.774114): Cornerstone's CPU renderer
		// re-quantises such images to Uint16 with a slope of its own, which
		// the viewer's values must follow.
		Name: "JPEG 2000 lossy MR with a non-integer rescale", File: "mr/philips-mr2-j2k-lossy.dcm", PatientID: "5MR2", Modality: "MR",
		Study: "1.3.6.1.4.1.5962.1.2.5.20040826185059.5457", Series: "1.3.6.1.4.1.5962.1.3.5.1.20040826185059.5457",
		SOP: "1.3.6.1.4.1.5962.1.1.5.1.3.20040826185059.5457", Syntax: "1.2.840.10008.1.2.4.91", Frames: 1, Rows: 1024, Columns: 1024, Tol: 8, Decode: "browser", Reference: "pydicom",
	},
	{
		Name: "colour ultrasound, 30 frames JPEG YBR_FULL_422", File: "multiframe/sonosite-us-30f-jpeg.dcm", PatientID: "204", Modality: "US",
		Study: "1.2.840.114340.3.8251017118051.1.20160503.120850.2171", Series: "1.2.840.114340.3.8251017118051.2.20160503.120850.2171",
		SOP: "1.2.840.114340.3.8251017118051.3.20160503.121539.16117.4", Syntax: "1.2.840.10008.1.2.4.50", Frames: 30, Rows: 240, Columns: 320, Colour: true, Tol: 6, Decode: "browser", Reference: "pydicom",
	},
	{
		// The palette tables reach the viewer as InlineBinary or BulkDataURI,
		// which Cornerstone's WADO-RS metadata provider cannot read itself.
		Name: "palette colour ultrasound, 10 frames RLE", File: "multiframe/us-palette-10f-rle.dcm", Modality: "US",
		Study: "999.999.3859744", Series: "999.999.94827453",
		SOP: "999.999.133.1996.1.1800.1.6.25", Syntax: "1.2.840.10008.1.2.5", Frames: 10, Rows: 430, Columns: 600, Colour: true, Tol: 6, Decode: "browser", Reference: "pydicom",
	},
	{
		Name: "JPEG 2000 the browser fails to decode (server-decoded)", File: "mr/philips-mr-j2k-lossless.dcm", PatientID: "14079", Modality: "MR",
		Study: "1.3.46.670589.11.30069.5.0.5580.2012100810493992000", Series: "1.3.46.670589.11.30069.5.0.7684.2012100810590168025",
		SOP: "1.3.46.670589.11.30069.5.0.7684.2012100810592485026", Syntax: "1.2.840.10008.1.2.4.90", Frames: 1, Rows: 256, Columns: 256, Tol: 0,
		Decode: "server", Reference: "pydicom", BreakBrowserDecode: true,
	},
	{
		Name: "JPEG 2000 neither the browser nor the server decodes (rendered)", File: "mr/philips-mr-j2k-lossless.dcm", PatientID: "14079", Modality: "MR",
		Study: "1.3.46.670589.11.30069.5.0.5580.2012100810493992000", Series: "1.3.46.670589.11.30069.5.0.7684.2012100810590168025",
		SOP: "1.3.46.670589.11.30069.5.0.7684.2012100810592485026", Syntax: "1.2.840.10008.1.2.4.90", Frames: 1, Rows: 256, Columns: 256, Tol: 6,
		Decode: "rendered", Reference: "pydicom", BreakBrowserDecode: true, BreakServerDecode: true, Window: []float64{892.72, 513.55},
	},
	{
		Name: "a syntax the browser has no decoder for (JPEG 2000 Part 2, server-decoded)", File: "mr/hitachi-mr-j2k-lossless.dcm", PatientID: "b6a45b55-6441-4993-a151-498a0cb0fb66", Modality: "MR",
		Study: "1.2.276.0.7230010.3.1.2.2358427580.3460.1646695830.793", Series: "1.2.276.0.7230010.3.1.3.2358427580.3460.1646695830.794",
		SOP: "1.2.276.0.7230010.3.1.4.2358427580.3460.1646695830.795", Syntax: "1.2.840.10008.1.2.4.90", Frames: 1, Rows: 256, Columns: 256, Tol: 0,
		Decode: "server", Reference: "pydicom", PretendSyntax: "1.2.840.10008.1.2.4.92",
	},
}

func TestViewerEndToEnd(t *testing.T) {
	chromium := testenv.RequireTool(t, "chromium")
	node := testenv.RequireTool(t, "node")
	root := testenv.RepoRoot(t)
	requireBundle(t)
	viewerDir := filepath.Join(root, "web", "viewer")
	requirePlaywright(t, viewerDir)

	python := testenv.PythonWithPydicom(t)
	corpus := testenv.CorpusDir(t)
	ct := geCT
	ct.HU = pydicomModality(t, python, filepath.Join(corpus, ct.HUFile), 0)
	if len(ct.HU) != ct.Rows*ct.Columns {
		t.Fatalf("pydicom read %d values from %s, want %d", len(ct.HU), ct.HUFile, ct.Rows*ct.Columns)
	}
	mr := philipsMR
	px := pydicomModality(t, python, filepath.Join(corpus, mr.File), 0)
	if len(px) != mr.Rows*mr.Columns {
		t.Fatalf("pydicom read %d values from %s, want %d", len(px), mr.File, mr.Rows*mr.Columns)
	}
	for y := mr.Rows / 16; y < mr.Rows; y += mr.Rows / 8 {
		for x := mr.Columns / 16; x < mr.Columns; x += mr.Columns / 8 {
			mr.Samples = append(mr.Samples, [3]float64{float64(x), float64(y), px[y*mr.Columns+x]})
		}
	}
	sorted := append([]float64(nil), px...)
	sort.Float64s(sorted)
	at := func(p float64) float64 { return sorted[int(math.Round(p*float64(len(sorted)-1)))] }
	mr.AutoLower, mr.AutoUpper = at(0.01), at(0.99)
	mr.Min, mr.Max = sorted[0], sorted[len(sorted)-1]

	var images []imageCase
	for _, c := range imageCases {
		images = append(images, imageReference(t, python, corpus, c))
	}

	srv, studies := startServer(t)
	artifacts := filepath.Join(root, "build", "test-artifacts", "browser")
	if err := os.RemoveAll(artifacts); err != nil {
		t.Fatal(err)
	}
	cfg := e2eConfig{
		BaseURL:    srv.URL,
		Chromium:   chromium,
		ViewerDir:  viewerDir,
		Artifacts:  artifacts,
		StudyCount: studies,
		CT:         ct,
		MRAuto:     mr,
		Images:     images,
	}
	runBrowserScript(t, node, filepath.Join(root, "test", "browser", "e2e.mjs"), "LIGHTBOX_E2E", cfg, cfg.Artifacts)
}

// pydicomScript prints, as JSON, the modality values (Rescale Slope and
// Intercept applied by pydicom's apply_modality_lut) of one frame of a file.
const pydicomScript = `
import json, sys
import pydicom
from pydicom.pixel_data_handlers.util import apply_modality_lut
ds = pydicom.dcmread(sys.argv[1])
arr = ds.pixel_array
if int(getattr(ds, "NumberOfFrames", 1) or 1) > 1:
    arr = arr[int(sys.argv[2])]
vals = apply_modality_lut(arr, ds).astype("float64")
json.dump([float(v) for v in vals.reshape(-1)], sys.stdout)
`

// pydicomModality reads frame (from 0) of a DICOM file with pydicom, the
// reference the viewer's pixel values and statistics are checked against.
func pydicomModality(t *testing.T, python, path string, frame int) []float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "-c", pydicomScript, path, strconv.Itoa(frame)).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("pydicom %s: %v\n%s", path, err, stderr)
	}
	var vals []float64
	if err := json.Unmarshal(out, &vals); err != nil {
		t.Fatalf("pydicom %s: %v", path, err)
	}
	return vals
}

// requireBundle stops the test when the binary embeds only the placeholder
// page of a clean clone.
func requireBundle(t *testing.T) {
	t.Helper()
	if webui.Built() {
		return
	}
	msg := "the viewer bundle is not built into internal/webui (dist holds only the placeholder): " +
		"run `go generate ./internal/webui` (npm ci + vite build in web/viewer) before this test"
	if testenv.IsCI() {
		t.Fatal("browser: " + msg)
	}
	t.Skip("!!! SKIPPED, NOT TESTED: " + msg)
}

// requirePlaywright checks that web/viewer's node_modules holds
// playwright-core (a devDependency, installed by npm ci).
func requirePlaywright(t *testing.T, viewerDir string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(viewerDir, "node_modules", "playwright-core", "package.json")); err == nil {
		return
	}
	msg := "playwright-core is not installed in web/viewer/node_modules: run `npm ci` there (scripts/setup.sh does)"
	if testenv.IsCI() {
		t.Fatal("browser: " + msg)
	}
	t.Skip("!!! SKIPPED, NOT TESTED: " + msg)
}

// startServer serves the viewer and DICOMweb over a fresh archive loaded
// with the corpus directories; it returns the server and the number of
// studies stored.
func startServer(t *testing.T) (*httptest.Server, int) {
	t.Helper()
	ctx := context.Background()
	ts := newTestServer(t)
	arch := ts.arch

	corpus := testenv.CorpusDir(t)
	studies := map[string]bool{}
	stored := 0
	for _, rel := range append(corpusFiles(t, corpus, corpusDirs), corpusExtra...) {
		data, err := os.ReadFile(filepath.Join(corpus, rel))
		if err != nil {
			t.Fatal(err)
		}
		res, err := arch.Store(ctx, bytes.NewReader(data), archive.IngestMeta{Size: int64(len(data)), Source: rel})
		if _, ok := archive.IsReject(err); ok {
			t.Logf("corpus file %s not stored: %v", rel, err)
			continue
		}
		if err != nil {
			t.Fatalf("store %s: %v", rel, err)
		}
		if res.Outcome == archive.OutcomeStored {
			stored++
			studies[res.StudyInstanceUID] = true
		}
	}
	t.Logf("archive: %d instances in %d studies from corpus %s and %s", stored, len(studies), strings.Join(corpusDirs, ", "), strings.Join(corpusExtra, ", "))

	// The server has the transcoder `lightbox serve` uses: frames the
	// browser cannot decode are asked for decoded (Explicit VR Little Endian).
	return ts.start(t), len(studies)
}

// corpusFiles lists the .dcm files under the corpus directories, relative
// to the corpus, in a stable order.
func corpusFiles(t *testing.T, corpus string, dirs []string) []string {
	t.Helper()
	var out []string
	for _, d := range dirs {
		err := filepath.WalkDir(filepath.Join(corpus, d), func(p string, e os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !e.IsDir() && strings.HasSuffix(p, ".dcm") {
				rel, err := filepath.Rel(corpus, p)
				if err != nil {
					return err
				}
				out = append(out, rel)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("corpus %s: %v", d, err)
		}
	}
	sort.Strings(out)
	return out
}

// pydicomRGBScript prints, as JSON, the 8-bit RGB samples of one frame as
// pydicom decodes it (YBR_FULL and YBR_FULL_422 converted to RGB).
const pydicomRGBScript = `
import json, sys
import pydicom
from pydicom.pixel_data_handlers.util import convert_color_space
ds = pydicom.dcmread(sys.argv[1])
arr = ds.pixel_array
if int(getattr(ds, "NumberOfFrames", 1) or 1) > 1:
    arr = arr[int(sys.argv[2])]
if ds.PhotometricInterpretation in ("YBR_FULL", "YBR_FULL_422"):
    arr = convert_color_space(arr, "YBR_FULL", "RGB")
elif ds.PhotometricInterpretation == "PALETTE COLOR":
    from pydicom.pixel_data_handlers.util import apply_color_lut
    arr = apply_color_lut(arr, ds)
    # 16-bit table entries are shown by their high byte, 8-bit ones as they are.
    if int(ds.RedPaletteColorLookupTableDescriptor[2]) > 8 and arr.max() > 255:
        arr = arr >> 8
json.dump([float(v) for v in arr.reshape(-1)], sys.stdout)
`

// imageReference fills c.Checks from the reference decoder: for grey
// images a grid of modality values; for colour ones the RGB of grid points
// whose 5x5 neighbourhood is nearly uniform (so that chroma upsampling and
// display interpolation cannot move the drawn colour), at most 40 of them.
func imageReference(t *testing.T, python, corpus string, c imageCase) imageCase {
	t.Helper()
	frames := []int{1}
	if c.Frames > 1 {
		frames = append(frames, c.Frames/2+1)
	}
	path := filepath.Join(corpus, c.File)
	for _, fr := range frames {
		var px []float64
		switch {
		case !c.Colour:
			px = pydicomModality(t, python, path, fr-1)
		default:
			px = pydicomJSON(t, python, pydicomRGBScript, path, fr-1)
		}
		spp := 1
		if c.Colour {
			spp = 3
		}
		if len(px) != c.Rows*c.Columns*spp {
			t.Fatalf("%s: reference read %d values, want %d", c.File, len(px), c.Rows*c.Columns*spp)
		}
		at := func(x, y, k int) float64 { return px[(y*c.Columns+x)*spp+k] }
		fc := frameCheck{Frame: fr}
		step := 8
		for y := 3; y < c.Rows-3; y += c.Rows / step / 2 {
			for x := 3; x < c.Columns-3; x += c.Columns / step / 2 {
				if !c.Colour {
					if len(fc.Samples) < 64 && (x*7+y*3)%5 == 0 {
						fc.Samples = append(fc.Samples, []float64{float64(x), float64(y), at(x, y, 0)})
					}
					continue
				}
				flat := true
				for dy := -2; dy <= 2 && flat; dy++ {
					for dx := -2; dx <= 2 && flat; dx++ {
						for k := 0; k < 3; k++ {
							if math.Abs(at(x+dx, y+dy, k)-at(x, y, k)) > 2 {
								flat = false
							}
						}
					}
				}
				if flat && len(fc.Samples) < 40 {
					fc.Samples = append(fc.Samples, []float64{float64(x), float64(y), at(x, y, 0), at(x, y, 1), at(x, y, 2)})
				}
			}
		}
		if c.Colour {
			// Coloured pixels (the ultrasound's colour marks) are seldom in
			// uniform patches: take those whose 3x3 neighbourhood is within 8
			// of them, each with that spread as extra tolerance (a drawn
			// position may be off by part of a pixel).
			var coloured [][]float64
			for y := 1; y < c.Rows-1; y++ {
				for x := 1; x < c.Columns-1; x++ {
					r, g, b := at(x, y, 0), at(x, y, 1), at(x, y, 2)
					if math.Max(r, math.Max(g, b))-math.Min(r, math.Min(g, b)) <= 20 {
						continue
					}
					spread := 0.0
					for dy := -1; dy <= 1; dy++ {
						for dx := -1; dx <= 1; dx++ {
							for k := 0; k < 3; k++ {
								spread = math.Max(spread, math.Abs(at(x+dx, y+dy, k)-at(x, y, k)))
							}
						}
					}
					if spread <= 8 {
						coloured = append(coloured, []float64{float64(x), float64(y), r, g, b, spread})
					}
				}
			}
			for i := 0; i < len(coloured); i += max(1, len(coloured)/10) { // about ten, spread out
				fc.Samples = append(fc.Samples, coloured[i])
			}
			if len(coloured) < 5 {
				t.Fatalf("%s frame %d: only %d coloured reference samples", c.File, fr, len(coloured))
			}
		}
		if len(fc.Samples) < 8 {
			t.Fatalf("%s frame %d: only %d reference samples", c.File, fr, len(fc.Samples))
		}
		c.Checks = append(c.Checks, fc)
	}
	return c
}

// pydicomJSON runs a pydicom script over a file and frame and reads its JSON list.
func pydicomJSON(t *testing.T, python, script, path string, frame int) []float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "-c", script, path, strconv.Itoa(frame)).Output()
	if err != nil {
		t.Fatalf("pydicom %s: %v", path, err)
	}
	var v []float64
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("pydicom %s: %v", path, err)
	}
	return v
}
