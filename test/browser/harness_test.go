package browser

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/archive"
	blobfs "github.com/lightbox-pacs/lightbox/internal/blob/fs"
	"github.com/lightbox-pacs/lightbox/internal/dicomweb"
	"github.com/lightbox-pacs/lightbox/internal/index/sqlite"
	"github.com/lightbox-pacs/lightbox/internal/webui"
)

// testServer is a fresh archive (SQLite index, unsynced blob store in a
// temporary directory) and the handlers the browser tests serve over it.
type testServer struct {
	arch *archive.Archive
	dir  string
	log  *slog.Logger
	mux  *http.ServeMux
}

// newTestServer opens the archive and mounts DICOMweb (with the codec
// transcoder, as `lightbox serve` does) and the viewer; callers add
// handlers to mux, store data through arch, then call start.
func newTestServer(t *testing.T) *testServer {
	t.Helper()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	blobs, err := blobfs.Open(filepath.Join(dir, "blobs"), blobfs.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	idx, err := sqlite.Open(context.Background(), filepath.Join(dir, "index.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	arch := archive.New(blobs, idx, archive.Options{Logger: log})
	t.Cleanup(func() { // runs after the server's cleanup (LIFO)
		arch.Close()
		idx.Close()
	})
	mux := http.NewServeMux()
	mux.Handle(dicomweb.DefaultPrefix+"/", dicomweb.New(arch, dicomweb.Options{Logger: log, TempDir: dir, Transcoder: dicomweb.CodecTranscoder{}}))
	mux.Handle("/", webui.Handler())
	return &testServer{arch: arch, dir: dir, log: log, mux: mux}
}

// start serves mux on loopback until the test ends.
func (s *testServer) start(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(s.mux)
	t.Cleanup(srv.Close)
	return srv
}

// runBrowserScript runs a playwright script under Node with its scenario
// as JSON in the environment variable env, streaming its output to the
// test log, and fails the test with the last lines when the script fails.
func runBrowserScript(t *testing.T, node, script, env string, cfg any, artifacts string) {
	t.Helper()
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Env = append(os.Environ(), env+"="+string(js))
	cmd.WaitDelay = 10 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s %s: %v", node, script, err)
	}
	var tail []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			t.Log(line)
			tail = append(tail, line)
			if len(tail) > 5 {
				tail = tail[1:]
			}
		}
	}()
	werr := cmd.Wait()
	pw.Close()
	<-done
	if werr != nil {
		t.Fatalf("browser: %s failed (%v); screenshots and log in %s; last output:\n%s",
			filepath.Base(script), werr, artifacts, strings.Join(tail, "\n"))
	}
}

// testWriter sends log output to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
