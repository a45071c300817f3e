package all

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// transcodeSources cover the layouts a transcoder meets: signed 16-bit CT,
// big endian, compressed sources, RGB 8 and 16 bit, planar, YBR_FULL_422,
// multi-frame, odd sizes, and Bits Allocated 1.
var transcodeSources = []string{
	"transfer-syntax/ge-ct-ivrle.dcm",
	"transfer-syntax/ge-ct-evrbe.dcm",
	"transfer-syntax/ge-ct-jpeg-lossless-57.dcm",
	"transfer-syntax/ge-ct-j2k-91.dcm",
	"mr/philips-mr4-jpegls-lossless.dcm",
	"sc/sc-rgb-evrle.dcm",
	"sc/sc-rgb16-2frame.dcm",
	"sc/imagej-color-3mb.dcm",
	"us/esaote-us-ybr-full-422.dcm",
	"us/philips-us-jpeg-baseline.dcm",
	"multiframe/enhanced-mr-10f.dcm",
	"cr-dx/fujifilm-dx.dcm",
	"sc/sc-rgb-3x3-odd.dcm",
	"seg-pmap/qiicr-seg-liver.dcm",
	"seg-pmap/highdicom-seg-binary.dcm",
}

type target struct {
	ts    string
	lossy bool
	tol   int64 // largest sample difference after a round trip
}

var transcodeTargets = []target{
	{ts: dicom.ExplicitVRLittleEndian},
	{ts: dicom.ImplicitVRLittleEndian},
	{ts: dicom.RLELossless},
	{ts: dicom.JPEGLSLossless},
	{ts: dicom.JPEG2000Lossless},
	{ts: dicom.DeflatedImageFrameCompression},
	{ts: dicom.JPEGLSNearLossless, lossy: true, tol: 2},     // NEAR=2 bounds the error by definition
	{ts: dicom.JPEGBaseline8Bit, lossy: true, tol: 1 << 30}, // measured and logged, bounded by PSNR below
}

// TestTranscodeRoundTrip transcodes corpus images to every target,
// writes the result as a Part 10 file, reads it back and decodes it: the
// pixels must equal the source's bit for bit (on the Bits Stored bits) for
// lossless targets, and the reference decoder must agree with Lightbox on
// the encoded file.
func TestTranscodeRoundTrip(t *testing.T) {
	root := testenv.CorpusDir(t)
	n := 0
	for _, rel := range transcodeSources {
		for _, tg := range transcodeTargets {
			if n++; raceEnabled && n%3 != 0 {
				continue // a sample under the race detector; scripts/test.sh runs all without it
			}
			t.Run(rel+"/"+tg.ts, func(t *testing.T) {
				t.Parallel()
				roundTrip(t, filepath.Join(root, rel), tg)
			})
		}
	}
}

func roundTrip(t *testing.T, path string, tg target) {
	f, err := dicom.ReadFile(path, dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	want, wantInfo := decodeAll(t, f.Dataset, f.TransferSyntax, src)

	out, err := codec.TranscodeWith(f.Dataset, f.TransferSyntax, src, tg.ts, codec.TranscodeOptions{AllowLossy: tg.lossy})
	if errors.Is(err, codec.ErrUnsupported) {
		t.Logf("not applicable: %v", err)
		return
	}
	if err != nil {
		t.Fatalf("transcode: %v", err)
	}
	if tg.lossy && f.TransferSyntax != tg.ts {
		if _, err := codec.Transcode(f.Dataset, f.TransferSyntax, src, tg.ts); !errors.Is(err, codec.ErrLossyNotAllowed) {
			t.Errorf("lossy target without AllowLossy: error %v, want ErrLossyNotAllowed", err)
		}
	}
	var buf bytes.Buffer
	if err := dicom.WriteFile(&buf, out, tg.ts, dicom.WriteOptions{Bulk: src}); err != nil {
		t.Fatalf("write: %v", err)
	}
	g, err := dicom.Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()), dicom.ReadOptions{})
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	if g.TransferSyntax != tg.ts {
		t.Fatalf("written file says %s", g.TransferSyntax)
	}
	got, gotInfo := decodeAll(t, g.Dataset, g.TransferSyntax, bytes.NewReader(buf.Bytes()))
	if tg.lossy {
		if v := g.Dataset.String(codec.TagLossyImageCompression); v != "01" {
			t.Errorf("Lossy Image Compression %q, want 01", v)
		}
	}
	if wantInfo.PhotometricInterpretation == "YBR_FULL" && gotInfo.PhotometricInterpretation == "RGB" {
		want = ybrToRGB(want) // JPEG decoding converts colour to RGB
		wantInfo.PhotometricInterpretation = "RGB"
	}
	worst := compareFrames(t, want, got, wantInfo, gotInfo)
	switch {
	case tg.ts == dicom.JPEGBaseline8Bit:
		t.Logf("JPEG baseline q90: max difference %d, PSNR %.1f dB, %d bytes", worst, psnr(want, got, wantInfo), buf.Len())
		if p := psnr(want, got, wantInfo); p < 30 {
			t.Errorf("JPEG baseline PSNR %.1f dB, want >= 30", p)
		}
	case worst > tg.tol:
		t.Errorf("round trip: max sample difference %d, tolerance %d", worst, tg.tol)
	}

	// The reference decoder must read what Lightbox wrote.
	if dicom.IsEncapsulated(tg.ts) && refTool(tg.ts) != "python-zlib" {
		file := filepath.Join(t.TempDir(), "out.dcm")
		if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		validate(t, file)
		rf, _ := os.Open(file)
		defer rf.Close()
		p, err := codec.Open(g.Dataset, g.TransferSyntax, rf, codec.Options{})
		if err != nil {
			t.Fatal(err)
		}
		tool := refTool(tg.ts)
		if tool == "gdcmconv" {
			// gdcmconv refuses to write some valid inputs (multi-frame SC
			// "NumberOfDimensions"); decode the codestreams directly.
			tool = "opj_decompress"
		}
		ref := referenceDecodeWith(t, file, tg.ts, p, tool)
		refInfo := gotInfo
		if ref.info.PhotometricInterpretation != "" {
			refInfo = ref.info
		}
		if d := compareFrames(t, got, ref.frames, gotInfo, refInfo); d > 0 {
			t.Errorf("%s decodes Lightbox's %s differently: max difference %d", ref.tool, tg.ts, d)
		}
	}
}

// validate runs dcmdump over a written file: it must parse without error.
func validate(t *testing.T, file string) {
	t.Helper()
	bin := testenv.RequireTool(t, "dcmdump")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, bin, "-q", "+E", file).CombinedOutput(); err != nil || len(out) > 0 && bytes.Contains(out, []byte("E:")) {
		t.Errorf("dcmdump rejects the transcoded file: %v\n%s", err, out)
	}
}

func decodeAll(t *testing.T, ds *dicom.Dataset, ts string, src interface {
	ReadAt([]byte, int64) (int, error)
}) ([][]byte, codec.PixelInfo) {
	t.Helper()
	p, err := codec.Open(ds, ts, src, codec.Options{})
	if err != nil {
		t.Fatalf("open %s: %v", ts, err)
	}
	var frames [][]byte
	var info codec.PixelInfo
	for i := 0; i < p.NumFrames(); i++ {
		b, in, err := p.Frame(i)
		if err != nil {
			t.Fatalf("decode %s frame %d: %v", ts, i, err)
		}
		frames, info = append(frames, b), in
	}
	return frames, info
}

// compareFrames returns the largest sample difference, comparing Bits
// Stored bits (sign-extended for signed samples) and Bits Allocated 1
// frames bit by bit.
func compareFrames(t *testing.T, a, b [][]byte, ai, bi codec.PixelInfo) int64 {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%d frames against %d", len(a), len(b))
	}
	if ai.Rows != bi.Rows || ai.Columns != bi.Columns || ai.SamplesPerPixel != bi.SamplesPerPixel || ai.BitsAllocated != bi.BitsAllocated {
		t.Fatalf("geometry changed: %+v against %+v", ai, bi)
	}
	var worst int64
	for i := range a {
		x, y := a[i], b[i]
		if ai.BitsAllocated == 1 {
			n := ai.Pixels() * int64(ai.SamplesPerPixel)
			x, y = unpackBits(x, n), unpackBits(y, n)
		} else if ai.BitsStored < ai.BitsAllocated {
			x, y = maskStored(x, ai), maskStored(y, ai)
		}
		d := maxDiff(x, y, max(ai.BytesPerSample(), 1), ai.Signed())
		if d < 0 {
			t.Fatalf("frame %d: %d bytes against %d", i, len(x), len(y))
		}
		worst = max(worst, d)
	}
	return worst
}

// ybrToRGB converts 8-bit YBR_FULL frames to RGB (PS3.3 C.7.6.3.1.2).
func ybrToRGB(frames [][]byte) [][]byte {
	clamp := func(v float64) byte {
		v = math.Round(v)
		if v < 0 {
			return 0
		}
		if v > 255 {
			return 255
		}
		return byte(v)
	}
	out := make([][]byte, len(frames))
	for i, f := range frames {
		o := make([]byte, len(f))
		for k := 0; k+2 < len(f); k += 3 {
			y, cb, cr := float64(f[k]), float64(f[k+1])-128, float64(f[k+2])-128
			o[k] = clamp(y + 1.402*cr)
			o[k+1] = clamp(y - 0.344136*cb - 0.714136*cr)
			o[k+2] = clamp(y + 1.772*cb)
		}
		out[i] = o
	}
	return out
}
