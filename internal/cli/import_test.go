package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/index/sqlite"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// run runs a command in-process and returns its exit code and outputs.
func run(t *testing.T, fn func(context.Context, []string, *bytes.Buffer, *bytes.Buffer) int, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := fn(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func cmd(c func(context.Context, []string, io.Writer, io.Writer) int) func(context.Context, []string, *bytes.Buffer, *bytes.Buffer) int {
	return func(ctx context.Context, args []string, o, e *bytes.Buffer) int { return c(ctx, args, o, e) }
}

// summaryCount extracts "  label: N" from an import summary.
func summaryCount(t *testing.T, out, label string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^  ` + label + `:\s+(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q in summary:\n%s", label, out)
	}
	return m[1]
}

// indexFlags returns the --index/--pg flags of a backend; for PostgreSQL a
// fresh schema named in the DSN's search_path, dropped at the end.
func indexFlags(t *testing.T, backend string) []string {
	if backend == "sqlite" {
		return []string{"--index", "sqlite"}
	}
	dsn := testenv.PostgresDSN(t)
	var b [6]byte
	rand.Read(b[:])
	schema := "lbtest_cli_" + hex.EncodeToString(b[:])
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE SCHEMA " + pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Exec("DROP SCHEMA " + pgx.Identifier{schema}.Sanitize() + " CASCADE")
		db.Close()
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return []string{"--index", "postgres", "--pg", dsn + sep + "search_path=" + schema}
}

// TestImportFsckStats imports the whole corpus with the CLI (SQLite index),
// checks the summary, stats and fsck, then rebuilds the index with fsck
// --repair and checks it equals the original.
func TestImportFsckStats(t *testing.T) {
	data := t.TempDir()
	flags := []string{"--data", data, "--index", "sqlite"}
	corpus := testenv.CorpusDir(t)

	code, out, errs := run(t, cmd(RunImport), append(append([]string{}, flags...), "--workers", "4", corpus)...)
	if code != 1 { // the corpus holds broken files: rejections make the exit code 1
		t.Fatalf("import exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	if got := summaryCount(t, out, "accepted"); got != "195" {
		t.Errorf("accepted %s, want 195\n%s", got, out)
	}
	if got := summaryCount(t, out, "duplicates"); got != "36" {
		t.Errorf("duplicates %s, want 36", got)
	}
	// 45 broken or non-storable DICOM files, plus README.md and MANIFEST.tsv.
	if got := summaryCount(t, out, "rejected"); got != "47" {
		t.Errorf("rejected %s, want 47", got)
	}
	for _, want := range []string{
		"malformed/gen-empty-file.dcm: not-dicom: empty input",
		"malformed/upstream-mr-truncated-pixeldata.dcm: malformed: value length 8192 exceeds the 8130 bytes left",
		"dicomdir/pydicom-dicomdir.dcm: not-storable:",
		"edge-cases/elscint1-minimal.dcm: missing-attribute: missing or empty Study Instance UID",
		"MANIFEST.tsv: not-dicom:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q", want)
		}
	}

	code, out, errs = run(t, cmd(RunStats), flags...)
	if code != 0 || !regexp.MustCompile(`(?m)^\s*instances\s+195\s*$`).MatchString(out) || !strings.Contains(out, "CT") {
		t.Fatalf("stats exit %d:\n%s%s", code, out, errs)
	}
	code, out, errs = run(t, cmd(RunStats), append(append([]string{}, flags...), "--json")...)
	if code != 0 || !strings.Contains(out, `"Instances": 195`) {
		t.Fatalf("stats --json exit %d:\n%s%s", code, out, errs)
	}

	code, out, errs = run(t, cmd(RunFsck), append(append([]string{}, flags...), "--verify")...)
	if code != 0 || !strings.Contains(out, "index: 195 instances; blobs: 195") || !strings.Contains(out, "ok:") {
		t.Fatalf("fsck exit %d:\n%s%s", code, out, errs)
	}
	repairEqualsOriginal(t, data, flags, 195)
	if baks, _ := filepath.Glob(filepath.Join(data, "index.db.bak-*")); len(baks) == 0 {
		t.Error("the old SQLite index was not kept")
	}
}

// TestRepairPostgres imports part of the corpus into a PostgreSQL index and
// rebuilds it with fsck --repair (which empties the index first).
func TestRepairPostgres(t *testing.T) {
	data := t.TempDir()
	flags := append([]string{"--data", data}, indexFlags(t, "postgres")...)
	corpus := testenv.CorpusDir(t)
	code, out, errs := run(t, cmd(RunImport), append(append([]string{}, flags...), "--progress=false", filepath.Join(corpus, "series"), filepath.Join(corpus, "charset"))...)
	if code != 1 { // charset/ holds one file without a SOP Instance UID
		t.Fatalf("import exit %d:\n%s%s", code, out, errs)
	}
	n, _ := strconv.Atoi(summaryCount(t, out, "accepted"))
	if n < 40 {
		t.Fatalf("only %d accepted:\n%s", n, out)
	}
	repairEqualsOriginal(t, data, flags, n)
}

// repairEqualsOriginal runs fsck --repair and compares the index before and
// after.
func repairEqualsOriginal(t *testing.T, data string, flags []string, instances int) {
	t.Helper()
	before := snapshot(t, data, flags)
	code, out, errs := run(t, cmd(RunFsck), append(append([]string{}, flags...), "--repair")...)
	if code != 0 || !strings.Contains(out, fmt.Sprintf("%d instances indexed", instances)) {
		t.Fatalf("fsck --repair exit %d:\n%s%s", code, out, errs)
	}
	after := snapshot(t, data, flags)
	compareSnapshots(t, before, after)
}

// indexSnapshot is what the index answers, minus what the blobs cannot
// restore (ReceivedAt, CallingAE).
type indexSnapshot struct {
	stats  index.Stats
	levels map[index.Level]map[string]index.InstanceRecord
}

func snapshot(t *testing.T, data string, flags []string) indexSnapshot {
	t.Helper()
	var sf storeFlags
	fl := flag.NewFlagSet("snapshot", flag.ContinueOnError)
	sf.register(fl)
	if err := fl.Parse(flags); err != nil {
		t.Fatal(err)
	}
	st, err := sf.open(context.Background(), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	snap := indexSnapshot{levels: map[index.Level]map[string]index.InstanceRecord{}}
	if snap.stats, err = st.idx.Stats(ctx); err != nil {
		t.Fatal(err)
	}
	for _, lvl := range []index.Level{index.PatientLevel, index.StudyLevel, index.SeriesLevel, index.InstanceLevel} {
		recs, err := st.idx.Find(ctx, index.Query{Level: lvl, IncludeHeader: true})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]index.InstanceRecord{}
		for _, r := range recs {
			r.Instance.ReceivedAt, r.Instance.CallingAE = time.Time{}, ""
			k := r.Patient.PatientID + "|" + r.Patient.IssuerOfPatientID + "|" + r.Study.StudyInstanceUID + "|" + r.Series.SeriesInstanceUID + "|" + r.Instance.SOPInstanceUID
			m[k] = r
		}
		snap.levels[lvl] = m
	}
	return snap
}

func compareSnapshots(t *testing.T, a, b indexSnapshot) {
	t.Helper()
	if !reflect.DeepEqual(a.stats, b.stats) {
		t.Errorf("stats differ:\noriginal %+v\nrebuilt  %+v", a.stats, b.stats)
	}
	for lvl, ra := range a.levels {
		rb := b.levels[lvl]
		if len(ra) != len(rb) {
			t.Errorf("%v: %d entities originally, %d rebuilt", lvl, len(ra), len(rb))
		}
		for k, va := range ra {
			if vb, ok := rb[k]; !ok {
				t.Errorf("%v %s missing after rebuild", lvl, k)
			} else if !reflect.DeepEqual(va, vb) {
				t.Errorf("%v %s differs after rebuild", lvl, k)
			}
		}
	}
}

// TestImportDICOMDIR imports DICOM media by naming its DICOMDIR: the
// DICOMDIR itself is skipped (and said so), the files under its folder are
// imported.
func TestImportDICOMDIR(t *testing.T) {
	corpus := testenv.CorpusDir(t)
	media := t.TempDir()
	copyFile(t, filepath.Join(corpus, "dicomdir/pydicom-dicomdir.dcm"), filepath.Join(media, "DICOMDIR"))
	for i, f := range []string{"charset/clunie-scs-utf8.dcm", "ct/ct-693-bitsstored-mismatch.dcm", "mr/toshiba-mr-small-evrle.dcm"} {
		copyFile(t, filepath.Join(corpus, f), filepath.Join(media, "DICOM", "ST0", "IM"+string(rune('0'+i))))
	}
	os.WriteFile(filepath.Join(media, "README.TXT"), []byte("Patient CD\n"), 0o644)
	data := t.TempDir()
	code, out, errs := run(t, cmd(RunImport), "--data", data, "--progress=false", filepath.Join(media, "DICOMDIR"))
	if code != 1 { // README.TXT is rejected as not DICOM
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	if got := summaryCount(t, out, "accepted"); got != "3" {
		t.Errorf("accepted %s, want 3:\n%s", got, out)
	}
	if !strings.Contains(out, "DICOMDIR: DICOMDIR media directory; the files under its folder are imported instead") {
		t.Errorf("no note about the skipped DICOMDIR:\n%s", out)
	}
	if !strings.Contains(out, "README.TXT: not-dicom") {
		t.Errorf("README.TXT not reported:\n%s", out)
	}
	// Importing again: everything is an identical duplicate.
	code, out, _ = run(t, cmd(RunImport), "--data", data, "--progress=false", filepath.Join(media, "DICOM"))
	if code != 0 || summaryCount(t, out, "duplicates") != "3" || summaryCount(t, out, "accepted") != "0" {
		t.Fatalf("re-import exit %d:\n%s", code, out)
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestImportAck(t *testing.T) {
	corpus := testenv.CorpusDir(t)
	data := t.TempDir()
	code, out, errs := run(t, cmd(RunImport), "--data", data, "--ack", "--progress=false", filepath.Join(corpus, "mr"))
	if code != 1 { // mr/ holds one file without a Study Instance UID
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	if strings.Contains(out, "accepted") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	uids := strings.Fields(out)
	idx, err := sqlite.Open(context.Background(), filepath.Join(data, "index.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	for _, u := range uids {
		if _, err := idx.Instance(context.Background(), u); err != nil {
			t.Errorf("acknowledged %s not indexed: %v", u, err)
		}
	}
	if len(uids) == 0 {
		t.Fatal("nothing acknowledged")
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		fn   func(context.Context, []string, *bytes.Buffer, *bytes.Buffer) int
		args []string
	}{
		{"import without paths", cmd(RunImport), nil},
		{"import bad policy", cmd(RunImport), []string{"--duplicates", "sometimes", "x"}},
		{"fsck repair and delete-orphans", cmd(RunFsck), []string{"--repair", "--delete-orphans"}},
		{"stats extra argument", cmd(RunStats), []string{"extra"}},
		{"unknown flag", cmd(RunStats), []string{"--nope"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, _ := run(t, tc.fn, tc.args...); code != 2 {
				t.Fatalf("exit %d, want 2", code)
			}
		})
	}
	if code, _, errs := run(t, cmd(RunStats), "--data", t.TempDir(), "--index", "mysql"); code != 1 || !strings.Contains(errs, "unknown backend") {
		t.Fatalf("unknown backend: exit %d %s", code, errs)
	}
}

func TestProgressLine(t *testing.T) {
	var s importStats
	s.files.Store(10)
	s.bytes.Store(50 << 20)
	s.stored.Store(8)
	s.identical.Store(1)
	s.rejected.Store(1)
	line := progressLine(&s, 20, 100<<20, time.Now().Add(-10*time.Second))
	for _, want := range []string{"10/20 files", "50.0 MB/100.0 MB", "5.0 MB/s", "ETA 10s", "stored 8", "duplicates 1", "rejected 1"} {
		if !strings.Contains(line, want) {
			t.Errorf("progress line %q lacks %q", line, want)
		}
	}
	// Not a terminal: plain lines, never a carriage return.
	var buf bytes.Buffer
	stop := startProgress(&buf, &s, 20, 100<<20, time.Now())
	stop()
	if strings.Contains(buf.String(), "\r") {
		t.Errorf("carriage return written to a non-terminal: %q", buf.String())
	}
}
