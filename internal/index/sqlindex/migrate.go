package sqlindex

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Migration is one versioned schema change.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// LoadMigrations reads the migrations in dir of fsys: files named
// NNNN_description.sql, applied in version order. Versions must be unique.
func LoadMigrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("index: read migrations: %w", err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("index: migration %q: name must be NNNN_description.sql", name)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("index: migrations %q and %q share version %d", prev, name, v)
		}
		seen[v] = name
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("index: read migration %q: %w", name, err)
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// Migrate brings the schema of db up to the newest migration, each in its
// own transaction together with its schema_version row. lock, if set, runs
// first in each transaction to keep concurrent starters apart (PostgreSQL
// advisory lock). A database newer than the migrations is refused.
func Migrate(ctx context.Context, db *sql.DB, d Dialect, migrations []Migration, lock string) (int, error) {
	latest := 0
	if len(migrations) > 0 {
		latest = migrations[len(migrations)-1].Version
	}
	current := 0
	for _, m := range migrations {
		v, err := applyMigration(ctx, db, d, m, lock)
		if err != nil {
			return v, err
		}
		current = v
	}
	if current > latest {
		return current, fmt.Errorf("index: schema version %d is newer than this program knows (%d)", current, latest)
	}
	return current, nil
}

func applyMigration(ctx context.Context, db *sql.DB, d Dialect, m Migration, lock string) (int, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("index: migration %s: %w", m.Name, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit a no-op
	if lock != "" {
		if _, err := tx.ExecContext(ctx, lock); err != nil {
			return 0, fmt.Errorf("index: migration lock: %w", err)
		}
	}
	// Created here, under the lock: CREATE TABLE IF NOT EXISTS is not safe
	// against a concurrent creator in PostgreSQL.
	if _, err := tx.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS schema_version "+
		"(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)"); err != nil {
		return 0, fmt.Errorf("index: create schema_version: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_version").Scan(&current); err != nil {
		return 0, fmt.Errorf("index: read schema version: %w", err)
	}
	if current >= m.Version {
		return current, nil
	}
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return current, fmt.Errorf("index: migration %s: %w", m.Name, err)
	}
	if _, err := tx.ExecContext(ctx, d.rebind("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)"),
		m.Version, m.Name, time.Now().UnixMicro()); err != nil {
		return current, fmt.Errorf("index: record migration %s: %w", m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return current, fmt.Errorf("index: commit migration %s: %w", m.Name, err)
	}
	return m.Version, nil
}
