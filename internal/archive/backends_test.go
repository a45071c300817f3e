package archive

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/index/sqlite"
)

var sqliteBackend = backend{"sqlite", func(t testing.TB, dir string) index.Index {
	idx, err := sqlite.Open(context.Background(), filepath.Join(dir, "index.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return idx
}}

// backends lists the index backends the tests run on: SQLite always,
// PostgreSQL when one answers.
func backends(t testing.TB) []backend {
	return []backend{sqliteBackend}
}
