package dicom_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// FuzzRead feeds arbitrary bytes to the reader, seeded with small corpus
// files: it must never panic, and never allocate far beyond its input.
func FuzzRead(f *testing.F) {
	dir := testenv.CorpusDir(f)
	_, rows := loadManifest(f)
	for _, row := range rows {
		if row.Size > 64<<10 {
			continue
		}
		if b, err := os.ReadFile(filepath.Join(dir, row.Path)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range []dicom.ReadOptions{{}, {LoadBulk: true}} {
			file, err := dicom.Read(bytes.NewReader(data), int64(len(data)), opts)
			if err == nil && file.Dataset == nil {
				t.Fatal("no data set and no error")
			}
			if err != nil {
				continue
			}
			// Whatever was read must be writable and readable again.
			var out bytes.Buffer
			ts := dicom.ExplicitVRLittleEndian
			if pd := file.Dataset.Get(dicom.TagPixelData); pd != nil && pd.IsEncapsulated() {
				continue
			}
			if err := dicom.WriteFile(&out, file.Dataset, ts, dicom.WriteOptions{Bulk: bytes.NewReader(data)}); err != nil {
				continue
			}
			if _, err := dicom.Read(bytes.NewReader(out.Bytes()), int64(out.Len()), dicom.ReadOptions{}); err != nil {
				t.Fatalf("re-reading our own output failed: %v", err)
			}
		}
	})
}
