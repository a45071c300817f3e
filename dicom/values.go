package dicom

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom/charset"
)

// This file turns raw values into Go values. Strings are decoded from the
// data set's Specific Character Set, split at backslashes where the VR is
// multi-valued, and trimmed of the padding DICOM allows.

func trimSpaces(s string) string { return strings.Trim(s, " \x00") }

func trimUID(b []byte) string { return strings.TrimRight(strings.TrimSpace(string(b)), "\x00 ") }

func splitValues(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	return strings.Split(string(b), `\`)
}

// order returns the byte order of the data set's raw values.
func (ds *Dataset) order() binary.ByteOrder {
	if ds != nil && ds.Encoding.BigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}

// Text decodes the raw value of a string element to UTF-8 as one string,
// backslashes included, with trailing padding removed (Strings also trims
// leading spaces where the VR allows). Text of VRs outside the Specific
// Character Set's reach is read as ASCII/Latin-1.
func (ds *Dataset) Text(e *Element) string {
	if e == nil || e.Value == nil {
		return ""
	}
	var s string
	if e.VR.UsesCharset() {
		kind := charset.KindText
		switch e.VR {
		case PN:
			kind = charset.KindPN
		case LT, ST, UT:
			kind = charset.KindLongText
		}
		s, _ = ds.Charset().Decode(e.Value, kind)
	} else {
		s = latin1(e.Value)
	}
	return strings.TrimRight(s, " \x00")
}

func latin1(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

// Strings returns the values of a string element, decoded and trimmed; a
// present but empty element gives an empty slice.
func (ds *Dataset) Strings(e *Element) []string {
	if e == nil || len(e.Value) == 0 {
		return []string{}
	}
	s := ds.Text(e)
	if !e.VR.IsMultiValued() {
		return []string{s}
	}
	vals := strings.Split(s, `\`)
	for i, v := range vals {
		switch e.VR {
		case LT, ST, UT, UR:
		default:
			vals[i] = strings.Trim(v, " \x00")
		}
	}
	return vals
}

// String returns the first value of the element with the tag, or "".
func (ds *Dataset) String(tag Tag) string {
	e := ds.Get(tag)
	if e == nil {
		return ""
	}
	if !e.VR.IsString() {
		if v := ds.Values(e); len(v) > 0 {
			return fmt.Sprint(v[0])
		}
		return ""
	}
	v := ds.Strings(e)
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// Int returns the first value of a binary integer or IS element, and false
// when the element is absent or holds no integer.
func (ds *Dataset) Int(tag Tag) (int64, bool) {
	e := ds.Get(tag)
	if e == nil {
		return 0, false
	}
	ints, err := ds.Ints(e)
	if err != nil || len(ints) == 0 {
		return 0, false
	}
	return ints[0], true
}

// Ints decodes the values of US, SS, UL, SL, UV, SV, AT, OB, OW, OL, OV and IS elements.
func (ds *Dataset) Ints(e *Element) ([]int64, error) {
	o := ds.order()
	b := e.Value
	var out []int64
	switch e.VR {
	case US, OW:
		for i := 0; i+2 <= len(b); i += 2 {
			out = append(out, int64(o.Uint16(b[i:])))
		}
	case SS:
		for i := 0; i+2 <= len(b); i += 2 {
			out = append(out, int64(int16(o.Uint16(b[i:]))))
		}
	case UL, OL:
		for i := 0; i+4 <= len(b); i += 4 {
			out = append(out, int64(o.Uint32(b[i:])))
		}
	case SL:
		for i := 0; i+4 <= len(b); i += 4 {
			out = append(out, int64(int32(o.Uint32(b[i:]))))
		}
	case UV, SV, OV:
		for i := 0; i+8 <= len(b); i += 8 {
			out = append(out, int64(o.Uint64(b[i:])))
		}
	case AT:
		for i := 0; i+4 <= len(b); i += 4 {
			out = append(out, int64(NewTag(o.Uint16(b[i:]), o.Uint16(b[i+2:]))))
		}
	case OB, UN:
		for _, c := range b {
			out = append(out, int64(c))
		}
	case IS:
		for _, s := range ds.Strings(e) {
			if s == "" {
				continue
			}
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				// Vendors write "12.0" in IS; accept integral decimals.
				f, ferr := strconv.ParseFloat(s, 64)
				if ferr != nil || f != math.Trunc(f) {
					return out, fmt.Errorf("dicom: %s IS value %q: %w", e.Tag, s, err)
				}
				v = int64(f)
			}
			out = append(out, v)
		}
	default:
		return nil, fmt.Errorf("dicom: %s has VR %s, not an integer VR", e.Tag, e.VR)
	}
	return out, nil
}

// Floats decodes the values of FL, FD, OF, OD and DS elements (and integer VRs).
func (ds *Dataset) Floats(e *Element) ([]float64, error) {
	o := ds.order()
	b := e.Value
	var out []float64
	switch e.VR {
	case FL, OF:
		for i := 0; i+4 <= len(b); i += 4 {
			out = append(out, float64(math.Float32frombits(o.Uint32(b[i:]))))
		}
	case FD, OD:
		for i := 0; i+8 <= len(b); i += 8 {
			out = append(out, math.Float64frombits(o.Uint64(b[i:])))
		}
	case DS:
		for _, s := range ds.Strings(e) {
			if s == "" {
				continue
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return out, fmt.Errorf("dicom: %s DS value %q: %w", e.Tag, s, err)
			}
			out = append(out, v)
		}
	default:
		ints, err := ds.Ints(e)
		for _, v := range ints {
			out = append(out, float64(v))
		}
		return out, err
	}
	return out, nil
}

// Values returns the element's values as Go values: strings for string VRs,
// int64 for integer VRs, float64 for float VRs and Tag for AT. Byte VRs and
// sequences give nil.
func (ds *Dataset) Values(e *Element) []any {
	var out []any
	switch {
	case e.VR.IsString():
		for _, s := range ds.Strings(e) {
			out = append(out, s)
		}
	case e.VR == AT:
		ints, _ := ds.Ints(e)
		for _, v := range ints {
			out = append(out, Tag(v))
		}
	case e.VR == US || e.VR == SS || e.VR == UL || e.VR == SL || e.VR == UV || e.VR == SV:
		ints, _ := ds.Ints(e)
		for _, v := range ints {
			if e.VR == UV {
				out = append(out, uint64(v))
			} else {
				out = append(out, v)
			}
		}
	case e.VR == FL || e.VR == FD:
		fs, _ := ds.Floats(e)
		for _, v := range fs {
			out = append(out, v)
		}
	}
	return out
}
