package dictgen

import (
	"slices"
	"testing"
)

func TestParsePyLine(t *testing.T) {
	tests := []struct {
		line string
		want pyLine
	}{
		{`    0x00100010: ('PN', '1', "Patient's Name", '', 'PatientName'),`,
			pyLine{key: "00100010", isInt: true, tuple: []string{"PN", "1", "Patient's Name", "", "PatientName"}}},
		{`    0xFFFEE0DD: ('NONE', '1', "Sequence Delimitation Item", '', 'SequenceDelimitationItem')`,
			pyLine{key: "FFFEE0DD", isInt: true, tuple: []string{"NONE", "1", "Sequence Delimitation Item", "", "SequenceDelimitationItem"}}},
		{`    '60xx3000': ('OB or OW', '1', "Overlay Data", '', 'OverlayData'),`,
			pyLine{key: "60xx3000", tuple: []string{"OB or OW", "1", "Overlay Data", "", "OverlayData"}}},
		{`    'SIEMENS CSA HEADER': {`, pyLine{key: "SIEMENS CSA HEADER", open: true}},
		{`        '0009xxE2': ('LT', '1-n', 'Image Type (ORIGINAL\\PROSPECTIVE ...)', ''),`,
			pyLine{key: "0009xxE2", tuple: []string{"LT", "1-n", `Image Type (ORIGINAL\PROSPECTIVE ...)`, ""}}},
		{`        '0025xx34': ('SS', '1', 'tan θ', ''),`, pyLine{key: "0025xx34", tuple: []string{"SS", "1", "tan θ", ""}}},
		{`  'a': ('it\'s', "\"q\"", '\x41\u00b5'),`, pyLine{key: "a", tuple: []string{"it's", `"q"`, "Aµ"}}},
		{`  'e': (),`, pyLine{key: "e"}},
	}
	for _, tt := range tests {
		got, err := parsePyLine(tt.line)
		if err != nil {
			t.Errorf("parsePyLine(%q): %v", tt.line, err)
			continue
		}
		if got.key != tt.want.key || got.isInt != tt.want.isInt || got.open != tt.want.open || !slices.Equal(got.tuple, tt.want.tuple) {
			t.Errorf("parsePyLine(%q) = %+v, want %+v", tt.line, got, tt.want)
		}
	}
}

func TestParsePyLineErrors(t *testing.T) {
	for _, line := range []string{
		``,
		`# comment`,
		`0x: ('a')`,
		`0x0010 ('a')`,
		`'k': ('a', 'b'`,
		`'k': ('a' 'b')`, // implicit concatenation is not supported
		`'k': ('a'),, x`,
		`'k': ['a']`,
		`'k': ('a\q')`,
		`'k': ('\x4')`,
		`'k: ('a')`,
		`'k': (1, 2)`,
		"'k': ('\xff')",
	} {
		if got, err := parsePyLine(line); err == nil {
			t.Errorf("parsePyLine(%q) = %+v, want an error", line, got)
		}
	}
}

func FuzzParsePyLine(f *testing.F) {
	for _, s := range []string{
		`    0x00100010: ('PN', '1', "Patient's Name", '', 'PatientName'),`,
		`    '60xx3000': ('OB or OW', '1', "Overlay Data", '', 'OverlayData'),`,
		`    'SIEMENS CSA HEADER': {`,
		`  'a': ('it\'s', "\"q\"", '\x41\u00b5\U0001F600'),`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		pl, err := parsePyLine(line)
		if err != nil {
			return
		}
		if pl.open && pl.tuple != nil {
			t.Fatalf("both open and tuple: %+v", pl)
		}
	})
}

func TestPatternValueMask(t *testing.T) {
	tests := []struct {
		p           string
		value, mask uint32
	}{
		{"00100010", 0x00100010, 0xFFFFFFFF},
		{"60xx3000", 0x60003000, 0xFF00FFFF},
		{"1000xxx5", 0x10000005, 0xFFFF000F},
		{"002804x0", 0x00280400, 0xFFFFFF0F},
	}
	for _, tt := range tests {
		if v, m := patternValueMask(tt.p); v != tt.value || m != tt.mask {
			t.Errorf("patternValueMask(%q) = %08X, %08X; want %08X, %08X", tt.p, v, m, tt.value, tt.mask)
		}
	}
}

func TestBuildPrivate(t *testing.T) {
	in := []privCreator{{name: "ACME 1", entries: []privAttr{
		{key: "0029xx10", vr: "OB", vm: "1", name: "agnostic"},
		{key: "00291010", vr: "LO", vm: "1", name: "fixed, shadowed"},
		{key: "00291011", vr: "LO", vm: "1", name: "fixed 10"},
		{key: "00291111", vr: "LO", vm: "1", name: "fixed 11"},
		{key: "00290002", vr: "SH", vm: "1", name: "creator range"},
		{key: "002910xx", vr: "LO", vm: "1", name: "block wildcard"},
		{key: "60xxxx01", vr: "US", vm: "1", name: "overlay"},
	}}, {name: "EMPTY", entries: []privAttr{{key: "00090002", vr: "SH", vm: "1", name: "creator range"}}}}
	var st Stats
	out, err := buildPrivate(in, &st)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].name != "ACME 1" {
		t.Fatalf("buildPrivate = %+v, want only ACME 1", out)
	}
	want := []privRow{
		{group: 0x0029, low: 0x10, vr: "OB", vm: "1", name: "agnostic"},
		{group: 0x0029, low: 0x11, vr: "LO", vm: "1", name: "fixed 10"},
		{group: 0x6000, low: 0x01, vr: "US", vm: "1", name: "overlay"},
	}
	if !slices.Equal(out[0].entries, want) || out[0].masked != 2 {
		t.Errorf("entries = %+v (masked %d), want %+v (masked 2)", out[0].entries, out[0].masked, want)
	}
	if st.PrivateFixedBlockUsed != 1 || st.PrivateFixedBlockDropped != 2 || st.PrivateCreatorRange != 2 || st.PrivateBlockWildcard != 1 {
		t.Errorf("stats = %+v", st)
	}

	dup := []privCreator{{name: "X", entries: []privAttr{{key: "0029xx10"}, {key: "0029xx10"}}}}
	if _, err := buildPrivate(dup, &st); err == nil {
		t.Error("duplicate key accepted")
	}
	if _, err := buildPrivate([]privCreator{{name: "X "}}, &st); err == nil {
		t.Error("padded creator accepted")
	}
}
