// Package deflateframe is the Deflated Image Frame Compression codec
// (transfer syntax 1.2.840.10008.1.2.8.1, PS3.5 8.2.16): each frame's native
// little-endian bytes compressed with Deflate (RFC 1951), one frame per
// fragment. Frames of Bits Allocated 1 are bit-packed from the frame's
// first byte. Pure Go; importing the package registers the codec.
package deflateframe

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"errors"
	"fmt"
	"io"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
)

// Codec decodes and encodes Deflated Image Frame Compression frames.
type Codec struct{}

var _ codec.Encoder = Codec{}

func init() { codec.Register(Codec{}) }

// TransferSyntax returns the Deflated Image Frame Compression UID.
func (Codec) TransferSyntax() string { return dicom.DeflatedImageFrameCompression }

// Lossy reports false.
func (Codec) Lossy() bool { return false }

// Method returns "".
func (Codec) Method() string { return "" }

// Decode inflates one frame into dst. The stream must inflate to exactly
// len(dst) bytes (a single trailing pad byte is tolerated); inflating stops
// one byte past that, so a deflate bomb costs nothing.
func (Codec) Decode(dst, src []byte, in codec.PixelInfo) (codec.PixelInfo, error) {
	if int64(len(dst)) != in.FrameSize() {
		return codec.PixelInfo{}, fmt.Errorf("deflateframe: output buffer %d bytes, frame needs %d", len(dst), in.FrameSize())
	}
	err := inflate(dst, flate.NewReader(bytes.NewReader(src)))
	if err != nil {
		// Some writers wrap the frame in a zlib header; accept that too.
		if zr, zerr := zlib.NewReader(bytes.NewReader(src)); zerr == nil {
			if inflate(dst, zr) == nil {
				err = nil
			}
		}
	}
	if err != nil {
		return codec.PixelInfo{}, err
	}
	out := in
	out.PlanarConfiguration = 0
	if in.PlanarConfiguration == 1 && in.SamplesPerPixel > 1 && in.BitsAllocated >= 8 {
		tmp := append([]byte(nil), dst...)
		deplane(dst, tmp, in.SamplesPerPixel, in.BitsAllocated/8)
	}
	return out, nil
}

func inflate(dst []byte, r io.Reader) error {
	n, err := io.ReadFull(r, dst)
	if err != nil {
		return fmt.Errorf("deflateframe: %w: frame inflates to %d bytes, needs %d: %v", codec.ErrCorrupt, n, len(dst), err)
	}
	// The stream must end here, allowing one zero pad byte: more data is a
	// frame larger than the header says, no end marker a truncated stream.
	var extra [1]byte
	for pad := 0; ; pad++ {
		k, err := r.Read(extra[:])
		if k == 1 && (extra[0] != 0 || pad > 0) {
			return fmt.Errorf("deflateframe: %w: frame inflates to more than the %d bytes it should", codec.ErrCorrupt, len(dst))
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("deflateframe: %w: %v", codec.ErrCorrupt, err)
		}
	}
	return nil
}

// deplane turns colour-by-plane samples into colour-by-pixel.
func deplane(dst, src []byte, spp, bps int) {
	plane := len(src) / spp
	for s := 0; s < spp; s++ {
		for i := 0; i < plane/bps; i++ {
			copy(dst[(i*spp+s)*bps:(i*spp+s+1)*bps], src[s*plane+i*bps:s*plane+(i+1)*bps])
		}
	}
}

// Encode deflates one native frame.
func (Codec) Encode(src []byte, in codec.PixelInfo, _ codec.EncodeOptions) ([]byte, codec.PixelInfo, error) {
	if int64(len(src)) != in.FrameSize() {
		return nil, codec.PixelInfo{}, fmt.Errorf("deflateframe: frame has %d bytes, info says %d", len(src), in.FrameSize())
	}
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, flate.DefaultCompression)
	if err != nil {
		return nil, codec.PixelInfo{}, fmt.Errorf("deflateframe: %w", err)
	}
	if _, err := w.Write(src); err != nil {
		return nil, codec.PixelInfo{}, fmt.Errorf("deflateframe: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, codec.PixelInfo{}, fmt.Errorf("deflateframe: %w", err)
	}
	info := in
	info.NumberOfFrames = 1
	return b.Bytes(), info, nil
}
