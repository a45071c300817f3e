package isolate_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/lightbox-pacs/lightbox/codec"
	_ "github.com/lightbox-pacs/lightbox/codec/all"
	"github.com/lightbox-pacs/lightbox/codec/isolate"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// workerEnv makes this test binary a codec worker (TestMain).
const workerEnv = "LIGHTBOX_ISOLATE_TEST_WORKER"

// Frames starting with these bytes make the test worker misbehave the way
// a buggy C decoder would.
var (
	triggerSegv  = []byte("LIGHTBOX-TEST-SEGV")  // invalid memory access, crash with a signal
	triggerKill  = []byte("LIGHTBOX-TEST-KILL")  // SIGKILL, as the OOM killer does
	triggerHang  = []byte("LIGHTBOX-TEST-HANG")  // endless loop
	triggerAlloc = []byte("LIGHTBOX-TEST-ALLOC") // allocation past the memory limit
)

var sink []byte

func testHook(ts string, src []byte) {
	switch {
	case bytes.HasPrefix(src, triggerSegv):
		debug.SetTraceback("crash") // die by the signal, as a C fault does
		var p *int
		*(*int)(unsafe.Pointer(uintptr(unsafe.Pointer(p)) + 8)) = 1
	case bytes.HasPrefix(src, triggerKill):
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
	case bytes.HasPrefix(src, triggerHang):
		for {
			time.Sleep(time.Hour)
		}
	case bytes.HasPrefix(src, triggerAlloc):
		sink = make([]byte, 8<<30)
		for i := 0; i < len(sink); i += 4096 {
			sink[i] = 1
		}
	}
}

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		err := isolate.Serve(os.Stdin, os.Stdout, isolate.ServeOptions{MemoryLimit: 4 << 30, BeforeDecode: testHook})
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func newPool(t testing.TB, timeout time.Duration) *isolate.Pool {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p, err := isolate.NewPool(isolate.Options{Command: []string{exe}, Env: []string{workerEnv + "=1"}, Workers: 2, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// openCorpus opens a corpus file's pixels.
func openCorpus(t testing.TB, rel string) (*codec.Pixels, *os.File) {
	t.Helper()
	path := filepath.Join(testenv.CorpusDir(t), rel)
	f, err := dicom.ReadFile(path, dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	px, err := codec.Open(f.Dataset, f.TransferSyntax, src, codec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return px, src
}

// isolatedFiles: one file per C library.
var isolatedFiles = []string{
	"transfer-syntax/ge-ct-jpeg-lossless-sv1-70.dcm", // IJG 16
	"transfer-syntax/ge-ct-jpeg-baseline-50.dcm",     // libjpeg-turbo
	"transfer-syntax/ge-ct-jpegls-lossless-80.dcm",   // CharLS
	"transfer-syntax/ge-ct-j2k-lossless-90.dcm",      // OpenJPEG
	"transfer-syntax/htj2k-lossless-rgb-201.dcm",     // OpenJPEG HTJ2K
	"transfer-syntax/jpegxl-ge-us-27f-111.dcm",       // libjxl
}

// TestInstalledDecodesLikeInProcess: with Install, codec.Open and
// Pixels.Frame decode in the workers and give exactly what the in-process
// codecs give.
func TestInstalledDecodesLikeInProcess(t *testing.T) {
	want := map[string][]byte{}
	for _, rel := range isolatedFiles {
		px, _ := openCorpus(t, rel)
		b, _, err := px.Frame(px.NumFrames() - 1)
		if err != nil {
			t.Fatalf("%s in process: %v", rel, err)
		}
		want[rel] = b
	}
	pool := newPool(t, time.Minute)
	restore := isolate.Install(pool, isolate.CLibraryTransferSyntaxes...)
	defer restore()
	if c, _ := codec.Lookup(dicom.JPEGLSLossless); c == nil {
		t.Fatal("no codec after Install")
	} else if _, ok := c.(*isolate.Encoder); !ok {
		t.Fatalf("JPEG-LS codec after Install is %T", c)
	}
	if _, ok := codec.LookupEncoder(dicom.JPEGLSLossless); !ok {
		t.Fatal("Install lost the JPEG-LS encoder")
	}
	for _, rel := range isolatedFiles {
		px, _ := openCorpus(t, rel)
		got, _, err := px.Frame(px.NumFrames() - 1)
		if err != nil {
			t.Fatalf("%s isolated: %v", rel, err)
		}
		if !bytes.Equal(got, want[rel]) {
			t.Errorf("%s: isolated decode differs from in-process decode", rel)
		}
	}
	if started, crashed := pool.Stats(); started == 0 || crashed != 0 {
		t.Errorf("pool started %d workers, lost %d", started, crashed)
	}
	// Corrupt input: the worker's codec error comes back with its kind.
	px, _ := openCorpus(t, "transfer-syntax/ge-ct-jpegls-lossless-80.dcm")
	c, _ := codec.Lookup(dicom.JPEGLSLossless)
	dst := make([]byte, px.Info.FrameSize())
	if _, err := c.Decode(dst, []byte{0xFF, 0xD8, 0xFF, 0xF7, 0, 3}, px.Info); !errors.Is(err, codec.ErrCorrupt) {
		t.Errorf("corrupt JPEG-LS frame: %v, want ErrCorrupt", err)
	}
}

// TestWorkerCrashIsAnError makes the worker die in each way a C decoder
// can (a fault, SIGKILL, an endless loop, unbounded allocation) and checks
// that the caller gets an error, the pool replaces the worker, and the
// next frames decode correctly, also while other frames are decoding.
func TestWorkerCrashIsAnError(t *testing.T) {
	pool := newPool(t, 2*time.Second)
	px, _ := openCorpus(t, "transfer-syntax/ge-ct-jpegls-lossless-80.dcm")
	want, _, err := px.Frame(0)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := px.RawFrame(0)
	if err != nil {
		t.Fatal(err)
	}
	good := func() error {
		dst := make([]byte, px.Info.FrameSize())
		if _, err := pool.Decode(dicom.JPEGLSLossless, dst, raw, px.Info); err != nil {
			return err
		}
		if !bytes.Equal(dst, want) {
			return errors.New("isolated decode differs")
		}
		return nil
	}
	for _, c := range []struct {
		name    string
		trigger []byte
		msg     string
	}{
		{"segv", triggerSegv, "died"},
		{"kill", triggerKill, "signal: killed"},
		{"hang", triggerHang, "took longer than 2s"},
		{"alloc", triggerAlloc, "died"},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Good frames decode concurrently with the crashing one.
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- good()
				}()
			}
			dst := make([]byte, px.Info.FrameSize())
			start := time.Now()
			_, err := pool.Decode(dicom.JPEGLSLossless, dst, append(append([]byte{}, c.trigger...), raw...), px.Info)
			if err == nil || !errors.Is(err, codec.ErrCorrupt) || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("crashing frame: %v, want ErrCorrupt mentioning %q", err, c.msg)
			}
			t.Logf("crashing frame answered in %v: %v", time.Since(start).Round(time.Millisecond), err)
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Errorf("good frame beside the crash: %v", err)
				}
			}
			if err := good(); err != nil {
				t.Errorf("good frame after the crash: %v", err)
			}
		})
	}
	started, crashed := pool.Stats()
	if crashed != 4 || started < 5 {
		t.Errorf("pool started %d workers, lost %d; want 4 lost", started, crashed)
	}
}

// TestIdleWorkerKilled: a worker killed from outside while idle is not
// handed the next frame; that frame decodes in a fresh worker.
func TestIdleWorkerKilled(t *testing.T) {
	pool := newPool(t, time.Minute)
	px, _ := openCorpus(t, "transfer-syntax/ge-ct-jpegls-lossless-80.dcm")
	raw, _ := px.RawFrame(0)
	want, _, err := px.Frame(0)
	if err != nil {
		t.Fatal(err)
	}
	dst := make([]byte, px.Info.FrameSize())
	if _, err := pool.Decode(dicom.JPEGLSLossless, dst, raw, px.Info); err != nil {
		t.Fatal(err)
	}
	pids := pool.IdlePIDs()
	if len(pids) != 1 {
		t.Fatalf("idle workers %v", pids)
	}
	syscall.Kill(pids[0], syscall.SIGSEGV)
	time.Sleep(200 * time.Millisecond)
	clear(dst)
	if _, err := pool.Decode(dicom.JPEGLSLossless, dst, raw, px.Info); err != nil || !bytes.Equal(dst, want) {
		t.Fatalf("frame after the idle worker was killed: %v", err)
	}
	if started, crashed := pool.Stats(); started != 2 || crashed != 1 {
		t.Errorf("started %d, lost %d; want 2 and 1", started, crashed)
	}
}

// TestClosedPool: Decode after Close fails with ErrClosed.
func TestClosedPool(t *testing.T) {
	pool := newPool(t, time.Minute)
	pool.Close()
	px, _ := openCorpus(t, "transfer-syntax/ge-ct-jpegls-lossless-80.dcm")
	raw, _ := px.RawFrame(0)
	if _, err := pool.Decode(dicom.JPEGLSLossless, make([]byte, px.Info.FrameSize()), raw, px.Info); !errors.Is(err, isolate.ErrClosed) {
		t.Errorf("Decode after Close: %v", err)
	}
}

// TestNoWorkerProgram: a pool whose worker cannot start answers errors.
func TestNoWorkerProgram(t *testing.T) {
	pool, err := isolate.NewPool(isolate.Options{Command: []string{filepath.Join(t.TempDir(), "missing")}})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	in := codec.PixelInfo{Rows: 2, Columns: 2, SamplesPerPixel: 1, BitsAllocated: 8, BitsStored: 8, HighBit: 7, NumberOfFrames: 1, PhotometricInterpretation: "MONOCHROME2"}
	if _, err := pool.Decode(dicom.JPEGLSLossless, make([]byte, 4), []byte{1, 2}, in); err == nil {
		t.Error("no error without a worker program")
	}
}

// BenchmarkIsolatedDecode compares decoding a 512x512 CT frame in process
// with decoding it in a worker (the overhead is the two pipe copies). It
// reports cpu-ms/op, the CPU time of this process plus the worker's
// (from /proc), which unlike ns/op does not depend on the share of a busy
// machine each process gets.
func BenchmarkIsolatedDecode(b *testing.B) {
	for _, rel := range []string{"transfer-syntax/ge-ct-jpegls-lossless-80.dcm", "transfer-syntax/ge-ct-jpeg-baseline-50.dcm"} {
		px, _ := openCorpus(b, rel)
		raw, err := px.RawFrame(0)
		if err != nil {
			b.Fatal(err)
		}
		c, _ := codec.Lookup(px.TransferSyntax)
		dst := make([]byte, px.Info.FrameSize())
		b.Run(filepath.Base(rel)+"/in-process", func(b *testing.B) {
			start := cpuTime(b, 0)
			for b.Loop() {
				if _, err := c.Decode(dst, raw, px.Info); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((cpuTime(b, 0)-start).Seconds()*1000/float64(b.N), "cpu-ms/op")
		})
		pool := newPool(b, time.Minute)
		if _, err := pool.Decode(px.TransferSyntax, dst, raw, px.Info); err != nil { // start the worker
			b.Fatal(err)
		}
		b.Run(filepath.Base(rel)+"/isolated", func(b *testing.B) {
			pids := pool.IdlePIDs()
			start := cpuTime(b, 0)
			for _, pid := range pids {
				start += cpuTime(b, pid)
			}
			for b.Loop() {
				if _, err := pool.Decode(px.TransferSyntax, dst, raw, px.Info); err != nil {
					b.Fatal(err)
				}
			}
			end := cpuTime(b, 0)
			for _, pid := range pool.IdlePIDs() {
				end += cpuTime(b, pid)
			}
			b.ReportMetric((end-start).Seconds()*1000/float64(b.N), "cpu-ms/op")
		})
	}
}

// cpuTime returns the user+system CPU time of process pid (0: this one)
// from /proc/PID/stat.
func cpuTime(b *testing.B, pid int) time.Duration {
	path := "/proc/self/stat"
	if pid != 0 {
		path = "/proc/" + strconv.Itoa(pid) + "/stat"
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name (which may hold spaces): state is 3,
	// utime 14, stime 15, in clock ticks (100 per second on Linux).
	f := strings.Fields(string(data[bytes.LastIndexByte(data, ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
