package dicomjson

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// BenchmarkMarshal encodes the headers of two corpus files as the archive
// stores them at ingest (bulk values left out): a GE CT (13 kB of JSON)
// and a Toshiba MR whose private binary values make it 107 kB.
//
//	go test ./dicom/dicomjson -run '^$' -bench Marshal -benchmem
func BenchmarkMarshal(b *testing.B) {
	for _, rel := range []string{"transfer-syntax/ge-ct-evrle.dcm", "series/toshiba-mr-dti-6slices/0001.dcm"} {
		b.Run(filepath.Base(filepath.Dir(rel))+"/"+filepath.Base(rel), func(b *testing.B) {
			data, err := os.ReadFile(filepath.Join(testenv.CorpusDir(b), rel))
			if err != nil {
				b.Fatal(err)
			}
			f, err := dicom.Read(bytes.NewReader(data), int64(len(data)), dicom.ReadOptions{})
			if err != nil {
				b.Fatal(err)
			}
			js, err := Marshal(f.Dataset, Options{OmitBulk: true})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(js)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Marshal(f.Dataset, Options{OmitBulk: true}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
