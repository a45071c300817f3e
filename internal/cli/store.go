package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/mattn/go-isatty"
)

func init() {
	register("store", Command{Summary: "send DICOM files to a peer with C-STORE (like storescu)", Run: runStore})
}

// storeItem is one file to send and, once sent, its outcome.
type storeItem struct {
	path string
	size int64
	inst dimse.Instance
	res  dimse.StoreResult
	err  error // why the file was not stored (nil with a success or warning status)
	sent bool
}

// storeStats counts progress; updated atomically by the workers.
type storeStats struct {
	done, bytes, ok, warned, failed atomic.Int64
}

func runStore(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("store", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var df dimseFlags
	df.register(fs)
	jobs := fs.Int("j", 1, "parallel associations")
	progress := fs.Bool("progress", true, "show progress on stderr")
	quiet := fs.Bool("q", false, "print only failures and the summary's first line")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: lightbox store [options] HOST PORT FILE|DIR...\n\n"+
			"Sends the DICOM files (directories are walked) with C-STORE, many files per\n"+
			"association, -j associations in parallel. Each file goes in its own transfer\n"+
			"syntax, or converted between the uncompressed ones when the peer does not take it.\n\nOptions:")
		fs.PrintDefaults()
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return 2
	}
	addr, paths, err := peerAddr(pos)
	if err == nil && len(paths) == 0 {
		err = errors.New("no file or directory to send")
	}
	if err == nil && (*jobs < 1 || *jobs > 64) {
		err = fmt.Errorf("-j %d: from 1 to 64", *jobs)
	}
	if err != nil {
		return exitUsage(fs, stderr, err)
	}
	cfg, err := df.clientConfig(stderr)
	if err != nil {
		return exitUsage(fs, stderr, err)
	}
	files, skipped, err := collectFiles(paths)
	if err != nil {
		fmt.Fprintf(stderr, "lightbox store: %v\n", err)
		return 1
	}
	for _, p := range skipped {
		fmt.Fprintf(stderr, "lightbox store: skipping %s: DICOMDIR media directory\n", p)
	}
	start := time.Now()
	items := probeFiles(ctx, files)
	var sendable []*storeItem
	var total int64
	for _, it := range items {
		if it.err == nil {
			sendable = append(sendable, it)
			total += it.size
		}
	}
	st := &storeStats{}
	stop := func() {}
	if *progress && !*quiet {
		stop = startStoreProgress(stderr, st, len(sendable), total, start)
	}
	sendAll(ctx, addr, cfg, &df, sendable, *jobs, st, stdout)
	stop()
	return printStoreSummary(stdout, stderr, items, st, addr, cfg.CalledAE, *jobs, time.Since(start), df.verbose, *quiet, ctx.Err())
}

// probeFiles reads the headers of every file, in parallel.
func probeFiles(ctx context.Context, files []importFile) []*storeItem {
	items := make([]*storeItem, len(files))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(files) {
					return
				}
				it := &storeItem{path: files[i].path, size: files[i].size}
				if err := ctx.Err(); err != nil {
					it.err = err
				} else {
					it.inst, it.err = dimse.InstanceFromFile(it.path)
				}
				items[i] = it
			}
		}()
	}
	wg.Wait()
	return items
}

// sendAll stores the items over jobs parallel associations. Items are
// grouped so that each group's presentation contexts fit one association;
// the workers of a group share its queue.
func sendAll(ctx context.Context, addr string, cfg dimse.ClientConfig, df *dimseFlags, items []*storeItem, jobs int, st *storeStats, stdout io.Writer) {
	insts := make([]dimse.Instance, len(items))
	for i, it := range items {
		insts[i] = it.inst
	}
	// ChunkInstances keeps order; map the chunks back to items by position.
	pos := 0
	var verboseMu sync.Mutex
	for _, chunk := range dimse.ChunkInstances(insts) {
		group := items[pos : pos+len(chunk)]
		pos += len(chunk)
		ccfg := cfg
		ccfg.Contexts = append(dimse.VerificationContexts(), dimse.ContextsFor(chunk)...)
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < min(jobs, len(group)); w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				storeWorker(ctx, addr, ccfg, df, group, &next, st, stdout, &verboseMu)
			}()
		}
		wg.Wait()
	}
}

// storeWorker associates and sends items from the shared queue; when the
// association breaks it associates again, giving up after three failed
// attempts in a row.
func storeWorker(ctx context.Context, addr string, cfg dimse.ClientConfig, df *dimseFlags, group []*storeItem,
	next *atomic.Int64, st *storeStats, stdout io.Writer, verboseMu *sync.Mutex) {
	var c *dimse.Client
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	dialFailures := 0
	var lastDialErr error
	for {
		i := int(next.Add(1) - 1)
		if i >= len(group) {
			return
		}
		it := group[i]
		if ctx.Err() != nil {
			it.err = ctx.Err()
			st.failed.Add(1)
			st.done.Add(1)
			continue
		}
		for c == nil && dialFailures < 3 {
			dctx, cancel := context.WithTimeout(ctx, df.connectTimeout)
			var err error
			c, err = dimse.Dial(dctx, addr, cfg)
			cancel()
			if err != nil {
				c, lastDialErr = nil, err
				dialFailures++
				continue
			}
			dialFailures = 0
			if df.verbose {
				verboseMu.Lock()
				describeAssociation(stdout, c)
				verboseMu.Unlock()
			}
		}
		if c == nil {
			it.err = lastDialErr
			st.failed.Add(1)
			st.done.Add(1)
			continue
		}
		it.res, it.err = c.StoreInstance(ctx, it.inst)
		it.sent = !errors.Is(it.err, dimse.ErrNoContext)
		switch {
		case it.err != nil:
			st.failed.Add(1)
		case it.res.Status.IsWarning():
			st.warned.Add(1)
			st.ok.Add(1)
		default:
			st.ok.Add(1)
		}
		st.bytes.Add(it.size)
		st.done.Add(1)
		if c.Association().Err() != nil {
			c = nil // broken: associate again for the next file
		}
	}
}

func asStatus(err error) *dimse.StatusError {
	var se *dimse.StatusError
	if errors.As(err, &se) {
		return se
	}
	return nil
}

// startStoreProgress draws a progress bar on w until the returned function
// is called: redrawn in place on a terminal, one line every 5 s otherwise.
func startStoreProgress(w io.Writer, st *storeStats, nfiles int, total int64, start time.Time) func() {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = isatty.IsTerminal(f.Fd())
	}
	every := 5 * time.Second
	if tty {
		every = 150 * time.Millisecond
	}
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				if tty {
					fmt.Fprintf(w, "\r%s\x1b[K\n", storeProgressLine(st, nfiles, total, start, tty))
				}
				return
			case <-t.C:
				if tty {
					fmt.Fprintf(w, "\r%s\x1b[K", storeProgressLine(st, nfiles, total, start, tty))
				} else {
					fmt.Fprintln(w, storeProgressLine(st, nfiles, total, start, tty))
				}
			}
		}
	}()
	return func() { close(done); <-stopped }
}

func storeProgressLine(st *storeStats, nfiles int, total int64, start time.Time, bar bool) string {
	n, b := st.done.Load(), st.bytes.Load()
	el := time.Since(start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(n) / el
	}
	var sb strings.Builder
	if bar {
		const width = 24
		filled := 0
		if total > 0 {
			filled = int(float64(b) / float64(total) * width)
		} else if nfiles > 0 {
			filled = int(n) * width / nfiles
		}
		filled = min(filled, width)
		sb.WriteString("[" + strings.Repeat("=", filled) + strings.Repeat(" ", width-filled) + "] ")
	}
	fmt.Fprintf(&sb, "%d/%d files, %s/%s, %.0f files/s", n, nfiles, fmtBytes(b), fmtBytes(total), rate)
	if f := st.failed.Load(); f > 0 {
		fmt.Fprintf(&sb, ", %d failed", f)
	}
	return sb.String()
}

// printStoreSummary reports the outcome and returns the exit code: 0 when
// every file was stored (warnings included), 1 otherwise.
func printStoreSummary(stdout, stderr io.Writer, items []*storeItem, st *storeStats, addr, called string, jobs int,
	el time.Duration, verbose, quiet bool, ctxErr error) int {
	var bytes int64
	var notSent, failed, warned []*storeItem
	for _, it := range items {
		switch {
		case it.err != nil && !it.sent:
			notSent = append(notSent, it)
		case it.err != nil:
			failed = append(failed, it)
		default:
			bytes += it.size
			if it.res.Status.IsWarning() {
				warned = append(warned, it)
			}
		}
	}
	stored := int(st.ok.Load())
	secs := max(el.Seconds(), 1e-9)
	fmt.Fprintf(stdout, "stored %d of %d files (%s) on %s at %s in %s: %.1f files/s, %s/s, %d association(s)\n",
		stored, len(items), fmtBytes(bytes), called, addr, el.Round(time.Millisecond), float64(stored)/secs,
		fmtBytes(int64(float64(bytes)/secs)), jobs)
	if !quiet {
		fmt.Fprintf(stdout, "  success: %d, warning: %d, failed: %d, not sent: %d\n", stored-len(warned), len(warned), len(failed), len(notSent))
	}
	if verbose {
		fmt.Fprintln(stdout, "stored:")
		for _, it := range items {
			if it.err == nil {
				fmt.Fprintf(stdout, "  %s: %s, %s in %s\n", it.path, it.res.Status, it.res.SOPInstanceUID, uidName(it.res.TransferSyntax))
			}
		}
	}
	sortItems := func(s []*storeItem) { sort.Slice(s, func(i, j int) bool { return s[i].path < s[j].path }) }
	if len(warned) > 0 && !quiet {
		sortItems(warned)
		fmt.Fprintln(stdout, "stored with warnings:")
		for _, it := range warned {
			fmt.Fprintf(stdout, "  %s: %s\n", it.path, statusText(it.res.Status, it.res.ErrorComment))
		}
	}
	if len(failed) > 0 {
		sortItems(failed)
		fmt.Fprintln(stdout, "refused or failed:")
		for _, it := range failed {
			if se := asStatus(it.err); se != nil {
				fmt.Fprintf(stdout, "  %s: %s\n", it.path, statusText(se.Status, se.Comment))
			} else {
				fmt.Fprintf(stdout, "  %s: %v\n", it.path, it.err)
			}
		}
	}
	if len(notSent) > 0 {
		sortItems(notSent)
		fmt.Fprintln(stdout, "not sent:")
		for _, it := range notSent {
			fmt.Fprintf(stdout, "  %s: %v\n", it.path, strings.TrimPrefix(it.err.Error(), "dimse: "))
		}
	}
	if ctxErr != nil {
		fmt.Fprintf(stderr, "lightbox store: interrupted: %v\n", ctxErr)
	}
	if len(failed)+len(notSent) > 0 || ctxErr != nil {
		return 1
	}
	return 0
}
