package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// ErrLossyNotAllowed: the target transfer syntax is lossy and the caller
// did not set TranscodeOptions.AllowLossy.
var ErrLossyNotAllowed = errors.New("codec: lossy transfer syntax not allowed")

// TranscodeOptions tune Transcode.
type TranscodeOptions struct {
	// Limits bound each decoded frame.
	Limits Limits
	// AllowLossy permits a lossy target syntax (JPEG Baseline, JPEG-LS
	// near-lossless); without it such a target fails with
	// ErrLossyNotAllowed.
	AllowLossy bool
	// Encode tunes the target's encoder.
	Encode EncodeOptions
}

// Transcode returns a copy of ds whose pixel data is in transfer syntax
// targetTS, with the default options (lossy targets refused). See
// TranscodeWith.
func Transcode(ds *dicom.Dataset, ts string, src io.ReaderAt, targetTS string) (*dicom.Dataset, error) {
	return TranscodeWith(ds, ts, src, targetTS, TranscodeOptions{})
}

// TranscodeWith returns a copy of ds (in transfer syntax ts, values left in
// src) whose pixel data is in transfer syntax targetTS: every frame decoded
// and, for an encapsulated target, re-encoded one fragment per frame behind
// a Basic Offset Table. The Image Pixel attributes are updated to describe
// the new pixels (Photometric Interpretation, Planar Configuration, Bits
// Stored), an Extended Offset Table is dropped, and a lossy target sets
// Lossy Image Compression (0028,2110) to "01" and appends its ratio and
// method to (0028,2112) and (0028,2114). Write the result with
// dicom.WriteFile(w, out, targetTS, dicom.WriteOptions{Bulk: src}): the
// copy shares ds's other elements, bulk ones included. The SOP Instance
// UID is left alone; a caller that stores a lossy result as a new instance
// assigns one.
//
// The new pixel data is held in memory (compressed, or native for a native
// target).
func TranscodeWith(ds *dicom.Dataset, ts string, src io.ReaderAt, targetTS string, opts TranscodeOptions) (*dicom.Dataset, error) {
	if ts == targetTS {
		return copyDataset(ds), nil
	}
	p, err := Open(ds, ts, src, Options{Limits: opts.Limits})
	if err != nil {
		return nil, err
	}
	if isNative(targetTS) {
		return toNative(ds, p, targetTS)
	}
	enc, ok := LookupEncoder(targetTS)
	if !ok {
		return nil, fmt.Errorf("%w: no encoder for transfer syntax %s", ErrUnsupported, targetTS)
	}
	if enc.Lossy() && !opts.AllowLossy {
		return nil, fmt.Errorf("%w: %s", ErrLossyNotAllowed, targetTS)
	}
	if p.Info.Float {
		return nil, fmt.Errorf("%w: float pixel data cannot be encapsulated", ErrUnsupported)
	}
	frames := make([]dicom.Fragment, 1, p.NumFrames()+1)
	bot := make([]byte, 0, 4*p.NumFrames())
	var offset, raw, packed int64
	var info, encInfo PixelInfo
	buf := make([]byte, p.Info.FrameSize())
	for i := 0; i < p.NumFrames(); i++ {
		if info, err = p.FrameInto(buf, i); err != nil {
			return nil, err
		}
		var b []byte
		b, encInfo, err = enc.Encode(buf, info, opts.Encode)
		if err != nil {
			return nil, fmt.Errorf("codec: encode frame %d as %s: %w", i, targetTS, err)
		}
		if len(b)%2 == 1 {
			b = append(b, 0) // fragments have even length
		}
		if offset > math.MaxUint32 {
			return nil, fmt.Errorf("%w: encoded frames pass 4 GiB, beyond a Basic Offset Table", ErrTooLarge)
		}
		bot = binary.LittleEndian.AppendUint32(bot, uint32(offset))
		frames = append(frames, dicom.Fragment{Length: uint32(len(b)), Data: b})
		offset += 8 + int64(len(b))
		raw += int64(len(buf))
		packed += int64(len(b))
	}
	frames[0] = dicom.Fragment{Length: uint32(len(bot)), Data: bot}
	out := copyDataset(ds)
	setPixelModule(out, p.Info, encInfo)
	out.Delete(TagExtendedOffsetTable)
	out.Delete(TagExtendedOffsetTableLengths)
	out.Set(&dicom.Element{Tag: TagPixelData, VR: dicom.OB, Length: dicom.UndefinedLength, Fragments: frames})
	if enc.Lossy() {
		ratio := float64(raw) / float64(max(packed, 1))
		markLossy(out, ratio, enc.Method())
	}
	return out, nil
}

// toNative decodes every frame into one native value.
func toNative(ds *dicom.Dataset, p *Pixels, targetTS string) (*dicom.Dataset, error) {
	if ds.Encoding.BigEndian && p.Info.BitsAllocated > 16 {
		return nil, fmt.Errorf("%w: %d-bit samples of a big endian data set", ErrUnsupported, p.Info.BitsAllocated)
	}
	fs := p.Info.FrameSize()
	total := fs * int64(p.NumFrames())
	if p.Info.BitsAllocated == 1 {
		total = (p.Info.Pixels()*int64(p.Info.SamplesPerPixel)*int64(p.NumFrames()) + 7) / 8
	}
	if total > math.MaxUint32-1 {
		return nil, fmt.Errorf("%w: %d bytes of native pixel data", ErrTooLarge, total)
	}
	value := make([]byte, total)
	var info PixelInfo
	frame := make([]byte, fs)
	for i := 0; i < p.NumFrames(); i++ {
		var err error
		if info, err = p.FrameInto(frame, i); err != nil {
			return nil, err
		}
		if p.Info.BitsAllocated == 1 {
			n := p.Info.Pixels() * int64(p.Info.SamplesPerPixel)
			packBitsAt(value, frame, int64(i)*n, n)
			continue
		}
		copy(value[int64(i)*fs:], frame)
	}
	out := copyDataset(ds)
	setPixelModule(out, p.Info, info)
	out.Delete(TagExtendedOffsetTable)
	out.Delete(TagExtendedOffsetTableLengths)
	vr := dicom.OW
	if p.Info.BitsAllocated <= 8 {
		vr = dicom.OB
	}
	tag := TagPixelData
	switch {
	case p.Info.Float && p.Info.BitsAllocated == 32:
		tag, vr = TagFloatPixelData, dicom.OF
	case p.Info.Float:
		tag, vr = TagDoubleFloatPixelData, dicom.OD
	}
	if ds.Encoding.BigEndian && vr == dicom.OW {
		// The copy keeps the source's encoding, whose values are big
		// endian; the writer swaps OW words when the target is not.
		swapInto(value, value, 2)
	}
	out.Set(&dicom.Element{Tag: tag, VR: vr, Length: uint32(len(value)), Value: value})
	return out, nil
}

// packBitsAt copies n bits from the start of src to dst at bit offset off.
func packBitsAt(dst, src []byte, off, n int64) {
	if off%8 == 0 {
		copy(dst[off/8:], src[:(n+7)/8])
		return
	}
	for k := int64(0); k < n; k++ {
		if src[k/8]>>(k%8)&1 == 1 {
			b := off + k
			dst[b/8] |= 1 << (b % 8)
		}
	}
}

// copyDataset returns a new top-level data set holding ds's elements.
func copyDataset(ds *dicom.Dataset) *dicom.Dataset {
	out := dicom.NewDataset()
	out.Encoding = ds.Encoding
	out.Offset = ds.Offset
	out.Elements = append(make([]*dicom.Element, 0, len(ds.Elements)+4), ds.Elements...)
	out.Sort()
	return out
}

// setPixelModule rewrites the Image Pixel attributes that differ between
// the source's description and the new pixels'.
func setPixelModule(ds *dicom.Dataset, was, now PixelInfo) {
	if now.PhotometricInterpretation != was.PhotometricInterpretation {
		ds.Set(dicom.NewStringElement(TagPhotometricInterpretation, dicom.CS, now.PhotometricInterpretation))
	}
	if now.SamplesPerPixel > 1 {
		ds.Set(us(ds, TagPlanarConfiguration, 0))
	} else {
		ds.Delete(TagPlanarConfiguration)
	}
	if now.BitsStored != was.BitsStored {
		ds.Set(us(ds, TagBitsStored, now.BitsStored))
		ds.Set(us(ds, TagHighBit, now.BitsStored-1))
	}
}

// us builds a US element in the byte order of ds's values.
func us(ds *dicom.Dataset, tag dicom.Tag, v int) *dicom.Element {
	var order binary.AppendByteOrder = binary.LittleEndian
	if ds.Encoding.BigEndian {
		order = binary.BigEndian
	}
	return &dicom.Element{Tag: tag, VR: dicom.US, Value: order.AppendUint16(nil, uint16(v))}
}

// markLossy records a lossy compression step (PS3.3 C.7.6.1.1.5): the flag,
// and the ratio and method appended to those of earlier steps.
func markLossy(ds *dicom.Dataset, ratio float64, method string) {
	ds.Set(dicom.NewStringElement(TagLossyImageCompression, dicom.CS, "01"))
	ratios := existing(ds, TagLossyImageCompressionRatio)
	r := strconv.FormatFloat(ratio, 'f', 2, 64)
	if len(r) > 16 {
		r = strconv.FormatFloat(ratio, 'g', 10, 64)
	}
	ds.Set(dicom.NewStringElement(TagLossyImageCompressionRatio, dicom.DS, append(ratios, r)...))
	methods := existing(ds, TagLossyImageCompressionMethod)
	ds.Set(dicom.NewStringElement(TagLossyImageCompressionMethod, dicom.CS, append(methods, method)...))
}

func existing(ds *dicom.Dataset, tag dicom.Tag) []string {
	e := ds.Get(tag)
	if e == nil {
		return nil
	}
	var out []string
	for _, v := range ds.Strings(e) {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
