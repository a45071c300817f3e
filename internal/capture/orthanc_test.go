package capture

import (
	"bytes"
	"context"
	"image"
	"image/color"
	_ "image/png"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/testenv"
	"github.com/lightbox-pacs/lightbox/test/orthanc"
)

// TestOrthancReadsCaptures stores wrapped scans and a PDF in a real
// Orthanc: it must accept each instance, decode the images for its
// preview (JPEG Baseline kept as is, native RGB and 16-bit grey) with the
// right size and colours, and give the PDF back byte for byte.
func TestOrthancReadsCaptures(t *testing.T) {
	if !testenv.InNetns(t) {
		return
	}
	o := orthanc.Start(t, orthanc.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Left half red, right half blue.
	rgb := image.NewNRGBA(image.Rect(0, 0, 64, 32))
	for y := 0; y < 32; y++ {
		for x := 0; x < 64; x++ {
			c := color.NRGBA{220, 20, 20, 255}
			if x >= 32 {
				c = color.NRGBA{20, 20, 220, 255}
			}
			rgb.Set(x, y, c)
		}
	}
	gray16 := image.NewGray16(image.Rect(0, 0, 40, 20))
	for i := range gray16.Pix {
		gray16.Pix[i] = uint8(i)
	}
	pdf := corpusPDF(t)
	tests := []struct {
		name, mediaType string
		content         []byte
		w, h            int
		colour          bool
	}{
		{"jpeg-kept", "image/jpeg", encodeJPEG(t, rgb), 64, 32, true},
		{"png-native-rgb", "image/png", encodePNG(t, rgb), 64, 32, true},
		{"png-gray16", "image/png", encodePNG(t, gray16), 40, 20, false},
		{"pdf", "application/pdf", pdf, 0, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inst, err := Build(tc.content, tc.mediaType, testSubject, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var res struct{ ID, Status string }
			if err := o.PostJSON(ctx, "/instances", inst.Bytes, &res); err != nil || res.ID == "" {
				t.Fatalf("Orthanc refused the %s instance: %v %+v\n%s", tc.name, err, res, o.Log())
			}
			var tags map[string]any
			if err := o.GetJSON("/instances/"+res.ID+"/simplified-tags", &tags); err != nil {
				t.Fatal(err)
			}
			if tags["SOPInstanceUID"] != inst.SOPInstanceUID || tags["PatientName"] != testSubject.PatientName || tags["StudyInstanceUID"] != testSubject.StudyInstanceUID {
				t.Errorf("Orthanc reads %v %v %v", tags["SOPInstanceUID"], tags["PatientName"], tags["StudyInstanceUID"])
			}
			if tc.mediaType == "application/pdf" {
				got := get(t, o.URL+"/instances/"+res.ID+"/pdf")
				if !bytes.Equal(got, pdf) {
					t.Errorf("Orthanc's /pdf gives %d bytes, want the %d uploaded", len(got), len(pdf))
				}
				return
			}
			img, _, err := image.Decode(bytes.NewReader(get(t, o.URL+"/instances/"+res.ID+"/preview")))
			if err != nil {
				t.Fatalf("Orthanc preview: %v", err)
			}
			if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
				t.Fatalf("Orthanc preview %dx%d, want %dx%d", b.Dx(), b.Dy(), tc.w, tc.h)
			}
			if tc.colour {
				l := color.NRGBAModel.Convert(img.At(8, 16)).(color.NRGBA)
				r := color.NRGBAModel.Convert(img.At(56, 16)).(color.NRGBA)
				if l.R < 180 || l.B > 60 || r.B < 180 || r.R > 60 {
					t.Errorf("Orthanc draws left %v right %v, want red then blue", l, r)
				}
			}
		})
	}
}

func get(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	return b
}
