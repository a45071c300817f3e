package ul

import (
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// Default timeouts.
const (
	DefaultARTIMTimeout = 30 * time.Second
	DefaultReadTimeout  = 60 * time.Second
	DefaultWriteTimeout = 60 * time.Second
)

// Config holds the settings both sides of an association share. The zero
// value is usable: every zero field takes its default.
type Config struct {
	// MaxPDULength is the longest P-DATA-TF this side receives (announced
	// to the peer) and the longest it sends, whatever larger size the peer
	// allows; 0 means DefaultMaxPDULength.
	MaxPDULength uint32
	// ARTIMTimeout bounds the association handshake, the release
	// handshake, and the wait for the transport to close (PS3.8 9.1.5).
	ARTIMTimeout time.Duration
	// ReadTimeout bounds a stall inside a PDU or a message once its first
	// byte has arrived.
	ReadTimeout time.Duration
	// WriteTimeout bounds each write to a peer that stops reading.
	WriteTimeout time.Duration
	// ImplementationClassUID and ImplementationVersionName identify this
	// implementation; empty means Lightbox's (dicom.ImplementationClassUID).
	ImplementationClassUID    string
	ImplementationVersionName string
	// Logger receives protocol events; nil discards them.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.MaxPDULength == 0 {
		c.MaxPDULength = DefaultMaxPDULength
	}
	if c.MaxPDULength < MinPDULength {
		c.MaxPDULength = MinPDULength
	}
	if c.ARTIMTimeout <= 0 {
		c.ARTIMTimeout = DefaultARTIMTimeout
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = DefaultWriteTimeout
	}
	if c.ImplementationClassUID == "" {
		c.ImplementationClassUID = dicom.ImplementationClassUID
		if c.ImplementationVersionName == "" {
			c.ImplementationVersionName = dicom.ImplementationVersionName
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// RequestConfig configures the requesting side (SCU) of an association.
type RequestConfig struct {
	Config
	CallingAE string
	CalledAE  string
	// Contexts are the presentation contexts to propose; an ID of 0 is
	// assigned (1, 3, 5, ...). At most 128.
	Contexts []ContextRQ
	// Roles, ExtendedNegotiations, CommonExtendedNegotiations and
	// UserIdentity go into the User Information item as given.
	Roles                      []RoleSelection
	ExtendedNegotiations       []ExtendedNegotiation
	CommonExtendedNegotiations []CommonExtendedNegotiation
	UserIdentity               *UserIdentity
	// TLSConfig, when set, makes Dial run TLS over the connection.
	TLSConfig *tls.Config
}

// AcceptConfig configures the accepting side (SCP) of an association:
// every decision is a function so that the service layer (package dimse)
// owns the policy.
type AcceptConfig struct {
	Config
	// Check may reject the request before anything is negotiated (called
	// or calling AE title, association limits). Returning a *RejectError
	// chooses the result, source and reason; any other error rejects
	// permanently with "no reason given".
	Check func(rq *AssociateRQ) error
	// Context chooses the transfer syntax of one proposed presentation
	// context, or says why it is rejected. Nil rejects every context.
	Context func(abstractSyntax string, transferSyntaxes []string) (string, ContextResult)
	// Role answers an SCP/SCU role selection proposal with the roles this
	// side accepts; nil accepts the roles as proposed.
	Role func(sopClassUID string, scu, scp bool) (acceptSCU, acceptSCP bool)
	// ExtendedNegotiation answers a SOP class extended negotiation item;
	// a nil answer leaves the item out of the A-ASSOCIATE-AC (PS3.7 D.3.3.5:
	// not supported). Nil answers nothing.
	ExtendedNegotiation func(sopClassUID string, info []byte) []byte
	// UserIdentity, when set, sees the user identity item of the request
	// (nil when absent). It returns the server response to send when a
	// positive response was requested (nil: none), or an error to reject
	// the association (a *RejectError to choose the reason). Without it,
	// the identity is recorded but not checked.
	UserIdentity func(id *UserIdentity) (response []byte, err error)
}
