// Package dimse owns the DICOM message service element (PS3.7) on top of
// package ul: command sets and statuses, the SCU Client (C-ECHO, C-STORE,
// C-FIND, C-MOVE, C-GET), and the SCP Server with one handler interface
// per service.
//
// The Server follows the net/http contract (Serve, Shutdown, Close,
// ErrServerClosed). Handlers know nothing of the upper layer: a
// StoreHandler receives the data set as a stream, in the negotiated
// transfer syntax, and its Result is sent only once it returns, so that
// an archive can make the instance durable before acknowledging it; a
// FindHandler yields matches as an iterator and sees C-CANCEL as the end
// of its context; MoveHandler and GetHandler only resolve an identifier
// to stored instances, and the Server performs the C-STORE
// sub-operations, counts them, and reports failed instances.
//
// Storage is accepted by default for every SOP class that is not a
// registered SOP class of another service, private and unknown ones
// included, in every registered transfer syntax: a PACS keeps what it is
// sent. Command sets are always Implicit VR Little Endian (PS3.7 6.3.1)
// and are encoded and decoded with package dicom.
package dimse
