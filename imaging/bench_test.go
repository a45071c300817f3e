package imaging

import (
	"bytes"
	"io"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
)

// Benchmarks: rendering a decoded frame (the /rendered work after
// decoding), the whole path from an open file to PNG/JPEG bytes, and
// thumbnails. Files: a native 512x512 CT, a native 1024x1024 RT image, the
// corpus's large CRs (2140x1760 JPEG 2000, 2446x2010 JPEG baseline) and
// its largest image, a 3062x2394 JPEG lossless mammogram (the compressed
// ones are skipped until their codecs are registered).
var benchFiles = []struct{ name, file string }{
	{"CT512", "ct/siemens-ct-issue141.dcm"},
	{"RTImage1024", "rt/elekta-rtimage.dcm"},
	{"CR2140x1760-J2K", "cr-dx/fuji-cr-rg2-j2k-lossy.dcm"},
	{"CR2446x2010-JPEG", "cr-dx/konica-cr-mono1-jpeg.dcm"},
	{"MG3062x2394-JPEGLL", "mg/ge-mg-senographe-jpegll.dcm"},
}

// benchFrame opens a corpus file and decodes its first frame, skipping
// when its transfer syntax has no codec yet.
func benchFrame(b *testing.B, file string) (*dicom.File, io.ReaderAt, Frame) {
	b.Helper()
	f, src := corpusFile(b, file)
	if !codec.CanDecode(f.TransferSyntax) {
		b.Skipf("no codec registered for %s (%s)", file, f.TransferSyntax)
	}
	fr, err := DecodeFrame(f.Dataset, f.TransferSyntax, src, 0)
	if err != nil {
		b.Fatal(err)
	}
	return f, src, fr
}

func BenchmarkRender(b *testing.B) {
	for _, bf := range benchFiles {
		b.Run(bf.name, func(b *testing.B) {
			f, src, fr := benchFrame(b, bf.file)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Render(f.Dataset, fr, Options{Source: src}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRenderedEndToEnd is what a /rendered request costs from an
// open file: decode the frame, render, encode PNG (for images larger than
// 512 px: JPEG at a 512x512 viewport, as a viewer would ask for them).
func BenchmarkRenderedEndToEnd(b *testing.B) {
	for _, bf := range benchFiles {
		b.Run(bf.name, func(b *testing.B) {
			f, src, _ := benchFrame(b, bf.file)
			var buf bytes.Buffer
			b.ReportAllocs()
			for b.Loop() {
				fr, err := DecodeFrame(f.Dataset, f.TransferSyntax, src, 0)
				if err != nil {
					b.Fatal(err)
				}
				opts := Options{Source: src}
				if fr.Info.Columns > 512 {
					opts.Width, opts.Height = 512, 512
				}
				img, err := Render(f.Dataset, fr, opts)
				if err != nil {
					b.Fatal(err)
				}
				buf.Reset()
				if fr.Info.Columns > 512 {
					err = EncodeJPEG(&buf, img, 90)
				} else {
					err = EncodePNG(&buf, img)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkThumbnail(b *testing.B) {
	for _, bf := range benchFiles {
		b.Run(bf.name, func(b *testing.B) {
			f, src, fr := benchFrame(b, bf.file)
			var buf bytes.Buffer
			b.ReportAllocs()
			for b.Loop() {
				img, err := Thumbnail(f.Dataset, fr, DefaultThumbnailSize, Options{Source: src})
				if err != nil {
					b.Fatal(err)
				}
				buf.Reset()
				if err := EncodeJPEG(&buf, img, 80); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	f, src, fr := benchFrame(b, "ct/siemens-ct-issue141.dcm")
	gray, err := Render(f.Dataset, fr, Options{Source: src})
	if err != nil {
		b.Fatal(err)
	}
	gray16, err := Render(f.Dataset, fr, Options{Source: src, Depth: 16})
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	for _, tc := range []struct {
		name string
		enc  func() error
	}{
		{"PNG8-512", func() error { return EncodePNG(&buf, gray) }},
		{"PNG8-512-stdlib", func() error { return pngEncoder.Encode(&buf, gray) }},
		{"PNG16-512", func() error { return EncodePNG(&buf, gray16) }},
		{"JPEG-512", func() error { return EncodeJPEG(&buf, gray, 90) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				buf.Reset()
				if err := tc.enc(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len()), "bytes")
		})
	}
}
