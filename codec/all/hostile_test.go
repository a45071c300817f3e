package all

import (
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
)

// hostileCase is one corpus frame and damaged versions of it.
type hostileCase struct {
	rel, ts  string
	info     codec.PixelInfo
	variants [][]byte
}

// hostileCases takes up to three compressed files per transfer syntax
// from the corpus and damages their first frame: cut at many points,
// bytes flipped (favouring the header, where geometry and tables live),
// empty.
func hostileCases(t *testing.T) []hostileCase {
	root, files := corpusFiles(t)
	seen := map[string]int{}
	var out []hostileCase
	for _, rel := range files {
		path := filepath.Join(root, rel)
		f, err := dicom.ReadFile(path, dicom.ReadOptions{})
		if err != nil || f.Dataset == nil || !dicom.IsEncapsulated(f.TransferSyntax) || seen[f.TransferSyntax] >= 3 {
			continue
		}
		src, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		p, err := codec.Open(f.Dataset, f.TransferSyntax, src, codec.Options{})
		if err != nil {
			src.Close()
			continue
		}
		raw, err := p.RawFrame(0)
		src.Close()
		if err != nil || len(raw) < 16 {
			continue
		}
		seen[f.TransferSyntax]++
		info := p.Info
		info.NumberOfFrames = 1
		rng := rand.New(rand.NewSource(int64(len(raw))))
		variants := [][]byte{raw} // intact, as a control
		for _, frac := range []float64{0, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99} {
			variants = append(variants, raw[:int(float64(len(raw))*frac)])
		}
		for k := 0; k < 24; k++ {
			v := append([]byte(nil), raw...)
			n := 1 + rng.Intn(8)
			for j := 0; j < n; j++ {
				pos := rng.Intn(min(len(v), 200))
				if k%2 == 1 {
					pos = rng.Intn(len(v))
				}
				v[pos] = byte(rng.Intn(256))
			}
			variants = append(variants, v)
		}
		out = append(out, hostileCase{rel: rel, ts: f.TransferSyntax, info: info, variants: variants})
	}
	return out
}

// TestHostileFrames feeds every codec damaged versions of real frames from
// the corpus. Each must return an error or a frame, never crash the
// process or write outside its buffer (the race detector and Go's bounds
// checks watch the Go side; a C library that scribbled would corrupt the
// heap and, in practice, crash the test binary).
func TestHostileFrames(t *testing.T) {
	for _, hc := range hostileCases(t) {
		c, _ := codec.Lookup(hc.ts)
		t.Run(hc.rel, func(t *testing.T) {
			dst := make([]byte, hc.info.FrameSize())
			failed := 0
			for _, v := range hc.variants {
				if _, err := c.Decode(dst, v, hc.info); err != nil {
					failed++
				}
			}
			t.Logf("%s: %d of %d frames (one intact) refused, the rest decoded", hc.ts, failed, len(hc.variants))
		})
	}
}
