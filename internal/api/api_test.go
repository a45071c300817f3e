package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/internal/archive"
	blobfs "github.com/lightbox-pacs/lightbox/internal/blob/fs"
	"github.com/lightbox-pacs/lightbox/internal/index/sqlite"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

type fixture struct {
	t    *testing.T
	srv  *httptest.Server
	dir  string
	arch *archive.Archive
}

func newFixture(t *testing.T, opts Options, corpusDirs ...string) *fixture {
	t.Helper()
	return newFixtureArchive(t, opts, archive.Options{}, corpusDirs...)
}

// newFixtureArchive is newFixture over an archive with archOpts.
func newFixtureArchive(t *testing.T, opts Options, archOpts archive.Options, corpusDirs ...string) *fixture {
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
	arch := archive.New(bs, idx, archOpts)
	for _, d := range corpusDirs {
		root := filepath.Join(testenv.CorpusDir(t), d)
		filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() || !strings.HasSuffix(p, ".dcm") {
				return nil
			}
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := arch.Store(context.Background(), f, archive.IngestMeta{Size: info.Size()}); err != nil {
				if _, ok := archive.IsReject(err); !ok {
					t.Fatal(err)
				}
			}
			return nil
		})
	}
	if opts.IndexBackend == "" {
		opts.IndexBackend = "sqlite"
	}
	h := New(arch, opts)
	mux := http.NewServeMux()
	mux.Handle("/api/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		arch.Close()
		idx.Close()
	})
	return &fixture{t: t, srv: srv, dir: dir, arch: arch}
}

func (fx *fixture) call(method, path string, body any, status int, out any) {
	fx.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, fx.srv.URL+"/api"+path, rd)
	resp, err := fx.srv.Client().Do(req)
	if err != nil {
		fx.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		fx.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			fx.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

// TestOpenAPIMatchesRoutes keeps the document and the routes in step.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi version %q", doc.OpenAPI)
	}
	h := &Handler{}
	want := map[string]bool{}
	for _, rt := range h.routes() {
		key := strings.ToLower(rt.method) + " " + rt.path
		want[key] = true
		if _, ok := doc.Paths[rt.path][strings.ToLower(rt.method)]; !ok {
			t.Errorf("route %s %s is not documented", rt.method, rt.path)
		}
	}
	for p, ops := range doc.Paths {
		for m := range ops {
			if m == "parameters" {
				continue
			}
			if !want[m+" "+p] {
				t.Errorf("documented %s %s has no route", m, p)
			}
		}
	}
}

func TestBrowse(t *testing.T) {
	fx := newFixture(t, Options{Storage: DirStorage("fs", t.TempDir())}, "series")
	var sys SystemInfo
	fx.call("GET", "/system", nil, 200, &sys)
	if sys.Version == "" || sys.IndexBackend != "sqlite" || sys.Storage == nil || sys.Storage.Backend != "fs" {
		t.Errorf("system: %+v", sys)
	}
	if sys.Storage != nil && sys.Storage.TotalBytes == 0 {
		t.Errorf("storage size unknown: %+v", sys.Storage)
	}
	var st Statistics
	fx.call("GET", "/statistics", nil, 200, &st)
	if st.Instances == 0 || st.Studies == 0 || st.Bytes == 0 || len(st.Modalities) == 0 {
		t.Errorf("statistics: %+v", st)
	}
	var raw json.RawMessage
	fx.call("GET", "/openapi.json", nil, 200, &raw)

	var pats List[Patient]
	fx.call("GET", "/patients", nil, 200, &pats)
	if pats.Total != st.Patients || len(pats.Items) != st.Patients {
		t.Errorf("patients: total %d, %d items, want %d", pats.Total, len(pats.Items), st.Patients)
	}
	var studies List[Study]
	fx.call("GET", "/studies?limit=1", nil, 200, &studies)
	if studies.Total != st.Studies || len(studies.Items) != 1 {
		t.Errorf("studies: total %d, %d items", studies.Total, len(studies.Items))
	}
	total := 0
	fx.call("GET", "/studies", nil, 200, &studies)
	for _, s := range studies.Items {
		var d StudyDetail
		fx.call("GET", "/studies/"+s.StudyInstanceUID, nil, 200, &d)
		if len(d.Series) != s.NumberOfSeries {
			t.Errorf("study %s: %d series, counted %d", s.StudyInstanceUID, len(d.Series), s.NumberOfSeries)
		}
		for _, se := range d.Series {
			var insts List[Instance]
			fx.call("GET", "/series/"+se.SeriesInstanceUID+"/instances", nil, 200, &insts)
			if len(insts.Items) != se.NumberOfInstances {
				t.Errorf("series %s: %d instances, counted %d", se.SeriesInstanceUID, len(insts.Items), se.NumberOfInstances)
			}
			total += len(insts.Items)
			var one Instance
			fx.call("GET", "/instances/"+insts.Items[0].SOPInstanceUID, nil, 200, &one)
			if len(one.Header) == 0 || one.SHA256 == "" || one.Size == 0 {
				t.Errorf("instance detail lacks header or digest: %+v", one)
			}
			var ss Series
			fx.call("GET", "/series/"+se.SeriesInstanceUID, nil, 200, &ss)
		}
		var ps List[Study]
		fx.call("GET", "/patients/"+s.Patient.PatientID+"/studies", nil, 200, &ps)
		if ps.Total == 0 {
			t.Errorf("patient %q has no studies", s.Patient.PatientID)
		}
	}
	if total != st.Instances {
		t.Errorf("browsed %d instances, statistics say %d", total, st.Instances)
	}
	var mr List[Study]
	fx.call("GET", "/studies?modality=MR", nil, 200, &mr)
	for _, s := range mr.Items {
		if !contains(s.Modalities, "MR") {
			t.Errorf("modality filter returned %v", s.Modalities)
		}
	}
	fx.call("GET", "/studies?bogus=1", nil, 400, nil)
	fx.call("GET", "/studies?StudyDate=garbage", nil, 400, nil)
	fx.call("GET", "/studies/1.2.3", nil, 404, nil)
	fx.call("GET", "/studies/x", nil, 400, nil)
	fx.call("GET", "/nothing", nil, 404, nil)
	var conflicts []json.RawMessage
	fx.call("GET", "/conflicts", nil, 200, &conflicts)

	// Delete a study.
	s := studies.Items[0]
	var del DeleteResult
	fx.call("DELETE", "/studies/"+s.StudyInstanceUID, nil, 200, &del)
	if del.Instances != s.NumberOfInstances {
		t.Errorf("deleted %d instances, want %d", del.Instances, s.NumberOfInstances)
	}
	fx.call("GET", "/studies/"+s.StudyInstanceUID, nil, 404, nil)
	fx.call("DELETE", "/studies/"+s.StudyInstanceUID, nil, 404, nil)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestRemoteAEs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "conf", "remote-aes.json")
	store, err := OpenFileAEStore(path)
	if err != nil {
		t.Fatal(err)
	}
	fx := newFixture(t, Options{RemoteAEs: store})
	ct := RemoteAE{Name: "ct1", AETitle: "CT_SCANNER", Host: "10.0.0.5", Port: 104}
	fx.call("POST", "/remote-aes", ct, 201, nil)
	fx.call("POST", "/remote-aes", ct, 409, nil)
	fx.call("POST", "/remote-aes", RemoteAE{Name: "bad", AETitle: "WAY_TOO_LONG_AE_TITLE", Host: "h", Port: 104}, 400, nil)
	fx.call("POST", "/remote-aes", map[string]any{"name": "x", "aeTitle": "X", "host": "h", "port": 104, "extra": 1}, 400, nil)
	fx.call("POST", "/remote-aes", RemoteAE{Name: "ws", AETitle: "WS", Host: "ws.local", Port: 11112, TLS: true}, 201, nil)
	var got RemoteAE
	fx.call("GET", "/remote-aes/ct1", nil, 200, &got)
	if got != ct {
		t.Errorf("got %+v, want %+v", got, ct)
	}
	ct.Port = 4242
	fx.call("PUT", "/remote-aes/ct1", ct, 200, nil)
	fx.call("PUT", "/remote-aes/other", ct, 400, nil)
	fx.call("PUT", "/remote-aes/nope", RemoteAE{Name: "nope", AETitle: "N", Host: "h", Port: 1}, 404, nil)
	var all []RemoteAE
	fx.call("GET", "/remote-aes", nil, 200, &all)
	if len(all) != 2 || all[0].Name != "ct1" || all[0].Port != 4242 {
		t.Errorf("list: %+v", all)
	}
	fx.call("DELETE", "/remote-aes/ws", nil, 204, nil)
	fx.call("DELETE", "/remote-aes/ws", nil, 404, nil)
	fx.call("GET", "/remote-aes/ws", nil, 404, nil)

	// The file holds the state and reloads.
	again, err := OpenFileAEStore(path)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := again.List(context.Background())
	if len(l) != 1 || l[0] != ct {
		t.Errorf("reloaded %+v", l)
	}
	// Without a store the routes say so.
	fx2 := newFixture(t, Options{})
	fx2.call("GET", "/remote-aes", nil, 501, nil)
}

func TestAuthorize(t *testing.T) {
	fx := newFixture(t, Options{Authorize: func(r *http.Request, write bool) error {
		if write {
			return ErrForbidden
		}
		return nil
	}})
	fx.call("GET", "/statistics", nil, 200, nil)
	fx.call("DELETE", "/studies/1.2.3", nil, 403, nil)
}

func TestRemoteAEValidate(t *testing.T) {
	cases := []struct {
		ae RemoteAE
		ok bool
	}{
		{RemoteAE{Name: "a", AETitle: "A", Host: "h", Port: 104}, true},
		{RemoteAE{Name: "", AETitle: "A", Host: "h", Port: 104}, false},
		{RemoteAE{Name: "a/b", AETitle: "A", Host: "h", Port: 104}, false},
		{RemoteAE{Name: "a", AETitle: "   ", Host: "h", Port: 104}, false},
		{RemoteAE{Name: "a", AETitle: `A\B`, Host: "h", Port: 104}, false},
		{RemoteAE{Name: "a", AETitle: "A", Host: "", Port: 104}, false},
		{RemoteAE{Name: "a", AETitle: "A", Host: "h", Port: 0}, false},
		{RemoteAE{Name: "a", AETitle: "A", Host: "h", Port: 70000}, false},
	}
	for _, c := range cases {
		if err := c.ae.Validate(); (err == nil) != c.ok {
			t.Errorf("%+v: err %v, want ok=%v", c.ae, err, c.ok)
		}
	}
	keys := []string{}
	for k := range friendly {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) == 0 {
		t.Fatal("no friendly parameters")
	}
}
