package archive

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/blob"
	blobfs "github.com/lightbox-pacs/lightbox/internal/blob/fs"
)

// BenchmarkIngest measures durable ingest (parse + blob fsync + index
// commit) of CT-slice-sized instances (~0.5 MB, synthesized from a corpus
// CT with fresh UIDs, 100 per series), with 1 and 4 concurrent writers, on
// each index backend. The "nosync" variants skip the blob fsyncs (not
// durable) to show what the rest costs.
//
//	go test -run '^$' -bench Ingest -benchtime 400x ./internal/archive/
func BenchmarkIngest(b *testing.B) {
	s := newSynth(b, "ct/ct-693-bitsstored-mismatch.dcm")
	for _, be := range backends(b) {
		for _, nosync := range []bool{false, true} {
			for _, writers := range []int{1, 4, 16} {
				name := fmt.Sprintf("%s/writers=%d", be.name, writers)
				if nosync {
					name += "/nosync"
				}
				b.Run(name, func(b *testing.B) { benchIngest(b, be, s, writers, nosync) })
			}
		}
	}
}

func benchIngest(b *testing.B, be backend, s *synth, writers int, nosync bool) {
	dir := b.TempDir()
	fsStore, err := blobfs.Open(filepath.Join(dir, "blobs"), blobfs.Options{NoSync: nosync})
	if err != nil {
		b.Fatal(err)
	}
	bs := &timedBlobs{Store: fsStore}
	idx := &countingIndex{Index: be.open(b, dir)}
	defer idx.Close()
	a := New(bs, idx, Options{})
	a.serial = os.Getenv("LIGHTBOX_BENCH_SERIAL") != ""
	defer a.Close()
	// Instances are made up front so the timing covers only the archive.
	study := newUID()
	insts := make([][]byte, b.N)
	var series string
	for i := range insts {
		if i%100 == 0 {
			series = newUID()
		}
		insts[i], _ = s.instance(study, series)
	}
	b.SetBytes(int64(len(insts[0])))
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(insts)) {
					return
				}
				if _, err := a.Store(context.Background(), bytes.NewReader(insts[i]), IngestMeta{Size: int64(len(insts[i]))}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "instances/s")
	if n := idx.batches.Load(); n > 0 {
		b.ReportMetric(float64(idx.records.Load())/float64(n), "instances/batch")
		b.ReportMetric(float64(idx.nanos.Load())/1e6/float64(n), "index-ms/batch")
		b.ReportMetric(float64(bs.nanos.Load())/1e6/float64(n), "blob-ms/batch")
	}
}

// timedBlobs is the filesystem store, timing its batch commits.
type timedBlobs struct {
	*blobfs.Store
	nanos atomic.Int64
}

func (t *timedBlobs) CommitBatch(ws []blob.Writer) []error {
	start := time.Now()
	defer func() { t.nanos.Add(int64(time.Since(start))) }()
	return t.Store.CommitBatch(ws)
}
