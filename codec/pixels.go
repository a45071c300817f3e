package codec

import (
	"fmt"
	"io"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// Pixels gives access to the frames of one data set's pixel data. It is
// built once per data set (Open) and then serves any frame, decoded
// (Frame, FrameInto) or as stored (RawFrame). A Pixels is safe for
// concurrent use when its source is (an *os.File is).
type Pixels struct {
	// Info describes the pixel data as the data set declares it.
	Info PixelInfo
	// TransferSyntax is the syntax the pixel data is in.
	TransferSyntax string

	elem      *dicom.Element
	bigEndian bool
	src       io.ReaderAt
	limits    Limits
	codec     Codec
	// frames locate each encapsulated frame among the fragments.
	frames []frameSpan
}

// Options tune Open.
type Options struct {
	// Limits bound the size of a decoded frame.
	Limits Limits
}

// Decode decodes frame number frame (0-based) of the pixel data in ds,
// whose transfer syntax is ts, reading values the reader left in the
// source from src (which may be nil when everything was loaded). It
// returns native little-endian colour-by-pixel samples and the PixelInfo
// that describes them (see the package comment), with the default Limits.
func Decode(ds *dicom.Dataset, ts string, src io.ReaderAt, frame int) ([]byte, PixelInfo, error) {
	p, err := Open(ds, ts, src, Options{})
	if err != nil {
		return nil, PixelInfo{}, err
	}
	return p.Frame(frame)
}

// DecodeFile is Decode for a parsed file, whose transfer syntax it knows.
func DecodeFile(f *dicom.File, src io.ReaderAt, frame int) ([]byte, PixelInfo, error) {
	return Decode(f.Dataset, f.TransferSyntax, src, frame)
}

// Open reads the pixel description of ds and locates its frames. It fails
// when the data set has no pixel data, when its attributes are invalid,
// when no codec handles ts, or when the encapsulated frames cannot be
// located. The size limits are checked when a frame is decoded.
func Open(ds *dicom.Dataset, ts string, src io.ReaderAt, opts Options) (*Pixels, error) {
	elem := ds.Get(TagPixelData)
	if elem == nil {
		elem = ds.Get(TagFloatPixelData)
	}
	if elem == nil {
		elem = ds.Get(TagDoubleFloatPixelData)
	}
	if elem == nil {
		return nil, ErrNoPixelData
	}
	info, err := ReadPixelInfo(ds)
	if err != nil {
		return nil, err
	}
	p := &Pixels{Info: info, TransferSyntax: ts, elem: elem, bigEndian: ds.Encoding.BigEndian, src: src, limits: opts.Limits}
	if !elem.IsEncapsulated() {
		if ts != "" && !isNative(ts) {
			return nil, fmt.Errorf("%w: transfer syntax %s needs encapsulated pixel data, found native", ErrCorrupt, ts)
		}
		return p, p.checkNative()
	}
	if isNative(ts) {
		return nil, fmt.Errorf("%w: encapsulated pixel data in native transfer syntax %s", ErrCorrupt, ts)
	}
	c, ok := Lookup(ts)
	if !ok {
		return nil, fmt.Errorf("%w: no codec for transfer syntax %s", ErrUnsupported, ts)
	}
	p.codec = c
	value := func(e *dicom.Element) []byte { return elementValue(e, p.src) }
	if p.frames, err = locateFrames(ds, elem, info.NumberOfFrames, p.readFragmentHead, value); err != nil {
		return nil, err
	}
	return p, nil
}

// NumFrames returns the number of frames.
func (p *Pixels) NumFrames() int { return p.Info.NumberOfFrames }

// Encapsulated reports whether the pixel data is compressed fragments.
func (p *Pixels) Encapsulated() bool { return p.elem.IsEncapsulated() }

// Frame decodes frame i into a new buffer.
func (p *Pixels) Frame(i int) ([]byte, PixelInfo, error) {
	if err := p.checkFrame(i); err != nil {
		return nil, PixelInfo{}, err
	}
	dst := make([]byte, p.Info.FrameSize())
	info, err := p.FrameInto(dst, i)
	if err != nil {
		return nil, PixelInfo{}, err
	}
	return dst, info, nil
}

// FrameInto decodes frame i into dst, which must have exactly
// Info.FrameSize() bytes; callers decoding many frames reuse one buffer.
func (p *Pixels) FrameInto(dst []byte, i int) (PixelInfo, error) {
	if err := p.checkFrame(i); err != nil {
		return PixelInfo{}, err
	}
	if int64(len(dst)) != p.Info.FrameSize() {
		return PixelInfo{}, fmt.Errorf("codec: output buffer has %d bytes, frame needs %d", len(dst), p.Info.FrameSize())
	}
	if !p.Encapsulated() {
		return p.nativeFrame(dst, i)
	}
	src, err := p.RawFrame(i)
	if err != nil {
		return PixelInfo{}, err
	}
	info, err := p.codec.Decode(dst, src, p.frameInfo())
	if err != nil {
		return PixelInfo{}, fmt.Errorf("codec: frame %d: %w", i, err)
	}
	info.NumberOfFrames = p.Info.NumberOfFrames
	if info.Signed() && info.BitsStored < info.BitsAllocated {
		signExtend(dst, info.BitsAllocated, info.BitsStored)
	}
	return info, nil
}

// signExtend sign-extends samples of width bits stored in allocated-bit
// little-endian words. A compressed stream carries only Bits Stored bits,
// and decoders fill the bits above with zeros (IJG, CharLS) or with the
// sign (OpenJPEG); extending makes every codec return the value a native
// signed image holds.
func signExtend(b []byte, allocated, stored int) {
	switch allocated {
	case 8:
		shift := 8 - stored
		for i, v := range b {
			b[i] = byte(int8(v<<shift) >> shift)
		}
	case 16:
		shift := 16 - stored
		for i := 0; i+1 < len(b); i += 2 {
			v := int16(uint16(b[i])|uint16(b[i+1])<<8) << shift >> shift
			b[i], b[i+1] = byte(v), byte(uint16(v)>>8)
		}
	case 32:
		shift := 32 - stored
		for i := 0; i+3 < len(b); i += 4 {
			v := int32(uint32(b[i])|uint32(b[i+1])<<8|uint32(b[i+2])<<16|uint32(b[i+3])<<24) << shift >> shift
			b[i], b[i+1], b[i+2], b[i+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
		}
	}
}

// frameInfo is Info as a codec sees one frame.
func (p *Pixels) frameInfo() PixelInfo {
	in := p.Info
	in.NumberOfFrames = 1
	return in
}

func (p *Pixels) checkFrame(i int) error {
	if i < 0 || i >= p.Info.NumberOfFrames {
		return fmt.Errorf("%w: frame %d of %d", ErrFrameRange, i, p.Info.NumberOfFrames)
	}
	return p.limits.Check(p.Info)
}

// RawFrame returns the bytes of frame i as stored: the compressed
// bitstream of an encapsulated frame (its fragments joined), or the native
// bytes of the frame (for Bits Allocated 1 the bytes that hold its bits,
// not realigned; in the data set's byte order).
func (p *Pixels) RawFrame(i int) ([]byte, error) {
	if i < 0 || i >= p.Info.NumberOfFrames {
		return nil, fmt.Errorf("%w: frame %d of %d", ErrFrameRange, i, p.Info.NumberOfFrames)
	}
	if !p.Encapsulated() {
		start, end := p.nativeByteRange(i)
		return p.readValue(start, end-start)
	}
	fs := p.frames[i]
	var n int64
	for _, f := range p.elem.Fragments[fs.first:fs.end] {
		n += int64(f.Length)
	}
	if fs.length >= 0 && fs.length < n {
		n = fs.length
	}
	out := make([]byte, 0, n)
	for k := fs.first; k < fs.end && int64(len(out)) < n; k++ {
		b, err := p.readFragment(k)
		if err != nil {
			return nil, err
		}
		if rest := n - int64(len(out)); int64(len(b)) > rest {
			b = b[:rest]
		}
		out = append(out, b...)
	}
	return out, nil
}

// readFragment returns the bytes of fragment k (0 is the Basic Offset Table).
func (p *Pixels) readFragment(k int) ([]byte, error) { return p.readFragmentHead(k, -1) }

// readFragmentHead returns the first max bytes of fragment k (all when max < 0).
func (p *Pixels) readFragmentHead(k, max int) ([]byte, error) {
	return readFragment(p.elem.Fragments[k], k, max, p.src)
}

// readValue reads n bytes at offset off of a native Pixel Data value.
func (p *Pixels) readValue(off, n int64) ([]byte, error) {
	if p.elem.Value != nil {
		if off+n > int64(len(p.elem.Value)) {
			return nil, fmt.Errorf("%w: need bytes %d..%d of %d", ErrTruncated, off, off+n, len(p.elem.Value))
		}
		return p.elem.Value[off : off+n], nil
	}
	if p.src == nil {
		return nil, fmt.Errorf("codec: pixel data was left in the source and no source was given")
	}
	b := make([]byte, n)
	if _, err := p.src.ReadAt(b, p.elem.Offset+off); err != nil {
		return nil, fmt.Errorf("%w: pixel data bytes %d..%d at offset %d: %v", ErrTruncated, off, off+n, p.elem.Offset, err)
	}
	return b, nil
}

func isNative(ts string) bool {
	switch ts {
	case dicom.ImplicitVRLittleEndian, dicom.ExplicitVRLittleEndian, dicom.ExplicitVRBigEndian, dicom.DeflatedExplicitVRLittleEndian:
		return true
	}
	return false
}
