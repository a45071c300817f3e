package archive

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"math/big"
	"path/filepath"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// synth makes CT-like Part 10 instances (~0.5 MB, from a corpus CT slice)
// with fresh UIDs: the template is written once with placeholder UIDs of a
// fixed length, which each instance overwrites in place.
type synth struct {
	tmpl    []byte
	offsets map[dicom.Tag][]int // where each placeholder UID occurs
}

// uidLen is the length of every synthesized UID ("2.25." + 40 digits,
// even, so no padding byte moves).
const uidLen = 46

func placeholder(c byte) string {
	return "2.25." + string(bytes.Repeat([]byte{c}, uidLen-5))
}

func newSynth(tb testing.TB, corpusFile string) *synth {
	tb.Helper()
	s, err := synthFromFile(filepath.Join(testenv.CorpusDir(tb), corpusFile))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func synthFromFile(path string) (*synth, error) {
	f, err := dicom.ReadFile(path, dicom.ReadOptions{LoadBulk: true})
	if err != nil {
		return nil, err
	}
	ds := f.Dataset
	marks := map[dicom.Tag]string{
		dicom.TagSOPInstanceUID:    placeholder('1'),
		dicom.TagStudyInstanceUID:  placeholder('2'),
		dicom.TagSeriesInstanceUID: placeholder('3'),
	}
	for tag, v := range marks {
		ds.Set(dicom.NewStringElement(tag, dicom.UI, v))
	}
	var buf bytes.Buffer
	if err := dicom.WriteFile(&buf, ds, dicom.ExplicitVRLittleEndian, dicom.WriteOptions{}); err != nil {
		return nil, err
	}
	s := &synth{tmpl: buf.Bytes(), offsets: map[dicom.Tag][]int{}}
	for tag, v := range marks {
		b := s.tmpl
		for base := 0; ; {
			i := bytes.Index(b[base:], []byte(v))
			if i < 0 {
				break
			}
			s.offsets[tag] = append(s.offsets[tag], base+i)
			base += i + len(v)
		}
		if len(s.offsets[tag]) == 0 {
			return nil, fmt.Errorf("placeholder for %s not found", tag)
		}
	}
	return s, nil
}

// newUID returns a fresh random UID of exactly uidLen bytes.
func newUID() string {
	max := new(big.Int).Exp(big.NewInt(10), big.NewInt(uidLen-6), nil)
	n, _ := rand.Int(rand.Reader, max)
	return fmt.Sprintf("2.25.1%0*d", uidLen-6, n)
}

// instance returns a new instance (new SOP Instance UID) in the given
// study and series; empty UIDs are made up.
func (s *synth) instance(study, series string) (data []byte, sop string) {
	if study == "" {
		study = newUID()
	}
	if series == "" {
		series = newUID()
	}
	sop = newUID()
	data = bytes.Clone(s.tmpl)
	for tag, v := range map[dicom.Tag]string{dicom.TagSOPInstanceUID: sop, dicom.TagStudyInstanceUID: study, dicom.TagSeriesInstanceUID: series} {
		for _, off := range s.offsets[tag] {
			copy(data[off:], v)
		}
	}
	return data, sop
}

func TestSynth(t *testing.T) {
	s := newSynth(t, "ct/ct-693-bitsstored-mismatch.dcm")
	data, sop := s.instance("", "")
	f, err := dicom.Read(bytes.NewReader(data), int64(len(data)), dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Dataset.String(dicom.TagSOPInstanceUID); got != sop {
		t.Fatalf("SOP Instance UID %q, want %q", got, sop)
	}
	if got := f.Meta.String(dicom.TagMediaStorageSOPInstanceUID); got != sop {
		t.Fatalf("MediaStorageSOPInstanceUID %q, want %q", got, sop)
	}
	if len(data) < 400<<10 {
		t.Fatalf("synthetic instance has %d bytes, want ~0.5 MB", len(data))
	}
}
