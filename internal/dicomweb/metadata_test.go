package dicomweb

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/blob"
	blobfs "github.com/lightbox-pacs/lightbox/internal/blob/fs"
	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/index/sqlite"
)

// countingStore is a real blob store that counts the blobs opened.
type countingStore struct {
	blob.Store
	opens atomic.Int64
}

func (c *countingStore) Open(ctx context.Context, key string) (blob.Reader, error) {
	c.opens.Add(1)
	return c.Store.Open(ctx, key)
}

// newCountingFixture is newFixture over a countingStore, with the
// metadata cache off so that every blob read shows. It stores every
// corpus file under dirs that the archive accepts.
func newCountingFixture(t *testing.T, dirs ...string) (*fixture, *countingStore) {
	t.Helper()
	dir := t.TempDir()
	fsStore, err := blobfs.Open(filepath.Join(dir, "blobs"), blobfs.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	cs := &countingStore{Store: fsStore}
	idx, err := sqlite.Open(context.Background(), filepath.Join(dir, "index.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelError}))
	arch := archive.New(cs, idx, archive.Options{Logger: log})
	svc := New(arch, Options{Logger: log, TempDir: dir, MetadataCacheBytes: -1})
	mux := http.NewServeMux()
	mux.Handle(svc.prefix+"/", svc)
	srv := httptest.NewServer(mux)
	fx := &fixture{t: t, arch: arch, svc: svc, srv: srv, base: srv.URL + svc.prefix, files: map[string]corpusFile{}}
	t.Cleanup(func() {
		srv.Close()
		arch.Close()
		idx.Close()
	})
	stored := 0
	for _, rel := range corpusFiles(t, dirs...) {
		data, err := os.ReadFile(corpus(t, rel))
		if err != nil {
			t.Fatal(err)
		}
		res, err := arch.Store(context.Background(), bytes.NewReader(data), archive.IngestMeta{Size: int64(len(data)), Source: rel})
		if err != nil {
			continue // not every corpus file imports (malformed ones, missing UIDs)
		}
		if res.Outcome == archive.OutcomeStored {
			stored++
		}
	}
	if stored == 0 {
		t.Fatal("no corpus file imported")
	}
	return fx, cs
}

// blobMetadata is the metadata of rec as read from its blob (the path
// every instance took before stored headers recorded bulk values), with
// BulkDataURIs made absolute as served.
func blobMetadata(t *testing.T, fx *fixture, rec *index.InstanceRecord) []byte {
	t.Helper()
	f, br, err := fx.svc.readHeader(context.Background(), rec)
	if err != nil {
		t.Fatal(err)
	}
	br.Close()
	js, err := marshalMetadata(f)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	bw := &errWriter{w: &out}
	writeExpanded(bw, js, instanceURL(fx.base, rec))
	return out.Bytes()
}

// compareMetadata reports, element by element, how got differs from want.
func compareMetadata(t *testing.T, what string, got, want []byte) {
	t.Helper()
	var g, w map[string]any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: served metadata is not a JSON object: %v: %.200s", what, err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: blob metadata is not a JSON object: %v", what, err)
	}
	keys := map[string]bool{}
	for k := range g {
		keys[k] = true
	}
	for k := range w {
		keys[k] = true
	}
	var diffs []string
	for k := range keys {
		gv, gok := g[k]
		wv, wok := w[k]
		switch {
		case !gok:
			diffs = append(diffs, fmt.Sprintf("%s missing (want %.120v)", k, wv))
		case !wok:
			diffs = append(diffs, fmt.Sprintf("%s extra (%.120v)", k, gv))
		case !reflect.DeepEqual(gv, wv):
			diffs = append(diffs, fmt.Sprintf("%s = %.120v, want %.120v", k, gv, wv))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("%s: metadata differs from the blob's in %d elements:\n%s", what, len(diffs), strings.Join(diffs, "\n"))
	}
}

// bulkURIs collects the BulkDataURIs of a DICOM JSON value, nested ones
// included.
func bulkURIs(v any, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		if u, ok := x["BulkDataURI"].(string); ok {
			*out = append(*out, u)
		}
		for _, e := range x {
			bulkURIs(e, out)
		}
	case []any:
		for _, e := range x {
			bulkURIs(e, out)
		}
	}
}

// TestMetadataFromIndex serves /metadata of every corpus file that imports
// and checks it against the blob-reading path, element by element, with
// no blob opened; and that rows stored without bulk values recorded still
// give the same answer through the blob.
func TestMetadataFromIndex(t *testing.T) {
	fx, cs := newCountingFixture(t, "")
	ctx := context.Background()
	recs, err := fx.arch.Index().Find(ctx, index.Query{Level: index.InstanceLevel, IncludeHeader: true})
	if err != nil {
		t.Fatal(err)
	}
	// Instances whose UIDs are not valid UIDs cannot be addressed.
	recs = slices.DeleteFunc(recs, func(r index.InstanceRecord) bool {
		return !validUID(r.Study.StudyInstanceUID) || !validUID(r.Series.SeriesInstanceUID) || !validUID(r.Instance.SOPInstanceUID)
	})
	complete, withBulk := 0, 0
	studies := map[string]int{}
	for i := range recs {
		rec := &recs[i]
		studies[rec.Study.StudyInstanceUID]++
		if !archive.HeaderComplete(rec.Header) {
			t.Logf("%s: stored header not complete; served from the blob", rec.Instance.SOPInstanceUID)
			continue
		}
		complete++
		url := instanceURL(fx.base, rec)
		want := blobMetadata(t, fx, rec)
		before := cs.opens.Load()
		resp := fx.get(url+"/metadata", "Accept: application/dicom+json")
		got := body(t, resp, http.StatusOK)
		if n := cs.opens.Load() - before; n != 0 {
			t.Errorf("%s: /metadata opened %d blobs", rec.Instance.SOPInstanceUID, n)
		}
		var arr []json.RawMessage
		if err := json.Unmarshal(got, &arr); err != nil || len(arr) != 1 {
			t.Fatalf("%s: /metadata is not a one-element array: %v", rec.Instance.SOPInstanceUID, err)
		}
		compareMetadata(t, rec.Instance.SOPInstanceUID, arr[0], want)
		var obj map[string]any
		json.Unmarshal(arr[0], &obj)
		var uris []string
		bulkURIs(obj, &uris)
		for _, u := range uris {
			if !strings.HasPrefix(u, url+"/bulkdata/") {
				t.Errorf("%s: BulkDataURI %q is not under the instance URL", rec.Instance.SOPInstanceUID, u)
			}
		}
		if len(uris) > 0 {
			withBulk++
		}
	}
	// Nearly every corpus file has sorted tags; out-of-order ones are the
	// only ones allowed to fall back.
	if complete < len(recs)*9/10 {
		t.Errorf("only %d of %d stored headers are complete", complete, len(recs))
	}
	if withBulk < complete/2 {
		t.Errorf("only %d of %d instances have BulkDataURIs", withBulk, complete)
	}
	t.Logf("%d instances, %d served from the index, %d with bulk data", len(recs), complete, withBulk)

	// Study level: one index query, no blob, instances in order.
	for study, n := range studies {
		before := cs.opens.Load()
		var arr []json.RawMessage
		b := body(t, fx.get("/studies/"+study+"/metadata", "Accept: application/dicom+json"), http.StatusOK)
		if err := json.Unmarshal(b, &arr); err != nil || len(arr) != n {
			t.Fatalf("study %s: %d metadata objects (%v), want %d", study, len(arr), err, n)
		}
		if opened := cs.opens.Load() - before; opened != 0 && n > 1 {
			var all []index.InstanceRecord
			all, _ = fx.arch.Index().Find(ctx, index.Query{Level: index.InstanceLevel, IncludeHeader: true,
				Matches: []index.Match{{Key: index.StudyInstanceUID, Value: study}}})
			incomplete := 0
			for _, r := range all {
				if !archive.HeaderComplete(r.Header) {
					incomplete++
				}
			}
			if int64(incomplete) != opened {
				t.Errorf("study %s: %d blobs opened for %d incomplete headers", study, opened, incomplete)
			}
		}
	}

	// Rows stored before this change: the header without bulk values and
	// without the mark. They are served from the blob, identically.
	old := 0
	for i := range recs {
		rec := recs[i]
		if !archive.HeaderComplete(rec.Header) || old >= 8 {
			continue
		}
		rf, br, err := fx.svc.readHeader(ctx, &rec)
		if err != nil {
			t.Fatal(err)
		}
		br.Close()
		legacy, err := dicomjson.Marshal(rf.Dataset, dicomjson.Options{OmitBulk: true})
		if err != nil {
			t.Fatal(err)
		}
		rec.Header = legacy
		if _, err := fx.arch.Index().Replace(ctx, rec); err != nil {
			t.Fatal(err)
		}
		want := blobMetadata(t, fx, &rec)
		before := cs.opens.Load()
		got := body(t, fx.get(instanceURL(fx.base, &rec)+"/metadata", "Accept: application/dicom+json"), http.StatusOK)
		if cs.opens.Load() == before {
			t.Errorf("%s: legacy header served without reading the blob", rec.Instance.SOPInstanceUID)
		}
		var arr []json.RawMessage
		if err := json.Unmarshal(got, &arr); err != nil || len(arr) != 1 {
			t.Fatalf("%s: legacy /metadata: %v", rec.Instance.SOPInstanceUID, err)
		}
		compareMetadata(t, "legacy "+rec.Instance.SOPInstanceUID, arr[0], want)
		old++
	}
	if old == 0 {
		t.Fatal("no legacy row exercised")
	}

	// A study mixing both kinds of rows: every other one legacy. The
	// response keeps the index's order and matches the blobs.
	big := ""
	for study, n := range studies {
		if n > studies[big] {
			big = study
		}
	}
	match := []index.Match{{Key: index.StudyInstanceUID, Value: big}}
	rows, err := fx.arch.Index().Find(ctx, index.Query{Level: index.InstanceLevel, IncludeHeader: true, Matches: match})
	if err != nil || len(rows) < 3 {
		t.Fatalf("study %s: %d rows, %v", big, len(rows), err)
	}
	for i := range rows {
		if i%2 == 1 && archive.HeaderComplete(rows[i].Header) {
			rows[i].Header = bytes.TrimSuffix(rows[i].Header, []byte("\n"))
			if _, err := fx.arch.Index().Replace(ctx, rows[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	rows, err = fx.arch.Index().Find(ctx, index.Query{Level: index.InstanceLevel, IncludeHeader: true, Matches: match})
	if err != nil {
		t.Fatal(err)
	}
	before := cs.opens.Load()
	var arr []json.RawMessage
	b := body(t, fx.get("/studies/"+big+"/metadata", "Accept: application/dicom+json"), http.StatusOK)
	if err := json.Unmarshal(b, &arr); err != nil || len(arr) != len(rows) {
		t.Fatalf("mixed study %s: %d metadata objects (%v), want %d", big, len(arr), err, len(rows))
	}
	legacy := 0
	for i := range rows {
		if !archive.HeaderComplete(rows[i].Header) {
			legacy++
		}
	}
	if opened := cs.opens.Load() - before; opened != int64(legacy) || legacy == 0 {
		t.Errorf("mixed study: %d blobs opened for %d legacy rows", opened, legacy)
	}
	for i := range rows {
		compareMetadata(t, fmt.Sprintf("mixed study, instance %d", i), arr[i], blobMetadata(t, fx, &rows[i]))
	}
}

// TestQIDOIncludeAllHidesStoredBulkURIs checks that searches do not show
// the relative BulkDataURIs of stored headers, top-level or nested, while
// /metadata does.
func TestQIDOIncludeAllHidesStoredBulkURIs(t *testing.T) {
	fx := newFixture(t, fixtureOpts{}, "vl-sm/xc-photo-with-icon.dcm", "other-sop/ecg-12lead-mortara.dcm", "ct/"+firstCT(t))
	for _, level := range []string{"/instances", "/series", "/studies"} {
		b := body(t, fx.get(level+"?includefield=all", "Accept: application/dicom+json"), http.StatusOK)
		if bytes.Contains(b, []byte("BulkDataURI")) {
			t.Errorf("%s?includefield=all shows BulkDataURIs: %.300s", level, b)
		}
		var arr []map[string]json.RawMessage
		if err := json.Unmarshal(b, &arr); err != nil || len(arr) == 0 {
			t.Fatalf("%s: %v", level, err)
		}
	}
	// The icon's pixel data is nested in (0088,0200): kept in the search
	// result without it, and in /metadata with it.
	b := body(t, fx.get("/instances?includefield=00880200", "Accept: application/dicom+json"), http.StatusOK)
	if !bytes.Contains(b, []byte(`"00880200"`)) {
		t.Errorf("icon image sequence missing from the search: %.300s", b)
	}
	for uid, cf := range fx.files {
		if cf.path != "vl-sm/xc-photo-with-icon.dcm" {
			continue
		}
		recs, err := fx.arch.Index().Find(context.Background(), index.Query{Level: index.InstanceLevel,
			Matches: []index.Match{{Key: index.SOPInstanceUID, Value: uid}}})
		if err != nil || len(recs) != 1 {
			t.Fatalf("find %s: %v", uid, err)
		}
		url := instanceURL(fx.base, &recs[0])
		md := body(t, fx.get(url+"/metadata", "Accept: application/dicom+json"), http.StatusOK)
		want := `"BulkDataURI":"` + url + `/bulkdata/00880200/0/7FE00010"`
		if !bytes.Contains(md, []byte(want)) {
			t.Errorf("metadata lacks %s", want)
		}
		return
	}
	t.Fatal("icon corpus file not stored")
}

func firstCT(t *testing.T) string {
	m, _ := filepath.Glob(corpus(t, "ct/*.dcm"))
	if len(m) == 0 {
		t.Fatal("no CT in the corpus")
	}
	return filepath.Base(m[0])
}

func TestTSInsertAt(t *testing.T) {
	for _, c := range []struct {
		name, obj string
		at        int
		ok, err   bool
	}{
		{"empty", `{}`, 1, true, false},
		{"first", `{"00080005":{"vr":"CS","Value":["ISO_IR 100"]}}`, 1, true, false},
		{"after group 0000", `{"00000000":{"vr":"UL","Value":[4]},"00080005":{"vr":"CS"}}`, 36, true, false},
		{"after a lower group 2 tag", `{"00020002":{"vr":"UI","Value":["1.2"]}}`, 39, true, false},
		{"present", `{"00020002":{"vr":"UI","Value":["1.2"]},"00020010":{"vr":"UI","Value":["1.2.840.10008.1.2"]}}`, 40, false, false},
		{"braces and quotes in text", `{"00010001":{"vr":"LO","Value":["}\"]{"]},"00100010":{"vr":"PN"}}`, 42, true, false},
		{"not an object", `[]`, 0, false, true},
		{"bad key", `{"x":1}`, 0, false, true},
		{"truncated", `{"00000001":{"vr":"UL","Value":[1]`, 0, false, true},
		{"unbalanced", `{"00000001":}}`, 0, false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			at, ok, err := tsInsertAt([]byte(c.obj))
			if (err != nil) != c.err || err == nil && (at != c.at || ok != c.ok) {
				t.Errorf("tsInsertAt(%s) = %d, %v, %v; want %d, %v, error %v", c.obj, at, ok, err, c.at, c.ok, c.err)
			}
		})
	}
}

func TestStripBulkURIs(t *testing.T) {
	const px = `{"vr":"OW","BulkDataURI":"bulkdata/7FE00010"}`
	for _, c := range []struct{ name, in, want string }{
		{"no bulk", `{"vr":"LO","Value":["x"]}`, `{"vr":"LO","Value":["x"]}`},
		{"top-level bulk", px, ""},
		{"sole nested", `{"vr":"SQ","Value":[{"7FE00010":{"vr":"OB","BulkDataURI":"bulkdata/00880200/0/7FE00010"}}]}`, `{"vr":"SQ","Value":[{}]}`},
		{"nested last", `{"vr":"SQ","Value":[{"00280010":{"vr":"US","Value":[64]},"7FE00010":{"vr":"OB","BulkDataURI":"bulkdata/00880200/0/7FE00010"}}]}`,
			`{"vr":"SQ","Value":[{"00280010":{"vr":"US","Value":[64]}}]}`},
		{"nested first, two items", `{"vr":"SQ","Value":[{"54001010":{"vr":"OW","BulkDataURI":"bulkdata/54000100/0/54001010"},"003A0005":{"vr":"US","Value":[3]}},{"54001010":{"vr":"OW","BulkDataURI":"bulkdata/54000100/1/54001010"}}]}`,
			`{"vr":"SQ","Value":[{"003A0005":{"vr":"US","Value":[3]}},{}]}`},
		{"adjacent", `{"vr":"SQ","Value":[{"00111010":{"vr":"OB","BulkDataURI":"bulkdata/00090010/0/00111010"},"00111011":{"vr":"OB","BulkDataURI":"bulkdata/00090010/0/00111011"}}]}`,
			`{"vr":"SQ","Value":[{}]}`},
		{"text that looks like one", `{"vr":"LT","Value":["\"BulkDataURI\":\"bulkdata/x"]}`, `{"vr":"LT","Value":["\"BulkDataURI\":\"bulkdata/x"]}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := stripBulkURIs([]byte(c.in))
			if string(got) != c.want {
				t.Errorf("stripBulkURIs(%s) = %s, want %s", c.in, got, c.want)
			}
			if got != nil && !json.Valid(got) {
				t.Errorf("stripBulkURIs(%s) = %s: not JSON", c.in, got)
			}
		})
	}
}

// FuzzStoredMetadata feeds arbitrary stored headers to the code that
// serves and searches them: it must not panic, and from a JSON object it
// must make JSON.
func FuzzStoredMetadata(f *testing.F) {
	for _, s := range []string{
		`{}`,
		`{"00080005":{"vr":"CS","Value":["ISO_IR 100"]},"7FE00010":{"vr":"OW","BulkDataURI":"bulkdata/7FE00010"}}`,
		`{"00880200":{"vr":"SQ","Value":[{"7FE00010":{"vr":"OB","BulkDataURI":"bulkdata/00880200/0/7FE00010"}}]}}`,
		`{"00020010":{"vr":"UI","Value":["1.2.840.10008.1.2"]}}`,
		`{"00010001":{"vr":"LO","Value":["}\"]{"]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, hdr []byte) {
		rec := index.InstanceRecord{Header: append(append([]byte{}, hdr...), '\n')}
		rec.Instance.TransferSyntaxUID = "1.2.840.10008.1.2.1"
		var sm storedMetadata
		js, err := sm.build(&rec)
		valid := json.Valid(hdr) && len(hdr) > 0 && hdr[0] == '{'
		if err == nil && valid && !json.Valid(js) {
			t.Errorf("build(%s) = %s: not JSON", hdr, js)
		}
		var out bytes.Buffer
		writeExpanded(&errWriter{w: &out}, js, "http://h/studies/1/series/2/instances/3")
		if err == nil && valid && !json.Valid(out.Bytes()) {
			t.Errorf("expanded %s: not JSON", out.Bytes())
		}
		if valid {
			eachTopLevel(hdr, func(_ uint32, v []byte) {
				if s := stripBulkURIs(v); s != nil && json.Valid(v) && !json.Valid(s) {
					t.Errorf("stripBulkURIs(%s) = %s: not JSON", v, s)
				}
			})
		}
	})
}
