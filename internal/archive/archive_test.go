package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/blob"
	blobfs "github.com/lightbox-pacs/lightbox/internal/blob/fs"
	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// env is one archive over real stores in a temporary directory.
type env struct {
	dir   string
	blobs *blobfs.Store
	idx   index.Index
	a     *Archive
}

// backend opens an empty index for a test.
type backend struct {
	name string
	open func(t testing.TB, dir string) index.Index
}

func newEnv(t testing.TB, be backend, opts Options) *env {
	t.Helper()
	dir := t.TempDir()
	bs, err := blobfs.Open(filepath.Join(dir, "blobs"), blobfs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	idx := be.open(t, dir)
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	e := &env{dir: dir, blobs: bs, idx: idx, a: New(bs, idx, opts)}
	t.Cleanup(func() {
		e.a.Close()
		e.idx.Close()
	})
	return e
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelError}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (e *env) store(t testing.TB, data []byte) (Result, error) {
	t.Helper()
	return e.a.Store(context.Background(), bytes.NewReader(data), IngestMeta{Size: int64(len(data))})
}

func (e *env) mustStore(t testing.TB, data []byte, want Outcome) Result {
	t.Helper()
	res, err := e.store(t, data)
	if err != nil {
		t.Fatalf("Store: %v", err)
	}
	if res.Outcome != want {
		t.Fatalf("Store outcome %v, want %v", res.Outcome, want)
	}
	return res
}

// retrieved returns the stored bytes of an instance.
func (e *env) retrieved(t testing.TB, sop string) []byte {
	t.Helper()
	r, _, err := e.a.Retrieve(context.Background(), sop)
	if err != nil {
		t.Fatalf("Retrieve(%s): %v", sop, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// consistent fails unless index and blobs agree exactly, with no stray
// temporary files.
func (e *env) consistent(t testing.TB) CheckReport {
	t.Helper()
	rep, err := Check(context.Background(), e.blobs, e.idx, CheckOptions{Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems {
		t.Errorf("fsck: %s", p)
	}
	if tmp := tempFiles(t, e.blobs.Root()); len(tmp) > 0 {
		t.Errorf("temporary files left behind: %v", tmp)
	}
	return rep
}

func tempFiles(t testing.TB, root string) []string {
	var out []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func corpusPath(t testing.TB, rel string) string {
	return filepath.Join(testenv.CorpusDir(t), rel)
}

func readCorpus(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(corpusPath(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// variant returns data with one byte of its last 16 changed: the same
// instance (same UIDs) with different content.
func variant(data []byte, n byte) []byte {
	v := bytes.Clone(data)
	v[len(v)-1-int(n%16)] ^= 0x5A + n
	return v
}

func forEachBackend(t *testing.T, fn func(t *testing.T, be backend)) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) { fn(t, be) })
	}
}

func TestStoreRetrieve(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		e := newEnv(t, be, Options{})
		data := readCorpus(t, "charset/clunie-scs-utf8.dcm")
		res := e.mustStore(t, data, OutcomeStored)
		if res.Size != int64(len(data)) || res.SHA256 != sha256.Sum256(data) {
			t.Fatalf("result size %d sha %x; file %d %x", res.Size, res.SHA256, len(data), sha256.Sum256(data))
		}
		got := e.retrieved(t, res.SOPInstanceUID)
		if !bytes.Equal(got, data) {
			t.Fatal("retrieved bytes differ from the stored file")
		}
		_, rec, err := e.a.Retrieve(context.Background(), res.SOPInstanceUID)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Instance.BlobKey != res.BlobKey || rec.Instance.Size != res.Size || rec.Instance.SHA256 != res.SHA256 {
			t.Fatalf("index record %+v does not describe the blob", rec.Instance)
		}
		if len(rec.Header) == 0 || rec.Header[0] != '{' {
			t.Fatalf("header is not DICOM JSON: %.40q", rec.Header)
		}
		if _, _, err := e.a.Retrieve(context.Background(), "1.2.3.4.404"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Retrieve of unknown UID: %v", err)
		}
		e.consistent(t)
	})
}

// TestRecordExtraction checks the index record: decoded character sets,
// PN groups, normalised dates and times, numbers.
func TestRecordExtraction(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		e := newEnv(t, be, Options{})
		tests := []struct {
			file  string
			check func(t *testing.T, r index.InstanceRecord)
		}{
			{"charset/clunie-scs-japanese-h31.dcm", func(t *testing.T, r index.InstanceRecord) {
				pn := r.Patient.PatientName
				if pn.Alphabetic != "Yamada^Tarou" || pn.Ideographic != "山田^太郎" || pn.Phonetic != "やまだ^たろう" {
					t.Errorf("PatientName = %+v", pn)
				}
			}},
			{"charset/clunie-scs-russian.dcm", func(t *testing.T, r index.InstanceRecord) {
				if r.Patient.PatientName.Alphabetic != "Люкceмбypг" {
					t.Errorf("PatientName = %+v", r.Patient.PatientName)
				}
			}},
			{"ct/ct-693-bitsstored-mismatch.dcm", func(t *testing.T, r index.InstanceRecord) {
				if r.Series.Modality != "CT" || r.Instance.Rows != 512 || r.Instance.Columns != 512 {
					t.Errorf("Modality %q Rows %d Columns %d", r.Series.Modality, r.Instance.Rows, r.Instance.Columns)
				}
				if r.Instance.TransferSyntaxUID != "1.2.840.10008.1.2.1" {
					t.Errorf("TransferSyntaxUID %q", r.Instance.TransferSyntaxUID)
				}
				if d := r.Study.StudyDate; d != "" && len(d) != 8 {
					t.Errorf("StudyDate %q not normalised", d)
				}
			}},
		}
		for _, tc := range tests {
			t.Run(filepath.Base(tc.file), func(t *testing.T) {
				res := e.mustStore(t, readCorpus(t, tc.file), OutcomeStored)
				rec, err := e.idx.Instance(context.Background(), res.SOPInstanceUID)
				if err != nil {
					t.Fatal(err)
				}
				tc.check(t, rec)
			})
		}
	})
}

func TestReject(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		e := newEnv(t, be, Options{})
		ct := readCorpus(t, "ct/ct-693-bitsstored-mismatch.dcm")
		tests := []struct {
			name   string
			data   []byte
			reason Reason
			offset bool // the error must say where
		}{
			{"empty", nil, ReasonNotDICOM, false},
			{"text", []byte("hello, this is not DICOM at all\n"), ReasonNotDICOM, false},
			{"truncated", ct[:len(ct)/2], ReasonMalformed, true},
			{"dicomdir", readCorpus(t, "dicomdir/pydicom-dicomdir.dcm"), ReasonNotStorable, false},
			{"no-study-uid", readCorpus(t, "edge-cases/elscint1-minimal.dcm"), ReasonMissingAttribute, false},
			{"no-sop-uid", readCorpus(t, "edge-cases/private-sequence.dcm"), ReasonMissingAttribute, false},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := e.store(t, tc.data)
				re, ok := IsReject(err)
				if !ok {
					t.Fatalf("Store = %v, want a *RejectError", err)
				}
				if re.Reason != tc.reason {
					t.Fatalf("reason %s, want %s (%v)", re.Reason, tc.reason, err)
				}
				if tc.offset && re.Offset < 0 {
					t.Fatalf("no offset in %v", err)
				}
				if re.Detail == "" {
					t.Fatal("no detail")
				}
			})
		}
		if rep := e.consistent(t); rep.Blobs != 0 || rep.Rows != 0 {
			t.Fatalf("rejected input left %d blobs, %d rows", rep.Blobs, rep.Rows)
		}
	})
}

// failingReader returns data then a non-EOF error, like a dropped network
// connection.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestStreams(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		e := newEnv(t, be, Options{})
		data := readCorpus(t, "mr/toshiba-mr-small-evrle.dcm")
		// Unknown size, a plain reader (not a Seeker), small reads.
		res, err := e.a.Store(context.Background(), io.MultiReader(&oneByteReader{bytes.NewReader(data[:1000])}, bytes.NewReader(data[1000:])), IngestMeta{Size: -1})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(e.retrieved(t, res.SOPInstanceUID), data) {
			t.Fatal("stream stored differently")
		}
		// A source failing mid-way is an I/O error, not a rejection, and
		// stores nothing.
		boom := errors.New("connection reset")
		other := readCorpus(t, "ct/ct-693-bitsstored-mismatch.dcm")
		_, err = e.a.Store(context.Background(), &failingReader{data: other[:len(other)/2], err: boom}, IngestMeta{Size: -1})
		if !errors.Is(err, boom) {
			t.Fatalf("Store = %v, want the source's error", err)
		}
		if _, ok := IsReject(err); ok {
			t.Fatalf("source failure reported as a rejection: %v", err)
		}
		if rep := e.consistent(t); rep.Rows != 1 || rep.Blobs != 1 {
			t.Fatalf("rows %d blobs %d, want 1 and 1", rep.Rows, rep.Blobs)
		}
	})
}

type oneByteReader struct{ r io.Reader }

func (o *oneByteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}

func TestDuplicatePolicies(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		first := readCorpus(t, "mr/toshiba-mr-small-evrle.dcm")
		second := variant(first, 1)
		tests := []struct {
			policy  DuplicatePolicy
			want    Outcome
			reject  bool
			content []byte // what must be stored afterwards
		}{
			{KeepFirst, OutcomeKeptFirst, false, first},
			{Replace, OutcomeReplaced, false, second},
			{Reject, 0, true, first},
		}
		for _, tc := range tests {
			t.Run(tc.policy.String(), func(t *testing.T) {
				e := newEnv(t, be, Options{Duplicates: tc.policy})
				res := e.mustStore(t, first, OutcomeStored)
				// Identical bytes are a no-op whatever the policy.
				again := e.mustStore(t, first, OutcomeIdentical)
				if again.BlobKey != res.BlobKey {
					t.Fatalf("identical store points at blob %s, want %s", again.BlobKey, res.BlobKey)
				}
				got, err := e.store(t, second)
				if tc.reject {
					if re, ok := IsReject(err); !ok || re.Reason != ReasonDuplicate {
						t.Fatalf("Store = %v, want a duplicate rejection", err)
					}
				} else {
					if err != nil {
						t.Fatal(err)
					}
					if got.Outcome != tc.want {
						t.Fatalf("outcome %v, want %v", got.Outcome, tc.want)
					}
				}
				if b := e.retrieved(t, res.SOPInstanceUID); !bytes.Equal(b, tc.content) {
					t.Fatal("stored content is not the expected version")
				}
				rep := e.consistent(t)
				if rep.Rows != 1 || rep.Blobs != 1 {
					t.Fatalf("rows %d blobs %d, want 1 and 1", rep.Rows, rep.Blobs)
				}
			})
		}
	})
}

// TestConcurrentDuplicates stores versions of one instance from many
// goroutines at once: the committer, not the pre-check, must resolve them.
func TestConcurrentDuplicates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		for _, policy := range []DuplicatePolicy{KeepFirst, Replace, Reject} {
			t.Run(policy.String(), func(t *testing.T) {
				e := newEnv(t, be, Options{Duplicates: policy, MaxDelay: 20 * time.Millisecond})
				base := readCorpus(t, "mr/toshiba-mr-small-evrle.dcm")
				const n = 8
				var wg sync.WaitGroup
				var stored, dups, rejected atomic.Int32
				for i := range n {
					wg.Add(1)
					go func() {
						defer wg.Done()
						res, err := e.store(t, variant(base, byte(i%4)))
						switch {
						case err != nil:
							if _, ok := IsReject(err); !ok {
								t.Error(err)
							}
							rejected.Add(1)
						case res.Outcome == OutcomeStored:
							stored.Add(1)
						default:
							dups.Add(1)
						}
					}()
				}
				wg.Wait()
				if stored.Load() != 1 {
					t.Errorf("%d stored, want 1 (dups %d, rejected %d)", stored.Load(), dups.Load(), rejected.Load())
				}
				rep := e.consistent(t)
				if rep.Rows != 1 || rep.Blobs != 1 {
					t.Fatalf("rows %d blobs %d, want 1 and 1", rep.Rows, rep.Blobs)
				}
			})
		}
	})
}

// countingIndex is a real index that counts the batches it is given.
type countingIndex struct {
	index.Index
	batches, records atomic.Int64
	nanos            atomic.Int64 // time spent in InsertBatch
}

func (c *countingIndex) InsertBatch(ctx context.Context, recs []index.InstanceRecord) ([]index.InsertResult, error) {
	c.batches.Add(1)
	c.records.Add(int64(len(recs)))
	start := time.Now()
	defer func() { c.nanos.Add(int64(time.Since(start))) }()
	return c.Index.InsertBatch(ctx, recs)
}

// TestGroupCommit checks that concurrent Store calls share index
// transactions, and that each returns only once its instance is durable
// (readable through a second, independent index connection).
func TestGroupCommit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		var ci *countingIndex
		wrapped := backend{be.name, func(t testing.TB, dir string) index.Index {
			ci = &countingIndex{Index: be.open(t, dir)}
			return ci
		}}
		e := newEnv(t, wrapped, Options{MaxDelay: 5 * time.Millisecond})
		s := newSynth(t, "mr/toshiba-mr-small-evrle.dcm")
		const writers, each = 4, 25
		var wg sync.WaitGroup
		for range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range each {
					data, sop := s.instance("", "")
					if _, err := e.store(t, data); err != nil {
						t.Error(err)
						return
					}
					// Acknowledged: the instance is indexed and readable now.
					if _, err := e.idx.Instance(context.Background(), sop); err != nil {
						t.Errorf("acknowledged %s not in the index: %v", sop, err)
					}
				}
			}()
		}
		wg.Wait()
		b, r := ci.batches.Load(), ci.records.Load()
		t.Logf("%d instances in %d index transactions (%.1f per batch)", r, b, float64(r)/float64(b))
		if r != writers*each {
			t.Fatalf("%d records indexed, want %d", r, writers*each)
		}
		if b >= r {
			t.Errorf("no batching: %d transactions for %d instances", b, r)
		}
		e.consistent(t)
	})
}

func TestDelete(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		e := newEnv(t, be, Options{})
		s := newSynth(t, "mr/toshiba-mr-small-evrle.dcm")
		ctx := context.Background()
		study, series1, series2 := newUID(), newUID(), newUID()
		var sops []string
		for i := range 6 {
			ser := series1
			if i >= 3 {
				ser = series2
			}
			data, sop := s.instance(study, ser)
			e.mustStore(t, data, OutcomeStored)
			sops = append(sops, sop)
		}
		other, otherSOP := s.instance("", "") // another study of the same patient
		e.mustStore(t, other, OutcomeStored)

		steps := []struct {
			level     Level
			id        string
			instances int
			left      int
		}{
			{DeleteInstance, sops[0], 1, 6},
			{DeleteSeries, series1, 2, 4},
			{DeleteStudy, study, 3, 1},
		}
		for _, st := range steps {
			res, err := e.a.Delete(ctx, st.level, st.id, "")
			if err != nil {
				t.Fatal(err)
			}
			if res.Instances != st.instances || res.BlobsFailed != 0 {
				t.Fatalf("delete %v %s: %+v, want %d instances", st.level, st.id, res, st.instances)
			}
			if _, err := e.a.Delete(ctx, st.level, st.id, ""); !errors.Is(err, ErrNotFound) {
				t.Fatalf("second delete: %v, want ErrNotFound", err)
			}
			rep := e.consistent(t)
			if rep.Rows != st.left || rep.Blobs != st.left {
				t.Fatalf("after delete %v: rows %d blobs %d, want %d", st.level, rep.Rows, rep.Blobs, st.left)
			}
		}
		rec, err := e.idx.Instance(ctx, otherSOP)
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.a.Delete(ctx, DeletePatient, rec.Patient.PatientID, rec.Patient.IssuerOfPatientID)
		if err != nil || res.Instances != 1 {
			t.Fatalf("delete patient: %+v, %v", res, err)
		}
		if rep := e.consistent(t); rep.Rows != 0 || rep.Blobs != 0 {
			t.Fatalf("after deleting everything: rows %d blobs %d", rep.Rows, rep.Blobs)
		}
		st, err := e.idx.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Patients+st.Studies+st.Series+st.Instances != 0 {
			t.Fatalf("stats after deleting everything: %+v", st)
		}
	})
}

func TestClose(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		e := newEnv(t, be, Options{})
		e.a.Close()
		e.a.Close()
		if _, err := e.store(t, readCorpus(t, "mr/toshiba-mr-small-evrle.dcm")); !errors.Is(err, ErrClosed) {
			t.Fatalf("Store after Close: %v", err)
		}
		if tmp := tempFiles(t, e.blobs.Root()); len(tmp) > 0 {
			t.Fatalf("temporary files: %v", tmp)
		}
	})
}

func TestOrphansAndDeleteOrphans(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		e := newEnv(t, be, Options{})
		ctx := context.Background()
		res := e.mustStore(t, readCorpus(t, "mr/toshiba-mr-small-evrle.dcm"), OutcomeStored)
		// An interrupted delete: the row is gone, the blob is not.
		if _, err := e.idx.DeleteInstance(ctx, res.SOPInstanceUID); err != nil {
			t.Fatal(err)
		}
		// A row whose blob vanished (storage damage).
		res2 := e.mustStore(t, readCorpus(t, "ct/ct-693-bitsstored-mismatch.dcm"), OutcomeStored)
		if err := e.blobs.Delete(ctx, res2.BlobKey); err != nil {
			t.Fatal(err)
		}
		rep, err := Check(ctx, e.blobs, e.idx, CheckOptions{})
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[ProblemKind]string{}
		for _, p := range rep.Problems {
			kinds[p.Kind] = p.Key
		}
		if len(rep.Problems) != 2 || kinds[ProblemOrphanBlob] != res.BlobKey || kinds[ProblemMissingBlob] != res2.BlobKey {
			t.Fatalf("problems %v", rep.Problems)
		}
		// Young orphans are kept (an ingest may be in flight); old ones go.
		rep, err = Check(ctx, e.blobs, e.idx, CheckOptions{DeleteOrphans: true})
		if err != nil || rep.OrphansDeleted != 0 {
			t.Fatalf("young orphan deleted: %+v %v", rep, err)
		}
		old := time.Now().Add(-2 * time.Hour)
		os.Chtimes(e.blobs.Path(res.BlobKey), old, old)
		rep, err = Check(ctx, e.blobs, e.idx, CheckOptions{DeleteOrphans: true})
		if err != nil || rep.OrphansDeleted != 1 {
			t.Fatalf("orphan not deleted: %+v %v", rep, err)
		}
		if _, err := e.blobs.Stat(ctx, res.BlobKey); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("orphan still there: %v", err)
		}
	})
}

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		os.Exit(crashChild())
	}
	os.Exit(m.Run())
}

func ExampleDuplicatePolicy() {
	p, _ := ParseDuplicatePolicy("replace")
	fmt.Println(p)
	// Output: replace
}
