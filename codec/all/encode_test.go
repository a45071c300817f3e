package all

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// TestNewEncodersRegistered: codec.LookupEncoder finds the encoders added
// for issue 7, with the right lossy flag and method.
func TestNewEncodersRegistered(t *testing.T) {
	for _, c := range []struct {
		ts     string
		lossy  bool
		method string
	}{
		{dicom.JPEGLosslessSV1, false, ""},
		{dicom.JPEGExtended12Bit, true, "ISO_10918_1"},
		{dicom.JPEGXLLossless, false, ""},
		{dicom.JPEGXL, true, "ISO_18181_1"},
	} {
		enc, ok := codec.LookupEncoder(c.ts)
		if !ok {
			t.Errorf("no encoder registered for %s", c.ts)
			continue
		}
		if enc.Lossy() != c.lossy || enc.Method() != c.method {
			t.Errorf("%s: Lossy %v Method %q, want %v %q", c.ts, enc.Lossy(), enc.Method(), c.lossy, c.method)
		}
	}
}

// sv1Sources: signed and unsigned, 8, 10, 12 and 16 bits stored, grey and
// colour (8 and 16 bit), palette, multi-frame, big endian.
var sv1Sources = []string{
	"transfer-syntax/ge-ct-evrle.dcm",                // CT signed 16
	"transfer-syntax/ge-ct-evrbe.dcm",                // big endian
	"cr-dx/fuji-cr-mono1-chest.dcm",                  // CR MONOCHROME1 10-bit
	"mr/siemens-mr-im631.dcm",                        // MR 12-bit unsigned
	"sc/sc-16bit-signed.dcm",                         // signed 16
	"pet-nm/siemens-pt-kanoun.dcm",                   // PT unsigned 16
	"multiframe/philips-mr-16f.dcm",                  // 8-bit, 16 frames
	"us/us-rgb-esopecho.dcm",                         // RGB 8
	"sc/sc-rgb16-2frame.dcm",                         // RGB 16, 2 frames
	"sc/testpattern-palette.dcm",                     // PALETTE COLOR
	"transfer-syntax/ge-ct-rle.dcm",                  // compressed source
	"multiframe/enhanced-mr-10f.dcm",                 // enhanced multi-frame
	"transfer-syntax/ge-ct-jpeg-lossless-sv1-70.dcm", // .70 to .70 (copy)
}

// TestJPEGLosslessSV1RoundTrip encodes corpus images as JPEG Lossless SV1:
// Lightbox's decoder and DCMTK's dcmdjpeg must both give back the source's
// pixels bit for bit (roundTrip, tolerance 0), and dcmdump must parse the
// file.
func TestJPEGLosslessSV1RoundTrip(t *testing.T) {
	root := testenv.CorpusDir(t)
	for i, rel := range sv1Sources {
		if raceEnabled && i%3 != 0 {
			continue
		}
		t.Run(rel, func(t *testing.T) {
			t.Parallel()
			roundTrip(t, filepath.Join(root, rel), target{ts: dicom.JPEGLosslessSV1})
		})
	}
}

// extendedSources: unsigned grey of 8, 10 and 12 bits, and 8-bit RGB.
var extendedSources = []lossySource{
	{"cr-dx/fuji-cr-mono1-chest.dcm", 40},
	{"mr/siemens-mr-im631.dcm", 40},
	{"multiframe/philips-mr-16f.dcm", 35},
	{"us/us-rgb-esopecho.dcm", 30},
}

type lossySource struct {
	rel     string
	minPSNR float64
}

// TestJPEGExtendedRoundTrip encodes unsigned images of up to 12 bits as
// JPEG Extended: the decoded pixels (Lightbox and dcmdjpeg, which must
// agree) are within a PSNR bound of the source, the result is marked
// lossy, and signed or deeper sources are refused with ErrUnsupported.
func TestJPEGExtendedRoundTrip(t *testing.T) {
	encodeRoundTrips(t, dicom.JPEGExtended12Bit, extendedSources, 1)
	refuses(t, dicom.JPEGExtended12Bit, "transfer-syntax/ge-ct-evrle.dcm", "pet-nm/siemens-pt-kanoun.dcm")
}

// jxlSources: unsigned grey of 8, 10, 12 and 16 bits, palette, RGB 8 and
// 16 bit, multi-frame.
var jxlSources = []string{
	"cr-dx/fuji-cr-mono1-chest.dcm",
	"mr/siemens-mr-im631.dcm",
	"pet-nm/siemens-pt-kanoun.dcm",
	"multiframe/philips-mr-16f.dcm",
	"sc/testpattern-palette.dcm",
	"us/us-rgb-esopecho.dcm",
	"sc/sc-rgb16-2frame.dcm",
	"us/ge-us1-rle.dcm", // compressed source (RLE, RGB)
}

// TestJPEGXLLosslessRoundTrip encodes unsigned images as JPEG XL
// Lossless: Lightbox's decoder and libjxl's djxl must both give back the
// source's pixels bit for bit, and signed images are refused.
func TestJPEGXLLosslessRoundTrip(t *testing.T) {
	var sources []lossySource
	for i, rel := range jxlSources {
		if raceEnabled && i%3 != 0 {
			continue
		}
		sources = append(sources, lossySource{rel: rel})
	}
	encodeRoundTrips(t, dicom.JPEGXLLossless, sources, 0)
	refuses(t, dicom.JPEGXLLossless, "transfer-syntax/ge-ct-evrle.dcm", "sc/sc-16bit-signed.dcm")
}

// djxlFrames decodes each frame's codestream with libjxl's djxl. djxl
// 0.7 writes samples of fewer than 16 bits at the 16-bit scale under a
// smaller PNM maxval, so it is asked for 16 bits and the samples are
// scaled to Bits Stored here.
func djxlFrames(t *testing.T, p *codec.Pixels) [][]byte {
	t.Helper()
	bin := testenv.RequireTool(t, "djxl")
	dir := t.TempDir()
	var frames [][]byte
	for i := 0; i < p.NumFrames(); i++ {
		raw, err := p.RawFrame(i)
		if err != nil {
			t.Fatal(err)
		}
		in := filepath.Join(dir, fmt.Sprintf("f%d.jxl", i))
		if err := os.WriteFile(in, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, fmt.Sprintf("f%d.pgm", i))
		if p.Info.SamplesPerPixel == 3 {
			out = filepath.Join(dir, fmt.Sprintf("f%d.ppm", i))
		}
		args := []string{in, out}
		if p.Info.BitsAllocated == 16 {
			args = append(args, "--bits_per_sample=16")
		}
		runTool(t, bin, args...)
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		samples, err := parsePNM(b)
		if err != nil {
			t.Fatalf("djxl output: %v", err)
		}
		if p.Info.BitsAllocated == 16 && p.Info.BitsStored < 16 {
			maxv := uint32(1)<<p.Info.BitsStored - 1
			for k := 0; k+1 < len(samples); k += 2 {
				v := uint32(samples[k]) | uint32(samples[k+1])<<8
				v = (v*maxv + 32767) / 65535
				samples[k], samples[k+1] = byte(v), byte(v>>8)
			}
		}
		frames = append(frames, samples)
	}
	return frames
}

// TestJPEGXLLossyRoundTrip encodes JPEG XL (lossy, quality 90): within a
// PSNR bound, marked lossy, the same pixels from djxl.
func TestJPEGXLLossyRoundTrip(t *testing.T) {
	encodeRoundTrips(t, dicom.JPEGXL, []lossySource{
		{"mr/siemens-mr-im631.dcm", 40},
		{"pet-nm/siemens-pt-kanoun.dcm", 40},
		{"us/us-rgb-esopecho.dcm", 30},
	}, 1)
	refuses(t, dicom.JPEGXL, "transfer-syntax/ge-ct-evrle.dcm")
}

// refuses checks that encoding the files to ts fails with ErrUnsupported.
func refuses(t *testing.T, ts string, rels ...string) {
	root := testenv.CorpusDir(t)
	for _, rel := range rels {
		f, err := dicom.ReadFile(filepath.Join(root, rel), dicom.ReadOptions{LoadBulk: true})
		if err != nil {
			t.Fatal(err)
		}
		_, err = codec.TranscodeWith(f.Dataset, f.TransferSyntax, nil, ts, codec.TranscodeOptions{AllowLossy: true})
		if !errors.Is(err, codec.ErrUnsupported) {
			t.Errorf("%s to %s: %v, want ErrUnsupported", rel, ts, err)
		}
	}
}

// encodeRoundTrips encodes each source to ts and checks, for a lossy ts,
// the PSNR against the source and the lossy marking, for a lossless one
// that the decoded pixels equal the source's; then dcmdump, and that the
// reference decoder (dcmdjpeg, djxl) agrees with Lightbox's within
// refTol.
func encodeRoundTrips(t *testing.T, ts string, sources []lossySource, refTol int64) {
	enc, ok := codec.LookupEncoder(ts)
	if !ok {
		t.Fatalf("no encoder for %s", ts)
	}
	root := testenv.CorpusDir(t)
	for _, c := range sources {
		t.Run(c.rel, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(root, c.rel)
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
			out, err := codec.TranscodeWith(f.Dataset, f.TransferSyntax, src, ts, codec.TranscodeOptions{AllowLossy: true})
			if err != nil {
				t.Fatalf("transcode: %v", err)
			}
			if v := out.String(codec.TagLossyImageCompression); enc.Lossy() && v != "01" {
				t.Errorf("Lossy Image Compression %q, want 01", v)
			}
			var buf bytes.Buffer
			if err := dicom.WriteFile(&buf, out, ts, dicom.WriteOptions{Bulk: src}); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "out.dcm")
			if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			validate(t, file)
			g, err := dicom.Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()), dicom.ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got, gotInfo := decodeAll(t, g.Dataset, g.TransferSyntax, bytes.NewReader(buf.Bytes()))
			if enc.Lossy() {
				p := samplePSNR(want, got, wantInfo, gotInfo)
				t.Logf("%d -> %d bytes, PSNR %.1f dB (%d-bit source)", len(want)*len(want[0]), buf.Len(), p, wantInfo.BitsStored)
				if p < c.minPSNR {
					t.Errorf("PSNR %.1f dB, want >= %.0f", p, c.minPSNR)
				}
			} else if d := compareFrames(t, want, got, wantInfo, gotInfo); d != 0 {
				t.Errorf("lossless round trip: max sample difference %d", d)
			}
			rf, _ := os.Open(file)
			defer rf.Close()
			px, err := codec.Open(g.Dataset, g.TransferSyntax, rf, codec.Options{})
			if err != nil {
				t.Fatal(err)
			}
			tool, refFrames, refInfo := "djxl", [][]byte(nil), gotInfo
			if strings.HasPrefix(ts, "1.2.840.10008.1.2.4.11") {
				refFrames = djxlFrames(t, px)
			} else {
				ref := referenceDecode(t, file, ts, px)
				tool, refFrames = ref.tool, ref.frames
				if ref.info.PhotometricInterpretation != "" {
					refInfo = ref.info
				}
			}
			if d := compareFrames(t, got, refFrames, gotInfo, refInfo); d > refTol {
				t.Errorf("%s decodes Lightbox's %s differently: max difference %d", tool, ts, d)
			}
		})
	}
}

// samplePSNR is the PSNR of b against a over samples of the source's Bits
// Stored range (little endian, 1 or 2 bytes; colour decoded as RGB on both
// sides or YBR on both).
func samplePSNR(a, b [][]byte, ai, bi codec.PixelInfo) float64 {
	bps := max(ai.BitsAllocated/8, 1)
	var se float64
	var n int
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return 0
		}
		for k := 0; k+bps <= len(a[i]); k += bps {
			x, y := float64(a[i][k]), float64(b[i][k])
			if bps == 2 {
				x += 256 * float64(a[i][k+1])
				y += 256 * float64(b[i][k+1])
			}
			se += (x - y) * (x - y)
			n++
		}
	}
	if se == 0 {
		return 99
	}
	peak := float64(uint64(1)<<ai.BitsStored - 1)
	return 10 * math.Log10(peak*peak/(se/float64(n)))
}

// TestNewEncodersValidate: JPEG Lossless SV1 and JPEG Extended output is
// a valid instance for dciodvfy: no more errors than the source written as
// Explicit VR Little Endian and none about pixel or compression
// attributes. (Not JPEG XL: the installed dciodvfy does not know its
// transfer syntax UIDs and reads the encapsulated Pixel Data as native;
// dcmdump checks those files in encodeRoundTrips.)
func TestNewEncodersValidate(t *testing.T) {
	testenv.RequireTool(t, "dciodvfy")
	root := testenv.CorpusDir(t)
	for _, c := range []struct {
		rel string
		tg  target
	}{
		{"transfer-syntax/ge-ct-evrle.dcm", target{ts: dicom.JPEGLosslessSV1}},
		{"multiframe/enhanced-mr-10f.dcm", target{ts: dicom.JPEGLosslessSV1}},
		{"us/us-rgb-esopecho.dcm", target{ts: dicom.JPEGLosslessSV1}},
		{"mr/siemens-mr-im631.dcm", target{ts: dicom.JPEGExtended12Bit, lossy: true}},
		{"multiframe/enhanced-mr-10f.dcm", target{ts: dicom.JPEGExtended12Bit, lossy: true}},
	} {
		t.Run(c.rel+"/"+c.tg.ts, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(root, c.rel)
			base := transcodeToFile(t, path, target{ts: dicom.ExplicitVRLittleEndian})
			baseErrs := iodErrors(t, base)
			file := transcodeToFile(t, path, c.tg)
			if file == "" {
				t.Fatal("encoder refused the source")
			}
			validate(t, file)
			errs := iodErrors(t, file)
			if c.tg.lossy {
				errs = withoutOriginalOnly(errs)
			}
			if len(errs) > len(baseErrs) {
				t.Errorf("dciodvfy: %d errors, %d for the source as Explicit VR Little Endian:\n%s",
					len(errs), len(baseErrs), strings.Join(errs, "\n"))
			}
			for _, e := range errs {
				if pixelAttr.MatchString(e) {
					t.Errorf("dciodvfy on the pixel attributes: %s", e)
				}
			}
		})
	}
}
