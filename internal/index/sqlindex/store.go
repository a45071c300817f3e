// Package sqlindex is the SQL engine shared by the SQLite and PostgreSQL
// index backends: the statements that maintain the hierarchy, the counts and
// the conflicts table, and the translation of parsed query conditions
// (internal/index) into SQL. The backends open the databases, own the
// schema migrations and pass the few dialect differences in.
//
// Both backends share one logical schema (see docs/index-schema.md); all
// text columns used for matching compare bytewise (SQLite BINARY, PostgreSQL
// COLLATE "C") so that prefix ranges serve wildcard patterns from B-tree
// indexes.
package sqlindex

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/index"
)

// Config is what a backend hands the engine.
type Config struct {
	Dialect Dialect
	// Writer runs every write transaction. SQLite backends give it a single
	// connection; PostgreSQL a pool.
	Writer *sql.DB
	// Reader runs queries; it may be Writer.
	Reader *sql.DB
	// Retryable reports whether a failed write transaction may be retried
	// from the start (serialisation failure, deadlock, lost foreign key).
	Retryable func(error) bool
	// Schema is the model plus the configured attributes the index
	// stores and matches; nil for the model alone. After New, the backend
	// calls Backfill so that existing instances have their values.
	Schema *index.Schema
	// Close is called by Store.Close to release the databases.
	Close  func() error
	Logger *slog.Logger
}

// Store implements index.Index over database/sql.
type Store struct {
	cfg    Config
	log    *slog.Logger
	closed atomic.Bool

	// Prepared read statements by SQL text (SQLite only: preparing a
	// 50-column join costs more than running it; pgx caches by itself).
	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt
}

// maxCachedStmts bounds the read statement cache; query shapes are few
// (one per combination of level and match kinds), so this is rarely reached.
const maxCachedStmts = 512

// read runs a query on db, through a cached prepared statement when db is
// the SQLite read pool.
func (s *Store) read(ctx context.Context, db queryer, query string, args ...any) (*sql.Rows, error) {
	if s.cfg.Dialect != SQLite || db != queryer(s.cfg.Reader) {
		return db.QueryContext(ctx, query, args...)
	}
	s.stmtMu.Lock()
	st, ok := s.stmts[query]
	if !ok && s.stmts != nil && len(s.stmts) < maxCachedStmts {
		var err error
		// Preparing on the pool takes a connection only briefly.
		if st, err = s.cfg.Reader.PrepareContext(ctx, query); err != nil {
			s.stmtMu.Unlock()
			return nil, err
		}
		s.stmts[query] = st
	}
	s.stmtMu.Unlock()
	if st == nil {
		return db.QueryContext(ctx, query, args...)
	}
	return st.QueryContext(ctx, args...)
}

var _ index.Index = (*Store)(nil)

// New returns a Store over the databases of cfg, whose schema must be
// migrated already.
func New(cfg Config) *Store {
	if cfg.Reader == nil {
		cfg.Reader = cfg.Writer
	}
	if cfg.Retryable == nil {
		cfg.Retryable = func(error) bool { return false }
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{cfg: cfg, log: log, stmts: map[string]*sql.Stmt{}}
}

// Config returns the configuration the Store was made with, for tests and
// maintenance tools that need the databases themselves.
func (s *Store) Config() Config { return s.cfg }

// Close implements index.Index.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.stmtMu.Lock()
	for _, st := range s.stmts {
		_ = st.Close()
	}
	s.stmts = nil
	s.stmtMu.Unlock()
	if s.cfg.Close != nil {
		return s.cfg.Close()
	}
	return nil
}

func (s *Store) check() error {
	if s.closed.Load() {
		return index.ErrClosed
	}
	return nil
}

func (s *Store) errorf(format string, args ...any) error {
	return fmt.Errorf("index/"+s.cfg.Dialect.String()+": "+format, args...)
}

// queryer is what reads need: a *sql.DB or a *sql.Tx.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Find implements index.Index.
func (s *Store) Find(ctx context.Context, q index.Query) ([]index.InstanceRecord, error) {
	var out []index.InstanceRecord
	err := s.Each(ctx, q, func(r index.InstanceRecord) error {
		out = append(out, r)
		return nil
	})
	return out, err
}

// Each implements index.Index.
func (s *Store) Each(ctx context.Context, q index.Query, fn func(index.InstanceRecord) error) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.each(ctx, s.cfg.Reader, q, fn)
}

func (s *Store) each(ctx context.Context, db queryer, q index.Query, fn func(index.InstanceRecord) error) error {
	query, args, err := buildFind(s.cfg.Dialect, s.cfg.Schema, q, false)
	if err != nil {
		return err
	}
	rows, err := s.read(ctx, db, query, args...)
	if err != nil {
		return s.errorf("find %s: %w", q.Level, err)
	}
	defer rows.Close()
	sc := newRecordScanner(q.Level, q.IncludeHeader)
	for rows.Next() {
		r, err := sc.scan(rows)
		if err != nil {
			return s.errorf("find: %w", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.errorf("find %s: %w", q.Level, err)
	}
	return nil
}

// Count implements index.Index.
func (s *Store) Count(ctx context.Context, q index.Query) (int, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	query, args, err := buildFind(s.cfg.Dialect, s.cfg.Schema, q, true)
	if err != nil {
		return 0, err
	}
	rows, err := s.read(ctx, s.cfg.Reader, query, args...)
	if err != nil {
		return 0, s.errorf("count %s: %w", q.Level, err)
	}
	defer rows.Close()
	var n int
	if rows.Next() {
		err = rows.Scan(&n)
	}
	if err == nil {
		err = rows.Err()
	}
	if err != nil {
		return 0, s.errorf("count %s: %w", q.Level, err)
	}
	return n, nil
}

// Instance implements index.Index.
func (s *Store) Instance(ctx context.Context, sopInstanceUID string) (index.InstanceRecord, error) {
	if err := s.check(); err != nil {
		return index.InstanceRecord{}, err
	}
	return s.instance(ctx, s.cfg.Reader, sopInstanceUID)
}

func (s *Store) instance(ctx context.Context, db queryer, uid string) (index.InstanceRecord, error) {
	var (
		rec   index.InstanceRecord
		found bool
	)
	uid = index.NormalizeUID(uid)
	if uid == "" {
		return rec, fmt.Errorf("%w: empty SOP Instance UID", index.ErrNotFound)
	}
	q := index.Query{Level: index.InstanceLevel, IncludeHeader: true,
		Matches: []index.Match{{Key: index.SOPInstanceUID, Value: uid}}}
	err := s.each(ctx, db, q, func(r index.InstanceRecord) error {
		rec, found = r, true
		return nil
	})
	if err != nil {
		return rec, err
	}
	if !found {
		return rec, fmt.Errorf("%w: instance %s", index.ErrNotFound, uid)
	}
	return rec, nil
}

// Stats implements index.Index.
func (s *Store) Stats(ctx context.Context) (index.Stats, error) {
	var st index.Stats
	if err := s.check(); err != nil {
		return st, err
	}
	err := s.cfg.Reader.QueryRowContext(ctx,
		"SELECT (SELECT count(*) FROM patients), (SELECT count(*) FROM studies)").Scan(&st.Patients, &st.Studies)
	if err != nil {
		return st, s.errorf("stats: %w", err)
	}
	rows, err := s.cfg.Reader.QueryContext(ctx,
		"SELECT modality, count(*), sum(num_instances), sum(bytes) FROM series GROUP BY modality ORDER BY modality")
	if err != nil {
		return st, s.errorf("stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m index.ModalityStats
		if err := rows.Scan(&m.Modality, &m.Series, &m.Instances, &m.Bytes); err != nil {
			return st, s.errorf("stats: %w", err)
		}
		st.Series += m.Series
		st.Instances += m.Instances
		st.Bytes += m.Bytes
		st.Modalities = append(st.Modalities, m)
	}
	if err := rows.Err(); err != nil {
		return st, s.errorf("stats: %w", err)
	}
	return st, nil
}

// Conflicts implements index.Index.
func (s *Store) Conflicts(ctx context.Context) ([]index.Conflict, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	rows, err := s.cfg.Reader.QueryContext(ctx, "SELECT "+conflictCols+" FROM conflicts ORDER BY pk")
	if err != nil {
		return nil, s.errorf("conflicts: %w", err)
	}
	defer rows.Close()
	var out []index.Conflict
	for rows.Next() {
		c, err := scanConflict(rows)
		if err != nil {
			return nil, s.errorf("conflicts: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.errorf("conflicts: %w", err)
	}
	return out, nil
}

// write runs fn in a write transaction, retrying from the start when the
// backend reports a retryable failure (PostgreSQL serialisation failures
// and deadlocks between nodes).
func (s *Store) write(ctx context.Context, what string, fn func(w *writer) error) error {
	if err := s.check(); err != nil {
		return err
	}
	const attempts = 8
	var err error
	for attempt := 1; attempt <= attempts; attempt++ {
		err = s.writeOnce(ctx, fn)
		if err == nil || !s.cfg.Retryable(err) || ctx.Err() != nil {
			break
		}
		s.log.Debug("index write retried", "op", what, "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt*attempt) * 5 * time.Millisecond):
		}
	}
	if err != nil {
		var pass passthrough
		if errors.As(err, &pass) {
			return pass.err
		}
		return s.errorf("%s: %w", what, err)
	}
	return nil
}

func (s *Store) writeOnce(ctx context.Context, fn func(w *writer) error) (err error) {
	tx, err := s.cfg.Writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	w := newWriter(s, tx)
	defer func() {
		w.closeStmts()
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(w); err != nil {
		return err
	}
	if err = w.flush(ctx); err != nil {
		return err
	}
	return tx.Commit()
}

// passthrough carries an error that write returns unwrapped (sentinels
// such as index.ErrNotFound that already carry their context).
type passthrough struct{ err error }

func (p passthrough) Error() string { return p.err.Error() }
func (p passthrough) Unwrap() error { return p.err }
