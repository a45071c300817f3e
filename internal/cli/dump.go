package cli

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
	"github.com/lightbox-pacs/lightbox/dicom/dict"
)

func init() {
	register("dump", Command{Summary: "print the elements of DICOM files (like dcmdump; --json for DICOM JSON)", Run: runDump})
}

func runDump(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dump", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print DICOM JSON (PS3.18 F.2) instead of a listing")
	bulk := fs.Bool("bulk", false, "with --json, inline bulk values (Pixel Data) as base64")
	maxLen := fs.Int("w", 64, "longest value shown in the listing, in characters (0: all)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: lightbox dump [--json] FILE...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	status := 0
	for _, path := range fs.Args() {
		if err := dumpFile(out, path, *asJSON, *bulk, *maxLen); err != nil {
			out.Flush()
			fmt.Fprintf(stderr, "lightbox dump: %s: %v\n", path, err)
			status = 1
		}
	}
	return status
}

func dumpFile(w *bufio.Writer, path string, asJSON, bulk bool, maxLen int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	file, err := dicom.Read(f, st.Size(), dicom.ReadOptions{})
	if asJSON {
		if file == nil || file.Dataset == nil {
			return err
		}
		if err != nil {
			return err
		}
		opts := dicomjson.Options{OmitBulk: !bulk}
		if bulk {
			opts.Bulk = f
			opts.BulkDataURI = func(e *dicom.Element) string {
				if e.IsEncapsulated() {
					return fmt.Sprintf("file://%s?offset=%d", path, e.Fragments[0].Offset)
				}
				return ""
			}
		}
		b, jerr := dicomjson.Marshal(file.Dataset, opts)
		if jerr != nil {
			return jerr
		}
		w.Write(b)
		w.WriteByte('\n')
		return nil
	}
	fmt.Fprintf(w, "# File: %s (%d bytes)\n", path, st.Size())
	if file != nil {
		if file.Meta != nil {
			fmt.Fprintln(w, "# File Meta Information")
			dumpDataset(w, file.Meta, 0, maxLen)
		} else {
			fmt.Fprintln(w, "# No File Meta Information")
		}
		name := file.TransferSyntax
		if u, ok := dict.LookupUID(file.TransferSyntax); ok {
			name = u.Name + " (" + u.UID + ")"
		}
		fmt.Fprintf(w, "# Data set, transfer syntax %s, at offset %d\n", name, file.DatasetOffset)
		if file.Dataset != nil {
			dumpDataset(w, file.Dataset, 0, maxLen)
		}
		for _, warn := range file.Warnings {
			fmt.Fprintf(w, "# warning: %s\n", warn)
		}
	}
	return err
}

func dumpDataset(w *bufio.Writer, ds *dicom.Dataset, depth, maxLen int) {
	indent := strings.Repeat("  ", depth)
	creators := map[dicom.Tag]string{}
	for _, e := range ds.Elements {
		if e.Tag.IsPrivateCreator() {
			creators[e.Tag] = strings.TrimSpace(ds.String(e.Tag))
		}
	}
	for _, e := range ds.Elements {
		name := elementName(e, creators)
		switch {
		case e.IsSequence():
			fmt.Fprintf(w, "%s%s SQ (Sequence, %d items)%s # off=%d %s\n", indent, e.Tag, len(e.Items), lengthNote(e), e.Offset, name)
			for i, it := range e.Items {
				fmt.Fprintf(w, "%s  (FFFE,E000) item %d # off=%d\n", indent, i+1, it.Offset)
				dumpDataset(w, it, depth+2, maxLen)
			}
		case e.IsEncapsulated():
			fmt.Fprintf(w, "%s%s %s (encapsulated, %d fragments incl. offset table) # off=%d %s\n", indent, e.Tag, e.VR, len(e.Fragments), e.Offset, name)
			for i, f := range e.Fragments {
				fmt.Fprintf(w, "%s  (FFFE,E000) fragment %d len=%d off=%d\n", indent, i, f.Length, f.Offset)
			}
		default:
			fmt.Fprintf(w, "%s%s %s %s # len=%d off=%d vm=%d %s\n", indent, e.Tag, e.VR, valueText(ds, e, maxLen), e.Length, e.Offset, vm(ds, e), name)
		}
	}
}

func lengthNote(e *dicom.Element) string {
	if e.Length == dicom.UndefinedLength {
		return " undefined length"
	}
	return fmt.Sprintf(" len=%d", e.Length)
}

func elementName(e *dicom.Element, creators map[dicom.Tag]string) string {
	if e.Tag.IsPrivate() && !e.Tag.IsPrivateCreator() {
		creator := creators[dicom.NewTag(e.Tag.Group(), e.Tag.Element()>>8)]
		if pe, ok := dict.PrivateLookup(creator, e.Tag.Group(), uint8(e.Tag.Element())); ok {
			return fmt.Sprintf("[%s] %s", creator, pe.Name)
		}
		if creator != "" {
			return fmt.Sprintf("[%s] private", creator)
		}
		return "private"
	}
	if e.Tag.IsPrivateCreator() {
		return "PrivateCreator"
	}
	if de, ok := dict.Lookup(uint32(e.Tag)); ok {
		if de.Retired {
			return de.Keyword + " (retired)"
		}
		return de.Keyword
	}
	return "unknown"
}

func vm(ds *dicom.Dataset, e *dicom.Element) int {
	if e.Bulk {
		return 1
	}
	if e.VR.IsString() {
		return len(ds.Strings(e))
	}
	if ws := e.VR.WordSize(); ws > 1 && e.VR != dicom.OW && e.VR != dicom.OF && e.VR != dicom.OD && e.VR != dicom.OL && e.VR != dicom.OV {
		return len(e.Value) / ws
	}
	if len(e.Value) == 0 {
		return 0
	}
	return 1
}

func valueText(ds *dicom.Dataset, e *dicom.Element, maxLen int) string {
	var s string
	switch {
	case e.Bulk:
		return fmt.Sprintf("(bulk, %d bytes not loaded)", e.Length)
	case e.VR.IsString():
		s = "[" + strings.Join(ds.Strings(e), `\`) + "]"
	case e.VR == dicom.AT:
		ints, _ := ds.Ints(e)
		parts := make([]string, len(ints))
		for i, v := range ints {
			parts[i] = dicom.Tag(v).String()
		}
		s = strings.Join(parts, `\`)
	case e.VR == dicom.US || e.VR == dicom.SS || e.VR == dicom.UL || e.VR == dicom.SL || e.VR == dicom.UV || e.VR == dicom.SV || e.VR == dicom.FL || e.VR == dicom.FD:
		vals := ds.Values(e)
		parts := make([]string, len(vals))
		for i, v := range vals {
			parts[i] = fmt.Sprint(v)
		}
		s = strings.Join(parts, `\`)
	default:
		var b strings.Builder
		for i, c := range e.Value {
			if i == 32 {
				b.WriteString("...")
				break
			}
			if i > 0 {
				b.WriteByte('\\')
			}
			fmt.Fprintf(&b, "%02x", c)
		}
		s = b.String()
	}
	if s == "" || s == "[]" {
		return "(no value)"
	}
	if maxLen > 0 && utf8.RuneCountInString(s) > maxLen {
		r := []rune(s)
		s = string(r[:maxLen]) + "..."
	}
	return s
}
