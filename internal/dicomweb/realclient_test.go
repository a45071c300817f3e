package dicomweb

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

var npmOnce sync.Once

// clientDir returns test/dicomweb-client with its npm dependencies
// installed (npm ci, once per test binary).
func clientDir(t *testing.T) string {
	t.Helper()
	node := testenv.RequireTool(t, "node")
	_ = node
	dir := filepath.Join(testenv.RepoRoot(t), "test", "dicomweb-client")
	var err error
	var out []byte
	npmOnce.Do(func() {
		if _, statErr := os.Stat(filepath.Join(dir, "node_modules", "dicomweb-client")); statErr == nil {
			return
		}
		npm := testenv.RequireTool(t, "npm")
		cmd := exec.Command(npm, "ci", "--prefer-offline", "--no-audit", "--no-fund")
		cmd.Dir = dir
		out, err = cmd.CombinedOutput()
	})
	if err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "dicomweb-client")); err != nil {
		t.Fatalf("dicomweb-client is not installed in %s", dir)
	}
	return dir
}

type clientRef struct {
	Study    string `json:"study"`
	Series   string `json:"series"`
	Instance string `json:"instance"`
}

type clientPlan struct {
	URL      string `json:"url"`
	Study    string `json:"study"`
	Series   string `json:"series"`
	Instance string `json:"instance"`
	Frames   struct {
		clientRef
		Numbers []int `json:"numbers"`
	} `json:"frames"`
	Metadata   []clientRef `json:"metadata"`
	Store      []string    `json:"store"`
	StoreStudy string      `json:"storeStudy"`
}

type clientPart struct {
	Length int    `json:"length"`
	SHA    string `json:"sha"`
}

type clientResult struct {
	Studies          []map[string]jsonAttr   `json:"studies"`
	StudiesFiltered  []map[string]jsonAttr   `json:"studiesFiltered"`
	Series           []map[string]jsonAttr   `json:"series"`
	Instances        []map[string]jsonAttr   `json:"instances"`
	StudyMetadata    []map[string]jsonAttr   `json:"studyMetadata"`
	SeriesMetadata   []map[string]jsonAttr   `json:"seriesMetadata"`
	InstanceMetadata []map[string]jsonAttr   `json:"instanceMetadata"`
	MetadataOf       [][]map[string]jsonAttr `json:"metadataOf"`
	Instance         []string                `json:"instance"`
	SeriesParts      []string                `json:"seriesParts"`
	StudyParts       []string                `json:"studyParts"`
	Frames           []clientPart            `json:"frames"`
	Bulk             struct {
		URI   string       `json:"uri"`
		Parts []clientPart `json:"parts"`
	} `json:"bulk"`
	Store        stowResponse          `json:"store"`
	StoredSearch []map[string]jsonAttr `json:"storedSearch"`
}

func refOf(cf corpusFile) clientRef {
	ds := cf.f.Dataset
	return clientRef{ds.String(dicom.TagStudyInstanceUID), ds.String(dicom.TagSeriesInstanceUID), ds.String(dicom.TagSOPInstanceUID)}
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestRealClient drives the server with the dicomweb-client npm package
// under Node: search, metadata, retrieve of an instance, a series and a
// study, frames, bulk data and store, and checks what the client got
// against the original files as the dicom package reads them.
func TestRealClient(t *testing.T) {
	dir := clientDir(t)
	files := append(corpusFiles(t, "charset", "series/toshiba-mr-dti-6slices"), "multiframe/sonosite-us-30f-jpeg.dcm")
	fx := newFixture(t, fixtureOpts{}, files...)

	var plan clientPlan
	plan.URL = fx.base
	var seriesFiles []corpusFile
	for _, cf := range fx.files {
		switch {
		case strings.HasPrefix(cf.path, "series/"):
			seriesFiles = append(seriesFiles, cf)
		case strings.HasPrefix(cf.path, "charset/"):
			plan.Metadata = append(plan.Metadata, refOf(cf))
		case strings.HasPrefix(cf.path, "multiframe/"):
			plan.Frames.clientRef = refOf(cf)
			plan.Frames.Numbers = []int{1, 7, 30}
		}
	}
	sort.Slice(seriesFiles, func(i, j int) bool { return seriesFiles[i].path < seriesFiles[j].path })
	r0 := refOf(seriesFiles[0])
	plan.Study, plan.Series, plan.Instance = r0.Study, r0.Series, r0.Instance
	for _, f := range corpusFiles(t, "series/pydicom-ge-ct-2series") {
		plan.Store = append(plan.Store, corpus(t, f))
		_, df := readCorpus(t, f)
		plan.StoreStudy = df.Dataset.String(dicom.TagStudyInstanceUID)
	}

	planPath := filepath.Join(t.TempDir(), "plan.json")
	pb, _ := json.Marshal(plan)
	if err := os.WriteFile(planPath, pb, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "run.mjs", planPath)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node run.mjs: %v\n%s", err, stderr.String())
	}
	t.Logf("node client ran in %v", time.Since(start).Round(time.Millisecond))
	var res clientResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("client output: %v\n%s\n%s", err, out, stderr.String())
	}
	// Any step that failed reports {"error": ...}; the typed decode above
	// then leaves it empty, so look for errors explicitly.
	var raw map[string]json.RawMessage
	json.Unmarshal(out, &raw)
	for k, v := range raw {
		if bytes.HasPrefix(v, []byte(`{"error"`)) {
			t.Errorf("client step %s failed: %s", k, v)
		}
	}

	// Search.
	studies := map[string]bool{}
	for _, cf := range fx.files {
		studies[cf.f.Dataset.String(dicom.TagStudyInstanceUID)] = true
	}
	if len(res.Studies) != len(studies) {
		t.Errorf("searchForStudies: %d studies, want %d", len(res.Studies), len(studies))
	}
	if len(res.StudiesFiltered) != 1 || res.StudiesFiltered[0]["0020000D"].str(0) != plan.Study {
		t.Errorf("searchForStudies with a UID: %d results", len(res.StudiesFiltered))
	}
	if len(res.Series) != 1 || len(res.Instances) != len(seriesFiles) {
		t.Errorf("searchForSeries: %d, searchForInstances: %d (want 1, %d)", len(res.Series), len(res.Instances), len(seriesFiles))
	}

	// Metadata against the files.
	checkMeta := func(what string, got map[string]jsonAttr) {
		t.Helper()
		sop := got["00080018"].str(0)
		cf, ok := fx.files[sop]
		if !ok {
			t.Errorf("%s: unknown instance %q", what, sop)
			return
		}
		wantJS, err := dicomjson.Marshal(cf.f.Dataset, dicomjson.Options{OmitBulk: true})
		if err != nil {
			t.Fatal(err)
		}
		var want map[string]jsonAttr
		json.Unmarshal(wantJS, &want)
		for tag, w := range want {
			g, ok := got[tag]
			if !ok || g.VR != w.VR || !equalValues(g.Value, w.Value) {
				t.Errorf("%s %s %s: got %s, want %s", what, cf.path, tag, rawAttr(got[tag]), rawAttr(w))
			}
		}
		if px, ok := got["7FE00010"]; ok && cf.f.Dataset.Get(dicom.TagPixelData) != nil && px.BulkDataURI == "" {
			t.Errorf("%s %s: Pixel Data without BulkDataURI", what, cf.path)
		}
	}
	if len(res.MetadataOf) != len(plan.Metadata) {
		t.Errorf("metadata of %d charset instances, want %d", len(res.MetadataOf), len(plan.Metadata))
	}
	for _, m := range res.MetadataOf {
		if len(m) != 1 {
			t.Errorf("instance metadata with %d objects", len(m))
			continue
		}
		checkMeta("charset metadata", m[0])
	}
	for _, m := range res.StudyMetadata {
		checkMeta("study metadata", m)
	}
	if len(res.StudyMetadata) != len(seriesFiles) || len(res.SeriesMetadata) != len(seriesFiles) || len(res.InstanceMetadata) != 1 {
		t.Errorf("metadata counts: study %d, series %d, instance %d", len(res.StudyMetadata), len(res.SeriesMetadata), len(res.InstanceMetadata))
	}

	// Retrieve.
	want := map[string]bool{}
	for _, cf := range seriesFiles {
		want[hex.EncodeToString(cf.sum[:])] = true
	}
	if len(res.Instance) != 1 || res.Instance[0] != hex.EncodeToString(seriesFiles[0].sum[:]) {
		t.Errorf("retrieveInstance: bytes differ from the file")
	}
	for name, parts := range map[string][]string{"retrieveSeries": res.SeriesParts, "retrieveStudy": res.StudyParts} {
		if len(parts) != len(seriesFiles) {
			t.Errorf("%s: %d parts, want %d", name, len(parts), len(seriesFiles))
		}
		for _, s := range parts {
			if !want[s] {
				t.Errorf("%s: a part differs from every file", name)
			}
		}
	}

	// Frames and bulk data of the multiframe JPEG.
	mf := fx.files[plan.Frames.Instance]
	src, err := newFrameSource(mf.f, bytes.NewReader(mf.data))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Frames) != len(plan.Frames.Numbers) {
		t.Fatalf("retrieveInstanceFrames: %d frames, want %d", len(res.Frames), len(plan.Frames.Numbers))
	}
	for i, n := range plan.Frames.Numbers {
		fr, _ := src.frame(n)
		if res.Frames[i].SHA != hexSum(fr) {
			t.Errorf("frame %d differs (%d bytes, want %d)", n, res.Frames[i].Length, len(fr))
		}
	}
	if len(res.Bulk.Parts) != src.frames {
		t.Errorf("retrieveBulkData of Pixel Data: %d parts, want %d frames", len(res.Bulk.Parts), src.frames)
	} else {
		for i, p := range res.Bulk.Parts {
			fr, _ := src.frame(i + 1)
			if p.SHA != hexSum(fr) {
				t.Errorf("bulk data part %d differs from frame %d", i, i+1)
			}
		}
	}

	// Store.
	if len(res.Store.Referenced.Value) != len(plan.Store) || len(res.Store.Failed.Value) != 0 {
		t.Errorf("storeInstances: %d referenced, %d failed, want %d stored", len(res.Store.Referenced.Value), len(res.Store.Failed.Value), len(plan.Store))
	}
	if len(res.StoredSearch) != len(plan.Store) {
		t.Errorf("stored instances found by search: %d, want %d", len(res.StoredSearch), len(plan.Store))
	}
}

func rawAttr(a jsonAttr) string {
	b, _ := json.Marshal(a)
	return string(b)
}
