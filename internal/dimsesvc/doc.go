// Package dimsesvc owns Lightbox's DIMSE services over the archive: the
// C-ECHO, C-STORE, C-FIND, C-MOVE and C-GET handlers that a dimse.Server
// calls, and the access policy for calling AEs.
//
// It translates, and decides nothing that another package owns:
//
//   - C-STORE streams the received data set, behind a File Meta header
//     (archive.FileMetaHeader), into archive.Store and answers only once
//     the instance is durable. Failures map to the statuses of PS3.4 B.2.3:
//     A700 when the disk is full (ENOSPC, EDQUOT), A900 when the data set
//     does not match the command (SOP Class or Instance UID) or lacks an
//     identifying UID, C000 when it cannot be parsed, each with an Error
//     Comment saying why. Warnings: B000 when the index filed the instance
//     under stored demographics (an identity conflict) or kept an earlier
//     version, B007 when the data set carries no SOP Class UID.
//   - C-FIND turns the identifier into an index.Query: the matching rules
//     are the index's, never re-implemented here. Which keys match follows
//     the information model (Patient Root, Study Root, Patient/Study Only),
//     hierarchical or, when negotiated, relational (PS3.4 C.4.1.2). Every
//     requested key is returned, from the index record for keys of the
//     model and from the stored header (DICOM JSON) for the others, empty
//     when unknown. Responses are encoded in the Specific Character Set of
//     the request when it can represent them, else in ISO_IR 192.
//   - C-MOVE and C-GET resolve the identifier to stored instances; the
//     dimse.Server performs the sub-operations, in the stored transfer
//     syntax or, for uncompressed data, in the uncompressed syntax the
//     peer accepts. Move destinations come from an AEResolver over the
//     remote AE directory. Compressed instances the codec registry can
//     decode carry a Convert hook (decompress): a peer that accepts none
//     of their compressed syntax but an uncompressed one gets them in
//     Explicit VR Little Endian (or Implicit, re-encoded by package dimse).
//
// Access: a calling AE title found in the remote AE directory (Options.KnownAE)
// may use every service; an unknown one only those Options.AllowUnknown*
// allow. An unknown caller allowed nothing is rejected at association time
// (calling AE title not recognised); otherwise refused operations get
// 0124 (Refused: not authorized).
package dimsesvc
