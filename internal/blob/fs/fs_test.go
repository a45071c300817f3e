package fs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/blob"
	"github.com/lightbox-pacs/lightbox/internal/blob/blobtest"
)

func TestConformance(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		s, err := Open(filepath.Join(t.TempDir(), "blobs"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestConformanceNoSync(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store {
		s, err := Open(t.TempDir(), Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestLayout(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.Create(context.Background(), "hello")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("hi"))
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	// SHA-256("hello") = 2cf24dba...
	want := filepath.Join(root, "2c", "f2", "hello")
	if b, err := os.ReadFile(want); err != nil || string(b) != "hi" {
		t.Fatalf("blob not at %s: %v", want, err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "FORMAT")); string(b) != formatLine {
		t.Fatalf("FORMAT = %q", b)
	}
	// Reopening accepts the store; a foreign format is refused.
	if _, err := Open(root, Options{}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "FORMAT"), []byte("something else\n"), 0o644)
	if _, err := Open(root, Options{}); err == nil || !strings.Contains(err.Error(), "unknown store format") {
		t.Fatalf("Open of foreign store: %v", err)
	}
}

func TestRemoveStaleTemp(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w, err := s.Create(ctx, "crashed")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("partial"))
	tmp := w.(*writer).tmp
	// A young temporary file is left alone (it may be a live writer).
	if n, err := s.RemoveStaleTemp(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("RemoveStaleTemp(1h) = %d, %v", n, err)
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(tmp, old, old)
	if n, err := s.RemoveStaleTemp(ctx, time.Hour); err != nil || n != 1 {
		t.Fatalf("RemoveStaleTemp = %d, %v", n, err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("temp file still there: %v", err)
	}
}

func TestWalkSkipsForeignFiles(t *testing.T) {
	root := t.TempDir()
	s, err := Open(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(root, "00", "00"), 0o755)
	os.WriteFile(filepath.Join(root, "00", "00", "misplaced"), nil, 0o644)
	os.WriteFile(filepath.Join(root, "00", "00", "bad name"), nil, 0o644)
	n := 0
	if err := s.Walk(context.Background(), func(blob.Info) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("Walk listed %d foreign files", n)
	}
}

func BenchmarkCommit(b *testing.B) {
	data := make([]byte, 512<<10)
	for _, batch := range []int{1, 16} {
		b.Run(map[int]string{1: "single", 16: "batch16"}[batch], func(b *testing.B) {
			s, err := Open(b.TempDir(), Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			ctx := context.Background()
			for i := 0; i < b.N; i += batch {
				var ws []blob.Writer
				for j := 0; j < batch; j++ {
					w, err := s.Create(ctx, fmt.Sprintf("k%d", i+j))
					if err != nil {
						b.Fatal(err)
					}
					w.Write(data)
					ws = append(ws, w)
				}
				for _, err := range blob.CommitAll(s, ws) {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// TestCommitOrderStrict: the filesystem store keeps nanoseconds, so commit
// order is strict, within a batch too.
func TestCommitOrderStrict(t *testing.T) {
	s, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var ws []blob.Writer
	for i := range 5 {
		w, err := s.Create(ctx, fmt.Sprintf("k%d", i))
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, w)
	}
	for _, err := range blob.CommitAll(s, ws) {
		if err != nil {
			t.Fatal(err)
		}
	}
	var prev time.Time
	for i := range 5 {
		info, err := s.Stat(ctx, fmt.Sprintf("k%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if !info.ModTime.After(prev) {
			t.Fatalf("k%d: ModTime %v not after %v", i, info.ModTime, prev)
		}
		prev = info.ModTime
	}
}
