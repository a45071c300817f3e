package codec

import (
	"fmt"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// This file slices native (uncompressed) pixel data into frames and turns
// each into little-endian colour-by-pixel samples.

// storedFrameBits returns the bits one native frame occupies in the
// Pixel Data value: YBR_FULL_422 stores two chroma samples per two pixels.
func storedFrameBits(p PixelInfo) int64 {
	samples := int64(p.SamplesPerPixel)
	if is422(p) {
		samples = 2
	}
	return p.Pixels() * samples * int64(p.BitsAllocated)
}

func is422(p PixelInfo) bool {
	return p.PhotometricInterpretation == "YBR_FULL_422" && p.SamplesPerPixel == 3
}

// checkNative rejects layouts the slicer cannot serve.
func (p *Pixels) checkNative() error {
	if is422(p.Info) && (p.Info.Columns%2 != 0 || p.Info.BitsAllocated < 8) {
		return fmt.Errorf("%w: YBR_FULL_422 with %d columns and %d bits allocated", ErrInvalidPixelInfo, p.Info.Columns, p.Info.BitsAllocated)
	}
	return nil
}

// nativeByteRange returns the bytes [start, end) of the value that hold
// frame i.
func (p *Pixels) nativeByteRange(i int) (start, end int64) {
	bits := storedFrameBits(p.Info)
	return int64(i) * bits / 8, (int64(i+1)*bits + 7) / 8
}

// nativeLength is the number of value bytes the element really holds.
func (p *Pixels) nativeLength() int64 {
	if p.elem.Value != nil {
		return int64(len(p.elem.Value))
	}
	if p.elem.Length == dicom.UndefinedLength {
		return 0
	}
	return int64(p.elem.Length)
}

func (p *Pixels) nativeFrame(dst []byte, i int) (PixelInfo, error) {
	start, end := p.nativeByteRange(i)
	if have := p.nativeLength(); end > have {
		// An odd-length 8-bit value may lack its last byte only if the
		// writer dropped the pad; anything shorter is truncated data.
		return PixelInfo{}, fmt.Errorf("%w: frame %d needs bytes %d..%d, pixel data has %d", ErrTruncated, i, start, end, have)
	}
	raw, err := p.RawFrame(i)
	if err != nil {
		return PixelInfo{}, err
	}
	bitOffset := int(int64(i) * storedFrameBits(p.Info) % 8)
	swap := p.bigEndian && (p.Info.BitsAllocated > 8 || p.elem.VR == dicom.OW && p.Info.BitsAllocated == 8)
	if swap && p.Info.BitsAllocated == 8 && start%2 == 1 {
		return PixelInfo{}, fmt.Errorf("%w: big endian OW frame %d starts at odd byte %d", ErrUnsupported, i, start)
	}
	return toInterleaved(dst, raw, p.frameInfo(), swap, bitOffset, p.Info.NumberOfFrames)
}

// toInterleaved converts one stored native frame to the decoded form:
// little endian (swapping words of swapWidth when swap is set), colour by
// pixel, YBR_FULL_422 upsampled to YBR_FULL, Bits Allocated 1 realigned
// from bitOffset to bit 0.
func toInterleaved(dst, raw []byte, in PixelInfo, swap bool, bitOffset, frames int) (PixelInfo, error) {
	out := in
	out.PlanarConfiguration = 0
	out.NumberOfFrames = frames
	if in.BitsAllocated == 1 {
		unpackAligned(dst, raw, bitOffset, in.Pixels()*int64(in.SamplesPerPixel))
		return out, nil
	}
	le := raw
	needsMore := is422(in) || in.PlanarConfiguration == 1 && in.SamplesPerPixel > 1
	if swap {
		width := max(in.BitsAllocated/8, 2)
		if needsMore {
			le = make([]byte, len(raw))
		} else {
			le = dst
		}
		swapInto(le, raw[:len(le)/width*width], width)
	}
	switch {
	case is422(in):
		upsample422(dst, le, in)
		out.PhotometricInterpretation = "YBR_FULL"
	case in.PlanarConfiguration == 1 && in.SamplesPerPixel > 1:
		interleave(dst, le, in.SamplesPerPixel, in.BitsAllocated/8)
	case !swap:
		copy(dst, le)
	}
	return out, nil
}

// unpackAligned copies nbits bits starting at bit off of src (LSB first)
// to dst starting at bit 0, clearing the unused bits of the last byte.
func unpackAligned(dst, src []byte, off int, nbits int64) {
	n := int((nbits + 7) / 8)
	if off == 0 {
		copy(dst, src[:n])
	} else {
		for k := 0; k < n; k++ {
			b := src[k] >> off
			if k+1 < len(src) {
				b |= src[k+1] << (8 - off)
			}
			dst[k] = b
		}
	}
	if rem := nbits % 8; rem != 0 {
		dst[n-1] &= byte(1<<rem - 1)
	}
}

// swapInto reverses the bytes of each width-byte word of src into dst.
func swapInto(dst, src []byte, width int) {
	switch width {
	case 2:
		for i := 0; i+1 < len(src); i += 2 {
			dst[i], dst[i+1] = src[i+1], src[i]
		}
	default:
		for i := 0; i+width <= len(src); i += width {
			for j := 0; j < width; j++ {
				dst[i+j] = src[i+width-1-j]
			}
		}
	}
}

// interleave turns colour-by-plane samples into colour-by-pixel.
func interleave(dst, src []byte, spp, bps int) {
	plane := len(dst) / spp
	px := plane / bps
	if bps == 1 {
		for s := 0; s < spp; s++ {
			p := src[s*plane : (s+1)*plane]
			for i, v := range p {
				dst[i*spp+s] = v
			}
		}
		return
	}
	for s := 0; s < spp; s++ {
		for i := 0; i < px; i++ {
			copy(dst[(i*spp+s)*bps:(i*spp+s+1)*bps], src[s*plane+i*bps:s*plane+(i+1)*bps])
		}
	}
}

// upsample422 expands Y1 Y2 Cb Cr groups to Y1 Cb Cr Y2 Cb Cr.
func upsample422(dst, src []byte, in PixelInfo) {
	bps := in.BitsAllocated / 8
	groups := int(in.Pixels() / 2)
	for g := 0; g < groups; g++ {
		s := src[g*4*bps : (g+1)*4*bps]
		d := dst[g*6*bps : (g+1)*6*bps]
		y1, y2, cb, cr := s[0:bps], s[bps:2*bps], s[2*bps:3*bps], s[3*bps:4*bps]
		copy(d[0:], y1)
		copy(d[bps:], cb)
		copy(d[2*bps:], cr)
		copy(d[3*bps:], y2)
		copy(d[4*bps:], cb)
		copy(d[5*bps:], cr)
	}
}

// encapsulatedUncompressed is the built-in codec for Encapsulated
// Uncompressed Explicit VR Little Endian: each fragment is a native frame.
type encapsulatedUncompressed struct{}

func (encapsulatedUncompressed) TransferSyntax() string {
	return dicom.EncapsulatedUncompressedExplicitVRLittleEndian
}

func (encapsulatedUncompressed) Decode(dst, src []byte, in PixelInfo) (PixelInfo, error) {
	need := (storedFrameBits(in) + 7) / 8
	if int64(len(src)) < need {
		return PixelInfo{}, fmt.Errorf("%w: frame has %d bytes, needs %d", ErrTruncated, len(src), need)
	}
	return toInterleaved(dst, src, in, false, 0, 1)
}

func init() { Register(encapsulatedUncompressed{}) }
