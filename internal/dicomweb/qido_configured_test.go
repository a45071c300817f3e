package dicomweb

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dict"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	blobfs "github.com/lightbox-pacs/lightbox/internal/blob/fs"
	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/index/sqlite"
)

type testDict struct{}

func (testDict) ByKeyword(k string) (uint32, string, bool) {
	e, ok := dict.ByKeyword(k)
	return e.Tag, dict.FirstVR(e.VR), ok
}

func (testDict) ByTag(tag uint32) (string, string, bool) {
	e, ok := dict.Lookup(tag)
	return e.Keyword, dict.FirstVR(e.VR), ok && e.Keyword != ""
}

// newConfiguredFixture is newFixture over an index with configured query
// attributes.
func newConfiguredFixture(t *testing.T, specs []string, files ...string) *fixture {
	t.Helper()
	var attrs []index.Attribute
	for _, s := range specs {
		a, err := index.ParseAttributeSpec(s, testDict{})
		if err != nil {
			t.Fatal(err)
		}
		attrs = append(attrs, a)
	}
	dir := t.TempDir()
	bs, err := blobfs.Open(filepath.Join(dir, "blobs"), blobfs.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	idx, err := sqlite.Open(context.Background(), filepath.Join(dir, "index.db"), sqlite.Options{QueryAttributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelError}))
	arch := archive.New(bs, idx, archive.Options{Logger: log})
	svc := New(arch, Options{Logger: log, TempDir: dir})
	mux := http.NewServeMux()
	mux.Handle(svc.prefix+"/", svc)
	srv := httptest.NewServer(mux)
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

// TestQIDOConfiguredKeys: configured attributes outside the model match in
// QIDO-RS searches at their level and across levels, and are returned;
// keys that are not configured are ignored with a Warning; orderby sorts.
func TestQIDOConfiguredKeys(t *testing.T) {
	fx := newConfiguredFixture(t, []string{"SERIES:ProtocolName", "OperatorsName", "SERIES:(0009,xx01)@GEMS_IDEN_01/LO"},
		corpusFiles(t, "mr", "ct")...)
	wantSeries, wantStudies, wantGE := map[string]bool{}, map[string]bool{}, map[string]bool{}
	var wantOps []string
	allSeries := map[string]bool{}
	for sop, cf := range fx.files {
		ds := cf.f.Dataset
		allSeries[ds.String(dicom.TagSeriesInstanceUID)] = true
		if strings.HasPrefix(ds.String(dicom.Tag(0x00181030)), "t1_vibe") {
			wantSeries[ds.String(dicom.TagSeriesInstanceUID)] = true
			wantStudies[ds.String(dicom.TagStudyInstanceUID)] = true
		}
		if ds.String(dicom.Tag(0x00090010)) == "GEMS_IDEN_01" && strings.HasPrefix(ds.String(dicom.Tag(0x00091001)), "CT_LIGHT") {
			wantGE[ds.String(dicom.TagSeriesInstanceUID)] = true
		}
		if strings.EqualFold(ds.String(dicom.Tag(0x00081070)), "MEDUSER") {
			wantOps = append(wantOps, sop)
		}
	}
	if len(wantSeries) == 0 || len(wantOps) < 2 || len(wantGE) == 0 {
		t.Fatalf("corpus changed: %v %v", wantSeries, wantOps)
	}
	uids := func(res []map[string]jsonAttr, tag string) []string {
		var out []string
		for _, r := range res {
			out = append(out, r[tag].str(0))
		}
		slices.Sort(out)
		return out
	}
	keys := func(m map[string]bool) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		slices.Sort(out)
		return out
	}

	res := fx.getJSON("/series?ProtocolName=t1_vibe*")
	if got := uids(res, "0020000E"); !slices.Equal(got, keys(wantSeries)) {
		t.Errorf("series ProtocolName=t1_vibe*: %v, want %v", got, keys(wantSeries))
	}
	for _, r := range res {
		if p := r["00181030"].str(0); !strings.HasPrefix(p, "t1_vibe") {
			t.Errorf("ProtocolName returned as %q", p)
		}
	}
	if got := uids(fx.getJSON("/studies?00181030=t1_vibe*"), "0020000D"); !slices.Equal(got, keys(wantStudies)) {
		t.Errorf("studies with a t1_vibe series: %v, want %v", got, keys(wantStudies))
	}
	// A private configured attribute, named by its tag (QIDO-RS cannot name
	// the creator; the configured one applies).
	if got := uids(fx.getJSON("/series?00091001=CT_LIGHT*"), "0020000E"); !slices.Equal(got, keys(wantGE)) {
		t.Errorf("series 00091001=CT_LIGHT*: %v, want %v", got, keys(wantGE))
	}
	slices.Sort(wantOps)
	if got := uids(fx.getJSON("/instances?OperatorsName=meduser"), "00080018"); !slices.Equal(got, wantOps) {
		t.Errorf("instances OperatorsName=meduser: %v, want %v", got, wantOps)
	}
	if got := fx.getJSON("/series?ProtocolName=" + `""`); len(got) == 0 || len(got) >= len(allSeries) {
		t.Errorf("series without ProtocolName: %d of %d", len(got), len(allSeries))
	}

	// Not configured: ignored, with a Warning naming it.
	resp := fx.get("/series?SeriesType=NOSUCH")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Warning"), "SeriesType") {
		t.Errorf("unconfigured key: %d, Warning %q", resp.StatusCode, resp.Header.Get("Warning"))
	}
	if n := strings.Count(string(body), `"0020000E"`); n != len(allSeries) {
		t.Errorf("unconfigured key: %d series, want all %d", n, len(allSeries))
	}

	// orderby: descending series numbers, absent ones last.
	res = fx.getJSON("/series?orderby=-SeriesNumber&includefield=00200011")
	prev := int(^uint(0) >> 1)
	seenAbsent := false
	for _, r := range res {
		s := r["00200011"].str(0)
		if s == "" {
			seenAbsent = true
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n > prev || seenAbsent {
			t.Fatalf("orderby=-SeriesNumber: %q after %d (absent seen: %v)", s, prev, seenAbsent)
		}
		prev = n
	}
	for _, q := range []string{"orderby=NoSuchKey", "orderby=InstanceNumber", "TimezoneOffsetFromUTC=0100", "OperatorsName=a-b&AcquisitionDateTime=x"} {
		resp := fx.get("/series?" + q)
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400 (%s)", q, resp.StatusCode, msg)
		}
	}
	resp = fx.get("/instances?TimezoneOffsetFromUTC=%2B0100&AcquisitionDateTime=20000101-")
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.Contains(resp.Header.Get("Warning"), "Timezone") {
		t.Errorf("TimezoneOffsetFromUTC: %d, Warning %q", resp.StatusCode, resp.Header.Get("Warning"))
	}
}
