// Package orthanc runs a real Orthanc (Debian's `orthanc` package, 1.10)
// for Lightbox's interoperability tests and benchmarks: it writes a
// configuration into a temporary directory (AE title, DICOM and HTTP
// ports, storage and index directories, the DICOM modalities it knows),
// starts Orthanc, waits for its REST API, and offers the few REST calls
// the tests need (upload, C-MOVE from a modality, counts).
//
// Orthanc 1.10 binds every interface and cannot be told to bind 127.0.0.1
// alone: callers run it inside a private network namespace (unshare -n,
// only lo up), as the tests in internal/dimsesvc do by re-running
// themselves there.
package orthanc

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// Modality is a DICOM peer Orthanc knows (C-MOVE destination, allowed
// caller).
type Modality struct {
	AET  string
	Host string
	Port int
}

// Config describes the Orthanc to start. Zero ports are chosen free.
type Config struct {
	AET        string // default ORTHANC
	DicomPort  int
	HTTPPort   int
	Modalities map[string]Modality
	// TCPNoDelay starts Orthanc with TCP_NODELAY=1 in its environment
	// (DCMTK, under Orthanc's DICOM layer, otherwise leaves Nagle's
	// algorithm on: ~40 ms per exchange).
	TCPNoDelay bool
	// Extra settings merged into the configuration.
	Extra map[string]any
}

// Orthanc is a running Orthanc.
type Orthanc struct {
	URL       string
	AET       string
	DicomPort int
	Dir       string
	cmd       *exec.Cmd
	log       *lockedBuffer
	client    *http.Client
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Start runs Orthanc until the test ends; the test fails if it does not
// answer within a minute. Its log is printed when the test fails.
func Start(tb testing.TB, cfg Config) *Orthanc {
	tb.Helper()
	bin := testenv.RequireTool(tb, "Orthanc")
	if cfg.AET == "" {
		cfg.AET = "ORTHANC"
	}
	if cfg.DicomPort == 0 {
		cfg.DicomPort = testenv.FreePort(tb)
	}
	if cfg.HTTPPort == 0 {
		cfg.HTTPPort = testenv.FreePort(tb)
	}
	dir := tb.TempDir()
	mods := map[string]any{}
	for name, m := range cfg.Modalities {
		mods[name] = map[string]any{"AET": m.AET, "Host": m.Host, "Port": m.Port,
			"AllowEcho": true, "AllowFind": true, "AllowGet": true, "AllowMove": true, "AllowStore": true}
	}
	conf := map[string]any{
		"Name":                       "lightbox-test",
		"StorageDirectory":           filepath.Join(dir, "storage"),
		"IndexDirectory":             filepath.Join(dir, "index"),
		"TemporaryDirectory":         filepath.Join(dir, "tmp"),
		"DicomAet":                   cfg.AET,
		"DicomPort":                  cfg.DicomPort,
		"HttpPort":                   cfg.HTTPPort,
		"DicomModalities":            mods,
		"DicomCheckCalledAet":        false,
		"DicomAlwaysAllowEcho":       true,
		"DicomAlwaysAllowStore":      true,
		"DicomAlwaysAllowFind":       true,
		"DicomAlwaysAllowGet":        true,
		"DicomAlwaysAllowMove":       true,
		"UnknownSopClassAccepted":    true,
		"RemoteAccessAllowed":        false,
		"AuthenticationEnabled":      false,
		"HttpServerEnabled":          true,
		"OrthancExplorerEnabled":     false,
		"WebDavEnabled":              false,
		"Plugins":                    []string{},
		"LuaScripts":                 []string{},
		"StorageCompression":         false,
		"SaveJobs":                   false,
		"SynchronousCMove":           true,
		"DicomAssociationCloseDelay": 0,
		"StableAge":                  1,
	}
	for k, v := range cfg.Extra {
		conf[k] = v
	}
	b, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	confFile := filepath.Join(dir, "orthanc.json")
	if err := os.WriteFile(confFile, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	o := &Orthanc{URL: fmt.Sprintf("http://127.0.0.1:%d", cfg.HTTPPort), AET: cfg.AET, DicomPort: cfg.DicomPort, Dir: dir,
		log: &lockedBuffer{}, client: &http.Client{Timeout: 5 * time.Minute}}
	o.cmd = exec.Command(bin, "--no-jobs", confFile)
	o.cmd.Dir = dir
	o.cmd.Stdout, o.cmd.Stderr = o.log, o.log
	o.cmd.Env = os.Environ()
	if cfg.TCPNoDelay {
		o.cmd.Env = append(o.cmd.Env, "TCP_NODELAY=1")
	}
	if err := o.cmd.Start(); err != nil {
		tb.Fatalf("orthanc: %v", err)
	}
	tb.Cleanup(func() {
		o.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { o.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			o.cmd.Process.Kill()
			<-done
		}
		if tb.Failed() {
			tb.Logf("Orthanc log (tail):\n%s", tail(o.log.String(), 60))
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		var sys map[string]any
		if err := o.GetJSON("/system", &sys); err == nil {
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("orthanc did not answer on %s:\n%s", o.URL, tail(o.log.String(), 40))
		}
		time.Sleep(100 * time.Millisecond)
	}
	return o
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Log returns what Orthanc has printed so far.
func (o *Orthanc) Log() string { return o.log.String() }

// GetJSON decodes the answer to a GET on the REST API.
func (o *Orthanc) GetJSON(path string, v any) error {
	resp, err := o.client.Get(o.URL + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("orthanc: GET %s: %s: %s", path, resp.Status, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// PostJSON posts body (JSON-encoded unless []byte) and decodes the answer
// into v when v is not nil.
func (o *Orthanc) PostJSON(ctx context.Context, path string, body, v any) error {
	var r io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case []byte:
		r, ct = bytes.NewReader(b), "application/dicom"
	default:
		j, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.URL+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", ct)
	resp, err := o.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("orthanc: POST %s: %s: %s", path, resp.Status, b)
	}
	if v != nil {
		return json.Unmarshal(b, v)
	}
	return nil
}

// Upload stores DICOM files through the REST API.
func (o *Orthanc) Upload(ctx context.Context, paths ...string) error {
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := o.PostJSON(ctx, "/instances", b, nil); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}

// Move asks Orthanc, as C-MOVE SCU, to have the modality send a study to
// target (an AE title the modality knows).
func (o *Orthanc) Move(ctx context.Context, modality, level string, keys map[string]string, target string) error {
	body := map[string]any{"Level": level, "Resources": []map[string]string{keys}, "TargetAet": target, "Synchronous": true}
	return o.PostJSON(ctx, "/modalities/"+modality+"/move", body, nil)
}

// Statistics returns Orthanc's counts.
func (o *Orthanc) Statistics() (patients, studies, series, instances int, err error) {
	var st struct {
		CountPatients, CountStudies, CountSeries, CountInstances int
	}
	err = o.GetJSON("/statistics", &st)
	return st.CountPatients, st.CountStudies, st.CountSeries, st.CountInstances, err
}

// StudyInstances returns the number of instances Orthanc holds for a
// Study Instance UID (0 when it has no such study).
func (o *Orthanc) StudyInstances(ctx context.Context, studyUID string) (int, error) {
	var found []map[string]any
	if err := o.PostJSON(ctx, "/tools/lookup", []byte(studyUID), &found); err != nil {
		return 0, err
	}
	for _, f := range found {
		if f["Type"] == "Study" {
			var inst []any
			if err := o.GetJSON("/studies/"+f["ID"].(string)+"/instances", &inst); err != nil {
				return 0, err
			}
			return len(inst), nil
		}
	}
	return 0, nil
}
