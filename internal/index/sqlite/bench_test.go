package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/index/indextest"
)

// Query benchmarks run against a synthetic index built once per process:
//
//	LIGHTBOX_BENCH_INSTANCES=1000000 go test -run '^$' -bench Query ./internal/index/sqlite/
//
// LIGHTBOX_BENCH_INSTANCES sets its size (default 100000). The index is
// built in a temporary directory and removed afterwards, unless
// LIGHTBOX_BENCH_DIR names a directory, where it is kept and reused by
// later runs (building 1M instances takes minutes).

var (
	benchMu    sync.Mutex
	benchBuilt = map[int]*Index{}
	benchTemp  []string
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		runKillChild(spec) // never returns: the parent kills it
		os.Exit(0)
	}
	code := m.Run()
	for _, ix := range benchBuilt {
		ix.Close()
	}
	for _, dir := range benchTemp {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// benchIndex returns the synthetic index of the configured size.
func benchIndex(b *testing.B) (*Index, indextest.Synthetic) {
	ctx := context.Background()
	s := indextest.Synthetic{Instances: indextest.BenchInstances(b)}
	benchMu.Lock()
	defer benchMu.Unlock()
	if ix := benchBuilt[s.Instances]; ix != nil {
		return ix, s
	}
	dir := os.Getenv("LIGHTBOX_BENCH_DIR")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "lightbox-index-bench-"); err != nil {
			b.Fatal(err)
		}
		benchTemp = append(benchTemp, dir)
	}
	path := filepath.Join(dir, fmt.Sprintf("index-%d.db", s.Instances))
	complete := path + ".complete"
	if _, err := os.Stat(complete); err != nil {
		for _, suffix := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suffix)
		}
		ix, err := Open(ctx, path, Options{QueryAttributes: indextest.BenchAttributes(b)})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := s.Build(ctx, ix, 5000, nil); err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start)
		if err := ix.Close(); err != nil {
			b.Fatal(err)
		}
		fi, _ := os.Stat(path)
		b.Logf("built %d instances (%d studies) in %s: %.0f instances/s, %d MiB", s.Instances, s.Studies(),
			elapsed.Round(time.Second), float64(s.Instances)/elapsed.Seconds(), fi.Size()>>20)
		if err := os.WriteFile(complete, nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now()
	ix, err := Open(ctx, path, Options{QueryAttributes: indextest.BenchAttributes(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("opened in %s (includes any back-fill of configured attributes)", time.Since(start).Round(time.Millisecond))
	benchBuilt[s.Instances] = ix
	return ix, s
}

func BenchmarkQuery(b *testing.B) {
	ix, s := benchIndex(b)
	b.Run(fmt.Sprintf("instances=%d", s.Instances), func(b *testing.B) {
		indextest.RunQueryBenchmarks(b, ix, s)
	})
}

func BenchmarkInsert(b *testing.B) {
	indextest.RunInsertBenchmarks(b, func(b *testing.B) index.Index {
		ix, err := Open(context.Background(), filepath.Join(b.TempDir(), "index.db"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ix.Close() })
		return ix
	}, 50)
}

// BenchmarkInsertConfigured is BenchmarkInsert with one configured
// attribute (SERIES-level ProtocolName from each header): the cost of
// extracting and storing configured values at insert.
func BenchmarkInsertConfigured(b *testing.B) {
	indextest.RunInsertBenchmarks(b, func(b *testing.B) index.Index {
		ix, err := Open(context.Background(), filepath.Join(b.TempDir(), "index.db"),
			Options{QueryAttributes: indextest.BenchAttributes(b)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ix.Close() })
		return ix
	}, 50)
}
