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
	// TimezoneOffset is the query's Timezone Offset From UTC (0008,0201),
	// "&ZZXX": DT key values without their own offset are in it (PS3.4
	// C.2.2.2.5). Empty means DT values without offset are local times.
	TimezoneOffset string
	// OrderBy sorts the results by attributes of the query level or above
	// before the level's default order (see [DefaultOrder]). Counts and the
	// derived lists cannot be sort keys; configured attributes neither.
	OrderBy []Order
}

// Order is one sort key of [Query.OrderBy].
type Order struct {
	Key  Key
	Desc bool
}

// DefaultOrder returns the order of results of a level when the query asks
// for none, ahead of a final tie-break on the entity's identity so that
// the order is total and stable across pages:
//
//   - PATIENT: PatientName, PatientID, IssuerOfPatientID.
//   - STUDY: StudyDate and StudyTime descending (newest first; studies
//     without a date last), then StudyInstanceUID.
//   - SERIES: StudyInstanceUID, SeriesNumber (absent last), SeriesInstanceUID.
//   - IMAGE: SeriesInstanceUID, InstanceNumber (absent last), SOPInstanceUID.
//
// Text sorts bytewise on the normalised values; PN on the upper-cased
// alphabetic group.
func DefaultOrder(level Level) []Order {
	switch level {
	case PatientLevel:
		return []Order{{Key: PatientName}, {Key: PatientID}, {Key: IssuerOfPatientID}}
	case StudyLevel:
		return []Order{{Key: StudyDate, Desc: true}, {Key: StudyTime, Desc: true}, {Key: StudyInstanceUID}}
	case SeriesLevel:
		return []Order{{Key: StudyInstanceUID}, {Key: SeriesNumber}, {Key: SeriesInstanceUID}}
	}
	return []Order{{Key: SeriesInstanceUID}, {Key: InstanceNumber}, {Key: SOPInstanceUID}}
}

// ParseOrder parses a sort specification: keys separated by commas, each
// optionally prefixed by "-" for descending order ("-StudyDate,PatientName").
func ParseOrder(s string) ([]Order, error) {
	var out []Order
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		o := Order{}
		if strings.HasPrefix(f, "-") {
			o.Desc, f = true, f[1:]
		} else {
			f = strings.TrimPrefix(f, "+")
		}
		o.Key = Key(f)
		out = append(out, o)
	}
	return out, nil
}

// checkOrder validates the sort keys of q.
func checkOrder(q Query) error {
	for _, o := range q.OrderBy {
		a, ok := LookupKey(o.Key)
		switch {
		case !ok:
			return fmt.Errorf("%w: cannot sort by %q: not an indexed attribute of the model", ErrInvalidQuery, o.Key)
		case a.Kind == KindCount || a.Multi:
			return fmt.Errorf("%w: cannot sort by %s", ErrInvalidQuery, o.Key)
		case a.Level > q.Level:
			return fmt.Errorf("%w: cannot sort %s results by %s, an attribute of a lower level", ErrInvalidQuery, q.Level, o.Key)
		}
	}
	return nil
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
	// UTC is set for DT ranges whose bounds carry a UTC offset (or the
	// query's Timezone Offset From UTC): LoUTC and HiUTC are the bounds as
	// UTC instants, compared with stored values whose offset is known;
	// stored values without a known offset compare with Lo and Hi, the
	// bounds as written (local time).
	UTC          bool
	LoUTC, HiUTC string
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

// ParseQuery validates q against the model alone and returns its
// conditions (universal keys dropped). Errors wrap [ErrInvalidQuery] or
// [ErrUnsupportedKey].
func ParseQuery(q Query) ([]Condition, error) {
	return (*Schema)(nil).ParseQuery(q)
}

// ParseQuery validates q against the model and the configured attributes
// of s and returns its conditions (universal keys dropped). Errors wrap
// [ErrInvalidQuery] or [ErrUnsupportedKey]. Person names of configured
// attributes are matched literally even when q.FuzzyNames is set.
func (s *Schema) ParseQuery(q Query) ([]Condition, error) {
	if !q.Level.Valid() {
		return nil, fmt.Errorf("%w: invalid level %d", ErrInvalidQuery, int(q.Level))
	}
	if q.Limit < 0 || q.Offset < 0 {
		return nil, fmt.Errorf("%w: negative limit or offset", ErrInvalidQuery)
	}
	if q.TimezoneOffset != "" {
		if _, ok := parseOffset(q.TimezoneOffset); !ok {
			return nil, fmt.Errorf("%w: Timezone Offset From UTC %q is not &ZZXX", ErrInvalidQuery, q.TimezoneOffset)
		}
	}
	if err := checkOrder(q); err != nil {
		return nil, err
	}
	var conds []Condition
	for _, m := range q.Matches {
		attr, ok := s.Lookup(m.Key)
		if !ok {
			return nil, fmt.Errorf("%w: %q", ErrUnsupportedKey, m.Key)
		}
		c, universal, err := parseMatch(attr, m.Value, q.FuzzyNames && !attr.Configured, q.TimezoneOffset)
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

func parseMatch(attr Attribute, value string, fuzzy bool, tz string) (Condition, bool, error) {
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
		t, universal, err := parseTerm(attr, elem, fuzzy, tz)
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

func parseTerm(attr Attribute, v string, fuzzy bool, tz string) (Term, bool, error) {
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
		t := Term{Kind: MatchRange, Lo: lo, Hi: hi}
		if attr.Kind == KindDateTime {
			t.UTC, t.LoUTC, t.HiUTC = utcBounds(v, tz)
		}
		return t, false, nil
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

// utcBounds returns the bounds of a DT key value as UTC instants when it
// carries a UTC offset or the query has one (tz). A bound without its own
// offset takes the other bound's, else tz. ok is false when no offset
// applies: the value is matched as local time only.
func utcBounds(v, tz string) (ok bool, lo, hi string) {
	type bound struct {
		text       string
		off        int
		has, valid bool
	}
	split := func(s string) bound {
		if s == "" {
			return bound{valid: true}
		}
		dt, off, has, ok := splitOffset(s)
		return bound{text: dt, off: off, has: has, valid: ok}
	}
	// Find the split parseRange would take: a hyphen followed by a digit
	// or the end, not part of an offset.
	var b [2]bound
	single := true
	for i := 0; i < len(v); i++ {
		if v[i] != '-' {
			continue
		}
		l, h := split(v[:i]), split(v[i+1:])
		if !l.valid || !h.valid || (l.text == "" && h.text == "") {
			continue
		}
		nl, okL := parseDateTime(l.text, false)
		if !okL && l.text != "" {
			continue
		}
		nh, okH := parseDateTime(h.text, true)
		if (!okH && h.text != "") || (nl != "" && nh != "" && nl > nh) {
			continue
		}
		b, single = [2]bound{l, h}, false
		break
	}
	if single {
		x := split(v)
		b = [2]bound{x, x}
	}
	off, have := 0, false
	for _, x := range b {
		if x.has && !have {
			off, have = x.off, true
		}
	}
	if !have {
		if off, have = parseOffset(tz); !have {
			return false, "", ""
		}
	}
	conv := func(x bound, upper bool) string {
		if x.text == "" {
			return ""
		}
		o := off
		if x.has {
			o = x.off
		}
		n, ok := parseDateTime(x.text, upper)
		if !ok {
			return ""
		}
		return toUTC(n, o)
	}
	lo, hi = conv(b[0], false), conv(b[1], true)
	if (b[0].text != "" && lo == "") || (b[1].text != "" && hi == "") {
		return false, "", ""
	}
	return true, lo, hi
}
