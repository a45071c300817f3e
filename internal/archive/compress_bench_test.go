package archive

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	blobfs "github.com/lightbox-pacs/lightbox/internal/blob/fs"
)

// BenchmarkIngestCompressAtRest measures durable ingest (SQLite index,
// blobs fsynced) of a 512x512 16-bit CT (531 kB, synthesized from a corpus
// CT with fresh UIDs) with compression at rest off and with each lossless
// target, from 1 and 4 writers. stored-ratio is received bytes over
// stored bytes.
//
//	go test -run '^$' -bench IngestCompressAtRest -benchtime 100x ./internal/archive/
func BenchmarkIngestCompressAtRest(b *testing.B) {
	s := newSynth(b, "transfer-syntax/ge-ct-evrle.dcm")
	for _, c := range []struct {
		name string
		opts CompressOptions
	}{
		{"off", CompressOptions{}},
		{"rle", CompressOptions{TransferSyntax: RLELossless}},
		{"jpeg-ls", CompressOptions{TransferSyntax: JPEGLSLossless}},
		{"jpeg-ls+keep-original", CompressOptions{TransferSyntax: JPEGLSLossless, KeepOriginal: true}},
		{"jpeg2000", CompressOptions{TransferSyntax: JPEG2000Lossless}},
	} {
		for _, writers := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/writers=%d", c.name, writers), func(b *testing.B) {
				benchIngestCompressed(b, s, c.opts, writers)
			})
		}
	}
}

func benchIngestCompressed(b *testing.B, s *synth, opts CompressOptions, writers int) {
	dir := b.TempDir()
	bs, err := blobfs.Open(filepath.Join(dir, "blobs"), blobfs.Options{})
	if err != nil {
		b.Fatal(err)
	}
	idx := sqliteBackend.open(b, dir)
	defer idx.Close()
	a := New(bs, idx, Options{Compress: opts})
	defer a.Close()
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
	var next, stored atomic.Int64
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
				res, err := a.Store(context.Background(), bytes.NewReader(insts[i]), IngestMeta{Size: int64(len(insts[i]))})
				if err != nil {
					b.Error(err)
					return
				}
				stored.Add(res.Size)
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "instances/s")
	b.ReportMetric(float64(int64(b.N)*int64(len(insts[0])))/float64(stored.Load()), "stored-ratio")
}
