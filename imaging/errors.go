package imaging

import "errors"

// Conditions callers branch on with errors.Is.
var (
	// ErrUnsupported: the pixel layout or photometric interpretation is
	// one the renderer does not handle (e.g. retired CMYK, 64-bit integers).
	ErrUnsupported = errors.New("imaging: unsupported")
	// ErrNoVOI: the VOI window or VOI LUT asked for by index does not exist.
	ErrNoVOI = errors.New("imaging: no such VOI window or LUT")
)
