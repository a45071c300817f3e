package charset

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"

	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

const esc = 0x1B

// Decode converts the value field b, encoded in the Set's repertoire, to
// UTF-8. Pass the whole value field, '\' delimiters and padding included;
// kind selects the delimiters at which code extensions are reset.
//
// Decode always returns valid UTF-8. The error, if not nil, is a
// [*DecodeError]: the string is still usable, but bytes were replaced with
// U+FFFD ([ErrReplaced]) or read outside the declared repertoire
// ([ErrUndeclared]); callers typically log it.
func (s *Set) Decode(b []byte, kind Kind) (string, error) {
	if s == nil {
		s = Default
	}
	// Fast path: every set decodes ASCII without ESC as itself.
	i := asciiPrefix(b)
	if i == len(b) {
		return string(b), nil
	}
	switch s.mode {
	case modeUTF8:
		return s.decodeUTF8(b, i)
	case modeGB18030, modeGBK:
		return s.decodeGB(b, i)
	}
	if s.sniffUTF8 && utf8.Valid(b) && !containsESC(b[i:]) {
		p := problems{}
		p.add(i, false, "8-bit bytes without a declared character set; read as UTF-8")
		return string(b), p.err(s)
	}
	return s.decode2022(b, kind, i)
}

// asciiPrefix returns the length of the longest prefix of b that is ASCII
// without ESC, looking at eight bytes at a time.
func asciiPrefix(b []byte) int {
	const (
		lo  = 0x0101010101010101
		hi  = 0x8080808080808080
		esc = 0x1B1B1B1B1B1B1B1B
	)
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		x := w ^ esc // a zero byte where w has ESC
		if (w|((x-lo)&^x))&hi != 0 {
			break
		}
	}
	for i < len(b) && b[i] < utf8.RuneSelf && b[i] != 0x1B {
		i++
	}
	return i
}

func containsESC(b []byte) bool {
	for _, c := range b {
		if c == esc {
			return true
		}
	}
	return false
}

// problems collects what went wrong while decoding one value.
type problems struct {
	first             int
	reason            string
	lossy, undeclared bool
	count             int
}

func (p *problems) add(off int, lossy bool, format string, args ...any) {
	if p.count == 0 {
		p.first = off
		p.reason = fmt.Sprintf(format, args...)
	}
	p.count++
	if lossy {
		p.lossy = true
	} else {
		p.undeclared = true
	}
}

func (p *problems) err(s *Set) error {
	if p.count == 0 {
		return nil
	}
	return &DecodeError{Set: s.name, Offset: p.first, Reason: p.reason, Lossy: p.lossy, Undeclared: p.undeclared, Count: p.count}
}

// stackBuf is the size of the buffer the decoders start with on the stack:
// decoding a value whose UTF-8 fits allocates only the result string;
// longer values (LT, UT) allocate a scratch buffer as well.
const stackBuf = 1024

// decodeUTF8 decodes ISO_IR 192. Each maximal subpart of an ill-formed
// sequence becomes one U+FFFD (Unicode 3.9 "best practice", as in Python).
func (s *Set) decodeUTF8(b []byte, i int) (string, error) {
	if utf8.Valid(b[i:]) {
		return string(b), nil
	}
	var p problems
	var buf [stackBuf]byte
	out := append(buf[:0], b[:i]...)
	for i < len(b) {
		c := b[i]
		if c < utf8.RuneSelf {
			out = append(out, c)
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r != utf8.RuneError || size > 1 {
			out = append(out, b[i:i+size]...)
			i += size
			continue
		}
		n := maximalSubpart(b[i:])
		p.add(i, true, "invalid UTF-8 % X", b[i:i+n])
		out = utf8.AppendRune(out, utf8.RuneError)
		i += n
	}
	return string(out), p.err(s)
}

// maximalSubpart returns the length of the longest prefix of b, which does
// not start with a valid UTF-8 sequence, that is the start of one (at
// least 1).
func maximalSubpart(b []byte) int {
	c := b[0]
	lo, hi := byte(0x80), byte(0xBF)
	var need int
	switch {
	case 0xC2 <= c && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c == 0xED:
		need, hi = 2, 0x9F
	case 0xE1 <= c && c <= 0xEF:
		need = 2
	case c == 0xF0:
		need, lo = 3, 0x90
	case c == 0xF4:
		need, hi = 3, 0x8F
	case 0xF1 <= c && c <= 0xF3:
		need = 3
	default:
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(b); k++ {
		if x := b[n]; x < lo || x > hi {
			break
		}
		n++
		lo, hi = 0x80, 0xBF
	}
	return n
}

// gbFFFD is U+FFFD in GB18030, the one sequence that legitimately decodes
// to the replacement character.
const gbFFFD = "\x84\x31\xA4\x37"

// decodeGB decodes GB18030 and GBK with the x/text decoders, one character
// at a time so that undecodable bytes can be located.
func (s *Set) decodeGB(b []byte, i int) (string, error) {
	var t transform.Transformer
	if s.mode == modeGB18030 {
		t = simplifiedchinese.GB18030.NewDecoder()
	} else {
		t = simplifiedchinese.GBK.NewDecoder()
	}
	var p problems
	var dst [8]byte
	var buf [stackBuf]byte
	out := append(buf[:0], b[:i]...)
	for i < len(b) {
		c := b[i]
		if c < 0x80 {
			out = append(out, c)
			i++
			continue
		}
		n := 1 // length of the character starting at i
		if 0x81 <= c && c <= 0xFE && i+1 < len(b) {
			switch c1 := b[i+1]; {
			case 0x30 <= c1 && c1 <= 0x39:
				if s.mode == modeGB18030 && i+3 < len(b) &&
					0x81 <= b[i+2] && b[i+2] <= 0xFE && 0x30 <= b[i+3] && b[i+3] <= 0x39 {
					n = 4
				}
			case 0x40 <= c1 && c1 <= 0xFE && c1 != 0x7F:
				n = 2
			}
		}
		if c == 0x80 {
			p.add(i, false, "byte 0x80 read as U+20AC (CP936)")
		}
		t.Reset()
		m, _, err := t.Transform(dst[:], b[i:i+n], true)
		r, size := utf8.DecodeRune(dst[:m])
		if err != nil || size != m || (r == utf8.RuneError && string(b[i:i+n]) != gbFFFD) {
			if n == 2 && b[i+1] < 0x80 {
				n = 1 // keep the ASCII byte
			}
			p.add(i, true, "invalid %s sequence % X", s.name, b[i:i+n])
			out = utf8.AppendRune(out, utf8.RuneError)
		} else {
			out = utf8.AppendRune(out, r)
		}
		i += n
	}
	return string(out), p.err(s)
}

// parseEscape returns the length of the escape sequence at the start of b
// (b[0] == ESC) and the set it designates, gNone if unknown. An ESC that
// does not start a well-formed sequence has length 1.
func parseEscape(b []byte) (int, gset) {
	j := 1
	for j < len(b) && j < 4 && 0x20 <= b[j] && b[j] <= 0x2F {
		j++
	}
	if j < len(b) && 0x30 <= b[j] && b[j] <= 0x7E {
		return j + 1, escapes[string(b[:j+1])]
	}
	return j, gNone
}

// isDelimiter reports whether the G0 byte c restores the initial
// designations for kind (control characters always do).
func isDelimiter(kind Kind, c byte) bool {
	switch kind {
	case KindText:
		return c == '\\'
	case KindPN:
		return c == '\\' || c == '^' || c == '='
	}
	return false
}

// decode2022 decodes b with the ISO 2022 state machine; b[:i] is ASCII.
func (s *Set) decode2022(b []byte, kind Kind, i int) (string, error) {
	var p problems
	var buf [stackBuf]byte
	out := append(buf[:0], b[:i]...)
	g0, g1 := s.g0, s.g1
	for i < len(b) {
		c := b[i]
		switch {
		case c == esc:
			n, g := parseEscape(b[i:])
			switch {
			case g == gNone:
				p.add(i, true, "unknown escape sequence %q", b[i:i+n])
				out = utf8.AppendRune(out, utf8.RuneError)
			case gsets[g].g1:
				g1 = g
			default:
				g0 = g
			}
			if g != gNone && s.declared&(1<<g) == 0 {
				p.add(i, false, "escape sequence %q designates %s, which (0008,0005) does not declare", b[i:i+n], gsets[g].name)
			}
			i += n

		case c < 0x20 || c == 0x7F:
			// Control characters end every code extension (PS3.5 6.1.2.5.3).
			out = append(out, c)
			i++
			g0, g1 = s.g0, s.g1

		case c < 0x80:
			if info := &gsets[g0]; info.double && c != ' ' {
				if i+1 < len(b) && 0x21 <= b[i+1] && b[i+1] <= 0x7E {
					r, std := info.dbcs.lookup(c, b[i+1])
					switch {
					case r == utf8.RuneError:
						p.add(i, true, "%s has no character 0x%02X%02X", info.name, c, b[i+1])
					case !std:
						p.add(i, false, "0x%02X%02X is a vendor extension of %s", c, b[i+1], info.name)
					}
					out = utf8.AppendRune(out, r)
					i += 2
				} else {
					p.add(i, true, "truncated %s character", info.name)
					out = utf8.AppendRune(out, utf8.RuneError)
					i++
				}
				continue
			}
			// ISO-IR 6 and ISO-IR 14 alike; SPACE also in two-byte G0 sets.
			out = append(out, c)
			i++
			if isDelimiter(kind, c) {
				g0, g1 = s.g0, s.g1
			}

		default:
			var n int
			out, n = s.decodeG1(out, b, i, g1, &p)
			i += n
		}
	}
	return string(out), p.err(s)
}

// decodeG1 appends the character at b[i] (>= 0x80) in the G1 set g to out
// and returns its length in b.
func (s *Set) decodeG1(out, b []byte, i int, g gset, p *problems) ([]byte, int) {
	c := b[i]
	info := &gsets[g]
	switch {
	case g == gNone && s.sniffUTF8:
		p.add(i, false, "8-bit byte 0x%02X but no character set declared; read as ISO_IR 100 (Latin-1)", c)
		return utf8.AppendRune(out, rune(c)), 1
	case g == gNone:
		p.add(i, false, "byte 0x%02X with no character set designated to G1; read as ISO-IR 100 (Latin-1)", c)
		return utf8.AppendRune(out, rune(c)), 1

	case info.double:
		if i+1 < len(b) {
			c1 := b[i+1]
			if 0xA1 <= c && c <= 0xFE && 0xA1 <= c1 && c1 <= 0xFE {
				if r, std := info.dbcs.lookup(c, c1); r != utf8.RuneError {
					if !std {
						p.add(i, false, "0x%02X%02X is a vendor extension of %s", c, c1, info.name)
					}
					return utf8.AppendRune(out, r), 2
				}
			}
			if r := decodeSuperset(g, c, c1); r != utf8.RuneError {
				p.add(i, false, "0x%02X%02X is not in %s; read as %s", c, c1, info.name, supersetName(g))
				return utf8.AppendRune(out, r), 2
			}
			if 0xA1 <= c && c <= 0xFE && 0xA1 <= c1 && c1 <= 0xFE {
				p.add(i, true, "%s has no character 0x%02X%02X", info.name, c, c1)
				return utf8.AppendRune(out, utf8.RuneError), 2
			}
		}
		p.add(i, true, "byte 0x%02X does not start a %s character", c, info.name)
		return utf8.AppendRune(out, utf8.RuneError), 1

	case g == gKatakana:
		if 0xA1 <= c && c <= 0xDF {
			return utf8.AppendRune(out, decodeSingle(g, c)), 1
		}
		if i+1 < len(b) {
			if r := decodeSJIS(c, b[i+1]); r != utf8.RuneError {
				p.add(i, false, "Shift_JIS character 0x%02X%02X under %s", c, b[i+1], info.name)
				return utf8.AppendRune(out, r), 2
			}
		}
		p.add(i, true, "byte 0x%02X is not in %s", c, info.name)
		return utf8.AppendRune(out, utf8.RuneError), 1
	}
	r := decodeSingle(g, c)
	if r == utf8.RuneError {
		p.add(i, true, "byte 0x%02X is not in %s", c, info.name)
	}
	return utf8.AppendRune(out, r), 1
}

// decodeSuperset decodes c0, c1 with the vendor superset of the G1 set g:
// Unified Hangul Code (CP949) for KS X 1001, GBK for GB 2312.
func decodeSuperset(g gset, c0, c1 byte) rune {
	var t transform.Transformer
	switch g {
	case gKSX1001:
		t = korean.EUCKR.NewDecoder()
	case gGB2312:
		t = simplifiedchinese.GBK.NewDecoder()
	default:
		return utf8.RuneError
	}
	if c0 < 0x81 || c0 == 0xFF || c1 < 0x40 || c1 == 0x7F || c1 == 0xFF {
		return utf8.RuneError
	}
	var dst [8]byte
	src := [2]byte{c0, c1}
	n, _, err := t.Transform(dst[:], src[:], true)
	r, size := utf8.DecodeRune(dst[:n])
	if err != nil || size != n {
		return utf8.RuneError
	}
	return r
}

func supersetName(g gset) string {
	if g == gKSX1001 {
		return "CP949"
	}
	return "GBK"
}
