package dimse

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// Interoperability with DCMTK: its SCUs against the Server, and the Client
// against its storescp.

func runTool(t *testing.T, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	// DCMTK leaves Nagle's algorithm on unless told: with the peer's
	// delayed ACKs that costs ~40 ms per message.
	cmd.Env = append(os.Environ(), "TCP_NODELAY=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func splitAddr(t *testing.T, addr string) (string, string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return host, port
}

func TestDCMTKEchoscu(t *testing.T) {
	echoscu := testenv.RequireTool(t, "echoscu")
	addr := serve(t, &Server{AETitle: "LIGHTBOX", RequireCalledAE: true})
	host, port := splitAddr(t, addr)
	out, err := runTool(t, 20*time.Second, echoscu, "-v", "-aet", "ECHOSCU", "-aec", "LIGHTBOX", host, port)
	if err != nil || !strings.Contains(out, "Received Echo Response (Success)") {
		t.Fatalf("echoscu: %v\n%s", err, out)
	}
	// A wrong called AE title is rejected with the right reason.
	out, err = runTool(t, 20*time.Second, echoscu, "-aet", "ECHOSCU", "-aec", "WRONG", host, port)
	if err == nil || !strings.Contains(out, "Called AE Title Not Recognized") {
		t.Fatalf("echoscu with a wrong called AE: %v\n%s", err, out)
	}
}

var storeRspRe = regexp.MustCompile(`Received Store Response \(([^)]*)\)`)

// storescuFlag is the storescu option proposing a transfer syntax along
// with the uncompressed ones; "" for the uncompressed syntaxes, which it
// always proposes. Syntaxes missing here cannot be sent by storescu 3.6.7.
var storescuFlag = map[string]string{
	dicom.ImplicitVRLittleEndian:         "",
	dicom.ExplicitVRLittleEndian:         "",
	dicom.ExplicitVRBigEndian:            "",
	dicom.DeflatedExplicitVRLittleEndian: "-xd",
	dicom.JPEGBaseline8Bit:               "-xy",
	dicom.JPEGExtended12Bit:              "-xx",
	dicom.JPEGLosslessSV1:                "-xs",
	dicom.JPEGLSLossless:                 "-xt",
	dicom.JPEGLSNearLossless:             "-xu",
	dicom.JPEG2000Lossless:               "-xv",
	dicom.JPEG2000:                       "-xw",
	dicom.RLELossless:                    "-xr",
	"1.2.840.10008.1.2.4.100":            "-xm",
	"1.2.840.10008.1.2.4.101":            "-xh",
	"1.2.840.10008.1.2.4.102":            "-xn",
	"1.2.840.10008.1.2.4.103":            "-xl",
}

// TestDCMTKStorescu sends the corpus to the Server with storescu, one run
// per category and transfer syntax: compressed and uncompressed syntaxes,
// the charset files, private SOP classes. storescu refuses broken files
// itself (the Client test sends them raw); the server keeps answering
// C-ECHO after every run.
func TestDCMTKStorescu(t *testing.T) {
	storescu := testenv.RequireTool(t, "storescu")
	echoscu := testenv.RequireTool(t, "echoscu")
	store := newDiskStore(t)
	addr := serve(t, &Server{Store: store})
	host, port := splitAddr(t, addr)

	// One storescu run per proposal flag: storescu proposes the flag's
	// syntax and the uncompressed ones for each file's SOP class (-R).
	byFlag := map[string][]string{}
	var flags []string
	category := map[string]string{}
	for _, f := range sample(corpus(t), "malformed", "charset", "transfer-syntax") {
		if f.category == "dicomdir" {
			continue
		}
		category[f.path] = f.category
		ts := ""
		if pf, err := dicom.ReadFile(f.path, dicom.ReadOptions{}); err == nil {
			ts = pf.TransferSyntax
		}
		flag, ok := storescuFlag[ts]
		if !ok && f.category != "malformed" {
			t.Logf("%s: storescu cannot propose %s; not sent", f.rel, ts)
			continue
		}
		if _, seen := byFlag[flag]; !seen {
			flags = append(flags, flag)
		}
		byFlag[flag] = append(byFlag[flag], f.path)
	}
	status := map[string]string{} // file -> storescu's reading of the response
	for _, flag := range flags {
		args := []string{"-v", "-aet", "STORESCU", "-aec", "LIGHTBOX", "-R", "-nh"}
		if flag != "" {
			args = append(args, flag)
		}
		args = append(append(args, host, port), byFlag[flag]...)
		out, _ := runTool(t, 60*time.Second, storescu, args...)
		cur := ""
		for _, line := range strings.Split(out, "\n") {
			if p, ok := strings.CutPrefix(line, "I: Sending file: "); ok {
				cur = p
			} else if m := storeRspRe.FindStringSubmatch(line); m != nil && cur != "" {
				status[cur] = m[1]
				cur = ""
			}
		}
		if t.Failed() {
			t.Logf("storescu %s output:\n%s", flag, out)
		}
	}
	ok := 0
	for _, flag := range flags {
		for _, p := range byFlag[flag] {
			st, sent := status[p]
			switch cat := category[p]; {
			case st == "Success":
				ok++
			case cat == "malformed" || cat == "edge-cases" || cat == "other-sop":
				// Deliberately odd: storescu skips most broken files itself.
			case !sent:
				t.Logf("%s: storescu did not send it", p)
			default:
				t.Errorf("%s: %s", p, st)
			}
		}
	}
	t.Logf("%d files sent by storescu, %d stored", len(status), ok)
	if int(store.n.Load()) != ok || ok < len(category)/2 {
		t.Errorf("storescu saw %d successes, the handler stored %d, of %d files", ok, store.n.Load(), len(category))
	}
	if out, err := runTool(t, 20*time.Second, echoscu, "-aec", "LIGHTBOX", host, port); err != nil {
		t.Fatalf("echoscu after storescu: %v\n%s", err, out)
	}
	// Charset files arrive with their Specific Character Set intact.
	for _, f := range corpus(t, "charset") {
		src, err := dicom.ReadFile(f.path, dicom.ReadOptions{})
		if err != nil || status[f.path] != "Success" {
			continue
		}
		dst, err := dicom.ReadFile(store.file(src.Dataset.String(dicom.TagSOPInstanceUID)), dicom.ReadOptions{})
		if err != nil {
			t.Errorf("%s: stored copy unreadable: %v", f.rel, err)
			continue
		}
		if a, b := src.Dataset.String(dicom.TagSpecificCharacterSet), dst.Dataset.String(dicom.TagSpecificCharacterSet); a != b {
			t.Errorf("%s: Specific Character Set %q became %q", f.rel, a, b)
		}
	}
}

func TestDCMTKStorescuRefusal(t *testing.T) {
	storescu := testenv.RequireTool(t, "storescu")
	// A handler that refuses with A700 and a comment: storescu reports it.
	addr := serve(t, &Server{Store: StoreHandlerFunc(func(ctx context.Context, req *StoreRequest, data io.Reader) Result {
		return Result{Status: StatusOutOfResources, ErrorComment: "disk full"}
	})})
	host, port := splitAddr(t, addr)
	f := corpus(t, "ct")[0]
	out, _ := runTool(t, 30*time.Second, storescu, "-v", "-R", host, port, f.path)
	if !strings.Contains(out, "Received Store Response (Refused: OutOfResources)") && !strings.Contains(out, "A700") {
		t.Fatalf("storescu output:\n%s", out)
	}
}

// TestClientAgainstStorescp runs DCMTK's storescp (which binds every
// interface) and the Client inside a private network namespace, re-running
// this test there.
func TestClientAgainstStorescp(t *testing.T) {
	storescp := testenv.RequireTool(t, "storescp")
	if os.Getenv("LIGHTBOX_NETNS_CHILD") == "" {
		runInNetns(t, "TestClientAgainstStorescp")
		return
	}
	dir := t.TempDir()
	port := "11112"
	if os.Getenv("LIGHTBOX_NETNS_CHILD") == "shared" {
		port = freePort(t)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, storescp, "-aet", "STORESCP", "+xa", "-pm", "+B", "-od", dir, port)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.Env = append(os.Environ(), "TCP_NODELAY=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("storescp output:\n%s", log.String())
		}
	}()
	addr := "127.0.0.1:" + port
	waitListening(t, addr)

	var instances []Instance
	byUID := map[string]corpusFile{}
	for _, f := range append(corpus(t, "transfer-syntax"), corpus(t, "charset", "ct")...) {
		inst, err := InstanceFromFile(f.path)
		if err != nil || byUID[inst.SOPInstanceUID].path != "" {
			continue
		}
		byUID[inst.SOPInstanceUID] = f
		instances = append(instances, inst)
	}
	sent := 0
	for _, chunk := range ChunkInstances(instances) {
		c := dialFor(t, addr, chunk, func(cfg *ClientConfig) { cfg.CalledAE = "STORESCP" })
		if err := c.Echo(context.Background()); err != nil {
			t.Fatalf("echo: %v", err)
		}
		for _, inst := range chunk {
			f := byUID[inst.SOPInstanceUID]
			res, err := c.StoreInstance(context.Background(), inst)
			if errors.Is(err, ErrNoContext) && !isNative(inst.TransferSyntax) {
				// storescp 3.6.7 knows neither HTJ2K, JPEG XL nor the retired
				// JPEG processes, and nothing here converts compressed data.
				t.Logf("%s: %v", f.rel, err)
				delete(byUID, inst.SOPInstanceUID)
				continue
			}
			if err != nil {
				t.Errorf("%s: %v", f.rel, err)
				continue
			}
			sent++
			if res.TransferSyntax != inst.TransferSyntax {
				t.Logf("%s: sent as %s instead of %s", f.rel, res.TransferSyntax, inst.TransferSyntax)
			}
		}
		if err := c.Release(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// storescp names files <modality-prefix>.<SOP Instance UID>; with +B
	// they hold the data set exactly as sent.
	entries, _ := os.ReadDir(dir)
	found := 0
	for _, e := range entries {
		name := e.Name()
		i := strings.IndexByte(name, '.')
		if i < 0 {
			continue
		}
		f, ok := byUID[name[i+1:]]
		if !ok {
			continue
		}
		found++
		got, gotTS := datasetBytes(t, filepath.Join(dir, name))
		want, wantTS := datasetBytes(t, f.path)
		if len(want)%2 == 1 {
			want = append(want, 0) // odd (deflated) data sets go out padded
		}
		if gotTS == wantTS && !needsRewrite(t, f.path) && !bytes.Equal(got, want) {
			t.Errorf("%s: storescp holds %d bytes, %d sent", f.rel, len(got), len(want))
		}
	}
	if found != sent || sent < len(instances)-8 {
		t.Errorf("storescp wrote %d instances, %d sent of %d", found, sent, len(instances))
	}
}

// runInNetns re-runs the named test of this binary in a private network
// namespace with only loopback up, where a server binding every interface
// is confined; without unshare privileges it runs the test in place,
// binding a free port.
func runInNetns(t *testing.T, name string) {
	unshare := testenv.RequireTool(t, "unshare")
	ip := testenv.RequireTool(t, "ip")
	args := []string{"-n", "sh", "-c", `"$0" link set lo up && exec "$@"`, ip, os.Args[0], "-test.run=^" + name + "$", "-test.v", "-test.count=1"}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, unshare, args...)
	cmd.Env = append(os.Environ(), "LIGHTBOX_NETNS_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil && !strings.Contains(string(out), "--- ") {
		t.Logf("unshare -n unavailable (%v: %s); running in the shared network namespace", err, strings.TrimSpace(string(out)))
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+name+"$", "-test.v", "-test.count=1")
		cmd.Env = append(os.Environ(), "LIGHTBOX_NETNS_CHILD=shared")
		out, err = cmd.CombinedOutput()
	}
	t.Logf("child run:\n%s", out)
	if err != nil || !strings.Contains(string(out), "--- PASS: "+name) {
		t.Fatalf("%s failed in its namespace: %v", name, err)
	}
}

func freePort(t *testing.T) string {
	return strconv.Itoa(testenv.FreePort(t))
}

func waitListening(t *testing.T, addr string) {
	deadline := time.Now().Add(10 * time.Second)
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
