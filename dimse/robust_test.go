package dimse

import (
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
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/ul"
)

// Peers that send garbage, stall or vanish cost one goroutine for a
// bounded time, and the server keeps serving others meanwhile.

const ctImageStorage = "1.2.840.10008.5.1.4.1.1.2"

func shortTimeouts() ul.Config {
	return ul.Config{ARTIMTimeout: 300 * time.Millisecond, ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond}
}

// waitIdle waits until the server holds no connection and the goroutine
// count is back to base.
func waitIdle(t *testing.T, s *Server, base int, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		s.mu.Lock()
		n := len(s.conns)
		s.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Since(start) > within {
			t.Fatalf("%d connections still served after %s", n, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
	waitGoroutines(t, base, within)
	return time.Since(start)
}

// storeCT sends a small CT data set with a healthy client.
func storeCT(t *testing.T, addr string) {
	t.Helper()
	ds := dicom.NewDataset()
	ds.Set(dicom.NewStringElement(dicom.TagSOPClassUID, dicom.UI, ctImageStorage))
	ds.Set(dicom.NewStringElement(dicom.TagSOPInstanceUID, dicom.UI, "1.2.3.4.5.6.7"))
	ds.Set(&dicom.Element{Tag: dicom.TagPixelData, VR: dicom.OW, Value: make([]byte, 4096)})
	c := dialFor(t, addr, nil, func(cfg *ClientConfig) {
		cfg.Contexts = append(cfg.Contexts, StorageContexts([2]string{ctImageStorage, dicom.ExplicitVRLittleEndian})...)
	})
	var buf writerAtBuffer
	if err := dicom.WriteFile(&buf, ds, dicom.ExplicitVRLittleEndian, dicom.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Store(context.Background(), buf.reader()); err != nil {
		t.Fatalf("healthy client: %v", err)
	}
	if err := c.Echo(context.Background()); err != nil {
		t.Fatalf("healthy client: %v", err)
	}
	c.Release(context.Background())
}

type writerAtBuffer struct{ b []byte }

func (w *writerAtBuffer) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }
func (w *writerAtBuffer) reader() io.Reader           { return &seekableBytes{b: w.b} }

type seekableBytes struct {
	b   []byte
	off int64
}

func (s *seekableBytes) Read(p []byte) (int, error) {
	if s.off >= int64(len(s.b)) {
		return 0, io.EOF
	}
	n := copy(p, s.b[s.off:])
	s.off += int64(n)
	return n, nil
}
func (s *seekableBytes) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(len(s.b)) {
		return 0, io.EOF
	}
	n := copy(p, s.b[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
func (s *seekableBytes) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		off += s.off
	case io.SeekEnd:
		off += int64(len(s.b))
	}
	s.off = off
	return off, nil
}

// rawAssociation opens an association over a connection the test keeps,
// so that it can stall or drop it.
func rawAssociation(t *testing.T, addr string) (*ul.Association, net.Conn) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	a, err := ul.Request(context.Background(), conn, ul.RequestConfig{CallingAE: "BADPEER", CalledAE: "LIGHTBOX",
		Contexts: StorageContexts([2]string{ctImageStorage, dicom.ExplicitVRLittleEndian})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return a, conn
}

func storeRQ(t *testing.T) []byte {
	b, err := (&Command{Field: CStoreRQ, MessageID: 1, AffectedSOPClassUID: ctImageStorage, AffectedSOPInstanceUID: "1.2.3.9", HasDataSet: true}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestMisbehavingPeers(t *testing.T) {
	cases := []struct {
		name string
		act  func(t *testing.T, addr string)
	}{
		{"garbage", func(t *testing.T, addr string) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			junk := make([]byte, 70000)
			rand.Read(junk)
			junk[0] = 0x01 // looks like an A-ASSOCIATE-RQ...
			c.Write(junk)  // ...whose body is noise
		}},
		{"http", func(t *testing.T, addr string) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: pacs\r\n\r\n")
		}},
		{"silent connection", func(t *testing.T, addr string) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
		}},
		{"idle association", func(t *testing.T, addr string) {
			rawAssociation(t, addr)
		}},
		{"garbage during data transfer", func(t *testing.T, addr string) {
			_, conn := rawAssociation(t, addr)
			conn.Write([]byte{0x04, 0, 0, 0, 0, 10, 0, 0, 0, 99, 1, 3, 0, 0, 0, 0})
		}},
		{"stall mid data set", func(t *testing.T, addr string) {
			a, _ := rawAssociation(t, addr)
			stall := make(chan struct{})
			t.Cleanup(func() { close(stall) })
			go a.WriteMessage(1, storeRQ(t), func(w io.Writer) error {
				w.Write(make([]byte, 1<<20))
				<-stall
				return errors.New("gave up")
			})
		}},
		{"vanish mid data set", func(t *testing.T, addr string) {
			a, conn := rawAssociation(t, addr)
			go a.WriteMessage(1, storeRQ(t), func(w io.Writer) error {
				w.Write(make([]byte, 1<<20))
				conn.Close()
				return errors.New("vanished")
			})
		}},
		{"stall mid command", func(t *testing.T, addr string) {
			_, conn := rawAssociation(t, addr)
			conn.Write([]byte{0x04, 0, 0, 0, 0, 100, 0, 0, 0, 94, 1, 3, 1, 2, 3}) // PDU says 100 bytes, 9 follow
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := runtime.NumGoroutine()
			s := &Server{Store: newDiskStore(t), IdleTimeout: 300 * time.Millisecond, UL: shortTimeouts()}
			addr := serve(t, s)
			tc.act(t, addr)
			// Others are served while the bad peer is connected.
			storeCT(t, addr)
			// Serve, and the stalling writer of the test's own peer.
			d := waitIdle(t, s, base+2, 5*time.Second)
			t.Logf("freed after %s", d.Round(time.Millisecond))
			storeCT(t, addr)
		})
	}
}

func TestManyAssociations(t *testing.T) {
	store := newDiskStore(t)
	store.verify = false
	s := &Server{Store: store, MaxAssociations: 32}
	addr := serve(t, s)
	var wg sync.WaitGroup
	errs := make(chan error, 24)
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := Dial(context.Background(), addr, ClientConfig{Contexts: VerificationContexts()})
			if err != nil {
				errs <- err
				return
			}
			for j := 0; j < 5; j++ {
				if err := c.Echo(context.Background()); err != nil {
					errs <- err
				}
			}
			c.Release(context.Background())
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestShutdown(t *testing.T) {
	t.Run("waits for running associations", func(t *testing.T) {
		s := &Server{Store: newDiskStore(t)}
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		serveErr := make(chan error, 1)
		go func() { serveErr <- s.Serve(ln) }()
		c := dialFor(t, ln.Addr().String(), nil, nil)
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			done <- s.Shutdown(ctx)
		}()
		if err := <-serveErr; !errors.Is(err, ErrServerClosed) {
			t.Fatalf("Serve: %v", err)
		}
		// The running association still works, and new ones are refused.
		if err := c.Echo(context.Background()); err != nil {
			t.Fatalf("echo during shutdown: %v", err)
		}
		if _, err := Dial(context.Background(), ln.Addr().String(), ClientConfig{Contexts: VerificationContexts()}); err == nil {
			t.Fatal("new association during shutdown")
		}
		select {
		case err := <-done:
			t.Fatalf("Shutdown returned %v before the association ended", err)
		case <-time.After(100 * time.Millisecond):
		}
		c.Release(context.Background())
		if err := <-done; err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	})
	t.Run("aborts at the deadline", func(t *testing.T) {
		s := &Server{}
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		go s.Serve(ln)
		c := dialFor(t, ln.Addr().String(), nil, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown: %v", err)
		}
		if err := c.Echo(context.Background()); !errors.Is(err, ul.ErrAborted) && !errors.Is(err, ul.ErrConnectionLost) {
			t.Fatalf("echo after forced shutdown: %v", err)
		}
		if err := s.Serve(ln); !errors.Is(err, ErrServerClosed) {
			t.Fatalf("Serve after Shutdown: %v", err)
		}
	})
}

// selfSigned returns a certificate for 127.0.0.1 signed by itself.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "lightbox test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pool
}

func TestTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	var sawTLS bool
	var mu sync.Mutex
	store := newDiskStore(t)
	s := &Server{
		Store: store,
		Echo: EchoHandlerFunc(func(ctx context.Context, a *AssociationInfo) Status {
			mu.Lock()
			sawTLS = a.TLS
			mu.Unlock()
			return StatusSuccess
		}),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool, MinVersion: tls.VersionTLS12},
		UL:        shortTimeouts(),
		Logger:    testLogger(t),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.ServeTLS(ln)
	t.Cleanup(func() { s.Close() })
	addr := ln.Addr().String()

	clientTLS := &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	files := corpus(t, "ct")
	inst, err := InstanceFromFile(files[0].path)
	if err != nil {
		t.Fatal(err)
	}
	c := dialFor(t, addr, []Instance{inst}, func(cfg *ClientConfig) { cfg.TLSConfig = clientTLS })
	if _, ok := c.Association().TLS(); !ok {
		t.Fatal("client association is not TLS")
	}
	if err := c.Echo(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StoreInstance(context.Background(), inst); err != nil {
		t.Fatal(err)
	}
	c.Release(context.Background())
	mu.Lock()
	if !sawTLS {
		t.Error("handler did not see a TLS association")
	}
	mu.Unlock()

	// Plain DICOM on the TLS port, and TLS without a client certificate, fail.
	if _, err := Dial(context.Background(), addr, ClientConfig{Contexts: VerificationContexts(), UL: shortTimeouts()}); err == nil {
		t.Error("plain association on the TLS port succeeded")
	}
	if _, err := Dial(context.Background(), addr, ClientConfig{Contexts: VerificationContexts(), UL: shortTimeouts(),
		TLSConfig: &tls.Config{RootCAs: pool}}); err == nil {
		t.Error("TLS without a client certificate succeeded")
	}
}
