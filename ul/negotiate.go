package ul

import (
	"errors"
	"fmt"
	"slices"
)

// PresentationContext is the outcome of negotiating one proposed
// presentation context.
type PresentationContext struct {
	ID             byte
	AbstractSyntax string
	// TransferSyntax is the accepted transfer syntax ("" when rejected).
	TransferSyntax string
	Result         ContextResult
	// SCURole and SCPRole are the roles the association requestor may
	// take for this context's SOP class (PS3.7 D.3.3.4). Without role
	// negotiation the requestor is SCU only.
	SCURole, SCPRole bool
}

// Accepted reports whether the context was accepted.
func (pc PresentationContext) Accepted() bool { return pc.Result == ContextAccepted }

// negotiation is what both sides know once A-ASSOCIATE-AC is exchanged.
type negotiation struct {
	contexts []PresentationContext
	// byID indexes accepted contexts.
	byID [256]*PresentationContext
}

func (n *negotiation) index() {
	for i := range n.contexts {
		if n.contexts[i].Accepted() {
			n.byID[n.contexts[i].ID] = &n.contexts[i]
		}
	}
}

// negotiate builds the acceptor's answer to rq, or the rejection.
func negotiate(rq *AssociateRQ, cfg *AcceptConfig) (*AssociateAC, *negotiation, *RejectError) {
	if rq.ProtocolVersion&ProtocolVersion == 0 {
		return nil, nil, &RejectError{Result: RejectPermanent, Source: RejectSourceACSE, Reason: RejectProtocolVersionNotSupported,
			Detail: fmt.Sprintf("protocol version 0x%04X", rq.ProtocolVersion)}
	}
	if rq.ApplicationContext != ApplicationContextName {
		return nil, nil, &RejectError{Result: RejectPermanent, Source: RejectSourceUser, Reason: RejectApplicationContextNotSupp,
			Detail: fmt.Sprintf("application context %q", rq.ApplicationContext)}
	}
	if rq.UserInfo.MaxPDULength != 0 && rq.UserInfo.MaxPDULength < MinPDULength {
		return nil, nil, &RejectError{Result: RejectPermanent, Source: RejectSourceUser, Reason: RejectNoReason,
			Detail: fmt.Sprintf("maximum PDU length %d below %d", rq.UserInfo.MaxPDULength, MinPDULength)}
	}
	if cfg.Check != nil {
		if err := cfg.Check(rq); err != nil {
			return nil, nil, asReject(err)
		}
	}
	ac := &AssociateAC{
		ProtocolVersion:    ProtocolVersion,
		CalledAE:           rq.CalledAE,
		CallingAE:          rq.CallingAE,
		ApplicationContext: ApplicationContextName,
		UserInfo: UserInfo{
			MaxPDULength:              cfg.MaxPDULength,
			ImplementationClassUID:    cfg.ImplementationClassUID,
			ImplementationVersionName: cfg.ImplementationVersionName,
		},
	}
	if cfg.UserIdentity != nil {
		resp, err := cfg.UserIdentity(rq.UserInfo.UserIdentity)
		if err != nil {
			return nil, nil, asReject(err)
		}
		if id := rq.UserInfo.UserIdentity; id != nil && id.PositiveResponseRequested && resp != nil {
			ac.UserInfo.UserIdentityResponse = resp
		}
	}
	if rq.UserInfo.AsyncOps != nil {
		// This implementation performs one operation at a time (PS3.7 D.3.3.3).
		ac.UserInfo.AsyncOps = &AsyncOpsWindow{Invoked: 1, Performed: 1}
	}

	// Role selection: the roles proposed for a SOP class apply to every
	// context with that abstract syntax.
	type roles struct{ scu, scp bool }
	accepted := map[string]roles{}
	for _, r := range rq.UserInfo.Roles {
		if _, dup := accepted[r.SOPClassUID]; dup {
			continue
		}
		scu, scp := r.SCU, r.SCP
		if cfg.Role != nil {
			a, b := cfg.Role(r.SOPClassUID, r.SCU, r.SCP)
			scu, scp = r.SCU && a, r.SCP && b
		}
		accepted[r.SOPClassUID] = roles{scu, scp}
		ac.UserInfo.Roles = append(ac.UserInfo.Roles, RoleSelection{SOPClassUID: r.SOPClassUID, SCU: scu, SCP: scp})
	}

	neg := &negotiation{}
	seen := map[byte]bool{}
	for _, p := range rq.Contexts {
		if p.ID%2 == 0 || seen[p.ID] {
			return nil, nil, &RejectError{Result: RejectPermanent, Source: RejectSourceUser, Reason: RejectNoReason,
				Detail: fmt.Sprintf("presentation context ID %d is even or repeated", p.ID)}
		}
		seen[p.ID] = true
		pc := PresentationContext{ID: p.ID, AbstractSyntax: p.AbstractSyntax, SCURole: true}
		if r, ok := accepted[p.AbstractSyntax]; ok {
			pc.SCURole, pc.SCPRole = r.scu, r.scp
		}
		switch {
		case p.AbstractSyntax == "":
			pc.Result = ContextAbstractSyntaxNotSupported
		case cfg.Context == nil:
			pc.Result = ContextProviderRejection
		default:
			ts, res := cfg.Context(p.AbstractSyntax, p.TransferSyntaxes)
			pc.Result = res
			if res == ContextAccepted {
				if !slices.Contains(p.TransferSyntaxes, ts) {
					// A policy bug must not produce an answer the peer cannot use.
					pc.Result = ContextTransferSyntaxesNotSupported
				} else {
					pc.TransferSyntax = ts
				}
			}
		}
		neg.contexts = append(neg.contexts, pc)
		ac.Contexts = append(ac.Contexts, ContextAC{ID: pc.ID, Result: pc.Result, TransferSyntax: pc.TransferSyntax})
	}
	neg.index()

	if cfg.ExtendedNegotiation != nil {
		for _, e := range rq.UserInfo.ExtendedNegotiations {
			if reply := cfg.ExtendedNegotiation(e.SOPClassUID, e.Info); reply != nil {
				ac.UserInfo.ExtendedNegotiations = append(ac.UserInfo.ExtendedNegotiations, ExtendedNegotiation{SOPClassUID: e.SOPClassUID, Info: reply})
			}
		}
	}
	return ac, neg, nil
}

func asReject(err error) *RejectError {
	var rj *RejectError
	if errors.As(err, &rj) {
		return rj
	}
	return &RejectError{Result: RejectPermanent, Source: RejectSourceUser, Reason: RejectNoReason, Detail: err.Error()}
}

// applyAC works out, on the requestor's side, what the acceptor agreed to.
func applyAC(rq *AssociateRQ, ac *AssociateAC) (*negotiation, error) {
	if ac.UserInfo.MaxPDULength != 0 && ac.UserInfo.MaxPDULength < MinPDULength {
		return nil, fmt.Errorf("%w: acceptor's maximum PDU length %d below %d", ErrProtocol, ac.UserInfo.MaxPDULength, MinPDULength)
	}
	answers := map[byte]ContextAC{}
	for _, c := range ac.Contexts {
		answers[c.ID] = c
	}
	proposedRoles := map[string]RoleSelection{}
	for _, r := range rq.UserInfo.Roles {
		proposedRoles[r.SOPClassUID] = r
	}
	acceptedRoles := map[string]RoleSelection{}
	for _, r := range ac.UserInfo.Roles {
		if p, ok := proposedRoles[r.SOPClassUID]; ok {
			acceptedRoles[r.SOPClassUID] = RoleSelection{SOPClassUID: r.SOPClassUID, SCU: p.SCU && r.SCU, SCP: p.SCP && r.SCP}
		}
	}
	neg := &negotiation{}
	for _, p := range rq.Contexts {
		pc := PresentationContext{ID: p.ID, AbstractSyntax: p.AbstractSyntax, SCURole: true, Result: ContextProviderRejection}
		if r, ok := acceptedRoles[p.AbstractSyntax]; ok {
			pc.SCURole, pc.SCPRole = r.SCU, r.SCP
		}
		if a, ok := answers[p.ID]; ok {
			pc.Result = a.Result
			if a.Result == ContextAccepted {
				if slices.Contains(p.TransferSyntaxes, a.TransferSyntax) {
					pc.TransferSyntax = a.TransferSyntax
				} else {
					pc.Result = ContextTransferSyntaxesNotSupported
				}
			}
		}
		neg.contexts = append(neg.contexts, pc)
	}
	neg.index()
	return neg, nil
}
