package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"

	"github.com/lightbox-pacs/lightbox/codec/isolate"
)

// isolateEnv turns the decoding of compressed frames in child processes
// on ("on", the default for serve) or off ("off").
const isolateEnv = "LIGHTBOX_ISOLATE_CODECS"

// defaultWorkerMemory is a codec worker's address space limit: room for a
// maximum-size frame (1 GiB, codec.DefaultMaxFrameBytes) and the
// decoder's own buffers; Go's runtime alone needs more than 1 GiB of
// address space.
const defaultWorkerMemory = 4 << 30

func init() {
	register("codec-worker", Command{
		Summary: "decode compressed frames for serve over stdin/stdout (started by serve; not for interactive use)",
		Run:     runCodecWorker,
	})
}

func runCodecWorker(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("codec-worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mem := fs.Int64("memory-limit", defaultWorkerMemory, "address space limit of this process in bytes (RLIMIT_AS); 0 for none")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	// The protocol gets its own descriptor; file descriptor 1 becomes
	// stderr, so that a C library printing to stdout cannot corrupt it.
	if f, ok := stdout.(*os.File); ok && f.Fd() == 1 {
		fd, err := syscall.Dup(1)
		if err == nil {
			err = syscall.Dup3(2, 1, 0)
		}
		if err != nil {
			fmt.Fprintln(stderr, "lightbox codec-worker:", err)
			return 1
		}
		stdout = os.NewFile(uintptr(fd), "codec-worker-protocol")
	}
	if err := isolate.Serve(os.Stdin, stdout, isolate.ServeOptions{MemoryLimit: *mem}); err != nil {
		fmt.Fprintln(stderr, "lightbox codec-worker:", err)
		return 1
	}
	return 0
}

// startCodecIsolation makes the codecs of the C libraries decode in
// `lightbox codec-worker` children (codec/isolate), so that a crash or an
// endless loop in one of them costs a frame, not the server. It is on
// unless LIGHTBOX_ISOLATE_CODECS=off, and off in a Go test binary (which
// cannot be re-executed as a worker). stop restores in-process decoding
// and ends the children.
func startCodecIsolation(log *slog.Logger) (stop func(), err error) {
	mode := os.Getenv(isolateEnv)
	switch mode {
	case "", "on":
	case "off":
		log.Warn("compressed frames are decoded in process: a crash in a codec library takes the server down", "env", isolateEnv)
		return func() {}, nil
	default:
		return nil, fmt.Errorf("%s=%q: want on or off", isolateEnv, mode)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("codec isolation: %w", err)
	}
	if strings.HasSuffix(exe, ".test") {
		return func() {}, nil
	}
	pool, err := isolate.NewPool(isolate.Options{Command: []string{exe, "codec-worker"}, Logger: log})
	if err != nil {
		return nil, err
	}
	restore := isolate.Install(pool, isolate.CLibraryTransferSyntaxes...)
	log.Info("compressed frames are decoded in codec-worker processes", "env", isolateEnv)
	return func() {
		restore()
		pool.Close()
	}, nil
}
