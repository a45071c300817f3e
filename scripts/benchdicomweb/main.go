// Command benchdicomweb measures Lightbox's DICOMweb endpoints side by side
// with another DICOMweb server (Orthanc's plugin) on the same synthetic
// data: STOW-RS ingest, QIDO-RS study search (latency with one client,
// requests/s under wrk), PatientName wildcard search, WADO-RS whole-study
// retrieval and /metadata of the 100-instance study. It prints a Markdown
// table. scripts/bench-dicomweb.sh starts the servers and runs it.
package main

import (
	"bytes"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
)

const (
	uidPrefix     = "1.2.826.0.1.3680043.2.1143.8."
	placeholderLn = 56
	rows, cols    = 372, 512
)

// synth makes synthetic instances from one template by patching
// fixed-width UIDs and patient identifiers in place.
type synth struct {
	template                     []byte
	study, series, inst, patient []int
}

func placeholder(c byte) string { return strings.Repeat(string(c), placeholderLn) }

func newSynth(path string) (*synth, error) {
	f, err := dicom.ReadFile(path, dicom.ReadOptions{LoadBulk: true})
	if err != nil {
		return nil, fmt.Errorf("benchdicomweb: template: %w", err)
	}
	ds := f.Dataset
	ds.Set(&dicom.Element{Tag: dicom.TagRows, VR: dicom.US, Value: []byte{rows & 0xff, rows >> 8}})
	pd := ds.Get(dicom.TagPixelData)
	if pd == nil || len(pd.Value) < rows*cols*2 {
		return nil, fmt.Errorf("benchdicomweb: template %s: pixel data too short", path)
	}
	pd.Value = pd.Value[:rows*cols*2]
	pd.Length = uint32(len(pd.Value))
	ds.Set(dicom.NewStringElement(dicom.TagStudyInstanceUID, dicom.UI, placeholder('S')))
	ds.Set(dicom.NewStringElement(dicom.TagSeriesInstanceUID, dicom.UI, placeholder('R')))
	ds.Set(dicom.NewStringElement(dicom.TagSOPInstanceUID, dicom.UI, placeholder('I')))
	ds.Set(dicom.NewStringElement(dicom.TagPatientID, dicom.LO, "PPPPPPPP"))
	ds.Set(dicom.NewStringElement(dicom.TagPatientName, dicom.PN, "BENCH^PPPPPPPP"))
	var b bytes.Buffer
	if err := dicom.WriteFile(&b, ds, dicom.ExplicitVRLittleEndian, dicom.WriteOptions{}); err != nil {
		return nil, fmt.Errorf("benchdicomweb: template: %w", err)
	}
	s := &synth{template: b.Bytes()}
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
		return nil, fmt.Errorf("benchdicomweb: template placeholders: %d %d %d %d", len(s.study), len(s.series), len(s.inst), len(s.patient))
	}
	return s, nil
}

// uid returns a UID exactly as long as a placeholder.
func uid(run string, kind, study, n int) string {
	p := uidPrefix + run + "."
	width := placeholderLn - len(p) - 3
	u := fmt.Sprintf("%s%d.1%0*d", p, kind, width, study*1000+n)
	if len(u) != placeholderLn {
		panic("benchdicomweb: UID does not fit its placeholder: " + u)
	}
	return u
}

func (s *synth) instance(run string, study, i int) []byte {
	buf := slices.Clone(s.template)
	copy(buf[s.study[0]:], uid(run, 1, study, 0))
	copy(buf[s.series[0]:], uid(run, 2, study, 1))
	for _, off := range s.inst {
		copy(buf[off:], uid(run, 3, study, i))
	}
	for _, off := range s.patient {
		copy(buf[off:], fmt.Sprintf("P%07d", study))
	}
	return buf
}

// server is one DICOMweb server under test.
type server struct {
	name, base string // base ends in /dicom-web
}

type result struct {
	stowRate, stowRate4   float64
	metaCount             int
	qidoP50, qidoP99      time.Duration
	qidoRPS               float64
	wildP50               time.Duration
	wadoMBs               float64
	wadoBytes             int64
	metaFirst, metaRepeat time.Duration
	qidoCount, wildCount  int
	errs                  []string
}

var client = &http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}

// stow posts instances as one multipart/related request.
func stow(base string, insts [][]byte) error {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, in := range insts {
		w, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/dicom"}})
		if err != nil {
			return err
		}
		w.Write(in)
	}
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, base+"/studies", &body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", `multipart/related; type="application/dicom"; boundary=`+mw.Boundary())
	req.Header.Set("Accept", "application/dicom+json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("STOW: %s: %.300s", resp.Status, b)
	}
	return nil
}

// get fetches rawURL (query sent as is, so ^ * ? stay literal) and returns
// the body size and the elapsed time.
func get(rawURL, accept string) (int64, time.Duration, []byte, error) {
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		return 0, 0, nil, err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	t := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	n, err := io.Copy(&buf, resp.Body)
	d := time.Since(t)
	if err != nil {
		return n, d, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return n, d, nil, fmt.Errorf("GET %s: %s: %.200s", rawURL, resp.Status, buf.Bytes())
	}
	return n, d, buf.Bytes(), nil
}

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

var reqSec = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)

// wrk runs the load generator against u and returns its requests/s.
func wrk(u string, secs, conns int) (float64, error) {
	out, err := exec.Command("wrk", "-t2", "-c"+strconv.Itoa(conns), "-d"+strconv.Itoa(secs)+"s",
		"-H", "Accept: application/dicom+json", u).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("wrk: %v: %s", err, out)
	}
	if strings.Contains(string(out), "Non-2xx") {
		return 0, fmt.Errorf("wrk: non-2xx answers: %s", out)
	}
	m := reqSec.FindStringSubmatch(string(out))
	if m == nil {
		return 0, fmt.Errorf("wrk: no Requests/sec in %s", out)
	}
	return strconv.ParseFloat(m[1], 64)
}

func run(srv server, s *synth, run string, studies, perStudy, extraPer, queries, wrkSecs int) result {
	var r result
	fail := func(what string, err error) {
		msg := fmt.Sprintf("%s %s: %v", srv.name, what, err)
		slog.Error(msg)
		r.errs = append(r.errs, msg)
	}
	// Extra studies first (so QIDO has something to search), then the big
	// one, timed: batches of 10 instances per STOW request.
	for st := 1; st < studies; st++ {
		var insts [][]byte
		for i := 1; i <= extraPer; i++ {
			insts = append(insts, s.instance(run, st, i))
		}
		if err := stow(srv.base, insts); err != nil {
			fail("STOW (extra studies)", err)
			return r
		}
	}
	t := time.Now()
	const batch = 10
	for i := 1; i <= perStudy; i += batch {
		var insts [][]byte
		for j := i; j < i+batch && j <= perStudy; j++ {
			insts = append(insts, s.instance(run, 0, j))
		}
		if err := stow(srv.base, insts); err != nil {
			fail("STOW", err)
			return r
		}
	}
	r.stowRate = float64(perStudy) / time.Since(t).Seconds()

	// The same again with 4 concurrent clients, into a separate study.
	t = time.Now()
	jobs, errc := make(chan int), make(chan error, perStudy)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				var insts [][]byte
				for j := i; j < i+batch && j <= perStudy; j++ {
					insts = append(insts, s.instance(run, studies, j))
				}
				if err := stow(srv.base, insts); err != nil {
					errc <- err
				}
			}
		}()
	}
	for i := 1; i <= perStudy; i += batch {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		fail("STOW (4 clients)", err)
	} else {
		r.stowRate4 = float64(perStudy) / time.Since(t).Seconds()
	}
	slog.Info("loaded", "server", srv.name, "inst/s", fmt.Sprintf("%.0f", r.stowRate), "inst/s (4 clients)", fmt.Sprintf("%.0f", r.stowRate4))

	// QIDO-RS by PatientID, one client, sequential.
	var lat []time.Duration
	for q := 0; q < queries; q++ {
		_, d, body, err := get(fmt.Sprintf("%s/studies?PatientID=P%07d", srv.base, q%studies), "application/dicom+json")
		if err != nil {
			fail("QIDO", err)
			break
		}
		if q == 0 {
			r.qidoCount = bytes.Count(body, []byte(`"0020000D"`))
		}
		lat = append(lat, d)
	}
	r.qidoP50, r.qidoP99 = pct(lat, 0.5), pct(lat, 0.99)

	// PatientName wildcard (literal ^ and *), matching every study.
	lat = lat[:0]
	for q := 0; q < max(queries/6, 10); q++ {
		_, d, body, err := get(srv.base+"/studies?PatientName=BENCH^P*", "application/dicom+json")
		if err != nil {
			fail("QIDO wildcard", err)
			break
		}
		if q == 0 {
			r.wildCount = bytes.Count(body, []byte(`"0020000D"`))
		}
		lat = append(lat, d)
	}
	r.wildP50 = pct(lat, 0.5)

	// QIDO throughput under wrk.
	if rps, err := wrk(srv.base+"/studies?PatientID=P0000003", wrkSecs, 8); err != nil {
		fail("wrk", err)
	} else {
		r.qidoRPS = rps
	}

	// /metadata: first, then the median of 5 repeats.
	metaURL := srv.base + "/studies/" + uid(run, 1, 0, 0) + "/metadata"
	if _, d, body, err := get(metaURL, "application/dicom+json"); err != nil {
		fail("metadata", err)
	} else {
		r.metaFirst = d
		r.metaCount = bytes.Count(body, []byte(`"00080018"`))
		lat = lat[:0]
		for range 5 {
			if _, d, _, err := get(metaURL, "application/dicom+json"); err == nil {
				lat = append(lat, d)
			}
		}
		r.metaRepeat = pct(lat, 0.5)
	}

	// WADO-RS whole study: best of 3.
	for range 3 {
		n, d, _, err := get(srv.base+"/studies/"+uid(run, 1, 0, 0), `multipart/related; type="application/dicom"`)
		if err != nil {
			fail("WADO-RS", err)
			break
		}
		r.wadoBytes = n
		r.wadoMBs = max(r.wadoMBs, float64(n)/1e6/d.Seconds())
	}
	return r
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func ratio(a, b float64) string {
	if a == 0 || b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1fx", a/b)
}

func main() {
	var (
		lb       = flag.String("lightbox", "", "Lightbox DICOMweb base URL (…/dicom-web)")
		orth     = flag.String("orthanc", "", "Orthanc DICOMweb base URL (…/dicom-web)")
		tmpl     = flag.String("template", "", "template DICOM file (ge-ct-evrle.dcm)")
		studies  = flag.Int("studies", 50, "studies (one large, the rest small)")
		perStudy = flag.Int("instances", 100, "instances in the large study")
		extraPer = flag.Int("extra", 2, "instances in each small study")
		queries  = flag.Int("queries", 300, "sequential QIDO queries")
		wrkSecs  = flag.Int("wrk-seconds", 10, "wrk duration per server")
		out      = flag.String("out", "", "also write the table to this file")
	)
	flag.Parse()
	if *lb == "" || *orth == "" || *tmpl == "" {
		fmt.Fprintln(os.Stderr, "usage: benchdicomweb -lightbox URL -orthanc URL -template FILE")
		os.Exit(2)
	}
	s, err := newSynth(*tmpl)
	if err != nil {
		slog.Error(err.Error())
		os.Exit(1)
	}
	rb := make([]byte, 3)
	rand.Read(rb)
	runID := strconv.Itoa(int(rb[0])%9+1) + strconv.Itoa(int(rb[1])) // UID component, no leading zero
	servers := []server{{"Lightbox", *lb}, {"Orthanc 1.10 + DICOMweb 1.7", *orth}}
	var rs []result
	for _, srv := range servers {
		rs = append(rs, run(srv, s, runID, *studies, *perStudy, *extraPer, *queries, *wrkSecs))
	}
	l, o := rs[0], rs[1]
	var t strings.Builder
	fmt.Fprintf(&t, "DICOMweb, %d-instance CT study (%d kB each) + %d small studies (+ one more %d-instance study for the 4-client STOW), same client, one run\n\n",
		*perStudy, len(s.template)/1000, *studies-1, *perStudy)
	fmt.Fprintf(&t, "| Measure | Lightbox | Orthanc 1.10 + DICOMweb 1.7 | Lightbox / Orthanc |\n|---|---|---|---|\n")
	row := func(name, a, b, x string) { fmt.Fprintf(&t, "| %s | %s | %s | %s |\n", name, a, b, x) }
	d := func(x time.Duration) float64 { return float64(x) }
	row("STOW-RS, 10 instances/request (inst/s)", fmt.Sprintf("%.0f", l.stowRate), fmt.Sprintf("%.0f", o.stowRate), ratio(l.stowRate, o.stowRate))
	row("STOW-RS, 4 clients x 10 instances/request (inst/s)", fmt.Sprintf("%.0f", l.stowRate4), fmt.Sprintf("%.0f", o.stowRate4), ratio(l.stowRate4, o.stowRate4))
	row("QIDO-RS PatientID p50, 1 client", ms(l.qidoP50), ms(o.qidoP50), ratio(d(o.qidoP50), d(l.qidoP50)))
	row("QIDO-RS PatientID p99, 1 client", ms(l.qidoP99), ms(o.qidoP99), ratio(d(o.qidoP99), d(l.qidoP99)))
	row(fmt.Sprintf("QIDO-RS PatientID req/s (wrk, 8 conns, %ds)", *wrkSecs), fmt.Sprintf("%.0f", l.qidoRPS), fmt.Sprintf("%.0f", o.qidoRPS), ratio(l.qidoRPS, o.qidoRPS))
	row(fmt.Sprintf("QIDO-RS PatientName=BENCH^P* p50 (%d / %d studies)", l.wildCount, o.wildCount), ms(l.wildP50), ms(o.wildP50), ratio(d(o.wildP50), d(l.wildP50)))
	row("/metadata of the study, first", ms(l.metaFirst), ms(o.metaFirst), ratio(d(o.metaFirst), d(l.metaFirst)))
	row("/metadata of the study, repeated (p50 of 5)", ms(l.metaRepeat), ms(o.metaRepeat), ratio(d(o.metaRepeat), d(l.metaRepeat)))
	row(fmt.Sprintf("WADO-RS whole study (MB/s, best of 3; %.1f / %.1f MB)", float64(l.wadoBytes)/1e6, float64(o.wadoBytes)/1e6),
		fmt.Sprintf("%.0f", l.wadoMBs), fmt.Sprintf("%.0f", o.wadoMBs), ratio(l.wadoMBs, o.wadoMBs))
	if l.qidoCount != 1 || o.qidoCount != 1 {
		fmt.Fprintf(&t, "\nnote: QIDO by PatientID matched %d (Lightbox) / %d (Orthanc) studies, expected 1\n", l.qidoCount, o.qidoCount)
	}
	if l.metaCount != *perStudy || o.metaCount != *perStudy {
		fmt.Fprintf(&t, "\nnote: /metadata returned %d (Lightbox) / %d (Orthanc) instances, expected %d\n", l.metaCount, o.metaCount, *perStudy)
	}
	for _, e := range append(l.errs, o.errs...) {
		fmt.Fprintf(&t, "\nerror: %s\n", e)
	}
	fmt.Print("\n" + t.String())
	if *out != "" {
		os.WriteFile(*out, []byte(t.String()), 0o644)
	}
	if len(l.errs)+len(o.errs) > 0 {
		os.Exit(1)
	}
}
