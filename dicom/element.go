package dicom

import (
	"fmt"
)

// Element is one data element. Its value is kept as the raw bytes of the
// encoding it was read in (Dataset.Encoding says which); typed accessors in
// values.go decode it. Bulk values are not loaded: Value is nil, Bulk is
// true, and Offset/Length locate the bytes in the source.
type Element struct {
	Tag Tag
	VR  VR
	// Length is the value length as encoded; UndefinedLength for sequences
	// and encapsulated Pixel Data delimited by markers.
	Length uint32
	// Offset is the byte offset of the value field in the source (for a
	// deflated data set: in the inflated stream).
	Offset int64
	// Value holds the raw value bytes, without trailing padding removed.
	Value []byte
	// Bulk is set when the value was left in the source (Value is nil).
	Bulk bool
	// Items are the items of a sequence (VR SQ, or UN read as a sequence).
	Items []*Dataset
	// Fragments are the items of encapsulated Pixel Data; the first is the
	// Basic Offset Table (possibly empty).
	Fragments []Fragment
	// OriginalVR is the VR as written in the source when the reader replaced
	// it (UN re-read with the dictionary); VRNone otherwise.
	OriginalVR VR
}

// Fragment is one item of encapsulated Pixel Data.
type Fragment struct {
	Offset int64  // byte offset of the fragment's bytes in the source
	Length uint32 // fragment length in bytes
	Data   []byte // the bytes, when loaded; nil for bulk
}

// IsEncapsulated reports whether the element holds encapsulated fragments.
func (e *Element) IsEncapsulated() bool { return e.Fragments != nil }

// IsSequence reports whether the element holds items.
func (e *Element) IsSequence() bool { return e.VR == SQ || e.Items != nil }

// Keyword returns the dictionary keyword of the element's tag, or "".
func (e *Element) Keyword() string { return e.Tag.Keyword() }

// ValueLength returns the number of value bytes the element carries: the
// encoded length, or for undefined-length elements the sum of what was read.
func (e *Element) ValueLength() int64 {
	if e.Length != UndefinedLength {
		return int64(e.Length)
	}
	var n int64
	for _, f := range e.Fragments {
		n += int64(f.Length)
	}
	return n
}

func (e *Element) String() string {
	return fmt.Sprintf("%s %s len=%d off=%d", e.Tag, e.VR, e.Length, e.Offset)
}
