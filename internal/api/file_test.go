package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/lightbox-pacs/lightbox/codec/all" // encoders for compression at rest
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

func getFile(t *testing.T, fx *fixture, path string) (int, []byte) {
	t.Helper()
	resp, err := fx.srv.Client().Get(fx.srv.URL + "/api" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusOK && resp.Header.Get("Content-Type") != "application/dicom" {
		t.Errorf("GET %s: Content-Type %q", path, resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, b
}

// TestInstanceFileOriginal stores a native CT with compression at rest and
// keep_original, then reads the stored file (JPEG-LS now) and the original
// (byte for byte what was sent) through GET /instances/{uid}/file.
func TestInstanceFileOriginal(t *testing.T) {
	src := filepath.Join(testenv.CorpusDir(t), "ct", "siemens-ct-issue141.dcm")
	received, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	f, err := dicom.ReadFile(src, dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	uid := f.Dataset.String(dicom.TagSOPInstanceUID)

	for _, tc := range []struct {
		name             string
		compress         archive.CompressOptions
		storedTS         string
		originalStatus   int
		storedIsReceived bool
	}{
		{"compressed, original kept", archive.CompressOptions{TransferSyntax: dicom.JPEGLSLossless, KeepOriginal: true}, dicom.JPEGLSLossless, http.StatusOK, false},
		{"compressed, original dropped", archive.CompressOptions{TransferSyntax: dicom.JPEGLSLossless}, dicom.JPEGLSLossless, http.StatusNotFound, false},
		{"stored as received", archive.CompressOptions{}, f.TransferSyntax, http.StatusNotFound, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fx := newFixtureArchive(t, Options{}, archive.Options{Compress: tc.compress})
			if _, err := fx.arch.Store(context.Background(), bytes.NewReader(received), archive.IngestMeta{Size: int64(len(received))}); err != nil {
				t.Fatal(err)
			}
			st, stored := getFile(t, fx, "/instances/"+uid+"/file")
			if st != http.StatusOK {
				t.Fatalf("stored file: status %d: %s", st, stored)
			}
			sf, err := dicom.Read(bytes.NewReader(stored), int64(len(stored)), dicom.ReadOptions{})
			if err != nil {
				t.Fatalf("stored file does not parse: %v", err)
			}
			if sf.TransferSyntax != tc.storedTS {
				t.Errorf("stored transfer syntax %s, want %s", sf.TransferSyntax, tc.storedTS)
			}
			if got := bytes.Equal(stored, received); got != tc.storedIsReceived {
				t.Errorf("stored bytes equal to received: %v, want %v", got, tc.storedIsReceived)
			}
			st, orig := getFile(t, fx, "/instances/"+uid+"/file?original=true")
			if st != tc.originalStatus {
				t.Fatalf("original: status %d, want %d: %.200s", st, tc.originalStatus, orig)
			}
			if st == http.StatusOK && sha256.Sum256(orig) != sha256.Sum256(received) {
				t.Errorf("original is not the received bytes (%d bytes, sent %d)", len(orig), len(received))
			}
			if st == http.StatusNotFound && !strings.Contains(string(orig), "no original kept") {
				t.Errorf("404 without a reason: %s", orig)
			}
		})
	}
}

func TestInstanceFileErrors(t *testing.T) {
	fx := newFixture(t, Options{})
	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/instances/1.2.3.4/file", http.StatusNotFound},
		{"/instances/not-a-uid/file", http.StatusBadRequest},
		{"/instances/1.2.3.4/file?original=maybe", http.StatusBadRequest},
	} {
		if st, b := getFile(t, fx, tc.path); st != tc.status {
			t.Errorf("GET %s: status %d, want %d: %s", tc.path, st, tc.status, b)
		}
	}
}
