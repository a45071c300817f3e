package dicomweb

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/codec"
	_ "github.com/lightbox-pacs/lightbox/codec/all" // every codec, for CodecTranscoder
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// transcodeTargetSources: native signed 16-bit CT, JPEG-LS MR, RLE RGB
// ultrasound, native 8-bit RGB, JPEG 2000 MR, and a native multi-frame
// enhanced MR.
var transcodeTargetSources = []string{
	"transfer-syntax/ge-ct-evrle.dcm",
	"mr/philips-mr4-jpegls-lossless.dcm",
	"us/ge-us1-rle.dcm",
	"sc/sc-rgb-evrle.dcm",
	"mr/philips-mr-j2k-lossless.dcm",
	"multiframe/enhanced-mr-10f.dcm",
}

// transcodeTargetSyntaxes: every syntax a registered codec encodes, with
// the frame media type and the largest sample difference allowed.
var transcodeTargetSyntaxes = []struct {
	ts, media string
	lossy     bool
	tol       int
}{
	{dicom.RLELossless, "image/x-dicom-rle", false, 0},
	{dicom.JPEGLSLossless, "image/jls", false, 0},
	{dicom.JPEG2000Lossless, "image/jp2", false, 0},
	{dicom.DeflatedImageFrameCompression, "application/octet-stream", false, 0},
	{dicom.JPEGLSNearLossless, "image/jls", true, 2},
	{dicom.JPEGBaseline8Bit, "image/jpeg", true, -1}, // PSNR instead
}

// sourcePixels decodes every frame of a corpus file with the codecs.
func sourcePixels(t *testing.T, f *dicom.File, data []byte) ([][]byte, codec.PixelInfo) {
	t.Helper()
	px, err := codec.Open(f.Dataset, f.TransferSyntax, bytes.NewReader(data), codec.Options{})
	if err != nil {
		t.Fatalf("decode source: %v", err)
	}
	var frames [][]byte
	var info codec.PixelInfo
	for i := 0; i < px.NumFrames(); i++ {
		b, fi, err := px.Frame(i)
		if err != nil {
			t.Fatalf("decode source frame %d: %v", i+1, err)
		}
		frames, info = append(frames, b), fi
	}
	return frames, info
}

// encodable reports whether the target's encoder takes the source's first
// frame: the expectation of a 200 versus a 406.
func encodable(t *testing.T, ts string, frame []byte, info codec.PixelInfo) bool {
	enc, ok := codec.LookupEncoder(ts)
	if !ok {
		t.Fatalf("no encoder for %s", ts)
	}
	_, _, err := enc.Encode(frame, info, codec.EncodeOptions{})
	if err != nil && !errors.Is(err, codec.ErrUnsupported) {
		t.Fatalf("encode %s: %v", ts, err)
	}
	return err == nil
}

// maxDiff compares decoded frames sample by sample, on the Bits Stored
// bits; -1 when the layouts differ.
func maxDiff(want, got []byte, info codec.PixelInfo) int {
	if len(want) != len(got) {
		return -1
	}
	if info.BitsAllocated != 16 {
		worst := 0
		for i := range want {
			worst = max(worst, absInt(int(want[i])-int(got[i])))
		}
		return worst
	}
	mask := uint16(1)<<info.BitsStored - 1
	if info.BitsStored >= 16 {
		mask = 0xFFFF
	}
	worst := 0
	for i := 0; i+1 < len(want); i += 2 {
		a := uint16(want[i]) | uint16(want[i+1])<<8
		b := uint16(got[i]) | uint16(got[i+1])<<8
		worst = max(worst, absInt(int(a&mask)-int(b&mask)))
	}
	return worst
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func psnr8(want, got []byte) float64 {
	var se float64
	for i := range want {
		d := float64(want[i]) - float64(got[i])
		se += d * d
	}
	if se == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(se/float64(len(want))))
}

// TestTranscodeTargets retrieves corpus instances and frames converted to
// every syntax a codec encodes, decodes what came back with the codecs and
// compares it with the source's pixels: bit for bit for lossless syntaxes,
// within the encoder's bound for lossy ones. A target the pixels cannot
// take (JPEG baseline of 16-bit samples) must be 406 with a message.
// Lossy whole instances must be new derived instances.
//
// "streamed" repeats the lossless targets with every instance converted
// frame by frame (CodecTranscoder.StreamAbove 1): an empty Basic Offset
// Table and one fragment per frame.
func TestTranscodeTargets(t *testing.T) {
	for _, mode := range []struct {
		name   string
		stream int64
	}{{"whole", 0}, {"streamed", 1}} {
		t.Run(mode.name, func(t *testing.T) { transcodeTargets(t, mode.stream) })
	}
}

func transcodeTargets(t *testing.T, stream int64) {
	fx := newFixture(t, fixtureOpts{opts: Options{Transcoder: CodecTranscoder{StreamAbove: stream}}}, transcodeTargetSources...)
	for _, rel := range transcodeTargetSources {
		var cf corpusFile
		for _, f := range fx.files {
			if f.path == rel {
				cf = f
			}
		}
		if cf.f == nil {
			t.Fatalf("%s not loaded", rel)
		}
		want, info := sourcePixels(t, cf.f, cf.data)
		for _, tg := range transcodeTargetSyntaxes {
			if stream > 0 && tg.lossy {
				continue
			}
			t.Run(rel+"/"+tg.ts, func(t *testing.T) {
				accept := `Accept: multipart/related; type="application/dicom"; transfer-syntax=` + tg.ts
				resp := fx.get(instPath(cf), accept)
				if !encodable(t, tg.ts, want[0], info) {
					if b := body(t, resp, http.StatusNotAcceptable); !bytes.Contains(b, []byte("cannot be sent")) {
						t.Errorf("406 without an explanation: %s", b)
					}
					return
				}
				parts := readParts(t, resp)
				if len(parts) != 1 {
					t.Fatalf("%d parts", len(parts))
				}
				if ct := parts[0].header.Get("Content-Type"); ct != "application/dicom; transfer-syntax="+tg.ts {
					t.Errorf("part Content-Type %q", ct)
				}
				got := checkInstance(t, parts[0].data, tg.ts, cf, tg.lossy)
				compareFrames(t, want, got, info, tg.tol)
				if tg.ts != cf.f.TransferSyntax { // else the stored bytes
					checkOffsetTable(t, parts[0].data, len(want), stream > 0)
				}

				// Frames: the first and the last, in the frame media type.
				list := "1"
				idx := []int{0}
				if len(want) > 1 {
					list, idx = "1,"+strconv.Itoa(len(want)), []int{0, len(want) - 1}
				}
				parts = readParts(t, fx.get(instPath(cf)+"/frames/"+list,
					`Accept: multipart/related; type="`+tg.media+`"; transfer-syntax=`+tg.ts))
				if len(parts) != len(idx) {
					t.Fatalf("%d frame parts, want %d", len(parts), len(idx))
				}
				for k, p := range parts {
					if ct := p.header.Get("Content-Type"); ct != tg.media+"; transfer-syntax="+tg.ts {
						t.Errorf("frame Content-Type %q", ct)
					}
					if tg.ts == dicom.JPEGBaseline8Bit {
						jpegFrame(t, p.data)
						continue
					}
					c, _ := codec.Lookup(tg.ts)
					fi := info
					fi.NumberOfFrames = 1
					dst := make([]byte, fi.FrameSize())
					if _, err := c.Decode(dst, p.data, fi); err != nil {
						t.Fatalf("decode frame part %d: %v", k+1, err)
					}
					compareFrames(t, want[idx[k]:idx[k]+1], [][]byte{dst}, info, tg.tol)
				}
			})
		}
	}
}

// checkOffsetTable checks the encapsulation of a transcoded instance: one
// fragment per frame, behind a Basic Offset Table that is empty when the
// instance was streamed and has one offset per frame otherwise.
func checkOffsetTable(t *testing.T, data []byte, frames int, streamed bool) {
	t.Helper()
	f, err := dicom.Read(bytes.NewReader(data), int64(len(data)), dicom.ReadOptions{LoadBulk: true})
	if err != nil {
		t.Fatal(err)
	}
	px := f.Dataset.Get(dicom.TagPixelData)
	if px == nil || !px.IsEncapsulated() {
		return // a native target
	}
	if n := len(px.Fragments) - 1; n != frames {
		t.Errorf("%d fragments for %d frames", n, frames)
	}
	want := 4 * frames
	if streamed {
		want = 0
	}
	if bot := px.Fragments[0].Length; int(bot) != want {
		t.Errorf("Basic Offset Table of %d bytes, want %d (streamed %v)", bot, want, streamed)
	}
}

// checkInstance parses a transcoded Part 10 instance, checks its syntax and
// identity, and returns its decoded frames.
func checkInstance(t *testing.T, data []byte, ts string, cf corpusFile, lossy bool) [][]byte {
	t.Helper()
	f, err := dicom.Read(bytes.NewReader(data), int64(len(data)), dicom.ReadOptions{})
	if err != nil {
		t.Fatalf("transcoded instance does not parse: %v", err)
	}
	if f.TransferSyntax != ts {
		t.Errorf("transcoded instance says %s", f.TransferSyntax)
	}
	ds, src := f.Dataset, cf.f.Dataset
	uid, srcUID := ds.String(dicom.TagSOPInstanceUID), src.String(dicom.TagSOPInstanceUID)
	if meta := f.Meta.String(dicom.Tag(0x00020003)); meta != uid {
		t.Errorf("Media Storage SOP Instance UID %q, data set says %q", meta, uid)
	}
	if !lossy {
		if uid != srcUID {
			t.Errorf("lossless transcode changed the SOP Instance UID to %q", uid)
		}
		if ds.String(dicom.Tag(0x00282110)) == "01" && src.String(dicom.Tag(0x00282110)) != "01" {
			t.Errorf("lossless transcode marked lossy")
		}
	} else {
		if uid == srcUID || !strings.HasPrefix(uid, dicom.ImplementationClassUID+".") {
			t.Errorf("lossy transcode: SOP Instance UID %q (source %q), want a new one under %s", uid, srcUID, dicom.ImplementationClassUID)
		}
		if v := ds.String(dicom.Tag(0x00282110)); v != "01" {
			t.Errorf("Lossy Image Compression %q", v)
		}
		if it := ds.Strings(ds.Get(dicom.Tag(0x00080008))); len(it) == 0 || it[0] != "DERIVED" {
			t.Errorf("Image Type %q", it)
		}
		seq := ds.Get(dicom.Tag(0x00082112))
		if seq == nil || len(seq.Items) != 1 || seq.Items[0].String(dicom.Tag(0x00081155)) != srcUID {
			t.Errorf("Source Image Sequence does not reference %s", srcUID)
		}
	}
	px, err := codec.Open(ds, f.TransferSyntax, bytes.NewReader(data), codec.Options{})
	if err != nil {
		t.Fatalf("open transcoded pixels: %v", err)
	}
	var out [][]byte
	for i := 0; i < px.NumFrames(); i++ {
		b, _, err := px.Frame(i)
		if err != nil {
			t.Fatalf("decode transcoded frame %d: %v", i+1, err)
		}
		out = append(out, b)
	}
	return out
}

// compareFrames checks decoded frames against the source's: tol is the
// largest sample difference, -1 for a PSNR of at least 30 dB (8-bit JPEG).
func compareFrames(t *testing.T, want, got [][]byte, info codec.PixelInfo, tol int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d frames, want %d", len(got), len(want))
	}
	for i := range want {
		if tol < 0 {
			if len(got[i]) != len(want[i]) {
				t.Fatalf("frame %d: %d bytes, want %d", i+1, len(got[i]), len(want[i]))
			}
			if p := psnr8(want[i], got[i]); p < 30 {
				t.Errorf("frame %d: PSNR %.1f dB, want >= 30", i+1, p)
			}
			continue
		}
		if d := maxDiff(want[i], got[i], info); d < 0 || d > tol {
			t.Errorf("frame %d: max sample difference %d (-1: %d bytes, want %d), tolerance %d", i+1, d, len(got[i]), len(want[i]), tol)
		}
	}
}

// dcmtkDecoder names DCMTK's decompressor of each syntax it decodes.
var dcmtkDecoder = map[string]string{
	dicom.RLELossless:        "dcmdrle",
	dicom.JPEGLSLossless:     "dcmdjpls",
	dicom.JPEGLSNearLossless: "dcmdjpls",
	dicom.JPEGBaseline8Bit:   "dcmdjpeg",
}

// TestTranscodedInstanceValidates checks that a whole instance converted
// through WADO-RS, lossless and lossy, is one DCMTK's dcmdump reads
// without complaint and dciodvfy finds no new errors in (compared with the
// stored instance, whose IOD errors are the corpus's own), none about the
// pixel, compression or derivation attributes; and that DCMTK's decoder of
// the syntax decompresses it to the source's pixels (lossless syntaxes).
// Multi-frame instances are also checked streamed (empty Basic Offset
// Table).
func TestTranscodedInstanceValidates(t *testing.T) {
	dcmdump := testenv.RequireTool(t, "dcmdump")
	dciodvfy := testenv.RequireTool(t, "dciodvfy")
	fx := newFixture(t, fixtureOpts{opts: Options{Transcoder: CodecTranscoder{}}}, "sc/sc-rgb-evrle.dcm", "transfer-syntax/ge-ct-evrle.dcm")
	dir := t.TempDir()
	ioderrs := func(file string) []string {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, dciodvfy, file).CombinedOutput()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) || ctx.Err() != nil {
			t.Fatalf("dciodvfy: %v\n%s", err, out)
		}
		var errs []string
		for line := range strings.Lines(string(out)) {
			if strings.HasPrefix(line, "Error") {
				errs = append(errs, strings.TrimSpace(line))
			}
		}
		return errs
	}
	streamed := newFixture(t, fixtureOpts{opts: Options{Transcoder: CodecTranscoder{StreamAbove: 1}}}, "multiframe/enhanced-mr-10f.dcm")
	touched := regexp.MustCompile(`(?i)lossy|photometric|pixel ?data|planar|derivation|source ?image|image ?type|sop ?instance`)
	for _, tc := range []struct {
		file, ts string
		fx       *fixture
	}{
		{"multiframe/enhanced-mr-10f.dcm", dicom.JPEGLSLossless, streamed},
		{"multiframe/enhanced-mr-10f.dcm", dicom.RLELossless, streamed},
		{"sc/sc-rgb-evrle.dcm", dicom.JPEGBaseline8Bit, nil},
		{"sc/sc-rgb-evrle.dcm", dicom.JPEGLSLossless, nil},
		{"transfer-syntax/ge-ct-evrle.dcm", dicom.JPEGLSNearLossless, nil},
		{"transfer-syntax/ge-ct-evrle.dcm", dicom.RLELossless, nil},
		{"transfer-syntax/ge-ct-evrle.dcm", dicom.JPEG2000Lossless, nil},
	} {
		name := tc.file + "/" + tc.ts
		if tc.fx == nil {
			tc.fx = fx
		} else {
			name += "/streamed"
		}
		t.Run(name, func(t *testing.T) {
			var cf corpusFile
			for _, f := range tc.fx.files {
				if f.path == tc.file {
					cf = f
				}
			}
			b := body(t, tc.fx.get(instPath(cf), "Accept: application/dicom; transfer-syntax="+tc.ts), http.StatusOK)
			file := filepath.Join(dir, strings.NewReplacer("/", "_").Replace(tc.file+tc.ts))
			if err := os.WriteFile(file, b, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(dcmdump, "-q", file).CombinedOutput()
			if err != nil || bytes.Contains(out, []byte("E: ")) {
				t.Errorf("dcmdump: %v\n%s", err, out)
			}
			// DCMTK's decoder for the syntax must read it, to the source's
			// pixels for a lossless syntax.
			if tool, ok := dcmtkDecoder[tc.ts]; ok {
				bin := testenv.RequireTool(t, tool)
				raw := file + ".raw.dcm"
				if out, err := exec.Command(bin, file, raw).CombinedOutput(); err != nil {
					t.Fatalf("%s: %v\n%s", tool, err, out)
				}
				if !isLossy(tc.ts) {
					rf, err := dicom.ReadFile(raw, dicom.ReadOptions{LoadBulk: true})
					if err != nil {
						t.Fatal(err)
					}
					rb, _ := os.ReadFile(raw)
					got, _ := sourcePixels(t, rf, rb)
					want, info := sourcePixels(t, cf.f, cf.data)
					compareFrames(t, want, got, info, 0)
				}
			}
			// pydicom's own RLE decoder must agree too.
			if tc.ts == dicom.RLELossless {
				py := testenv.RequireTool(t, "/usr/bin/python3")
				out, err := exec.Command(py, "-c", `import sys, hashlib, pydicom
ds = pydicom.dcmread(sys.argv[1])
print(hashlib.sha256(ds.pixel_array.tobytes()).hexdigest())`, file).CombinedOutput()
				if err != nil {
					t.Fatalf("pydicom: %v\n%s", err, out)
				}
				want, _ := sourcePixels(t, cf.f, cf.data)
				if got := strings.TrimSpace(string(out)); got != hexSum(bytes.Join(want, nil)) {
					t.Errorf("pydicom decodes other pixels (sha256 %s)", got)
				}
			}
			errs, orig := ioderrs(file), ioderrs(corpus(t, tc.file))
			if len(errs) > len(orig) {
				t.Errorf("dciodvfy: %d errors, %d in the stored instance:\n%s", len(errs), len(orig), strings.Join(errs, "\n"))
			}
			for _, e := range errs {
				if touched.MatchString(e) {
					t.Errorf("dciodvfy on an attribute the transcoder sets: %s", e)
				}
			}
		})
	}
}

// TestTranscodeFallback checks the per-instance choice among several
// acceptable syntaxes: in a series holding an 8-bit RGB image and 16-bit
// CT images, JPEG baseline (preferred) goes to the RGB image and JPEG-LS
// (the second choice) to the CT images; with JPEG baseline alone, the CT
// images cannot be sent and the response is 406 when that is known before
// it starts, or aborted (no closing boundary) when it is not. WADO-URI's
// transferSyntax takes the same path, and HEAD sends no body.
func TestTranscodeFallback(t *testing.T) {
	fx := newFixture(t, fixtureOpts{opts: Options{Transcoder: CodecTranscoder{}}}, "sc/sc-rgb-evrle.dcm")
	_, rgb := fx.anyInstance("sc/")
	study, series := rgb.f.Dataset.String(dicom.TagStudyInstanceUID), rgb.f.Dataset.String(dicom.TagSeriesInstanceUID)
	// The CT image moved into the RGB image's series, stored after it.
	fx.storeMoved("transfer-syntax/ge-ct-evrle.dcm", study, series, "1.2.9")
	ctfx := newFixture(t, fixtureOpts{opts: Options{Transcoder: CodecTranscoder{}}}, "transfer-syntax/ge-ct-evrle.dcm")
	_, ct := ctfx.anyInstance("transfer-syntax/")
	seriesURL := "/studies/" + study + "/series/" + series
	both := `Accept: multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50, multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.80; q=0.5`
	parts := readParts(t, fx.get(seriesURL, both))
	if len(parts) != 2 {
		t.Fatalf("%d parts, want 2", len(parts))
	}
	got := map[string]string{}
	for _, p := range parts {
		f, err := dicom.Read(bytes.NewReader(p.data), int64(len(p.data)), dicom.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ct := p.header.Get("Content-Type"); ct != "application/dicom; transfer-syntax="+f.TransferSyntax {
			t.Errorf("part Content-Type %q for a %s instance", ct, f.TransferSyntax)
		}
		got[f.Dataset.String(dicom.Tag(0x00280004))] = f.TransferSyntax
	}
	if got["YBR_FULL_422"] != dicom.JPEGBaseline8Bit || got["MONOCHROME2"] != dicom.JPEGLSLossless {
		t.Errorf("syntaxes by photometric interpretation: %v; want the RGB image as JPEG baseline, the CT as JPEG-LS", got)
	}

	jpegOnly := `Accept: multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50`
	// The CT alone: known before the response starts.
	if b := body(t, ctfx.get(instPath(ct), jpegOnly), http.StatusNotAcceptable); !bytes.Contains(b, []byte("cannot be sent in any transfer syntax")) {
		t.Errorf("406 message: %s", b)
	}
	// The series: the RGB image goes first, then the CT fails mid-stream.
	resp := fx.get(seriesURL, jpegOnly)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil && bytes.HasSuffix(bytes.TrimSpace(b), []byte("--")) {
		t.Errorf("a series with an instance that cannot be sent ended normally")
	}

	// WADO-URI with transferSyntax, and HEAD.
	r := refOf(ct)
	uri := "/wado?requestType=WADO&contentType=application/dicom&transferSyntax=" + dicom.RLELossless + "&studyUID=" + r.Study + "&seriesUID=" + r.Series + "&objectUID=" + r.Instance
	resp = ctfx.get(uri)
	data := body(t, resp, http.StatusOK)
	if ctype := resp.Header.Get("Content-Type"); ctype != "application/dicom; transfer-syntax="+dicom.RLELossless {
		t.Errorf("WADO-URI Content-Type %q", ctype)
	}
	want, info := sourcePixels(t, ct.f, ct.data)
	compareFrames(t, want, checkInstance(t, data, dicom.RLELossless, ct, false), info, 0)
	resp = ctfx.do("HEAD", instPath(ct), nil, "Accept: multipart/related; type=\"application/dicom\"; transfer-syntax="+dicom.RLELossless)
	if hb := body(t, resp, http.StatusOK); len(hb) != 0 || !strings.Contains(resp.Header.Get("Content-Type"), "multipart/related") {
		t.Errorf("HEAD: %d bytes, Content-Type %q", len(hb), resp.Header.Get("Content-Type"))
	}
}

// TestFrameSyntaxFallback: frames asked as image/jpeg (JPEG baseline,
// which cannot hold 16-bit samples) or else image/jls come as JPEG-LS for a
// 16-bit CT and as JPEG for an 8-bit RGB image; image/jpeg alone is 406
// for the CT, with the encoder's reason.
func TestFrameSyntaxFallback(t *testing.T) {
	fx := newFixture(t, fixtureOpts{opts: Options{Transcoder: CodecTranscoder{}}}, "transfer-syntax/ge-ct-evrle.dcm", "sc/sc-rgb-evrle.dcm")
	_, ct := fx.anyInstance("transfer-syntax/")
	_, rgb := fx.anyInstance("sc/")
	accept := `Accept: multipart/related; type="image/jpeg", multipart/related; type="image/jls"; q=0.5`
	for _, c := range []struct {
		cf    corpusFile
		ctype string
	}{
		{ct, "image/jls; transfer-syntax=" + dicom.JPEGLSLossless},
		{rgb, "image/jpeg; transfer-syntax=" + dicom.JPEGBaseline8Bit},
	} {
		parts := readParts(t, fx.get(instPath(c.cf)+"/frames/1", accept))
		if len(parts) != 1 || parts[0].header.Get("Content-Type") != c.ctype {
			t.Errorf("%s: %d parts, Content-Type %q, want %q", c.cf.path, len(parts), parts[0].header.Get("Content-Type"), c.ctype)
		}
	}
	b := body(t, fx.get(instPath(ct)+"/frames/1", `Accept: multipart/related; type="image/jpeg"`), http.StatusNotAcceptable)
	if !bytes.Contains(b, []byte("8-bit")) {
		t.Errorf("406 without the encoder's reason: %s", b)
	}
}
