package archive

import (
	"errors"
	"fmt"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// Reason classifies why an instance was rejected.
type Reason string

// The rejection reasons.
const (
	// ReasonNotDICOM: the input is not a DICOM file or data set at all.
	ReasonNotDICOM Reason = "not-dicom"
	// ReasonMalformed: the input breaks the encoding rules (truncated,
	// bad lengths or VRs, broken sequences); Offset says where.
	ReasonMalformed Reason = "malformed"
	// ReasonMissingAttribute: SOP Instance UID, Study Instance UID or
	// Series Instance UID is missing or empty.
	ReasonMissingAttribute Reason = "missing-attribute"
	// ReasonNotStorable: a valid DICOM object that is not a composite
	// instance (a DICOMDIR media directory).
	ReasonNotStorable Reason = "not-storable"
	// ReasonDuplicate: the SOP Instance UID is stored with other content
	// and the policy is Reject.
	ReasonDuplicate Reason = "duplicate"
)

// RejectError reports input that was refused; nothing was stored.
type RejectError struct {
	Reason Reason
	// Offset is the byte offset where the problem was found, -1 when the
	// problem is not at one place.
	Offset int64
	// Detail says what is wrong, for people.
	Detail string
	// Err is the underlying error (a *dicom.ParseError for parse
	// failures), or nil.
	Err error
}

func (e *RejectError) Error() string {
	s := "archive: rejected (" + string(e.Reason) + "): " + e.Detail
	if e.Offset >= 0 && e.Err == nil {
		s += fmt.Sprintf(" at byte offset %d", e.Offset)
	}
	return s
}

func (e *RejectError) Unwrap() error { return e.Err }

// IsReject reports whether err is (or wraps) a *RejectError, and returns it.
func IsReject(err error) (*RejectError, bool) {
	var re *RejectError
	ok := errors.As(err, &re)
	return re, ok
}

// rejectParse turns a dicom.Read error into a RejectError. Input without
// preamble and File Meta whose very first element does not parse is
// classified as not DICOM rather than malformed DICOM.
func rejectParse(f *dicom.File, err error) error {
	re := &RejectError{Reason: ReasonMalformed, Offset: -1, Detail: err.Error(), Err: err}
	var pe *dicom.ParseError
	if errors.As(err, &pe) {
		re.Offset = pe.Offset
	}
	switch {
	case errors.Is(err, dicom.ErrNotDICOM):
		re.Reason = ReasonNotDICOM
	case f != nil && !f.HasPreamble && f.Meta == nil && (f.Dataset == nil || len(f.Dataset.Elements) <= 1):
		re.Reason = ReasonNotDICOM
		re.Detail = "no preamble, no File Meta, and the first bytes do not parse as a data element (" + err.Error() + ")"
	}
	return re
}

// mediaStorageDirectory is the SOP class of a DICOMDIR.
const mediaStorageDirectory = "1.2.840.10008.1.3.10"

// checkStrict refuses objects that parse but must not be archived.
func checkStrict(f *dicom.File) error {
	if f.Meta != nil && f.Meta.String(dicom.TagMediaStorageSOPClassUID) == mediaStorageDirectory ||
		f.Dataset.String(dicom.TagSOPClassUID) == mediaStorageDirectory {
		return &RejectError{Reason: ReasonNotStorable, Offset: -1,
			Detail: "a DICOMDIR (Media Storage Directory) is not a storable instance; import the files it references"}
	}
	return nil
}
