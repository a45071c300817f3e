package dimse

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"iter"
	"net"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/ul"
)

// AssociationInfo describes the association a request arrived on.
type AssociationInfo struct {
	CallingAE  string
	CalledAE   string
	RemoteAddr net.Addr
	// UserIdentity is what the requestor asserted (not verified by this
	// package), nil when absent.
	UserIdentity *ul.UserIdentity
	// TLS is set when the association runs over TLS; PeerCertificates
	// then holds the client's certificate chain, if it sent one.
	TLS bool
	// ExtendedNegotiation maps SOP class UIDs to the service-class
	// application information this side answered (PS3.7 D.3.3.5).
	ExtendedNegotiation map[string][]byte
	// PeerImplementation is the requestor's implementation class UID and
	// version name.
	PeerImplementationClassUID string
	PeerImplementationVersion  string
}

func newAssociationInfo(a *ul.Association) *AssociationInfo {
	info := &AssociationInfo{
		CallingAE:                  a.CallingAE(),
		CalledAE:                   a.CalledAE(),
		RemoteAddr:                 a.RemoteAddr(),
		UserIdentity:               a.UserIdentity(),
		PeerImplementationClassUID: a.PeerUserInfo().ImplementationClassUID,
		PeerImplementationVersion:  a.PeerUserInfo().ImplementationVersionName,
	}
	_, info.TLS = a.TLS()
	if ac := a.Response(); ac != nil && len(ac.UserInfo.ExtendedNegotiations) > 0 {
		info.ExtendedNegotiation = map[string][]byte{}
		for _, e := range ac.UserInfo.ExtendedNegotiations {
			info.ExtendedNegotiation[e.SOPClassUID] = e.Info
		}
	}
	return info
}

// Result is the outcome of a C-STORE (or C-ECHO) as a handler reports it.
// The zero value is success.
type Result struct {
	Status Status
	// ErrorComment (at most 64 characters on the wire) says why, for
	// failures and warnings.
	ErrorComment string
	// OffendingElements lists the elements at fault, if known.
	OffendingElements []dicom.Tag
}

// EchoHandler answers C-ECHO. The Server answers success without one.
type EchoHandler interface {
	Echo(ctx context.Context, assoc *AssociationInfo) Status
}

// EchoHandlerFunc adapts a function to EchoHandler.
type EchoHandlerFunc func(ctx context.Context, assoc *AssociationInfo) Status

// Echo implements EchoHandler.
func (f EchoHandlerFunc) Echo(ctx context.Context, assoc *AssociationInfo) Status {
	return f(ctx, assoc)
}

// StoreRequest describes an incoming C-STORE.
type StoreRequest struct {
	Association *AssociationInfo
	// SourceAE is the AE title the instance comes from: the calling AE of
	// a C-STORE the Server receives, the called AE for the C-GET
	// sub-operations a Client receives.
	SourceAE  string
	MessageID uint16
	Priority  Priority
	// SOPClassUID and SOPInstanceUID are the command's Affected SOP
	// Class/Instance UIDs.
	SOPClassUID    string
	SOPInstanceUID string
	// TransferSyntax is the presentation context's: the encoding of the
	// data set stream.
	TransferSyntax string
	// MoveOriginatorAE and MoveOriginatorMessageID are set when the store
	// is a C-MOVE sub-operation.
	MoveOriginatorAE        string
	MoveOriginatorMessageID uint16
}

// FileMeta returns the File Meta Information group a Part 10 file of the
// instance carries.
func (r *StoreRequest) FileMeta() *dicom.Dataset {
	ds := dicom.NewDataset()
	ds.Set(dicom.NewStringElement(dicom.TagSOPClassUID, dicom.UI, r.SOPClassUID))
	ds.Set(dicom.NewStringElement(dicom.TagSOPInstanceUID, dicom.UI, r.SOPInstanceUID))
	return dicom.BuildFileMeta(ds, r.TransferSyntax, r.SourceAE)
}

// WriteFileHeader writes the 128-byte preamble, "DICM" and the File Meta
// group: followed by the data set stream, a Part 10 file.
func (r *StoreRequest) WriteFileHeader(w io.Writer) error {
	var b bytes.Buffer
	b.Write(make([]byte, 128))
	b.WriteString("DICM")
	if err := dicom.WriteDataset(&b, r.FileMeta(), dicom.EncodingExplicitLE, dicom.WriteOptions{}); err != nil {
		return err
	}
	_, err := w.Write(b.Bytes())
	return err
}

// Part10 returns a reader over the instance as a Part 10 file: the file
// header, then data.
func (r *StoreRequest) Part10(data io.Reader) io.Reader {
	var b bytes.Buffer
	if err := r.WriteFileHeader(&b); err != nil {
		return io.MultiReader(&errReader{err})
	}
	return io.MultiReader(&b, data)
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

// StoreHandler receives C-STORE data sets. data streams the data set, in
// req.TransferSyntax, as it arrives: read it to the end (what is left is
// discarded). The response goes out only when Store returns, so a handler
// that makes the instance durable first acknowledges only durable data.
// ctx ends when the association does.
type StoreHandler interface {
	Store(ctx context.Context, req *StoreRequest, data io.Reader) Result
}

// StoreHandlerFunc adapts a function to StoreHandler.
type StoreHandlerFunc func(ctx context.Context, req *StoreRequest, data io.Reader) Result

// Store implements StoreHandler.
func (f StoreHandlerFunc) Store(ctx context.Context, req *StoreRequest, data io.Reader) Result {
	return f(ctx, req, data)
}

// QueryRequest describes an incoming C-FIND.
type QueryRequest struct {
	Association *AssociationInfo
	MessageID   uint16
	Priority    Priority
	// SOPClassUID is the information model (PatientRootFind, StudyRootFind, ...).
	SOPClassUID string
	// Identifier holds the query keys, as received (its Specific
	// Character Set applies).
	Identifier *dicom.Dataset
}

// FindHandler answers C-FIND. Find returns the matches as a sequence; the
// Server sends each as a pending response while the iteration runs. ctx
// is cancelled by a C-CANCEL (or the end of the association): the
// iteration should stop early, and the Server stops ranging. A non-nil
// error ends the query with a failure status: a *StatusError chooses it,
// any other error gives C000 (unable to process) with its text.
type FindHandler interface {
	Find(ctx context.Context, req *QueryRequest) iter.Seq2[*dicom.Dataset, error]
}

// FindHandlerFunc adapts a function to FindHandler.
type FindHandlerFunc func(ctx context.Context, req *QueryRequest) iter.Seq2[*dicom.Dataset, error]

// Find implements FindHandler.
func (f FindHandlerFunc) Find(ctx context.Context, req *QueryRequest) iter.Seq2[*dicom.Dataset, error] {
	return f(ctx, req)
}

// RetrieveRequest describes an incoming C-MOVE or C-GET.
type RetrieveRequest struct {
	Association *AssociationInfo
	MessageID   uint16
	Priority    Priority
	// SOPClassUID is the information model (StudyRootMove, PatientRootGet, ...).
	SOPClassUID string
	Identifier  *dicom.Dataset
	// Destination is the C-MOVE Move Destination AE title; empty for C-GET.
	Destination string
}

// Instance is one stored instance a retrieval sends.
type Instance struct {
	SOPClassUID    string
	SOPInstanceUID string
	// TransferSyntax is the syntax the instance is stored in ("" lets
	// the sender read it from the file).
	TransferSyntax string
	// Open returns the stored Part 10 file (or bare data set).
	Open func(ctx context.Context) (InstanceReader, error)
	// Convert, when set, returns the instance re-encoded in the native
	// transfer syntax ts (Explicit VR Little Endian is asked for): the
	// retrieve path calls it when the peer accepted none of the stored
	// (compressed) syntax but an uncompressed one. Nil: it cannot be
	// converted. C-MOVE sub-associations propose Explicit and Implicit VR
	// Little Endian beside the stored syntax for instances that have it.
	Convert func(ctx context.Context, ts string) (InstanceReader, error)
}

// InstanceReader reads a stored instance: seekable and readable at
// offsets, so that bulk data is streamed from it rather than loaded (an
// *os.File and a blob.Reader qualify).
type InstanceReader interface {
	io.Reader
	io.ReaderAt
	io.Seeker
	io.Closer
}

// MoveHandler resolves a C-MOVE identifier to the instances to send; the
// Server performs the sub-operations on an association to the destination
// (found through the Server's AEResolver) and reports progress. An error
// fails the request: a *StatusError chooses the status, any other error
// gives C000 (unable to process) with its text.
type MoveHandler interface {
	Move(ctx context.Context, req *RetrieveRequest) ([]Instance, error)
}

// MoveHandlerFunc adapts a function to MoveHandler.
type MoveHandlerFunc func(ctx context.Context, req *RetrieveRequest) ([]Instance, error)

// Move implements MoveHandler.
func (f MoveHandlerFunc) Move(ctx context.Context, req *RetrieveRequest) ([]Instance, error) {
	return f(ctx, req)
}

// GetHandler resolves a C-GET identifier to the instances to send; the
// Server performs the C-STORE sub-operations on the same association, on
// the presentation contexts for which the requestor took the SCP role.
// Errors as for MoveHandler.
type GetHandler interface {
	Get(ctx context.Context, req *RetrieveRequest) ([]Instance, error)
}

// GetHandlerFunc adapts a function to GetHandler.
type GetHandlerFunc func(ctx context.Context, req *RetrieveRequest) ([]Instance, error)

// Get implements GetHandler.
func (f GetHandlerFunc) Get(ctx context.Context, req *RetrieveRequest) ([]Instance, error) {
	return f(ctx, req)
}

// RemoteAE is a peer application entity the Server can connect to.
type RemoteAE struct {
	AETitle string
	// Addr is host:port.
	Addr string
	// TLSConfig, when set, makes the association run over TLS.
	TLSConfig *tls.Config
}

// ErrUnknownAE is returned by an AEResolver for an AE title it does not know.
var ErrUnknownAE = errors.New("dimse: unknown AE title")

// AEResolver finds C-MOVE destinations by AE title.
type AEResolver interface {
	ResolveAE(ctx context.Context, aeTitle string) (RemoteAE, error)
}

// StaticAEs is an AEResolver over a fixed table keyed by AE title.
type StaticAEs map[string]RemoteAE

// ResolveAE implements AEResolver.
func (m StaticAEs) ResolveAE(_ context.Context, ae string) (RemoteAE, error) {
	if r, ok := m[ae]; ok {
		if r.AETitle == "" {
			r.AETitle = ae
		}
		return r, nil
	}
	return RemoteAE{}, ErrUnknownAE
}
