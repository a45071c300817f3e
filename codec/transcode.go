package codec

import (
	"crypto/sha256"
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
	// Derive makes a lossy result a new instance derived from the source,
	// as PS3.3 C.7.6.1.1.5 requires of lossy compression (see
	// DeriveLossy). Without it the lossy result keeps the source's
	// identity, which suits a caller that assigns one itself.
	Derive bool
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
// UID is left alone unless opts.Derive is set, which makes a lossy result a
// new derived instance (DeriveLossy).
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
		if opts.Derive {
			DeriveLossy(out, ds, targetTS, opts.Encode)
		}
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

// Tags of the General Image and SOP Common attributes a derived instance
// changes (PS3.3 C.7.6.1, C.12.1).
const (
	tagImageType                     = dicom.Tag(0x00080008)
	tagSOPClassUID                   = dicom.Tag(0x00080016)
	tagSOPInstanceUID                = dicom.Tag(0x00080018)
	tagDerivationDescription         = dicom.Tag(0x00082111)
	tagSourceImageSequence           = dicom.Tag(0x00082112)
	tagReferencedSOPClassUID         = dicom.Tag(0x00081150)
	tagReferencedSOPInstanceUID      = dicom.Tag(0x00081155)
	tagDerivationCodeSequence        = dicom.Tag(0x00089215)
	tagPurposeOfReferenceCodeSeq     = dicom.Tag(0x0040A170)
	tagCodeValue                     = dicom.Tag(0x00080100)
	tagCodingSchemeDesignator        = dicom.Tag(0x00080102)
	tagCodeMeaning                   = dicom.Tag(0x00080104)
	maxDerivationDescription         = 1024 // ST
	derivedUIDArc                    = ".1."
	derivedUIDHashBits               = 56 // 44 + 3 + 17 digits = 64 characters at most
	lossyCompressionCode             = "113040"
	uncompressedPredecessorCode      = "121320"
	lossyCompressionMeaning          = "Lossy Compression"
	uncompressedPredecessorMeaning   = "Uncompressed predecessor"
	dicomCodingSchemeDesignator      = "DCM"
	derivationDescriptionTranscoding = "Lossy compression by Lightbox to transfer syntax "
)

// DerivedUID returns the SOP Instance UID of the instance derived from the
// instance sopInstanceUID by lossy compression to targetTS with opts: a UID
// under Lightbox's root (dicom.ImplementationClassUID), arc 1, followed by
// 56 bits of a SHA-256 over the inputs. The same derivation always gives
// the same UID, so a client retrieving it twice sees one instance.
func DerivedUID(sopInstanceUID, targetTS string, opts EncodeOptions) string {
	h := sha256.Sum256([]byte(sopInstanceUID + "\x00" + targetTS + "\x00" + strconv.Itoa(opts.Quality)))
	n := binary.BigEndian.Uint64(h[:8]) >> (64 - derivedUIDHashBits)
	if n == 0 {
		n = 1
	}
	return dicom.ImplementationClassUID + derivedUIDArc + strconv.FormatUint(n, 10)
}

// DeriveLossy turns out, the lossy transcode of src to targetTS, into a new
// instance derived from src (PS3.3 C.7.6.1.1.5 Lossy Image Compression,
// C.7.6.1.1.2 Image Type, C.7.6.1.1.3 Derivation Description, C.7.6.1.1.4
// Source Image Sequence): a new SOP Instance UID (DerivedUID), Image Type
// value 1 DERIVED (value 2 kept, SECONDARY when absent), the derivation
// appended to Derivation Description, Derivation Code Sequence (DCM 113040
// Lossy Compression), and a Source Image Sequence naming src with purpose
// DCM 121320 Uncompressed predecessor. The lossy compression attributes
// are those TranscodeWith set.
func DeriveLossy(out, src *dicom.Dataset, targetTS string, opts EncodeOptions) {
	srcUID := src.String(tagSOPInstanceUID)
	srcClass := src.String(tagSOPClassUID)
	out.Set(dicom.NewStringElement(tagSOPInstanceUID, dicom.UI, DerivedUID(srcUID, targetTS, opts)))

	types := existing(src, tagImageType)
	switch len(types) {
	case 0, 1:
		types = []string{"DERIVED", "SECONDARY"}
	default:
		types = append([]string{"DERIVED"}, types[1:]...)
	}
	out.Set(dicom.NewStringElement(tagImageType, dicom.CS, types...))

	desc := derivationDescriptionTranscoding + targetTS
	if old := strings.TrimSpace(src.String(tagDerivationDescription)); old != "" {
		desc = old + "; " + desc
	}
	if len(desc) > maxDerivationDescription {
		desc = desc[len(desc)-maxDerivationDescription:]
	}
	out.Set(dicom.NewStringElement(tagDerivationDescription, dicom.ST, desc))

	out.Set(sequence(tagDerivationCodeSequence,
		codeItem(out, lossyCompressionCode, lossyCompressionMeaning)))
	ref := item(out)
	ref.Set(dicom.NewStringElement(tagReferencedSOPClassUID, dicom.UI, srcClass))
	ref.Set(dicom.NewStringElement(tagReferencedSOPInstanceUID, dicom.UI, srcUID))
	ref.Set(sequence(tagPurposeOfReferenceCodeSeq,
		codeItem(ref, uncompressedPredecessorCode, uncompressedPredecessorMeaning)))
	out.Set(sequence(tagSourceImageSequence, ref))
}

// item returns an empty sequence item under parent, in its encoding.
func item(parent *dicom.Dataset) *dicom.Dataset {
	it := dicom.NewDataset()
	it.Encoding = parent.Encoding
	it.Parent = parent
	return it
}

// codeItem returns a Code Sequence item of the DCM coding scheme.
func codeItem(parent *dicom.Dataset, value, meaning string) *dicom.Dataset {
	it := item(parent)
	it.Set(dicom.NewStringElement(tagCodeValue, dicom.SH, value))
	it.Set(dicom.NewStringElement(tagCodingSchemeDesignator, dicom.SH, dicomCodingSchemeDesignator))
	it.Set(dicom.NewStringElement(tagCodeMeaning, dicom.LO, meaning))
	return it
}

// sequence returns a sequence element holding items.
func sequence(tag dicom.Tag, items ...*dicom.Dataset) *dicom.Element {
	return &dicom.Element{Tag: tag, VR: dicom.SQ, Length: dicom.UndefinedLength, Items: items}
}
