package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/lightbox-pacs/lightbox/internal/archive"
	blobfs "github.com/lightbox-pacs/lightbox/internal/blob/fs"
	"github.com/lightbox-pacs/lightbox/internal/config"
	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/server"
)

func init() {
	register("import", Command{Summary: "import DICOM files and folders (DICOMDIR media too) into the archive", Run: RunImport})
}

// importFile is one input file found by the walk.
type importFile struct {
	path string
	size int64
}

// importOutcome is what happened to one file.
type importOutcome struct {
	path   string
	res    archive.Result
	err    error
	reject *archive.RejectError
}

// importStats counts progress; updated atomically by the workers.
type importStats struct {
	files, bytes                           atomic.Int64
	stored, identical, keptFirst, replaced atomic.Int64
	rejected, failed                       atomic.Int64
}

// RunImport implements `lightbox import PATH...`: it stores every file
// under the paths (folders recursively) through the archive, in parallel,
// showing progress on stderr, and prints a summary on stdout. A DICOMDIR
// file is not imported itself: the walk of its folder finds the files it
// references (and any others). Exit code 0 when every file was stored or
// was a duplicate, 1 when some were rejected or failed, 2 on usage errors.
func RunImport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	stderr = &syncWriter{w: stderr} // shared by the logger and the progress line
	fl := flag.NewFlagSet("import", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var sf storeFlags
	sf.register(fl)
	workers := fl.Int("workers", 8, "files imported in parallel (more workers share more fsyncs)")
	dups := fl.String("duplicates", "keep-first", "policy for a known SOP Instance UID with new content: keep-first, replace or reject")
	ack := fl.Bool("ack", false, "print the SOP Instance UID of each stored instance on stdout as soon as it is durable (the summary goes to stderr)")
	verbose := fl.Bool("v", false, "list every file with its outcome")
	progress := fl.Bool("progress", true, "show progress on stderr")
	compress := fl.String("compress-at-rest", "off", "compress native images losslessly as they are stored: off, jpeg-ls, jpeg2000 or rle (as serve's storage.compress_at_rest)")
	keep := fl.Bool("keep-original", false, "with -compress-at-rest, also keep the received bytes")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "Usage: lightbox import [options] PATH...\n\nImports files and folders (recursively; DICOM media with a DICOMDIR too).\n\nOptions:")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() == 0 {
		fl.Usage()
		return 2
	}
	policy, err := archive.ParseDuplicatePolicy(*dups)
	if err != nil {
		fmt.Fprintln(stderr, "lightbox import:", err)
		return 2
	}
	if *workers < 1 {
		*workers = 1
	}
	atRest := config.Storage{CompressAtRest: *compress, KeepOriginal: *keep}
	cfgCheck := config.Default()
	cfgCheck.Storage.CompressAtRest, cfgCheck.Storage.KeepOriginal = atRest.CompressAtRest, atRest.KeepOriginal
	if err := cfgCheck.Validate(); err != nil {
		fmt.Fprintln(stderr, "lightbox import:", err)
		return 2
	}

	files, skipped, err := collectFiles(fl.Args())
	if err != nil {
		fmt.Fprintln(stderr, "lightbox import:", err)
		return 1
	}
	var total int64
	for _, f := range files {
		total += f.size
	}

	st, err := sf.open(ctx, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "lightbox import:", err)
		return 1
	}
	defer st.Close()
	a := archive.New(st.blobs, st.idx, archive.Options{Logger: st.log, Duplicates: policy,
		Compress: archive.CompressOptions{TransferSyntax: atRest.CompressSyntax(), KeepOriginal: atRest.KeepOriginal}})
	defer a.Close()

	var stats importStats
	start := time.Now()
	stopProgress := func() {}
	if *progress {
		stopProgress = startProgress(stderr, &stats, len(files), total, start)
	}

	var mu sync.Mutex // guards stdout and outcomes
	var outcomes []importOutcome
	jobs := make(chan importFile)
	var wg sync.WaitGroup
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range jobs {
				o := importOne(ctx, a, f)
				stats.files.Add(1)
				stats.bytes.Add(f.size)
				count(&stats, o)
				mu.Lock()
				outcomes = append(outcomes, o)
				if *ack && o.err == nil && o.res.Outcome == archive.OutcomeStored {
					fmt.Fprintln(stdout, o.res.SOPInstanceUID)
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, f := range files {
		select {
		case jobs <- f:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	stopProgress()

	sort.Slice(outcomes, func(i, j int) bool { return outcomes[i].path < outcomes[j].path })
	summary := stdout
	if *ack {
		summary = stderr // stdout carries only the acknowledged UIDs
	}
	printImportSummary(summary, &stats, outcomes, skipped, time.Since(start), *verbose)
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "lightbox import: interrupted:", ctx.Err())
	}
	return exitCode(&stats, ctx)
}

func exitCode(stats *importStats, ctx context.Context) int {
	if stats.rejected.Load() > 0 || stats.failed.Load() > 0 || ctx.Err() != nil {
		return 1
	}
	return 0
}

func importOne(ctx context.Context, a *archive.Archive, f importFile) importOutcome {
	o := importOutcome{path: f.path}
	fh, err := os.Open(f.path)
	if err != nil {
		o.err = err
		return o
	}
	defer fh.Close()
	o.res, o.err = a.Store(ctx, fh, archive.IngestMeta{Size: f.size, Source: f.path})
	if re, ok := archive.IsReject(o.err); ok {
		o.reject = re
	}
	return o
}

func count(s *importStats, o importOutcome) {
	switch {
	case o.reject != nil:
		s.rejected.Add(1)
	case o.err != nil:
		s.failed.Add(1)
	case o.res.Outcome == archive.OutcomeStored:
		s.stored.Add(1)
	case o.res.Outcome == archive.OutcomeIdentical:
		s.identical.Add(1)
	case o.res.Outcome == archive.OutcomeKeptFirst:
		s.keptFirst.Add(1)
	case o.res.Outcome == archive.OutcomeReplaced:
		s.replaced.Add(1)
	}
}

// collectFiles expands the paths into the regular files to import, sorted
// per argument. DICOMDIR files are skipped and returned separately: their
// folder walk reaches the referenced files.
func collectFiles(paths []string) (files []importFile, skipped []string, err error) {
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, nil, err
		}
		if !info.IsDir() {
			if isDICOMDIR(p) {
				// Import the media the DICOMDIR describes: its folder.
				skipped = append(skipped, p)
				sub, s2, err := collectFiles([]string{filepath.Dir(p)})
				if err != nil {
					return nil, nil, err
				}
				files = append(files, sub...)
				skipped = append(skipped, s2...)
				continue
			}
			files = append(files, importFile{p, info.Size()})
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if path != p && strings.HasPrefix(d.Name(), ".") {
					return filepath.SkipDir
				}
				return nil
			}
			if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), ".") {
				return nil
			}
			if isDICOMDIR(path) {
				skipped = append(skipped, path)
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			files = append(files, importFile{path, info.Size()})
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	// The same file given twice (a DICOMDIR and its folder) is imported once.
	seen := map[string]bool{}
	out := files[:0]
	for _, f := range files {
		if abs, err := filepath.Abs(f.path); err == nil && !seen[abs] {
			seen[abs] = true
			out = append(out, f)
		}
	}
	return out, skipped, nil
}

func isDICOMDIR(path string) bool {
	return strings.EqualFold(filepath.Base(path), "DICOMDIR")
}

// startProgress draws a progress line on w until the returned function is
// called: redrawn in place with \r on a terminal, one line every 5 s
// otherwise.
func startProgress(w io.Writer, s *importStats, nfiles int, total int64, start time.Time) func() {
	tty := false
	f, ok := w.(*os.File)
	if sw, wrapped := w.(*syncWriter); wrapped {
		f, ok = sw.w.(*os.File)
	}
	if ok {
		tty = isatty.IsTerminal(f.Fd())
	}
	every := 5 * time.Second
	if tty {
		every = 200 * time.Millisecond
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				if tty {
					fmt.Fprintf(w, "\r%s\n", progressLine(s, nfiles, total, start))
				}
				return
			case <-t.C:
				if tty {
					fmt.Fprintf(w, "\r%s\x1b[K", progressLine(s, nfiles, total, start))
				} else {
					fmt.Fprintln(w, progressLine(s, nfiles, total, start))
				}
			}
		}
	}()
	return func() { close(done); <-stopped }
}

func progressLine(s *importStats, nfiles int, total int64, start time.Time) string {
	n, b := s.files.Load(), s.bytes.Load()
	el := time.Since(start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(b) / el
	}
	eta := "-"
	if rate > 0 && b < total {
		eta = time.Duration(float64(total-b) / rate * float64(time.Second)).Round(time.Second).String()
	} else if b >= total {
		eta = "0s"
	}
	return fmt.Sprintf("import: %d/%d files, %s/%s, %s/s, ETA %s (stored %d, duplicates %d, rejected %d)",
		n, nfiles, fmtBytes(b), fmtBytes(total), fmtBytes(int64(rate)), eta,
		s.stored.Load(), s.identical.Load()+s.keptFirst.Load()+s.replaced.Load(), s.rejected.Load()+s.failed.Load())
}

func printImportSummary(w io.Writer, s *importStats, outcomes []importOutcome, skipped []string, el time.Duration, verbose bool) {
	var bytes int64
	for _, o := range outcomes {
		bytes += o.res.Received
	}
	dups := s.identical.Load() + s.keptFirst.Load() + s.replaced.Load()
	fmt.Fprintf(w, "imported %d files in %s (%s/s)\n", s.files.Load(), el.Round(time.Millisecond),
		fmtBytes(int64(float64(s.bytes.Load())/max(el.Seconds(), 1e-9))))
	fmt.Fprintf(w, "  accepted:   %d\n", s.stored.Load())
	fmt.Fprintf(w, "  duplicates: %d (identical %d, kept first %d, replaced %d)\n", dups, s.identical.Load(), s.keptFirst.Load(), s.replaced.Load())
	fmt.Fprintf(w, "  rejected:   %d\n", s.rejected.Load())
	if f := s.failed.Load(); f > 0 {
		fmt.Fprintf(w, "  failed:     %d\n", f)
	}
	conflicts := 0
	for _, o := range outcomes {
		if o.err == nil && len(o.res.Conflicts) > 0 {
			conflicts++
		}
	}
	if conflicts > 0 {
		fmt.Fprintf(w, "  %d instances raised identity conflicts (stored regardless; -v lists them)\n", conflicts)
	}
	for _, p := range skipped {
		fmt.Fprintf(w, "  skipped %s: DICOMDIR media directory; the files under its folder are imported instead\n", p)
	}
	var rej, fail []string
	for _, o := range outcomes {
		switch {
		case o.reject != nil:
			rej = append(rej, fmt.Sprintf("  %s: %s: %s", o.path, o.reject.Reason, rejectDetail(o.reject)))
		case o.err != nil:
			fail = append(fail, fmt.Sprintf("  %s: %v", o.path, o.err))
		case verbose:
			fmt.Fprintf(w, "  %s: %s %s\n", o.path, o.res.Outcome, o.res.SOPInstanceUID)
		}
		if verbose && o.err == nil {
			for _, c := range o.res.Conflicts {
				fmt.Fprintf(w, "    identity conflict (%s): %s stored %q, received %q\n", c.Kind, c.Attribute, c.Existing, c.Incoming)
			}
		}
	}
	if len(rej) > 0 {
		fmt.Fprintln(w, "rejected files:")
		fmt.Fprintln(w, strings.Join(rej, "\n"))
	}
	if len(fail) > 0 {
		fmt.Fprintln(w, "failed files:")
		fmt.Fprintln(w, strings.Join(fail, "\n"))
	}
}

// rejectDetail is the reason text without the error prefixes.
func rejectDetail(re *archive.RejectError) string {
	return strings.TrimPrefix(re.Detail, "dicom: ")
}

func fmtBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// storeFlags are the options import, fsck and stats share: where the
// archive's blobs and index are.
type storeFlags struct {
	data, index, pg, logLevel string
}

func (sf *storeFlags) register(fl *flag.FlagSet) {
	fl.StringVar(&sf.data, "data", "./lightbox-data", "data directory (blobs/, and index.db with the SQLite index)")
	fl.StringVar(&sf.index, "index", "sqlite", "index backend: sqlite or postgres")
	fl.StringVar(&sf.pg, "pg", "", "PostgreSQL DSN with --index postgres (e.g. postgres://user@host/db)")
	fl.StringVar(&sf.logLevel, "log-level", "warn", "log level on stderr: debug, info, warn, error")
}

// stores are the opened blob store and index.
type stores struct {
	blobs *blobfs.Store
	idx   index.Index
	log   *slog.Logger
	// indexPath is the SQLite file, "" for PostgreSQL.
	indexPath string
}

func (s *stores) Close() error {
	var err error
	if s.idx != nil {
		err = s.idx.Close()
	}
	if s.blobs != nil {
		s.blobs.Close()
	}
	return err
}

func (sf *storeFlags) logger(stderr io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(sf.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl})), nil
}

// open opens the blob store and the index named by the flags.
func (sf *storeFlags) open(ctx context.Context, stderr io.Writer) (*stores, error) {
	log, err := sf.logger(stderr)
	if err != nil {
		return nil, err
	}
	cfg := sf.config()
	st := &stores{log: log}
	st.blobs, err = blobfs.Open(cfg.BlobDir(), blobfs.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	if sf.index == "postgres" && sf.pg == "" {
		st.Close()
		return nil, errors.New("--index postgres needs --pg DSN")
	}
	st.idx, err = server.OpenIndex(ctx, &cfg, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	if sf.index == "sqlite" {
		st.indexPath = cfg.IndexPath()
	}
	return st, nil
}

// config returns the storage part of the server configuration the flags
// name, so the commands and the server agree on the data directory layout.
func (sf *storeFlags) config() config.Config {
	cfg := config.Default()
	cfg.DataDir = sf.data
	cfg.Index = config.Index{Backend: sf.index, DSN: sf.pg}
	return cfg
}

// sqlitePath is the SQLite index file in the data directory.
func (sf *storeFlags) sqlitePath() string {
	cfg := sf.config()
	return cfg.IndexPath()
}

// syncWriter serialises writes from several goroutines to one writer.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
