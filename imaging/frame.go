package imaging

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
)

// Frame is one decoded frame: native little-endian, colour-by-pixel
// samples as codec.Decode returns them, the PixelInfo that describes those
// bytes (which may differ from the data set's: a JPEG decoder may have
// turned YBR_FULL_422 into RGB), and the frame's 0-based number, which
// selects per-frame functional groups and multi-frame overlays.
type Frame struct {
	Index int
	Data  []byte
	Info  codec.PixelInfo
}

// DecodeFrame decodes frame index (0-based) of the pixel data of ds, in
// transfer syntax ts, reading bulk values from src.
func DecodeFrame(ds *dicom.Dataset, ts string, src io.ReaderAt, index int) (Frame, error) {
	data, info, err := codec.Decode(ds, ts, src, index)
	if err != nil {
		return Frame{}, fmt.Errorf("imaging: decode frame %d: %w", index, err)
	}
	return Frame{Index: index, Data: data, Info: info}, nil
}

// check verifies that the frame holds the bytes its PixelInfo promises.
func (f Frame) check() error {
	p := f.Info
	if p.Rows <= 0 || p.Columns <= 0 || p.SamplesPerPixel < 1 {
		return fmt.Errorf("imaging: frame is %dx%d with %d samples", p.Columns, p.Rows, p.SamplesPerPixel)
	}
	switch p.BitsAllocated {
	case 1, 8, 16, 32:
	case 64:
		if !p.Float {
			return fmt.Errorf("%w: 64-bit integer samples", ErrUnsupported)
		}
	default:
		return fmt.Errorf("%w: bits allocated %d", ErrUnsupported, p.BitsAllocated)
	}
	if p.Float && p.BitsAllocated < 32 {
		return fmt.Errorf("%w: float samples of %d bits", ErrUnsupported, p.BitsAllocated)
	}
	samples := int64(p.SamplesPerPixel)
	if p.SamplesPerPixel == 3 && strings.HasSuffix(p.PhotometricInterpretation, "_422") {
		samples = 2 // may still be subsampled (upsampledChroma expands it)
	}
	need := (int64(p.Rows)*int64(p.Columns)*samples*int64(p.BitsAllocated) + 7) / 8
	if int64(len(f.Data)) < need {
		return fmt.Errorf("imaging: frame has %d bytes, %dx%dx%d samples of %d bits need %d",
			len(f.Data), p.Columns, p.Rows, p.SamplesPerPixel, p.BitsAllocated, need)
	}
	return nil
}

// storedLayout says how to pull a stored value out of an allocated sample:
// shift right, mask to Bits Stored, sign-extend when signed (PS3.5 8.1.1).
// Bits outside Bits Stored (overlays in high bits, garbage) are dropped.
type storedLayout struct {
	shift  uint
	bits   uint
	mask   uint32
	signed bool
}

func layoutOf(p codec.PixelInfo) storedLayout {
	bits := p.BitsStored
	if bits < 1 || bits > p.BitsAllocated {
		bits = p.BitsAllocated
	}
	shift := p.HighBit + 1 - bits
	if shift < 0 || shift+bits > p.BitsAllocated {
		shift = 0
	}
	var mask uint32 = math.MaxUint32
	if bits < 32 {
		mask = 1<<uint(bits) - 1
	}
	return storedLayout{shift: uint(shift), bits: uint(bits), mask: mask, signed: p.PixelRepresentation == 1}
}

// value turns an allocated sample into its stored value.
func (l storedLayout) value(raw uint32) int64 {
	v := raw >> l.shift & l.mask
	if l.signed && l.bits < 64 && v&(1<<(l.bits-1)) != 0 {
		return int64(v) - int64(1)<<l.bits
	}
	return int64(v)
}

// index turns an allocated sample into the unsigned bit pattern of its
// stored value, an index into a table of 2^Bits Stored entries.
func (l storedLayout) index(raw uint32) uint32 { return raw >> l.shift & l.mask }

// patternValue returns the stored value a bit pattern stands for.
func (l storedLayout) patternValue(i uint32) int64 { return l.value(i << l.shift) }

// sample returns allocated sample number i (0-based over all samples) of
// an integer frame.
func sample(data []byte, bitsAllocated, i int) uint32 {
	switch bitsAllocated {
	case 8:
		return uint32(data[i])
	case 16:
		return uint32(binary.LittleEndian.Uint16(data[2*i:]))
	case 32:
		return binary.LittleEndian.Uint32(data[4*i:])
	case 1:
		return uint32(data[i>>3]>>(i&7)) & 1
	}
	return 0
}

// floatSample returns float sample number i of a Float or Double Float
// Pixel Data frame.
func floatSample(data []byte, bitsAllocated, i int) float64 {
	if bitsAllocated == 64 {
		return math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:]))
	}
	return float64(math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:])))
}
