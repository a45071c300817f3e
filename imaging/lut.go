package imaging

import (
	"errors"
	"fmt"
	"io"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// LUT is a lookup table as DICOM encodes Modality, VOI and palette LUTs
// (PS3.3 C.11.1.1): input values below First map to the first entry,
// values past the last entry to the last.
type LUT struct {
	// First is the first input value mapped (the descriptor's second value).
	First int
	// Bits is the number of significant bits of each entry (8..16).
	Bits int
	// Data holds the entries.
	Data []uint16
	// Explanation is the LUT Explanation (0028,3003), if any.
	Explanation string
}

// Max returns the largest value an entry can take, 2^Bits-1.
func (l *LUT) Max() int { return 1<<l.Bits - 1 }

// Lookup returns the entry for input x, clamping x to the mapped range.
func (l *LUT) Lookup(x int) uint16 {
	i := x - l.First
	if i < 0 {
		i = 0
	} else if i >= len(l.Data) {
		i = len(l.Data) - 1
	}
	return l.Data[i]
}

// lookupFloat maps a real input, rounding it to the nearest entry.
func (l *LUT) lookupFloat(x float64) uint16 {
	switch {
	case x <= float64(l.First):
		return l.Data[0]
	case x >= float64(l.First+len(l.Data)-1):
		return l.Data[len(l.Data)-1]
	}
	return l.Data[int(x-float64(l.First)+0.5)]
}

// descriptor is a decoded LUT Descriptor: number of entries, first mapped
// value and bits per entry.
type descriptor struct {
	n, first, bits int
}

// parseDescriptor decodes the three words of a LUT Descriptor. An entry
// count of 0 means 65536 (PS3.3 C.11.1.1). The first mapped value is read
// as signed when firstSigned is set, since the descriptor's VR (US or SS)
// is often written as US whatever the sign.
func parseDescriptor(ds *dicom.Dataset, e *dicom.Element, firstSigned bool) (descriptor, error) {
	if e == nil {
		return descriptor{}, fmt.Errorf("imaging: LUT descriptor missing")
	}
	w := words(ds, e.Value)
	if len(w) < 3 {
		return descriptor{}, fmt.Errorf("imaging: %s LUT descriptor has %d values, want 3", e.Tag, len(w))
	}
	d := descriptor{n: int(w[0]), first: signedWord(w[1], firstSigned || e.VR == dicom.SS), bits: int(w[2])}
	if d.n == 0 {
		d.n = 1 << 16
	}
	if d.bits < 1 || d.bits > 16 {
		d.bits = 16
	}
	return d, nil
}

// lutData decodes LUT entries for a descriptor. Tables with 8-bit entries
// come either packed two to a 16-bit word (the data has about n bytes) or
// one to a word (about 2n bytes); both occur. Fewer entries than the
// descriptor promises are tolerated down to one; Bits is raised when the
// entries exceed what the descriptor claims (a common vendor error).
func lutData(ds *dicom.Dataset, raw []byte, d descriptor) (*LUT, error) {
	var data []uint16
	switch {
	case d.bits <= 8 && len(raw) < 2*d.n && len(raw) >= d.n-1:
		// Packed bytes: the n-th entry of an odd table may be the pad.
		data = make([]uint16, min(d.n, len(raw)))
		w := words(ds, raw[:len(raw)&^1])
		for i := range data {
			if i/2 < len(w) {
				data[i] = w[i/2] >> (8 * (i % 2)) & 0xFF
			} else {
				data[i] = uint16(raw[i])
			}
		}
	default:
		data = words(ds, raw)
		if len(data) > d.n {
			data = data[:d.n]
		}
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("imaging: LUT data empty (descriptor promises %d entries)", d.n)
	}
	l := &LUT{First: d.first, Bits: d.bits, Data: data}
	var mx uint16
	for _, v := range data {
		mx = max(mx, v)
	}
	for int(mx) > l.Max() {
		l.Bits++
	}
	return l, nil
}

// errEmptyLUT marks a LUT item whose descriptor and data are both empty,
// as some writers leave them; callers ignore such items.
var errEmptyLUT = errors.New("imaging: empty LUT")

// readLUTItem reads a Modality or VOI LUT Sequence item.
func readLUTItem(it *dicom.Dataset, firstSigned bool, src io.ReaderAt) (*LUT, error) {
	desc, data := it.Get(tagLUTDescriptor), it.Get(tagLUTData)
	if (desc == nil || desc.Length == 0) && (data == nil || data.Length == 0) {
		return nil, errEmptyLUT
	}
	d, err := parseDescriptor(it, it.Get(tagLUTDescriptor), firstSigned)
	if err != nil {
		return nil, err
	}
	raw, err := values(it.Get(tagLUTData), src)
	if err != nil {
		return nil, err
	}
	l, err := lutData(it, raw, d)
	if err != nil {
		return nil, err
	}
	l.Explanation = it.String(tagLUTExplanation)
	return l, nil
}

// maxSegmentDepth bounds the nesting of indirect segments.
const maxSegmentDepth = 8

// expandSegmented expands Segmented Palette Color Lookup Table Data (PS3.3
// C.7.9.2) into at most n entries. Discrete segments copy values, linear
// segments interpolate from the previous entry, indirect segments replay
// segments found at a word offset in the same data. The output never grows
// past n entries and indirect recursion is bounded, so hostile data cannot
// make it loop or allocate without limit.
func expandSegmented(w []uint16, n int) ([]uint16, error) {
	out := make([]uint16, 0, min(n, 1<<16))
	x := segmentExpander{w: w, n: n, out: out, budget: 4 * (n + len(w))}
	if _, err := x.expand(0, -1, 0); err != nil {
		return nil, err
	}
	if len(x.out) == 0 {
		return nil, fmt.Errorf("imaging: segmented LUT has no entries")
	}
	return x.out, nil
}

// segmentExpander holds the state of one expansion. budget bounds the
// segments visited: empty segments replayed through nested indirect
// segments would otherwise make work grow exponentially with depth.
type segmentExpander struct {
	w      []uint16
	n      int
	out    []uint16
	budget int
}

// expand expands up to count segments (all when count < 0) starting at
// word pos and returns the position after them.
func (x *segmentExpander) expand(pos, count, depth int) (int, error) {
	if depth > maxSegmentDepth {
		return pos, fmt.Errorf("imaging: segmented LUT: indirect segments nested deeper than %d", maxSegmentDepth)
	}
	w := x.w
	for seg := 0; (count < 0 || seg < count) && pos+1 < len(w) && len(x.out) < x.n; seg++ {
		if x.budget--; x.budget < 0 {
			return pos, fmt.Errorf("imaging: segmented LUT: too many segments")
		}
		op, length := w[pos], int(w[pos+1])
		pos += 2
		switch op {
		case 0: // discrete
			if pos+length > len(w) {
				return pos, fmt.Errorf("imaging: segmented LUT: discrete segment of %d words overruns the data", length)
			}
			x.out = append(x.out, w[pos:pos+min(length, x.n-len(x.out))]...)
			pos += length
		case 1: // linear from the previous entry
			if len(x.out) == 0 || pos >= len(w) {
				return pos, fmt.Errorf("imaging: segmented LUT: linear segment without a start value")
			}
			y0, y1 := float64(x.out[len(x.out)-1]), float64(w[pos])
			pos++
			for i := 1; i <= length && len(x.out) < x.n; i++ {
				x.out = append(x.out, uint16(y0+(y1-y0)*float64(i)/float64(length)+0.5))
			}
		case 2: // indirect: replay length segments at a 32-bit word offset
			if len(x.out) == 0 || pos+1 >= len(w) {
				return pos, fmt.Errorf("imaging: segmented LUT: indirect segment without data before it")
			}
			off := int(w[pos]) | int(w[pos+1])<<16
			pos += 2
			if off >= len(w) {
				return pos, fmt.Errorf("imaging: segmented LUT: indirect offset %d past the data", off)
			}
			if _, err := x.expand(off, length, depth+1); err != nil {
				return pos, err
			}
		default:
			return pos, fmt.Errorf("imaging: segmented LUT: unknown segment type %d", op)
		}
	}
	return pos, nil
}
