package dimsesvc_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/internal/config"
	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// stream hides Seek so that the client sends a Part 10 file as it is.
type stream struct{ io.Reader }

// TestMalformedRefused sends the corpus's broken files byte for byte (the
// client parses only their File Meta): each is refused with a failure
// status and an Error Comment, nothing is stored, and the server still
// answers C-ECHO from DCMTK afterwards.
func TestMalformedRefused(t *testing.T) {
	n := startLightbox(t, nil)
	ctx := context.Background()
	refused, unsendable := 0, 0
	for _, p := range corpusFiles(t, "malformed") {
		name := filepath.Base(p)
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		meta, ts, _, err := dicom.ReadMeta(bytes.NewReader(data), int64(len(data)))
		if err != nil || meta == nil || ts == "" {
			unsendable++
			continue
		}
		class := meta.String(dicom.TagMediaStorageSOPClassUID)
		c, err := dimse.Dial(ctx, n.addr, dimse.ClientConfig{CallingAE: "BROKEN", CalledAE: "LIGHTBOX",
			Contexts: append(dimse.StorageContexts([2]string{class, ts}), dimse.VerificationContexts()...), ResponseTimeout: 30 * time.Second})
		if err != nil {
			t.Errorf("%s: associate: %v", name, err)
			continue
		}
		res, err := c.Store(ctx, stream{bytes.NewReader(data)})
		var se *dimse.StatusError
		switch {
		case errors.As(err, &se) && res.Status.IsFailure():
			refused++
			t.Logf("%s: %s %q", name, res.Status, res.ErrorComment)
			if res.ErrorComment == "" {
				t.Errorf("%s: refused without an Error Comment", name)
			}
		case err != nil:
			// The client could not send it (no File Meta group length...).
			unsendable++
			t.Logf("%s: not sent: %v", name, err)
		default:
			t.Errorf("%s: stored with %s", name, res.Status)
		}
		c.Abort()
	}
	st, _ := n.srv.Storage().Index.Stats(ctx)
	if st.Instances != 0 || refused < 8 {
		t.Errorf("%d refused, %d not sendable, %d stored", refused, unsendable, st.Instances)
	}
	echo(t, n)
}

// TestDCMTKRefusals: DCMTK's tools see the access policy and the C-FIND
// C-CANCEL.
func TestDCMTKRefusals(t *testing.T) {
	n := startLightbox(t, func(c *config.Config) {
		c.DICOM.AllowUnknownStore, c.DICOM.AllowUnknownQuery, c.DICOM.AllowUnknownRetrieve = false, false, false
		c.RemoteAEs = []config.RemoteAE{{AETitle: "FRIEND", Host: "127.0.0.1", Port: 104}}
	})
	echoscu := testenv.RequireTool(t, "echoscu")
	out, err := runTool(t, 30*time.Second, echoscu, "-v", "-aet", "STRANGER", "-aec", "LIGHTBOX", n.host, n.port)
	if err == nil || !strings.Contains(out, "Calling AE Title Not Recognized") {
		t.Errorf("stranger: %v\n%s", err, out)
	}
	if out, err := runTool(t, 30*time.Second, echoscu, "-v", "-aet", "FRIEND", "-aec", "LIGHTBOX", n.host, n.port); err != nil {
		t.Errorf("friend: %v\n%s", err, out)
	}

	m := startLightbox(t, func(c *config.Config) { c.DICOM.AllowUnknownQuery = false })
	out = findscu(t, m, "-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID")
	if fs := finalStatus(out); !strings.Contains(fs, "NotAuthorized") && !strings.Contains(fs, "0x124") {
		t.Errorf("query by an unknown AE: %q\n%s", fs, tail(out, 10))
	}
}

// TestFindscuCancel: findscu --cancel stops a long C-FIND.
func TestFindscuCancel(t *testing.T) {
	n := startLightbox(t, nil)
	idx := n.srv.Storage().Index
	ctx := context.Background()
	const total = 3000
	var batch []index.InstanceRecord
	for i := range total {
		batch = append(batch, index.InstanceRecord{
			Patient:  index.Patient{PatientID: "CANCEL", PatientName: index.PersonName{Alphabetic: "Cancel^Test"}},
			Study:    index.Study{StudyInstanceUID: "1.2.826.0.1.3680043.2.1143.9"},
			Series:   index.Series{SeriesInstanceUID: "1.2.826.0.1.3680043.2.1143.9.1", Modality: "CT"},
			Instance: index.Instance{SOPInstanceUID: fmt.Sprintf("1.2.826.0.1.3680043.2.1143.9.1.%d", i), SOPClassUID: "1.2.840.10008.5.1.4.1.1.2", BlobKey: fmt.Sprintf("k%d", i)},
		})
		if len(batch) == 500 {
			if _, err := idx.InsertBatch(ctx, batch); err != nil {
				t.Fatal(err)
			}
			batch = nil
		}
	}
	out := findscu(t, n, "-S", "--cancel", "1", "-k", "QueryRetrieveLevel=IMAGE", "-k", "StudyInstanceUID=1.2.826.0.1.3680043.2.1143.9",
		"-k", "SeriesInstanceUID", "-k", "SOPInstanceUID")
	if fs := finalStatus(out); !strings.Contains(fs, "Cancel") || responses(out) >= total {
		t.Errorf("cancel: final %q after %d responses\n%s", fs, responses(out), tail(out, 10))
	}
	t.Logf("cancelled after %d of %d responses", responses(out), total)
	echo(t, n)
}
