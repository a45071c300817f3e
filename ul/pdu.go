package ul

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// PDUType is the first byte of a PDU (PS3.8 9.3.1).
type PDUType byte

// The PDU types of PS3.8 9.3.
const (
	TypeAssociateRQ PDUType = 0x01
	TypeAssociateAC PDUType = 0x02
	TypeAssociateRJ PDUType = 0x03
	TypePDataTF     PDUType = 0x04
	TypeReleaseRQ   PDUType = 0x05
	TypeReleaseRP   PDUType = 0x06
	TypeAbort       PDUType = 0x07
)

func (t PDUType) String() string {
	switch t {
	case TypeAssociateRQ:
		return "A-ASSOCIATE-RQ"
	case TypeAssociateAC:
		return "A-ASSOCIATE-AC"
	case TypeAssociateRJ:
		return "A-ASSOCIATE-RJ"
	case TypePDataTF:
		return "P-DATA-TF"
	case TypeReleaseRQ:
		return "A-RELEASE-RQ"
	case TypeReleaseRP:
		return "A-RELEASE-RP"
	case TypeAbort:
		return "A-ABORT"
	}
	return fmt.Sprintf("PDU(0x%02X)", byte(t))
}

// Protocol constants.
const (
	// ApplicationContextName is the DICOM application context (PS3.7 A.2.1).
	ApplicationContextName = "1.2.840.10008.3.1.1.1"
	// ProtocolVersion is the only protocol version PS3.8 defines (bit 0).
	ProtocolVersion uint16 = 0x0001
	// MaxAssociatePDULength bounds the A-ASSOCIATE-RQ/AC PDUs this
	// package reads: 128 presentation contexts with a dozen transfer
	// syntaxes each fit in a fraction of it.
	MaxAssociatePDULength = 256 << 10
	// DefaultMaxPDULength is the maximum P-DATA-TF length this side
	// announces and sends when not configured.
	DefaultMaxPDULength = 256 << 10
	// MinPDULength is the smallest maximum PDU length a peer may announce
	// (other than 0, unlimited) for this side to talk to it.
	MinPDULength = 64
	// pduHeaderLength is the type, reserved byte and 32-bit length.
	pduHeaderLength = 6
	// pdvHeaderLength is a PDV item's 32-bit length, context ID and
	// message control header.
	pdvHeaderLength = 6
	aeTitleLength   = 16
)

// PDU is one protocol data unit: *AssociateRQ, *AssociateAC, *AssociateRJ,
// *PDataTF, *ReleaseRQ, *ReleaseRP or *Abort.
type PDU interface {
	// Type returns the PDU type byte.
	Type() PDUType
	// appendBody appends the PDU body (everything after the 6-byte header).
	appendBody(b []byte) ([]byte, error)
}

// AssociateRQ is an A-ASSOCIATE-RQ PDU (PS3.8 9.3.2).
type AssociateRQ struct {
	ProtocolVersion    uint16
	CalledAE           string
	CallingAE          string
	ApplicationContext string
	Contexts           []ContextRQ
	UserInfo           UserInfo
}

// AssociateAC is an A-ASSOCIATE-AC PDU (PS3.8 9.3.3). CalledAE and
// CallingAE echo the request's values.
type AssociateAC struct {
	ProtocolVersion    uint16
	CalledAE           string
	CallingAE          string
	ApplicationContext string
	Contexts           []ContextAC
	UserInfo           UserInfo
}

// AssociateRJ is an A-ASSOCIATE-RJ PDU (PS3.8 9.3.4).
type AssociateRJ struct {
	Result RejectResult
	Source RejectSource
	Reason RejectReason
}

// PDataTF is a P-DATA-TF PDU (PS3.8 9.3.5) read or written as a whole; the
// Association streams PDVs instead.
type PDataTF struct {
	Items []PDV
}

// PDV is one presentation data value item.
type PDV struct {
	ContextID byte
	// Command is set for a command fragment, clear for a data set fragment.
	Command bool
	// Last is set on the last fragment of a command or data set.
	Last bool
	Data []byte
}

// ReleaseRQ is an A-RELEASE-RQ PDU.
type ReleaseRQ struct{}

// ReleaseRP is an A-RELEASE-RP PDU.
type ReleaseRP struct{}

// Abort is an A-ABORT PDU (PS3.8 9.3.8).
type Abort struct {
	Source AbortSource
	Reason AbortReason
}

// Type implements PDU.
func (*AssociateRQ) Type() PDUType { return TypeAssociateRQ }

// Type implements PDU.
func (*AssociateAC) Type() PDUType { return TypeAssociateAC }

// Type implements PDU.
func (*AssociateRJ) Type() PDUType { return TypeAssociateRJ }

// Type implements PDU.
func (*PDataTF) Type() PDUType { return TypePDataTF }

// Type implements PDU.
func (*ReleaseRQ) Type() PDUType { return TypeReleaseRQ }

// Type implements PDU.
func (*ReleaseRP) Type() PDUType { return TypeReleaseRP }

// Type implements PDU.
func (*Abort) Type() PDUType { return TypeAbort }

// RejectResult is the Result field of an A-ASSOCIATE-RJ.
type RejectResult byte

// Reject results.
const (
	RejectPermanent RejectResult = 1
	RejectTransient RejectResult = 2
)

func (r RejectResult) String() string {
	switch r {
	case RejectPermanent:
		return "rejected-permanent"
	case RejectTransient:
		return "rejected-transient"
	}
	return fmt.Sprintf("result %d", byte(r))
}

// RejectSource is the Source field of an A-ASSOCIATE-RJ.
type RejectSource byte

// Reject sources.
const (
	RejectSourceUser         RejectSource = 1 // DICOM UL service-user
	RejectSourceACSE         RejectSource = 2 // DICOM UL service-provider (ACSE related function)
	RejectSourcePresentation RejectSource = 3 // DICOM UL service-provider (presentation related function)
)

func (s RejectSource) String() string {
	switch s {
	case RejectSourceUser:
		return "service-user"
	case RejectSourceACSE:
		return "service-provider (ACSE)"
	case RejectSourcePresentation:
		return "service-provider (presentation)"
	}
	return fmt.Sprintf("source %d", byte(s))
}

// RejectReason is the Reason/Diag. field of an A-ASSOCIATE-RJ; its meaning
// depends on the source.
type RejectReason byte

// Reject reasons for RejectSourceUser.
const (
	RejectNoReason                  RejectReason = 1
	RejectApplicationContextNotSupp RejectReason = 2
	RejectCallingAENotRecognized    RejectReason = 3
	RejectCalledAENotRecognized     RejectReason = 7
)

// Reject reasons for RejectSourceACSE.
const (
	RejectACSENoReason                RejectReason = 1
	RejectProtocolVersionNotSupported RejectReason = 2
)

// Reject reasons for RejectSourcePresentation.
const (
	RejectTemporaryCongestion RejectReason = 1
	RejectLocalLimitExceeded  RejectReason = 2
)

func (r RejectReason) describe(s RejectSource) string {
	switch s {
	case RejectSourceUser:
		switch r {
		case RejectNoReason:
			return "no reason given"
		case RejectApplicationContextNotSupp:
			return "application context name not supported"
		case RejectCallingAENotRecognized:
			return "calling AE title not recognized"
		case RejectCalledAENotRecognized:
			return "called AE title not recognized"
		}
	case RejectSourceACSE:
		switch r {
		case RejectACSENoReason:
			return "no reason given"
		case RejectProtocolVersionNotSupported:
			return "protocol version not supported"
		}
	case RejectSourcePresentation:
		switch r {
		case RejectTemporaryCongestion:
			return "temporary congestion"
		case RejectLocalLimitExceeded:
			return "local limit exceeded"
		}
	}
	return fmt.Sprintf("reason %d", byte(r))
}

// AbortSource is the Source field of an A-ABORT.
type AbortSource byte

// Abort sources.
const (
	AbortSourceUser     AbortSource = 0 // DICOM UL service-user (initiated abort)
	AbortSourceProvider AbortSource = 2 // DICOM UL service-provider (initiated abort)
)

func (s AbortSource) String() string {
	switch s {
	case AbortSourceUser:
		return "service-user"
	case 1:
		return "reserved"
	case AbortSourceProvider:
		return "service-provider"
	}
	return fmt.Sprintf("source %d", byte(s))
}

// AbortReason is the Reason/Diag. field of an A-ABORT from the provider.
type AbortReason byte

// Abort reasons (significant only when the source is the provider).
const (
	AbortNotSpecified             AbortReason = 0
	AbortUnrecognizedPDU          AbortReason = 1
	AbortUnexpectedPDU            AbortReason = 2
	AbortUnrecognizedPDUParameter AbortReason = 4
	AbortUnexpectedPDUParameter   AbortReason = 5
	AbortInvalidPDUParameter      AbortReason = 6
)

func (r AbortReason) describe(s AbortSource) string {
	if s != AbortSourceProvider {
		return "not significant"
	}
	switch r {
	case AbortNotSpecified:
		return "not specified"
	case AbortUnrecognizedPDU:
		return "unrecognized PDU"
	case AbortUnexpectedPDU:
		return "unexpected PDU"
	case AbortUnrecognizedPDUParameter:
		return "unrecognized PDU parameter"
	case AbortUnexpectedPDUParameter:
		return "unexpected PDU parameter"
	case AbortInvalidPDUParameter:
		return "invalid PDU parameter value"
	}
	return fmt.Sprintf("reason %d", byte(r))
}

// ReadPDU reads one whole PDU from r. maxLength bounds the length field of
// any PDU (0 means DefaultMaxPDULength); A-ASSOCIATE PDUs are further
// bounded by MaxAssociatePDULength. The body is read as it arrives, so a
// lying length field costs no more memory than the bytes really sent.
func ReadPDU(r io.Reader, maxLength uint32) (PDU, error) {
	var hdr [pduHeaderLength]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	t := PDUType(hdr[0])
	n := binary.BigEndian.Uint32(hdr[2:])
	if err := checkPDULength(t, n, maxLength); err != nil {
		return nil, err
	}
	body, err := readBody(r, n)
	if err != nil {
		return nil, err
	}
	return DecodePDU(t, body)
}

// checkPDULength validates a PDU header's length before any body is read.
func checkPDULength(t PDUType, n, maxLength uint32) error {
	if maxLength == 0 {
		maxLength = DefaultMaxPDULength
	}
	switch t {
	case TypeAssociateRQ, TypeAssociateAC:
		if n > MaxAssociatePDULength {
			return fmt.Errorf("%w: %s of %d bytes (limit %d)", ErrPDUTooLarge, t, n, MaxAssociatePDULength)
		}
		if n < 68 {
			return malformed("%s of %d bytes is shorter than its fixed fields", t, n)
		}
	case TypeAssociateRJ, TypeReleaseRQ, TypeReleaseRP, TypeAbort:
		if n != 4 {
			return malformed("%s length %d, want 4", t, n)
		}
	case TypePDataTF:
		if n > maxLength {
			return fmt.Errorf("%w: P-DATA-TF of %d bytes (limit %d)", ErrPDUTooLarge, n, maxLength)
		}
		if n < pdvHeaderLength {
			return malformed("P-DATA-TF of %d bytes holds no PDV", n)
		}
	default:
		return fmt.Errorf("%w: unrecognized PDU type 0x%02X", ErrMalformedPDU, byte(t))
	}
	return nil
}

// readBody reads n bytes, growing the buffer only as bytes arrive.
func readBody(r io.Reader, n uint32) ([]byte, error) {
	const chunk = 64 << 10
	if n <= chunk {
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, unexpectedEOF(err)
		}
		return b, nil
	}
	var buf bytes.Buffer
	buf.Grow(chunk)
	if _, err := io.CopyN(&buf, r, int64(n)); err != nil {
		return nil, unexpectedEOF(err)
	}
	return buf.Bytes(), nil
}

func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// DecodePDU decodes the body of a PDU of type t.
func DecodePDU(t PDUType, body []byte) (PDU, error) {
	switch t {
	case TypeAssociateRQ:
		rq := &AssociateRQ{}
		err := decodeAssociate(body, &rq.ProtocolVersion, &rq.CalledAE, &rq.CallingAE, &rq.ApplicationContext, &rq.UserInfo,
			func(item []byte) error {
				pc, err := decodeContextRQ(item)
				if err == nil {
					rq.Contexts = append(rq.Contexts, pc)
				}
				return err
			}, itemContextRQ)
		if err != nil {
			return nil, err
		}
		return rq, nil
	case TypeAssociateAC:
		ac := &AssociateAC{}
		err := decodeAssociate(body, &ac.ProtocolVersion, &ac.CalledAE, &ac.CallingAE, &ac.ApplicationContext, &ac.UserInfo,
			func(item []byte) error {
				pc, err := decodeContextAC(item)
				if err == nil {
					ac.Contexts = append(ac.Contexts, pc)
				}
				return err
			}, itemContextAC)
		if err != nil {
			return nil, err
		}
		return ac, nil
	case TypeAssociateRJ:
		if len(body) != 4 {
			return nil, malformed("A-ASSOCIATE-RJ body of %d bytes", len(body))
		}
		return &AssociateRJ{Result: RejectResult(body[1]), Source: RejectSource(body[2]), Reason: RejectReason(body[3])}, nil
	case TypePDataTF:
		return decodePData(body)
	case TypeReleaseRQ, TypeReleaseRP:
		if len(body) != 4 {
			return nil, malformed("%s body of %d bytes", t, len(body))
		}
		if t == TypeReleaseRQ {
			return &ReleaseRQ{}, nil
		}
		return &ReleaseRP{}, nil
	case TypeAbort:
		if len(body) != 4 {
			return nil, malformed("A-ABORT body of %d bytes", len(body))
		}
		return &Abort{Source: AbortSource(body[2]), Reason: AbortReason(body[3])}, nil
	}
	return nil, fmt.Errorf("%w: unrecognized PDU type 0x%02X", ErrMalformedPDU, byte(t))
}

func decodePData(body []byte) (*PDataTF, error) {
	p := &PDataTF{}
	for len(body) > 0 {
		if len(body) < pdvHeaderLength {
			return nil, malformed("PDV header cut short (%d bytes left)", len(body))
		}
		n := binary.BigEndian.Uint32(body)
		if n < 2 || uint64(n) > uint64(len(body)-4) {
			return nil, malformed("PDV length %d with %d bytes left", n, len(body)-4)
		}
		item := body[4 : 4+n]
		p.Items = append(p.Items, PDV{ContextID: item[0], Command: item[1]&1 != 0, Last: item[1]&2 != 0, Data: item[2:]})
		body = body[4+n:]
	}
	if len(p.Items) == 0 {
		return nil, malformed("P-DATA-TF holds no PDV")
	}
	return p, nil
}

// EncodePDU returns the bytes of p, header included.
func EncodePDU(p PDU) ([]byte, error) {
	b := make([]byte, pduHeaderLength, 256)
	b[0] = byte(p.Type())
	b, err := p.appendBody(b)
	if err != nil {
		return nil, err
	}
	n := len(b) - pduHeaderLength
	if uint64(n) > 0xFFFFFFFF {
		return nil, fmt.Errorf("ul: %s body of %d bytes too long", p.Type(), n)
	}
	binary.BigEndian.PutUint32(b[2:], uint32(n))
	return b, nil
}

// WritePDU encodes p and writes it to w in one Write.
func WritePDU(w io.Writer, p PDU) error {
	b, err := EncodePDU(p)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func (p *AssociateRQ) appendBody(b []byte) ([]byte, error) {
	b, err := appendAssociateHeader(b, p.ProtocolVersion, p.CalledAE, p.CallingAE, p.ApplicationContext)
	if err != nil {
		return nil, err
	}
	for _, pc := range p.Contexts {
		if b, err = pc.append(b); err != nil {
			return nil, err
		}
	}
	return p.UserInfo.append(b)
}

func (p *AssociateAC) appendBody(b []byte) ([]byte, error) {
	b, err := appendAssociateHeader(b, p.ProtocolVersion, p.CalledAE, p.CallingAE, p.ApplicationContext)
	if err != nil {
		return nil, err
	}
	for _, pc := range p.Contexts {
		if b, err = pc.append(b); err != nil {
			return nil, err
		}
	}
	return p.UserInfo.append(b)
}

func (p *AssociateRJ) appendBody(b []byte) ([]byte, error) {
	return append(b, 0, byte(p.Result), byte(p.Source), byte(p.Reason)), nil
}

func (p *PDataTF) appendBody(b []byte) ([]byte, error) {
	for _, v := range p.Items {
		b = binary.BigEndian.AppendUint32(b, uint32(len(v.Data)+2))
		b = append(b, v.ContextID, controlHeader(v.Command, v.Last))
		b = append(b, v.Data...)
	}
	return b, nil
}

func controlHeader(command, last bool) byte {
	var h byte
	if command {
		h |= 1
	}
	if last {
		h |= 2
	}
	return h
}

func (*ReleaseRQ) appendBody(b []byte) ([]byte, error) { return append(b, 0, 0, 0, 0), nil }
func (*ReleaseRP) appendBody(b []byte) ([]byte, error) { return append(b, 0, 0, 0, 0), nil }
func (p *Abort) appendBody(b []byte) ([]byte, error) {
	return append(b, 0, 0, byte(p.Source), byte(p.Reason)), nil
}

func appendAssociateHeader(b []byte, version uint16, called, calling, appCtx string) ([]byte, error) {
	b = binary.BigEndian.AppendUint16(b, version)
	b = append(b, 0, 0)
	var err error
	if b, err = appendAE(b, called); err != nil {
		return nil, fmt.Errorf("ul: called AE title: %w", err)
	}
	if b, err = appendAE(b, calling); err != nil {
		return nil, fmt.Errorf("ul: calling AE title: %w", err)
	}
	b = append(b, make([]byte, 32)...)
	if appCtx == "" {
		appCtx = ApplicationContextName
	}
	return appendItem(b, itemApplicationContext, []byte(appCtx))
}

func appendAE(b []byte, ae string) ([]byte, error) {
	if err := ValidateAETitle(ae); err != nil {
		return nil, err
	}
	b = append(b, ae...)
	for i := len(ae); i < aeTitleLength; i++ {
		b = append(b, ' ')
	}
	return b, nil
}

// ValidateAETitle checks an AE title: 1 to 16 characters of the default
// repertoire, no backslash or control characters, not all spaces.
func ValidateAETitle(ae string) error {
	if len(ae) == 0 || len(ae) > aeTitleLength {
		return fmt.Errorf("ul: AE title %q must be 1 to 16 characters", ae)
	}
	blank := true
	for i := 0; i < len(ae); i++ {
		c := ae[i]
		if c < 0x20 || c >= 0x7F || c == '\\' {
			return fmt.Errorf("ul: AE title %q holds a forbidden character", ae)
		}
		if c != ' ' {
			blank = false
		}
	}
	if blank {
		return fmt.Errorf("ul: AE title is blank")
	}
	return nil
}

// trimAE removes the space (and stray NUL) padding of an AE title field.
func trimAE(b []byte) string {
	return string(bytes.Trim(b, " \x00"))
}

// decodeAssociate decodes the body shared by A-ASSOCIATE-RQ and -AC; each
// presentation context item of type pcType goes to onContext.
func decodeAssociate(body []byte, version *uint16, called, calling, appCtx *string, ui *UserInfo,
	onContext func([]byte) error, pcType itemType) error {
	if len(body) < 68 {
		return malformed("A-ASSOCIATE body of %d bytes is shorter than its fixed fields", len(body))
	}
	*version = binary.BigEndian.Uint16(body)
	*called = trimAE(body[4:20])
	*calling = trimAE(body[20:36])
	items := body[68:]
	seenUI := false
	for len(items) > 0 {
		t, val, rest, err := nextItem(items)
		if err != nil {
			return err
		}
		items = rest
		switch t {
		case itemApplicationContext:
			*appCtx = trimUID(val)
		case pcType:
			if err := onContext(val); err != nil {
				return err
			}
		case itemUserInfo:
			if seenUI {
				return malformed("two User Information items")
			}
			seenUI = true
			if err := ui.decode(val); err != nil {
				return err
			}
		default:
			// PS3.8 9.3.1: items of unrecognized type are ignored.
		}
	}
	if *appCtx == "" {
		return malformed("A-ASSOCIATE lacks the Application Context item")
	}
	return nil
}
