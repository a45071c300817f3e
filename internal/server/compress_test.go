package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/config"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// TestCompressAtRestWired runs a node configured with compress_at_rest
// jpeg-ls and keep_original, stores a native CT with DCMTK's storescu over
// DIMSE, and checks that the archive holds it as JPEG-LS with the
// received bytes kept, that WADO-RS /rendered decodes it, and that a bad
// compress_at_rest is refused at start.
func TestCompressAtRestWired(t *testing.T) {
	storescu := testenv.RequireTool(t, "storescu")
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.DICOM.Addr = "127.0.0.1:0"
	cfg.Storage.CompressAtRest = "jpeg-ls"
	cfg.Storage.KeepOriginal = true
	srv, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Bind(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); <-done }()

	path := filepath.Join(testenv.CorpusDir(t), "transfer-syntax/ge-ct-evrle.dcm")
	f, err := dicom.ReadFile(path, dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ds := f.Dataset
	host, port, _ := net.SplitHostPort(srv.Addrs()["dicom"])
	if out, err := exec.Command(storescu, "-aec", cfg.AETitle, host, port, path).CombinedOutput(); err != nil {
		t.Fatalf("storescu: %v\n%s", err, out)
	}
	sop := ds.String(dicom.TagSOPInstanceUID)
	r, rec, err := srv.Storage().Archive.Retrieve(ctx, sop)
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := io.ReadAll(r)
	r.Close()
	if rec.Instance.TransferSyntaxUID != "1.2.840.10008.1.2.4.80" || !bytes.Contains(stored[:400], []byte("1.2.840.10008.1.2.4.80")) {
		t.Fatalf("stored as %s", rec.Instance.TransferSyntaxUID)
	}
	o, _, original, err := srv.Storage().Archive.RetrieveOriginal(ctx, sop)
	if err != nil || !original {
		t.Fatalf("RetrieveOriginal: %v, kept %v", err, original)
	}
	kept, _ := io.ReadAll(o)
	o.Close()
	if len(kept) <= len(stored) || bytes.Contains(kept[:400], []byte("1.2.840.10008.1.2.4.80")) {
		t.Errorf("kept original: %d bytes (stored %d)", len(kept), len(stored))
	}

	url := "http://" + srv.Addrs()["http"] + "/dicom-web/studies/" + ds.String(dicom.TagStudyInstanceUID) +
		"/series/" + ds.String(dicom.TagSeriesInstanceUID) + "/instances/" + sop + "/rendered"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "image/") || len(body) < 1000 {
		t.Errorf("/rendered of the compressed instance: %s %s, %d bytes", resp.Status, resp.Header.Get("Content-Type"), len(body))
	}

	bad := config.Default()
	bad.DataDir = t.TempDir()
	bad.Storage.CompressAtRest = "jpeg"
	if _, err := New(context.Background(), bad, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil || !strings.Contains(err.Error(), "compress_at_rest") {
		t.Errorf("compress_at_rest jpeg accepted: %v", err)
	}
}
