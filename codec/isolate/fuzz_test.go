package isolate

import (
	"bufio"
	"bytes"
	"io"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	_ "github.com/lightbox-pacs/lightbox/codec/rle" // the seeds decode RLE
)

// request builds a well-formed request stream.
func request(ts string, in codec.PixelInfo, src []byte) []byte {
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	w.WriteString(magic)
	writeString16(w, ts)
	writeInfo(w, in)
	writeBytes32(w, src)
	w.Flush()
	return b.Bytes()
}

var fuzzInfo = codec.PixelInfo{Rows: 4, Columns: 4, SamplesPerPixel: 1, BitsAllocated: 8, BitsStored: 8, HighBit: 7,
	NumberOfFrames: 1, PhotometricInterpretation: "MONOCHROME2"}

// FuzzServe feeds the worker's request parser arbitrary streams: it must
// answer or stop with an error, never panic, and never allocate what the
// stream only claims.
func FuzzServe(f *testing.F) {
	f.Add(request("1.2.840.10008.1.2.5", fuzzInfo, []byte{1, 0, 0, 0, 64, 0, 0, 0}))
	f.Add(request("1.2.840.10008.1.2.5", fuzzInfo, nil))
	huge := fuzzInfo
	huge.Rows, huge.Columns = 65535, 65535
	f.Add(request("1.2.840.10008.1.2.5", huge, []byte{0}))
	f.Add([]byte("LBCW\xff\xff"))
	f.Add([]byte("LBCW\x00\x00" + string(make([]byte, 42)) + "\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Small frames only: a claimed geometry must not cost a GiB per run.
		Serve(bytes.NewReader(data), io.Discard, ServeOptions{Limits: codec.Limits{MaxFrameBytes: 1 << 20, MaxFramePixels: 1 << 20}})
	})
}

// FuzzResponse feeds the pool's response parser arbitrary streams: an
// error or a frame of at most the expected size, never a panic.
func FuzzResponse(f *testing.F) {
	var ok bytes.Buffer
	Serve(bytes.NewReader(request("1.2.840.10008.1.2.5", fuzzInfo, nil)), &ok, ServeOptions{})
	f.Add(ok.Bytes())
	f.Add([]byte("LBCW\x01\x05\x00\x00\x00oops!"))
	f.Add([]byte("LBCW\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, b, err := readResponse(bufio.NewReader(bytes.NewReader(data)), fuzzInfo.FrameSize())
		if err == nil && int64(len(b)) > 64<<10 && int64(len(b)) > fuzzInfo.FrameSize() {
			t.Fatalf("%d bytes accepted for a %d-byte frame", len(b), fuzzInfo.FrameSize())
		}
	})
}
