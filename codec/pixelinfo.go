package codec

import (
	"fmt"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// Tags of the Image Pixel module (PS3.3 C.7.6.3) and lossy compression
// attributes (C.7.6.1) the codecs read or write.
const (
	TagSamplesPerPixel             = dicom.TagSamplesPerPixel
	TagPhotometricInterpretation   = dicom.Tag(0x00280004)
	TagPlanarConfiguration         = dicom.Tag(0x00280006)
	TagNumberOfFrames              = dicom.TagNumberOfFrames
	TagRows                        = dicom.TagRows
	TagColumns                     = dicom.TagColumns
	TagBitsAllocated               = dicom.TagBitsAllocated
	TagBitsStored                  = dicom.TagBitsStored
	TagHighBit                     = dicom.Tag(0x00280102)
	TagPixelRepresentation         = dicom.TagPixelRepresentation
	TagLossyImageCompression       = dicom.Tag(0x00282110)
	TagLossyImageCompressionRatio  = dicom.Tag(0x00282112)
	TagLossyImageCompressionMethod = dicom.Tag(0x00282114)
	TagExtendedOffsetTable         = dicom.TagExtendedOffsetTable
	TagExtendedOffsetTableLengths  = dicom.TagExtendedOffsetTableLengths
	TagFloatPixelData              = dicom.TagFloatPixelData
	TagDoubleFloatPixelData        = dicom.TagDoubleFloatPixelData
	TagPixelData                   = dicom.TagPixelData
)

// PixelInfo describes pixel data: the Image Pixel module attributes that
// decide how many bytes a frame has and how its samples are laid out.
type PixelInfo struct {
	Rows            int
	Columns         int
	SamplesPerPixel int
	BitsAllocated   int
	BitsStored      int
	HighBit         int
	// PixelRepresentation is 0 for unsigned samples, 1 for two's complement.
	PixelRepresentation int
	// PhotometricInterpretation is the defined term, e.g. "MONOCHROME2",
	// "RGB", "YBR_FULL_422", "PALETTE COLOR".
	PhotometricInterpretation string
	// PlanarConfiguration is 0 for colour-by-pixel, 1 for colour-by-plane.
	PlanarConfiguration int
	// NumberOfFrames is 1 when the data set has no (0028,0008).
	NumberOfFrames int
	// Float is set for Float Pixel Data (BitsAllocated 32) and Double Float
	// Pixel Data (BitsAllocated 64): samples are IEEE floats.
	Float bool
}

// ReadPixelInfo reads the Image Pixel module of ds. It fails with
// ErrInvalidPixelInfo when the attributes are missing or contradict each
// other; it does not look at the Pixel Data itself.
func ReadPixelInfo(ds *dicom.Dataset) (PixelInfo, error) {
	geti := func(tag dicom.Tag, def int) int {
		v, ok := ds.Int(tag)
		if !ok {
			return def
		}
		return int(v)
	}
	pi := PixelInfo{
		Rows:                      geti(TagRows, 0),
		Columns:                   geti(TagColumns, 0),
		SamplesPerPixel:           geti(TagSamplesPerPixel, 1),
		BitsAllocated:             geti(TagBitsAllocated, 0),
		BitsStored:                geti(TagBitsStored, 0),
		HighBit:                   geti(TagHighBit, -1),
		PixelRepresentation:       geti(TagPixelRepresentation, 0),
		PhotometricInterpretation: strings.TrimSpace(ds.String(TagPhotometricInterpretation)),
		PlanarConfiguration:       geti(TagPlanarConfiguration, 0),
		NumberOfFrames:            geti(TagNumberOfFrames, 1),
	}
	switch {
	case ds.Get(TagFloatPixelData) != nil && ds.Get(TagPixelData) == nil:
		pi.Float, pi.BitsAllocated = true, 32
	case ds.Get(TagDoubleFloatPixelData) != nil && ds.Get(TagPixelData) == nil:
		pi.Float, pi.BitsAllocated = true, 64
	}
	if pi.BitsStored == 0 {
		pi.BitsStored = pi.BitsAllocated
	}
	if pi.HighBit < 0 {
		pi.HighBit = pi.BitsStored - 1
	}
	if pi.PhotometricInterpretation == "" {
		if pi.SamplesPerPixel == 3 {
			pi.PhotometricInterpretation = "RGB"
		} else {
			pi.PhotometricInterpretation = "MONOCHROME2"
		}
	}
	if pi.NumberOfFrames == 0 {
		pi.NumberOfFrames = 1 // some writers put 0 in single-frame images
	}
	return pi, pi.Validate()
}

// Validate checks that the attributes describe pixel data at all: positive
// dimensions, a supported Bits Allocated, Bits Stored within it.
func (p PixelInfo) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidPixelInfo, fmt.Sprintf(format, args...))
	}
	switch {
	case p.Rows <= 0 || p.Columns <= 0 || p.Rows > 0xFFFF || p.Columns > 0xFFFF:
		return bad("rows %d, columns %d", p.Rows, p.Columns)
	case p.SamplesPerPixel < 1 || p.SamplesPerPixel > 4:
		return bad("samples per pixel %d", p.SamplesPerPixel)
	case p.NumberOfFrames < 1:
		return bad("number of frames %d", p.NumberOfFrames)
	case p.PixelRepresentation != 0 && p.PixelRepresentation != 1:
		return bad("pixel representation %d", p.PixelRepresentation)
	case p.PlanarConfiguration != 0 && p.PlanarConfiguration != 1:
		return bad("planar configuration %d", p.PlanarConfiguration)
	}
	switch p.BitsAllocated {
	case 1, 8, 16, 32, 64:
	default:
		return bad("bits allocated %d", p.BitsAllocated)
	}
	if p.BitsStored < 1 || p.BitsStored > p.BitsAllocated {
		return bad("bits stored %d with bits allocated %d", p.BitsStored, p.BitsAllocated)
	}
	return nil
}

// BytesPerSample returns BitsAllocated/8 (0 for bit-packed Bits Allocated 1).
func (p PixelInfo) BytesPerSample() int { return p.BitsAllocated / 8 }

// Pixels returns Rows x Columns.
func (p PixelInfo) Pixels() int64 { return int64(p.Rows) * int64(p.Columns) }

// FrameSize returns the bytes of one decoded frame: Rows x Columns x
// SamplesPerPixel x BitsAllocated/8, rounded up to whole bytes for Bits
// Allocated 1.
func (p PixelInfo) FrameSize() int64 {
	bits := p.Pixels() * int64(p.SamplesPerPixel) * int64(p.BitsAllocated)
	return (bits + 7) / 8
}

// Signed reports whether samples are two's complement.
func (p PixelInfo) Signed() bool { return p.PixelRepresentation == 1 }

// IsYBR reports whether the photometric interpretation is one of the
// YCbCr family (YBR_FULL, YBR_FULL_422, YBR_PARTIAL_420, YBR_ICT, YBR_RCT).
func (p PixelInfo) IsYBR() bool { return strings.HasPrefix(p.PhotometricInterpretation, "YBR") }

// Limits bound what a decode may allocate. The zero value means the
// defaults; a negative field disables that check.
type Limits struct {
	// MaxFrameBytes bounds one decoded frame (default DefaultMaxFrameBytes).
	MaxFrameBytes int64
	// MaxFramePixels bounds Rows x Columns (default DefaultMaxFramePixels).
	MaxFramePixels int64
}

// Default limits: 1 GiB and 64 megapixels per frame. A whole-slide image
// is tiled into frames, so no real frame comes near them.
const (
	DefaultMaxFrameBytes  = 1 << 30
	DefaultMaxFramePixels = 64 << 20
)

func (l Limits) withDefaults() Limits {
	if l.MaxFrameBytes == 0 {
		l.MaxFrameBytes = DefaultMaxFrameBytes
	}
	if l.MaxFramePixels == 0 {
		l.MaxFramePixels = DefaultMaxFramePixels
	}
	return l
}

// Check fails with ErrTooLarge when one frame of p would exceed the limits.
func (l Limits) Check(p PixelInfo) error {
	l = l.withDefaults()
	if l.MaxFramePixels > 0 && p.Pixels() > l.MaxFramePixels {
		return fmt.Errorf("%w: %dx%d is %d pixels, limit %d", ErrTooLarge, p.Rows, p.Columns, p.Pixels(), l.MaxFramePixels)
	}
	if n := p.FrameSize(); l.MaxFrameBytes > 0 && n > l.MaxFrameBytes {
		return fmt.Errorf("%w: %dx%d x %d samples x %d bits is %d bytes, limit %d", ErrTooLarge, p.Rows, p.Columns, p.SamplesPerPixel, p.BitsAllocated, n, l.MaxFrameBytes)
	}
	return nil
}
