package charset

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// Cells where the x/text table and Python's codec disagree on purpose.
// Keys are "term cell", cell as hex. (None: sets.go fixes the cells where
// x/text follows Microsoft's code pages rather than the standard.)
var tableMismatch = map[string]string{}

// TestTablesAgainstPython checks every cell of every character set against
// Python's codecs (as recorded by gen.py): where Python decodes a cell,
// Lightbox must decode it to the same character; where Python does not,
// Lightbox may (tolerance) but must never encode to it.
func TestTablesAgainstPython(t *testing.T) {
	g := readGolden(t)
	singles := map[string]gset{
		"ISO_IR 100": gLatin1, "ISO_IR 101": gLatin2, "ISO_IR 109": gLatin3, "ISO_IR 110": gLatin4,
		"ISO_IR 126": gGreek, "ISO_IR 127": gArabic, "ISO_IR 138": gHebrew, "ISO_IR 144": gCyrillic,
		"ISO_IR 148": gLatin5, "ISO_IR 166": gThai, "ISO_IR 203": gLatin9, "ISO_IR 13": gKatakana,
	}
	for term, gs := range singles {
		tab, ok := g.Tables.Single[term]
		if !ok {
			t.Errorf("no Python table for %s", term)
			continue
		}
		py := []rune(tab.Cells)
		if len(py) != 128 {
			t.Fatalf("%s: %d cells", term, len(py))
		}
		var tolerated []string
		for i, want := range py {
			c := byte(0x80 + i)
			got := decodeSingle(gs, c)
			key := fmt.Sprintf("%s %02X", term, c)
			switch {
			case want != 0 && got != want && tableMismatch[key] == "":
				t.Errorf("%s: byte 0x%02X decodes to %U, Python %s %U", term, c, got, tab.Codec, want)
			case want == 0 && got != utf8.RuneError:
				tolerated = append(tolerated, fmt.Sprintf("%02X=%U", c, got))
			}
			if got == utf8.RuneError {
				continue
			}
			if b, ok := encodeSingle(gs, got); !ok || b != c {
				t.Errorf("%s: %U encodes to 0x%02X, %v; want 0x%02X", term, got, b, ok, c)
			}
		}
		if len(tolerated) > 0 {
			t.Logf("%s: decodes %d bytes Python's %s rejects: %s", term, len(tolerated), tab.Codec, strings.Join(tolerated, " "))
		}
	}

	doubles := map[string]*dbcsTable{
		"ISO 2022 IR 87": jis0208, "ISO 2022 IR 159": jis0212, "ISO 2022 IR 149": ksx1001, "ISO 2022 IR 58": gb2312,
	}
	for term, tbl := range doubles {
		tab, ok := g.Tables.Double[term]
		if !ok {
			t.Errorf("no Python table for %s", term)
			continue
		}
		py := []rune(tab.Cells)
		if len(py) != 94*94 {
			t.Fatalf("%s: %d cells", term, len(py))
		}
		var tolerated, missing, differ int
		var examples []string
		for i, want := range py {
			row, cell := byte(0x21+i/94), byte(0x21+i%94)
			got, _ := tbl.lookup(row, cell)
			key := fmt.Sprintf("%s %02X%02X", term, row, cell)
			switch {
			case want == 0 && got != utf8.RuneError:
				tolerated++
				if _, _, enc := tbl.lookupRune(got); enc {
					if r, c, _ := tbl.lookupRune(got); r == row && c == cell {
						t.Errorf("%s: encodes %U to 0x%02X%02X, which Python's %s rejects", term, got, row, cell, tab.Codec)
					}
				}
			case want != 0 && got == utf8.RuneError:
				missing++
				if tableMismatch[key] == "" {
					t.Errorf("%s: 0x%02X%02X undefined, Python %s has %U %c", term, row, cell, tab.Codec, want, want)
				}
			case want != 0 && got != want:
				differ++
				if tableMismatch[key] == "" {
					examples = append(examples, fmt.Sprintf("%02X%02X=%U/%U", row, cell, got, want))
				}
			}
			if want >= 0x80 { // ASCII is always encoded as ASCII
				if r, c, ok := tbl.lookupRune(want); !ok || r != row || c != cell {
					if got == want {
						t.Errorf("%s: %U does not encode to 0x%02X%02X (got %02X%02X, %v)", term, want, row, cell, r, c, ok)
					}
				}
			}
		}
		if len(examples) > 0 {
			t.Errorf("%s: %d cells differ from Python's %s (Lightbox/Python): %s", term, differ, tab.Codec, strings.Join(examples, " "))
		}
		t.Logf("%s: %d cells Python's %s rejects are decoded (vendor extensions); %d missing", term, tolerated, tab.Codec, missing)
	}
}

// TestEveryEncodableCharacter encodes every character of every two-byte
// set through a Set, in all three kinds, and decodes it back.
func TestEveryEncodableCharacter(t *testing.T) {
	sets := map[*dbcsTable][]string{
		jis0208: {"", "ISO 2022 IR 87"}, jis0212: {"", "ISO 2022 IR 159"},
		ksx1001: {"", "ISO 2022 IR 149"}, gb2312: {"", "ISO 2022 IR 58"},
	}
	for tbl, terms := range sets {
		s, err := Parse(terms)
		if err != nil {
			t.Fatal(err)
		}
		tbl.once.Do(tbl.build)
		for r, code := range tbl.encode {
			want, _ := tbl.lookup(byte(code>>8), byte(code))
			text := "a" + string(r) + "^" + string(r) + "\\b"
			for _, kind := range []Kind{KindText, KindLongText, KindPN} {
				raw, err := s.Encode(text, kind)
				if err != nil {
					t.Fatalf("%v: Encode(%q): %v", terms, text, err)
				}
				got, err := s.Decode(raw, kind)
				if wantText := "a" + string(want) + "^" + string(want) + "\\b"; got != wantText || err != nil {
					t.Fatalf("%v %v: Decode(Encode(%q) = %q) = %q, %v", terms, kind, text, raw, got, err)
				}
			}
		}
	}
}
