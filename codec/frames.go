package codec

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// frameSpan is one encapsulated frame: fragments [first, end) joined, cut
// to length bytes when length >= 0 (Extended Offset Table lengths).
type frameSpan struct {
	first, end int
	length     int64
}

// locateFrames works out which fragments make up each frame (PS3.5 A.4),
// trying in turn: the Extended Offset Table (7FE0,0001/0002); the Basic
// Offset Table; one frame holding every fragment; one fragment per frame;
// and finally the fragments whose first bytes start a JPEG, JPEG-LS, JPEG
// 2000, JPEG XL or RLE frame. An offset table that points anywhere but at
// a fragment is ignored in favour of the later methods.
//
// read returns up to max bytes (all when max < 0) of fragment k; value
// returns an element's value, reading it from the source when the reader
// left it there (a large Extended Offset Table).
func locateFrames(ds *dicom.Dataset, e *dicom.Element, nFrames int, read func(k, max int) ([]byte, error), value func(*dicom.Element) []byte) ([]frameSpan, error) {
	frags := e.Fragments
	if len(frags) < 2 {
		return nil, fmt.Errorf("%w: encapsulated pixel data has no fragments after the offset table", ErrCorrupt)
	}
	n := len(frags) - 1 // data fragments, indices 1..n
	if n < nFrames {
		return nil, fmt.Errorf("%w: %d frames declared but only %d fragments", ErrTruncated, nFrames, n)
	}
	// index maps the offset of each fragment's item tag, counted from
	// fragment 1's, to the fragment.
	base := frags[1].Offset - 8
	index := make(map[int64]int, n)
	for k := 1; k <= n; k++ {
		index[frags[k].Offset-8-base] = k
	}

	if spans, ok := fromExtendedTable(ds, frags, index, nFrames, value); ok {
		return spans, nil
	}
	if bot, err := read(0, -1); err == nil && len(bot) >= 4 {
		if spans, ok := fromOffsets(basicOffsets(bot), index, n, nFrames); ok {
			return spans, nil
		}
	}
	if nFrames == 1 {
		return []frameSpan{{first: 1, end: n + 1, length: -1}}, nil
	}
	if n == nFrames {
		spans := make([]frameSpan, nFrames)
		for i := range spans {
			spans[i] = frameSpan{first: i + 1, end: i + 2, length: -1}
		}
		return spans, nil
	}
	var starts []int
	for k := 1; k <= n; k++ {
		head, err := read(k, 64)
		if err != nil {
			return nil, err
		}
		if startsFrame(head) {
			starts = append(starts, k)
		}
	}
	if len(starts) != nFrames || starts[0] != 1 {
		return nil, fmt.Errorf("%w: cannot tell which of %d fragments belong to which of %d frames (no offset table, %d frame starts found)",
			ErrCorrupt, n, nFrames, len(starts))
	}
	spans := make([]frameSpan, nFrames)
	for i, k := range starts {
		end := n + 1
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		spans[i] = frameSpan{first: k, end: end, length: -1}
	}
	return spans, nil
}

func basicOffsets(bot []byte) []int64 {
	out := make([]int64, len(bot)/4)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint32(bot[4*i:]))
	}
	return out
}

// fromOffsets turns offset table entries into spans when every entry is the
// start of a fragment and the entries ascend.
func fromOffsets(offs []int64, index map[int64]int, n, nFrames int) ([]frameSpan, bool) {
	if len(offs) != nFrames {
		return nil, false
	}
	spans := make([]frameSpan, nFrames)
	prev := 0
	for i, off := range offs {
		k, ok := index[off]
		if !ok || k <= prev {
			return nil, false
		}
		spans[i] = frameSpan{first: k, end: n + 1, length: -1}
		if i > 0 {
			spans[i-1].end = k
		}
		prev = k
	}
	return spans, spans[0].first == 1
}

// fromExtendedTable reads the Extended Offset Table and its lengths.
func fromExtendedTable(ds *dicom.Dataset, frags []dicom.Fragment, index map[int64]int, nFrames int, value func(*dicom.Element) []byte) ([]frameSpan, bool) {
	eo, el := ds.Get(TagExtendedOffsetTable), ds.Get(TagExtendedOffsetTableLengths)
	if eo == nil || el == nil {
		return nil, false
	}
	eov, elv := value(eo), value(el)
	if eov == nil || elv == nil {
		return nil, false
	}
	offs, lens := uint64s(eov), uint64s(elv)
	if len(offs) != nFrames || len(lens) != nFrames {
		return nil, false
	}
	o := make([]int64, nFrames)
	for i, v := range offs {
		if v > 1<<62 {
			return nil, false
		}
		o[i] = int64(v)
	}
	spans, ok := fromOffsets(o, index, len(frags)-1, nFrames)
	if !ok {
		return nil, false
	}
	for i := range spans {
		var have int64
		for _, f := range frags[spans[i].first:spans[i].end] {
			have += int64(f.Length)
		}
		if lens[i] > uint64(have) {
			return nil, false
		}
		spans[i].length = int64(lens[i])
	}
	return spans, true
}

func uint64s(b []byte) []uint64 {
	out := make([]uint64, len(b)/8)
	for i := range out {
		out[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return out
}

// Signatures that open a compressed frame.
var (
	sigJPEG     = []byte{0xFF, 0xD8, 0xFF}                               // JPEG and JPEG-LS SOI
	sigJ2K      = []byte{0xFF, 0x4F, 0xFF, 0x51}                         // J2K codestream SOC SIZ
	sigJP2      = []byte{0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20} // JP2 signature box
	sigJXL      = []byte{0xFF, 0x0A}                                     // JPEG XL codestream
	sigJXLBox   = []byte{0x00, 0x00, 0x00, 0x0C, 0x4A, 0x58, 0x4C, 0x20} // JPEG XL container
	sigRLEFirst = []byte{0x40, 0x00, 0x00, 0x00}                         // first RLE segment offset (64)
	frameSigs   = [][]byte{sigJPEG, sigJ2K, sigJP2, sigJXL, sigJXLBox}
)

// startsFrame reports whether a fragment's first bytes open a frame.
func startsFrame(b []byte) bool {
	for _, s := range frameSigs {
		if bytes.HasPrefix(b, s) {
			return true
		}
	}
	// RLE header: 1..15 segments, the first at offset 64.
	if len(b) >= 64 {
		nseg := binary.LittleEndian.Uint32(b)
		return nseg >= 1 && nseg <= 15 && bytes.Equal(b[4:8], sigRLEFirst)
	}
	return false
}

// FrameSpan names the fragments that hold one encapsulated frame:
// Fragments[First:End] of the Pixel Data element (item 0 being the Basic
// Offset Table) joined, then cut to Length bytes when Length >= 0 (the
// Extended Offset Table gives frame lengths).
type FrameSpan struct {
	First, End int
	Length     int64
}

// LocateFrames works out which fragments of the encapsulated element e of
// ds hold each of its nFrames frames, whatever the transfer syntax: from
// the Extended Offset Table, the Basic Offset Table, one frame holding
// every fragment, one fragment per frame, or the fragments whose first
// bytes open a JPEG, JPEG-LS, JPEG 2000, JPEG XL or RLE frame. Values the
// reader left in src (fragments, a large offset table) are read from it;
// only the first bytes of a fragment are read to look for a frame start.
func LocateFrames(ds *dicom.Dataset, e *dicom.Element, nFrames int, src io.ReaderAt) ([]FrameSpan, error) {
	if !e.IsEncapsulated() {
		return nil, fmt.Errorf("%w: pixel data is not encapsulated", ErrCorrupt)
	}
	read := func(k, max int) ([]byte, error) { return readFragment(e.Fragments[k], k, max, src) }
	spans, err := locateFrames(ds, e, nFrames, read, func(el *dicom.Element) []byte { return elementValue(el, src) })
	if err != nil {
		return nil, err
	}
	out := make([]FrameSpan, len(spans))
	for i, s := range spans {
		out[i] = FrameSpan{First: s.first, End: s.end, Length: s.length}
	}
	return out, nil
}

// readFragment returns up to max bytes (all when max < 0) of fragment k.
func readFragment(f dicom.Fragment, k, max int, src io.ReaderAt) ([]byte, error) {
	n := int64(f.Length)
	if max >= 0 && int64(max) < n {
		n = int64(max)
	}
	if f.Data != nil || f.Length == 0 {
		return f.Data[:min(int64(len(f.Data)), n)], nil
	}
	if src == nil {
		return nil, fmt.Errorf("codec: fragment %d was left in the source and no source was given", k)
	}
	b := make([]byte, n)
	if _, err := src.ReadAt(b, f.Offset); err != nil {
		return nil, fmt.Errorf("%w: fragment %d (%d bytes at offset %d): %v", ErrTruncated, k, f.Length, f.Offset, err)
	}
	return b, nil
}

// elementValue returns e's value, read from src when the reader left it
// there; nil when it cannot be had.
func elementValue(e *dicom.Element, src io.ReaderAt) []byte {
	if e.Value != nil || e.Length == 0 {
		return e.Value
	}
	if src == nil || !e.Bulk || e.Length == dicom.UndefinedLength || e.Length > 1<<30 {
		return nil
	}
	b := make([]byte, e.Length)
	if _, err := src.ReadAt(b, e.Offset); err != nil {
		return nil
	}
	return b
}
