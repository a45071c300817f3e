package ul

import (
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// FuzzAssociationInput feeds arbitrary bytes to an established
// association on the acceptor's side, as a peer's PDUs, and reads commands
// and data sets until the association ends: whatever arrives must end in an
// error or a release within the timeouts, never in a panic or a hang.
func FuzzAssociationInput(f *testing.F) {
	cmd := mustEncode(&PDataTF{Items: []PDV{{ContextID: 1, Command: true, Last: true, Data: []byte{1, 2, 3, 4}}}})
	data := mustEncode(&PDataTF{Items: []PDV{{ContextID: 1, Data: make([]byte, 100)}, {ContextID: 1, Last: true, Data: []byte{5, 6}}}})
	f.Add(append(append([]byte{}, cmd...), data...))
	f.Add(append(append([]byte{}, cmd...), mustEncode(&ReleaseRQ{})...))
	f.Add(mustEncode(&Abort{Source: AbortSourceUser}))
	f.Add(mustEncode(&PDataTF{Items: []PDV{{ContextID: 1, Command: true, Data: []byte{1}}, {ContextID: 1, Command: true, Last: true, Data: []byte{2}}}}))
	f.Add([]byte{0x04, 0, 0, 0, 0, 8, 0, 0, 0, 4, 1, 3, 9, 9})
	f.Fuzz(func(t *testing.T, in []byte) {
		c1, c2 := net.Pipe()
		defer c1.Close()
		defer c2.Close()
		short := Config{ARTIMTimeout: 20 * time.Millisecond, ReadTimeout: 20 * time.Millisecond, WriteTimeout: 20 * time.Millisecond}
		go func() {
			_, err := Request(context.Background(), c1, RequestConfig{Config: short, CallingAE: "A", CalledAE: "B",
				Contexts: []ContextRQ{{AbstractSyntax: verification, TransferSyntaxes: []string{implicitLE}}}})
			if err != nil {
				return
			}
			go io.Copy(io.Discard, c1)
			c1.Write(in)
			c1.Close() // the peer then vanishes: every read ends at once

		}()
		a, err := Accept(c2, AcceptConfig{Config: short, Context: func(string, []string) (string, ContextResult) { return implicitLE, ContextAccepted }})
		if err != nil {
			return
		}
		deadline := time.Now().Add(2 * time.Second)
		for time.Now().Before(deadline) {
			_, _, err := a.ReadCommand(context.Background(), 20*time.Millisecond)
			if err != nil {
				return
			}
			if _, err := io.Copy(io.Discard, a.Data()); err != nil {
				return
			}
		}
		t.Fatal("association still reading after 2s")
	})
}
