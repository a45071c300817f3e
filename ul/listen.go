package ul

import (
	"crypto/tls"
	"fmt"
	"net"
)

// Listen listens on the TCP address, running TLS over every accepted
// connection when tlsConfig is set (DICOM over TLS, PS3.15 B.1): Accept
// then handshakes the connection under the ARTIM timeout.
func Listen(addr string, tlsConfig *tls.Config) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ul: listen %s: %w", addr, err)
	}
	if tlsConfig != nil {
		return tls.NewListener(ln, tlsConfig), nil
	}
	return ln, nil
}
