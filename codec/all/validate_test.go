package all

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// validateSources: a native CT, a compressed MR (JPEG-LS), a compressed
// RGB ultrasound (RLE) and a native multi-frame enhanced MR.
var validateSources = []string{
	"transfer-syntax/ge-ct-evrle.dcm",
	"mr/philips-mr4-jpegls-lossless.dcm",
	"us/ge-us1-rle.dcm",
	"multiframe/enhanced-mr-10f.dcm",
}

// validateTargets: the lossless compressed targets, JPEG baseline (lossy,
// allowed explicitly) and Explicit VR Little Endian (the decompression
// path for compressed sources).
var validateTargets = []target{
	{ts: dicom.RLELossless},
	{ts: dicom.JPEGLSLossless},
	{ts: dicom.JPEG2000Lossless},
	{ts: dicom.JPEGBaseline8Bit, lossy: true},
	{ts: dicom.JPEGLSNearLossless, lossy: true},
	{ts: dicom.ExplicitVRLittleEndian},
}

// pixelAttr matches dciodvfy messages about the attributes a transcoder
// sets or changes.
var pixelAttr = regexp.MustCompile(`(?i)lossy ?image ?compression|photometric|pixel ?data|planar ?configuration`)

// TestTranscodeValidates checks issue 7's requirement that transcoded output
// is a valid instance: dcmdump parses it without error, and dciodvfy finds
// no more errors than in the source written as Explicit VR Little Endian
// (the corpus files carry IOD errors of their own) and none about the pixel
// and compression attributes.
func TestTranscodeValidates(t *testing.T) {
	testenv.RequireTool(t, "dcmdump")
	testenv.RequireTool(t, "dciodvfy")
	root := testenv.CorpusDir(t)
	for _, rel := range validateSources {
		t.Run(rel, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(root, rel)
			base := transcodeToFile(t, path, target{ts: dicom.ExplicitVRLittleEndian})
			if base == "" {
				t.Fatal("source cannot be written as Explicit VR Little Endian")
			}
			baseErrs := iodErrors(t, base)
			if orig := iodErrors(t, path); len(baseErrs) > len(orig) {
				t.Errorf("dciodvfy: %d errors as Explicit VR Little Endian, %d in the source file:\n%s\nsource:\n%s",
					len(baseErrs), len(orig), strings.Join(baseErrs, "\n"), strings.Join(orig, "\n"))
			}
			for _, tg := range validateTargets {
				t.Run(tg.ts, func(t *testing.T) {
					file := transcodeToFile(t, path, tg)
					if file == "" {
						return
					}
					validate(t, file) // dcmdump
					errs := iodErrors(t, file)
					if tg.lossy {
						errs = withoutOriginalOnly(errs)
					}
					t.Logf("dciodvfy: %d errors (source as Explicit VR Little Endian: %d)", len(errs), len(baseErrs))
					if len(errs) > len(baseErrs) {
						t.Errorf("dciodvfy: %d errors, %d for the source as Explicit VR Little Endian:\n%s\nsource:\n%s",
							len(errs), len(baseErrs), strings.Join(errs, "\n"), strings.Join(baseErrs, "\n"))
					}
					for _, e := range errs {
						if pixelAttr.MatchString(e) {
							t.Errorf("dciodvfy on the pixel attributes: %s", e)
						}
					}
				})
			}
		})
	}
}

// transcodeToFile transcodes the file at path to tg and writes it as a
// Part 10 file in a temporary directory; "" when the target does not apply
// to the source.
func transcodeToFile(t *testing.T, path string, tg target) string {
	t.Helper()
	f, err := dicom.ReadFile(path, dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	out, err := codec.TranscodeWith(f.Dataset, f.TransferSyntax, src, tg.ts, codec.TranscodeOptions{AllowLossy: tg.lossy, Derive: tg.lossy})
	if errors.Is(err, codec.ErrUnsupported) {
		t.Logf("not applicable: %v", err)
		return ""
	}
	if err != nil {
		t.Fatalf("transcode to %s: %v", tg.ts, err)
	}
	if tg.lossy {
		if v := out.String(codec.TagLossyImageCompression); v != "01" {
			t.Errorf("Lossy Image Compression %q, want 01", v)
		}
		checkDerived(t, f.Dataset, out, tg.ts)
	}
	var buf bytes.Buffer
	if err := dicom.WriteFile(&buf, out, tg.ts, dicom.WriteOptions{Bulk: src}); err != nil {
		t.Fatalf("write %s: %v", tg.ts, err)
	}
	file := filepath.Join(t.TempDir(), "out.dcm")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// originalOnly matches dciodvfy's complaint about attributes whose
// condition is Image Type value 1 ORIGINAL (or MIXED), such as the Enhanced
// MR Pulse Sequence attributes: a lossy result is DERIVED (PS3.3
// C.7.6.1.1.5) and keeps the acquisition attributes of its source rather
// than dropping them.
var originalOnly = regexp.MustCompile(`Attribute present when condition unsatisfied`)

func withoutOriginalOnly(errs []string) []string {
	var out []string
	for _, e := range errs {
		if !originalOnly.MatchString(e) {
			out = append(out, e)
		}
	}
	return out
}

// checkDerived checks that a lossy result is a new instance derived from
// src (PS3.3 C.7.6.1.1.5): new SOP Instance UID under Lightbox's root,
// Image Type DERIVED, a Derivation Description, and a Source Image
// Sequence naming the source.
func checkDerived(t *testing.T, src, out *dicom.Dataset, ts string) {
	t.Helper()
	const sopUID, imageType = dicom.Tag(0x00080018), dicom.Tag(0x00080008)
	uid := out.String(sopUID)
	if uid == src.String(sopUID) || !strings.HasPrefix(uid, dicom.ImplementationClassUID+".") || len(uid) > 64 {
		t.Errorf("derived SOP Instance UID %q (source %q)", uid, src.String(sopUID))
	}
	if it := out.Get(imageType); it == nil || out.Strings(it)[0] != "DERIVED" {
		t.Errorf("Image Type %q, want value 1 DERIVED", out.String(imageType))
	}
	if d := out.String(dicom.Tag(0x00082111)); !strings.Contains(d, ts) {
		t.Errorf("Derivation Description %q does not name %s", d, ts)
	}
	seq := out.Get(dicom.Tag(0x00082112))
	if seq == nil || len(seq.Items) != 1 || seq.Items[0].String(dicom.Tag(0x00081155)) != src.String(sopUID) {
		t.Errorf("Source Image Sequence does not reference the source instance")
	}
}

// iodErrors runs dciodvfy on file and returns its "Error" lines. dciodvfy
// exits non-zero whenever it reports an error, so only a failure to run
// (or a timeout) fails the test.
func iodErrors(t *testing.T, file string) []string {
	t.Helper()
	bin := testenv.RequireTool(t, "dciodvfy")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, file).CombinedOutput()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) || ctx.Err() != nil {
		t.Fatalf("dciodvfy %s: %v\n%s", file, err, out)
	}
	var errs []string
	for line := range strings.Lines(string(out)) {
		if strings.HasPrefix(line, "Error") {
			errs = append(errs, strings.TrimRight(line, "\r\n"))
		}
	}
	return errs
}
