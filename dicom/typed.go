package dicom

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// This file parses the structured string VRs (DA, TM, DT, AS, PN) into
// typed values that keep the precision the value was written with.

// Date is a DA value; Month and Day are 0 when not given (query keys and
// some old ACR-NEMA values are partial).
type Date struct {
	Year, Month, Day int
}

// ParseDate reads a DA value "YYYYMMDD"; the ACR-NEMA form "YYYY.MM.DD" is
// also accepted since old files carry it.
func ParseDate(s string) (Date, error) {
	s = strings.TrimSpace(s)
	if len(s) == 10 && s[4] == '.' && s[7] == '.' {
		s = s[:4] + s[5:7] + s[8:]
	}
	if len(s) != 8 || !allDigits(s) {
		return Date{}, fmt.Errorf("dicom: date %q is not YYYYMMDD", s)
	}
	d := Date{atoi(s[:4]), atoi(s[4:6]), atoi(s[6:8])}
	if d.Month < 1 || d.Month > 12 || d.Day < 1 || d.Day > 31 {
		return Date{}, fmt.Errorf("dicom: date %q out of range", s)
	}
	return d, nil
}

// Time returns the date at midnight UTC.
func (d Date) Time() time.Time {
	return time.Date(d.Year, time.Month(d.Month), d.Day, 0, 0, 0, 0, time.UTC)
}

func (d Date) String() string { return fmt.Sprintf("%04d%02d%02d", d.Year, d.Month, d.Day) }

// TimeOfDay is a TM value with the precision it was written with.
type TimeOfDay struct {
	Hour, Minute, Second int
	Nanosecond           int
	// Precision counts the components given: 1 hour only, 2 with minutes,
	// 3 with seconds, 4 with a fraction.
	Precision int
}

// ParseTime reads a TM value "HH[MM[SS[.F{1,6}]]]"; the ACR-NEMA form with
// colons is accepted too.
func ParseTime(s string) (TimeOfDay, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), ":", "")
	var t TimeOfDay
	frac := ""
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s, frac = s[:i], s[i+1:]
	}
	if len(s) < 2 || len(s)%2 != 0 || len(s) > 6 || !allDigits(s) || !allDigits(frac) || len(frac) > 9 {
		return t, fmt.Errorf("dicom: time %q is not HHMMSS.FFFFFF", s)
	}
	t.Hour, t.Precision = atoi(s[:2]), 1
	if len(s) >= 4 {
		t.Minute, t.Precision = atoi(s[2:4]), 2
	}
	if len(s) == 6 {
		t.Second, t.Precision = atoi(s[4:6]), 3
	}
	if frac != "" {
		t.Nanosecond = atoi((frac + "000000000")[:9])
		t.Precision = 4
	}
	if t.Hour > 23 || t.Minute > 59 || t.Second > 60 {
		return TimeOfDay{}, fmt.Errorf("dicom: time %q out of range", s)
	}
	return t, nil
}

// Duration returns the time since midnight.
func (t TimeOfDay) Duration() time.Duration {
	return time.Duration(t.Hour)*time.Hour + time.Duration(t.Minute)*time.Minute +
		time.Duration(t.Second)*time.Second + time.Duration(t.Nanosecond)
}

// DateTime is a DT value.
type DateTime struct {
	Date Date
	Time TimeOfDay
	// HasTime is false when only (part of) the date was given.
	HasTime bool
	// Offset is the UTC offset in minutes when given (HasOffset).
	Offset    int
	HasOffset bool
}

// ParseDateTime reads a DT value "YYYY[MM[DD[HH[MM[SS[.F]]]]]][&ZZXX]".
func ParseDateTime(s string) (DateTime, error) {
	s = strings.TrimSpace(s)
	var dt DateTime
	if i := strings.LastIndexAny(s, "+-"); i > 0 && len(s)-i == 5 {
		off := s[i+1:]
		if !allDigits(off) {
			return dt, fmt.Errorf("dicom: datetime %q has a bad UTC offset", s)
		}
		dt.Offset = atoi(off[:2])*60 + atoi(off[2:])
		if s[i] == '-' {
			dt.Offset = -dt.Offset
		}
		dt.HasOffset = true
		s = s[:i]
	}
	datePart := s
	if len(s) > 8 {
		datePart = s[:8]
	}
	if len(datePart) < 4 || len(datePart)%2 != 0 || !allDigits(datePart) {
		return dt, fmt.Errorf("dicom: datetime %q is not YYYYMMDDHHMMSS.F", s)
	}
	dt.Date.Year = atoi(datePart[:4])
	if len(datePart) >= 6 {
		dt.Date.Month = atoi(datePart[4:6])
	}
	if len(datePart) == 8 {
		dt.Date.Day = atoi(datePart[6:8])
	}
	if len(s) > 8 {
		t, err := ParseTime(s[8:])
		if err != nil {
			return dt, err
		}
		dt.Time, dt.HasTime = t, true
	}
	return dt, nil
}

// Age is an AS value: a number and a unit of D(ays), W(eeks), M(onths) or Y(ears).
type Age struct {
	N    int
	Unit byte
}

// ParseAge reads an AS value "nnnU".
func ParseAge(s string) (Age, error) {
	s = strings.TrimSpace(s)
	if len(s) != 4 || !allDigits(s[:3]) || strings.IndexByte("DWMY", s[3]) < 0 {
		return Age{}, fmt.Errorf("dicom: age %q is not nnnD/W/M/Y", s)
	}
	return Age{atoi(s[:3]), s[3]}, nil
}

// PersonName is a PN value split into its three component groups.
type PersonName struct {
	Alphabetic, Ideographic, Phonetic NameComponents
}

// NameComponents are the five components of one PN component group.
type NameComponents struct {
	Family, Given, Middle, Prefix, Suffix string
}

// ParsePersonName splits a decoded PN value into component groups ('=')
// and components ('^').
func ParsePersonName(s string) PersonName {
	groups := strings.SplitN(s, "=", 3)
	var pn PersonName
	dst := []*NameComponents{&pn.Alphabetic, &pn.Ideographic, &pn.Phonetic}
	for i, g := range groups {
		c := strings.SplitN(g, "^", 5)
		for len(c) < 5 {
			c = append(c, "")
		}
		*dst[i] = NameComponents{strings.TrimSpace(c[0]), strings.TrimSpace(c[1]), strings.TrimSpace(c[2]), strings.TrimSpace(c[3]), strings.TrimSpace(c[4])}
	}
	return pn
}

// Groups returns the three component groups as DICOM writes them, with
// trailing empty components and groups dropped.
func (pn PersonName) Groups() (alphabetic, ideographic, phonetic string) {
	return pn.Alphabetic.String(), pn.Ideographic.String(), pn.Phonetic.String()
}

func (pn PersonName) String() string {
	a, i, p := pn.Groups()
	switch {
	case p != "":
		return a + "=" + i + "=" + p
	case i != "":
		return a + "=" + i
	}
	return a
}

func (n NameComponents) String() string {
	s := n.Family + "^" + n.Given + "^" + n.Middle + "^" + n.Prefix + "^" + n.Suffix
	return strings.TrimRight(s, "^")
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
