package dicomweb

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
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

// writeXMLParts answers with the DICOM JSON array js (as QIDO-RS builds
// it) converted to multipart/related; type="application/dicom+xml", one
// NativeDicomModel per data set.
func writeXMLParts(w http.ResponseWriter, r *http.Request, js []byte) error {
	var objs []json.RawMessage
	if err := json.Unmarshal(js, &objs); err != nil {
		return fmt.Errorf("dicomweb: XML response: %w", err)
	}
	boundary := newBoundary()
	var buf []byte
	for i, o := range objs {
		var err error
		if buf, err = appendXMLPart(buf, boundary, o); err != nil {
			return fmt.Errorf("dicomweb: XML response, data set %d: %w", i+1, err)
		}
	}
	buf = append(buf, "--"+boundary+"--\r\n"...)
	return writeJSON(w, r, xmlPartsType(boundary), http.StatusOK, buf)
}

func xmlPartsType(boundary string) string {
	return `multipart/related; type="` + mediaDicomXML + `"; boundary=` + boundary
}

// appendXMLPart appends one part holding the DICOM JSON object js as a
// NativeDicomModel. The JSON is decoded with dicomjson and re-encoded with
// dicomxml, so both representations carry the same attributes;
// BulkDataURIs are kept.
func appendXMLPart(buf []byte, boundary string, js []byte) ([]byte, error) {
	ds, uris, err := dicomjson.Unmarshal(js)
	if err != nil {
		return buf, err
	}
	x, err := dicomxml.Marshal(ds, dicomxml.Options{BulkDataURI: func(e *dicom.Element) string { return uris[e] }})
	if err != nil {
		return buf, err
	}
	buf = append(buf, "--"+boundary+"\r\nContent-Type: "+mediaDicomXML+"\r\n\r\n"...)
	buf = append(buf, x...)
	return append(buf, "\r\n"...), nil
}

// writeMetadataXML serves /metadata as DICOM XML, one part per instance,
// streamed like the JSON response: each instance's JSON metadata (with
// absolute BulkDataURIs) is converted as it comes.
func (s *Service) writeMetadataXML(w http.ResponseWriter, r *http.Request, recs []index.InstanceRecord) error {
	base := s.baseURL(r)
	boundary := newBoundary()
	var out io.Writer
	var done func() error
	var js bytes.Buffer
	var part []byte
	err := s.eachMetadata(ctxOf(r), recs, func(i int, meta []byte) error {
		js.Reset()
		bw := &errWriter{w: &js}
		writeExpanded(bw, meta, instanceURL(base, &recs[i]))
		var err error
		if part, err = appendXMLPart(part[:0], boundary, js.Bytes()); err != nil {
			return fmt.Errorf("dicomweb: XML metadata of %s: %w", recs[i].Instance.SOPInstanceUID, err)
		}
		if i == 0 {
			// Started with the first instance in hand, so that an
			// unreadable first instance still gives an error status.
			out, done = jsonWriter(w, r, xmlPartsType(boundary), http.StatusOK)
		}
		_, err = out.Write(part)
		return err
	})
	if err != nil {
		return err
	}
	if _, err := io.WriteString(out, "--"+boundary+"--\r\n"); err != nil {
		return err
	}
	return done()
}
