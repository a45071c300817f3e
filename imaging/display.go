package imaging

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// VOI LUT Function defined terms (PS3.3 C.11.2.1.3).
const (
	FunctionLinear      = "LINEAR"
	FunctionLinearExact = "LINEAR_EXACT"
	FunctionSigmoid     = "SIGMOID"
)

// Window is a VOI window (PS3.3 C.11.2.1.2).
type Window struct {
	Center, Width float64
	// Function is the VOI LUT Function: LINEAR (also when empty),
	// LINEAR_EXACT or SIGMOID.
	Function string
	// Explanation is the Window Center & Width Explanation, if any.
	Explanation string
}

// Fraction maps a modality value x through the window to [0, 1] following
// PS3.3 C.11.2.1.2.1 (LINEAR), C.11.2.1.3.2 (LINEAR_EXACT) and
// C.11.2.1.3.1 (SIGMOID), with ymin = 0 and ymax = 1.
func (w Window) Fraction(x float64) float64 { return w.fraction()(x) }

// fraction returns Fraction with the function chosen and its constants
// computed once, for building tables.
func (w Window) fraction() voiFunc {
	c, wd := w.Center, w.Width
	switch strings.ToUpper(w.Function) {
	case FunctionSigmoid:
		if wd <= 0 {
			return func(x float64) float64 { return step(x > c) }
		}
		k := -4 / wd
		return func(x float64) float64 { return 1 / (1 + math.Exp(k*(x-c))) }
	case FunctionLinearExact:
		if wd <= 0 {
			return func(x float64) float64 { return step(x > c) }
		}
		lo, hi := c-wd/2, c+wd/2
		return func(x float64) float64 {
			switch {
			case x <= lo:
				return 0
			case x > hi:
				return 1
			}
			return (x-c)/wd + 0.5
		}
	default:
		wd = max(wd, 1) // PS3.3: Window Width shall be >= 1 for LINEAR
		lo, hi, c0 := c-0.5-(wd-1)/2, c-0.5+(wd-1)/2, c-0.5
		if wd == 1 {
			return func(x float64) float64 { return step(x > lo) }
		}
		return func(x float64) float64 {
			switch {
			case x <= lo:
				return 0
			case x > hi:
				return 1
			}
			return (x-c0)/(wd-1) + 0.5
		}
	}
}

func step(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Rescale is the linear Modality LUT: output = stored*Slope + Intercept.
type Rescale struct {
	Slope, Intercept float64
}

// Display is what the data set says about turning one frame's stored
// values into presentation values: the Modality LUT, VOI windows and LUTs,
// Presentation LUT Shape and pixel padding, taken from the frame's
// functional groups in enhanced multi-frame objects and from the top level
// otherwise.
type Display struct {
	// Photometric is the data set's Photometric Interpretation.
	Photometric string
	// Rescale is the Rescale Slope/Intercept (1/0 when absent).
	Rescale Rescale
	// ModalityLUT is the Modality LUT Sequence's table; it takes precedence
	// over Rescale.
	ModalityLUT *LUT
	// Windows are the VOI windows in the order given.
	Windows []Window
	// VOILUTs are the tables of the VOI LUT Sequence.
	VOILUTs []*LUT
	// PresentationShape is the Presentation LUT Shape (2050,0020):
	// "IDENTITY", "INVERSE" or "" when absent.
	PresentationShape string
	// Padding is set when Pixel Padding Value is present; PaddingLow and
	// PaddingHigh bound the padding stored values (equal without a Pixel
	// Padding Range Limit).
	Padding                 bool
	PaddingLow, PaddingHigh int64
	// Warnings lists attributes that were ignored because they were
	// unusable (an empty Modality LUT Sequence item, ...).
	Warnings []string
}

// ReadDisplay reads the display attributes that apply to frame (0-based)
// of ds. signed tells whether stored values are two's complement (Pixel
// Representation 1), which decides how LUT descriptors and padding values
// are read. src supplies values the reader left in the source (large LUT
// Data); it may be nil when everything was loaded.
func ReadDisplay(ds *dicom.Dataset, frame int, signed bool, src io.ReaderAt) (*Display, error) {
	d := &Display{
		Photometric:       upper(ds, tagPhotometricInterpretation),
		Rescale:           Rescale{Slope: 1},
		PresentationShape: upper(ds, tagPresentationLUTShape),
	}
	if err := d.readModality(ds, frame, signed, src); err != nil {
		return nil, err
	}
	if err := d.readVOI(ds, frame, d.modalityCanBeNegative(signed), src); err != nil {
		return nil, err
	}
	d.readPadding(ds, signed)
	return d, nil
}

// readModality reads the Pixel Value Transformation functional group, else
// the top-level Modality LUT module.
func (d *Display) readModality(ds *dicom.Dataset, frame int, signed bool, src io.ReaderAt) error {
	at := functionalGroup(ds, frame, tagPixelValueTransformSeq)
	if at == nil {
		at = ds
	}
	if it := firstItem(at, tagModalityLUTSequence); it != nil {
		l, err := readLUTItem(it, signed, src)
		if err == nil {
			d.ModalityLUT = l
			return nil
		}
		if !errors.Is(err, errEmptyLUT) {
			return fmt.Errorf("imaging: Modality LUT Sequence: %w", err)
		}
		d.Warnings = append(d.Warnings, "empty Modality LUT Sequence item ignored")
	}
	if v := floats(at, tagRescaleSlope); len(v) > 0 && v[0] != 0 {
		d.Rescale.Slope = v[0]
	}
	if v := floats(at, tagRescaleIntercept); len(v) > 0 {
		d.Rescale.Intercept = v[0]
	}
	return nil
}

// modalityCanBeNegative reports whether the Modality LUT can output
// negative values, in which case a VOI LUT descriptor's first value is
// read as signed.
func (d *Display) modalityCanBeNegative(signed bool) bool {
	if d.ModalityLUT != nil {
		return false // LUT outputs are unsigned entries
	}
	return signed || d.Rescale.Intercept < 0 || d.Rescale.Slope < 0
}

// readVOI reads the Frame VOI LUT functional group, else the top-level VOI
// LUT module.
func (d *Display) readVOI(ds *dicom.Dataset, frame int, voiSigned bool, src io.ReaderAt) error {
	at := functionalGroup(ds, frame, tagFrameVOILUTSequence)
	if at == nil {
		at = ds
	}
	centers, widths := floats(at, tagWindowCenter), floats(at, tagWindowWidth)
	expl := strs(at, tagWindowExplanation)
	fn := upper(at, tagVOILUTFunction)
	for i := 0; i < min(len(centers), len(widths)); i++ {
		w := Window{Center: centers[i], Width: widths[i], Function: fn}
		if i < len(expl) {
			w.Explanation = expl[i]
		}
		d.Windows = append(d.Windows, w)
	}
	if e := at.Get(tagVOILUTSequence); e != nil {
		for i, it := range e.Items {
			l, err := readLUTItem(it, voiSigned, src)
			if errors.Is(err, errEmptyLUT) {
				d.Warnings = append(d.Warnings, fmt.Sprintf("empty VOI LUT Sequence item %d ignored", i+1))
				continue
			}
			if err != nil {
				return fmt.Errorf("imaging: VOI LUT Sequence item %d: %w", i+1, err)
			}
			d.VOILUTs = append(d.VOILUTs, l)
		}
	}
	return nil
}

// readPadding reads Pixel Padding Value and Pixel Padding Range Limit,
// whose VR (US or SS) follows Pixel Representation.
func (d *Display) readPadding(ds *dicom.Dataset, signed bool) {
	v, ok := paddingValue(ds, tagPixelPaddingValue, signed)
	if !ok {
		return
	}
	d.Padding, d.PaddingLow, d.PaddingHigh = true, v, v
	if l, ok := paddingValue(ds, tagPixelPaddingRangeLimit, signed); ok {
		d.PaddingLow, d.PaddingHigh = min(v, l), max(v, l)
	}
}

func paddingValue(ds *dicom.Dataset, tag dicom.Tag, signed bool) (int64, bool) {
	e := ds.Get(tag)
	if e == nil || len(e.Value) < 2 {
		return 0, false
	}
	w := words(ds, e.Value[:2])
	return int64(signedWord(w[0], signed || e.VR == dicom.SS)), true
}

// isPadding reports whether the stored value s is padding.
func (d *Display) isPadding(s int64) bool {
	return d.Padding && s >= d.PaddingLow && s <= d.PaddingHigh
}

// modality applies the Modality LUT or rescale to a stored value.
func (d *Display) modality(s float64) float64 {
	if d.ModalityLUT != nil {
		return float64(d.ModalityLUT.lookupFloat(s))
	}
	return s*d.Rescale.Slope + d.Rescale.Intercept
}

// inverted reports whether the presentation output is inverted: when the
// Presentation LUT Shape is INVERSE, or, without a shape, for MONOCHROME1.
// shape overrides the data set's shape when not empty.
func (d *Display) inverted(shape string) bool {
	if shape == "" {
		shape = d.PresentationShape
	}
	switch strings.ToUpper(shape) {
	case "INVERSE":
		return true
	case "IDENTITY":
		return false
	}
	return d.Photometric == "MONOCHROME1"
}
