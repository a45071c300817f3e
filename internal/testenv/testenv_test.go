package testenv

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeTB records Skipf and Fatalf instead of stopping the goroutine, so the
// skip-or-fail policy itself can be tested.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(format string, args ...any) {
	f.skipped = fmt.Sprintf(format, args...)
}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
}

func TestRepoRoot(t *testing.T) {
	root := RepoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if got := modulePath(data); got != ModulePath {
		t.Errorf("module %q at %s, want %q", got, root, ModulePath)
	}
	if _, err := os.Stat(filepath.Join(root, "internal", "testenv", "testenv.go")); err != nil {
		t.Errorf("RepoRoot %s does not hold this package: %v", root, err)
	}
}

func TestModulePath(t *testing.T) {
	tests := []struct{ gomod, want string }{
		{"module github.com/lightbox-pacs/lightbox\n\ngo 1.26\n", ModulePath},
		{"// comment\nmodule \"example.com/x\"\n", "example.com/x"},
		{"go 1.26\n", ""},
	}
	for _, tt := range tests {
		if got := modulePath([]byte(tt.gomod)); got != tt.want {
			t.Errorf("modulePath(%q) = %q, want %q", tt.gomod, got, tt.want)
		}
	}
}

func TestCorpusDir(t *testing.T) {
	dir := CorpusDir(t)
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST.tsv")); err != nil {
		t.Errorf("corpus %s has no MANIFEST.tsv: %v", dir, err)
	}
	if got, want := filepath.Dir(dir), SharedDir(t); got != want {
		t.Errorf("CorpusDir parent %s, SharedDir %s", got, want)
	}
}

func TestSharedDirOverride(t *testing.T) {
	good := t.TempDir()
	if err := os.Mkdir(filepath.Join(good, "dicom-samples"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LIGHTBOX_SHARED_DIR", good)
	if got := SharedDir(t); got != good {
		t.Errorf("SharedDir = %s, want %s", got, good)
	}

	t.Setenv("LIGHTBOX_SHARED_DIR", t.TempDir()) // no dicom-samples
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		f := &fakeTB{TB: t}
		SharedDir(f)
		checkPolicy(t, f, ci, "no dicom-samples")
	}
}

// checkPolicy checks that a missing prerequisite skipped outside CI and
// failed under CI=true, with a message containing want.
func checkPolicy(t *testing.T, f *fakeTB, ci, want string) {
	t.Helper()
	if ci == "true" {
		if f.failed == "" || f.skipped != "" {
			t.Errorf("CI=true: failed=%q skipped=%q, want a failure", f.failed, f.skipped)
		}
		if !strings.Contains(f.failed, want) {
			t.Errorf("CI=true: message %q lacks %q", f.failed, want)
		}
		return
	}
	if f.skipped == "" || f.failed != "" {
		t.Errorf("CI unset: failed=%q skipped=%q, want a skip", f.failed, f.skipped)
	}
	if !strings.Contains(f.skipped, want) || !strings.Contains(f.skipped, "SKIPPED") {
		t.Errorf("CI unset: skip message %q is not loud or lacks %q", f.skipped, want)
	}
}

func TestIsCI(t *testing.T) {
	for ci, want := range map[string]bool{"true": true, "": false, "false": false, "1": false} {
		t.Setenv("CI", ci)
		if got := IsCI(); got != want {
			t.Errorf("CI=%q: IsCI() = %v, want %v", ci, got, want)
		}
	}
}

func TestRequireTool(t *testing.T) {
	if p := RequireTool(t, "go"); !filepath.IsAbs(p) {
		t.Errorf("RequireTool(go) = %q, want an absolute path", p)
	}
	const missing = "lightbox-no-such-tool-7f3a"
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		f := &fakeTB{TB: t}
		if p := RequireTool(f, missing); p != "" {
			t.Errorf("RequireTool(%s) = %q", missing, p)
		}
		checkPolicy(t, f, ci, missing)
	}
}

func TestPythonWithPydicom(t *testing.T) {
	py := PythonWithPydicom(t)
	if !filepath.IsAbs(py) {
		t.Errorf("PythonWithPydicom = %q, want an absolute path", py)
	}
}

func TestPostgresAddr(t *testing.T) {
	tests := []struct{ dsn, want string }{
		{DefaultPostgresDSN, "127.0.0.1:5432"},
		{"postgresql://u:p@db.local:6543/x", "db.local:6543"},
		{"postgres:///test?host=/var/run/postgresql", "/var/run/postgresql/.s.PGSQL.5432"},
		{"postgres://[::1]:5433/test", "[::1]:5433"},
		{"host=localhost port=5555 dbname=test", "localhost:5555"},
		{"dbname=test", "127.0.0.1:5432"},
	}
	for _, tt := range tests {
		got, err := postgresAddr(tt.dsn)
		if err != nil || got != tt.want {
			t.Errorf("postgresAddr(%q) = %q, %v; want %q", tt.dsn, got, err, tt.want)
		}
	}
	if _, err := postgresAddr("host=x junk"); err == nil {
		t.Error("postgresAddr accepted a malformed key=value DSN")
	}
}

func TestPostgresDSN(t *testing.T) {
	t.Setenv("LIGHTBOX_TEST_PG", "")
	if got := PostgresDSN(t); got != DefaultPostgresDSN {
		t.Errorf("PostgresDSN = %q, want the default", got)
	}

	// A listener that is not PostgreSQL, then a closed port.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("HTTP/1.0 400 Bad Request\r\n\r\n"))
			c.Close()
		}
	}()
	notPG := ln.Addr().String()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	t.Cleanup(func() { ln.Close() })

	for _, addr := range []string{notPG, closedAddr} {
		for _, ci := range []string{"", "true"} {
			t.Setenv("CI", ci)
			t.Setenv("LIGHTBOX_TEST_PG", "postgres://postgres@"+addr+"/test?sslmode=disable")
			f := &fakeTB{TB: t}
			if got := PostgresDSN(f); got != "" {
				t.Errorf("%s: PostgresDSN = %q, want empty", addr, got)
			}
			checkPolicy(t, f, ci, "PostgreSQL not answering at "+addr)
		}
	}
}
