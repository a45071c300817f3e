// Package jpeg2000 is the JPEG 2000 codec through cgo and OpenJPEG 2.5
// (libopenjp2-7-dev): it decodes JPEG 2000 lossless and lossy
// (1.2.840.10008.1.2.4.90, .91) and High-Throughput JPEG 2000 (.201, .202,
// .203), bare codestreams or, as some writers wrongly store them, JP2
// files; it encodes JPEG 2000 lossless (.90, reversible 5/3 wavelet, one
// quality layer, the reversible colour transform for RGB, which then
// becomes YBR_RCT). Importing the package registers the codec.
//
// Colour: OpenJPEG undoes the codestream's multiple-component transform,
// so YBR_ICT and YBR_RCT frames (and any frame whose COD marker asks for
// the transform) decode to RGB.
package jpeg2000

/*
#cgo pkg-config: libopenjp2
#cgo CFLAGS: -O2
#include <stdlib.h>
int lboj_decode(const unsigned char *src, size_t srclen, unsigned char *dst, size_t dstlen, int rows, int cols,
                int comps, int out_bytes, int threads, char *err, size_t errlen);
int lboj_encode(const int *src, int rows, int cols, int comps, int prec, int sgnd, int mct, unsigned char **out,
                size_t *outlen, char *err, size_t errlen);
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
)

// Decoder decodes the frames of one JPEG 2000 transfer syntax.
type Decoder struct{ ts string }

// Lossless decodes and encodes JPEG 2000 Image Compression (Lossless Only).
type Lossless struct{ Decoder }

var (
	_ codec.Codec   = Decoder{}
	_ codec.Encoder = Lossless{}
)

func init() {
	codec.Register(Lossless{Decoder{dicom.JPEG2000Lossless}})
	for _, ts := range []string{dicom.JPEG2000, dicom.HTJ2KLossless, dicom.HTJ2KLosslessRPCL, dicom.HTJ2K} {
		codec.Register(Decoder{ts})
	}
}

// TransferSyntax returns the UID the decoder is registered for.
func (d Decoder) TransferSyntax() string { return d.ts }

const errLen = 512

// Decode decodes one JPEG 2000 frame into dst.
func (d Decoder) Decode(dst, src []byte, in codec.PixelInfo) (codec.PixelInfo, error) {
	h, err := ParseHeader(src)
	if err != nil {
		return codec.PixelInfo{}, fmt.Errorf("jpeg2000: %w: %v", codec.ErrCorrupt, err)
	}
	if h.Width != in.Columns || h.Height != in.Rows || h.Components != in.SamplesPerPixel {
		return codec.PixelInfo{}, fmt.Errorf("jpeg2000: %w: stream is %dx%d with %d components, header says %dx%d with %d",
			codec.ErrCorrupt, h.Width, h.Height, h.Components, in.Columns, in.Rows, in.SamplesPerPixel)
	}
	outBytes := in.BitsAllocated / 8
	if outBytes != 1 && outBytes != 2 || h.Precision > in.BitsAllocated {
		return codec.PixelInfo{}, fmt.Errorf("jpeg2000: %w: %d-bit stream into bits allocated %d", codec.ErrUnsupported, h.Precision, in.BitsAllocated)
	}
	if int64(len(dst)) != in.FrameSize() || len(dst) == 0 {
		return codec.PixelInfo{}, fmt.Errorf("jpeg2000: output buffer %d bytes, frame needs %d", len(dst), in.FrameSize())
	}
	var errbuf [errLen]C.char
	rc := C.lboj_decode((*C.uchar)(unsafe.Pointer(&src[0])), C.size_t(len(src)), (*C.uchar)(unsafe.Pointer(&dst[0])), C.size_t(len(dst)),
		C.int(in.Rows), C.int(in.Columns), C.int(in.SamplesPerPixel), C.int(outBytes), 1, &errbuf[0], errLen)
	if rc != 0 {
		return codec.PixelInfo{}, fmt.Errorf("jpeg2000: %w: %s", codec.ErrCorrupt, C.GoString(&errbuf[0]))
	}
	out := in
	out.PlanarConfiguration = 0
	pi := in.PhotometricInterpretation
	if in.SamplesPerPixel == 3 && (h.MCT || pi == "YBR_ICT" || pi == "YBR_RCT") {
		out.PhotometricInterpretation = "RGB"
	}
	return out, nil
}

// Lossy reports false.
func (Lossless) Lossy() bool { return false }

// Method returns "".
func (Lossless) Method() string { return "" }

// Encode compresses one frame losslessly. RGB frames are encoded with the
// reversible colour transform and come back declared YBR_RCT.
func (Lossless) Encode(src []byte, in codec.PixelInfo, _ codec.EncodeOptions) ([]byte, codec.PixelInfo, error) {
	if in.BitsAllocated != 8 && in.BitsAllocated != 16 || in.BitsStored > 16 || in.PlanarConfiguration != 0 {
		return nil, codec.PixelInfo{}, fmt.Errorf("jpeg2000: %w: bits allocated %d, stored %d, planar %d", codec.ErrUnsupported, in.BitsAllocated, in.BitsStored, in.PlanarConfiguration)
	}
	if in.PhotometricInterpretation == "YBR_FULL_422" || in.SamplesPerPixel != 1 && in.SamplesPerPixel != 3 {
		return nil, codec.PixelInfo{}, fmt.Errorf("jpeg2000: %w: %s with %d samples", codec.ErrUnsupported, in.PhotometricInterpretation, in.SamplesPerPixel)
	}
	if int64(len(src)) != in.FrameSize() || len(src) == 0 {
		return nil, codec.PixelInfo{}, fmt.Errorf("jpeg2000: frame has %d bytes, info says %d", len(src), in.FrameSize())
	}
	samples := toInt32(src, in)
	mct := in.SamplesPerPixel == 3 && in.PhotometricInterpretation == "RGB"
	var out *C.uchar
	var outLen C.size_t
	var errbuf [errLen]C.char
	rc := C.lboj_encode((*C.int)(unsafe.Pointer(&samples[0])), C.int(in.Rows), C.int(in.Columns), C.int(in.SamplesPerPixel),
		C.int(in.BitsStored), C.int(in.PixelRepresentation), cbool(mct), &out, &outLen, &errbuf[0], errLen)
	if rc != 0 {
		return nil, codec.PixelInfo{}, fmt.Errorf("jpeg2000: encode: %s", C.GoString(&errbuf[0]))
	}
	defer C.free(unsafe.Pointer(out))
	info := in
	info.NumberOfFrames = 1
	if mct {
		info.PhotometricInterpretation = "YBR_RCT"
	}
	return C.GoBytes(unsafe.Pointer(out), C.int(outLen)), info, nil
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// toInt32 widens samples to the int32 OpenJPEG takes, keeping the Bits
// Stored low bits (sign-extended for signed samples).
func toInt32(src []byte, in codec.PixelInfo) []int32 {
	bps := in.BitsAllocated / 8
	n := len(src) / bps
	out := make([]int32, n)
	shift := 32 - in.BitsStored
	for i := range out {
		v := uint32(src[i*bps])
		if bps == 2 {
			v |= uint32(src[i*bps+1]) << 8
		}
		if in.Signed() {
			out[i] = int32(v<<shift) >> shift
		} else {
			out[i] = int32(v << shift >> shift)
		}
	}
	return out
}
