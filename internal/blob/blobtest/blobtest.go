// Package blobtest is the conformance suite every blob.Store backend must
// pass: create, commit, abort, open, stat, delete, walk, replace, invalid
// keys, concurrent writers, batch commits, and no partial blob visible
// after an abort or an abandoned (crashed) writer.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/blob"
)

// NewStore returns an empty store for one subtest; the suite closes it.
type NewStore func(t *testing.T) blob.Store

// Run runs the conformance suite against stores made by newStore.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s blob.Store)
	}{
		{"CreateCommitOpen", testCreateCommitOpen},
		{"EmptyBlob", testEmptyBlob},
		{"LargeBlob", testLargeBlob},
		{"Abort", testAbort},
		{"Abandoned", testAbandoned},
		{"UseAfterCommit", testUseAfterCommit},
		{"Replace", testReplace},
		{"NotFound", testNotFound},
		{"Delete", testDelete},
		{"InvalidKeys", testInvalidKeys},
		{"Walk", testWalk},
		{"ReaderAtSeek", testReaderAtSeek},
		{"ConcurrentWriters", testConcurrentWriters},
		{"CommitAll", testCommitAll},
		{"CommitAllSameKey", testCommitAllSameKey},
		{"CommitOrder", testCommitOrder},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			defer s.Close()
			tc.fn(t, s)
		})
	}
}

func payload(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func put(t *testing.T, s blob.Store, key string, data []byte) {
	t.Helper()
	w, err := s.Create(context.Background(), key)
	if err != nil {
		t.Fatalf("Create(%q): %v", key, err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatalf("Write(%q): %v", key, err)
	}
	if got := w.Written(); got != int64(len(data)) {
		t.Fatalf("Written() = %d, want %d", got, len(data))
	}
	if err := w.Commit(); err != nil {
		t.Fatalf("Commit(%q): %v", key, err)
	}
}

func get(t *testing.T, s blob.Store, key string) []byte {
	t.Helper()
	r, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	if int64(len(b)) != r.Size() {
		t.Fatalf("%q: read %d bytes, Size() = %d", key, len(b), r.Size())
	}
	return b
}

func mustAbsent(t *testing.T, s blob.Store, key string) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Stat(ctx, key); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Stat(%q) = %v, want ErrNotFound", key, err)
	}
	if r, err := s.Open(ctx, key); !errors.Is(err, blob.ErrNotFound) {
		if err == nil {
			r.Close()
		}
		t.Errorf("Open(%q) = %v, want ErrNotFound", key, err)
	}
	for _, k := range walkKeys(t, s) {
		if k == key {
			t.Errorf("Walk lists %q", key)
		}
	}
}

func walkKeys(t *testing.T, s blob.Store) []string {
	t.Helper()
	var keys []string
	err := s.Walk(context.Background(), func(i blob.Info) error {
		keys = append(keys, i.Key)
		return nil
	})
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	sort.Strings(keys)
	return keys
}

func testCreateCommitOpen(t *testing.T, s blob.Store) {
	data := payload(1, 10_000)
	put(t, s, "a1", data)
	if got := get(t, s, "a1"); !bytes.Equal(got, data) {
		t.Fatal("read back differs from written")
	}
	info, err := s.Stat(context.Background(), "a1")
	if err != nil {
		t.Fatal(err)
	}
	if info.Key != "a1" || info.Size != int64(len(data)) || info.ModTime.IsZero() {
		t.Fatalf("Stat = %+v", info)
	}
}

func testEmptyBlob(t *testing.T, s blob.Store) {
	put(t, s, "empty", nil)
	if got := get(t, s, "empty"); len(got) != 0 {
		t.Fatalf("got %d bytes", len(got))
	}
}

func testLargeBlob(t *testing.T, s blob.Store) {
	data := payload(2, 5<<20+3)
	w, err := s.Create(context.Background(), "large")
	if err != nil {
		t.Fatal(err)
	}
	// Many small writes, as a streaming parser issues them.
	for off := 0; off < len(data); off += 32 << 10 {
		end := min(off+32<<10, len(data))
		if _, err := w.Write(data[off:end]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	got := get(t, s, "large")
	if sha256.Sum256(got) != sha256.Sum256(data) {
		t.Fatal("large blob differs")
	}
}

func testAbort(t *testing.T, s blob.Store) {
	w, err := s.Create(context.Background(), "aborted")
	if err != nil {
		t.Fatal(err)
	}
	w.Write(payload(3, 1000))
	mustAbsent(t, s, "aborted") // not visible while being written
	w.Abort()
	w.Abort() // idempotent
	mustAbsent(t, s, "aborted")
	if err := w.Commit(); !errors.Is(err, blob.ErrClosed) {
		t.Fatalf("Commit after Abort = %v, want ErrClosed", err)
	}
	mustAbsent(t, s, "aborted")
	// Abort of a replacement keeps the committed blob.
	put(t, s, "kept", []byte("first"))
	w, err = s.Create(context.Background(), "kept")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("second, longer"))
	w.Abort()
	if got := get(t, s, "kept"); string(got) != "first" {
		t.Fatalf("after aborted replace: %q", got)
	}
}

// testAbandoned simulates a crash: writers neither committed nor aborted.
func testAbandoned(t *testing.T, s blob.Store) {
	for i := range 3 {
		w, err := s.Create(context.Background(), fmt.Sprintf("crash%d", i))
		if err != nil {
			t.Fatal(err)
		}
		w.Write(payload(uint64(i), 4096))
	}
	for i := range 3 {
		mustAbsent(t, s, fmt.Sprintf("crash%d", i))
	}
	if keys := walkKeys(t, s); len(keys) != 0 {
		t.Fatalf("Walk lists %v", keys)
	}
}

func testUseAfterCommit(t *testing.T, s blob.Store) {
	w, err := s.Create(context.Background(), "once")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("x"))
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); !errors.Is(err, blob.ErrClosed) {
		t.Fatalf("second Commit = %v, want ErrClosed", err)
	}
	if _, err := w.Write([]byte("y")); err == nil {
		t.Fatal("Write after Commit succeeded")
	}
	w.Abort() // no-op
	if got := get(t, s, "once"); string(got) != "x" {
		t.Fatalf("got %q", got)
	}
}

func testReplace(t *testing.T, s blob.Store) {
	put(t, s, "r", []byte("old contents, long"))
	put(t, s, "r", []byte("new"))
	if got := get(t, s, "r"); string(got) != "new" {
		t.Fatalf("got %q", got)
	}
	if keys := walkKeys(t, s); len(keys) != 1 {
		t.Fatalf("Walk = %v", keys)
	}
}

func testNotFound(t *testing.T, s blob.Store) {
	mustAbsent(t, s, "missing")
	if err := s.Delete(context.Background(), "missing"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Delete(missing) = %v", err)
	}
}

func testDelete(t *testing.T, s blob.Store) {
	put(t, s, "d1", []byte("one"))
	put(t, s, "d2", []byte("two"))
	if err := s.Delete(context.Background(), "d1"); err != nil {
		t.Fatal(err)
	}
	mustAbsent(t, s, "d1")
	if got := get(t, s, "d2"); string(got) != "two" {
		t.Fatalf("d2 = %q", got)
	}
	if err := s.Delete(context.Background(), "d1"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("second Delete = %v", err)
	}
}

func testInvalidKeys(t *testing.T, s blob.Store) {
	ctx := context.Background()
	long := string(bytes.Repeat([]byte("k"), blob.MaxKeyLen+1))
	for _, k := range []string{"", ".hidden", ".tmp-x", "a/b", "../x", "a b", "é", "a\x00", long} {
		if _, err := s.Create(ctx, k); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Create(%q) = %v, want ErrInvalidKey", k, err)
		}
		if _, err := s.Open(ctx, k); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Open(%q) = %v, want ErrInvalidKey", k, err)
		}
		if _, err := s.Stat(ctx, k); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Stat(%q) = %v, want ErrInvalidKey", k, err)
		}
		if err := s.Delete(ctx, k); !errors.Is(err, blob.ErrInvalidKey) {
			t.Errorf("Delete(%q) = %v, want ErrInvalidKey", k, err)
		}
	}
	for _, k := range []string{"1.2.840.10008.5.1.4.1.1.2", "A-b_c.9", string(bytes.Repeat([]byte("k"), blob.MaxKeyLen))} {
		put(t, s, k, []byte(k))
		if got := get(t, s, k); string(got) != k {
			t.Errorf("%q: got %q", k, got)
		}
	}
}

func testWalk(t *testing.T, s blob.Store) {
	want := map[string]int64{}
	for i := range 50 {
		k := fmt.Sprintf("w%03d", i)
		want[k] = int64(i * 7)
		put(t, s, k, payload(uint64(i), i*7))
	}
	// A pending writer is not listed.
	w, err := s.Create(context.Background(), "pending")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	w.Write([]byte("pending"))
	got := map[string]int64{}
	err = s.Walk(context.Background(), func(i blob.Info) error {
		if _, dup := got[i.Key]; dup {
			t.Errorf("Walk lists %q twice", i.Key)
		}
		got[i.Key] = i.Size
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("Walk listed %d blobs, want %d", len(got), len(want))
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: size %d, want %d", k, got[k], n)
		}
	}
	// An error from fn stops the walk and is returned.
	stop := errors.New("stop")
	calls := 0
	err = s.Walk(context.Background(), func(blob.Info) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("Walk with failing fn: err=%v calls=%d", err, calls)
	}
}

func testReaderAtSeek(t *testing.T, s blob.Store) {
	data := payload(9, 100_000)
	put(t, s, "ra", data)
	r, err := s.Open(context.Background(), "ra")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf := make([]byte, 100)
	if _, err := r.ReadAt(buf, 50_000); err != nil || !bytes.Equal(buf, data[50_000:50_100]) {
		t.Fatalf("ReadAt: %v", err)
	}
	if _, err := r.Seek(99_990, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(rest, data[99_990:]) {
		t.Fatalf("read after Seek: %v, %d bytes", err, len(rest))
	}
}

func testConcurrentWriters(t *testing.T, s blob.Store) {
	const writers, each = 8, 12
	var wg sync.WaitGroup
	errc := make(chan error, writers*each)
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				k := fmt.Sprintf("c%d-%d", g, i)
				w, err := s.Create(context.Background(), k)
				if err != nil {
					errc <- err
					return
				}
				w.Write(payload(uint64(g*100+i), 3000+i))
				if i%4 == 3 {
					w.Abort()
					continue
				}
				if err := w.Commit(); err != nil {
					errc <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	for g := range writers {
		for i := range each {
			k := fmt.Sprintf("c%d-%d", g, i)
			if i%4 == 3 {
				mustAbsent(t, s, k)
				continue
			}
			if got := get(t, s, k); !bytes.Equal(got, payload(uint64(g*100+i), 3000+i)) {
				t.Errorf("%s differs", k)
			}
		}
	}
}

func testCommitAll(t *testing.T, s blob.Store) {
	var ws []blob.Writer
	for i := range 20 {
		w, err := s.Create(context.Background(), fmt.Sprintf("b%02d", i))
		if err != nil {
			t.Fatal(err)
		}
		w.Write(payload(uint64(i), 1000+i))
		ws = append(ws, w)
	}
	// A writer already aborted fails alone.
	ws[5].Abort()
	errs := blob.CommitAll(s, ws)
	if len(errs) != len(ws) {
		t.Fatalf("CommitAll returned %d errors for %d writers", len(errs), len(ws))
	}
	for i, err := range errs {
		k := fmt.Sprintf("b%02d", i)
		if i == 5 {
			if !errors.Is(err, blob.ErrClosed) {
				t.Errorf("aborted writer: %v, want ErrClosed", err)
			}
			mustAbsent(t, s, k)
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", k, err)
			continue
		}
		if got := get(t, s, k); !bytes.Equal(got, payload(uint64(i), 1000+i)) {
			t.Errorf("%s differs", k)
		}
	}
	if errs := blob.CommitAll(s, nil); len(errs) != 0 {
		t.Fatalf("CommitAll(nil) = %v", errs)
	}
}

func testCommitAllSameKey(t *testing.T, s blob.Store) {
	var ws []blob.Writer
	for i := range 3 {
		w, err := s.Create(context.Background(), "same")
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(w, "version %d", i)
		ws = append(ws, w)
	}
	for _, err := range blob.CommitAll(s, ws) {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := string(get(t, s, "same"))
	if got != "version 0" && got != "version 1" && got != "version 2" {
		t.Fatalf("got %q, want one whole version", got)
	}
}

// testCommitOrder checks that ModTime follows commit order: never
// decreasing along a batch, nor from one commit to a later one.
func testCommitOrder(t *testing.T, s blob.Store) {
	ctx := context.Background()
	put(t, s, "before", []byte("x"))
	var ws []blob.Writer
	for i := range 6 {
		w, err := s.Create(ctx, fmt.Sprintf("o%d", i))
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("y"))
		ws = append(ws, w)
	}
	for _, err := range blob.CommitAll(s, ws) {
		if err != nil {
			t.Fatal(err)
		}
	}
	put(t, s, "after", []byte("z"))
	keys := []string{"before", "o0", "o1", "o2", "o3", "o4", "o5", "after"}
	var prev time.Time
	for _, k := range keys {
		info, err := s.Stat(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if info.ModTime.Before(prev) {
			t.Errorf("%s committed later but ModTime %v is before %v", k, info.ModTime, prev)
		}
		prev = info.ModTime
	}
}
