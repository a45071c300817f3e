package isolate

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"syscall"

	"github.com/lightbox-pacs/lightbox/codec"
)

// ServeOptions tune Serve.
type ServeOptions struct {
	// MemoryLimit caps the worker's address space (RLIMIT_AS) in bytes;
	// 0 leaves it alone.
	MemoryLimit int64
	// Limits bound the frames the worker accepts to decode (the parent
	// checks them first; this is a second line).
	Limits codec.Limits
	// BeforeDecode, when set, is called with each request before it is
	// decoded. Tests use it to make the worker crash or hang on demand.
	BeforeDecode func(ts string, src []byte)
}

// Serve is the worker's side: it reads requests from r until EOF and
// answers each on w, decoding with the codecs registered in this process.
// It returns nil at EOF and an error when the stream is broken. The
// worker's stdout must carry nothing else.
func Serve(r io.Reader, w io.Writer, opts ServeOptions) error {
	if opts.MemoryLimit > 0 {
		lim := &syscall.Rlimit{Cur: uint64(opts.MemoryLimit), Max: uint64(opts.MemoryLimit)}
		if err := syscall.Setrlimit(syscall.RLIMIT_AS, lim); err != nil {
			return fmt.Errorf("isolate: set memory limit: %w", err)
		}
		// Let the Go heap collect before it reaches the limit; the C
		// libraries' allocations fail with NULL beyond it.
		debug.SetMemoryLimit(opts.MemoryLimit / 2)
	}
	br := bufio.NewReaderSize(r, 256<<10)
	bw := bufio.NewWriterSize(w, 256<<10)
	for {
		err := readMagic(br)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		ts, err := readString16(br)
		if err != nil {
			return err
		}
		in, err := readInfo(br)
		if err != nil {
			return err
		}
		src, err := readBytes32(br, maxFrame)
		if err != nil {
			return err
		}
		if opts.BeforeDecode != nil {
			opts.BeforeDecode(ts, src)
		}
		out, dst, derr := decode(ts, src, in, opts.Limits)
		bw.WriteString(magic)
		bw.WriteByte(statusOf(derr))
		if derr != nil {
			writeBytes32(bw, []byte(derr.Error()))
		} else {
			writeInfo(bw, out)
			writeBytes32(bw, dst)
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("isolate: answer: %w", err)
		}
	}
}

// decode runs the registered codec on one frame.
func decode(ts string, src []byte, in codec.PixelInfo, limits codec.Limits) (codec.PixelInfo, []byte, error) {
	c, ok := codec.Lookup(ts)
	if !ok {
		return codec.PixelInfo{}, nil, fmt.Errorf("%w: no codec for %s in the worker", codec.ErrUnsupported, ts)
	}
	if _, ok := c.(*Codec); ok {
		return codec.PixelInfo{}, nil, fmt.Errorf("isolate: the worker's codec for %s is itself isolated", ts)
	}
	if err := limits.Check(in); err != nil {
		return codec.PixelInfo{}, nil, err
	}
	size := in.FrameSize()
	if size <= 0 || size > maxFrame {
		return codec.PixelInfo{}, nil, fmt.Errorf("%w: frame of %d bytes", codec.ErrInvalidPixelInfo, size)
	}
	dst := make([]byte, size)
	out, err := c.Decode(dst, src, in)
	return out, dst, err
}
