package dicomweb

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	blobfs "github.com/lightbox-pacs/lightbox/internal/blob/fs"
	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/index/sqlite"
)

// Benchmarks of the DICOMweb services over HTTP on loopback, against a
// real archive (SQLite index, filesystem blobs) in a temporary directory.
//
//	go test ./internal/dicomweb -run '^$' -bench . -benchtime 3s
//
// The figures for BENCHMARKS.md come from this command; the side by side
// with Orthanc's DICOMweb plugin is a separate script (later).

// synthInstance rewrites a corpus file's identity: Part 10 bytes with the
// given UIDs and patient.
func synthInstance(tb testing.TB, src *dicom.File, srcData []byte, study, series, sop, patientID, patientName string, number int) []byte {
	tb.Helper()
	ds := src.Dataset
	ds.Set(dicom.NewStringElement(dicom.TagStudyInstanceUID, dicom.UI, study))
	ds.Set(dicom.NewStringElement(dicom.TagSeriesInstanceUID, dicom.UI, series))
	ds.Set(dicom.NewStringElement(dicom.TagSOPInstanceUID, dicom.UI, sop))
	ds.Set(dicom.NewStringElement(dicom.TagPatientID, dicom.LO, patientID))
	ds.Set(dicom.NewStringElement(dicom.TagPatientName, dicom.PN, patientName))
	ds.Set(dicom.NewStringElement(dicom.Tag(0x00200013), dicom.IS, fmt.Sprint(number)))
	ds.Delete(dicom.TagSpecificCharacterSet)
	var buf bytes.Buffer
	if err := dicom.WriteFile(&buf, ds, src.TransferSyntax, dicom.WriteOptions{Bulk: bytes.NewReader(srcData)}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// benchEnv is an archive and server for benchmarks.
type benchEnv struct {
	arch *archive.Archive
	srv  *httptest.Server
	base string
	svc  *Service
}

func newBenchEnv(b *testing.B, sync bool, opts Options) *benchEnv {
	b.Helper()
	dir := b.TempDir()
	bs, err := blobfs.Open(filepath.Join(dir, "blobs"), blobfs.Options{NoSync: !sync})
	if err != nil {
		b.Fatal(err)
	}
	idx, err := sqlite.Open(context.Background(), filepath.Join(dir, "index.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	arch := archive.New(bs, idx, archive.Options{Logger: slog.New(slog.DiscardHandler)})
	opts.TempDir = dir
	svc := New(arch, opts)
	srv := httptest.NewServer(svc)
	srv.Client().Transport.(*http.Transport).MaxIdleConnsPerHost = 64
	b.Cleanup(func() {
		srv.Close()
		arch.Close()
		idx.Close()
	})
	return &benchEnv{arch: arch, srv: srv, base: srv.URL + svc.prefix, svc: svc}
}

func (e *benchEnv) store(b *testing.B, data []byte) {
	if _, err := e.arch.Store(context.Background(), bytes.NewReader(data), archive.IngestMeta{Size: int64(len(data))}); err != nil {
		b.Fatal(err)
	}
}

func loadTemplate(b *testing.B, rel string) (*dicom.File, []byte) {
	data, f := readCorpus(b, rel)
	return f, data
}

var names = []string{"SMITH^JOHN", "MÜLLER^ANNA", "GARCÍA^JOSÉ", "DUPONT^MARIE", "ROSSI^LUCA", "NGUYEN^AN", "COHEN^DAVID", "SATO^YUKI"}

// fill stores studies×perStudy small instances.
func (e *benchEnv) fill(b *testing.B, studies, perStudy int) {
	f, data := loadTemplate(b, "series/pydicom-ge-ct-2series/CT2N_6293.dcm")
	for s := 0; s < studies; s++ {
		for i := 0; i < perStudy; i++ {
			st := fmt.Sprintf("2.25.1%06d", s)
			inst := synthInstance(b, f, data, st, st+".1", fmt.Sprintf("%s.1.%d", st, i),
				fmt.Sprintf("PID%05d", s%(studies/2+1)), fmt.Sprintf("%s%d", names[s%len(names)], s), i+1)
			e.store(b, inst)
		}
	}
}

func (e *benchEnv) get(b *testing.B, c *http.Client, url string, accept string) int64 {
	req, _ := http.NewRequest("GET", url, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	// Read in large blocks, as a download client would (io.Discard's own
	// 8 KiB reads would make the benchmark measure the client).
	buf := bufPool.Get().(*[]byte)
	n, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, resp.Body, *buf)
	bufPool.Put(buf)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return n
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// latencies records request durations for percentile metrics.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B) {
	if len(l.d) == 0 {
		return
	}
	sort.Slice(l.d, func(i, j int) bool { return l.d[i] < l.d[j] })
	p := func(q float64) float64 { return float64(l.d[int(q*float64(len(l.d)-1))].Microseconds()) / 1000 }
	b.ReportMetric(p(0.5), "p50-ms")
	b.ReportMetric(p(0.99), "p99-ms")
}

// BenchmarkQIDOStudies: study searches over 2,000 studies (4,000
// instances): latency of one client, and requests/s of 16 concurrent ones.
func BenchmarkQIDOStudies(b *testing.B) {
	e := newBenchEnv(b, false, Options{})
	e.fill(b, 2000, 2)
	queries := map[string]string{
		"PatientID":        "/studies?PatientID=PID00420",
		"PatientNameWild":  "/studies?PatientName=smith*&limit=100",
		"StudyUID":         "/studies?StudyInstanceUID=2.25.1000777",
		"All100":           "/studies?limit=100",
		"Fuzzy":            "/studies?PatientName=garc&fuzzymatching=true&limit=100",
		"SeriesOfStudy":    "/studies/2.25.1000777/series",
		"InstancesOfStudy": "/studies/2.25.1000777/instances",
	}
	keys := make([]string, 0, len(queries))
	for k := range queries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		u := e.base + queries[k]
		b.Run(k+"/serial", func(b *testing.B) {
			var lat latencies
			c := e.srv.Client()
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				e.get(b, c, u, "")
				lat.add(time.Since(t0))
			}
			lat.report(b)
		})
		b.Run(k+"/parallel16", func(b *testing.B) {
			c := e.srv.Client()
			b.SetParallelism(16 / max(1, runtimeProcs()))
			start := time.Now()
			var n atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					e.get(b, c, u, "")
					n.Add(1)
				}
			})
			b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "req/s")
		})
	}
}

// benchStudy stores one study of n instances made from a corpus file and
// returns its UID and total size.
func (e *benchEnv) benchStudy(b *testing.B, rel string, n int) (string, int64) {
	f, data := loadTemplate(b, rel)
	var total int64
	study := "2.25.9999"
	for i := 0; i < n; i++ {
		inst := synthInstance(b, f, data, study, study+".1", fmt.Sprintf("%s.1.%d", study, i), "BENCH", "BENCH^STUDY", i+1)
		total += int64(len(inst))
		e.store(b, inst)
	}
	return study, total
}

// BenchmarkMetadata100: /metadata of a 100-instance CT study (512x512)
// served from the index's stored headers ("index", no blob read, no
// cache), and from rows as stored before headers recorded bulk values:
// every header parsed from its blob ("blob", cache off) or the metadata
// cache warm ("blob-cached").
func BenchmarkMetadata100(b *testing.B) {
	for _, mode := range []struct {
		name   string
		cache  int64
		legacy bool
	}{{"index", -1, false}, {"blob", -1, true}, {"blob-cached", 0, true}} {
		b.Run(mode.name, func(b *testing.B) {
			e := newBenchEnv(b, false, Options{MetadataCacheBytes: mode.cache})
			study, _ := e.benchStudy(b, "transfer-syntax/ge-ct-evrle.dcm", 100)
			if mode.legacy {
				e.legacyHeaders(b)
			}
			u := e.base + "/studies/" + study + "/metadata"
			for _, gz := range []bool{false, true} {
				name := "identity"
				if gz {
					name = "gzip"
				}
				b.Run(name, func(b *testing.B) {
					c := &http.Client{Transport: &http.Transport{DisableCompression: !gz}}
					n := e.get(b, c, u, "")
					var lat latencies
					b.ResetTimer() // (clears reported metrics: report after)
					for range b.N {
						t0 := time.Now()
						e.get(b, c, u, "")
						lat.add(time.Since(t0))
					}
					lat.report(b)
					b.ReportMetric(float64(n)/1e6, "MB/resp")
				})
			}
		})
	}
}

// legacyHeaders drops the completeness mark of every stored header, as
// rows stored before headers recorded bulk values lack it.
func (e *benchEnv) legacyHeaders(b *testing.B) {
	ctx := context.Background()
	recs, err := e.arch.Index().Find(ctx, index.Query{Level: index.InstanceLevel, IncludeHeader: true})
	if err != nil {
		b.Fatal(err)
	}
	for _, rec := range recs {
		rec.Header = bytes.TrimSuffix(rec.Header, []byte("\n"))
		if archive.HeaderComplete(rec.Header) {
			b.Fatal("header still complete")
		}
		if _, err := e.arch.Index().Replace(ctx, rec); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWADOStudy: retrieval of a 100-instance CT study (52 MB) as
// multipart/related, in MB/s.
func BenchmarkWADOStudy(b *testing.B) {
	e := newBenchEnv(b, false, Options{})
	study, _ := e.benchStudy(b, "transfer-syntax/ge-ct-evrle.dcm", 100)
	u := e.base + "/studies/" + study
	c := e.srv.Client()
	n := e.get(b, c, u, `multipart/related; type="application/dicom"; transfer-syntax=*`)
	b.SetBytes(n)
	b.ResetTimer()
	for range b.N {
		e.get(b, c, u, `multipart/related; type="application/dicom"; transfer-syntax=*`)
	}
}

// BenchmarkSTOW: instances stored per second through STOW-RS with the
// archive's real durability (fsync before the answer); one instance per
// request, by one client and by 8 concurrent ones, and 10 per request.
func BenchmarkSTOW(b *testing.B) {
	for _, mode := range []struct {
		name            string
		clients, perReq int
		nosync          bool
	}{
		{"1client-1inst", 1, 1, false}, {"8clients-1inst", 8, 1, false}, {"1client-10inst", 1, 10, false},
		// Not durable (blob fsyncs skipped): what the protocol path costs.
		{"nosync/1client-1inst", 1, 1, true}, {"nosync/8clients-1inst", 8, 1, true},
	} {
		b.Run(mode.name, func(b *testing.B) {
			e := newBenchEnv(b, !mode.nosync, Options{})
			f, data := loadTemplate(b, "series/toshiba-mr-dti-6slices/0001.dcm")
			// One template body; each request patches fresh SOP Instance
			// UIDs in (same length), so every instance is new and durable.
			parts := make([][]byte, mode.perReq)
			for j := range parts {
				parts[j] = synthInstance(b, f, data, "2.25.777", "2.25.777.1", fmt.Sprintf("2.25.777.1.%d999999999", j+1), "STOW", "STOW^BENCH", j+1)
			}
			rd, ctype := multipartBody(b, parts...)
			tmpl, _ := io.ReadAll(rd)
			var seq atomic.Int64
			body := func() []byte {
				n := seq.Add(1)
				out := tmpl
				for j := range parts {
					old := fmt.Sprintf("2.25.777.1.%d999999999", j+1)
					out = bytes.ReplaceAll(out, []byte(old), []byte(fmt.Sprintf("2.25.777.1.%d%09d", j+1, n)))
				}
				return out
			}
			c := e.srv.Client()
			post := func() {
				req, _ := http.NewRequest("POST", e.base+"/studies", bytes.NewReader(body()))
				req.Header.Set("Content-Type", ctype)
				resp, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("STOW status %d", resp.StatusCode)
				}
			}
			var done atomic.Int64
			start := time.Now()
			b.ResetTimer()
			if mode.clients == 1 {
				for range b.N {
					post()
					done.Add(int64(mode.perReq))
				}
			} else {
				b.SetParallelism(max(1, mode.clients/runtimeProcs()))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						post()
						done.Add(int64(mode.perReq))
					}
				})
			}
			b.ReportMetric(float64(done.Load())/time.Since(start).Seconds(), "inst/s")
		})
	}
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
