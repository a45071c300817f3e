package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/lightbox-pacs/lightbox/internal/config"
	"github.com/lightbox-pacs/lightbox/internal/server"
)

func init() {
	register("serve", Command{Summary: "run the PACS: DIMSE and HTTP (DICOMweb, API, viewer) in one process", Run: runServe})
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// Flags override the environment, which overrides the file: find the
	// file first, then parse the flags over what it and the environment set.
	cfg, err := config.Load(configPath(args))
	if err != nil {
		fmt.Fprintln(stderr, "lightbox serve:", err)
		return 1
	}
	if err := cfg.ApplyEnv(os.Getenv); err != nil {
		fmt.Fprintln(stderr, "lightbox serve:", err)
		return 1
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.String("config", "", "JSON configuration file (defaults apply to what it leaves out; also LIGHTBOX_CONFIG)")
	cfg.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		fmt.Fprintln(stderr, "lightbox serve: log level:", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	stopIsolation, err := startCodecIsolation(log)
	if err != nil {
		fmt.Fprintln(stderr, "lightbox serve:", err)
		return 2
	}
	defer stopIsolation()
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "lightbox serve:", err)
		return 1
	}
	if err := srv.Run(ctx); err != nil {
		fmt.Fprintln(stderr, "lightbox serve:", err)
		return 1
	}
	return 0
}

// configPath finds -config/--config among the arguments, else LIGHTBOX_CONFIG.
func configPath(args []string) string {
	for i, a := range args {
		for _, name := range []string{"-config", "--config"} {
			if a == name && i+1 < len(args) {
				return args[i+1]
			}
			if v, ok := strings.CutPrefix(a, name+"="); ok {
				return v
			}
		}
	}
	return os.Getenv("LIGHTBOX_CONFIG")
}
