package dicom_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// BenchmarkHeaderCorpus reads every corpus file header-only (bulk data
// left on disk), as the archive indexes them. Reported per file.
func BenchmarkHeaderCorpus(b *testing.B) {
	dir, rows := loadManifest(b)
	var files []string
	var total int64
	for _, r := range rows {
		files = append(files, filepath.Join(dir, r.Path))
		total += r.Size
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, f := range files {
			dicom.ReadFile(f, dicom.ReadOptions{})
		}
	}
	el := b.Elapsed().Seconds()
	n := float64(b.N * len(files))
	b.ReportMetric(n/el, "files/s")
	b.ReportMetric(float64(total)*float64(b.N)/1e6/el, "MB/s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkHeaderInMemory parses one CT header from memory: the reader's
// own cost without file system calls.
func BenchmarkHeaderInMemory(b *testing.B) {
	dir, _ := loadManifest(b)
	data, err := os.ReadFile(filepath.Join(dir, "ct/ct-693-bitsstored-mismatch.dcm"))
	if err != nil {
		b.Skip(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		if _, err := dicom.Read(bytesReader(data), int64(len(data)), dicom.ReadOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
