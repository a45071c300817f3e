package dict

import (
	"strings"
	"testing"
)

func TestPrivateLookup(t *testing.T) {
	tests := []struct {
		creator string
		group   uint16
		low     uint8
		want    Entry
	}{
		{"SIEMENS CSA HEADER", 0x0029, 0x10, Entry{0x00290010, "OB", "1", "CSA Image Header Info", "", false}},
		{"SIEMENS CSA HEADER", 0x0029, 0x20, Entry{0x00290020, "OB", "1", "CSA Series Header Info", "", false}},
		// Padding as found in LO values is ignored.
		{"SIEMENS CSA HEADER ", 0x0029, 0x10, Entry{0x00290010, "OB", "1", "CSA Image Header Info", "", false}},
		{" SIEMENS CSA HEADER\x00", 0x0029, 0x10, Entry{0x00290010, "OB", "1", "CSA Image Header Info", "", false}},
		{"GEMS_PARM_01", 0x0043, 0x01, Entry{0x00430001, "SS", "1", "Bitmap of prescan options", "", false}},
		{"GEMS_ACQU_01", 0x0019, 0x9C, Entry{0x0019009C, "LO", "1", "Pulse Sequence Name", "", false}},
		// Repeating private group (60xx) in the source.
		{"DLX_LKUP_01", 0x6001, 0x02, Entry{0x60010002, "LT", "1", "Gray Palette color lookup table data", "", false}},
		{"DLX_LKUP_01", 0x6003, 0x01, Entry{0x60030001, "LT", "3", "Gray Palette color lookup table descriptor", "", false}},
		// Source VR spelled "OB_OW".
		{"TOSHIBA_MEC_OT3", 0x7019, 0x80, Entry{0x70190080, "OB or OW", "1", "Original image data on area of original LR mark", "", false}},
		// A fixed-block entry (01F9,1001) used because no block-agnostic one exists.
		{"ELSCINT1", 0x01F9, 0x01, Entry{0x01F90001, "LO", "1", "Mar Filter", "", false}},
		// Where both exist, the block-agnostic entry (00E1,xx21) wins over (00E1,1021).
		{"ELSCINT1", 0x00E1, 0x21, Entry{0x00E10021, "DS", "1", "Unknown", "", false}},
	}
	for _, tt := range tests {
		got, ok := PrivateLookup(tt.creator, tt.group, tt.low)
		if !ok || got != tt.want {
			t.Errorf("PrivateLookup(%q, %04X, %02X) = %+v, %v; want %+v", tt.creator, tt.group, tt.low, got, ok, tt.want)
		}
	}
}

func TestPrivateLookupMiss(t *testing.T) {
	tests := []struct {
		creator string
		group   uint16
		low     uint8
	}{
		{"siemens csa header", 0x0029, 0x10}, // creators are case-sensitive
		{"SIEMENS CSA HEADER", 0x0029, 0xFF},
		{"SIEMENS CSA HEADER", 0x0019, 0x10}, // wrong group
		{"NO SUCH CREATOR", 0x0029, 0x10},
		{"", 0x0029, 0x10},
		{"DLX_LKUP_01", 0x7001, 0x02}, // 60xx does not cover 70xx
		// "TOSHIBA_MEC_MR3^10" lists only creator-range addresses (nested
		// data inside a vendor blob), which are dropped.
		{"TOSHIBA_MEC_MR3^10", 0x0009, 0x02},
	}
	for _, tt := range tests {
		if e, ok := PrivateLookup(tt.creator, tt.group, tt.low); ok {
			t.Errorf("PrivateLookup(%q, %04X, %02X) = %+v, want none", tt.creator, tt.group, tt.low, e)
		}
	}
}

func TestPrivateTables(t *testing.T) {
	if len(privateCreators) < 400 || len(privateEntries) < 8000 {
		t.Errorf("%d creators, %d entries; want > 400, > 8000", len(privateCreators), len(privateEntries))
	}
	next := uint16(0)
	for i := range privateCreators {
		c := &privateCreators[i]
		if i > 0 && privateCreators[i-1].name >= c.name {
			t.Errorf("creators not sorted at %q", c.name)
		}
		if c.name != strings.TrimSpace(c.name) {
			t.Errorf("creator %q is padded", c.name)
		}
		if c.start != next || c.start > c.masked || c.masked > c.end || c.start == c.end {
			t.Errorf("creator %q has range %d-%d-%d, want start %d", c.name, c.start, c.masked, c.end, next)
		}
		next = c.end
		for j := int(c.start); j < int(c.end); j++ {
			e := &privateEntries[j]
			if j > int(c.start) && j != int(c.masked) {
				p := &privateEntries[j-1]
				if uint32(p.group)<<8|uint32(p.low) >= uint32(e.group)<<8|uint32(e.low) {
					t.Errorf("creator %q: entries not sorted at %d", c.name, j)
				}
			}
			// Every entry is found through the public API.
			g := e.group
			if j >= int(c.masked) {
				g |= 0x01
			}
			if got, ok := PrivateLookup(c.name, g, e.low); !ok || got.Name != e.name {
				t.Errorf("PrivateLookup(%q, %04X, %02X) = %+v, %v; want %q", c.name, g, e.low, got, ok, e.name)
			}
		}
	}
	if int(next) != len(privateEntries) {
		t.Errorf("creators cover %d of %d entries", next, len(privateEntries))
	}
}

func BenchmarkPrivateLookup(b *testing.B) {
	for b.Loop() {
		sink, _ = PrivateLookup("SIEMENS CSA HEADER", 0x0029, 0x10)
	}
}
