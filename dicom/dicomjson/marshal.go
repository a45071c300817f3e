// Package dicomjson encodes data sets as the DICOM JSON Model (PS3.18 F.2)
// and decodes them back.
//
// The encoder appends to a byte slice by hand rather than going through
// encoding/json reflection: QIDO-RS and /metadata responses are built from
// thousands of data sets and this is their hot path.
package dicomjson

import (
	"encoding/base64"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// Options tune the encoder.
type Options struct {
	// BulkDataURI, when set, is asked for the URI of each binary value
	// (OB, OD, OF, OL, OV, OW, UN) and of Pixel Data; a non-empty answer is
	// written as "BulkDataURI", an empty one inlines the value.
	BulkDataURI func(e *dicom.Element) string
	// Bulk is the source to read values that were left there (Element.Bulk)
	// when they must be inlined; without it such values are omitted.
	Bulk io.ReaderAt
	// OmitBulk drops binary values that are not loaded and have no URI.
	OmitBulk bool
}

// Marshal returns the DICOM JSON object for ds.
func Marshal(ds *dicom.Dataset, opts Options) ([]byte, error) {
	return AppendDataset(make([]byte, 0, sizeHint(ds)), ds, opts)
}

// sizeHint estimates the length of ds's DICOM JSON from its loaded values
// (base64 for binary ones), so that Marshal allocates about once rather
// than growing through every power of two: headers with large private
// binary values run to hundreds of kilobytes.
func sizeHint(ds *dicom.Dataset) int {
	n := 2
	for _, e := range ds.Elements {
		n += 32 + len(e.Value)*4/3
		for _, it := range e.Items {
			n += sizeHint(it)
		}
	}
	return n
}

// AppendDataset appends the DICOM JSON object for ds to buf.
func AppendDataset(buf []byte, ds *dicom.Dataset, opts Options) ([]byte, error) {
	buf = append(buf, '{')
	first := true
	var err error
	for _, e := range ds.Elements {
		if e.Tag.Group() == 0xFFFE {
			continue
		}
		mark := len(buf)
		if !first {
			buf = append(buf, ',')
		}
		var skip bool
		buf, skip, err = appendElement(buf, ds, e, opts)
		if err != nil {
			return buf, fmt.Errorf("dicomjson: %s: %w", e.Tag, err)
		}
		if skip {
			buf = buf[:mark]
			continue
		}
		first = false
	}
	return append(buf, '}'), nil
}

func appendElement(buf []byte, ds *dicom.Dataset, e *dicom.Element, opts Options) ([]byte, bool, error) {
	vr := e.VR
	if vr == dicom.VRNone {
		vr = dicom.UN
	}
	buf = append(buf, '"')
	buf = appendTagHex(buf, e.Tag)
	buf = append(buf, `":{"vr":"`...)
	buf = append(buf, vr.String()...)
	buf = append(buf, '"')
	var err error
	switch {
	case e.IsSequence():
		buf = append(buf, `,"Value":[`...)
		for i, it := range e.Items {
			if i > 0 {
				buf = append(buf, ',')
			}
			if buf, err = AppendDataset(buf, it, opts); err != nil {
				return buf, false, err
			}
		}
		buf = append(buf, ']')
	case vr == dicom.PN:
		buf = appendPN(buf, ds, e)
	case vr.IsString():
		buf = appendStrings(buf, ds, e)
	case vr == dicom.AT:
		ints, _ := ds.Ints(e)
		buf = append(buf, `,"Value":[`...)
		for i, v := range ints {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, '"')
			buf = appendTagHex(buf, dicom.Tag(v))
			buf = append(buf, '"')
		}
		buf = append(buf, ']')
	case vr == dicom.US || vr == dicom.SS || vr == dicom.UL || vr == dicom.SL || vr == dicom.SV || vr == dicom.UV:
		ints, _ := ds.Ints(e)
		if len(ints) > 0 {
			buf = append(buf, `,"Value":[`...)
			for i, v := range ints {
				if i > 0 {
					buf = append(buf, ',')
				}
				if vr == dicom.UV {
					buf = strconv.AppendUint(buf, uint64(v), 10)
				} else {
					buf = strconv.AppendInt(buf, v, 10)
				}
			}
			buf = append(buf, ']')
		}
	case vr == dicom.FL || vr == dicom.FD:
		fs, _ := ds.Floats(e)
		if len(fs) > 0 {
			buf = append(buf, `,"Value":[`...)
			for i, v := range fs {
				if i > 0 {
					buf = append(buf, ',')
				}
				buf = appendFloat(buf, v, vr == dicom.FL)
			}
			buf = append(buf, ']')
		}
	default: // OB OD OF OL OV OW UN and encapsulated Pixel Data
		uri, v, omit, err := opts.BinaryValue(e)
		switch {
		case err != nil:
			return buf, false, err
		case omit:
			return buf, true, nil
		case uri != "":
			buf = append(buf, `,"BulkDataURI":`...)
			buf = AppendString(buf, uri)
		case len(v) > 0:
			buf = append(buf, `,"InlineBinary":"`...)
			buf = base64.StdEncoding.AppendEncode(buf, v)
			buf = append(buf, '"')
		}
	}
	return append(buf, '}'), false, nil
}

// BinaryValue decides how opts encodes the binary element e (OB, OD, OF,
// OL, OV, OW, UN, encapsulated Pixel Data): by its BulkDataURI (uri), inline
// (v, read from opts.Bulk when the reader left it there), or not at all
// (omit). The DICOM XML encoder (package dicomxml) shares these rules.
func (opts Options) BinaryValue(e *dicom.Element) (uri string, v []byte, omit bool, err error) {
	if opts.BulkDataURI != nil {
		if uri := opts.BulkDataURI(e); uri != "" {
			return uri, nil, false, nil
		}
	}
	if e.IsEncapsulated() {
		if opts.OmitBulk || opts.Bulk == nil {
			return "", nil, true, nil
		}
		return "", nil, false, fmt.Errorf("encapsulated Pixel Data cannot be inlined; give a BulkDataURI")
	}
	if !e.Bulk {
		return "", e.Value, false, nil
	}
	if opts.OmitBulk || opts.Bulk == nil {
		return "", nil, true, nil
	}
	v = make([]byte, e.Length)
	if _, err := opts.Bulk.ReadAt(v, e.Offset); err != nil {
		return "", nil, false, err
	}
	return "", v, false, nil
}

func appendFloat(buf []byte, v float64, single bool) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		// JSON has no NaN/Inf; PS3.18 leaves them unrepresentable, so use strings.
		return AppendString(buf, strconv.FormatFloat(v, 'g', -1, 64))
	}
	bits := 64
	if single {
		bits = 32
	}
	return strconv.AppendFloat(buf, v, 'g', -1, bits)
}

func appendStrings(buf []byte, ds *dicom.Dataset, e *dicom.Element) []byte {
	vals := ds.Strings(e)
	if len(vals) == 0 || len(vals) == 1 && vals[0] == "" {
		return buf
	}
	buf = append(buf, `,"Value":[`...)
	for i, s := range vals {
		if i > 0 {
			buf = append(buf, ',')
		}
		if s == "" {
			buf = append(buf, "null"...)
			continue
		}
		switch e.VR {
		case dicom.IS, dicom.DS:
			if n, ok := jsonNumber(s, e.VR == dicom.IS); ok {
				buf = append(buf, n...)
			} else {
				buf = AppendString(buf, s) // a malformed number is kept, not lost
			}
		default:
			buf = AppendString(buf, s)
		}
	}
	return append(buf, ']')
}

// jsonNumber returns s as a valid JSON number: DICOM allows forms JSON
// does not ("+1", ".5", "1.", "01").
func jsonNumber(s string, integer bool) (string, bool) {
	if integer {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			f, ferr := strconv.ParseFloat(s, 64)
			if ferr != nil || f != math.Trunc(f) {
				return "", false
			}
			v = int64(f)
		}
		return strconv.FormatInt(v, 10), true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return "", false
	}
	if isCanonicalJSONNumber(s) {
		return s, true
	}
	return strconv.FormatFloat(f, 'g', -1, 64), true
}

func isCanonicalJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i >= len(s) {
		return false
	}
	if s[i] == '0' {
		i++
	} else if s[i] >= '1' && s[i] <= '9' {
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	} else {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j {
			return false
		}
	}
	return i == len(s)
}

func appendPN(buf []byte, ds *dicom.Dataset, e *dicom.Element) []byte {
	vals := ds.Strings(e)
	if len(vals) == 0 || len(vals) == 1 && vals[0] == "" {
		return buf
	}
	buf = append(buf, `,"Value":[`...)
	for i, s := range vals {
		if i > 0 {
			buf = append(buf, ',')
		}
		if s == "" {
			buf = append(buf, "null"...)
			continue
		}
		groups := strings.SplitN(s, "=", 3)
		buf = append(buf, '{')
		n := 0
		for gi, g := range groups {
			g = strings.TrimRight(g, " ")
			if g == "" {
				continue
			}
			if n > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, '"')
			buf = append(buf, [...]string{"Alphabetic", "Ideographic", "Phonetic"}[gi]...)
			buf = append(buf, `":`...)
			buf = AppendString(buf, g)
			n++
		}
		buf = append(buf, '}')
	}
	return append(buf, ']')
}

const hexDigits = "0123456789abcdef"

// AppendString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
// Front ends that build DICOM JSON by hand (QIDO-RS) share it.
func AppendString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}
