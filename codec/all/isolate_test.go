package all

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/codec/isolate"
)

// workerEnv makes this test binary a codec worker (TestMain), as
// `lightbox codec-worker` is for the server.
const workerEnv = "LIGHTBOX_CODEC_ALL_TEST_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(workerEnv) == "1" {
		if err := isolate.Serve(os.Stdin, os.Stdout, isolate.ServeOptions{MemoryLimit: 4 << 30}); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestHostileFramesIsolated feeds the damaged frames of TestHostileFrames
// to the C-library codecs through codec/isolate's worker processes: each
// must give the same outcome as in process (the same error kind, or the
// same pixels), and no worker may be lost.
func TestHostileFramesIsolated(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	pool, err := isolate.NewPool(isolate.Options{Command: []string{exe}, Env: []string{workerEnv + "=1"}, Workers: 2, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	isolated := map[string]bool{}
	for _, ts := range isolate.CLibraryTransferSyntaxes {
		isolated[ts] = true
	}
	kinds := []error{codec.ErrCorrupt, codec.ErrUnsupported, codec.ErrTooLarge}
	kind := func(err error) error {
		for _, k := range kinds {
			if errors.Is(err, k) {
				return k
			}
		}
		return err
	}
	n := 0
	for _, hc := range hostileCases(t) {
		if !isolated[hc.ts] {
			continue
		}
		c, _ := codec.Lookup(hc.ts)
		for i, v := range hc.variants {
			if raceEnabled && i%4 != 0 {
				continue
			}
			n++
			want := make([]byte, hc.info.FrameSize())
			got := make([]byte, hc.info.FrameSize())
			wi, werr := c.Decode(want, v, hc.info)
			gi, gerr := pool.Decode(hc.ts, got, v, hc.info)
			switch {
			case (werr == nil) != (gerr == nil):
				t.Errorf("%s variant %d: in process %v, isolated %v", hc.rel, i, werr, gerr)
			case werr != nil && !errors.Is(gerr, kind(werr)) && !strings.Contains(gerr.Error(), werr.Error()):
				t.Errorf("%s variant %d: in process %v, isolated %v", hc.rel, i, werr, gerr)
			case werr == nil && (!bytes.Equal(want, got) || wi != gi):
				t.Errorf("%s variant %d: isolated decode differs", hc.rel, i)
			}
		}
	}
	started, crashed := pool.Stats()
	t.Logf("%d damaged frames through %d workers", n, started)
	if crashed != 0 || n == 0 {
		t.Errorf("%d frames, %d workers lost", n, crashed)
	}
}
