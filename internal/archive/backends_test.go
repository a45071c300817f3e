package archive

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/index/postgres"
	"github.com/lightbox-pacs/lightbox/internal/index/sqlite"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

var sqliteBackend = backend{"sqlite", func(t testing.TB, dir string) index.Index {
	idx, err := sqlite.Open(context.Background(), filepath.Join(dir, "index.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return idx
}}

// postgresBackend opens an index in a fresh schema of the test database,
// dropped when the test ends.
var postgresBackend = backend{"postgres", func(t testing.TB, dir string) index.Index {
	dsn, schema := pgSchema(t)
	idx, err := postgres.Open(context.Background(), dsn, postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	return idx
}}

func pgSchema(t testing.TB) (dsn, schema string) {
	t.Helper()
	dsn = testenv.PostgresDSN(t)
	var b [6]byte
	rand.Read(b[:])
	schema = "lbtest_archive_" + hex.EncodeToString(b[:])
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE SCHEMA " + pgx.Identifier{schema}.Sanitize()); err != nil {
		db.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		defer db.Close()
		if _, err := db.Exec("DROP SCHEMA " + pgx.Identifier{schema}.Sanitize() + " CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return dsn, schema
}

// backends lists the index backends the tests run on: SQLite always,
// PostgreSQL when one answers (testenv.PostgresDSN skips loudly, or fails
// under CI, when none does). LIGHTBOX_TEST_BACKENDS=sqlite limits the run.
func backends(t testing.TB) []backend {
	if os.Getenv("LIGHTBOX_TEST_BACKENDS") == "sqlite" {
		return []backend{sqliteBackend}
	}
	return []backend{sqliteBackend, postgresBackend}
}
