package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/ul"
)

func init() {
	register("get", Command{Summary: "retrieve instances from a DICOM peer with C-GET (like getscu)", Run: runGet})
}

// commonStorageClasses are proposed for C-GET when the SOP classes to
// expect cannot be learnt with a C-FIND first.
var commonStorageClasses = []string{
	"1.2.840.10008.5.1.4.1.1.1",        // CR
	"1.2.840.10008.5.1.4.1.1.1.1",      // DX presentation
	"1.2.840.10008.5.1.4.1.1.1.1.1",    // DX processing
	"1.2.840.10008.5.1.4.1.1.1.2",      // MG presentation
	"1.2.840.10008.5.1.4.1.1.1.2.1",    // MG processing
	"1.2.840.10008.5.1.4.1.1.2",        // CT
	"1.2.840.10008.5.1.4.1.1.2.1",      // Enhanced CT
	"1.2.840.10008.5.1.4.1.1.3.1",      // US multi-frame
	"1.2.840.10008.5.1.4.1.1.4",        // MR
	"1.2.840.10008.5.1.4.1.1.4.1",      // Enhanced MR
	"1.2.840.10008.5.1.4.1.1.6.1",      // US
	"1.2.840.10008.5.1.4.1.1.7",        // SC
	"1.2.840.10008.5.1.4.1.1.7.2",      // SC multi-frame grayscale byte
	"1.2.840.10008.5.1.4.1.1.7.4",      // SC multi-frame true colour
	"1.2.840.10008.5.1.4.1.1.11.1",     // GSPS
	"1.2.840.10008.5.1.4.1.1.12.1",     // XA
	"1.2.840.10008.5.1.4.1.1.12.2",     // RF
	"1.2.840.10008.5.1.4.1.1.20",       // NM
	"1.2.840.10008.5.1.4.1.1.66.4",     // SEG
	"1.2.840.10008.5.1.4.1.1.88.11",    // Basic Text SR
	"1.2.840.10008.5.1.4.1.1.88.22",    // Enhanced SR
	"1.2.840.10008.5.1.4.1.1.88.33",    // Comprehensive SR
	"1.2.840.10008.5.1.4.1.1.104.1",    // Encapsulated PDF
	"1.2.840.10008.5.1.4.1.1.128",      // PET
	"1.2.840.10008.5.1.4.1.1.481.1",    // RT Image
	"1.2.840.10008.5.1.4.1.1.481.2",    // RT Dose
	"1.2.840.10008.5.1.4.1.1.481.3",    // RT Structure Set
	"1.2.840.10008.5.1.4.1.1.481.5",    // RT Plan
	"1.2.840.10008.5.1.4.1.1.77.1.4",   // VL Photographic
	"1.2.840.10008.5.1.4.1.1.77.1.6",   // VL Whole Slide Microscopy
	"1.2.840.10008.5.1.4.1.1.9.1.1",    // 12-lead ECG
	"1.2.840.10008.5.1.4.1.1.30",       // Parametric Map
	"1.2.840.10008.5.1.4.1.1.2.2",      // Legacy converted enhanced CT
	"1.2.840.10008.5.1.4.1.1.4.4",      // Legacy converted enhanced MR
	"1.2.840.10008.5.1.4.1.1.130",      // Enhanced PET
	"1.2.840.10008.5.1.4.1.1.13.1.3",   // Breast tomosynthesis
	"1.2.840.10008.5.1.4.1.1.6.2",      // Enhanced US volume
	"1.2.840.10008.5.1.4.1.1.481.4",    // RT Beams Treatment Record
	"1.2.840.10008.5.1.4.1.1.88.34",    // Comprehensive 3D SR
	"1.2.840.10008.5.1.4.1.1.11.2",     // Colour softcopy PS
	"1.2.840.10008.5.1.4.1.1.66",       // Raw data
	"1.2.840.10008.5.1.4.1.1.77.1.1",   // VL Endoscopic
	"1.2.840.10008.5.1.4.1.1.77.1.5.1", // Ophthalmic 8 bit
}

// syntaxList collects repeated --xfer options.
type syntaxList []string

func (s *syntaxList) String() string     { return strings.Join(*s, ",") }
func (s *syntaxList) Set(v string) error { *s = append(*s, strings.Split(v, ",")...); return nil }

// compressedSyntaxes are what --xfer all adds.
var compressedSyntaxes = []string{
	dicom.JPEGLosslessSV1, dicom.JPEGBaseline8Bit, dicom.JPEGExtended12Bit, dicom.JPEGLSLossless, dicom.JPEGLSNearLossless,
	dicom.JPEG2000Lossless, dicom.JPEG2000, dicom.RLELossless, dicom.DeflatedExplicitVRLittleEndian,
}

// getStore writes each instance received by C-GET into a directory.
type getStore struct {
	dir     string
	n       atomic.Int64
	bytes   atomic.Int64
	verbose bool
	out     io.Writer
}

// Store implements dimse.StoreHandler: the instance goes to a temporary
// file, renamed to <SOP Instance UID>.dcm once complete.
func (g *getStore) Store(ctx context.Context, req *dimse.StoreRequest, data io.Reader) dimse.Result {
	name := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r == '.' {
			return r
		}
		return '_'
	}, req.SOPInstanceUID)
	if name == "" {
		name = "instance"
	}
	f, err := os.CreateTemp(g.dir, ".get-*")
	if err != nil {
		return dimse.Result{Status: dimse.StatusOutOfResources, ErrorComment: err.Error()}
	}
	fail := func(err error) dimse.Result {
		f.Close()
		os.Remove(f.Name())
		return dimse.Result{Status: dimse.StatusOutOfResources, ErrorComment: err.Error()}
	}
	n, err := io.Copy(f, req.Part10(data))
	if err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(f.Name(), filepath.Join(g.dir, name+".dcm")); err != nil {
		return fail(err)
	}
	g.n.Add(1)
	g.bytes.Add(n)
	if g.verbose {
		fmt.Fprintf(g.out, "  received %s (%s, %s)\n", req.SOPInstanceUID, uidName(req.SOPClassUID), uidName(req.TransferSyntax))
	}
	return dimse.Result{}
}

func runGet(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("get", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var df dimseFlags
	df.register(fs)
	var qf qrFlags
	qf.register(fs, "STUDY")
	out := fs.String("out", ".", "directory to write the received instances to (as <SOP Instance UID>.dcm)")
	fs.StringVar(out, "od", ".", "same as --out (DCMTK's name)")
	var xfer syntaxList
	fs.Var(&xfer, "xfer", "also accept instances in this transfer syntax `UID` (repeatable, comma-separated; \"all\" for the usual compressed ones)")
	probe := fs.Bool("probe", true, "learn the SOP classes to expect with a C-FIND first (else propose common ones)")
	quiet := fs.Bool("q", false, "no progress lines")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: lightbox get [options] HOST PORT\n\n"+
			"Sends a C-GET for the instances the -k keys select and writes what the peer sends\n"+
			"back on the association into --out. Uncompressed transfer syntaxes are accepted;\n"+
			"--xfer adds others.\n"+
			"Example: lightbox get --out study/ -k StudyInstanceUID=1.2.3 pacs 104\n\nOptions:")
		fs.PrintDefaults()
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return 2
	}
	addr, err := onlyPeer(pos)
	if err != nil {
		return exitUsage(fs, stderr, err)
	}
	model, ident, err := qf.request(dimse.ServiceGet)
	if err != nil {
		return exitUsage(fs, stderr, err)
	}
	var extra []string
	for _, ts := range xfer {
		if ts == "all" {
			extra = append(extra, compressedSyntaxes...)
		} else if ts = strings.TrimSpace(ts); ts != "" {
			extra = append(extra, ts)
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(stderr, "lightbox get: %v\n", err)
		return 1
	}
	cfg, err := df.clientConfig(stderr)
	if err != nil {
		return exitUsage(fs, stderr, err)
	}
	classes := commonStorageClasses
	if *probe {
		if found, err := probeClasses(ctx, addr, cfg, &qf, ident); err != nil {
			if df.verbose {
				fmt.Fprintf(stdout, "C-FIND probe failed (%v): proposing common SOP classes\n", err)
			}
		} else if len(found) > 0 {
			classes = found
		}
	}
	cfg.Contexts, cfg.Roles = getContexts(model, classes, extra)
	cfg.ExtendedNegotiations = qf.extendedNegotiation(model)
	c, err := dialPeer(ctx, addr, cfg, &df, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "lightbox get: %v\n", err)
		return 1
	}
	defer c.Close()
	store := &getStore{dir: *out, verbose: df.verbose, out: stdout}
	start := time.Now()
	progress := func(so dimse.SubOperations) {
		if !*quiet {
			fmt.Fprintf(stderr, "  %s\n", subOpsText(so))
		}
	}
	res, err := c.Get(ctx, model, ident, store, progress)
	code := retrieveSummary(stdout, stderr, "get", "C-GET", res, err, time.Since(start))
	fmt.Fprintf(stdout, "wrote %d file(s), %s, into %s\n", store.n.Load(), fmtBytes(store.bytes.Load()), *out)
	return code
}

// getContexts proposes, within the 128 presentation contexts an
// association holds, the C-GET model and for each SOP class one context in
// the uncompressed syntaxes plus one per extra syntax, with the SCP role.
func getContexts(model string, classes, extra []string) ([]ul.ContextRQ, []ul.RoleSelection) {
	ctxs := dimse.QueryRetrieveContexts(model)
	perClass := 1 + len(extra)
	if max := (128 - len(ctxs)) / perClass; len(classes) > max {
		classes = classes[:max]
	}
	sc, roles := dimse.GetContexts(classes, nil)
	ctxs = append(ctxs, sc...)
	for _, ts := range extra {
		for _, class := range classes {
			ctxs = append(ctxs, ul.ContextRQ{AbstractSyntax: class, TransferSyntaxes: []string{ts}})
		}
	}
	return ctxs, roles
}

// probeClasses asks the peer, on a separate association, for the SOP
// classes of the instances the identifier selects.
func probeClasses(ctx context.Context, addr string, cfg dimse.ClientConfig, qf *qrFlags, ident *dicom.Dataset) ([]string, error) {
	model, err := qf.model(dimse.ServiceFind)
	if err != nil {
		return nil, err
	}
	cfg.Contexts = dimse.QueryRetrieveContexts(model)
	cfg.ExtendedNegotiations = nil
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, err := dimse.Dial(dctx, addr, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	q := dicom.NewDataset()
	for _, e := range ident.Elements {
		q.Set(e)
	}
	q.Set(dicom.NewStringElement(tagQueryRetrieveLevel, dicom.CS, "IMAGE"))
	q.Set(dicom.NewStringElement(dicom.TagSOPClassUID, dicom.UI))
	seen := map[string]bool{}
	var out []string
	for ds, err := range c.Find(dctx, model, q) {
		if err != nil {
			return nil, err
		}
		if cl := ds.String(dicom.TagSOPClassUID); cl != "" && !seen[cl] {
			seen[cl] = true
			out = append(out, cl)
		}
	}
	return out, nil
}
