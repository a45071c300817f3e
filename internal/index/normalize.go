package index

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Normalisation of values for the index. The stored file is never touched:
// these forms only exist in index columns. Every function is idempotent.

// TrimText removes the padding of a text value (LO, SH, CS, PN...): leading
// and trailing spaces and trailing NUL bytes.
func TrimText(s string) string {
	return strings.Trim(s, " \x00")
}

// NormalizeUID removes the padding of a UI value (trailing NUL or spaces).
func NormalizeUID(s string) string {
	return strings.Trim(s, " \x00")
}

// NormalizeCode trims a CS value and upper-cases it (CS values are upper case
// by definition; vendors occasionally send lower case).
func NormalizeCode(s string) string {
	return strings.ToUpper(TrimText(s))
}

// NormalizePNGroup trims one PN component group: spaces around each
// component are removed, and so are trailing empty components
// ("Smith ^John^^^" -> "Smith^John").
func NormalizePNGroup(g string) string {
	g = TrimText(g)
	if g == "" {
		return ""
	}
	comps := strings.Split(g, "^")
	for i := range comps {
		comps[i] = strings.TrimSpace(comps[i])
	}
	for len(comps) > 0 && comps[len(comps)-1] == "" {
		comps = comps[:len(comps)-1]
	}
	return strings.Join(comps, "^")
}

// NormalizePersonName normalises every group of pn with [NormalizePNGroup].
func NormalizePersonName(pn PersonName) PersonName {
	return PersonName{
		Alphabetic:  NormalizePNGroup(pn.Alphabetic),
		Ideographic: NormalizePNGroup(pn.Ideographic),
		Phonetic:    NormalizePNGroup(pn.Phonetic),
	}
}

// UpperPN returns the matching form of a normalised PN group: upper case
// (Unicode simple case mapping). Case-insensitive PN matching compares these.
func UpperPN(g string) string {
	return strings.ToUpper(g)
}

// FoldName returns the fuzzy form of a name: upper case with diacritics
// removed ("Müller" -> "MULLER").
func FoldName(s string) string {
	s = norm.NFD.String(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return norm.NFC.String(b.String())
}

// NameWords returns the words of a person name used by fuzzy matching: every
// component of every group, folded with [FoldName], split at spaces, commas
// and hyphens (the hyphenated whole is kept too), without duplicates.
func NameWords(pn PersonName) []string {
	seen := map[string]bool{}
	var words []string
	add := func(w string) {
		if w != "" && !seen[w] {
			seen[w] = true
			words = append(words, w)
		}
	}
	for _, g := range pn.Groups() {
		for _, f := range strings.FieldsFunc(FoldName(g), func(r rune) bool {
			return r == '^' || r == ' ' || r == ',' || r == '=' || r == '.'
		}) {
			add(f)
			if strings.Contains(f, "-") {
				for _, p := range strings.Split(f, "-") {
					add(p)
				}
			}
		}
	}
	return words
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// NormalizeDate returns a DA value as YYYYMMDD, accepting the ACR-NEMA form
// YYYY.MM.DD. It returns "" for an empty or invalid value.
func NormalizeDate(s string) string {
	s = TrimText(s)
	if len(s) == 10 && s[4] == '.' && s[7] == '.' {
		s = s[:4] + s[5:7] + s[8:]
	}
	if len(s) != 8 || !allDigits(s) {
		return ""
	}
	if m := s[4:6]; m < "01" || m > "12" {
		return ""
	}
	if d := s[6:8]; d < "01" || d > "31" {
		return ""
	}
	return s
}

// NormalizeTime returns a TM value as HHMMSS[.F{1,6}]: missing minutes and
// seconds are filled with zeros, the ACR-NEMA form HH:MM:SS is accepted, and
// trailing zeros of the fraction are removed, so that normalised values order
// as strings the way they order in time. It returns "" for an empty or
// invalid value.
func NormalizeTime(s string) string {
	t, ok := parseTime(TrimText(s), false)
	if !ok {
		return ""
	}
	return t
}

// parseTime parses a TM value. With upper set it returns the last instant
// the value's precision denotes ("1015" -> "101559.999999") instead of the first.
func parseTime(s string, upper bool) (string, bool) {
	if s == "" {
		return "", false
	}
	s = strings.ReplaceAll(s, ":", "")
	whole, frac, hasFrac := strings.Cut(s, ".")
	if !allDigits(whole) || !allDigits(frac) || len(frac) > 6 || (hasFrac && len(whole) != 6) {
		return "", false
	}
	switch len(whole) {
	case 2, 4, 6:
	default:
		return "", false
	}
	if whole[:2] > "24" || (len(whole) >= 4 && whole[2:4] > "59") || (len(whole) == 6 && whole[4:6] > "60") {
		return "", false
	}
	if upper {
		whole += "5959"[:6-len(whole)]
		frac += "999999"[len(frac):]
	} else {
		whole += "0000"[:6-len(whole)]
		frac = strings.TrimRight(frac, "0")
	}
	if frac == "" {
		return whole, true
	}
	return whole + "." + frac, true
}

// NormalizeDateTime returns a DT value as YYYYMMDDHHMMSS[.F{1,6}]: missing
// components take their first value (month and day 01, time 00), and the UTC
// offset is dropped (the index compares local date-times, as most modalities
// send no offset). It returns "" for an empty or invalid value.
func NormalizeDateTime(s string) string {
	t, ok := parseDateTime(TrimText(s), false)
	if !ok {
		return ""
	}
	return t
}

// parseDateTime parses a DT value; with upper set it returns the last instant
// its precision denotes.
func parseDateTime(s string, upper bool) (string, bool) {
	if s == "" {
		return "", false
	}
	// Drop a UTC offset &ZZXX.
	s, _, _, ok := splitOffset(s)
	if !ok {
		return "", false
	}
	whole, frac, hasFrac := strings.Cut(s, ".")
	if !allDigits(whole) || !allDigits(frac) || len(frac) > 6 || (hasFrac && len(whole) != 14) {
		return "", false
	}
	switch len(whole) {
	case 4, 6, 8, 10, 12, 14:
	default:
		return "", false
	}
	if len(whole) >= 6 && (whole[4:6] < "01" || whole[4:6] > "12") {
		return "", false
	}
	if len(whole) >= 8 && (whole[6:8] < "01" || whole[6:8] > "31") {
		return "", false
	}
	if len(whole) > 8 {
		if _, ok := parseTime(whole[8:], false); !ok {
			return "", false
		}
	}
	const lo, hi = "0101000000", "1231235959"
	if upper {
		whole += hi[len(whole)-4:]
		frac += "999999"[len(frac):]
	} else {
		whole += lo[len(whole)-4:]
		frac = strings.TrimRight(frac, "0")
	}
	if frac == "" {
		return whole, true
	}
	return whole + "." + frac, true
}

// splitOffset splits a DT value into its date-time and its UTC offset
// &ZZXX in minutes east of UTC; has is false when there is none, ok false
// when the offset is malformed.
func splitOffset(s string) (dt string, minutes int, has, ok bool) {
	i := strings.IndexAny(s, "+-")
	if i < 0 {
		return s, 0, false, true
	}
	minutes, ok = parseOffset(s[i:])
	return s[:i], minutes, true, ok
}

// parseOffset parses a UTC offset "&ZZXX" (as in DT values and Timezone
// Offset From UTC (0008,0201)) into minutes east of UTC.
func parseOffset(s string) (int, bool) {
	s = TrimText(s)
	if len(s) != 5 || (s[0] != '+' && s[0] != '-') || !allDigits(s[1:]) || s[1:3] > "14" || s[3:] > "59" {
		return 0, false
	}
	h, _ := strconv.Atoi(s[1:3])
	m, _ := strconv.Atoi(s[3:])
	if s[0] == '-' {
		return -(h*60 + m), true
	}
	return h*60 + m, true
}

// toUTC converts a normalised date-time at an offset of minutes east of UTC
// to UTC, in the same form; "" when it is not a real instant (leap second,
// hour 24).
func toUTC(norm string, minutes int) string {
	whole, frac, _ := strings.Cut(norm, ".")
	t, err := time.Parse("20060102150405", whole)
	if err != nil {
		return ""
	}
	out := t.Add(-time.Duration(minutes) * time.Minute).Format("20060102150405")
	if frac != "" {
		out += "." + frac
	}
	return out
}

// DateTimeUTC returns the UTC instant of a DT value in the normalised form
// of [NormalizeDateTime], when its UTC offset is known: from its own
// "&ZZXX" suffix, else from tz, the instance's Timezone Offset From UTC
// (0008,0201) ("" when absent). It returns "" when the offset is unknown
// or the value invalid.
func DateTimeUTC(s, tz string) string {
	dt, off, has, ok := splitOffset(TrimText(s))
	if !ok {
		return ""
	}
	if !has {
		if off, ok = parseOffset(tz); !ok {
			return ""
		}
	}
	norm, ok := parseDateTime(dt, false)
	if !ok {
		return ""
	}
	return toUTC(norm, off)
}

// Normalize brings every attribute of r into its index form: padding trimmed,
// CS upper-cased, person names split and trimmed, dates, times and
// date-times in their sortable forms (see [NormalizeDate], [NormalizeTime],
// [NormalizeDateTime]). Maintained attributes (counts, ModalitiesInStudy,
// SOPClassesInStudy) are cleared. Normalize is idempotent.
func (r *InstanceRecord) Normalize() {
	p := &r.Patient
	p.PatientID = TrimText(p.PatientID)
	p.IssuerOfPatientID = TrimText(p.IssuerOfPatientID)
	p.PatientName = NormalizePersonName(p.PatientName)
	p.PatientBirthDate = NormalizeDate(p.PatientBirthDate)
	p.PatientSex = NormalizeCode(p.PatientSex)
	p.NumberOfPatientRelatedStudies, p.NumberOfPatientRelatedSeries, p.NumberOfPatientRelatedInstances = 0, 0, 0

	st := &r.Study
	st.StudyInstanceUID = NormalizeUID(st.StudyInstanceUID)
	st.StudyDate = NormalizeDate(st.StudyDate)
	st.StudyTime = NormalizeTime(st.StudyTime)
	st.AccessionNumber = TrimText(st.AccessionNumber)
	st.StudyID = TrimText(st.StudyID)
	st.StudyDescription = TrimText(st.StudyDescription)
	st.ReferringPhysicianName = NormalizePersonName(st.ReferringPhysicianName)
	st.ModalitiesInStudy, st.SOPClassesInStudy = nil, nil
	st.NumberOfStudyRelatedSeries, st.NumberOfStudyRelatedInstances = 0, 0

	se := &r.Series
	se.SeriesInstanceUID = NormalizeUID(se.SeriesInstanceUID)
	se.Modality = NormalizeCode(se.Modality)
	se.SeriesDescription = TrimText(se.SeriesDescription)
	se.BodyPartExamined = NormalizeCode(se.BodyPartExamined)
	se.SeriesDate = NormalizeDate(se.SeriesDate)
	se.SeriesTime = NormalizeTime(se.SeriesTime)
	se.PerformedProcedureStepStartDate = NormalizeDate(se.PerformedProcedureStepStartDate)
	se.PerformedProcedureStepStartTime = NormalizeTime(se.PerformedProcedureStepStartTime)
	se.InstitutionName = TrimText(se.InstitutionName)
	se.StationName = TrimText(se.StationName)
	se.Manufacturer = TrimText(se.Manufacturer)
	se.NumberOfSeriesRelatedInstances = 0

	in := &r.Instance
	in.SOPInstanceUID = NormalizeUID(in.SOPInstanceUID)
	in.SOPClassUID = NormalizeUID(in.SOPClassUID)
	in.TransferSyntaxUID = NormalizeUID(in.TransferSyntaxUID)
	in.ContentDate = NormalizeDate(in.ContentDate)
	in.ContentTime = NormalizeTime(in.ContentTime)
	if u := DateTimeUTC(in.AcquisitionDateTime, r.timezoneOffset()); u != "" {
		in.AcquisitionDateTimeUTC = u
	} else if in.AcquisitionDateTimeUTC != "" {
		in.AcquisitionDateTimeUTC = NormalizeDateTime(in.AcquisitionDateTimeUTC)
	}
	in.AcquisitionDateTime = NormalizeDateTime(in.AcquisitionDateTime)
	if in.AcquisitionDateTime == "" {
		in.AcquisitionDateTimeUTC = ""
	}
	in.CallingAE = TrimText(in.CallingAE)
	if !in.ReceivedAt.IsZero() {
		in.ReceivedAt = in.ReceivedAt.UTC().Truncate(time.Microsecond) // stored with microsecond precision
	}
}

// Validate reports whether r can be indexed: the three identifying UIDs and
// the blob key must be present. It wraps [ErrInvalidRecord].
func (r *InstanceRecord) Validate() error {
	switch {
	case r.Study.StudyInstanceUID == "":
		return fmt.Errorf("%w: missing StudyInstanceUID", ErrInvalidRecord)
	case r.Series.SeriesInstanceUID == "":
		return fmt.Errorf("%w: missing SeriesInstanceUID", ErrInvalidRecord)
	case r.Instance.SOPInstanceUID == "":
		return fmt.Errorf("%w: missing SOPInstanceUID", ErrInvalidRecord)
	case r.Instance.BlobKey == "":
		return fmt.Errorf("%w: instance %s: missing blob key", ErrInvalidRecord, r.Instance.SOPInstanceUID)
	}
	return nil
}

// timezoneOffset returns the Timezone Offset From UTC (0008,0201) of the
// record's header, "" when absent (checked cheaply before parsing).
func (r *InstanceRecord) timezoneOffset() string {
	if !bytes.Contains(r.Header, []byte(`"00080201"`)) {
		return ""
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(r.Header, &top) != nil {
		return ""
	}
	return headerText(top, 0x00080201)
}
