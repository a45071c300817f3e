package index

import (
	"fmt"
	"strconv"
	"strings"
)

// Level is a level of the query/retrieve information model.
type Level int

// The query levels, from the top of the hierarchy down.
const (
	PatientLevel Level = iota + 1
	StudyLevel
	SeriesLevel
	InstanceLevel // "IMAGE" in DICOM
)

// String returns the DICOM Query/Retrieve Level value: PATIENT, STUDY,
// SERIES or IMAGE.
func (l Level) String() string {
	switch l {
	case PatientLevel:
		return "PATIENT"
	case StudyLevel:
		return "STUDY"
	case SeriesLevel:
		return "SERIES"
	case InstanceLevel:
		return "IMAGE"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// ParseLevel parses a Query/Retrieve Level value (PATIENT, STUDY, SERIES,
// IMAGE; INSTANCE is accepted as a synonym of IMAGE).
func ParseLevel(s string) (Level, error) {
	switch strings.ToUpper(TrimText(s)) {
	case "PATIENT":
		return PatientLevel, nil
	case "STUDY":
		return StudyLevel, nil
	case "SERIES":
		return SeriesLevel, nil
	case "IMAGE", "INSTANCE":
		return InstanceLevel, nil
	}
	return 0, fmt.Errorf("%w: unknown query level %q", ErrInvalidQuery, s)
}

// Valid reports whether l is one of the four levels.
func (l Level) Valid() bool { return l >= PatientLevel && l <= InstanceLevel }

// Match is one matching key: an attribute and its value in DICOM query
// encoding, exactly as a C-FIND identifier or a QIDO-RS parameter carries it
// (after character set decoding):
//
//   - "" or "*": universal matching (the key only asks for the value).
//   - a value without wildcards: single value matching.
//   - a value with "*" or "?": wildcard matching (not for UI, DA, TM, DT, IS, US).
//   - values separated by "\": list matching; an entity matches if any
//     element matches (for UIDs this is PS3.4 List of UID Matching).
//   - for DA, TM and DT "A-B", "-B", "A-": range matching, bounds inclusive.
//   - `""` (two double quotes): empty value matching, the stored value is empty.
type Match struct {
	Key   Key
	Value string
}

// Query selects entities of one level.
type Query struct {
	// Level is the level of the entities returned.
	Level Level
	// Matches are ANDed. Keys of levels above Level are relational keys
	// (a SERIES query may match StudyDate or PatientID). Keys of levels
	// below Level select the entities that have at least one matching
	// descendant (an extension of the standard, e.g. studies that have a
	// series with BodyPartExamined CHEST).
	Matches []Match
	// Limit caps the number of results; 0 means no limit.
	Limit int
	// Offset skips the first results (pagination).
	Offset int
	// FuzzyNames switches PN matching to fuzzy matching (see [MatchFuzzy]).
	FuzzyNames bool
	// CombinedDateTime matches a date key and its paired time key
	// (StudyDate/StudyTime, SeriesDate/SeriesTime, ContentDate/ContentTime,
	// PerformedProcedureStepStartDate/Time) together as one date-time range
	// (PS3.4 C.2.2.2.5, the extended negotiation of combined date-time
	// range matching; QIDO-RS always does so).
	CombinedDateTime bool
	// IncludeHeader returns each result's DICOM JSON header.
	IncludeHeader bool
}

// MatchKind is the kind of a [Term].
type MatchKind int

// The kinds of terms.
const (
	// MatchSingle: the stored value equals Value.
	MatchSingle MatchKind = iota + 1
	// MatchWildcard: the stored value matches the pattern Value, where "*"
	// matches any sequence of characters and "?" any single character.
	MatchWildcard
	// MatchRange: Lo <= stored value <= Hi; an empty bound is open. The
	// stored value must not be empty. For combined date-time matching
	// LoTime and HiTime bound the paired time on the boundary dates.
	MatchRange
	// MatchEmpty: the stored value is empty (or absent).
	MatchEmpty
	// MatchFuzzy (PN only): every word of Words is a prefix of some word of
	// the stored name, in any component and any group, compared after
	// upper-casing and removing diacritics (see [NameWords]). "JOHN SMI"
	// matches "Smith^John", "SMITH^JOHN^A" and "Smithers^Johnny".
	MatchFuzzy
	// MatchAll: every term of Parts matches (multi-group PN keys).
	MatchAll
)

// PN component groups addressed by a [Term].
const (
	GroupAlphabetic  = 0
	GroupIdeographic = 1
	GroupPhonetic    = 2
	// GroupAny: a PN key with a single group matches when any of the three
	// stored groups matches, so a key in ideographic characters finds
	// ideographic names.
	GroupAny = 3
)

// Term is one alternative of a [Condition], in normalised form: values are
// comparable with the normalised stored values (PN upper-cased, CS
// upper-cased, dates YYYYMMDD, times HHMMSS[.F], date-times
// YYYYMMDDHHMMSS[.F]).
type Term struct {
	Kind  MatchKind
	Value string
	// Int is the value of MatchSingle on KindInt attributes.
	Int            int
	Lo, Hi         string
	LoTime, HiTime string
	// Group is the PN group compared (GroupAlphabetic...GroupAny).
	Group int
	Words []string
	Parts []Term
}

// Condition is one parsed match key: it holds when any of its Terms does.
type Condition struct {
	Attr  Attribute
	Terms []Term
	// Time is set for combined date-time matching: the time attribute
	// paired with the date attribute Attr.
	Time *Attribute
}

// ParseQuery validates q and returns its conditions (universal keys
// dropped). Errors wrap [ErrInvalidQuery] or [ErrUnsupportedKey].
func ParseQuery(q Query) ([]Condition, error) {
	if !q.Level.Valid() {
		return nil, fmt.Errorf("%w: invalid level %d", ErrInvalidQuery, int(q.Level))
	}
	if q.Limit < 0 || q.Offset < 0 {
		return nil, fmt.Errorf("%w: negative limit or offset", ErrInvalidQuery)
	}
	var conds []Condition
	for _, m := range q.Matches {
		attr, ok := LookupKey(m.Key)
		if !ok {
			return nil, fmt.Errorf("%w: %q", ErrUnsupportedKey, m.Key)
		}
		c, universal, err := parseMatch(attr, m.Value, q.FuzzyNames)
		if err != nil {
			return nil, fmt.Errorf("%w: %s=%q: %v", ErrInvalidQuery, m.Key, m.Value, err)
		}
		if !universal {
			conds = append(conds, c)
		}
	}
	if q.CombinedDateTime {
		conds = combineDateTime(conds)
	}
	return conds, nil
}

func parseMatch(attr Attribute, value string, fuzzy bool) (Condition, bool, error) {
	c := Condition{Attr: attr}
	v := strings.Trim(value, " \x00")
	if v == "" || v == "*" {
		return c, true, nil
	}
	if attr.Kind == KindCount {
		return c, false, fmt.Errorf("maintained count supports universal matching only")
	}
	if v == `""` {
		c.Terms = []Term{{Kind: MatchEmpty}}
		return c, false, nil
	}
	for _, elem := range strings.Split(v, `\`) {
		t, universal, err := parseTerm(attr, elem, fuzzy)
		if err != nil {
			return c, false, err
		}
		if universal {
			return c, true, nil // one universal alternative makes the whole key universal
		}
		c.Terms = append(c.Terms, t)
	}
	return c, false, nil
}

func hasWildcard(s string) bool { return strings.ContainsAny(s, "*?") }

func parseTerm(attr Attribute, v string, fuzzy bool) (Term, bool, error) {
	v = strings.Trim(v, " \x00")
	if v == "" || v == "*" {
		return Term{}, true, nil
	}
	switch attr.Kind {
	case KindUID:
		if hasWildcard(v) {
			return Term{}, false, fmt.Errorf("wildcards are not allowed for UIDs")
		}
		return Term{Kind: MatchSingle, Value: v}, false, nil
	case KindString:
		return stringTerm(v), false, nil
	case KindCode:
		return stringTerm(strings.ToUpper(v)), false, nil
	case KindPN:
		return pnTerm(v, fuzzy)
	case KindInt:
		if hasWildcard(v) {
			return Term{}, false, fmt.Errorf("wildcards are not allowed for %s", attr.VR)
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return Term{}, false, fmt.Errorf("not an integer")
		}
		return Term{Kind: MatchSingle, Value: v, Int: n}, false, nil
	case KindDate, KindTime, KindDateTime:
		if hasWildcard(v) {
			return Term{}, false, fmt.Errorf("wildcards are not allowed for %s", attr.VR)
		}
		lo, hi, err := parseRange(attr.Kind, v)
		if err != nil {
			return Term{}, false, err
		}
		return Term{Kind: MatchRange, Lo: lo, Hi: hi}, false, nil
	}
	return Term{}, false, fmt.Errorf("attribute cannot be matched")
}

func stringTerm(v string) Term {
	if hasWildcard(v) {
		return Term{Kind: MatchWildcard, Value: v}
	}
	return Term{Kind: MatchSingle, Value: v}
}

func pnTerm(v string, fuzzy bool) (Term, bool, error) {
	if fuzzy {
		var words []string
		for _, w := range NameWords(ParsePersonName(v)) {
			if i := strings.IndexAny(w, "*?"); i >= 0 {
				w = w[:i]
			}
			if w != "" {
				words = append(words, w)
			}
		}
		if len(words) == 0 {
			return Term{}, true, nil
		}
		return Term{Kind: MatchFuzzy, Words: words}, false, nil
	}
	groups := strings.SplitN(v, "=", 3)
	if len(groups) == 1 {
		t := stringTerm(UpperPN(NormalizePNGroup(groups[0])))
		t.Group = GroupAny
		return t, false, nil
	}
	var parts []Term
	for i, g := range groups {
		g = UpperPN(NormalizePNGroup(g))
		if g == "" || g == "*" {
			continue
		}
		t := stringTerm(g)
		t.Group = i
		parts = append(parts, t)
	}
	switch len(parts) {
	case 0:
		return Term{}, true, nil
	case 1:
		return parts[0], false, nil
	}
	return Term{Kind: MatchAll, Parts: parts}, false, nil
}

// parseRange parses a DA, TM or DT key value (single value or range) into
// inclusive normalised bounds; an empty bound is open.
func parseRange(kind Kind, v string) (lo, hi string, err error) {
	parse := func(s string, upper bool) (string, bool) {
		switch kind {
		case KindDate:
			d := NormalizeDate(s)
			return d, d != ""
		case KindTime:
			return parseTime(s, upper)
		default:
			return parseDateTime(s, upper)
		}
	}
	bound := func(s string, upper bool) (string, bool) {
		if s == "" {
			return "", true
		}
		return parse(s, upper)
	}
	if !strings.Contains(v, "-") {
		l, ok := parse(v, false)
		if !ok {
			return "", "", fmt.Errorf("invalid %s value", kindVR(kind))
		}
		h, _ := parse(v, true)
		return l, h, nil
	}
	// A DT value may carry a "-ZZXX" UTC offset: try every hyphen as the
	// range separator and take the first split where both sides parse into
	// an ordered range; failing that, the value is a single DT with offset.
	for i := 0; i < len(v); i++ {
		if v[i] != '-' {
			continue
		}
		l, okL := bound(v[:i], false)
		h, okH := bound(v[i+1:], true)
		if !okL || !okH || (l == "" && h == "") {
			continue
		}
		if l != "" && h != "" && l > h {
			if kind == KindDateTime {
				continue
			}
			return "", "", fmt.Errorf("range start after its end")
		}
		return l, h, nil
	}
	if kind == KindDateTime {
		if l, ok := parse(v, false); ok {
			h, _ := parse(v, true)
			return l, h, nil
		}
	}
	return "", "", fmt.Errorf("invalid %s range", kindVR(kind))
}

func kindVR(k Kind) string {
	switch k {
	case KindDate:
		return "DA"
	case KindTime:
		return "TM"
	}
	return "DT"
}

// combineDateTime merges each date condition with its paired time condition
// when both are a single range: the result matches date-times from
// (Lo, LoTime) to (Hi, HiTime).
func combineDateTime(conds []Condition) []Condition {
	for dateKey, timeKey := range datePairs {
		di, ti := -1, -1
		for i, c := range conds {
			switch c.Attr.Key {
			case dateKey:
				di = i
			case timeKey:
				ti = i
			}
		}
		if di < 0 || ti < 0 || len(conds[di].Terms) != 1 || len(conds[ti].Terms) != 1 ||
			conds[di].Terms[0].Kind != MatchRange || conds[ti].Terms[0].Kind != MatchRange {
			continue
		}
		dt, tt := &conds[di].Terms[0], conds[ti].Terms[0]
		if dt.Lo != "" {
			dt.LoTime = tt.Lo
		}
		if dt.Hi != "" {
			dt.HiTime = tt.Hi
		}
		timeAttr := conds[ti].Attr
		conds[di].Time = &timeAttr
		conds = append(conds[:ti], conds[ti+1:]...)
	}
	return conds
}
