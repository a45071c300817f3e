// Command gen generates the tables of package dict (zz_generated_*.go) from
// the DICOM standard extracts in shared/dicom-standard. Run it through
// `go generate ./dicom/dict`; see package dictgen for the rules.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/lightbox-pacs/lightbox/dicom/dict/internal/gen/dictgen"
)

func main() {
	src := flag.String("src", "../../../shared/dicom-standard", "directory holding the DICOM standard extracts")
	out := flag.String("out", ".", "directory to write the generated files into")
	verbose := flag.Bool("v", false, "list the entries taken from innolitics and the innolitics entries not used")
	flag.Parse()

	files, st, err := dictgen.Generate(*src)
	if err == nil {
		err = dictgen.WriteFiles(*out, files)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("component", "dict/gen")
	log.Info("generated",
		"public", st.Exact, "repeaters", st.Repeaters, "uids", st.UIDs,
		"creators", st.Creators, "private", st.PrivateEntries,
		"from_innolitics", len(st.FromInnolitics), "innolitics_differ", st.InnoliticsDiffer,
		"innolitics_unusable", len(st.InnoliticsUnusable),
		"private_fixed_block_used", st.PrivateFixedBlockUsed,
		"private_fixed_block_dropped", st.PrivateFixedBlockDropped,
		"private_creator_range_dropped", st.PrivateCreatorRange,
		"private_block_wildcard_dropped", st.PrivateBlockWildcard)
	if *verbose {
		for _, s := range st.FromInnolitics {
			log.Info("added from innolitics", "tag", s)
		}
		for _, s := range st.InnoliticsUnusable {
			log.Info("innolitics entry not usable", "entry", s)
		}
	}
}
