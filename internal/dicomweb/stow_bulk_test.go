package dicomweb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
	"github.com/lightbox-pacs/lightbox/dicom/dicomxml"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// mbPart is one part of a metadata-and-bulk STOW-RS body.
type mbPart struct {
	ctype, location string
	data            []byte
}

// metaBulkParts turns a Part 10 file into PS3.18 metadata (JSON or XML)
// plus bulk data parts: every bulk value and the Pixel Data become parts
// referenced by Content-Location; compressed Pixel Data goes out as one
// part per frame of the stored media type with its transfer-syntax.
func metaBulkParts(t testing.TB, data []byte, asXML bool) (meta []byte, bulk []mbPart) {
	t.Helper()
	f, err := dicom.Read(bytes.NewReader(data), int64(len(data)), dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	uri := func(e *dicom.Element) string {
		if !e.Bulk && !e.IsEncapsulated() {
			return ""
		}
		n++
		loc := fmt.Sprintf("http://client.example/bulk/%d/%s", n, e.Tag.Hex())
		switch {
		case e.IsEncapsulated():
			ct := pixelMediaType(f.TransferSyntax)
			if defaultMediaTS[ct] != f.TransferSyntax {
				// Without the parameter the media type's default applies.
				ct += "; transfer-syntax=" + f.TransferSyntax
			}
			for _, fr := range e.Fragments[1:] {
				bulk = append(bulk, mbPart{ct, loc, data[fr.Offset : fr.Offset+int64(fr.Length)]})
			}
		default:
			bulk = append(bulk, mbPart{"application/octet-stream", loc, data[e.Offset : e.Offset+int64(e.Length)]})
		}
		return loc
	}
	if asXML {
		meta, err = dicomxml.Marshal(f.Dataset, dicomxml.Options{BulkDataURI: uri})
	} else {
		var obj []byte
		obj, err = dicomjson.Marshal(f.Dataset, dicomjson.Options{BulkDataURI: uri})
		meta = append(append([]byte{'['}, obj...), ']')
	}
	if err != nil {
		t.Fatal(err)
	}
	return meta, bulk
}

// metaBulkBody builds the multipart/related body.
func metaBulkBody(t testing.TB, typ string, metas [][]byte, bulk []mbPart) (io.Reader, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, m := range metas {
		w, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {typ}})
		w.Write(m)
	}
	for _, p := range bulk {
		w, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {p.ctype}, "Content-Location": {p.location}})
		w.Write(p.data)
	}
	mw.Close()
	return &buf, `multipart/related; type="` + typ + `"; boundary=` + mw.Boundary()
}

func (fx *fixture) stowMetaBulk(path, typ string, metas [][]byte, bulk []mbPart) (*http.Response, stowResponse) {
	fx.t.Helper()
	b, ct := metaBulkBody(fx.t, typ, metas, bulk)
	resp := fx.do("POST", path, b, "Content-Type: "+ct, "Accept: application/dicom+json")
	defer resp.Body.Close()
	var sr stowResponse
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &sr); err != nil {
		fx.t.Fatalf("POST %s: status %d, undecodable response %q: %v", path, resp.StatusCode, raw, err)
	}
	return resp, sr
}

// comparable returns the DICOM JSON of a data set with every value inline
// except encapsulated Pixel Data, without File Meta, group lengths and
// Specific Character Set (stored text may be re-encoded as UTF-8).
func comparable(t testing.TB, f *dicom.File, data []byte) map[string]json.RawMessage {
	t.Helper()
	b, err := dicomjson.Marshal(f.Dataset, dicomjson.Options{
		Bulk: bytes.NewReader(data),
		BulkDataURI: func(e *dicom.Element) string {
			if e.IsEncapsulated() {
				return "encapsulated"
			}
			return ""
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Specific Character Set anywhere (text is re-encoded as UTF-8), and
	// trailing empty PN components (PS3.5 6.2: insignificant; the XML
	// model has no delimiters).
	b = charsetAttr.ReplaceAll(b, nil)
	b = trailingCarets.ReplaceAll(b, []byte(`"`))
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if e := f.Dataset.Get(dicom.TagPixelData); e != nil && e.IsEncapsulated() {
		// Encapsulated Pixel Data is OB (PS3.5 A.4); a corpus file says OW.
		m["7FE00010"] = json.RawMessage(`{"vr":"OB","BulkDataURI":"encapsulated"}`)
	}
	for k := range m {
		if strings.HasPrefix(k, "0002") || strings.HasSuffix(k, "0000") || k == "00080005" {
			delete(m, k)
		}
	}
	return m
}

var (
	charsetAttr    = regexp.MustCompile(`"00080005":\{"vr":"CS"(,"Value":\[[^\]]*\])?\},?`)
	trailingCarets = regexp.MustCompile(`\^+"`)
)

// sameInstance compares a stored instance with the original element by
// element, and its pixel data (frames of encapsulated data) byte for byte.
func sameInstance(t testing.TB, orig, stored []byte) {
	t.Helper()
	fo, err := dicom.Read(bytes.NewReader(orig), int64(len(orig)), dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fs, err := dicom.Read(bytes.NewReader(stored), int64(len(stored)), dicom.ReadOptions{})
	if err != nil {
		t.Fatalf("stored instance unreadable: %v", err)
	}
	if fs.TransferSyntax != fo.TransferSyntax && dicom.IsEncapsulated(fo.TransferSyntax) {
		t.Errorf("transfer syntax %s, want %s", fs.TransferSyntax, fo.TransferSyntax)
	}
	a, b := comparable(t, fo, orig), comparable(t, fs, stored)
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	var diffs []string
	for k := range keys {
		if !bytes.Equal(a[k], b[k]) {
			diffs = append(diffs, fmt.Sprintf("%s: original %.120s, stored %.120s", k, a[k], b[k]))
		}
	}
	sort.Strings(diffs)
	for _, d := range diffs {
		t.Error(d)
	}
	po, ps := fo.Dataset.Get(dicom.TagPixelData), fs.Dataset.Get(dicom.TagPixelData)
	if po == nil && ps == nil {
		return // no image
	}
	if po == nil || ps == nil {
		t.Fatalf("Pixel Data: original %v, stored %v", po, ps)
	}
	if po.IsEncapsulated() != ps.IsEncapsulated() || len(po.Fragments) != len(ps.Fragments) {
		t.Fatalf("Pixel Data encapsulation differs: %d vs %d fragments", len(po.Fragments), len(ps.Fragments))
	}
	if !po.IsEncapsulated() {
		if !bytes.Equal(orig[po.Offset:po.Offset+int64(po.Length)], stored[ps.Offset:ps.Offset+int64(ps.Length)]) {
			t.Errorf("native Pixel Data differs")
		}
		return
	}
	for i := 1; i < len(po.Fragments); i++ {
		fo, fs := po.Fragments[i], ps.Fragments[i]
		x := orig[fo.Offset : fo.Offset+int64(fo.Length)]
		y := stored[fs.Offset : fs.Offset+int64(fs.Length)]
		if !bytes.Equal(x, y) {
			t.Errorf("frame %d differs (%d vs %d bytes)", i, len(x), len(y))
		}
	}
}

// dciodvfyErrors runs dciodvfy and returns its Error lines.
func dciodvfyErrors(t testing.TB, tool string, data []byte) []string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "i.dcm")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(tool, p).CombinedOutput() // exit status is 1 on any error
	var errs []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "Error") {
			errs = append(errs, l)
		}
	}
	return errs
}

// TestSTOWMetadataBulk stores corpus files as DICOM JSON and as DICOM XML
// metadata with bulk data parts, retrieves them through WADO-RS and
// compares them with the originals; dciodvfy must find no error in the
// stored instance that it does not find in the original.
func TestSTOWMetadataBulk(t *testing.T) {
	dciodvfy := testenv.RequireTool(t, "dciodvfy")
	files := []string{
		"series/pydicom-ge-ct-2series/CT2N_6293.dcm", // native CT
		"mr/siemens-mr-jpegll.dcm",                   // JPEG Lossless, image/jpeg
		"multiframe/enhanced-mr-10f.dcm",             // native multi-frame
		"multiframe/enhanced-mr-10f-jpegls.dcm",      // JPEG-LS, one part per frame
		"multiframe/philips-us-2f-rle.dcm",           // RLE, image/dicom-rle
		"sc/sc-rgb-jpeg-dcmtk.dcm",                   // JPEG baseline, image/jpeg without parameter
		"mr/philips-mr-j2k-lossless.dcm",             // JPEG 2000, image/jp2
		"sr/comprehensive-sr.dcm",                    // metadata only, no bulk part
	}
	for _, typ := range []string{mediaDicomJSON, mediaDicomXML} {
		t.Run(typ, func(t *testing.T) {
			for _, name := range files {
				t.Run(name, func(t *testing.T) {
					// A fixture each: the two enhanced MR files share
					// their SOP Instance UID.
					fx := newFixture(t, fixtureOpts{})
					orig, f := readCorpus(t, name)
					meta, bulk := metaBulkParts(t, orig, typ == mediaDicomXML)
					study := f.Dataset.String(dicom.TagStudyInstanceUID)
					resp, sr := fx.stowMetaBulk("/studies/"+study, typ, [][]byte{meta}, bulk)
					if resp.StatusCode != http.StatusOK || len(sr.Referenced.Value) != 1 {
						t.Fatalf("status %d, referenced %d, failed %v, Warning %q", resp.StatusCode, len(sr.Referenced.Value), sr.Failed.Value, resp.Header.Values("Warning"))
					}
					ref := sr.Referenced.Value[0]
					if ref["00081155"].str(0) != f.Dataset.String(dicom.TagSOPInstanceUID) || ref["00081150"].str(0) != f.Dataset.String(dicom.TagSOPClassUID) {
						t.Errorf("referenced %v", ref)
					}
					if got := sr.RetrieveURL.str(0); got != fx.base+"/studies/"+study {
						t.Errorf("study RetrieveURL %q", got)
					}
					parts := readParts(t, fx.get(ref["00081190"].str(0), `Accept: multipart/related; type="application/dicom"; transfer-syntax=*`))
					if len(parts) != 1 {
						t.Fatalf("%d parts retrieved", len(parts))
					}
					sameInstance(t, orig, parts[0].data)
					before := map[string]bool{}
					for _, e := range dciodvfyErrors(t, dciodvfy, orig) {
						before[e] = true
					}
					for _, e := range dciodvfyErrors(t, dciodvfy, parts[0].data) {
						if !before[e] {
							t.Errorf("dciodvfy on the stored instance: %s", e)
						}
					}
				})
			}
		})
	}
}

// TestSTOWMetadataBulkSeveral stores several instances in one request: a
// JSON array of two, and two XML parts.
func TestSTOWMetadataBulkSeveral(t *testing.T) {
	fx := newFixture(t, fixtureOpts{})
	a, _ := readCorpus(t, "series/pydicom-ge-ct-2series/CT2N_6293.dcm")
	b, _ := readCorpus(t, "mr/siemens-mr-jpegll.dcm")
	ma, ba := metaBulkParts(t, a, false)
	mb, bb := metaBulkParts(t, b, false)
	// Both documents number their bulk parts from 1: make b's distinct.
	for i := range bb {
		old := bb[i].location
		bb[i].location = strings.Replace(old, "/bulk/", "/bulk-b/", 1)
		mb = bytes.ReplaceAll(mb, []byte(old), []byte(bb[i].location))
	}
	arr := append(append(ma[:len(ma)-1:len(ma)-1], ','), mb[1:]...)
	resp, sr := fx.stowMetaBulk("/studies", mediaDicomJSON, [][]byte{arr}, append(ba, bb...))
	if resp.StatusCode != http.StatusOK || len(sr.Referenced.Value) != 2 {
		t.Fatalf("JSON array of two: status %d, %d referenced, failed %v", resp.StatusCode, len(sr.Referenced.Value), sr.Failed.Value)
	}
	xa, xba := metaBulkParts(t, a, true)
	xb, xbb := metaBulkParts(t, b, true)
	for i := range xbb {
		old := xbb[i].location
		xbb[i].location = strings.Replace(old, "/bulk/", "/bulk-b/", 1)
		xb = bytes.ReplaceAll(xb, []byte(old), []byte(xbb[i].location))
	}
	resp, sr = fx.stowMetaBulk("/studies", mediaDicomXML, [][]byte{xa, xb}, append(xba, xbb...))
	if resp.StatusCode != http.StatusOK || len(sr.Referenced.Value) != 2 {
		t.Fatalf("two XML parts: status %d, %d referenced, failed %v", resp.StatusCode, len(sr.Referenced.Value), sr.Failed.Value)
	}
}

// TestSTOWMetadataBulkFailures: missing bulk parts, unresolved URIs,
// inconsistent pixel data sizes and wrong frame counts fail the instance
// with a FailureReason and a readable Warning, and store nothing.
func TestSTOWMetadataBulkFailures(t *testing.T) {
	fx := newFixture(t, fixtureOpts{})
	ct, f := readCorpus(t, "series/pydicom-ge-ct-2series/CT2N_6293.dcm")
	sop := f.Dataset.String(dicom.TagSOPInstanceUID)
	meta, bulk := metaBulkParts(t, ct, false)
	mf, _ := readCorpus(t, "multiframe/enhanced-mr-10f-jpegls.dcm")
	mfMeta, mfBulk := metaBulkParts(t, mf, true)
	short := append([]mbPart(nil), bulk...)
	short[len(short)-1].data = short[len(short)-1].data[:100]
	for _, tc := range []struct {
		name   string
		typ    string
		meta   []byte
		bulk   []mbPart
		reason string // decimal FailureReason
		msg    string // in the Warning header
	}{
		{"no bulk parts", mediaDicomJSON, meta, nil, "49152", "names no part"},
		{"pixel data size", mediaDicomJSON, meta, short, "43264", "Rows 16 x Columns 16"},
		{"unresolved URI", mediaDicomJSON, bytes.Replace(meta, []byte("http://client.example/bulk/"), []byte("http://elsewhere/"), 1), bulk, "49152", "names no part"},
		{"frames missing", mediaDicomXML, mfMeta, mfBulk[:len(mfBulk)-1], "43264", "9 compressed part(s) for 10 frame(s)"},
		{"bad JSON", mediaDicomJSON, []byte(`[{"00100010":{"vr":"PN","Value":[{"Alphabetic":"A"`), bulk, "49152", "metadata part 1"},
		{"bad XML", mediaDicomXML, []byte(`<NativeDicomModel><DicomAttribute tag="x"/></NativeDicomModel>`), bulk, "49152", "not eight hex digits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, sr := fx.stowMetaBulk("/studies", tc.typ, [][]byte{tc.meta}, tc.bulk)
			if resp.StatusCode != http.StatusConflict || len(sr.Failed.Value) != 1 {
				t.Fatalf("status %d, failed %v", resp.StatusCode, sr.Failed.Value)
			}
			if got := sr.Failed.Value[0]["00081197"].str(0); got != tc.reason {
				t.Errorf("FailureReason %s, want %s", got, tc.reason)
			}
			if w := strings.Join(resp.Header.Values("Warning"), " "); !strings.Contains(w, tc.msg) {
				t.Errorf("Warning %q does not say %q", w, tc.msg)
			}
		})
	}
	if res := fx.getJSON("/instances?SOPInstanceUID=" + sop); len(res) != 0 {
		t.Errorf("a failed instance was stored")
	}
	entries, _ := os.ReadDir(fx.svc.opts.TempDir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "stow-") {
			t.Errorf("spool file %s left behind", e.Name())
		}
	}
	// Wrong study in the path.
	resp, sr := fx.stowMetaBulk("/studies/1.2.3", mediaDicomJSON, [][]byte{meta}, bulk)
	if resp.StatusCode != http.StatusConflict || sr.Failed.Value[0]["00081197"].str(0) != "43264" {
		t.Errorf("study mismatch: status %d, %v", resp.StatusCode, sr.Failed.Value)
	}
	// Whole-request errors.
	bad := func(ct, b string, status int) {
		t.Helper()
		body(t, fx.do("POST", "/studies", strings.NewReader(b), "Content-Type: "+ct), status)
	}
	bad(`multipart/related; type="application/dicom+json"; boundary=x`, "--x\r\nContent-Type: application/dicom+json\r\n\r\n[]\r\n--x\r\nContent-Type: application/octet-stream\r\n\r\nabc\r\n--x--\r\n", http.StatusBadRequest)
	bad(`multipart/related; type="application/dicom+json"; boundary=x`, "--x\r\nContent-Type: application/dicom+json\r\n\r\n[]\r\n--x\r\nContent-Type: image/gif\r\nContent-Location: a\r\n\r\nabc\r\n--x--\r\n", http.StatusUnsupportedMediaType)
	bad(`multipart/related; type="application/dicom+xml"; boundary=x`, "--x\r\nContent-Type: application/dicom\r\n\r\nDICM\r\n--x--\r\n", http.StatusUnsupportedMediaType)
	bad(`multipart/related; type="application/dicom+json"; boundary=x`, "--x--\r\n", http.StatusBadRequest)
	bad(`multipart/related; type="text/plain"; boundary=x`, "--x--\r\n", http.StatusUnsupportedMediaType)
}

// TestSTOWVideoPart: a video/mp4 part carries every frame of Pixel Data
// in one fragment.
func TestSTOWVideoPart(t *testing.T) {
	const ts = "1.2.840.10008.1.2.4.102"
	meta := []byte(`[{"00280008":{"vr":"IS","Value":[25]},"7FE00010":{"vr":"OB","BulkDataURI":"v"}}]`)
	b, ct := metaBulkBody(t, mediaDicomJSON, [][]byte{meta}, []mbPart{{"video/mp4; transfer-syntax=" + ts, "v", []byte("\x00\x00\x00\x18ftypmp42 not a real stream")}})
	boundary := ct[strings.Index(ct, "boundary=")+len("boundary="):]
	svc := New(nil, Options{TempDir: t.TempDir()})
	body, err := svc.readStowBody(b, boundary, mediaDicomJSON)
	if err != nil {
		t.Fatal(err)
	}
	defer body.close()
	objs, _ := splitJSONInstances(body.metas[0].data)
	ds, uris, err := dicomjson.Unmarshal(objs[0])
	if err != nil {
		t.Fatal(err)
	}
	got, err := resolveBulk(ds, uris, body)
	if err != nil || got != ts {
		t.Fatalf("transfer syntax %q, %v", got, err)
	}
	if e := ds.Get(dicom.TagPixelData); len(e.Fragments) != 2 || e.Fragments[1].Length != 30 {
		t.Errorf("fragments %+v", e.Fragments)
	}
}

// TestSTOWResponseXML asks for the STOW-RS response in XML and checks its
// PS3.18 content.
func TestSTOWResponseXML(t *testing.T) {
	fx := newFixture(t, fixtureOpts{})
	ct, f := readCorpus(t, "series/pydicom-ge-ct-2series/CT2N_6293.dcm")
	b, ctype := multipartBody(t, ct, []byte("garbage"))
	resp := fx.do("POST", "/studies", b, "Content-Type: "+ctype, "Accept: application/dicom+xml")
	raw := body(t, resp, http.StatusAccepted)
	if got := resp.Header.Get("Content-Type"); got != mediaDicomXML {
		t.Fatalf("Content-Type %q", got)
	}
	ds, _, err := dicomxml.Unmarshal(raw)
	if err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
	ref := ds.Get(dicom.Tag(tagReferencedSOPSequence))
	failed := ds.Get(dicom.Tag(tagFailedSOPSequence))
	if ref == nil || len(ref.Items) != 1 || failed == nil || len(failed.Items) != 1 {
		t.Fatalf("response %s", raw)
	}
	if got := ref.Items[0].String(dicom.Tag(tagReferencedSOPInstanceID)); got != f.Dataset.String(dicom.TagSOPInstanceUID) {
		t.Errorf("ReferencedSOPInstanceUID %q", got)
	}
	if got := ref.Items[0].String(dicom.Tag(tagRetrieveURL)); !strings.HasPrefix(got, fx.base+"/studies/") {
		t.Errorf("RetrieveURL %q", got)
	}
	if v, _ := failed.Items[0].Int(dicom.Tag(tagFailureReason)); v != int64(reasonCannotUnderstand) {
		t.Errorf("FailureReason %d", v)
	}
	body(t, fx.do("POST", "/studies", strings.NewReader(""), "Content-Type: "+ctype, "Accept: text/html"), http.StatusNotAcceptable)
}

// FuzzStowMetadataBody feeds arbitrary metadata-and-bulk bodies through
// the parser and the instance builder (not the archive): no panic, no
// spool file left behind, and one result per decoded instance.
func FuzzStowMetadataBody(f *testing.F) {
	// Small seeds: minimizing a large one takes most of a short fuzz run.
	native := `[{"00080016":{"vr":"UI","Value":["1.2.840.10008.5.1.4.1.1.7"]},"00080018":{"vr":"UI","Value":["1.2.3"]},` +
		`"00280010":{"vr":"US","Value":[2]},"00280011":{"vr":"US","Value":[2]},"00280100":{"vr":"US","Value":[8]},` +
		`"7FE00010":{"vr":"OB","BulkDataURI":"p"}}]`
	xmlMeta := `<NativeDicomModel><DicomAttribute tag="00280008" vr="IS"><Value number="1">2</Value></DicomAttribute>` +
		`<DicomAttribute tag="00091001" vr="OB" privateCreator="X"><BulkData uri="b"/></DicomAttribute>` +
		`<DicomAttribute tag="7FE00010" vr="OB"><BulkData uri="p"/></DicomAttribute></NativeDicomModel>`
	for _, seed := range []struct {
		typ, meta string
		bulk      []mbPart
	}{
		{mediaDicomJSON, native, []mbPart{{"application/octet-stream", "p", []byte{1, 2, 3, 4}}}},
		{mediaDicomXML, xmlMeta, []mbPart{{"application/octet-stream", "b", []byte("bb")}, {"image/jpeg", "p", []byte{0xff, 0xd8, 0xff, 0xd9}}, {"image/jpeg; transfer-syntax=1.2.840.10008.1.2.4.50", "p", []byte{0xff, 0xd8, 0xff}}}},
	} {
		rd, ctype := metaBulkBody(f, seed.typ, [][]byte{[]byte(seed.meta)}, seed.bulk)
		var buf bytes.Buffer
		buf.ReadFrom(rd)
		f.Add(buf.Bytes(), ctype)
	}
	f.Add([]byte("--x\r\nContent-Type: application/dicom+json\r\n\r\n[{\"7FE00010\":{\"vr\":\"OW\",\"BulkDataURI\":\"a\"}}]\r\n--x\r\nContent-Type: image/jpeg\r\nContent-Location: a\r\n\r\n\xff\xd8\r\n--x--\r\n"), `multipart/related; type="application/dicom+json"; boundary=x`)
	dir := f.TempDir()
	svc := New(nil, Options{TempDir: dir, MaxStowParts: 50})
	f.Fuzz(func(t *testing.T, data []byte, ctype string) {
		boundary, typ, err := stowContentType(ctype)
		if err != nil || typ == "application/dicom" {
			return
		}
		body, err := svc.readStowBody(bytes.NewReader(data), boundary, typ)
		defer body.close()
		if err != nil {
			return
		}
		for _, m := range body.metas {
			var ds *dicom.Dataset
			var uris map[*dicom.Element]string
			if m.xml {
				ds, uris, err = dicomxml.Unmarshal(m.data)
			} else {
				var objs []json.RawMessage
				if objs, err = splitJSONInstances(m.data); err == nil && len(objs) > 0 {
					ds, uris, err = dicomjson.Unmarshal(objs[0])
				}
			}
			if err != nil || ds == nil {
				continue
			}
			if ts, err := resolveBulk(ds, uris, body); err == nil {
				var src io.ReaderAt
				if body.file != nil {
					src = body.file
				}
				dicom.WriteFile(io.Discard, ds, ts, dicom.WriteOptions{Bulk: src})
			}
		}
	})
}

// BenchmarkSTOWMetadataBulk stores one instance per request as metadata
// plus bulk data (JSON and XML), durably, like BenchmarkSTOW/1client-1inst
// does with application/dicom, to compare the cost of building Part 10.
func BenchmarkSTOWMetadataBulk(b *testing.B) {
	for _, typ := range []string{mediaDicomJSON, mediaDicomXML} {
		b.Run(strings.TrimPrefix(typ, "application/"), func(b *testing.B) {
			e := newBenchEnv(b, true, Options{})
			f, data := loadTemplate(b, "series/toshiba-mr-dti-6slices/0001.dcm")
			const sopTmpl = "2.25.778.1.1999999999"
			inst := synthInstance(b, f, data, "2.25.778", "2.25.778.1", sopTmpl, "STOWB", "STOW^BULK", 1)
			meta, bulk := metaBulkParts(b, inst, typ == mediaDicomXML)
			rd, ctype := metaBulkBody(b, typ, [][]byte{meta}, bulk)
			tmpl, _ := io.ReadAll(rd)
			c := e.srv.Client()
			start := time.Now()
			b.ResetTimer()
			for i := range b.N {
				body := bytes.ReplaceAll(tmpl, []byte(sopTmpl), []byte(fmt.Sprintf("2.25.778.1.1%09d", i)))
				req, _ := http.NewRequest("POST", e.base+"/studies", bytes.NewReader(body))
				req.Header.Set("Content-Type", ctype)
				resp, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("STOW status %d", resp.StatusCode)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "inst/s")
		})
	}
}
