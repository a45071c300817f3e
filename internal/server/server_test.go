package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/config"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// TestServeAndStop starts a node on loopback ports, checks the HTTP port
// answers, then stops it through its context and checks it closed cleanly.
func TestServeAndStop(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.DICOM.Addr = "127.0.0.1:0"
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := New(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Bind(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()

	resp, err := http.Get("http://" + srv.Addrs()["http"] + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var health map[string]string
	json.NewDecoder(resp.Body).Decode(&health)
	resp.Body.Close()
	if health["status"] != "ok" || health["ae_title"] != "LIGHTBOX" {
		t.Errorf("healthz = %v", health)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop")
	}
	if _, err := http.Get("http://" + srv.Addrs()["http"] + "/healthz"); err == nil {
		t.Error("still answering after stop")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Index.Backend = "nosuch"
	if _, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil))); err == nil {
		t.Fatal("bad config accepted")
	}
}

// TestDICOMwebMounted stores a corpus file through STOW-RS on a running
// node and finds it again with QIDO-RS.
func TestDICOMwebMounted(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.DICOM.Addr = "127.0.0.1:0"
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

	base := "http://" + srv.Addrs()["http"]
	data, err := os.ReadFile(filepath.Join(testenv.CorpusDir(t), "charset/korean-iso2022-ir149.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/dicom"}})
	part.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", base+"/dicom-web/studies", &body)
	req.Header.Set("Content-Type", `multipart/related; type="application/dicom"; boundary=`+mw.Boundary())
	req.Header.Set("Accept", "application/dicom+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("STOW-RS status %d", resp.StatusCode)
	}
	resp, err = http.Get(base + "/dicom-web/studies?PatientName=Hong*")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var studies []map[string]json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&studies); err != nil || len(studies) != 1 {
		t.Fatalf("QIDO-RS: %v, %d studies", err, len(studies))
	}
	if !strings.Contains(string(studies[0]["00100010"]), "홍^길동") {
		t.Errorf("PatientName = %s", studies[0]["00100010"])
	}
}

func TestRemoteAEName(t *testing.T) {
	for in, want := range map[string]string{"WS1": "ws1", "CT SCANNER 2": "ct-scanner-2", " ORTHANC ": "orthanc", "A/B": "a-b"} {
		if got := remoteAEName(in); got != want {
			t.Errorf("remoteAEName(%q) = %q, want %q", in, got, want)
		}
	}
}
