package dicom

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom/dict"
)

// Tag is a DICOM data element tag: group in the high 16 bits, element in the low 16.
type Tag uint32

// NewTag builds a Tag from its group and element numbers.
func NewTag(group, element uint16) Tag { return Tag(uint32(group)<<16 | uint32(element)) }

// Group returns the tag's group number.
func (t Tag) Group() uint16 { return uint16(t >> 16) }

// Element returns the tag's element number.
func (t Tag) Element() uint16 { return uint16(t) }

// IsPrivate reports whether the tag belongs to an odd (private) group.
func (t Tag) IsPrivate() bool { return t.Group()%2 == 1 && t.Group() > 8 }

// IsPrivateCreator reports whether the tag is a private creator element (gggg,0010-00FF).
func (t Tag) IsPrivateCreator() bool {
	return t.IsPrivate() && t.Element() >= 0x10 && t.Element() <= 0xFF
}

// IsGroupLength reports whether the tag is a group length element (gggg,0000).
func (t Tag) IsGroupLength() bool { return t.Element() == 0 }

// String formats the tag as (gggg,eeee) in upper-case hex.
func (t Tag) String() string { return fmt.Sprintf("(%04X,%04X)", t.Group(), t.Element()) }

// Hex formats the tag as eight upper-case hex digits, the form DICOM JSON uses.
func (t Tag) Hex() string { return fmt.Sprintf("%08X", uint32(t)) }

// Keyword returns the dictionary keyword of a public tag, or "" when unknown.
func (t Tag) Keyword() string {
	if e, ok := dict.Lookup(uint32(t)); ok {
		return e.Keyword
	}
	return ""
}

// ParseTag reads a tag written as "(gggg,eeee)", "gggg,eeee", "ggggeeee" or a
// dictionary keyword such as "PatientName".
func ParseTag(s string) (Tag, error) {
	s = strings.TrimSpace(s)
	h := strings.NewReplacer("(", "", ")", "", ",", "", " ", "").Replace(s)
	if len(h) == 8 {
		if v, err := strconv.ParseUint(h, 16, 32); err == nil {
			return Tag(v), nil
		}
	}
	if e, ok := dict.ByKeyword(s); ok {
		return Tag(e.Tag), nil
	}
	return 0, fmt.Errorf("dicom: %q is neither a tag nor a known keyword", s)
}

// Tags the reader and writer need by name.
const (
	TagFileMetaInformationGroupLength Tag = 0x00020000
	TagFileMetaInformationVersion     Tag = 0x00020001
	TagMediaStorageSOPClassUID        Tag = 0x00020002
	TagMediaStorageSOPInstanceUID     Tag = 0x00020003
	TagTransferSyntaxUID              Tag = 0x00020010
	TagImplementationClassUID         Tag = 0x00020012
	TagImplementationVersionName      Tag = 0x00020013
	TagSourceApplicationEntityTitle   Tag = 0x00020016

	TagSpecificCharacterSet Tag = 0x00080005
	TagSOPClassUID          Tag = 0x00080016
	TagSOPInstanceUID       Tag = 0x00080018
	TagStudyDate            Tag = 0x00080020
	TagModality             Tag = 0x00080060
	TagPatientName          Tag = 0x00100010
	TagPatientID            Tag = 0x00100020
	TagStudyInstanceUID     Tag = 0x0020000D
	TagSeriesInstanceUID    Tag = 0x0020000E
	TagSamplesPerPixel      Tag = 0x00280002
	TagNumberOfFrames       Tag = 0x00280008
	TagRows                 Tag = 0x00280010
	TagColumns              Tag = 0x00280011
	TagBitsAllocated        Tag = 0x00280100
	TagBitsStored           Tag = 0x00280101
	TagPixelRepresentation  Tag = 0x00280103

	TagExtendedOffsetTable        Tag = 0x7FE00001
	TagExtendedOffsetTableLengths Tag = 0x7FE00002
	TagFloatPixelData             Tag = 0x7FE00008
	TagDoubleFloatPixelData       Tag = 0x7FE00009
	TagPixelData                  Tag = 0x7FE00010

	TagItem                   Tag = 0xFFFEE000
	TagItemDelimitation       Tag = 0xFFFEE00D
	TagSequenceDelimitation   Tag = 0xFFFEE0DD
	TagDataSetTrailingPadding Tag = 0xFFFCFFFC
)

// UndefinedLength is the value length that marks a sequence, item or
// encapsulated Pixel Data whose end is given by a delimiter.
const UndefinedLength uint32 = 0xFFFFFFFF
