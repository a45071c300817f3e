// Package jpegls is the JPEG-LS codec (ISO/IEC 14495-1; transfer syntaxes
// 1.2.840.10008.1.2.4.80 lossless and .81 near-lossless) through cgo and
// CharLS 2.4 (libcharls-dev). Both syntaxes decode; both encode, .80 with
// NEAR=0 and .81 with EncodeOptions.NearLossless (default 2). Importing
// the package registers the codec.
//
// Samples are encoded from their Bits Stored low bits (the bits above are
// not part of the pixel value and JPEG-LS has no room for them); package
// codec sign-extends signed samples after decoding.
package jpegls

/*
#cgo pkg-config: charls
#cgo CFLAGS: -O2
#include <stdlib.h>
int lbls_decode(const void *src, size_t srclen, unsigned char *dst, size_t dstlen, int rows, int cols, int comps,
                int out_bytes, char *err, size_t errlen, int *near_out, int *bits_out);
int lbls_encode(const void *src, size_t srclen, int rows, int cols, int comps, int bits, int near, unsigned char **out,
                size_t *outlen, char *err, size_t errlen);
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
)

// Codec decodes and encodes JPEG-LS frames of one transfer syntax.
type Codec struct {
	ts   string
	near int
}

var _ codec.Encoder = Codec{}

// DefaultNear is the NEAR parameter of near-lossless encoding.
const DefaultNear = 2

func init() {
	codec.Register(Codec{ts: dicom.JPEGLSLossless})
	codec.Register(Codec{ts: dicom.JPEGLSNearLossless, near: DefaultNear})
}

// TransferSyntax returns the UID the codec is registered for.
func (c Codec) TransferSyntax() string { return c.ts }

// Lossy reports whether the codec's encoding is near-lossless.
func (c Codec) Lossy() bool { return c.near > 0 }

// Method returns "ISO_14495_1" for near-lossless, "" for lossless.
func (c Codec) Method() string {
	if c.Lossy() {
		return "ISO_14495_1"
	}
	return ""
}

const errLen = 256

// Decode decodes one JPEG-LS frame into dst.
func (c Codec) Decode(dst, src []byte, in codec.PixelInfo) (codec.PixelInfo, error) {
	outBytes := in.BitsAllocated / 8
	if outBytes != 1 && outBytes != 2 {
		return codec.PixelInfo{}, fmt.Errorf("jpegls: %w: bits allocated %d", codec.ErrUnsupported, in.BitsAllocated)
	}
	if int64(len(dst)) != in.FrameSize() || len(dst) == 0 {
		return codec.PixelInfo{}, fmt.Errorf("jpegls: output buffer %d bytes, frame needs %d", len(dst), in.FrameSize())
	}
	if len(src) < 4 {
		return codec.PixelInfo{}, fmt.Errorf("jpegls: %w: %d-byte frame", codec.ErrCorrupt, len(src))
	}
	if !endsWithEOI(src) {
		// CharLS 2.4 spends seconds on a stream that stops without a
		// marker (it decodes the missing rest from an empty buffer), so a
		// truncated frame is refused here.
		return codec.PixelInfo{}, fmt.Errorf("jpegls: %w: stream does not end with EOI (truncated)", codec.ErrCorrupt)
	}
	var errbuf [errLen]C.char
	var near, bits C.int
	rc := C.lbls_decode(unsafe.Pointer(&src[0]), C.size_t(len(src)), (*C.uchar)(unsafe.Pointer(&dst[0])), C.size_t(len(dst)),
		C.int(in.Rows), C.int(in.Columns), C.int(in.SamplesPerPixel), C.int(outBytes), &errbuf[0], errLen, &near, &bits)
	if rc != 0 {
		msg := C.GoString(&errbuf[0])
		if fixed, ok := dropPadBeforeEOI(src); ok {
			if _, err := c.Decode(dst, fixed, in); err == nil {
				return finish(in), nil
			}
		}
		return codec.PixelInfo{}, fmt.Errorf("jpegls: %w: %s", codec.ErrCorrupt, msg)
	}
	return finish(in), nil
}

func finish(in codec.PixelInfo) codec.PixelInfo {
	out := in
	out.PlanarConfiguration = 0
	return out
}

// endsWithEOI reports whether the stream ends with the EOI marker, allowing
// the padding (0x00, or 0xFF from some writers) DICOM puts after it.
func endsWithEOI(src []byte) bool {
	end := len(src)
	for end > 0 && (src[end-1] == 0 || src[end-1] == 0xFF) {
		end--
	}
	return end >= 4 && src[end-2] == 0xFF && src[end-1] == 0xD9
}

// dropPadBeforeEOI removes zero bytes between the entropy-coded data and
// the EOI marker. Some encoders (the NEMA WG04 JPEG-LS samples among them)
// write one there; CharLS 2.3 and later reject it where CharLS 1.x, and so
// DCMTK, accept it (CharLS issues #365, #437). A zero byte cannot end
// entropy-coded data that a conforming encoder wrote, since bit stuffing
// follows only 0xFF, so removing it changes nothing else.
func dropPadBeforeEOI(src []byte) ([]byte, bool) {
	end := len(src)
	for end > 0 && (src[end-1] == 0 || src[end-1] == 0xFF) { // DICOM pads fragments after EOI
		end--
	}
	if end < 4 || src[end-2] != 0xFF || src[end-1] != 0xD9 || src[end-3] != 0 {
		return nil, false
	}
	k := end - 2
	for k > 0 && src[k-1] == 0 {
		k--
	}
	if k > 0 && src[k-1] == 0xFF {
		k++ // keep the stuffing zero after 0xFF
	}
	if k >= end-2 {
		return nil, false
	}
	out := make([]byte, 0, k+2)
	out = append(out, src[:k]...)
	return append(out, 0xFF, 0xD9), true
}

// Encode compresses one frame of 2..16-bit samples.
func (c Codec) Encode(src []byte, in codec.PixelInfo, _ codec.EncodeOptions) ([]byte, codec.PixelInfo, error) {
	if in.BitsAllocated != 8 && in.BitsAllocated != 16 || in.BitsStored < 2 || in.PlanarConfiguration != 0 {
		return nil, codec.PixelInfo{}, fmt.Errorf("jpegls: %w: bits allocated %d, bits stored %d, planar %d", codec.ErrUnsupported, in.BitsAllocated, in.BitsStored, in.PlanarConfiguration)
	}
	if in.PhotometricInterpretation == "YBR_FULL_422" || in.SamplesPerPixel != 1 && in.SamplesPerPixel != 3 {
		return nil, codec.PixelInfo{}, fmt.Errorf("jpegls: %w: %s with %d samples", codec.ErrUnsupported, in.PhotometricInterpretation, in.SamplesPerPixel)
	}
	if int64(len(src)) != in.FrameSize() || len(src) == 0 {
		return nil, codec.PixelInfo{}, fmt.Errorf("jpegls: frame has %d bytes, info says %d", len(src), in.FrameSize())
	}
	bits := in.BitsStored
	samples := masked(src, in.BitsAllocated, bits)
	var out *C.uchar
	var outLen C.size_t
	var errbuf [errLen]C.char
	rc := C.lbls_encode(unsafe.Pointer(&samples[0]), C.size_t(len(samples)), C.int(in.Rows), C.int(in.Columns), C.int(in.SamplesPerPixel),
		C.int(bits), C.int(c.near), &out, &outLen, &errbuf[0], errLen)
	if rc != 0 {
		return nil, codec.PixelInfo{}, fmt.Errorf("jpegls: encode: %s", C.GoString(&errbuf[0]))
	}
	defer C.free(unsafe.Pointer(out))
	info := in
	info.NumberOfFrames = 1
	return C.GoBytes(unsafe.Pointer(out), C.int(outLen)), info, nil
}

// masked returns the samples as CharLS takes them for bits-wide data: one
// byte each up to 8 bits, two above, with the bits above bits cleared.
func masked(src []byte, bitsAllocated, bits int) []byte {
	if bitsAllocated == 8 {
		if bits == 8 {
			return src
		}
		out := make([]byte, len(src))
		m := byte(1<<bits - 1)
		for i, v := range src {
			out[i] = v & m
		}
		return out
	}
	if bits <= 8 {
		out := make([]byte, len(src)/2)
		m := byte(1<<bits - 1)
		for i := range out {
			out[i] = src[2*i] & m
		}
		return out
	}
	if bits == 16 {
		return src
	}
	out := make([]byte, len(src))
	m := uint16(1<<bits - 1)
	for i := 0; i+1 < len(src); i += 2 {
		v := (uint16(src[i]) | uint16(src[i+1])<<8) & m
		out[i], out[i+1] = byte(v), byte(v>>8)
	}
	return out
}
