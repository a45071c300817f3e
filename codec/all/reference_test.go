package all

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// reference is what a reference decoder made of a file: its frames as
// little-endian colour-by-pixel samples, and a description.
type reference struct {
	tool   string
	frames [][]byte
	info   codec.PixelInfo
	// unpacked is set when Bits Allocated 1 frames come one byte per pixel.
	unpacked bool
}

// refTool names the reference decoder for a transfer syntax.
func refTool(ts string) string {
	switch ts {
	case dicom.ImplicitVRLittleEndian, dicom.ExplicitVRLittleEndian, dicom.DeflatedExplicitVRLittleEndian, dicom.ExplicitVRBigEndian:
		return "pydicom"
	case dicom.RLELossless:
		return "dcmdrle"
	case dicom.JPEGBaseline8Bit, dicom.JPEGExtended12Bit, "1.2.840.10008.1.2.4.53", "1.2.840.10008.1.2.4.55", dicom.JPEGLossless, dicom.JPEGLosslessSV1:
		return "dcmdjpeg"
	case dicom.JPEGLSLossless, dicom.JPEGLSNearLossless:
		return "dcmdjpls"
	case dicom.JPEG2000Lossless, dicom.JPEG2000:
		return "gdcmconv"
	case dicom.HTJ2KLossless, dicom.HTJ2KLosslessRPCL, dicom.HTJ2K:
		return "opj_decompress"
	case dicom.JPEGXLLossless, dicom.JPEGXLJPEGRecompression, dicom.JPEGXL:
		return "djxl"
	case dicom.DeflatedImageFrameCompression:
		return "python-zlib"
	}
	return ""
}

func runTool(t *testing.T, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("reference %s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
}

// referenceOverride picks another reference decoder for files the usual
// one refuses.
var referenceOverride = map[string]string{
	// GDCM refuses the file (its Pixel Data lacks the Sequence Delimitation
	// Item); every frame's codestream is whole, so decode those directly.
	"upstream-enhanced-mr-j2k-too-short.dcm": "opj_decompress",
}

// referenceDecode runs the reference decoder for ts on the file at path.
// p gives the raw frames for tools that take a bare codestream.
func referenceDecode(t *testing.T, path, ts string, p *codec.Pixels) reference {
	t.Helper()
	tool := refTool(ts)
	if o, ok := referenceOverride[filepath.Base(path)]; ok {
		tool = o
	}
	return referenceDecodeWith(t, path, ts, p, tool)
}

// referenceDecodeWith runs the named reference decoder.
func referenceDecodeWith(t *testing.T, path, ts string, p *codec.Pixels, tool string) reference {
	t.Helper()
	dir := t.TempDir()
	if ts == dicom.ExplicitVRBigEndian && p.Info.BitsAllocated == 8 {
		// pydicom 2.3 does not swap 8-bit samples held in OW, which PS3.5
		// 7.3 says are byte-swapped 16-bit words; DCMTK does. (For 32-bit
		// samples in OW it is DCMTK that swaps 16-bit words only.)
		tool = "dcmconv"
	}
	switch tool {
	case "pydicom":
		return pydicomFrames(t, path)
	case "dcmdrle", "dcmdjpeg", "dcmdjpls":
		out := filepath.Join(dir, "out.dcm")
		runTool(t, testenv.RequireTool(t, tool), path, out)
		return nativeFile(t, tool, out)
	case "dcmconv":
		out := filepath.Join(dir, "out.dcm")
		runTool(t, testenv.RequireTool(t, tool), "+te", path, out)
		return nativeFile(t, tool, out)
	case "gdcmconv":
		out := filepath.Join(dir, "out.dcm")
		runTool(t, testenv.RequireTool(t, tool), "--raw", path, out)
		return nativeFile(t, tool, out)
	case "opj_decompress", "djxl":
		return codestreamFrames(t, tool, dir, p)
	case "python-zlib":
		return zlibFrames(t, dir, p)
	}
	t.Fatalf("no reference decoder for transfer syntax %s", ts)
	return reference{}
}

// nativeFile reads the frames of an uncompressed file a tool wrote.
func nativeFile(t *testing.T, tool, path string) reference {
	t.Helper()
	f, err := dicom.ReadFile(path, dicom.ReadOptions{LoadBulk: true})
	if err != nil {
		t.Fatalf("%s output: %v", tool, err)
	}
	p, err := codec.Open(f.Dataset, f.TransferSyntax, nil, codec.Options{})
	if err != nil {
		t.Fatalf("%s output: %v", tool, err)
	}
	ref := reference{tool: tool}
	for i := 0; i < p.NumFrames(); i++ {
		b, info, err := p.Frame(i)
		if err != nil {
			t.Fatalf("%s output frame %d: %v", tool, i, err)
		}
		ref.frames = append(ref.frames, b)
		ref.info = info
	}
	return ref
}

// pydicomBatch runs the pydicom reference once over every native corpus
// file and remembers where each file's frames went.
type pydicomBatch struct {
	once    sync.Once
	dir     string
	results map[string]pydicomResult
	err     error
}

type pydicomResult struct {
	Frames int    `json:"frames"`
	Error  string `json:"error"`
	File   string `json:"file"`
	dir    string
}

var pydicomRef pydicomBatch

// run decodes files (absolute paths) with pydicom into a temporary
// directory that lives until the test binary exits.
func (b *pydicomBatch) run(t *testing.T, files []string) {
	b.once.Do(func() {
		py := testenv.PythonWithPydicom(t)
		script := filepath.Join(testenv.RepoRoot(t), "codec", "all", "testdata", "pydicom_frames.py")
		b.dir, b.err = os.MkdirTemp("", "lightbox-pydicom-ref-")
		if b.err != nil {
			return
		}
		var in bytes.Buffer
		dirs := map[string]string{}
		for i, f := range files {
			d := filepath.Join(b.dir, fmt.Sprint(i))
			if b.err = os.Mkdir(d, 0o755); b.err != nil {
				return
			}
			dirs[f] = d
			fmt.Fprintf(&in, "%s\t%s\n", f, d)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, py, script)
		cmd.Stdin = &in
		out, err := cmd.Output()
		if err != nil {
			b.err = fmt.Errorf("pydicom reference: %w", err)
			return
		}
		b.results = map[string]pydicomResult{}
		for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
			var r pydicomResult
			if err := json.Unmarshal(line, &r); err != nil {
				b.err = fmt.Errorf("pydicom reference output %q: %w", line, err)
				return
			}
			r.dir = dirs[r.File]
			b.results[r.File] = r
		}
	})
}

func pydicomFrames(t *testing.T, path string) reference {
	t.Helper()
	if pydicomRef.err != nil {
		t.Fatal(pydicomRef.err)
	}
	r, ok := pydicomRef.results[path]
	if !ok {
		t.Fatalf("pydicom reference has no result for %s", path)
	}
	if r.Error != "" {
		t.Fatalf("pydicom reference: %s", r.Error)
	}
	ref := reference{tool: "pydicom", unpacked: true}
	for i := 0; i < r.Frames; i++ {
		b, err := os.ReadFile(filepath.Join(r.dir, fmt.Sprintf("frame-%d.raw", i)))
		if err != nil {
			t.Fatal(err)
		}
		ref.frames = append(ref.frames, b)
	}
	return ref
}

// codestreamFrames decodes each raw frame with a command-line decoder of
// bare codestreams into PNM (8-bit samples) or PGX.
func codestreamFrames(t *testing.T, tool, dir string, p *codec.Pixels) reference {
	t.Helper()
	bin := testenv.RequireTool(t, tool)
	ref := reference{tool: tool}
	ext := map[string]string{"opj_decompress": ".j2c", "djxl": ".jxl"}[tool]
	for i := 0; i < p.NumFrames(); i++ {
		raw, err := p.RawFrame(i)
		if err != nil {
			t.Fatal(err)
		}
		in := filepath.Join(dir, fmt.Sprintf("f%d%s", i, ext))
		if err := os.WriteFile(in, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		outExt := ".pgm"
		if p.Info.SamplesPerPixel == 3 {
			outExt = ".ppm"
		}
		out := filepath.Join(dir, fmt.Sprintf("f%d%s", i, outExt))
		if tool == "opj_decompress" {
			runTool(t, bin, "-quiet", "-i", in, "-o", out)
		} else {
			runTool(t, bin, in, out)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		samples, err := parsePNM(b)
		if err != nil {
			t.Fatalf("%s output: %v", tool, err)
		}
		if tool == "opj_decompress" && p.Info.Signed() && p.Info.BitsAllocated == 16 {
			// PNM has no signed samples: opj_decompress adds 2^(prec-1).
			off := uint16(1) << (p.Info.BitsStored - 1)
			for k := 0; k+1 < len(samples); k += 2 {
				v := uint16(samples[k]) | uint16(samples[k+1])<<8 - off
				samples[k], samples[k+1] = byte(v), byte(v>>8)
			}
		}
		ref.frames = append(ref.frames, samples)
	}
	return ref
}

// parsePNM returns the samples of a binary PGM/PPM, 16-bit ones converted
// to little endian.
func parsePNM(b []byte) ([]byte, error) {
	var magic string
	var w, h, maxv int
	fields := 0
	i := 0
	for fields < 4 && i < len(b) {
		for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
			i++
		}
		if i < len(b) && b[i] == '#' {
			for i < len(b) && b[i] != '\n' {
				i++
			}
			continue
		}
		j := i
		for j < len(b) && !(b[j] == ' ' || b[j] == '\n' || b[j] == '\r' || b[j] == '\t') {
			j++
		}
		tok := string(b[i:j])
		switch fields {
		case 0:
			magic = tok
		case 1:
			fmt.Sscan(tok, &w)
		case 2:
			fmt.Sscan(tok, &h)
		case 3:
			fmt.Sscan(tok, &maxv)
		}
		fields++
		i = j
	}
	i++ // the single whitespace after maxval
	if magic != "P5" && magic != "P6" || i > len(b) {
		return nil, fmt.Errorf("not a binary PNM (%q)", magic)
	}
	data := b[i:]
	if maxv > 255 {
		out := make([]byte, len(data))
		for k := 0; k+1 < len(data); k += 2 {
			out[k], out[k+1] = data[k+1], data[k]
		}
		return out, nil
	}
	return data, nil
}

// zlibFrames inflates each raw frame with Python's zlib (the C library).
func zlibFrames(t *testing.T, dir string, p *codec.Pixels) reference {
	t.Helper()
	py := testenv.PythonWithPydicom(t)
	ref := reference{tool: "python-zlib"}
	for i := 0; i < p.NumFrames(); i++ {
		raw, err := p.RawFrame(i)
		if err != nil {
			t.Fatal(err)
		}
		in := filepath.Join(dir, fmt.Sprintf("f%d.bin", i))
		out := in + ".raw"
		if err := os.WriteFile(in, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		runTool(t, py, "-c", "import sys,zlib; open(sys.argv[2],'wb').write(zlib.decompressobj(-15).decompress(open(sys.argv[1],'rb').read()))", in, out)
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		ref.frames = append(ref.frames, b)
	}
	return ref
}

// unpackBits expands bit-packed samples to one byte each.
func unpackBits(b []byte, n int64) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = b[i/8] >> (i % 8) & 1
	}
	return out
}

// maxDiff returns the largest absolute sample difference between two
// little-endian frames of bytesPerSample-byte samples, or -1 when their
// lengths differ.
func maxDiff(a, b []byte, bytesPerSample int, signed bool) int64 {
	if len(a) != len(b) {
		return -1
	}
	if bytes.Equal(a, b) {
		return 0
	}
	var worst int64
	val := func(p []byte, i int) int64 {
		switch bytesPerSample {
		case 2:
			v := uint16(p[i]) | uint16(p[i+1])<<8
			if signed {
				return int64(int16(v))
			}
			return int64(v)
		case 4:
			v := uint32(p[i]) | uint32(p[i+1])<<8 | uint32(p[i+2])<<16 | uint32(p[i+3])<<24
			if signed {
				return int64(int32(v))
			}
			return int64(v)
		}
		return int64(p[i])
	}
	bps := max(bytesPerSample, 1)
	for i := 0; i+bps <= len(a); i += bps {
		d := val(a, i) - val(b, i)
		if d < 0 {
			d = -d
		}
		worst = max(worst, d)
	}
	return worst
}

// psnr returns the peak signal-to-noise ratio of b against a in dB, over
// 8-bit samples (the only lossy encoder input).
func psnr(a, b [][]byte, info codec.PixelInfo) float64 {
	var se float64
	var n int
	for i := range a {
		for k := range a[i] {
			d := float64(a[i][k]) - float64(b[i][k])
			se += d * d
			n++
		}
	}
	if se == 0 {
		return 99
	}
	peak := float64(uint64(1)<<info.BitsStored - 1)
	return 10 * math.Log10(peak*peak/(se/float64(n)))
}
