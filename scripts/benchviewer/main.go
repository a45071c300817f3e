// Command benchviewer measures the built-in viewer in headless Chromium
// against two DICOMweb back ends on the same synthetic study: Lightbox's own
// /dicom-web and another server's (Orthanc's DICOMweb plugin). It
//
//  1. makes a CT series of -slices instances from one template file (new
//     UIDs, Instance Number and Image Position Patient per slice) and stores
//     it into both servers with STOW-RS;
//  2. starts two identical reverse proxies on loopback that serve the viewer
//     page and its assets from Lightbox, and /dicom-web from Lightbox for
//     one and from the other server for the other (same origin, so the page
//     needs no CORS, and both paths pay the same proxy cost);
//  3. runs test/browser/bench-viewer.mjs, which searches the study on the
//     home page, clicks it, and reads the viewer's performance marks: first
//     image drawn and whole series in the cache, after the click; each run
//     in a fresh browser profile (cold HTTP cache), targets alternating.
//
// It prints a Markdown table (medians over -runs). scripts/bench-viewer.sh
// starts the servers inside a private network namespace and runs it.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
)

const uidRoot = "1.2.826.0.1.3680043.2.1143.9."

var (
	tagInstanceNumber       = dicom.Tag(0x00200013)
	tagImagePositionPatient = dicom.Tag(0x00200032)
	tagSliceLocation        = dicom.Tag(0x00201041)
	tagStudyDescription     = dicom.Tag(0x00081030)
	tagFrameOfReference     = dicom.Tag(0x00200052)
)

func main() {
	template := flag.String("template", "", "template DICOM file (an uncompressed CT slice)")
	lightbox := flag.String("lightbox", "http://127.0.0.1:18080", "Lightbox base URL (viewer at /, DICOMweb at /dicom-web)")
	other := flag.String("orthanc", "http://127.0.0.1:18042/dicom-web", "the other server's DICOMweb root")
	nSlices := flag.Int("slices", 500, "slices in the series")
	runs := flag.Int("runs", 3, "runs per server")
	chromium := flag.String("chromium", "/usr/bin/chromium", "Chromium executable")
	viewerDir := flag.String("viewer-dir", "web/viewer", "the viewer's npm directory (playwright-core)")
	script := flag.String("script", "test/browser/bench-viewer.mjs", "the browser script")
	out := flag.String("out", "", "also write the table to this file")
	flag.Parse()
	if *template == "" {
		log.Fatal("benchviewer: -template is required")
	}
	run := strconv.FormatInt(time.Now().Unix(), 10)
	series, err := makeSeries(*template, run, *nSlices)
	if err != nil {
		log.Fatal(err)
	}
	var size int64
	for _, b := range series.instances {
		size += int64(len(b))
	}
	fmt.Printf("series: %d slices, %.1f MB, patient %s\n", len(series.instances), float64(size)/1e6, series.patientID)
	for _, t := range []struct{ name, root string }{{"Lightbox", strings.TrimRight(*lightbox, "/") + "/dicom-web"}, {"Orthanc", *other}} {
		start := time.Now()
		if err := stowAll(t.root, series.instances); err != nil {
			log.Fatalf("benchviewer: store into %s: %v", t.name, err)
		}
		fmt.Printf("stored into %s in %s\n", t.name, time.Since(start).Round(time.Millisecond))
	}

	lbURL, err := url.Parse(*lightbox)
	if err != nil {
		log.Fatal(err)
	}
	otherURL, err := url.Parse(*other)
	if err != nil {
		log.Fatal(err)
	}
	lbProxy, err := serveProxy(lbURL, nil)
	if err != nil {
		log.Fatal(err)
	}
	otherProxy, err := serveProxy(lbURL, otherURL)
	if err != nil {
		log.Fatal(err)
	}

	cfg := map[string]any{
		"chromium":  *chromium,
		"viewerDir": *viewerDir,
		"runs":      *runs,
		"patientID": series.patientID,
		"study":     series.study,
		"slices":    len(series.instances),
		"targets": []map[string]string{
			{"name": "Lightbox", "url": lbProxy},
			{"name": "Orthanc", "url": otherProxy},
		},
	}
	js, _ := json.Marshal(cfg)
	cmd := exec.Command("node", *script)
	cmd.Env = append(os.Environ(), "LIGHTBOX_BENCH_VIEWER="+string(js))
	cmd.Stderr = os.Stderr
	var stdout bytes.Buffer
	cmd.Stdout = io.MultiWriter(os.Stderr, &stdout)
	if err := cmd.Run(); err != nil {
		log.Fatalf("benchviewer: %s: %v", *script, err)
	}
	// The script's last line is a JSON object: target -> list of runs.
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var res map[string][]struct {
		FirstImage   float64 `json:"firstImage"`
		SeriesLoaded float64 `json:"seriesLoaded"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		log.Fatalf("benchviewer: script result: %v", err)
	}
	med := func(name string, f func(i int) float64) float64 {
		n := len(res[name])
		v := make([]float64, n)
		for i := range v {
			v[i] = f(i)
		}
		slices.Sort(v)
		if n == 0 {
			return 0
		}
		return v[n/2]
	}
	row := func(name string) (float64, float64) {
		return med(name, func(i int) float64 { return res[name][i].FirstImage }),
			med(name, func(i int) float64 { return res[name][i].SeriesLoaded })
	}
	lf, ll := row("Lightbox")
	of, ol := row("Orthanc")
	var tb strings.Builder
	fmt.Fprintf(&tb, "| measure (median of %d, fresh browser profile each) | Lightbox | Orthanc DICOMweb | ratio |\n|---|---:|---:|---:|\n", *runs)
	fmt.Fprintf(&tb, "| click to first image (ms) | %.0f | %.0f | %.1fx |\n", lf, of, of/lf)
	fmt.Fprintf(&tb, "| click to all %d slices loaded (ms) | %.0f | %.0f | %.1fx |\n", len(series.instances), ll, ol, ol/ll)
	fmt.Print("\n" + tb.String())
	if *out != "" {
		if err := os.WriteFile(*out, []byte(tb.String()), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}

type synthSeries struct {
	patientID, study string
	instances        [][]byte
}

// makeSeries writes n slices from the template: one study, one series, one
// frame of reference, slices 1.25 mm apart.
func makeSeries(path, run string, n int) (*synthSeries, error) {
	f, err := dicom.ReadFile(path, dicom.ReadOptions{LoadBulk: true})
	if err != nil {
		return nil, fmt.Errorf("benchviewer: template: %w", err)
	}
	ds := f.Dataset
	s := &synthSeries{patientID: "BENCHVIEWER" + run, study: uidRoot + run + ".1"}
	seriesUID := uidRoot + run + ".2"
	ds.Set(dicom.NewStringElement(dicom.TagPatientID, dicom.LO, s.patientID))
	ds.Set(dicom.NewStringElement(dicom.TagPatientName, dicom.PN, "BENCH^VIEWER"))
	ds.Set(dicom.NewStringElement(dicom.TagStudyInstanceUID, dicom.UI, s.study))
	ds.Set(dicom.NewStringElement(dicom.TagSeriesInstanceUID, dicom.UI, seriesUID))
	ds.Set(dicom.NewStringElement(tagFrameOfReference, dicom.UI, uidRoot+run+".3"))
	ds.Set(dicom.NewStringElement(tagStudyDescription, dicom.LO, "viewer benchmark"))
	for i := 1; i <= n; i++ {
		z := fmt.Sprintf("%.2f", -float64(i)*1.25)
		ds.Set(dicom.NewStringElement(dicom.TagSOPInstanceUID, dicom.UI, uidRoot+run+".4."+strconv.Itoa(i)))
		ds.Set(dicom.NewStringElement(tagInstanceNumber, dicom.IS, strconv.Itoa(i)))
		ds.Set(dicom.NewStringElement(tagImagePositionPatient, dicom.DS, "-250", "-250", z))
		ds.Set(dicom.NewStringElement(tagSliceLocation, dicom.DS, z))
		var b bytes.Buffer
		if err := dicom.WriteFile(&b, ds, dicom.ExplicitVRLittleEndian, dicom.WriteOptions{}); err != nil {
			return nil, fmt.Errorf("benchviewer: write slice %d: %w", i, err)
		}
		s.instances = append(s.instances, b.Bytes())
	}
	return s, nil
}

// stowAll stores the instances with STOW-RS, 25 per request.
func stowAll(root string, insts [][]byte) error {
	for len(insts) > 0 {
		n := min(25, len(insts))
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		for _, b := range insts[:n] {
			pw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/dicom"}})
			if err != nil {
				return err
			}
			pw.Write(b)
		}
		mw.Close()
		req, err := http.NewRequest(http.MethodPost, root+"/studies", &body)
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", `multipart/related; type="application/dicom"; boundary=`+mw.Boundary())
		req.Header.Set("Accept", "application/dicom+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("STOW-RS: %s: %.300s", resp.Status, msg)
		}
		insts = insts[n:]
	}
	return nil
}

// serveProxy listens on a free loopback port and forwards every request to
// lightbox, except /dicom-web/... which goes to dicomweb when it is set.
func serveProxy(lightbox, dicomweb *url.URL) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	transport := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
	rp := &httputil.ReverseProxy{
		Transport: transport,
		Rewrite: func(r *httputil.ProxyRequest) {
			if dicomweb != nil && (r.In.URL.Path == "/dicom-web" || strings.HasPrefix(r.In.URL.Path, "/dicom-web/")) {
				r.Out.URL.Scheme = dicomweb.Scheme
				r.Out.URL.Host = dicomweb.Host
				r.Out.URL.Path = strings.TrimRight(dicomweb.Path, "/") + strings.TrimPrefix(r.In.URL.Path, "/dicom-web")
				r.Out.URL.RawPath = ""
				r.Out.Host = dicomweb.Host
				return
			}
			r.SetURL(lightbox)
		},
		FlushInterval: -1,
	}
	go http.Serve(ln, rp)
	return "http://" + ln.Addr().String(), nil
}
