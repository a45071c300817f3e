package codec

import "errors"

// Conditions callers branch on with errors.Is.
var (
	// ErrUnsupported: no codec is registered for the transfer syntax, or
	// the pixel layout (bits, samples) is one the codec does not handle.
	ErrUnsupported = errors.New("codec: unsupported")
	// ErrNoPixelData: the data set has no Pixel Data element.
	ErrNoPixelData = errors.New("codec: no pixel data")
	// ErrInvalidPixelInfo: the image pixel attributes are missing or
	// inconsistent (zero rows, bits stored above bits allocated, ...).
	ErrInvalidPixelInfo = errors.New("codec: invalid image pixel attributes")
	// ErrTooLarge: a frame would exceed the configured Limits.
	ErrTooLarge = errors.New("codec: frame exceeds limits")
	// ErrFrameRange: the frame number is outside 0..NumberOfFrames-1.
	ErrFrameRange = errors.New("codec: frame number out of range")
	// ErrTruncated: the pixel data holds fewer bytes than the frames need.
	ErrTruncated = errors.New("codec: pixel data truncated")
	// ErrCorrupt: the compressed data cannot be decoded, or decodes to
	// something other than the header describes.
	ErrCorrupt = errors.New("codec: corrupt pixel data")
)
