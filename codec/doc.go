// Package codec owns pixel data: it describes a data set's pixels
// (PixelInfo), finds the bytes of each frame, native or encapsulated, and
// turns them into native little-endian interleaved samples through codecs
// registered by transfer syntax UID. It also re-encodes pixel data for
// transcoding (Transcode).
//
// Codecs live in subpackages (codec/rle, codec/deflateframe, codec/jpeg,
// codec/jpegls, codec/jpeg2000, codec/jpegxl) that register themselves in
// init; import codec/all to get every one. The native syntaxes and
// Encapsulated Uncompressed Explicit VR Little Endian are handled here.
//
// # What a decoded frame is
//
// Decode returns one frame as Rows x Columns x SamplesPerPixel samples of
// BitsAllocated bits each, little endian, colour-by-pixel, together with
// the PixelInfo that describes those bytes. That description can differ
// from the data set's: planar configuration is always 0, YBR_FULL_422 is
// returned upsampled as YBR_FULL (native) or converted to RGB (JPEG), and
// JPEG 2000 colour transforms (YBR_ICT, YBR_RCT) are undone to RGB. Bits
// Allocated 1 frames stay bit-packed, LSB first, each frame realigned to
// start at bit 0 of its first byte. Bits above High Bit are returned as
// stored for native data; for compressed data they are zero, or for signed
// samples copies of the sign bit (compressed streams carry only Bits Stored
// bits, and decoders disagree about the rest).
//
// # Safety
//
// The size of a decoded frame is computed from the header alone and checked
// against Limits before any buffer is allocated: the corpus has headers
// that claim 65535 x 65535 pixels over a few bytes of data. Codecs receive
// an output buffer of exactly that size and must fail rather than write
// past it or return less. The C libraries behind the cgo codecs are fed
// only validated parameters, run with their error handlers hooked so that
// a corrupt stream becomes an error, and are checked against the header's
// geometry before any sample is copied. What remains is the risk of a
// memory-safety bug inside a C library itself, which no Go code can catch;
// a server that must survive such bugs should decode untrusted input in a
// separate process: codec/isolate does that behind the same API (Replace
// swaps its wrappers into the registry), and `lightbox serve` turns it on.
package codec
