package imaging

import (
	"fmt"
	"image"
	"io"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// VOISource says where the VOI transformation comes from when
// Options.Window does not give one.
type VOISource int

const (
	// VOIAuto uses the data set's window number VOIIndex, else its VOI
	// LUT number VOIIndex, else a window over the frame's value range.
	VOIAuto VOISource = iota
	// VOIWindow uses the data set's window number VOIIndex.
	VOIWindow
	// VOILUT uses the data set's VOI LUT number VOIIndex.
	VOILUT
	// VOIMinMax uses a window over the frame's range of modality values,
	// padding pixels excluded.
	VOIMinMax
)

// Options tune Render. The zero value renders at native size, 8 bits, with
// the data set's first window (or VOI LUT, or a min/max window), no
// overlays.
type Options struct {
	// Frame is the frame (0-based) the convenience entry points decode;
	// Render itself uses Frame.Index of the frame it is given.
	Frame int
	// Window overrides the VOI transformation of grayscale images. An
	// empty Function takes the data set's VOI LUT Function.
	Window *Window
	// VOI and VOIIndex choose among the data set's windows and VOI LUTs.
	VOI      VOISource
	VOIIndex int
	// PresentationShape overrides the Presentation LUT Shape: "IDENTITY"
	// or "INVERSE"; empty follows the data set (MONOCHROME1 inverts).
	PresentationShape string
	// Region, when not empty, is the part of the frame to show (pixel
	// coordinates, clipped to the frame), as WADO-RS viewport's source
	// rectangle; it is cut out before scaling.
	Region image.Rectangle
	// Width and Height bound the output size (a viewport): the image is
	// scaled, keeping its aspect ratio, to the largest size that fits.
	// Zero leaves a side unbounded; both zero keep the native size.
	Width, Height int
	// Overlays draws the overlay planes (60xx) in white.
	Overlays bool
	// Depth is the output bit depth, 8 (also when 0) or 16.
	Depth int
	// Source supplies values the reader left in the source (LUT Data,
	// Overlay Data, bulk Pixel Data); nil when everything was loaded.
	Source io.ReaderAt
}

func (o Options) depth() int {
	if o.Depth == 16 {
		return 16
	}
	return 8
}

// Render turns decoded frame f of ds into an image: grayscale frames
// through the Modality, VOI and Presentation LUTs, colour frames to RGB,
// overlays drawn when asked, scaled to the viewport. The result is an
// *image.Gray or *image.RGBA (Depth 8) or *image.Gray16 or *image.RGBA64
// (Depth 16).
func Render(ds *dicom.Dataset, f Frame, opts Options) (image.Image, error) {
	r, err := render(ds, f, opts)
	if err != nil {
		return nil, err
	}
	return r.image(), nil
}

func render(ds *dicom.Dataset, f Frame, opts Options) (*raster, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	if opts.Depth != 0 && opts.Depth != 8 && opts.Depth != 16 {
		return nil, fmt.Errorf("imaging: output depth %d, want 8 or 16", opts.Depth)
	}
	p := f.Info
	var r *raster
	var err error
	pi := strings.ToUpper(strings.TrimSpace(p.PhotometricInterpretation))
	if p.SamplesPerPixel == 1 && pi != "MONOCHROME1" && pi != "PALETTE COLOR" {
		pi = "MONOCHROME2" // missing or unknown (ACR-NEMA "MONOCHROME", ...): grey
	}
	switch pi {
	case "MONOCHROME1", "MONOCHROME2":
		var d *Display
		if d, err = ReadDisplay(ds, f.Index, p.PixelRepresentation == 1, opts.Source); err != nil {
			return nil, err
		}
		d.Photometric = pi // what the decoder delivered decides the polarity
		r, err = renderGray(f, d, opts)
	case "PALETTE COLOR":
		var pal *Palette
		if pal, err = ReadPalette(ds, p.PixelRepresentation == 1, opts.Source); err != nil {
			return nil, err
		}
		r, err = renderPalette(f, pal, opts.depth())
	default:
		r, err = renderColor(f, opts.depth())
	}
	if err != nil {
		return nil, err
	}
	if opts.Overlays {
		drawOverlays(r, f, ReadOverlays(ds, p.BitsAllocated, opts.Source))
	}
	if !opts.Region.Empty() {
		if r, err = r.crop(opts.Region); err != nil {
			return nil, err
		}
	}
	if opts.Width > 0 || opts.Height > 0 {
		w, h := fitSize(r.w, r.h, opts.Width, opts.Height, pixelAspect(ds))
		r = r.resize(w, h)
	}
	return r, nil
}

// pixelAspect returns the height over the width of a pixel from Pixel
// Aspect Ratio or Pixel Spacing (row spacing over column spacing), 1 when
// neither says otherwise.
func pixelAspect(ds *dicom.Dataset) float64 {
	if v := floats(ds, tagPixelAspectRatio); len(v) == 2 && v[0] > 0 && v[1] > 0 {
		return v[0] / v[1]
	}
	if v := floats(ds, tagPixelSpacing); len(v) == 2 && v[0] > 0 && v[1] > 0 {
		return v[0] / v[1]
	}
	return 1
}

// DefaultThumbnailSize is the edge of Thumbnail's bounding square.
const DefaultThumbnailSize = 128

// Thumbnail renders f to fit in a size x size square (DefaultThumbnailSize
// when size <= 0), 8 bits, without overlays, with opts' VOI choices.
func Thumbnail(ds *dicom.Dataset, f Frame, size int, opts Options) (image.Image, error) {
	if size <= 0 {
		size = DefaultThumbnailSize
	}
	opts.Width, opts.Height, opts.Depth, opts.Overlays = size, size, 8, false
	return Render(ds, f, opts)
}
