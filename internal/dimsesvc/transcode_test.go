package dimsesvc

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/lightbox-pacs/lightbox/codec/all" // every codec
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// TestDecompress: lossless compressed versions of one CT, stored, come out
// in Explicit VR Little Endian with the pixels of the uncompressed file.
func TestDecompress(t *testing.T) {
	dir := filepath.Join(testenv.CorpusDir(t), "transfer-syntax")
	ref, err := dicom.ReadFile(filepath.Join(dir, "ge-ct-evrle.dcm"), dicom.ReadOptions{LoadBulk: true})
	if err != nil {
		t.Fatal(err)
	}
	want := ref.Dataset.Get(dicom.TagPixelData).Value
	for _, name := range []string{"ge-ct-jpeg-lossless-sv1-70.dcm", "ge-ct-jpegls-lossless-80.dcm", "ge-ct-rle.dcm", "ge-ct-j2k-lossless-90.dcm"} {
		t.Run(name, func(t *testing.T) {
			s := newSite(t, Options{})
			data, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			res, err := s.arch.Store(context.Background(), bytes.NewReader(data), archive.IngestMeta{Size: int64(len(data))})
			if err != nil {
				t.Fatal(err)
			}
			if !canDecompress(res.TransferSyntaxUID) {
				t.Fatalf("%s not decompressible", res.TransferSyntaxUID)
			}
			r, err := s.svc.decompress(context.Background(), res.BlobKey, res.TransferSyntaxUID)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			b, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			f, err := dicom.Read(bytes.NewReader(b), int64(len(b)), dicom.ReadOptions{LoadBulk: true})
			if err != nil {
				t.Fatal(err)
			}
			if f.TransferSyntax != dicom.ExplicitVRLittleEndian || f.Dataset.String(dicom.TagSOPInstanceUID) != res.SOPInstanceUID {
				t.Errorf("syntax %s, instance %s", f.TransferSyntax, f.Dataset.String(dicom.TagSOPInstanceUID))
			}
			if got := f.Dataset.Get(dicom.TagPixelData).Value; !bytes.Equal(got, want) {
				t.Errorf("pixels differ: %d bytes, want %d", len(got), len(want))
			}
		})
	}
	if canDecompress(dicom.ExplicitVRLittleEndian) {
		t.Error("native syntax reported as compressed")
	}
}
