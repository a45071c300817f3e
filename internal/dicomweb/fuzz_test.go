package dicomweb

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// FuzzStowMultipart feeds arbitrary bodies and Content-Types through the
// STOW-RS path up to the archive: Content-Type checks, the streaming
// multipart reader, spooling and the header parse of each part. It must
// never panic, and every part must get exactly one result.
func FuzzStowMultipart(f *testing.F) {
	small, err := os.ReadFile(corpus(f, "series/pydicom-ge-ct-2series/CT2N_6293.dcm"))
	if err != nil {
		f.Fatal(err)
	}
	for _, parts := range [][][]byte{{small}, {small, small}, {[]byte("garbage")}, {small[:200]}, {}} {
		rd, ct := multipartBody(f, parts...)
		var buf bytes.Buffer
		buf.ReadFrom(rd)
		f.Add(buf.Bytes(), ct)
	}
	f.Add([]byte("--x\r\nContent-Type: application/dicom\r\n\r\nDICM\r\n--x--\r\n"), `multipart/related; type="application/dicom"; boundary=x`)
	f.Add([]byte("--x\r\n\r\n\r\n--x"), "multipart/related; boundary=x")
	f.Add([]byte(""), "application/dicom")
	svc := New(nil, Options{TempDir: f.TempDir(), MaxStowParts: 50})
	f.Fuzz(func(t *testing.T, body []byte, ctype string) {
		boundary, err := stowBoundary(ctype)
		if err != nil {
			return
		}
		var calls atomic.Int64
		results, err := svc.storeParts(context.Background(), bytes.NewReader(body), boundary, func(sp *spooled) stowResult {
			calls.Add(1)
			f, _ := dicom.Read(sp.reader(), sp.size, dicom.ReadOptions{})
			if f != nil && f.Dataset != nil {
				return stowResult{sopInstance: f.Dataset.String(dicom.TagSOPInstanceUID)}
			}
			return stowResult{failure: reasonCannotUnderstand}
		})
		if err != nil {
			return
		}
		if int64(len(results)) < calls.Load() {
			t.Fatalf("%d results for %d stored parts", len(results), calls.Load())
		}
		// The response must be valid JSON whatever the results.
		rec := newRecorder()
		req := httptest.NewRequest("POST", "/dicom-web/studies", nil)
		if err := svc.writeStowResponse(rec, req, "", results); err != nil {
			t.Fatal(err)
		}
		if !json.Valid(rec.buf.Bytes()) {
			t.Fatalf("invalid STOW-RS response JSON: %s", rec.buf.Bytes())
		}
	})
}

// FuzzParseAccept checks the Accept parser and the negotiations built on it.
func FuzzParseAccept(f *testing.F) {
	for _, s := range []string{
		"", "*/*", `multipart/related; type="application/dicom"; transfer-syntax=*`,
		`multipart/related; type=application/octet-stream; transfer-syntax=1.2.840.10008.1.2.4.50, image/jpeg;q=0.5`,
		`application/dicom+json, application/json;q=0.9`, `multipart/related; type="image/jls"`, `;;;,,"`, `a/b; q=x`,
	} {
		f.Add(s)
	}
	s := &Service{}
	f.Fuzz(func(t *testing.T, h string) {
		items := parseAccept(h)
		for i := 1; i < len(items); i++ {
			if items[i].q > items[i-1].q {
				t.Fatalf("items not ordered by q: %+v", items)
			}
		}
		acceptsJSON(h)
		s.negotiateDICOM(h, []string{dicom.ExplicitVRLittleEndian, dicom.JPEGBaseline8Bit}, true)
		s.negotiateFrames(h, dicom.JPEG2000, true)
		s.negotiateFrames(h, dicom.ImplicitVRLittleEndian, false)
	})
}

// FuzzParseQIDO checks that any query string either fails with a status or
// gives a query the index accepts as well-formed or rejects as invalid.
func FuzzParseQIDO(f *testing.F) {
	for _, q := range []string{
		"PatientName=smith*&limit=10&offset=5", "StudyDate=20200101-20201231&includefield=all",
		"00100020=123&includefield=00081030,PatientAge", "fuzzymatching=true&PatientName=jo", "Modality=CT\\MR",
		"StudyInstanceUID=1.2.3,4.5.6", "00400275.00321060=x", "limit=abc", "%zz",
	} {
		f.Add(q, uint8(2))
	}
	f.Fuzz(func(t *testing.T, raw string, level uint8) {
		vals, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		lv := index.Level(level%3) + index.StudyLevel
		qq, err := parseQIDO(vals, lv, 100)
		if err != nil {
			return
		}
		if qq.q.Limit <= 0 || qq.q.Limit > 100 {
			t.Fatalf("limit %d", qq.q.Limit)
		}
		index.ParseQuery(qq.q) // must not panic
	})
}

// FuzzBulkPath checks bulk data path resolution on a data set with nested
// sequences.
func FuzzBulkPath(f *testing.F) {
	data, err := os.ReadFile(corpus(f, "edge-cases/nested-private-sequence.dcm"))
	if err != nil {
		f.Fatal(err)
	}
	df, err := dicom.Read(bytes.NewReader(data), int64(len(data)), dicom.ReadOptions{})
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range bulkPaths(df.Dataset) {
		f.Add(p)
	}
	for _, p := range []string{"7FE00010", "00081115/0/0008114A/0/00081155", "/", "x", "00081115/99/00100010", "00081115/-1"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		findPath(df.Dataset, p)
		parseFrameList(p)
	})
}

// FuzzEachTopLevel checks the stored-header scanner against encoding/json:
// on valid objects it must see the same keys and values.
func FuzzEachTopLevel(f *testing.F) {
	f.Add([]byte(`{"00100010":{"vr":"PN","Value":[{"Alphabetic":"A\"}B"}]},"00280100":{"vr":"US","Value":[16]}}`))
	f.Add([]byte(`{ "00081115" : {"vr":"SQ","Value":[{"00081150":{"vr":"UI","Value":["1.2"]}}]} , "x":[1,[2]] }`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"a":"\\"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got := map[uint32]string{}
		err := eachTopLevel(b, func(tag uint32, v []byte) { got[tag] = string(v) })
		var want map[string]json.RawMessage
		if json.Unmarshal(b, &want) != nil {
			return // invalid JSON: any error or result is fine, no panic
		}
		if err != nil {
			t.Fatalf("valid object %q: %v", b, err)
		}
		seen := map[uint64]bool{}
		for k := range want {
			tag, perr := strconv.ParseUint(k, 16, 32)
			if perr == nil && len(k) == 8 {
				if seen[tag] {
					return // two spellings of one tag: which wins is unspecified
				}
				seen[tag] = true
			}
		}
		for k, v := range want {
			tag, perr := strconv.ParseUint(k, 16, 32)
			if perr != nil || len(k) != 8 {
				continue
			}
			if g, ok := got[uint32(tag)]; !ok || !jsonEqual(g, string(v)) {
				t.Fatalf("%s: got %s, want %s", k, g, v)
			}
		}
	})
}

func jsonEqual(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}
