package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/charset"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

func TestParseKey(t *testing.T) {
	for _, tc := range []struct {
		in    string
		tag   dicom.Tag
		vr    dicom.VR
		value string
	}{
		{"PatientName=DOE^*", dicom.TagPatientName, dicom.PN, "DOE^*"},
		{"0010,0020=123", dicom.TagPatientID, dicom.LO, "123"},
		{"(0020,000D)", dicom.TagStudyInstanceUID, dicom.UI, ""},
		{"00280010=512", dicom.TagRows, dicom.US, "512"},
		{"(0009,1001)=x", dicom.Tag(0x00091001), dicom.UN, "x"},
		{"StudyDate=20200101-", dicom.TagStudyDate, dicom.DA, "20200101-"},
	} {
		k, err := parseKey(tc.in)
		if err != nil || k.tag != tc.tag || k.vr != tc.vr || k.value != tc.value {
			t.Errorf("%q: %+v %v", tc.in, k, err)
		}
	}
	for _, bad := range []string{"NoSuchKeyword=1", "(zzzz,0010)"} {
		if _, err := parseKey(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestIdentifier(t *testing.T) {
	qf := qrFlags{level: "series", keys: keyList{"PatientName=山田^太郎", "Rows=512", "StudyInstanceUID=1.2.3", "ReferencedStudySequence"}}
	ds, err := qf.identifier()
	if err != nil {
		t.Fatal(err)
	}
	if ds.String(tagQueryRetrieveLevel) != "SERIES" || ds.String(dicom.TagSpecificCharacterSet) != "ISO_IR 192" {
		t.Errorf("level/charset: %v", ds)
	}
	if got := ds.Text(ds.Get(dicom.TagPatientName)); got != "山田^太郎" {
		t.Errorf("name %q", got)
	}
	if v, _ := ds.Int(dicom.TagRows); v != 512 {
		t.Errorf("rows %d", v)
	}
	if e := ds.Get(0x00081110); e == nil || !e.IsSequence() {
		t.Errorf("sequence key %v", e)
	}
	qf = qrFlags{level: "STUDY", charset: `\ISO 2022 IR 87`, keys: keyList{"PatientName=山田*", "QueryRetrieveLevel=IMAGE"}}
	ds, err = qf.identifier()
	if err != nil {
		t.Fatal(err)
	}
	cs, _ := charset.Parse([]string{"", "ISO 2022 IR 87"})
	want, _ := cs.Encode("山田*", charset.KindPN)
	if got := ds.Get(dicom.TagPatientName).Value; !strings.HasPrefix(string(got), string(want)) || ds.String(tagQueryRetrieveLevel) != "IMAGE" {
		t.Errorf("ISO 2022 key %q, want %q", got, want)
	}
	for _, bad := range []qrFlags{{level: "FRAME"}, {level: "STUDY", keys: keyList{"Rows=abc"}}, {level: "STUDY", charset: "NOPE"}} {
		if _, err := bad.identifier(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	if _, err := (&qrFlags{patient: true, study: true}).model(dimse.ServiceFind); err == nil {
		t.Error("-P -S accepted")
	}
}

// diskDest is a C-MOVE destination that counts what it receives.
type diskDest struct{ n atomic.Int64 }

func (d *diskDest) Store(ctx context.Context, req *dimse.StoreRequest, data io.Reader) dimse.Result {
	if _, err := io.Copy(io.Discard, data); err != nil {
		return dimse.Result{Status: dimse.StatusOutOfResources, ErrorComment: err.Error()}
	}
	d.n.Add(1)
	return dimse.Result{}
}

// TestQueryRetrieveAgainstDcmqrscp runs lightbox find, move and get
// against DCMTK's dcmqrscp, filled with storescu. dcmqrscp binds every
// interface, so the test re-runs itself in a private network namespace.
func TestQueryRetrieveAgainstDcmqrscp(t *testing.T) {
	dcmqrscp := testenv.RequireTool(t, "dcmqrscp")
	storescu := testenv.RequireTool(t, "storescu")
	if !testenv.InNetns(t) {
		return
	}
	corpus := testenv.CorpusDir(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	os.Mkdir(db, 0o755)
	port := testenv.FreePort(t)

	// The C-MOVE destination.
	dest := &diskDest{}
	destHost, destPort := startDIMSEServer(t, &dimse.Server{AETitle: "LBDEST", Store: dest}, false)
	cfg := fmt.Sprintf(`NetworkTCPPort = %d
MaxPDUSize = 16384
MaxAssociations = 16
HostTable BEGIN
lbdest = (LBDEST, %s, %s)
HostTable END
VendorTable BEGIN
VendorTable END
AETable BEGIN
QRSCP %s RW (200, 1024mb) ANY
AETable END
`, port, destHost, destPort, db)
	cfgFile := filepath.Join(dir, "dcmqrscp.cfg")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, dcmqrscp, "-c", cfgFile, strconv.Itoa(port))
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.Env = append(os.Environ(), "TCP_NODELAY=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("dcmqrscp output:\n%s", log.String())
		}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	waitFor(t, addr)
	host, p := "127.0.0.1", strconv.Itoa(port)

	series := filepath.Join(corpus, "series", "pydicom-philips-mr-patient-3series")
	files, _ := filepath.Glob(filepath.Join(series, "*.dcm"))
	jp := filepath.Join(corpus, "charset", "japanese-iso2022-ir87.dcm")
	sargs := append([]string{"-aec", "QRSCP", host, p, jp}, files...)
	if out, err := exec.Command(storescu, sargs...).CombinedOutput(); err != nil {
		t.Fatalf("storescu: %v\n%s", err, out)
	}
	ds, err := dicom.ReadFile(files[0], dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pid := ds.Dataset.String(dicom.TagPatientID)

	// find: a table of studies, then JSON at the SERIES level.
	out, errs, code := runCLI(t, "find", "-aec", "QRSCP", "-P", "-k", "PatientID="+pid, host, p)
	if code != 0 || !strings.Contains(out, "StudyInstanceUID") || strings.Count(out, "\n") < 2 {
		t.Fatalf("find: exit %d\n%s%s", code, out, errs)
	}
	studies := strings.Count(out, "\n") - 1
	out, errs, code = runCLI(t, "find", "-aec", "QRSCP", "-P", "--level", "PATIENT", "-k", "PatientName", "-k", "SpecificCharacterSet", "-k", "PatientID", host, p)
	if code != 0 || !strings.Contains(out, "山田^太郎") {
		t.Errorf("find patients (decoded names): exit %d\n%s%s", code, out, errs)
	}
	out, errs, code = runCLI(t, "find", "-aec", "QRSCP", "--json", "--level", "SERIES", "-k", "PatientID="+pid,
		"-k", "StudyInstanceUID="+ds.Dataset.String(dicom.TagStudyInstanceUID), "-k", "SeriesInstanceUID", "-k", "Modality", host, p)
	var js []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &js) != nil || len(js) == 0 {
		t.Fatalf("find --json: exit %d\n%s%s", code, out, errs)
	}
	if _, ok := js[0]["0020000E"]; !ok {
		t.Errorf("JSON lacks SeriesInstanceUID: %v", js[0])
	}
	t.Logf("%d studies, %d series of the first", studies, len(js))

	// move: every study of the patient to LBDEST.
	out, errs, code = runCLI(t, "move", "-aec", "QRSCP", "--dest", "LBDEST", "-P", "--level", "PATIENT", "-k", "PatientID="+pid, host, p)
	if code != 0 || !strings.Contains(out, "C-MOVE to LBDEST: 0000 (Success)") || int(dest.n.Load()) != len(files) {
		t.Errorf("move: exit %d, %d of %d received\n%s%s", code, dest.n.Load(), len(files), out, errs)
	}
	// An unknown destination is refused.
	out, _, code = runCLI(t, "move", "-aec", "QRSCP", "--dest", "NOWHERE", "-P", "--level", "PATIENT", "-k", "PatientID="+pid, host, p)
	if code != 1 || !strings.Contains(out, "A801") {
		t.Errorf("move to an unknown AE: exit %d\n%s", code, out)
	}

	// get: the study's instances land in --out.
	outDir := filepath.Join(dir, "got")
	out, errs, code = runCLI(t, "get", "-aec", "QRSCP", "--out", outDir, "-P", "--level", "STUDY", "-k", "PatientID="+pid,
		"-k", "StudyInstanceUID="+ds.Dataset.String(dicom.TagStudyInstanceUID), host, p)
	got, _ := filepath.Glob(filepath.Join(outDir, "*.dcm"))
	if code != 0 || len(got) == 0 || !strings.Contains(out, "C-GET: 0000 (Success)") {
		t.Fatalf("get: exit %d, %d files\n%s%s", code, len(got), out, errs)
	}
	for _, f := range got {
		pf, err := dicom.ReadFile(f, dicom.ReadOptions{})
		if err != nil || pf.Dataset.String(dicom.TagSOPInstanceUID)+".dcm" != filepath.Base(f) {
			t.Errorf("%s: %v", f, err)
		}
	}
	t.Logf("get wrote %d files", len(got))
}

func waitFor(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
