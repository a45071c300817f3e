// Package postgres is the PostgreSQL index backend (pgx), for several
// Lightbox nodes sharing one index.
//
// Concurrency between nodes: patients, studies and series are created with
// INSERT ... ON CONFLICT DO NOTHING and looked up again when another node
// won the race; counts are maintained with relative UPDATEs under row
// locks; ModalitiesInStudy and SOPClassesInStudy are read and rewritten
// under SELECT ... FOR UPDATE. Transactions run at READ COMMITTED and are
// retried from the start on serialisation failures, deadlocks and
// constraint races (a parent deleted by another node meanwhile).
//
// Schema migrations run under a transaction-scoped advisory lock, so nodes
// starting together apply each migration once.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/index/sqlindex"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Options tune the backend; the zero value is a good default.
type Options struct {
	// Logger receives warnings (identity conflicts) and debug messages.
	Logger *slog.Logger
	// MaxConns caps the connection pool; default 16.
	MaxConns int
	// Schema, if set, is the schema holding the index tables (created if
	// missing and put first on the search_path); by default the DSN's
	// search_path applies (normally "public").
	Schema string
	// QueryAttributes are attributes outside the model to store and match
	// (see index.Schema, index.ParseAttributeSpec). Open extracts their
	// values from the stored headers of instances indexed before they were
	// configured (resumable, logged) and drops the values of attributes no
	// longer listed.
	QueryAttributes []index.Attribute
}

// Index is an index.Index backed by a PostgreSQL database.
type Index struct {
	*sqlindex.Store
}

var _ index.Index = (*Index)(nil)

// Open connects to the database named by dsn (a libpq URL or key/value
// string) and applies pending schema migrations.
func Open(ctx context.Context, dsn string, opts Options) (*Index, error) {
	if opts.MaxConns <= 0 {
		opts.MaxConns = 16
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "index", "backend", "postgres")
	schema, err := index.NewSchema(opts.QueryAttributes)
	if err != nil {
		return nil, fmt.Errorf("index/postgres: %w", err)
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("index/postgres: parse DSN: %w", err)
	}
	if opts.Schema != "" {
		cfg.RuntimeParams["search_path"] = opts.Schema
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(opts.MaxConns)
	db.SetMaxIdleConns(opts.MaxConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("index/postgres: connect %s:%d/%s: %w", cfg.Host, cfg.Port, cfg.Database, err)
	}
	if opts.Schema != "" {
		_, err := db.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{opts.Schema}.Sanitize())
		var pe *pgconn.PgError
		if errors.As(err, &pe) && (pe.Code == "23505" || pe.Code == "42P06") {
			err = nil // created concurrently by another node
		}
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("index/postgres: create schema %q: %w", opts.Schema, err)
		}
	}
	migrations, err := sqlindex.LoadMigrations(migrationFS, "migrations")
	if err != nil {
		db.Close()
		return nil, err
	}
	version, err := sqlindex.Migrate(ctx, db, sqlindex.Postgres, migrations,
		"SELECT pg_advisory_xact_lock(hashtext('lightbox-index:' || current_schema()))")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("index/postgres: %w", err)
	}
	log.Debug("index opened", "host", cfg.Host, "database", cfg.Database, "schema_version", version)
	ix := &Index{Store: sqlindex.New(sqlindex.Config{
		Dialect:   sqlindex.Postgres,
		Writer:    db,
		Reader:    db,
		Retryable: retryable,
		Logger:    log,
		Schema:    schema,
		Close:     db.Close,
	})}
	if err := ix.Backfill(ctx); err != nil {
		ix.Close()
		return nil, fmt.Errorf("index/postgres: %w", err)
	}
	return ix, nil
}

// retryable reports failures after which a write transaction may simply be
// run again: serialisation failure, deadlock, and unique or foreign key
// violations caused by a concurrent node.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Code {
	case "40001", "40P01", "23503", "23505":
		return true
	}
	return false
}
