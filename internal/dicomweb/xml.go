package dicomweb

import (
	"encoding/binary"
	"net/http"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dicomxml"
)

// stowResponseType negotiates the STOW-RS response from the Accept header:
// DICOM JSON (the default) or DICOM XML (PS3.18 10.5.3); false means JSON.
func stowResponseType(accept string) (bool, error) {
	if strings.TrimSpace(accept) == "" {
		return false, nil
	}
	for _, it := range parseAccept(accept) {
		if it.multipart {
			continue
		}
		switch {
		case it.typ == mediaDicomXML || it.typ == "application/xml":
			return true, nil
		case matchesType(it.typ, mediaDicomJSON) || it.typ == "application/json":
			return false, nil
		}
	}
	return false, errorf(http.StatusNotAcceptable, "the STOW-RS response is served as application/dicom+json or application/dicom+xml")
}

// stowResponseXML builds the PS3.18 store response as a NativeDicomModel:
// the same attributes the JSON response carries.
func stowResponseXML(base, study string, results []stowResult) ([]byte, error) {
	ds := dicom.NewDataset()
	ok := 0
	var failed, referenced []*dicom.Dataset
	for _, res := range results {
		it := dicom.NewDataset()
		it.Set(dicom.NewStringElement(dicom.Tag(tagReferencedSOPClassUID), dicom.UI, res.sopClass))
		it.Set(dicom.NewStringElement(dicom.Tag(tagReferencedSOPInstanceID), dicom.UI, res.sopInstance))
		if res.failure != 0 {
			it.Set(xmlUS(tagFailureReason, res.failure))
			failed = append(failed, it)
			continue
		}
		ok++
		it.Set(dicom.NewStringElement(dicom.Tag(tagRetrieveURL), dicom.UR, base+"/studies/"+res.study+"/series/"+res.series+"/instances/"+res.sopInstance))
		if res.warning != 0 {
			it.Set(xmlUS(tagWarningReason, res.warning))
		}
		referenced = append(referenced, it)
	}
	if ok > 0 && study != "" {
		ds.Set(dicom.NewStringElement(dicom.Tag(tagRetrieveURL), dicom.UR, base+"/studies/"+study))
	}
	if len(failed) > 0 {
		ds.Set(&dicom.Element{Tag: dicom.Tag(tagFailedSOPSequence), VR: dicom.SQ, Items: failed})
	}
	if len(referenced) > 0 {
		ds.Set(&dicom.Element{Tag: dicom.Tag(tagReferencedSOPSequence), VR: dicom.SQ, Items: referenced})
	}
	return dicomxml.Marshal(ds, dicomxml.Options{})
}

func xmlUS(tag uint32, v uint16) *dicom.Element {
	return &dicom.Element{Tag: dicom.Tag(tag), VR: dicom.US, Value: binary.LittleEndian.AppendUint16(nil, v), Length: 2}
}
