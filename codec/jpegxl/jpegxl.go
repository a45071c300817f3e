// Package jpegxl decodes the JPEG XL transfer syntaxes (1.2.840.10008.1.2.4.110
// lossless, .111 JPEG recompression, .112) through cgo and libjxl
// (libjxl-dev), and encodes .110 (lossless) and .112 (lossy) for
// transcoding (encode.go). Importing the package registers the codec.
//
// libjxl returns colour as RGB (for .111 it decodes the recompressed
// JPEG's YCbCr itself), so YBR_* frames come back declared RGB. Samples of
// fewer than 16 bits are rescaled from libjxl's full 16-bit range to Bits
// Stored, which is exact for lossless streams.
package jpegxl

/*
#cgo pkg-config: libjxl
#cgo CFLAGS: -O2
int lbjxl_decode(const unsigned char *src, size_t srclen, unsigned char *dst, size_t dstlen, int rows, int cols,
                 int comps, int out_bytes, int *bits_out, char *err, size_t errlen);
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/lightbox-pacs/lightbox/codec"
)

// Decoder decodes the JPEG XL frames of one transfer syntax.
type Decoder struct{ ts string }

var _ codec.Codec = Decoder{}

func init() {
	for _, c := range registered {
		codec.Register(c)
	}
}

// TransferSyntax returns the UID the decoder is registered for.
func (d Decoder) TransferSyntax() string { return d.ts }

const errLen = 256

// Decode decodes one JPEG XL frame into dst.
func (d Decoder) Decode(dst, src []byte, in codec.PixelInfo) (codec.PixelInfo, error) {
	outBytes := in.BitsAllocated / 8
	if outBytes != 1 && outBytes != 2 {
		return codec.PixelInfo{}, fmt.Errorf("jpegxl: %w: bits allocated %d", codec.ErrUnsupported, in.BitsAllocated)
	}
	if int64(len(dst)) != in.FrameSize() || len(dst) == 0 || len(src) == 0 {
		return codec.PixelInfo{}, fmt.Errorf("jpegxl: output buffer %d bytes, frame needs %d", len(dst), in.FrameSize())
	}
	var errbuf [errLen]C.char
	var bits C.int
	rc := C.lbjxl_decode((*C.uchar)(unsafe.Pointer(&src[0])), C.size_t(len(src)), (*C.uchar)(unsafe.Pointer(&dst[0])), C.size_t(len(dst)),
		C.int(in.Rows), C.int(in.Columns), C.int(in.SamplesPerPixel), C.int(outBytes), &bits, &errbuf[0], errLen)
	if rc != 0 {
		return codec.PixelInfo{}, fmt.Errorf("jpegxl: %w: %s", codec.ErrCorrupt, C.GoString(&errbuf[0]))
	}
	if outBytes == 2 && bits < 16 {
		rescale16(dst, int(bits))
	}
	out := in
	out.PlanarConfiguration = 0
	if in.SamplesPerPixel == 3 {
		out.PhotometricInterpretation = "RGB"
	}
	return out, nil
}

// rescale16 maps samples from libjxl's 0..65535 to 0..2^bits-1.
func rescale16(b []byte, bits int) {
	maxv := uint32(1)<<bits - 1
	for i := 0; i+1 < len(b); i += 2 {
		v := uint32(b[i]) | uint32(b[i+1])<<8
		v = (v*maxv + 32767) / 65535
		b[i], b[i+1] = byte(v), byte(v>>8)
	}
}
