package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

func init() {
	register("fsck", Command{Summary: "check that index and blobs agree; --repair rebuilds the index from the blobs", Run: RunFsck})
}

// RunFsck implements `lightbox fsck`: it checks that every index row has
// its blob and every blob its row (with --verify, that every blob's SHA-256
// matches), and reports. --delete-orphans removes blobs without a row
// (left by an interrupted delete) and stale temporary files. --repair
// rebuilds the index from the blobs alone (disaster recovery): the SQLite
// index file is moved aside to index.db.bak-TIMESTAMP first; a PostgreSQL
// index is emptied. Exit code 0 when consistent (or repaired), 1 when
// problems remain, 2 on usage errors.
func RunFsck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("fsck", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var sf storeFlags
	sf.register(fl)
	verify := fl.Bool("verify", false, "read every blob and compare its SHA-256 with the index")
	deleteOrphans := fl.Bool("delete-orphans", false, "delete blobs no index row points to (older than an hour) and stale temporary files")
	repair := fl.Bool("repair", false, "rebuild the index from the blobs alone (instances whose delete was interrupted come back)")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "Usage: lightbox fsck [options]\n\n"+
			"Checks that every index row has its blob and every blob its row. --repair\n"+
			"rebuilds the index from the blobs alone (disaster recovery): stop the server\n"+
			"first. Instances whose delete was interrupted come back with --repair; when\n"+
			"the index is intact, --delete-orphans is the cleanup to use instead.\n\nOptions:")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() != 0 || *repair && *deleteOrphans {
		fl.Usage()
		return 2
	}
	if *repair {
		return runRepair(ctx, &sf, stdout, stderr)
	}
	st, err := sf.open(ctx, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "lightbox fsck:", err)
		return 1
	}
	defer st.Close()
	rep, err := archive.Check(ctx, st.blobs, st.idx, archive.CheckOptions{Verify: *verify, DeleteOrphans: *deleteOrphans})
	if err != nil {
		fmt.Fprintln(stderr, "lightbox fsck:", err)
		return 1
	}
	printCheck(stdout, rep)
	if *deleteOrphans {
		fmt.Fprintf(stdout, "deleted %d orphan blobs and %d stale temporary files\n", rep.OrphansDeleted, rep.TempRemoved)
	}
	if !rep.OK() {
		return 1
	}
	return 0
}

func printCheck(w io.Writer, rep archive.CheckReport) {
	fmt.Fprintf(w, "index: %d instances; blobs: %d (%s)\n", rep.Rows, rep.Blobs, fmtBytes(rep.Bytes))
	if rep.OK() {
		fmt.Fprintln(w, "ok: every index row has its blob and every blob its row")
		return
	}
	counts := map[archive.ProblemKind]int{}
	for _, p := range rep.Problems {
		counts[p.Kind]++
	}
	fmt.Fprintf(w, "%d problems:", len(rep.Problems))
	for _, k := range []archive.ProblemKind{archive.ProblemMissingBlob, archive.ProblemOrphanBlob, archive.ProblemSizeMismatch, archive.ProblemDigestMismatch} {
		if counts[k] > 0 {
			fmt.Fprintf(w, " %s %d", k, counts[k])
		}
	}
	fmt.Fprintln(w)
	for _, p := range rep.Problems {
		fmt.Fprintln(w, "  "+p.String())
	}
}

// runRepair rebuilds the index from the blobs.
func runRepair(ctx context.Context, sf *storeFlags, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintln(stderr, "lightbox fsck --repair:", err)
		return 1
	}
	if sf.index == "sqlite" {
		moved, err := moveAsideSQLite(sf.sqlitePath(), time.Now())
		if err != nil {
			return fail(err)
		}
		if moved != "" {
			fmt.Fprintf(stdout, "old index moved to %s\n", moved)
		}
	}
	st, err := sf.open(ctx, stderr)
	if err != nil {
		return fail(err)
	}
	defer st.Close()
	if sf.index != "sqlite" {
		n, err := emptyIndex(ctx, st.idx)
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "emptied the index (%d studies removed)\n", n)
	}
	start := time.Now()
	rep, err := archive.Rebuild(ctx, st.blobs, st.idx, archive.RebuildOptions{Logger: st.log, DeleteSuperseded: true, RemoveStaleTemp: true})
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(stdout, "rebuilt the index from %d blobs in %s: %d instances indexed\n", rep.Blobs, time.Since(start).Round(time.Millisecond), rep.Indexed)
	if len(rep.Superseded) > 0 {
		fmt.Fprintf(stdout, "deleted %d superseded blobs (older versions of replaced instances)\n", len(rep.Superseded))
	}
	if rep.TempRemoved > 0 {
		fmt.Fprintf(stdout, "removed %d stale temporary files\n", rep.TempRemoved)
	}
	for _, p := range rep.Unreadable {
		fmt.Fprintln(stdout, "  not indexed: "+p.String())
	}
	check, err := archive.Check(ctx, st.blobs, st.idx, archive.CheckOptions{})
	if err != nil {
		return fail(err)
	}
	printCheck(stdout, check)
	if len(rep.Unreadable) > 0 || !check.OK() {
		return 1
	}
	return 0
}

// moveAsideSQLite renames an SQLite database (and its -wal and -shm files)
// to path.bak-TIMESTAMP; it returns the new name, or "" when there was no
// database.
func moveAsideSQLite(path string, now time.Time) (string, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	bak := path + ".bak-" + now.UTC().Format("20060102T150405Z")
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Rename(path+suffix, bak+suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("move aside the old index: %w", err)
		}
	}
	return bak, nil
}

// emptyIndex deletes every study, and so every patient, series and
// instance, from idx (not the blobs). It returns the number of studies.
func emptyIndex(ctx context.Context, idx index.Index) (int, error) {
	n := 0
	for {
		studies, err := idx.Find(ctx, index.Query{Level: index.StudyLevel, Limit: 1000})
		if err != nil {
			return n, err
		}
		if len(studies) == 0 {
			break
		}
		deleted := 0
		for _, st := range studies {
			_, err := idx.DeleteStudy(ctx, st.Study.StudyInstanceUID)
			if err != nil && !errors.Is(err, index.ErrNotFound) {
				return n, err
			}
			if err == nil {
				deleted++
			}
		}
		if deleted == 0 {
			return n, errors.New("cannot empty the index: studies remain that cannot be deleted")
		}
		n += deleted
	}
	st, err := idx.Stats(ctx)
	if err != nil {
		return n, err
	}
	if st.Patients+st.Studies+st.Series+st.Instances != 0 {
		return n, fmt.Errorf("index not empty after deleting every study: %+v", st)
	}
	return n, nil
}
