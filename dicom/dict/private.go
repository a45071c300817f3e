package dict

import "strings"

// privateCreator is one vendor dictionary: privateEntries[start:end], of which
// those from masked on have a repeating group such as 60xx.
type privateCreator struct {
	name               string
	start, masked, end uint16
}

// privateEntry is a private data element of a block. For repeating-group
// entries the low byte of group is zero.
type privateEntry struct {
	group   uint16
	low     uint8
	vr      vrIndex
	vm      vmIndex
	retired bool
	name    string
}

// PrivateLookup returns the private dictionary entry for an element of the
// block reserved by creator in group. creator is the value of the Private
// Creator element, matched exactly (case-sensitive) after trimming leading
// and trailing spaces and trailing NUL padding; group is the element's odd
// group; elementLow is the low byte of its element number, the "xx" of the
// block being whichever block the creator reserved. For example a Siemens
// (0029,1010) under creator "SIEMENS CSA HEADER" at (0029,0010) is
// PrivateLookup("SIEMENS CSA HEADER", 0x0029, 0x10).
//
// The returned Entry has Tag group<<16 | elementLow (block byte zero), an
// empty Keyword, and VR "OB or OW" where the source spelled "OB_OW".
func PrivateLookup(creator string, group uint16, elementLow uint8) (Entry, bool) {
	creator = strings.Trim(strings.TrimRight(creator, "\x00"), " ")
	lo, hi := 0, len(privateCreators)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if privateCreators[m].name < creator {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == len(privateCreators) || privateCreators[lo].name != creator {
		return Entry{}, false
	}
	c := &privateCreators[lo]
	key := uint32(group)<<8 | uint32(elementLow)
	lo, hi = int(c.start), int(c.masked)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if e := &privateEntries[m]; uint32(e.group)<<8|uint32(e.low) < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < int(c.masked) {
		if e := &privateEntries[lo]; e.group == group && e.low == elementLow {
			return e.export(group, elementLow), true
		}
	}
	for i := int(c.masked); i < int(c.end); i++ {
		if e := &privateEntries[i]; e.group == group&0xFF00 && e.low == elementLow {
			return e.export(group, elementLow), true
		}
	}
	return Entry{}, false
}

func (e *privateEntry) export(group uint16, low uint8) Entry {
	return Entry{Tag: uint32(group)<<16 | uint32(low), VR: vrNames[e.vr], VM: vmNames[e.vm], Name: e.name, Retired: e.retired}
}
