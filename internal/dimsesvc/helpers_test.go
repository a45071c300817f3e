package dimsesvc_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/internal/config"
	"github.com/lightbox-pacs/lightbox/internal/server"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
	"github.com/lightbox-pacs/lightbox/ul"
)

// node is a Lightbox server running in-process on loopback.
type node struct {
	srv        *server.Server
	dir        string
	addr       string
	host, port string
	log        *syncBuffer
}

// syncBuffer collects the server's log for failing tests.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startLightbox runs a node with a temporary data directory, DIMSE on a
// free loopback port and no HTTP, after mod has adjusted the defaults.
func startLightbox(t testing.TB, mod func(*config.Config)) *node {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.HTTP.Addr = ""
	cfg.DICOM.Addr = "127.0.0.1:0"
	cfg.LogLevel = "debug"
	if mod != nil {
		mod(&cfg)
	}
	logs := &syncBuffer{}
	lg := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := server.New(context.Background(), cfg, lg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Bind(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	n := &node{srv: srv, dir: cfg.DataDir, addr: srv.Addrs()["dicom"], log: logs}
	n.host, n.port, _ = net.SplitHostPort(n.addr)
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server stopped with %v", err)
			}
		case <-time.After(40 * time.Second):
			t.Errorf("server did not stop")
		}
		if t.Failed() {
			t.Logf("server log (tail):\n%s", tail(logs.String(), 120))
		}
	})
	return n
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// runTool runs an external tool with TCP_NODELAY=1 (DCMTK otherwise
// leaves Nagle's algorithm on, ~40 ms per message) and returns its
// combined output.
func runTool(t testing.TB, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "TCP_NODELAY=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// corpusFiles lists the files of corpus categories (sub-directories walked).
func corpusFiles(t testing.TB, cats ...string) []string {
	t.Helper()
	root := testenv.CorpusDir(t)
	var out []string
	for _, c := range cats {
		filepath.WalkDir(filepath.Join(root, c), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".dcm") {
				out = append(out, p)
			}
			return nil
		})
	}
	if len(out) == 0 {
		t.Fatalf("no corpus files in %v", cats)
	}
	return out
}

// dial associates with the node for the given contexts.
func dial(t testing.TB, addr string, callingAE string, ctxs ...[]ul.ContextRQ) *dimse.Client {
	t.Helper()
	cfg := dimse.ClientConfig{CallingAE: callingAE, CalledAE: "LIGHTBOX", ResponseTimeout: 30 * time.Second}
	for _, c := range ctxs {
		cfg.Contexts = append(cfg.Contexts, c...)
	}
	c, err := dimse.Dial(context.Background(), addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readFile parses a corpus file's header.
func readFile(t testing.TB, path string) *dicom.File {
	t.Helper()
	f, err := dicom.ReadFile(path, dicom.ReadOptions{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

// waitListening waits until something accepts connections on addr.
func waitListening(t testing.TB, addr string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startProcess starts a long-running tool, stopped at cleanup; its output
// is logged if the test fails.
func startProcess(t testing.TB, dir string, env []string, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = append(append(os.Environ(), "TCP_NODELAY=1"), env...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(name), tail(out.String(), 80))
		}
	})
	return cmd
}

func atoi(t testing.TB, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func itoa(n int) string { return strconv.Itoa(n) }
