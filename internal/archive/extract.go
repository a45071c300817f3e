package archive

import (
	"fmt"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// Tags read into the index record that the dicom package does not name.
const (
	tagIssuerOfPatientID               dicom.Tag = 0x00100021
	tagPatientBirthDate                dicom.Tag = 0x00100030
	tagPatientSex                      dicom.Tag = 0x00100040
	tagStudyTime                       dicom.Tag = 0x00080030
	tagAccessionNumber                 dicom.Tag = 0x00080050
	tagStudyID                         dicom.Tag = 0x00200010
	tagStudyDescription                dicom.Tag = 0x00081030
	tagReferringPhysicianName          dicom.Tag = 0x00080090
	tagSeriesNumber                    dicom.Tag = 0x00200011
	tagSeriesDescription               dicom.Tag = 0x0008103E
	tagBodyPartExamined                dicom.Tag = 0x00180015
	tagSeriesDate                      dicom.Tag = 0x00080021
	tagSeriesTime                      dicom.Tag = 0x00080031
	tagPerformedProcedureStepStartDate dicom.Tag = 0x00400244
	tagPerformedProcedureStepStartTime dicom.Tag = 0x00400245
	tagInstitutionName                 dicom.Tag = 0x00080080
	tagStationName                     dicom.Tag = 0x00081010
	tagManufacturer                    dicom.Tag = 0x00080070
	tagInstanceNumber                  dicom.Tag = 0x00200013
	tagContentDate                     dicom.Tag = 0x00080023
	tagContentTime                     dicom.Tag = 0x00080033
	tagAcquisitionDateTime             dicom.Tag = 0x0008002A
)

// extractRecord builds the index record of a parsed instance: attributes
// of the information model decoded to UTF-8 (the index normalises them),
// and the non-bulk header as DICOM JSON. The blob fields are left to the
// caller. It rejects instances lacking an identifying UID.
func extractRecord(f *dicom.File) (index.InstanceRecord, error) {
	ds := f.Dataset
	var rec index.InstanceRecord
	text := func(t dicom.Tag) string { return ds.Text(ds.Get(t)) }
	intp := func(t dicom.Tag) *int {
		if v, ok := ds.Int(t); ok {
			n := int(v)
			return &n
		}
		return nil
	}
	intv := func(t dicom.Tag) int {
		if v, ok := ds.Int(t); ok {
			return int(v)
		}
		return 0
	}

	rec.Patient = index.Patient{
		PatientID:         text(dicom.TagPatientID),
		IssuerOfPatientID: text(tagIssuerOfPatientID),
		PatientName:       index.ParsePersonName(text(dicom.TagPatientName)),
		PatientBirthDate:  text(tagPatientBirthDate),
		PatientSex:        text(tagPatientSex),
	}
	rec.Study = index.Study{
		StudyInstanceUID:       text(dicom.TagStudyInstanceUID),
		StudyDate:              text(dicom.TagStudyDate),
		StudyTime:              text(tagStudyTime),
		AccessionNumber:        text(tagAccessionNumber),
		StudyID:                text(tagStudyID),
		StudyDescription:       text(tagStudyDescription),
		ReferringPhysicianName: index.ParsePersonName(text(tagReferringPhysicianName)),
	}
	rec.Series = index.Series{
		SeriesInstanceUID:               text(dicom.TagSeriesInstanceUID),
		Modality:                        text(dicom.TagModality),
		SeriesNumber:                    intp(tagSeriesNumber),
		SeriesDescription:               text(tagSeriesDescription),
		BodyPartExamined:                text(tagBodyPartExamined),
		SeriesDate:                      text(tagSeriesDate),
		SeriesTime:                      text(tagSeriesTime),
		PerformedProcedureStepStartDate: text(tagPerformedProcedureStepStartDate),
		PerformedProcedureStepStartTime: text(tagPerformedProcedureStepStartTime),
		InstitutionName:                 text(tagInstitutionName),
		StationName:                     text(tagStationName),
		Manufacturer:                    text(tagManufacturer),
	}
	rec.Instance = index.Instance{
		SOPInstanceUID:      text(dicom.TagSOPInstanceUID),
		SOPClassUID:         text(dicom.TagSOPClassUID),
		InstanceNumber:      intp(tagInstanceNumber),
		TransferSyntaxUID:   f.TransferSyntax,
		NumberOfFrames:      intv(dicom.TagNumberOfFrames),
		Rows:                intv(dicom.TagRows),
		Columns:             intv(dicom.TagColumns),
		ContentDate:         text(tagContentDate),
		ContentTime:         text(tagContentTime),
		AcquisitionDateTime: text(tagAcquisitionDateTime),
	}
	if rec.Instance.SOPClassUID == "" && f.Meta != nil {
		rec.Instance.SOPClassUID = f.Meta.String(dicom.TagMediaStorageSOPClassUID)
	}
	for _, m := range []struct {
		name, value string
	}{
		{"SOP Instance UID (0008,0018)", rec.Instance.SOPInstanceUID},
		{"Study Instance UID (0020,000D)", rec.Study.StudyInstanceUID},
		{"Series Instance UID (0020,000E)", rec.Series.SeriesInstanceUID},
	} {
		if index.NormalizeUID(m.value) == "" {
			return rec, &RejectError{Reason: ReasonMissingAttribute, Offset: -1, Detail: "missing or empty " + m.name}
		}
	}
	hdr, err := marshalHeader(ds)
	if err != nil {
		return rec, &RejectError{Reason: ReasonMalformed, Offset: -1, Detail: fmt.Sprintf("header not representable as DICOM JSON: %v", err), Err: err}
	}
	rec.Header = hdr
	return rec, nil
}

// The stored header.
//
// The index keeps each instance's data set as a DICOM JSON object in which
// every bulk value (Pixel Data, binary values above the reader's bulk
// threshold, nested ones included) is an attribute with a relative
// BulkDataURI: BulkURIPrefix followed by its bulk data path
// (dicomjson.BulkPaths), e.g. "bulkdata/7FE00010". Relative to the
// instance's WADO-RS URL, that is where WADO-RS serves the value, so
// /metadata is the stored header with the URIs made absolute and the
// Transfer Syntax UID added, read from the index alone.
//
// A header that is complete in that sense ends in headerMark, a newline:
// JSON whitespace, invisible to every reader of the object. Headers stored
// before bulk values were recorded lack it (and lack the bulk attributes);
// so do headers of data sets whose top-level elements are out of order,
// which /metadata re-sorts when it adds the Transfer Syntax UID. For those
// the blob is authoritative.
const (
	// BulkURIPrefix begins every BulkDataURI of a stored header.
	BulkURIPrefix = "bulkdata/"
	headerMark    = '\n'
)

// HeaderComplete reports whether a stored header records every bulk value
// of its instance as a relative BulkDataURI (see BulkURIPrefix), so that
// the instance's metadata can be served from it without reading the blob.
func HeaderComplete(hdr []byte) bool {
	return len(hdr) > 2 && hdr[len(hdr)-1] == headerMark
}

// marshalHeader encodes the stored header of ds.
func marshalHeader(ds *dicom.Dataset) ([]byte, error) {
	paths := dicomjson.BulkPaths(ds)
	hdr, err := dicomjson.Marshal(ds, dicomjson.Options{
		OmitBulk: true,
		BulkDataURI: func(e *dicom.Element) string {
			if p, ok := paths[e]; ok {
				return BulkURIPrefix + p
			}
			return ""
		},
	})
	if err != nil {
		return nil, err
	}
	if ds.Get(dicom.TagTransferSyntaxUID) != nil || topLevelSorted(ds) {
		hdr = append(hdr, headerMark)
	}
	return hdr, nil
}

// topLevelSorted reports whether the top-level tags of ds strictly ascend,
// as adding an element to them keeps the others in place.
func topLevelSorted(ds *dicom.Dataset) bool {
	for i := 1; i < len(ds.Elements); i++ {
		if ds.Elements[i-1].Tag >= ds.Elements[i].Tag {
			return false
		}
	}
	return true
}
