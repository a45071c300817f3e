package imaging

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// TestCorpusRenders renders the first and last frame of every corpus image
// whose pixel data decodes, with overlays and a viewport, and requires a
// result of the expected size: no panic, no error, on any real-world file.
// Files that do not decode are the codec's business and are skipped here.
func TestCorpusRenders(t *testing.T) {
	root := testenv.CorpusDir(t)
	rendered, seen := 0, 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".dcm") {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if strings.HasPrefix(rel, "malformed/") || strings.Contains(rel, "huge-rows-cols") || strings.Contains(rel, "deeply-nested") {
			return nil
		}
		if seen++; raceEnabled && seen%5 != 0 {
			return nil // a sample under the race detector; scripts/test.sh runs all without it
		}
		file, src := openFile(t, path)
		p, err := codec.Open(file.Dataset, file.TransferSyntax, src, codec.Options{})
		if err != nil {
			return nil // no pixel data, or nothing to decode it with
		}
		for _, frame := range []int{0, p.NumFrames() - 1} {
			data, info, err := p.Frame(frame)
			if err != nil {
				t.Logf("%s frame %d: not decodable: %v", rel, frame, err)
				break
			}
			f := Frame{Index: frame, Data: data, Info: info}
			img, err := Render(file.Dataset, f, Options{Source: src, Overlays: true, Width: 256, Height: 256})
			if err != nil {
				if errors.Is(err, ErrUnsupported) {
					t.Logf("%s frame %d: %v", rel, frame, err)
					continue
				}
				t.Errorf("%s frame %d: %v", rel, frame, err)
				continue
			}
			if b := img.Bounds(); max(b.Dx(), b.Dy()) != 256 {
				t.Errorf("%s frame %d: rendered %v, want 256 on the long side", rel, frame, b)
			}
			rendered++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d frames rendered", rendered)
}
