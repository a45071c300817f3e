package api

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/capture"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// post sends a raw body and returns the status and the decoded JSON.
func (fx *fixture) post(path, contentType string, body []byte) (int, map[string]any) {
	fx.t.Helper()
	req, _ := http.NewRequest("POST", fx.srv.URL+"/api"+path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := fx.srv.Client().Do(req)
	if err != nil {
		fx.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		fx.t.Fatalf("POST %s: %d %q is not JSON", path, resp.StatusCode, b)
	}
	return resp.StatusCode, m
}

// storedFile finds the blob holding the SOP Instance UID and returns a
// copy of it with a .dcm name, for the external tools.
func (fx *fixture) storedFile(sop string) string {
	fx.t.Helper()
	var found string
	filepath.Walk(filepath.Join(fx.dir, "blobs"), func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || found != "" {
			return nil
		}
		b, _ := os.ReadFile(p)
		if bytes.Contains(b, []byte(sop)) {
			found = filepath.Join(fx.t.TempDir(), "stored.dcm")
			os.WriteFile(found, b, 0o644)
		}
		return nil
	})
	if found == "" {
		fx.t.Fatalf("no stored blob holds %s", sop)
	}
	return found
}

func pngBytes(t *testing.T, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// claimPNG is a PNG header claiming w×h pixels with no pixels behind it.
func claimPNG(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	chunk := append([]byte("IHDR"), append(ihdr, 8, 2, 0, 0, 0)...)
	b := append([]byte("\x89PNG\r\n\x1a\n"), binary.BigEndian.AppendUint32(nil, 13)...)
	b = append(b, chunk...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(chunk))
}

// pydicomAttrs reads attributes with pydicom.
func pydicomAttrs(t *testing.T, path string, keys ...string) map[string]string {
	t.Helper()
	script := "import sys, json, pydicom\nds = pydicom.dcmread(sys.argv[1])\n" +
		"json.dump({k: str(ds.get(k, '')) for k in sys.argv[2:]}, sys.stdout)"
	out, err := exec.Command(testenv.PythonWithPydicom(t), append([]string{"-c", script, path}, keys...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("pydicom: %v\n%s", err, out)
	}
	m := map[string]string{}
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("pydicom output %s", out)
	}
	return m
}

func TestCaptureTooLarge(t *testing.T) {
	fx := newFixture(t, Options{MaxCaptureBytes: 1000})
	body := append(pngBytes(t, 4, 4), make([]byte, 2000)...) // the size is checked before the content
	st, res := fx.post("/captures?patientID=P", "image/png", body)
	if msg, _ := res["error"].(string); st != http.StatusRequestEntityTooLarge || !strings.Contains(msg, "larger than 1000 bytes") {
		t.Fatalf("status %d %v", st, res)
	}
	var s Statistics
	fx.call("GET", "/statistics", nil, 200, &s)
	if s.Instances != 0 {
		t.Errorf("%d instances stored", s.Instances)
	}
}

func TestCapture(t *testing.T) {
	fx := newFixture(t, Options{}, "charset", "encapsulated")
	srcPath := filepath.Join(testenv.CorpusDir(t), "charset", "german-iso-ir-100.dcm")
	src, err := dicom.ReadFile(srcPath, dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	study := src.Dataset.String(dicom.TagStudyInstanceUID)
	pdfFile, err := dicom.ReadFile(filepath.Join(testenv.CorpusDir(t), "encapsulated", "encapsulated-pdf.dcm"), dicom.ReadOptions{LoadBulk: true})
	if err != nil {
		t.Fatal(err)
	}
	pdf := bytes.TrimRight(pdfFile.Dataset.Get(dicom.NewTag(0x0042, 0x0011)).Value, "\x00")
	want := pydicomAttrs(t, srcPath, "PatientName", "PatientID", "StudyDate", "AccessionNumber")

	var before Statistics
	fx.call("GET", "/statistics", nil, 200, &before)

	tests := []struct {
		name, path, ct string
		body           []byte
		class, ts      string
	}{
		{"png to study", "/studies/" + study + "/captures?description=Film%20scan&conversionType=DF", "image/png", pngBytes(t, 64, 48),
			capture.SecondaryCaptureImageStorage, capture.ExplicitVRLittleEndian},
		{"pdf to study", "/studies/" + study + "/captures?description=Referral", "application/pdf", pdf,
			capture.EncapsulatedPDFStorage, capture.ExplicitVRLittleEndian},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, res := fx.post(tc.path, tc.ct, tc.body)
			if st != http.StatusCreated {
				t.Fatalf("status %d: %v", st, res)
			}
			if res["studyInstanceUID"] != study || res["sopClassUID"] != tc.class || res["transferSyntaxUID"] != tc.ts ||
				!strings.HasPrefix(res["sopInstanceUID"].(string), capture.UIDRoot) {
				t.Fatalf("result %v", res)
			}
			var series List[Series]
			fx.call("GET", "/studies/"+study+"/series", nil, 200, &series)
			var found *Series
			for i, s := range series.Items {
				if s.SeriesInstanceUID == res["seriesInstanceUID"] {
					found = &series.Items[i]
				}
			}
			if found == nil || found.NumberOfInstances != 1 {
				t.Fatalf("new series %v not listed in %+v", res["seriesInstanceUID"], series.Items)
			}
			path := fx.storedFile(res["sopInstanceUID"].(string))
			out, _ := exec.Command(testenv.RequireTool(t, "dciodvfy"), "-new", path).CombinedOutput()
			if strings.Contains(string(out), "Error") {
				t.Errorf("dciodvfy:\n%s", out)
			}
			got := pydicomAttrs(t, path, "PatientName", "PatientID", "StudyDate", "AccessionNumber", "SpecificCharacterSet", "SeriesDescription")
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q copied from the study", k, got[k], v)
				}
			}
			if !strings.Contains(got["SeriesDescription"], "Film scan") && !strings.Contains(got["SeriesDescription"], "Referral") {
				t.Errorf("series description %q", got["SeriesDescription"])
			}
		})
	}

	t.Run("new study", func(t *testing.T) {
		st, res := fx.post("/captures?patientID=SCAN-7&patientName=Doe%5EJane&birthDate=19700101&sex=F&accessionNumber=A77", "image/png", pngBytes(t, 8, 8))
		if st != http.StatusCreated || res["patientID"] != "SCAN-7" {
			t.Fatalf("status %d: %v", st, res)
		}
		var s Study
		fx.call("GET", "/studies/"+res["studyInstanceUID"].(string), nil, 200, &s)
		if s.Patient.PatientID != "SCAN-7" || s.Patient.PatientName.Alphabetic != "Doe^Jane" || s.AccessionNumber != "A77" || s.NumberOfInstances != 1 {
			t.Errorf("new study %+v", s)
		}
	})

	var mid Statistics
	fx.call("GET", "/statistics", nil, 200, &mid)
	if mid.Instances != before.Instances+3 {
		t.Fatalf("instances %d → %d, want +3", before.Instances, mid.Instances)
	}

	bad := []struct {
		name, path, ct string
		body           []byte
		status         int
		msg            string
	}{
		{"not an image", "/studies/" + study + "/captures", "image/png", []byte("plain text"), 400, "not a readable"},
		{"huge dimensions", "/studies/" + study + "/captures", "image/png", claimPNG(90000, 90000), 400, "exceed"},
		{"empty pdf", "/studies/" + study + "/captures", "application/pdf", nil, 400, "empty"},
		{"pdf with no content", "/studies/" + study + "/captures", "application/pdf", []byte("%PDF-1.7\n%%EOF"), 400, "empty PDF"},
		{"gif", "/studies/" + study + "/captures", "image/gif", []byte("GIF89a"), 415, "not one of"},
		{"no content type", "/studies/" + study + "/captures", "", pngBytes(t, 2, 2), 415, "not one of"},
		{"unknown study", "/studies/1.2.3.4.5.6/captures", "image/png", pngBytes(t, 2, 2), 404, "no StudyInstanceUID"},
		{"bad study uid", "/studies/x.y/captures", "image/png", pngBytes(t, 2, 2), 400, "not a valid UID"},
		{"new study without patient", "/captures?patientName=X", "image/png", pngBytes(t, 2, 2), 400, "Patient ID is required"},
		{"new study bad date", "/captures?patientID=P&birthDate=1970-01-01", "image/png", pngBytes(t, 2, 2), 400, "birth date"},
		{"bad series number", "/captures?patientID=P&seriesNumber=-3", "image/png", pngBytes(t, 2, 2), 400, "seriesNumber"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			st, res := fx.post(tc.path, tc.ct, tc.body)
			msg, _ := res["error"].(string)
			if st != tc.status || !strings.Contains(msg, tc.msg) {
				t.Errorf("status %d %q, want %d mentioning %q", st, msg, tc.status, tc.msg)
			}
		})
	}
	var after Statistics
	fx.call("GET", "/statistics", nil, 200, &after)
	if after.Instances != mid.Instances {
		t.Errorf("bad uploads stored something: %d → %d instances", mid.Instances, after.Instances)
	}
}
