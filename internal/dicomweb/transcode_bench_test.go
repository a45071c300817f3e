package dicomweb

import (
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// BenchmarkTranscodeStudy: WADO-RS retrieval of a 20-instance study of
// 512x512 16-bit CT images converted from Explicit VR Little Endian to each
// lossless compressed syntax (and JPEG-LS back to native), over HTTP on
// loopback; MB/s counts the native pixel bytes (the stored instances).
//
//	go test ./internal/dicomweb -run '^$' -bench TranscodeStudy -benchtime 5x
func BenchmarkTranscodeStudy(b *testing.B) {
	for _, tc := range []struct{ name, src, ts string }{
		{"evrle-to-rle", "transfer-syntax/ge-ct-evrle.dcm", dicom.RLELossless},
		{"evrle-to-jpegls", "transfer-syntax/ge-ct-evrle.dcm", dicom.JPEGLSLossless},
		{"evrle-to-j2k", "transfer-syntax/ge-ct-evrle.dcm", dicom.JPEG2000Lossless},
		{"jpegls-to-evrle", "transfer-syntax/ge-ct-jpegls-lossless-80.dcm", dicom.ExplicitVRLittleEndian},
		{"jpegls-to-j2k", "transfer-syntax/ge-ct-jpegls-lossless-80.dcm", dicom.JPEG2000Lossless},
	} {
		b.Run(tc.name, func(b *testing.B) {
			e := newBenchEnv(b, false, Options{Transcoder: CodecTranscoder{}})
			study, _ := e.benchStudy(b, tc.src, 20)
			u := e.base + "/studies/" + study
			c := e.srv.Client()
			accept := `multipart/related; type="application/dicom"; transfer-syntax=` + tc.ts
			e.get(b, c, u, accept)
			b.SetBytes(20 * 512 * 512 * 2)
			b.ResetTimer()
			for range b.N {
				e.get(b, c, u, accept)
			}
		})
	}
}

// BenchmarkRenderedSeries: /rendered of a 20-instance series of 512x512 CT
// images as a multipart of JPEGs; MB/s counts the native pixel bytes.
func BenchmarkRenderedSeries(b *testing.B) {
	e := newBenchEnv(b, false, Options{})
	study, _ := e.benchStudy(b, "transfer-syntax/ge-ct-evrle.dcm", 20)
	u := e.base + "/studies/" + study + "/rendered"
	c := e.srv.Client()
	e.get(b, c, u, "")
	b.SetBytes(20 * 512 * 512 * 2)
	b.ResetTimer()
	for range b.N {
		e.get(b, c, u, "")
	}
}
