// Package blob owns Lightbox's blob-store interface: a narrow, streaming
// key/value store for whole stored objects (Part 10 files), shaped so that
// the local filesystem (internal/blob/fs), an S3-compatible object store or
// a tiered store can all sit behind it.
//
// A blob is written through a [Writer] and becomes visible only when
// committed: Commit makes the bytes durable and then visible atomically
// under the key, so readers never see a partial blob, and a crash before
// Commit returns leaves nothing visible. Abort (or a crash) discards the
// data. Committing to an existing key replaces that blob atomically.
//
// Stores that can make several writers durable more cheaply together than
// one by one (shared fsyncs, one round trip) implement [BatchCommitter];
// [CommitAll] uses it when present. The archive batches concurrent ingests
// this way ("group commit").
//
// Keys are opaque to the store. They must be valid under [ValidKey]: 1 to
// 200 bytes of ASCII letters, digits, '.', '-' and '_', not starting with
// '.'. That set is safe as a file name on every filesystem and as an S3
// object key. Every backend passes the conformance suite in
// internal/blob/blobtest.
package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Errors callers branch on with errors.Is.
var (
	// ErrNotFound: no committed blob has the key.
	ErrNotFound = errors.New("blob: not found")
	// ErrInvalidKey: the key is not valid under ValidKey.
	ErrInvalidKey = errors.New("blob: invalid key")
	// ErrClosed: the writer was already committed or aborted.
	ErrClosed = errors.New("blob: writer already committed or aborted")
)

// Store is a blob store. Implementations are safe for concurrent use.
type Store interface {
	// Create starts a new blob under key. Nothing is visible under the key
	// until the Writer is committed.
	Create(ctx context.Context, key string) (Writer, error)
	// Open returns a reader over the committed blob, or ErrNotFound.
	Open(ctx context.Context, key string) (Reader, error)
	// Stat describes the committed blob, or returns ErrNotFound.
	Stat(ctx context.Context, key string) (Info, error)
	// Delete removes the committed blob, or returns ErrNotFound. A delete
	// need not be durable when Delete returns: after a crash the blob may
	// reappear, and it is the caller's index that decides whether it is
	// live (fsck removes orphans).
	Delete(ctx context.Context, key string) error
	// Walk calls fn for every committed blob, in no particular order. It
	// stops at the first error fn returns and returns it. Blobs committed
	// or deleted during the walk may or may not be seen.
	Walk(ctx context.Context, fn func(Info) error) error
	// Close releases the store's resources.
	Close() error
}

// Writer receives the bytes of one blob.
type Writer interface {
	io.Writer
	// Commit makes the written bytes durable and then visible under the
	// key, atomically, replacing any blob already there. After an error
	// nothing new is visible under the key. Commit after Commit or Abort
	// returns ErrClosed.
	Commit() error
	// Abort discards the written bytes; it is a no-op after Commit or Abort.
	Abort()
	// Written returns the number of bytes written so far.
	Written() int64
}

// Reader reads one committed blob.
type Reader interface {
	io.Reader
	io.ReaderAt
	io.Seeker
	io.Closer
	// Size returns the blob's size in bytes.
	Size() int64
}

// Info describes a committed blob.
type Info struct {
	Key  string
	Size int64
	// ModTime is when the blob was committed, as precisely as the store
	// keeps it. Blobs committed together by CommitBatch get increasing
	// times in the order of the batch, so sorting by ModTime replays the
	// commit order (rebuilding an index from the blobs relies on it).
	ModTime time.Time
}

// BatchCommitter is implemented by stores that commit several writers more
// cheaply together than one by one. CommitBatch commits every writer in ws
// (all created by this store) and returns one error per writer, nil where
// that writer's blob is durable and visible; writers are independent: one
// failure does not undo the others.
type BatchCommitter interface {
	CommitBatch(ws []Writer) []error
}

// CommitAll commits every writer in ws, together when s implements
// BatchCommitter and one by one otherwise. It returns one error per writer.
func CommitAll(s Store, ws []Writer) []error {
	if len(ws) == 0 {
		return nil
	}
	if bc, ok := s.(BatchCommitter); ok {
		return bc.CommitBatch(ws)
	}
	errs := make([]error, len(ws))
	for i, w := range ws {
		errs[i] = w.Commit()
	}
	return errs
}

// MaxKeyLen is the longest valid key.
const MaxKeyLen = 200

// ValidKey reports whether key may name a blob.
func ValidKey(key string) bool {
	if len(key) == 0 || len(key) > MaxKeyLen || key[0] == '.' {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// CheckKey returns an error wrapping ErrInvalidKey when key is not valid.
func CheckKey(key string) error {
	if !ValidKey(key) {
		return fmt.Errorf("%w: %q", ErrInvalidKey, key)
	}
	return nil
}
