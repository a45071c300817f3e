package dimsesvc

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/ul"
)

// Options configure a Service.
type Options struct {
	// AETitle is the archive's AE title, returned as Retrieve AE Title in
	// C-FIND responses (default dimse.DefaultAETitle).
	AETitle string
	// Logger receives service events, tagged component=dimsesvc.
	Logger *slog.Logger
	// KnownAE reports whether a calling AE title is in the remote AE
	// directory; nil means none is.
	KnownAE func(ctx context.Context, aeTitle string) bool
	// Resolver finds C-MOVE destinations (the remote AE directory); nil
	// makes every destination unknown.
	Resolver dimse.AEResolver
	// AllowUnknownStore, AllowUnknownQuery and AllowUnknownRetrieve let
	// callers that are not known use C-STORE, C-FIND, and C-MOVE/C-GET.
	AllowUnknownStore    bool
	AllowUnknownQuery    bool
	AllowUnknownRetrieve bool
	// MaxMatches caps the responses of one C-FIND; 0 means no limit.
	// A query with more matches ends after that many with A700 (out of
	// resources) and a comment saying so.
	MaxMatches int
}

// Service holds the DIMSE handlers over one archive. It is safe for
// concurrent use.
type Service struct {
	arch *archive.Archive
	opts Options
	log  *slog.Logger
}

// Guards: the Service implements every handler interface.
var (
	_ dimse.EchoHandler  = (*Service)(nil)
	_ dimse.StoreHandler = (*Service)(nil)
	_ dimse.FindHandler  = (*Service)(nil)
	_ dimse.MoveHandler  = (*Service)(nil)
	_ dimse.GetHandler   = (*Service)(nil)
)

// New returns the DIMSE services over arch, which the caller keeps owning.
func New(arch *archive.Archive, opts Options) *Service {
	if opts.AETitle == "" {
		opts.AETitle = dimse.DefaultAETitle
	}
	lg := opts.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	return &Service{arch: arch, opts: opts, log: lg.With("component", "dimsesvc")}
}

// Install sets srv's handlers, move destination resolver, association
// check and extended negotiation to the Service's. srv.AETitle is set when
// empty. A check already in srv.Authorize runs first.
func (s *Service) Install(srv *dimse.Server) {
	if srv.AETitle == "" {
		srv.AETitle = s.opts.AETitle
	}
	srv.Echo, srv.Store, srv.Find, srv.Move, srv.Get = s, s, s, s, s
	srv.AEResolver = s.opts.Resolver
	srv.ExtendedNegotiation = ExtendedNegotiation
	prev := srv.Authorize
	srv.Authorize = func(rq *ul.AssociateRQ) error {
		if prev != nil {
			if err := prev(rq); err != nil {
				return err
			}
		}
		return s.Authorize(rq)
	}
}

// service names what a caller asks to do, for the access policy.
type service int

const (
	svcStore service = iota + 1
	svcQuery
	svcRetrieve
)

func (v service) String() string {
	return [...]string{"", "store", "query", "retrieve"}[v]
}

// known reports whether the calling AE is in the remote AE directory.
func (s *Service) known(ctx context.Context, ae string) bool {
	return s.opts.KnownAE != nil && s.opts.KnownAE(ctx, strings.TrimSpace(ae))
}

// allowed reports whether the calling AE may use the service.
func (s *Service) allowed(ctx context.Context, ae string, v service) bool {
	switch {
	case v == svcStore && s.opts.AllowUnknownStore,
		v == svcQuery && s.opts.AllowUnknownQuery,
		v == svcRetrieve && s.opts.AllowUnknownRetrieve:
		return true
	}
	return s.known(ctx, ae)
}

// notAuthorized is the status of a refused operation.
func notAuthorized(ae string, v service) *dimse.StatusError {
	return dimse.NewStatusError(dimse.StatusNotAuthorized, "calling AE %q may not %s here", ae, v)
}

// Authorize rejects an association whose calling AE is unknown when
// unknown callers may use no service at all.
func (s *Service) Authorize(rq *ul.AssociateRQ) error {
	if s.opts.AllowUnknownStore || s.opts.AllowUnknownQuery || s.opts.AllowUnknownRetrieve {
		return nil
	}
	if s.known(context.Background(), rq.CallingAE) {
		return nil
	}
	s.log.Info("association from an unknown AE rejected", "calling", rq.CallingAE)
	return ul.NewRejectError(ul.RejectPermanent, ul.RejectSourceUser, ul.RejectCallingAENotRecognized,
		fmt.Sprintf("calling AE %q is not a known remote AE", rq.CallingAE))
}

// Echo answers C-ECHO with success.
func (s *Service) Echo(context.Context, *dimse.AssociationInfo) dimse.Status {
	return dimse.StatusSuccess
}

// Extended negotiation bytes (PS3.4 C.5.1.1, C.5.2.1, C.5.3.1).
const (
	extRelational       = 0 // relational queries / retrieval
	extCombinedDateTime = 1 // C-FIND: combined date and time range matching
	extFuzzyNames       = 2 // C-FIND: fuzzy semantic matching of person names
)

// ExtendedNegotiation answers SOP class extended negotiation for the
// query/retrieve SOP classes: relational queries and retrieval, combined
// date-time range matching and fuzzy person name matching are supported
// (the index implements them); timezone adjustment and enhanced
// multi-frame conversion are not. Other SOP classes get no answer.
func ExtendedNegotiation(sopClass string, info []byte) []byte {
	if _, ok := rootOf(sopClass); !ok || len(info) == 0 {
		return nil
	}
	switch dimse.ServiceOf(sopClass) {
	case dimse.ServiceFind:
		out := make([]byte, min(len(info), 3))
		for i := range out {
			out[i] = info[i] & 1
		}
		return out
	case dimse.ServiceMove, dimse.ServiceGet:
		return []byte{info[extRelational] & 1}
	}
	return nil
}

// negotiated reports whether byte i of the extended negotiation answered
// for sopClass is 1.
func negotiated(a *dimse.AssociationInfo, sopClass string, i int) bool {
	if a == nil {
		return false
	}
	b := a.ExtendedNegotiation[sopClass]
	return len(b) > i && b[i] == 1
}
