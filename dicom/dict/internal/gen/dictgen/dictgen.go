// Package dictgen generates the tables of package dict from the DICOM
// standard extracts in shared/dicom-standard (see its README.md).
//
// Sources and precedence:
//   - pydicom_dicom_dict.py: the public data dictionary (DicomDictionary) and
//     the repeating-group entries (RepeatersDictionary). Authoritative.
//   - innolitics-attributes.json: secondary. It only adds tags (or repeater
//     patterns) that pydicom lacks; where both have a tag, pydicom wins.
//   - pydicom_uid_dict.py: the UID registry (PS3.6 Table A-1).
//   - pydicom_private_dict.py: vendor private dictionaries keyed by private
//     creator (GDCM's dictionary as converted by pydicom).
//
// The Python files are read as text, one entry a line, with a parser for the
// small subset of Python literal syntax they use; any other line is an error.
// Output is gofmt'd Go source, byte-for-byte reproducible from the same
// inputs.
package dictgen

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Output file names, relative to the dict package directory.
const (
	OutTags    = "zz_generated_tags.go"
	OutUIDs    = "zz_generated_uids.go"
	OutPrivate = "zz_generated_private.go"
)

// Stats summarises what the generator read and produced.
type Stats struct {
	Exact, Repeaters         int      // public entries written
	FromInnolitics           []string // tags added from innolitics (absent in pydicom)
	InnoliticsDiffer         int      // tags present in both whose fields differ (pydicom kept)
	InnoliticsUnusable       []string // innolitics entries with a non-dictionary VR/VM
	UIDs                     int
	Creators, PrivateEntries int
	PrivateFixedBlockUsed    int // explicit-block entries used as block-agnostic fallbacks
	PrivateFixedBlockDropped int // explicit-block entries shadowed by a block-agnostic entry or another block
	PrivateCreatorRange      int // entries addressed in the creator range (gggg,0000-0FFF): dropped
	PrivateBlockWildcard     int // "gggg10xx"-style entries (creator element itself): dropped
}

// Generate reads the sources in srcDir and returns the generated files keyed
// by file name.
func Generate(srcDir string) (map[string][]byte, Stats, error) {
	var st Stats
	hashes := map[string]string{}
	for _, f := range []string{fileDicomDict, fileUIDDict, filePrivateDict, fileInnolitics} {
		b, err := os.ReadFile(filepath.Join(srcDir, f))
		if err != nil {
			return nil, st, fmt.Errorf("dictgen: %w", err)
		}
		hashes[f] = fmt.Sprintf("%x", sha256.Sum256(b))
	}

	attrs, err := mergedAttrs(srcDir, &st)
	if err != nil {
		return nil, st, err
	}
	uids, err := readUIDDict(filepath.Join(srcDir, fileUIDDict))
	if err != nil {
		return nil, st, fmt.Errorf("dictgen: %w", err)
	}
	creators, err := readPrivateDict(filepath.Join(srcDir, filePrivateDict))
	if err != nil {
		return nil, st, fmt.Errorf("dictgen: %w", err)
	}
	privs, err := buildPrivate(creators, &st)
	if err != nil {
		return nil, st, err
	}

	// VR and VM spellings are shared by the public and private tables.
	vrs, vms := map[string]bool{}, map[string]bool{}
	for _, a := range attrs {
		vrs[a.vr], vms[a.vm] = true, true
	}
	for _, c := range privs {
		for _, p := range c.entries {
			vrs[p.vr], vms[p.vm] = true, true
		}
	}

	files := map[string][]byte{}
	tagsSrc, err := renderTags(attrs, sortedKeys(vrs), sortedKeys(vms), hashes, &st)
	if err != nil {
		return nil, st, err
	}
	uidSrc, err := renderUIDs(uids, hashes, &st)
	if err != nil {
		return nil, st, err
	}
	privSrc, err := renderPrivate(privs, hashes, &st)
	if err != nil {
		return nil, st, err
	}
	for name, src := range map[string][]byte{OutTags: tagsSrc, OutUIDs: uidSrc, OutPrivate: privSrc} {
		out, err := format.Source(src)
		if err != nil {
			return nil, st, fmt.Errorf("dictgen: gofmt %s: %w", name, err)
		}
		files[name] = out
	}
	return files, st, nil
}

// WriteFiles writes the generated files into dir.
func WriteFiles(dir string, files map[string][]byte) error {
	for _, name := range sortedKeys(files) {
		if err := os.WriteFile(filepath.Join(dir, name), files[name], 0o644); err != nil {
			return fmt.Errorf("dictgen: %w", err)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// mergedAttrs reads pydicom and innolitics and returns the union, pydicom
// winning, sorted by pattern.
func mergedAttrs(srcDir string, st *Stats) ([]attr, error) {
	py, err := readPydicomDict(filepath.Join(srcDir, fileDicomDict))
	if err != nil {
		return nil, fmt.Errorf("dictgen: %w", err)
	}
	byPat := map[string]attr{}
	for _, a := range py {
		if _, dup := byPat[a.pattern]; dup {
			return nil, fmt.Errorf("dictgen: %s: duplicate tag %s", fileDicomDict, a.pattern)
		}
		byPat[a.pattern] = a
	}
	inno, unusable, err := readInnolitics(filepath.Join(srcDir, fileInnolitics))
	if err != nil {
		return nil, fmt.Errorf("dictgen: %w", err)
	}
	st.InnoliticsUnusable = unusable
	for _, a := range inno {
		p, ok := byPat[a.pattern]
		if !ok {
			byPat[a.pattern] = a
			st.FromInnolitics = append(st.FromInnolitics, a.pattern+" "+a.keyword)
			continue
		}
		if p != a {
			st.InnoliticsDiffer++
		}
	}
	out := make([]attr, 0, len(byPat))
	for _, k := range sortedKeys(byPat) {
		out = append(out, byPat[k])
	}

	// Keywords must be unique (blank ones are skipped by the index).
	kw := map[string]string{}
	for _, a := range out {
		if a.keyword == "" {
			continue
		}
		if other, dup := kw[a.keyword]; dup {
			return nil, fmt.Errorf("dictgen: keyword %s used by %s and %s", a.keyword, other, a.pattern)
		}
		kw[a.keyword] = a.pattern
	}
	// Repeater patterns must not overlap, or the lookup order would matter.
	var reps []attr
	for _, a := range out {
		if strings.Contains(a.pattern, "x") {
			reps = append(reps, a)
		}
	}
	for i, a := range reps {
		va, ma := patternValueMask(a.pattern)
		for _, b := range reps[i+1:] {
			vb, mb := patternValueMask(b.pattern)
			if (va^vb)&ma&mb == 0 {
				return nil, fmt.Errorf("dictgen: repeating tags %s and %s overlap", a.pattern, b.pattern)
			}
		}
	}
	return out, nil
}

// privOut is a private creator's entries ready to render: block-agnostic
// entries sorted by (group, element low byte), then repeating-group entries.
type privOut struct {
	name    string
	entries []privRow
	masked  int // index in entries where the repeating-group entries start
}

type privRow struct {
	group        uint16 // for repeating-group entries the low byte is 0
	low          uint8
	vr, vm, name string
	retired      bool
}

// buildPrivate turns the source dictionaries into lookup rows keyed by
// (creator, group, element low byte), the way a reader meets private tags:
// the block byte (the "xx" in "0029xx10") is whatever block the creator
// element reserved in that data set.
//
// GDCM, and so pydicom, also lists entries with a fixed block ("00E11021")
// and a few oddities. The rules:
//   - "ggggxxee": block-agnostic; used as is.
//   - "ggxxxxee": repeating group (60xx, 70xx); matched on the group's high
//     byte after the exact-group entries.
//   - "ggggbbee" with bb >= 0x10: a fixed block. Used as a block-agnostic
//     fallback only where no block-agnostic entry has the same group and low
//     byte; of several blocks the lowest wins.
//   - "gggg00ee".."gggg0Fee": addresses in the creator/reserved range, not
//     private data elements (GDCM's entries for data nested inside vendor
//     blobs, e.g. Toshiba/Canon "^10" creators). Dropped.
//   - "gggg10xx": wildcard on the low byte (GDCM's "Private Element Creator"
//     entries). pydicom never matches them either. Dropped.
func buildPrivate(creators []privCreator, st *Stats) ([]privOut, error) {
	seen := map[string]bool{}
	var out []privOut
	for _, c := range creators {
		if c.name != strings.TrimSpace(c.name) || c.name == "" || strings.ContainsFunc(c.name, unicode.IsControl) {
			return nil, fmt.Errorf("dictgen: private creator %q is blank, padded or has control characters", c.name)
		}
		if seen[c.name] {
			return nil, fmt.Errorf("dictgen: private creator %q listed twice", c.name)
		}
		seen[c.name] = true

		type key struct {
			group  uint16
			low    uint8
			masked bool
		}
		agnostic := map[key]privRow{}
		type fixed struct {
			block uint8
			row   privRow
		}
		fixedBlock := map[key][]fixed{}
		keys := map[string]bool{}
		for _, p := range c.entries {
			if keys[p.key] {
				return nil, fmt.Errorf("dictgen: private creator %q: key %s listed twice", c.name, p.key)
			}
			keys[p.key] = true
			row := privRow{vr: p.vr, vm: p.vm, name: p.name, retired: p.retired}
			g, e := p.key[:4], p.key[4:]
			switch {
			case !strings.Contains(g, "x") && e[:2] == "xx" && !strings.Contains(e[2:], "x"):
				row.group, row.low = hex16(g), uint8(hex16(e[2:]))
				agnostic[key{row.group, row.low, false}] = row
			case g[2:] == "xx" && e[:2] == "xx" && !strings.Contains(g[:2]+e[2:], "x"):
				row.group, row.low = hex16(g[:2]+"00"), uint8(hex16(e[2:]))
				agnostic[key{row.group, row.low, true}] = row
			case !strings.Contains(p.key, "x"):
				el := hex16(e)
				if el < 0x1000 {
					st.PrivateCreatorRange++
					continue
				}
				row.group, row.low = hex16(g), uint8(el)
				k := key{row.group, row.low, false}
				fixedBlock[k] = append(fixedBlock[k], fixed{uint8(el >> 8), row})
			case !strings.Contains(g+e[:2], "x") && e[2:] == "xx":
				st.PrivateBlockWildcard++
			default:
				return nil, fmt.Errorf("dictgen: private creator %q: unsupported key %s (line %d)", c.name, p.key, p.line)
			}
		}
		for k, fs := range fixedBlock {
			slices.SortFunc(fs, func(a, b fixed) int { return cmp.Compare(a.block, b.block) })
			if _, ok := agnostic[k]; ok {
				st.PrivateFixedBlockDropped += len(fs)
				continue
			}
			agnostic[k] = fs[0].row
			st.PrivateFixedBlockUsed++
			st.PrivateFixedBlockDropped += len(fs) - 1
		}
		po := privOut{name: c.name, masked: -1}
		ks := make([]key, 0, len(agnostic))
		for k := range agnostic {
			ks = append(ks, k)
		}
		slices.SortFunc(ks, func(a, b key) int {
			if a.masked != b.masked {
				if a.masked {
					return 1
				}
				return -1
			}
			return cmp.Or(cmp.Compare(a.group, b.group), cmp.Compare(a.low, b.low))
		})
		for _, k := range ks {
			if k.masked && po.masked < 0 {
				po.masked = len(po.entries)
			}
			po.entries = append(po.entries, agnostic[k])
		}
		if po.masked < 0 {
			po.masked = len(po.entries)
		}
		if len(po.entries) == 0 {
			continue // nothing addressable (e.g. only creator-range entries)
		}
		out = append(out, po)
	}
	slices.SortFunc(out, func(a, b privOut) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

func hex16(s string) uint16 {
	v, err := strconv.ParseUint(s, 16, 16)
	if err != nil {
		panic("dictgen: hex16(" + s + ")") // callers pass validated hex
	}
	return uint16(v)
}

// header is the first lines of every generated file.
func header(w *bytes.Buffer, hashes map[string]string, sources ...string) {
	w.WriteString("// Code generated by go run ./internal/gen; DO NOT EDIT.\n\n")
	w.WriteString("// Generated from shared/dicom-standard (see its README.md for provenance):\n")
	for _, s := range sources {
		fmt.Fprintf(w, "//\t%s sha256:%s\n", s, hashes[s])
	}
	w.WriteString("\npackage dict\n\n")
}

func vrIdent(vr string) string { return "vr" + strings.ReplaceAll(vr, " or ", "or") }
func vmIdent(vm string) string { return "vm" + strings.ReplaceAll(vm, "-", "_") }

func renderTags(attrs []attr, vrs, vms []string, hashes map[string]string, st *Stats) ([]byte, error) {
	var w bytes.Buffer
	header(&w, hashes, fileDicomDict, fileInnolitics, filePrivateDict)

	w.WriteString("// VR spellings of the public and private dictionaries.\nconst (\n")
	for i, vr := range vrs {
		if i == 0 {
			fmt.Fprintf(&w, "\t%s vrIndex = iota\n", vrIdent(vr))
		} else {
			fmt.Fprintf(&w, "\t%s\n", vrIdent(vr))
		}
	}
	w.WriteString(")\n\nvar vrNames = [...]string{\n")
	for _, vr := range vrs {
		fmt.Fprintf(&w, "\t%s: %q,\n", vrIdent(vr), vr)
	}
	w.WriteString("}\n\n// VM spellings of the public and private dictionaries.\nconst (\n")
	for i, vm := range vms {
		if i == 0 {
			fmt.Fprintf(&w, "\t%s vmIndex = iota\n", vmIdent(vm))
		} else {
			fmt.Fprintf(&w, "\t%s\n", vmIdent(vm))
		}
	}
	w.WriteString(")\n\nvar vmNames = [...]string{\n")
	for _, vm := range vms {
		fmt.Fprintf(&w, "\t%s: %q,\n", vmIdent(vm), vm)
	}
	w.WriteString("}\n\n")

	var exact, reps []attr
	for _, a := range attrs {
		if strings.Contains(a.pattern, "x") {
			reps = append(reps, a)
		} else {
			exact = append(exact, a)
		}
	}
	st.Exact, st.Repeaters = len(exact), len(reps)
	if len(exact)+len(reps) > 0xFFFF {
		return nil, fmt.Errorf("dictgen: %d entries do not fit the uint16 keyword index", len(exact)+len(reps))
	}

	w.WriteString("// entries is the public data dictionary, sorted by tag.\nvar entries = [...]entry{\n")
	for _, a := range exact {
		v, _ := patternValueMask(a.pattern)
		fmt.Fprintf(&w, "\t{0x%08X, %s, %s, %t, %q, %q},\n", v, vrIdent(a.vr), vmIdent(a.vm), a.retired, a.name, a.keyword)
	}
	w.WriteString("}\n\n")

	w.WriteString("// repeaters are the repeating-group entries (PS3.5 7.6), sorted by value;\n" +
		"// a tag t matches when t&mask == value.\nvar repeaters = [...]repeater{\n")
	for _, a := range reps {
		v, m := patternValueMask(a.pattern)
		fmt.Fprintf(&w, "\t{0x%08X, 0x%08X, %s, %s, %t, %q, %q}, // %s\n", v, m, vrIdent(a.vr), vmIdent(a.vm), a.retired, a.name, a.keyword, a.pattern)
	}
	w.WriteString("}\n\n")

	type kwRef struct {
		kw  string
		idx int
	}
	var kws []kwRef
	for i, a := range exact {
		if a.keyword != "" {
			kws = append(kws, kwRef{a.keyword, i})
		}
	}
	for i, a := range reps {
		if a.keyword != "" {
			kws = append(kws, kwRef{a.keyword, len(exact) + i})
		}
	}
	slices.SortFunc(kws, func(a, b kwRef) int { return strings.Compare(a.kw, b.kw) })
	w.WriteString("// keywordIndex lists the entries with a keyword, sorted by keyword. Values\n" +
		"// below len(entries) index entries; the rest index repeaters, offset by\n" +
		"// len(entries).\nvar keywordIndex = [...]uint16{\n")
	for _, k := range kws {
		fmt.Fprintf(&w, "\t%d, // %s\n", k.idx, k.kw)
	}
	w.WriteString("}\n")
	return w.Bytes(), nil
}

// compareUID orders UIDs component by component, numerically for
// well-formed components (shorter digit string first, then bytewise), which
// is the order the runtime binary search in package dict uses.
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

func renderUIDs(uids []uidEntry, hashes map[string]string, st *Stats) ([]byte, error) {
	slices.SortFunc(uids, func(a, b uidEntry) int { return compareUID(a.uid, b.uid) })
	for i := 1; i < len(uids); i++ {
		if uids[i-1].uid == uids[i].uid {
			return nil, fmt.Errorf("dictgen: UID %s listed twice", uids[i].uid)
		}
	}
	st.UIDs = len(uids)
	var w bytes.Buffer
	header(&w, hashes, fileUIDDict)
	w.WriteString("// uids is the UID registry, sorted by compareUID.\nvar uids = [...]UID{\n")
	for _, u := range uids {
		fmt.Fprintf(&w, "\t{%q, %q, %q, %q, %t},\n", u.uid, u.name, u.keyword, u.typ, u.retired)
	}
	w.WriteString("}\n")
	return w.Bytes(), nil
}

func renderPrivate(privs []privOut, hashes map[string]string, st *Stats) ([]byte, error) {
	var w bytes.Buffer
	header(&w, hashes, filePrivateDict)
	w.WriteString("// privateCreators lists the private dictionaries, sorted by creator. Each\n" +
		"// owns privateEntries[start:end]; those from masked on have a repeating\n" +
		"// group (only the group's high byte is compared).\nvar privateCreators = [...]privateCreator{\n")
	n := 0
	for _, c := range privs {
		fmt.Fprintf(&w, "\t{%q, %d, %d, %d},\n", c.name, n, n+c.masked, n+len(c.entries))
		n += len(c.entries)
	}
	w.WriteString("}\n\n// privateEntries holds the entries of all private creators.\nvar privateEntries = [...]privateEntry{\n")
	for _, c := range privs {
		fmt.Fprintf(&w, "\t// %s\n", c.name)
		for _, p := range c.entries {
			fmt.Fprintf(&w, "\t{0x%04X, 0x%02X, %s, %s, %t, %q},\n", p.group, p.low, vrIdent(p.vr), vmIdent(p.vm), p.retired, p.name)
		}
	}
	w.WriteString("}\n")
	if n > 0xFFFF {
		return nil, fmt.Errorf("dictgen: %d private entries do not fit the uint16 indexes", n)
	}
	st.Creators, st.PrivateEntries = len(privs), n
	return w.Bytes(), nil
}
