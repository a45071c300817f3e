package dicomweb

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
	"github.com/lightbox-pacs/lightbox/dicom/dicomxml"
)

// TestXMLResponses asks QIDO-RS and /metadata for multipart/related;
// type="application/dicom+xml" and checks that every part decodes to the
// same data set as the DICOM JSON answer to the same request.
func TestXMLResponses(t *testing.T) {
	fx := newFixture(t, fixtureOpts{}, append(corpusFiles(t, "series/pydicom-ge-ct-2series"), "charset/japanese-iso2022-ir87.dcm", "mr/siemens-mr-jpegll.dcm")...)
	sop, cf := fx.anyInstance("series/")
	ds := cf.f.Dataset
	inst := "/studies/" + ds.String(dicom.TagStudyInstanceUID) + "/series/" + ds.String(dicom.TagSeriesInstanceUID) + "/instances/" + sop
	const xmlAccept = `Accept: multipart/related; type="application/dicom+xml"`
	for _, url := range []string{
		"/studies",
		"/studies?PatientName=*&includefield=all",
		"/instances?includefield=00100010",
		"/studies/" + ds.String(dicom.TagStudyInstanceUID) + "/series",
		inst + "/metadata",
		"/studies/" + ds.String(dicom.TagStudyInstanceUID) + "/metadata",
	} {
		t.Run(url, func(t *testing.T) {
			resp := fx.get(url, "Accept: application/dicom+json")
			var want []json.RawMessage
			if err := json.Unmarshal(body(t, resp, http.StatusOK), &want); err != nil {
				t.Fatal(err)
			}
			xresp := fx.get(url, xmlAccept)
			if ct := xresp.Header.Get("Content-Type"); !strings.HasPrefix(ct, `multipart/related; type="application/dicom+xml"`) {
				t.Errorf("Content-Type %q", ct)
			}
			parts := readParts(t, xresp)
			if len(parts) != len(want) || len(want) == 0 {
				t.Fatalf("%d XML parts, %d JSON objects", len(parts), len(want))
			}
			for i, p := range parts {
				if ct := p.header.Get("Content-Type"); ct != mediaDicomXML {
					t.Errorf("part %d Content-Type %q", i, ct)
				}
				if !bytes.Contains(p.data, []byte(`<NativeDicomModel xmlns="http://dicom.nema.org/PS3.19/models/NativeDICOM"`)) {
					t.Fatalf("part %d is not a NativeDicomModel: %.200s", i, p.data)
				}
				xds, uris, err := dicomxml.Unmarshal(p.data)
				if err != nil {
					t.Fatalf("part %d: %v", i, err)
				}
				got, err := dicomjson.Marshal(xds, dicomjson.Options{BulkDataURI: func(e *dicom.Element) string { return uris[e] }})
				if err != nil {
					t.Fatal(err)
				}
				if a, b := normJSON(t, want[i]), normJSON(t, got); a != b {
					t.Errorf("part %d differs from the JSON answer:\n json %.400s\n xml  %.400s", i, a, b)
				}
			}
		})
	}
	body(t, fx.get("/studies", "Accept: text/html"), http.StatusNotAcceptable)
	body(t, fx.get(inst+"/metadata", "Accept: text/html"), http.StatusNotAcceptable)
}

// normJSON re-encodes a DICOM JSON object canonically, without Specific
// Character Set (decoded text is UTF-8 either way).
func normJSON(t *testing.T, b []byte) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "00080005")
	out, _ := json.Marshal(m)
	return string(out)
}
