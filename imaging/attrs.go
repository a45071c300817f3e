package imaging

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// Tags of the modules the display pipeline reads (PS3.3 C.7.6.3 Image
// Pixel, C.11 Modality/VOI/Presentation LUT, C.9 Overlay Plane, C.7.6.16
// Multi-frame Functional Groups).
const (
	tagPhotometricInterpretation = dicom.Tag(0x00280004)
	tagPixelAspectRatio          = dicom.Tag(0x00280034)
	tagPixelSpacing              = dicom.Tag(0x00280030)
	tagPixelPaddingValue         = dicom.Tag(0x00280120)
	tagPixelPaddingRangeLimit    = dicom.Tag(0x00280121)
	tagWindowCenter              = dicom.Tag(0x00281050)
	tagWindowWidth               = dicom.Tag(0x00281051)
	tagRescaleIntercept          = dicom.Tag(0x00281052)
	tagRescaleSlope              = dicom.Tag(0x00281053)
	tagWindowExplanation         = dicom.Tag(0x00281055)
	tagVOILUTFunction            = dicom.Tag(0x00281056)
	tagModalityLUTSequence       = dicom.Tag(0x00283000)
	tagLUTDescriptor             = dicom.Tag(0x00283002)
	tagLUTExplanation            = dicom.Tag(0x00283003)
	tagLUTData                   = dicom.Tag(0x00283006)
	tagVOILUTSequence            = dicom.Tag(0x00283010)
	tagFrameVOILUTSequence       = dicom.Tag(0x00289132)
	tagPixelValueTransformSeq    = dicom.Tag(0x00289145)
	tagPresentationLUTShape      = dicom.Tag(0x20500020)
	tagSharedFunctionalGroups    = dicom.Tag(0x52009229)
	tagPerFrameFunctionalGroups  = dicom.Tag(0x52009230)

	tagRedPaletteDescriptor   = dicom.Tag(0x00281101)
	tagRedPaletteData         = dicom.Tag(0x00281201)
	tagSegmentedRedPaletteSeq = dicom.Tag(0x00281221)
)

// values reads the value bytes of e, from the data set when loaded or from
// src when the reader left them in the source (bulk values such as large
// LUT Data or Overlay Data). A nil element gives nil.
func values(e *dicom.Element, src io.ReaderAt) ([]byte, error) {
	if e == nil || e.Value != nil || e.Length == 0 {
		if e == nil {
			return nil, nil
		}
		return e.Value, nil
	}
	if e.Length == dicom.UndefinedLength || e.IsEncapsulated() || e.IsSequence() {
		return nil, fmt.Errorf("imaging: %s has no plain value", e.Tag)
	}
	if src == nil {
		return nil, fmt.Errorf("imaging: %s (%d bytes) was left in the source and Options.Source is nil", e.Tag, e.Length)
	}
	b := make([]byte, e.Length)
	if _, err := src.ReadAt(b, e.Offset); err != nil {
		return nil, fmt.Errorf("imaging: reading %s (%d bytes at offset %d): %w", e.Tag, e.Length, e.Offset, err)
	}
	return b, nil
}

// words decodes 16-bit words in the data set's byte order.
func words(ds *dicom.Dataset, b []byte) []uint16 {
	var o binary.ByteOrder = binary.LittleEndian
	if ds != nil && ds.Encoding.BigEndian {
		o = binary.BigEndian
	}
	out := make([]uint16, len(b)/2)
	for i := range out {
		out[i] = o.Uint16(b[2*i:])
	}
	return out
}

// floats returns the numeric values of the element with the tag in ds.
func floats(ds *dicom.Dataset, tag dicom.Tag) []float64 {
	e := ds.Get(tag)
	if e == nil {
		return nil
	}
	v, _ := ds.Floats(e) // a malformed trailing value leaves the good ones
	out := v[:0]
	for _, f := range v {
		if !math.IsNaN(f) && !math.IsInf(f, 0) {
			out = append(out, f)
		}
	}
	return out
}

// strs returns the trimmed string values of the element with the tag.
func strs(ds *dicom.Dataset, tag dicom.Tag) []string {
	e := ds.Get(tag)
	if e == nil {
		return nil
	}
	return ds.Strings(e)
}

// upper returns the first value of a code string, upper-cased and trimmed.
func upper(ds *dicom.Dataset, tag dicom.Tag) string {
	return strings.ToUpper(strings.TrimSpace(ds.String(tag)))
}

// firstItem returns the first item of the sequence with the tag, or nil.
func firstItem(ds *dicom.Dataset, tag dicom.Tag) *dicom.Dataset {
	if ds == nil {
		return nil
	}
	e := ds.Get(tag)
	if e == nil || len(e.Items) == 0 {
		return nil
	}
	return e.Items[0]
}

// functionalGroup returns the item of the functional group macro seq that
// applies to frame (0-based): the Per-frame Functional Groups item's when it
// has one, else the Shared Functional Groups item's, else nil (PS3.3
// C.7.6.16: a macro is in one or the other).
func functionalGroup(ds *dicom.Dataset, frame int, seq dicom.Tag) *dicom.Dataset {
	if e := ds.Get(tagPerFrameFunctionalGroups); e != nil && frame >= 0 && frame < len(e.Items) {
		if it := firstItem(e.Items[frame], seq); it != nil {
			return it
		}
	}
	return firstItem(firstItem(ds, tagSharedFunctionalGroups), seq)
}

// signedWord reads a 16-bit word that is signed when signed is set.
func signedWord(w uint16, signed bool) int {
	if signed {
		return int(int16(w))
	}
	return int(w)
}
