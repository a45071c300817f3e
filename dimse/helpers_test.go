package dimse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
	"github.com/lightbox-pacs/lightbox/ul"
)

// diskStore is the test StoreHandler: it writes each instance as a Part 10
// file into dir, fsyncs it, checks that it parses and that its SOP
// Instance UID matches the command, and only then answers success.
type diskStore struct {
	dir    string
	n      atomic.Int64
	mu     sync.Mutex
	byUID  map[string]string // SOP Instance UID -> file
	reqs   []StoreRequest
	verify bool
}

func newDiskStore(t testing.TB) *diskStore {
	return &diskStore{dir: t.TempDir(), byUID: map[string]string{}, verify: true}
}

func (d *diskStore) Store(ctx context.Context, req *StoreRequest, data io.Reader) Result {
	f, err := os.CreateTemp(d.dir, "in-*.tmp")
	if err != nil {
		return Result{Status: StatusOutOfResources, ErrorComment: err.Error()}
	}
	tmp := f.Name()
	fail := func(st Status, err error) Result {
		f.Close()
		os.Remove(tmp)
		return Result{Status: st, ErrorComment: err.Error()}
	}
	if err := req.WriteFileHeader(f); err != nil {
		return fail(StatusOutOfResources, err)
	}
	if _, err := io.Copy(f, data); err != nil {
		return fail(StatusOutOfResources, err)
	}
	if err := f.Sync(); err != nil {
		return fail(StatusOutOfResources, err)
	}
	if err := f.Close(); err != nil {
		return fail(StatusOutOfResources, err)
	}
	if d.verify {
		pf, err := dicom.ReadFile(tmp, dicom.ReadOptions{})
		if err != nil {
			os.Remove(tmp)
			return Result{Status: StatusCannotUnderstand, ErrorComment: err.Error()}
		}
		if uid := pf.Dataset.String(dicom.TagSOPInstanceUID); uid != "" && uid != req.SOPInstanceUID {
			os.Remove(tmp)
			return Result{Status: StatusDataSetDoesNotMatchSOPClass, ErrorComment: fmt.Sprintf("data set SOP Instance UID %q differs from the command's", uid)}
		}
	}
	final := filepath.Join(d.dir, fmt.Sprintf("%d.dcm", d.n.Add(1)))
	if err := os.Rename(tmp, final); err != nil {
		return Result{Status: StatusOutOfResources, ErrorComment: err.Error()}
	}
	d.mu.Lock()
	d.byUID[req.SOPInstanceUID] = final
	d.reqs = append(d.reqs, *req)
	d.mu.Unlock()
	return Result{}
}

func (d *diskStore) file(uid string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.byUID[uid]
}

func (d *diskStore) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.byUID)
}

// testLogger logs to the test at level (Warn unless -v wants Debug).
func testLogger(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if testing.Verbose() && os.Getenv("DIMSE_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(&tbWriter{t: t}, &slog.HandlerOptions{Level: level}))
}

type tbWriter struct {
	t  testing.TB
	mu sync.Mutex
}

func (w *tbWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// serve runs s on a loopback port until the test ends and returns the address.
func serve(t testing.TB, s *Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if s.Logger == nil {
		s.Logger = testLogger(t)
	}
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-errc; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return ln.Addr().String()
}

// corpusFile is one file of the shared corpus.
type corpusFile struct {
	rel, path string
	category  string
}

// corpus lists the corpus files (optionally only the given categories).
func corpus(t testing.TB, categories ...string) []corpusFile {
	t.Helper()
	root := testenv.CorpusDir(t)
	var out []corpusFile
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if !strings.Contains(rel, string(filepath.Separator)) {
			return nil // MANIFEST.tsv, README.md
		}
		cat := strings.SplitN(rel, string(filepath.Separator), 2)[0]
		if len(categories) > 0 && !contains(categories, cat) {
			return nil
		}
		out = append(out, corpusFile{rel: rel, path: p, category: cat})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out
}

// sample keeps, under the race detector, every file of the categories
// listed in full and the first two of every other category.
func sample(files []corpusFile, full ...string) []corpusFile {
	if !raceEnabled {
		return files
	}
	var out []corpusFile
	n := map[string]int{}
	for _, f := range files {
		if contains(full, f.category) || n[f.category] < 2 {
			out = append(out, f)
		}
		n[f.category]++
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// datasetBytes returns the data set bytes of a Part 10 file (after File Meta).
func datasetBytes(t testing.TB, path string) ([]byte, string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := openSeekable(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if _, err := f.Seek(s.dataOffset, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b, s.TransferSyntax
}

// needsRewrite reports whether the file's data set is re-encoded when sent.
func needsRewrite(t testing.TB, path string) bool {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := openSeekable(f)
	return err == nil && s.rewrite
}

// dialStore associates with addr proposing contexts for the instances.
func dialFor(t testing.TB, addr string, instances []Instance, mod func(*ClientConfig)) *Client {
	t.Helper()
	cfg := ClientConfig{CallingAE: "TESTSCU", CalledAE: "LIGHTBOX", Contexts: append(VerificationContexts(), ContextsFor(instances)...),
		UL: ul.Config{Logger: testLogger(t)}}
	if mod != nil {
		mod(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Abort() })
	return c
}

// waitGoroutines waits until the goroutine count drops to at most n.
func waitGoroutines(t testing.TB, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines still running after %s, want <= %d:\n%s", runtime.NumGoroutine(), within, n, buf)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var _ = bytes.Equal
