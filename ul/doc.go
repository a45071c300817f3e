// Package ul owns the DICOM upper layer (PS3.8): the protocol data units
// and their byte layout, association negotiation (presentation contexts,
// transfer syntaxes, SCP/SCU role selection, SOP class extended and common
// extended negotiation, user identity, maximum PDU length, asynchronous
// operations window, implementation identity), and the Association, which
// runs the PS3.8 state machine for either side of a TCP or TLS connection.
//
// An Association carries DIMSE messages as streams of presentation data
// values: ReadCommand returns one command set (small and bounded), and
// Data streams the data set that follows as its P-DATA-TF PDUs arrive, so
// a large instance is never held in memory. WriteMessage fragments an
// outgoing command and data set into PDUs no larger than the peer accepts.
//
// Nothing is allocated from a length field before the length has been
// checked against a limit: PDU bodies other than P-DATA-TF are bounded by
// MaxAssociatePDULength, P-DATA-TF bodies by the maximum PDU length this
// side announced, and P-DATA values are streamed rather than buffered.
//
// Timers (PS3.8 9.1.5 and beyond): the ARTIM timer bounds the wait for an
// A-ASSOCIATE-RQ, A-ASSOCIATE-AC/RJ and A-RELEASE-RP and for the peer to
// close the transport after a release or abort; an idle timeout bounds the
// wait for the next message; a read timeout bounds a stall inside a
// message, and a write timeout a peer that stops reading. A peer that sends
// garbage, stalls or vanishes therefore costs one goroutine for a bounded
// time. ul knows nothing of DIMSE command sets; package dimse builds on it.
package ul
