package dicomjson_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenFiles are corpus files whose DICOM JSON is kept in testdata/: the
// character-set files (PN groups in three scripts) and files with
// sequences, private data, big endian and implicit VR.
var goldenFiles = []string{
	"charset/japanese-iso2022-ir13-ir87.dcm",
	"charset/japanese-iso2022-ir87.dcm",
	"charset/korean-iso2022-ir149.dcm",
	"charset/chinese-gb18030.dcm",
	"charset/utf8-iso-ir-192.dcm",
	"charset/russian-iso-ir-144.dcm",
	"charset/greek-iso-ir-126.dcm",
	"charset/arabic-iso-ir-127.dcm",
	"charset/hebrew-iso-ir-138.dcm",
	"sr/comprehensive-sr.dcm",
	"transfer-syntax/ge-ct-evrbe.dcm",
	"edge-cases/un-vr-sequence.dcm",
}

func marshalFile(t *testing.T, path string) []byte {
	t.Helper()
	f, err := dicom.ReadFile(path, dicom.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := dicomjson.Marshal(f.Dataset, dicomjson.Options{BulkDataURI: func(e *dicom.Element) string {
		if e.Bulk {
			return "bulk/" + e.Tag.Hex()
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGolden(t *testing.T) {
	dir := testenv.CorpusDir(t)
	for _, name := range goldenFiles {
		t.Run(name, func(t *testing.T) {
			got := marshalFile(t, filepath.Join(dir, name))
			if !json.Valid(got) {
				t.Fatalf("invalid JSON: %s", got)
			}
			var pretty bytes.Buffer
			json.Indent(&pretty, got, "", " ")
			golden := filepath.Join("testdata", strings.NewReplacer("/", "_", ".dcm", ".json").Replace(name))
			if *update {
				os.WriteFile(golden, pretty.Bytes(), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Errorf("DICOM JSON differs from %s (run with -update after checking)", golden)
			}
		})
	}
}

// TestPersonNameGroups checks the PS3.18 F.2.2 PN form for the PS3.5
// Annex H and I examples as the corpus carries them.
func TestPersonNameGroups(t *testing.T) {
	dir := testenv.CorpusDir(t)
	for file, want := range map[string]map[string]string{
		"charset/japanese-iso2022-ir87.dcm":      {"Alphabetic": "Yamada^Tarou", "Ideographic": "山田^太郎", "Phonetic": "やまだ^たろう"},
		"charset/korean-iso2022-ir149.dcm":       {"Alphabetic": "Hong^Gildong", "Ideographic": "洪^吉洞", "Phonetic": "홍^길동"},
		"charset/japanese-iso2022-ir13-ir87.dcm": {"Alphabetic": "ﾔﾏﾀﾞ^ﾀﾛｳ", "Ideographic": "山田^太郎", "Phonetic": "やまだ^たろう"},
	} {
		var obj map[string]struct {
			Value []json.RawMessage
		}
		if err := json.Unmarshal(marshalFile(t, filepath.Join(dir, file)), &obj); err != nil {
			t.Fatal(err)
		}
		raw := obj["00100010"].Value
		var pn map[string]string
		if len(raw) != 1 || json.Unmarshal(raw[0], &pn) != nil {
			t.Fatalf("%s: PatientName = %s", file, raw)
		}
		for k, v := range want {
			if pn[k] != v {
				t.Errorf("%s: %s = %q, want %q", file, k, pn[k], v)
			}
		}
	}
}

// TestRoundTrip decodes our JSON back to a data set and encodes it again:
// the two JSON documents must be identical.
func TestRoundTrip(t *testing.T) {
	dir := testenv.CorpusDir(t)
	for _, name := range goldenFiles {
		first := marshalFile(t, filepath.Join(dir, name))
		ds, uris, err := dicomjson.Unmarshal(first)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		second, err := dicomjson.Marshal(ds, dicomjson.Options{BulkDataURI: func(e *dicom.Element) string { return uris[e] }})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var a, b any
		json.Unmarshal(first, &a)
		json.Unmarshal(second, &b)
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) && !onlyCharsetDiffers(a, b) {
			t.Errorf("%s: JSON changed on a round trip", name)
		}
	}
}

// onlyCharsetDiffers reports whether two decoded DICOM JSON objects differ
// in nothing but Specific Character Set, which Unmarshal sets to ISO_IR 192
// because it holds text as UTF-8.
func onlyCharsetDiffers(a, b any) bool {
	ma, _ := a.(map[string]any)
	mb, _ := b.(map[string]any)
	delete(ma, "00080005")
	delete(mb, "00080005")
	ja, _ := json.Marshal(ma)
	jb, _ := json.Marshal(mb)
	return bytes.Equal(ja, jb)
}

func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte(`{"00100010":{"vr":"PN","Value":[{"Alphabetic":"A^B"}]}}`))
	f.Add([]byte(`{"00081115":{"vr":"SQ","Value":[{"0020000E":{"vr":"UI","Value":["1.2"]}}]}}`))
	f.Add([]byte(`{"00280010":{"vr":"US","Value":[512]},"7FE00010":{"vr":"OW","InlineBinary":"AAE="}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ds, uris, err := dicomjson.Unmarshal(data)
		if err != nil {
			return
		}
		out, err := dicomjson.Marshal(ds, dicomjson.Options{BulkDataURI: func(e *dicom.Element) string { return uris[e] }})
		if err == nil && !json.Valid(out) {
			t.Fatalf("invalid JSON out: %s", out)
		}
	})
}
