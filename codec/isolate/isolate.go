// Package isolate decodes untrusted compressed frames in child processes,
// so that a memory-safety bug or an endless loop in a C decoder library
// (OpenJPEG, CharLS, the IJG libraries, libjxl) costs one frame an error
// instead of taking the server down or hanging it.
//
// A Pool keeps up to Options.Workers children, each a process running
// Serve over its stdin and stdout (the lightbox binary re-executed as
// `lightbox codec-worker`). A frame is sent to an idle child with its
// PixelInfo, decoded there by the codec registered in the child, and the
// samples sent back. When the child dies (a signal, an exit, a broken
// pipe) or takes longer than Options.Timeout (it is then killed), the
// frame fails with an error wrapping codec.ErrCorrupt and the next frame
// gets a fresh child. Children limit their own address space
// (Options.MemoryLimit, RLIMIT_AS) so that a decoder that allocates
// without bound fails there too.
//
// Install wraps registered codecs so that codec.Open and Pixels.Frame, and
// so every caller, go through the pool without changing; encoding stays in
// process (its input is the archive's own decoded pixels).
//
// # Protocol
//
// Little endian, one request then one response at a time per child:
//
//	request:  "LBCW" | u16 len, transfer syntax | pixel info | u32 len, frame bytes
//	response: "LBCW" | u8 status | status 0: pixel info | u32 len, samples
//	                             | otherwise: u32 len, message
//	pixel info: 10 x i32 (rows, columns, samples, bits allocated, bits
//	            stored, high bit, pixel representation, planar
//	            configuration, frames, float) | u16 len, photometric
package isolate

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/lightbox-pacs/lightbox/codec"
)

const magic = "LBCW"

// Response status codes: the codec error a worker's failure wraps.
const (
	statusOK byte = iota
	statusCorrupt
	statusUnsupported
	statusTooLarge
	statusOther
)

// maxFrame bounds a frame field read from the other side (u32 lengths).
const maxFrame = math.MaxUint32

func writeInfo(w *bufio.Writer, in codec.PixelInfo) {
	f := 0
	if in.Float {
		f = 1
	}
	for _, v := range []int{in.Rows, in.Columns, in.SamplesPerPixel, in.BitsAllocated, in.BitsStored, in.HighBit,
		in.PixelRepresentation, in.PlanarConfiguration, in.NumberOfFrames, f} {
		binary.Write(w, binary.LittleEndian, int32(v))
	}
	writeString16(w, in.PhotometricInterpretation)
}

func readInfo(r *bufio.Reader) (codec.PixelInfo, error) {
	var v [10]int32
	if err := binary.Read(r, binary.LittleEndian, &v); err != nil {
		return codec.PixelInfo{}, err
	}
	pi, err := readString16(r)
	if err != nil {
		return codec.PixelInfo{}, err
	}
	return codec.PixelInfo{Rows: int(v[0]), Columns: int(v[1]), SamplesPerPixel: int(v[2]), BitsAllocated: int(v[3]),
		BitsStored: int(v[4]), HighBit: int(v[5]), PixelRepresentation: int(v[6]), PlanarConfiguration: int(v[7]),
		NumberOfFrames: int(v[8]), Float: v[9] != 0, PhotometricInterpretation: pi}, nil
}

func writeString16(w *bufio.Writer, s string) {
	binary.Write(w, binary.LittleEndian, uint16(len(s)))
	w.WriteString(s)
}

func readString16(r *bufio.Reader) (string, error) {
	var n uint16
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
		return "", err
	}
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return string(b), err
}

func writeBytes32(w *bufio.Writer, b []byte) {
	binary.Write(w, binary.LittleEndian, uint32(len(b)))
	w.Write(b)
}

// readBytes32 reads a length-prefixed field of at most limit bytes.
func readBytes32(r *bufio.Reader, limit int64) ([]byte, error) {
	var n uint32
	if err := binary.Read(r, binary.LittleEndian, &n); err != nil {
		return nil, err
	}
	if int64(n) > limit {
		return nil, fmt.Errorf("isolate: field of %d bytes, at most %d expected", n, limit)
	}
	if n <= 1<<20 {
		b := make([]byte, n)
		_, err := io.ReadFull(r, b)
		return b, err
	}
	// A large claim is believed only as far as bytes arrive.
	var buf bytes.Buffer
	if _, err := io.CopyN(&buf, r, int64(n)); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf.Bytes(), nil
}

func readMagic(r *bufio.Reader) error {
	var m [4]byte
	if _, err := io.ReadFull(r, m[:]); err != nil {
		return err
	}
	if string(m[:]) != magic {
		return fmt.Errorf("isolate: bad magic %q", m[:])
	}
	return nil
}

// statusOf maps a decode error to its status code.
func statusOf(err error) byte {
	switch {
	case err == nil:
		return statusOK
	case errors.Is(err, codec.ErrCorrupt):
		return statusCorrupt
	case errors.Is(err, codec.ErrUnsupported):
		return statusUnsupported
	case errors.Is(err, codec.ErrTooLarge):
		return statusTooLarge
	}
	return statusOther
}

// errorOf rebuilds a worker's error so that errors.Is still works.
func errorOf(status byte, msg string) error {
	switch status {
	case statusCorrupt:
		return fmt.Errorf("%w (in a codec worker): %s", codec.ErrCorrupt, msg)
	case statusUnsupported:
		return fmt.Errorf("%w (in a codec worker): %s", codec.ErrUnsupported, msg)
	case statusTooLarge:
		return fmt.Errorf("%w (in a codec worker): %s", codec.ErrTooLarge, msg)
	}
	return fmt.Errorf("isolate: codec worker: %s", msg)
}
