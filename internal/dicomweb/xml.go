package dicomweb

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
	"github.com/lightbox-pacs/lightbox/dicom/dicomxml"
	"github.com/lightbox-pacs/lightbox/internal/index"
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

// acceptsXMLParts reports whether the Accept header asks for DICOM XML
// results: multipart/related; type="application/dicom+xml", one
// NativeDicomModel per part (PS3.18 8.7.3.4). A plain application/dicom+xml
// is taken to mean the same.
func acceptsXMLParts(h string) bool {
	for _, it := range parseAccept(h) {
		if it.typ == mediaDicomXML {
			return true
		}
	}
	return false
}

// writeXMLParts answers with the DICOM JSON array js (as QIDO-RS and
// /metadata build it) converted to multipart/related; type=
// "application/dicom+xml", one NativeDicomModel per data set. The JSON is
// decoded with dicomjson and re-encoded with dicomxml, so both
// representations carry the same attributes; BulkDataURIs are kept.
func writeXMLParts(w http.ResponseWriter, r *http.Request, js []byte) error {
	var objs []json.RawMessage
	if err := json.Unmarshal(js, &objs); err != nil {
		return fmt.Errorf("dicomweb: XML response: %w", err)
	}
	boundary := newBoundary()
	var buf bytes.Buffer
	for i, o := range objs {
		ds, uris, err := dicomjson.Unmarshal(o)
		if err != nil {
			return fmt.Errorf("dicomweb: XML response, data set %d: %w", i+1, err)
		}
		x, err := dicomxml.Marshal(ds, dicomxml.Options{BulkDataURI: func(e *dicom.Element) string { return uris[e] }})
		if err != nil {
			return fmt.Errorf("dicomweb: XML response, data set %d: %w", i+1, err)
		}
		buf.WriteString("--" + boundary + "\r\nContent-Type: " + mediaDicomXML + "\r\n\r\n")
		buf.Write(x)
		buf.WriteString("\r\n")
	}
	buf.WriteString("--" + boundary + "--\r\n")
	return writeJSON(w, r, `multipart/related; type="`+mediaDicomXML+`"; boundary=`+boundary, http.StatusOK, buf.Bytes())
}

// writeMetadataXML serves /metadata as DICOM XML: the JSON metadata of
// every instance is gathered (held in memory, unlike the streamed JSON
// response) and converted by writeXMLParts.
func (s *Service) writeMetadataXML(w http.ResponseWriter, r *http.Request, recs []index.InstanceRecord) error {
	base := s.baseURL(r)
	var buf bytes.Buffer
	bw := &errWriter{w: &buf}
	bw.write([]byte{'['})
	err := s.eachMetadata(ctxOf(r), recs, func(i int, js []byte) error {
		if i > 0 {
			bw.write([]byte{','})
		}
		writeExpanded(bw, js, instanceURL(base, &recs[i]))
		return bw.err
	})
	if err != nil {
		return err
	}
	bw.write([]byte{']'})
	return writeXMLParts(w, r, buf.Bytes())
}
