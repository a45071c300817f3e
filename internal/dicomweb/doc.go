// Package dicomweb owns Lightbox's DICOMweb services (PS3.18) over the
// archive: QIDO-RS search, WADO-RS retrieve (instances, metadata, bulk
// data, frames), STOW-RS store, WADO-URI and DELETE. [New] returns an
// http.Handler that serves them under a path prefix (default /dicom-web).
//
// The package knows HTTP and the DICOMweb conventions, nothing about
// storage: every instance is stored through [archive.Archive.Store] (so
// STOW-RS has the durability rule of C-STORE), read back from the blob
// store as a stream, and every search is translated into an
// [index.Query], whose matching rules are the ones C-FIND uses; no
// matching is re-implemented here.
//
// # Design notes
//
//   - Streaming: study and series retrieval write one multipart part per
//     instance, copied from its blob; only the list of index records is held
//     in memory. Frames and bulk data are read by offset from the blob
//     (io.ReaderAt), using the header offsets the dicom reader records.
//   - /metadata is served from the index alone: the header JSON stored at
//     ingest keeps every bulk element, nested ones included, as a relative
//     BulkDataURI (bulkdata/<path>), made absolute under the instance URL
//     when written; (0002,0010) is added from the record. Rows stored
//     before that format (no completeness marker, see
//     archive.HeaderComplete) re-read the header from their blob, bulk data
//     skipped by seeking, through a bounded in-memory cache keyed by SOP
//     Instance UID and content digest. QIDO-RS includefield strips the
//     stored BulkDataURIs.
//   - Frames of a syntax no registered codec decodes are delimited with
//     codec.LocateFrames (offset tables, then frame-start markers) and
//     sent as stored.
//   - Transfer syntaxes: the stored bytes are returned unchanged when the
//     client accepts them (transfer-syntax=*, the stored syntax, or, for
//     whole instances, no transfer-syntax parameter, which is what common
//     clients send). Other syntaxes go through Options.Transcoder:
//     [CodecTranscoder] decodes anything the pixel codec registry can read
//     and writes Explicit VR Little Endian (streamed frame by frame) or
//     any syntax a registered codec encodes (RLE, JPEG-LS lossless and
//     near-lossless, JPEG 2000 lossless, JPEG baseline, Deflated Image
//     Frame Compression), native to compressed and compressed to
//     compressed. Instances are converted one at a time, never a whole
//     study: an instance's encoded pixel data is held in memory (to write
//     a Basic Offset Table, or a lossy ratio) up to
//     CodecTranscoder.StreamAbove (64 MiB native), and a larger one is
//     streamed frame by frame behind an empty Basic Offset Table. The Accept header's media ranges are
//     tried in q order: an instance (or the first frame) that a candidate
//     cannot represent (JPEG baseline of 16-bit samples, float pixels)
//     moves on to the next; when none works the answer is 406 Not
//     Acceptable with the reasons, and when that happens to a later
//     instance of a study already under way the response is aborted.
//     Lossless is the default: a lossy syntax is produced only when the
//     client names it, in a transfer-syntax parameter or as image/jpeg
//     (whose default syntax is JPEG baseline, PS3.18 Table 8.7.3-5),
//     never from "*" or a wildcard type. A lossy whole instance is a new
//     instance (codec.DeriveLossy, PS3.3 C.7.6.1.1.5): SOP Instance UID
//     derived under Lightbox's root, Image Type DERIVED, Derivation
//     Description and Code, Source Image Sequence naming the original,
//     Lossy Image Compression 01 with ratio and method. Frames: the media
//     types image/jls, image/jp2, image/jpeg, image/x-dicom-rle (and
//     image/dicom-rle) without transfer-syntax mean their default syntax;
//     application/octet-stream takes any transfer-syntax. Frames asked as
//     application/octet-stream without transfer-syntax are decoded when a
//     transcoder can, and otherwise sent as stored, labelled with their
//     real syntax.
//   - STOW-RS reads the multipart body as a stream. Parts up to 4 MiB are
//     held in memory and stored up to 8 at a time (so that they share the
//     archive's group commit); larger parts stream straight into the
//     archive. With a study in the path, an instance of another study is
//     refused before anything is stored (FailureReason 0xA900). Besides
//     type="application/dicom", STOW-RS takes metadata with bulk data
//     (stow_bulk.go): type="application/dicom+json" (each metadata part a
//     JSON array of instances) or "application/dicom+xml" (one PS3.19
//     NativeDicomModel per part, package dicomxml), whose BulkDataURIs
//     name later parts by Content-Location (or cid: Content-ID). Bulk parts
//     are application/octet-stream (native Pixel Data, whose size must
//     match Rows, Columns, Samples per Pixel, Bits Allocated and Number of
//     Frames, or any other bulk value) or a compressed pixel data type
//     (image/jpeg, image/jls, image/jp2, image/jpx, image/jphc, image/jxl,
//     image/dicom-rle, with an optional transfer-syntax parameter), one
//     part per frame sharing the Content-Location; these set the
//     instance's transfer syntax and are encapsulated. Each instance is
//     written as Part 10 (File Meta built here, any group 0002 from the
//     client dropped) and stored like an application/dicom part. A missing
//     or unresolved bulk part, a pixel data size or frame count that does
//     not match, or undecodable metadata fails that instance only
//     (FailedSOPSequence, FailureReason 0xC000 or 0xA900, and a Warning
//     header with the reason). Memory is bounded: a metadata part is at
//     most 32 MiB and all of them 128 MiB; bulk parts go to one temporary
//     file per request. The response is DICOM JSON, or DICOM XML when the
//     Accept header asks for application/dicom+xml; QIDO-RS and /metadata
//     likewise answer multipart/related; type="application/dicom+xml"
//     (xml.go, each data set converted from its JSON, /metadata streamed
//     one instance at a time).
//   - Rendered resources (PS3.18 10.4, rendered.go): /rendered of an
//     instance (its first frame) or of one frame, and /thumbnail of an
//     instance, a frame, a series or a study (the middle image, by
//     Instance Number, of the first series with images), rendered by
//     package imaging (VOI from the data set unless window= is given) and
//     encoded as image/jpeg (the default) or image/png; any other Accept
//     is 406. Parameters: window=center,width[,linear|linear-exact|sigmoid],
//     viewport=vw,vh[,sx,sy,sw,sh] (no flipping), quality=1..100;
//     annotation and unknown parameters are ignored; malformed values are
//     400. Thumbnails fit a 128-pixel square unless a viewport is given.
//     Several images (rendered_parts.go): /frames/{list}/rendered with
//     more than one frame, and /rendered of a series or a study, answer
//     multipart/related; type="image/jpeg" (the default) or "image/png"
//     (a plain image/jpeg or image/png Accept names the part type), one
//     rendered image per frame with a Content-Location naming it: the
//     frames in the order listed, or every frame of every image instance
//     in display order (series by Series Number, instances by Instance
//     Number), streamed one image at a time. Instances without pixel data
//     in a series or study are skipped, as is an instance the renderer
//     refuses (logged); a target without image instances is 400. Non-image
//     objects asked for directly: an instance without pixel data (SR,
//     KOS, PDF, ...) is 400 with an explanation, since no image media type
//     can represent it. Responses carry an ETag over the instance's
//     digest, the frame, the media type and the parameters, Vary: Accept
//     and Cache-Control: private, no-cache (revalidate with If-None-Match).
//     WADO-URI renders the same way for contentType=image/jpeg (also the
//     default) or image/png, with windowCenter/windowWidth, rows/columns,
//     region, frameNumber and imageQuality; without contentType an instance
//     without pixel data is sent as application/dicom. Codecs are those
//     the program registers (codec/all).
//   - Errors are PS3.18 status codes with a JSON body {"status", "errorMessage"}.
//   - HTTP/2: the handler is protocol-agnostic; [Protocols] returns the
//     http.Protocols value (HTTP/1.1 and h2c) servers should set.
package dicomweb
