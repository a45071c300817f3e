package dicomweb

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
)

// studyFacts are what the original files say about a study.
type studyFacts struct {
	series     map[string]bool
	instances  int
	modalities map[string]bool
}

func (fx *fixture) facts() map[string]*studyFacts {
	m := map[string]*studyFacts{}
	for _, cf := range fx.files {
		ds := cf.f.Dataset
		st := ds.String(dicom.TagStudyInstanceUID)
		f := m[st]
		if f == nil {
			f = &studyFacts{series: map[string]bool{}, modalities: map[string]bool{}}
			m[st] = f
		}
		f.series[ds.String(dicom.TagSeriesInstanceUID)] = true
		f.instances++
		if mod := ds.String(dicom.TagModality); mod != "" {
			f.modalities[mod] = true
		}
	}
	return m
}

func loadQIDOCorpus(t *testing.T) *fixture {
	return newFixture(t, fixtureOpts{}, corpusFiles(t, "charset", "series")...)
}

func TestQIDOStudiesCounts(t *testing.T) {
	fx := loadQIDOCorpus(t)
	facts := fx.facts()
	res := fx.getJSON("/studies")
	if len(res) != len(facts) {
		t.Fatalf("%d studies, want %d", len(res), len(facts))
	}
	for _, r := range res {
		uid := r["0020000D"].str(0)
		f := facts[uid]
		if f == nil {
			t.Fatalf("unknown study %q", uid)
		}
		if got := r["00201206"].str(0); got != strconv.Itoa(len(f.series)) {
			t.Errorf("study %s: NumberOfStudyRelatedSeries %s, want %d", uid, got, len(f.series))
		}
		if got := r["00201208"].str(0); got != strconv.Itoa(f.instances) {
			t.Errorf("study %s: NumberOfStudyRelatedInstances %s, want %d", uid, got, f.instances)
		}
		var mods []string
		for i := range r["00080061"].Value {
			mods = append(mods, r["00080061"].str(i))
		}
		var want []string
		for m := range f.modalities {
			want = append(want, m)
		}
		sort.Strings(mods)
		sort.Strings(want)
		if strings.Join(mods, ",") != strings.Join(want, ",") {
			t.Errorf("study %s: ModalitiesInStudy %v, want %v", uid, mods, want)
		}
		if got, want := r["00081190"].str(0), fx.base+"/studies/"+uid; got != want {
			t.Errorf("RetrieveURL %q, want %q", got, want)
		}
		if r["00081190"].VR != "UR" {
			t.Errorf("RetrieveURL VR %q", r["00081190"].VR)
		}
		// Series of the study, and their instances.
		series := fx.getJSON("/studies/" + uid + "/series")
		if len(series) != len(f.series) {
			t.Errorf("study %s: %d series, want %d", uid, len(series), len(f.series))
		}
		total := 0
		for _, se := range series {
			seUID := se["0020000E"].str(0)
			if got, want := se["00081190"].str(0), fx.base+"/studies/"+uid+"/series/"+seUID; got != want {
				t.Errorf("series RetrieveURL %q, want %q", got, want)
			}
			n, _ := strconv.Atoi(se["00201209"].str(0))
			insts := fx.getJSON("/studies/" + uid + "/series/" + seUID + "/instances")
			if len(insts) != n {
				t.Errorf("series %s: %d instances, NumberOfSeriesRelatedInstances %d", seUID, len(insts), n)
			}
			for _, in := range insts {
				sop := in["00080018"].str(0)
				if got, want := in["00081190"].str(0), fx.base+"/studies/"+uid+"/series/"+seUID+"/instances/"+sop; got != want {
					t.Errorf("instance RetrieveURL %q, want %q", got, want)
				}
				cf, ok := fx.files[sop]
				if !ok {
					t.Errorf("unknown instance %s", sop)
					continue
				}
				if v, ok := cf.f.Dataset.Int(dicom.TagBitsAllocated); ok {
					if got := in["00280100"].str(0); got != strconv.FormatInt(v, 10) {
						t.Errorf("instance %s BitsAllocated %q, want %d", sop, got, v)
					}
				}
			}
			total += n
		}
		if total != f.instances {
			t.Errorf("study %s: series hold %d instances, want %d", uid, total, f.instances)
		}
		if got := len(fx.getJSON("/studies/" + uid + "/instances")); got != f.instances {
			t.Errorf("study %s: /instances gives %d, want %d", uid, got, f.instances)
		}
	}
	if got := len(fx.getJSON("/instances")); got != len(fx.files) {
		t.Errorf("/instances gives %d, want %d", got, len(fx.files))
	}
	all := fx.getJSON("/series")
	n := 0
	for _, f := range facts {
		n += len(f.series)
	}
	if len(all) != n {
		t.Errorf("/series gives %d, want %d", len(all), n)
	}
	// A top-level series search returns the study attributes too.
	if len(all) > 0 {
		if _, ok := all[0]["0020000D"]; !ok {
			t.Errorf("/series result lacks StudyInstanceUID: %v", all[0])
		}
	}
}

// TestQIDOPersonNamesMatchFiles checks that names come out as the dicom
// package decodes them from the original files, in every character set.
func TestQIDOPersonNamesMatchFiles(t *testing.T) {
	fx := newFixture(t, fixtureOpts{}, corpusFiles(t, "charset")...)
	compared := 0
	defer func() {
		if compared < 10 {
			t.Errorf("only %d names compared", compared)
		}
	}()
	for sop, cf := range fx.files {
		want, err := dicomjson.Marshal(cf.f.Dataset, dicomjson.Options{OmitBulk: true})
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]jsonAttr
		if err := json.Unmarshal(want, &obj); err != nil {
			t.Fatal(err)
		}
		res := fx.getJSON("/instances?SOPInstanceUID=" + sop + "&includefield=PatientName,00080080")
		if len(res) != 1 {
			t.Fatalf("%s: %d results", cf.path, len(res))
		}
		for _, tag := range []string{"00100010", "00080080", "00100020"} {
			w, ok := obj[tag]
			if !ok {
				continue
			}
			g := res[0][tag]
			if tag == "00100010" && len(w.Value) > 0 {
				compared++
			}
			if !equalValues(g.Value, w.Value) {
				t.Errorf("%s %s: got %s, want %s", cf.path, tag, raw(g.Value), raw(w.Value))
			}
		}
	}
}

func raw(v []json.RawMessage) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// equalValues compares DICOM JSON Value arrays after decoding.
func equalValues(a, b []json.RawMessage) bool {
	var x, y any
	json.Unmarshal([]byte(raw(a)), &x)
	json.Unmarshal([]byte(raw(b)), &y)
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}

func TestQIDOMatching(t *testing.T) {
	fx := loadQIDOCorpus(t)
	var anyStudy, anyPatientID, anyName, anyDate string
	for _, cf := range fx.files {
		ds := cf.f.Dataset
		if n := ds.String(dicom.TagPatientName); n != "" && isASCII(n) && ds.String(dicom.TagStudyDate) != "" {
			anyStudy = ds.String(dicom.TagStudyInstanceUID)
			anyPatientID = ds.String(dicom.TagPatientID)
			anyName = n
			anyDate = ds.String(dicom.TagStudyDate)
			break
		}
	}
	if anyStudy == "" {
		t.Fatal("no ASCII-named patient with a study date in the corpus")
	}
	family, _, _ := strings.Cut(anyName, "^")
	cases := []struct {
		name  string
		query string
		check func(t *testing.T, res []map[string]jsonAttr)
	}{
		{"uid", "StudyInstanceUID=" + anyStudy, one(anyStudy)},
		{"tag", "0020000D=" + anyStudy, one(anyStudy)},
		{"uid list comma", "StudyInstanceUID=" + anyStudy + ",1.2.3.4", one(anyStudy)},
		{"patient id", "PatientID=" + url.QueryEscape(anyPatientID), contains(anyStudy)},
		{"name wildcard", "PatientName=" + url.QueryEscape(strings.ToLower(family[:1])+"*"), contains(anyStudy)},
		{"fuzzy", "PatientName=" + url.QueryEscape(strings.ToLower(family)) + "&fuzzymatching=true", contains(anyStudy)},
		{"date range", "StudyDate=" + anyDate + "-" + anyDate, contains(anyStudy)},
		{"date open range", "StudyDate=-" + anyDate, contains(anyStudy)},
		{"no match", "StudyInstanceUID=1.2.3.4.5.6.7", none},
		{"modalities", "ModalitiesInStudy=MR", func(t *testing.T, res []map[string]jsonAttr) {
			if len(res) == 0 {
				t.Fatal("no MR study")
			}
			for _, r := range res {
				found := false
				for i := range r["00080061"].Value {
					found = found || r["00080061"].str(i) == "MR"
				}
				if !found {
					t.Errorf("study %s lacks MR in %s", r["0020000D"].str(0), raw(r["00080061"].Value))
				}
			}
		}},
		{"includefield all", "StudyInstanceUID=" + anyStudy + "&includefield=all", func(t *testing.T, res []map[string]jsonAttr) {
			if len(res) != 1 {
				t.Fatalf("%d results", len(res))
			}
			if _, ok := res[0]["00080016"]; ok {
				t.Errorf("study result carries the representative instance's SOPClassUID")
			}
			if len(res[0]) < 20 {
				t.Errorf("includefield=all gave only %d attributes", len(res[0]))
			}
		}},
		{"includefield keyword", "StudyInstanceUID=" + anyStudy + "&includefield=StudyDescription&includefield=00081030", func(t *testing.T, res []map[string]jsonAttr) {
			if _, ok := res[0]["00081030"]; !ok {
				t.Errorf("StudyDescription missing")
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.check(t, fx.getJSON("/studies?"+c.query))
		})
	}

	t.Run("limit offset", func(t *testing.T) {
		all := fx.getJSON("/instances")
		var got []string
		for off := 0; off < len(all); off += 7 {
			resp := fx.get("/instances?limit=7&offset="+strconv.Itoa(off), "Accept: application/dicom+json")
			b := body(t, resp, http.StatusOK)
			var page []map[string]jsonAttr
			json.Unmarshal(b, &page)
			if off+7 < len(all) && resp.Header.Get("Warning") == "" {
				t.Errorf("offset %d: no Warning about more results", off)
			}
			for _, p := range page {
				got = append(got, p["00080018"].str(0))
			}
		}
		if len(got) != len(all) {
			t.Fatalf("paging gave %d, want %d", len(got), len(all))
		}
		for i := range all {
			if all[i]["00080018"].str(0) != got[i] {
				t.Fatalf("paging order differs at %d", i)
			}
		}
	})
	t.Run("unsupported key warns", func(t *testing.T) {
		resp := fx.get("/studies?PatientComments=x", "Accept: application/dicom+json")
		body(t, resp, http.StatusOK)
		if w := resp.Header.Get("Warning"); !strings.Contains(w, "PatientComments") {
			t.Errorf("Warning %q", w)
		}
	})
	for _, bad := range []string{"StudyDate=notadate", "limit=-1", "NoSuchKeyword=1", "StudyInstanceUID=1.2*", "fuzzymatching=maybe"} {
		t.Run("bad "+bad, func(t *testing.T) {
			body(t, fx.get("/studies?"+bad), http.StatusBadRequest)
		})
	}
	t.Run("not acceptable", func(t *testing.T) {
		// application/dicom+xml is served as multipart/related (xml.go).
		body(t, fx.get("/studies", "Accept: image/png"), http.StatusNotAcceptable)
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func one(uid string) func(t *testing.T, res []map[string]jsonAttr) {
	return func(t *testing.T, res []map[string]jsonAttr) {
		t.Helper()
		if len(res) != 1 || res[0]["0020000D"].str(0) != uid {
			t.Errorf("got %d results, want exactly study %s", len(res), uid)
		}
	}
}

func contains(uid string) func(t *testing.T, res []map[string]jsonAttr) {
	return func(t *testing.T, res []map[string]jsonAttr) {
		t.Helper()
		for _, r := range res {
			if r["0020000D"].str(0) == uid {
				return
			}
		}
		t.Errorf("study %s not among %d results", uid, len(res))
	}
}

func none(t *testing.T, res []map[string]jsonAttr) {
	t.Helper()
	if len(res) != 0 {
		t.Errorf("%d results, want none", len(res))
	}
}
