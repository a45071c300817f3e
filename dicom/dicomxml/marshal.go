// Package dicomxml encodes data sets as the Native DICOM Model of PS3.19
// (Annex A, the XML form DICOMweb serves as application/dicom+xml) and
// decodes them back. Its API and options mirror dicom/dicomjson so that
// callers pick the representation and nothing else.
//
// Element shapes (PS3.19 A.1):
//
//	<NativeDicomModel xmlns="http://dicom.nema.org/PS3.19/models/NativeDICOM" xml:space="preserve">
//	  <DicomAttribute tag="00100010" vr="PN" keyword="PatientName">
//	    <PersonName number="1"><Alphabetic><FamilyName>Doe</FamilyName>...</Alphabetic></PersonName>
//	  </DicomAttribute>
//	  <DicomAttribute tag="00090001" vr="LO" privateCreator="GEMS_IDEN_01"><Value number="1">x</Value></DicomAttribute>
//	  <DicomAttribute tag="00081115" vr="SQ" keyword="ReferencedSeriesSequence"><Item number="1">...</Item></DicomAttribute>
//	  <DicomAttribute tag="7FE00010" vr="OW" keyword="PixelData"><BulkData uri="..."/></DicomAttribute>
//	</NativeDicomModel>
//
// A private element is written with the block bits of its tag masked
// (gggg00ee, as PS3.19 and DCMTK's dcm2xml do) and its Private Creator in
// the privateCreator attribute; the decoder puts it back in a block
// reserved for that creator.
//
// Person names are written as components, so a name made of delimiters
// only ("^^^^") reads back empty and trailing empty components lose their
// delimiters (insignificant per PS3.5 6.2).
//
// The decoder (parse.go) reads the document with the XML tokenizer, not
// reflection: about 1.5x less CPU than encoding/xml.Unmarshal into
// structs. Items nest at most 64 deep.
//
// Text is written as UTF-8. Characters XML 1.0 cannot carry (C0 controls
// other than tab, line feed and carriage return) and invalid UTF-8 become
// U+FFFD; a carriage return is written as a character reference so that it
// survives XML end-of-line normalization.
package dicomxml

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
)

// Namespace is the XML namespace of the Native DICOM Model.
const Namespace = "http://dicom.nema.org/PS3.19/models/NativeDICOM"

// Options are those of the DICOM JSON encoder: the two encodings of the
// model share their rules for binary values (BulkDataURI, inline, omitted).
type Options = dicomjson.Options

const header = `<?xml version="1.0" encoding="UTF-8"?>` + "\n"

// Marshal returns the XML document (declaration and NativeDicomModel root)
// for ds.
func Marshal(ds *dicom.Dataset, opts Options) ([]byte, error) {
	buf := append([]byte(nil), header...)
	buf = append(buf, `<NativeDicomModel xmlns="`+Namespace+`" xml:space="preserve">`...)
	buf, err := AppendDataset(buf, ds, opts)
	if err != nil {
		return buf, err
	}
	return append(buf, "</NativeDicomModel>\n"...), nil
}

// AppendDataset appends the DicomAttribute elements of ds to buf (no root
// element), so that callers can nest them.
func AppendDataset(buf []byte, ds *dicom.Dataset, opts Options) ([]byte, error) {
	var err error
	for _, e := range ds.Elements {
		if e.Tag.Group() == 0xFFFE {
			continue
		}
		mark := len(buf)
		var skip bool
		buf, skip, err = appendElement(buf, ds, e, opts)
		if err != nil {
			return buf, fmt.Errorf("dicomxml: %s: %w", e.Tag, err)
		}
		if skip {
			buf = buf[:mark]
		}
	}
	return buf, nil
}

// privateCreatorOf returns the Private Creator reserving e's block, or "".
func privateCreatorOf(ds *dicom.Dataset, t dicom.Tag) string {
	if !t.IsPrivate() || t.Element() < 0x1000 {
		return ""
	}
	c := ds.Get(dicom.Tag(uint32(t.Group())<<16 | uint32(t.Element()>>8)))
	if c == nil {
		return ""
	}
	return ds.String(c.Tag)
}

func appendElement(buf []byte, ds *dicom.Dataset, e *dicom.Element, opts Options) ([]byte, bool, error) {
	vr := e.VR
	if vr == dicom.VRNone {
		vr = dicom.UN
	}
	if e.IsSequence() {
		vr = dicom.SQ
	}
	pc := privateCreatorOf(ds, e.Tag)
	tag := e.Tag
	if pc != "" {
		// PS3.19 A.1: a private tag is written with its block masked
		// (gggg00ee); privateCreator says whose block it is.
		tag = dicom.Tag(uint32(tag.Group())<<16 | uint32(tag.Element()&0xFF))
	}
	buf = append(buf, `<DicomAttribute tag="`...)
	buf = append(buf, tag.Hex()...)
	buf = append(buf, `" vr="`...)
	buf = append(buf, vr.String()...)
	buf = append(buf, '"')
	if kw := e.Tag.Keyword(); kw != "" && !e.Tag.IsPrivate() {
		buf = append(buf, ` keyword="`...)
		buf = append(buf, kw...)
		buf = append(buf, '"')
	}
	if pc != "" {
		buf = append(buf, ` privateCreator="`...)
		buf = appendEscaped(buf, pc, true)
		buf = append(buf, '"')
	}
	buf = append(buf, '>')
	var err error
	switch {
	case e.IsSequence():
		for i, it := range e.Items {
			buf = appendNumbered(buf, "Item", i)
			if buf, err = AppendDataset(buf, it, opts); err != nil {
				return buf, false, err
			}
			buf = append(buf, "</Item>"...)
		}
	case vr == dicom.PN:
		buf = appendPN(buf, ds.Strings(e))
	case vr.IsString():
		vals := ds.Strings(e)
		if len(vals) == 1 && vals[0] == "" {
			break
		}
		for i, s := range vals {
			buf = appendValue(buf, i, s)
		}
	case vr == dicom.AT:
		ints, _ := ds.Ints(e)
		for i, v := range ints {
			buf = appendValue(buf, i, dicom.Tag(v).Hex())
		}
	case vr == dicom.US || vr == dicom.SS || vr == dicom.UL || vr == dicom.SL || vr == dicom.SV || vr == dicom.UV:
		ints, _ := ds.Ints(e)
		for i, v := range ints {
			if vr == dicom.UV {
				buf = appendValue(buf, i, strconv.FormatUint(uint64(v), 10))
			} else {
				buf = appendValue(buf, i, strconv.FormatInt(v, 10))
			}
		}
	case vr == dicom.FL || vr == dicom.FD:
		fs, _ := ds.Floats(e)
		for i, v := range fs {
			buf = appendValue(buf, i, formatFloat(v, vr == dicom.FL))
		}
	default: // OB OD OF OL OV OW UN and encapsulated Pixel Data
		uri, v, omit, err := opts.BinaryValue(e)
		switch {
		case err != nil:
			return buf, false, err
		case omit:
			return buf, true, nil
		case uri != "":
			buf = append(buf, `<BulkData uri="`...)
			buf = appendEscaped(buf, uri, true)
			buf = append(buf, `"/>`...)
		case len(v) > 0:
			buf = append(buf, "<InlineBinary>"...)
			buf = base64.StdEncoding.AppendEncode(buf, v)
			buf = append(buf, "</InlineBinary>"...)
		}
	}
	return append(buf, "</DicomAttribute>"...), false, nil
}

func formatFloat(v float64, single bool) string {
	bits := 64
	if single {
		bits = 32
	}
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "INF"
	case math.IsInf(v, -1):
		return "-INF"
	}
	return strconv.FormatFloat(v, 'g', -1, bits)
}

func appendNumbered(buf []byte, name string, i int) []byte {
	buf = append(buf, '<')
	buf = append(buf, name...)
	buf = append(buf, ` number="`...)
	buf = strconv.AppendInt(buf, int64(i+1), 10)
	return append(buf, `">`...)
}

// appendValue writes <Value number="i+1">s</Value>; an empty value of a
// multi-valued element keeps its number with no content.
func appendValue(buf []byte, i int, s string) []byte {
	if s == "" {
		buf = append(buf, `<Value number="`...)
		buf = strconv.AppendInt(buf, int64(i+1), 10)
		return append(buf, `"/>`...)
	}
	buf = appendNumbered(buf, "Value", i)
	buf = appendEscaped(buf, s, false)
	return append(buf, "</Value>"...)
}

// pnComponents are the PS3.19 names of the five PN components.
var pnComponents = [...]string{"FamilyName", "GivenName", "MiddleName", "NamePrefix", "NameSuffix"}

// pnGroups are the PS3.19 names of the three component groups.
var pnGroups = [...]string{"Alphabetic", "Ideographic", "Phonetic"}

func appendPN(buf []byte, vals []string) []byte {
	if len(vals) == 1 && vals[0] == "" {
		return buf
	}
	for i, s := range vals {
		if s == "" {
			buf = append(buf, `<PersonName number="`...)
			buf = strconv.AppendInt(buf, int64(i+1), 10)
			buf = append(buf, `"/>`...)
			continue
		}
		buf = appendNumbered(buf, "PersonName", i)
		for gi, g := range splitN(s, '=', 3) {
			if trimRightSpace(g) == "" {
				continue
			}
			buf = append(buf, '<')
			buf = append(buf, pnGroups[gi]...)
			buf = append(buf, '>')
			for ci, c := range splitN(g, '^', 5) {
				c = trimRightSpace(c)
				if c == "" {
					continue
				}
				buf = append(buf, '<')
				buf = append(buf, pnComponents[ci]...)
				buf = append(buf, '>')
				buf = appendEscaped(buf, c, false)
				buf = append(buf, "</"...)
				buf = append(buf, pnComponents[ci]...)
				buf = append(buf, '>')
			}
			buf = append(buf, "</"...)
			buf = append(buf, pnGroups[gi]...)
			buf = append(buf, '>')
		}
		buf = append(buf, "</PersonName>"...)
	}
	return buf
}

// splitN splits s at sep into at most n pieces; the last keeps the rest.
func splitN(s string, sep byte, n int) []string {
	var out []string
	for len(out) < n-1 {
		i := indexByte(s, sep)
		if i < 0 {
			break
		}
		out = append(out, s[:i])
		s = s[i+1:]
	}
	return append(out, s)
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func trimRightSpace(s string) string {
	for len(s) > 0 && s[len(s)-1] == ' ' {
		s = s[:len(s)-1]
	}
	return s
}

// appendEscaped appends s as XML character data (attr: as an attribute
// value in double quotes).
func appendEscaped(buf []byte, s string, attr bool) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '&':
				buf = append(buf, "&amp;"...)
			case c == '<':
				buf = append(buf, "&lt;"...)
			case c == '>':
				buf = append(buf, "&gt;"...)
			case c == '"' && attr:
				buf = append(buf, "&quot;"...)
			case c == '\r':
				buf = append(buf, "&#xD;"...)
			case (c == '\n' || c == '\t') && attr:
				buf = append(buf, "&#x"...)
				buf = strconv.AppendInt(buf, int64(c), 16)
				buf = append(buf, ';')
			case c < 0x20 && c != '\n' && c != '\t':
				buf = append(buf, "\uFFFD"...)
			default:
				buf = append(buf, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == 0xFFFE || r == 0xFFFF {
			buf = append(buf, "\uFFFD"...)
		} else {
			buf = append(buf, s[i:i+size]...)
		}
		i += size
	}
	return buf
}
