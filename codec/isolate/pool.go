package isolate

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"time"

	"github.com/lightbox-pacs/lightbox/codec"
)

// Options configure a Pool.
type Options struct {
	// Command is the worker's argv: a program that runs Serve on its
	// stdin and stdout, e.g. {"/usr/bin/lightbox", "codec-worker"}.
	Command []string
	// Env is added to the worker's environment (the parent's is
	// inherited).
	Env []string
	// Workers is the most children decoding at once; 0 means GOMAXPROCS.
	Workers int
	// Timeout bounds one frame's decode; the child is killed after it.
	// 0 means 60 s.
	Timeout time.Duration
	// Logger receives worker crashes and timeouts; nil discards them.
	Logger *slog.Logger
}

// ErrClosed: the pool has been closed.
var ErrClosed = errors.New("isolate: pool closed")

// Pool runs frames through child processes. It is safe for concurrent
// use.
type Pool struct {
	opts Options
	log  *slog.Logger
	sem  chan struct{}

	mu     sync.Mutex
	idle   []*worker
	closed bool
	// started and crashed count children started and lost (crash,
	// timeout or broken pipe); see Stats.
	started, crashed int
}

// NewPool returns a pool; children start on demand.
func NewPool(opts Options) (*Pool, error) {
	if len(opts.Command) == 0 {
		return nil, errors.New("isolate: no worker command")
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Pool{opts: opts, log: log.With("component", "codec-isolate"), sem: make(chan struct{}, opts.Workers)}, nil
}

// worker is one child process.
type worker struct {
	cmd    *exec.Cmd
	in     io.WriteCloser
	w      *bufio.Writer
	r      *bufio.Reader
	stderr *tailBuffer
	done   chan struct{} // closed when the process has been waited for
	err    error         // Wait's result, after done
}

func (p *Pool) start() (*worker, error) {
	cmd := exec.Command(p.opts.Command[0], p.opts.Command[1:]...)
	cmd.Env = append(os.Environ(), p.opts.Env...)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("isolate: start worker: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("isolate: start worker: %w", err)
	}
	tail := &tailBuffer{max: 1024}
	cmd.Stderr = tail
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("isolate: start worker %s: %w", p.opts.Command[0], err)
	}
	w := &worker{cmd: cmd, in: in, w: bufio.NewWriterSize(in, 256<<10), r: bufio.NewReaderSize(out, 256<<10),
		stderr: tail, done: make(chan struct{})}
	go func() {
		w.err = cmd.Wait()
		close(w.done)
	}()
	p.mu.Lock()
	p.started++
	p.mu.Unlock()
	return w, nil
}

// kill stops the child and waits for it.
func (w *worker) kill() {
	w.cmd.Process.Kill()
	w.in.Close()
	<-w.done
}

// get returns an idle worker or starts one; the caller holds a sem slot.
func (p *Pool) get() (*worker, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	for n := len(p.idle); n > 0; n = len(p.idle) {
		w := p.idle[n-1]
		p.idle = p.idle[:n-1]
		select {
		case <-w.done: // died while idle (killed from outside): not this frame's fault
			p.crashed++
			p.log.Warn("idle codec worker had died", "state", w.cmd.ProcessState.String(), "stderr", w.stderr.String())
			w.in.Close()
			continue
		default:
		}
		p.mu.Unlock()
		return w, nil
	}
	p.mu.Unlock()
	return p.start()
}

func (p *Pool) put(w *worker) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		go w.kill()
		return
	}
	p.idle = append(p.idle, w)
}

// Decode decodes one frame of transfer syntax ts in a child process, with
// the contract of codec.Codec.Decode: dst has exactly in.FrameSize()
// bytes. A child that crashes or times out gives an error wrapping
// codec.ErrCorrupt.
func (p *Pool) Decode(ts string, dst, src []byte, in codec.PixelInfo) (codec.PixelInfo, error) {
	if int64(len(dst)) != in.FrameSize() {
		return codec.PixelInfo{}, fmt.Errorf("isolate: output buffer %d bytes, frame needs %d", len(dst), in.FrameSize())
	}
	p.sem <- struct{}{}
	defer func() { <-p.sem }()
	w, err := p.get()
	if err != nil {
		return codec.PixelInfo{}, err
	}
	timedOut := false
	var tmu sync.Mutex
	timer := time.AfterFunc(p.opts.Timeout, func() {
		tmu.Lock()
		timedOut = true
		tmu.Unlock()
		w.cmd.Process.Kill()
	})
	out, status, payload, err := w.roundTrip(ts, src, in, int64(len(dst)))
	stopped := timer.Stop()
	if err != nil || !stopped {
		// The child is gone or in an unknown state: never reuse it.
		w.kill()
		tmu.Lock()
		to := timedOut
		tmu.Unlock()
		p.mu.Lock()
		p.crashed++
		p.mu.Unlock()
		state := "broken pipe"
		if w.cmd.ProcessState != nil {
			state = w.cmd.ProcessState.String()
		}
		if to {
			p.log.Warn("codec worker timed out; killed", "transfer_syntax", ts, "timeout", p.opts.Timeout, "rows", in.Rows, "columns", in.Columns)
			return codec.PixelInfo{}, fmt.Errorf("%w: decoding a %s frame took longer than %s; the decoder process was killed",
				codec.ErrCorrupt, ts, p.opts.Timeout)
		}
		p.log.Warn("codec worker died", "transfer_syntax", ts, "state", state, "err", err, "stderr", w.stderr.String())
		return codec.PixelInfo{}, fmt.Errorf("%w: the decoder process died on a %s frame (%s)", codec.ErrCorrupt, ts, state)
	}
	p.put(w)
	if status != statusOK {
		return codec.PixelInfo{}, errorOf(status, string(payload))
	}
	if len(payload) != len(dst) || out.FrameSize() != int64(len(dst)) {
		// A worker's description is believed only when it fits the
		// buffer: callers index the samples by it.
		return codec.PixelInfo{}, fmt.Errorf("%w: worker returned %d bytes described as %d for a %d-byte frame",
			codec.ErrCorrupt, len(payload), out.FrameSize(), len(dst))
	}
	copy(dst, payload)
	return out, nil
}

// roundTrip sends one request and reads its response.
func (w *worker) roundTrip(ts string, src []byte, in codec.PixelInfo, frameSize int64) (codec.PixelInfo, byte, []byte, error) {
	w.w.WriteString(magic)
	writeString16(w.w, ts)
	writeInfo(w.w, in)
	writeBytes32(w.w, src)
	if err := w.w.Flush(); err != nil {
		return codec.PixelInfo{}, 0, nil, err
	}
	return readResponse(w.r, frameSize)
}

// readResponse reads one response: the decoded frame's description and
// samples (at most frameSize bytes), or a status and message.
func readResponse(r *bufio.Reader, frameSize int64) (codec.PixelInfo, byte, []byte, error) {
	if err := readMagic(r); err != nil {
		return codec.PixelInfo{}, 0, nil, err
	}
	status, err := r.ReadByte()
	if err != nil {
		return codec.PixelInfo{}, 0, nil, err
	}
	if status != statusOK {
		msg, err := readBytes32(r, 64<<10)
		return codec.PixelInfo{}, status, msg, err
	}
	out, err := readInfo(r)
	if err != nil {
		return codec.PixelInfo{}, 0, nil, err
	}
	b, err := readBytes32(r, frameSize)
	return out, status, b, err
}

// Close kills the idle children; workers busy decoding are killed when
// they finish. Decode after Close fails with ErrClosed.
func (p *Pool) Close() error {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, w := range idle {
		w.kill()
	}
	return nil
}

// IdlePIDs returns the process IDs of the idle children.
func (p *Pool) IdlePIDs() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var pids []int
	for _, w := range p.idle {
		pids = append(pids, w.cmd.Process.Pid)
	}
	return pids
}

// Stats returns the number of children started and lost so far.
func (p *Pool) Stats() (started, crashed int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.started, p.crashed
}

// tailBuffer keeps the last max bytes written (a child's stderr).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.b))
}

// Codec is a registered codec whose decoding goes through a Pool.
type Codec struct {
	inner codec.Codec
	pool  *Pool
}

// TransferSyntax returns the wrapped codec's transfer syntax.
func (c *Codec) TransferSyntax() string { return c.inner.TransferSyntax() }

// Decode decodes in a child process.
func (c *Codec) Decode(dst, src []byte, in codec.PixelInfo) (codec.PixelInfo, error) {
	return c.pool.Decode(c.inner.TransferSyntax(), dst, src, in)
}

// Encoder is an isolated codec that also encodes, in process.
type Encoder struct {
	Codec
	enc codec.Encoder
}

// Encode encodes in process: the input is decoded pixels, not untrusted
// compressed data.
func (e *Encoder) Encode(src []byte, in codec.PixelInfo, opts codec.EncodeOptions) ([]byte, codec.PixelInfo, error) {
	return e.enc.Encode(src, in, opts)
}

// Lossy reports the wrapped encoder's.
func (e *Encoder) Lossy() bool { return e.enc.Lossy() }

// Method returns the wrapped encoder's.
func (e *Encoder) Method() string { return e.enc.Method() }

// Install replaces the registered codecs of the transfer syntaxes tss
// (those not registered are skipped) by ones that decode through p, and
// returns a function that restores the originals. Call it at start-up,
// before data sets are opened.
func Install(p *Pool, tss ...string) (restore func()) {
	var olds []codec.Codec
	for _, ts := range tss {
		c, ok := codec.Lookup(ts)
		if !ok {
			continue
		}
		if _, already := c.(*Codec); already {
			continue
		}
		if _, already := c.(*Encoder); already {
			continue
		}
		var wrapped codec.Codec = &Codec{inner: c, pool: p}
		if e, ok := c.(codec.Encoder); ok {
			wrapped = &Encoder{Codec: Codec{inner: c, pool: p}, enc: e}
		}
		olds = append(olds, codec.Replace(wrapped))
	}
	return func() {
		for _, c := range olds {
			codec.Replace(c)
		}
	}
}

// CLibraryTransferSyntaxes are the syntaxes whose decoders are C
// libraries (codec/jpeg, jpegls, jpeg2000, jpegxl): the ones worth
// isolating. RLE and Deflate are decoded in Go.
var CLibraryTransferSyntaxes = []string{
	"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.53", "1.2.840.10008.1.2.4.55",
	"1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70",
	"1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81",
	"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91",
	"1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203",
	"1.2.840.10008.1.2.4.110", "1.2.840.10008.1.2.4.111", "1.2.840.10008.1.2.4.112",
}
