package archive

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
)

// TestStoredHeaderBulkURIs checks the stored header of every corpus file
// that imports: valid DICOM JSON, complete (marked) when the data set's
// tags are in order, and carrying exactly one relative BulkDataURI per
// bulk value the reader left in the file, at its bulk data path, nested
// ones included.
func TestStoredHeaderBulkURIs(t *testing.T) {
	dir, files := corpusFiles(t)
	seen, complete, nested := 0, 0, 0
	for _, cf := range files {
		data, err := os.ReadFile(filepath.Join(dir, cf.rel))
		if err != nil {
			t.Fatal(err)
		}
		f, err := dicom.Read(bytes.NewReader(data), int64(len(data)), dicom.ReadOptions{})
		if err != nil {
			continue
		}
		rec, err := extractRecord(f)
		if err != nil {
			continue
		}
		seen++
		hdr := rec.Header
		ds, uris, err := dicomjson.Unmarshal(hdr)
		if err != nil {
			t.Errorf("%s: stored header is not DICOM JSON: %v", cf.rel, err)
			continue
		}
		if len(ds.Elements) == 0 {
			t.Errorf("%s: stored header is empty", cf.rel)
		}
		var got, want []string
		for _, u := range uris {
			got = append(got, u)
		}
		for _, p := range dicomjson.BulkPaths(f.Dataset) {
			want = append(want, BulkURIPrefix+p)
			if bytes.Count([]byte(p), []byte("/")) > 0 {
				nested++
			}
		}
		sort.Strings(got)
		sort.Strings(want)
		if len(got) != len(want) {
			t.Errorf("%s: BulkDataURIs %q, want %q", cf.rel, got, want)
		} else {
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("%s: BulkDataURIs %q, want %q", cf.rel, got, want)
					break
				}
			}
		}
		if topLevelSorted(f.Dataset) != HeaderComplete(hdr) && f.Dataset.Get(dicom.TagTransferSyntaxUID) == nil {
			t.Errorf("%s: HeaderComplete = %v for a data set whose tags are sorted = %v", cf.rel, HeaderComplete(hdr), topLevelSorted(f.Dataset))
		}
		if HeaderComplete(hdr) {
			complete++
		}
		// Stable: the rebuild (fsck) re-extracts and must find the same.
		again, err := dicom.Read(bytes.NewReader(data), int64(len(data)), dicom.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rec2, err := extractRecord(again)
		if err != nil || !bytes.Equal(rec2.Header, hdr) {
			t.Errorf("%s: header differs on a second extraction (%v)", cf.rel, err)
		}
	}
	if seen < 150 || complete < seen*9/10 || nested == 0 {
		t.Errorf("%d headers, %d complete, %d nested bulk values: corpus coverage too small", seen, complete, nested)
	}
	t.Logf("%d headers, %d complete, %d nested bulk values", seen, complete, nested)
}

func TestHeaderComplete(t *testing.T) {
	unsorted := dicom.NewDataset()
	unsorted.Elements = []*dicom.Element{
		dicom.NewStringElement(dicom.TagSOPInstanceUID, dicom.UI, "1.2.3"),
		dicom.NewStringElement(dicom.TagPatientID, dicom.LO, "P"),
		dicom.NewStringElement(dicom.TagModality, dicom.CS, "CT"),
	}
	sorted := dicom.NewDataset()
	for _, e := range unsorted.Elements {
		sorted.Set(e)
	}
	withTS := dicom.NewDataset()
	withTS.Elements = append([]*dicom.Element{dicom.NewStringElement(dicom.TagTransferSyntaxUID, dicom.UI, dicom.ExplicitVRLittleEndian)}, unsorted.Elements...)
	for _, c := range []struct {
		name string
		ds   *dicom.Dataset
		want bool
	}{
		{"sorted", sorted, true},
		{"unsorted", unsorted, false},
		{"unsorted with transfer syntax", withTS, true},
		{"empty", dicom.NewDataset(), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			hdr, err := marshalHeader(c.ds)
			if err != nil {
				t.Fatal(err)
			}
			if got := HeaderComplete(hdr); got != c.want {
				t.Errorf("HeaderComplete(%q) = %v, want %v", hdr, got, c.want)
			}
			if _, _, err := dicomjson.Unmarshal(hdr); err != nil {
				t.Errorf("header %q: %v", hdr, err)
			}
		})
	}
	for _, legacy := range []string{"", "{}", `{"00100020":{"vr":"LO","Value":["P"]}}`} {
		if HeaderComplete([]byte(legacy)) {
			t.Errorf("HeaderComplete(%q) = true", legacy)
		}
	}
}
