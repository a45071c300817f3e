package ul

import (
	"errors"
	"fmt"
)

// Conditions callers branch on with errors.Is.
var (
	// ErrMalformedPDU: the bytes break the PDU encoding rules of PS3.8 9.3.
	ErrMalformedPDU = errors.New("ul: malformed PDU")
	// ErrPDUTooLarge: a PDU's length exceeds the limit this side accepts.
	ErrPDUTooLarge = errors.New("ul: PDU exceeds the maximum length accepted")
	// ErrUnexpectedPDU: a well-formed PDU arrived in a state where PS3.8
	// does not allow it.
	ErrUnexpectedPDU = errors.New("ul: unexpected PDU")
	// ErrReleased: the association was released in an orderly way.
	ErrReleased = errors.New("ul: association released")
	// ErrAborted: the association was aborted, by either side (an
	// *AbortError says by whom and why).
	ErrAborted = errors.New("ul: association aborted")
	// ErrRejected: the association request was rejected (a *RejectError
	// says by whom and why).
	ErrRejected = errors.New("ul: association rejected")
	// ErrClosed: the association is no longer established on this side.
	ErrClosed = errors.New("ul: association closed")
	// ErrConnectionLost: the transport ended without a release or abort.
	ErrConnectionLost = errors.New("ul: connection lost")
	// ErrIdleTimeout: no message began within the idle timeout. Returned
	// by ReadCommand before any byte of a new PDU was consumed, so the
	// association is intact and the read may be retried.
	ErrIdleTimeout = errors.New("ul: idle timeout")
	// ErrTimeout: the peer stalled inside a message, or did not answer a
	// protocol request within the ARTIM timeout.
	ErrTimeout = errors.New("ul: timeout")
	// ErrProtocol: the peer broke the P-DATA rules (fragment order,
	// presentation context, command size).
	ErrProtocol = errors.New("ul: protocol violation")
)

// AbortError describes an A-ABORT, received or sent.
type AbortError struct {
	Source AbortSource
	Reason AbortReason
	// Local is true when this side sent the A-ABORT.
	Local bool
	// Cause is what made this side abort (nil for a received A-ABORT).
	Cause error
}

func (e *AbortError) Error() string {
	who := "peer"
	if e.Local {
		who = "local"
	}
	s := fmt.Sprintf("ul: association aborted (%s; source: %s; reason: %s)", who, e.Source, e.Reason.describe(e.Source))
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Is makes errors.Is(err, ErrAborted) true.
func (e *AbortError) Is(target error) bool { return target == ErrAborted }

// Unwrap returns the cause of a local abort.
func (e *AbortError) Unwrap() error { return e.Cause }

// RejectError describes an A-ASSOCIATE-RJ, received or sent.
type RejectError struct {
	Result RejectResult
	Source RejectSource
	Reason RejectReason
	// Local is true when this side sent the A-ASSOCIATE-RJ.
	Local bool
	// Detail says why, for logs (never sent on the wire).
	Detail string
}

// NewRejectError is a convenience for acceptor policies.
func NewRejectError(result RejectResult, source RejectSource, reason RejectReason, detail string) *RejectError {
	return &RejectError{Result: result, Source: source, Reason: reason, Detail: detail}
}

func (e *RejectError) Error() string {
	s := fmt.Sprintf("ul: association rejected (%s, %s: %s)", e.Result, e.Source, e.Reason.describe(e.Source))
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Is makes errors.Is(err, ErrRejected) true.
func (e *RejectError) Is(target error) bool { return target == ErrRejected }

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformedPDU, fmt.Sprintf(format, args...))
}
