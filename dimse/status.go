package dimse

import (
	"errors"
	"fmt"
)

// Status is the Status (0000,0900) of a DIMSE response (PS3.7 Annex C and
// the service definitions of PS3.4).
type Status uint16

// General statuses (PS3.7 C.1 to C.5).
const (
	StatusSuccess Status = 0x0000
	// StatusPending: more responses follow (C-FIND matches, C-MOVE/C-GET
	// progress).
	StatusPending Status = 0xFF00
	// StatusPendingWarning: C-FIND match continuing; one or more optional
	// keys were not supported.
	StatusPendingWarning Status = 0xFF01
	// StatusCancel: the operation ended because of a C-CANCEL.
	StatusCancel Status = 0xFE00
)

// Warning statuses.
const (
	// StatusOptionalAttributesNotSupported (0001): requested optional
	// attributes are not supported.
	StatusOptionalAttributesNotSupported Status = 0x0001
	// StatusAttributeListError (0107).
	StatusAttributeListError Status = 0x0107
	// StatusAttributeValueOutOfRange (0116).
	StatusAttributeValueOutOfRange Status = 0x0116
	// StatusCoercionOfDataElements (B000): C-STORE succeeded, some values
	// were coerced.
	StatusCoercionOfDataElements Status = 0xB000
	// StatusSubOperationsCompleteWithFailures (B000): C-MOVE/C-GET ended
	// with one or more failed or warning sub-operations.
	StatusSubOperationsCompleteWithFailures Status = 0xB000
	// StatusElementsDiscarded (B006): C-STORE succeeded, some elements
	// were discarded.
	StatusElementsDiscarded Status = 0xB006
	// StatusDataSetDoesNotMatchSOPClassWarning (B007): C-STORE succeeded
	// although the data set does not match the SOP class.
	StatusDataSetDoesNotMatchSOPClassWarning Status = 0xB007
)

// Failure statuses (PS3.7 C.4, C.5 and the service classes of PS3.4).
const (
	StatusNoSuchAttribute        Status = 0x0105
	StatusInvalidAttributeValue  Status = 0x0106
	StatusProcessingFailure      Status = 0x0110
	StatusDuplicateSOPInstance   Status = 0x0111
	StatusNoSuchObjectInstance   Status = 0x0112
	StatusNoSuchEventType        Status = 0x0113
	StatusNoSuchArgument         Status = 0x0114
	StatusInvalidArgumentValue   Status = 0x0115
	StatusInvalidObjectInstance  Status = 0x0117
	StatusNoSuchSOPClass         Status = 0x0118
	StatusClassInstanceConflict  Status = 0x0119
	StatusMissingAttribute       Status = 0x0120
	StatusMissingAttributeValue  Status = 0x0121
	StatusSOPClassNotSupported   Status = 0x0122 // Refused: SOP Class not supported
	StatusNoSuchAction           Status = 0x0123
	StatusNotAuthorized          Status = 0x0124 // Refused: not authorized
	StatusDuplicateInvocation    Status = 0x0210
	StatusUnrecognizedOperation  Status = 0x0211
	StatusMistypedArgument       Status = 0x0212
	StatusResourceLimitation     Status = 0x0213
	StatusOutOfResources         Status = 0xA700 // Refused: out of resources (C-STORE, C-FIND)
	StatusOutOfResourcesMatches  Status = 0xA701 // Refused: out of resources, unable to calculate number of matches (C-MOVE, C-GET)
	StatusOutOfResourcesSubOps   Status = 0xA702 // Refused: out of resources, unable to perform sub-operations (C-MOVE, C-GET)
	StatusMoveDestinationUnknown Status = 0xA801 // Refused: move destination unknown
	// StatusDataSetDoesNotMatchSOPClass (A900): C-STORE data set, or
	// C-FIND/C-MOVE/C-GET identifier, does not match the SOP class.
	StatusDataSetDoesNotMatchSOPClass Status = 0xA900
	// StatusIdentifierDoesNotMatchSOPClass is A900 under its query/retrieve name.
	StatusIdentifierDoesNotMatchSOPClass Status = 0xA900
	// StatusCannotUnderstand (C000, range C000-CFFF): C-STORE error, cannot understand.
	StatusCannotUnderstand Status = 0xC000
	// StatusUnableToProcess (C000, range C000-CFFF): C-FIND/C-MOVE/C-GET failure.
	StatusUnableToProcess Status = 0xC000
)

// Category groups statuses by what they mean for the operation.
type Category int

// Status categories.
const (
	CategorySuccess Category = iota
	CategoryPending
	CategoryCancel
	CategoryWarning
	CategoryFailure
)

func (c Category) String() string {
	return [...]string{"Success", "Pending", "Cancel", "Warning", "Failure"}[c]
}

// Category returns the status's category (PS3.7 C.1-C.5): 0000 success,
// FF00/FF01 pending, FE00 cancel, 0001, 0107, 0116 and Bxxx warnings,
// everything else failure.
func (s Status) Category() Category {
	switch {
	case s == StatusSuccess:
		return CategorySuccess
	case s == StatusPending || s == StatusPendingWarning:
		return CategoryPending
	case s == StatusCancel:
		return CategoryCancel
	case s == StatusOptionalAttributesNotSupported, s == StatusAttributeListError, s == StatusAttributeValueOutOfRange,
		s&0xF000 == 0xB000:
		return CategoryWarning
	}
	return CategoryFailure
}

// IsSuccess reports whether the status is 0000.
func (s Status) IsSuccess() bool { return s == StatusSuccess }

// IsWarning reports whether the status is a warning.
func (s Status) IsWarning() bool { return s.Category() == CategoryWarning }

// IsFailure reports whether the status is a failure.
func (s Status) IsFailure() bool { return s.Category() == CategoryFailure }

// IsPending reports whether more responses follow.
func (s Status) IsPending() bool { return s.Category() == CategoryPending }

var statusNames = map[Status]string{
	StatusSuccess:                            "Success",
	StatusPending:                            "Pending",
	StatusPendingWarning:                     "Pending (optional keys not supported)",
	StatusCancel:                             "Cancel",
	StatusOptionalAttributesNotSupported:     "Warning: requested optional attributes not supported",
	StatusAttributeListError:                 "Warning: attribute list error",
	StatusAttributeValueOutOfRange:           "Warning: attribute value out of range",
	StatusCoercionOfDataElements:             "Warning: coercion of data elements / sub-operations complete with failures",
	StatusElementsDiscarded:                  "Warning: elements discarded",
	StatusDataSetDoesNotMatchSOPClassWarning: "Warning: data set does not match SOP class",
	StatusNoSuchAttribute:                    "Failure: no such attribute",
	StatusInvalidAttributeValue:              "Failure: invalid attribute value",
	StatusProcessingFailure:                  "Failure: processing failure",
	StatusDuplicateSOPInstance:               "Failure: duplicate SOP instance",
	StatusNoSuchObjectInstance:               "Failure: no such object instance",
	StatusNoSuchEventType:                    "Failure: no such event type",
	StatusNoSuchArgument:                     "Failure: no such argument",
	StatusInvalidArgumentValue:               "Failure: invalid argument value",
	StatusInvalidObjectInstance:              "Failure: invalid object instance",
	StatusNoSuchSOPClass:                     "Failure: no such SOP class",
	StatusClassInstanceConflict:              "Failure: class-instance conflict",
	StatusMissingAttribute:                   "Failure: missing attribute",
	StatusMissingAttributeValue:              "Failure: missing attribute value",
	StatusSOPClassNotSupported:               "Refused: SOP class not supported",
	StatusNoSuchAction:                       "Failure: no such action",
	StatusNotAuthorized:                      "Refused: not authorized",
	StatusDuplicateInvocation:                "Failure: duplicate invocation",
	StatusUnrecognizedOperation:              "Failure: unrecognized operation",
	StatusMistypedArgument:                   "Failure: mistyped argument",
	StatusResourceLimitation:                 "Failure: resource limitation",
	StatusOutOfResources:                     "Refused: out of resources",
	StatusOutOfResourcesMatches:              "Refused: out of resources (unable to calculate number of matches)",
	StatusOutOfResourcesSubOps:               "Refused: out of resources (unable to perform sub-operations)",
	StatusMoveDestinationUnknown:             "Refused: move destination unknown",
	StatusDataSetDoesNotMatchSOPClass:        "Error: data set / identifier does not match SOP class",
	StatusCannotUnderstand:                   "Error: cannot understand / unable to process",
}

// String names the status, with its code in hex.
func (s Status) String() string {
	if n, ok := statusNames[s]; ok {
		return fmt.Sprintf("%04X (%s)", uint16(s), n)
	}
	var n string
	switch {
	case s&0xFF00 == 0xA700:
		n = "Refused: out of resources"
	case s&0xFF00 == 0xA900:
		n = "Error: data set does not match SOP class"
	case s&0xF000 == 0xC000:
		n = "Error: cannot understand"
	case s&0xF000 == 0xB000:
		n = "Warning"
	default:
		n = s.Category().String()
	}
	return fmt.Sprintf("%04X (%s)", uint16(s), n)
}

// StatusError is a non-success DIMSE status as a Go error: returned by the
// client for failure statuses, and accepted from handlers to choose the
// status of a failed operation.
type StatusError struct {
	Status  Status
	Comment string // Error Comment (0000,0902), at most 64 characters on the wire
	Err     error  // the underlying cause, if any
}

// NewStatusError returns a *StatusError with a formatted comment.
func NewStatusError(s Status, format string, args ...any) *StatusError {
	return &StatusError{Status: s, Comment: fmt.Sprintf(format, args...)}
}

func (e *StatusError) Error() string {
	s := "dimse: status " + e.Status.String()
	if e.Comment != "" {
		s += ": " + e.Comment
	}
	if e.Err != nil && (e.Comment == "" || e.Err.Error() != e.Comment) {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying cause.
func (e *StatusError) Unwrap() error { return e.Err }

// statusOf maps a handler error to a status and comment: a *StatusError
// chooses its own, anything else gets def and the error's text.
func statusOf(err error, def Status) (Status, string) {
	var se *StatusError
	if errors.As(err, &se) {
		c := se.Comment
		if c == "" && se.Err != nil {
			c = se.Err.Error()
		}
		return se.Status, c
	}
	return def, err.Error()
}
