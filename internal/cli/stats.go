package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
)

func init() {
	register("stats", Command{Summary: "count patients, studies, series, instances and bytes per modality", Run: RunStats})
}

// RunStats implements `lightbox stats`: the size of the archive from its
// index (counts are maintained there, not recomputed).
func RunStats(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("stats", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var sf storeFlags
	sf.register(fl)
	asJSON := fl.Bool("json", false, "print JSON")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "Usage: lightbox stats [options]\n\nOptions:")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() != 0 {
		fl.Usage()
		return 2
	}
	st, err := sf.open(ctx, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "lightbox stats:", err)
		return 1
	}
	defer st.Close()
	s, err := st.idx.Stats(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "lightbox stats:", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(s); err != nil {
			fmt.Fprintln(stderr, "lightbox stats:", err)
			return 1
		}
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "patients\t%d\t\n", s.Patients)
	fmt.Fprintf(tw, "studies\t%d\t\n", s.Studies)
	fmt.Fprintf(tw, "series\t%d\t\n", s.Series)
	fmt.Fprintf(tw, "instances\t%d\t\n", s.Instances)
	fmt.Fprintf(tw, "bytes\t%s\t\n", fmtBytes(s.Bytes))
	tw.Flush()
	if len(s.Modalities) == 0 {
		return 0
	}
	fmt.Fprintln(stdout)
	tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "modality\tseries\tinstances\tbytes\t")
	for _, m := range s.Modalities {
		name := m.Modality
		if name == "" {
			name = "(none)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t\n", name, m.Series, m.Instances, fmtBytes(m.Bytes))
	}
	tw.Flush()
	return 0
}
