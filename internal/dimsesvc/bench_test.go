package dimsesvc_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/internal/config"
	"github.com/lightbox-pacs/lightbox/internal/server"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
	"github.com/lightbox-pacs/lightbox/test/orthanc"
)

// The DIMSE benchmark: Lightbox and Orthanc side by side, on the same
// synthetic CT instances (a corpus CT cropped to 372 rows, ~388 kB, with
// new UIDs: 20 studies of 100), driven by the same Go client.
//
//	scripts/bench-dimse.sh        (runs it inside unshare -n)
//
// It measures C-STORE ingest over one association and over four parallel
// ones, C-FIND study-level latency within one association, and C-MOVE and
// C-GET of a 100-instance study; the Markdown table goes to stdout and to
// $LIGHTBOX_BENCH_OUT when set.

const (
	benchStudies       = 20
	benchPerStudy      = 100
	benchFinds         = 300
	benchRetrieveRuns  = 3
	benchUIDPrefix     = "1.2.826.0.1.3680043.2.1143.7."
	benchPlaceholderLn = 40
)

// synth makes synthetic instances from one template file by patching
// fixed-width UIDs in place.
type synth struct {
	template []byte
	// offsets of the placeholders: study, series, instance UIDs (the
	// instance UID appears in File Meta and in the data set).
	study, series, inst []int
	patient             []int
	class               string
}

func placeholder(c byte) string { return strings.Repeat(string(c), benchPlaceholderLn) }

func newSynth(tb testing.TB) *synth {
	tb.Helper()
	f, err := dicom.ReadFile(filepath.Join(testenv.CorpusDir(tb), "transfer-syntax", "ge-ct-evrle.dcm"), dicom.ReadOptions{LoadBulk: true})
	if err != nil {
		tb.Fatal(err)
	}
	ds := f.Dataset
	const rows, cols = 372, 512
	ds.Set(&dicom.Element{Tag: dicom.TagRows, VR: dicom.US, Value: []byte{rows & 0xff, rows >> 8}})
	pd := ds.Get(dicom.TagPixelData)
	pd.Value = pd.Value[:rows*cols*2]
	pd.Length = uint32(len(pd.Value))
	ds.Set(dicom.NewStringElement(dicom.TagStudyInstanceUID, dicom.UI, placeholder('S')))
	ds.Set(dicom.NewStringElement(dicom.TagSeriesInstanceUID, dicom.UI, placeholder('R')))
	ds.Set(dicom.NewStringElement(dicom.TagSOPInstanceUID, dicom.UI, placeholder('I')))
	ds.Set(dicom.NewStringElement(dicom.TagPatientID, dicom.LO, "PPPPPPPP"))
	ds.Set(dicom.NewStringElement(dicom.TagPatientName, dicom.PN, "BENCH^PPPPPPPP"))
	var b bytes.Buffer
	if err := dicom.WriteFile(&b, ds, dicom.ExplicitVRLittleEndian, dicom.WriteOptions{}); err != nil {
		tb.Fatal(err)
	}
	s := &synth{template: b.Bytes(), class: ds.String(dicom.TagSOPClassUID)}
	find := func(p string) []int {
		var out []int
		for i := 0; ; {
			j := bytes.Index(s.template[i:], []byte(p))
			if j < 0 {
				return out
			}
			out = append(out, i+j)
			i += j + len(p)
		}
	}
	s.study, s.series, s.inst, s.patient = find(placeholder('S')), find(placeholder('R')), find(placeholder('I')), find("PPPPPPPP")
	if len(s.study) != 1 || len(s.series) != 1 || len(s.inst) != 2 || len(s.patient) != 2 {
		tb.Fatalf("template placeholders: %d %d %d %d", len(s.study), len(s.series), len(s.inst), len(s.patient))
	}
	return s
}

// benchUID returns a UID exactly as long as a placeholder: prefix, kind,
// then "1" and a zero-padded number.
func benchUID(kind, study, n int) string {
	width := benchPlaceholderLn - len(benchUIDPrefix) - 3
	return fmt.Sprintf("%s%d.1%0*d", benchUIDPrefix, kind, width, study*1000+n)
}

func studyUID(study int) string { return benchUID(1, study, 0) }

// instance writes instance i of study into buf.
func (s *synth) instance(buf []byte, study, i int) []byte {
	buf = append(buf[:0], s.template...)
	copy(buf[s.study[0]:], benchUID(1, study, 0))
	copy(buf[s.series[0]:], benchUID(2, study, 1))
	for _, off := range s.inst {
		copy(buf[off:], benchUID(3, study, i))
	}
	for _, off := range s.patient {
		copy(buf[off:], fmt.Sprintf("P%07d", study))
	}
	return buf
}

// target is a DIMSE peer under test.
type target struct {
	name, ae, addr string
}

// benchResult holds one target's figures.
type benchResult struct {
	ingest1, ingest4       float64 // instances/s
	findP50, findP99       time.Duration
	moveRate, getRate      float64 // instances/s (best of the runs)
	moveStatus, getStatus  string
	ingestErrs, findErrors int
}

// countingDest is the C-MOVE destination: it reads every data set whole.
type countingDest struct {
	n     atomic.Int64
	bytes atomic.Int64
}

func (d *countingDest) Store(ctx context.Context, req *dimse.StoreRequest, data io.Reader) dimse.Result {
	n, err := io.Copy(io.Discard, data)
	if err != nil {
		return dimse.Result{Status: dimse.StatusOutOfResources, ErrorComment: err.Error()}
	}
	d.n.Add(1)
	d.bytes.Add(n)
	return dimse.Result{}
}

func BenchmarkDIMSEVsOrthanc(b *testing.B) {
	if os.Getenv("LIGHTBOX_NETNS_CHILD") == "" && os.Getenv("LIGHTBOX_BENCH_SHARED_NETNS") == "" {
		b.Skip("run through scripts/bench-dimse.sh (inside unshare -n), or set LIGHTBOX_BENCH_SHARED_NETNS=1")
	}
	s := newSynth(b)
	b.Logf("synthetic instance: %d bytes, %d studies of %d", len(s.template), benchStudies, benchPerStudy)

	// The C-MOVE destination both servers send to.
	dest := &countingDest{}
	destSrv := &dimse.Server{AETitle: "BENCHDEST", Store: dest}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go destSrv.Serve(ln)
	defer destSrv.Close()
	destPort := ln.Addr().(*net.TCPAddr).Port

	// Lightbox, as `lightbox serve` wires it, logging warnings only.
	cfg := config.Default()
	cfg.DataDir = b.TempDir()
	cfg.HTTP.Addr = ""
	cfg.DICOM.Addr = "127.0.0.1:0"
	cfg.RemoteAEs = []config.RemoteAE{{AETitle: "BENCHDEST", Host: "127.0.0.1", Port: destPort}}
	srv, err := server.New(context.Background(), cfg, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Bind(); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); <-done }()

	o := orthanc.Start(b, orthanc.Config{TCPNoDelay: true,
		Modalities: map[string]orthanc.Modality{"benchdest": {AET: "BENCHDEST", Host: "127.0.0.1", Port: destPort},
			"bench": {AET: "BENCH", Host: "127.0.0.1", Port: destPort}}})

	targets := []target{
		{"Lightbox", "LIGHTBOX", srv.Addrs()["dicom"]},
		{"Orthanc 1.10 (TCP_NODELAY=1)", o.AET, fmt.Sprintf("127.0.0.1:%d", o.DicomPort)},
	}
	results := make([]benchResult, len(targets))
	for i, tg := range targets {
		results[i] = runBench(b, s, tg, dest)
	}
	table := benchTable(targets, results, len(s.template))
	fmt.Println(table)
	if p := os.Getenv("LIGHTBOX_BENCH_OUT"); p != "" {
		os.WriteFile(p, []byte(table), 0o644)
	}
}

func benchClient(b *testing.B, tg target, cfg dimse.ClientConfig) *dimse.Client {
	b.Helper()
	cfg.CallingAE, cfg.CalledAE = "BENCH", tg.ae
	cfg.ResponseTimeout = 2 * time.Minute
	c, err := dimse.Dial(context.Background(), tg.addr, cfg)
	if err != nil {
		b.Fatalf("%s: %v", tg.name, err)
	}
	return c
}

func runBench(b *testing.B, s *synth, tg target, dest *countingDest) benchResult {
	var r benchResult
	ctx := context.Background()
	storeCtxs := dimse.StorageContexts([2]string{s.class, dicom.ExplicitVRLittleEndian})

	// Ingest: studies 0-9 over one association, 10-19 over four.
	ingest := func(studies []int, assocs int) float64 {
		type job struct{ study, i int }
		jobs := make(chan job, 64)
		go func() {
			for _, st := range studies {
				for i := range benchPerStudy {
					jobs <- job{st, i}
				}
			}
			close(jobs)
		}()
		var wg sync.WaitGroup
		var n, errs atomic.Int64
		start := time.Now()
		for range assocs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := benchClient(b, tg, dimse.ClientConfig{Contexts: storeCtxs})
				defer c.Close()
				var buf []byte
				for j := range jobs {
					buf = s.instance(buf, j.study, j.i)
					if _, err := c.Store(ctx, bytes.NewReader(buf)); err != nil {
						if errs.Add(1) < 3 {
							b.Logf("%s: store: %v", tg.name, err)
						}
						continue
					}
					n.Add(1)
				}
			}()
		}
		wg.Wait()
		r.ingestErrs += int(errs.Load())
		return float64(n.Load()) / time.Since(start).Seconds()
	}
	half := benchStudies / 2
	first, second := make([]int, half), make([]int, half)
	for i := range half {
		first[i], second[i] = i, half+i
	}
	r.ingest1 = ingest(first, 1)
	r.ingest4 = ingest(second, 4)
	b.Logf("%s: ingest %.0f inst/s (1 association), %.0f inst/s (4)", tg.name, r.ingest1, r.ingest4)

	// C-FIND at the STUDY level, one study per query, on one association.
	c := benchClient(b, tg, dimse.ClientConfig{Contexts: dimse.QueryRetrieveContexts(dimse.StudyRootFind)})
	var lat []time.Duration
	for q := range benchFinds {
		id := dicom.NewDataset()
		id.Set(dicom.NewStringElement(0x00080052, dicom.CS, "STUDY"))
		id.Set(dicom.NewStringElement(dicom.TagStudyInstanceUID, dicom.UI, studyUID(q%benchStudies)))
		for _, k := range []dicom.Tag{dicom.TagPatientName, dicom.TagPatientID, dicom.TagStudyDate, 0x00080030, 0x00080050, 0x00081030, 0x00080061, 0x00201208} {
			id.Set(&dicom.Element{Tag: k, VR: benchVR(k)})
		}
		start := time.Now()
		n := 0
		for _, err := range c.Find(ctx, dimse.StudyRootFind, id) {
			if err != nil {
				r.findErrors++
				break
			}
			n++
		}
		lat = append(lat, time.Since(start))
		if n != 1 {
			r.findErrors++
		}
	}
	c.Close()
	slices.Sort(lat)
	r.findP50, r.findP99 = lat[len(lat)/2], lat[len(lat)*99/100]
	b.Logf("%s: C-FIND p50 %s p99 %s (%d errors)", tg.name, r.findP50, r.findP99, r.findErrors)

	// C-MOVE and C-GET of study 0 (100 instances), best of the runs.
	ident := dicom.NewDataset()
	ident.Set(dicom.NewStringElement(0x00080052, dicom.CS, "STUDY"))
	ident.Set(dicom.NewStringElement(dicom.TagStudyInstanceUID, dicom.UI, studyUID(0)))
	for run := range benchRetrieveRuns {
		c := benchClient(b, tg, dimse.ClientConfig{Contexts: dimse.QueryRetrieveContexts(dimse.StudyRootMove)})
		before := dest.n.Load()
		start := time.Now()
		res, err := c.Move(ctx, dimse.StudyRootMove, "BENCHDEST", ident, nil)
		el := time.Since(start)
		c.Close()
		got := dest.n.Load() - before
		r.moveStatus = fmt.Sprintf("%s, %d received", res.Status, got)
		if err != nil || got != benchPerStudy {
			b.Logf("%s: C-MOVE run %d: %v, %d received", tg.name, run, err, got)
			continue
		}
		r.moveRate = max(r.moveRate, float64(got)/el.Seconds())
	}
	for run := range benchRetrieveRuns {
		ctxs, roles := dimse.GetContexts([]string{s.class}, nil)
		c := benchClient(b, tg, dimse.ClientConfig{Contexts: append(dimse.QueryRetrieveContexts(dimse.StudyRootGet), ctxs...), Roles: roles})
		got := &countingDest{}
		start := time.Now()
		res, err := c.Get(ctx, dimse.StudyRootGet, ident, got, nil)
		el := time.Since(start)
		c.Close()
		r.getStatus = fmt.Sprintf("%s, %d received", res.Status, got.n.Load())
		if err != nil || got.n.Load() != benchPerStudy {
			b.Logf("%s: C-GET run %d: %v, %d received", tg.name, run, err, got.n.Load())
			continue
		}
		r.getRate = max(r.getRate, float64(got.n.Load())/el.Seconds())
	}
	b.Logf("%s: C-MOVE %.0f inst/s (%s), C-GET %.0f inst/s (%s)", tg.name, r.moveRate, r.moveStatus, r.getRate, r.getStatus)
	return r
}

func benchVR(t dicom.Tag) dicom.VR {
	switch t {
	case dicom.TagPatientName:
		return dicom.PN
	case dicom.TagStudyDate:
		return dicom.DA
	case 0x00080030:
		return dicom.TM
	case 0x00080050:
		return dicom.SH
	case 0x00080061:
		return dicom.CS
	case 0x00201208:
		return dicom.IS
	}
	return dicom.LO
}

func benchTable(targets []target, rs []benchResult, size int) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "\nDIMSE benchmark: %d synthetic CT instances of %d kB (%d studies of %d), one Go client, loopback in a private network namespace\n\n",
		benchStudies*benchPerStudy, size/1000, benchStudies, benchPerStudy)
	sb.WriteString("| server | C-STORE 1 assoc (inst/s) | C-STORE 4 assoc (inst/s) | C-FIND study p50 | C-FIND study p99 | C-MOVE 100 (inst/s) | C-GET 100 (inst/s) |\n")
	sb.WriteString("|---|---:|---:|---:|---:|---:|---:|\n")
	for i, r := range rs {
		fmt.Fprintf(&sb, "| %s | %.0f | %.0f | %s | %s | %.0f | %.0f |\n", targets[i].name, r.ingest1, r.ingest4,
			fmtLatency(r.findP50), fmtLatency(r.findP99), r.moveRate, r.getRate)
	}
	if len(rs) == 2 {
		a, o := rs[0], rs[1]
		fmt.Fprintf(&sb, "| ratio | %.1fx | %.1fx | %.1fx | %.1fx | %.1fx | %.1fx |\n", a.ingest1/o.ingest1, a.ingest4/o.ingest4,
			float64(o.findP50)/float64(a.findP50), float64(o.findP99)/float64(a.findP99), a.moveRate/o.moveRate, a.getRate/o.getRate)
	}
	for i, r := range rs {
		if r.ingestErrs+r.findErrors > 0 {
			fmt.Fprintf(&sb, "\n%s: %d store errors, %d find errors", targets[i].name, r.ingestErrs, r.findErrors)
		}
	}
	return sb.String()
}

func fmtLatency(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
}
