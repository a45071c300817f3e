// Package fs is the local-filesystem blob store: one file per blob under a
// root directory, with keys hashed into a two-level fan-out of
// directories. The layout and the commit protocol are documented in
// docs/storage-format.md.
//
// A blob is written to a temporary file (".tmp-*") in its final directory,
// fsynced, renamed over its final name, and the directory is fsynced; only
// then does Commit return. Temporary files are invisible to Open, Stat and
// Walk; a crash leaves at most such files behind, which RemoveStaleTemp
// deletes. CommitBatch commits many writers with their fsyncs issued in
// parallel and each directory fsynced once, so concurrent writers share
// the cost of durability.
package fs

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/blob"
)

// tempPrefix starts the name of every temporary file.
const tempPrefix = ".tmp-"

// formatFile names the marker file at the root of a store.
const formatFile = "FORMAT"

// formatLine is the content of the marker file.
const formatLine = "lightbox-blob-fs 1\n"

// Options configure a Store.
type Options struct {
	// Logger receives warnings; nil discards them.
	Logger *slog.Logger
	// SyncParallelism bounds the fsyncs CommitBatch issues at once; 0
	// means 16.
	SyncParallelism int
	// NoSync skips every fsync: blobs are atomic but not durable. For
	// tests and benchmarks of everything but the disk only.
	NoSync bool
}

// Store is a blob store in a local directory. It is safe for concurrent use.
type Store struct {
	root string
	opts Options
	log  *slog.Logger
	// durable holds the leaf directories whose entries (and their parents'
	// entries) are known to be durable, so later commits need not fsync
	// the parents again.
	durable sync.Map
}

var (
	_ blob.Store          = (*Store)(nil)
	_ blob.BatchCommitter = (*Store)(nil)
)

// Open opens the store rooted at dir, creating the directory when missing.
func Open(dir string, opts Options) (*Store, error) {
	if opts.SyncParallelism <= 0 {
		opts.SyncParallelism = 16
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{root: dir, opts: opts, log: log.With("component", "blob/fs")}
	marker := filepath.Join(dir, formatFile)
	b, err := os.ReadFile(marker)
	switch {
	case err == nil:
		if string(b) != formatLine {
			return nil, fmt.Errorf("blob/fs: %s: unknown store format %q", dir, strings.TrimSpace(string(b)))
		}
		return s, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("blob/fs: %w", err)
	}
	// New store: create the root and the marker durably.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("blob/fs: %w", err)
	}
	if err := s.writeMarker(marker); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) writeMarker(marker string) error {
	tmp := marker + ".tmp"
	if err := os.WriteFile(tmp, []byte(formatLine), 0o644); err != nil {
		return fmt.Errorf("blob/fs: %w", err)
	}
	if err := s.syncPath(tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, marker); err != nil {
		return fmt.Errorf("blob/fs: %w", err)
	}
	if err := s.syncPath(s.root); err != nil {
		return err
	}
	return s.syncPath(filepath.Dir(filepath.Clean(s.root)))
}

// Root returns the store's root directory.
func (s *Store) Root() string { return s.root }

// Close releases nothing; it exists to satisfy blob.Store.
func (s *Store) Close() error { return nil }

// dirOf returns the fan-out directory of key relative to the root:
// the first two bytes of SHA-256(key) in lower-case hex, as two levels.
func dirOf(key string) string {
	h := sha256.Sum256([]byte(key))
	x := hex.EncodeToString(h[:2])
	return filepath.Join(x[:2], x[2:4])
}

// Path returns the file that holds the committed blob named key.
func (s *Store) Path(key string) string {
	return filepath.Join(s.root, dirOf(key), key)
}

// Create starts a blob: a temporary file in the key's directory.
func (s *Store) Create(ctx context.Context, key string) (blob.Writer, error) {
	if err := blob.CheckKey(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("blob/fs: create %s: %w", key, err)
	}
	rel := dirOf(key)
	leaf := filepath.Join(s.root, rel)
	w := &writer{s: s, key: key, dir: leaf}
	if _, ok := s.durable.Load(leaf); !ok {
		if err := os.MkdirAll(leaf, 0o755); err != nil {
			return nil, fmt.Errorf("blob/fs: create %s: %w", key, err)
		}
		// The leaf's and its parent's entries must be durable too before
		// a blob in them is; the batch fsyncs these parents once.
		w.parents = []string{filepath.Dir(leaf), s.root}
	}
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, fmt.Errorf("blob/fs: create %s: %w", key, err)
	}
	w.tmp = filepath.Join(leaf, tempPrefix+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(w.tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("blob/fs: create %s: %w", key, err)
	}
	w.f = f
	return w, nil
}

// writer writes one blob to its temporary file.
type writer struct {
	s       *Store
	key     string
	dir     string   // leaf directory
	parents []string // directories to fsync for a newly seen leaf
	tmp     string
	f       *os.File
	n       int64
	done    bool
	err     error // first write error
}

func (w *writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, blob.ErrClosed
	}
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.f.Write(p)
	w.n += int64(n)
	if err != nil {
		w.err = fmt.Errorf("blob/fs: write %s: %w", w.key, err)
		return n, w.err
	}
	return n, nil
}

func (w *writer) Written() int64 { return w.n }

func (w *writer) Commit() error {
	return w.s.CommitBatch([]blob.Writer{w})[0]
}

func (w *writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.f.Close()
	os.Remove(w.tmp)
}

// CommitBatch commits writers created by this store: the temporary files
// are fsynced in parallel and closed, renamed to their final names, then
// every directory involved is fsynced once. A writer's error is non-nil
// when its blob may not be durable; its temporary file is then removed and
// nothing new is visible under its key, except when only the final
// directory fsync failed (then the blob is visible but its durability is
// unknown, and the error says so).
func (s *Store) CommitBatch(ws []blob.Writer) []error {
	errs := make([]error, len(ws))
	fws := make([]*writer, len(ws))
	for i, bw := range ws {
		w, ok := bw.(*writer)
		switch {
		case !ok || w.s != s:
			errs[i] = fmt.Errorf("blob/fs: commit: writer %T not from this store", bw)
		case w.done:
			errs[i] = blob.ErrClosed
		default:
			w.done = true
			fws[i] = w
			if w.err != nil {
				errs[i] = w.err
			}
		}
	}
	// Stamp the commit time, in batch order, as the modification time:
	// Walk reports it, and rebuilding an index from the blobs replays
	// them in that order.
	now := time.Now()
	for i, w := range fws {
		if w != nil && errs[i] == nil {
			t := now.Add(time.Duration(i))
			if err := os.Chtimes(w.tmp, t, t); err != nil {
				errs[i] = fmt.Errorf("blob/fs: commit %s: %w", w.key, err)
			}
		}
	}
	// Phase 1: make the data durable, all files at once.
	if !s.opts.NoSync {
		for i, w := range fws {
			if w != nil && errs[i] == nil {
				startWriteback(w.f)
			}
		}
	}
	s.parallel(len(fws), func(i int) {
		w := fws[i]
		if w == nil || errs[i] != nil {
			return
		}
		if !s.opts.NoSync {
			if err := w.f.Sync(); err != nil {
				errs[i] = fmt.Errorf("blob/fs: commit %s: fsync: %w", w.key, err)
			}
		}
	})
	for i, w := range fws {
		if w == nil {
			continue
		}
		if err := w.f.Close(); err != nil && errs[i] == nil {
			errs[i] = fmt.Errorf("blob/fs: commit %s: close: %w", w.key, err)
		}
		if errs[i] != nil {
			os.Remove(w.tmp)
			fws[i] = nil
		}
	}
	// Phase 2: make them visible.
	dirs := map[string][]int{}
	for i, w := range fws {
		if w == nil {
			continue
		}
		if err := os.Rename(w.tmp, filepath.Join(w.dir, w.key)); err != nil {
			errs[i] = fmt.Errorf("blob/fs: commit %s: rename: %w", w.key, err)
			os.Remove(w.tmp)
			continue
		}
		dirs[w.dir] = append(dirs[w.dir], i)
		for _, p := range w.parents {
			dirs[p] = append(dirs[p], i)
		}
	}
	if s.opts.NoSync {
		for i, w := range fws {
			if w != nil && errs[i] == nil && w.parents != nil {
				s.durable.Store(w.dir, struct{}{})
			}
		}
		return errs
	}
	// Phase 3: make the renames (and new directories) durable.
	list := make([]string, 0, len(dirs))
	for d := range dirs {
		list = append(list, d)
	}
	derr := make([]error, len(list))
	s.parallel(len(list), func(j int) { derr[j] = s.syncPath(list[j]) })
	for j, d := range list {
		if derr[j] != nil {
			for _, i := range dirs[d] {
				if errs[i] == nil {
					errs[i] = fmt.Errorf("blob/fs: commit %s: durability unknown: %w", fws[i].key, derr[j])
				}
			}
		}
	}
	for i, w := range fws {
		if w != nil && errs[i] == nil && w.parents != nil {
			s.durable.Store(w.dir, struct{}{})
		}
	}
	return errs
}

// parallel runs fn(0..n-1) on at most SyncParallelism goroutines.
func (s *Store) parallel(n int, fn func(i int)) {
	if n == 1 {
		fn(0)
		return
	}
	sem := make(chan struct{}, s.opts.SyncParallelism)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}(i)
	}
	wg.Wait()
}

// syncPath fsyncs a file or directory by name.
func (s *Store) syncPath(p string) error {
	if s.opts.NoSync {
		return nil
	}
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("blob/fs: fsync %s: %w", p, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("blob/fs: fsync %s: %w", p, err)
	}
	return nil
}

// Open opens a committed blob.
func (s *Store) Open(ctx context.Context, key string) (blob.Reader, error) {
	if err := blob.CheckKey(key); err != nil {
		return nil, err
	}
	f, err := os.Open(s.Path(key))
	if err != nil {
		return nil, s.mapErr("open", key, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, s.mapErr("open", key, err)
	}
	return &reader{File: f, size: st.Size()}, nil
}

type reader struct {
	*os.File
	size int64
}

func (r *reader) Size() int64 { return r.size }

// Stat describes a committed blob.
func (s *Store) Stat(ctx context.Context, key string) (blob.Info, error) {
	if err := blob.CheckKey(key); err != nil {
		return blob.Info{}, err
	}
	st, err := os.Stat(s.Path(key))
	if err != nil {
		return blob.Info{}, s.mapErr("stat", key, err)
	}
	return blob.Info{Key: key, Size: st.Size(), ModTime: st.ModTime()}, nil
}

// Delete removes a committed blob. The directory is not fsynced: see
// blob.Store.Delete.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := blob.CheckKey(key); err != nil {
		return err
	}
	if err := os.Remove(s.Path(key)); err != nil {
		return s.mapErr("delete", key, err)
	}
	return nil
}

func (s *Store) mapErr(op, key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob/fs: %s %s: %w", op, key, blob.ErrNotFound)
	}
	return fmt.Errorf("blob/fs: %s %s: %w", op, key, err)
}

// Walk calls fn for every committed blob. Files that are not blobs
// (temporary files, names that are not valid keys or that sit in the wrong
// fan-out directory) are skipped with a logged warning for the latter.
func (s *Store) Walk(ctx context.Context, fn func(blob.Info) error) error {
	return s.walkFiles(ctx, func(dir string, e fs.DirEntry) error {
		name := e.Name()
		if strings.HasPrefix(name, tempPrefix) || !e.Type().IsRegular() {
			return nil
		}
		if !blob.ValidKey(name) || filepath.Join(s.root, dirOf(name)) != dir {
			s.log.Warn("foreign file in blob store", "path", filepath.Join(dir, name))
			return nil
		}
		info, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // deleted meanwhile
		}
		if err != nil {
			return fmt.Errorf("blob/fs: walk: %w", err)
		}
		return fn(blob.Info{Key: name, Size: info.Size(), ModTime: info.ModTime()})
	})
}

// walkFiles calls fn for every entry of every leaf directory.
func (s *Store) walkFiles(ctx context.Context, fn func(dir string, e fs.DirEntry) error) error {
	tops, err := readHexDirs(s.root)
	if err != nil {
		return err
	}
	for _, t := range tops {
		mids, err := readHexDirs(filepath.Join(s.root, t))
		if err != nil {
			return err
		}
		for _, m := range mids {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("blob/fs: walk: %w", err)
			}
			leaf := filepath.Join(s.root, t, m)
			ents, err := os.ReadDir(leaf)
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				return fmt.Errorf("blob/fs: walk: %w", err)
			}
			for _, e := range ents {
				if err := fn(leaf, e); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// readHexDirs lists the two-hex-digit subdirectories of dir.
func readHexDirs(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("blob/fs: walk: %w", err)
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() && len(n) == 2 && isHex(n) {
			out = append(out, n)
		}
	}
	return out, nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// RemoveStaleTemp deletes the temporary files left by writers that were
// neither committed nor aborted (a crash) and whose last change is older
// than olderThan; it returns how many it removed. A live writer's file is
// younger than any sensible olderThan (minutes).
func (s *Store) RemoveStaleTemp(ctx context.Context, olderThan time.Duration) (int, error) {
	cutoff := time.Now().Add(-olderThan)
	n := 0
	err := s.walkFiles(ctx, func(dir string, e fs.DirEntry) error {
		if !strings.HasPrefix(e.Name(), tempPrefix) {
			return nil
		}
		info, err := e.Info()
		if err != nil || !info.ModTime().Before(cutoff) {
			return nil
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err == nil {
			n++
		}
		return nil
	})
	return n, err
}
