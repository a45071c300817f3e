package dicomweb

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/archive"
)

// storeMoved stores the corpus file rel under another study and series
// (and a new SOP Instance UID), as a non-image object placed among images.
func (fx *fixture) storeMoved(rel, study, series, sop string) {
	fx.t.Helper()
	f, err := dicom.ReadFile(corpus(fx.t, rel), dicom.ReadOptions{LoadBulk: true})
	if err != nil {
		fx.t.Fatal(err)
	}
	ds := f.Dataset
	ds.Set(dicom.NewStringElement(dicom.TagStudyInstanceUID, dicom.UI, study))
	ds.Set(dicom.NewStringElement(dicom.TagSeriesInstanceUID, dicom.UI, series))
	ds.Set(dicom.NewStringElement(dicom.TagSOPInstanceUID, dicom.UI, sop))
	var buf bytes.Buffer
	if err := dicom.WriteFile(&buf, ds, dicom.ExplicitVRLittleEndian, dicom.WriteOptions{}); err != nil {
		fx.t.Fatal(err)
	}
	res, err := fx.arch.Store(context.Background(), bytes.NewReader(buf.Bytes()), archive.IngestMeta{Size: int64(buf.Len()), Source: rel})
	if err != nil || res.Outcome != archive.OutcomeStored {
		fx.t.Fatalf("store moved %s: %v %v", rel, res.Outcome, err)
	}
}

// TestRenderedParts checks the rendered resources of several images
// (PS3.18 8.7.4): a frame list, a series and a study answer
// multipart/related with one rendered image per frame, in display order,
// each equal to the image the single-frame resource renders; non-image
// instances are skipped, and a target without images is a 400.
func TestRenderedParts(t *testing.T) {
	files := append(corpusFiles(t, "series/pydicom-ge-ct-2series"), "multiframe/enhanced-mr-10f.dcm", "sr/comprehensive-sr.dcm")
	fx := newFixture(t, fixtureOpts{}, files...)
	_, ct := fx.anyInstance("series/")
	_, mf := fx.anyInstance("multiframe/")
	_, sr := fx.anyInstance("sr/")
	study, series := ct.f.Dataset.String(dicom.TagStudyInstanceUID), ct.f.Dataset.String(dicom.TagSeriesInstanceUID)
	// An SR in the CT's series, to be skipped.
	fx.storeMoved(sr.path, study, series, "1.2.826.0.1.3680043.2.1125.99.1")

	// pngParts reads a multipart of PNG images, checking the part types.
	pngParts := func(t *testing.T, resp *http.Response) ([]image.Image, []string) {
		t.Helper()
		if resp.StatusCode != http.StatusOK {
			body(t, resp, http.StatusOK)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, `type="image/png"`) {
			t.Errorf("Content-Type %q", ct)
		}
		var imgs []image.Image
		var locs []string
		for i, p := range readParts(t, resp) {
			if ct := p.header.Get("Content-Type"); ct != "image/png" {
				t.Errorf("part %d: Content-Type %q", i+1, ct)
			}
			img, err := png.Decode(bytes.NewReader(p.data))
			if err != nil {
				t.Fatalf("part %d: %v", i+1, err)
			}
			imgs = append(imgs, img)
			locs = append(locs, p.header.Get("Content-Location"))
		}
		return imgs, locs
	}
	single := func(t *testing.T, url string) image.Image {
		return decodeImage(t, fx.get(url, "Accept: image/png"), "image/png")
	}

	t.Run("frame list", func(t *testing.T) {
		imgs, locs := pngParts(t, fx.get(instPath(mf)+"/frames/5,1,10/rendered?window=100,200", `Accept: multipart/related; type="image/png"`))
		if len(imgs) != 3 {
			t.Fatalf("%d parts, want 3", len(imgs))
		}
		for i, n := range []string{"5", "1", "10"} {
			want := single(t, instPath(mf)+"/frames/"+n+"/rendered?window=100,200")
			if d := meanAbsDiff(imgs[i], want); d != 0 {
				t.Errorf("part %d differs from frames/%s/rendered by %.2f", i+1, n, d)
			}
			if !strings.HasSuffix(locs[i], "/frames/"+n+"/rendered") {
				t.Errorf("part %d: Content-Location %q", i+1, locs[i])
			}
		}
		if meanAbsDiff(imgs[0], imgs[1]) == 0 {
			t.Errorf("frames 5 and 1 render identically")
		}
		// JPEG by default, and a plain image/jpeg Accept means the part type.
		for _, accept := range []string{"", "Accept: image/jpeg", `Accept: multipart/related; type="image/jpeg"`} {
			var hdr []string
			if accept != "" {
				hdr = append(hdr, accept)
			}
			parts := readParts(t, fx.get(instPath(mf)+"/frames/1,2/rendered", hdr...))
			if len(parts) != 2 {
				t.Fatalf("%q: %d parts", accept, len(parts))
			}
			for _, p := range parts {
				jpegFrame(t, p.data)
			}
		}
		body(t, fx.get(instPath(mf)+"/frames/1,11/rendered"), http.StatusNotFound)
		body(t, fx.get(instPath(mf)+"/frames/1,2/rendered", "Accept: image/gif"), http.StatusNotAcceptable)
		body(t, fx.get(instPath(mf)+"/frames/1,2/thumbnail"), http.StatusBadRequest)
		body(t, fx.get(instPath(sr)+"/frames/1,2/rendered"), http.StatusBadRequest)
	})

	t.Run("series", func(t *testing.T) {
		imgs, locs := pngParts(t, fx.get("/studies/"+study+"/series/"+series+"/rendered", "Accept: image/png"))
		var want []corpusFile
		for _, cf := range fx.files {
			if cf.f.Dataset.String(dicom.TagSeriesInstanceUID) == series {
				want = append(want, cf)
			}
		}
		if len(imgs) != len(want) {
			t.Fatalf("%d parts, want one per image instance (%d; the SR skipped)", len(imgs), len(want))
		}
		last := int64(-1 << 62)
		for i, loc := range locs {
			var cf corpusFile
			for _, c := range want {
				if strings.Contains(loc, "/instances/"+c.f.Dataset.String(dicom.TagSOPInstanceUID)+"/") {
					cf = c
				}
			}
			if cf.f == nil {
				t.Fatalf("part %d: Content-Location %q names no image of the series", i+1, loc)
			}
			if n, _ := cf.f.Dataset.Int(dicom.Tag(0x00200013)); n < last {
				t.Errorf("part %d: Instance Number %d after %d", i+1, n, last)
			} else {
				last = n
			}
			if d := meanAbsDiff(imgs[i], single(t, instPath(cf)+"/rendered")); d != 0 {
				t.Errorf("part %d differs from its instance's /rendered by %.2f", i+1, d)
			}
		}
	})

	t.Run("study", func(t *testing.T) {
		parts := readParts(t, fx.get("/studies/"+study+"/rendered"))
		n := 0
		for _, cf := range fx.files {
			if cf.f.Dataset.String(dicom.TagStudyInstanceUID) == study {
				n += numberOfFrames(cf.f.Dataset)
			}
		}
		if len(parts) != n {
			t.Errorf("%d parts, want %d (every frame of every image instance of the study)", len(parts), n)
		}
		for _, p := range parts {
			jpegFrame(t, p.data)
		}
		// The multi-frame instance's study: one part per frame.
		mstudy := mf.f.Dataset.String(dicom.TagStudyInstanceUID)
		if got := readParts(t, fx.get("/studies/"+mstudy+"/rendered")); len(got) != numberOfFrames(mf.f.Dataset) {
			t.Errorf("multi-frame study: %d parts, want %d", len(got), numberOfFrames(mf.f.Dataset))
		}
	})

	t.Run("no images", func(t *testing.T) {
		ds := sr.f.Dataset
		for _, path := range []string{
			"/studies/" + ds.String(dicom.TagStudyInstanceUID) + "/rendered",
			"/studies/" + ds.String(dicom.TagStudyInstanceUID) + "/series/" + ds.String(dicom.TagSeriesInstanceUID) + "/rendered",
		} {
			b := body(t, fx.get(path), http.StatusBadRequest)
			if !strings.Contains(string(b), "no image instances") {
				t.Errorf("%s: message %s", path, b)
			}
		}
		body(t, fx.get("/studies/1.2.3.4.5.6.7/rendered"), http.StatusNotFound)
	})

	t.Run("etag", func(t *testing.T) {
		url := "/studies/" + study + "/series/" + series + "/rendered"
		resp := fx.get(url)
		body(t, resp, http.StatusOK)
		etag := resp.Header.Get("ETag")
		if etag == "" {
			t.Fatal("no ETag")
		}
		body(t, fx.get(url, "If-None-Match: "+etag), http.StatusNotModified)
		other := fx.get(url+"?window=40,400", "If-None-Match: "+etag)
		body(t, other, http.StatusOK)
	})
}
