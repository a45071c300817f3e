package dicomweb

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"os"
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
