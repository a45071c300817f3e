package imaging

import (
	"encoding/binary"
	"image"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
)

// Builders for synthetic data sets (explicit VR little endian).

func newDS(elems ...*dicom.Element) *dicom.Dataset {
	ds := dicom.NewDataset()
	for _, e := range elems {
		ds.Set(e)
	}
	return ds
}

func elemUS(tag dicom.Tag, vals ...uint16) *dicom.Element {
	b := make([]byte, 2*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint16(b[2*i:], v)
	}
	return &dicom.Element{Tag: tag, VR: dicom.US, Value: b, Length: uint32(len(b))}
}

func elemSS(tag dicom.Tag, vals ...int16) *dicom.Element {
	e := elemUS(tag)
	for _, v := range vals {
		e.Value = binary.LittleEndian.AppendUint16(e.Value, uint16(v))
	}
	e.VR, e.Length = dicom.SS, uint32(len(e.Value))
	return e
}

func elemOW(tag dicom.Tag, b []byte) *dicom.Element {
	return &dicom.Element{Tag: tag, VR: dicom.OW, Value: b, Length: uint32(len(b))}
}

// elemStr builds a string element (DS, IS, CS, LO) from backslash-joined
// values, padded to even length.
func elemStr(tag dicom.Tag, vr dicom.VR, s string) *dicom.Element {
	if len(s)%2 == 1 {
		s += " "
	}
	return &dicom.Element{Tag: tag, VR: vr, Value: []byte(s), Length: uint32(len(s))}
}

func elemSQ(tag dicom.Tag, items ...*dicom.Dataset) *dicom.Element {
	return &dicom.Element{Tag: tag, VR: dicom.SQ, Items: items, Length: dicom.UndefinedLength}
}

// grayFrame builds a 16-bit grayscale frame from stored values.
func grayFrame(w, h int, signed bool, vals ...int) Frame {
	data := make([]byte, 2*w*h)
	for i, v := range vals {
		binary.LittleEndian.PutUint16(data[2*i:], uint16(int16(v)))
	}
	pr := 0
	if signed {
		pr = 1
	}
	return Frame{Data: data, Info: codec.PixelInfo{
		Rows: h, Columns: w, SamplesPerPixel: 1, BitsAllocated: 16, BitsStored: 16, HighBit: 15,
		PixelRepresentation: pr, PhotometricInterpretation: "MONOCHROME2", NumberOfFrames: 1,
	}}
}

// grayLevels returns the 8-bit levels of a rendered grey image.
func grayLevels(img image.Image) []int {
	g := img.(*image.Gray)
	out := make([]int, len(g.Pix))
	for i, v := range g.Pix {
		out[i] = int(v)
	}
	return out
}
