package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
)

func init() {
	register("bench", Command{Summary: "measure Lightbox on this machine (bench parse PATH...)", Run: runBench})
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "parse" {
		fmt.Fprintln(stderr, "Usage: lightbox bench parse [-rounds N] PATH...")
		return 2
	}
	fs := flag.NewFlagSet("bench parse", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rounds := fs.Int("rounds", 5, "times to read the whole set (the best round is reported)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	files, bytes, err := benchFiles(fs.Args())
	if err != nil {
		fmt.Fprintln(stderr, "lightbox bench:", err)
		return 1
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "lightbox bench: no files")
		return 2
	}
	best := time.Duration(1<<63 - 1)
	var allocs, allocBytes uint64
	var failed int
	for r := 0; r < *rounds && ctx.Err() == nil; r++ {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		failed = 0
		for _, f := range files {
			if _, err := dicom.ReadFile(f, dicom.ReadOptions{}); err != nil {
				failed++
			}
		}
		el := time.Since(start)
		runtime.ReadMemStats(&after)
		if el < best {
			best = el
			allocs = after.Mallocs - before.Mallocs
			allocBytes = after.TotalAlloc - before.TotalAlloc
		}
	}
	n := float64(len(files))
	fmt.Fprintf(stdout, "files=%d bytes=%d refused=%d best_of=%d\n", len(files), bytes, failed, *rounds)
	fmt.Fprintf(stdout, "time=%.1fms files_per_s=%.0f MB_per_s=%.0f us_per_file=%.1f allocs_per_file=%.0f bytes_alloc_per_file=%.0f peak_rss_MB=%.1f\n",
		best.Seconds()*1000, n/best.Seconds(), float64(bytes)/1e6/best.Seconds(), best.Seconds()*1e6/n,
		float64(allocs)/n, float64(allocBytes)/n, peakRSSMB())
	return 0
}

func benchFiles(paths []string) ([]string, int64, error) {
	var files []string
	var total int64
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || strings.HasSuffix(path, ".tsv") || strings.HasSuffix(path, ".md") {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			files = append(files, path)
			total += info.Size()
			return nil
		})
		if err != nil {
			return nil, 0, err
		}
	}
	return files, total, nil
}

// peakRSSMB reads the process's peak resident set size (Linux VmHWM).
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			var kb float64
			fmt.Sscan(strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:")), &kb)
			return kb / 1024
		}
	}
	return 0
}
