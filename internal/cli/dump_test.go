package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestDump(t *testing.T) {
	dir := testenv.CorpusDir(t)
	for _, tc := range []struct {
		file string
		want []string // lines or fragments the listing must hold
	}{
		{"charset/japanese-iso2022-ir87.dcm", []string{"(0010,0010) PN [Yamada^Tarou=山田^太郎=やまだ^たろう]", "PatientName", "# File Meta Information"}},
		{"charset/korean-iso2022-ir149.dcm", []string{"[Hong^Gildong=洪^吉洞=홍^길동]"}},
		{"sr/comprehensive-sr.dcm", []string{"(0040,A730) SQ (Sequence,", "  (FFFE,E000) item 1", "    (0040,A010) CS [HAS OBS CONTEXT]"}},
		{"transfer-syntax/ge-ct-jpeg-lossless-sv1-70.dcm", []string{"(7FE0,0010) OB (encapsulated", "fragment 0 len=", "JPEG Lossless"}},
		{"edge-cases/no-meta-mr-ivrle.dcm", []string{"# No File Meta Information", "Implicit VR Little Endian"}},
		{"ct/ct-693-bitsstored-mismatch.dcm", []string{"(7FE0,0010) OW (bulk, 524288 bytes not loaded)", "off="}},
	} {
		out, errOut, code := runCLI(t, "dump", filepath.Join(dir, tc.file))
		if code != 0 {
			t.Errorf("%s: exit %d: %s", tc.file, code, errOut)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%s: listing lacks %q", tc.file, w)
			}
		}
	}
}

func TestDumpJSON(t *testing.T) {
	dir := testenv.CorpusDir(t)
	out, errOut, code := runCLI(t, "dump", "--json", filepath.Join(dir, "charset/japanese-iso2022-ir87.dcm"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var obj map[string]struct {
		VR    string            `json:"vr"`
		Value []json.RawMessage `json:"Value"`
	}
	if err := json.Unmarshal([]byte(out), &obj); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	var pn map[string]string
	if pnv := obj["00100010"]; pnv.VR != "PN" || len(pnv.Value) != 1 || json.Unmarshal(pnv.Value[0], &pn) != nil || pn["Ideographic"] != "山田^太郎" {
		t.Errorf("PatientName = %+v", obj["00100010"])
	}
	if _, ok := obj["7FE00010"]; ok {
		t.Error("pixel data inlined without --bulk")
	}
}

func TestDumpBadFiles(t *testing.T) {
	dir := testenv.CorpusDir(t)
	_, errOut, code := runCLI(t, "dump", filepath.Join(dir, "malformed/gen-trunc-in-native-pixeldata.dcm"))
	if code == 0 || !strings.Contains(errOut, "offset") || !strings.Contains(errOut, "PixelData") {
		t.Errorf("truncated file: exit %d, %q", code, errOut)
	}
	_, errOut, code = runCLI(t, "dump", filepath.Join(dir, "malformed/gen-empty-file.dcm"))
	if code == 0 || !strings.Contains(errOut, "empty") {
		t.Errorf("empty file: exit %d, %q", code, errOut)
	}
	if _, _, code := runCLI(t, "nosuchcommand"); code != 2 {
		t.Errorf("unknown command exit %d", code)
	}
	if out, _, code := runCLI(t, "version"); code != 0 || !strings.HasPrefix(out, "lightbox ") {
		t.Errorf("version: %q %d", out, code)
	}
}
