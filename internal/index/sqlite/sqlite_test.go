package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/index/indextest"
)

func openTemp(t *testing.T) index.Index {
	t.Helper()
	ix, err := Open(context.Background(), filepath.Join(t.TempDir(), "index.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

func TestConformance(t *testing.T) {
	indextest.Run(t, openTemp)
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "index.db")
	ix, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := indextest.Synthetic{Instances: 1}.Record(0)
	if _, err := ix.Insert(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ix, err = Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer ix.Close()
	if _, err := ix.Instance(ctx, rec.Instance.SOPInstanceUID); err != nil {
		t.Fatalf("instance lost across reopen: %v", err)
	}
	var version int
	if err := ix.Store.Config().Writer.QueryRowContext(ctx, "SELECT max(version) FROM schema_version").Scan(&version); err != nil || version != 2 {
		t.Errorf("schema version = %d, %v", version, err)
	}
}

func TestPragmas(t *testing.T) {
	ctx := context.Background()
	ix, err := Open(ctx, filepath.Join(t.TempDir(), "index.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	cfg := ix.Store.Config()
	for _, tc := range []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"foreign_keys", "1"},
		{"busy_timeout", "10000"},
	} {
		var got string
		if err := cfg.Writer.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil || got != tc.want {
			t.Errorf("writer PRAGMA %s = %q, %v; want %q", tc.pragma, got, err, tc.want)
		}
	}
	for pragma, want := range map[string]string{"query_only": "1", "mmap_size": "2146435072"} {
		var got string
		if err := cfg.Reader.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil || got != want {
			t.Errorf("reader PRAGMA %s = %q, %v; want %q", pragma, got, err, want)
		}
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "index.db")
	ix, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Store.Config().Writer.ExecContext(ctx,
		"INSERT INTO schema_version (version, name, applied_at) VALUES (999, 'future', 0)"); err != nil {
		t.Fatal(err)
	}
	ix.Close()
	if ix, err := Open(ctx, path, Options{}); err == nil {
		ix.Close()
		t.Fatal("Open accepted a schema newer than the program")
	}
}

func TestBadPath(t *testing.T) {
	if _, err := Open(context.Background(), filepath.Join(t.TempDir(), "a?b.db"), Options{}); err == nil {
		t.Error("Open accepted a path with '?'")
	}
	if _, err := Open(context.Background(), filepath.Join(t.TempDir(), "missing-dir", "x", "index.db"), Options{}); err == nil {
		t.Error("Open accepted a path in a missing directory")
	} else if errors.Is(err, os.ErrNotExist) {
		t.Logf("error: %v", err)
	}
}

func TestConfiguredAttributes(t *testing.T) {
	indextest.RunConfigured(t, func(t *testing.T) func([]index.Attribute) index.Index {
		path := filepath.Join(t.TempDir(), "index.db")
		return func(attrs []index.Attribute) index.Index {
			ix, err := Open(context.Background(), path, Options{QueryAttributes: attrs})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ix.Close() })
			return ix
		}
	})
}

// TestBackfillResumes interrupts a back-fill (by rewinding its recorded
// progress) and checks that the next Open resumes from the recorded
// instance instead of starting over.
func TestBackfillResumes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "index.db")
	ix, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := indextest.Synthetic{Instances: 1200}
	if err := s.Build(ctx, ix, 400, nil); err != nil {
		t.Fatal(err)
	}
	ix.Close()
	attrs := indextest.BenchAttributes(t) // SERIES:ProtocolName
	count := func(ix *Index) int {
		var n int
		if err := ix.Store.Config().Writer.QueryRowContext(ctx, "SELECT count(*) FROM attr_values").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if ix, err = Open(ctx, path, Options{QueryAttributes: attrs}); err != nil {
		t.Fatal(err)
	}
	if n := count(ix); n != s.Series() {
		t.Fatalf("after back-fill %d values, want one per series (%d)", n, s.Series())
	}
	db := ix.Store.Config().Writer
	for _, q := range []string{
		"UPDATE attr_config SET complete = 0, done_pk = 600",
		"DELETE FROM attr_values WHERE owner_pk IN (SELECT series_pk FROM instances WHERE pk > 600)",
		"DELETE FROM attr_values WHERE owner_pk = (SELECT series_pk FROM instances WHERE pk = 1)",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	ix.Close()
	if ix, err = Open(ctx, path, Options{QueryAttributes: attrs}); err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if n := count(ix); n != s.Series()-1 {
		t.Errorf("after resuming %d values, want %d (all but the one below the recorded progress)", n, s.Series()-1)
	}
	proto := s.ProtocolName(s.Series() - 1)
	rs, err := ix.Find(ctx, index.Query{Level: index.SeriesLevel, Matches: []index.Match{{Key: "ProtocolName", Value: proto}}})
	if err != nil || len(rs) == 0 {
		t.Errorf("ProtocolName=%s after resuming: %d series, %v", proto, len(rs), err)
	}
	var complete int
	if err := ix.Store.Config().Writer.QueryRowContext(ctx, "SELECT complete FROM attr_config").Scan(&complete); err != nil || complete != 1 {
		t.Errorf("back-fill not recorded complete: %d, %v", complete, err)
	}
}
