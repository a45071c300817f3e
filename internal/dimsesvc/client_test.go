package dimsesvc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/internal/config"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 (its own CA,
// for server and client use) and returns the file names and the pair.
func selfSigned(t *testing.T) (certFile, keyFile string, cert tls.Certificate, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(11), Subject: pkix.Name{CommonName: "lightbox dimsesvc test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, certPEM, 0o600)
	os.WriteFile(keyFile, keyPEM, 0o600)
	cert, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return certFile, keyFile, cert, pool
}

// countStore counts what a destination receives.
type countStore struct{ n atomic.Int64 }

func (c *countStore) Store(ctx context.Context, req *dimse.StoreRequest, data io.Reader) dimse.Result {
	if _, err := io.Copy(io.Discard, data); err != nil {
		return dimse.Result{Status: dimse.StatusOutOfResources, ErrorComment: err.Error()}
	}
	c.n.Add(1)
	return dimse.Result{}
}

// TestLightboxClientAgainstLightbox runs the lightbox commands against a
// node with both DIMSE ports: find (table, JSON, Japanese names,
// relational), get, move to a destination reached over TLS, and echo and
// find over the node's TLS port with mutual TLS.
func TestLightboxClientAgainstLightbox(t *testing.T) {
	certFile, keyFile, cert, pool := selfSigned(t)
	// The C-MOVE destination speaks TLS only.
	dest := &countStore{}
	destSrv := &dimse.Server{AETitle: "TLSDEST", Store: dest,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go destSrv.ServeTLS(ln)
	t.Cleanup(func() { destSrv.Close() })

	n := startLightbox(t, func(c *config.Config) {
		c.DICOM.TLSAddr = "127.0.0.1:0"
		c.DICOM.TLS = config.TLS{CertFile: certFile, KeyFile: keyFile, CAFile: certFile}
		c.RemoteAEs = []config.RemoteAE{{AETitle: "TLSDEST", Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, TLS: true}}
	})
	corpus := corpusFiles(t, "series/ge-genesis-signa-mr-16slices")
	jp := filepath.Join(filepath.Dir(corpusFiles(t, "charset")[0]), "japanese-iso2022-ir87.dcm")
	out, errs, code := runCLI(t, append([]string{"store", "-q", "-aec", "LIGHTBOX", n.host, n.port, jp}, corpus...)...)
	if code != 0 {
		t.Fatalf("store: exit %d\n%s%s", code, out, errs)
	}
	study := readFile(t, corpus[0]).Dataset.String(dicom.TagStudyInstanceUID)

	out, errs, code = runCLI(t, "find", "-aec", "LIGHTBOX", "-k", "PatientName=山田*", n.host, n.port)
	if code != 0 || !strings.Contains(out, "Yamada^Tarou=山田^太郎=やまだ^たろう") || !strings.Contains(out, "StudyInstanceUID") {
		t.Errorf("find by a Japanese name: exit %d\n%s%s", code, out, errs)
	}
	out, errs, code = runCLI(t, "find", "-aec", "LIGHTBOX", "--json", "--relational", "--level", "IMAGE", "-k", "StudyInstanceUID="+study,
		"-k", "SOPInstanceUID", "-k", "InstanceNumber", n.host, n.port)
	var js []map[string]json.RawMessage
	if code != 0 || json.Unmarshal([]byte(out), &js) != nil || len(js) != len(corpus) {
		t.Errorf("find --json IMAGE: exit %d, %d results\n%s", code, len(js), errs)
	}
	out, errs, code = runCLI(t, "find", "-aec", "LIGHTBOX", "--limit", "1", "--level", "IMAGE", "-k", "SOPInstanceUID", n.host, n.port)
	if code != 0 || strings.Count(out, "\n") != 2 {
		t.Errorf("find --limit 1: exit %d\n%s%s", code, out, errs)
	}

	dir := t.TempDir()
	out, errs, code = runCLI(t, "get", "-aec", "LIGHTBOX", "--out", dir, "-k", "StudyInstanceUID="+study, n.host, n.port)
	got, _ := filepath.Glob(filepath.Join(dir, "*.dcm"))
	if code != 0 || len(got) != len(corpus) {
		t.Errorf("get: exit %d, %d files\n%s%s", code, len(got), out, errs)
	}

	out, errs, code = runCLI(t, "move", "-aec", "LIGHTBOX", "--dest", "TLSDEST", "-k", "StudyInstanceUID="+study, n.host, n.port)
	if code != 0 || int(dest.n.Load()) != len(corpus) {
		t.Errorf("move to a TLS destination: exit %d, %d received\n%s%s", code, dest.n.Load(), out, errs)
	}

	tlsHost, tlsPort, _ := net.SplitHostPort(n.srv.Addrs()["dicom-tls"])
	tlsArgs := []string{"--tls", "--tls-cert", certFile, "--tls-key", keyFile, "--tls-ca", certFile, "-aec", "LIGHTBOX"}
	out, errs, code = runCLI(t, append(append([]string{"echo"}, tlsArgs...), tlsHost, tlsPort)...)
	if code != 0 {
		t.Errorf("echo over TLS: exit %d\n%s%s", code, out, errs)
	}
	out, errs, code = runCLI(t, append(append([]string{"find"}, tlsArgs...), "-k", "StudyInstanceUID="+study, tlsHost, tlsPort)...)
	if code != 0 || !strings.Contains(out, study) {
		t.Errorf("find over TLS: exit %d\n%s%s", code, out, errs)
	}
	// Without a client certificate the TLS port refuses.
	if _, _, code := runCLI(t, "echo", "--tls", "--tls-ca", certFile, "-aec", "LIGHTBOX", "-to", "5s", tlsHost, tlsPort); code == 0 {
		t.Error("echo over TLS without a client certificate succeeded")
	}
}
