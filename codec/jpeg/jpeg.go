// Package jpeg is the codec for the JPEG (ISO/IEC 10918-1) transfer
// syntaxes, through cgo: libjpeg-turbo for 8-bit DCT streams (baseline,
// extended, progressive), and the IJG 6b libraries with the lossless
// extension that GDCM ships as libgdcmjpeg8/12/16 for 12-bit DCT and for
// lossless streams (Process 14 and its first-order predictor SV1) of 2 to
// 16 bits, which libjpeg-turbo 2.1 cannot decode. The library is chosen
// from the stream's own SOF marker, read in Go before any C code runs.
//
// Colour: when the data set says YBR_* and the stream is lossy, samples are
// converted to RGB and the returned PixelInfo says RGB (DCMTK's default,
// "+cp"); otherwise components pass through untouched. Lossless streams
// are never colour converted.
//
// Encoding (transcoding): JPEG Baseline 8-bit with libjpeg-turbo (YCbCr
// 4:2:2 for colour); JPEG Extended (.51, lossy, 8 or 12 bits, unsigned
// samples) and JPEG Lossless SV1 (.70, 2 to 16 bits, signed or not) with
// the GDCM IJG libraries (encode.go). Importing the package registers the
// codec for 1.2.840.10008.1.2.4.50, .51, .53, .55, .57 and .70.
package jpeg

/*
#cgo pkg-config: libjpeg
#cgo CFLAGS: -O2 -I/usr/include/gdcm-3.0
#cgo LDFLAGS: -lgdcmjpeg8 -lgdcmjpeg12 -lgdcmjpeg16
#include <stdlib.h>
typedef int (*lbj_decode_fn)(const unsigned char *, size_t, unsigned char *, size_t, int, int, int, int, int, char *, int *);
int lbj_turbo_decode(const unsigned char *, size_t, unsigned char *, size_t, int, int, int, int, int, char *, int *);
int lbj_ijg8_decode(const unsigned char *, size_t, unsigned char *, size_t, int, int, int, int, int, char *, int *);
int lbj_ijg12_decode(const unsigned char *, size_t, unsigned char *, size_t, int, int, int, int, int, char *, int *);
int lbj_ijg16_decode(const unsigned char *, size_t, unsigned char *, size_t, int, int, int, int, int, char *, int *);
int lbj_call(lbj_decode_fn, const unsigned char *, size_t, unsigned char *, size_t, int, int, int, int, int, char *, int *);
int lbj_turbo_encode(const unsigned char *, int, int, int, int, int, unsigned char **, unsigned long *, char *);
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
)

// Transfer syntaxes decoded here (the retired .53 and .55 are the
// spectral-selection and full-progression processes of the same family).
const (
	JPEGExtended35Retired = "1.2.840.10008.1.2.4.53"
	JPEGFullProgRetired   = "1.2.840.10008.1.2.4.55"
)

// Decoder decodes the JPEG frames of one transfer syntax.
type Decoder struct{ ts string }

// Baseline decodes and encodes JPEG Baseline (Process 1) frames.
type Baseline struct{ Decoder }

var (
	_ codec.Codec   = Decoder{}
	_ codec.Encoder = Baseline{}
)

func init() {
	codec.Register(Baseline{Decoder{dicom.JPEGBaseline8Bit}})
	codec.Register(Extended{Decoder{dicom.JPEGExtended12Bit}})
	codec.Register(LosslessSV1{Decoder{dicom.JPEGLosslessSV1}})
	for _, ts := range []string{JPEGExtended35Retired, JPEGFullProgRetired, dicom.JPEGLossless} {
		codec.Register(Decoder{ts})
	}
}

// TransferSyntax returns the UID the decoder is registered for.
func (d Decoder) TransferSyntax() string { return d.ts }

// errLen is JMSG_LENGTH_MAX plus headroom.
const errLen = 256

// Decode decodes one JPEG frame into dst.
func (d Decoder) Decode(dst, src []byte, in codec.PixelInfo) (codec.PixelInfo, error) {
	h, err := ParseHeader(src)
	if err != nil {
		return codec.PixelInfo{}, fmt.Errorf("jpeg: %w: %v", codec.ErrCorrupt, err)
	}
	if h.Width > in.Columns || h.Height > in.Rows || h.Width == 0 || h.Height == 0 || h.Components != in.SamplesPerPixel {
		return codec.PixelInfo{}, fmt.Errorf("jpeg: %w: stream is %dx%d with %d components, header says %dx%d with %d",
			codec.ErrCorrupt, h.Width, h.Height, h.Components, in.Columns, in.Rows, in.SamplesPerPixel)
	}
	if h.Width != in.Columns || h.Height != in.Rows {
		return d.decodeSmaller(dst, src, in, h)
	}
	outBytes := in.BitsAllocated / 8
	if outBytes != 1 && outBytes != 2 || h.Precision > in.BitsAllocated {
		return codec.PixelInfo{}, fmt.Errorf("jpeg: %w: %d-bit stream into bits allocated %d", codec.ErrUnsupported, h.Precision, in.BitsAllocated)
	}
	if int64(len(dst)) != in.FrameSize() {
		return codec.PixelInfo{}, fmt.Errorf("jpeg: output buffer %d bytes, frame needs %d", len(dst), in.FrameSize())
	}
	var fn C.lbj_decode_fn
	switch {
	case h.Lossless && h.Precision <= 8:
		fn = C.lbj_decode_fn(C.lbj_ijg8_decode)
	case h.Lossless && h.Precision <= 12:
		fn = C.lbj_decode_fn(C.lbj_ijg12_decode)
	case h.Lossless && h.Precision <= 16:
		fn = C.lbj_decode_fn(C.lbj_ijg16_decode)
	case h.Precision == 8:
		fn = C.lbj_decode_fn(C.lbj_turbo_decode)
	case h.Precision == 12:
		fn = C.lbj_decode_fn(C.lbj_ijg12_decode)
	default:
		return codec.PixelInfo{}, fmt.Errorf("jpeg: %w: %d-bit %s stream", codec.ErrUnsupported, h.Precision, h.Process())
	}
	if len(src) == 0 || len(dst) == 0 {
		return codec.PixelInfo{}, fmt.Errorf("jpeg: %w: empty frame", codec.ErrCorrupt)
	}
	toRGB := in.IsYBR() && !h.Lossless && in.SamplesPerPixel == 3
	var errbuf [errLen]C.char
	var converted C.int
	rc := C.lbj_call(fn, (*C.uchar)(unsafe.Pointer(&src[0])), C.size_t(len(src)),
		(*C.uchar)(unsafe.Pointer(&dst[0])), C.size_t(len(dst)),
		C.int(in.Rows), C.int(in.Columns), C.int(in.SamplesPerPixel), cbool(toRGB), C.int(outBytes),
		&errbuf[0], &converted)
	if rc != 0 {
		return codec.PixelInfo{}, fmt.Errorf("jpeg: %w: %s %d-bit: %s", codec.ErrCorrupt, h.Process(), h.Precision, C.GoString(&errbuf[0]))
	}
	out := in
	out.PlanarConfiguration = 0
	if toRGB {
		out.PhotometricInterpretation = "RGB"
	}
	return out, nil
}

// decodeSmaller serves a stream smaller than the frame, as whole-slide
// scanners write for the tiles at the right and bottom edges (PS3.3 says
// tiles are padded to full size; some are not): the stream is decoded on
// its own and placed at the top left of a zeroed frame.
func (d Decoder) decodeSmaller(dst, src []byte, in codec.PixelInfo, h Header) (codec.PixelInfo, error) {
	small := in
	small.Rows, small.Columns = h.Height, h.Width
	tmp := make([]byte, small.FrameSize())
	out, err := d.Decode(tmp, src, small)
	if err != nil {
		return codec.PixelInfo{}, err
	}
	clear(dst)
	rowOut := in.Columns * in.SamplesPerPixel * (in.BitsAllocated / 8)
	rowIn := h.Width * in.SamplesPerPixel * (in.BitsAllocated / 8)
	for y := 0; y < h.Height; y++ {
		copy(dst[y*rowOut:y*rowOut+rowIn], tmp[y*rowIn:(y+1)*rowIn])
	}
	out.Rows, out.Columns = in.Rows, in.Columns
	return out, nil
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// Lossy reports true: baseline JPEG is lossy.
func (Baseline) Lossy() bool { return true }

// Method returns "ISO_10918_1".
func (Baseline) Method() string { return "ISO_10918_1" }

// Encode compresses an 8-bit frame (MONOCHROME1/2, RGB or YBR_FULL) as
// baseline JPEG at opts.Quality (default 90); colour becomes YBR_FULL_422.
func (Baseline) Encode(src []byte, in codec.PixelInfo, opts codec.EncodeOptions) ([]byte, codec.PixelInfo, error) {
	if in.BitsAllocated != 8 || in.Signed() || in.PlanarConfiguration != 0 {
		return nil, codec.PixelInfo{}, fmt.Errorf("jpeg: %w: baseline needs unsigned 8-bit colour-by-pixel samples, have %d-bit signed=%v planar=%d",
			codec.ErrUnsupported, in.BitsAllocated, in.Signed(), in.PlanarConfiguration)
	}
	ybr := false
	switch {
	case in.SamplesPerPixel == 1 && (in.PhotometricInterpretation == "MONOCHROME1" || in.PhotometricInterpretation == "MONOCHROME2"):
	case in.SamplesPerPixel == 3 && in.PhotometricInterpretation == "RGB":
	case in.SamplesPerPixel == 3 && in.PhotometricInterpretation == "YBR_FULL":
		ybr = true
	default:
		return nil, codec.PixelInfo{}, fmt.Errorf("jpeg: %w: baseline encoding of %s with %d samples", codec.ErrUnsupported, in.PhotometricInterpretation, in.SamplesPerPixel)
	}
	if int64(len(src)) != in.FrameSize() || len(src) == 0 {
		return nil, codec.PixelInfo{}, fmt.Errorf("jpeg: frame has %d bytes, info says %d", len(src), in.FrameSize())
	}
	q := opts.Quality
	if q <= 0 || q > 100 {
		q = 90
	}
	var out *C.uchar
	var outLen C.ulong
	var errbuf [errLen]C.char
	rc := C.lbj_turbo_encode((*C.uchar)(unsafe.Pointer(&src[0])), C.int(in.Rows), C.int(in.Columns), C.int(in.SamplesPerPixel),
		cbool(ybr), C.int(q), &out, &outLen, &errbuf[0])
	if rc != 0 {
		return nil, codec.PixelInfo{}, fmt.Errorf("jpeg: encode: %s", C.GoString(&errbuf[0]))
	}
	defer C.free(unsafe.Pointer(out))
	b := C.GoBytes(unsafe.Pointer(out), C.int(outLen))
	info := in
	info.NumberOfFrames = 1
	info.BitsStored, info.HighBit = 8, 7
	if in.SamplesPerPixel == 3 {
		info.PhotometricInterpretation = "YBR_FULL_422"
	}
	return b, info, nil
}
