package indextest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/internal/index"
)

// BenchInstances returns the size of the synthetic index for query
// benchmarks: LIGHTBOX_BENCH_INSTANCES, default 100000.
func BenchInstances(tb testing.TB) int {
	n := 100000
	if v := os.Getenv("LIGHTBOX_BENCH_INSTANCES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			tb.Fatalf("LIGHTBOX_BENCH_INSTANCES=%q: want a positive integer", v)
		}
	}
	return n
}

// BenchQuery is one query benchmark over a synthetic index.
type BenchQuery struct {
	Name string
	// Query returns the query of one iteration.
	Query func(s Synthetic, rng *rand.Rand) index.Query
}

// BenchQueries are the query benchmarks of issue 4: study-level PatientID
// lookup, PatientName wildcard, a one-week StudyDate range, a configured
// attribute outside the model (SERIES-level ProtocolName from the header,
// see BenchAttributes: studies with a series of one protocol, and series
// whose protocol matches a wildcard spanning ten protocols) and all
// instances of a series. Queries on configured keys the index lacks are
// left out.
var BenchQueries = []BenchQuery{
	{"StudyByPatientID", func(s Synthetic, rng *rand.Rand) index.Query {
		return index.Query{Level: index.StudyLevel, Matches: []index.Match{
			{Key: index.PatientID, Value: s.PatientID(rng.IntN(s.Patients()))}}}
	}},
	{"StudyByPatientNameWildcard", func(s Synthetic, rng *rand.Rand) index.Query {
		return index.Query{Level: index.StudyLevel, Matches: []index.Match{{Key: index.PatientName, Value: "SMITH*"}}}
	}},
	{"StudyByDateRangeWeek", func(s Synthetic, rng *rand.Rand) index.Query {
		from := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(3650-7))
		return index.Query{Level: index.StudyLevel, Matches: []index.Match{
			{Key: index.StudyDate, Value: from.Format("20060102") + "-" + from.AddDate(0, 0, 6).Format("20060102")}}}
	}},
	{"StudyByConfiguredProtocolName", func(s Synthetic, rng *rand.Rand) index.Query {
		return index.Query{Level: index.StudyLevel, Matches: []index.Match{
			{Key: "ProtocolName", Value: s.ProtocolName(rng.IntN(s.Series()))}}}
	}},
	{"SeriesByConfiguredProtocolWildcard", func(s Synthetic, rng *rand.Rand) index.Query {
		return index.Query{Level: index.SeriesLevel, Matches: []index.Match{
			{Key: "ProtocolName", Value: s.ProtocolName(rng.IntN(s.Series()))[:9] + "*"}}}
	}},
	{"InstancesOfSeries", func(s Synthetic, rng *rand.Rand) index.Query {
		return index.Query{Level: index.InstanceLevel, Matches: []index.Match{
			{Key: index.SeriesInstanceUID, Value: s.SeriesUID(rng.IntN(s.Series()))}}}
	}},
}

// RunQueryBenchmarks runs BenchQueries as sub-benchmarks against ix, which
// holds the synthetic archive s, and reports the p50 and p99 latency in
// milliseconds, the mean number of results, and the process CPU time per
// query (cpu-ms/op; includes the database server's work only for the
// embedded backend), which stays meaningful on a loaded machine where
// wall-clock percentiles do not.
func RunQueryBenchmarks(b *testing.B, ix index.Index, s Synthetic) {
	for _, bq := range BenchQueries {
		if _, err := ix.Schema().ParseQuery(bq.Query(s, rand.New(rand.NewPCG(1, 2)))); errors.Is(err, index.ErrUnsupportedKey) {
			b.Logf("%s left out: the index has no such configured attribute", bq.Name)
			continue
		}
		b.Run(bq.Name, func(b *testing.B) {
			ctx := context.Background()
			rng := rand.New(rand.NewPCG(1, 2))
			lat := make([]time.Duration, 0, b.N)
			rows := 0
			b.ResetTimer()
			cpu0 := processCPU()
			for range b.N {
				q := bq.Query(s, rng)
				start := time.Now()
				rs, err := ix.Find(ctx, q)
				lat = append(lat, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				rows += len(rs)
			}
			b.StopTimer()
			cpu := processCPU() - cpu0
			ReportLatency(b, lat)
			b.ReportMetric(float64(rows)/float64(b.N), "rows/op")
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}

// ReportLatency reports the p50 and p99 of lat in milliseconds.
func ReportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		i := int(p * float64(len(lat)-1))
		return float64(lat[i].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// RunInsertBenchmarks measures batched inserts into a fresh index from
// open, with 1 and 4 concurrent writers, each inserting batches of batch
// records (what the archive's group commit hands the index). It reports
// instances per second.
func RunInsertBenchmarks(b *testing.B, open func(b *testing.B) index.Index, batch int) {
	for _, writers := range []int{1, 4} {
		b.Run(fmt.Sprintf("batch=%d/writers=%d", batch, writers), func(b *testing.B) {
			ix := open(b)
			s := Synthetic{Instances: b.N}
			var next atomic.Int64
			ctx := context.Background()
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			errs := make(chan error, writers)
			for range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					recs := make([]index.InstanceRecord, 0, batch)
					for {
						first := int(next.Add(int64(batch))) - batch
						if first >= b.N {
							return
						}
						recs = recs[:0]
						for i := first; i < min(first+batch, b.N); i++ {
							recs = append(recs, s.Record(i))
						}
						if _, err := ix.InsertBatch(ctx, recs); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "instances/s")
		})
	}
}

// BenchAttributes are the configured attributes of the benchmark index.
func BenchAttributes(tb testing.TB) []index.Attribute {
	return Specs(tb, "SERIES:ProtocolName")
}
