package dicom

import "github.com/lightbox-pacs/lightbox/dicom/dict"

// VR is a DICOM value representation (PS3.5 6.2).
type VR uint8

// The value representations of PS3.5 Table 6.2-1. VRNone marks items and
// delimiters, which carry no VR.
const (
	VRNone VR = iota
	AE
	AS
	AT
	CS
	DA
	DS
	DT
	FD
	FL
	IS
	LO
	LT
	OB
	OD
	OF
	OL
	OV
	OW
	PN
	SH
	SL
	SQ
	SS
	ST
	SV
	TM
	UC
	UI
	UL
	UN
	UR
	US
	UT
	UV
	vrCount
)

var vrNames = [vrCount]string{"", "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FD", "FL", "IS", "LO", "LT", "OB", "OD", "OF", "OL", "OV", "OW", "PN", "SH", "SL", "SQ", "SS", "ST", "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV"}

// vrByCode maps the two ASCII bytes of a VR, packed big-endian, to the VR.
var vrByCode = func() map[uint16]VR {
	m := make(map[uint16]VR, vrCount)
	for v := VR(1); v < vrCount; v++ {
		m[uint16(vrNames[v][0])<<8|uint16(vrNames[v][1])] = v
	}
	return m
}()

// String returns the two-letter name of the VR ("" for VRNone).
func (v VR) String() string {
	if v < vrCount {
		return vrNames[v]
	}
	return "??"
}

// ParseVR returns the VR named by two ASCII bytes, and false when they name none.
func ParseVR(b0, b1 byte) (VR, bool) {
	v, ok := vrByCode[uint16(b0)<<8|uint16(b1)]
	return v, ok
}

// VRFromName returns the VR for a name such as "PN"; dictionary alternatives
// such as "US or SS" resolve to the choice dict.FirstVR makes.
func VRFromName(name string) VR {
	name = dict.FirstVR(name)
	if len(name) != 2 {
		return UN
	}
	if v, ok := ParseVR(name[0], name[1]); ok {
		return v
	}
	return UN
}

// HasLongLength reports whether, in explicit VR encodings, the VR is followed
// by two reserved bytes and a 32-bit length rather than a 16-bit length.
func (v VR) HasLongLength() bool {
	switch v {
	case OB, OD, OF, OL, OV, OW, SQ, SV, UC, UN, UR, UT, UV:
		return true
	}
	return false
}

// IsString reports whether values of the VR are character strings.
func (v VR) IsString() bool {
	switch v {
	case AE, AS, CS, DA, DS, DT, IS, LO, LT, PN, SH, ST, TM, UC, UI, UR, UT:
		return true
	}
	return false
}

// UsesCharset reports whether the VR's text is encoded in the Specific
// Character Set; all other string VRs use the default repertoire.
func (v VR) UsesCharset() bool {
	switch v {
	case LO, LT, PN, SH, ST, UC, UT:
		return true
	}
	return false
}

// IsMultiValued reports whether a string VR may hold several values
// separated by backslashes (LT, ST, UT and UR never do).
func (v VR) IsMultiValued() bool {
	switch v {
	case LT, ST, UT, UR:
		return false
	}
	return true
}

// Padding returns the byte used to pad an odd-length value to even length.
func (v VR) Padding() byte {
	switch {
	case v == UI:
		return 0
	case v.IsString():
		return ' '
	}
	return 0
}

// WordSize returns the size in bytes of one binary value (2 for US, 8 for FD,
// ...), the unit a byte-order swap works on; 1 for byte and string VRs.
func (v VR) WordSize() int {
	switch v {
	case US, SS, OW, AT:
		return 2
	case UL, SL, FL, OF, OL:
		return 4
	case FD, OD, SV, UV, OV:
		return 8
	}
	return 1
}

// IsBinary reports whether the VR holds binary data (numbers or bytes).
func (v VR) IsBinary() bool { return !v.IsString() && v != SQ && v != VRNone }
