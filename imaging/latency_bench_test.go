package imaging

import (
	"bytes"
	"image"
	"testing"
)

// BenchmarkLatency measures what one /rendered or /thumbnail request costs
// from an already parsed file (issue 7's latency figures): decode the
// frame, render it at full size or as a DefaultThumbnailSize thumbnail,
// and encode JPEG. ns/op is the latency of one request.
func BenchmarkLatency(b *testing.B) {
	files := []struct{ name, file string }{
		{"CT512-EVRLE", "transfer-syntax/ge-ct-evrle.dcm"},
		{"CT512-JPEGLossless", "transfer-syntax/ge-ct-jpeg-lossless-57.dcm"},
		{"CR2446x2010-JPEG", "cr-dx/konica-cr-mono1-jpeg.dcm"},
	}
	for _, bf := range files {
		for _, thumb := range []bool{false, true} {
			name := bf.name + "/full"
			if thumb {
				name = bf.name + "/thumb128"
			}
			b.Run(name, func(b *testing.B) {
				f, src, _ := benchFrame(b, bf.file)
				var buf bytes.Buffer
				for b.Loop() {
					fr, err := DecodeFrame(f.Dataset, f.TransferSyntax, src, 0)
					if err != nil {
						b.Fatal(err)
					}
					opts := Options{Source: src}
					var img image.Image
					if thumb {
						img, err = Thumbnail(f.Dataset, fr, DefaultThumbnailSize, opts)
					} else {
						img, err = Render(f.Dataset, fr, opts)
					}
					if err != nil {
						b.Fatal(err)
					}
					buf.Reset()
					if err := EncodeJPEG(&buf, img, 90); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(buf.Len()), "bytes")
			})
		}
	}
}
