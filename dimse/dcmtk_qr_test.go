package dimse

import (
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// DCMTK's query/retrieve SCUs against the Server's C-FIND, C-MOVE and
// C-GET machinery, with test handlers standing in for the archive.

func TestDCMTKFindscu(t *testing.T) {
	findscu := testenv.RequireTool(t, "findscu")
	h := &sliceFind{matches: []*dicom.Dataset{patient("Müller^Hans", "1"), patient("Doe^John", "2")}, seen: make(chan *QueryRequest, 1)}
	addr := serve(t, &Server{Find: h})
	host, port := splitAddr(t, addr)
	out, err := runTool(t, 20*time.Second, findscu, "-v", "-P", "-aec", "LIGHTBOX", "-k", "QueryRetrieveLevel=PATIENT", "-k", "PatientName=*",
		"-k", "PatientID", "-k", "SpecificCharacterSet=ISO_IR 192", host, port)
	if err != nil {
		t.Fatalf("findscu: %v\n%s", err, out)
	}
	for _, want := range []string{"Müller^Hans", "Doe^John", "Received Final Find Response (Success)"} {
		if !strings.Contains(out, want) {
			t.Errorf("findscu output lacks %q:\n%s", want, out)
		}
	}
	req := <-h.seen
	if req.SOPClassUID != PatientRootFind || req.Identifier.String(dicom.TagPatientName) != "*" {
		t.Errorf("request %+v", req)
	}

	// C-CANCEL after the first match: the handler blocks until cancelled.
	h2 := &sliceFind{matches: h.matches, block: 1}
	host, port = splitAddr(t, serve(t, &Server{Find: h2}))
	out, err = runTool(t, 20*time.Second, findscu, "-v", "-P", "--cancel", "1", "-k", "QueryRetrieveLevel=PATIENT", "-k", "PatientName=*", host, port)
	if err != nil || !strings.Contains(out, "Received Final Find Response (Cancel: MatchingTerminatedDueToCancelRequest)") {
		t.Fatalf("findscu --cancel: %v\n%s", err, out)
	}
}

func TestDCMTKMovescu(t *testing.T) {
	movescu := testenv.RequireTool(t, "movescu")
	instances := retrieveSet(t)
	dest := newDiskStore(t)
	destAddr := serve(t, &Server{AETitle: "DEST", Store: dest})
	addr := serve(t, &Server{
		Move:       MoveHandlerFunc(func(ctx context.Context, req *RetrieveRequest) ([]Instance, error) { return instances, nil }),
		AEResolver: StaticAEs{"DEST": {Addr: destAddr}},
	})
	host, port := splitAddr(t, addr)
	out, err := runTool(t, 30*time.Second, movescu, "-v", "-S", "-aec", "LIGHTBOX", "-aem", "DEST",
		"-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID=1.2.3", host, port)
	if err != nil || !strings.Contains(out, "Received Final Move Response (Success)") {
		t.Fatalf("movescu: %v\n%s", err, out)
	}
	if int(dest.n.Load()) != len(instances) {
		t.Errorf("destination received %d of %d", dest.n.Load(), len(instances))
	}
	out, _ = runTool(t, 30*time.Second, movescu, "-v", "-S", "-aec", "LIGHTBOX", "-aem", "NOWHERE",
		"-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID=1.2.3", host, port)
	if !strings.Contains(out, "Received Final Move Response (Refused: MoveDestinationUnknown)") {
		t.Errorf("unknown destination:\n%s", out)
	}
}

func TestDCMTKGetscu(t *testing.T) {
	getscu := testenv.RequireTool(t, "getscu")
	var instances []Instance
	for _, inst := range retrieveSet(t) {
		if isNative(inst.TransferSyntax) {
			instances = append(instances, inst) // getscu proposes uncompressed syntaxes
		}
	}
	addr := serve(t, &Server{Get: GetHandlerFunc(func(ctx context.Context, req *RetrieveRequest) ([]Instance, error) { return instances, nil })})
	host, port := splitAddr(t, addr)
	dir := t.TempDir()
	out, err := runTool(t, 30*time.Second, getscu, "-v", "-S", "-aec", "LIGHTBOX", "-od", dir,
		"-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID=1.2.3", host, port)
	if err != nil || !strings.Contains(out, "Received C-GET Response (Success)") ||
		!strings.Contains(out, "Number of Completed Suboperations : "+strconv.Itoa(len(instances))) {
		t.Fatalf("getscu: %v\n%s", err, out)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) == 0 || len(entries) > len(instances) {
		t.Fatalf("getscu wrote %d files for %d instances:\n%s", len(entries), len(instances), out)
	}
	t.Logf("getscu received %d files (instances sharing a UID overwrite each other)", len(entries))
}
