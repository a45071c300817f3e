package dicomweb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// stowResponse decodes a STOW-RS response.
type stowResponse struct {
	RetrieveURL jsonAttr `json:"00081190"`
	Failed      struct {
		Value []map[string]jsonAttr `json:"Value"`
	} `json:"00081198"`
	Referenced struct {
		Value []map[string]jsonAttr `json:"Value"`
	} `json:"00081199"`
}

func (fx *fixture) stow(path string, parts ...[]byte) (*http.Response, stowResponse) {
	fx.t.Helper()
	body, ct := multipartBody(fx.t, parts...)
	resp := fx.do("POST", path, body, "Content-Type: "+ct, "Accept: application/dicom+json")
	defer resp.Body.Close()
	var sr stowResponse
	if err := json.NewDecoder(resp.Body).Decode(&sr); err != nil {
		fx.t.Fatalf("POST %s: status %d, undecodable response: %v", path, resp.StatusCode, err)
	}
	return resp, sr
}

func readCorpus(t testing.TB, rel string) ([]byte, *dicom.File) {
	t.Helper()
	b, err := os.ReadFile(corpus(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	f, err := dicom.Read(bytes.NewReader(b), int64(len(b)), dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return b, f
}

func TestSTOW(t *testing.T) {
	fx := newFixture(t, fixtureOpts{})
	files := corpusFiles(t, "series/pydicom-ge-ct-2series")
	var datas [][]byte
	study := ""
	for _, f := range files {
		b, df := readCorpus(t, f)
		datas = append(datas, b)
		study = df.Dataset.String(dicom.TagStudyInstanceUID)
	}

	t.Run("all stored", func(t *testing.T) {
		resp, sr := fx.stow("/studies", datas...)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if len(sr.Referenced.Value) != len(datas) || len(sr.Failed.Value) != 0 {
			t.Fatalf("%d referenced, %d failed", len(sr.Referenced.Value), len(sr.Failed.Value))
		}
		for _, it := range sr.Referenced.Value {
			u := it["00081190"].str(0)
			parts := readParts(t, fx.get(u))
			if len(parts) != 1 {
				t.Fatalf("RetrieveURL %s: %d parts", u, len(parts))
			}
			found := false
			for _, d := range datas {
				found = found || bytes.Equal(d, parts[0].data)
			}
			if !found {
				t.Errorf("retrieved bytes differ from the stored ones")
			}
			if it["00081150"].str(0) == "" || it["00081155"].str(0) == "" {
				t.Errorf("referenced item lacks UIDs: %v", it)
			}
		}
		if got := sr.RetrieveURL.str(0); got != fx.base+"/studies/"+study {
			t.Errorf("study RetrieveURL %q", got)
		}
		// Storing again is a success too (identical instances).
		resp, _ = fx.stow("/studies/"+study, datas...)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("re-store: status %d", resp.StatusCode)
		}
	})
	t.Run("study mismatch and garbage", func(t *testing.T) {
		other, _ := readCorpus(t, "charset/utf8-iso-ir-192.dcm")
		resp, sr := fx.stow("/studies/"+study, datas[0], other, []byte("not dicom at all"))
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("status %d, want 202", resp.StatusCode)
		}
		if len(sr.Referenced.Value) != 1 || len(sr.Failed.Value) != 2 {
			t.Fatalf("%d referenced, %d failed", len(sr.Referenced.Value), len(sr.Failed.Value))
		}
		reasons := map[string]bool{}
		for _, it := range sr.Failed.Value {
			reasons[it["00081197"].str(0)] = true
		}
		if !reasons["43264"] || !reasons["49152"] { // 0xA900, 0xC000
			t.Errorf("failure reasons %v, want 0xA900 and 0xC000", reasons)
		}
		if resp.Header.Get("Warning") == "" {
			t.Errorf("no Warning header explaining the failures")
		}
		// The mismatching instance was not stored.
		var uid string
		for _, it := range sr.Failed.Value {
			if it["00081197"].str(0) == "43264" {
				uid = it["00081155"].str(0)
			}
		}
		if uid == "" {
			t.Fatal("mismatch failure without its SOP Instance UID")
		}
		if res := fx.getJSON("/instances?SOPInstanceUID=" + uid); len(res) != 0 {
			t.Errorf("mismatching instance was stored")
		}
	})
	t.Run("all failed", func(t *testing.T) {
		resp, sr := fx.stow("/studies", []byte("garbage"), []byte("DICM"))
		if resp.StatusCode != http.StatusConflict {
			t.Fatalf("status %d, want 409", resp.StatusCode)
		}
		if len(sr.Failed.Value) != 2 {
			t.Errorf("%d failed", len(sr.Failed.Value))
		}
	})
	t.Run("large part spooled to disk", func(t *testing.T) {
		b, _ := readCorpus(t, "multiframe/philips-enhanced-mr-240f.dcm")
		if len(b) <= memSpool {
			t.Skip("file smaller than the memory spool")
		}
		// Into the wrong study: refused from the head alone.
		resp, sr := fx.stow("/studies/1.2.3.4", b)
		if resp.StatusCode != http.StatusConflict || len(sr.Failed.Value) != 1 || sr.Failed.Value[0]["00081155"].str(0) == "" {
			t.Fatalf("wrong study: status %d, failed %v", resp.StatusCode, sr.Failed.Value)
		}
		_, df := readCorpus(t, "multiframe/philips-enhanced-mr-240f.dcm")
		resp, sr = fx.stow("/studies/"+df.Dataset.String(dicom.TagStudyInstanceUID), b, datas[0])
		if resp.StatusCode != http.StatusAccepted || len(sr.Referenced.Value) != 1 || len(sr.Failed.Value) != 1 {
			t.Fatalf("right study plus a mismatching small one: status %d, %d referenced, %d failed", resp.StatusCode, len(sr.Referenced.Value), len(sr.Failed.Value))
		}
		parts := readParts(t, fx.get(sr.Referenced.Value[0]["00081190"].str(0)))
		if len(parts) != 1 || !bytes.Equal(parts[0].data, b) {
			t.Errorf("large instance stored differently")
		}
	})
	t.Run("bad requests", func(t *testing.T) {
		body(t, fx.do("POST", "/studies", strings.NewReader("x"), "Content-Type: application/dicom"), http.StatusUnsupportedMediaType)
		body(t, fx.do("POST", "/studies", strings.NewReader("x"), `Content-Type: multipart/related; type="application/pdf"; boundary=x`), http.StatusUnsupportedMediaType)
		body(t, fx.do("POST", "/studies", strings.NewReader("x"), `Content-Type: multipart/related; type="application/dicom+json"; boundary=x`), http.StatusBadRequest)
		body(t, fx.do("POST", "/studies", strings.NewReader("not multipart"), `Content-Type: multipart/related; type="application/dicom"; boundary=xyz`), http.StatusBadRequest)
		body(t, fx.do("POST", "/studies", strings.NewReader("--xyz--\r\n"), `Content-Type: multipart/related; type="application/dicom"; boundary=xyz`), http.StatusBadRequest)
	})
}

func TestWADOURIAndDelete(t *testing.T) {
	fx := newFixture(t, fixtureOpts{}, corpusFiles(t, "series/pydicom-ge-ct-2series")...)
	sop, cf := fx.anyInstance("series/")
	ds := cf.f.Dataset
	q := "/wado?requestType=WADO&studyUID=" + ds.String(dicom.TagStudyInstanceUID) + "&seriesUID=" + ds.String(dicom.TagSeriesInstanceUID) + "&objectUID=" + sop
	b := body(t, fx.get(q+"&contentType=application/dicom"), http.StatusOK)
	if !bytes.Equal(b, cf.data) {
		t.Errorf("WADO-URI bytes differ")
	}
	// The same through the stand-alone handler.
	rec := newRecorder()
	req, _ := http.NewRequest("GET", "/wado"+strings.TrimPrefix(q, "/wado")+"&contentType=application/dicom", nil)
	fx.svc.WADOURIHandler().ServeHTTP(rec, req)
	if rec.code != http.StatusOK || !bytes.Equal(rec.buf.Bytes(), cf.data) {
		t.Errorf("WADOURIHandler: status %d", rec.code)
	}
	body(t, fx.get(q), http.StatusOK) // image/jpeg by default (rendered_test.go checks the image)
	body(t, fx.get(q+"&contentType=image/gif"), http.StatusNotAcceptable)
	body(t, fx.get("/wado?requestType=WADO&studyUID=1&seriesUID=2&objectUID=3&contentType=application/dicom"), http.StatusNotFound)
	body(t, fx.get("/wado?requestType=X"), http.StatusBadRequest)

	// DELETE: the path must name the hierarchy.
	body(t, fx.do("DELETE", "/studies/1.2.3/series/"+ds.String(dicom.TagSeriesInstanceUID)+"/instances/"+sop, nil), http.StatusNotFound)
	body(t, fx.do("DELETE", instPath(cf), nil), http.StatusNoContent)
	body(t, fx.get(instPath(cf)), http.StatusNotFound)
	body(t, fx.do("DELETE", instPath(cf), nil), http.StatusNotFound)
	study := ds.String(dicom.TagStudyInstanceUID)
	body(t, fx.do("DELETE", "/studies/"+study, nil), http.StatusNoContent)
	if res := fx.getJSON("/studies?StudyInstanceUID=" + study); len(res) != 0 {
		t.Errorf("study still found after DELETE")
	}
}

// denyDeletes is an Authorizer that refuses deletions.
type denyDeletes struct{}

func (denyDeletes) Authorize(_ *http.Request, a Action, _ Resource) error {
	if a == ActionDelete {
		return errors.Join(ErrForbidden, errors.New("deleting is not allowed here"))
	}
	return nil
}

func TestAuthorizerCORSAndHTTP2(t *testing.T) {
	fx := newFixture(t, fixtureOpts{h2c: true, opts: Options{
		Authorizer: denyDeletes{},
		CORS:       CORSOptions{AllowedOrigins: []string{"https://viewer.example"}},
	}}, "series/pydicom-ge-ct-2series/CT2N_6293.dcm")
	_, cf := fx.anyInstance("series/")
	body(t, fx.do("DELETE", instPath(cf), nil), http.StatusForbidden)

	resp := fx.get("/studies", "Origin: https://viewer.example")
	body(t, resp, http.StatusOK)
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://viewer.example" {
		t.Errorf("CORS: %v", resp.Header)
	}
	resp = fx.get("/studies", "Origin: https://evil.example")
	body(t, resp, http.StatusOK)
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS allowed an unknown origin")
	}
	resp = fx.do("OPTIONS", "/studies", nil, "Origin: https://viewer.example", "Access-Control-Request-Method: GET", "Access-Control-Request-Headers: accept")
	body(t, resp, http.StatusNoContent)
	if !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "GET") {
		t.Errorf("preflight: %v", resp.Header)
	}

	// h2c: HTTP/2 without TLS.
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	c := &http.Client{Transport: tr}
	req, _ := http.NewRequestWithContext(context.Background(), "GET", fx.base+"/studies", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body(t, resp, http.StatusOK)
	if resp.ProtoMajor != 2 {
		t.Errorf("protocol %s, want HTTP/2", resp.Proto)
	}
	parts := readParts(t, mustDo(t, c, fx.base+instPath(cf)))
	if len(parts) != 1 || !bytes.Equal(parts[0].data, cf.data) {
		t.Errorf("h2c retrieve failed")
	}
}

func mustDo(t *testing.T, c *http.Client, url string) *http.Response {
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// recorder is a minimal ResponseWriter.
type recorder struct {
	h    http.Header
	code int
	buf  bytes.Buffer
}

func newRecorder() *recorder                    { return &recorder{h: http.Header{}} }
func (r *recorder) Header() http.Header         { return r.h }
func (r *recorder) Write(p []byte) (int, error) { return r.buf.Write(p) }
func (r *recorder) WriteHeader(code int)        { r.code = code }

var _ http.ResponseWriter = (*recorder)(nil)

func TestForwardedBaseURL(t *testing.T) {
	fx := newFixture(t, fixtureOpts{opts: Options{TrustForwarded: true}}, "series/pydicom-ge-ct-2series/CT2N_6293.dcm")
	res := fx.getJSON("/studies", "X-Forwarded-Proto: https", "X-Forwarded-Host: pacs.example.org, proxy2")
	if got := res[0]["00081190"].str(0); !strings.HasPrefix(got, "https://pacs.example.org/dicom-web/studies/") {
		t.Errorf("RetrieveURL %q", got)
	}
	plain := newFixture(t, fixtureOpts{}, "series/pydicom-ge-ct-2series/CT2N_6293.dcm")
	res = plain.getJSON("/studies", "X-Forwarded-Host: evil.example")
	if got := res[0]["00081190"].str(0); strings.Contains(got, "evil") {
		t.Errorf("untrusted X-Forwarded-Host used: %q", got)
	}
}

// TestSTOWLargeHeader stores into a study path an instance whose Study
// Instance UID lies beyond the in-memory head (a 5 MiB private element
// before it): the part is spooled to a file to be checked.
func TestSTOWLargeHeader(t *testing.T) {
	fx := newFixture(t, fixtureOpts{})
	data, f := readCorpus(t, "series/pydicom-ge-ct-2series/CT2N_6293.dcm")
	ds := f.Dataset
	ds.Set(dicom.NewStringElement(dicom.Tag(0x00190010), dicom.LO, "LIGHTBOX TEST"))
	big := make([]byte, 5<<20)
	ds.Set(&dicom.Element{Tag: dicom.Tag(0x00191010), VR: dicom.OB, Value: big, Length: uint32(len(big))})
	var buf bytes.Buffer
	if err := dicom.WriteFile(&buf, ds, f.TransferSyntax, dicom.WriteOptions{Bulk: bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	study := ds.String(dicom.TagStudyInstanceUID)
	resp, sr := fx.stow("/studies/"+study, buf.Bytes())
	if resp.StatusCode != http.StatusOK || len(sr.Referenced.Value) != 1 {
		t.Fatalf("status %d, referenced %d, failed %v", resp.StatusCode, len(sr.Referenced.Value), sr.Failed.Value)
	}
	resp, sr = fx.stow("/studies/1.2.3", buf.Bytes())
	if resp.StatusCode != http.StatusConflict || len(sr.Failed.Value) != 1 {
		t.Fatalf("wrong study: status %d", resp.StatusCode)
	}
	entries, _ := os.ReadDir(fx.svc.opts.TempDir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "stow-") {
			t.Errorf("spool file %s left behind", e.Name())
		}
	}
}
