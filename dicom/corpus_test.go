package dicom_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// manifestRow is one line of the corpus MANIFEST.tsv.
type manifestRow struct {
	Path, Category, Notes, TransferSyntax, Charset string
	Size                                           int64
}

func (m manifestRow) pydicomOK() bool { return strings.Contains(m.Notes, "pydicom:ok") }
func (m manifestRow) dcmdumpOK() bool { return strings.Contains(m.Notes, "dcmdump:ok") }

// mustParse says whether a file is one that a reader must accept: outside
// malformed/, read by pydicom or by DCMTK.
func (m manifestRow) mustParse() bool {
	return m.Category != "malformed" && (m.pydicomOK() || m.dcmdumpOK())
}

func loadManifest(t testing.TB) (string, []manifestRow) {
	dir := testenv.CorpusDir(t)
	f, err := os.Open(filepath.Join(dir, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var rows []manifestRow
	var cols map[string]int
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if cols == nil {
			cols = map[string]int{}
			for i, c := range fields {
				cols[c] = i
			}
			continue
		}
		get := func(name string) string {
			if i, ok := cols[name]; ok && i < len(fields) {
				return fields[i]
			}
			return ""
		}
		var size int64
		fmt.Sscan(get("size_bytes"), &size)
		p := get("path")
		rows = append(rows, manifestRow{Path: p, Category: strings.SplitN(p, "/", 2)[0], Notes: get("notes"),
			TransferSyntax: get("transfer_syntax_uid"), Charset: get("charset"), Size: size})
	}
	if len(rows) < 200 {
		t.Fatalf("manifest lists only %d files", len(rows))
	}
	return dir, rows
}

// sampled returns every row, or under the race detector every fifth row
// and all malformed ones (scripts/test.sh runs the full set without it).
func sampled(rows []manifestRow) []manifestRow {
	if !raceEnabled {
		return rows
	}
	var out []manifestRow
	for i, r := range rows {
		if i%5 == 0 || r.Category == "malformed" {
			out = append(out, r)
		}
	}
	return out
}

// readGuarded reads one file with a time limit, turning a panic into an
// error, and returns the bytes allocated while reading.
func readGuarded(path string, opts dicom.ReadOptions, stream bool) (f *dicom.File, err error, alloc uint64) {
	type result struct {
		f     *dicom.File
		err   error
		alloc uint64
	}
	done := make(chan result, 1)
	go func() {
		var res result
		defer func() {
			if p := recover(); p != nil {
				res.err = fmt.Errorf("PANIC: %v", p)
			}
			done <- res
		}()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if stream {
			data, rerr := os.ReadFile(path)
			if rerr != nil {
				res.err = rerr
				return
			}
			runtime.ReadMemStats(&before)
			// A plain io.Reader of unknown size, as a network peer gives it.
			res.f, res.err = dicom.Read(io.MultiReader(bytes.NewReader(data)), -1, opts)
		} else {
			res.f, res.err = dicom.ReadFile(path, opts)
		}
		runtime.ReadMemStats(&after)
		res.alloc = after.TotalAlloc - before.TotalAlloc
	}()
	select {
	case r := <-done:
		return r.f, r.err, r.alloc
	case <-time.After(20 * time.Second):
		return nil, errors.New("HANG: no result after 20 s"), 0
	}
}

// TestCorpus reads every corpus file three ways (header only from a file,
// everything from a file, everything from an unsized stream) and checks that
// none panics, hangs or allocates far beyond its size, that the files a
// reader must accept are accepted, and that broken ones are refused with an
// error that says where, or accepted only with warnings.
func TestCorpus(t *testing.T) {
	dir, rows := loadManifest(t)
	for _, row := range sampled(rows) {
		path := filepath.Join(dir, row.Path)
		for _, mode := range []struct {
			name   string
			opts   dicom.ReadOptions
			stream bool
		}{
			{"header", dicom.ReadOptions{}, false},
			{"full", dicom.ReadOptions{LoadBulk: true}, false},
			{"stream", dicom.ReadOptions{LoadBulk: true}, true},
		} {
			f, err, alloc := readGuarded(path, mode.opts, mode.stream)
			if err != nil && (strings.HasPrefix(err.Error(), "PANIC") || strings.HasPrefix(err.Error(), "HANG")) {
				t.Errorf("%s [%s]: %v", row.Path, mode.name, err)
				continue
			}
			// Header-only reading may hold the file's bytes a few times over
			// (buffers); loading everything about twice. Never what a header claims.
			limit := uint64(4*row.Size) + 1<<20
			if mode.stream {
				limit += uint64(2 * row.Size)
			}
			if alloc > limit {
				t.Errorf("%s [%s]: allocated %d bytes for a %d-byte file", row.Path, mode.name, alloc, row.Size)
			}
			switch {
			case row.mustParse() && err != nil:
				t.Errorf("%s [%s]: must parse, got %v", row.Path, mode.name, err)
			case row.Category == "malformed" && err == nil && len(f.Warnings) == 0:
				t.Errorf("%s [%s]: broken file accepted without a warning", row.Path, mode.name)
			case err != nil:
				var pe *dicom.ParseError
				if !errors.As(err, &pe) && !strings.Contains(err.Error(), "dicom:") {
					t.Errorf("%s [%s]: error %q is not a dicom.ParseError", row.Path, mode.name, err)
				}
			}
			if err == nil && f.Dataset == nil {
				t.Errorf("%s [%s]: no data set and no error", row.Path, mode.name)
			}
		}
	}
}

// TestCorpusTransferSyntax checks that the reader finds the transfer
// syntax pydicom reported for every file with File Meta.
func TestCorpusTransferSyntax(t *testing.T) {
	dir, rows := loadManifest(t)
	for _, row := range rows {
		if row.TransferSyntax == "" || !row.mustParse() {
			continue
		}
		f, err := dicom.ReadFile(filepath.Join(dir, row.Path), dicom.ReadOptions{})
		if err != nil {
			t.Errorf("%s: %v", row.Path, err)
			continue
		}
		if f.TransferSyntax != row.TransferSyntax && !hasWarning(f, "File Meta element") {
			t.Errorf("%s: transfer syntax %q, manifest says %q", row.Path, f.TransferSyntax, row.TransferSyntax)
		}
	}
}

func hasWarning(f *dicom.File, substr string) bool {
	for _, w := range f.Warnings {
		if strings.Contains(w, substr) {
			return true
		}
	}
	return false
}

// TestCorpusWriteRoundTrip rewrites every readable corpus file in Explicit
// VR Little Endian (native pixel data) or its own syntax (encapsulated)
// and reads it back: the same elements with the same values must come out.
func TestCorpusWriteRoundTrip(t *testing.T) {
	dir, rows := loadManifest(t)
	for _, row := range sampled(rows) {
		if !row.mustParse() || row.Category == "dicomdir" {
			continue
		}
		path := filepath.Join(dir, row.Path)
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		orig, err := dicom.Read(bytes.NewReader(src), int64(len(src)), dicom.ReadOptions{})
		if err != nil {
			t.Errorf("%s: %v", row.Path, err)
			continue
		}
		ts := dicom.ExplicitVRLittleEndian
		if pd := orig.Dataset.Get(dicom.TagPixelData); pd != nil && pd.IsEncapsulated() {
			ts = orig.TransferSyntax
		}
		var out bytes.Buffer
		if err := dicom.WriteFile(&out, orig.Dataset, ts, dicom.WriteOptions{Bulk: bytes.NewReader(src)}); err != nil {
			t.Errorf("%s: write: %v", row.Path, err)
			continue
		}
		back, err := dicom.Read(bytes.NewReader(out.Bytes()), int64(out.Len()), dicom.ReadOptions{LoadBulk: true})
		if err != nil {
			t.Errorf("%s: re-read: %v", row.Path, err)
			continue
		}
		full, _ := dicom.Read(bytes.NewReader(src), int64(len(src)), dicom.ReadOptions{LoadBulk: true})
		if diff := compareDatasets(full.Dataset, back.Dataset, ""); diff != "" {
			t.Errorf("%s: round trip differs: %s", row.Path, diff)
		}
	}
}

// compareDatasets returns the first difference in tags, values or items.
func compareDatasets(a, b *dicom.Dataset, where string) string {
	if a.Len() != b.Len() {
		return fmt.Sprintf("%s: %d elements vs %d", where, a.Len(), b.Len())
	}
	for i, ea := range a.Elements {
		eb := b.Elements[i]
		at := where + "/" + ea.Tag.String()
		if ea.Tag != eb.Tag {
			return fmt.Sprintf("%s: tag %s vs %s", where, ea.Tag, eb.Tag)
		}
		if len(ea.Items) != len(eb.Items) {
			return fmt.Sprintf("%s: %d items vs %d", at, len(ea.Items), len(eb.Items))
		}
		for j := range ea.Items {
			if d := compareDatasets(ea.Items[j], eb.Items[j], fmt.Sprintf("%s[%d]", at, j)); d != "" {
				return d
			}
		}
		if len(ea.Fragments) != len(eb.Fragments) {
			return fmt.Sprintf("%s: %d fragments vs %d", at, len(ea.Fragments), len(eb.Fragments))
		}
		for j := range ea.Fragments {
			if !bytes.Equal(ea.Fragments[j].Data, eb.Fragments[j].Data) {
				return fmt.Sprintf("%s: fragment %d differs", at, j)
			}
		}
		if ea.VR.IsString() {
			if sa, sb := a.Text(ea), b.Text(eb); sa != sb {
				return fmt.Sprintf("%s: %q vs %q", at, sa, sb)
			}
			continue
		}
		if ea.Items == nil && ea.Fragments == nil {
			if a.Encoding.BigEndian == b.Encoding.BigEndian && bytes.Equal(ea.Value, eb.Value) {
				continue
			}
			va, _ := a.Ints(ea)
			vb, _ := b.Ints(eb)
			if len(ea.Value)%2 == 1 && len(eb.Value) == len(ea.Value)+1 && bytes.Equal(ea.Value, eb.Value[:len(ea.Value)]) {
				continue // the writer pads odd lengths, as it must
			}
			if fmt.Sprint(va) != fmt.Sprint(vb) {
				fa, _ := a.Floats(ea)
				fb, _ := b.Floats(eb)
				if fmt.Sprint(fa) != fmt.Sprint(fb) {
					return fmt.Sprintf("%s (%s): values differ", at, ea.VR)
				}
			}
		}
	}
	return ""
}
