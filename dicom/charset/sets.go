package charset

import (
	"sync"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// gset is a graphic character set that an ISO 2022 escape sequence can
// designate to G0 or G1.
type gset uint8

const (
	gNone     gset = iota
	gASCII         // ISO-IR 6, G0
	gRomaji        // ISO-IR 14, JIS X 0201 Roman, G0 (read as ASCII)
	gKatakana      // ISO-IR 13, JIS X 0201 Katakana, G1
	gLatin1        // ISO-IR 100, G1
	gLatin2        // ISO-IR 101
	gLatin3        // ISO-IR 109
	gLatin4        // ISO-IR 110
	gCyrillic      // ISO-IR 144
	gArabic        // ISO-IR 127
	gGreek         // ISO-IR 126
	gHebrew        // ISO-IR 138
	gLatin5        // ISO-IR 148
	gLatin9        // ISO-IR 203
	gThai          // ISO-IR 166, TIS 620
	gJIS0208       // ISO-IR 87, JIS X 0208, G0, two bytes
	gJIS0212       // ISO-IR 159, JIS X 0212, G0, two bytes
	gKSX1001       // ISO-IR 149, KS X 1001, G1, two bytes
	gGB2312        // ISO-IR 58, GB 2312, G1, two bytes
	numGsets
)

type gsetInfo struct {
	name   string // ISO registration, for messages
	g1     bool   // designated to G1 (bytes 0xA0-0xFF) rather than G0
	double bool   // two bytes per character
	esc    string // designating escape sequence
	cm     *charmap.Charmap
	dbcs   *dbcsTable
}

var gsets = [numGsets]gsetInfo{
	gNone:     {name: "no set"},
	gASCII:    {name: "ISO-IR 6", esc: "\x1b(B"},
	gRomaji:   {name: "ISO-IR 14", esc: "\x1b(J"},
	gKatakana: {name: "ISO-IR 13", g1: true, esc: "\x1b)I"},
	gLatin1:   {name: "ISO-IR 100", g1: true, esc: "\x1b-A", cm: charmap.ISO8859_1},
	gLatin2:   {name: "ISO-IR 101", g1: true, esc: "\x1b-B", cm: charmap.ISO8859_2},
	gLatin3:   {name: "ISO-IR 109", g1: true, esc: "\x1b-C", cm: charmap.ISO8859_3},
	gLatin4:   {name: "ISO-IR 110", g1: true, esc: "\x1b-D", cm: charmap.ISO8859_4},
	gCyrillic: {name: "ISO-IR 144", g1: true, esc: "\x1b-L", cm: charmap.ISO8859_5},
	gArabic:   {name: "ISO-IR 127", g1: true, esc: "\x1b-G", cm: charmap.ISO8859_6},
	gGreek:    {name: "ISO-IR 126", g1: true, esc: "\x1b-F", cm: charmap.ISO8859_7},
	gHebrew:   {name: "ISO-IR 138", g1: true, esc: "\x1b-H", cm: charmap.ISO8859_8},
	gLatin5:   {name: "ISO-IR 148", g1: true, esc: "\x1b-M", cm: charmap.ISO8859_9},
	gLatin9:   {name: "ISO-IR 203", g1: true, esc: "\x1b-b", cm: charmap.ISO8859_15},
	gThai:     {name: "ISO-IR 166", g1: true, esc: "\x1b-T", cm: charmap.Windows874},
	gJIS0208:  {name: "ISO-IR 87", double: true, esc: "\x1b$B", dbcs: jis0208},
	gJIS0212:  {name: "ISO-IR 159", double: true, esc: "\x1b$(D", dbcs: jis0212},
	gKSX1001:  {name: "ISO-IR 149", g1: true, double: true, esc: "\x1b$)C", dbcs: ksx1001},
	gGB2312:   {name: "ISO-IR 58", g1: true, double: true, esc: "\x1b$)A", dbcs: gb2312},
}

// escapes maps escape sequences to the set they designate. Besides the
// sequences of PS3.3 Tables C.12-3 and C.12-4 it accepts the equivalent
// long form ESC $ ( B and the 1978 form ESC $ @ of JIS X 0208.
var escapes = map[string]gset{
	"\x1b(B":  gASCII,
	"\x1b(J":  gRomaji,
	"\x1b)I":  gKatakana,
	"\x1b-A":  gLatin1,
	"\x1b-B":  gLatin2,
	"\x1b-C":  gLatin3,
	"\x1b-D":  gLatin4,
	"\x1b-L":  gCyrillic,
	"\x1b-G":  gArabic,
	"\x1b-F":  gGreek,
	"\x1b-H":  gHebrew,
	"\x1b-M":  gLatin5,
	"\x1b-b":  gLatin9,
	"\x1b-T":  gThai,
	"\x1b$B":  gJIS0208,
	"\x1b$(B": gJIS0208,
	"\x1b$@":  gJIS0208,
	"\x1b$(D": gJIS0212,
	"\x1b$)C": gKSX1001,
	"\x1b$)A": gGB2312,
}

// decodeSingle decodes byte c (>= 0x80) in the single-byte G1 set g. Bytes
// 0x80-0x9F of the ISO 8859 sets are the C1 controls U+0080-U+009F, as in
// Python (x/text leaves them undefined).
func decodeSingle(g gset, c byte) rune {
	switch {
	case g == gKatakana:
		if 0xA1 <= c && c <= 0xDF {
			return 0xFF61 + rune(c-0xA1)
		}
		return utf8.RuneError
	case c < 0xA0:
		// Windows-874 (ISO-IR 166) has graphic characters here; TIS 620
		// does not.
		return rune(c)
	case g == gThai && c == 0xA0:
		return utf8.RuneError
	}
	return gsets[g].cm.DecodeByte(c)
}

// encodeSingle encodes rune r (>= 0x80) in the single-byte G1 set g.
func encodeSingle(g gset, r rune) (byte, bool) {
	switch {
	case g == gKatakana:
		if 0xFF61 <= r && r <= 0xFF9F {
			return byte(r-0xFF61) + 0xA1, true
		}
		return 0, false
	case r < 0xA0:
		return byte(r), r >= 0x80
	case r == utf8.RuneError:
		return 0, false
	}
	b, ok := gsets[g].cm.EncodeRune(r)
	return b, ok && b >= 0xA0 && !(g == gThai && b == 0xA0)
}

// dbcsTable is a 94x94 double-byte set, indexed by (row-0x21)*94 +
// (cell-0x21), built on first use from an x/text decoder.
type dbcsTable struct {
	once sync.Once
	// enc is the x/text encoding and prefix the bytes put before the pair
	// (with 0x80 set on both bytes) to make it decode one cell.
	enc    encoding.Encoding
	prefix string
	// fix replaces the x/text (WHATWG, i.e. Microsoft code page) reading
	// of a cell, row<<8|cell, with the standard's own, which Python, and
	// therefore pydicom, use; the x/text character still encodes to the
	// cell.
	fix map[uint16]rune
	// strict reports whether a cell belongs to the standard itself; only
	// those are encoded.
	strict func(row, cell byte, r rune) bool

	dec    []rune // 0 where undefined
	ext    []bool // decodable, but not in the standard (vendor extension)
	encode map[rune]uint16
}

var (
	jis0208 = &dbcsTable{
		enc: japanese.EUCJP,
		fix: map[uint16]rune{
			0x2141: 0x301C, // WAVE DASH, not FULLWIDTH TILDE
			0x2142: 0x2016, // DOUBLE VERTICAL LINE, not PARALLEL TO
			0x215D: 0x2212, // MINUS SIGN, not FULLWIDTH HYPHEN-MINUS
			0x2171: 0x00A2, // CENT SIGN, not FULLWIDTH CENT SIGN
			0x2172: 0x00A3, // POUND SIGN, not FULLWIDTH POUND SIGN
			0x224C: 0x00AC, // NOT SIGN, not FULLWIDTH NOT SIGN
		},
		strict: func(row, cell byte, r rune) bool {
			// JIS X 0208-1990: rows 1-8 and 16-84. Row 13 (NEC) and
			// rows 89-92 (IBM) are vendor extensions.
			return row <= 0x28 || (0x30 <= row && row <= 0x74)
		},
	}
	jis0212 = &dbcsTable{
		enc: japanese.EUCJP, prefix: "\x8f",
		fix:    map[uint16]rune{0x2237: '~'},
		strict: func(row, cell byte, r rune) bool { return true },
	}
	ksx1001 = &dbcsTable{
		enc: korean.EUCKR,
		strict: func(row, cell byte, r rune) bool {
			// 0x2454 HANGUL FILLER introduces the 8-byte syllable
			// compositions; Python rejects it on its own.
			return !(row == 0x24 && cell == 0x54) && !isPrivateUse(r)
		},
	}
	gb2312 = &dbcsTable{
		enc: simplifiedchinese.GBK,
		fix: map[uint16]rune{
			0x2124: 0x30FB, // KATAKANA MIDDLE DOT, not MIDDLE DOT
			0x212A: 0x2015, // HORIZONTAL BAR, not EM DASH
		},
		strict: func(row, cell byte, r rune) bool {
			// GB 2312-80 has rows 1-9 and 16-87; in rows 2, 6 and 8
			// GBK fills cells that GB 2312 leaves empty.
			switch row {
			case 0x22:
				return 0x31 <= cell && cell <= 0x62 || 0x65 <= cell && cell <= 0x6E || 0x71 <= cell && cell <= 0x7C
			case 0x26:
				return 0x21 <= cell && cell <= 0x38 || 0x41 <= cell && cell <= 0x58
			case 0x28:
				return 0x21 <= cell && cell <= 0x3A || 0x45 <= cell && cell <= 0x69
			}
			return (row <= 0x29 || (0x30 <= row && row <= 0x77)) && !isPrivateUse(r)
		},
	}
)

func isPrivateUse(r rune) bool { return 0xE000 <= r && r <= 0xF8FF }

func (t *dbcsTable) build() {
	t.dec = make([]rune, 94*94)
	t.ext = make([]bool, 94*94)
	t.encode = make(map[rune]uint16, 94*94)
	d := t.enc.NewDecoder()
	src := make([]byte, 0, 3)
	var dst [8]byte
	var aliases []rune // x/text readings replaced by fix, in cell order
	for row := byte(0x21); row <= 0x7E; row++ {
		for cell := byte(0x21); cell <= 0x7E; cell++ {
			src = append(append(src[:0], t.prefix...), row|0x80, cell|0x80)
			d.Reset()
			n, _, err := d.Transform(dst[:], src, true)
			if err != nil {
				continue
			}
			r, size := utf8.DecodeRune(dst[:n])
			if r == utf8.RuneError || size != n {
				continue
			}
			code := uint16(row)<<8 | uint16(cell)
			if f, ok := t.fix[code]; ok {
				aliases = append(aliases, r, rune(code))
				r = f
			}
			i := int(row-0x21)*94 + int(cell-0x21)
			t.dec[i] = r
			if !t.strict(row, cell, r) {
				t.ext[i] = true
			} else if _, dup := t.encode[r]; !dup && r >= utf8.RuneSelf {
				t.encode[r] = code
			}
		}
	}
	for i := 0; i < len(aliases); i += 2 {
		if _, dup := t.encode[aliases[i]]; !dup {
			t.encode[aliases[i]] = uint16(aliases[i+1])
		}
	}
}

// lookup returns the character at row and cell (both 0x21-0x7E, high bit
// ignored), or utf8.RuneError; std is false for vendor extensions.
func (t *dbcsTable) lookup(row, cell byte) (r rune, std bool) {
	t.once.Do(t.build)
	row, cell = row&0x7F, cell&0x7F
	if row < 0x21 || row > 0x7E || cell < 0x21 || cell > 0x7E {
		return utf8.RuneError, false
	}
	i := int(row-0x21)*94 + int(cell-0x21)
	if r := t.dec[i]; r != 0 {
		return r, !t.ext[i]
	}
	return utf8.RuneError, false
}

// lookupRune returns row and cell (0x21-0x7E) of r in the standard set.
func (t *dbcsTable) lookupRune(r rune) (row, cell byte, ok bool) {
	t.once.Do(t.build)
	v, ok := t.encode[r]
	return byte(v >> 8), byte(v), ok
}

// decodeSJIS decodes the Shift_JIS pair c0, c1 via JIS X 0208, for values
// declared ISO_IR 13 that were written in Shift_JIS.
func decodeSJIS(c0, c1 byte) rune {
	switch {
	case 0x81 <= c0 && c0 <= 0x9F:
		c0 -= 0x81
	case 0xE0 <= c0 && c0 <= 0xEF:
		c0 -= 0xC1
	default:
		return utf8.RuneError
	}
	if c1 < 0x40 || c1 == 0x7F || c1 > 0xFC {
		return utf8.RuneError
	}
	row := 2*c0 + 0x21
	var cell byte
	if c1 >= 0x9F {
		row++
		cell = c1 - 0x9F + 0x21
	} else {
		if c1 > 0x7F {
			c1--
		}
		cell = c1 - 0x40 + 0x21
	}
	r, _ := jis0208.lookup(row, cell)
	return r
}
