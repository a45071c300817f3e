// Package rle is the RLE Lossless codec (transfer syntax
// 1.2.840.10008.1.2.5, PS3.5 Annex G), in pure Go: a 64-byte header with up
// to 15 segment offsets, one PackBits segment per byte plane of each
// sample, most significant byte plane first. Importing the package
// registers the codec.
package rle

import (
	"encoding/binary"
	"fmt"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
)

// Codec decodes and encodes RLE Lossless frames.
type Codec struct{}

var _ codec.Encoder = Codec{}

func init() { codec.Register(Codec{}) }

// TransferSyntax returns the RLE Lossless UID.
func (Codec) TransferSyntax() string { return dicom.RLELossless }

// Lossy reports false: RLE is lossless.
func (Codec) Lossy() bool { return false }

// Method returns "": there is no lossy method to record.
func (Codec) Method() string { return "" }

const headerLen = 64

// Decode decodes one RLE frame into dst (in.FrameSize() bytes), little
// endian, colour-by-pixel.
func (Codec) Decode(dst, src []byte, in codec.PixelInfo) (codec.PixelInfo, error) {
	if in.BitsAllocated%8 != 0 {
		return codec.PixelInfo{}, fmt.Errorf("rle: %w: bits allocated %d", codec.ErrUnsupported, in.BitsAllocated)
	}
	bps := in.BitsAllocated / 8
	spp := in.SamplesPerPixel
	nseg := spp * bps
	if nseg > 15 {
		return codec.PixelInfo{}, fmt.Errorf("rle: %w: %d samples of %d bytes need %d segments, RLE has 15", codec.ErrUnsupported, spp, bps, nseg)
	}
	if len(src) < headerLen {
		return codec.PixelInfo{}, fmt.Errorf("rle: %w: frame of %d bytes has no header", codec.ErrCorrupt, len(src))
	}
	if got := int(binary.LittleEndian.Uint32(src)); got != nseg {
		return codec.PixelInfo{}, fmt.Errorf("rle: %w: header has %d segments, %d samples x %d bytes need %d", codec.ErrCorrupt, got, spp, bps, nseg)
	}
	if int64(len(dst)) != in.FrameSize() {
		return codec.PixelInfo{}, fmt.Errorf("rle: output buffer %d bytes, frame needs %d", len(dst), in.FrameSize())
	}
	pixels := int(in.Pixels())
	stride := spp * bps
	for s := 0; s < nseg; s++ {
		start := int64(binary.LittleEndian.Uint32(src[4+4*s:]))
		end := int64(len(src))
		if s+1 < nseg {
			end = int64(binary.LittleEndian.Uint32(src[8+4*s:]))
		}
		if start < headerLen || start > end || end > int64(len(src)) {
			return codec.PixelInfo{}, fmt.Errorf("rle: %w: segment %d spans bytes %d..%d of %d", codec.ErrCorrupt, s, start, end, len(src))
		}
		sample, plane := s/bps, s%bps
		// Segment 0 of a sample is its most significant byte.
		off := sample*bps + (bps - 1 - plane)
		n, err := unpackBits(dst[off:], src[start:end], pixels, stride)
		if err != nil {
			return codec.PixelInfo{}, fmt.Errorf("rle: segment %d: %w", s, err)
		}
		if n < pixels {
			return codec.PixelInfo{}, fmt.Errorf("rle: %w: segment %d decodes to %d bytes, the frame needs %d", codec.ErrCorrupt, s, n, pixels)
		}
	}
	out := in
	out.PlanarConfiguration = 0
	return out, nil
}

// unpackBits decodes a PackBits segment, writing byte k of its output to
// dst[k*stride] for k < n. It returns how many bytes it wrote; output past
// n (encoders pad rows) is dropped.
func unpackBits(dst, seg []byte, n, stride int) (int, error) {
	k, i := 0, 0
	for i < len(seg) && k < n {
		h := int8(seg[i])
		i++
		switch {
		case h >= 0:
			cnt := int(h) + 1
			if i+cnt > len(seg) {
				return k, fmt.Errorf("%w: literal run of %d overruns the segment", codec.ErrCorrupt, cnt)
			}
			lit := seg[i : i+cnt]
			i += cnt
			if stride == 1 {
				k += copy(dst[k:n], lit)
				continue
			}
			for _, b := range lit {
				if k >= n {
					break
				}
				dst[k*stride] = b
				k++
			}
		case h != -128:
			cnt := 1 - int(h)
			if i >= len(seg) {
				return k, fmt.Errorf("%w: replicate run without its byte", codec.ErrCorrupt)
			}
			b := seg[i]
			i++
			cnt = min(cnt, n-k)
			if stride == 1 {
				d := dst[k : k+cnt]
				for j := range d {
					d[j] = b
				}
				k += cnt
				continue
			}
			for j := 0; j < cnt; j++ {
				dst[k*stride] = b
				k++
			}
		}
	}
	return k, nil
}

// Encode compresses one frame, each row of each byte plane encoded on its
// own as PS3.5 G.3.1 requires.
func (Codec) Encode(src []byte, in codec.PixelInfo, _ codec.EncodeOptions) ([]byte, codec.PixelInfo, error) {
	if in.BitsAllocated%8 != 0 || in.PlanarConfiguration != 0 {
		return nil, codec.PixelInfo{}, fmt.Errorf("rle: %w: bits allocated %d, planar configuration %d", codec.ErrUnsupported, in.BitsAllocated, in.PlanarConfiguration)
	}
	if in.PhotometricInterpretation == "YBR_FULL_422" {
		return nil, codec.PixelInfo{}, fmt.Errorf("rle: %w: YBR_FULL_422 (upsample to YBR_FULL first)", codec.ErrUnsupported)
	}
	bps := in.BitsAllocated / 8
	spp := in.SamplesPerPixel
	nseg := spp * bps
	if nseg > 15 {
		return nil, codec.PixelInfo{}, fmt.Errorf("rle: %w: %d segments needed, RLE has 15", codec.ErrUnsupported, nseg)
	}
	if int64(len(src)) != in.FrameSize() {
		return nil, codec.PixelInfo{}, fmt.Errorf("rle: frame has %d bytes, info says %d", len(src), in.FrameSize())
	}
	out := make([]byte, headerLen, headerLen+len(src)+len(src)/64+16)
	binary.LittleEndian.PutUint32(out, uint32(nseg))
	row := make([]byte, in.Columns)
	stride := spp * bps
	for s := 0; s < nseg; s++ {
		binary.LittleEndian.PutUint32(out[4+4*s:], uint32(len(out)))
		sample, plane := s/bps, s%bps
		off := sample*bps + (bps - 1 - plane)
		for r := 0; r < in.Rows; r++ {
			base := r * in.Columns * stride
			for c := range row {
				row[c] = src[base+c*stride+off]
			}
			out = packBits(out, row)
		}
		if len(out)%2 == 1 {
			out = append(out, 0) // segments are padded to even length
		}
	}
	info := in
	info.NumberOfFrames = 1
	return out, info, nil
}

// packBits appends the PackBits encoding of b to out: runs of three or more
// equal bytes as replicate runs, the rest as literals of up to 128 bytes.
func packBits(out, b []byte) []byte {
	i := 0
	for i < len(b) {
		// Length of the run starting at i.
		j := i + 1
		for j < len(b) && j-i < 128 && b[j] == b[i] {
			j++
		}
		if run := j - i; run >= 3 {
			out = append(out, byte(int8(1-run)), b[i])
			i = j
			continue
		}
		// Literal: extend until a run of three starts or 128 bytes.
		lit := i
		for i < len(b) && i-lit < 128 {
			if i+2 < len(b) && b[i] == b[i+1] && b[i] == b[i+2] {
				break
			}
			i++
		}
		out = append(out, byte(i-lit-1))
		out = append(out, b[lit:i]...)
	}
	return out
}
