package charset

import (
	"strings"
	"testing"
)

var (
	benchASCII = []byte("DOE^JOHN^Q^DR^PHD=SMITH^JANE\\Second value with some more ASCII text ")
	benchJIS   = []byte("Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B")
	benchLT    = []byte(strings.Repeat("The 1st line includes \x1b$)C\xc7\xd1\xb1\xdb.\r\n", 20))
)

func mustParse(tb testing.TB, terms ...string) *Set {
	tb.Helper()
	s, err := Parse(terms)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestDecodeAllocs checks that decoding allocates nothing but the result.
func TestDecodeAllocs(t *testing.T) {
	tests := []struct {
		name string
		s    *Set
		raw  []byte
		kind Kind
	}{
		{"ASCII, default", Default, benchASCII, KindPN},
		{"ASCII, ISO 2022", mustParse(t, "", "ISO 2022 IR 87"), benchASCII, KindPN},
		{"ASCII, UTF-8", mustParse(t, "ISO_IR 192"), benchASCII, KindPN},
		{"Latin-1", mustParse(t, "ISO_IR 100"), []byte("Buc^J\xe9r\xf4me"), KindPN},
		{"UTF-8", mustParse(t, "ISO_IR 192"), []byte("Wang^XiaoDong=\xe7\x8e\x8b^\xe5\xb0\x8f\xe6\x9d\xb1"), KindPN},
		{"ISO 2022 IR 87", mustParse(t, "", "ISO 2022 IR 87"), benchJIS, KindPN},
		{"ISO 2022 IR 149 LT", mustParse(t, "", "ISO 2022 IR 149"), benchLT, KindLongText},
	}
	for _, tc := range tests {
		tc.s.Decode(tc.raw, tc.kind) // build tables
		if n := testing.AllocsPerRun(100, func() { tc.s.Decode(tc.raw, tc.kind) }); n > 1 {
			t.Errorf("%s: %v allocations per Decode, want at most 1 (the string)", tc.name, n)
		}
	}
}

func BenchmarkDecodeASCII(b *testing.B) {
	s := mustParse(b, "ISO_IR 100")
	b.SetBytes(int64(len(benchASCII)))
	b.ReportAllocs()
	for b.Loop() {
		s.Decode(benchASCII, KindPN)
	}
}

func BenchmarkDecodeLatin1(b *testing.B) {
	s := mustParse(b, "ISO_IR 100")
	raw := []byte("M\xfcller^J\xfcrgen=Stra\xdfe \xc4rger \xe9t\xe9")
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		s.Decode(raw, KindPN)
	}
}

func BenchmarkDecodeISO2022Japanese(b *testing.B) {
	s := mustParse(b, "", "ISO 2022 IR 87")
	b.SetBytes(int64(len(benchJIS)))
	b.ReportAllocs()
	for b.Loop() {
		s.Decode(benchJIS, KindPN)
	}
}

func BenchmarkDecodeISO2022KoreanLT(b *testing.B) {
	s := mustParse(b, "", "ISO 2022 IR 149")
	b.SetBytes(int64(len(benchLT)))
	b.ReportAllocs()
	for b.Loop() {
		s.Decode(benchLT, KindLongText)
	}
}

func BenchmarkDecodeGB18030(b *testing.B) {
	s := mustParse(b, "GB18030")
	raw := []byte("Wang^XiaoDong=\xcd\xf5^\xd0\xa1\xb6\xab")
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		s.Decode(raw, KindPN)
	}
}

func BenchmarkEncodeASCII(b *testing.B) {
	s := mustParse(b, "", "ISO 2022 IR 87")
	text := string(benchASCII)
	b.ReportAllocs()
	for b.Loop() {
		s.Encode(text, KindPN)
	}
}

func BenchmarkEncodeISO2022Japanese(b *testing.B) {
	s := mustParse(b, "", "ISO 2022 IR 87")
	text := "Yamada^Tarou=山田^太郎=やまだ^たろう"
	b.ReportAllocs()
	for b.Loop() {
		s.Encode(text, KindPN)
	}
}
