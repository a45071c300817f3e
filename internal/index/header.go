package index

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Value is one normalised value of a configured attribute as the index
// stores it: Text is the matching form (trimmed; CS upper-cased; UIDs
// trimmed; dates, times and date-times in their sortable forms; PN the
// upper-cased alphabetic group, with Ideographic and Phonetic holding the
// other groups); Int is set for integer VRs; UTC holds the UTC instant of a
// DT value whose offset is known ("" otherwise).
type Value struct {
	Text        string
	Ideographic string
	Phonetic    string
	Int         *int64
	UTC         string
}

// jsonElement is one element of a DICOM JSON object (PS3.18 F.2).
type jsonElement struct {
	VR    string            `json:"vr"`
	Value []json.RawMessage `json:"Value"`
}

// HeaderValues extracts the values of attrs from a stored DICOM JSON
// header: out[i] holds the values of attrs[i] (none when absent or empty).
// Only top-level elements are read. A header that is not a JSON object is
// an error; values of unexpected shape are skipped.
func HeaderValues(header []byte, attrs []Attribute) ([][]Value, error) {
	out := make([][]Value, len(attrs))
	if len(attrs) == 0 || len(bytes.TrimSpace(header)) == 0 {
		return out, nil
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(header, &top); err != nil {
		return out, fmt.Errorf("index: header is not a DICOM JSON object: %w", err)
	}
	tz := headerText(top, 0x00080201)
	for i, a := range attrs {
		tag := a.Tag
		if a.Creator != "" {
			var ok bool
			if tag, ok = privateTag(top, a); !ok {
				continue
			}
		}
		raw, ok := top[fmt.Sprintf("%08X", tag)]
		if !ok {
			continue
		}
		var e jsonElement
		if json.Unmarshal(raw, &e) != nil {
			continue
		}
		for _, v := range e.Value {
			if val, ok := jsonValue(a, v, tz); ok {
				out[i] = append(out[i], val)
			}
		}
	}
	return out, nil
}

// HeaderMayHave is a cheap test before [HeaderValues]: false when the
// stored header certainly lacks attribute a (its tag, or for a private
// attribute its creator, does not occur in the text).
func HeaderMayHave(header []byte, a Attribute) bool {
	if a.Creator != "" {
		return bytes.Contains(header, []byte(a.Creator))
	}
	var key [10]byte
	key[0], key[9] = '"', '"'
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < 8; i++ {
		key[8-i] = hexDigits[a.Tag>>(4*i)&0xF]
	}
	return bytes.Contains(header, key[:])
}

// privateTag finds the block the header's creator element assigned to the
// creator of a, and returns a's tag in that block.
func privateTag(top map[string]json.RawMessage, a Attribute) (uint32, bool) {
	group := a.Tag >> 16
	for block := uint32(0x10); block <= 0xFF; block++ {
		if headerText(top, group<<16|block) == a.Creator {
			return group<<16 | block<<8 | a.Tag&0xFF, true
		}
	}
	return 0, false
}

// headerText returns the first string value of a top-level element.
func headerText(top map[string]json.RawMessage, tag uint32) string {
	raw, ok := top[fmt.Sprintf("%08X", tag)]
	if !ok {
		return ""
	}
	var e jsonElement
	if json.Unmarshal(raw, &e) != nil || len(e.Value) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(e.Value[0], &s) != nil {
		return ""
	}
	return TrimText(s)
}

// jsonValue normalises one JSON value of a.
func jsonValue(a Attribute, raw json.RawMessage, tz string) (Value, bool) {
	if a.Kind == KindPN {
		var pn struct{ Alphabetic, Ideographic, Phonetic string }
		if json.Unmarshal(raw, &pn) != nil {
			return Value{}, false
		}
		n := NormalizePersonName(PersonName(pn))
		if n.IsEmpty() {
			return Value{}, false
		}
		return Value{Text: UpperPN(n.Alphabetic), Ideographic: UpperPN(n.Ideographic), Phonetic: UpperPN(n.Phonetic)}, true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		var num json.Number
		if json.Unmarshal(raw, &num) != nil {
			return Value{}, false
		}
		s = num.String()
	}
	v := NormalizeValue(a.Kind, s)
	if v == "" {
		return Value{}, false
	}
	val := Value{Text: v}
	switch a.Kind {
	case KindInt:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return Value{}, false
		}
		val.Int = &n
	case KindDateTime:
		val.UTC = DateTimeUTC(s, tz)
	}
	return val, true
}

// NormalizeValue returns the index form of one value of a non-PN kind ("" for
// an empty or invalid value).
func NormalizeValue(kind Kind, s string) string {
	switch kind {
	case KindCode:
		return NormalizeCode(s)
	case KindUID:
		return NormalizeUID(s)
	case KindDate:
		return NormalizeDate(s)
	case KindTime:
		return NormalizeTime(s)
	case KindDateTime:
		return NormalizeDateTime(s)
	case KindInt:
		s = strings.TrimPrefix(TrimText(s), "+")
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			return ""
		}
		return s
	}
	return TrimText(s)
}
