package postgres

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/index/indextest"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// testSchema creates a uniquely named schema in the test database and
// drops it when tb ends. testenv.PostgresDSN skips loudly when no server
// answers (and fails under CI=true).
func testSchema(tb testing.TB) (dsn, schema string) {
	tb.Helper()
	dsn = testenv.PostgresDSN(tb)
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	schema = "lbtest_index_" + hex.EncodeToString(b[:])
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := db.Exec("CREATE SCHEMA " + pgx.Identifier{schema}.Sanitize()); err != nil {
		db.Close()
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		defer db.Close()
		if _, err := db.Exec("DROP SCHEMA " + pgx.Identifier{schema}.Sanitize() + " CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return dsn, schema
}

func openTemp(tb testing.TB) *Index {
	tb.Helper()
	dsn, schema := testSchema(tb)
	ix, err := Open(context.Background(), dsn, Options{Schema: schema})
	if err != nil {
		tb.Fatal(err)
	}
	// Registered after the schema's cleanup, so it runs before the drop.
	tb.Cleanup(func() { ix.Close() })
	return ix
}

func TestConformance(t *testing.T) {
	indextest.Run(t, func(t *testing.T) index.Index { return openTemp(t) })
}

// TestSharedIndex opens one schema from several "nodes" at once: the
// migrations run once, and concurrent inserts through separate pools keep
// the counts right.
func TestSharedIndex(t *testing.T) {
	ctx := context.Background()
	dsn, schema := testSchema(t)
	const nodes = 3
	ixs := make([]*Index, nodes)
	var wg sync.WaitGroup
	errs := make([]error, nodes)
	for n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ixs[n], errs[n] = Open(ctx, dsn, Options{Schema: schema, MaxConns: 4})
		}()
	}
	wg.Wait()
	for n, err := range errs {
		if err != nil {
			t.Fatalf("node %d: Open: %v", n, err)
		}
		defer ixs[n].Close()
	}
	s := indextest.Synthetic{Instances: 600, InstancesPerSeries: 10, SeriesPerStudy: 3}
	for n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Every node inserts every instance, in its own order and
			// batching: each instance must end up indexed exactly once.
			for start := n * 7; start < s.Instances+n*7; start += 25 {
				var recs []index.InstanceRecord
				for i := start; i < start+25; i++ {
					recs = append(recs, s.Record(i%s.Instances))
				}
				if _, err := ixs[n].InsertBatch(ctx, recs); err != nil {
					errs[n] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for n, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", n, err)
		}
	}
	st, err := ixs[0].Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Instances != s.Instances || st.Series != s.Series() || st.Studies != s.Studies() || st.Patients != s.Patients() {
		t.Errorf("Stats = %+v; want %d instances, %d series, %d studies, %d patients", st, s.Instances, s.Series(),
			s.Studies(), s.Patients())
	}
	rs, err := ixs[1].Find(ctx, index.Query{Level: index.StudyLevel})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Study.NumberOfStudyRelatedInstances != 30 || r.Study.NumberOfStudyRelatedSeries != 3 {
			t.Errorf("study %s counts = %d series, %d instances; want 3, 30", r.Study.StudyInstanceUID,
				r.Study.NumberOfStudyRelatedSeries, r.Study.NumberOfStudyRelatedInstances)
		}
	}
	var versions int
	if err := ixs[2].Store.Config().Writer.QueryRowContext(ctx, "SELECT count(*) FROM schema_version").Scan(&versions); err != nil || versions != 2 {
		t.Errorf("schema_version rows = %d, %v; want 2 (each migration once)", versions, err)
	}
}

func BenchmarkInsert(b *testing.B) {
	indextest.RunInsertBenchmarks(b, func(b *testing.B) index.Index { return openTemp(b) }, 50)
}

// BenchmarkQuery builds a synthetic index of LIGHTBOX_BENCH_INSTANCES
// (default 100000) instances in a fresh schema and runs the query benchmarks.
func BenchmarkQuery(b *testing.B) {
	dsn, schema := testSchema(b)
	ix, err := Open(context.Background(), dsn, Options{Schema: schema, QueryAttributes: indextest.BenchAttributes(b)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ix.Close() })
	s := indextest.Synthetic{Instances: indextest.BenchInstances(b)}
	start := time.Now()
	if err := s.Build(context.Background(), ix, 5000, nil); err != nil {
		b.Fatal(err)
	}
	if _, err := ix.Store.Config().Writer.Exec("ANALYZE"); err != nil {
		b.Fatal(err)
	}
	b.Logf("built %d instances in %s", s.Instances, time.Since(start).Round(time.Second))
	b.Run(fmt.Sprintf("instances=%d", s.Instances), func(b *testing.B) {
		indextest.RunQueryBenchmarks(b, ix, s)
	})
}

func TestConfiguredAttributes(t *testing.T) {
	indextest.RunConfigured(t, func(t *testing.T) func([]index.Attribute) index.Index {
		dsn, schema := testSchema(t)
		return func(attrs []index.Attribute) index.Index {
			ix, err := Open(context.Background(), dsn, Options{Schema: schema, QueryAttributes: attrs})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ix.Close() })
			return ix
		}
	})
}
