package dictgen

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The pydicom dictionaries are Python modules whose data is written one entry
// a line, for example
//
//	0x00100010: ('PN', '1', "Patient's Name", '', 'PatientName'),
//	'60xx3000': ('OB or OW', '1', "Overlay Data", '', 'OverlayData'),
//	'SIEMENS CSA HEADER': {
//
// The functions here parse exactly that subset of Python literal syntax: a key
// (hexadecimal integer or string), a colon, and either a tuple of strings or
// an opening brace. Anything else is an error, so that a change of format in
// the sources stops the generator instead of silently dropping entries.

// pyLine is one parsed "key: value" line of a Python dict literal.
type pyLine struct {
	key   string   // string key, or the hex digits of an integer key (upper case, no 0x)
	isInt bool     // key was an integer literal
	tuple []string // the tuple of strings, when the value is a tuple
	open  bool     // the value is "{" (start of a nested dict)
}

// parsePyLine parses one "key: value" line.
func parsePyLine(line string) (pyLine, error) {
	var pl pyLine
	s := strings.TrimSpace(line)
	switch {
	case strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X"):
		end := 2
		for end < len(s) && isHexDigit(s[end]) {
			end++
		}
		if end == 2 {
			return pl, fmt.Errorf("integer key without digits")
		}
		pl.key = strings.ToUpper(s[2:end])
		pl.isInt = true
		s = s[end:]
	case strings.HasPrefix(s, "'") || strings.HasPrefix(s, `"`):
		k, rest, err := parsePyString(s)
		if err != nil {
			return pl, fmt.Errorf("key: %w", err)
		}
		pl.key, s = k, rest
	default:
		return pl, fmt.Errorf("expected a key")
	}
	s = strings.TrimLeft(s, " \t")
	if !strings.HasPrefix(s, ":") {
		return pl, fmt.Errorf("expected ':' after key %q", pl.key)
	}
	s = strings.TrimLeft(s[1:], " \t")
	if s == "{" {
		pl.open = true
		return pl, nil
	}
	t, rest, err := parsePyTuple(s)
	if err != nil {
		return pl, fmt.Errorf("value of %q: %w", pl.key, err)
	}
	rest = strings.TrimSpace(rest)
	if rest != "" && rest != "," {
		return pl, fmt.Errorf("unexpected %q after value of %q", rest, pl.key)
	}
	pl.tuple = t
	return pl, nil
}

// parsePyTuple parses a parenthesised, comma-separated tuple of Python string
// literals and returns the strings and the text after the closing parenthesis.
func parsePyTuple(s string) ([]string, string, error) {
	if !strings.HasPrefix(s, "(") {
		return nil, "", fmt.Errorf("expected '('")
	}
	s = s[1:]
	var out []string
	for {
		s = strings.TrimLeft(s, " \t")
		if strings.HasPrefix(s, ")") {
			return out, s[1:], nil
		}
		v, rest, err := parsePyString(s)
		if err != nil {
			return nil, "", fmt.Errorf("tuple item %d: %w", len(out), err)
		}
		out = append(out, v)
		s = strings.TrimLeft(rest, " \t")
		switch {
		case strings.HasPrefix(s, ","):
			s = s[1:]
		case strings.HasPrefix(s, ")"):
		default:
			return nil, "", fmt.Errorf("expected ',' or ')' after tuple item %d", len(out)-1)
		}
	}
}

// parsePyString parses one single- or double-quoted Python string literal
// (no prefixes, no triple quotes) at the start of s and returns its value and
// the rest of s.
func parsePyString(s string) (string, string, error) {
	if s == "" || (s[0] != '\'' && s[0] != '"') {
		return "", "", fmt.Errorf("expected a quoted string")
	}
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); {
		c := s[i]
		switch {
		case c == q:
			return b.String(), s[i+1:], nil
		case c == '\\':
			if i+1 >= len(s) {
				return "", "", fmt.Errorf("unterminated escape")
			}
			n, width, err := pyEscape(s[i+1:])
			if err != nil {
				return "", "", err
			}
			b.WriteString(n)
			i += 1 + width
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return "", "", fmt.Errorf("invalid UTF-8 in string literal")
			}
			b.WriteString(s[i : i+size])
			i += size
		}
	}
	return "", "", fmt.Errorf("unterminated string literal")
}

// pyEscape decodes the escape sequence that starts at s (just after the
// backslash) and returns its value and how many bytes of s it used.
func pyEscape(s string) (string, int, error) {
	switch s[0] {
	case '\\', '\'', '"':
		return s[:1], 1, nil
	case 'n':
		return "\n", 1, nil
	case 't':
		return "\t", 1, nil
	case 'x', 'u', 'U':
		n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[s[0]]
		if len(s) < 1+n {
			return "", 0, fmt.Errorf("short \\%c escape", s[0])
		}
		v, err := strconv.ParseUint(s[1:1+n], 16, 32)
		if err != nil || !utf8.ValidRune(rune(v)) {
			return "", 0, fmt.Errorf("bad \\%c escape %q", s[0], s[1:1+n])
		}
		return string(rune(v)), 1 + n, nil
	}
	return "", 0, fmt.Errorf("unsupported escape \\%c", s[0])
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
