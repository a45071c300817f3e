package dimsesvc_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/internal/config"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// Compressed instances retrieved by peers that accept only uncompressed
// syntaxes arrive decompressed, with the pixels of the uncompressed
// version of the same CT.

// received keeps the data sets a store handler gets, parsed.
type received struct {
	mu  sync.Mutex
	dss []*dicom.Dataset
	tss []string
}

func (r *received) Store(ctx context.Context, req *dimse.StoreRequest, data io.Reader) dimse.Result {
	b, err := io.ReadAll(data)
	if err != nil {
		return dimse.Result{Status: dimse.StatusOutOfResources, ErrorComment: err.Error()}
	}
	enc := dicom.EncodingExplicitLE
	switch req.TransferSyntax {
	case dicom.ExplicitVRLittleEndian:
	case dicom.ImplicitVRLittleEndian:
		enc = dicom.EncodingImplicitLE
	default:
		return dimse.Result{Status: dimse.StatusCannotUnderstand, ErrorComment: "unexpected syntax " + req.TransferSyntax}
	}
	ds, err := dicom.ReadDataset(bytes.NewReader(b), int64(len(b)), enc, dicom.ReadOptions{LoadBulk: true})
	if err != nil {
		return dimse.Result{Status: dimse.StatusCannotUnderstand, ErrorComment: err.Error()}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dss = append(r.dss, ds)
	r.tss = append(r.tss, req.TransferSyntax)
	return dimse.Result{}
}

func (r *received) all() ([]*dicom.Dataset, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*dicom.Dataset(nil), r.dss...), append([]string(nil), r.tss...)
}

func TestRetrieveDecompressesForUncompressedPeers(t *testing.T) {
	dir := filepath.Join(testenv.CorpusDir(t), "transfer-syntax")
	ref, err := dicom.ReadFile(filepath.Join(dir, "ge-ct-evrle.dcm"), dicom.ReadOptions{LoadBulk: true})
	if err != nil {
		t.Fatal(err)
	}
	want := ref.Dataset.Get(dicom.TagPixelData).Value
	uid := ref.Dataset.String(dicom.TagSOPInstanceUID)
	checkPixels := func(t *testing.T, what string, ds *dicom.Dataset) {
		t.Helper()
		if got := ds.String(dicom.TagSOPInstanceUID); got != uid {
			t.Errorf("%s: SOP Instance UID %q, want %q", what, got, uid)
		}
		pd := ds.Get(dicom.TagPixelData)
		if pd == nil || pd.IsEncapsulated() || !bytes.Equal(pd.Value, want) {
			t.Errorf("%s: pixels differ from the uncompressed reference", what)
		}
	}

	for _, name := range []string{"ge-ct-jpeg-lossless-sv1-70.dcm", "ge-ct-jpegls-lossless-80.dcm", "ge-ct-rle.dcm"} {
		t.Run(name, func(t *testing.T) {
			// The C-MOVE destination accepts Explicit VR Little Endian only.
			dest := &received{}
			destSrv := &dimse.Server{AETitle: "EVRONLY", Store: dest, TransferSyntaxes: []string{dicom.ExplicitVRLittleEndian}}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go destSrv.Serve(ln)
			t.Cleanup(func() { destSrv.Close() })
			n := startLightbox(t, func(c *config.Config) {
				c.RemoteAEs = []config.RemoteAE{{AETitle: "EVRONLY", Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port}}
			})

			path := filepath.Join(dir, name)
			inst, err := dimse.InstanceFromFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if inst.TransferSyntax == dicom.ExplicitVRLittleEndian || inst.TransferSyntax == dicom.ImplicitVRLittleEndian {
				t.Fatalf("%s is not compressed", name)
			}
			sc := dial(t, n.addr, "MODALITY", dimse.ContextsFor([]dimse.Instance{inst}))
			if res, err := sc.StoreInstance(context.Background(), inst); err != nil || res.TransferSyntax != inst.TransferSyntax {
				t.Fatalf("store: %v (sent in %s)", err, res.TransferSyntax)
			}
			ident := dicom.NewDataset()
			ident.Set(dicom.NewStringElement(dicom.Tag(0x00080052), dicom.CS, "IMAGE"))
			ident.Set(dicom.NewStringElement(dicom.TagStudyInstanceUID, dicom.UI, ref.Dataset.String(dicom.TagStudyInstanceUID)))
			ident.Set(dicom.NewStringElement(dicom.TagSeriesInstanceUID, dicom.UI, ref.Dataset.String(dicom.TagSeriesInstanceUID)))
			ident.Set(dicom.NewStringElement(dicom.TagSOPInstanceUID, dicom.UI, uid))

			for _, ts := range []string{dicom.ExplicitVRLittleEndian, dicom.ImplicitVRLittleEndian} {
				t.Run("C-GET "+ts, func(t *testing.T) {
					got := &received{}
					ctxs, roles := dimse.GetContexts([]string{inst.SOPClassUID}, []string{ts})
					cfg := dimse.ClientConfig{CallingAE: "GETTER", CalledAE: "LIGHTBOX", ResponseTimeout: 30 * time.Second,
						Contexts: append(dimse.QueryRetrieveContexts(dimse.StudyRootGet), ctxs...), Roles: roles}
					c, err := dimse.Dial(context.Background(), n.addr, cfg)
					if err != nil {
						t.Fatal(err)
					}
					defer c.Close()
					// Twice on one association: the second request follows
					// the first's final response at once, which is no
					// request "while an operation is outstanding".
					for range 2 {
						res, err := c.Get(context.Background(), dimse.StudyRootGet, ident, got, nil)
						if err != nil || res.Status != dimse.StatusSuccess || res.SubOps.Completed != 1 {
							t.Fatalf("C-GET: %v, status %v, %+v %v", err, res.Status, res.SubOps, res.FailedSOPInstanceUIDs)
						}
					}
					if strings.Contains(n.log.String(), "while an operation is outstanding") {
						t.Error("a request after a final response was logged as sent while the operation was outstanding")
					}
					if dss, tss := got.all(); len(dss) != 2 || tss[1] != ts {
						t.Fatalf("C-GET: %d received in %v", len(dss), tss)
					} else {
						checkPixels(t, "C-GET", dss[0])
					}
				})
			}
			t.Run("C-MOVE", func(t *testing.T) {
				c := dial(t, n.addr, "MOVER", dimse.QueryRetrieveContexts(dimse.StudyRootMove))
				res, err := c.Move(context.Background(), dimse.StudyRootMove, "EVRONLY", ident, nil)
				if err != nil || res.Status != dimse.StatusSuccess || res.SubOps.Completed != 1 {
					t.Fatalf("C-MOVE: %v, status %v, %+v %v", err, res.Status, res.SubOps, res.FailedSOPInstanceUIDs)
				}
				if dss, tss := dest.all(); len(dss) != 1 || tss[0] != dicom.ExplicitVRLittleEndian {
					t.Fatalf("C-MOVE: %d received in %v", len(dss), tss)
				} else {
					checkPixels(t, "C-MOVE", dss[0])
				}
			})
			// getscu proposes uncompressed syntaxes only for the storage
			// sub-operations (3.6.7 has no option to offer JPEG there).
			for _, opt := range []string{"+xe"} {
				t.Run("getscu"+opt, func(t *testing.T) {
					getscu := testenv.RequireTool(t, "getscu")
					out := t.TempDir()
					log, err := runTool(t, 120*time.Second, getscu, "-v", "+B", opt, "-aet", "GETSCU", "-aec", "LIGHTBOX", "-od", out,
						"-k", "QueryRetrieveLevel=IMAGE", "-k", "StudyInstanceUID="+ref.Dataset.String(dicom.TagStudyInstanceUID),
						"-k", "SeriesInstanceUID="+ref.Dataset.String(dicom.TagSeriesInstanceUID), "-k", "SOPInstanceUID="+uid, n.host, n.port)
					if err != nil || !strings.Contains(log, "Success") {
						t.Fatalf("getscu: %v\n%s", err, tail(log, 40))
					}
					entries, _ := os.ReadDir(out)
					if len(entries) != 1 {
						t.Fatalf("getscu wrote %d files\n%s", len(entries), tail(log, 40))
					}
					f, err := dicom.ReadFile(filepath.Join(out, entries[0].Name()), dicom.ReadOptions{LoadBulk: true})
					if err != nil {
						t.Fatal(err)
					}
					if f.TransferSyntax != dicom.ExplicitVRLittleEndian {
						t.Errorf("getscu %s received %s", opt, f.TransferSyntax)
					}
					checkPixels(t, "getscu "+opt, f.Dataset)
				})
			}
		})
	}
}
