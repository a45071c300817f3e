package dicomweb

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
)

func (fx *fixture) anyInstance(pathPrefix string) (string, corpusFile) {
	var sops []string
	for sop, cf := range fx.files {
		if strings.HasPrefix(cf.path, pathPrefix) {
			sops = append(sops, sop)
		}
	}
	if len(sops) == 0 {
		fx.t.Fatalf("no loaded file under %s", pathPrefix)
	}
	sort.Strings(sops)
	return sops[0], fx.files[sops[0]]
}

func instPath(cf corpusFile) string {
	ds := cf.f.Dataset
	return "/studies/" + ds.String(dicom.TagStudyInstanceUID) + "/series/" + ds.String(dicom.TagSeriesInstanceUID) +
		"/instances/" + ds.String(dicom.TagSOPInstanceUID)
}

func TestRetrieveStudySeriesInstance(t *testing.T) {
	fx := newFixture(t, fixtureOpts{}, corpusFiles(t, "series")...)
	facts := fx.facts()
	for study, f := range facts {
		parts := readParts(t, fx.get("/studies/"+study, `Accept: multipart/related; type="application/dicom"; transfer-syntax=*`))
		if len(parts) != f.instances {
			t.Fatalf("study %s: %d parts, want %d", study, len(parts), f.instances)
		}
		for _, p := range parts {
			sum := sha256.Sum256(p.data)
			found := false
			for _, cf := range fx.files {
				if cf.sum == sum {
					found = true
					if !strings.Contains(p.header.Get("Content-Type"), "transfer-syntax="+cf.f.TransferSyntax) {
						t.Errorf("part Content-Type %q, stored syntax %s", p.header.Get("Content-Type"), cf.f.TransferSyntax)
					}
				}
			}
			if !found {
				t.Errorf("study %s: a part matches no original file byte for byte", study)
			}
		}
		for series := range f.series {
			parts := readParts(t, fx.get("/studies/"+study+"/series/"+series))
			if len(parts) == 0 {
				t.Errorf("series %s: no parts", series)
			}
		}
	}
	sop, cf := fx.anyInstance("series/")
	parts := readParts(t, fx.get(instPath(cf)))
	if len(parts) != 1 || !bytes.Equal(parts[0].data, cf.data) {
		t.Fatalf("instance %s: %d parts, or bytes differ", sop, len(parts))
	}

	t.Run("single part with range", func(t *testing.T) {
		resp := fx.get(instPath(cf), "Accept: application/dicom", "Range: bytes=128-131")
		b := body(t, resp, http.StatusPartialContent)
		if string(b) != "DICM" {
			t.Errorf("range gave %q", b)
		}
		resp = fx.get(instPath(cf), "Accept: application/dicom")
		b = body(t, resp, http.StatusOK)
		if !bytes.Equal(b, cf.data) {
			t.Errorf("single part differs from the file")
		}
		etag := resp.Header.Get("ETag")
		body(t, fx.get(instPath(cf), "Accept: application/dicom", "If-None-Match: "+etag), http.StatusNotModified)
	})
	t.Run("etag multipart", func(t *testing.T) {
		resp := fx.get(instPath(cf))
		body(t, resp, http.StatusOK)
		etag := resp.Header.Get("ETag")
		if etag == "" || resp.Header.Get("Last-Modified") == "" {
			t.Fatalf("no validators: %v", resp.Header)
		}
		body(t, fx.get(instPath(cf), "If-None-Match: "+etag), http.StatusNotModified)
	})
	t.Run("other syntax 406", func(t *testing.T) {
		b := body(t, fx.get(instPath(cf), `Accept: multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50`), http.StatusNotAcceptable)
		if !strings.Contains(string(b), "transfer-syntax=*") {
			t.Errorf("message does not say what to ask for: %s", b)
		}
	})
	t.Run("stored syntax accepted", func(t *testing.T) {
		parts := readParts(t, fx.get(instPath(cf), `Accept: multipart/related; type="application/dicom"; transfer-syntax=`+cf.f.TransferSyntax))
		if len(parts) != 1 {
			t.Fatalf("%d parts", len(parts))
		}
	})
	t.Run("not found", func(t *testing.T) {
		body(t, fx.get("/studies/1.2.3.4"), http.StatusNotFound)
		body(t, fx.get("/studies/not-a-uid"), http.StatusBadRequest)
	})
	t.Run("rendered", func(t *testing.T) {
		// rendered_test.go checks the images.
		body(t, fx.get(instPath(cf)+"/rendered"), http.StatusOK)
		body(t, fx.get(instPath(cf)+"/thumbnail"), http.StatusOK)
	})
}

// TestMetadataMatchesFiles compares /metadata with what the dicom package
// reads from the original files, attribute by attribute, charset files
// included, and follows every BulkDataURI.
func TestMetadataMatchesFiles(t *testing.T) {
	files := append(corpusFiles(t, "charset", "series/pydicom-ge-ct-2series"),
		"multiframe/enhanced-mr-10f.dcm", "multiframe/sonosite-us-30f-jpeg.dcm",
		"transfer-syntax/ge-ct-evrbe.dcm", "encapsulated/"+firstFile(t, "encapsulated"))
	fx := newFixture(t, fixtureOpts{}, files...)
	bulkChecked := 0
	for sop, cf := range fx.files {
		res := fx.getJSON(instPath(cf) + "/metadata")
		if len(res) != 1 {
			t.Fatalf("%s: %d objects", cf.path, len(res))
		}
		got := res[0]
		wantJS, err := dicomjson.Marshal(cf.f.Dataset, dicomjson.Options{OmitBulk: true})
		if err != nil {
			t.Fatal(err)
		}
		var want map[string]jsonAttr
		if err := json.Unmarshal(wantJS, &want); err != nil {
			t.Fatal(err)
		}
		for tag, w := range want {
			g, ok := got[tag]
			if !ok {
				t.Errorf("%s: %s missing from metadata", cf.path, tag)
				continue
			}
			if g.VR != w.VR || !equalValues(g.Value, w.Value) || g.InlineBinary != w.InlineBinary {
				t.Errorf("%s %s: got %s %s, want %s %s", cf.path, tag, g.VR, raw(g.Value), w.VR, raw(w.Value))
			}
		}
		if ts := got["00020010"].str(0); ts != cf.f.TransferSyntax {
			t.Errorf("%s: TransferSyntaxUID %q, want %q", cf.path, ts, cf.f.TransferSyntax)
		}
		for _, e := range cf.f.Dataset.Elements {
			if !e.Bulk {
				continue
			}
			a, ok := got[e.Tag.Hex()]
			if !ok || a.BulkDataURI == "" {
				t.Errorf("%s: bulk element %s has no BulkDataURI", cf.path, e.Tag)
				continue
			}
			if !strings.HasPrefix(a.BulkDataURI, fx.base+instPath(cf)+"/bulkdata/") {
				t.Errorf("%s: BulkDataURI %q", cf.path, a.BulkDataURI)
			}
			if e.IsEncapsulated() || e.Tag == dicom.TagPixelData && numberOfFrames(cf.f.Dataset) > 1 && false {
				continue
			}
			if e.IsEncapsulated() {
				continue
			}
			resp := fx.get(a.BulkDataURI, "Accept: application/octet-stream")
			b := body(t, resp, http.StatusOK)
			wantB := cf.data[e.Offset : e.Offset+int64(e.Length)]
			if cf.f.Dataset.Encoding.BigEndian {
				wantB = swapped(wantB, e.VR.WordSize())
			}
			if !bytes.Equal(b, wantB) {
				t.Errorf("%s: bulk data of %s differs (%d bytes, want %d)", cf.path, e.Tag, len(b), len(wantB))
			}
			bulkChecked++
		}
		_ = sop
	}
	if bulkChecked < 5 {
		t.Errorf("only %d bulk values checked", bulkChecked)
	}

	t.Run("study and series level", func(t *testing.T) {
		for study, f := range fx.facts() {
			res := fx.getJSON("/studies/" + study + "/metadata")
			if len(res) != f.instances {
				t.Errorf("study %s metadata: %d objects, want %d", study, len(res), f.instances)
			}
			for series := range f.series {
				if len(fx.getJSON("/studies/"+study+"/series/"+series+"/metadata")) == 0 {
					t.Errorf("series %s metadata empty", series)
				}
			}
		}
	})
	t.Run("gzip and etag", func(t *testing.T) {
		_, cf := fx.anyInstance("series/")
		u := "/studies/" + cf.f.Dataset.String(dicom.TagStudyInstanceUID) + "/metadata"
		req, _ := http.NewRequest("GET", fx.base+u, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		tr := &http.Transport{DisableCompression: true}
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b := body(t, resp, http.StatusOK)
		if resp.Header.Get("Content-Encoding") != "gzip" || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
			t.Errorf("metadata not gzipped: %q", resp.Header.Get("Content-Encoding"))
		}
		body(t, fx.get(u, "If-None-Match: "+resp.Header.Get("ETag")), http.StatusNotModified)
	})
}

func firstFile(t testing.TB, dir string) string {
	fs := corpusFiles(t, dir)
	if len(fs) == 0 {
		t.Fatalf("no files in %s", dir)
	}
	return strings.TrimPrefix(fs[0], dir+"/")
}

// TestFramesNative checks frames of the same CT image stored in every
// native syntax: the pixels must come out identical (little endian).
func TestFramesNative(t *testing.T) {
	var want []byte
	for _, f := range []string{"transfer-syntax/ge-ct-evrle.dcm", "transfer-syntax/ge-ct-ivrle.dcm",
		"transfer-syntax/ge-ct-evrbe.dcm", "transfer-syntax/ge-ct-deflate.dcm"} {
		t.Run(f, func(t *testing.T) {
			fx := newFixture(t, fixtureOpts{}, f)
			_, cf := fx.anyInstance("transfer-syntax/")
			parts := readParts(t, fx.get(instPath(cf)+"/frames/1"))
			if len(parts) != 1 {
				t.Fatalf("%d parts", len(parts))
			}
			if n := len(parts[0].data); n != 512*512*2 {
				t.Fatalf("frame of %d bytes", n)
			}
			if ct := parts[0].header.Get("Content-Type"); !strings.HasPrefix(ct, "application/octet-stream") {
				t.Errorf("part Content-Type %q", ct)
			}
			if want == nil {
				want = parts[0].data
			} else if !bytes.Equal(want, parts[0].data) {
				t.Errorf("pixels differ from the Explicit VR Little Endian file's")
			}
			body(t, fx.get(instPath(cf)+"/frames/2"), http.StatusNotFound)
			body(t, fx.get(instPath(cf)+"/frames/x"), http.StatusBadRequest)
			// Single part, with Range.
			resp := fx.get(instPath(cf)+"/frames/1", "Accept: application/octet-stream", "Range: bytes=0-9")
			if b := body(t, resp, http.StatusPartialContent); !bytes.Equal(b, want[:10]) {
				t.Errorf("ranged frame %x, want %x", b, want[:10])
			}
		})
	}
}

func TestFramesMultiframe(t *testing.T) {
	cases := []struct {
		file   string
		frames int
		check  func(t *testing.T, b []byte)
		accept string
	}{
		{"multiframe/enhanced-mr-10f.dcm", 10, nil, ""},
		{"multiframe/nm-13f-heart.dcm", 13, nil, ""},
		{"multiframe/sonosite-us-30f-jpeg.dcm", 30, jpegFrame, `multipart/related; type="application/octet-stream"; transfer-syntax=*`},
		{"multiframe/ge-kretz-us-87f-jpeg.dcm", 87, jpegFrame, `multipart/related; type="image/jpeg"`},
		{"multiframe/philips-us-2f-rle.dcm", 2, rleFrame, `multipart/related; type="application/octet-stream"; transfer-syntax=*`},
		{"multiframe/us-palette-10f-rle.dcm", 10, rleFrame, ""},
		{"multiframe/enhanced-mr-10f-jpegls.dcm", 10, jpegFrame, `multipart/related; type="image/jls"`},
		{"multiframe/philips-us-2f-evrbe.dcm", 2, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			fx := newFixture(t, fixtureOpts{}, c.file) // one archive each: some files share UIDs
			var cf corpusFile
			for _, f := range fx.files {
				if f.path == c.file {
					cf = f
				}
			}
			list := make([]string, c.frames)
			for i := range list {
				list[i] = fmt.Sprint(i + 1)
			}
			var hdr []string
			if c.accept != "" {
				hdr = append(hdr, "Accept: "+c.accept)
			}
			parts := readParts(t, fx.get(instPath(cf)+"/frames/"+strings.Join(list, ","), hdr...))
			if len(parts) != c.frames {
				t.Fatalf("%d parts, want %d", len(parts), c.frames)
			}
			info := pixelInfo(cf.f.Dataset)
			for i, p := range parts {
				if c.check != nil {
					c.check(t, p.data)
					if !strings.Contains(p.header.Get("Content-Type"), "transfer-syntax="+cf.f.TransferSyntax) {
						t.Errorf("frame %d Content-Type %q", i+1, p.header.Get("Content-Type"))
					}
					continue
				}
				if want := info.Rows * info.Columns * info.SamplesPerPixel * info.BitsAllocated / 8; len(p.data) != want {
					t.Errorf("frame %d: %d bytes, want %d", i+1, len(p.data), want)
				}
			}
			if c.check == nil {
				// Native frames laid end to end are the pixel data.
				pix := pixelElement(cf.f.Dataset)
				wantAll := cf.data[pix.Offset : pix.Offset+int64(pix.Length)]
				if cf.f.Dataset.Encoding.BigEndian {
					wantAll = swapped(wantAll, 2)
				}
				var all []byte
				for _, p := range parts {
					all = append(all, p.data...)
				}
				if !bytes.Equal(all, wantAll[:len(all)]) {
					t.Errorf("frames differ from the pixel data")
				}
			}
			// Frames in another order, and one frame.
			parts = readParts(t, fx.get(instPath(cf)+"/frames/"+fmt.Sprint(c.frames)+",1", hdr...))
			if len(parts) != 2 {
				t.Errorf("%d parts for 2 frames", len(parts))
			}
		})
	}
	t.Run("compressed to octet-stream default syntax 406", func(t *testing.T) {
		fx := newFixture(t, fixtureOpts{}, "multiframe/sonosite-us-30f-jpeg.dcm")
		var cf corpusFile
		for _, f := range fx.files {
			if f.path == "multiframe/sonosite-us-30f-jpeg.dcm" {
				cf = f
			}
		}
		body(t, fx.get(instPath(cf)+"/frames/1", `Accept: multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1`), http.StatusNotAcceptable)
	})
}

func jpegFrame(t *testing.T, b []byte) {
	t.Helper()
	if len(b) < 4 || b[0] != 0xFF || b[1] != 0xD8 {
		t.Errorf("frame does not start with a JPEG SOI marker: % x", b[:min(4, len(b))])
	}
	if i := bytes.LastIndex(b, []byte{0xFF, 0xD9}); i < len(b)-4 {
		t.Errorf("frame does not end with an EOI marker (at %d of %d)", i, len(b))
	}
}

func rleFrame(t *testing.T, b []byte) {
	t.Helper()
	if len(b) < 64 {
		t.Fatalf("RLE frame of %d bytes", len(b))
	}
	n := binary.LittleEndian.Uint32(b)
	if n < 1 || n > 15 || binary.LittleEndian.Uint32(b[4:]) != 64 {
		t.Errorf("frame does not start with an RLE header: % x", b[:8])
	}
}

// compile-time use of io for helpers kept here.
var _ = io.EOF

// TestFrameLocationAgreesWithCodec checks that the frames this package
// assembles from codec.LocateFrames spans (used when no codec decodes the
// syntax) are the bytes the codec package reads, on every encapsulated
// multi-frame corpus file.
func TestFrameLocationAgreesWithCodec(t *testing.T) {
	n := 0
	for _, rel := range corpusFiles(t, "multiframe", "transfer-syntax", "us") {
		data, f := readCorpus(t, rel)
		pix := pixelElement(f.Dataset)
		if pix == nil || !pix.IsEncapsulated() {
			continue
		}
		withCodec, err1 := newFrameSourceWith(f, bytes.NewReader(data), true)
		own, err2 := newFrameSourceWith(f, bytes.NewReader(data), false)
		if err1 != nil || err2 != nil {
			t.Logf("%s: codec %v, own %v", rel, err1, err2)
			continue
		}
		if withCodec.px == nil {
			continue
		}
		n++
		if withCodec.frames != own.frames {
			t.Errorf("%s: %d frames by codec, %d here", rel, withCodec.frames, own.frames)
			continue
		}
		for i := 1; i <= own.frames; i++ {
			a, _ := withCodec.frame(i)
			b, err := own.frame(i)
			if err != nil || !bytes.Equal(a, b) {
				t.Errorf("%s frame %d: differs (%d vs %d bytes, %v)", rel, i, len(a), len(b), err)
				break
			}
		}
	}
	if n < 5 {
		t.Errorf("only %d files compared", n)
	}
}

// TestViewerRequests replays the requests OHIF and Cornerstone's WADO-RS
// image loader make, with their exact query strings and Accept headers.
func TestViewerRequests(t *testing.T) {
	fx := newFixture(t, fixtureOpts{}, "multiframe/sonosite-us-30f-jpeg.dcm", "transfer-syntax/ge-ct-evrle.dcm")
	res := fx.getJSON("/studies?limit=101&offset=0&fuzzymatching=false&includefield=00081030%2C00080060")
	if len(res) != 2 {
		t.Fatalf("study list: %d studies", len(res))
	}
	for _, cf := range fx.files {
		ds := cf.f.Dataset
		study, series := ds.String(dicom.TagStudyInstanceUID), ds.String(dicom.TagSeriesInstanceUID)
		if len(fx.getJSON("/studies/"+study+"/series?includefield=0008103E%2C00080021")) != 1 {
			t.Errorf("series list of %s", study)
		}
		md := fx.getJSON("/studies/" + study + "/series/" + series + "/metadata")
		if len(md) != 1 {
			t.Fatalf("series metadata: %d", len(md))
		}
		for _, tag := range []string{"00020010", "00280010", "00280011", "00280100", "00280004", "00080016", "00080018", "7FE00010"} {
			if _, ok := md[0][tag]; !ok {
				t.Errorf("%s: metadata lacks %s", cf.path, tag)
			}
		}
		parts := readParts(t, fx.get(instPath(cf)+"/frames/1", "Accept: multipart/related; type=application/octet-stream; transfer-syntax=*"))
		if len(parts) != 1 || !strings.Contains(parts[0].header.Get("Content-Type"), "transfer-syntax="+cf.f.TransferSyntax) {
			t.Errorf("%s: Cornerstone frame request: %d parts, Content-Type %q", cf.path, len(parts), parts[0].header.Get("Content-Type"))
		}
		// HEAD works wherever GET does.
		body(t, fx.do("HEAD", instPath(cf)+"/metadata", nil), http.StatusOK)
		body(t, fx.do("HEAD", instPath(cf), nil), http.StatusOK)
	}
}
