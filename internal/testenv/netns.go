package testenv

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// InNetns reports whether the calling test should run its body here. The
// first call re-runs the same test of this binary inside a private network
// namespace with only loopback up (`unshare -n`), where peers that bind
// every interface (Orthanc, DCMTK's storescp) are confined, checks that it
// passed, and returns false; in that child (LIGHTBOX_NETNS_CHILD set) it
// returns true. Without the privilege to unshare, the test runs in place
// (true), and says so in the log.
func InNetns(t *testing.T) bool {
	t.Helper()
	if os.Getenv("LIGHTBOX_NETNS_CHILD") != "" {
		return true
	}
	unshare := RequireTool(t, "unshare")
	ip := RequireTool(t, "ip")
	name := t.Name()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, unshare, "-n", "sh", "-c", `"$0" link set lo up && exec "$@"`, ip,
		os.Args[0], "-test.run=^"+name+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "LIGHTBOX_NETNS_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil && !strings.Contains(string(out), "--- ") {
		t.Logf("unshare -n unavailable (%v: %s); running in the shared network namespace", err, strings.TrimSpace(string(out)))
		return true
	}
	if err != nil || !strings.Contains(string(out), "--- PASS: "+name) {
		t.Fatalf("%s failed in its network namespace: %v\n%s", name, err, out)
	}
	t.Logf("child run in a private network namespace:\n%s", lastLines(string(out), 40))
	return false
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// FreePort returns a TCP port free on loopback now (for a peer that must
// be told its port before it starts).
func FreePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
