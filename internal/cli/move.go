package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/ul"
)

func init() {
	register("move", Command{Summary: "ask a DICOM peer to send instances elsewhere with C-MOVE (like movescu)", Run: runMove})
}

func runMove(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("move", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var df dimseFlags
	df.register(fs)
	var qf qrFlags
	qf.register(fs, "STUDY")
	var dest string
	fs.StringVar(&dest, "dest", "", "move destination AE title (required; the peer must know it)")
	fs.StringVar(&dest, "aem", "", "same as --dest (DCMTK's name)")
	quiet := fs.Bool("q", false, "no progress lines")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: lightbox move --dest AE [options] HOST PORT\n\n"+
			"Sends a C-MOVE asking the peer to send the instances the -k keys select to the\n"+
			"destination AE, and reports the sub-operations as they progress.\n"+
			"Example: lightbox move --dest WORKSTATION -k StudyInstanceUID=1.2.3 pacs 104\n\nOptions:")
		fs.PrintDefaults()
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return 2
	}
	addr, err := onlyPeer(pos)
	if err == nil && dest == "" {
		err = errors.New("--dest is required")
	}
	if err == nil {
		err = ul.ValidateAETitle(dest)
	}
	if err != nil {
		return exitUsage(fs, stderr, err)
	}
	model, ident, err := qf.request(dimse.ServiceMove)
	if err != nil {
		return exitUsage(fs, stderr, err)
	}
	cfg, err := df.clientConfig(stderr)
	if err != nil {
		return exitUsage(fs, stderr, err)
	}
	cfg.Contexts = dimse.QueryRetrieveContexts(model)
	cfg.ExtendedNegotiations = qf.extendedNegotiation(model)
	c, err := dialPeer(ctx, addr, cfg, &df, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "lightbox move: %v\n", err)
		return 1
	}
	defer c.Close()
	start := time.Now()
	progress := func(so dimse.SubOperations) {
		if !*quiet {
			fmt.Fprintf(stderr, "  %s\n", subOpsText(so))
		}
	}
	res, err := c.Move(ctx, model, dest, ident, progress)
	return retrieveSummary(stdout, stderr, "move", fmt.Sprintf("C-MOVE to %s", dest), res, err, time.Since(start))
}

// subOpsText describes sub-operation counts.
func subOpsText(so dimse.SubOperations) string {
	return fmt.Sprintf("completed %d, warning %d, failed %d, remaining %d", so.Completed, so.Warning, so.Failed, so.Remaining)
}

// retrieveSummary prints the outcome of a C-MOVE or C-GET and returns the
// exit code: 0 when every sub-operation succeeded (warnings included).
func retrieveSummary(stdout, stderr io.Writer, cmd, what string, res dimse.RetrieveResult, err error, el time.Duration) int {
	n := int(res.SubOps.Completed) + int(res.SubOps.Warning)
	rate := float64(n) / max(el.Seconds(), 1e-9)
	if res.Status != 0 || err == nil {
		fmt.Fprintf(stdout, "%s: %s; %s in %s (%.1f instances/s)\n", what, statusText(res.Status, res.ErrorComment),
			subOpsText(res.SubOps), el.Round(time.Millisecond), rate)
	}
	for _, uid := range res.FailedSOPInstanceUIDs {
		fmt.Fprintf(stdout, "  failed: %s\n", uid)
	}
	if err != nil {
		fmt.Fprintf(stderr, "lightbox %s: %v\n", cmd, err)
		return 1
	}
	if res.Status.IsFailure() || res.SubOps.Failed > 0 || res.Status == dimse.StatusCancel {
		return 1
	}
	return 0
}
