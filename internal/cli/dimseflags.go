package cli

// This file holds what the DIMSE client commands (echo, store, and later
// find, move, get) share: connection flags named after DCMTK's, parsing of
// the peer arguments, and the client configuration they build.

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom/dict"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/ul"
)

// dimseFlags are the connection options of the DIMSE client commands.
// DCMTK's names are kept where Go's flag package allows them (-aet, -aec,
// -to, -ta, -td, -pdu, -v, -d); its "+tls key cert" becomes --tls with
// --tls-cert/--tls-key, and "+cf file" becomes --tls-ca.
type dimseFlags struct {
	aet, aec       string
	connectTimeout time.Duration
	acseTimeout    time.Duration
	dimseTimeout   time.Duration
	socketTimeout  time.Duration
	maxPDU         int
	verbose, debug bool

	tls         bool
	tlsCert     string
	tlsKey      string
	tlsCA       string
	tlsInsecure bool
	tlsName     string

	user, password string
}

// register adds the flags to fs.
func (f *dimseFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.aet, "aet", dimse.DefaultAETitle, "calling AE title (this side)")
	fs.StringVar(&f.aec, "aec", dimse.DefaultCalledAE, "called AE title (the peer)")
	fs.DurationVar(&f.connectTimeout, "to", 30*time.Second, "timeout for connecting and associating")
	fs.DurationVar(&f.acseTimeout, "ta", ul.DefaultARTIMTimeout, "timeout for association messages (ARTIM)")
	fs.DurationVar(&f.dimseTimeout, "td", 0, "timeout for each DIMSE response (0: none)")
	fs.DurationVar(&f.socketTimeout, "ts", ul.DefaultReadTimeout, "timeout for a stalled connection")
	fs.IntVar(&f.maxPDU, "pdu", ul.DefaultMaxPDULength, "maximum PDU length to receive, in bytes")
	fs.BoolVar(&f.verbose, "v", false, "verbose: print association and per-file details")
	fs.BoolVar(&f.debug, "d", false, "debug: log protocol events on stderr")
	fs.BoolVar(&f.tls, "tls", false, "use DICOM over TLS")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "client certificate (PEM) for TLS")
	fs.StringVar(&f.tlsKey, "tls-key", "", "private key (PEM) of the client certificate")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "CA certificates (PEM) to trust instead of the system's")
	fs.BoolVar(&f.tlsInsecure, "tls-insecure", false, "do not verify the server's certificate")
	fs.StringVar(&f.tlsName, "tls-server-name", "", "server name to verify (default: the host)")
	fs.StringVar(&f.user, "usr", "", "user identity: user name")
	fs.StringVar(&f.password, "pwd", "", "user identity: password (with -usr)")
}

// parseArgs parses flags that may come before, between or after the
// positional arguments, as DCMTK allows, and returns the positional ones.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// peerAddr takes the peer from the positional arguments, "HOST PORT" as
// in DCMTK or "HOST:PORT", and returns host:port and the rest.
func peerAddr(pos []string) (string, []string, error) {
	if len(pos) == 0 {
		return "", nil, errors.New("missing peer: give HOST PORT (or HOST:PORT)")
	}
	if host, port, err := net.SplitHostPort(pos[0]); err == nil && port != "" {
		if _, err := strconv.ParseUint(port, 10, 16); err == nil {
			return net.JoinHostPort(host, port), pos[1:], nil
		}
	}
	if len(pos) < 2 {
		return "", nil, fmt.Errorf("missing port after peer %q", pos[0])
	}
	if _, err := strconv.ParseUint(pos[1], 10, 16); err != nil {
		return "", nil, fmt.Errorf("port %q is not a number from 0 to 65535", pos[1])
	}
	return net.JoinHostPort(pos[0], pos[1]), pos[2:], nil
}

// logger returns the logger the flags ask for: debug events on stderr
// with -d, warnings otherwise.
func (f *dimseFlags) logger(stderr io.Writer) *slog.Logger {
	level := slog.LevelWarn
	if f.debug {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
}

// clientConfig builds the client configuration (contexts left to the
// command).
func (f *dimseFlags) clientConfig(stderr io.Writer) (dimse.ClientConfig, error) {
	for _, ae := range []string{f.aet, f.aec} {
		if err := ul.ValidateAETitle(ae); err != nil {
			return dimse.ClientConfig{}, err
		}
	}
	if f.maxPDU < ul.MinPDULength || f.maxPDU > 1<<30 {
		return dimse.ClientConfig{}, fmt.Errorf("-pdu %d out of range", f.maxPDU)
	}
	cfg := dimse.ClientConfig{
		CallingAE: f.aet,
		CalledAE:  f.aec,
		UL: ul.Config{
			MaxPDULength: uint32(f.maxPDU),
			ARTIMTimeout: f.acseTimeout,
			ReadTimeout:  f.socketTimeout,
			WriteTimeout: f.socketTimeout,
			Logger:       f.logger(stderr),
		},
		ResponseTimeout: f.dimseTimeout,
	}
	if f.user != "" {
		id := &ul.UserIdentity{Type: ul.UserIdentityUsername, Primary: []byte(f.user)}
		if f.password != "" {
			id.Type, id.Secondary = ul.UserIdentityUsernamePasscode, []byte(f.password)
		}
		cfg.UserIdentity = id
	}
	tc, err := f.tlsConfig()
	if err != nil {
		return dimse.ClientConfig{}, err
	}
	cfg.TLSConfig = tc
	return cfg, nil
}

// tlsConfig returns the client TLS configuration, nil without --tls.
func (f *dimseFlags) tlsConfig() (*tls.Config, error) {
	if !f.tls {
		if f.tlsCert != "" || f.tlsKey != "" || f.tlsCA != "" {
			return nil, errors.New("--tls-cert, --tls-key and --tls-ca need --tls")
		}
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: f.tlsInsecure, ServerName: f.tlsName}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if f.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(f.tlsCert, f.tlsKey)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if f.tlsCA != "" {
		pem, err := os.ReadFile(f.tlsCA)
		if err != nil {
			return nil, fmt.Errorf("CA certificates: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA certificates: no PEM certificate in %s", f.tlsCA)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// describeAssociation prints what was negotiated (for -v).
func describeAssociation(w io.Writer, c *dimse.Client) {
	a := c.Association()
	ui := a.PeerUserInfo()
	fmt.Fprintf(w, "associated %s -> %s at %s", a.CallingAE(), a.CalledAE(), a.RemoteAddr())
	if st, ok := a.TLS(); ok {
		fmt.Fprintf(w, " over %s", tls.VersionName(st.Version))
	}
	fmt.Fprintf(w, "\n  peer implementation %s %s, max PDU %d\n", ui.ImplementationClassUID, ui.ImplementationVersionName, ui.MaxPDULength)
	for _, pc := range a.Contexts() {
		if pc.Accepted() {
			fmt.Fprintf(w, "  context %3d accepted: %s in %s\n", pc.ID, uidName(pc.AbstractSyntax), uidName(pc.TransferSyntax))
		} else {
			fmt.Fprintf(w, "  context %3d rejected: %s (%s)\n", pc.ID, uidName(pc.AbstractSyntax), pc.Result)
		}
	}
}

// statusText names a DIMSE status for people.
func statusText(st dimse.Status, comment string) string {
	s := st.String()
	if comment != "" {
		s += ": " + comment
	}
	return s
}

// exitUsage prints a usage error and returns exit code 2.
func exitUsage(fs *flag.FlagSet, stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "lightbox %s: %v\n", fs.Name(), err)
	fs.Usage()
	return 2
}

// uidName returns the registered name of a UID, or the UID itself.
func uidName(uid string) string {
	if u, ok := dict.LookupUID(uid); ok {
		return u.Name
	}
	return uid
}

// onlyPeer reads HOST PORT from the positional arguments of a command that
// takes nothing else.
func onlyPeer(pos []string) (string, error) {
	addr, rest, err := peerAddr(pos)
	if err == nil && len(rest) > 0 {
		err = fmt.Errorf("unexpected arguments %q", rest)
	}
	return addr, err
}
