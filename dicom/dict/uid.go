package dict

import (
	"cmp"
	"strings"
)

// UID is one entry of the UID registry (PS3.6 Table A-1).
type UID struct {
	UID     string // e.g. "1.2.840.10008.1.2.1"
	Name    string // e.g. "Explicit VR Little Endian"
	Keyword string // e.g. "ExplicitVRLittleEndian"; empty for two retired SOP classes
	// Type as in PS3.6, e.g. "Transfer Syntax", "SOP Class", "Meta SOP
	// Class", "Well-known SOP Instance", "Well-known frame of reference",
	// "Coding Scheme", "LDAP OID", "Service Class".
	Type    string
	Retired bool
}

// compareUID orders UIDs component by component: a shorter component first,
// then bytewise, which is numeric order for well-formed UIDs and a total
// order for any string. The generator sorts uids with the same function.
func compareUID(a, b string) int {
	// Skip the common prefix back to its last component boundary: most
	// registry UIDs share a long root such as 1.2.840.10008.5.1.4.1.1.
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	if n == len(a) && n == len(b) {
		return 0
	}
	i := strings.LastIndexByte(a[:n], '.') + 1
	a, b = a[i:], b[i:]
	for {
		ai, bi := strings.IndexByte(a, '.'), strings.IndexByte(b, '.')
		ac, bc := a, b
		if ai >= 0 {
			ac = a[:ai]
		}
		if bi >= 0 {
			bc = b[:bi]
		}
		if c := cmp.Or(cmp.Compare(len(ac), len(bc)), strings.Compare(ac, bc)); c != 0 {
			return c
		}
		switch {
		case ai < 0 && bi < 0:
			return 0
		case ai < 0:
			return -1
		case bi < 0:
			return 1
		}
		a, b = a[ai+1:], b[bi+1:]
	}
}

// LookupUID returns the registry entry for uid. Trailing NUL and space
// padding, as found in UI values, is ignored.
func LookupUID(uid string) (UID, bool) {
	uid = strings.TrimRight(uid, "\x00 ")
	lo, hi := 0, len(uids)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if compareUID(uids[m].UID, uid) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(uids) && uids[lo].UID == uid {
		return uids[lo], true
	}
	return UID{}, false
}

// UIDs returns the whole registry in a new slice, sorted by UID in numeric
// component order (1.2.840.10008.1.2.4.50 before 1.2.840.10008.1.2.4.100).
func UIDs() []UID {
	return append([]UID(nil), uids[:]...)
}

// TransferSyntaxes returns the transfer syntaxes (Type "Transfer Syntax"),
// retired ones included, sorted by UID, in a new slice.
func TransferSyntaxes() []UID {
	return filterUIDs(func(u *UID) bool { return u.Type == "Transfer Syntax" })
}

// StorageSOPClasses returns the Storage SOP classes, retired ones included,
// sorted by UID, in a new slice: entries of Type "SOP Class" whose name ends
// in "Storage", optionally followed by " SOP Class" (the retired Stored Print
// and Hardcopy classes) and/or by a " - " qualifier ("Digital X-Ray Image
// Storage - For Presentation", "Text SR Storage - Trial"). Storage Commitment
// and other services whose name merely contains "Storage" are excluded.
func StorageSOPClasses() []UID {
	return filterUIDs(func(u *UID) bool { return u.Type == "SOP Class" && isStorageName(u.Name) })
}

func isStorageName(name string) bool {
	if i := strings.Index(name, " - "); i >= 0 {
		name = name[:i]
	}
	name = strings.TrimSuffix(name, " SOP Class")
	return strings.HasSuffix(name, " Storage")
}

func filterUIDs(keep func(*UID) bool) []UID {
	var out []UID
	for i := range uids {
		if keep(&uids[i]) {
			out = append(out, uids[i])
		}
	}
	return out
}
