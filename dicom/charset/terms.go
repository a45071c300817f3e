package charset

import (
	"errors"
	"strings"
)

// termDef is one defined term of (0008,0005) (PS3.3 Tables C.12-2 to C.12-5).
type termDef struct {
	name string
	mode mode
	g0   gset // set the term designates to G0; gNone if it only adds a G1 set
	g1   gset // set the term designates to G1; gNone if none
}

var termDefs = []termDef{
	// Single-byte character sets without code extensions (Table C.12-2).
	{"ISO_IR 6", modeISO2022, gASCII, gNone},
	{"ISO_IR 100", modeISO2022, gASCII, gLatin1},
	{"ISO_IR 101", modeISO2022, gASCII, gLatin2},
	{"ISO_IR 109", modeISO2022, gASCII, gLatin3},
	{"ISO_IR 110", modeISO2022, gASCII, gLatin4},
	{"ISO_IR 144", modeISO2022, gASCII, gCyrillic},
	{"ISO_IR 127", modeISO2022, gASCII, gArabic},
	{"ISO_IR 126", modeISO2022, gASCII, gGreek},
	{"ISO_IR 138", modeISO2022, gASCII, gHebrew},
	{"ISO_IR 148", modeISO2022, gASCII, gLatin5},
	{"ISO_IR 203", modeISO2022, gASCII, gLatin9},
	{"ISO_IR 13", modeISO2022, gRomaji, gKatakana},
	{"ISO_IR 166", modeISO2022, gASCII, gThai},
	// Single-byte character sets with code extensions (Table C.12-3).
	{"ISO 2022 IR 6", modeISO2022, gASCII, gNone},
	{"ISO 2022 IR 100", modeISO2022, gASCII, gLatin1},
	{"ISO 2022 IR 101", modeISO2022, gASCII, gLatin2},
	{"ISO 2022 IR 109", modeISO2022, gASCII, gLatin3},
	{"ISO 2022 IR 110", modeISO2022, gASCII, gLatin4},
	{"ISO 2022 IR 144", modeISO2022, gASCII, gCyrillic},
	{"ISO 2022 IR 127", modeISO2022, gASCII, gArabic},
	{"ISO 2022 IR 126", modeISO2022, gASCII, gGreek},
	{"ISO 2022 IR 138", modeISO2022, gASCII, gHebrew},
	{"ISO 2022 IR 148", modeISO2022, gASCII, gLatin5},
	{"ISO 2022 IR 203", modeISO2022, gASCII, gLatin9},
	{"ISO 2022 IR 13", modeISO2022, gRomaji, gKatakana},
	{"ISO 2022 IR 166", modeISO2022, gASCII, gThai},
	// Multi-byte character sets with code extensions (Table C.12-4).
	{"ISO 2022 IR 87", modeISO2022, gJIS0208, gNone},
	{"ISO 2022 IR 159", modeISO2022, gJIS0212, gNone},
	{"ISO 2022 IR 149", modeISO2022, gNone, gKSX1001},
	{"ISO 2022 IR 58", modeISO2022, gNone, gGB2312},
	// Multi-byte character sets without code extensions (Table C.12-5).
	{"ISO_IR 192", modeUTF8, gNone, gNone},
	{"GB18030", modeGB18030, gNone, gNone},
	{"GBK", modeGBK, gNone, gNone},
}

var termByName = func() map[string]*termDef {
	m := make(map[string]*termDef, len(termDefs))
	for i := range termDefs {
		m[termDefs[i].name] = &termDefs[i]
	}
	return m
}()

// termAliases maps normalised names (see normaliseTerm) that are not
// spellings of "ISO_IR n" or "ISO 2022 IR n" to defined terms. Most are
// encoding names that pydicom also accepts because Python knows them.
var termAliases = map[string]string{
	"UTF 8":        "ISO_IR 192",
	"ISO 10646":    "ISO_IR 192",
	"GB 18030":     "GB18030",
	"ISO 2022 GBK": "GBK", // pydicom, "from CP 1234"
	"CP 936":       "GBK",
	"LATIN 1":      "ISO_IR 100",
	"LATIN 2":      "ISO_IR 101",
	"LATIN 3":      "ISO_IR 109",
	"LATIN 4":      "ISO_IR 110",
	"LATIN 5":      "ISO_IR 148",
	"LATIN 9":      "ISO_IR 203",
	"ISO 8859 1":   "ISO_IR 100",
	"ISO 8859 2":   "ISO_IR 101",
	"ISO 8859 3":   "ISO_IR 109",
	"ISO 8859 4":   "ISO_IR 110",
	"ISO 8859 5":   "ISO_IR 144",
	"ISO 8859 6":   "ISO_IR 127",
	"ISO 8859 7":   "ISO_IR 126",
	"ISO 8859 8":   "ISO_IR 138",
	"ISO 8859 9":   "ISO_IR 148",
	"ISO 8859 11":  "ISO_IR 166",
	"ISO 8859 15":  "ISO_IR 203",
	"TIS 620":      "ISO_IR 166",
	"SHIFT JIS":    "ISO_IR 13",
	"SJIS":         "ISO_IR 13",
	"JIS X 0201":   "ISO_IR 13",
	"EUC KR":       "ISO 2022 IR 149",
	"KS X 1001":    "ISO 2022 IR 149",
	"KS C 5601":    "ISO 2022 IR 149",
	"EUC CN":       "ISO 2022 IR 58",
	"GB 2312":      "ISO 2022 IR 58",
}

// normaliseTerm returns s in upper case, with each run of separators
// (space, '_', '-', '+', '.', ':', '/') replaced by one space and a space
// between letters and digits: "iso_ir100" -> "ISO IR 100".
func normaliseTerm(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 4)
	prev := byte(' ') // class of the previous byte written: ' ', 'a' or '0'
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		var class byte
		switch {
		case 'A' <= c && c <= 'Z':
			class = 'a'
		case '0' <= c && c <= '9':
			class = '0'
		case c == ' ' || c == '_' || c == '-' || c == '+' || c == '.' || c == ':' || c == '/' || c == '\t':
			class = ' '
		default:
			class = 'x'
		}
		if class == ' ' {
			prev = ' '
			continue
		}
		if b.Len() > 0 && (prev == ' ' || (prev != class && (prev == '0' || class == '0'))) {
			b.WriteByte(' ')
		}
		b.WriteByte(c)
		prev = class
	}
	return b.String()
}

// lookupTerm finds the defined term meant by s. corrected reports that s is
// not the exact defined term.
func lookupTerm(s string) (def *termDef, corrected bool) {
	if d, ok := termByName[s]; ok {
		return d, false
	}
	n := normaliseTerm(s)
	if name, ok := termAliases[n]; ok {
		return termByName[name], true
	}
	var num string
	switch {
	case strings.HasPrefix(n, "ISO 2022 IR "):
		num = n[len("ISO 2022 IR "):]
	case strings.HasPrefix(n, "ISO 2022 "):
		num = n[len("ISO 2022 "):]
	case strings.HasPrefix(n, "ISO IR "):
		num = n[len("ISO IR "):]
	case strings.HasPrefix(n, "ISOIR "):
		num = n[len("ISOIR "):]
	case strings.HasPrefix(n, "IR "):
		num = n[len("IR "):]
	default:
		if d, ok := termByName[n]; ok { // "gb18030", "Gbk"
			return d, true
		}
		return nil, false
	}
	// Prefer the form the writer used; fall back to the other one, which
	// exists when the set is only defined with (87, 159, 149, 58) or
	// without (192) code extensions.
	ext := strings.HasPrefix(n, "ISO 2022")
	forms := [2]string{"ISO_IR " + num, "ISO 2022 IR " + num}
	if ext {
		forms[0], forms[1] = forms[1], forms[0]
	}
	for _, f := range forms {
		if d, ok := termByName[f]; ok {
			return d, true
		}
	}
	return nil, false
}

// Parse returns the Set for the values of Specific Character Set
// (0008,0005), given as separate strings (split at '\'); surrounding spaces
// are ignored. No values, or a single empty one, give [Default].
//
// Parse always returns a usable Set. A non-nil error joins one [*TermError]
// per value that was corrected (a misspelling such as "ISO IR 100"),
// ignored because it is unknown (wrapping [ErrUnknownTerm]) or ignored
// because it may not be used as a code extension. An unknown first value
// is read as the default repertoire (ISO 2022 IR 6), which decodes 8-bit
// bytes as UTF-8 or Latin-1 like [Default].
func Parse(terms []string) (*Set, error) {
	var errs []error
	var defs []*termDef // nil entry: empty (or unknown) first value
	var names []string
	for i, raw := range terms {
		t := strings.Trim(raw, " \x00\t\r\n")
		if t == "" {
			if i == 0 {
				defs = append(defs, nil)
				names = append(names, "")
			}
			continue
		}
		def, corrected := lookupTerm(t)
		switch {
		case def == nil:
			errs = append(errs, &TermError{Index: i, Term: raw, Reason: "unknown term, ignored", unknown: true})
			if i == 0 {
				defs = append(defs, nil)
				names = append(names, "")
			}
			continue
		case corrected:
			errs = append(errs, &TermError{Index: i, Term: raw, Assumed: def.name, Reason: "not a defined term"})
		}
		if i > 0 {
			if def.mode != modeISO2022 {
				errs = append(errs, &TermError{Index: i, Term: raw, Reason: "cannot be used as a code extension, ignored"})
				continue
			}
			if defs[0] != nil && defs[0].mode != modeISO2022 {
				errs = append(errs, &TermError{Index: i, Term: raw, Reason: "value 1 " + defs[0].name + " does not allow code extensions, ignored"})
				continue
			}
			dup := false
			for _, d := range defs {
				dup = dup || d == def
			}
			if dup {
				continue
			}
		}
		defs = append(defs, def)
		names = append(names, def.name)
	}
	if len(defs) == 0 || (len(defs) == 1 && defs[0] == nil) {
		return Default, errors.Join(errs...)
	}
	return build(defs, names), errors.Join(errs...)
}

// build makes the Set for defs; defs[0] may be nil (default repertoire).
func build(defs []*termDef, names []string) *Set {
	s := newSet(names)
	s.g0, s.g1 = gASCII, gNone
	s.declared = 1 << gASCII
	first := defs[0]
	if first != nil {
		s.mode = first.mode
		if first.g0 == gRomaji {
			s.g0 = gRomaji
		}
		// A multi-byte G0 set as value 1 (ISO 2022 IR 87, 159) is not in
		// force before its escape sequence; a G1 set (149, 58) is, so that
		// "ISO 2022 IR 149" alone reads EUC-KR, as in pydicom.
		s.g1 = first.g1
	}
	for _, d := range defs {
		if d == nil {
			continue
		}
		for _, g := range [2]gset{d.g1, d.g0} {
			if g == gNone {
				continue
			}
			s.declared |= 1 << g
			if g != gASCII && g != gRomaji {
				s.cands = append(s.cands, g)
			}
		}
	}
	s.sniffUTF8 = s.mode == modeISO2022 && s.declared == 1<<gASCII
	return s
}
