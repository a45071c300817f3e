// Package testenv finds what Lightbox's tests need from their environment:
// the repository root, the shared DICOM corpus, external reference tools
// (dcmtk, Orthanc, pydicom, ...) and the PostgreSQL test server.
//
// A missing tool or service makes a test skip with a loud message on a
// developer's machine, and fail when CI=true, so CI never goes green by
// skipping. `make setup` (scripts/setup.sh) installs everything these
// helpers look for.
//
// Layout assumed: the repository (module github.com/lightbox-pacs/lightbox)
// with shared/ beside it, as in /work/main and /work/shared, or a CI clone
// with shared/ next to the clone. LIGHTBOX_SHARED_DIR overrides the search.
package testenv

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ModulePath is the module whose go.mod marks the repository root.
const ModulePath = "github.com/lightbox-pacs/lightbox"

// DefaultPostgresDSN is the test database on the go-svc machines (trust auth).
const DefaultPostgresDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// IsCI reports whether the tests run under CI (CI=true), where missing tools
// and services are failures rather than skips.
func IsCI() bool {
	return os.Getenv("CI") == "true"
}

// unavailable skips tb with a loud message, or fails it under CI.
func unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if IsCI() {
		tb.Fatalf("testenv: %s (CI=true: a missing prerequisite is a failure; scripts/setup.sh should install it)", msg)
		return
	}
	tb.Skipf("!!! SKIPPED, NOT TESTED: %s -- run `make setup` (scripts/setup.sh) to install it; under CI=true this fails", msg)
}

// RepoRoot returns the repository root: the nearest directory at or above the
// working directory whose go.mod declares ModulePath.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := repoRoot()
	if err != nil {
		tb.Fatalf("testenv: %v", err)
	}
	return dir
}

func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("repo root: %w", err)
	}
	for dir := wd; ; {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && modulePath(data) == ModulePath {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("repo root: no go.mod for %s at or above %s", ModulePath, wd)
		}
		dir = parent
	}
}

// modulePath returns the path of the module directive in go.mod data.
func modulePath(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}

// SharedDir returns the shared/ directory holding dicom-samples: the value
// of LIGHTBOX_SHARED_DIR if set, else the first <dir>/shared with a
// dicom-samples subdirectory, walking up from the working directory.
func SharedDir(tb testing.TB) string {
	tb.Helper()
	dir, err := sharedDir()
	if err != nil {
		unavailable(tb, "%v", err)
	}
	return dir
}

func sharedDir() (string, error) {
	if env := os.Getenv("LIGHTBOX_SHARED_DIR"); env != "" {
		if isDir(filepath.Join(env, "dicom-samples")) {
			return env, nil
		}
		return "", fmt.Errorf("shared dir: LIGHTBOX_SHARED_DIR=%s has no dicom-samples", env)
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("shared dir: %w", err)
	}
	for dir := wd; ; {
		if cand := filepath.Join(dir, "shared"); isDir(filepath.Join(cand, "dicom-samples")) {
			return cand, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("shared dir: no shared/dicom-samples at or above %s (CI puts shared/ beside the clone)", wd)
		}
		dir = parent
	}
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// CorpusDir returns the shared DICOM sample corpus (shared/dicom-samples),
// which holds MANIFEST.tsv.
func CorpusDir(tb testing.TB) string {
	tb.Helper()
	dir := SharedDir(tb)
	if dir == "" { // only reachable with a fake TB whose Skipf returns
		return ""
	}
	return filepath.Join(dir, "dicom-samples")
}

// sbinDirs are searched after PATH: Debian installs daemons such as Orthanc
// in /usr/sbin, which a non-root PATH may lack.
var sbinDirs = []string{"/usr/local/sbin", "/usr/sbin", "/sbin"}

// RequireTool returns the absolute path of the executable name, looked up in
// PATH and then the sbin directories. If it is missing the test skips loudly,
// or fails under CI.
func RequireTool(tb testing.TB, name string) string {
	tb.Helper()
	if p, err := lookTool(name); err == nil {
		return p
	}
	unavailable(tb, "required tool %q not found on PATH or in %s", name, strings.Join(sbinDirs, ", "))
	return ""
}

func lookTool(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err == nil {
		return filepath.Abs(p)
	}
	if !strings.ContainsRune(name, filepath.Separator) {
		for _, d := range sbinDirs {
			if p, err2 := exec.LookPath(filepath.Join(d, name)); err2 == nil {
				return p, nil
			}
		}
	}
	return "", err
}

// PythonWithPydicom returns a Python interpreter that can import pydicom,
// preferring /usr/bin/python3 (Debian's python3-pydicom is installed for it,
// not for a pyenv python3 earlier in PATH).
func PythonWithPydicom(tb testing.TB) string {
	tb.Helper()
	var tried []string
	for _, cand := range []string{"/usr/bin/python3", "python3"} {
		p, err := exec.LookPath(cand)
		if err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		out, err := exec.CommandContext(ctx, p, "-c", "import pydicom").CombinedOutput()
		cancel()
		if err == nil {
			return p
		}
		tried = append(tried, fmt.Sprintf("%s: %v %s", p, err, strings.TrimSpace(lastLine(out))))
	}
	unavailable(tb, "no python3 that can import pydicom (install python3-pydicom; tried %s)", strings.Join(tried, "; "))
	return ""
}

func lastLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// PostgresDSN returns the DSN of the PostgreSQL test database
// (LIGHTBOX_TEST_PG, default DefaultPostgresDSN) after checking that a
// PostgreSQL server answers at its address. The check speaks just enough of
// the protocol (an SSLRequest) to tell PostgreSQL from another listener; it
// does not authenticate.
func PostgresDSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv("LIGHTBOX_TEST_PG")
	if dsn == "" {
		dsn = DefaultPostgresDSN
	}
	addr, err := postgresAddr(dsn)
	if err != nil {
		tb.Fatalf("testenv: LIGHTBOX_TEST_PG: %v", err)
		return ""
	}
	if err := pingPostgres(addr, 3*time.Second); err != nil {
		unavailable(tb, "PostgreSQL not answering at %s: %v", addr, err)
		return ""
	}
	return dsn
}

// postgresAddr extracts host:port from a URL DSN (postgres://...) or a
// key=value DSN ("host=... port=..."). A host starting with "/" is a
// Unix socket directory, as in libpq.
func postgresAddr(dsn string) (string, error) {
	host, port := "", ""
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse %q: %w", dsn, err)
		}
		host, port = u.Hostname(), u.Port()
		if h := u.Query().Get("host"); h != "" {
			host = h
		}
		if p := u.Query().Get("port"); p != "" {
			port = p
		}
	} else {
		for _, kv := range strings.Fields(dsn) {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				return "", fmt.Errorf("parse %q: %q is not key=value", dsn, kv)
			}
			switch k {
			case "host":
				host = strings.Trim(v, "'")
			case "port":
				port = strings.Trim(v, "'")
			}
		}
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if port == "" {
		port = "5432"
	}
	if strings.HasPrefix(host, "/") {
		return filepath.Join(host, ".s.PGSQL."+port), nil
	}
	return net.JoinHostPort(host, port), nil
}

// pingPostgres sends an SSLRequest and expects the one-byte answer 'S' or
// 'N' that only a PostgreSQL server gives.
func pingPostgres(addr string, timeout time.Duration) error {
	network := "tcp"
	if strings.HasPrefix(addr, "/") {
		network = "unix"
	}
	conn, err := net.DialTimeout(network, addr, timeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	// Length 8, request code 80877103 (1234<<16 | 5679).
	if _, err := conn.Write([]byte{0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f}); err != nil {
		return fmt.Errorf("send SSLRequest: %w", err)
	}
	var b [1]byte
	if _, err := conn.Read(b[:]); err != nil {
		return fmt.Errorf("read SSLRequest answer: %w", err)
	}
	if b[0] != 'S' && b[0] != 'N' {
		return fmt.Errorf("answer %q to SSLRequest: not PostgreSQL", b[0])
	}
	return nil
}
