package all

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/codec/jpeg"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// lossyTolerance is the largest sample difference accepted against the
// reference decoder. Only the DCT-based JPEG processes may differ: their
// inverse DCT and colour upsampling are implementation-defined (libjpeg-
// turbo here, DCMTK's IJG 6b there). Every other syntax, lossy or not, is
// decoded by a deterministic algorithm or by the same library as the
// reference and must match bit for bit.
var lossyTolerance = map[string]int64{
	dicom.JPEGBaseline8Bit:   2,
	dicom.JPEGExtended12Bit:  2,
	"1.2.840.10008.1.2.4.53": 2,
	"1.2.840.10008.1.2.4.55": 2,
}

// expectedFailures are corpus files whose pixel data must be refused, with
// the error they must be refused with.
var expectedFailures = map[string]error{
	"edge-cases/huge-rows-cols-46341.dcm":            codec.ErrTooLarge,
	"edge-cases/huge-rows-cols-65535.dcm":            codec.ErrTooLarge,
	"edge-cases/missing-rows.dcm":                    codec.ErrInvalidPixelInfo,
	"malformed/upstream-3gb-pixeldata-truncated.dcm": codec.ErrInvalidPixelInfo, // bits stored 16 > bits allocated 8
	"malformed/upstream-mr-truncated-pixeldata.dcm":  codec.ErrTruncated,
	"malformed/gen-trunc-in-native-pixeldata.dcm":    codec.ErrTruncated,
	// Not images: a two-byte Pixel Data and no Rows/Columns.
	"edge-cases/meta-missing-transfer-syntax.dcm": codec.ErrInvalidPixelInfo,
	"edge-cases/nested-private-sequence.dcm":      codec.ErrInvalidPixelInfo,
	"malformed/gen-trunc-in-jpeg-fragment.dcm":    codec.ErrCorrupt,
}

// corpusFiles lists the .dcm files of the corpus, relative to it.
func corpusFiles(t *testing.T) (string, []string) {
	root := testenv.CorpusDir(t)
	var files []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".dcm") {
			rel, _ := filepath.Rel(root, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	return root, files
}

// TestCorpusAgainstReference decodes every frame of every corpus image and
// compares it with the reference decoder for its transfer syntax.
func TestCorpusAgainstReference(t *testing.T) {
	root, files := corpusFiles(t)
	var native []string
	for _, rel := range files {
		if f, err := dicom.ReadFile(filepath.Join(root, rel), dicom.ReadOptions{}); f != nil && f.Dataset != nil && refTool(f.TransferSyntax) == "pydicom" {
			_ = err
			native = append(native, filepath.Join(root, rel))
		}
	}
	pydicomRef.run(t, native)
	t.Cleanup(func() { os.RemoveAll(pydicomRef.dir) })
	for i, rel := range files {
		if raceEnabled && i%4 != 0 {
			continue // a sample under the race detector; scripts/test.sh runs all without it
		}
		t.Run(rel, func(t *testing.T) {
			t.Parallel()
			checkFile(t, filepath.Join(root, rel), rel)
		})
	}
}

func checkFile(t *testing.T, path, rel string) {
	f, readErr := dicom.ReadFile(path, dicom.ReadOptions{})
	if f == nil || f.Dataset == nil || f.Dataset.Get(codec.TagPixelData) == nil && f.Dataset.Get(codec.TagFloatPixelData) == nil {
		return // no pixel data: nothing to decode
	}
	src, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	want, mustFail := expectedFailures[rel]
	var frames [][]byte
	var info codec.PixelInfo
	p, err := codec.Open(f.Dataset, f.TransferSyntax, src, codec.Options{})
	if err == nil {
		for i := 0; i < p.NumFrames() && err == nil; i++ {
			var b []byte
			b, info, err = p.Frame(i)
			frames = append(frames, b)
		}
	}
	switch {
	case mustFail && err == nil:
		t.Fatalf("decoded, want error %v", want)
	case mustFail && !errors.Is(err, want):
		t.Fatalf("error %v, want %v", err, want)
	case mustFail:
		t.Logf("refused as expected: %v", err)
		return
	case err != nil:
		t.Fatalf("decode (%s, read error %v): %v", f.TransferSyntax, readErr, err)
	}

	ref := referenceDecode(t, path, f.TransferSyntax, p)
	if len(ref.frames) != len(frames) {
		t.Fatalf("%d frames, %s gave %d", len(frames), ref.tool, len(ref.frames))
	}
	if ref.info.PhotometricInterpretation != "" && ref.info.PhotometricInterpretation != info.PhotometricInterpretation {
		t.Errorf("photometric %s, %s says %s", info.PhotometricInterpretation, ref.tool, ref.info.PhotometricInterpretation)
	}
	tol := lossyTolerance[f.TransferSyntax]
	var worst int64
	for i, got := range frames {
		exp := ref.frames[i]
		if info.BitsAllocated == 1 && ref.unpacked {
			got = unpackBits(got, info.Pixels()*int64(info.SamplesPerPixel))
		}
		if ref.tool == "dcmdjpeg" {
			got, exp = packSmallTile(t, p, i, info, got, exp)
		}
		if info.BitsStored < info.BitsAllocated && info.BitsAllocated > 1 && refTool(f.TransferSyntax) != "pydicom" {
			// Compressed streams carry Bits Stored bits; what decoders put
			// above them differs (Lightbox sign-extends signed samples,
			// DCMTK leaves zeros): compare the stored bits.
			got, exp = maskStored(got, info), maskStored(exp, info)
		}
		d := maxDiff(got, exp, info.BytesPerSample(), info.Signed())
		if d < 0 {
			t.Fatalf("frame %d: %d bytes, %s gave %d", i, len(got), ref.tool, len(exp))
		}
		worst = max(worst, d)
	}
	if worst > tol {
		t.Errorf("%s: max sample difference %d against %s, tolerance %d", f.TransferSyntax, worst, ref.tool, tol)
	} else {
		t.Logf("%s: %d frames, max difference %d against %s", f.TransferSyntax, len(frames), worst, ref.tool)
	}
}

// packSmallTile handles JPEG streams smaller than the frame (edge tiles of
// whole-slide images written unpadded). Lightbox places such a stream at
// the top left of the frame; DCMTK writes its rows back to back from the
// start of the frame. Both are compared in DCMTK's layout, over the
// stream's own pixels.
func packSmallTile(t *testing.T, p *codec.Pixels, i int, info codec.PixelInfo, got, exp []byte) ([]byte, []byte) {
	raw, err := p.RawFrame(i)
	if err != nil {
		t.Fatal(err)
	}
	h, err := jpeg.ParseHeader(raw)
	if err != nil || h.Width == info.Columns && h.Height == info.Rows {
		return got, exp
	}
	px := info.SamplesPerPixel * info.BytesPerSample()
	rowIn, rowOut := h.Width*px, info.Columns*px
	packed := make([]byte, 0, h.Height*rowIn)
	for y := 0; y < h.Height; y++ {
		packed = append(packed, got[y*rowOut:y*rowOut+rowIn]...)
	}
	t.Logf("frame %d: %dx%d stream in a %dx%d frame, compared in DCMTK's packed layout", i, h.Width, h.Height, info.Columns, info.Rows)
	return packed, exp[:len(packed)]
}

// maskStored returns a copy of a frame with the bits above Bits Stored
// cleared, or for signed samples set to copies of the sign bit.
func maskStored(b []byte, info codec.PixelInfo) []byte {
	out := make([]byte, len(b))
	bps := info.BytesPerSample()
	m := uint64(1)<<info.BitsStored - 1
	for i := 0; i+bps <= len(b); i += bps {
		var v uint64
		for k := 0; k < bps; k++ {
			v |= uint64(b[i+k]) << (8 * k)
		}
		v &= m
		if info.Signed() && v>>(info.BitsStored-1)&1 == 1 {
			v |= ^m
		}
		for k := 0; k < bps; k++ {
			out[i+k] = byte(v >> (8 * k))
		}
	}
	return out
}
