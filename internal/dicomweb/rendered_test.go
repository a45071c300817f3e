package dicomweb

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"net/http"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// decodeImage decodes a rendered response, checking its status and
// Content-Type.
func decodeImage(t *testing.T, resp *http.Response, ctype string) image.Image {
	t.Helper()
	b := body(t, resp, http.StatusOK)
	if got := resp.Header.Get("Content-Type"); got != ctype {
		t.Fatalf("%s: Content-Type %q, want %q", resp.Request.URL, got, ctype)
	}
	var img image.Image
	var err error
	if ctype == "image/png" {
		img, err = png.Decode(bytes.NewReader(b))
	} else {
		img, err = jpeg.Decode(bytes.NewReader(b))
	}
	if err != nil {
		t.Fatalf("%s: decode %s: %v", resp.Request.URL, ctype, err)
	}
	return img
}

// meanAbsDiff is the mean absolute difference of the grey levels of two
// same-sized images, in 8-bit units.
func meanAbsDiff(a, b image.Image) float64 {
	r := a.Bounds()
	sum := 0.0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ga, _, _, _ := a.At(x, y).RGBA()
			gb, _, _, _ := b.At(x, y).RGBA()
			d := float64(ga>>8) - float64(gb>>8)
			if d < 0 {
				d = -d
			}
			sum += d
		}
	}
	return sum / float64(r.Dx()*r.Dy())
}

func dims(cf corpusFile) (int, int) {
	c, _ := cf.f.Dataset.Int(dicom.TagColumns)
	r, _ := cf.f.Dataset.Int(dicom.TagRows)
	return int(c), int(r)
}

func TestRendered(t *testing.T) {
	files := append(corpusFiles(t, "series/pydicom-ge-ct-2series"), "multiframe/enhanced-mr-10f.dcm", "sr/comprehensive-sr.dcm")
	fx := newFixture(t, fixtureOpts{}, files...)
	_, ct := fx.anyInstance("series/")
	_, mf := fx.anyInstance("multiframe/")
	_, sr := fx.anyInstance("sr/")
	cols, rows := dims(ct)

	t.Run("jpeg and png at native size", func(t *testing.T) {
		for _, c := range []struct{ accept, ctype string }{
			{"", "image/jpeg"},
			{"Accept: image/jpeg", "image/jpeg"},
			{"Accept: image/*", "image/jpeg"},
			{"Accept: image/png", "image/png"},
			{"Accept: image/gif, image/png;q=0.5", "image/png"},
		} {
			var hdr []string
			if c.accept != "" {
				hdr = append(hdr, c.accept)
			}
			img := decodeImage(t, fx.get(instPath(ct)+"/rendered", hdr...), c.ctype)
			if b := img.Bounds(); b.Dx() != cols || b.Dy() != rows {
				t.Errorf("%q: %dx%d, want %dx%d", c.accept, b.Dx(), b.Dy(), cols, rows)
			}
		}
	})

	t.Run("window changes pixels", func(t *testing.T) {
		soft := decodeImage(t, fx.get(instPath(ct)+"/rendered?window=40,400", "Accept: image/png"), "image/png")
		bone := decodeImage(t, fx.get(instPath(ct)+"/rendered?window=1000,100,linear-exact", "Accept: image/png"), "image/png")
		same := decodeImage(t, fx.get(instPath(ct)+"/rendered?window=40,400,linear", "Accept: image/png"), "image/png")
		if d := meanAbsDiff(soft, bone); d < 5 {
			t.Errorf("windows 40/400 and 1000/100 differ by %.2f grey levels on average, want a visible change", d)
		}
		if d := meanAbsDiff(soft, same); d != 0 {
			t.Errorf("the same window rendered twice differs by %.2f", d)
		}
		decodeImage(t, fx.get(instPath(ct)+"/rendered?window=40,400,sigmoid", "Accept: image/png"), "image/png")
	})

	t.Run("viewport", func(t *testing.T) {
		img := decodeImage(t, fx.get(instPath(ct)+"/rendered?viewport=128,64"), "image/jpeg")
		if b := img.Bounds(); b.Dx() > 128 || b.Dy() > 64 || (b.Dx() != 128 && b.Dy() != 64) {
			t.Errorf("viewport 128x64 gave %dx%d", b.Dx(), b.Dy())
		}
		img = decodeImage(t, fx.get(instPath(ct)+"/rendered?viewport=50,50,0,0,100,100", "Accept: image/png"), "image/png")
		if b := img.Bounds(); b.Dx() != 50 || b.Dy() != 50 {
			t.Errorf("viewport 50x50 of a 100x100 region gave %dx%d", b.Dx(), b.Dy())
		}
		small := body(t, fx.get(instPath(ct)+"/rendered?quality=10"), http.StatusOK)
		big := body(t, fx.get(instPath(ct)+"/rendered?quality=100"), http.StatusOK)
		if len(small) >= len(big) {
			t.Errorf("quality 10 gave %d bytes, quality 100 %d", len(small), len(big))
		}
	})

	t.Run("frames", func(t *testing.T) {
		mc, mr := dims(mf)
		f1 := decodeImage(t, fx.get(instPath(mf)+"/frames/1/rendered", "Accept: image/png"), "image/png")
		f5 := decodeImage(t, fx.get(instPath(mf)+"/frames/5/rendered", "Accept: image/png"), "image/png")
		def := decodeImage(t, fx.get(instPath(mf)+"/rendered", "Accept: image/png"), "image/png")
		if b := f5.Bounds(); b.Dx() != mc || b.Dy() != mr {
			t.Errorf("frame 5: %dx%d, want %dx%d", b.Dx(), b.Dy(), mc, mr)
		}
		if meanAbsDiff(f1, f5) == 0 {
			t.Errorf("frames 1 and 5 render identically")
		}
		if meanAbsDiff(f1, def) != 0 {
			t.Errorf("/rendered of a multi-frame instance is not its first frame")
		}
		th := decodeImage(t, fx.get(instPath(mf)+"/frames/2/thumbnail"), "image/jpeg")
		if b := th.Bounds(); b.Dx() > 128 || b.Dy() > 128 {
			t.Errorf("frame thumbnail %dx%d", b.Dx(), b.Dy())
		}
		body(t, fx.get(instPath(mf)+"/frames/11/rendered"), http.StatusNotFound)
		body(t, fx.get(instPath(mf)+"/frames/x/rendered"), http.StatusBadRequest)
	})

	t.Run("thumbnail", func(t *testing.T) {
		ds := ct.f.Dataset
		study, series := ds.String(dicom.TagStudyInstanceUID), ds.String(dicom.TagSeriesInstanceUID)
		for _, c := range []struct {
			path string
			max  int
		}{
			{instPath(ct) + "/thumbnail", 128},
			{instPath(ct) + "/thumbnail?viewport=64,64", 64},
			{"/studies/" + study + "/series/" + series + "/thumbnail", 128},
			{"/studies/" + study + "/thumbnail", 128},
		} {
			img := decodeImage(t, fx.get(c.path), "image/jpeg")
			if b := img.Bounds(); b.Dx() > c.max || b.Dy() > c.max || max(b.Dx(), b.Dy()) != c.max {
				t.Errorf("%s: %dx%d, want a side of %d", c.path, b.Dx(), b.Dy(), c.max)
			}
		}
	})

	t.Run("refusals", func(t *testing.T) {
		for _, c := range []struct {
			q, accept string
			status    int
		}{
			{"", "Accept: image/gif", http.StatusNotAcceptable},
			{"", "Accept: video/mp4", http.StatusNotAcceptable},
			{"", `Accept: multipart/related; type="image/jpeg"`, http.StatusNotAcceptable},
			{"?window=40", "", http.StatusBadRequest},
			{"?window=40,0", "", http.StatusBadRequest},
			{"?window=a,400", "", http.StatusBadRequest},
			{"?window=40,400,cubic", "", http.StatusBadRequest},
			{"?viewport=10", "", http.StatusBadRequest},
			{"?viewport=-10,10", "", http.StatusBadRequest},
			{"?viewport=10,10,0,0,0,5", "", http.StatusBadRequest},
			{"?viewport=10,10,5000,5000,10,10", "", http.StatusBadRequest},
			{"?quality=0", "", http.StatusBadRequest},
			{"?quality=high", "", http.StatusBadRequest},
			{"?annotation=patient,technique&charset=UTF-8", "", http.StatusOK},
		} {
			var hdr []string
			if c.accept != "" {
				hdr = append(hdr, c.accept)
			}
			b := body(t, fx.get(instPath(ct)+"/rendered"+c.q, hdr...), c.status)
			if c.status == http.StatusNotAcceptable && !strings.Contains(string(b), "image/jpeg or image/png") {
				t.Errorf("406 without a useful message: %s", b)
			}
		}
	})

	t.Run("SR has no rendering", func(t *testing.T) {
		for _, p := range []string{"/rendered", "/thumbnail", "/frames/1/rendered"} {
			b := body(t, fx.get(instPath(sr)+p), http.StatusBadRequest)
			if !strings.Contains(string(b), "no pixel data") {
				t.Errorf("%s: message %s", p, b)
			}
		}
	})

	t.Run("etag", func(t *testing.T) {
		resp := fx.get(instPath(ct) + "/rendered?window=40,400")
		body(t, resp, http.StatusOK)
		etag := resp.Header.Get("ETag")
		if etag == "" || !strings.Contains(resp.Header.Get("Vary"), "Accept") {
			t.Fatalf("ETag %q, Vary %q", etag, resp.Header.Get("Vary"))
		}
		body(t, fx.get(instPath(ct)+"/rendered?window=40,400", "If-None-Match: "+etag), http.StatusNotModified)
		for _, other := range []*http.Response{
			fx.get(instPath(ct) + "/rendered?window=40,401"),
			fx.get(instPath(ct)+"/rendered?window=40,400", "Accept: image/png"),
			fx.get(instPath(ct) + "/thumbnail?window=40,400"),
		} {
			body(t, other, http.StatusOK)
			if other.Header.Get("ETag") == etag {
				t.Errorf("%s: same ETag as a different rendering", other.Request.URL)
			}
		}
	})

	t.Run("WADO-URI", func(t *testing.T) {
		uri := func(cf corpusFile) string {
			ds := cf.f.Dataset
			return "/wado?requestType=WADO&studyUID=" + ds.String(dicom.TagStudyInstanceUID) + "&seriesUID=" +
				ds.String(dicom.TagSeriesInstanceUID) + "&objectUID=" + ds.String(dicom.TagSOPInstanceUID)
		}
		img := decodeImage(t, fx.get(uri(ct)), "image/jpeg")
		if b := img.Bounds(); b.Dx() != cols || b.Dy() != rows {
			t.Errorf("default: %dx%d", b.Dx(), b.Dy())
		}
		img = decodeImage(t, fx.get(uri(ct)+"&contentType=image/jpeg&rows=64&columns=64&imageQuality=50"), "image/jpeg")
		if b := img.Bounds(); max(b.Dx(), b.Dy()) != 64 {
			t.Errorf("rows/columns 64: %dx%d", b.Dx(), b.Dy())
		}
		a := decodeImage(t, fx.get(uri(ct)+"&contentType=image/png&windowCenter=40&windowWidth=400"), "image/png")
		b := decodeImage(t, fx.get(uri(ct)+"&contentType=image/png&windowCenter=1000&windowWidth=100"), "image/png")
		if meanAbsDiff(a, b) < 5 {
			t.Errorf("WADO-URI window parameters make no visible difference")
		}
		img = decodeImage(t, fx.get(uri(ct)+"&contentType=image/png&region=0,0,0.5,0.5"), "image/png")
		if bb := img.Bounds(); bb.Dx() != cols/2 || bb.Dy() != rows/2 {
			t.Errorf("region of a quarter: %dx%d", bb.Dx(), bb.Dy())
		}
		f3 := decodeImage(t, fx.get(uri(mf)+"&contentType=image/png&frameNumber=3"), "image/png")
		f3rs := decodeImage(t, fx.get(instPath(mf)+"/frames/3/rendered", "Accept: image/png"), "image/png")
		if meanAbsDiff(f3, f3rs) != 0 {
			t.Errorf("WADO-URI frameNumber=3 differs from WADO-RS frames/3/rendered")
		}
		body(t, fx.get(uri(ct)+"&contentType=image/gif"), http.StatusNotAcceptable)
		body(t, fx.get(uri(ct)+"&windowCenter=40"), http.StatusBadRequest)
		body(t, fx.get(uri(ct)+"&rows=0"), http.StatusBadRequest)
		body(t, fx.get(uri(ct)+"&region=0.5,0.5,0.2,0.2"), http.StatusBadRequest)
		body(t, fx.get(uri(mf)+"&frameNumber=11"), http.StatusNotFound)
		// An SR without contentType comes as DICOM; asked as an image, 400.
		if got := body(t, fx.get(uri(sr)), http.StatusOK); !bytes.Equal(got, sr.data) {
			t.Errorf("SR without contentType: not the stored instance")
		}
		body(t, fx.get(uri(sr)+"&contentType=image/jpeg"), http.StatusBadRequest)
	})
}
