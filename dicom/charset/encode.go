package charset

import (
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

// Encode converts text (UTF-8) to the Set's repertoire, for a value of the
// given kind. Pass the whole value, with '\' between values of a
// multi-valued element; padding to even length is the caller's business.
// For ISO 2022 sets Encode chooses the escape sequences (see the package
// documentation).
//
// If a character cannot be represented, or text is not valid UTF-8, Encode
// writes '?' in its place and returns the bytes with an [*EncodeError].
func (s *Set) Encode(text string, kind Kind) ([]byte, error) {
	if s == nil {
		s = Default
	}
	i := 0
	for i < len(text) && text[i] < utf8.RuneSelf && text[i] != esc {
		i++
	}
	if i == len(text) {
		return []byte(text), nil
	}
	switch s.mode {
	case modeUTF8:
		return s.encodeUTF8(text)
	case modeGB18030, modeGBK:
		return s.encodeGB(text, i)
	}
	return s.encode2022(text, kind, i)
}

// encProblems collects the characters Encode could not represent.
type encProblems struct {
	r     rune
	off   int
	count int
}

func (p *encProblems) add(off int, r rune) {
	if p.count == 0 {
		p.off, p.r = off, r
	}
	p.count++
}

func (p *encProblems) err(s *Set) error {
	if p.count == 0 {
		return nil
	}
	return &EncodeError{Set: s.name, Rune: p.r, Offset: p.off, Count: p.count}
}

func (s *Set) encodeUTF8(text string) ([]byte, error) {
	if utf8.ValidString(text) {
		return []byte(text), nil
	}
	var p encProblems
	out := make([]byte, 0, len(text))
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		if r == utf8.RuneError && size == 1 {
			p.add(i, r)
			out = append(out, '?')
		} else {
			out = append(out, text[i:i+size]...)
		}
		i += size
	}
	return out, p.err(s)
}

func (s *Set) encodeGB(text string, i int) ([]byte, error) {
	var t transform.Transformer
	if s.mode == modeGB18030 {
		t = simplifiedchinese.GB18030.NewEncoder()
	} else {
		t = simplifiedchinese.GBK.NewEncoder()
	}
	var p encProblems
	var dst, src [8]byte
	out := make([]byte, 0, len(text)+8)
	out = append(out, text[:i]...)
	for i < len(text) {
		r, size := utf8.DecodeRuneInString(text[i:])
		if r < utf8.RuneSelf {
			out = append(out, byte(r))
			i++
			continue
		}
		t.Reset()
		n, _, err := t.Transform(dst[:], src[:copy(src[:], text[i:i+size])], true)
		if err != nil || (r == utf8.RuneError && size == 1) {
			p.add(i, r)
			out = append(out, '?')
		} else {
			out = append(out, dst[:n]...)
		}
		i += size
	}
	return out, p.err(s)
}

// encodeIn appends the encoding of r (>= 0x80) in set g to out.
func encodeIn(out []byte, g gset, r rune) ([]byte, bool) {
	info := &gsets[g]
	if info.double {
		row, cell, ok := info.dbcs.lookupRune(r)
		if !ok {
			return out, false
		}
		if info.g1 {
			row, cell = row|0x80, cell|0x80
		}
		return append(out, row, cell), true
	}
	b, ok := encodeSingle(g, r)
	if !ok || b < 0x80 {
		return out, false
	}
	return append(out, b), true
}

// encode2022 encodes text with ISO 2022 code extensions; text[:i] is ASCII.
func (s *Set) encode2022(text string, kind Kind, i int) ([]byte, error) {
	var p encProblems
	out := make([]byte, 0, len(text)+len(text)/2+16)
	out = append(out, text[:i]...)
	g0, g1 := s.g0, s.g1
	for i < len(text) {
		r, size := utf8.DecodeRuneInString(text[i:])
		if r < utf8.RuneSelf || (r == utf8.RuneError && size == 1) {
			c := byte(r)
			if r >= utf8.RuneSelf || c == esc {
				p.add(i, r)
				c = '?'
			}
			// G0 of the first value is single-byte; the encoder never
			// designates another single-byte G0 set.
			if g0 != s.g0 {
				out = append(out, gsets[s.g0].esc...)
				g0 = s.g0
			}
			out = append(out, c)
			if c < 0x20 || c == 0x7F || isDelimiter(kind, c) {
				g1 = s.g1
			}
			i += size
			continue
		}
		var ok bool
		if g1 != gNone {
			out, ok = encodeIn(out, g1, r)
		}
		if !ok && gsets[g0].double {
			out, ok = encodeIn(out, g0, r)
		}
		for _, g := range s.cands {
			if ok {
				break
			}
			if g == g0 || g == g1 {
				continue
			}
			n := len(out)
			out = append(out, gsets[g].esc...)
			if out, ok = encodeIn(out, g, r); ok {
				if gsets[g].g1 {
					g1 = g
				} else {
					g0 = g
				}
			} else {
				out = out[:n]
			}
		}
		if !ok {
			p.add(i, r)
			if g0 != s.g0 {
				out = append(out, gsets[s.g0].esc...)
				g0 = s.g0
			}
			out = append(out, '?')
		}
		i += size
	}
	if g0 != s.g0 {
		out = append(out, gsets[s.g0].esc...)
	}
	return out, p.err(s)
}
