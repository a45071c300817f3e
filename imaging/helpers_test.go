package imaging

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// corpusFile opens a corpus file and parses it, leaving bulk values in the
// open file, as a server would.
func corpusFile(tb testing.TB, rel string) (*dicom.File, *os.File) {
	tb.Helper()
	return openFile(tb, filepath.Join(testenv.CorpusDir(tb), rel))
}

// openFile opens and parses a DICOM file, bulk values left in the file.
func openFile(tb testing.TB, path string) (*dicom.File, *os.File) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		tb.Fatal(err)
	}
	file, err := dicom.Read(f, st.Size(), dicom.ReadOptions{})
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return file, f
}

// renderCorpus decodes frame (0-based) of a corpus file and renders it.
func renderCorpus(tb testing.TB, rel string, frame int, opts Options) image.Image {
	tb.Helper()
	return renderPath(tb, filepath.Join(testenv.CorpusDir(tb), rel), frame, opts)
}

// renderPath decodes frame (0-based) of a DICOM file and renders it.
func renderPath(tb testing.TB, rel string, frame int, opts Options) image.Image {
	tb.Helper()
	file, src := openFile(tb, rel)
	fr, err := DecodeFrame(file.Dataset, file.TransferSyntax, src, frame)
	if err != nil {
		tb.Fatalf("%s: %v", rel, err)
	}
	opts.Source = src
	img, err := Render(file.Dataset, fr, opts)
	if err != nil {
		tb.Fatalf("%s frame %d: %v", rel, frame, err)
	}
	return img
}

// runTool runs a reference tool with a time limit and returns its output.
func runTool(tb testing.TB, name string, args ...string) []byte {
	tb.Helper()
	tool := testenv.RequireTool(tb, name)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
	}
	return out
}

// dcmtkRender renders a file with DCMTK's dcm2pnm and decodes its PNG.
func dcmtkRender(tb testing.TB, path string, args ...string) image.Image {
	tb.Helper()
	return dcmtkRenderWith(tb, "dcm2pnm", path, args...)
}

// dcmtkRenderWith renders with tool (dcm2pnm or dcmj2pnm).
func dcmtkRenderWith(tb testing.TB, tool, path string, args ...string) image.Image {
	tb.Helper()
	out := filepath.Join(tb.TempDir(), "ref.png")
	runTool(tb, tool, append(append([]string{"--quiet"}, args...), path, out)...)
	b, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		tb.Fatalf("dcm2pnm output: %v", err)
	}
	return img
}

// modifiedCopy copies a corpus file to a temporary file and applies dcmodify
// arguments to it (the original stays untouched).
func modifiedCopy(tb testing.TB, rel string, args ...string) string {
	tb.Helper()
	src := filepath.Join(testenv.CorpusDir(tb), rel)
	dst := filepath.Join(tb.TempDir(), filepath.Base(rel))
	in, err := os.Open(src)
	if err != nil {
		tb.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		tb.Fatal(err)
	}
	if err := out.Close(); err != nil {
		tb.Fatal(err)
	}
	if len(args) > 0 {
		runTool(tb, "dcmodify", append(append([]string{"-nb", "-q"}, args...), dst)...)
	}
	return dst
}

// diffStats compares two images channel by channel (R, G, B of 8-bit or
// 16-bit samples; grey images count as R=G=B).
type diffStats struct {
	pixels  int
	over    int // pixels with a channel differing by more than tol
	maxDiff int
	sumDiff float64
}

func (s diffStats) String() string {
	return fmt.Sprintf("%d pixels, %.3f%% beyond tolerance, max diff %d, mean diff %.3f",
		s.pixels, 100*float64(s.over)/float64(max(s.pixels, 1)), s.maxDiff, s.sumDiff/float64(max(s.pixels, 1)))
}

// compareImages compares got and want at the given depth (8 or 16 bits per
// sample); tol is the largest per-channel difference that counts as equal.
func compareImages(got, want image.Image, depth, tol int) (diffStats, error) {
	var s diffStats
	if got.Bounds().Size() != want.Bounds().Size() {
		return s, fmt.Errorf("size %v, reference %v", got.Bounds().Size(), want.Bounds().Size())
	}
	shift := uint(8)
	if depth == 16 {
		shift = 0
	}
	gb, wb := got.Bounds(), want.Bounds()
	for y := 0; y < gb.Dy(); y++ {
		for x := 0; x < gb.Dx(); x++ {
			r1, g1, b1, _ := got.At(gb.Min.X+x, gb.Min.Y+y).RGBA()
			r2, g2, b2, _ := want.At(wb.Min.X+x, wb.Min.Y+y).RGBA()
			worst := 0
			for _, d := range [][2]uint32{{r1, r2}, {g1, g2}, {b1, b2}} {
				diff := int(d[0]>>shift) - int(d[1]>>shift)
				worst = max(worst, diff, -diff)
			}
			s.pixels++
			s.sumDiff += float64(worst)
			s.maxDiff = max(s.maxDiff, worst)
			if worst > tol {
				s.over++
			}
		}
	}
	return s, nil
}

// writePNG saves an image for a look when a comparison fails.
func writePNG(tb testing.TB, name string, img image.Image) string {
	tb.Helper()
	dir := os.Getenv("LIGHTBOX_IMAGING_OUT")
	if dir == "" {
		dir = tb.TempDir()
	}
	p := filepath.Join(dir, name)
	var buf bytes.Buffer
	if err := EncodePNG(&buf, img); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// pydicomScript renders a frame with pydicom's own colour helpers and
// writes a binary PPM: "ybr" converts YCbCr to 8-bit RGB
// (convert_color_space), "palette" applies the palette (apply_color_lut,
// 16-bit entries as they are).
const pydicomScript = `
import sys
import numpy as np
import pydicom
from pydicom.pixel_data_handlers.util import apply_color_lut, convert_color_space
path, frame, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ds = pydicom.dcmread(path)
arr = ds.pixel_array
if int(getattr(ds, "NumberOfFrames", 1) or 1) > 1:
    arr = arr[frame]
if mode == "ybr":
    out, maxv = convert_color_space(arr, ds.PhotometricInterpretation, "RGB").astype(">u1"), 255
elif mode == "palette":
    out, maxv = apply_color_lut(arr, ds).astype(">u2"), 65535
else:
    raise SystemExit("unknown mode " + mode)
h, w = out.shape[:2]
sys.stdout.buffer.write(b"P6 %d %d %d\n" % (w, h, maxv))
sys.stdout.buffer.write(np.ascontiguousarray(out).tobytes())
`

// pydicomRender runs pydicomScript and decodes its PPM.
func pydicomRender(tb testing.TB, path string, frame int, mode string) image.Image {
	tb.Helper()
	py := testenv.PythonWithPydicom(tb)
	out := runTool(tb, py, "-c", pydicomScript, path, fmt.Sprint(frame), mode)
	img, err := decodePPM(out)
	if err != nil {
		tb.Fatalf("pydicom output: %v", err)
	}
	return img
}

// decodePPM decodes the binary PPM pydicomScript writes: a one-line
// header "P6 W H MAXVAL" and samples of 8 or 16 bits (maxval 255 or 65535).
func decodePPM(b []byte) (image.Image, error) {
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 {
		return nil, fmt.Errorf("no PPM header line")
	}
	var w, h, maxv int
	if n, err := fmt.Sscanf(string(b[:nl]), "P6 %d %d %d", &w, &h, &maxv); err != nil || n != 3 {
		return nil, fmt.Errorf("PPM header %q: %v", b[:nl], err)
	}
	pix := b[nl+1:]
	rect := image.Rect(0, 0, w, h)
	if maxv == 255 {
		img := image.NewRGBA(rect)
		if len(pix) < 3*w*h {
			return nil, fmt.Errorf("PPM has %d bytes of pixels, want %d", len(pix), 3*w*h)
		}
		for i := 0; i < w*h; i++ {
			copy(img.Pix[4*i:], pix[3*i:3*i+3])
			img.Pix[4*i+3] = 0xFF
		}
		return img, nil
	}
	img := image.NewRGBA64(rect)
	if len(pix) < 6*w*h {
		return nil, fmt.Errorf("PPM has %d bytes of pixels, want %d", len(pix), 6*w*h)
	}
	for i := 0; i < w*h; i++ {
		copy(img.Pix[8*i:], pix[6*i:6*i+6])
		img.Pix[8*i+6], img.Pix[8*i+7] = 0xFF, 0xFF
	}
	return img, nil
}

// transferSyntaxOf returns the transfer syntax of a DICOM file.
func transferSyntaxOf(tb testing.TB, path string) string {
	tb.Helper()
	file, _ := openFile(tb, path)
	return file.TransferSyntax
}
