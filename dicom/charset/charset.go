package charset

import (
	"errors"
	"fmt"
	"strings"
)

// Kind selects the delimiters at which the character set designations of
// the first value of (0008,0005) are restored (PS3.5 6.1.2.5.3).
type Kind int

const (
	// KindText is for SH, LO and UC: designations reset at '\' (value
	// delimiter) and at control characters.
	KindText Kind = iota
	// KindLongText is for ST, LT and UT: designations reset at CR, LF, FF,
	// TAB and the other control characters; '\' is an ordinary character.
	KindLongText
	// KindPN is for PN: designations reset at '^' (component delimiter), '='
	// (component group delimiter), '\' and control characters.
	KindPN
)

// String returns the name of the kind.
func (k Kind) String() string {
	switch k {
	case KindText:
		return "KindText"
	case KindLongText:
		return "KindLongText"
	case KindPN:
		return "KindPN"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// KindForVR returns the Kind for a two-letter VR and whether values of that
// VR are encoded in the Specific Character Set at all. Only SH, LO, UC, ST,
// LT, UT and PN are; every other VR uses the default repertoire.
func KindForVR(vr string) (Kind, bool) {
	switch vr {
	case "SH", "LO", "UC":
		return KindText, true
	case "ST", "LT", "UT":
		return KindLongText, true
	case "PN":
		return KindPN, true
	}
	return KindText, false
}

// ErrReplaced is wrapped by a [*DecodeError] when bytes that could not be
// decoded were replaced with U+FFFD.
var ErrReplaced = errors.New("charset: undecodable bytes replaced with U+FFFD")

// ErrUndeclared is wrapped by a [*DecodeError] when bytes outside the
// declared repertoire were read in an undeclared but unambiguous way (for
// example UTF-8 in a data set without (0008,0005)); nothing was lost.
var ErrUndeclared = errors.New("charset: bytes outside the declared repertoire")

// ErrUnknownTerm is wrapped by a [*TermError] for a value of (0008,0005)
// that is neither a defined term nor a recognisable misspelling of one.
var ErrUnknownTerm = errors.New("charset: unknown Specific Character Set term")

// DecodeError reports that a value was not valid in its Set. The string
// returned with it is still the best available reading.
type DecodeError struct {
	Set    string // the Set's terms, as in (0008,0005)
	Offset int    // byte offset of the first problem in the value
	Reason string // what was wrong at Offset
	// Lossy is true when at least one byte sequence was replaced with
	// U+FFFD; Undeclared when at least one was read outside the declared
	// repertoire. Either or both may be set whatever the first problem was.
	Lossy, Undeclared bool
	Count             int // number of problems found
}

func (e *DecodeError) Error() string {
	set := e.Set
	if set == "" {
		set = "default repertoire"
	}
	s := fmt.Sprintf("charset: decoding with %s: at byte %d: %s", set, e.Offset, e.Reason)
	if e.Count > 1 {
		s += fmt.Sprintf(" (and %d more)", e.Count-1)
	}
	return s
}

// Unwrap returns [ErrReplaced] and/or [ErrUndeclared].
func (e *DecodeError) Unwrap() []error {
	var errs []error
	if e.Lossy {
		errs = append(errs, ErrReplaced)
	}
	if e.Undeclared {
		errs = append(errs, ErrUndeclared)
	}
	return errs
}

// EncodeError reports a character that the Set cannot represent. The bytes
// returned with it have '?' in its place.
type EncodeError struct {
	Set    string // the Set's terms, as in (0008,0005)
	Rune   rune   // the first character that could not be encoded
	Offset int    // its byte offset in the UTF-8 input
	Count  int    // number of characters that could not be encoded
}

func (e *EncodeError) Error() string {
	set := e.Set
	if set == "" {
		set = "default repertoire"
	}
	s := fmt.Sprintf("charset: cannot encode %U %q at byte %d in %s", e.Rune, e.Rune, e.Offset, set)
	if e.Count > 1 {
		s += fmt.Sprintf(" (and %d more)", e.Count-1)
	}
	return s
}

// TermError describes one value of (0008,0005) that [Parse] had to correct
// or ignore.
type TermError struct {
	Index   int    // position of the value in (0008,0005)
	Term    string // the value as given
	Assumed string // the defined term used instead, "" if the value was ignored
	Reason  string
	unknown bool
}

func (e *TermError) Error() string {
	s := fmt.Sprintf("charset: Specific Character Set value %d %q: %s", e.Index+1, e.Term, e.Reason)
	if e.Assumed != "" {
		s += fmt.Sprintf("; assuming %q", e.Assumed)
	}
	return s
}

// Unwrap returns [ErrUnknownTerm] if the value was not recognised.
func (e *TermError) Unwrap() error {
	if e.unknown {
		return ErrUnknownTerm
	}
	return nil
}

// Set is a parsed Specific Character Set. It is immutable and safe for
// concurrent use. The nil *Set behaves as [Default].
type Set struct {
	terms []string // canonical terms in effect; nil for the default repertoire
	name  string   // terms joined with '\'
	mode  mode
	g0    gset // G0 designation at the start of each value and after delimiters
	g1    gset // G1 designation likewise; gNone if none
	// declared has bit 1<<g set for every graphic set that a value of
	// (0008,0005) designates.
	declared uint32
	// cands lists the sets other than ASCII and ISO-IR 14, in the order of
	// the values of (0008,0005), that the encoder may designate.
	cands []gset
	// sniffUTF8 is true when only the default repertoire is declared: 8-bit
	// values that are valid UTF-8 are read as UTF-8.
	sniffUTF8 bool
}

type mode uint8

const (
	modeISO2022 mode = iota // every set but the three below
	modeUTF8                // ISO_IR 192
	modeGB18030             // GB18030
	modeGBK                 // GBK
)

// Default is the default repertoire ISO_IR 6 (ASCII), used when a data set
// has no (0008,0005) or an empty one. It encodes ASCII only. It decodes
// 8-bit bytes, which are not in the repertoire, as UTF-8 when the whole
// value is valid UTF-8 and as ISO_IR 100 (Latin-1, like pydicom) otherwise,
// reporting [ErrUndeclared].
var Default = &Set{mode: modeISO2022, g0: gASCII, g1: gNone, declared: 1 << gASCII, sniffUTF8: true}

// Terms returns the defined terms the Set implements, in the form of the
// values of (0008,0005): corrected spellings, ignored values left out, an
// empty first value kept. It returns nil for [Default].
func (s *Set) Terms() []string {
	if s == nil || s.terms == nil {
		return nil
	}
	return append([]string(nil), s.terms...)
}

// String returns the terms joined with '\', as (0008,0005) would hold them.
func (s *Set) String() string {
	if s == nil {
		return ""
	}
	return s.name
}

func newSet(terms []string) *Set {
	s := &Set{terms: terms, name: strings.Join(terms, `\`)}
	return s
}
