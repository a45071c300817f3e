package imaging

import (
	"io"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// Overlay is one overlay plane of the Overlay Plane module (PS3.3 C.9.2),
// groups 6000-601E.
type Overlay struct {
	// Group is the overlay's group, 0x6000..0x601E.
	Group uint16
	// Rows and Columns are the overlay's size.
	Rows, Columns int
	// Origin is the image pixel (1-based row, column) of the overlay's
	// top-left bit; it may be outside the image.
	OriginRow, OriginColumn int
	// Type is "G" (graphics) or "R" (region of interest).
	Type string
	// Frames is Number of Frames in Overlay (1 when absent) and
	// FrameOrigin the 1-based image frame its first frame applies to.
	Frames, FrameOrigin int
	// Description and Label are informative.
	Description, Label string
	// Data is the bit-packed Overlay Data (LSB first), nil when the
	// overlay is embedded in the pixel data at BitPosition (retired usage).
	Data        []byte
	BitPosition int
}

// Overlay Plane module element numbers (group 60xx).
const (
	ovRows          = 0x0010
	ovColumns       = 0x0011
	ovFrames        = 0x0015
	ovDescription   = 0x0022
	ovType          = 0x0040
	ovOrigin        = 0x0050
	ovFrameOrigin   = 0x0051
	ovBitsAllocated = 0x0100
	ovBitPosition   = 0x0102
	ovLabel         = 0x1500
	ovData          = 0x3000
)

// ReadOverlays reads the overlay planes of ds. bitsAllocated is the image's
// Bits Allocated: an overlay without Overlay Data whose Overlay Bits
// Allocated equals it is embedded in the pixel data. Planes that cannot be
// used (no size, data missing or too short) are skipped.
func ReadOverlays(ds *dicom.Dataset, bitsAllocated int, src io.ReaderAt) []Overlay {
	var out []Overlay
	for g := uint16(0x6000); g <= 0x601E; g += 2 {
		get := func(el uint16) *dicom.Element { return ds.Get(dicom.NewTag(g, el)) }
		if get(ovRows) == nil && get(ovData) == nil {
			continue
		}
		geti := func(el uint16, def int) int {
			if v, ok := ds.Int(dicom.NewTag(g, el)); ok {
				return int(v)
			}
			return def
		}
		o := Overlay{
			Group: g, Rows: geti(ovRows, 0), Columns: geti(ovColumns, 0),
			OriginRow: 1, OriginColumn: 1,
			Type:   strings.ToUpper(strings.TrimSpace(ds.String(dicom.NewTag(g, ovType)))),
			Frames: max(geti(ovFrames, 1), 1), FrameOrigin: max(geti(ovFrameOrigin, 1), 1),
			Description: ds.String(dicom.NewTag(g, ovDescription)),
			Label:       ds.String(dicom.NewTag(g, ovLabel)),
			BitPosition: geti(ovBitPosition, 0),
		}
		if e := get(ovOrigin); e != nil && len(e.Value) >= 4 {
			w := words(ds, e.Value[:4])
			o.OriginRow, o.OriginColumn = int(int16(w[0])), int(int16(w[1]))
		}
		if o.Rows <= 0 || o.Columns <= 0 {
			continue
		}
		bits := o.Rows * o.Columns * o.Frames
		if e := get(ovData); e != nil {
			raw, err := values(e, src)
			if err != nil || len(raw)*8 < bits {
				continue
			}
			if ds.Encoding.BigEndian && e.VR == dicom.OW {
				raw = swapped16(raw)
			}
			o.Data = raw
		} else if geti(ovBitsAllocated, 1) != bitsAllocated || bitsAllocated < 8 || o.BitPosition >= bitsAllocated {
			continue
		}
		out = append(out, o)
	}
	return out
}

func swapped16(b []byte) []byte {
	out := make([]byte, len(b))
	for i := 0; i+1 < len(b); i += 2 {
		out[i], out[i+1] = b[i+1], b[i]
	}
	return out
}

// overlayFrame returns which frame of the overlay applies to image frame
// (0-based), or false when none does.
func (o *Overlay) overlayFrame(frame int) (int, bool) {
	k := frame + 1 - o.FrameOrigin
	return k, k >= 0 && k < o.Frames
}

// drawOverlays sets the pixels of r under every set overlay bit to white
// (the "Replace" mode DCMTK uses for graphics overlays). f supplies the
// pixel data for embedded overlays; r has f's size.
func drawOverlays(r *raster, f Frame, overlays []Overlay) {
	white := r.maxValue()
	for i := range overlays {
		o := &overlays[i]
		k, ok := o.overlayFrame(f.Index)
		if !ok {
			continue
		}
		base := k * o.Rows * o.Columns
		for y := 0; y < o.Rows; y++ {
			iy := o.OriginRow - 1 + y
			if iy < 0 || iy >= r.h {
				continue
			}
			for x := 0; x < o.Columns; x++ {
				ix := o.OriginColumn - 1 + x
				if ix < 0 || ix >= r.w {
					continue
				}
				if o.bit(f, base+y*o.Columns+x, iy*r.w+ix) {
					r.set(ix, iy, white)
				}
			}
		}
	}
}

// bit reports overlay bit number b, or for an embedded overlay the bit of
// image pixel px.
func (o *Overlay) bit(f Frame, b, px int) bool {
	if o.Data != nil {
		return o.Data[b>>3]>>(b&7)&1 != 0
	}
	p := f.Info
	return sample(f.Data, p.BitsAllocated, px*p.SamplesPerPixel)>>o.BitPosition&1 != 0
}
