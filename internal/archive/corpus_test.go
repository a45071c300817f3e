package archive

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// corpusFile is one file of the shared corpus with its manifest notes.
type corpusFile struct {
	rel, notes string
}

func corpusFiles(t testing.TB) (string, []corpusFile) {
	dir := testenv.CorpusDir(t)
	f, err := os.Open(filepath.Join(dir, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var files []corpusFile
	col := map[string]int{}
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(col) == 0 {
			for i, c := range fields {
				col[c] = i
			}
			continue
		}
		files = append(files, corpusFile{rel: fields[col["path"]], notes: fields[col["notes"]]})
	}
	if len(files) < 200 {
		t.Fatalf("manifest lists %d files", len(files))
	}
	sort.Slice(files, func(i, j int) bool { return files[i].rel < files[j].rel })
	return dir, files
}

// TestCorpus stores the whole shared corpus from 4 concurrent writers and
// checks every outcome against testdata/corpus-outcomes.golden ("accepted"
// or "rejected REASON"; regenerate with -update, then review the diff) and
// against rules that hold whatever the golden file says: broken files are
// never stored silently, DICOMDIRs are not instances, files that readers
// accept are stored unless they lack an identifying UID, each SOP Instance
// UID is stored once, what is stored reads back byte for byte, and an
// index rebuilt from the blobs alone equals the original.
func TestCorpus(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		if raceEnabled && be.name != "sqlite" {
			// Too slow under the race detector; scripts/test.sh runs this
			// case without it, and the other tests cover PostgreSQL here.
			t.Log("the corpus runs on SQLite only under the race detector")
			return
		}
		e := newEnv(t, be, Options{})
		dir, files := corpusFiles(t)
		type outcome struct {
			data []byte
			res  Result
			err  error
		}
		outcomes := make([]outcome, len(files))
		jobs := make(chan int)
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range jobs {
					data, err := os.ReadFile(filepath.Join(dir, files[i].rel))
					if err != nil {
						t.Error(err)
						continue
					}
					res, err := e.store(t, data)
					outcomes[i] = outcome{data, res, err}
				}
			}()
		}
		for i := range files {
			jobs <- i
		}
		close(jobs)
		wg.Wait()

		var golden bytes.Buffer
		stored := map[string][32]byte{}   // SOP Instance UID -> digest of the stored version
		accepted := map[string][]string{} // SOP Instance UID -> files
		for i, cf := range files {
			res, err := outcomes[i].res, outcomes[i].err
			category := strings.SplitN(cf.rel, "/", 2)[0]
			readable := strings.Contains(cf.notes, "pydicom:ok") || strings.Contains(cf.notes, "dcmdump:ok")
			re, rejected := IsReject(err)
			switch {
			case err != nil && !rejected:
				t.Errorf("%s: Store failed: %v", cf.rel, err)
				continue
			case rejected:
				fmt.Fprintf(&golden, "%s\trejected %s\n", cf.rel, re.Reason)
				if re.Detail == "" {
					t.Errorf("%s: rejected without a reason", cf.rel)
				}
				if re.Reason == ReasonMalformed && re.Offset < 0 {
					t.Errorf("%s: parse error without an offset: %v", cf.rel, err)
				}
				switch {
				case category == "dicomdir":
					if re.Reason != ReasonNotStorable {
						t.Errorf("%s: DICOMDIR rejected as %s", cf.rel, re.Reason)
					}
				case category == "malformed":
				case readable && re.Reason != ReasonMissingAttribute && !strings.Contains(cf.rel, "deeply-nested"):
					t.Errorf("%s: readable file rejected: %v", cf.rel, err)
				}
			default:
				fmt.Fprintf(&golden, "%s\taccepted\n", cf.rel)
				if category == "dicomdir" {
					t.Errorf("%s: DICOMDIR stored", cf.rel)
				}
				if category == "malformed" && len(res.Warnings) == 0 {
					t.Errorf("%s: broken file accepted without a warning", cf.rel)
				}
				accepted[res.SOPInstanceUID] = append(accepted[res.SOPInstanceUID], cf.rel)
				if res.Outcome == OutcomeStored {
					if _, dup := stored[res.SOPInstanceUID]; dup {
						t.Errorf("%s: SOP Instance UID %s stored twice", cf.rel, res.SOPInstanceUID)
					}
					stored[res.SOPInstanceUID] = sha256.Sum256(outcomes[i].data)
				}
			}
		}
		checkGolden(t, "corpus-outcomes.golden", golden.Bytes())
		if len(stored) != len(accepted) {
			t.Errorf("%d SOP Instance UIDs accepted, %d stored", len(accepted), len(stored))
		}

		// Byte-exact retrieval of everything stored.
		for sop, sum := range stored {
			if got := sha256.Sum256(e.retrieved(t, sop)); got != sum {
				t.Errorf("%s: retrieved bytes differ from the file (%v)", sop, accepted[sop])
			}
		}
		rep := e.consistent(t)
		st, err := e.idx.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if rep.Rows != len(stored) || st.Instances != len(stored) {
			t.Errorf("index has %d rows (stats %d), %d instances stored", rep.Rows, st.Instances, len(stored))
		}
		t.Logf("%d files: %d instances stored, %d patients, %d studies, %d series", len(files), len(stored), st.Patients, st.Studies, st.Series)

		// Disaster recovery: a second index rebuilt from the blobs alone
		// equals the original at every level.
		rebuilt := be.open(t, t.TempDir())
		defer rebuilt.Close()
		rrep, err := Rebuild(context.Background(), e.blobs, rebuilt, RebuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rrep.Unreadable) != 0 || len(rrep.Superseded) != 0 || rrep.Indexed != len(stored) {
			t.Fatalf("rebuild: indexed %d, unreadable %v, superseded %v", rrep.Indexed, rrep.Unreadable, rrep.Superseded)
		}
		compareIndexes(t, e.idx, rebuilt)
	})
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		wantSet := map[string]bool{}
		for _, l := range wl {
			wantSet[l] = true
		}
		gotSet := map[string]bool{}
		for _, l := range gl {
			gotSet[l] = true
			if !wantSet[l] {
				t.Errorf("%s: unexpected: %s", name, l)
			}
		}
		for _, l := range wl {
			if !gotSet[l] {
				t.Errorf("%s: missing:    %s", name, l)
			}
		}
	}
}

// compareIndexes fails unless a and b hold the same entities at every
// level, apart from what the blobs cannot tell (ReceivedAt, CallingAE).
func compareIndexes(t *testing.T, a, b index.Index) {
	t.Helper()
	ctx := context.Background()
	sa, err := a.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := b.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sa, sb) {
		t.Errorf("stats differ:\noriginal %+v\nrebuilt  %+v", sa, sb)
	}
	for _, level := range []index.Level{index.PatientLevel, index.StudyLevel, index.SeriesLevel, index.InstanceLevel} {
		ra := findAll(t, a, level)
		rb := findAll(t, b, level)
		if len(ra) != len(rb) {
			t.Errorf("%v level: %d entities in the original, %d rebuilt", level, len(ra), len(rb))
			continue
		}
		for k, va := range ra {
			vb, ok := rb[k]
			if !ok {
				t.Errorf("%v %s missing from the rebuilt index", level, k)
				continue
			}
			if !reflect.DeepEqual(va, vb) {
				t.Errorf("%v %s differs:\noriginal %+v\nrebuilt  %+v", level, k, va, vb)
			}
		}
	}
	ca, _ := a.Conflicts(ctx)
	cb, _ := b.Conflicts(ctx)
	if len(ca) != len(cb) {
		t.Errorf("%d identity conflicts in the original, %d rebuilt", len(ca), len(cb))
	}
}

// findAll returns the entities of a level keyed by their identity, with the
// fields the blobs cannot restore cleared.
func findAll(t *testing.T, idx index.Index, level index.Level) map[string]index.InstanceRecord {
	t.Helper()
	recs, err := idx.Find(context.Background(), index.Query{Level: level, IncludeHeader: true})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]index.InstanceRecord{}
	for _, r := range recs {
		r.Instance.ReceivedAt = time.Time{}
		r.Instance.CallingAE = ""
		var k string
		switch level {
		case index.PatientLevel:
			k = r.Patient.PatientID + "|" + r.Patient.IssuerOfPatientID
			r.Header = nil // representative instance depends on arrival order
		case index.StudyLevel:
			k = r.Study.StudyInstanceUID
			r.Header = nil
		case index.SeriesLevel:
			k = r.Series.SeriesInstanceUID
			r.Header = nil
		default:
			k = r.Instance.SOPInstanceUID
		}
		out[k] = r
	}
	return out
}
