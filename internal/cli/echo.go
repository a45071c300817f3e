package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/lightbox-pacs/lightbox/dimse"
)

func init() {
	register("echo", Command{Summary: "verify a DICOM peer with C-ECHO (like echoscu)", Run: runEcho})
}

func runEcho(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("echo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var df dimseFlags
	df.register(fs)
	repeat := fs.Int("repeat", 1, "send N C-ECHO requests on the association")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: lightbox echo [options] HOST PORT\n\nSends C-ECHO to the peer and reports the status and round trip.\n\nOptions:")
		fs.PrintDefaults()
	}
	pos, err := parseArgs(fs, args)
	if err != nil {
		return 2
	}
	addr, err := onlyPeer(pos)
	if err == nil && *repeat < 1 {
		err = fmt.Errorf("-repeat %d: at least 1", *repeat)
	}
	if err != nil {
		return exitUsage(fs, stderr, err)
	}
	cfg, err := df.clientConfig(stderr)
	if err != nil {
		return exitUsage(fs, stderr, err)
	}
	cfg.Contexts = dimse.VerificationContexts()

	dctx, cancel := context.WithTimeout(ctx, df.connectTimeout)
	start := time.Now()
	c, err := dimse.Dial(dctx, addr, cfg)
	cancel()
	if err != nil {
		fmt.Fprintf(stderr, "lightbox echo: %v\n", err)
		return 1
	}
	defer c.Close()
	if df.verbose {
		describeAssociation(stdout, c)
		fmt.Fprintf(stdout, "  associated in %s\n", time.Since(start).Round(time.Microsecond))
	}
	status := 0
	for i := 0; i < *repeat; i++ {
		t := time.Now()
		err := c.Echo(ctx)
		rtt := time.Since(t).Round(time.Microsecond)
		if err != nil {
			fmt.Fprintf(stderr, "lightbox echo: C-ECHO to %s at %s: %v\n", cfg.CalledAE, addr, err)
			status = 1
			if c.Association().Err() != nil {
				return 1
			}
			continue
		}
		fmt.Fprintf(stdout, "C-ECHO to %s at %s: %s in %s\n", cfg.CalledAE, addr, dimse.StatusSuccess, rtt)
	}
	if err := c.Release(ctx); err != nil {
		fmt.Fprintf(stderr, "lightbox echo: release: %v\n", err)
		return 1
	}
	return status
}
