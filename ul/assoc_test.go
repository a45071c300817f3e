package ul

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"slices"
	"testing"
	"time"
)

const (
	verification = "1.2.840.10008.1.1"
	ctImage      = "1.2.840.10008.5.1.4.1.1.2"
	implicitLE   = "1.2.840.10008.1.2"
	explicitLE   = "1.2.840.10008.1.2.1"
	jpeg2000     = "1.2.840.10008.1.2.4.90"
)

// acceptAll accepts every context with the first proposed syntax.
func acceptAll() AcceptConfig {
	return AcceptConfig{
		Context: func(as string, ts []string) (string, ContextResult) {
			if as == "9.9.9" {
				return "", ContextAbstractSyntaxNotSupported
			}
			if slices.Contains(ts, explicitLE) {
				return explicitLE, ContextAccepted
			}
			return ts[0], ContextAccepted
		},
	}
}

func requestCfg(ctxs ...ContextRQ) RequestConfig {
	if len(ctxs) == 0 {
		ctxs = []ContextRQ{{AbstractSyntax: verification, TransferSyntaxes: []string{implicitLE}}}
	}
	return RequestConfig{CallingAE: "SCU", CalledAE: "SCP", Contexts: ctxs}
}

type acceptResult struct {
	a   *Association
	err error
}

// pair opens an association over loopback TCP.
func pair(t *testing.T, acfg AcceptConfig, rcfg RequestConfig) (acc, req *Association, reqErr, accErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan acceptResult, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- acceptResult{nil, err}
			return
		}
		a, err := Accept(c, acfg)
		ch <- acceptResult{a, err}
	}()
	req, reqErr = Dial(context.Background(), ln.Addr().String(), rcfg)
	r := <-ch
	t.Cleanup(func() {
		if req != nil {
			req.Close()
		}
		if r.a != nil {
			r.a.Close()
		}
	})
	return r.a, req, reqErr, r.err
}

func TestNegotiation(t *testing.T) {
	acfg := acceptAll()
	acfg.Role = func(sop string, scu, scp bool) (bool, bool) { return true, sop == ctImage }
	acfg.ExtendedNegotiation = func(sop string, info []byte) []byte { return []byte{1} }
	rcfg := requestCfg(
		ContextRQ{AbstractSyntax: verification, TransferSyntaxes: []string{implicitLE}},
		ContextRQ{AbstractSyntax: ctImage, TransferSyntaxes: []string{jpeg2000, explicitLE, implicitLE}},
		ContextRQ{AbstractSyntax: "9.9.9", TransferSyntaxes: []string{implicitLE}},
	)
	rcfg.Roles = []RoleSelection{{SOPClassUID: ctImage, SCU: true, SCP: true}, {SOPClassUID: "9.9.9", SCU: true, SCP: true}}
	rcfg.ExtendedNegotiations = []ExtendedNegotiation{{SOPClassUID: ctImage, Info: []byte{1, 1}}}
	rcfg.UserIdentity = &UserIdentity{Type: UserIdentityUsername, Primary: []byte("bob")}
	rcfg.MaxPDULength = 8192
	acc, req, rerr, aerr := pair(t, acfg, rcfg)
	if rerr != nil || aerr != nil {
		t.Fatalf("request: %v, accept: %v", rerr, aerr)
	}
	for _, side := range []*Association{acc, req} {
		pcs := side.Contexts()
		if len(pcs) != 3 {
			t.Fatalf("%d contexts", len(pcs))
		}
		want := []PresentationContext{
			{ID: 1, AbstractSyntax: verification, TransferSyntax: implicitLE, Result: ContextAccepted, SCURole: true},
			{ID: 3, AbstractSyntax: ctImage, TransferSyntax: explicitLE, Result: ContextAccepted, SCURole: true, SCPRole: true},
			{ID: 5, AbstractSyntax: "9.9.9", Result: ContextAbstractSyntaxNotSupported, SCURole: true, SCPRole: false},
		}
		if !slices.Equal(pcs, want) {
			t.Errorf("requestor=%v contexts\n got %+v\nwant %+v", side.IsRequestor(), pcs, want)
		}
		if _, ok := side.Context(5); ok {
			t.Error("rejected context 5 reported as accepted")
		}
	}
	if got := acc.UserIdentity(); got == nil || string(got.Primary) != "bob" {
		t.Errorf("user identity %v", got)
	}
	if acc.CallingAE() != "SCU" || acc.CalledAE() != "SCP" {
		t.Errorf("AE titles %q %q", acc.CallingAE(), acc.CalledAE())
	}
	ui := req.PeerUserInfo()
	if ui.ImplementationClassUID == "" || ui.MaxPDULength != DefaultMaxPDULength {
		t.Errorf("acceptor user info %+v", ui)
	}
	if len(ui.ExtendedNegotiations) != 1 || !bytes.Equal(ui.ExtendedNegotiations[0].Info, []byte{1}) {
		t.Errorf("extended negotiation answer %+v", ui.ExtendedNegotiations)
	}
	if acc.sendData != 8192-6 {
		t.Errorf("acceptor sends PDVs of %d bytes, want %d", acc.sendData, 8192-6)
	}
}

func TestAsyncOpsWindowAnswered(t *testing.T) {
	rcfg := requestCfg()
	// buildRQ does not propose a window; propose one by hand.
	acfg := acceptAll()
	var seen *AsyncOpsWindow
	acfg.Check = func(rq *AssociateRQ) error { seen = rq.UserInfo.AsyncOps; return nil }
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	go func() {
		c, _ := ln.Accept()
		if a, err := Accept(c, acfg); err == nil {
			a.Close()
		}
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rq, _ := buildRQ(&rcfg)
	rq.UserInfo.MaxPDULength = 0
	rq.UserInfo.AsyncOps = &AsyncOpsWindow{Invoked: 10, Performed: 10}
	if err := WritePDU(conn, rq); err != nil {
		t.Fatal(err)
	}
	p, err := ReadPDU(conn, 0)
	if err != nil {
		t.Fatal(err)
	}
	ac, ok := p.(*AssociateAC)
	if !ok {
		t.Fatalf("got %s", p.Type())
	}
	if w := ac.UserInfo.AsyncOps; w == nil || *w != (AsyncOpsWindow{1, 1}) {
		t.Errorf("async ops answer %+v", w)
	}
	if seen == nil || seen.Invoked != 10 {
		t.Errorf("request window not exposed: %+v", seen)
	}
}

func TestReject(t *testing.T) {
	acfg := acceptAll()
	acfg.Check = func(rq *AssociateRQ) error {
		if rq.CalledAE != "LIGHTBOX" {
			return NewRejectError(RejectPermanent, RejectSourceUser, RejectCalledAENotRecognized, "unknown called AE")
		}
		return nil
	}
	_, _, rerr, aerr := pair(t, acfg, requestCfg())
	var rj *RejectError
	if !errors.As(rerr, &rj) || rj.Reason != RejectCalledAENotRecognized || rj.Local {
		t.Errorf("requestor: %v", rerr)
	}
	if !errors.As(aerr, &rj) || !rj.Local || !errors.Is(aerr, ErrRejected) {
		t.Errorf("acceptor: %v", aerr)
	}
}

func TestMessageFragmentation(t *testing.T) {
	rcfg := requestCfg(ContextRQ{AbstractSyntax: ctImage, TransferSyntaxes: []string{explicitLE}})
	rcfg.MaxPDULength = 4096
	acfg := acceptAll()
	acfg.MaxPDULength = 1000
	acc, req, rerr, aerr := pair(t, acfg, rcfg)
	if rerr != nil || aerr != nil {
		t.Fatal(rerr, aerr)
	}
	data := make([]byte, 1<<20+17)
	rand.Read(data)
	cmd := bytes.Repeat([]byte("C"), 2500) // several fragments too
	for _, dir := range []struct {
		name     string
		from, to *Association
	}{{"requestor to acceptor", req, acc}, {"acceptor to requestor", acc, req}} {
		t.Run(dir.name, func(t *testing.T) {
			errc := make(chan error, 1)
			go func() {
				errc <- dir.from.WriteMessage(1, cmd, func(w io.Writer) error {
					// Odd-sized writes exercise the buffering.
					for r := bytes.NewReader(data); r.Len() > 0; {
						if _, err := io.CopyN(w, r, 7777); err != nil && err != io.EOF {
							return err
						}
					}
					return nil
				})
			}()
			id, got, err := dir.to.ReadCommand(context.Background(), 5*time.Second)
			if err != nil || id != 1 || !bytes.Equal(got, cmd) {
				t.Fatalf("ReadCommand: id %d, %d bytes, %v", id, len(got), err)
			}
			h := &countingHash{}
			if _, err := io.Copy(h, dir.to.Data()); err != nil {
				t.Fatal(err)
			}
			// The odd-length data set arrives padded with one NUL.
			if want := append(append([]byte{}, data...), 0); !bytes.Equal(h.buf.Bytes(), want) {
				t.Fatalf("data set differs: %d bytes received of %d", h.buf.Len(), len(want))
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		})
	}

	// An unread data set is skipped by the next ReadCommand.
	go func() {
		req.WriteMessage(1, []byte("first"), func(w io.Writer) error { _, err := w.Write(data[:100000]); return err })
		req.WriteMessage(1, []byte("second"), nil)
	}()
	if _, c, err := acc.ReadCommand(context.Background(), time.Second); err != nil || string(c) != "first" {
		t.Fatalf("%q %v", c, err)
	}
	if _, c, err := acc.ReadCommand(context.Background(), time.Second); err != nil || string(c) != "second" {
		t.Fatalf("%q %v", c, err)
	}

	// Release: the acceptor sees ErrReleased, the requestor nil.
	errc := make(chan error, 1)
	go func() { errc <- req.Release(context.Background()) }()
	if _, _, err := acc.ReadCommand(context.Background(), time.Second); !errors.Is(err, ErrReleased) {
		t.Fatalf("acceptor after release: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("release: %v", err)
	}
	if err := acc.WriteMessage(1, cmd, nil); err == nil {
		t.Fatal("write after release succeeded")
	}
}

type countingHash struct{ buf bytes.Buffer }

func (h *countingHash) Write(p []byte) (int, error) { return h.buf.Write(p) }

func TestIdleTimeoutAndInterrupt(t *testing.T) {
	acc, req, rerr, aerr := pair(t, acceptAll(), requestCfg())
	if rerr != nil || aerr != nil {
		t.Fatal(rerr, aerr)
	}
	start := time.Now()
	if _, _, err := acc.ReadCommand(context.Background(), 50*time.Millisecond); !errors.Is(err, ErrIdleTimeout) {
		t.Fatalf("err = %v, want idle timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("idle timeout took %s", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, _, err := acc.ReadCommand(ctx, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context deadline", err)
	}
	// The association is intact after both.
	go req.WriteMessage(1, []byte("hello"), nil)
	if _, c, err := acc.ReadCommand(context.Background(), time.Second); err != nil || string(c) != "hello" {
		t.Fatalf("%q %v", c, err)
	}
	req.Abort()
	_, _, err := acc.ReadCommand(context.Background(), time.Second)
	var ab *AbortError
	if !errors.As(err, &ab) || ab.Local || ab.Source != AbortSourceUser {
		t.Fatalf("after peer abort: %v", err)
	}
}

func TestStallMidMessage(t *testing.T) {
	acfg := acceptAll()
	acfg.ReadTimeout = 100 * time.Millisecond
	acc, req, rerr, aerr := pair(t, acfg, requestCfg())
	if rerr != nil || aerr != nil {
		t.Fatal(rerr, aerr)
	}
	// Send a command, then half a data PDU by hand, then nothing.
	go req.WriteMessage(1, []byte("cmd"), nil)
	if _, _, err := acc.ReadCommand(context.Background(), time.Second); err != nil {
		t.Fatal(err)
	}
	pdu := mustEncode(&PDataTF{Items: []PDV{{ContextID: 1, Last: true, Data: make([]byte, 1000)}}})
	req.conn.Write(pdu[:500])
	start := time.Now()
	_, err := io.Copy(io.Discard, acc.Data())
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want timeout", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("stall detected after %s", d)
	}
	select {
	case <-acc.Done():
	case <-time.After(2 * time.Second):
		t.Fatal("association not ended")
	}
}

func TestProtocolViolations(t *testing.T) {
	tests := []struct {
		name   string
		send   []byte
		reason AbortReason
	}{
		{"unaccepted context", mustEncode(&PDataTF{Items: []PDV{{ContextID: 7, Command: true, Last: true, Data: []byte{1}}}}), AbortInvalidPDUParameter},
		{"data without command", mustEncode(&PDataTF{Items: []PDV{{ContextID: 1, Last: true, Data: []byte{1}}}}), AbortUnexpectedPDUParameter},
		{"associate in data transfer", mustEncode(sampleRQ()), AbortUnexpectedPDU},
		{"unknown PDU type", []byte{0x47, 0x45, 0x54, 0x20, 0x2F, 0x20, 0, 0}, AbortUnrecognizedPDU},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acc, req, rerr, aerr := pair(t, acceptAll(), requestCfg())
			if rerr != nil || aerr != nil {
				t.Fatal(rerr, aerr)
			}
			req.conn.Write(tt.send)
			_, _, err := acc.ReadCommand(context.Background(), time.Second)
			var ab *AbortError
			if !errors.As(err, &ab) || !ab.Local || ab.Reason != tt.reason {
				t.Fatalf("err = %v, want local abort with reason %d", err, tt.reason)
			}
			// The requestor receives the A-ABORT.
			_, _, err = req.ReadCommand(context.Background(), 2*time.Second)
			if !errors.As(err, &ab) || ab.Local || ab.Source != AbortSourceProvider || ab.Reason != tt.reason {
				t.Fatalf("requestor saw %v", err)
			}
		})
	}
}

func TestAcceptGarbageAndSilence(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accept := func() (time.Duration, error) {
		c, err := ln.Accept()
		if err != nil {
			return 0, err
		}
		start := time.Now()
		_, err = Accept(c, AcceptConfig{Config: Config{ARTIMTimeout: 200 * time.Millisecond}})
		return time.Since(start), err
	}
	t.Run("http request", func(t *testing.T) {
		c, _ := net.Dial("tcp", ln.Addr().String())
		defer c.Close()
		c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		_, err := accept()
		if !errors.Is(err, ErrAborted) {
			t.Fatalf("err = %v", err)
		}
		p, err := ReadPDU(c, 0)
		if err != nil || p.Type() != TypeAbort {
			t.Fatalf("client got %v %v", p, err)
		}
	})
	t.Run("silence", func(t *testing.T) {
		c, _ := net.Dial("tcp", ln.Addr().String())
		defer c.Close()
		d, err := accept()
		if !errors.Is(err, ErrTimeout) || d > 2*time.Second {
			t.Fatalf("err = %v after %s", err, d)
		}
	})
	t.Run("huge length then trickle", func(t *testing.T) {
		c, _ := net.Dial("tcp", ln.Addr().String())
		defer c.Close()
		c.Write([]byte{1, 0, 0, 3, 0, 0}) // A-ASSOCIATE-RQ of 196608 bytes
		d, err := accept()
		if err == nil || d > 2*time.Second {
			t.Fatalf("err = %v after %s", err, d)
		}
	})
	t.Run("too large", func(t *testing.T) {
		c, _ := net.Dial("tcp", ln.Addr().String())
		defer c.Close()
		c.Write([]byte{1, 0, 0x7F, 0xFF, 0xFF, 0xFF})
		_, err := accept()
		if !errors.Is(err, ErrPDUTooLarge) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestReleaseCollision(t *testing.T) {
	acc, req, rerr, aerr := pair(t, acceptAll(), requestCfg())
	if rerr != nil || aerr != nil {
		t.Fatal(rerr, aerr)
	}
	// The acceptor's side sends A-RELEASE-RQ too (by hand), and answers
	// the requestor's with A-RELEASE-RP.
	go func() {
		acc.writePDU(&ReleaseRQ{})
		p, err := ReadPDU(acc.br, 0)
		if err == nil && p.Type() == TypeReleaseRQ {
			acc.writePDU(&ReleaseRP{})
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := req.Release(ctx); err != nil {
		t.Fatalf("release with collision: %v", err)
	}
}

func TestTLSListen(t *testing.T) {
	cert, pool := testCert(t)
	ln, err := Listen("127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ch := make(chan acceptResult, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- acceptResult{nil, err}
			return
		}
		a, err := Accept(c, acceptAll())
		ch <- acceptResult{a, err}
	}()
	rcfg := requestCfg()
	rcfg.TLSConfig = &tls.Config{RootCAs: pool}
	req, err := Dial(context.Background(), ln.Addr().String(), rcfg)
	if err != nil {
		t.Fatal(err)
	}
	defer req.Close()
	r := <-ch
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.a.Close()
	if _, ok := r.a.TLS(); !ok {
		t.Error("acceptor not on TLS")
	}
	go req.WriteMessage(1, []byte("over tls"), nil)
	if _, c, err := r.a.ReadCommand(context.Background(), time.Second); err != nil || string(c) != "over tls" {
		t.Fatalf("%q %v", c, err)
	}
}

func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ul test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}
