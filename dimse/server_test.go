package dimse

import (
	"bytes"
	"context"
	"errors"
	"io"
	"iter"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/ul"
)

func TestEcho(t *testing.T) {
	addr := serve(t, &Server{})
	c := dialFor(t, addr, nil, nil)
	for i := 0; i < 3; i++ {
		if err := c.Echo(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Release(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestEchoHandlerStatus(t *testing.T) {
	addr := serve(t, &Server{Echo: EchoHandlerFunc(func(ctx context.Context, a *AssociationInfo) Status {
		if a.CallingAE != "TESTSCU" {
			return StatusNotAuthorized
		}
		return StatusProcessingFailure
	})})
	c := dialFor(t, addr, nil, nil)
	var se *StatusError
	if err := c.Echo(context.Background()); !errors.As(err, &se) || se.Status != StatusProcessingFailure {
		t.Fatalf("err = %v", err)
	}
}

// TestStoreCorpus sends the whole corpus with the Client to the Server and
// checks that every well-formed file arrives byte for byte, that broken
// files are refused with a failure status, and that the server still
// answers C-ECHO afterwards.
func TestStoreCorpus(t *testing.T) {
	files := sample(corpus(t), "malformed", "charset")
	store := newDiskStore(t)
	addr := serve(t, &Server{Store: store})
	var instances []Instance
	var broken []corpusFile
	byUID := map[string]corpusFile{}
	for _, f := range files {
		inst, err := InstanceFromFile(f.path)
		switch {
		case err != nil && f.category == "malformed":
			broken = append(broken, f)
			continue
		case err != nil && strings.Contains(err.Error(), "lacks SOP Class or SOP Instance UID"):
			t.Logf("%s: not sendable: %v", f.rel, err) // DCMTK's storescu refuses these too
			continue
		case err != nil:
			t.Errorf("%s: not sendable: %v", f.rel, err)
			continue
		}
		if _, dup := byUID[inst.SOPInstanceUID]; dup {
			continue // the same instance in several syntaxes: send it once
		}
		byUID[inst.SOPInstanceUID] = f
		instances = append(instances, inst)
	}
	for _, chunk := range ChunkInstances(instances) {
		c := dialFor(t, addr, chunk, nil)
		for _, inst := range chunk {
			f := byUID[inst.SOPInstanceUID]
			res, err := c.StoreInstance(context.Background(), inst)
			var se *StatusError
			if errors.As(err, &se) && f.category == "edge-cases" {
				t.Logf("%s: refused by the test handler: %v", f.rel, err)
				continue
			}
			if err != nil {
				t.Errorf("%s: %v", f.rel, err)
				continue
			}
			if res.TransferSyntax == inst.TransferSyntax && !needsRewrite(t, f.path) {
				want, _ := datasetBytes(t, f.path)
				got, _ := datasetBytes(t, store.file(inst.SOPInstanceUID))
				if len(want)%2 == 1 {
					want = append(want, 0) // odd (deflated) data sets go out padded
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s: %d bytes stored differ from the %d sent", f.rel, len(got), len(want))
				}
			}
		}
		if err := c.Echo(context.Background()); err != nil {
			t.Fatalf("echo after stores: %v", err)
		}
		if err := c.Release(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d instances sent, %d stored", len(instances), store.count())

	// Broken files go out as raw streams (no parsing on this side): the
	// server must refuse them with a failure status and keep serving.
	refused := 0
	for _, f := range broken {
		fh, err := os.Open(f.path)
		if err != nil {
			t.Fatal(err)
		}
		s, err := openStream(fh)
		fh.Close()
		if err != nil {
			continue // not even a Part 10 header: nothing to send
		}
		c := dialFor(t, addr, []Instance{{SOPClassUID: s.SOPClassUID, TransferSyntax: s.TransferSyntax}}, nil)
		fh, _ = os.Open(f.path)
		res, err := c.Store(context.Background(), struct{ io.Reader }{fh})
		fh.Close()
		var se *StatusError
		switch {
		case errors.As(err, &se):
			refused++
			t.Logf("%s: refused: %s %s", f.rel, se.Status, se.Comment)
		case err != nil:
			t.Errorf("%s: %v", f.rel, err)
		default:
			t.Errorf("%s: broken file accepted (status %s)", f.rel, res.Status)
		}
		if err := c.Echo(context.Background()); err != nil {
			t.Fatalf("%s: echo after refusal: %v", f.rel, err)
		}
		c.Release(context.Background())
	}
	if refused == 0 {
		t.Error("no malformed file was refused")
	}
}

func TestStoreConversion(t *testing.T) {
	// A native file offered to a server that only takes Implicit VR LE
	// is converted; the result parses to the same elements.
	files := corpus(t, "ct")
	store := newDiskStore(t)
	addr := serve(t, &Server{Store: store, TransferSyntaxes: []string{dicom.ImplicitVRLittleEndian}})
	var inst Instance
	var src corpusFile
	for _, f := range files {
		i, err := InstanceFromFile(f.path)
		if err == nil && i.TransferSyntax == dicom.ExplicitVRLittleEndian {
			inst, src = i, f
			break
		}
	}
	if inst.Open == nil {
		t.Skip("no Explicit VR LE CT file in the corpus")
	}
	c := dialFor(t, addr, []Instance{inst}, nil)
	res, err := c.StoreInstance(context.Background(), inst)
	if err != nil {
		t.Fatal(err)
	}
	if res.TransferSyntax != dicom.ImplicitVRLittleEndian {
		t.Fatalf("sent in %s", res.TransferSyntax)
	}
	orig, err := dicom.ReadFile(src.path, dicom.ReadOptions{LoadBulk: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := dicom.ReadFile(store.file(inst.SOPInstanceUID), dicom.ReadOptions{LoadBulk: true})
	if err != nil {
		t.Fatal(err)
	}
	if got.TransferSyntax != dicom.ImplicitVRLittleEndian {
		t.Errorf("stored as %s", got.TransferSyntax)
	}
	pd, gpd := orig.Dataset.Get(dicom.TagPixelData), got.Dataset.Get(dicom.TagPixelData)
	if pd == nil || gpd == nil || !bytes.Equal(pd.Value, gpd.Value) {
		t.Error("pixel data differs after conversion")
	}
	if a, b := orig.Dataset.String(dicom.TagPatientName), got.Dataset.String(dicom.TagPatientName); a != b {
		t.Errorf("patient name %q became %q", a, b)
	}
}

func TestStoreStream(t *testing.T) {
	files := corpus(t, "mr")
	store := newDiskStore(t)
	addr := serve(t, &Server{Store: store})
	inst, err := InstanceFromFile(files[0].path)
	if err != nil {
		t.Fatal(err)
	}
	c := dialFor(t, addr, []Instance{inst}, nil)
	b, err := os.ReadFile(files[0].path)
	if err != nil {
		t.Fatal(err)
	}
	// A plain io.Reader (not seekable) is streamed as it is.
	if _, err := c.Store(context.Background(), io.MultiReader(bytes.NewReader(b))); err != nil {
		t.Fatal(err)
	}
	if store.count() != 1 {
		t.Fatal("not stored")
	}
}

func TestUnknownSOPClassAccepted(t *testing.T) {
	store := newDiskStore(t)
	store.verify = false
	addr := serve(t, &Server{Store: store})
	const private = "1.2.3.4.5.6.7.8.9.999"
	cfg := func(c *ClientConfig) {
		c.Contexts = append(c.Contexts,
			ul.ContextRQ{AbstractSyntax: private, TransferSyntaxes: []string{"1.2.840.10008.1.2.4.999.1", dicom.ExplicitVRLittleEndian}},
			ul.ContextRQ{AbstractSyntax: "1.2.840.10008.5.1.4.31", TransferSyntaxes: []string{dicom.ExplicitVRLittleEndian}}, // MWL: not served
			ul.ContextRQ{AbstractSyntax: StudyRootFind, TransferSyntaxes: []string{dicom.ExplicitVRLittleEndian}},            // no Find handler
		)
	}
	c := dialFor(t, addr, nil, cfg)
	got := map[string]ul.PresentationContext{}
	for _, pc := range c.Association().Contexts() {
		got[pc.AbstractSyntax] = pc
	}
	if pc := got[private]; !pc.Accepted() || pc.TransferSyntax != dicom.ExplicitVRLittleEndian {
		t.Errorf("private SOP class: %+v", pc)
	}
	for _, uid := range []string{"1.2.840.10008.5.1.4.31", StudyRootFind} {
		if pc := got[uid]; pc.Result != ul.ContextAbstractSyntaxNotSupported {
			t.Errorf("%s: %+v", uid, pc)
		}
	}
	// Storing a bare data set of the private class works.
	ds := dicom.NewDataset()
	ds.Set(dicom.NewStringElement(dicom.TagSOPClassUID, dicom.UI, private))
	ds.Set(dicom.NewStringElement(dicom.TagSOPInstanceUID, dicom.UI, "1.2.3.4.5.6.7.8.9.999.1"))
	var buf bytes.Buffer
	if err := dicom.WriteFile(&buf, ds, dicom.ExplicitVRLittleEndian, dicom.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Store(context.Background(), bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
}

func TestRejections(t *testing.T) {
	t.Run("called AE", func(t *testing.T) {
		addr := serve(t, &Server{AETitle: "PACS", RequireCalledAE: true})
		_, err := Dial(context.Background(), addr, ClientConfig{CalledAE: "OTHER", Contexts: VerificationContexts()})
		var rj *ul.RejectError
		if !errors.As(err, &rj) || rj.Reason != ul.RejectCalledAENotRecognized {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("authorize", func(t *testing.T) {
		addr := serve(t, &Server{Authorize: func(rq *ul.AssociateRQ) error {
			return ul.NewRejectError(ul.RejectPermanent, ul.RejectSourceUser, ul.RejectCallingAENotRecognized, "who are you")
		}})
		_, err := Dial(context.Background(), addr, ClientConfig{Contexts: VerificationContexts()})
		var rj *ul.RejectError
		if !errors.As(err, &rj) || rj.Reason != ul.RejectCallingAENotRecognized {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("max associations", func(t *testing.T) {
		s := &Server{MaxAssociations: 2}
		addr := serve(t, s)
		for i := 0; i < 2; i++ {
			dialFor(t, addr, nil, nil)
		}
		_, err := Dial(context.Background(), addr, ClientConfig{Contexts: VerificationContexts()})
		var rj *ul.RejectError
		if !errors.As(err, &rj) || rj.Result != ul.RejectTransient || rj.Reason != ul.RejectLocalLimitExceeded {
			t.Fatalf("err = %v", err)
		}
	})
}

// sliceFind is a FindHandler over a fixed list; it blocks after block
// matches until its context ends (to test C-CANCEL).
type sliceFind struct {
	matches []*dicom.Dataset
	block   int
	seen    chan *QueryRequest
}

func (f *sliceFind) Find(ctx context.Context, req *QueryRequest) iter.Seq2[*dicom.Dataset, error] {
	if f.seen != nil {
		f.seen <- req
	}
	return func(yield func(*dicom.Dataset, error) bool) {
		for i, m := range f.matches {
			if f.block > 0 && i == f.block {
				<-ctx.Done()
				return
			}
			if !yield(m, nil) {
				return
			}
		}
	}
}

func patient(name, id string) *dicom.Dataset {
	ds := dicom.NewDataset()
	ds.Set(dicom.NewStringElement(dicom.TagSpecificCharacterSet, dicom.CS, "ISO_IR 192"))
	ds.Set(dicom.NewStringElement(0x00080052, dicom.CS, "PATIENT"))
	ds.Set(dicom.NewStringElement(dicom.TagPatientName, dicom.PN, name))
	ds.Set(dicom.NewStringElement(dicom.TagPatientID, dicom.LO, id))
	return ds
}

func TestFind(t *testing.T) {
	h := &sliceFind{matches: []*dicom.Dataset{patient("Müller^Hans", "1"), patient("山田^太郎", "2"), patient("Doe^John", "3")},
		seen: make(chan *QueryRequest, 1)}
	addr := serve(t, &Server{Find: h})
	c := dialFor(t, addr, nil, func(cfg *ClientConfig) {
		cfg.Contexts = append(cfg.Contexts, QueryRetrieveContexts(PatientRootFind)...)
	})
	q := patient("*", "")
	var names []string
	for ds, err := range c.Find(context.Background(), PatientRootFind, q) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, ds.String(dicom.TagPatientName))
	}
	if strings.Join(names, "|") != "Müller^Hans|山田^太郎|Doe^John" {
		t.Errorf("matches %q", names)
	}
	req := <-h.seen
	if req.Identifier.String(dicom.TagPatientName) != "*" || req.SOPClassUID != PatientRootFind || req.Association.CallingAE != "TESTSCU" {
		t.Errorf("request %+v", req)
	}
	// The association still works after a query.
	if err := c.Echo(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestFindCancel(t *testing.T) {
	h := &sliceFind{matches: []*dicom.Dataset{patient("A", "1"), patient("B", "2"), patient("C", "3")}, block: 1}
	addr := serve(t, &Server{Find: h})
	c := dialFor(t, addr, nil, func(cfg *ClientConfig) { cfg.Contexts = append(cfg.Contexts, QueryRetrieveContexts(StudyRootFind)...) })

	// Stopping the iteration sends C-CANCEL; the server's handler sees its
	// context end and the final response is Cancel.
	n := 0
	for _, err := range c.Find(context.Background(), StudyRootFind, patient("*", "")) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		break
	}
	if n != 1 {
		t.Fatalf("%d matches", n)
	}
	// A context deadline cancels too.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	var last error
	for _, err := range c.Find(ctx, StudyRootFind, patient("*", "")) {
		last = err
	}
	if !errors.Is(last, context.DeadlineExceeded) {
		t.Fatalf("err = %v", last)
	}
	if err := c.Echo(context.Background()); err != nil {
		t.Fatalf("echo after cancel: %v", err)
	}
}

func TestFindFailure(t *testing.T) {
	addr := serve(t, &Server{Find: FindHandlerFunc(func(ctx context.Context, req *QueryRequest) iter.Seq2[*dicom.Dataset, error] {
		return func(yield func(*dicom.Dataset, error) bool) {
			if !yield(patient("A", "1"), nil) {
				return
			}
			yield(nil, NewStatusError(StatusIdentifierDoesNotMatchSOPClass, "bad level"))
		}
	})})
	c := dialFor(t, addr, nil, func(cfg *ClientConfig) { cfg.Contexts = append(cfg.Contexts, QueryRetrieveContexts(StudyRootFind)...) })
	var errs []error
	n := 0
	for ds, err := range c.Find(context.Background(), StudyRootFind, patient("*", "")) {
		if err != nil {
			errs = append(errs, err)
		} else if ds != nil {
			n++
		}
	}
	var se *StatusError
	if n != 1 || len(errs) != 1 || !errors.As(errs[0], &se) || se.Status != StatusIdentifierDoesNotMatchSOPClass || se.Comment != "bad level" {
		t.Fatalf("n=%d errs=%v", n, errs)
	}
}

// retrieveSet picks a few corpus instances for move/get tests.
func retrieveSet(t *testing.T) []Instance {
	var out []Instance
	for _, f := range corpus(t, "ct", "mr", "transfer-syntax") {
		inst, err := InstanceFromFile(f.path)
		if err != nil {
			continue
		}
		out = append(out, inst)
		if len(out) == 8 {
			break
		}
	}
	return out
}

func TestMove(t *testing.T) {
	instances := retrieveSet(t)
	dest := newDiskStore(t)
	destAddr := serve(t, &Server{AETitle: "DEST", Store: dest})
	missing := Instance{SOPClassUID: instances[0].SOPClassUID, SOPInstanceUID: "1.2.3.404", TransferSyntax: dicom.ExplicitVRLittleEndian,
		Open: func(context.Context) (InstanceReader, error) { return nil, os.ErrNotExist }}
	var gotReq *RetrieveRequest
	src := &Server{
		AETitle: "SRC",
		Move: MoveHandlerFunc(func(ctx context.Context, req *RetrieveRequest) ([]Instance, error) {
			gotReq = req
			return append(append([]Instance{}, instances...), missing), nil
		}),
		AEResolver: StaticAEs{"DEST": {Addr: destAddr}},
	}
	addr := serve(t, src)
	c := dialFor(t, addr, nil, func(cfg *ClientConfig) { cfg.Contexts = append(cfg.Contexts, QueryRetrieveContexts(StudyRootMove)...) })
	var progress []SubOperations
	ident := dicom.NewDataset()
	ident.Set(dicom.NewStringElement(0x00080052, dicom.CS, "STUDY"))
	ident.Set(dicom.NewStringElement(dicom.TagStudyInstanceUID, dicom.UI, "1.2.3"))
	res, err := c.Move(context.Background(), StudyRootMove, "DEST", ident, func(so SubOperations) { progress = append(progress, so) })
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusSubOperationsCompleteWithFailures || int(res.SubOps.Completed) != len(instances) || res.SubOps.Failed != 1 {
		t.Errorf("result %+v", res)
	}
	if len(res.FailedSOPInstanceUIDs) != 1 || res.FailedSOPInstanceUIDs[0] != "1.2.3.404" {
		t.Errorf("failed list %q", res.FailedSOPInstanceUIDs)
	}
	if len(progress) != len(instances)+1 || progress[0].Remaining != uint16(len(instances)) {
		t.Errorf("progress %+v", progress)
	}
	if int(dest.n.Load()) != len(instances) {
		t.Errorf("destination received %d instances", dest.n.Load())
	}
	for _, r := range dest.reqs {
		if r.MoveOriginatorAE != "TESTSCU" || r.Association.CallingAE != "SRC" {
			t.Errorf("sub-operation request %+v", r)
			break
		}
	}
	if gotReq == nil || gotReq.Destination != "DEST" || gotReq.Identifier.String(dicom.TagStudyInstanceUID) != "1.2.3" {
		t.Errorf("handler saw %+v", gotReq)
	}

	// Unknown destination.
	_, err = c.Move(context.Background(), StudyRootMove, "NOWHERE", ident, nil)
	var se *StatusError
	if !errors.As(err, &se) || se.Status != StatusMoveDestinationUnknown {
		t.Errorf("unknown destination: %v", err)
	}
}

func TestGet(t *testing.T) {
	instances := retrieveSet(t)
	addr := serve(t, &Server{Get: GetHandlerFunc(func(ctx context.Context, req *RetrieveRequest) ([]Instance, error) {
		return instances, nil
	})})
	var classes []string
	seen := map[string]bool{}
	for _, inst := range instances {
		if !seen[inst.SOPClassUID] {
			seen[inst.SOPClassUID] = true
			classes = append(classes, inst.SOPClassUID)
		}
	}
	_, roles := GetContexts(classes, nil)
	c := dialFor(t, addr, instances, func(cfg *ClientConfig) {
		cfg.Contexts = append(cfg.Contexts, QueryRetrieveContexts(StudyRootGet)...)
		cfg.Roles = roles
	})
	recv := newDiskStore(t)
	var mu sync.Mutex
	n := 0
	res, err := c.Get(context.Background(), StudyRootGet, patient("*", ""), recv, func(SubOperations) { mu.Lock(); n++; mu.Unlock() })
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusSuccess || int(res.SubOps.Completed) != len(instances) || int(recv.n.Load()) != len(instances) {
		t.Errorf("result %+v, received %d", res, recv.n.Load())
	}
	for _, r := range recv.reqs {
		if r.SourceAE != "LIGHTBOX" {
			t.Errorf("source AE %q", r.SourceAE)
			break
		}
	}
	if err := c.Echo(context.Background()); err != nil {
		t.Fatal(err)
	}
}
