package ul

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// itemType is the first byte of a variable item or sub-item (PS3.8 9.3.2).
type itemType byte

const (
	itemApplicationContext itemType = 0x10
	itemContextRQ          itemType = 0x20
	itemContextAC          itemType = 0x21
	itemAbstractSyntax     itemType = 0x30
	itemTransferSyntax     itemType = 0x40
	itemUserInfo           itemType = 0x50
	// User Information sub-items (PS3.8 D.1, PS3.7 D.3.3).
	itemMaxLength           itemType = 0x51
	itemImplementationClass itemType = 0x52
	itemAsyncOps            itemType = 0x53
	itemRoleSelection       itemType = 0x54
	itemImplementationVer   itemType = 0x55
	itemExtendedNeg         itemType = 0x56
	itemCommonExtendedNeg   itemType = 0x57
	itemUserIdentityRQ      itemType = 0x58
	itemUserIdentityAC      itemType = 0x59
)

// ContextRQ is a proposed presentation context (PS3.8 9.3.2.2).
type ContextRQ struct {
	// ID is odd, 1 to 255.
	ID               byte
	AbstractSyntax   string
	TransferSyntaxes []string
}

// ContextResult is the Result/Reason of a presentation context in an
// A-ASSOCIATE-AC (PS3.8 9.3.3.2).
type ContextResult byte

// Presentation context results.
const (
	ContextAccepted                     ContextResult = 0
	ContextUserRejection                ContextResult = 1
	ContextProviderRejection            ContextResult = 2 // no reason
	ContextAbstractSyntaxNotSupported   ContextResult = 3
	ContextTransferSyntaxesNotSupported ContextResult = 4
)

func (r ContextResult) String() string {
	switch r {
	case ContextAccepted:
		return "acceptance"
	case ContextUserRejection:
		return "user-rejection"
	case ContextProviderRejection:
		return "no-reason (provider rejection)"
	case ContextAbstractSyntaxNotSupported:
		return "abstract-syntax-not-supported (provider rejection)"
	case ContextTransferSyntaxesNotSupported:
		return "transfer-syntaxes-not-supported (provider rejection)"
	}
	return fmt.Sprintf("result %d", byte(r))
}

// ContextAC is the answer to one proposed presentation context.
type ContextAC struct {
	ID     byte
	Result ContextResult
	// TransferSyntax is the accepted syntax; not significant unless Result
	// is ContextAccepted.
	TransferSyntax string
}

// UserInfo is the User Information item and its sub-items.
type UserInfo struct {
	// MaxPDULength is the longest P-DATA-TF the sender receives; 0 means
	// no limit.
	MaxPDULength              uint32
	ImplementationClassUID    string
	ImplementationVersionName string
	// AsyncOps is the asynchronous operations window, nil when absent
	// (which means 1/1).
	AsyncOps *AsyncOpsWindow
	// Roles holds the SCP/SCU role selection items.
	Roles []RoleSelection
	// ExtendedNegotiations holds the SOP class extended negotiation items.
	ExtendedNegotiations []ExtendedNegotiation
	// CommonExtendedNegotiations holds the SOP class common extended
	// negotiation items (requests only).
	CommonExtendedNegotiations []CommonExtendedNegotiation
	// UserIdentity is the user identity negotiation request, nil when absent.
	UserIdentity *UserIdentity
	// UserIdentityResponse is the acceptor's answer (A-ASSOCIATE-AC only),
	// nil when absent.
	UserIdentityResponse []byte
	// Unknown holds sub-items of unrecognized type, kept as read.
	Unknown []RawItem
}

// RawItem is a sub-item this package does not interpret.
type RawItem struct {
	Type  byte
	Value []byte
}

// AsyncOpsWindow is the asynchronous operations window sub-item (PS3.7 D.3.3.3).
type AsyncOpsWindow struct {
	Invoked   uint16 // maximum number of operations invoked; 0 means unlimited
	Performed uint16 // maximum number of operations performed; 0 means unlimited
}

// RoleSelection is an SCP/SCU role selection sub-item (PS3.7 D.3.3.4): in
// a request, the roles the requestor proposes to take for the SOP class; in
// an answer, the ones the acceptor agrees to.
type RoleSelection struct {
	SOPClassUID string
	SCU, SCP    bool
}

// ExtendedNegotiation is a SOP class extended negotiation sub-item (PS3.7
// D.3.3.5): service-class-specific application information.
type ExtendedNegotiation struct {
	SOPClassUID string
	Info        []byte
}

// CommonExtendedNegotiation is a SOP class common extended negotiation
// sub-item (PS3.7 D.3.3.6).
type CommonExtendedNegotiation struct {
	SOPClassUID              string
	ServiceClassUID          string
	RelatedGeneralSOPClasses []string
}

// User identity types (PS3.7 D.3.3.7).
const (
	UserIdentityUsername         byte = 1
	UserIdentityUsernamePasscode byte = 2
	UserIdentityKerberos         byte = 3
	UserIdentitySAML             byte = 4
	UserIdentityJWT              byte = 5
)

// UserIdentity is a user identity negotiation request (PS3.7 D.3.3.7).
type UserIdentity struct {
	Type                      byte
	PositiveResponseRequested bool
	// Primary is the username, Kerberos ticket, SAML assertion or JWT.
	Primary []byte
	// Secondary is the passcode for UserIdentityUsernamePasscode.
	Secondary []byte
}

// String describes the identity without its secrets.
func (u *UserIdentity) String() string {
	if u == nil {
		return "none"
	}
	switch u.Type {
	case UserIdentityUsername:
		return fmt.Sprintf("username %q", u.Primary)
	case UserIdentityUsernamePasscode:
		return fmt.Sprintf("username %q with passcode", u.Primary)
	case UserIdentityKerberos:
		return "Kerberos ticket"
	case UserIdentitySAML:
		return "SAML assertion"
	case UserIdentityJWT:
		return "JSON web token"
	}
	return fmt.Sprintf("user identity type %d", u.Type)
}

// nextItem splits the first item (type, 1 reserved byte, 16-bit length)
// off b.
func nextItem(b []byte) (t itemType, val, rest []byte, err error) {
	if len(b) < 4 {
		return 0, nil, nil, malformed("item header cut short (%d bytes left)", len(b))
	}
	n := int(binary.BigEndian.Uint16(b[2:]))
	if n > len(b)-4 {
		return 0, nil, nil, malformed("item 0x%02X length %d with %d bytes left", b[0], n, len(b)-4)
	}
	return itemType(b[0]), b[4 : 4+n], b[4+n:], nil
}

func appendItem(b []byte, t itemType, val []byte) ([]byte, error) {
	if len(val) > 0xFFFF {
		return nil, fmt.Errorf("ul: item 0x%02X of %d bytes too long", byte(t), len(val))
	}
	b = append(b, byte(t), 0)
	b = binary.BigEndian.AppendUint16(b, uint16(len(val)))
	return append(b, val...), nil
}

// trimUID removes trailing NUL and space padding some implementations put
// in UID fields.
func trimUID(b []byte) string { return strings.TrimRight(string(b), "\x00 ") }

func checkUID(what, uid string) error {
	if len(uid) == 0 || len(uid) > 64 {
		return fmt.Errorf("ul: %s %q must be 1 to 64 characters", what, uid)
	}
	return nil
}

func (pc *ContextRQ) append(b []byte) ([]byte, error) {
	if err := checkUID("abstract syntax", pc.AbstractSyntax); err != nil {
		return nil, err
	}
	if len(pc.TransferSyntaxes) == 0 {
		return nil, fmt.Errorf("ul: presentation context %d proposes no transfer syntax", pc.ID)
	}
	v := []byte{pc.ID, 0, 0, 0}
	v, _ = appendItem(v, itemAbstractSyntax, []byte(pc.AbstractSyntax))
	for _, ts := range pc.TransferSyntaxes {
		if err := checkUID("transfer syntax", ts); err != nil {
			return nil, err
		}
		v, _ = appendItem(v, itemTransferSyntax, []byte(ts))
	}
	return appendItem(b, itemContextRQ, v)
}

func decodeContextRQ(val []byte) (ContextRQ, error) {
	if len(val) < 4 {
		return ContextRQ{}, malformed("presentation context item of %d bytes", len(val))
	}
	pc := ContextRQ{ID: val[0]}
	sub := val[4:]
	for len(sub) > 0 {
		t, v, rest, err := nextItem(sub)
		if err != nil {
			return pc, err
		}
		sub = rest
		switch t {
		case itemAbstractSyntax:
			if pc.AbstractSyntax != "" {
				return pc, malformed("presentation context %d has two abstract syntaxes", pc.ID)
			}
			pc.AbstractSyntax = trimUID(v)
		case itemTransferSyntax:
			pc.TransferSyntaxes = append(pc.TransferSyntaxes, trimUID(v))
		}
	}
	return pc, nil
}

func (pc *ContextAC) append(b []byte) ([]byte, error) {
	ts := pc.TransferSyntax
	if ts == "" {
		// Not significant when rejected, but some peers want the sub-item.
		ts = "1.2.840.10008.1.2"
	}
	v := []byte{pc.ID, 0, byte(pc.Result), 0}
	v, _ = appendItem(v, itemTransferSyntax, []byte(ts))
	return appendItem(b, itemContextAC, v)
}

func decodeContextAC(val []byte) (ContextAC, error) {
	if len(val) < 4 {
		return ContextAC{}, malformed("presentation context item of %d bytes", len(val))
	}
	pc := ContextAC{ID: val[0], Result: ContextResult(val[2])}
	sub := val[4:]
	for len(sub) > 0 {
		t, v, rest, err := nextItem(sub)
		if err != nil {
			return pc, err
		}
		sub = rest
		if t == itemTransferSyntax {
			pc.TransferSyntax = trimUID(v)
		}
	}
	if pc.Result == ContextAccepted && pc.TransferSyntax == "" {
		return pc, malformed("accepted presentation context %d has no transfer syntax", pc.ID)
	}
	if pc.Result != ContextAccepted {
		pc.TransferSyntax = "" // PS3.8 9.3.3.2: present but ignored when not accepted
	}
	return pc, nil
}

// appendUID16 appends a 16-bit length and a UID.
func appendUID16(b []byte, uid string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(uid)))
	return append(b, uid...)
}

// takeUID16 reads a 16-bit length and that many bytes.
func takeUID16(b []byte, what string) (string, []byte, error) {
	if len(b) < 2 {
		return "", nil, malformed("%s length cut short", what)
	}
	n := int(binary.BigEndian.Uint16(b))
	if n > len(b)-2 {
		return "", nil, malformed("%s length %d with %d bytes left", what, n, len(b)-2)
	}
	return trimUID(b[2 : 2+n]), b[2+n:], nil
}

func (u *UserInfo) append(b []byte) ([]byte, error) {
	var v []byte
	v, _ = appendItem(v, itemMaxLength, binary.BigEndian.AppendUint32(nil, u.MaxPDULength))
	if u.ImplementationClassUID != "" {
		v, _ = appendItem(v, itemImplementationClass, []byte(u.ImplementationClassUID))
	}
	if u.AsyncOps != nil {
		w := binary.BigEndian.AppendUint16(nil, u.AsyncOps.Invoked)
		v, _ = appendItem(v, itemAsyncOps, binary.BigEndian.AppendUint16(w, u.AsyncOps.Performed))
	}
	var err error
	for _, r := range u.Roles {
		w := appendUID16(nil, r.SOPClassUID)
		w = append(w, boolByte(r.SCU), boolByte(r.SCP))
		if v, err = appendItem(v, itemRoleSelection, w); err != nil {
			return nil, err
		}
	}
	if u.ImplementationVersionName != "" {
		if len(u.ImplementationVersionName) > 16 {
			return nil, fmt.Errorf("ul: implementation version name %q longer than 16", u.ImplementationVersionName)
		}
		v, _ = appendItem(v, itemImplementationVer, []byte(u.ImplementationVersionName))
	}
	for _, e := range u.ExtendedNegotiations {
		w := appendUID16(nil, e.SOPClassUID)
		if v, err = appendItem(v, itemExtendedNeg, append(w, e.Info...)); err != nil {
			return nil, err
		}
	}
	for _, c := range u.CommonExtendedNegotiations {
		w := appendUID16(nil, c.SOPClassUID)
		w = appendUID16(w, c.ServiceClassUID)
		var rel []byte
		for _, r := range c.RelatedGeneralSOPClasses {
			rel = appendUID16(rel, r)
		}
		w = binary.BigEndian.AppendUint16(w, uint16(len(rel)))
		w = append(w, rel...)
		// The byte after the type is the sub-item version (0), not reserved.
		if v, err = appendItem(v, itemCommonExtendedNeg, w); err != nil {
			return nil, err
		}
	}
	if id := u.UserIdentity; id != nil {
		w := []byte{id.Type, boolByte(id.PositiveResponseRequested)}
		w = binary.BigEndian.AppendUint16(w, uint16(len(id.Primary)))
		w = append(w, id.Primary...)
		w = binary.BigEndian.AppendUint16(w, uint16(len(id.Secondary)))
		w = append(w, id.Secondary...)
		if v, err = appendItem(v, itemUserIdentityRQ, w); err != nil {
			return nil, err
		}
	}
	if u.UserIdentityResponse != nil {
		w := binary.BigEndian.AppendUint16(nil, uint16(len(u.UserIdentityResponse)))
		if v, err = appendItem(v, itemUserIdentityAC, append(w, u.UserIdentityResponse...)); err != nil {
			return nil, err
		}
	}
	for _, r := range u.Unknown {
		if v, err = appendItem(v, itemType(r.Type), r.Value); err != nil {
			return nil, err
		}
	}
	return appendItem(b, itemUserInfo, v)
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

func (u *UserInfo) decode(val []byte) error {
	for len(val) > 0 {
		t, v, rest, err := nextItem(val)
		if err != nil {
			return err
		}
		val = rest
		switch t {
		case itemMaxLength:
			if len(v) != 4 {
				return malformed("maximum length sub-item of %d bytes", len(v))
			}
			u.MaxPDULength = binary.BigEndian.Uint32(v)
		case itemImplementationClass:
			u.ImplementationClassUID = trimUID(v)
		case itemImplementationVer:
			u.ImplementationVersionName = strings.TrimRight(string(v), "\x00 ")
		case itemAsyncOps:
			if len(v) != 4 {
				return malformed("asynchronous operations window sub-item of %d bytes", len(v))
			}
			u.AsyncOps = &AsyncOpsWindow{Invoked: binary.BigEndian.Uint16(v), Performed: binary.BigEndian.Uint16(v[2:])}
		case itemRoleSelection:
			uid, rest, err := takeUID16(v, "role selection SOP class UID")
			if err != nil {
				return err
			}
			if len(rest) != 2 {
				return malformed("role selection sub-item for %s has %d role bytes", uid, len(rest))
			}
			u.Roles = append(u.Roles, RoleSelection{SOPClassUID: uid, SCU: rest[0] == 1, SCP: rest[1] == 1})
		case itemExtendedNeg:
			uid, rest, err := takeUID16(v, "extended negotiation SOP class UID")
			if err != nil {
				return err
			}
			u.ExtendedNegotiations = append(u.ExtendedNegotiations, ExtendedNegotiation{SOPClassUID: uid, Info: append([]byte(nil), rest...)})
		case itemCommonExtendedNeg:
			c, err := decodeCommonExtended(v)
			if err != nil {
				return err
			}
			u.CommonExtendedNegotiations = append(u.CommonExtendedNegotiations, c)
		case itemUserIdentityRQ:
			id, err := decodeUserIdentity(v)
			if err != nil {
				return err
			}
			u.UserIdentity = id
		case itemUserIdentityAC:
			if len(v) < 2 {
				return malformed("user identity response sub-item of %d bytes", len(v))
			}
			n := int(binary.BigEndian.Uint16(v))
			if n > len(v)-2 {
				return malformed("user identity server response length %d with %d bytes", n, len(v)-2)
			}
			u.UserIdentityResponse = append([]byte{}, v[2:2+n]...)
		default:
			u.Unknown = append(u.Unknown, RawItem{Type: byte(t), Value: append([]byte(nil), v...)})
		}
	}
	return nil
}

func decodeCommonExtended(v []byte) (CommonExtendedNegotiation, error) {
	var c CommonExtendedNegotiation
	var err error
	if c.SOPClassUID, v, err = takeUID16(v, "common extended negotiation SOP class UID"); err != nil {
		return c, err
	}
	if c.ServiceClassUID, v, err = takeUID16(v, "common extended negotiation service class UID"); err != nil {
		return c, err
	}
	if len(v) < 2 {
		return c, malformed("common extended negotiation lacks related classes length")
	}
	n := int(binary.BigEndian.Uint16(v))
	if n > len(v)-2 {
		return c, malformed("related general SOP classes length %d with %d bytes", n, len(v)-2)
	}
	rel := v[2 : 2+n]
	for len(rel) > 0 {
		var uid string
		if uid, rel, err = takeUID16(rel, "related general SOP class UID"); err != nil {
			return c, err
		}
		c.RelatedGeneralSOPClasses = append(c.RelatedGeneralSOPClasses, uid)
	}
	return c, nil
}

func decodeUserIdentity(v []byte) (*UserIdentity, error) {
	if len(v) < 4 {
		return nil, malformed("user identity sub-item of %d bytes", len(v))
	}
	id := &UserIdentity{Type: v[0], PositiveResponseRequested: v[1] == 1}
	n := int(binary.BigEndian.Uint16(v[2:]))
	if n > len(v)-4 {
		return nil, malformed("user identity primary field length %d with %d bytes", n, len(v)-4)
	}
	id.Primary = append([]byte{}, v[4:4+n]...)
	rest := v[4+n:]
	if len(rest) >= 2 {
		m := int(binary.BigEndian.Uint16(rest))
		if m > len(rest)-2 {
			return nil, malformed("user identity secondary field length %d with %d bytes", m, len(rest)-2)
		}
		id.Secondary = append([]byte{}, rest[2:2+m]...)
	}
	return id, nil
}
