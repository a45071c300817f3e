package dict

import (
	"strings"
)

// Entry is one data dictionary entry.
type Entry struct {
	Tag uint32 // group<<16 | element
	// VR as written in PS3.6, e.g. "US", or "US or SS", "OB or OW" for
	// attributes whose VR depends on context; "NONE" for items and
	// delimiters. See FirstVR.
	VR      string
	VM      string // e.g. "1", "1-n", "2-2n"
	Name    string // e.g. "Patient's Name"
	Keyword string // e.g. "PatientName"; empty for a few retired entries
	Retired bool
}

type (
	vrIndex uint8 // index into vrNames
	vmIndex uint8 // index into vmNames
)

// entry is the compact form of an Entry in the generated tables.
type entry struct {
	tag     uint32
	vr      vrIndex
	vm      vmIndex
	retired bool
	name    string
	keyword string
}

func (e *entry) export(tag uint32) Entry {
	return Entry{Tag: tag, VR: vrNames[e.vr], VM: vmNames[e.vm], Name: e.name, Keyword: e.keyword, Retired: e.retired}
}

// repeater is a repeating-group entry such as (60xx,3000): tag t matches when
// t&mask == value.
type repeater struct {
	value, mask uint32
	vr          vrIndex
	vm          vmIndex
	retired     bool
	name        string
	keyword     string
}

func (r *repeater) export(tag uint32) Entry {
	return Entry{Tag: tag, VR: vrNames[r.vr], VM: vmNames[r.vm], Name: r.name, Keyword: r.keyword, Retired: r.retired}
}

// findTag returns the index of tag in entries.
func findTag(tag uint32) (int, bool) {
	lo, hi := 0, len(entries)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if entries[m].tag < tag {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(entries) && entries[lo].tag == tag
}

// Lookup returns the public dictionary entry for tag. Exact tags are tried
// first, then the repeating groups of PS3.5 7.6 and the retired masked
// entries: (60xx,eeee) overlays, (50xx,eeee) curves, (7Fxx,0010) variable
// pixel data, (0020,31xx), (0028,04x0), (1000,xxx0-5), (1010,xxxx) and so on.
// Repeating groups are even, so odd (private) groups never match them.
// The returned Entry.Tag is the queried tag.
//
// Lookup does not synthesise entries that PS3.5 defines by rule rather than
// in PS3.6: group lengths (gggg,0000) other than (0000,0000) and
// (0002,0000), and private creators (gggg,0010-00FF); nor private tags, see
// PrivateLookup.
func Lookup(tag uint32) (Entry, bool) {
	if i, ok := findTag(tag); ok {
		return entries[i].export(tag), true
	}
	if tag&0x00010000 == 0 {
		for i := range repeaters {
			if r := &repeaters[i]; tag&r.mask == r.value {
				return r.export(tag), true
			}
		}
	}
	return Entry{}, false
}

// ByKeyword returns the entry whose keyword is keyword, e.g. "PatientName"
// gives (0010,0010). For a repeating-group keyword such as "OverlayData" the
// Tag is the first of the range, with the repeating digits zero: (6000,3000).
func ByKeyword(keyword string) (Entry, bool) {
	lo, hi := 0, len(keywordIndex)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if keywordOf(keywordIndex[m]) < keyword {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == len(keywordIndex) || keywordOf(keywordIndex[lo]) != keyword {
		return Entry{}, false
	}
	i := int(keywordIndex[lo])
	if i < len(entries) {
		return entries[i].export(entries[i].tag), true
	}
	r := &repeaters[i-len(entries)]
	return r.export(r.value), true
}

func keywordOf(i uint16) string {
	if int(i) < len(entries) {
		return entries[i].keyword
	}
	return repeaters[int(i)-len(entries)].keyword
}

// Entries returns all public entries with a fixed tag, sorted by tag, in a
// new slice. The repeating-group entries are not included.
func Entries() []Entry {
	out := make([]Entry, len(entries))
	for i := range entries {
		out[i] = entries[i].export(entries[i].tag)
	}
	return out
}

// FirstVR resolves a dictionary VR to the single VR a reader should assume
// when the encoding does not say, that is in Implicit VR Little Endian. Single
// VRs are returned unchanged.
//
// The choices follow PS3.5 and what pydicom and DCMTK do when reading
// implicit VR data:
//
//	"US or SS"       -> "US"  pydicom picks US unless Pixel Representation is 1;
//	                          DCMTK's "xs" defaults to US.
//	"OB or OW"       -> "OW"  PS3.5 A.1 and 8.1.2: Pixel Data and Overlay Data
//	                          are OW in Implicit VR; pydicom and DCMTK read OW.
//	"US or OW"       -> "OW"  LUT Data: pydicom picks US only for a one-entry
//	                          LUT; DCMTK's "lt" reads as OW.
//	"US or SS or OW" -> "OW"  as DCMTK's "lt".
//
// Despite its name it does not always return the first alternative: "OB or
// OW" gives OW. A reader that knows the Pixel Representation (or Bits
// Allocated, or the LUT Descriptor) should refine US to SS and OW to OB or US
// itself. An unknown ambiguous spelling gives its first alternative.
func FirstVR(vr string) string {
	switch vr {
	case "US or SS":
		return "US"
	case "OB or OW", "US or OW", "US or SS or OW":
		return "OW"
	}
	if i := strings.Index(vr, " or "); i >= 0 {
		return vr[:i]
	}
	return vr
}
