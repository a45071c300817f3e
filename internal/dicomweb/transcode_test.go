package dicomweb

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	_ "github.com/lightbox-pacs/lightbox/codec/all" // every codec, for CodecTranscoder
	"github.com/lightbox-pacs/lightbox/dicom"
)

// TestCodecTranscoder checks decoding to Explicit VR Little Endian through
// the codec registry: the same CT image stored losslessly compressed in
// several syntaxes must come out as the pixels of the uncompressed file,
// as frames and as whole instances.
func TestCodecTranscoder(t *testing.T) {
	ref := newFixture(t, fixtureOpts{}, "transfer-syntax/ge-ct-evrle.dcm")
	_, refFile := ref.anyInstance("transfer-syntax/")
	want := readParts(t, ref.get(instPath(refFile)+"/frames/1"))[0].data

	for _, f := range []string{
		"transfer-syntax/ge-ct-rle.dcm",
		"transfer-syntax/ge-ct-jpeg-lossless-57.dcm",
		"transfer-syntax/ge-ct-jpeg-lossless-sv1-70.dcm",
		"transfer-syntax/ge-ct-jpegls-lossless-80.dcm",
		"transfer-syntax/ge-ct-j2k-lossless-90.dcm",
		"transfer-syntax/ge-ct-ivrle.dcm",
		"transfer-syntax/ge-ct-evrbe.dcm",
	} {
		t.Run(f, func(t *testing.T) {
			fx := newFixture(t, fixtureOpts{opts: Options{Transcoder: CodecTranscoder{}}}, f)
			_, cf := fx.anyInstance("transfer-syntax/")
			parts := readParts(t, fx.get(instPath(cf)+"/frames/1",
				`Accept: multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1`))
			if len(parts) != 1 {
				t.Fatalf("%d parts", len(parts))
			}
			if ct := parts[0].header.Get("Content-Type"); !strings.Contains(ct, "transfer-syntax=1.2.840.10008.1.2.1") {
				t.Errorf("frame Content-Type %q", ct)
			}
			if !bytes.Equal(parts[0].data, want) {
				t.Errorf("decoded frame differs from the uncompressed file's pixels (%d bytes, want %d)", len(parts[0].data), len(want))
			}
			parts = readParts(t, fx.get(instPath(cf), `Accept: multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.1`))
			if len(parts) != 1 {
				t.Fatalf("%d parts", len(parts))
			}
			got, err := dicom.Read(bytes.NewReader(parts[0].data), int64(len(parts[0].data)), dicom.ReadOptions{LoadBulk: true})
			if err != nil {
				t.Fatalf("transcoded instance does not parse: %v", err)
			}
			if got.TransferSyntax != dicom.ExplicitVRLittleEndian {
				t.Errorf("transcoded syntax %s", got.TransferSyntax)
			}
			if px := got.Dataset.Get(dicom.TagPixelData); px == nil || !bytes.Equal(px.Value, want) {
				t.Errorf("transcoded Pixel Data differs")
			}
			if got.Dataset.String(dicom.TagSOPInstanceUID) != cf.f.Dataset.String(dicom.TagSOPInstanceUID) {
				t.Errorf("transcoded instance lost its identity")
			}
		})
	}
	t.Run("multiframe jpeg decoded frame by frame", func(t *testing.T) {
		fx := newFixture(t, fixtureOpts{opts: Options{Transcoder: CodecTranscoder{}}}, "multiframe/sonosite-us-30f-jpeg.dcm")
		_, cf := fx.anyInstance("multiframe/")
		info := pixelInfo(cf.f.Dataset)
		// application/octet-stream without transfer-syntax means native.
		parts := readParts(t, fx.get(instPath(cf)+"/frames/1,30", `Accept: multipart/related; type="application/octet-stream"`))
		for _, p := range parts {
			if want := info.Rows * info.Columns * info.SamplesPerPixel; len(p.data) != want {
				t.Errorf("decoded frame of %d bytes, want %d", len(p.data), want)
			}
		}
		// transfer-syntax=* still gives the stored JPEG.
		parts = readParts(t, fx.get(instPath(cf)+"/frames/2", `Accept: multipart/related; type="application/octet-stream"; transfer-syntax=*`))
		jpegFrame(t, parts[0].data)
	})
	t.Run("JPEG baseline of 16-bit samples: 406", func(t *testing.T) {
		body(t, ref.get(instPath(refFile), `Accept: multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50`), http.StatusNotAcceptable)
	})
}
