package dimsesvc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/blob"
	blobfs "github.com/lightbox-pacs/lightbox/internal/blob/fs"
	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/index/sqlite"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
	"github.com/lightbox-pacs/lightbox/ul"
)

// fullDisk is a blob store whose writes fail with ENOSPC while full is set.
type fullDisk struct {
	blob.Store
	full atomic.Bool
}

func (f *fullDisk) Create(ctx context.Context, key string) (blob.Writer, error) {
	w, err := f.Store.Create(ctx, key)
	if err != nil {
		return nil, err
	}
	return &fullWriter{Writer: w, d: f}, nil
}

type fullWriter struct {
	blob.Writer
	d *fullDisk
}

func (w *fullWriter) Write(p []byte) (int, error) {
	if w.d.full.Load() {
		return 0, &os.PathError{Op: "write", Path: "blob", Err: syscall.ENOSPC}
	}
	return w.Writer.Write(p)
}

// testSite is a Service over a fresh archive, served on loopback.
type testSite struct {
	svc  *Service
	arch *archive.Archive
	idx  index.Index
	disk *fullDisk
	addr string
}

func newSite(t testing.TB, opts Options) *testSite {
	t.Helper()
	dir := t.TempDir()
	fs, err := blobfs.Open(filepath.Join(dir, "blobs"), blobfs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	idx, err := sqlite.Open(context.Background(), filepath.Join(dir, "index.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	disk := &fullDisk{Store: fs}
	arch := archive.New(disk, idx, archive.Options{})
	svc := New(arch, opts)
	srv := &dimse.Server{}
	svc.Install(srv)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		srv.Close()
		arch.Close()
		idx.Close()
		fs.Close()
	})
	return &testSite{svc: svc, arch: arch, idx: idx, disk: disk, addr: ln.Addr().String()}
}

func (s *testSite) dial(t testing.TB, ae string, ctxs []ul.ContextRQ) (*dimse.Client, error) {
	t.Helper()
	c, err := dimse.Dial(context.Background(), s.addr, dimse.ClientConfig{CallingAE: ae, CalledAE: "LIGHTBOX", Contexts: ctxs, ResponseTimeout: 30 * time.Second})
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

func (s *testSite) count(t testing.TB) int {
	t.Helper()
	st, err := s.idx.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.Instances
}

// stream hides Seek so that the client sends a Part 10 file as it is,
// with the command UIDs taken from its File Meta.
type stream struct{ io.Reader }

// sample returns a small corpus instance, fully loaded.
func sample(t testing.TB) *dicom.Dataset {
	t.Helper()
	f, err := dicom.ReadFile(filepath.Join(testenv.CorpusDir(t), "ct", "ge-ct-small-evrle.dcm"), dicom.ReadOptions{LoadBulk: true})
	if err != nil {
		t.Fatal(err)
	}
	return f.Dataset
}

// part10 writes ds as a Part 10 file whose File Meta names class and
// instance, whatever the data set says.
func part10(t testing.TB, ds *dicom.Dataset, class, instance, ts string) []byte {
	t.Helper()
	hdr, err := archive.FileMetaHeader(class, instance, ts, "")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.Write(hdr)
	enc, _ := dicom.EncodingOf(ts)
	if err := dicom.WriteDataset(&b, ds, enc, dicom.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func setUID(ds *dicom.Dataset, tag dicom.Tag, v string) {
	ds.Set(dicom.NewStringElement(tag, dicom.UI, v))
}

// TestStoreStatuses drives every C-STORE outcome through the DIMSE client.
func TestStoreStatuses(t *testing.T) {
	s := newSite(t, Options{AllowUnknownStore: true})
	base := sample(t)
	class := base.String(dicom.TagSOPClassUID)
	ctxs := append(dimse.StorageContexts([2]string{class, dicom.ExplicitVRLittleEndian}, [2]string{class, dicom.DeflatedExplicitVRLittleEndian}),
		dimse.VerificationContexts()...)
	c, err := s.dial(t, "MODALITY", ctxs)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	variant := func(mod func(ds *dicom.Dataset)) *dicom.Dataset {
		ds := dicom.NewDataset()
		for _, e := range base.Elements {
			cp := *e
			ds.Elements = append(ds.Elements, &cp)
		}
		mod(ds)
		return ds
	}
	send := func(data []byte) (dimse.StoreResult, error) {
		return c.Store(ctx, stream{bytes.NewReader(data)})
	}
	uid := func(i string) string { return "1.2.826.0.1.3680043.2.1143.777." + i }

	cases := []struct {
		name    string
		file    func() []byte
		status  dimse.Status
		comment string
		stored  int // instances added
		full    bool
	}{
		{"success", func() []byte {
			return part10(t, variant(func(ds *dicom.Dataset) { setUID(ds, dicom.TagSOPInstanceUID, uid("1")) }), class, uid("1"), dicom.ExplicitVRLittleEndian)
		}, dimse.StatusSuccess, "", 1, false},
		{"same again", func() []byte {
			return part10(t, variant(func(ds *dicom.Dataset) { setUID(ds, dicom.TagSOPInstanceUID, uid("1")) }), class, uid("1"), dicom.ExplicitVRLittleEndian)
		}, dimse.StatusSuccess, "", 0, false},
		{"other content, same UID: first kept", func() []byte {
			return part10(t, variant(func(ds *dicom.Dataset) {
				setUID(ds, dicom.TagSOPInstanceUID, uid("1"))
				ds.Set(dicom.NewStringElement(0x00081030, dicom.LO, "CHANGED"))
			}), class, uid("1"), dicom.ExplicitVRLittleEndian)
		}, dimse.StatusCoercionOfDataElements, "kept the first", 0, false},
		{"patient name conflict", func() []byte {
			return part10(t, variant(func(ds *dicom.Dataset) {
				setUID(ds, dicom.TagSOPInstanceUID, uid("2"))
				ds.Set(dicom.NewStringElement(dicom.TagPatientName, dicom.PN, "Other^Name"))
			}), class, uid("2"), dicom.ExplicitVRLittleEndian)
		}, dimse.StatusCoercionOfDataElements, "PatientName", 1, false},
		{"instance UID mismatch", func() []byte {
			return part10(t, variant(func(ds *dicom.Dataset) { setUID(ds, dicom.TagSOPInstanceUID, uid("3")) }), class, uid("4"), dicom.ExplicitVRLittleEndian)
		}, dimse.StatusDataSetDoesNotMatchSOPClass, "SOP Instance UID", 0, false},
		{"instance UID mismatch, deflated", func() []byte {
			return part10(t, variant(func(ds *dicom.Dataset) { setUID(ds, dicom.TagSOPInstanceUID, uid("5")) }), class, uid("6"), dicom.DeflatedExplicitVRLittleEndian)
		}, dimse.StatusDataSetDoesNotMatchSOPClass, "SOP Instance UID", 0, false},
		{"class mismatch", func() []byte {
			return part10(t, variant(func(ds *dicom.Dataset) {
				setUID(ds, dicom.TagSOPInstanceUID, uid("7"))
				setUID(ds, dicom.TagSOPClassUID, "1.2.840.10008.5.1.4.1.1.4")
			}), class, uid("7"), dicom.ExplicitVRLittleEndian)
		}, dimse.StatusDataSetDoesNotMatchSOPClass, "SOP Class UID", 0, false},
		{"no SOP Class UID in the data set", func() []byte {
			return part10(t, variant(func(ds *dicom.Dataset) {
				setUID(ds, dicom.TagSOPInstanceUID, uid("8"))
				ds.Delete(dicom.TagSOPClassUID)
			}), class, uid("8"), dicom.ExplicitVRLittleEndian)
		}, dimse.StatusDataSetDoesNotMatchSOPClassWarning, "no SOP Class UID", 1, false},
		{"no Series Instance UID", func() []byte {
			return part10(t, variant(func(ds *dicom.Dataset) {
				setUID(ds, dicom.TagSOPInstanceUID, uid("9"))
				ds.Delete(dicom.TagSeriesInstanceUID)
			}), class, uid("9"), dicom.ExplicitVRLittleEndian)
		}, dimse.StatusDataSetDoesNotMatchSOPClass, "Series Instance UID", 0, false},
		{"truncated", func() []byte {
			b := part10(t, variant(func(ds *dicom.Dataset) { setUID(ds, dicom.TagSOPInstanceUID, uid("10")) }), class, uid("10"), dicom.ExplicitVRLittleEndian)
			return b[:len(b)-1001]
		}, dimse.StatusCannotUnderstand, "", 0, false},
		{"disk full", func() []byte {
			return part10(t, variant(func(ds *dicom.Dataset) { setUID(ds, dicom.TagSOPInstanceUID, uid("11")) }), class, uid("11"), dicom.ExplicitVRLittleEndian)
		}, dimse.StatusOutOfResources, "disk full", 0, true},
		{"after the disk is freed", func() []byte {
			return part10(t, variant(func(ds *dicom.Dataset) { setUID(ds, dicom.TagSOPInstanceUID, uid("11")) }), class, uid("11"), dicom.ExplicitVRLittleEndian)
		}, dimse.StatusSuccess, "", 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := s.count(t)
			s.disk.full.Store(tc.full)
			defer s.disk.full.Store(false)
			res, err := send(tc.file())
			var se *dimse.StatusError
			if err != nil && !errors.As(err, &se) {
				t.Fatalf("store: %v", err)
			}
			if res.Status != tc.status || !strings.Contains(res.ErrorComment, tc.comment) {
				t.Errorf("status %s %q, want %s with %q", res.Status, res.ErrorComment, tc.status, tc.comment)
			}
			if len(res.ErrorComment) > 64 {
				t.Errorf("comment of %d characters", len(res.ErrorComment))
			}
			if got := s.count(t) - before; got != tc.stored {
				t.Errorf("%d instances added, want %d", got, tc.stored)
			}
		})
	}
	if err := c.Echo(ctx); err != nil {
		t.Fatalf("echo after the failures: %v", err)
	}
}

// TestAccessPolicy checks that unknown callers get only what the options
// allow, at association time when nothing is allowed.
func TestAccessPolicy(t *testing.T) {
	known := func(_ context.Context, ae string) bool { return ae == "FRIEND" }
	ctxs := append(dimse.StorageContexts([2]string{"1.2.840.10008.5.1.4.1.1.2", dicom.ExplicitVRLittleEndian}),
		dimse.QueryRetrieveContexts(dimse.StudyRootFind, dimse.StudyRootMove)...)
	ctxs = append(ctxs, dimse.VerificationContexts()...)

	closed := newSite(t, Options{KnownAE: known})
	if _, err := closed.dial(t, "STRANGER", ctxs); err == nil || !strings.Contains(err.Error(), "calling AE title not recognized") {
		t.Errorf("stranger with nothing allowed: %v", err)
	}
	c, err := closed.dial(t, "FRIEND", ctxs)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Echo(context.Background()); err != nil {
		t.Error(err)
	}

	queryOnly := newSite(t, Options{KnownAE: known, AllowUnknownQuery: true, Resolver: dimse.StaticAEs{"FRIEND": {Addr: "127.0.0.1:1"}}})
	c, err = queryOnly.dial(t, "STRANGER", ctxs)
	if err != nil {
		t.Fatal(err)
	}
	ident := dicom.NewDataset()
	ident.Set(dicom.NewStringElement(tagQueryRetrieveLevel, dicom.CS, "STUDY"))
	ident.Set(dicom.NewStringElement(dicom.TagStudyInstanceUID, dicom.UI, "1.2.3"))
	for _, err := range c.Find(context.Background(), dimse.StudyRootFind, ident) {
		if err != nil {
			t.Errorf("query allowed: %v", err)
		}
	}
	res, err := c.Move(context.Background(), dimse.StudyRootMove, "FRIEND", ident, nil)
	if res.Status != dimse.StatusNotAuthorized {
		t.Errorf("move: %v %v", res.Status, err)
	}
	f := filepath.Join(testenv.CorpusDir(t), "ct", "ge-ct-small-evrle.dcm")
	if r, err := c.StoreFile(context.Background(), f); r.Status != dimse.StatusNotAuthorized || !strings.Contains(r.ErrorComment, "STRANGER") {
		t.Errorf("store: %v %q %v", r.Status, r.ErrorComment, err)
	}
}

func TestExtendedNegotiation(t *testing.T) {
	for _, tc := range []struct {
		class string
		in    []byte
		want  []byte
	}{
		{dimse.StudyRootFind, []byte{1}, []byte{1}},
		{dimse.StudyRootFind, []byte{1, 1, 1, 1}, []byte{1, 1, 1}},
		{dimse.PatientRootFind, []byte{0, 1}, []byte{0, 1}},
		{dimse.StudyRootMove, []byte{1, 1}, []byte{1}},
		{dimse.PatientRootGet, []byte{1}, []byte{1}},
		{"1.2.840.10008.5.1.4.1.1.2", []byte{1}, nil},
		{dimse.StudyRootFind, nil, nil},
	} {
		if got := ExtendedNegotiation(tc.class, tc.in); !bytes.Equal(got, tc.want) {
			t.Errorf("%s %v: %v, want %v", tc.class, tc.in, got, tc.want)
		}
	}
}

func TestScanUIDs(t *testing.T) {
	ds := sample(t)
	class, inst := ds.String(dicom.TagSOPClassUID), ds.String(dicom.TagSOPInstanceUID)
	for _, ts := range []string{dicom.ExplicitVRLittleEndian, dicom.ImplicitVRLittleEndian, dicom.ExplicitVRBigEndian} {
		var b bytes.Buffer
		enc, _ := dicom.EncodingOf(ts)
		if err := dicom.WriteDataset(&b, ds, enc, dicom.WriteOptions{}); err != nil {
			t.Fatal(err)
		}
		u, ok := scanUIDs(b.Bytes(), ts, false)
		if !ok || u.class != class || u.instance != inst {
			t.Errorf("%s: %+v %v", ts, u, ok)
		}
		// Every prefix either decides correctly or asks for more.
		for n := 0; n < 400 && n < b.Len(); n++ {
			if u, ok := scanUIDs(b.Bytes()[:n], ts, false); ok && u.instance != inst {
				t.Fatalf("%s prefix %d: %+v", ts, n, u)
			}
		}
	}
	if _, ok := scanUIDs(nil, dicom.ExplicitVRLittleEndian, true); !ok {
		t.Error("empty final data set undecided")
	}
}

// FuzzScanUIDs checks that the guard's scanner never panics.
func FuzzScanUIDs(f *testing.F) {
	f.Add([]byte{8, 0, 0x16, 0, 'U', 'I', 2, 0, '1', 0}, true)
	f.Add([]byte{8, 0, 0x18, 0, 'S', 'Q', 0, 0, 0xff, 0xff, 0xff, 0xff}, false)
	f.Fuzz(func(t *testing.T, b []byte, implicit bool) {
		ts := dicom.ExplicitVRLittleEndian
		if implicit {
			ts = dicom.ImplicitVRLittleEndian
		}
		scanUIDs(b, ts, true)
		scanUIDs(b, dicom.ExplicitVRBigEndian, false)
	})
}

// TestStorescuDiskFull: storescu sees A700 with its comment while the disk
// is full, and stores once it is not.
func TestStorescuDiskFull(t *testing.T) {
	storescu := testenv.RequireTool(t, "storescu")
	s := newSite(t, Options{AllowUnknownStore: true})
	host, port, _ := net.SplitHostPort(s.addr)
	f := filepath.Join(testenv.CorpusDir(t), "ct", "ge-ct-small-evrle.dcm")
	s.disk.full.Store(true)
	out, _ := runStorescu(t, storescu, "-v", "-R", host, port, f)
	if !strings.Contains(out, "Received Store Response (Refused: OutOfResources)") {
		t.Fatalf("storescu on a full disk:\n%s", out)
	}
	s.disk.full.Store(false)
	out, err := runStorescu(t, storescu, "-v", "-R", host, port, f)
	if err != nil || !strings.Contains(out, "Received Store Response (Success)") || s.count(t) != 1 {
		t.Fatalf("storescu after: %v\n%s", err, out)
	}
}

func runStorescu(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "TCP_NODELAY=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// slowDest is a C-MOVE destination that takes its time over each instance.
type slowDest struct{ n atomic.Int64 }

func (d *slowDest) Store(ctx context.Context, req *dimse.StoreRequest, data io.Reader) dimse.Result {
	io.Copy(io.Discard, data)
	time.Sleep(20 * time.Millisecond)
	d.n.Add(1)
	return dimse.Result{}
}

// TestRetrieveCancel: a C-CANCEL stops C-MOVE and C-GET part-way, with a
// final Cancel status and the counts of what was done.
func TestRetrieveCancel(t *testing.T) {
	dest := &slowDest{}
	destSrv := &dimse.Server{AETitle: "SLOW", Store: dest}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go destSrv.Serve(ln)
	defer destSrv.Close()
	s := newSite(t, Options{AllowUnknownRetrieve: true, Resolver: dimse.StaticAEs{"SLOW": {Addr: ln.Addr().String()}}})
	base := sample(t)
	class := base.String(dicom.TagSOPClassUID)
	const total = 30
	for i := range total {
		ds := dicom.NewDataset()
		for _, e := range base.Elements {
			cp := *e
			ds.Elements = append(ds.Elements, &cp)
		}
		uid := "1.2.826.0.1.3680043.2.1143.778." + strconv.Itoa(i)
		setUID(ds, dicom.TagSOPInstanceUID, uid)
		if _, err := s.arch.Store(context.Background(), bytes.NewReader(part10(t, ds, class, uid, dicom.ExplicitVRLittleEndian)), archive.IngestMeta{Size: -1}); err != nil {
			t.Fatal(err)
		}
	}
	id := dicom.NewDataset()
	id.Set(dicom.NewStringElement(tagQueryRetrieveLevel, dicom.CS, "STUDY"))
	id.Set(dicom.NewStringElement(dicom.TagStudyInstanceUID, dicom.UI, base.String(dicom.TagStudyInstanceUID)))

	c, err := s.dial(t, "WS", dimse.QueryRetrieveContexts(dimse.StudyRootMove))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	res, err := c.Move(ctx, dimse.StudyRootMove, "SLOW", id, func(so dimse.SubOperations) {
		if so.Completed >= 2 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || res.Status != dimse.StatusCancel || res.SubOps.Remaining == 0 || res.SubOps.Completed < 2 {
		t.Errorf("cancelled C-MOVE: %v, %s, %+v", err, res.Status, res.SubOps)
	}
	t.Logf("C-MOVE cancelled: %s %+v, destination got %d", res.Status, res.SubOps, dest.n.Load())

	ctxs, roles := dimse.GetContexts([]string{class}, nil)
	cfg := dimse.ClientConfig{CallingAE: "WS", CalledAE: "LIGHTBOX", Contexts: append(dimse.QueryRetrieveContexts(dimse.StudyRootGet), ctxs...), Roles: roles}
	g, err := dimse.Dial(context.Background(), s.addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ctx, cancel = context.WithCancel(context.Background())
	var got atomic.Int64
	res, err = g.Get(ctx, dimse.StudyRootGet, id, dimse.StoreHandlerFunc(func(_ context.Context, _ *dimse.StoreRequest, data io.Reader) dimse.Result {
		io.Copy(io.Discard, data)
		if got.Add(1) == 3 {
			cancel()
		}
		time.Sleep(10 * time.Millisecond)
		return dimse.Result{}
	}), nil)
	if res.Status != dimse.StatusCancel || got.Load() >= total {
		t.Errorf("cancelled C-GET: %v, %s, %+v, %d received", err, res.Status, res.SubOps, got.Load())
	}
	t.Logf("C-GET cancelled: %s %+v", res.Status, res.SubOps)
	if err := g.Echo(context.Background()); err != nil && !strings.Contains(err.Error(), "no accepted presentation context") {
		t.Errorf("association after the cancel: %v", err)
	}
}

// TestStoreAbortedMidway: a peer that aborts inside a data set leaves
// nothing stored, and the server goes on serving.
func TestStoreAbortedMidway(t *testing.T) {
	s := newSite(t, Options{AllowUnknownStore: true})
	base := sample(t)
	class := base.String(dicom.TagSOPClassUID)
	ctxs := append(dimse.StorageContexts([2]string{class, dicom.ExplicitVRLittleEndian}), dimse.VerificationContexts()...)
	c, err := s.dial(t, "ABORTER", ctxs)
	if err != nil {
		t.Fatal(err)
	}
	a := c.Association()
	var pcID byte
	for _, pc := range a.Contexts() {
		if pc.Accepted() && pc.AbstractSyntax == class {
			pcID = pc.ID
		}
	}
	uid := base.String(dicom.TagSOPInstanceUID)
	cmd, err := (&dimse.Command{Field: dimse.CStoreRQ, MessageID: 1, AffectedSOPClassUID: class, AffectedSOPInstanceUID: uid, HasDataSet: true}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	dicom.WriteDataset(&b, base, dicom.EncodingExplicitLE, dicom.WriteOptions{})
	err = a.WriteMessage(pcID, cmd, func(w io.Writer) error {
		w.Write(b.Bytes()[:b.Len()/2])
		return errors.New("gone")
	})
	if err == nil {
		t.Fatal("half a data set sent without error")
	}
	time.Sleep(100 * time.Millisecond)
	if n := s.count(t); n != 0 {
		t.Errorf("%d instances stored from half a data set", n)
	}
	c2, err := s.dial(t, "NEXT", ctxs)
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.Echo(context.Background()); err != nil {
		t.Fatal(err)
	}
}
