package dicom

import (
	"bufio"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Identity of the Lightbox implementation in File Meta and association
// negotiation.
const (
	ImplementationClassUID    = "2.25.234446294511266872164481846199734949136"
	ImplementationVersionName = "LIGHTBOX_01"
)

// WriteOptions tune the writer.
type WriteOptions struct {
	// Bulk is the source the data set was read from; values that were left
	// there (Element.Bulk) are copied from it. Nil fails on bulk values.
	Bulk io.ReaderAt
	// SourceApplicationEntityTitle goes into File Meta when set.
	SourceApplicationEntityTitle string
}

// WriteFile writes ds as a Part 10 file in the transfer syntax ts: 128-byte
// preamble, "DICM", a freshly built File Meta group, then the data set. The
// uncompressed syntaxes (Implicit/Explicit VR Little Endian, Explicit VR Big
// Endian, Deflated) re-encode the data set; for an encapsulated syntax ts
// must be the one its Pixel Data is already in (the writer does not
// transcode pixels).
func WriteFile(w io.Writer, ds *Dataset, ts string, opts WriteOptions) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.Write(make([]byte, 128)); err != nil {
		return fmt.Errorf("dicom: write preamble: %w", err)
	}
	if _, err := bw.WriteString("DICM"); err != nil {
		return fmt.Errorf("dicom: write preamble: %w", err)
	}
	meta := BuildFileMeta(ds, ts, opts.SourceApplicationEntityTitle)
	if err := WriteDataset(bw, meta, EncodingExplicitLE, opts); err != nil {
		return fmt.Errorf("dicom: write File Meta: %w", err)
	}
	enc, _ := EncodingOf(ts)
	if err := WriteDataset(bw, ds, enc, opts); err != nil {
		return err
	}
	return bw.Flush()
}

// BuildFileMeta returns the File Meta group for ds in transfer syntax ts,
// with its group length computed.
func BuildFileMeta(ds *Dataset, ts, sourceAE string) *Dataset {
	meta := NewDataset()
	meta.Set(&Element{Tag: TagFileMetaInformationVersion, VR: OB, Value: []byte{0, 1}})
	meta.Set(uidElement(TagMediaStorageSOPClassUID, ds.String(TagSOPClassUID)))
	meta.Set(uidElement(TagMediaStorageSOPInstanceUID, ds.String(TagSOPInstanceUID)))
	meta.Set(uidElement(TagTransferSyntaxUID, ts))
	meta.Set(uidElement(TagImplementationClassUID, ImplementationClassUID))
	meta.Set(&Element{Tag: TagImplementationVersionName, VR: SH, Value: padded([]byte(ImplementationVersionName), ' ')})
	if sourceAE != "" {
		meta.Set(&Element{Tag: TagSourceApplicationEntityTitle, VR: AE, Value: padded([]byte(sourceAE), ' ')})
	}
	var n uint32
	for _, e := range meta.Elements {
		n += 8 + uint32(len(e.Value))
		if e.VR.HasLongLength() {
			n += 4
		}
	}
	gl := make([]byte, 4)
	binary.LittleEndian.PutUint32(gl, n)
	meta.Set(&Element{Tag: TagFileMetaInformationGroupLength, VR: UL, Value: gl})
	return meta
}

func uidElement(tag Tag, uid string) *Element {
	return &Element{Tag: tag, VR: UI, Value: padded([]byte(uid), 0)}
}

// NewStringElement builds an element of a string VR from values already in
// the target repertoire, joined with backslashes and padded.
func NewStringElement(tag Tag, vr VR, values ...string) *Element {
	var b []byte
	for i, v := range values {
		if i > 0 {
			b = append(b, '\\')
		}
		b = append(b, v...)
	}
	return &Element{Tag: tag, VR: vr, Value: padded(b, vr.Padding())}
}

func padded(b []byte, pad byte) []byte {
	if len(b)%2 == 1 {
		return append(b, pad)
	}
	return b
}

// WriteDataset writes the elements of ds in the encoding enc. Sequences and
// items are written with undefined length, which every syntax allows.
func WriteDataset(w io.Writer, ds *Dataset, enc Encoding, opts WriteOptions) error {
	if enc.Deflated {
		fw, err := flate.NewWriter(w, flate.DefaultCompression)
		if err != nil {
			return fmt.Errorf("dicom: deflate: %w", err)
		}
		enc.Deflated = false
		if err := WriteDataset(fw, ds, enc, opts); err != nil {
			return err
		}
		return fw.Close()
	}
	ew := &elementWriter{w: w, enc: enc, opts: opts}
	if enc.BigEndian {
		ew.order = binary.BigEndian
	} else {
		ew.order = binary.LittleEndian
	}
	return ew.dataset(ds)
}

type elementWriter struct {
	w     io.Writer
	enc   Encoding
	order binary.AppendByteOrder
	opts  WriteOptions
	buf   [12]byte
}

func (ew *elementWriter) dataset(ds *Dataset) error {
	for _, e := range ds.Elements {
		if err := ew.element(ds, e); err != nil {
			return fmt.Errorf("dicom: write %s: %w", e.Tag, err)
		}
	}
	return nil
}

func (ew *elementWriter) header(tag Tag, vr VR, length uint32) error {
	b := ew.buf[:0]
	b = ew.order.AppendUint16(b, tag.Group())
	b = ew.order.AppendUint16(b, tag.Element())
	switch {
	case ew.enc.Implicit || vr == VRNone:
		b = ew.order.AppendUint32(b, length)
	case vr.HasLongLength():
		b = append(b, vr.String()[0], vr.String()[1], 0, 0)
		b = ew.order.AppendUint32(b, length)
	default:
		b = append(b, vr.String()[0], vr.String()[1])
		b = ew.order.AppendUint16(b, uint16(length))
	}
	_, err := ew.w.Write(b)
	return err
}

func (ew *elementWriter) element(ds *Dataset, e *Element) error {
	vr := e.VR
	switch {
	case e.IsSequence():
		if err := ew.header(e.Tag, SQ, UndefinedLength); err != nil {
			return err
		}
		for _, it := range e.Items {
			if err := ew.header(TagItem, VRNone, UndefinedLength); err != nil {
				return err
			}
			if err := ew.dataset(it); err != nil {
				return err
			}
			if err := ew.header(TagItemDelimitation, VRNone, 0); err != nil {
				return err
			}
		}
		return ew.header(TagSequenceDelimitation, VRNone, 0)
	case e.IsEncapsulated():
		if ew.enc != EncodingExplicitLE && !ew.enc.Implicit {
			return fmt.Errorf("encapsulated Pixel Data cannot be written %s", ew.enc)
		}
		if err := ew.header(e.Tag, OB, UndefinedLength); err != nil {
			return err
		}
		for _, f := range e.Fragments {
			if err := ew.header(TagItem, VRNone, f.Length); err != nil {
				return err
			}
			if err := ew.copyValue(f.Data, f.Offset, int64(f.Length)); err != nil {
				return err
			}
		}
		return ew.header(TagSequenceDelimitation, VRNone, 0)
	}
	length := e.Length
	if !e.Bulk {
		length = uint32(len(e.Value))
	}
	odd := length%2 == 1
	if odd {
		length++
	}
	if !ew.enc.Implicit && !vr.HasLongLength() && length > math.MaxUint16 {
		vr = UN // PS3.5 6.2: a value too long for a 16-bit length goes out as UN
	}
	if err := ew.header(e.Tag, vr, length); err != nil {
		return err
	}
	srcBE := ds.Encoding.BigEndian
	if srcBE != ew.enc.BigEndian && e.VR.WordSize() > 1 {
		return ew.swapped(e)
	}
	if err := ew.copyValue(e.Value, e.Offset, int64(e.Length)); err != nil {
		return err
	}
	if odd {
		_, err := ew.w.Write([]byte{e.VR.Padding()})
		return err
	}
	return nil
}

// copyValue writes a loaded value, or copies a bulk one from the source.
func (ew *elementWriter) copyValue(v []byte, off, n int64) error {
	if v != nil || n == 0 {
		_, err := ew.w.Write(v)
		return err
	}
	if ew.opts.Bulk == nil {
		return fmt.Errorf("bulk value at offset %d not loaded and no source given", off)
	}
	_, err := io.Copy(ew.w, io.NewSectionReader(ew.opts.Bulk, off, n))
	return err
}

// swapped writes a binary value in the opposite byte order.
func (ew *elementWriter) swapped(e *Element) error {
	v := e.Value
	if v == nil && e.Length > 0 {
		if ew.opts.Bulk == nil {
			return fmt.Errorf("bulk value at offset %d not loaded and no source given", e.Offset)
		}
		v = make([]byte, e.Length)
		if _, err := ew.opts.Bulk.ReadAt(v, e.Offset); err != nil {
			return err
		}
	}
	out := make([]byte, len(v), len(v)+1)
	ws := e.VR.WordSize()
	for i := 0; i+ws <= len(v); i += ws {
		for j := 0; j < ws; j++ {
			out[i+j] = v[i+ws-1-j]
		}
	}
	if len(out)%2 == 1 {
		out = append(out, 0)
	}
	_, err := ew.w.Write(out)
	return err
}
