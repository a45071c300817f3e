package dimsesvc_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/cli"
	"github.com/lightbox-pacs/lightbox/internal/config"
	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
	"github.com/lightbox-pacs/lightbox/test/orthanc"
)

// runCLI runs a lightbox subcommand in-process.
func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errs bytes.Buffer
	code := cli.Main(context.Background(), args, &out, &errs)
	return out.String(), errs.String(), code
}

// TestOrthancExchange exchanges studies with a real Orthanc 1.10, both in a
// private network namespace: Orthanc C-MOVEs a study (uncompressed, then
// JPEG Lossless) from Lightbox, queries Lightbox, and Lightbox (its
// find/move commands) queries Orthanc and C-MOVEs a study from it.
func TestOrthancExchange(t *testing.T) {
	if !testenv.InNetns(t) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	oDicom := testenv.FreePort(t)
	n := startLightbox(t, func(c *config.Config) {
		c.RemoteAEs = []config.RemoteAE{{AETitle: "ORTHANC", Host: "127.0.0.1", Port: oDicom}}
	})
	o := orthanc.Start(t, orthanc.Config{DicomPort: oDicom, TCPNoDelay: true,
		Modalities: map[string]orthanc.Modality{"lightbox": {AET: "LIGHTBOX", Host: "127.0.0.1", Port: atoi(t, n.port)}}})

	// Lightbox holds study A (16 MR slices) and a JPEG Lossless CT.
	mr := corpusFiles(t, "series/ge-genesis-signa-mr-16slices")
	jpeg := filepath.Join(filepath.Dir(corpusFiles(t, "transfer-syntax")[0]), "ge-ct-jpeg-lossless-sv1-70.dcm")
	status := storescuAll(t, n, append(append([]string{}, mr...), jpeg))
	for p, st := range status {
		if st != "Success" {
			t.Fatalf("%s: %s", p, st)
		}
	}
	for _, c := range []struct {
		file string
		want int
	}{{mr[0], len(mr)}, {jpeg, 1}} {
		study := readFile(t, c.file).Dataset.String(dicom.TagStudyInstanceUID)
		start := time.Now()
		if err := o.Move(ctx, "lightbox", "Study", map[string]string{"StudyInstanceUID": study}, "ORTHANC"); err != nil {
			t.Fatalf("Orthanc C-MOVE from Lightbox: %v", err)
		}
		got, err := o.StudyInstances(ctx, study)
		if err != nil || got != c.want {
			t.Errorf("Orthanc holds %d instances of %s after C-MOVE, want %d (%v)", got, study, c.want, err)
		}
		t.Logf("Orthanc C-MOVEd %d instance(s) from Lightbox in %s", got, time.Since(start).Round(time.Millisecond))
	}
	// Orthanc queries Lightbox (C-FIND as SCU).
	var q struct{ ID string }
	if err := o.PostJSON(ctx, "/modalities/lightbox/query", map[string]any{"Level": "Study",
		"Query": map[string]string{"StudyInstanceUID": readFile(t, mr[0]).Dataset.String(dicom.TagStudyInstanceUID), "PatientName": ""}}, &q); err != nil {
		t.Fatalf("Orthanc C-FIND on Lightbox: %v", err)
	}
	var answers []any
	if err := o.GetJSON("/queries/"+q.ID+"/answers", &answers); err != nil || len(answers) != 1 {
		t.Errorf("Orthanc's C-FIND on Lightbox: %d answers, %v", len(answers), err)
	}

	// Orthanc holds study B (a CT set of two series); Lightbox finds it
	// there and C-MOVEs it home.
	ct := corpusFiles(t, "series/pydicom-ge-ct-2series")
	if err := o.Upload(ctx, ct...); err != nil {
		t.Fatal(err)
	}
	studyB := readFile(t, ct[0]).Dataset.String(dicom.TagStudyInstanceUID)
	host, port := "127.0.0.1", itoa(oDicom)
	out, errs, code := runCLI(t, "find", "-aec", "ORTHANC", "-k", "StudyInstanceUID="+studyB, "-k", "NumberOfStudyRelatedInstances", host, port)
	if code != 0 || !strings.Contains(out, studyB) {
		t.Errorf("lightbox find on Orthanc: exit %d\n%s%s", code, out, errs)
	}
	out, errs, code = runCLI(t, "find", "-aec", "ORTHANC", "--level", "SERIES", "-k", "StudyInstanceUID="+studyB, host, port)
	if code != 0 || strings.Count(out, "\n") != 3 {
		t.Errorf("lightbox find SERIES on Orthanc: exit %d\n%s%s", code, out, errs)
	}
	start := time.Now()
	out, errs, code = runCLI(t, "move", "-q", "-aet", "LIGHTBOX", "-aec", "ORTHANC", "--dest", "LIGHTBOX", "-k", "StudyInstanceUID="+studyB, host, port)
	if code != 0 {
		t.Fatalf("lightbox move from Orthanc: exit %d\n%s%s", code, out, errs)
	}
	got, err := n.srv.Storage().Index.Count(ctx, index.Query{Level: index.InstanceLevel, Matches: []index.Match{{Key: index.StudyInstanceUID, Value: studyB}}})
	if err != nil || got != len(ct) {
		t.Errorf("Lightbox holds %d of %d instances of study B: %v\n%s", got, len(ct), err, out)
	}
	t.Logf("Lightbox C-MOVEd %d instances from Orthanc in %s: %s", got, time.Since(start).Round(time.Millisecond), strings.TrimSpace(out))
}
