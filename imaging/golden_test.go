package imaging

import (
	"fmt"
	"image"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	_ "github.com/lightbox-pacs/lightbox/codec/all" // every registered codec
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// Golden-image tests: renders of corpus images are compared with what
// DCMTK's dcm2pnm makes of the same file, frame and VOI choice, produced
// during the test. Tolerance: on at least 99% of the pixels no channel
// differs by more than one level (DCMTK truncates where we round, and its
// colour and palette scaling round differently), and no pixel differs by
// more than maxDiff (a few levels, see each case).
//
// DCMTK 3.6.7 ignores multi-frame functional groups, so for enhanced
// objects the reference is rendered from a copy whose top level carries
// the frame's values (taken from dcmdump, not from this package), and the
// per-frame lookup is what the test checks.
type goldenCase struct {
	name  string
	file  string
	frame int      // 0-based
	opts  Options  // our options
	dcmtk []string // dcm2pnm options for the same rendering
	// modify are dcmodify arguments applied to a copy the reference is
	// rendered from (to flatten functional groups).
	modify []string
	// modifiedInput renders ours from the modified copy too.
	modifiedInput bool
	// tol is the per-channel difference 99% of the pixels must stay
	// within (default 1); maxDiff bounds it on every pixel (default tol).
	tol, maxDiff int
	// depth 16 compares 16-bit outputs (dcm2pnm +on2).
	depth int
	// pydicom, when set, takes the reference from pydicom instead of
	// DCMTK: "ybr" (convert_color_space to RGB, 8-bit) or "palette"
	// (apply_color_lut, 16-bit).
	pydicom string
	// tool is the DCMTK renderer: dcm2pnm (default), dcmj2pnm (which also
	// decodes JPEG and RLE) or dcml2pnm (JPEG-LS). Only lossless syntaxes
	// are used, so that decoder differences do not enter.
	tool string
}

var goldenCases = []goldenCase{
	// Grayscale, Modality rescale, dataset windows.
	{name: "ct-rescale-window1", file: "ct/siemens-ct-issue141.dcm", dcmtk: []string{"+Wi", "1"}},
	{name: "ct-window-override", file: "ct/siemens-ct-issue141.dcm", opts: Options{Window: &Window{Center: 40, Width: 400}}, dcmtk: []string{"+Ww", "40", "400"}},
	{name: "ct-sigmoid", file: "ct/siemens-ct-issue141.dcm", opts: Options{Window: &Window{Center: 40, Width: 400, Function: FunctionSigmoid}}, dcmtk: []string{"+Ww", "40", "400", "+Wfs"}},
	{name: "ct-ge-window", file: "ct/ge-ct-gh1308.dcm", dcmtk: []string{"+Wi", "1"}},
	{name: "ct-big-endian", file: "transfer-syntax/ge-ct-evrbe.dcm", dcmtk: []string{"+Wi", "1"}},
	{name: "ct-implicit", file: "rt/dicompyler-ct.dcm", dcmtk: []string{"+Wi", "1"}},
	{name: "ct-16bit-depth", file: "ct/siemens-ct-issue141.dcm", opts: Options{Depth: 16}, dcmtk: []string{"+Wi", "1", "+on2"}, depth: 16},
	{name: "mr-window", file: "mr/siemens-mr-im631.dcm", dcmtk: []string{"+Wi", "1"}},
	{name: "mr-window2", file: "mr/siemens-mr-with-overlays.dcm", opts: Options{VOIIndex: 1}, dcmtk: []string{"+Wi", "2"}},
	{name: "mr-minmax", file: "mr/ge-mr-ivrle.dcm", opts: Options{VOI: VOIMinMax}, dcmtk: []string{"+Wm"}},
	{name: "mr-decimal-rescale", file: "mr/siemens-mr-decimal-rescale.dcm", dcmtk: []string{"+Wi", "1"}},
	{name: "cr-monochrome1", file: "cr-dx/fuji-cr-mono1-chest.dcm", dcmtk: []string{"+Wi", "1"}},
	{name: "cr-monochrome1-minmax", file: "cr-dx/fuji-cr-mono1-chest.dcm", opts: Options{VOI: VOIMinMax}, dcmtk: []string{"+Wm"}},
	// Presentation LUT Shape, as DCMTK reads it: MONOCHROME1 with INVERSE
	// inverts once, with IDENTITY not at all; MONOCHROME2 with INVERSE
	// inverts.
	{name: "mono1-shape-inverse", file: "cr-dx/fuji-cr-mono1-chest.dcm", modify: []string{"-i", "(2050,0020)=INVERSE"}, modifiedInput: true, dcmtk: []string{"+Wi", "1"}},
	{name: "mono1-shape-identity", file: "cr-dx/fuji-cr-mono1-chest.dcm", modify: []string{"-i", "(2050,0020)=IDENTITY"}, modifiedInput: true, dcmtk: []string{"+Wi", "1"}},
	{name: "mono2-shape-inverse", file: "ct/siemens-ct-issue141.dcm", modify: []string{"-i", "(2050,0020)=INVERSE"}, modifiedInput: true, dcmtk: []string{"+Wi", "1"}},
	{name: "mono2-shape-override", file: "ct/siemens-ct-issue141.dcm", opts: Options{PresentationShape: "INVERSE"}, dcmtk: []string{"+Wi", "1", "+Piv"}},
	{name: "dx-for-presentation", file: "cr-dx/fujifilm-dx.dcm", dcmtk: []string{"+Wi", "1"}},
	{name: "signed-16", file: "sc/sc-16bit-signed.dcm", opts: Options{VOI: VOIMinMax}, dcmtk: []string{"+Wm"}},
	{name: "modality-lut-seq", file: "sc/ihe-mesa-modality-lut.dcm", opts: Options{VOI: VOIMinMax}, dcmtk: []string{"+Wm"}},
	{name: "voi-lut-seq", file: "sc/ihe-mesa-voi-lut.dcm", opts: Options{VOI: VOILUT}, dcmtk: []string{"+Wl", "1"}},
	{name: "nm-multiframe", file: "multiframe/nm-13f-heart.dcm", frame: 6, opts: Options{VOI: VOIMinMax}, dcmtk: []string{"+F", "7", "+Wm"}},
	{name: "rtdose-32bit", file: "rt/rtdose-15f.dcm", frame: 7, opts: Options{VOI: VOIMinMax}, dcmtk: []string{"+Wm"}},
	{name: "seg-1bit", file: "seg-pmap/highdicom-seg-binary.dcm", frame: 1, opts: Options{VOI: VOIMinMax}, dcmtk: []string{"+Wm"}},
	{name: "rtimage-padding-minmax", file: "rt/elekta-rtimage.dcm", opts: Options{VOI: VOIMinMax}, dcmtk: []string{"+Wm"}},
	{name: "pet", file: "pet-nm/siemens-pt-kanoun.dcm", dcmtk: []string{"+Wi", "1"}},
	// Colour.
	{name: "us-rgb", file: "us/us-rgb-esopecho.dcm"},
	// DCMTK's 8-bit YCbCr conversion truncates each of its three table
	// terms, so it is up to 2 levels off; pydicom rounds like we do.
	{name: "us-ybr-full", file: "us/atl-us-ybr-full.dcm", tol: 2},
	{name: "us-ybr-full-pydicom", file: "us/atl-us-ybr-full.dcm", pydicom: "ybr"},
	{name: "us-ybr-full-422-pydicom", file: "us/esaote-us-ybr-full-422.dcm", pydicom: "ybr"},
	{name: "us-ybr-full-422", file: "us/esaote-us-ybr-full-422.dcm"},
	{name: "sc-ybr-full-422", file: "sc/sc-ybr-full-422.dcm"},
	{name: "sc-rgb-pattern", file: "sc/testpattern-rgb.dcm"},
	{name: "sc-rgb-planar", file: "sc/imagej-color-3mb.dcm"},
	{name: "sc-rgb-planar-rle", file: "sc/milvue-ai-sc-rle.dcm", tool: "dcmj2pnm"},
	{name: "sc-rgb16", file: "sc/sc-rgb16-2frame.dcm", frame: 1, dcmtk: []string{"+F", "2"}},
	{name: "sc-rgb16-big-endian", file: "sc/sc-rgb16-evrbe.dcm"},
	{name: "us-rgb-16bit-depth", file: "us/us-rgb-esopecho.dcm", opts: Options{Depth: 16}, dcmtk: []string{"+on2"}, depth: 16},
	{name: "us-multiframe-big-endian", file: "multiframe/philips-us-2f-evrbe.dcm", frame: 1, dcmtk: []string{"+F", "2"}},
	// Compressed lossless inputs (decoded by codec, referenced by DCMTK).
	// This MR has Pixel Padding Value 0 inside its window; we show padding
	// black where DCMTK windows it like any value, so both render a copy
	// without the attribute (TestPaddingBlack covers padding).
	{name: "mr-rle", file: "mr/ge-mr3-rle.dcm", tool: "dcmj2pnm", modify: []string{"-e", "(0028,0120)"}, modifiedInput: true, dcmtk: []string{"+Wi", "1"}},
	{name: "sc-mono16-rle", file: "sc/leadtools-mono16-rle.dcm", tool: "dcmj2pnm", opts: Options{VOI: VOIMinMax}, dcmtk: []string{"+Wm"}},
	{name: "us-rle-ybr-planar", file: "us/mindray-us-rle-ybr-full.dcm", tool: "dcmj2pnm", tol: 2}, // DCMTK's YCbCr truncation, as above
	{name: "us-rle-ybr-planar-pydicom", file: "us/mindray-us-rle-ybr-full.dcm", pydicom: "ybr"},
	{name: "us-rle-rgb", file: "us/ge-us1-rle.dcm", tool: "dcmj2pnm"},
	{name: "us-palette-rle-multiframe", file: "multiframe/us-palette-10f-rle.dcm", frame: 4, tool: "dcmj2pnm"},
	{name: "xa-rle", file: "xa-rf/xa1-rle.dcm", tool: "dcmj2pnm", opts: Options{VOI: VOIMinMax}, dcmtk: []string{"+Wm"}},
	{name: "ct-jpeg-lossless", file: "ct/philips-ct-jpegll.dcm", tool: "dcmj2pnm", dcmtk: []string{"+Wi", "1"}},
	{name: "ct-jpegls-lossless", file: "ct/toshiba-ct2-jpegls-lossless.dcm", tool: "dcml2pnm", dcmtk: []string{"+Wi", "1"}},
	{name: "mg-jpeg-lossless", file: "mg/ge-mg-senographe-jpegll.dcm", tool: "dcmj2pnm", dcmtk: []string{"+Wi", "1"}},
	// Lossy JPEG: the decoders differ (libjpeg-turbo here, IJG 6b in
	// DCMTK) and may differ by a level more; these check MONOCHROME1 and the
	// colour space the decoder reports (YBR_FULL_422 delivered as RGB).
	{name: "cr-mono1-jpeg-large", file: "cr-dx/konica-cr-mono1-jpeg.dcm", tool: "dcmj2pnm", dcmtk: []string{"+Wi", "1"}, maxDiff: 2},
	{name: "us-jpeg-ybr", file: "us/philips-us-jpeg-baseline.dcm", tool: "dcmj2pnm", maxDiff: 2},
	{name: "us-jpeg-multiframe", file: "multiframe/sonosite-us-30f-jpeg.dcm", frame: 12, tool: "dcmj2pnm", maxDiff: 2},
	{name: "nm-jpeg-12bit", file: "pet-nm/ge-nm-genie-jpeg-extended.dcm", tool: "dcmj2pnm", opts: Options{VOI: VOIMinMax}, dcmtk: []string{"+Wm"}, maxDiff: 2},
	// Palette colour.
	{name: "us-palette-16bit-entries", file: "us/philips-us-palette.dcm"},
	{name: "sc-palette-8bit-entries", file: "sc/testpattern-palette.dcm"},
	// DCMTK 3.6.7 rejects this segmented palette; pydicom expands it.
	{name: "us-segmented-palette", file: "us/aloka-us-segmented-palette.dcm", opts: Options{Depth: 16}, pydicom: "palette", depth: 16},
	{name: "us-palette-16bit-pydicom", file: "us/philips-us-palette.dcm", opts: Options{Depth: 16}, pydicom: "palette", depth: 16},
	// Overlays.
	{name: "overlays-embedded-and-separate", file: "sc/clunie-overlay.dcm", opts: Options{Overlays: true, VOI: VOIMinMax}, dcmtk: []string{"+Wm", "+O", "0"}},
	{name: "overlay-mr", file: "mr/siemens-mr-with-overlays.dcm", opts: Options{Overlays: true}, dcmtk: []string{"+Wi", "1", "+O", "0"}},
	{name: "overlay-mr-2", file: "mr/siemens-mr-overlay.dcm", opts: Options{Overlays: true}, dcmtk: []string{"+Wi", "1", "+O", "0"}},
	// Per-frame functional groups. multiframe-per-frame-windowing: frame 1
	// has window 16/128 and rescale 0/1; frames 2-4 have only rescale
	// (100/1, 0/2, 100/2) and get a min/max window over stored values
	// 0..48. The file lacks Pixel Representation, which DCMTK requires.
	{name: "per-frame-1", file: "edge-cases/multiframe-per-frame-windowing.dcm", frame: 0,
		modify: []string{"-i", "(0028,0103)=0", "-i", "(0028,1052)=0", "-i", "(0028,1053)=1"}, dcmtk: []string{"+F", "1", "+Ww", "16", "128"}},
	{name: "per-frame-2", file: "edge-cases/multiframe-per-frame-windowing.dcm", frame: 1,
		modify: []string{"-i", "(0028,0103)=0", "-i", "(0028,1052)=100", "-i", "(0028,1053)=1"}, dcmtk: []string{"+F", "2", "+Ww", "124.5", "49"}},
	{name: "per-frame-3", file: "edge-cases/multiframe-per-frame-windowing.dcm", frame: 2,
		modify: []string{"-i", "(0028,0103)=0", "-i", "(0028,1052)=0", "-i", "(0028,1053)=2"}, dcmtk: []string{"+F", "3", "+Ww", "48.5", "97"}},
	{name: "per-frame-4", file: "edge-cases/multiframe-per-frame-windowing.dcm", frame: 3,
		modify: []string{"-i", "(0028,0103)=0", "-i", "(0028,1052)=100", "-i", "(0028,1053)=2"}, dcmtk: []string{"+F", "4", "+Ww", "148.5", "97"}},
	// Enhanced CT: shared Pixel Value Transformation -1024/1 and Frame VOI
	// LUT 49/102.
	{name: "enhanced-ct-shared-groups", file: "multiframe/enhanced-ct-2f-supplemental-lut.dcm", frame: 1,
		modify: []string{"-i", "(0028,1052)=-1024", "-i", "(0028,1053)=1"}, dcmtk: []string{"+F", "2", "+Ww", "49", "102"}},
}

func TestGolden(t *testing.T) {
	for i, tc := range goldenCases {
		if raceEnabled && i%4 != 0 {
			continue // a sample under the race detector; scripts/test.sh runs all without it
		}
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(testenv.CorpusDir(t), tc.file)
			if tc.modify != nil {
				path = modifiedCopy(t, tc.file, tc.modify...)
			}
			input := path
			if !tc.modifiedInput {
				input = filepath.Join(testenv.CorpusDir(t), tc.file)
			}
			if !codec.CanDecode(transferSyntaxOf(t, input)) {
				t.Skipf("no codec registered yet for the transfer syntax of %s", tc.file)
			}
			got := renderPath(t, input, tc.frame, tc.opts)
			var want image.Image
			ref := "dcm2pnm"
			switch {
			case tc.pydicom != "":
				ref = "pydicom " + tc.pydicom
				want = pydicomRender(t, path, tc.frame, tc.pydicom)
			default:
				if tc.tool != "" {
					ref = tc.tool
				}
				want = dcmtkRenderWith(t, ref, path, tc.dcmtkArgs()...)
			}
			tol := max(tc.tol, 1)
			maxDiff := max(tc.maxDiff, tol)
			stats, err := compareImages(got, want, max(tc.depth, 8), tol)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s vs %s: %s", tc.file, ref, stats)
			if float64(stats.over) > 0.01*float64(stats.pixels) || stats.maxDiff > maxDiff {
				t.Errorf("render differs from %s %v beyond tolerance (99%% within %d, max %d): %s; images: %s %s",
					ref, tc.dcmtk, tol, maxDiff, stats, writePNG(t, tc.name+".png", got), writePNG(t, tc.name+"-ref.png", want))
			}
		})
	}
}

// dcmtkArgs completes the case's dcm2pnm options: no overlays unless
// asked (dcm2pnm draws them by default), PNG output, the frame.
func (tc goldenCase) dcmtkArgs() []string {
	args := tc.dcmtk
	joined := strings.Join(tc.dcmtk, " ")
	if !tc.opts.Overlays {
		args = append([]string{"-O"}, args...)
	}
	if !strings.Contains(joined, "+on2") {
		args = append(args, "+on")
	}
	if tc.frame > 0 && !strings.Contains(joined, "+F") {
		args = append(args, "+F", fmt.Sprint(tc.frame+1))
	}
	return args
}

// TestRGB32 checks 32-bit RGB, which DCMTK does not render, against the
// 16-bit version of the same image (its samples are the 16-bit ones times
// 65537), itself checked against DCMTK above.
func TestRGB32(t *testing.T) {
	for frame := 0; frame < 2; frame++ {
		got := renderCorpus(t, "sc/sc-rgb32-2frame.dcm", frame, Options{})
		want := renderCorpus(t, "sc/sc-rgb16-2frame.dcm", frame, Options{})
		stats, err := compareImages(got, want, 8, 0)
		if err != nil {
			t.Fatal(err)
		}
		if stats.maxDiff != 0 {
			t.Errorf("frame %d: 32-bit RGB render differs from the 16-bit one: %s", frame, stats)
		}
	}
}
