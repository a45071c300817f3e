package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/index/sqlite"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// TestImportCompressAtRest imports native and compressed images with
// -compress-at-rest jpeg-ls -keep-original: the native ones are indexed
// as JPEG-LS, the others as received, and fsck (verifying digests) finds
// the archive consistent, kept originals included. A lossy or unknown
// target is refused.
func TestImportCompressAtRest(t *testing.T) {
	corpus := testenv.CorpusDir(t)
	data := t.TempDir()
	code, out, errs := run(t, cmd(RunImport), "--data", data, "--progress=false", "-compress-at-rest", "jpeg-ls", "-keep-original",
		filepath.Join(corpus, "transfer-syntax/ge-ct-ivrle.dcm"), filepath.Join(corpus, "mr/ge-mr-ivrle.dcm"),
		filepath.Join(corpus, "transfer-syntax/ge-ct-j2k-lossless-90.dcm"), filepath.Join(corpus, "sr/comprehensive-sr.dcm"))
	if code != 0 {
		t.Fatalf("import: %d\n%s\n%s", code, out, errs)
	}
	idx, err := sqlite.Open(context.Background(), filepath.Join(data, "index.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	err = idx.Each(context.Background(), index.Query{Level: index.InstanceLevel}, func(r index.InstanceRecord) error {
		got[r.Instance.TransferSyntaxUID]++
		return nil
	})
	idx.Close()
	if err != nil {
		t.Fatal(err)
	}
	// The two GE CTs share a SOP Instance UID: the first one stored wins.
	if got["1.2.840.10008.1.2.4.80"] < 1 || got["1.2.840.10008.1.2.1"] != 1 {
		t.Errorf("transfer syntaxes indexed: %v", got)
	}
	if code, out, errs := run(t, cmd(RunFsck), "--data", data, "--verify"); code != 0 {
		t.Errorf("fsck: %d\n%s\n%s", code, out, errs)
	}
	for _, bad := range []string{"jpeg", "1.2.840.10008.1.2.4.81"} {
		code, _, errs := run(t, cmd(RunImport), "--data", t.TempDir(), "--progress=false", "-compress-at-rest", bad, filepath.Join(corpus, "mr/ge-mr-ivrle.dcm"))
		if code != 2 || !strings.Contains(errs, "compress_at_rest") {
			t.Errorf("-compress-at-rest %s: exit %d, %s", bad, code, errs)
		}
	}
}
