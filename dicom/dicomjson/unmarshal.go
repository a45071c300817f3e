package dicomjson

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// Attribute is one element of a DICOM JSON object as decoded by encoding/json.
type Attribute struct {
	VR           string            `json:"vr"`
	Value        []json.RawMessage `json:"Value,omitempty"`
	InlineBinary string            `json:"InlineBinary,omitempty"`
	BulkDataURI  string            `json:"BulkDataURI,omitempty"`
}

// Object is a DICOM JSON object keyed by eight-hex-digit tags.
type Object map[string]Attribute

// Unmarshal decodes a DICOM JSON object into a data set whose text values
// are UTF-8 (the data set gets Specific Character Set ISO_IR 192 when it has
// non-ASCII text). BulkDataURI values become empty bulk elements whose URI is
// returned in the map, keyed by the element.
func Unmarshal(data []byte) (*dicom.Dataset, map[*dicom.Element]string, error) {
	var obj Object
	if err := json.Unmarshal(data, &obj); err != nil {
		return nil, nil, fmt.Errorf("dicomjson: %w", err)
	}
	uris := map[*dicom.Element]string{}
	nonASCII := false
	ds, err := fromObject(obj, uris, &nonASCII)
	// Text values are now UTF-8, whatever the original character set was.
	if err == nil && (nonASCII || ds.Get(dicom.TagSpecificCharacterSet) != nil) {
		ds.Set(dicom.NewStringElement(dicom.TagSpecificCharacterSet, dicom.CS, "ISO_IR 192"))
	}
	return ds, uris, err
}

func fromObject(obj Object, uris map[*dicom.Element]string, nonASCII *bool) (*dicom.Dataset, error) {
	ds := dicom.NewDataset()
	for key, a := range obj {
		v, err := strconv.ParseUint(key, 16, 32)
		if err != nil || len(key) != 8 {
			return nil, fmt.Errorf("dicomjson: %q is not an eight-digit hex tag", key)
		}
		tag := dicom.Tag(v)
		if len(a.VR) != 2 {
			return nil, fmt.Errorf("dicomjson: %s: missing or bad vr %q", tag, a.VR)
		}
		vr, ok := dicom.ParseVR(a.VR[0], a.VR[1])
		if !ok {
			return nil, fmt.Errorf("dicomjson: %s: unknown vr %q", tag, a.VR)
		}
		e := &dicom.Element{Tag: tag, VR: vr}
		switch {
		case a.BulkDataURI != "":
			e.Bulk = true
			uris[e] = a.BulkDataURI
		case a.InlineBinary != "":
			b, err := base64.StdEncoding.DecodeString(a.InlineBinary)
			if err != nil {
				return nil, fmt.Errorf("dicomjson: %s: InlineBinary: %w", tag, err)
			}
			e.Value = b
		case vr == dicom.SQ:
			for _, raw := range a.Value {
				var item Object
				if err := json.Unmarshal(raw, &item); err != nil {
					return nil, fmt.Errorf("dicomjson: %s item: %w", tag, err)
				}
				it, err := fromObject(item, uris, nonASCII)
				if err != nil {
					return nil, err
				}
				it.Parent = ds
				e.Items = append(e.Items, it)
			}
			if e.Items == nil {
				e.Items = []*dicom.Dataset{}
			}
		default:
			b, na, err := encodeValues(vr, a.Value)
			if err != nil {
				return nil, fmt.Errorf("dicomjson: %s: %w", tag, err)
			}
			*nonASCII = *nonASCII || na
			e.Value = b
		}
		e.Length = uint32(len(e.Value))
		ds.Set(e)
	}
	if ds.Get(dicom.TagSpecificCharacterSet) != nil { // an item's own set
		ds.Set(dicom.NewStringElement(dicom.TagSpecificCharacterSet, dicom.CS, "ISO_IR 192"))
	}
	return ds, nil
}

func encodeValues(vr dicom.VR, vals []json.RawMessage) ([]byte, bool, error) {
	le := binary.LittleEndian
	var out []byte
	nonASCII := false
	var strs []string
	for _, raw := range vals {
		if string(raw) == "null" {
			strs = append(strs, "")
			continue
		}
		switch {
		case vr == dicom.PN:
			var pn map[string]string
			if err := json.Unmarshal(raw, &pn); err != nil {
				return nil, false, err
			}
			s := strings.TrimRight(pn["Alphabetic"]+"="+pn["Ideographic"]+"="+pn["Phonetic"], "=")
			strs = append(strs, s)
		case vr == dicom.AT:
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, false, err
			}
			t, err := strconv.ParseUint(s, 16, 32)
			if err != nil {
				return nil, false, err
			}
			out = le.AppendUint16(out, uint16(t>>16))
			out = le.AppendUint16(out, uint16(t))
		case vr.IsString():
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				// IS/DS arrive as numbers.
				s = string(raw)
			}
			strs = append(strs, s)
		default:
			f, err := strconv.ParseFloat(string(raw), 64)
			if err != nil {
				var s string
				if json.Unmarshal(raw, &s) == nil {
					f, err = strconv.ParseFloat(s, 64)
				}
				if err != nil {
					return nil, false, fmt.Errorf("value %s is not a number", raw)
				}
			}
			switch vr {
			case dicom.US:
				out = le.AppendUint16(out, uint16(f))
			case dicom.SS:
				out = le.AppendUint16(out, uint16(int16(f)))
			case dicom.UL:
				out = le.AppendUint32(out, uint32(f))
			case dicom.SL:
				out = le.AppendUint32(out, uint32(int32(f)))
			case dicom.UV, dicom.SV:
				n, err := strconv.ParseInt(string(raw), 10, 64)
				if err != nil {
					n = int64(f)
				}
				out = le.AppendUint64(out, uint64(n))
			case dicom.FL:
				out = le.AppendUint32(out, math.Float32bits(float32(f)))
			case dicom.FD:
				out = le.AppendUint64(out, math.Float64bits(f))
			default:
				return nil, false, fmt.Errorf("vr %s cannot hold a Value array", vr)
			}
		}
	}
	if strs != nil {
		joined := strings.Join(strs, `\`)
		for i := 0; i < len(joined); i++ {
			if joined[i] >= 0x80 {
				nonASCII = true
				break
			}
		}
		out = []byte(joined)
		if len(out)%2 == 1 {
			out = append(out, vr.Padding())
		}
	}
	return out, nonASCII, nil
}
