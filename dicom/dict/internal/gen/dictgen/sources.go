package dictgen

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// Source file names inside the -src directory.
const (
	fileDicomDict   = "pydicom_dicom_dict.py"
	fileUIDDict     = "pydicom_uid_dict.py"
	filePrivateDict = "pydicom_private_dict.py"
	fileInnolitics  = "innolitics-attributes.json"
)

// attr is one public data dictionary entry. pattern is the tag as eight upper
// case hex digits, with a lower case 'x' for each nibble that repeats
// ("60xx3000", "1000xxx0").
type attr struct {
	pattern string
	vr      string
	vm      string
	name    string
	keyword string
	retired bool
}

// uidEntry is one UID registry entry.
type uidEntry struct {
	uid, name, keyword, typ string
	retired                 bool
}

// privAttr is one private dictionary entry. key is the source's 8-character
// key, e.g. "0029xx10" (block-agnostic), "60xxxx01" (repeating group) or
// "00E11021" (a fixed block).
type privAttr struct {
	key          string
	vr, vm, name string
	retired      bool
	line         int
}

// privCreator is one private creator's dictionary, in source order.
type privCreator struct {
	name    string
	entries []privAttr
}

// srcLine is a line of a source file with its 1-based number.
type srcLine struct {
	n    int
	text string
}

func readLines(path string) ([]srcLine, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []srcLine
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		out = append(out, srcLine{n, sc.Text()})
	}
	return out, sc.Err()
}

// dictBlock returns the lines between "name... = {" and the closing "}" line
// of a top-level Python dict assignment.
func dictBlock(lines []srcLine, name string) ([]srcLine, error) {
	start := -1
	for i, l := range lines {
		if (strings.HasPrefix(l.text, name+" ") || strings.HasPrefix(l.text, name+":") ||
			strings.HasPrefix(l.text, name+"=")) && strings.HasSuffix(strings.TrimSpace(l.text), "{") {
			start = i + 1
			break
		}
	}
	if start < 0 {
		return nil, fmt.Errorf("no %q dict", name)
	}
	for i := start; i < len(lines); i++ {
		if lines[i].text == "}" {
			return lines[start:i], nil
		}
	}
	return nil, fmt.Errorf("dict %q is not closed", name)
}

var (
	reKeyword  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	reVM       = regexp.MustCompile(`^[0-9]+(-([0-9]+|[0-9]*n))?$`)
	rePattern  = regexp.MustCompile(`^[0-9A-Fx]{8}$`)
	reInnoTag  = regexp.MustCompile(`^\(([0-9A-Fa-fXx]{4}),([0-9A-Fa-fXx]{4})\)$`)
	reUID      = regexp.MustCompile(`^[0-9]+(\.[0-9]+)*$`)
	knownVRs   = map[string]bool{}
	vrSpelling = map[string]string{"OB_OW": "OB or OW"} // private dictionary spellings
)

func init() {
	for _, vr := range strings.Fields("AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV") {
		knownVRs[vr] = true
	}
}

// checkVR validates a VR as written in the sources: one VR, "NONE" (items
// and delimiters) or alternatives joined by " or ".
func checkVR(vr string) error {
	if vr == "NONE" {
		return nil
	}
	for _, p := range strings.Split(vr, " or ") {
		if !knownVRs[p] {
			return fmt.Errorf("unknown VR %q", vr)
		}
	}
	return nil
}

func checkAttr(a attr) error {
	if !rePattern.MatchString(a.pattern) {
		return fmt.Errorf("bad tag %q", a.pattern)
	}
	if err := checkVR(a.vr); err != nil {
		return err
	}
	if !reVM.MatchString(a.vm) {
		return fmt.Errorf("bad VM %q", a.vm)
	}
	if a.keyword != "" && !reKeyword.MatchString(a.keyword) {
		return fmt.Errorf("bad keyword %q", a.keyword)
	}
	if a.name == "" {
		return fmt.Errorf("empty name")
	}
	return nil
}

func retiredFlag(s string) (bool, error) {
	switch s {
	case "":
		return false, nil
	case "Retired":
		return true, nil
	}
	return false, fmt.Errorf("bad retired flag %q", s)
}

// readPydicomDict reads DicomDictionary and RepeatersDictionary from
// pydicom's _dicom_dict.py. Entries are returned in source order.
func readPydicomDict(path string) ([]attr, error) {
	lines, err := readLines(path)
	if err != nil {
		return nil, err
	}
	var out []attr
	for _, block := range []struct {
		name  string
		isInt bool
	}{{"DicomDictionary", true}, {"RepeatersDictionary", false}} {
		body, err := dictBlock(lines, block.name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for _, l := range body {
			a, err := pydicomAttr(l.text, block.isInt)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", path, l.n, err)
			}
			out = append(out, a)
		}
	}
	return out, nil
}

func pydicomAttr(line string, wantInt bool) (attr, error) {
	pl, err := parsePyLine(line)
	if err != nil {
		return attr{}, err
	}
	if pl.isInt != wantInt || len(pl.tuple) != 5 {
		return attr{}, fmt.Errorf("want (VR, VM, Name, Retired, Keyword) entry")
	}
	a := attr{pattern: pl.key, vr: pl.tuple[0], vm: pl.tuple[1], name: pl.tuple[2], keyword: pl.tuple[4]}
	if !pl.isInt {
		// Repeater keys: hex digits upper case, wildcard nibbles 'x'.
		a.pattern = strings.Map(func(r rune) rune {
			if r == 'x' || r == 'X' {
				return 'x'
			}
			return toUpperHex(r)
		}, pl.key)
	}
	if len(a.pattern) != 8 {
		return attr{}, fmt.Errorf("tag %q is not 8 digits", pl.key)
	}
	if a.retired, err = retiredFlag(pl.tuple[3]); err != nil {
		return attr{}, err
	}
	if pl.isInt != !strings.Contains(a.pattern, "x") {
		return attr{}, fmt.Errorf("tag %q: masked tags belong in RepeatersDictionary only", pl.key)
	}
	return a, checkAttr(a)
}

func toUpperHex(r rune) rune {
	if 'a' <= r && r <= 'f' {
		return r - 'a' + 'A'
	}
	return r
}

// innoAttr is the JSON form of one innolitics attribute.
type innoAttr struct {
	Tag     string `json:"tag"`
	Name    string `json:"name"`
	Keyword string `json:"keyword"`
	VR      string `json:"valueRepresentation"`
	VM      string `json:"valueMultiplicity"`
	Retired string `json:"retired"`
}

// readInnolitics reads innolitics-attributes.json. Entries whose VR or VM is
// not a dictionary value (the item and delimitation tags say "See Note 2",
// some retired entries are blank) are returned with ok=false so that the
// caller can count them; they never override pydicom.
func readInnolitics(path string) ([]attr, []string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var raw []innoAttr
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []attr
	var unusable []string
	for i, r := range raw {
		m := reInnoTag.FindStringSubmatch(r.Tag)
		if m == nil {
			return nil, nil, fmt.Errorf("%s: entry %d: bad tag %q", path, i, r.Tag)
		}
		pat := strings.Map(func(r rune) rune {
			if r == 'x' || r == 'X' {
				return 'x'
			}
			return toUpperHex(r)
		}, m[1]+m[2])
		var ret bool
		switch r.Retired {
		case "Y":
			ret = true
		case "N":
		default:
			return nil, nil, fmt.Errorf("%s: entry %d (%s): bad retired flag %q", path, i, r.Tag, r.Retired)
		}
		a := attr{pattern: pat, vr: r.VR, vm: r.VM, name: r.Name, keyword: r.Keyword, retired: ret}
		if err := checkAttr(a); err != nil {
			unusable = append(unusable, fmt.Sprintf("%s (%v)", r.Tag, err))
			continue
		}
		out = append(out, a)
	}
	return out, unusable, nil
}

// readUIDDict reads UID_dictionary from pydicom's _uid_dict.py.
func readUIDDict(path string) ([]uidEntry, error) {
	lines, err := readLines(path)
	if err != nil {
		return nil, err
	}
	body, err := dictBlock(lines, "UID_dictionary")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []uidEntry
	for _, l := range body {
		pl, err := parsePyLine(l.text)
		if err == nil && (pl.isInt || len(pl.tuple) != 5) {
			err = fmt.Errorf("want 'UID': (Name, Type, Info, Retired, Keyword)")
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, l.n, err)
		}
		u := uidEntry{uid: pl.key, name: pl.tuple[0], typ: pl.tuple[1], keyword: pl.tuple[4]}
		if u.retired, err = retiredFlag(pl.tuple[3]); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, l.n, err)
		}
		if !reUID.MatchString(u.uid) || len(u.uid) > 64 {
			return nil, fmt.Errorf("%s:%d: bad UID %q", path, l.n, u.uid)
		}
		if u.keyword != "" && !reKeyword.MatchString(u.keyword) {
			return nil, fmt.Errorf("%s:%d: bad keyword %q", path, l.n, u.keyword)
		}
		if u.typ == "" {
			return nil, fmt.Errorf("%s:%d: empty UID type", path, l.n)
		}
		out = append(out, u)
	}
	return out, nil
}

// readPrivateDict reads private_dictionaries from pydicom's _private_dict.py:
// a dict of creator -> dict of key -> (VR, VM, Name, Retired).
func readPrivateDict(path string) ([]privCreator, error) {
	lines, err := readLines(path)
	if err != nil {
		return nil, err
	}
	body, err := dictBlock(lines, "private_dictionaries")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []privCreator
	var cur *privCreator
	for _, l := range body {
		t := strings.TrimSpace(l.text)
		if t == "}," || t == "}" {
			if cur == nil {
				return nil, fmt.Errorf("%s:%d: unbalanced '}'", path, l.n)
			}
			out = append(out, *cur)
			cur = nil
			continue
		}
		pl, err := parsePyLine(l.text)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, l.n, err)
		}
		switch {
		case pl.open:
			if cur != nil || pl.isInt {
				return nil, fmt.Errorf("%s:%d: unexpected creator line", path, l.n)
			}
			cur = &privCreator{name: pl.key}
		case cur == nil || pl.isInt || len(pl.tuple) != 4:
			return nil, fmt.Errorf("%s:%d: want 'key': (VR, VM, Name, Retired) inside a creator", path, l.n)
		default:
			p := privAttr{key: strings.Map(toUpperHex, pl.key), vr: pl.tuple[0], vm: pl.tuple[1], name: pl.tuple[2], line: l.n}
			if s, ok := vrSpelling[p.vr]; ok {
				p.vr = s
			}
			if p.retired, err = retiredFlag(pl.tuple[3]); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", path, l.n, err)
			}
			if !rePattern.MatchString(p.key) {
				return nil, fmt.Errorf("%s:%d: bad key %q", path, l.n, pl.key)
			}
			if err := checkVR(p.vr); err != nil {
				return nil, fmt.Errorf("%s:%d: %w", path, l.n, err)
			}
			if !reVM.MatchString(p.vm) {
				return nil, fmt.Errorf("%s:%d: bad VM %q", path, l.n, p.vm)
			}
			cur.entries = append(cur.entries, p)
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("%s: creator %q is not closed", path, cur.name)
	}
	return out, nil
}

// patternValueMask turns "60xx3000" into value 0x60003000, mask 0xFF00FFFF.
func patternValueMask(p string) (value, mask uint32) {
	for i := 0; i < 8; i++ {
		value <<= 4
		mask <<= 4
		if p[i] == 'x' {
			continue
		}
		d, _ := strconv.ParseUint(p[i:i+1], 16, 8)
		value |= uint32(d)
		mask |= 0xF
	}
	return value, mask
}
