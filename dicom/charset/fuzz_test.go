package charset

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzSet parses the fuzzer's (0008,0005), given with '\' between values.
func fuzzSet(terms string) *Set {
	var list []string
	if terms != "" {
		list = strings.Split(terms, `\`)
	}
	s, _ := Parse(list)
	return s
}

// seedFuzz adds the golden fixtures and probes, and the test cases, as
// (terms, kind, bytes) seeds.
func seedFuzz(f *testing.F, add func(terms string, kind int, raw []byte)) {
	g := readGolden(f)
	for _, fx := range g.Fixtures {
		k, _ := KindForVR(fx.VR)
		add(strings.Join(fx.Charset, `\`), int(k), fx.Raw)
	}
	for _, p := range g.Probes {
		k, _ := KindForVR(p.VR)
		add(strings.Join(p.Charset, `\`), int(k), p.Raw)
	}
	for _, tc := range termCases {
		add(strings.Join(tc.terms, `\`), int(tc.kind), []byte(tc.raw))
	}
}

// FuzzDecode checks that Decode never panics, always returns valid UTF-8
// and only *DecodeError, and that a value decoded without complaint
// survives Encode and Decode again.
func FuzzDecode(f *testing.F) {
	seedFuzz(f, func(terms string, kind int, raw []byte) { f.Add(terms, kind, raw) })
	f.Fuzz(func(t *testing.T, terms string, kind int, raw []byte) {
		s := fuzzSet(terms)
		k := Kind(uint(kind) % 3)
		got, err := s.Decode(raw, k)
		if !utf8.ValidString(got) {
			t.Fatalf("Decode(%q) = %q: invalid UTF-8", raw, got)
		}
		var de *DecodeError
		if err != nil && !errors.As(err, &de) {
			t.Fatalf("Decode(%q): error %T %v", raw, err, err)
		}
		if err != nil {
			return
		}
		enc, eerr := s.Encode(got, k)
		if eerr != nil {
			t.Fatalf("Encode(Decode(%q) = %q): %v", raw, got, eerr)
		}
		if again, derr := s.Decode(enc, k); again != got || derr != nil {
			t.Fatalf("Decode(Encode(%q) = %q) = %q, %v", got, enc, again, derr)
		}
	})
}

// FuzzEncode checks that Encode never panics and that what it encodes
// without complaint decodes without complaint and is canonical: encoding
// the decoded text gives the same bytes.
func FuzzEncode(f *testing.F) {
	seedFuzz(f, func(terms string, kind int, raw []byte) {
		s := fuzzSet(terms)
		k := Kind(uint(kind) % 3)
		if text, err := s.Decode(raw, k); err == nil {
			f.Add(terms, kind, text)
		}
	})
	f.Fuzz(func(t *testing.T, terms string, kind int, text string) {
		s := fuzzSet(terms)
		k := Kind(uint(kind) % 3)
		enc, err := s.Encode(text, k)
		var ee *EncodeError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("Encode(%q): error %T %v", text, err, err)
		}
		if err != nil {
			return
		}
		dec, derr := s.Decode(enc, k)
		if derr != nil {
			t.Fatalf("Decode(Encode(%q) = %q): %v", text, enc, derr)
		}
		if again, _ := s.Encode(dec, k); !bytes.Equal(again, enc) {
			t.Fatalf("Encode(%q) = %q, but Encode(Decode(that) = %q) = %q", text, enc, dec, again)
		}
	})
}
