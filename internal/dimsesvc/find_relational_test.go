package dimsesvc

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	blobfs "github.com/lightbox-pacs/lightbox/internal/blob/fs"
	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/index/sqlite"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
	"github.com/lightbox-pacs/lightbox/ul"
)

// TestFindConfiguredRelational: a SERIES-level configured key in an IMAGE
// query is matched under relational negotiation and ignored (returned
// from the header) in a hierarchical one, like a model key.
func TestFindConfiguredRelational(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fs, err := blobfs.Open(filepath.Join(dir, "blobs"), blobfs.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	attr, err := index.ParseAttributeSpec("SERIES:(0018,1030)/LO", nil)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := sqlite.Open(ctx, filepath.Join(dir, "index.db"), sqlite.Options{QueryAttributes: []index.Attribute{attr}})
	if err != nil {
		t.Fatal(err)
	}
	arch := archive.New(fs, idx, archive.Options{})
	srv := &dimse.Server{}
	New(arch, Options{AllowUnknownQuery: true}).Install(srv)
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
	site := &testSite{arch: arch, idx: idx}
	philips, _ := filepath.Glob(filepath.Join(testenv.CorpusDir(t), "series", "pydicom-philips-mr-patient-3series", "*.dcm"))
	site.storeFiles(t, philips...)

	// The index's answer: series whose (first stored) ProtocolName is FAST*.
	series, err := idx.Find(ctx, index.Query{Level: index.SeriesLevel, Matches: []index.Match{{Key: attr.Key, Value: "FAST*"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, r := range series {
		want += r.Series.NumberOfSeriesRelatedInstances
	}
	if len(series) == 0 || want >= len(philips) {
		t.Fatalf("corpus changed: %d FAST series with %d of %d instances", len(series), want, len(philips))
	}

	models := dimse.QueryRetrieveContexts(dimse.StudyRootFind)
	dial := func(ext []ul.ExtendedNegotiation) *dimse.Client {
		c, err := dimse.Dial(ctx, ln.Addr().String(), dimse.ClientConfig{CallingAE: "WS", CalledAE: "LIGHTBOX",
			Contexts: models, ExtendedNegotiations: ext, ResponseTimeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	hier := dial(nil)
	rel := dial([]ul.ExtendedNegotiation{{SOPClassUID: dimse.StudyRootFind, Info: []byte{1}}})
	q := ident("IMAGE", dicom.Tag(0x00181030), "FAST*", dicom.TagSOPInstanceUID, "")
	res, err := find(t, rel, dimse.StudyRootFind, q)
	if err != nil || len(res) != want {
		t.Errorf("relational IMAGE with ProtocolName=FAST*: %d results, %v; want %d", len(res), err, want)
	}
	res, err = find(t, hier, dimse.StudyRootFind, q)
	if err != nil || len(res) != len(philips) {
		t.Errorf("hierarchical IMAGE with ProtocolName=FAST*: %d results, %v; want all %d", len(res), err, len(philips))
	}
	// Returned from each instance's own header in both cases.
	for _, ds := range res {
		if ds.Get(dicom.Tag(0x00181030)) == nil {
			t.Fatalf("ProtocolName not returned: %v", ds)
		}
	}
}
