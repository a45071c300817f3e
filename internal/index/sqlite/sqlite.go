// Package sqlite is the embedded index backend, the default: one SQLite
// database file (modernc.org/sqlite, pure Go, no cgo) next to the archive.
//
// Durability: the database runs in WAL mode with synchronous=FULL, so a
// write that returned has been fsynced and survives kill -9 or power loss.
// All writes go through one connection (SQLite allows one writer at a
// time; a Go-side queue is cheaper than lock retries), transactions begin
// IMMEDIATE, and queries run on a separate pool of read-only connections
// (memory-mapped, with cached prepared statements) that WAL lets proceed
// while a write is in progress. Throughput comes from
// group commit: the archive batches concurrent ingests into InsertBatch.
//
// Several processes may open the same file (lightbox fsck next to a running
// server); they serialise their writes through SQLite's lock and the busy
// timeout.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/index/sqlindex"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Options tune the backend; the zero value is a good default.
type Options struct {
	// Logger receives warnings (identity conflicts) and debug messages.
	Logger *slog.Logger
	// Readers is the size of the read pool; default max(4, GOMAXPROCS).
	Readers int
	// BusyTimeout is how long a connection waits for a lock held by another
	// process; default 10s.
	BusyTimeout time.Duration
	// CacheMiB is the page cache per connection; default 64 for the
	// writer and 32 per reader.
	CacheMiB int
	// MmapMiB is how much of the file read connections map into memory
	// (PRAGMA mmap_size): point lookups then cost no read system calls.
	// 0 means the default, 2047 MiB (SQLite's compiled-in maximum); a
	// negative value turns mapping off. Writes never go through the map.
	MmapMiB int
	// QueryAttributes are attributes outside the model to store and match
	// (see index.Schema, index.ParseAttributeSpec). Open extracts their
	// values from the stored headers of instances indexed before they were
	// configured (resumable, logged) and drops the values of attributes no
	// longer listed.
	QueryAttributes []index.Attribute
}

// Index is an index.Index backed by one SQLite database file.
type Index struct {
	*sqlindex.Store
	path string
}

var _ index.Index = (*Index)(nil)

// Open opens (creating if needed) the index database at path and applies
// pending schema migrations.
func Open(ctx context.Context, path string, opts Options) (*Index, error) {
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("index/sqlite: database path %q must not contain '?' or '#'", path)
	}
	if opts.Readers <= 0 {
		opts.Readers = max(4, runtime.GOMAXPROCS(0))
	}
	if opts.BusyTimeout <= 0 {
		opts.BusyTimeout = 10 * time.Second
	}
	var mmap int64 = 2047 << 20
	switch {
	case opts.MmapMiB > 0:
		mmap = int64(opts.MmapMiB) << 20
	case opts.MmapMiB < 0:
		mmap = 0
	}
	writerCache, readerCache := 64, 32
	if opts.CacheMiB > 0 {
		writerCache, readerCache = opts.CacheMiB, opts.CacheMiB
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "index", "backend", "sqlite")

	common := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)", opts.BusyTimeout.Milliseconds())
	writer, err := sql.Open("sqlite", path+"?"+common+
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate"+
		fmt.Sprintf("&_pragma=cache_size(-%d)", writerCache*1024))
	if err != nil {
		return nil, fmt.Errorf("index/sqlite: open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)
	if err := writer.PingContext(ctx); err != nil {
		writer.Close()
		return nil, fmt.Errorf("index/sqlite: open %s: %w", path, err)
	}
	var mode string
	if err := writer.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || !strings.EqualFold(mode, "wal") {
		writer.Close()
		return nil, fmt.Errorf("index/sqlite: %s: cannot enable WAL (journal_mode %q): %v", path, mode, err)
	}
	schema, err := index.NewSchema(opts.QueryAttributes)
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("index/sqlite: %w", err)
	}
	migrations, err := sqlindex.LoadMigrations(migrationFS, "migrations")
	if err != nil {
		writer.Close()
		return nil, err
	}
	version, err := sqlindex.Migrate(ctx, writer, sqlindex.SQLite, migrations, "")
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("index/sqlite: %s: %w", path, err)
	}
	// Refresh planner statistics where SQLite thinks they are stale; cheap
	// (bounded by analysis_limit) and recommended at open.
	if _, err := writer.ExecContext(ctx, "PRAGMA optimize=0x10002"); err != nil {
		log.Warn("PRAGMA optimize failed", "err", err)
	}

	reader, err := sql.Open("sqlite", path+"?"+common+"&_pragma=query_only(1)"+
		fmt.Sprintf("&_pragma=mmap_size(%d)&_pragma=cache_size(-%d)", mmap, readerCache*1024))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("index/sqlite: open %s: %w", path, err)
	}
	reader.SetMaxOpenConns(opts.Readers)
	reader.SetMaxIdleConns(opts.Readers)
	reader.SetConnMaxLifetime(0)
	reader.SetConnMaxIdleTime(0)

	log.Debug("index opened", "path", path, "schema_version", version)
	ix := &Index{path: path}
	ix.Store = sqlindex.New(sqlindex.Config{
		Dialect: sqlindex.SQLite,
		Writer:  writer,
		Reader:  reader,
		Logger:  log,
		Schema:  schema,
		Close: func() error {
			// Keep planner statistics current for the next start.
			_, _ = writer.Exec("PRAGMA optimize")
			rerr := reader.Close()
			if err := writer.Close(); err != nil {
				return fmt.Errorf("index/sqlite: close %s: %w", path, err)
			}
			if rerr != nil {
				return fmt.Errorf("index/sqlite: close %s: %w", path, rerr)
			}
			return nil
		},
	})
	if err := ix.Backfill(ctx); err != nil {
		ix.Close()
		return nil, fmt.Errorf("index/sqlite: %s: %w", path, err)
	}
	return ix, nil
}

// Path returns the database file.
func (ix *Index) Path() string { return ix.path }
