package dicomweb

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/blob"
)

// Transcoder converts stored instances and frames to other transfer
// syntaxes. Without one the service serves stored bytes only and answers
// 406 to requests for other syntaxes.
type Transcoder interface {
	// CanTranscode reports whether data in syntax from can be converted to to.
	CanTranscode(from, to string) bool
	// TranscodeInstance writes the Part 10 instance read from src (its
	// header already parsed as f) to w in syntax to.
	TranscodeInstance(ctx context.Context, w io.Writer, f *dicom.File, src blob.Reader, to string) error
	// TranscodeFrame returns frame n (1-based) of the instance parsed as f
	// in syntax to.
	TranscodeFrame(ctx context.Context, f *dicom.File, src io.ReaderAt, n int, to string) ([]byte, error)
}

// CodecTranscoder is the Transcoder over the pixel codec registry
// (package codec): it decodes any syntax a registered codec handles, to
// Explicit VR Little Endian (native pixels, streamed frame by frame) or
// to any syntax a registered codec encodes (RLE, JPEG-LS, JPEG 2000,
// JPEG baseline, ...; one instance's encoded pixel data is held in memory
// while it is written). A lossy target makes a new derived instance
// (codec.DeriveLossy): the service asks for one only when the client named
// the lossy syntax. Which codecs exist depends on what the program imports
// (codec/all registers every one).
type CodecTranscoder struct {
	// Limits bound decoded frame sizes; the zero value uses codec's defaults.
	Limits codec.Limits
	// Encode tunes the encoders (JPEG quality); the zero value uses their
	// defaults.
	Encode codec.EncodeOptions
	// StreamAbove: an instance whose native pixel data exceed this many
	// bytes is converted to a lossless compressed syntax frame by frame and
	// streamed, one fragment per frame behind an empty Basic Offset Table
	// (PS3.5 A.4), rather than encoded whole in memory behind a filled
	// one. 0 means DefaultStreamAbove; lossy targets are never streamed,
	// since their compression ratio precedes the pixel data.
	StreamAbove int64
}

// DefaultStreamAbove is CodecTranscoder's default StreamAbove: 64 MiB.
const DefaultStreamAbove = 64 << 20

var _ Transcoder = CodecTranscoder{}

// CanTranscode implements Transcoder: the source must be decodable and the
// target Explicit VR Little Endian or a syntax with a registered encoder.
func (c CodecTranscoder) CanTranscode(from, to string) bool {
	if from == to || !codec.CanDecode(from) {
		return false
	}
	if to == dicom.ExplicitVRLittleEndian {
		return true
	}
	_, ok := codec.LookupEncoder(to)
	return ok && dicom.IsEncapsulated(to)
}

// isLossy reports whether producing ts loses information.
func isLossy(ts string) bool {
	enc, ok := codec.LookupEncoder(ts)
	return ok && enc.Lossy()
}

// TranscodeFrame implements Transcoder: frame n decoded, and encoded again
// when to is a compressed syntax (the bytes of one frame's codestream).
func (c CodecTranscoder) TranscodeFrame(ctx context.Context, f *dicom.File, src io.ReaderAt, n int, to string) ([]byte, error) {
	if !c.CanTranscode(f.TransferSyntax, to) {
		return nil, fmt.Errorf("dicomweb: cannot convert %s to %s: %w", f.TransferSyntax, to, codec.ErrUnsupported)
	}
	px, err := codec.Open(f.Dataset, f.TransferSyntax, src, codec.Options{Limits: c.Limits})
	if err != nil {
		return nil, fmt.Errorf("dicomweb: decode: %w", err)
	}
	b, info, err := px.Frame(n - 1)
	if err != nil {
		return nil, fmt.Errorf("dicomweb: decode frame %d: %w", n, err)
	}
	if to == dicom.ExplicitVRLittleEndian {
		return b, nil
	}
	enc, _ := codec.LookupEncoder(to)
	if info.Float {
		return nil, fmt.Errorf("dicomweb: frame %d: %w: float pixel data cannot be encapsulated", n, codec.ErrUnsupported)
	}
	out, _, err := enc.Encode(b, info, c.Encode)
	if err != nil {
		return nil, fmt.Errorf("dicomweb: encode frame %d as %s: %w", n, to, err)
	}
	return out, nil
}

// TranscodeInstance implements Transcoder. Nothing is written to w before
// the first frame has been converted, so that an instance the target
// cannot represent fails (with an error wrapping codec.ErrUnsupported)
// before any output.
func (c CodecTranscoder) TranscodeInstance(ctx context.Context, w io.Writer, f *dicom.File, src blob.Reader, to string) error {
	if !c.CanTranscode(f.TransferSyntax, to) {
		return fmt.Errorf("dicomweb: cannot convert %s to %s: %w", f.TransferSyntax, to, codec.ErrUnsupported)
	}
	if to == dicom.ExplicitVRLittleEndian || pixelElement(f.Dataset) == nil {
		return c.toNative(ctx, w, f, src, to)
	}
	limit := c.StreamAbove
	if limit <= 0 {
		limit = DefaultStreamAbove
	}
	if enc, _ := codec.LookupEncoder(to); !enc.Lossy() {
		if info, err := codec.ReadPixelInfo(f.Dataset); err == nil && info.FrameSize()*int64(info.NumberOfFrames) > limit {
			return c.streamEncapsulated(ctx, w, f, src, to, enc)
		}
	}
	out, err := codec.TranscodeWith(f.Dataset, f.TransferSyntax, src, to, codec.TranscodeOptions{
		Limits: c.Limits, AllowLossy: true, Derive: true, Encode: c.Encode,
	})
	if err != nil {
		return fmt.Errorf("dicomweb: transcode to %s: %w", to, err)
	}
	return dicom.WriteFile(w, out, to, dicom.WriteOptions{Bulk: src})
}

// toNative writes the header in Explicit VR Little Endian and streams the
// decoded frames one by one as native Pixel Data, so that a large
// multi-frame instance is never held whole in memory.
func (c CodecTranscoder) toNative(ctx context.Context, w io.Writer, f *dicom.File, src blob.Reader, to string) error {
	ds := f.Dataset
	pix := pixelElement(ds)
	if pix == nil {
		// No pixels: only the data set encoding changes.
		return dicom.WriteFile(w, ds, to, dicom.WriteOptions{Bulk: src})
	}
	px, err := codec.Open(ds, f.TransferSyntax, src, codec.Options{Limits: c.Limits})
	if err != nil {
		return fmt.Errorf("dicomweb: decode: %w", err)
	}
	frames := px.NumFrames()
	first, info, err := px.Frame(0)
	if err != nil {
		return fmt.Errorf("dicomweb: decode frame 1: %w", err)
	}
	// The header, with the pixel description of what the codec produced.
	before, after := splitAround(ds, pix.Tag)
	before.Set(dicom.NewStringElement(dicom.Tag(0x00280004), dicom.CS, info.PhotometricInterpretation))
	if info.SamplesPerPixel > 1 {
		before.Set(usElement(dicom.Tag(0x00280006), uint16(info.PlanarConfiguration)))
	}
	opts := dicom.WriteOptions{Bulk: src}
	if err := dicom.WriteFile(w, before, to, opts); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	size := int64(len(first)) * int64(frames)
	if size > 0xFFFFFFFE {
		return fmt.Errorf("dicomweb: %d bytes of native pixel data do not fit in one element", size)
	}
	vr := "OW"
	if info.BitsAllocated <= 8 {
		vr = "OB"
	}
	hdr := binary.LittleEndian.AppendUint16(nil, pix.Tag.Group())
	hdr = binary.LittleEndian.AppendUint16(hdr, pix.Tag.Element())
	if pix.Tag != dicom.TagPixelData {
		vr = pix.VR.String()
	}
	hdr = append(hdr, vr...)
	hdr = append(hdr, 0, 0)
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(size+size%2))
	bw.Write(hdr)
	bw.Write(first)
	for i := 1; i < frames; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, _, err := px.Frame(i)
		if err != nil {
			return fmt.Errorf("dicomweb: decode frame %d: %w", i+1, err)
		}
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	if size%2 == 1 {
		bw.WriteByte(0)
	}
	if len(after.Elements) > 0 {
		if err := dicom.WriteDataset(bw, after, dicom.EncodingExplicitLE, opts); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func usElement(tag dicom.Tag, v uint16) *dicom.Element {
	return &dicom.Element{Tag: tag, VR: dicom.US, Value: binary.LittleEndian.AppendUint16(nil, v), Length: 2}
}

// streamEncapsulated writes the instance with its pixel data encoded by
// enc frame by frame: the header (its Image Pixel attributes describing
// the encoded frames), then encapsulated Pixel Data with an empty Basic
// Offset Table and one fragment per frame, each written as soon as it is
// encoded, then the elements after the pixel data. Only one frame, native
// and encoded, is in memory at a time.
func (c CodecTranscoder) streamEncapsulated(ctx context.Context, w io.Writer, f *dicom.File, src blob.Reader, to string, enc codec.Encoder) error {
	ds := f.Dataset
	px, err := codec.Open(ds, f.TransferSyntax, src, codec.Options{Limits: c.Limits})
	if err != nil {
		return fmt.Errorf("dicomweb: decode: %w", err)
	}
	if px.Info.Float {
		return fmt.Errorf("dicomweb: %w: float pixel data cannot be encapsulated", codec.ErrUnsupported)
	}
	buf := make([]byte, px.Info.FrameSize())
	encodeFrame := func(i int) ([]byte, codec.PixelInfo, error) {
		info, err := px.FrameInto(buf, i)
		if err != nil {
			return nil, codec.PixelInfo{}, fmt.Errorf("dicomweb: decode frame %d: %w", i+1, err)
		}
		b, encInfo, err := enc.Encode(buf, info, c.Encode)
		if err != nil {
			return nil, codec.PixelInfo{}, fmt.Errorf("dicomweb: encode frame %d as %s: %w", i+1, to, err)
		}
		if len(b)%2 == 1 {
			b = append(b, 0) // fragments have even length
		}
		return b, encInfo, nil
	}
	first, encInfo, err := encodeFrame(0)
	if err != nil {
		return err
	}
	before, after := splitAround(ds, dicom.TagPixelData)
	was := px.Info
	if encInfo.PhotometricInterpretation != was.PhotometricInterpretation {
		before.Set(dicom.NewStringElement(codec.TagPhotometricInterpretation, dicom.CS, encInfo.PhotometricInterpretation))
	}
	if encInfo.SamplesPerPixel > 1 {
		before.Set(usIn(ds, codec.TagPlanarConfiguration, 0))
	} else {
		before.Delete(codec.TagPlanarConfiguration)
	}
	if encInfo.BitsStored != was.BitsStored {
		before.Set(usIn(ds, codec.TagBitsStored, uint16(encInfo.BitsStored)))
		before.Set(usIn(ds, codec.TagHighBit, uint16(encInfo.BitsStored-1)))
	}
	opts := dicom.WriteOptions{Bulk: src}
	if err := dicom.WriteFile(w, before, to, opts); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	item := func(tag dicom.Tag, n int) {
		var h [8]byte
		binary.LittleEndian.PutUint16(h[0:], tag.Group())
		binary.LittleEndian.PutUint16(h[2:], tag.Element())
		binary.LittleEndian.PutUint32(h[4:], uint32(n))
		bw.Write(h[:])
	}
	// Pixel Data, OB, undefined length; the empty Basic Offset Table.
	hdr := binary.LittleEndian.AppendUint16(nil, dicom.TagPixelData.Group())
	hdr = binary.LittleEndian.AppendUint16(hdr, dicom.TagPixelData.Element())
	hdr = append(hdr, 'O', 'B', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF)
	bw.Write(hdr)
	item(tagItem, 0)
	item(tagItem, len(first))
	bw.Write(first)
	for i := 1; i < px.NumFrames(); i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, _, err := encodeFrame(i)
		if err != nil {
			return err
		}
		item(tagItem, len(b))
		if _, err := bw.Write(b); err != nil {
			return err
		}
	}
	item(tagSequenceDelimitation, 0)
	if len(after.Elements) > 0 {
		if err := dicom.WriteDataset(bw, after, dicom.EncodingExplicitLE, opts); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Item and Sequence Delimitation Item tags of encapsulated pixel data.
const (
	tagItem                 = dicom.Tag(0xFFFEE000)
	tagSequenceDelimitation = dicom.Tag(0xFFFEE0DD)
)

// usIn builds a US element in the byte order of ds's values.
func usIn(ds *dicom.Dataset, tag dicom.Tag, v uint16) *dicom.Element {
	var order binary.AppendByteOrder = binary.LittleEndian
	if ds.Encoding.BigEndian {
		order = binary.BigEndian
	}
	return &dicom.Element{Tag: tag, VR: dicom.US, Value: order.AppendUint16(nil, v), Length: 2}
}

// splitAround returns the top-level elements of ds before and after the
// pixel data element tag, in two data sets of ds's encoding, leaving out
// the Extended Offset Table (a transcoded instance's frames move), so that
// a streamed instance can be written header, pixel data, trailer.
func splitAround(ds *dicom.Dataset, tag dicom.Tag) (before, after *dicom.Dataset) {
	before, after = dicom.NewDataset(), dicom.NewDataset()
	for _, e := range ds.Elements {
		switch {
		case e.Tag == dicom.TagExtendedOffsetTable || e.Tag == dicom.TagExtendedOffsetTableLengths:
		case e.Tag < tag:
			before.Elements = append(before.Elements, e)
		case e.Tag > tag:
			after.Elements = append(after.Elements, e)
		}
	}
	before.Encoding, after.Encoding = ds.Encoding, ds.Encoding
	return before, after
}
