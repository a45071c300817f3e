package cli

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// countingStore accepts everything, counting instances and calling AEs.
type countingStore struct {
	n     atomic.Int64
	mu    sync.Mutex
	aes   map[string]int
	bytes atomic.Int64
}

func (c *countingStore) Store(ctx context.Context, req *dimse.StoreRequest, data io.Reader) dimse.Result {
	n, err := io.Copy(io.Discard, data)
	if err != nil {
		return dimse.Result{Status: dimse.StatusOutOfResources, ErrorComment: err.Error()}
	}
	if req.SOPInstanceUID == "1.2.3.refuse" {
		return dimse.Result{Status: dimse.StatusOutOfResources, ErrorComment: "disk full"}
	}
	c.bytes.Add(n)
	c.n.Add(1)
	c.mu.Lock()
	if c.aes == nil {
		c.aes = map[string]int{}
	}
	c.aes[req.Association.CallingAE]++
	c.mu.Unlock()
	return dimse.Result{}
}

func startDIMSEServer(t *testing.T, s *dimse.Server, tlsLn bool) (host, port string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if tlsLn {
		go s.ServeTLS(ln)
	} else {
		go s.Serve(ln)
	}
	t.Cleanup(func() { s.Close() })
	host, port, _ = net.SplitHostPort(ln.Addr().String())
	return host, port
}

func TestEchoCommand(t *testing.T) {
	host, port := startDIMSEServer(t, &dimse.Server{AETitle: "PACS", RequireCalledAE: true}, false)
	out, errs, code := runCLI(t, "echo", "-aec", "PACS", host, port, "-aet", "ME", "--repeat", "2")
	if code != 0 || strings.Count(out, "C-ECHO to PACS at "+net.JoinHostPort(host, port)+": 0000 (Success)") != 2 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	out, errs, code = runCLI(t, "echo", "-v", "-aec", "PACS", net.JoinHostPort(host, port))
	if code != 0 || !strings.Contains(out, "context   1 accepted: Verification SOP Class") {
		t.Fatalf("-v: exit %d\n%s%s", code, out, errs)
	}
	_, errs, code = runCLI(t, "echo", "-aec", "OTHER", host, port)
	if code != 1 || !strings.Contains(errs, "called AE title not recognized") {
		t.Fatalf("wrong AE: exit %d, stderr:\n%s", code, errs)
	}
	for _, args := range [][]string{{"echo"}, {"echo", host}, {"echo", host, "notaport"}, {"echo", "-aet", "WAY-TOO-LONG-AE-TITLE", host, port}} {
		if _, _, code := runCLI(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
}

func TestStoreCommand(t *testing.T) {
	corpus := testenv.CorpusDir(t)
	store := &countingStore{}
	host, port := startDIMSEServer(t, &dimse.Server{Store: store}, false)
	dirs := []string{filepath.Join(corpus, "ct"), filepath.Join(corpus, "charset"), filepath.Join(corpus, "malformed")}
	out, errs, code := runCLI(t, append([]string{"store", "-j", "3", "-aet", "CLITEST", host, port}, dirs...)...)
	// The malformed files are not sent: exit code 1, listed under "not sent".
	if code != 1 || !strings.Contains(out, "not sent:") || !strings.Contains(out, "gen-empty-file.dcm") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
	var stored, total int
	if _, err := firstLineScan(out, "stored %d of %d files", &stored, &total); err != nil {
		t.Fatalf("summary: %v\n%s", err, out)
	}
	if stored != int(store.n.Load()) || stored < 30 {
		t.Errorf("summary says %d stored, server stored %d\n%s", stored, store.n.Load(), out)
	}
	store.mu.Lock()
	if store.aes["CLITEST"] != stored {
		t.Errorf("calling AEs %v", store.aes)
	}
	store.mu.Unlock()
	if !strings.Contains(out, "3 association(s)") {
		t.Errorf("summary: %s", out)
	}

	// Well-formed files only: exit 0.
	out, errs, code = runCLI(t, "store", "-q", host, port, filepath.Join(corpus, "ct"))
	if code != 0 || strings.Count(out, "\n") != 1 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errs)
	}
}

// fmtSscanf is fmt.Sscanf on the first line of s.
func firstLineScan(s, format string, args ...any) (int, error) {
	line, _, _ := strings.Cut(s, "\n")
	return fmt.Sscanf(line, format, args...)
}

func TestStoreCommandTLS(t *testing.T) {
	dir := t.TempDir()
	certPEM, keyPEM, cert := dimseTestCert(t)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, certPEM, 0o600)
	os.WriteFile(keyFile, keyPEM, 0o600)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	store := &countingStore{}
	s := &dimse.Server{Store: store, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}}
	host, port := startDIMSEServer(t, s, true)
	ct := filepath.Join(testenv.CorpusDir(t), "ct")
	out, errs, code := runCLI(t, "store", "--tls", "--tls-ca", certFile, "--tls-cert", certFile, "--tls-key", keyFile, "-q", host, port, ct)
	if code != 0 || store.n.Load() == 0 {
		t.Fatalf("exit %d, %d stored\nstdout:\n%s\nstderr:\n%s", code, store.n.Load(), out, errs)
	}
	_, errs, code = runCLI(t, "echo", "--tls", "--tls-ca", certFile, "--tls-cert", certFile, "--tls-key", keyFile, "-v", host, port)
	if code != 0 {
		t.Fatalf("echo over TLS: exit %d\n%s", code, errs)
	}
	// Without the client certificate the handshake fails.
	_, _, code = runCLI(t, "echo", "--tls", "--tls-ca", certFile, "-to", "5s", host, port)
	if code != 1 {
		t.Fatalf("echo without client certificate: exit %d", code)
	}
	if _, _, code := runCLI(t, "echo", "--tls-cert", certFile, host, port); code != 2 {
		t.Fatalf("--tls-cert without --tls: exit %d", code)
	}
}

func dimseTestCert(t *testing.T) (certPEM, keyPEM []byte, cert tls.Certificate) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "lightbox cli test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	cert, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, keyPEM, cert
}

func TestPeerAddr(t *testing.T) {
	tests := []struct {
		in   []string
		addr string
		rest int
		ok   bool
	}{
		{[]string{"pacs", "104"}, "pacs:104", 0, true},
		{[]string{"pacs:11112", "a.dcm"}, "pacs:11112", 1, true},
		{[]string{"::1", "104"}, "[::1]:104", 0, true},
		{[]string{"[::1]:104"}, "[::1]:104", 0, true},
		{[]string{"pacs"}, "", 0, false},
		{[]string{"pacs", "http"}, "", 0, false},
		{nil, "", 0, false},
	}
	for _, tt := range tests {
		addr, rest, err := peerAddr(tt.in)
		if (err == nil) != tt.ok || addr != tt.addr || len(rest) != tt.rest {
			t.Errorf("%q: %q %q %v", tt.in, addr, rest, err)
		}
	}
}
