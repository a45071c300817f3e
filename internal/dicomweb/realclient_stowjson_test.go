package dicomweb

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dicomxml"
)

type stowBulkPlanPart struct {
	ContentType     string `json:"contentType"`
	ContentLocation string `json:"contentLocation,omitempty"`
	File            string `json:"file"`
}

type stowBulkPlanRequest struct {
	Type     string             `json:"type"`
	Accept   string             `json:"accept"`
	Study    string             `json:"study"`
	Series   string             `json:"series"`
	Instance string             `json:"instance"`
	Parts    []stowBulkPlanPart `json:"parts"`
}

// TestRealClientSTOWMetadataBulk stores corpus files as metadata plus bulk
// data from Node (test/dicomweb-client/stow-bulk.mjs: the body is built by
// hand and sent with fetch, since dicomweb-client stores only
// application/dicom) and reads them back with the dicomweb-client package:
// the retrieved instance must equal the original element by element and
// in its pixel data, and the client's metadata must carry the instance.
func TestRealClientSTOWMetadataBulk(t *testing.T) {
	dir := clientDir(t)
	fx := newFixture(t, fixtureOpts{})
	tmp := t.TempDir()
	cases := []struct {
		file, typ, accept string
	}{
		{"series/pydicom-ge-ct-2series/CT2N_6293.dcm", mediaDicomJSON, mediaDicomJSON},
		{"mr/siemens-mr-jpegll.dcm", mediaDicomJSON, mediaDicomJSON},
		{"multiframe/enhanced-mr-10f-jpegls.dcm", mediaDicomXML, mediaDicomXML},
	}
	var plan struct {
		URL      string                `json:"url"`
		Requests []stowBulkPlanRequest `json:"requests"`
	}
	plan.URL = fx.base
	origs := make([][]byte, len(cases))
	for i, c := range cases {
		orig, f := readCorpus(t, c.file)
		origs[i] = orig
		meta, bulk := metaBulkParts(t, orig, c.typ == mediaDicomXML)
		ds := f.Dataset
		req := stowBulkPlanRequest{Type: c.typ, Accept: c.accept, Study: ds.String(dicom.TagStudyInstanceUID), Series: ds.String(dicom.TagSeriesInstanceUID), Instance: ds.String(dicom.TagSOPInstanceUID)}
		write := func(name string, b []byte) string {
			p := filepath.Join(tmp, fmt.Sprintf("%d-%s", i, name))
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}
		req.Parts = append(req.Parts, stowBulkPlanPart{ContentType: c.typ, File: write("meta", meta)})
		for j, b := range bulk {
			req.Parts = append(req.Parts, stowBulkPlanPart{ContentType: b.ctype, ContentLocation: b.location, File: write(fmt.Sprintf("bulk%d", j), b.data)})
		}
		plan.Requests = append(plan.Requests, req)
	}
	planPath := filepath.Join(tmp, "plan.json")
	pb, _ := json.Marshal(plan)
	if err := os.WriteFile(planPath, pb, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "stow-bulk.mjs", planPath)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node stow-bulk.mjs: %v\n%s", err, stderr.String())
	}
	var res struct {
		Results []struct {
			Status      int                   `json:"status"`
			ContentType string                `json:"contentType"`
			Response    string                `json:"response"`
			Instance    string                `json:"instance"`
			Metadata    []map[string]jsonAttr `json:"metadata"`
			Error       string                `json:"error"`
		} `json:"results"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("client output: %v\n%.500s", err, out)
	}
	if len(res.Results) != len(cases) {
		t.Fatalf("%d results for %d requests", len(res.Results), len(cases))
	}
	for i, r := range res.Results {
		c, req := cases[i], plan.Requests[i]
		t.Run(c.file, func(t *testing.T) {
			if r.Error != "" {
				t.Fatalf("client: %s (status %d, response %.300s)", r.Error, r.Status, r.Response)
			}
			if r.Status != 200 || !strings.HasPrefix(r.ContentType, c.accept) {
				t.Fatalf("STOW-RS status %d, Content-Type %q: %.300s", r.Status, r.ContentType, r.Response)
			}
			// The PS3.18 response, in the representation asked for.
			var refUID string
			if c.accept == mediaDicomXML {
				ds, _, err := dicomxml.Unmarshal([]byte(r.Response))
				if err != nil {
					t.Fatalf("XML response: %v", err)
				}
				if sq := ds.Get(dicom.Tag(tagReferencedSOPSequence)); sq != nil && len(sq.Items) == 1 {
					refUID = sq.Items[0].String(dicom.Tag(tagReferencedSOPInstanceID))
				}
			} else {
				var sr stowResponse
				if err := json.Unmarshal([]byte(r.Response), &sr); err != nil {
					t.Fatalf("JSON response: %v", err)
				}
				if len(sr.Referenced.Value) == 1 {
					refUID = sr.Referenced.Value[0]["00081155"].str(0)
				}
			}
			if refUID != req.Instance {
				t.Errorf("ReferencedSOPInstanceUID %q, want %q", refUID, req.Instance)
			}
			got, err := base64.StdEncoding.DecodeString(r.Instance)
			if err != nil || len(got) == 0 {
				t.Fatalf("retrieved instance: %v", err)
			}
			sameInstance(t, origs[i], got)
			if len(r.Metadata) != 1 || r.Metadata[0]["00080018"].str(0) != req.Instance {
				t.Fatalf("client metadata: %v", r.Metadata)
			}
			if r.Metadata[0]["7FE00010"].BulkDataURI == "" {
				t.Errorf("metadata has no BulkDataURI for Pixel Data: %+v", r.Metadata[0]["7FE00010"])
			}
		})
	}
}
