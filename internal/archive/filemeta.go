package archive

import (
	"bytes"
	"fmt"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// FileMetaHeader returns the bytes that make a bare data set (as DIMSE
// C-STORE carries it) a Part 10 file: the 128-byte preamble, "DICM" and a
// File Meta group naming the SOP class, the SOP instance, the transfer
// syntax the data set is encoded in and, when not empty, the sender's AE
// title. A protocol front end stores a received data set with
//
//	hdr, _ := archive.FileMetaHeader(class, inst, ts, callingAE)
//	a.Store(ctx, io.MultiReader(bytes.NewReader(hdr), dataSet), meta)
//
// so that the stored file is exactly that header followed by the bytes
// received.
func FileMetaHeader(sopClassUID, sopInstanceUID, transferSyntaxUID, sourceAE string) ([]byte, error) {
	if sopInstanceUID == "" || transferSyntaxUID == "" {
		return nil, fmt.Errorf("archive: File Meta needs a SOP Instance UID and a transfer syntax")
	}
	ds := dicom.NewDataset()
	ds.Set(dicom.NewStringElement(dicom.TagSOPClassUID, dicom.UI, sopClassUID))
	ds.Set(dicom.NewStringElement(dicom.TagSOPInstanceUID, dicom.UI, sopInstanceUID))
	meta := dicom.BuildFileMeta(ds, transferSyntaxUID, sourceAE)
	var buf bytes.Buffer
	buf.Write(make([]byte, 128))
	buf.WriteString("DICM")
	if err := dicom.WriteDataset(&buf, meta, dicom.EncodingExplicitLE, dicom.WriteOptions{}); err != nil {
		return nil, fmt.Errorf("archive: File Meta: %w", err)
	}
	return buf.Bytes(), nil
}
