package charset

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// termCases has one value for every defined term, in its canonical
// encoding, so that Encode must produce raw exactly and Decode must give
// text back without error.
var termCases = []struct {
	terms []string
	kind  Kind
	text  string
	raw   string
}{
	{nil, KindPN, "Doe^John", "Doe^John"},
	{[]string{"ISO_IR 6"}, KindPN, "Doe^John", "Doe^John"},
	{[]string{"ISO_IR 100"}, KindPN, "Buc^Jérôme", "Buc^J\xe9r\xf4me"},
	{[]string{"ISO_IR 101"}, KindText, "Wałęsa", "Wa\xb3\xeasa"},
	{[]string{"ISO_IR 109"}, KindText, "antaŭnomo", "anta\xfdnomo"},
	{[]string{"ISO_IR 110"}, KindText, "vārds", "v\xe0rds"},
	{[]string{"ISO_IR 144"}, KindPN, "Люкceмбypг", "\xbb\xee\xdace\xdc\xd1yp\xd3"},
	{[]string{"ISO_IR 127"}, KindPN, "قباني^لنزار", "\xe2\xc8\xc7\xe6\xea^\xe4\xe6\xd2\xc7\xd1"},
	{[]string{"ISO_IR 126"}, KindPN, "Διονυσιος", "\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2"},
	{[]string{"ISO_IR 138"}, KindPN, "שרון^דבורה", "\xf9\xf8\xe5\xef^\xe3\xe1\xe5\xf8\xe4"},
	{[]string{"ISO_IR 148"}, KindPN, "Çavuşoğlu", "\xc7avu\xfeo\xf0lu"},
	{[]string{"ISO_IR 203"}, KindText, "€uro œuvre", "\xa4uro \xbduvre"},
	{[]string{"ISO_IR 13"}, KindPN, "ﾔﾏﾀﾞ^ﾀﾛｳ=Yamada", "\xd4\xcf\xc0\xde^\xc0\xdb\xb3=Yamada"},
	{[]string{"ISO_IR 166"}, KindPN, "นามสกุล", "\xb9\xd2\xc1\xca\xa1\xd8\xc5"},
	{[]string{"ISO_IR 192"}, KindPN, "Wang^XiaoDong=王^小東", "Wang^XiaoDong=\xe7\x8e\x8b^\xe5\xb0\x8f\xe6\x9d\xb1"},
	{[]string{"GB18030"}, KindPN, "Wang^XiaoDong=王^小东", "Wang^XiaoDong=\xcd\xf5^\xd0\xa1\xb6\xab"},
	{[]string{"GBK"}, KindPN, "Wang^XiaoDong=王^小东", "Wang^XiaoDong=\xcd\xf5^\xd0\xa1\xb6\xab"},
	{[]string{"GB18030"}, KindText, "乗\\😀", "\x81\x5c\\\x94\x39\xfc\x36"},
	{[]string{"ISO 2022 IR 6"}, KindPN, "Doe^John", "Doe^John"},
	{[]string{"ISO 2022 IR 100"}, KindText, "Bäcken", "B\xe4cken"},
	{[]string{"", "ISO 2022 IR 100"}, KindPN, "Buc^Jérôme", "Buc^J\x1b-A\xe9r\xf4me"},
	{[]string{"", "ISO 2022 IR 101"}, KindText, "Wałęsa", "Wa\x1b-B\xb3\xeasa"},
	{[]string{"", "ISO 2022 IR 109"}, KindText, "antaŭnomo", "anta\x1b-C\xfdnomo"},
	{[]string{"", "ISO 2022 IR 110"}, KindText, "vārds", "v\x1b-D\xe0rds"},
	{[]string{"", "ISO 2022 IR 144"}, KindText, "Люк", "\x1b-L\xbb\xee\xda"},
	{[]string{"", "ISO 2022 IR 127"}, KindPN, "قباني^لنزار", "\x1b-G\xe2\xc8\xc7\xe6\xea^\x1b-G\xe4\xe6\xd2\xc7\xd1"},
	{[]string{"", "ISO 2022 IR 126"}, KindPN, "Dionysios=Διονυσιος", "Dionysios=\x1b-F\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2"},
	{[]string{"", "ISO 2022 IR 138"}, KindPN, "שרון^דבורה", "\x1b-H\xf9\xf8\xe5\xef^\x1b-H\xe3\xe1\xe5\xf8\xe4"},
	{[]string{"", "ISO 2022 IR 148"}, KindPN, "Çavuşoğlu", "\x1b-M\xc7avu\xfeo\xf0lu"},
	{[]string{"", "ISO 2022 IR 203"}, KindText, "5 €", "5 \x1b-b\xa4"},
	{[]string{"", "ISO 2022 IR 166"}, KindPN, "นามสกุล", "\x1b-T\xb9\xd2\xc1\xca\xa1\xd8\xc5"},
	// pydicom's vector for ISO 2022 IR 13 as a code extension.
	{[]string{"", "ISO 2022 IR 13"}, KindPN, "ﾔﾏﾀﾞ^ﾀﾛｳ", "\x1b)I\xd4\xcf\xc0\xde^\x1b)I\xc0\xdb\xb3"},
	// PS3.5 H.3.1 and H.3.2.
	{[]string{"", "ISO 2022 IR 87"}, KindPN, "Yamada^Tarou=山田^太郎=やまだ^たろう",
		"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B"},
	{[]string{"ISO 2022 IR 13", "ISO 2022 IR 87"}, KindPN, "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう",
		"\xd4\xcf\xc0\xde^\xc0\xdb\xb3=\x1b$B;3ED\x1b(J^\x1b$BB@O:\x1b(J=\x1b$B$d$^$@\x1b(J^\x1b$B$?$m$&\x1b(J"},
	{[]string{"", "ISO 2022 IR 87"}, KindLongText, "1. 山田\r\n2. やまだ Tarou\r\n",
		"1. \x1b$B;3ED\x1b(B\r\n2. \x1b$B$d$^$@\x1b(B Tarou\r\n"},
	// pydicom's vector for JIS X 0212.
	{[]string{"ISO 2022 IR 6", "ISO 2022 IR 87", "ISO 2022 IR 159"}, KindPN, "Mori^Ogai=森^鷗外=もり^おうがい",
		"Mori^Ogai=\x1b$B?9\x1b(B^\x1b$(Dl?\x1b$B30\x1b(B=\x1b$B$b$j\x1b(B^\x1b$B$*$&$,$$\x1b(B"},
	// PS3.5 I.2.
	{[]string{"", "ISO 2022 IR 149"}, KindPN, "Hong^Gildong=洪^吉洞=홍^길동",
		"Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7=\x1b$)C\xc8\xab^\x1b$)C\xb1\xe6\xb5\xbf"},
	{[]string{"", "ISO 2022 IR 149"}, KindLongText, "The 1st line includes 한글.\r\nThe 2nd line includes 한글, too.\r\n",
		"The 1st line includes \x1b$)C\xc7\xd1\xb1\xdb.\r\nThe 2nd line includes \x1b$)C\xc7\xd1\xb1\xdb, too.\r\n"},
	// PS3.5 K.2 and K.3 (current form, without ESC ( B before CR LF).
	{[]string{"", "ISO 2022 IR 58"}, KindPN, "Zhang^XiaoDong=张^小东=",
		"Zhang^XiaoDong=\x1b$)A\xd5\xc5^\x1b$)A\xd0\xa1\xb6\xab="},
	{[]string{"", "ISO 2022 IR 58"}, KindLongText, "1.第一行文字。\r\n2.第二行文字。\r\n",
		"1.\x1b$)A\xb5\xda\xd2\xbb\xd0\xd0\xce\xc4\xd7\xd6\xa1\xa3\r\n2.\x1b$)A\xb5\xda\xb6\xfe\xd0\xd0\xce\xc4\xd7\xd6\xa1\xa3\r\n"},
	// G1 sets of value 1 are in force without escape sequences.
	{[]string{"ISO 2022 IR 149"}, KindPN, "김희중", "\xb1\xe8\xc8\xf1\xc1\xdf"},
	{[]string{"ISO 2022 IR 58"}, KindText, "张小东", "\xd5\xc5\xd0\xa1\xb6\xab"},
	// Switching G1 sets within one value, and back to value 1's.
	{[]string{"ISO 2022 IR 100", "ISO 2022 IR 144", "ISO 2022 IR 126"}, KindText, "é Люк Δι é",
		"\xe9 \x1b-L\xbb\xee\xda \x1b-F\xc4\xe9 \x1b-A\xe9"},
	{[]string{"", "ISO 2022 IR 149", "ISO 2022 IR 58"}, KindText, "홍 张", "\x1b$)C\xc8\xab \x1b$)A\xd5\xc5"},
	// Multi-valued: designations end at '\'.
	{[]string{"", "ISO 2022 IR 87"}, KindText, "山\\田", "\x1b$B;3\x1b(B\\\x1b$BED\x1b(B"},
	{[]string{"", "ISO 2022 IR 149"}, KindText, "홍\\홍", "\x1b$)C\xc8\xab\\\x1b$)C\xc8\xab"},
	{[]string{"", "ISO 2022 IR 149"}, KindText, "홍^홍", "\x1b$)C\xc8\xab^\xc8\xab"},
	{[]string{"", "ISO 2022 IR 149"}, KindLongText, "홍\\홍\t홍", "\x1b$)C\xc8\xab\\\xc8\xab\t\x1b$)C\xc8\xab"},
	{[]string{"", "ISO 2022 IR 100"}, KindText, "", ""},
}

func TestEveryTerm(t *testing.T) {
	for _, tc := range termCases {
		t.Run(strings.Join(tc.terms, `\`)+" "+tc.text, func(t *testing.T) {
			s, err := Parse(tc.terms)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.terms, err)
			}
			got, err := s.Encode(tc.text, tc.kind)
			if err != nil || string(got) != tc.raw {
				t.Errorf("Encode(%q) = %q, %v; want %q", tc.text, got, err, tc.raw)
			}
			text, err := s.Decode([]byte(tc.raw), tc.kind)
			if err != nil || text != tc.text {
				t.Errorf("Decode(%q) = %q, %v; want %q", tc.raw, text, err, tc.text)
			}
		})
	}
	// Every defined term appears above.
	covered := map[string]bool{}
	for _, tc := range termCases {
		for _, term := range tc.terms {
			covered[term] = true
		}
	}
	for _, d := range termDefs {
		if !covered[d.name] {
			t.Errorf("no test case for %s", d.name)
		}
	}
}

func TestDelimiters(t *testing.T) {
	korean := []string{"", "ISO 2022 IR 149"}
	tests := []struct {
		name       string
		kind       Kind
		raw        string
		want       string
		undeclared bool // the second character is read as Latin-1
	}{
		{"PN resets at ^", KindPN, "\x1b$)C\xc8\xab^\xc8\xab", "홍^\u00c8\u00ab", true},
		{"PN resets at =", KindPN, "\x1b$)C\xc8\xab=\xc8\xab", "홍=\u00c8\u00ab", true},
		{"PN resets at backslash", KindPN, "\x1b$)C\xc8\xab\\\xc8\xab", "홍\\\u00c8\u00ab", true},
		{"text resets at backslash", KindText, "\x1b$)C\xc8\xab\\\xc8\xab", "홍\\\u00c8\u00ab", true},
		{"text does not reset at ^", KindText, "\x1b$)C\xc8\xab^\xc8\xab", "홍^홍", false},
		{"long text does not reset at backslash", KindLongText, "\x1b$)C\xc8\xab\\\xc8\xab", "홍\\홍", false},
		{"long text resets at CR", KindLongText, "\x1b$)C\xc8\xab\r\xc8\xab", "홍\r\u00c8\u00ab", true},
		{"long text resets at LF", KindLongText, "\x1b$)C\xc8\xab\n\xc8\xab", "홍\n\u00c8\u00ab", true},
		{"long text resets at FF", KindLongText, "\x1b$)C\xc8\xab\f\xc8\xab", "홍\f\u00c8\u00ab", true},
		{"long text resets at TAB", KindLongText, "\x1b$)C\xc8\xab\t\xc8\xab", "홍\t\u00c8\u00ab", true},
		{"text resets at TAB", KindText, "\x1b$)C\xc8\xab\t\xc8\xab", "홍\t\u00c8\u00ab", true},
	}
	s, _ := Parse(korean)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Decode([]byte(tc.raw), tc.kind)
			if got != tc.want {
				t.Errorf("Decode(%q) = %q, want %q", tc.raw, got, tc.want)
			}
			if errors.Is(err, ErrUndeclared) != tc.undeclared || errors.Is(err, ErrReplaced) {
				t.Errorf("error %v, want undeclared=%v", err, tc.undeclared)
			}
		})
	}

	// In a two-byte G0 set, delimiter bytes are halves of characters;
	// control characters end the run.
	jis, _ := Parse([]string{"", "ISO 2022 IR 87"})
	if got, err := jis.Decode([]byte("\x1b$B;3\x7f;3"), KindText); got != "山\x7f;3" || err != nil {
		t.Errorf("DEL in JIS X 0208 run: %q, %v", got, err)
	}
	for _, kind := range []Kind{KindText, KindLongText, KindPN} {
		raw := "\x1b$B$=%\\=B\x1b(B" // そ ボ 渋: '=', '\' and '=' bytes
		if got, err := jis.Decode([]byte(raw), kind); got != "そボ渋" || err != nil {
			t.Errorf("%v: Decode(%q) = %q, %v", kind, raw, got, err)
		}
		if got, err := jis.Encode("そボ渋", kind); string(got) != raw || err != nil {
			t.Errorf("%v: Encode = %q, %v; want %q", kind, got, err, raw)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name              string
		terms             []string
		raw               string
		want              string
		offset            int
		lossy, undeclared bool
		count             int
	}{
		{"invalid UTF-8", []string{"ISO_IR 192"}, "ok\xff\xfe", "ok\ufffd\ufffd", 2, true, false, 2},
		{"truncated UTF-8", []string{"ISO_IR 192"}, "a\xe4\xb8", "a\ufffd", 1, true, false, 1},
		{"undefined ISO 8859-3 byte", []string{"ISO_IR 109"}, "a\xa5b", "a\ufffdb", 1, true, false, 1},
		{"undefined TIS 620 byte", []string{"ISO_IR 166"}, "\xfc", "\ufffd", 0, true, false, 1},
		{"unknown escape", []string{"ISO_IR 100"}, "a\x1b(Zb", "a\ufffdb", 1, true, false, 1},
		{"lone ESC", []string{"ISO_IR 100"}, "a\x1b", "a\ufffd", 1, true, false, 1},
		{"undeclared escape", []string{"ISO_IR 100"}, "\x1b$B;3\x1b(B", "山", 0, false, true, 1},
		{"undefined JIS X 0208 cell", []string{"", "ISO 2022 IR 87"}, "\x1b$B\x7e\x7e\x22\x2f\x1b(B", "\ufffd\ufffd", 3, true, false, 2},
		{"odd JIS X 0208 byte", []string{"", "ISO 2022 IR 87"}, "\x1b$B;\x1b(Bx", "\ufffdx", 3, true, false, 1},
		{"KS X 1001 lead without trail", []string{"", "ISO 2022 IR 149"}, "\x1b$)C\xc8", "\ufffd", 4, true, false, 1},
		{"KS X 1001 lead before ASCII", []string{"", "ISO 2022 IR 149"}, "\x1b$)C\xc8A", "\ufffdA", 4, true, false, 1},
		{"CP949 pair", []string{"", "ISO 2022 IR 149"}, "\x1b$)C\x8c\x63", "똠", 4, false, true, 1},
		{"GBK pair under GB 2312", []string{"", "ISO 2022 IR 58"}, "\x1b$)A\x81\x5c", "乗", 4, false, true, 1},
		{"katakana set, invalid byte", []string{"ISO_IR 13"}, "\xff", "\ufffd", 0, true, false, 1},
		{"Shift_JIS under ISO_IR 13", []string{"ISO_IR 13"}, "\x8eR", "山", 0, false, true, 1},
		{"no G1 set", []string{"", "ISO 2022 IR 87"}, "\xe9", "é", 0, false, true, 1},
		{"default, Latin-1", nil, "J\xe9r\xf4me", "Jérôme", 1, false, true, 2},
		{"default, UTF-8", nil, "J\xc3\xa9r\xc3\xb4me", "Jérôme", 1, false, true, 1},
		{"GB18030 bad lead", []string{"GB18030"}, "\xffa", "\ufffda", 0, true, false, 1},
		{"GB18030 lead before ASCII", []string{"GB18030"}, "\x81 a", "\ufffd a", 0, true, false, 1},
		{"GBK 0x80", []string{"GBK"}, "\x80", "€", 0, false, true, 1},
		{"both kinds", []string{"", "ISO 2022 IR 87"}, "\xe9\x1b(Z", "é\ufffd", 0, true, true, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := Parse(tc.terms)
			got, err := s.Decode([]byte(tc.raw), KindLongText)
			if got != tc.want {
				t.Errorf("Decode(%q) = %q, want %q", tc.raw, got, tc.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("invalid UTF-8 %q", got)
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v, want *DecodeError", err)
			}
			if de.Offset != tc.offset || de.Lossy != tc.lossy || de.Undeclared != tc.undeclared || de.Count != tc.count {
				t.Errorf("error %+v, want offset %d lossy %v undeclared %v count %d", de, tc.offset, tc.lossy, tc.undeclared, tc.count)
			}
			if errors.Is(err, ErrReplaced) != tc.lossy || errors.Is(err, ErrUndeclared) != tc.undeclared {
				t.Errorf("errors.Is mismatch for %v", err)
			}
			if !strings.HasPrefix(err.Error(), "charset: ") {
				t.Errorf("error text %q", err)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	tests := []struct {
		name   string
		terms  []string
		text   string
		want   string
		r      rune
		offset int
		count  int
	}{
		{"default repertoire", nil, "Jérôme", "J?r?me", 'é', 1, 2},
		{"not in Latin-1", []string{"ISO_IR 100"}, "Łódź", "?\xf3d?", 'Ł', 0, 2},
		{"ESC", []string{"ISO_IR 100"}, "a\x1bb", "a?b", 0x1b, 1, 1},
		{"invalid UTF-8", []string{"ISO_IR 100"}, "a\xffb", "a?b", utf8.RuneError, 1, 1},
		{"invalid UTF-8, UTF-8 set", []string{"ISO_IR 192"}, "a\xffb", "a?b", utf8.RuneError, 1, 1},
		{"invalid UTF-8, GB18030", []string{"GB18030"}, "a\xffb", "a?b", utf8.RuneError, 1, 1},
		{"not in GBK", []string{"GBK"}, "a😀", "a?", '😀', 1, 1},
		{"Hangul in JIS", []string{"", "ISO 2022 IR 87"}, "山한", "\x1b$B;3\x1b(B?", '한', 3, 1},
		{"yen sign in ISO_IR 13", []string{"ISO_IR 13"}, "¥", "?", '¥', 0, 1},
		{"fullwidth katakana in ISO_IR 13", []string{"ISO_IR 13"}, "ア", "?", 'ア', 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := Parse(tc.terms)
			got, err := s.Encode(tc.text, KindText)
			if string(got) != tc.want {
				t.Errorf("Encode(%q) = %q, want %q", tc.text, got, tc.want)
			}
			var ee *EncodeError
			if !errors.As(err, &ee) {
				t.Fatalf("error %v, want *EncodeError", err)
			}
			if ee.Rune != tc.r || ee.Offset != tc.offset || ee.Count != tc.count {
				t.Errorf("error %+v, want rune %U offset %d count %d", ee, tc.r, tc.offset, tc.count)
			}
		})
	}
	// Characters the x/text tables decode but the standards lack are not
	// encoded: NEC row 13 of JIS X 0208, GBK additions to GB 2312.
	jis, _ := Parse([]string{"", "ISO 2022 IR 87"})
	if r, err := jis.Decode([]byte("\x1b$B-!\x1b(B"), KindText); r != "①" || !errors.Is(err, ErrUndeclared) {
		t.Fatalf("NEC row 13: %q, %v", r, err)
	}
	if _, err := jis.Encode("①", KindText); err == nil {
		t.Error("Encode(①) in JIS X 0208 succeeded")
	}
	// Microsoft variants encode to the JIS X 0208 cell (decoded as the
	// standard's character).
	if b, err := jis.Encode("～〜", KindText); string(b) != "\x1b$B!A!A\x1b(B" || err != nil {
		t.Errorf("Encode(wave dashes) = %q, %v", b, err)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in      []string
		terms   []string
		errs    int  // TermErrors in the joined error
		unknown bool // one of them is ErrUnknownTerm
	}{
		{nil, nil, 0, false},
		{[]string{}, nil, 0, false},
		{[]string{""}, nil, 0, false},
		{[]string{"  "}, nil, 0, false},
		{[]string{"ISO_IR 100 "}, []string{"ISO_IR 100"}, 0, false},
		{[]string{"ISO_IR 100\x00"}, []string{"ISO_IR 100"}, 0, false},
		{[]string{"ISO IR 100"}, []string{"ISO_IR 100"}, 1, false},
		{[]string{"ISO-IR 100"}, []string{"ISO_IR 100"}, 1, false},
		{[]string{"iso_ir 100"}, []string{"ISO_IR 100"}, 1, false},
		{[]string{"ISO_IR100"}, []string{"ISO_IR 100"}, 1, false},
		{[]string{"ISO IR 192"}, []string{"ISO_IR 192"}, 1, false},
		{[]string{"ISO-IR 192"}, []string{"ISO_IR 192"}, 1, false},
		{[]string{"ISO_IR192"}, []string{"ISO_IR 192"}, 1, false},
		{[]string{"ISO 2022 IR 192"}, []string{"ISO_IR 192"}, 1, false},
		{[]string{"UTF-8"}, []string{"ISO_IR 192"}, 1, false},
		{[]string{"utf8"}, []string{"ISO_IR 192"}, 1, false},
		{[]string{"latin1"}, []string{"ISO_IR 100"}, 1, false},
		{[]string{"ISO-8859-15"}, []string{"ISO_IR 203"}, 1, false},
		{[]string{"gb18030"}, []string{"GB18030"}, 1, false},
		{[]string{"Shift_JIS"}, []string{"ISO_IR 13"}, 1, false},
		{[]string{"ISO_IR 87"}, []string{"ISO 2022 IR 87"}, 1, false},
		{[]string{"ISO 2022 58"}, []string{"ISO 2022 IR 58"}, 1, false},
		{[]string{"ISO 2022 GBK"}, []string{"GBK"}, 1, false},
		{[]string{"ISO_2022-IR 100", "ISO_2022_IR+126"}, []string{"ISO 2022 IR 100", "ISO 2022 IR 126"}, 2, false},
		{[]string{"", "ISO 2022 IR 87"}, []string{"", "ISO 2022 IR 87"}, 0, false},
		{[]string{"ISO 2022 IR 6", "ISO 2022 IR 87", "ISO 2022 IR 87"}, []string{"ISO 2022 IR 6", "ISO 2022 IR 87"}, 0, false},
		{[]string{"UNSUPPORTED"}, nil, 1, true},
		{[]string{"ISO_IR 999"}, nil, 1, true},
		{[]string{"UNSUPPORTED", "ISO 2022 IR 87"}, []string{"", "ISO 2022 IR 87"}, 1, true},
		{[]string{"ISO 2022 IR 100", "ISO 2022 IR 146"}, []string{"ISO 2022 IR 100"}, 1, true},
		{[]string{"ISO_IR 192", "ISO 2022 IR 100", "ISO 2022 IR 144"}, []string{"ISO_IR 192"}, 2, false},
		{[]string{"ISO_IR 126", "GBK", "ISO 2022 IR 144", "ISO_IR 192"}, []string{"ISO_IR 126", "ISO 2022 IR 144"}, 2, false},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.in, `\`), func(t *testing.T) {
			s, err := Parse(tc.in)
			if s == nil {
				t.Fatal("nil Set")
			}
			if got := s.Terms(); !slices.Equal(got, tc.terms) {
				t.Errorf("Terms() = %q, want %q", got, tc.terms)
			}
			if s.String() != strings.Join(tc.terms, `\`) {
				t.Errorf("String() = %q", s.String())
			}
			var n int
			if err != nil {
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					var te *TermError
					if !errors.As(e, &te) {
						t.Errorf("error %v is not a *TermError", e)
					}
					n++
				}
			}
			if n != tc.errs {
				t.Errorf("%d term errors (%v), want %d", n, err, tc.errs)
			}
			if errors.Is(err, ErrUnknownTerm) != tc.unknown {
				t.Errorf("errors.Is(%v, ErrUnknownTerm) != %v", err, tc.unknown)
			}
			if tc.terms == nil && s != Default {
				t.Errorf("got %v, want Default", s)
			}
		})
	}
}

func TestNilAndDefault(t *testing.T) {
	var s *Set
	if got, err := s.Decode([]byte("A^B"), KindPN); got != "A^B" || err != nil {
		t.Errorf("nil Decode = %q, %v", got, err)
	}
	if got, err := s.Encode("A^B", KindPN); string(got) != "A^B" || err != nil {
		t.Errorf("nil Encode = %q, %v", got, err)
	}
	if s.Terms() != nil || s.String() != "" || Default.Terms() != nil {
		t.Error("nil or Default has terms")
	}
	explicit, err := Parse([]string{"ISO_IR 6"})
	if err != nil {
		t.Fatal(err)
	}
	for _, set := range []*Set{Default, explicit} {
		if got, _ := set.Decode([]byte("\xe7\x8e\x8b"), KindText); got != "王" {
			t.Errorf("%v: UTF-8 without declaration read as %q", set, got)
		}
	}
}

func TestKindForVR(t *testing.T) {
	for vr, want := range map[string]Kind{"SH": KindText, "LO": KindText, "UC": KindText,
		"ST": KindLongText, "LT": KindLongText, "UT": KindLongText, "PN": KindPN} {
		if k, ok := KindForVR(vr); !ok || k != want {
			t.Errorf("KindForVR(%s) = %v, %v", vr, k, ok)
		}
	}
	for _, vr := range []string{"AE", "AS", "CS", "DA", "DS", "DT", "IS", "TM", "UI", "UR", "OB", ""} {
		if _, ok := KindForVR(vr); ok {
			t.Errorf("KindForVR(%s) affected", vr)
		}
	}
	if KindPN.String() != "KindPN" || Kind(9).String() != "Kind(9)" {
		t.Error("Kind.String")
	}
}

// TestConcurrent exercises the lazily built tables from many goroutines
// (run with -race).
func TestConcurrent(t *testing.T) {
	sets := make([]*Set, 0, len(termCases))
	for _, tc := range termCases {
		s, _ := Parse(tc.terms)
		sets = append(sets, s)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, tc := range termCases {
				if got, _ := sets[i].Decode([]byte(tc.raw), tc.kind); got != tc.text {
					t.Errorf("Decode(%q) = %q", tc.raw, got)
				}
				if got, _ := sets[i].Encode(tc.text, tc.kind); string(got) != tc.raw {
					t.Errorf("Encode(%q) = %q", tc.text, got)
				}
			}
		}()
	}
	wg.Wait()
}
