package browser

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/dicomweb"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// mprVolume describes the synthetic CT volume the MPR test stores and
// mpr.mjs checks the drawing of. Geometry (all in mm, patient coordinates):
// axial slices (Image Orientation 1\0\0\0\1\0) of Columns x Rows pixels
// of Spacing mm, Slices of them SliceSpacing mm apart, the first at
// Origin. The pixel (c, r) of slice k is centred at
// Origin + (c*Spacing, r*Spacing, k*SliceSpacing). Background air (HU
// -1000), a soft-tissue cylinder along z (HU 40, radius TissueRadius
// about the volume's centre) and two bone rods along z (HU 1000): rod A
// passes through the volume's centre column (it lies in the middle
// sagittal plane), rod B through its centre row (middle coronal plane),
// both from slice RodFirst to RodLast.
type mprVolume struct {
	Study        string     `json:"study"`
	Series       string     `json:"series"`
	Uneven       string     `json:"uneven"`    // the same slices with one missing: not a volume
	UnevenGap    int        `json:"unevenGap"` // the missing slice's index (0-based) in Uneven
	MR           string     `json:"mr"`        // the same volume as MR Image Storage (no rescale, no window)
	Columns      int        `json:"columns"`
	Rows         int        `json:"rows"`
	Slices       int        `json:"slices"`
	Spacing      float64    `json:"spacing"`
	SliceSpacing float64    `json:"sliceSpacing"`
	Origin       [3]float64 `json:"origin"`
	TissueRadius float64    `json:"tissueRadius"` // pixels
	RodHalf      int        `json:"rodHalf"`      // a rod covers centre ± RodHalf pixels in x and y
	RodA         [2]int     `json:"rodA"`         // column, row of rod A's axis
	RodB         [2]int     `json:"rodB"`
	RodFirst     int        `json:"rodFirst"` // first and last slice index (0-based) with the rods
	RodLast      int        `json:"rodLast"`
	HUAir        int        `json:"huAir"`
	HUTissue     int        `json:"huTissue"`
	HUBone       int        `json:"huBone"`
	Intercept    int        `json:"intercept"`
}

var mprCT = mprVolume{
	Study:        "2.25.81757206291861213305826001930381146801",
	Series:       "2.25.81757206291861213305826001930381146802",
	Uneven:       "2.25.81757206291861213305826001930381146803",
	UnevenGap:    17,
	MR:           "2.25.81757206291861213305826001930381146804",
	Columns:      128,
	Rows:         128,
	Slices:       40,
	Spacing:      1,
	SliceSpacing: 2.5,
	Origin:       [3]float64{-64, -64, -50},
	TissueRadius: 50,
	RodHalf:      3,
	RodA:         [2]int{64, 40},
	RodB:         [2]int{32, 64},
	RodFirst:     8,
	RodLast:      31,
	HUAir:        -1000,
	HUTissue:     40,
	HUBone:       1000,
	Intercept:    -1024,
}

// huAt is the Hounsfield value of pixel (c, r) of slice k.
func (v mprVolume) huAt(c, r, k int) int {
	inRod := func(rod [2]int) bool {
		return k >= v.RodFirst && k <= v.RodLast && mprAbs(c-rod[0]) <= v.RodHalf && mprAbs(r-rod[1]) <= v.RodHalf
	}
	switch {
	case inRod(v.RodA) || inRod(v.RodB):
		return v.HUBone
	case math.Hypot(float64(c)-float64(v.Columns-1)/2, float64(r)-float64(v.Rows-1)/2) <= v.TissueRadius:
		return v.HUTissue
	default:
		return v.HUAir
	}
}

func mprAbs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// slice returns slice k of the volume as a Part 10 CT Image Storage file
// of series (Explicit VR Little Endian, 16-bit unsigned, rescaled to HU).
func (v mprVolume) slice(t *testing.T, series string, seriesNumber, k int) []byte {
	t.Helper()
	ds := dicom.NewDataset()
	set := func(tag uint32, vr dicom.VR, vals ...string) {
		ds.Set(dicom.NewStringElement(dicom.Tag(tag), vr, vals...))
	}
	us := func(tag uint32, x uint16) {
		ds.Set(&dicom.Element{Tag: dicom.Tag(tag), VR: dicom.US, Value: binary.LittleEndian.AppendUint16(nil, x)})
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	z := v.Origin[2] + float64(k)*v.SliceSpacing
	mr := series == v.MR
	sopClass, modality := "1.2.840.10008.5.1.4.1.1.2", "CT"
	if mr {
		sopClass, modality = "1.2.840.10008.5.1.4.1.1.4", "MR"
	}
	desc := map[string]string{v.Series: "Phantom axial", v.Uneven: "Phantom axial, one slice missing", v.MR: "Phantom axial MR"}[series]
	set(0x00080005, dicom.CS, "ISO_IR 100")
	set(0x00080008, dicom.CS, "ORIGINAL", "PRIMARY", "AXIAL")
	set(0x00080016, dicom.UI, sopClass)
	set(0x00080018, dicom.UI, fmt.Sprintf("%s.%d", series, k+1))
	set(0x00080020, dicom.DA, "20260101")
	set(0x00080030, dicom.TM, "120000")
	set(0x00080050, dicom.SH, "MPR0001")
	set(0x00080060, dicom.CS, modality)
	set(0x00080070, dicom.LO, "Lightbox test")
	set(0x00081030, dicom.LO, "Synthetic MPR phantom")
	set(0x0008103E, dicom.LO, desc)
	set(0x00100010, dicom.PN, "Phantom^Volume")
	set(0x00100020, dicom.LO, "MPR-PHANTOM")
	set(0x00100030, dicom.DA, "19700101")
	set(0x00100040, dicom.CS, "O")
	set(0x00180050, dicom.DS, f(v.SliceSpacing))
	set(0x0020000D, dicom.UI, v.Study)
	set(0x0020000E, dicom.UI, series)
	set(0x00200010, dicom.SH, "1")
	set(0x00200011, dicom.IS, strconv.Itoa(seriesNumber))
	set(0x00200013, dicom.IS, strconv.Itoa(k+1))
	set(0x00200032, dicom.DS, f(v.Origin[0]), f(v.Origin[1]), f(z))
	set(0x00200037, dicom.DS, "1", "0", "0", "0", "1", "0")
	set(0x00200052, dicom.UI, v.Study+".9")
	set(0x00201041, dicom.DS, f(z))
	us(0x00280002, 1)
	set(0x00280004, dicom.CS, "MONOCHROME2")
	us(0x00280010, uint16(v.Rows))
	us(0x00280011, uint16(v.Columns))
	set(0x00280030, dicom.DS, f(v.Spacing), f(v.Spacing))
	us(0x00280100, 16)
	us(0x00280101, 12)
	us(0x00280102, 11)
	us(0x00280103, 0)
	if !mr {
		set(0x00281050, dicom.DS, "40")
		set(0x00281051, dicom.DS, "400")
		set(0x00281052, dicom.DS, strconv.Itoa(v.Intercept))
		set(0x00281053, dicom.DS, "1")
		set(0x00281054, dicom.LO, "HU")
	}
	px := make([]byte, 0, v.Rows*v.Columns*2)
	for r := range v.Rows {
		for c := range v.Columns {
			px = binary.LittleEndian.AppendUint16(px, uint16(v.huAt(c, r, k)-v.Intercept))
		}
	}
	ds.Set(&dicom.Element{Tag: dicom.TagPixelData, VR: dicom.OW, Value: px})
	var buf bytes.Buffer
	if err := dicom.WriteFile(&buf, ds, dicom.ExplicitVRLittleEndian, dicom.WriteOptions{}); err != nil {
		t.Fatalf("mpr: write slice %d: %v", k, err)
	}
	return buf.Bytes()
}

// mprStow stores files with one STOW-RS request.
func mprStow(t *testing.T, base string, files [][]byte) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, f := range files {
		pw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/dicom"}})
		if err != nil {
			t.Fatal(err)
		}
		pw.Write(f)
	}
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, base+dicomweb.DefaultPrefix+"/studies", &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", fmt.Sprintf(`multipart/related; type="application/dicom"; boundary=%s`, mw.Boundary()))
	req.Header.Set("Accept", "application/dicom+json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("mpr: STOW-RS: %v", err)
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("mpr: STOW-RS of %d files: %s: %s", len(files), res.Status, msg)
	}
}

// mprConfig is what mpr.mjs reads from LIGHTBOX_MPR.
type mprConfig struct {
	BaseURL   string    `json:"baseURL"`
	Chromium  string    `json:"chromium"`
	ViewerDir string    `json:"viewerDir"`
	Artifacts string    `json:"artifacts"`
	Volume    mprVolume `json:"volume"`
}

// TestViewerMPR stores a synthetic CT volume (and a copy with a slice
// missing) through STOW-RS and drives the viewer's MPR and 3D view over it
// in headless Chromium (mpr.mjs): rods where the geometry puts them in
// the axial, sagittal and coronal slices, crosshairs following a scroll,
// a shared window, 3D presets and rotation changing the rendering, the
// reason shown for a series that is not a volume, and the way back.
func TestViewerMPR(t *testing.T) {
	chromium := testenv.RequireTool(t, "chromium")
	node := testenv.RequireTool(t, "node")
	root := testenv.RepoRoot(t)
	requireBundle(t)
	viewerDir := filepath.Join(root, "web", "viewer")
	requirePlaywright(t, viewerDir)

	srv := newTestServer(t).start(t)
	v := mprCT
	var even, uneven, mr [][]byte
	for k := range v.Slices {
		even = append(even, v.slice(t, v.Series, 1, k))
		mr = append(mr, v.slice(t, v.MR, 3, k))
		if k != v.UnevenGap {
			uneven = append(uneven, v.slice(t, v.Uneven, 2, k))
		}
	}
	mprStow(t, srv.URL, even)
	mprStow(t, srv.URL, uneven)
	mprStow(t, srv.URL, mr)

	artifacts := filepath.Join(root, "build", "test-artifacts", "browser")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	old, _ := filepath.Glob(filepath.Join(artifacts, "mpr-*"))
	for _, f := range old {
		os.Remove(f)
	}
	cfg := mprConfig{BaseURL: srv.URL, Chromium: chromium, ViewerDir: viewerDir, Artifacts: artifacts, Volume: v}
	runBrowserScript(t, node, filepath.Join(root, "test", "browser", "mpr.mjs"), "LIGHTBOX_MPR", cfg, cfg.Artifacts)
}
