package imaging

import (
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
)

// Media types of the encoded outputs.
const (
	MediaTypePNG  = "image/png"
	MediaTypeJPEG = "image/jpeg"
)

// DefaultJPEGQuality is the quality EncodeJPEG uses for quality <= 0.
const DefaultJPEGQuality = 90

// pngEncoder encodes the image types writePNGFast does not know, favouring
// speed: rendered medical images compress only a few percent better at
// higher levels, at several times the cost.
var pngEncoder = png.Encoder{CompressionLevel: png.BestSpeed}

// EncodePNG writes img as PNG: 8-bit for *image.Gray and *image.RGBA, 16-bit
// for *image.Gray16 and *image.RGBA64, RGBA images as RGB (Render's are
// opaque). Those four types go through a fixed-filter writer (png.go);
// other images through image/png.
func EncodePNG(w io.Writer, img image.Image) error {
	if err := writePNGFast(w, img); err != nil {
		return fmt.Errorf("imaging: encode PNG: %w", err)
	}
	return nil
}

// EncodeJPEG writes img as baseline JPEG at quality 1..100 (DefaultJPEGQuality
// when quality <= 0). 16-bit images are reduced to 8 bits first.
func EncodeJPEG(w io.Writer, img image.Image, quality int) error {
	if quality <= 0 {
		quality = DefaultJPEGQuality
	}
	quality = min(quality, 100)
	if err := jpeg.Encode(w, To8Bit(img), &jpeg.Options{Quality: quality}); err != nil {
		return fmt.Errorf("imaging: encode JPEG: %w", err)
	}
	return nil
}

// Encode writes img in the media type (MediaTypePNG or MediaTypeJPEG).
func Encode(w io.Writer, img image.Image, mediaType string, quality int) error {
	switch mediaType {
	case MediaTypePNG:
		return EncodePNG(w, img)
	case MediaTypeJPEG:
		return EncodeJPEG(w, img, quality)
	}
	return fmt.Errorf("%w: media type %q", ErrUnsupported, mediaType)
}

// To8Bit returns img with 8-bit samples: *image.Gray16 and *image.RGBA64
// are rounded to *image.Gray and *image.RGBA; other images are returned as
// they are.
func To8Bit(img image.Image) image.Image {
	switch m := img.(type) {
	case *image.Gray16:
		out := image.NewGray(m.Rect)
		for y := 0; y < m.Rect.Dy(); y++ {
			s, d := m.Pix[y*m.Stride:], out.Pix[y*out.Stride:]
			for x := 0; x < m.Rect.Dx(); x++ {
				d[x] = to8(s[2*x], s[2*x+1])
			}
		}
		return out
	case *image.RGBA64:
		out := image.NewRGBA(m.Rect)
		for y := 0; y < m.Rect.Dy(); y++ {
			s, d := m.Pix[y*m.Stride:], out.Pix[y*out.Stride:]
			for x := 0; x < 4*m.Rect.Dx(); x++ {
				d[x] = to8(s[2*x], s[2*x+1])
			}
		}
		return out
	}
	return img
}

// to8 rounds a big-endian 16-bit sample to 8 bits.
func to8(hi, lo uint8) uint8 {
	v := uint32(hi)<<8 | uint32(lo)
	return uint8((v*255 + 32767) / 65535)
}
