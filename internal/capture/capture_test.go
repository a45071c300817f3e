package capture

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
	"golang.org/x/image/tiff"
)

// testImage is a gradient with distinct channels so that swapped or
// misaligned samples show.
func testImage(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x + y) % 256), 255})
		}
	}
	return img
}

func encodePNG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeTIFF(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := tiff.Encode(&b, img, &tiff.Options{Compression: tiff.Deflate}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pilJPEG converts a PNG to a JPEG with Pillow (what Go's encoder cannot
// write): mode "progressive" (RGB, progressive) or "cmyk" (Adobe CMYK).
func pilJPEG(t testing.TB, pngData []byte, mode string) []byte {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.png"), filepath.Join(dir, "out.jpg")
	if err := os.WriteFile(in, pngData, 0o644); err != nil {
		t.Fatal(err)
	}
	script := `
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
if sys.argv[3] == "cmyk":
    im.convert("CMYK").save(sys.argv[2], "JPEG", quality=95)
else:
    im.save(sys.argv[2], "JPEG", quality=95, progressive=True)
`
	if b, err := exec.Command(testenv.PythonWithPydicom(t), "-c", script, in, out, mode).CombinedOutput(); err != nil {
		t.Fatalf("Pillow: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// corpusPDF returns the PDF inside the corpus's Encapsulated PDF instance.
func corpusPDF(t testing.TB) []byte {
	f, err := dicom.ReadFile(filepath.Join(testenv.CorpusDir(t), "encapsulated", "encapsulated-pdf.dcm"), dicom.ReadOptions{LoadBulk: true})
	if err != nil {
		t.Fatal(err)
	}
	e := f.Dataset.Get(tagEncapsulatedDocument)
	if e == nil || len(e.Value) == 0 {
		t.Fatal("corpus PDF instance has no Encapsulated Document")
	}
	return bytes.TrimRight(e.Value, "\x00")
}

// hugePNG is a valid PNG signature and IHDR claiming w×h pixels, with no
// image data behind it.
func hugePNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(binary.BigEndian.AppendUint32(nil, uint32(len(ihdr))))
	b.Write(chunk)
	b.Write(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(chunk)))
	return b.Bytes()
}

var testSubject = Subject{
	PatientName: "Müller^Jürgen", PatientID: "CAP-1", PatientBirthDate: "19600102", PatientSex: "M",
	StudyInstanceUID: "1.2.826.0.1.3680043.8.498.1", StudyDate: "20240301", StudyTime: "101500",
	AccessionNumber: "ACC42", StudyDescription: "Chest", StudyID: "7",
}

// pydicomRead reads the file with pydicom and returns its attributes and,
// for images, the mean of each sample over the pixel array (in RGB for
// colour).
func pydicomRead(t *testing.T, path string) map[string]any {
	t.Helper()
	py := testenv.PythonWithPydicom(t)
	script := `
import sys, json, pydicom
ds = pydicom.dcmread(sys.argv[1])
out = {k: str(ds.get(k, "")) for k in ("SOPClassUID", "PatientName", "PatientID", "StudyInstanceUID",
	"SeriesInstanceUID", "Modality", "PhotometricInterpretation", "Rows", "Columns", "SpecificCharacterSet",
	"ConversionType", "MIMETypeOfEncapsulatedDocument", "AccessionNumber")}
if "PixelData" in ds:
	import numpy as np
	a = ds.pixel_array.astype("float64")
	if ds.PhotometricInterpretation.startswith("YBR") and ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.50":
		from pydicom.pixel_data_handlers.util import convert_color_space
		a = convert_color_space(ds.pixel_array, "YBR_FULL", "RGB").astype("float64")
	out["means"] = [float(a[..., c].mean()) for c in range(a.shape[-1])] if a.ndim == 3 else [float(a.mean())]
	out["corner"] = a[0, -1].tolist() if a.ndim == 3 else [float(a[0, -1])]
if "EncapsulatedDocument" in ds:
	out["docLength"] = int(ds.EncapsulatedDocumentLength)
	out["docHead"] = ds.EncapsulatedDocument[:5].decode("latin-1")
json.dump(out, sys.stdout)
`
	out, err := exec.Command(py, "-c", script, path).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("pydicom %s: %v\n%s", path, err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("pydicom output %s: %v", out, err)
	}
	return m
}

// dciodvfy runs dicom3tools' IOD verifier and fails on any error line.
func dciodvfy(t *testing.T, path string) string {
	t.Helper()
	tool := testenv.RequireTool(t, "dciodvfy")
	out, _ := exec.Command(tool, "-new", path).CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "Error") {
			t.Errorf("dciodvfy %s: %s\n%s", filepath.Base(path), line, out)
		}
	}
	return string(out)
}

func meanRGB(img image.Image) [3]float64 {
	var s [3]float64
	r := img.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			s[0] += float64(c.R)
			s[1] += float64(c.G)
			s[2] += float64(c.B)
		}
	}
	n := float64(r.Dx() * r.Dy())
	return [3]float64{s[0] / n, s[1] / n, s[2] / n}
}

func TestBuild(t *testing.T) {
	rgb := testImage(97, 61) // odd sizes: odd pixel data length, odd JPEG length likely
	gray := image.NewGray(image.Rect(0, 0, 40, 30))
	gray16 := image.NewGray16(image.Rect(0, 0, 33, 17))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i * 7)
	}
	for y := 0; y < 17; y++ {
		for x := 0; x < 33; x++ {
			gray16.SetGray16(x, y, color.Gray16{Y: uint16(x*1000 + y)})
		}
	}
	translucent := image.NewNRGBA(image.Rect(0, 0, 8, 8)) // fully transparent → white
	pdf := corpusPDF(t)
	want := meanRGB(rgb)
	tests := []struct {
		name, mediaType string
		content         []byte
		ts, pi          string
		means           []float64
		tolerance       float64
	}{
		{"png-rgb", "image/png", encodePNG(t, rgb), ExplicitVRLittleEndian, "RGB", want[:], 0.01},
		{"png-gray", "image/png", encodePNG(t, gray), ExplicitVRLittleEndian, "MONOCHROME2", []float64{meanRGB(gray)[0]}, 0.01},
		{"png-gray16", "image/png", encodePNG(t, gray16), ExplicitVRLittleEndian, "MONOCHROME2", []float64{16008}, 0.01},
		{"png-transparent", "image/png", encodePNG(t, translucent), ExplicitVRLittleEndian, "RGB", []float64{255, 255, 255}, 0.01},
		{"tiff-rgb", "image/tiff", encodeTIFF(t, rgb), ExplicitVRLittleEndian, "RGB", want[:], 0.01},
		{"tiff-gray", "image/tiff", encodeTIFF(t, gray), ExplicitVRLittleEndian, "MONOCHROME2", []float64{meanRGB(gray)[0]}, 0.01},
		{"jpeg-colour-kept", "image/jpeg", encodeJPEG(t, rgb), JPEGBaseline, "YBR_FULL_422", want[:], 3},
		{"jpeg-gray-kept", "image/jpeg; charset=binary", encodeJPEG(t, gray), JPEGBaseline, "MONOCHROME2", []float64{meanRGB(gray)[0]}, 2},
		{"jpeg-progressive-decoded", "image/jpeg", pilJPEG(t, encodePNG(t, rgb), "progressive"), ExplicitVRLittleEndian, "RGB", want[:], 3},
		{"jpeg-cmyk-decoded", "image/jpeg", pilJPEG(t, encodePNG(t, rgb), "cmyk"), ExplicitVRLittleEndian, "RGB", want[:], 4},
		{"pdf", "application/pdf", pdf, ExplicitVRLittleEndian, "", nil, 0},
	}
	dir := t.TempDir()
	now := func() time.Time { return time.Date(2025, 5, 6, 7, 8, 9, 0, time.UTC) }
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inst, err := Build(tc.content, tc.mediaType, testSubject, Options{Now: now, SeriesDescription: "Scan " + tc.name})
			if err != nil {
				t.Fatal(err)
			}
			if inst.TransferSyntaxUID != tc.ts || inst.StudyInstanceUID != testSubject.StudyInstanceUID ||
				!strings.HasPrefix(inst.SOPInstanceUID, UIDRoot) || !ValidUID(inst.SOPInstanceUID) || !ValidUID(inst.SeriesInstanceUID) {
				t.Fatalf("instance %+v", inst)
			}
			path := filepath.Join(dir, tc.name+".dcm")
			if err := os.WriteFile(path, inst.Bytes, 0o644); err != nil {
				t.Fatal(err)
			}
			dciodvfy(t, path)
			if out, err := exec.Command(testenv.RequireTool(t, "dcmdump"), "-E", path).CombinedOutput(); err != nil {
				t.Fatalf("dcmdump: %v\n%s", err, out)
			}
			got := pydicomRead(t, path)
			if got["PatientName"] != testSubject.PatientName || got["PatientID"] != "CAP-1" ||
				got["StudyInstanceUID"] != testSubject.StudyInstanceUID || got["AccessionNumber"] != "ACC42" ||
				got["SpecificCharacterSet"] != "ISO_IR 192" || got["SeriesInstanceUID"] != inst.SeriesInstanceUID {
				t.Errorf("pydicom attributes %v", got)
			}
			if tc.mediaType == "application/pdf" {
				if got["SOPClassUID"] != EncapsulatedPDFStorage || got["MIMETypeOfEncapsulatedDocument"] != "application/pdf" ||
					got["docHead"] != "%PDF-" || got["docLength"] != float64(len(pdf)) || got["Modality"] != "DOC" {
					t.Errorf("pdf: %v", got)
				}
				return
			}
			if got["SOPClassUID"] != SecondaryCaptureImageStorage || got["PhotometricInterpretation"] != tc.pi || got["Modality"] != "OT" {
				t.Errorf("image attributes %v", got)
			}
			means, _ := got["means"].([]any)
			if len(means) != len(tc.means) {
				t.Fatalf("means %v, want %v", means, tc.means)
			}
			for i, m := range means {
				if d := math.Abs(m.(float64) - tc.means[i]); d > tc.tolerance {
					t.Errorf("sample %d mean %v, want %v ± %v", i, m, tc.means[i], tc.tolerance)
				}
			}
		})
	}
}

func TestBuildNewStudy(t *testing.T) {
	subj := Subject{PatientName: "Doe^Jane", PatientID: "NEW-1", PatientSex: "F"}
	inst, err := Build(encodePNG(t, testImage(16, 16)), "image/png", subj, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(inst.StudyInstanceUID, UIDRoot) || inst.StudyInstanceUID == inst.SeriesInstanceUID {
		t.Fatalf("new study UID %q", inst.StudyInstanceUID)
	}
	path := filepath.Join(t.TempDir(), "new.dcm")
	os.WriteFile(path, inst.Bytes, 0o644)
	dciodvfy(t, path)
	got := pydicomRead(t, path)
	if got["StudyInstanceUID"] != inst.StudyInstanceUID || got["PatientID"] != "NEW-1" || got["SpecificCharacterSet"] != "" {
		t.Errorf("pydicom %v", got)
	}
	// Two captures never share UIDs.
	again, err := Build(encodePNG(t, testImage(16, 16)), "image/png", subj, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if again.StudyInstanceUID == inst.StudyInstanceUID || again.SOPInstanceUID == inst.SOPInstanceUID {
		t.Error("UIDs reused")
	}
}

func TestBuildRejects(t *testing.T) {
	pdf := corpusPDF(t)
	good := encodePNG(t, testImage(4, 4))
	tests := []struct {
		name, mediaType string
		content         []byte
		subj            Subject
		opts            Options
		msg             string
	}{
		{"empty body", "image/png", nil, testSubject, Options{}, "empty"},
		{"not an image", "image/png", []byte("hello, this is text"), testSubject, Options{}, "not a readable"},
		{"jpeg that is a png", "image/jpeg", append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, good...), testSubject, Options{}, "not a readable"},
		{"huge dimensions", "image/png", hugePNG(100000, 100000), testSubject, Options{}, "exceed"},
		{"over pixel cap", "image/png", hugePNG(20000, 20000), testSubject, Options{}, "exceed"},
		{"truncated png", "image/png", hugePNG(100, 100), testSubject, Options{}, "cannot decode"},
		{"empty pdf", "application/pdf", []byte("%PDF-1.4\n%%EOF\n"), testSubject, Options{}, "empty PDF"},
		{"not a pdf", "application/pdf", good, testSubject, Options{}, "not a PDF"},
		{"truncated pdf", "application/pdf", pdf[:len(pdf)/2], testSubject, Options{}, "truncated"},
		{"unsupported type", "image/gif", good, testSubject, Options{}, "unsupported content type"},
		{"no patient id", "image/png", good, Subject{PatientName: "X"}, Options{}, "Patient ID is required"},
		{"bad birth date", "image/png", good, Subject{PatientID: "P", PatientBirthDate: "1960-01-02"}, Options{}, "birth date"},
		{"bad sex", "image/png", good, Subject{PatientID: "P", PatientSex: "male"}, Options{}, "sex"},
		{"backslash in id", "image/png", good, Subject{PatientID: `A\B`}, Options{}, "forbidden"},
		{"bad study uid", "image/png", good, Subject{PatientID: "P", StudyInstanceUID: "1.02.x"}, Options{}, "not a valid UID"},
		{"long description", "image/png", good, testSubject, Options{SeriesDescription: strings.Repeat("x", 65)}, "series description"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inst, err := Build(tc.content, tc.mediaType, tc.subj, tc.opts)
			if err == nil {
				t.Fatalf("accepted: %+v", inst.SOPInstanceUID)
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q, want ErrInvalid mentioning %q", err, tc.msg)
			}
		})
	}
}

func TestBaselineJPEG(t *testing.T) {
	rgb := encodeJPEG(t, testImage(10, 6))
	f, ok := baselineJPEG(rgb)
	if !ok || f.width != 10 || f.height != 6 || f.components != 3 || !f.subsampled {
		t.Fatalf("baseline colour: %+v %v", f, ok)
	}
	// Turn the SOF0 into SOF2 (progressive): no longer carried as is.
	prog := bytes.Clone(rgb)
	i := bytes.Index(prog, []byte{0xFF, 0xC0})
	prog[i+1] = 0xC2
	if _, ok := baselineJPEG(prog); ok {
		t.Error("progressive JPEG taken for baseline")
	}
	for _, b := range [][]byte{nil, {0xFF, 0xD8}, rgb[:20], []byte("not a jpeg at all")} {
		if _, ok := baselineJPEG(b); ok {
			t.Errorf("%q taken for baseline", b)
		}
	}
}

func TestValidUID(t *testing.T) {
	for s, want := range map[string]bool{"1.2.3": true, "2.25.0": true, NewUID(): true, "": false, "1..2": false,
		"1.02": false, "1.2.a": false, strings.Repeat("1.", 32) + "1": false} {
		if ValidUID(s) != want {
			t.Errorf("ValidUID(%q) = %v", s, !want)
		}
	}
}

// FuzzBuild feeds arbitrary bytes as every accepted media type: Build
// either returns an instance that reads back or an ErrInvalid, never
// panics or allocates for claimed dimensions.
func FuzzBuild(f *testing.F) {
	f.Add(encodePNG(f, testImage(3, 2)), uint8(1))
	f.Add(encodeJPEG(f, testImage(3, 2)), uint8(0))
	f.Add(encodeTIFF(f, testImage(3, 2)), uint8(2))
	f.Add(hugePNG(70000, 3), uint8(1))
	f.Add([]byte("%PDF-1.4\n"+strings.Repeat("x", 80)+"\n%%EOF\n"), uint8(3))
	f.Fuzz(func(t *testing.T, content []byte, kind uint8) {
		mt := MediaTypes()[int(kind)%len(MediaTypes())]
		inst, err := Build(content, mt, testSubject, Options{MaxPixels: 1 << 20})
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("%s: error not ErrInvalid: %v", mt, err)
			}
			return
		}
		f, err := dicom.Read(bytes.NewReader(inst.Bytes), int64(len(inst.Bytes)), dicom.ReadOptions{})
		if err != nil {
			t.Fatalf("%s: built instance does not read back: %v", mt, err)
		}
		if f.Dataset.String(dicom.TagSOPInstanceUID) != inst.SOPInstanceUID || f.TransferSyntax != inst.TransferSyntaxUID {
			t.Fatalf("%s: read back %s %s", mt, f.Dataset.String(dicom.TagSOPInstanceUID), f.TransferSyntax)
		}
	})
}

// FuzzBaselineJPEG checks the marker walk alone: it never panics or reads
// out of bounds, and what it accepts the decoder reads with the same size.
func FuzzBaselineJPEG(f *testing.F) {
	f.Add(encodeJPEG(f, testImage(5, 3)))
	f.Add(encodeJPEG(f, image.NewGray(image.Rect(0, 0, 2, 9))))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x02})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, ok := baselineJPEG(b)
		if !ok {
			return
		}
		if fr.width < 0 || fr.height <= 0 || (fr.components != 1 && fr.components != 3) {
			t.Fatalf("accepted frame %+v", fr)
		}
	})
}

// BenchmarkBuild measures wrapping a 2048x1536 scan: a baseline JPEG kept
// as is, and a PNG decoded to native RGB.
func BenchmarkBuild(b *testing.B) {
	img := testImage(2048, 1536)
	for _, c := range []struct {
		name, mt string
		data     []byte
	}{
		{"jpeg-kept", "image/jpeg", encodeJPEG(b, img)},
		{"png-native", "image/png", encodePNG(b, img)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			for b.Loop() {
				if _, err := Build(c.data, c.mt, testSubject, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestBuildExifOrientation stores phone photographs upright: a JPEG of
// quadrants (red, green / blue, white) written by Pillow with an Exif
// orientation is read back with pydicom with its quadrants where a viewer
// honouring Exif would show them.
func TestBuildExifOrientation(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 64, 32))
	quad := [2][2]color.NRGBA{{{230, 20, 20, 255}, {20, 230, 20, 255}}, {{20, 20, 230, 255}, {240, 240, 240, 255}}}
	for y := 0; y < 32; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, quad[y/16][x/32])
		}
	}
	py := testenv.PythonWithPydicom(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "in.png")
	os.WriteFile(in, encodePNG(t, img), 0o644)
	// Expected colour initials of the shown quadrants: top-left, top-right,
	// bottom-left, bottom-right.
	tests := []struct {
		orientation  int
		rows, cols   int
		ts, expected string
	}{
		{1, 32, 64, JPEGBaseline, "RGBW"},
		{3, 32, 64, ExplicitVRLittleEndian, "WBGR"},
		{6, 64, 32, ExplicitVRLittleEndian, "BRWG"},
		{8, 64, 32, ExplicitVRLittleEndian, "GWRB"},
	}
	for _, tc := range tests {
		t.Run(strconv.Itoa(tc.orientation), func(t *testing.T) {
			jpg := filepath.Join(dir, "o.jpg")
			script := `
import sys
from PIL import Image
im = Image.open(sys.argv[1]).convert("RGB")
ex = Image.Exif()
ex[0x0112] = int(sys.argv[3])
im.save(sys.argv[2], "JPEG", quality=95, exif=ex.tobytes())
`
			if out, err := exec.Command(py, "-c", script, in, jpg, strconv.Itoa(tc.orientation)).CombinedOutput(); err != nil {
				t.Fatalf("Pillow: %v\n%s", err, out)
			}
			content, _ := os.ReadFile(jpg)
			if got := exifOrientation(content); got != tc.orientation {
				t.Fatalf("exifOrientation = %d, want %d", got, tc.orientation)
			}
			inst, err := Build(content, "image/jpeg", testSubject, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if inst.TransferSyntaxUID != tc.ts {
				t.Errorf("transfer syntax %s, want %s", inst.TransferSyntaxUID, tc.ts)
			}
			path := filepath.Join(dir, "o.dcm")
			os.WriteFile(path, inst.Bytes, 0o644)
			read := `
import sys, pydicom
from pydicom.pixel_data_handlers.util import convert_color_space
ds = pydicom.dcmread(sys.argv[1])
a = ds.pixel_array
if ds.PhotometricInterpretation.startswith("YBR"):
    a = convert_color_space(a, "YBR_FULL", "RGB")
r, c = a.shape[0], a.shape[1]
def name(p):
    p = [int(v) for v in p]
    if min(p) > 180: return "W"
    return "RGB"[p.index(max(p))]
print(r, c, "".join(name(a[y][x]) for y, x in ((r//4, c//4), (r//4, 3*c//4), (3*r//4, c//4), (3*r//4, 3*c//4))))
`
			out, err := exec.Command(py, "-c", read, path).CombinedOutput()
			if err != nil {
				t.Fatalf("pydicom: %v\n%s", err, out)
			}
			want := fmt.Sprintf("%d %d %s", tc.rows, tc.cols, tc.expected)
			if got := strings.TrimSpace(string(out)); got != want {
				t.Errorf("pydicom reads %q, want %q", got, want)
			}
		})
	}
}

// FuzzExifOrientation checks the Exif walk alone: never a panic or an out
// of range read, and only orientations 0 to 8.
func FuzzExifOrientation(f *testing.F) {
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1,
		0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0, 0xFF, 0xDA})
	f.Add(encodeJPEG(f, testImage(3, 3)))
	f.Fuzz(func(t *testing.T, b []byte) {
		if o := exifOrientation(b); o < 0 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
	})
}
