package dict

import (
	"slices"
	"testing"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		tag  uint32
		want Entry
	}{
		{0x00000000, Entry{0x00000000, "UL", "1", "Command Group Length", "CommandGroupLength", false}},
		{0x00020010, Entry{0x00020010, "UI", "1", "Transfer Syntax UID", "TransferSyntaxUID", false}},
		{0x00080001, Entry{0x00080001, "UL", "1", "Length to End", "LengthToEnd", true}},
		{0x00080005, Entry{0x00080005, "CS", "1-n", "Specific Character Set", "SpecificCharacterSet", false}},
		{0x00100010, Entry{0x00100010, "PN", "1", "Patient's Name", "PatientName", false}},
		{0x00280106, Entry{0x00280106, "US or SS", "1", "Smallest Image Pixel Value", "SmallestImagePixelValue", false}},
		{0x00283006, Entry{0x00283006, "US or OW", "1-n", "LUT Data", "LUTData", false}},
		{0x7FE00010, Entry{0x7FE00010, "OB or OW", "1", "Pixel Data", "PixelData", false}},
		{0xFFFEE000, Entry{0xFFFEE000, "NONE", "1", "Item", "Item", false}},
		// A retired entry without a keyword.
		{0x00080202, Entry{0x00080202, "OB", "1", "Retired-blank", "", true}},
		// Only in innolitics-attributes.json, so taken from there.
		{0x00060001, Entry{0x00060001, "SQ", "1", "Current Frame Functional Groups Sequence", "CurrentFrameFunctionalGroupsSequence", false}},
		// Repeating groups.
		{0x60003000, Entry{0x60003000, "OB or OW", "1", "Overlay Data", "OverlayData", false}},
		{0x60023000, Entry{0x60023000, "OB or OW", "1", "Overlay Data", "OverlayData", false}},
		{0x601E0010, Entry{0x601E0010, "US", "1", "Overlay Rows", "OverlayRows", false}},
		{0x60000012, Entry{0x60000012, "US", "1", "Overlay Planes", "OverlayPlanes", true}},
		{0x50000010, Entry{0x50000010, "US", "1", "Number of Points", "NumberOfPoints", true}},
		{0x50123000, Entry{0x50123000, "OB or OW", "1", "Curve Data", "CurveData", true}},
		{0x00203101, Entry{0x00203101, "CS", "1-n", "Source Image IDs", "SourceImageIDs", true}},
		{0x002031FF, Entry{0x002031FF, "CS", "1-n", "Source Image IDs", "SourceImageIDs", true}},
		{0x00280410, Entry{0x00280410, "US", "1", "Rows For Nth Order Coefficients", "RowsForNthOrderCoefficients", true}},
		{0x10000015, Entry{0x10000015, "US", "3", "Shift Table Triplet", "ShiftTableTriplet", true}},
		{0x1010ABCD, Entry{0x1010ABCD, "US", "1-n", "Zonal Map", "ZonalMap", true}},
		{0x7F020010, Entry{0x7F020010, "OB or OW", "1", "Variable Pixel Data", "VariablePixelData", true}},
	}
	for _, tt := range tests {
		got, ok := Lookup(tt.tag)
		if !ok || got != tt.want {
			t.Errorf("Lookup(%08X) = %+v, %v; want %+v", tt.tag, got, ok, tt.want)
		}
	}
}

func TestLookupMiss(t *testing.T) {
	for _, tag := range []uint32{
		0x50001010, // (50xx,1010) is not defined; (50xx,1001) is
		0x60013000, // odd group: private, not an overlay
		0x00091010, // private
		0x00280416, // (0028,04x6) not defined
		0x10000016, // (1000,xxx6) not defined
		0x00100011, // gap in group 0010
		0xFFFFFFFF,
	} {
		if e, ok := Lookup(tag); ok {
			t.Errorf("Lookup(%08X) = %+v, want no entry", tag, e)
		}
	}
}

func TestByKeyword(t *testing.T) {
	tests := []struct {
		keyword string
		tag     uint32
		retired bool
	}{
		{"PatientName", 0x00100010, false},
		{"PixelData", 0x7FE00010, false},
		{"CommandGroupLength", 0x00000000, false},
		{"TransferSyntaxUID", 0x00020010, false},
		{"LengthToEnd", 0x00080001, true},
		{"SequenceDelimitationItem", 0xFFFEE0DD, false},
		{"OverlayData", 0x60003000, false},
		{"CurveData", 0x50003000, true},
		{"SourceImageIDs", 0x00203100, true},
		{"EscapeTriplet", 0x10000000, true},
		{"VariablePixelData", 0x7F000010, true},
	}
	for _, tt := range tests {
		e, ok := ByKeyword(tt.keyword)
		if !ok || e.Tag != tt.tag || e.Keyword != tt.keyword || e.Retired != tt.retired {
			t.Errorf("ByKeyword(%q) = %+v, %v; want tag %08X retired %v", tt.keyword, e, ok, tt.tag, tt.retired)
		}
	}
	for _, kw := range []string{"", "patientname", "Patient Name", "PatientNam", "PatientNameX", "Retired-blank", "ZZZ"} {
		if e, ok := ByKeyword(kw); ok {
			t.Errorf("ByKeyword(%q) = %+v, want no entry", kw, e)
		}
	}
}

func TestEntries(t *testing.T) {
	all := Entries()
	if len(all) < 5000 {
		t.Fatalf("Entries() has %d entries, want > 5000", len(all))
	}
	retired := 0
	for i, e := range all {
		if i > 0 && all[i-1].Tag >= e.Tag {
			t.Fatalf("Entries() not strictly sorted at %d: %08X then %08X", i, all[i-1].Tag, e.Tag)
		}
		if got, ok := Lookup(e.Tag); !ok || got != e {
			t.Errorf("Lookup(%08X) = %+v, %v; want %+v", e.Tag, got, ok, e)
		}
		if e.Keyword != "" {
			if got, ok := ByKeyword(e.Keyword); !ok || got != e {
				t.Errorf("ByKeyword(%q) = %+v, %v; want %+v", e.Keyword, got, ok, e)
			}
		}
		if e.VR == "" || e.VM == "" || e.Name == "" {
			t.Errorf("entry %08X has an empty field: %+v", e.Tag, e)
		}
		if e.Retired {
			retired++
		}
	}
	if retired < 400 || retired > len(all)/2 {
		t.Errorf("%d of %d entries retired; the flag looks wrong", retired, len(all))
	}
	// A new slice each call: changing it must not change the dictionary.
	all[0].Name = "changed"
	if Entries()[0].Name == "changed" {
		t.Error("Entries() returned shared storage")
	}
}

func TestRepeaterKeywords(t *testing.T) {
	for i := range repeaters {
		r := &repeaters[i]
		if i > 0 && repeaters[i-1].value >= r.value {
			t.Errorf("repeaters not sorted at %d", i)
		}
		e, ok := ByKeyword(r.keyword)
		if !ok || e.Tag != r.value {
			t.Errorf("ByKeyword(%q) = %+v, %v; want tag %08X", r.keyword, e, ok, r.value)
		}
		// Every tag a repeater covers (an even group) must look it up, unless
		// an exact entry takes precedence (7FE0,0010 in 7Fxx,0010).
		if _, exact := findTag(r.value | ^r.mask&0x00FE00F0); !exact {
			if e, ok := Lookup(r.value | ^r.mask&0x00FE00F0); !ok || e.Keyword != r.keyword {
				t.Errorf("Lookup in range of %q = %+v, %v", r.keyword, e, ok)
			}
		}
	}
}

func TestKeywordIndexSorted(t *testing.T) {
	if !slices.IsSortedFunc(keywordIndex[:], func(a, b uint16) int {
		switch ka, kb := keywordOf(a), keywordOf(b); {
		case ka < kb:
			return -1
		case ka > kb:
			return 1
		}
		return 0
	}) {
		t.Fatal("keywordIndex is not sorted")
	}
	for i := 1; i < len(keywordIndex); i++ {
		if keywordOf(keywordIndex[i-1]) == keywordOf(keywordIndex[i]) {
			t.Errorf("keyword %q listed twice", keywordOf(keywordIndex[i]))
		}
	}
}

func TestFirstVR(t *testing.T) {
	tests := []struct{ in, want string }{
		{"US or SS", "US"},
		{"OB or OW", "OW"},
		{"US or OW", "OW"},
		{"US or SS or OW", "OW"},
		{"US", "US"},
		{"SQ", "SQ"},
		{"NONE", "NONE"},
		{"", ""},
		{"FL or FD", "FL"}, // not in the dictionary: first alternative
	}
	for _, tt := range tests {
		if got := FirstVR(tt.in); got != tt.want {
			t.Errorf("FirstVR(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	// Every VR spelling in the tables resolves to one known VR.
	for _, vr := range vrNames {
		if got := FirstVR(vr); len(got) != 2 && got != "NONE" {
			t.Errorf("FirstVR(%q) = %q", vr, got)
		}
	}
}

var sink Entry

func BenchmarkLookup(b *testing.B) {
	tags := []uint32{0x00100010, 0x0020000D, 0x7FE00010, 0x00280010, 0x00081030, 0x300A00B0}
	for i := 0; b.Loop(); i++ {
		sink, _ = Lookup(tags[i%len(tags)])
	}
}

func BenchmarkLookupRepeater(b *testing.B) {
	for b.Loop() {
		sink, _ = Lookup(0x60023000)
	}
}

func BenchmarkLookupMiss(b *testing.B) {
	for b.Loop() {
		sink, _ = Lookup(0x00100011) // even group, not defined: exact + repeaters scanned
	}
}

func BenchmarkByKeyword(b *testing.B) {
	for b.Loop() {
		sink, _ = ByKeyword("StudyInstanceUID")
	}
}
