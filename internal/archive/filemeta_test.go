package archive

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// TestStoreBareDataset stores a data set as DIMSE delivers it (no preamble,
// no File Meta) behind a FileMetaHeader, in each transfer syntax.
func TestStoreBareDataset(t *testing.T) {
	e := newEnv(t, sqliteBackend, Options{})
	f, err := dicom.ReadFile(corpusPath(t, "mr/toshiba-mr-small-evrle.dcm"), dicom.ReadOptions{LoadBulk: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range []string{dicom.ImplicitVRLittleEndian, dicom.ExplicitVRLittleEndian, dicom.ExplicitVRBigEndian} {
		t.Run(ts, func(t *testing.T) {
			ds := f.Dataset
			sop := newUID()
			ds.Set(dicom.NewStringElement(dicom.TagSOPInstanceUID, dicom.UI, sop))
			enc, _ := dicom.EncodingOf(ts)
			var bare bytes.Buffer
			if err := dicom.WriteDataset(&bare, ds, enc, dicom.WriteOptions{}); err != nil {
				t.Fatal(err)
			}
			hdr, err := FileMetaHeader(ds.String(dicom.TagSOPClassUID), sop, ts, "MODALITY1")
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.a.Store(context.Background(), io.MultiReader(bytes.NewReader(hdr), bytes.NewReader(bare.Bytes())),
				IngestMeta{Size: -1, CallingAE: "MODALITY1"})
			if err != nil {
				t.Fatal(err)
			}
			if res.SOPInstanceUID != sop || res.TransferSyntaxUID != ts {
				t.Fatalf("stored %s in %s", res.SOPInstanceUID, res.TransferSyntaxUID)
			}
			if got := e.retrieved(t, sop); !bytes.Equal(got, append(bytes.Clone(hdr), bare.Bytes()...)) {
				t.Fatal("stored file is not the header followed by the received bytes")
			}
			stored, err := dicom.Read(bytes.NewReader(e.retrieved(t, sop)), -1, dicom.ReadOptions{})
			if err != nil || len(stored.Warnings) != 0 {
				t.Fatalf("stored file: %v %v", err, stored.Warnings)
			}
			if got := stored.Meta.String(dicom.TagSourceApplicationEntityTitle); got != "MODALITY1" {
				t.Fatalf("Source AE %q", got)
			}
		})
	}
	if _, err := FileMetaHeader("1.2", "", dicom.ExplicitVRLittleEndian, ""); err == nil {
		t.Fatal("FileMetaHeader without SOP Instance UID succeeded")
	}
}
