package dicom_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// pydicom's reading of the corpus, produced by tools/pydicom_ref.py.
type pyRef struct {
	Format int      `json:"format"`
	Files  []pyFile `json:"files"`
}

type pyFile struct {
	Path           string      `json:"path"`
	OK             bool        `json:"ok"`
	Error          *string     `json:"error"`
	TransferSyntax *string     `json:"transfer_syntax"`
	Elements       []pyElement `json:"elements"`
}

type pyElement struct {
	Path  string          `json:"path"`
	Tag   string          `json:"tag"`
	VR    string          `json:"vr"`
	VM    int             `json:"vm"`
	Value json.RawMessage `json:"value"`
	Error *string         `json:"error"`
}

// loadPydicomRef runs tools/pydicom_ref.py once (cached under build/ while
// the script is unchanged) and returns its output by path.
func loadPydicomRef(t *testing.T) map[string]pyFile {
	root := testenv.RepoRoot(t)
	script := filepath.Join(root, "tools", "pydicom_ref.py")
	cache := filepath.Join(root, "build", "pydicom-ref.json")
	data, err := os.ReadFile(cache)
	if st, serr := os.Stat(script); err != nil || serr != nil || fileOlder(cache, st.ModTime().UnixNano()) {
		py := testenv.PythonWithPydicom(t)
		cmd := exec.Command(py, script, testenv.CorpusDir(t))
		cmd.Stderr = os.Stderr
		data, err = cmd.Output()
		if err != nil {
			t.Fatalf("pydicom_ref.py: %v", err)
		}
		os.MkdirAll(filepath.Dir(cache), 0o755)
		os.WriteFile(cache, data, 0o644)
	}
	var ref pyRef
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatalf("pydicom reference: %v", err)
	}
	out := map[string]pyFile{}
	for _, f := range ref.Files {
		out[f.Path] = f
	}
	return out
}

func fileOlder(path string, than int64) bool {
	st, err := os.Stat(path)
	return err != nil || st.ModTime().UnixNano() < than
}

// flatElement is one of our elements in the reference's flattened form.
type flatElement struct {
	vr    string
	value any // normalised like the reference
	vm    int
	raw   any // digest of the raw value bytes
}

// TestCorpusMatchesPydicom compares, for every corpus file that pydicom
// reads and a reader must accept, every element pydicom reports (File Meta,
// data set, sequence items at any depth) with what our reader gives: same
// presence, VR and values (text decoded from its character set, numbers,
// and SHA-256 of binary values).
func TestCorpusMatchesPydicom(t *testing.T) {
	ref := loadPydicomRef(t)
	dir, rows := loadManifest(t)
	compared, elements, candidates := 0, 0, 0
	for _, row := range sampled(rows) {
		pf, ok := ref[row.Path]
		if !ok || !pf.OK || !row.mustParse() {
			continue
		}
		candidates++
		src, err := os.ReadFile(filepath.Join(dir, row.Path))
		if err != nil {
			t.Fatal(err)
		}
		f, err := dicom.ReadFile(filepath.Join(dir, row.Path), dicom.ReadOptions{LoadBulk: true})
		if err != nil {
			t.Errorf("%s: %v", row.Path, err)
			continue
		}
		if reason := pydicomMisreads(f); reason != "" {
			t.Logf("%s: not compared: %s", row.Path, reason)
			continue
		}
		ours := map[string]flatElement{}
		if f.Meta != nil {
			flatten(f.Meta, "", src, ours)
		}
		flatten(f.Dataset, "", src, ours)
		compared++
		var diffs []string
		for _, pe := range pf.Elements {
			if pe.Error != nil {
				continue // pydicom could not convert it; nothing to compare
			}
			elements++
			oe, ok := ours[pe.Path]
			if !ok {
				diffs = append(diffs, fmt.Sprintf("%s missing", pe.Path))
				continue
			}
			pe.VR = strings.TrimPrefix(pe.VR, "VR.")
			if !sameVR(pe.VR, oe.vr) {
				diffs = append(diffs, fmt.Sprintf("%s VR %s, pydicom %s", pe.Path, oe.vr, pe.VR))
				continue
			}
			if d := compareValue(pe, oe); d != "" {
				diffs = append(diffs, pe.Path+" "+d)
			}
		}
		for i, d := range diffs {
			if i == 5 {
				t.Errorf("%s: ... %d more differences", row.Path, len(diffs)-5)
				break
			}
			t.Errorf("%s: %s", row.Path, d)
		}
	}
	t.Logf("compared %d files, %d elements with pydicom", compared, elements)
	if compared < candidates-2 || candidates == 0 {
		t.Errorf("only %d of %d files compared", compared, candidates)
	}
}

// pydicomMisreads names the reason when a file is one pydicom 2.3 is known
// to read wrongly, judged from what our reader found in it.
func pydicomMisreads(f *dicom.File) string {
	for _, w := range f.Warnings {
		switch {
		case strings.Contains(w, "blank VR"):
			return "pydicom reads the rest of the data set into an element with a blank VR"
		case strings.Contains(w, "'DICM' at offset 128"):
			return "pydicom takes the letters DICM inside the data for a preamble magic"
		}
	}
	return ""
}

// sameVR accepts the VR pydicom left ambiguous when ours is one of the choices.
func sameVR(py, ours string) bool {
	if py == ours {
		return true
	}
	if py == "UN" && ours == "UL" {
		return true // group lengths, which pydicom leaves UN in private groups
	}
	for _, alt := range strings.Split(py, " or ") {
		if alt == ours {
			return true
		}
	}
	return false
}

func flatten(ds *dicom.Dataset, prefix string, src []byte, out map[string]flatElement) {
	for _, e := range ds.Elements {
		path := prefix + e.Tag.Hex()
		fe := flatElement{vr: e.VR.String(), raw: bulkDigest(e.Value)}
		switch {
		case e.IsSequence():
			fe.vr = "SQ"
			fe.vm = len(e.Items)
			for i, it := range e.Items {
				flatten(it, fmt.Sprintf("%s/%d/", path, i), src, out)
			}
		case e.IsEncapsulated():
			first := e.Offset
			last := e.Fragments[len(e.Fragments)-1]
			fe.value = bulkDigest(src[first : last.Offset+int64(last.Length)])
		case e.VR == dicom.IS || e.VR == dicom.DS:
			var vals []any
			for _, s := range strings.Split(latin1(e.Value), `\`) {
				if s = strings.Trim(s, " \x00"); s != "" || len(e.Value) > 0 && strings.Contains(string(e.Value), `\`) {
					vals = append(vals, s)
				}
			}
			fe.value, fe.vm = collapse(vals)
		case e.VR.IsString():
			var vals []any
			for _, s := range ds.Strings(e) {
				vals = append(vals, s)
			}
			fe.value, fe.vm = collapse(vals)
		case e.VR == dicom.US || e.VR == dicom.SS || e.VR == dicom.UL || e.VR == dicom.SL || e.VR == dicom.UV || e.VR == dicom.SV || e.VR == dicom.AT:
			ints, _ := ds.Ints(e)
			var vals []any
			for _, v := range ints {
				if e.VR == dicom.UV {
					vals = append(vals, float64(uint64(v)))
				} else {
					vals = append(vals, float64(v))
				}
			}
			fe.value, fe.vm = collapse(vals)
		case e.VR == dicom.FL || e.VR == dicom.FD:
			fs, _ := ds.Floats(e)
			var vals []any
			for _, v := range fs {
				vals = append(vals, v)
			}
			fe.value, fe.vm = collapse(vals)
		default:
			fe.value = bulkDigest(e.Value)
		}
		out[path] = fe // like pydicom, the last of duplicate tags wins
	}
}

func latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

func collapse(vals []any) (any, int) {
	switch len(vals) {
	case 0:
		return nil, 0
	case 1:
		return vals[0], 1
	}
	return vals, len(vals)
}

func bulkDigest(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	sum := sha256.Sum256(b)
	return map[string]any{"len": float64(len(b)), "sha256": hex.EncodeToString(sum[:])[:16]}
}

func compareValue(pe pyElement, oe flatElement) string {
	if pe.VR == "SQ" {
		if pe.VM != oe.vm {
			return fmt.Sprintf("%d items, pydicom %d", oe.vm, pe.VM)
		}
		return ""
	}
	var want any
	if err := json.Unmarshal(pe.Value, &want); err != nil {
		return "unreadable reference value"
	}
	if equalValue(want, oe.value) || pe.VR == "UN" && equalValue(want, oe.raw) {
		return ""
	}
	return fmt.Sprintf("value %s, pydicom %s", short(oe.value), short(want))
}

func equalValue(want, got any) bool {
	switch w := want.(type) {
	case nil:
		return got == nil || got == ""
	case string:
		if got == nil {
			return strings.TrimSpace(w) == ""
		}
		if g, ok := got.(string); ok {
			// pydicom drops the empty trailing component groups of a PN.
			return strings.TrimRight(strings.TrimSpace(g), "=") == strings.TrimRight(strings.TrimSpace(w), "=")
		}
		if g, ok := got.(float64); ok {
			// NaN and infinities come as strings from the reference.
			f, err := strconv.ParseFloat(w, 64)
			return err == nil && (f == g || math.IsNaN(f) && math.IsNaN(g))
		}
		return false
	case float64:
		g, ok := got.(float64)
		return ok && (g == w || math.Abs(g-w) <= 1e-9*math.Abs(w))
	case []any:
		g, ok := got.([]any)
		if !ok {
			return false
		}
		if len(g) != len(w) {
			// pydicom drops empty values of a multi-valued text element in places.
			w, g = dropEmpty(w), dropEmpty(g)
			if len(g) != len(w) {
				return false
			}
		}
		for i := range w {
			if !equalValue(w[i], g[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		g, ok := got.(map[string]any)
		return ok && g["len"] == w["len"] && g["sha256"] == w["sha256"]
	}
	return false
}

func dropEmpty(v []any) []any {
	var out []any
	for _, x := range v {
		if s, ok := x.(string); ok && strings.TrimSpace(s) == "" {
			continue
		}
		out = append(out, x)
	}
	return out
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 120 {
		return string(b[:120]) + "..."
	}
	return string(b)
}
