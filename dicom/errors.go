package dicom

import (
	"errors"
	"fmt"
)

// Conditions callers branch on; a *ParseError wraps one of them.
var (
	// ErrNotDICOM: the input is neither a Part 10 file nor a recognisable data set.
	ErrNotDICOM = errors.New("not a DICOM file or data set")
	// ErrTruncated: the input ended inside an element, item or sequence.
	ErrTruncated = errors.New("input ends before the element does")
	// ErrTooDeep: sequences nest deeper than ReadOptions.MaxDepth.
	ErrTooDeep = errors.New("sequence nesting too deep")
	// ErrMalformed: the bytes break the encoding rules (bad VR, overrunning
	// lengths, misplaced delimiters, ...).
	ErrMalformed = errors.New("malformed data")
	// ErrTooLarge: a value or inflated stream exceeds the configured limits.
	ErrTooLarge = errors.New("value exceeds the reader's limits")
)

// ParseError says what went wrong, where (byte offset in the source) and in
// which element.
type ParseError struct {
	Offset int64 // byte offset where the problem was found
	Tag    Tag   // element being read, 0 when none
	Msg    string
	Err    error // one of the sentinel errors above, or an I/O error
}

func (e *ParseError) Error() string {
	s := "dicom: " + e.Msg
	if e.Tag != 0 {
		s += " in element " + e.Tag.String()
		if kw := e.Tag.Keyword(); kw != "" {
			s += " " + kw
		}
	}
	return s + fmt.Sprintf(" at byte offset %d", e.Offset)
}

func (e *ParseError) Unwrap() error { return e.Err }
