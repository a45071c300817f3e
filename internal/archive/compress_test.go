package archive

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	_ "github.com/lightbox-pacs/lightbox/codec/all"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/blob"
)

// atRestCases are corpus files with what compression at rest must do with
// them: compress (true) or store as received (false).
var atRestCases = []struct {
	rel      string
	compress bool
}{
	{"transfer-syntax/ge-ct-evrle.dcm", true},               // CT 16-bit, Explicit LE
	{"transfer-syntax/ge-ct-ivrle.dcm", true},               // Implicit LE
	{"transfer-syntax/ge-ct-evrbe.dcm", true},               // Explicit BE
	{"mr/ge-mr-ivrle.dcm", true},                            // MR
	{"cr-dx/fuji-cr-mono1-chest.dcm", true},                 // CR MONOCHROME1 10-bit
	{"sc/sc-16bit-signed.dcm", true},                        // signed 16-bit
	{"us/us-rgb-esopecho.dcm", true},                        // US RGB 8-bit
	{"sc/testpattern-palette.dcm", true},                    // PALETTE COLOR 8-bit
	{"multiframe/philips-mr-16f.dcm", true},                 // multi-frame MR
	{"multiframe/philips-us-2f-evrbe.dcm", true},            // multi-frame US, big endian
	{"sc/sc-rgb16-2frame.dcm", true},                        // RGB 16-bit, 2 frames
	{"sc/sc-ybr-full-422.dcm", false},                       // subsampled colour
	{"seg-pmap/parametric-map-float.dcm", false},            // float pixel data
	{"seg-pmap/highdicom-seg-binary.dcm", false},            // 1-bit
	{"transfer-syntax/ge-ct-jpegls-lossless-80.dcm", false}, // compressed already
	{"transfer-syntax/ge-ct-jpeg-baseline-50.dcm", false},   // lossy
	{"sr/comprehensive-sr.dcm", false},                      // not an image
	{"encapsulated/encapsulated-pdf.dcm", false},            // not an image
}

// referenceDecompress decompresses a stored file with a decoder that is
// not Lightbox's: DCMTK for JPEG-LS and RLE, GDCM for JPEG 2000. It
// returns "" when GDCM refuses to write a multi-frame Secondary Capture
// (a GDCM limitation: "Cannot handle Multi Frame image in
// SecondaryCaptureImageStorage").
func referenceDecompress(t *testing.T, ts, in string) string {
	t.Helper()
	out := in + ".raw.dcm"
	var cmd *exec.Cmd
	switch ts {
	case JPEGLSLossless:
		cmd = exec.Command("dcmdjpls", in, out)
	case RLELossless:
		cmd = exec.Command("dcmdrle", in, out)
	case JPEG2000Lossless:
		cmd = exec.Command("gdcmconv", "-V", "--raw", in, out)
	default:
		t.Fatalf("no reference decoder for %s", ts)
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		if ts == JPEG2000Lossless && bytes.Contains(b, []byte("Problem with NumberOfDimensions and MediaStorage")) {
			t.Logf("%s: GDCM cannot write multi-frame Secondary Capture; compared with Lightbox's decoder only", in)
			return ""
		}
		t.Fatalf("%s: %v\n%s", cmd, err, b)
	}
	return out
}

// frames decodes every frame of a Part 10 file.
func frames(t *testing.T, data []byte) (codec.PixelInfo, [][]byte) {
	t.Helper()
	src := bytes.NewReader(data)
	f, err := dicom.Read(src, int64(len(data)), dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := codec.Open(f.Dataset, f.TransferSyntax, src, codec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	var info codec.PixelInfo
	for i := 0; i < p.NumFrames(); i++ {
		var b []byte
		if b, info, err = p.Frame(i); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		out = append(out, b)
	}
	return info, out
}

// TestCompressAtRest stores corpus images with each lossless target and
// checks that images are stored compressed, valid (dcmdump), with the same
// SOP Instance UID, and that a reference decoder (DCMTK or GDCM) turns the
// stored pixels back into exactly the received ones; that everything else
// is stored byte for byte; that fsck finds nothing and a rebuilt index
// equals the original.
func TestCompressAtRest(t *testing.T) {
	ctx := context.Background()
	for _, target := range []string{JPEGLSLossless, RLELossless, JPEG2000Lossless} {
		t.Run(target, func(t *testing.T) {
			tmp := t.TempDir()
			for _, c := range atRestCases {
				// One archive per file: several corpus files share a SOP
				// Instance UID.
				e := newEnv(t, sqliteBackend, Options{Compress: CompressOptions{TransferSyntax: target}})
				data := readCorpus(t, c.rel)
				res, err := e.store(t, data)
				if err != nil {
					t.Fatalf("%s: %v", c.rel, err)
				}
				stored := e.retrieved(t, res.SOPInstanceUID)
				if !c.compress {
					if !bytes.Equal(stored, data) {
						t.Errorf("%s: stored bytes differ from the received ones", c.rel)
					}
					continue
				}
				if res.TransferSyntaxUID != target || res.Received != int64(len(data)) || res.Size != int64(len(stored)) {
					t.Errorf("%s: result %s, %d received, %d stored (%d in blob); want %s", c.rel,
						res.TransferSyntaxUID, res.Received, res.Size, len(stored), target)
					continue
				}
				if len(stored) >= len(data) {
					t.Errorf("%s: stored %d bytes, received %d", c.rel, len(stored), len(data))
				}
				f, err := dicom.Read(bytes.NewReader(stored), int64(len(stored)), dicom.ReadOptions{LoadBulk: true})
				if err != nil {
					t.Fatalf("%s: stored file: %v", c.rel, err)
				}
				if f.TransferSyntax != target || f.Meta.String(dicom.TagMediaStorageSOPInstanceUID) != res.SOPInstanceUID ||
					f.Dataset.String(dicom.TagSOPInstanceUID) != res.SOPInstanceUID {
					t.Errorf("%s: stored file meta says %s / %s", c.rel, f.TransferSyntax, f.Meta.String(dicom.TagMediaStorageSOPInstanceUID))
				}
				path := filepath.Join(tmp, filepath.Base(c.rel))
				if err := os.WriteFile(path, stored, 0o644); err != nil {
					t.Fatal(err)
				}
				if b, err := exec.Command("dcmdump", "-q", "+E", path).CombinedOutput(); err != nil || bytes.Contains(b, []byte("E: ")) {
					t.Errorf("%s: dcmdump on the stored file: %v\n%s", c.rel, err, b)
				}
				wantInfo, want := frames(t, data)
				decoded := map[string][]byte{"Lightbox": stored}
				if ref := referenceDecompress(t, target, path); ref != "" {
					if decoded["reference"], err = os.ReadFile(ref); err != nil {
						t.Fatal(err)
					}
				}
				for by, b := range decoded {
					gotInfo, got := frames(t, b)
					if len(got) != len(want) || gotInfo.PhotometricInterpretation != wantInfo.PhotometricInterpretation {
						t.Errorf("%s: %s decode gives %d frames %s, received %d %s", c.rel, by,
							len(got), gotInfo.PhotometricInterpretation, len(want), wantInfo.PhotometricInterpretation)
						continue
					}
					for i := range want {
						if !bytes.Equal(got[i], want[i]) {
							t.Errorf("%s: frame %d: %s decode of the stored pixels differs from the received pixels", c.rel, i, by)
						}
					}
				}
				t.Logf("%s: %d -> %d bytes (%.2fx)", c.rel, len(data), len(stored), float64(len(data))/float64(len(stored)))
				e.consistent(t)
				rebuilt := sqliteBackend.open(t, t.TempDir())
				rep, err := Rebuild(ctx, e.blobs, rebuilt, RebuildOptions{})
				if err != nil || len(rep.Unreadable) > 0 || rep.Indexed != 1 {
					t.Fatalf("%s: rebuild: %v %+v", c.rel, err, rep)
				}
				compareIndexes(t, e.idx, rebuilt)
				rebuilt.Close()
			}
		})
	}
}

// TestCompressAtRestKeepOriginal: the received bytes stay retrievable byte
// for byte, are not indexed (fsck clean, rebuild gives one instance), go
// away with their instance, and a re-sent instance is identical.
func TestCompressAtRestKeepOriginal(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, sqliteBackend, Options{Compress: CompressOptions{TransferSyntax: JPEGLSLossless, KeepOriginal: true}})
	data := readCorpus(t, "transfer-syntax/ge-ct-evrle.dcm")
	res := e.mustStore(t, data, OutcomeStored)
	if res.TransferSyntaxUID != JPEGLSLossless {
		t.Fatalf("stored as %s", res.TransferSyntaxUID)
	}
	r, _, original, err := e.a.RetrieveOriginal(ctx, res.SOPInstanceUID)
	if err != nil || !original {
		t.Fatalf("RetrieveOriginal: %v, original %v", err, original)
	}
	got, _ := io.ReadAll(r)
	r.Close()
	if !bytes.Equal(got, data) {
		t.Fatalf("original: %d bytes, differ from the %d received", len(got), len(data))
	}
	if stored := e.retrieved(t, res.SOPInstanceUID); bytes.Equal(stored, data) {
		t.Fatal("Retrieve returned the original, not the compressed instance")
	}
	// Re-sending the same bytes compresses to the same bytes: identical,
	// and the second original is not left behind.
	e.mustStore(t, data, OutcomeIdentical)
	rep := e.consistent(t)
	if rep.Rows != 1 || rep.Blobs != 2 {
		t.Errorf("fsck: %d rows, %d blobs; want 1 and 2", rep.Rows, rep.Blobs)
	}
	rebuilt := sqliteBackend.open(t, t.TempDir())
	defer rebuilt.Close()
	rr, err := Rebuild(ctx, e.blobs, rebuilt, RebuildOptions{})
	if err != nil || rr.Indexed != 1 || len(rr.Superseded) != 0 || len(rr.Unreadable) != 0 {
		t.Fatalf("rebuild: %v, %+v", err, rr)
	}
	compareIndexes(t, e.idx, rebuilt)

	// An instance stored as received has no original: RetrieveOriginal
	// gives the stored bytes.
	sr := readCorpus(t, "sr/comprehensive-sr.dcm")
	srRes := e.mustStore(t, sr, OutcomeStored)
	r, _, original, err = e.a.RetrieveOriginal(ctx, srRes.SOPInstanceUID)
	if err != nil || original {
		t.Fatalf("RetrieveOriginal of an uncompressed instance: %v, original %v", err, original)
	}
	r.Close()

	if _, err := e.a.Delete(ctx, DeleteInstance, res.SOPInstanceUID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.blobs.Stat(ctx, res.BlobKey+OriginalSuffix); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("kept original after delete: %v", err)
	}
	e.consistent(t)
}

// TestCompressAtRestOrphanOriginal: a kept original whose instance is gone
// (a crash between committing it and the instance) is an orphan for fsck.
func TestCompressAtRestOrphanOriginal(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, sqliteBackend, Options{})
	w, err := e.blobs.Create(ctx, "00112233445566778899aabbccddeeff"+OriginalSuffix)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("x"))
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	rep, err := Check(ctx, e.blobs, e.idx, CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 1 || rep.Problems[0].Kind != ProblemOrphanBlob {
		t.Fatalf("fsck problems %v, want one orphan", rep.Problems)
	}
}

// TestCompressAtRestStream: an instance of unknown size larger than
// MaxBytes is stored as received (the buffer spills to the blob).
func TestCompressAtRestStream(t *testing.T) {
	e := newEnv(t, sqliteBackend, Options{Compress: CompressOptions{TransferSyntax: RLELossless, MaxBytes: 100 << 10}})
	data := readCorpus(t, "transfer-syntax/ge-ct-evrle.dcm")
	res, err := e.a.Store(context.Background(), &oneByteReader{r: bytes.NewReader(data)}, IngestMeta{})
	if err != nil {
		t.Fatal(err)
	}
	if stored := e.retrieved(t, res.SOPInstanceUID); !bytes.Equal(stored, data) {
		t.Fatal("an instance above MaxBytes was not stored as received")
	}
	small := readCorpus(t, "mr/toshiba-mr-small-evrle.dcm")
	res, err = e.a.Store(context.Background(), &oneByteReader{r: bytes.NewReader(small)}, IngestMeta{})
	if err != nil {
		t.Fatal(err)
	}
	if res.TransferSyntaxUID != RLELossless {
		t.Fatalf("a small streamed instance was stored as %s", res.TransferSyntaxUID)
	}
	e.consistent(t)
}

func TestValidateCompressSyntax(t *testing.T) {
	for ts, ok := range map[string]bool{"": true, JPEGLSLossless: true, JPEG2000Lossless: true, RLELossless: true,
		"1.2.840.10008.1.2.4.50": false, "1.2.840.10008.1.2.4.81": false, "jpeg-ls": false} {
		if err := ValidateCompressSyntax(ts); (err == nil) != ok {
			t.Errorf("ValidateCompressSyntax(%q) = %v", ts, err)
		}
	}
}
