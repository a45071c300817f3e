package dicomweb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	blobfs "github.com/lightbox-pacs/lightbox/internal/blob/fs"
	"github.com/lightbox-pacs/lightbox/internal/index/sqlite"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// fixture is a DICOMweb service over a real archive (SQLite index, fs
// blobs) in a temporary directory, served by an httptest server.
type fixture struct {
	t    testing.TB
	arch *archive.Archive
	svc  *Service
	srv  *httptest.Server
	base string // URL of the prefix
	// files maps SOP Instance UID to the corpus file it came from.
	files map[string]corpusFile
}

// corpusFile is one loaded file with what the dicom package reads from it.
type corpusFile struct {
	path string
	f    *dicom.File
	sum  [32]byte
	data []byte
}

type fixtureOpts struct {
	opts   Options
	h2c    bool
	noLoad bool
}

func newFixture(t testing.TB, fo fixtureOpts, files ...string) *fixture {
	t.Helper()
	dir := t.TempDir()
	bs, err := blobfs.Open(filepath.Join(dir, "blobs"), blobfs.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	idx, err := sqlite.Open(context.Background(), filepath.Join(dir, "index.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelError}))
	arch := archive.New(bs, idx, archive.Options{Logger: log})
	if fo.opts.Logger == nil {
		fo.opts.Logger = log
	}
	if fo.opts.TempDir == "" {
		fo.opts.TempDir = dir
	}
	svc := New(arch, fo.opts)
	mux := http.NewServeMux()
	mux.Handle(svc.prefix+"/", svc)
	srv := httptest.NewUnstartedServer(mux)
	if fo.h2c {
		srv.Config.Protocols = Protocols()
	}
	srv.Start()
	fx := &fixture{t: t, arch: arch, svc: svc, srv: srv, base: srv.URL + svc.prefix, files: map[string]corpusFile{}}
	t.Cleanup(func() {
		srv.Close()
		arch.Close()
		idx.Close()
	})
	for _, f := range files {
		fx.load(f)
	}
	return fx
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// corpus returns the absolute path of a corpus file or directory.
func corpus(t testing.TB, rel string) string {
	return filepath.Join(testenv.CorpusDir(t), rel)
}

// corpusFiles lists the .dcm files under corpus directories.
func corpusFiles(t testing.TB, dirs ...string) []string {
	var out []string
	for _, d := range dirs {
		root := corpus(t, d)
		filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() && strings.HasSuffix(p, ".dcm") {
				rel, _ := filepath.Rel(testenv.CorpusDir(t), p)
				out = append(out, rel)
			}
			return nil
		})
	}
	sort.Strings(out)
	return out
}

// load stores a corpus file through the archive and remembers it.
func (fx *fixture) load(rel string) archive.Result {
	fx.t.Helper()
	p := corpus(fx.t, rel)
	data, err := os.ReadFile(p)
	if err != nil {
		fx.t.Fatal(err)
	}
	res, err := fx.arch.Store(context.Background(), bytes.NewReader(data), archive.IngestMeta{Size: int64(len(data)), Source: rel})
	if _, ok := archive.IsReject(err); ok {
		fx.t.Logf("corpus file %s not storable: %v", rel, err)
		return res
	}
	if err != nil {
		fx.t.Fatalf("store %s: %v", rel, err)
	}
	if res.Outcome != archive.OutcomeStored {
		return res // a duplicate SOP Instance UID in the corpus: the first one stays
	}
	f, err := dicom.Read(bytes.NewReader(data), int64(len(data)), dicom.ReadOptions{})
	if err != nil {
		fx.t.Fatalf("read %s: %v", rel, err)
	}
	if _, dup := fx.files[res.SOPInstanceUID]; !dup {
		fx.files[res.SOPInstanceUID] = corpusFile{path: rel, f: f, sum: sha256.Sum256(data), data: data}
	}
	return res
}

// get performs a GET with headers given as "Name: value" strings.
func (fx *fixture) get(url string, headers ...string) *http.Response {
	fx.t.Helper()
	return fx.do("GET", url, nil, headers...)
}

func (fx *fixture) do(method, url string, body io.Reader, headers ...string) *http.Response {
	fx.t.Helper()
	if !strings.HasPrefix(url, "http") {
		url = fx.base + url
	}
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		fx.t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := fx.srv.Client().Do(req)
	if err != nil {
		fx.t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp
}

// body reads and closes a response body, checking the status.
func body(t testing.TB, resp *http.Response, status int) []byte {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d: %s", resp.Request.Method, resp.Request.URL, resp.StatusCode, status, b)
	}
	return b
}

// getJSON GETs a DICOM JSON array.
func (fx *fixture) getJSON(url string, headers ...string) []map[string]jsonAttr {
	fx.t.Helper()
	resp := fx.get(url, append([]string{"Accept: application/dicom+json"}, headers...)...)
	b := body(fx.t, resp, http.StatusOK)
	var out []map[string]jsonAttr
	if err := json.Unmarshal(b, &out); err != nil {
		fx.t.Fatalf("GET %s: %v in %s", url, err, b)
	}
	return out
}

// jsonAttr is a DICOM JSON attribute as decoded for comparisons.
type jsonAttr struct {
	VR           string            `json:"vr"`
	Value        []json.RawMessage `json:"Value,omitempty"`
	InlineBinary string            `json:"InlineBinary,omitempty"`
	BulkDataURI  string            `json:"BulkDataURI,omitempty"`
}

func (a jsonAttr) str(i int) string {
	if i >= len(a.Value) {
		return ""
	}
	var s string
	if json.Unmarshal(a.Value[i], &s) == nil {
		return s
	}
	return string(a.Value[i])
}

// parts reads a multipart/related response into its parts.
type part struct {
	header http.Header
	data   []byte
}

func readParts(t testing.TB, resp *http.Response) []part {
	t.Helper()
	defer resp.Body.Close()
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/related" {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s: Content-Type %q (%v), status %d: %s", resp.Request.URL, resp.Header.Get("Content-Type"), err, resp.StatusCode, b)
	}
	mr := multipart.NewReader(resp.Body, params["boundary"])
	var out []part
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, part{http.Header(p.Header), b})
	}
	return out
}

// multipartBody builds a STOW-RS body from the given part contents.
func multipartBody(t testing.TB, parts ...[]byte) (io.Reader, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		w, err := mw.CreatePart(map[string][]string{"Content-Type": {"application/dicom"}})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(p)
	}
	mw.Close()
	return &buf, `multipart/related; type="application/dicom"; boundary=` + mw.Boundary()
}
