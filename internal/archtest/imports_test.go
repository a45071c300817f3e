package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

const module = "github.com/lightbox-pacs/lightbox/"

// rules says, per package prefix, which of the module's packages its
// non-test code may import (by prefix). The first matching rule applies.
var rules = []struct {
	pkg     string
	allowed []string
}{
	{"dicom/dict", []string{"dicom/dict"}},
	{"dicom/charset", []string{"dicom/charset"}},
	{"dicom", []string{"dicom"}},
	{"codec", []string{"dicom", "codec"}},
	{"imaging", []string{"dicom", "codec", "imaging"}},
	{"ul", []string{"dicom", "ul"}},
	{"dimse", []string{"dicom", "ul", "dimse"}},
	{"internal/index", []string{"internal/index"}},
	{"internal/blob", []string{"internal/blob"}},
	// The archive knows no protocol.
	{"internal/archive", []string{"dicom", "codec", "internal/blob", "internal/index", "internal/archive"}},
	{"internal/dimsesvc", []string{"dicom", "codec", "imaging", "ul", "dimse", "internal/archive", "internal/index", "internal/blob", "internal/config", "internal/dimsesvc"}},
	{"internal/dicomweb", []string{"dicom", "codec", "imaging", "internal/archive", "internal/index", "internal/blob", "internal/dicomweb"}},
	// Wrapping scans and PDFs as DICOM builds bytes only; the caller stores them.
	{"internal/capture", []string{"dicom", "internal/capture"}},
	{"internal/api", []string{"dicom", "internal/archive", "internal/index", "internal/blob", "internal/version", "internal/capture", "internal/api"}},
	{"internal/webui", []string{"internal/webui"}},
	{"internal/config", nil},
	{"internal/server", []string{"dicom", "codec", "imaging", "ul", "dimse", "internal/"}},
	{"internal/cli", []string{"dicom", "codec", "imaging", "ul", "dimse", "internal/"}},
	{"cmd/", []string{"internal/cli"}},
}

func allowed(pkg, imp string) (bool, bool) {
	for _, r := range rules {
		if pkg == r.pkg || strings.HasPrefix(pkg, r.pkg+"/") || strings.HasSuffix(r.pkg, "/") && strings.HasPrefix(pkg, r.pkg) {
			for _, a := range r.allowed {
				if imp == a || strings.HasPrefix(imp, a+"/") || strings.HasSuffix(a, "/") && strings.HasPrefix(imp, a) {
					return true, true
				}
			}
			return false, true
		}
	}
	return true, false
}

func TestImportDirection(t *testing.T) {
	root := testenv.RepoRoot(t)
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "node_modules", "testdata", ".git", "build", "web", "test":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := filepath.ToSlash(rel)
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, is := range f.Imports {
			imp, _ := strconv.Unquote(is.Path.Value)
			if !strings.HasPrefix(imp, module) {
				continue
			}
			imp = strings.TrimPrefix(imp, module)
			if strings.HasPrefix(imp, "cmd/") {
				t.Errorf("%s imports %s: nothing imports cmd", pkg, imp)
			}
			ok, known := allowed(pkg, imp)
			if !ok {
				t.Errorf("%s imports %s, against the import direction", pkg, imp)
			}
			if known {
				checked++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Errorf("only %d imports checked; is the walk finding the packages?", checked)
	}
}

func TestRules(t *testing.T) {
	for _, tc := range []struct {
		pkg, imp string
		want     bool
	}{
		{"internal/archive", "dimse", false},
		{"internal/archive", "internal/dicomweb", false},
		{"dicom", "internal/archive", false},
		{"dicom/dicomjson", "dicom", true},
		{"internal/index/sqlite", "dicom", false},
		{"codec/jpeg", "codec", true},
		{"ul", "dimse", false},
		{"internal/server", "internal/archive", true},
		{"cmd/lightbox", "internal/archive", false},
		{"internal/capture", "internal/archive", false},
		{"internal/api", "internal/capture", true},
	} {
		if got, _ := allowed(tc.pkg, tc.imp); got != tc.want {
			t.Errorf("allowed(%s imports %s) = %v, want %v", tc.pkg, tc.imp, got, tc.want)
		}
	}
}
