package ul

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// MaxCommandLength bounds the command set of one DIMSE message. Command
// sets hold a few dozen short elements; anything near this is an attack.
const MaxCommandLength = 64 << 10

// inbound is the read side's position in the P-DATA stream.
type inbound struct {
	pduLeft uint32 // bytes of the current P-DATA-TF not yet consumed
	pdvLeft uint32 // value bytes of the current PDV not yet consumed
	pdvID   byte   // context of the current PDV
	pdvCmd  bool   // the current PDV is a command fragment
	pdvLast bool   // the current PDV is the last fragment
	// msgOpen: a command has been read and data set fragments on msgID may
	// follow; cleared by the data set's last fragment.
	msgOpen bool
	msgID   byte
	// reading: a data reader of the open message has started consuming it.
	reading bool
	// gen counts messages, so that a stale data reader reads nothing.
	gen uint64
}

// ReadCommand reads the next DIMSE command set and returns its
// presentation context ID and bytes. A data set the previous message
// carried and the caller did not read is discarded first.
//
// wait bounds the time until the first byte of the message arrives (0:
// no bound); when it passes, ReadCommand returns an error wrapping
// ErrIdleTimeout and the association is intact. ctx interrupts that wait
// the same way (returning ctx.Err()); once bytes have arrived, ctx or a
// stall longer than the read timeout aborts the association.
//
// A-RELEASE-RQ from the peer is answered, and ReadCommand returns
// ErrReleased; A-ABORT yields an *AbortError; a protocol violation makes
// this side abort and returns the *AbortError it sent.
func (a *Association) ReadCommand(ctx context.Context, wait time.Duration) (byte, []byte, error) {
	if err := a.Err(); err != nil {
		return 0, nil, err
	}
	if ctx.Done() != nil {
		fired := make(chan struct{})
		stop := context.AfterFunc(ctx, func() {
			a.interrupt.Store(true)
			a.conn.SetReadDeadline(aLongTimeAgo)
			close(fired)
		})
		defer func() {
			if !stop() {
				<-fired
				a.interrupt.Store(false)
			}
		}()
	}
	in := &a.in
	if in.msgOpen && in.reading {
		if err := a.drainData(); err != nil {
			return 0, nil, err
		}
	}
	var cmd []byte
	first := true
	for {
		{
			if err := a.nextPDV(first, wait); err != nil {
				if first && (errors.Is(err, ErrIdleTimeout) || errors.Is(err, errInterrupted)) {
					if errors.Is(err, errInterrupted) {
						return 0, nil, ctx.Err()
					}
					return 0, nil, err
				}
				return 0, nil, a.readFailed(ctx, err)
			}
		}
		if !in.pdvCmd {
			if !in.msgOpen || in.pdvID != in.msgID || len(cmd) > 0 {
				return 0, nil, a.abortProvider(AbortUnexpectedPDUParameter,
					fmt.Errorf("%w: data set fragment on context %d where a command was expected", ErrProtocol, in.pdvID))
			}
			// The rest of a data set nobody read: discard it.
			if err := a.skipPDV(); err != nil {
				return 0, nil, a.readFailed(ctx, err)
			}
			if in.pdvLast {
				in.msgOpen = false
				first = true // between messages again: the idle wait applies
			} else {
				first = false
			}
			continue
		}
		first = false
		if len(cmd) > 0 && in.pdvID != in.msgID {
			return 0, nil, a.abortProvider(AbortUnexpectedPDUParameter,
				fmt.Errorf("%w: command fragments on contexts %d and %d", ErrProtocol, in.msgID, in.pdvID))
		}
		in.msgID = in.pdvID
		in.msgOpen = false
		if len(cmd)+int(in.pdvLeft) > MaxCommandLength {
			return 0, nil, a.abortProvider(AbortInvalidPDUParameter,
				fmt.Errorf("%w: command set longer than %d bytes", ErrProtocol, MaxCommandLength))
		}
		start := len(cmd)
		cmd = append(cmd, make([]byte, in.pdvLeft)...)
		if _, err := io.ReadFull(a.br, cmd[start:]); err != nil {
			return 0, nil, a.readFailed(ctx, unexpectedEOF(err))
		}
		in.pdvLeft = 0
		if in.pdvLast {
			in.msgOpen, in.reading = true, false
			in.gen++
			return in.msgID, cmd, nil
		}
	}
}

// readFailed ends the association after a read error in the middle of
// the stream, where the position in it is lost.
func (a *Association) readFailed(ctx context.Context, err error) error {
	if ab := (*AbortError)(nil); errors.As(err, &ab) {
		return err
	}
	if errors.Is(err, ErrReleased) {
		return err
	}
	if errors.Is(err, errInterrupted) && ctx != nil && ctx.Err() != nil {
		return a.abortLocal(AbortSourceUser, AbortNotSpecified, ctx.Err())
	}
	if prev := a.Err(); prev != nil {
		return prev
	}
	err = readErr("", err)
	if errors.Is(err, ErrConnectionLost) {
		a.closeConn(err)
		return err
	}
	return a.abortProvider(AbortNotSpecified, err)
}

// nextPDV reads the next PDV header, and first the next PDU header when
// the current P-DATA-TF is used up. With first set, wait bounds the time
// until the PDU's first byte arrives. Control PDUs (release, abort) are
// handled here.
func (a *Association) nextPDV(first bool, wait time.Duration) error {
	in := &a.in
	if in.pdvLeft > 0 {
		return fmt.Errorf("ul: internal error: %d bytes of the current PDV unread", in.pdvLeft)
	}
	for in.pduLeft == 0 {
		if first {
			a.rd.timeout = wait
			if _, err := a.br.Peek(1); err != nil {
				switch {
				case errors.Is(err, errInterrupted):
					return errInterrupted
				case errors.Is(err, os.ErrDeadlineExceeded) && a.interrupt.Load():
					return errInterrupted
				case errors.Is(err, os.ErrDeadlineExceeded):
					return fmt.Errorf("%w: no message within %s", ErrIdleTimeout, wait)
				}
				return err
			}
		}
		a.rd.timeout = a.cfg.ReadTimeout
		var hdr [pduHeaderLength]byte
		if _, err := io.ReadFull(a.br, hdr[:]); err != nil {
			return unexpectedEOF(err)
		}
		t, n := PDUType(hdr[0]), binary.BigEndian.Uint32(hdr[2:])
		if err := checkPDULength(t, n, a.cfg.MaxPDULength); err != nil {
			reason := AbortInvalidPDUParameter
			if !errors.Is(err, ErrPDUTooLarge) && t > TypeAbort {
				reason = AbortUnrecognizedPDU
			}
			return a.abortProvider(reason, err)
		}
		if t == TypePDataTF {
			in.pduLeft = n
			break
		}
		if err := a.controlPDU(t, n); err != nil {
			return err
		}
	}
	if in.pduLeft < pdvHeaderLength {
		return a.abortProvider(AbortInvalidPDUParameter, malformed("%d stray bytes at the end of a P-DATA-TF", in.pduLeft))
	}
	var h [pdvHeaderLength]byte
	if _, err := io.ReadFull(a.br, h[:]); err != nil {
		return unexpectedEOF(err)
	}
	n := binary.BigEndian.Uint32(h[:])
	if n < 2 || n > in.pduLeft-4 {
		return a.abortProvider(AbortInvalidPDUParameter, malformed("PDV length %d with %d bytes left in the PDU", n, in.pduLeft-4))
	}
	in.pduLeft -= 4 + n
	in.pdvLeft = n - 2
	in.pdvID, in.pdvCmd, in.pdvLast = h[4], h[5]&1 != 0, h[5]&2 != 0
	if a.neg.byID[in.pdvID] == nil {
		return a.abortProvider(AbortInvalidPDUParameter,
			fmt.Errorf("%w: PDV on presentation context %d, which was not accepted", ErrProtocol, in.pdvID))
	}
	return nil
}

// controlPDU handles a non-P-DATA PDU read while data transfer is going on.
func (a *Association) controlPDU(t PDUType, n uint32) error {
	body, err := readBody(a.br, n)
	if err != nil {
		return err
	}
	p, err := DecodePDU(t, body)
	if err != nil {
		return a.abortProvider(AbortInvalidPDUParameter, err)
	}
	switch p := p.(type) {
	case *Abort:
		ab := &AbortError{Source: p.Source, Reason: p.Reason}
		a.log.Debug("association aborted by peer", "source", p.Source)
		a.closeConn(ab)
		return ab
	case *ReleaseRQ:
		a.mu.Lock()
		if a.state != Sta6 {
			st := a.state
			a.mu.Unlock()
			return a.abortProvider(AbortUnexpectedPDU, fmt.Errorf("%w: A-RELEASE-RQ in state %s", ErrUnexpectedPDU, st))
		}
		a.state = Sta8
		a.mu.Unlock()
		// The local user always agrees: answer at once (AR-2, AR-4).
		if err := a.writePDU(&ReleaseRP{}); err != nil {
			a.closeConn(err)
			return err
		}
		a.setState(Sta13)
		a.log.Debug("association released by peer")
		a.lingerClose(ErrReleased)
		return ErrReleased
	}
	return a.abortProvider(AbortUnexpectedPDU, fmt.Errorf("%w: %s during data transfer", ErrUnexpectedPDU, t))
}

// skipPDV discards the rest of the current PDV's value.
func (a *Association) skipPDV() error {
	n := a.in.pdvLeft
	a.in.pdvLeft = 0
	if n == 0 {
		return nil
	}
	_, err := a.br.Discard(int(n))
	return unexpectedEOF(err)
}

// drainData discards the rest of a data set whose reader stopped early.
func (a *Association) drainData() error {
	r := &dataReader{a: a, gen: a.in.gen}
	_, err := io.Copy(io.Discard, r)
	return err
}

// Data returns a reader over the data set of the message whose command
// ReadCommand just returned. It yields the data set's bytes as its
// fragments arrive and io.EOF after the last one; reading it stalls for
// at most the read timeout. Call it only when the command announces a data
// set. Whatever is left unread is discarded by the next ReadCommand.
func (a *Association) Data() io.Reader {
	a.in.reading = true
	return &dataReader{a: a, gen: a.in.gen}
}

type dataReader struct {
	a   *Association
	gen uint64
	err error
}

func (r *dataReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	a, in := r.a, &r.a.in
	if !in.msgOpen || in.gen != r.gen {
		return 0, io.EOF
	}
	for in.pdvLeft == 0 {
		if err := a.nextPDV(false, 0); err != nil {
			r.err = a.readFailed(nil, err)
			return 0, r.err
		}
		if in.pdvCmd || in.pdvID != in.msgID {
			r.err = a.abortProvider(AbortUnexpectedPDUParameter,
				fmt.Errorf("%w: command fragment or context %d where the data set on context %d was expected", ErrProtocol, in.pdvID, in.msgID))
			return 0, r.err
		}
		if in.pdvLeft == 0 && in.pdvLast {
			in.msgOpen = false
			return 0, io.EOF
		}
	}
	if len(p) > int(in.pdvLeft) {
		p = p[:in.pdvLeft]
	}
	a.rd.timeout = a.cfg.ReadTimeout
	n, err := a.br.Read(p)
	in.pdvLeft -= uint32(n)
	if err != nil {
		r.err = a.readFailed(nil, unexpectedEOF(err))
		return n, r.err
	}
	if in.pdvLeft == 0 && in.pdvLast {
		in.msgOpen = false
	}
	return n, nil
}

// WriteMessage sends one DIMSE message on presentation context id: the
// command set, then, when data is not nil, the data set that data writes.
// Both are cut into PDVs of even length no longer than the peer accepts;
// the data set is streamed, one PDU at a time, and padded with a NUL byte
// to even length. Messages from concurrent callers do not
// interleave. An error from data after part of the data set went out
// leaves the peer with half a message: the association is aborted.
func (a *Association) WriteMessage(id byte, command []byte, data func(w io.Writer) error) error {
	if a.neg.byID[id] == nil {
		return fmt.Errorf("ul: presentation context %d was not accepted", id)
	}
	select {
	case a.wsem <- struct{}{}:
	case <-a.done:
		return a.endErr
	}
	defer func() { <-a.wsem }()
	if st := a.State(); st != Sta6 {
		if err := a.Err(); err != nil {
			return err
		}
		return fmt.Errorf("%w: write in state %s", ErrClosed, st)
	}
	w := &pdvWriter{a: a, id: id, command: true}
	if _, err := w.Write(command); err != nil {
		return a.writeFailed(err)
	}
	if err := w.flush(true); err != nil {
		return a.writeFailed(err)
	}
	if data == nil {
		return nil
	}
	w = &pdvWriter{a: a, id: id}
	if err := data(w); err != nil {
		if w.err == nil {
			// The source failed, not the connection: the peer holds half a
			// data set that cannot be completed.
			a.abortHeld(AbortSourceUser, AbortNotSpecified, err)
			return fmt.Errorf("ul: data set source: %w", err)
		}
		return a.writeFailed(err)
	}
	if w.total%2 == 1 {
		// Data sets have even length (PS3.5 7.1); a deflated one is padded
		// with a NUL (PS3.5 A.5). Peers such as DCMTK refuse odd fragments.
		if _, err := w.Write([]byte{0}); err != nil {
			return a.writeFailed(err)
		}
	}
	if err := w.flush(true); err != nil {
		return a.writeFailed(err)
	}
	return nil
}

func (a *Association) writeFailed(err error) error {
	if prev := a.Err(); prev != nil {
		return prev
	}
	a.closeConn(err)
	return err
}

// pdvWriter cuts a stream into PDVs. It holds back a full buffer until
// more bytes arrive, so that the last PDV carries the last-fragment flag.
type pdvWriter struct {
	a       *Association
	id      byte
	command bool
	n       int   // value bytes buffered
	total   int64 // value bytes written
	err     error
}

const pdvDataOffset = pduHeaderLength + pdvHeaderLength

func (w *pdvWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	total := 0
	for len(p) > 0 {
		if w.n == w.a.sendData {
			if err := w.flush(false); err != nil {
				return total, err
			}
		}
		c := copy(w.a.wbuf[pdvDataOffset+w.n:pdvDataOffset+w.a.sendData], p)
		w.n += c
		w.total += int64(c)
		p = p[c:]
		total += c
	}
	return total, nil
}

func (w *pdvWriter) flush(last bool) error {
	if w.err != nil {
		return w.err
	}
	b := w.a.wbuf[:pdvDataOffset+w.n]
	b[0], b[1] = byte(TypePDataTF), 0
	binary.BigEndian.PutUint32(b[2:], uint32(pdvHeaderLength+w.n))
	binary.BigEndian.PutUint32(b[6:], uint32(2+w.n))
	b[10], b[11] = w.id, controlHeader(w.command, last)
	w.n = 0
	if err := w.a.writeRaw(b); err != nil {
		w.err = err
		return err
	}
	return nil
}
