package index

import (
	"fmt"
	"strconv"
	"strings"
)

// Schema is the information model of one index: the attributes of the
// model (always indexed) plus the attributes an administrator configured
// (see [ParseAttributeSpec]). Configured attributes are taken from the
// stored header of each instance (top-level elements only, not items of
// sequences), normalised like model attributes of their VR, kept in a side
// table, and matched by the same rules ([Schema.ParseQuery]).
//
// A nil *Schema is the model alone. A Schema is immutable and safe for
// concurrent use.
type Schema struct {
	configured []Attribute
	byKey      map[Key]Attribute
	byTag      map[uint32][]Attribute
}

// NewSchema returns the schema of the model plus configured. Attributes of
// the model listed again are ignored (they are always indexed), as are
// repeated keys. Configured attributes must be of STUDY, SERIES or IMAGE
// level and of a VR that can be matched.
func NewSchema(configured []Attribute) (*Schema, error) {
	s := &Schema{byKey: map[Key]Attribute{}, byTag: map[uint32][]Attribute{}}
	for _, a := range configured {
		if a.Creator == "" {
			if _, ok := attrByTag[a.Tag]; ok {
				continue
			}
		}
		if _, ok := attrByKey[a.Key]; ok {
			continue
		}
		if _, dup := s.byKey[a.Key]; dup {
			continue
		}
		switch {
		case a.Key == "":
			return nil, fmt.Errorf("index: configured attribute %s has no key", tagString(a.Tag))
		case a.Level < StudyLevel || a.Level > InstanceLevel:
			return nil, fmt.Errorf("index: configured attribute %s: level must be STUDY, SERIES or IMAGE", a.Key)
		case a.Kind < KindString || a.Kind >= KindCount:
			return nil, fmt.Errorf("index: configured attribute %s: VR %q cannot be matched", a.Key, a.VR)
		case a.Multi:
			return nil, fmt.Errorf("index: configured attribute %s cannot be a derived list", a.Key)
		}
		a.Configured = true
		s.configured = append(s.configured, a)
		s.byKey[a.Key] = a
		s.byTag[a.Tag] = append(s.byTag[a.Tag], a)
	}
	return s, nil
}

// Configured returns the configured attributes outside the model, in
// configuration order.
func (s *Schema) Configured() []Attribute {
	if s == nil {
		return nil
	}
	return append([]Attribute(nil), s.configured...)
}

// Lookup returns the attribute named by key: one of the model, else a
// configured one.
func (s *Schema) Lookup(key Key) (Attribute, bool) {
	if a, ok := attrByKey[key]; ok {
		return a, true
	}
	if s == nil {
		return Attribute{}, false
	}
	a, ok := s.byKey[key]
	return a, ok
}

// LookupTag returns the attribute with the given tag. For a private tag
// (odd group, element 0x1000 and up) creator is the value of its private
// creator element; the private block the element was given is irrelevant.
// An empty creator matches the first configured private attribute of the
// tag (QIDO-RS cannot name creators).
func (s *Schema) LookupTag(tag uint32, creator string) (Attribute, bool) {
	if isPrivate(tag) {
		if s == nil {
			return Attribute{}, false
		}
		creator = TrimText(creator)
		for _, a := range s.byTag[normalizePrivate(tag)] {
			if creator == "" || a.Creator == creator {
				return a, true
			}
		}
		return Attribute{}, false
	}
	if a, ok := attrByTag[tag]; ok {
		return a, true
	}
	if s == nil {
		return Attribute{}, false
	}
	if as := s.byTag[tag]; len(as) > 0 {
		return as[0], true
	}
	return Attribute{}, false
}

// isPrivate reports whether tag is a private data element (not a creator).
func isPrivate(tag uint32) bool {
	return (tag>>16)&1 == 1 && tag&0xFFFF >= 0x1000
}

// normalizePrivate puts a private tag in block 0x10: (gggg,xxee) -> (gggg,10ee).
func normalizePrivate(tag uint32) uint32 { return tag&0xFFFF00FF | 0x1000 }

func tagString(tag uint32) string { return fmt.Sprintf("(%04X,%04X)", tag>>16, tag&0xFFFF) }

// Dictionary resolves standard attributes for [ParseAttributeSpec]. The
// index does not carry the data dictionary; the caller passes it in.
type Dictionary interface {
	// ByKeyword returns the tag and VR of a keyword.
	ByKeyword(keyword string) (tag uint32, vr string, ok bool)
	// ByTag returns the keyword and VR of a standard tag.
	ByTag(tag uint32) (keyword, vr string, ok bool)
}

// KindOfVR returns how values of vr are matched; ok is false for VRs that
// cannot be matched (sequences, binary and bulk VRs).
func KindOfVR(vr string) (Kind, bool) {
	switch vr {
	case "PN":
		return KindPN, true
	case "CS":
		return KindCode, true
	case "UI":
		return KindUID, true
	case "DA":
		return KindDate, true
	case "TM":
		return KindTime, true
	case "DT":
		return KindDateTime, true
	case "IS", "US", "SS", "UL", "SL", "UV", "SV":
		return KindInt, true
	case "AE", "AS", "DS", "LO", "LT", "SH", "ST", "UC", "UR", "UT":
		return KindString, true
	}
	return 0, false
}

// ParseAttributeSpec parses one configured attribute:
//
//	[LEVEL ":"] NAME ["@" CREATOR] ["/" VR]
//
// LEVEL is STUDY, SERIES or IMAGE (default IMAGE; INSTANCE is a synonym).
// NAME is a keyword (ProtocolName) or a tag: "00181030", "0018,1030" or
// "(0018,1030)". A private tag (odd group) needs its CREATOR and its VR;
// the element's block is irrelevant ("(0019,xx0C)" and "(0019,100C)" are
// the same attribute). VR overrides the dictionary's. Examples:
//
//	SERIES:ProtocolName
//	OperatorsName
//	SERIES:(0019,100C)@GEMS_ACQU_01/LO
func ParseAttributeSpec(spec string, dict Dictionary) (Attribute, error) {
	a := Attribute{Level: InstanceLevel, Configured: true}
	rest := strings.TrimSpace(spec)
	// A level prefix ends at the first colon, unless that colon is part of
	// the private creator.
	if lv, name, ok := strings.Cut(rest, ":"); ok && !strings.Contains(lv, "@") {
		switch strings.ToUpper(strings.TrimSpace(lv)) {
		case "STUDY":
			a.Level = StudyLevel
		case "SERIES":
			a.Level = SeriesLevel
		case "IMAGE", "INSTANCE":
			a.Level = InstanceLevel
		default:
			return a, fmt.Errorf("index: attribute %q: level %q is not STUDY, SERIES or IMAGE", spec, lv)
		}
		rest = strings.TrimSpace(name)
	}
	if i := strings.LastIndex(rest, "/"); i >= 0 {
		a.VR = strings.ToUpper(strings.TrimSpace(rest[i+1:]))
		rest = strings.TrimSpace(rest[:i])
	}
	if name, creator, ok := strings.Cut(rest, "@"); ok {
		a.Creator = strings.TrimSpace(creator)
		rest = strings.TrimSpace(name)
		if a.Creator == "" {
			return a, fmt.Errorf("index: attribute %q: empty private creator", spec)
		}
	}
	if rest == "" {
		return a, fmt.Errorf("index: attribute %q: no keyword or tag", spec)
	}
	tag, isTag, err := parseTagText(rest)
	if err != nil {
		return a, fmt.Errorf("index: attribute %q: %w", spec, err)
	}
	var dictVR string
	switch {
	case !isTag:
		if dict == nil {
			return a, fmt.Errorf("index: attribute %q: keywords need a dictionary", spec)
		}
		t, vr, ok := dict.ByKeyword(rest)
		if !ok {
			return a, fmt.Errorf("index: attribute %q: unknown keyword", spec)
		}
		a.Tag, a.Key, dictVR = t, Key(rest), vr
	case (tag>>16)&1 == 1:
		if tag&0xFFFF < 0x1000 {
			return a, fmt.Errorf("index: attribute %q: private creator elements cannot be indexed", spec)
		}
		if a.Creator == "" {
			return a, fmt.Errorf("index: attribute %q: a private tag needs its creator (\"@CREATOR\")", spec)
		}
		a.Tag = normalizePrivate(tag)
		a.Key = Key(fmt.Sprintf("%04Xxx%02X@%s", a.Tag>>16, a.Tag&0xFF, a.Creator))
	default:
		a.Tag = tag
		a.Key = Key(fmt.Sprintf("%08X", tag))
		if dict != nil {
			if kw, vr, ok := dict.ByTag(tag); ok {
				a.Key, dictVR = Key(kw), vr
			}
		}
	}
	if a.Creator != "" && !isPrivate(a.Tag) {
		return a, fmt.Errorf("index: attribute %q: only private tags have a creator", spec)
	}
	if a.VR == "" {
		a.VR = dictVR
	}
	a.VR, _, _ = strings.Cut(a.VR, " ") // "US or SS": take the first
	if a.VR == "" {
		return a, fmt.Errorf("index: attribute %q: VR unknown, give it as \"/VR\"", spec)
	}
	kind, ok := KindOfVR(a.VR)
	if !ok {
		return a, fmt.Errorf("index: attribute %q: VR %s cannot be matched", spec, a.VR)
	}
	a.Kind = kind
	if m, ok := attrByTag[a.Tag]; ok && a.Creator == "" {
		return m, nil // part of the model already
	}
	return a, nil
}

// parseTagText parses "ggggeeee", "gggg,eeee" or "(gggg,eeee)"; "xx" in the
// element stands for a private block. isTag is false for anything that
// does not look like a tag (a keyword).
func parseTagText(s string) (tag uint32, isTag bool, err error) {
	if strings.HasPrefix(s, "(") != strings.HasSuffix(s, ")") {
		return 0, false, fmt.Errorf("malformed tag")
	}
	t := strings.TrimSuffix(strings.TrimPrefix(s, "("), ")")
	t = strings.ReplaceAll(t, ",", "")
	t = strings.ReplaceAll(strings.ReplaceAll(t, "xx", "10"), "XX", "10")
	if len(t) != 8 {
		if strings.ContainsAny(s, "(,") {
			return 0, false, fmt.Errorf("malformed tag")
		}
		return 0, false, nil
	}
	v, perr := strconv.ParseUint(t, 16, 32)
	if perr != nil {
		if strings.ContainsAny(s, "(,") {
			return 0, false, fmt.Errorf("malformed tag")
		}
		return 0, false, nil // an eight-letter keyword
	}
	return uint32(v), true, nil
}
