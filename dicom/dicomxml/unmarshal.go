package dicomxml

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dict"
)

// maxValueNumber bounds the number attribute of Value and PersonName
// elements (and it may be at most about twice the count of values): gaps
// are filled with empty values, so a huge number must not allocate.
const maxValueNumber = 1 << 16

// xmlAttr and the types below hold a DicomAttribute as parse.go reads it.
type xmlAttr struct {
	Tag            string
	VR             string
	Keyword        string
	PrivateCreator string
	Values         []xmlValue
	Names          []xmlPN
	Items          []xmlItem
	BulkData       *xmlBulk
	InlineBinary   *xmlInlined
}

type xmlValue struct {
	Number int
	Text   string
}

type xmlItem struct {
	Number int
	Attrs  []xmlAttr
}

type xmlBulk struct {
	URI  string
	UUID string
}

type xmlInlined struct {
	Text string
}

type xmlPN struct {
	Number      int
	Alphabetic  *xmlNames
	Ideographic *xmlNames
	Phonetic    *xmlNames
}

type xmlNames struct {
	FamilyName string
	GivenName  string
	MiddleName string
	NamePrefix string
	NameSuffix string
}

func (n *xmlNames) String() string {
	if n == nil {
		return ""
	}
	return strings.TrimRight(n.FamilyName+"^"+n.GivenName+"^"+n.MiddleName+"^"+n.NamePrefix+"^"+n.NameSuffix, "^")
}

// Unmarshal decodes a NativeDicomModel document into a data set whose text
// values are UTF-8 (the data set gets Specific Character Set ISO_IR 192
// when it has non-ASCII text or named a character set). BulkData elements
// become empty bulk elements whose URI (or "urn:uuid:" + uuid) is returned
// in the map, keyed by the element.
//
// A DicomAttribute may name its tag by keyword alone and may omit vr for
// a public tag (the dictionary's is used). A private element is placed in
// the block reserved by its privateCreator: the block of its tag when the
// data set reserves it for that creator, otherwise an existing or a new
// reservation in its group.
func Unmarshal(data []byte) (*dicom.Dataset, map[*dicom.Element]string, error) {
	attrs, err := parseModel(data)
	if err != nil {
		return nil, nil, fmt.Errorf("dicomxml: %w", err)
	}
	uris := map[*dicom.Element]string{}
	nonASCII := false
	ds, err := fromAttrs(attrs, uris, &nonASCII)
	if err != nil {
		return nil, nil, err
	}
	if nonASCII || ds.Get(dicom.TagSpecificCharacterSet) != nil {
		ds.Set(dicom.NewStringElement(dicom.TagSpecificCharacterSet, dicom.CS, "ISO_IR 192"))
	}
	return ds, uris, nil
}

func fromAttrs(attrs []xmlAttr, uris map[*dicom.Element]string, nonASCII *bool) (*dicom.Dataset, error) {
	ds := dicom.NewDataset()
	type privateEl struct {
		e       *dicom.Element
		creator string
	}
	var privates []privateEl
	for i := range attrs {
		a := &attrs[i]
		tag, vr, err := tagAndVR(a)
		if err != nil {
			return nil, err
		}
		e := &dicom.Element{Tag: tag, VR: vr}
		switch {
		case a.BulkData != nil:
			uri := a.BulkData.URI
			if uri == "" && a.BulkData.UUID != "" {
				uri = "urn:uuid:" + a.BulkData.UUID
			}
			if uri == "" {
				return nil, fmt.Errorf("dicomxml: %s: BulkData without uri or uuid", tag)
			}
			e.Bulk = true
			uris[e] = uri
		case a.InlineBinary != nil:
			b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(a.InlineBinary.Text), ""))
			if err != nil {
				return nil, fmt.Errorf("dicomxml: %s: InlineBinary: %w", tag, err)
			}
			e.Value = b
		case vr == dicom.SQ:
			items := make([]xmlItem, len(a.Items))
			copy(items, a.Items)
			sort.SliceStable(items, func(i, j int) bool { return items[i].Number < items[j].Number })
			e.Items = []*dicom.Dataset{}
			for _, it := range items {
				sub, err := fromAttrs(it.Attrs, uris, nonASCII)
				if err != nil {
					return nil, err
				}
				sub.Parent = ds
				e.Items = append(e.Items, sub)
			}
		case vr == dicom.PN:
			strs, err := personNames(a.Names)
			if err != nil {
				return nil, fmt.Errorf("dicomxml: %s: %w", tag, err)
			}
			e.Value = joinStrings(vr, strs, nonASCII)
		default:
			strs, err := values(a.Values)
			if err != nil {
				return nil, fmt.Errorf("dicomxml: %s: %w", tag, err)
			}
			if vr.IsString() {
				e.Value = joinStrings(vr, strs, nonASCII)
			} else if e.Value, err = encodeBinary(vr, strs); err != nil {
				return nil, fmt.Errorf("dicomxml: %s: %w", tag, err)
			}
		}
		e.Length = uint32(len(e.Value))
		if el := tag.Element(); a.PrivateCreator != "" && tag.IsPrivate() && (el < 0x100 || el >= 0x1000) && !isOwnCreator(tag, e, a.PrivateCreator) {
			// gggg00ee (PS3.19; gggg0000 is element 00 of the block, not a
			// group length) or a full private tag
			privates = append(privates, privateEl{e, a.PrivateCreator})
			continue
		}
		ds.Set(e)
	}
	for _, p := range privates {
		if err := placePrivate(ds, p.e, p.creator); err != nil {
			return nil, err
		}
	}
	if ds.Get(dicom.TagSpecificCharacterSet) != nil { // an item's own set
		ds.Set(dicom.NewStringElement(dicom.TagSpecificCharacterSet, dicom.CS, "ISO_IR 192"))
	}
	return ds, nil
}

func tagAndVR(a *xmlAttr) (dicom.Tag, dicom.VR, error) {
	var tag dicom.Tag
	switch {
	case a.Tag != "":
		v, err := strconv.ParseUint(a.Tag, 16, 32)
		if err != nil || len(a.Tag) != 8 {
			return 0, 0, fmt.Errorf("dicomxml: tag %q is not eight hex digits", a.Tag)
		}
		tag = dicom.Tag(v)
	case a.Keyword != "":
		ent, ok := dict.ByKeyword(a.Keyword)
		if !ok {
			return 0, 0, fmt.Errorf("dicomxml: unknown keyword %q and no tag", a.Keyword)
		}
		tag = dicom.Tag(ent.Tag)
	default:
		return 0, 0, fmt.Errorf("dicomxml: DicomAttribute without tag or keyword")
	}
	vrs := a.VR
	if vrs == "" {
		vrs = "UN"
		if ent, ok := dict.Lookup(uint32(tag)); ok && !tag.IsPrivate() {
			vrs = dict.FirstVR(ent.VR)
		}
		if tag.IsPrivateCreator() {
			vrs = "LO"
		}
	}
	if len(vrs) != 2 {
		return 0, 0, fmt.Errorf("dicomxml: %s: bad vr %q", tag, vrs)
	}
	vr, ok := dicom.ParseVR(vrs[0], vrs[1])
	if !ok || vr == dicom.VRNone {
		return 0, 0, fmt.Errorf("dicomxml: %s: unknown vr %q", tag, vrs)
	}
	if tag.Group() == 0xFFFE {
		return 0, 0, fmt.Errorf("dicomxml: %s is an item or delimitation tag", tag)
	}
	return tag, vr, nil
}

// isOwnCreator reports a Private Creator element that names itself in
// privateCreator (some encoders do): it stays where it is.
func isOwnCreator(tag dicom.Tag, e *dicom.Element, creator string) bool {
	return tag.IsPrivateCreator() && strings.TrimRight(string(e.Value), " \x00") == strings.TrimRight(creator, " ")
}

// placePrivate sets a private element into the block its creator reserves.
func placePrivate(ds *dicom.Dataset, e *dicom.Element, creator string) error {
	g := uint32(e.Tag.Group())
	creator = strings.TrimRight(creator, " ")
	block := uint32(e.Tag.Element() >> 8)
	if block >= 0x10 {
		if c := ds.Get(dicom.Tag(g<<16 | block)); c != nil && ds.String(c.Tag) == creator {
			ds.Set(e)
			return nil
		}
	}
	free := uint32(0)
	for b := uint32(0x10); b <= 0xFF; b++ {
		c := ds.Get(dicom.Tag(g<<16 | b))
		if c == nil {
			if free == 0 {
				free = b
			}
			continue
		}
		if ds.String(c.Tag) == creator {
			block = b
			free = 0
			goto place
		}
	}
	if free == 0 {
		return fmt.Errorf("dicomxml: %s: no free private block in group %04X for %q", e.Tag, g, creator)
	}
	block = free
	ds.Set(dicom.NewStringElement(dicom.Tag(g<<16|block), dicom.LO, creator))
place:
	e.Tag = dicom.Tag(g<<16 | block<<8 | uint32(e.Tag.Element()&0xFF))
	ds.Set(e)
	return nil
}

// values returns the texts of Value elements in number order; missing
// numbers are empty values.
func values(vals []xmlValue) ([]string, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	max := 0
	for _, v := range vals {
		if v.Number > maxValueNumber || v.Number > 2*len(vals)+16 {
			return nil, fmt.Errorf("Value number %d is too large for %d values", v.Number, len(vals))
		}
		max = maxInt(max, v.Number)
	}
	if max == 0 { // no numbers: document order
		out := make([]string, len(vals))
		for i, v := range vals {
			out[i] = v.Text
		}
		return out, nil
	}
	out := make([]string, maxInt(max, len(vals)))
	next := 0
	for _, v := range vals {
		n := v.Number - 1
		if n < 0 {
			n = next
		}
		if n >= len(out) {
			return nil, fmt.Errorf("Value number %d out of order", v.Number)
		}
		out[n] = v.Text
		next = n + 1
	}
	return out, nil
}

func personNames(names []xmlPN) ([]string, error) {
	vals := make([]xmlValue, len(names))
	for i, pn := range names {
		s := strings.TrimRight(pn.Alphabetic.String()+"="+pn.Ideographic.String()+"="+pn.Phonetic.String(), "=")
		vals[i] = xmlValue{Number: pn.Number, Text: s}
	}
	return values(vals)
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

// joinStrings encodes string values, backslash-separated and padded.
func joinStrings(vr dicom.VR, strs []string, nonASCII *bool) []byte {
	if len(strs) == 0 {
		return nil
	}
	if vr == dicom.IS || vr == dicom.DS || vr == dicom.UI || vr == dicom.CS || vr == dicom.DA || vr == dicom.TM || vr == dicom.DT || vr == dicom.AS {
		for i := range strs {
			strs[i] = strings.TrimSpace(strs[i])
		}
	}
	joined := strings.Join(strs, `\`)
	for i := 0; i < len(joined); i++ {
		if joined[i] >= 0x80 {
			*nonASCII = true
			break
		}
	}
	out := []byte(joined)
	if len(out)%2 == 1 {
		out = append(out, vr.Padding())
	}
	return out
}

// encodeBinary encodes the values of a binary VR in little endian.
func encodeBinary(vr dicom.VR, strs []string) ([]byte, error) {
	le := binary.LittleEndian
	var out []byte
	for _, raw := range strs {
		s := strings.TrimSpace(raw)
		if vr == dicom.AT {
			t, err := strconv.ParseUint(s, 16, 32)
			if err != nil || len(s) != 8 {
				return nil, fmt.Errorf("AT value %q is not eight hex digits", s)
			}
			out = le.AppendUint16(out, uint16(t>>16))
			out = le.AppendUint16(out, uint16(t))
			continue
		}
		switch vr {
		case dicom.US, dicom.UL, dicom.UV:
			n, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("value %q is not an unsigned integer", s)
			}
			switch vr {
			case dicom.US:
				if n > math.MaxUint16 {
					return nil, fmt.Errorf("value %d out of range for US", n)
				}
				out = le.AppendUint16(out, uint16(n))
			case dicom.UL:
				if n > math.MaxUint32 {
					return nil, fmt.Errorf("value %d out of range for UL", n)
				}
				out = le.AppendUint32(out, uint32(n))
			default:
				out = le.AppendUint64(out, n)
			}
		case dicom.SS, dicom.SL, dicom.SV:
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("value %q is not an integer", s)
			}
			switch vr {
			case dicom.SS:
				if n < math.MinInt16 || n > math.MaxInt16 {
					return nil, fmt.Errorf("value %d out of range for SS", n)
				}
				out = le.AppendUint16(out, uint16(int16(n)))
			case dicom.SL:
				if n < math.MinInt32 || n > math.MaxInt32 {
					return nil, fmt.Errorf("value %d out of range for SL", n)
				}
				out = le.AppendUint32(out, uint32(int32(n)))
			default:
				out = le.AppendUint64(out, uint64(n))
			}
		case dicom.FL, dicom.FD:
			f, err := parseFloat(s)
			if err != nil {
				return nil, err
			}
			if vr == dicom.FL {
				out = le.AppendUint32(out, math.Float32bits(float32(f)))
			} else {
				out = le.AppendUint64(out, math.Float64bits(f))
			}
		default:
			return nil, fmt.Errorf("vr %s cannot hold Value elements", vr)
		}
	}
	return out, nil
}

func parseFloat(s string) (float64, error) {
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "INF":
		return math.Inf(1), nil
	case "-INF":
		return math.Inf(-1), nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("value %q is not a number", s)
	}
	return f, nil
}
