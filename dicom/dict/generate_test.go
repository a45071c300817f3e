package dict

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom/dict/internal/gen/dictgen"
)

// standardDir finds shared/dicom-standard by walking up from the package
// directory (the repository normally sits next to shared/). Without it the
// test skips, except in CI (CI=true), where it fails.
func standardDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		cand := filepath.Join(dir, "shared", "dicom-standard")
		if st, err := os.Stat(filepath.Join(cand, "pydicom_dicom_dict.py")); err == nil && !st.IsDir() {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("shared/dicom-standard not found; CI must provide it to check the generated tables")
	}
	t.Skip("shared/dicom-standard not found; cannot check the generated tables")
	return ""
}

// TestGeneratedUpToDate runs the generator into a temporary directory and
// compares its output byte for byte with the committed zz_generated_*.go.
// On failure, run: go generate ./dicom/dict
func TestGeneratedUpToDate(t *testing.T) {
	src := standardDir(t)
	files, _, err := dictgen.Generate(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	if err := dictgen.WriteFiles(tmp, files); err != nil {
		t.Fatal(err)
	}
	gen, err := filepath.Glob(filepath.Join(tmp, "zz_generated_*.go"))
	if err != nil {
		t.Fatal(err)
	}
	committed, err := filepath.Glob("zz_generated_*.go")
	if err != nil {
		t.Fatal(err)
	}
	var genNames []string
	for _, p := range gen {
		genNames = append(genNames, filepath.Base(p))
	}
	if !slices.Equal(genNames, committed) {
		t.Fatalf("generator writes %v, package has %v; run go generate ./dicom/dict", genNames, committed)
	}
	for _, name := range committed {
		want, err := os.ReadFile(filepath.Join(tmp, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale; run go generate ./dicom/dict", name)
		}
	}
}
