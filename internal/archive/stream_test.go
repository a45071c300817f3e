package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"runtime"
	"testing"
)

// zeros is an endless reader of zero bytes, limited by io.LimitReader.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestLargeInstanceStreams stores a 64 MB instance from an unsized stream
// and checks that the archive never held it in memory: the bytes
// allocated while storing stay far below its size, and the stored blob has
// the right digest.
func TestLargeInstanceStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("large instance skipped in -short mode")
	}
	const pixels = 64 << 20
	s := newSynth(t, "ct/ct-693-bitsstored-mismatch.dcm")
	data, sop := s.instance("", "")
	// Cut the template at its Pixel Data value and give the element the
	// large length; the stream then supplies that many zero bytes.
	marker := []byte{0xE0, 0x7F, 0x10, 0x00, 'O', 'W', 0, 0}
	at := bytes.LastIndex(data, marker)
	if at < 0 {
		t.Fatal("no Pixel Data in the template")
	}
	head := bytes.Clone(data[:at+12])
	binary.LittleEndian.PutUint32(head[at+8:], pixels)
	stream := func() io.Reader {
		return io.MultiReader(bytes.NewReader(head), io.LimitReader(zeros{}, pixels))
	}
	h := sha256.New()
	io.Copy(h, stream())
	var want [32]byte
	copy(want[:], h.Sum(nil))

	e := newEnv(t, sqliteBackend, Options{})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res, err := e.a.Store(context.Background(), stream(), IngestMeta{Size: -1})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("stored %d MB with %.1f MB allocated", res.Size>>20, float64(alloc)/(1<<20))
	if alloc > 8<<20 {
		t.Errorf("storing a %d MB instance allocated %d MB: not streamed", pixels>>20, alloc>>20)
	}
	if res.SOPInstanceUID != sop || res.Size != int64(len(head))+pixels || res.SHA256 != want {
		t.Fatalf("result %s size %d digest %x", res.SOPInstanceUID, res.Size, res.SHA256)
	}
	r, _, err := e.a.Retrieve(context.Background(), sop)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	h.Reset()
	io.Copy(h, r)
	if !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatal("stored bytes differ")
	}
}
