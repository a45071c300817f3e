package dimsesvc_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/charset"
	"github.com/lightbox-pacs/lightbox/internal/config"
	"github.com/lightbox-pacs/lightbox/internal/index"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// DCMTK's SCUs against a Lightbox node running in-process: everything a
// modality or workstation does over DIMSE, through real tools.

// storescuFlag is the storescu option proposing a transfer syntax along
// with the uncompressed ones ("" for the uncompressed syntaxes). Syntaxes
// missing here cannot be sent by storescu 3.6.7.
var storescuFlag = map[string]string{
	dicom.ImplicitVRLittleEndian:         "",
	dicom.ExplicitVRLittleEndian:         "",
	dicom.ExplicitVRBigEndian:            "",
	dicom.DeflatedExplicitVRLittleEndian: "-xd",
	dicom.JPEGBaseline8Bit:               "-xy",
	dicom.JPEGExtended12Bit:              "-xx",
	dicom.JPEGLosslessSV1:                "-xs",
	dicom.JPEGLSLossless:                 "-xt",
	dicom.JPEGLSNearLossless:             "-xu",
	dicom.JPEG2000Lossless:               "-xv",
	dicom.JPEG2000:                       "-xw",
	dicom.RLELossless:                    "-xr",
}

var storeRspRe = regexp.MustCompile(`Received Store Response \(([^)]*)\)`)

// storescuAll sends files with storescu, one run per proposal flag, and
// returns storescu's reading of each file's response ("" when not sent).
func storescuAll(t *testing.T, n *node, files []string) map[string]string {
	t.Helper()
	storescu := testenv.RequireTool(t, "storescu")
	byFlag := map[string][]string{}
	for _, p := range files {
		f, err := dicom.ReadFile(p, dicom.ReadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		flag, ok := storescuFlag[f.TransferSyntax]
		if !ok {
			t.Logf("%s: storescu cannot propose %s; not sent", filepath.Base(p), f.TransferSyntax)
			continue
		}
		byFlag[flag] = append(byFlag[flag], p)
	}
	status := map[string]string{}
	flags := make([]string, 0, len(byFlag))
	for f := range byFlag {
		flags = append(flags, f)
	}
	sort.Strings(flags)
	for _, flag := range flags {
		args := []string{"-v", "-aet", "MODALITY", "-aec", "LIGHTBOX", "-R", "-nh"}
		if flag != "" {
			args = append(args, flag)
		}
		args = append(append(args, n.host, n.port), byFlag[flag]...)
		out, _ := runTool(t, 120*time.Second, storescu, args...)
		cur := ""
		for _, line := range strings.Split(out, "\n") {
			if p, ok := strings.CutPrefix(line, "I: Sending file: "); ok {
				cur = p
			} else if m := storeRspRe.FindStringSubmatch(line); m != nil && cur != "" {
				status[cur] = m[1]
				cur = ""
			}
		}
		for _, p := range byFlag[flag] {
			if _, ok := status[p]; !ok && !strings.Contains(out, "ignoring file") {
				t.Errorf("storescu %s did not send %s:\n%s", flag, p, tail(out, 30))
				break
			}
		}
	}
	return status
}

func echo(t *testing.T, n *node) {
	t.Helper()
	echoscu := testenv.RequireTool(t, "echoscu")
	out, err := runTool(t, 30*time.Second, echoscu, "-v", "-aec", "LIGHTBOX", n.host, n.port)
	if err != nil || !strings.Contains(out, "Received Echo Response (Success)") {
		t.Fatalf("echoscu: %v\n%s", err, out)
	}
}

// TestDCMTKAgainstLightbox fills a node with storescu (compressed and
// uncompressed syntaxes, charsets, multi-series sets), then queries and
// retrieves with findscu, movescu and getscu. It runs in a private network
// namespace because movescu's storage port binds every interface.
func TestDCMTKAgainstLightbox(t *testing.T) {
	if !testenv.InNetns(t) {
		return
	}
	movePort := testenv.FreePort(t)
	n := startLightbox(t, func(c *config.Config) {
		c.RemoteAEs = []config.RemoteAE{{AETitle: "MOVESCU", Host: "127.0.0.1", Port: movePort}}
	})
	echo(t, n)

	files := corpusFiles(t, "ct", "mr", "charset", "transfer-syntax", "series")
	var uids = map[string]bool{}
	t.Run("storescu", func(t *testing.T) {
		status := storescuAll(t, n, files)
		warnings, refused := 0, 0
		for p, st := range status {
			ds := readFile(t, p).Dataset
			switch {
			case st == "Success":
			case st == "Warning: CoercionOfDataElements":
				// The transfer-syntax set repeats one SOP Instance UID in
				// several encodings (the first is kept), and several
				// files share a Patient ID under other names (filed under
				// the stored patient): B000.
				warnings++
			case ds.String(dicom.TagStudyInstanceUID) == "" || ds.String(dicom.TagSeriesInstanceUID) == "":
				if st != "Error: DataSetDoesNotMatchSOPClass" {
					t.Errorf("%s lacks a Study or Series Instance UID: %s, want A900", filepath.Base(p), st)
				}
				refused++
				continue
			default:
				t.Errorf("%s: %s", filepath.Base(p), st)
				continue
			}
			uids[readFile(t, p).Dataset.String(dicom.TagSOPInstanceUID)] = true
		}
		st, err := n.srv.Storage().Index.Stats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("storescu sent %d files (%d warnings, %d refused): %d instances, %d series, %d studies, %d patients",
			len(status), warnings, refused, st.Instances, st.Series, st.Studies, st.Patients)
		if st.Instances != len(uids) || len(uids) < 80 {
			t.Errorf("index holds %d instances, %d distinct UIDs stored", st.Instances, len(uids))
		}
		echo(t, n)
	})
	t.Run("findscu", func(t *testing.T) { testFindscu(t, n) })
	t.Run("findscu-charset", func(t *testing.T) { testFindscuCharset(t, n) })
	t.Run("movescu", func(t *testing.T) { testMovescu(t, n, movePort) })
	t.Run("getscu", func(t *testing.T) { testGetscu(t, n) })
	echo(t, n)
}

// findscu runs findscu with keys and returns its output.
func findscu(t *testing.T, n *node, args ...string) string {
	t.Helper()
	bin := testenv.RequireTool(t, "findscu")
	out, err := runTool(t, 60*time.Second, bin, append(append([]string{"-v", "-aet", "WORKSTATION", "-aec", "LIGHTBOX"}, args...), n.host, n.port)...)
	if err != nil && !strings.Contains(out, "Final Find Response") {
		t.Fatalf("findscu %q: %v\n%s", args, err, out)
	}
	return out
}

var findRspRe = regexp.MustCompile(`Find Response:? (\d+) \(Pending\)`)

// responses counts findscu's pending responses.
func responses(out string) int { return len(findRspRe.FindAllString(out, -1)) }

func finalStatus(out string) string {
	if i := strings.Index(out, "Received Final Find Response ("); i >= 0 {
		s := out[i+len("Received Final Find Response ("):]
		return s[:strings.IndexByte(s, ')')]
	}
	return ""
}

func testFindscu(t *testing.T, n *node) {
	ctx := context.Background()
	idx := n.srv.Storage().Index
	st, _ := idx.Stats(ctx)

	// Study Root, STUDY level: every study, with the maintained keys.
	out := findscu(t, n, "-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID", "-k", "PatientName",
		"-k", "ModalitiesInStudy", "-k", "NumberOfStudyRelatedInstances", "-k", "StudyDate", "-k", "InstitutionName")
	if responses(out) != st.Studies || finalStatus(out) != "Success" {
		t.Errorf("STUDY: %d responses for %d studies, final %q\n%s", responses(out), st.Studies, finalStatus(out), tail(out, 40))
	}
	// Patient Root, PATIENT level.
	out = findscu(t, n, "-P", "-k", "QueryRetrieveLevel=PATIENT", "-k", "PatientID", "-k", "PatientName", "-k", "NumberOfPatientRelatedStudies")
	if responses(out) != st.Patients {
		t.Errorf("PATIENT: %d responses for %d patients", responses(out), st.Patients)
	}

	// The Philips set: one patient, three series. Hierarchical descent.
	philips := readFile(t, corpusFiles(t, "series/pydicom-philips-mr-patient-3series")[0]).Dataset
	pid, study := philips.String(dicom.TagPatientID), philips.String(dicom.TagStudyInstanceUID)
	out = findscu(t, n, "-P", "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientID="+pid, "-k", "StudyInstanceUID", "-k", "NumberOfStudyRelatedSeries")
	if responses(out) < 1 || !strings.Contains(out, study) {
		t.Errorf("Patient Root STUDY for %s:\n%s", pid, tail(out, 30))
	}
	recs, err := idx.Find(ctx, index.Query{Level: index.SeriesLevel, Matches: []index.Match{{Key: index.StudyInstanceUID, Value: study}}})
	if err != nil {
		t.Fatal(err)
	}
	out = findscu(t, n, "-S", "-k", "QueryRetrieveLevel=SERIES", "-k", "StudyInstanceUID="+study, "-k", "SeriesInstanceUID",
		"-k", "Modality", "-k", "SeriesNumber", "-k", "NumberOfSeriesRelatedInstances", "-k", "SeriesDescription")
	if responses(out) != len(recs) || len(recs) < 2 {
		t.Errorf("SERIES: %d responses, %d series in the index\n%s", responses(out), len(recs), tail(out, 40))
	}
	for _, r := range recs {
		if !strings.Contains(out, r.Series.SeriesInstanceUID) {
			t.Errorf("series %s missing", r.Series.SeriesInstanceUID)
		}
		series := r.Series.SeriesInstanceUID
		out := findscu(t, n, "-S", "-k", "QueryRetrieveLevel=IMAGE", "-k", "StudyInstanceUID="+study, "-k", "SeriesInstanceUID="+series,
			"-k", "SOPInstanceUID", "-k", "InstanceNumber", "-k", "Rows", "-k", "SliceThickness", "-k", "NumberOfFrames")
		if responses(out) != r.Series.NumberOfSeriesRelatedInstances {
			t.Errorf("IMAGE of %s: %d responses for %d instances", series, responses(out), r.Series.NumberOfSeriesRelatedInstances)
		}
		// Rows is US: returned binary; SliceThickness comes from the header.
		if !regexp.MustCompile(`\(0028,0010\) US \d+`).MatchString(out) || !regexp.MustCompile(`\(0018,0050\) DS \[[^\]]+\]`).MatchString(out) {
			t.Errorf("IMAGE keys:\n%s", tail(out, 30))
		}
	}
	// Unknown keys come back empty; wildcards and ranges are the index's.
	out = findscu(t, n, "-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientName=*", "-k", "StudyDate=19000101-20991231",
		"-k", "(0009,0010)", "-k", "StudyInstanceUID")
	if responses(out) == 0 || !strings.Contains(out, "(0009,0010)") {
		t.Errorf("unknown key:\n%s", tail(out, 30))
	}

	// Failures: no level (A900), a level the model lacks (A900).
	for _, args := range [][]string{
		{"-S", "-k", "PatientName=*"},
		{"-S", "-k", "QueryRetrieveLevel=PATIENT", "-k", "PatientName=*"},
		{"-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyDate=notadate"},
	} {
		out := findscu(t, n, args...)
		if fs := finalStatus(out); fs != "Error: DataSetDoesNotMatchSOPClass" {
			t.Errorf("%q: final %q\n%s", args, fs, tail(out, 10))
		}
	}

	echo(t, n)
}

// charsetQuery encodes a query value in a Specific Character Set as
// findscu passes it on (raw bytes).
func charsetQuery(t *testing.T, terms []string, v string) string {
	t.Helper()
	cs, err := charset.Parse(terms)
	if err != nil {
		t.Fatal(err)
	}
	b, err := cs.Encode(v, charset.KindPN)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// testFindscuCharset finds the Japanese and Korean patients by their
// ideographic names, asking in ISO 2022 and in UTF-8, and checks that the
// responses come back in the repertoire asked for.
func testFindscuCharset(t *testing.T, n *node) {
	cases := []struct {
		name  string
		terms []string
		query string
		want  string // in the response, decoded
	}{
		{"japanese-iso2022", []string{"", "ISO 2022 IR 87"}, "山田^太郎", "Yamada^Tarou=山田^太郎=やまだ^たろう"},
		{"japanese-utf8", []string{"ISO_IR 192"}, "やまだ^たろう", "Yamada^Tarou=山田^太郎=やまだ^たろう"},
		{"japanese-wildcard", []string{"", "ISO 2022 IR 87"}, "山田*", "Yamada^Tarou=山田^太郎=やまだ^たろう"},
		{"korean-iso2022", []string{"", "ISO 2022 IR 149"}, "洪^吉洞", "Hong^Gildong=洪^吉洞=홍^길동"},
		{"korean-utf8", []string{"ISO_IR 192"}, "홍^길동", "Hong^Gildong=洪^吉洞=홍^길동"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			out := findscu(t, n, "-S", "-X", "-od", dir,
				"-k", "SpecificCharacterSet="+strings.Join(c.terms, `\`),
				"-k", "QueryRetrieveLevel=STUDY", "-k", "PatientName="+charsetQuery(t, c.terms, c.query), "-k", "StudyInstanceUID")
			if responses(out) == 0 || finalStatus(out) != "Success" {
				t.Fatalf("no match:\n%s", tail(out, 20))
			}
			var entries []string
			filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					entries = append(entries, p)
				}
				return nil
			})
			found := false
			for _, p := range entries {
				f, err := dicom.ReadFile(p, dicom.ReadOptions{})
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				ds := f.Dataset
				got := ds.Text(ds.Get(dicom.TagPatientName))
				terms := ds.Strings(ds.Get(dicom.TagSpecificCharacterSet))
				if got != c.want {
					// Other matches may need characters the requested
					// repertoire lacks (half-width katakana): ISO_IR 192.
					continue
				}
				found = true
				if strings.Join(terms, `\`) != strings.Join(c.terms, `\`) {
					t.Errorf("response in %q, asked %q", terms, c.terms)
				}
			}
			if !found {
				t.Errorf("no response with PatientName %q in %d files\n%s", c.want, len(entries), tail(out, 20))
			}
		})
	}
}

func testMovescu(t *testing.T, n *node, movePort int) {
	movescu := testenv.RequireTool(t, "movescu")
	ctx := context.Background()
	idx := n.srv.Storage().Index
	for _, set := range []string{"series/pydicom-philips-mr-patient-3series", "series/ge-genesis-signa-mr-16slices"} {
		study := readFile(t, corpusFiles(t, set)[0]).Dataset.String(dicom.TagStudyInstanceUID)
		want, _ := idx.Count(ctx, index.Query{Level: index.InstanceLevel, Matches: []index.Match{{Key: index.StudyInstanceUID, Value: study}}})
		dir := t.TempDir()
		out, err := runTool(t, 120*time.Second, movescu, "-v", "-S", "-aet", "MOVESCU", "-aec", "LIGHTBOX", "-aem", "MOVESCU",
			"+P", strconv.Itoa(movePort), "-od", dir, "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID="+study, n.host, n.port)
		if err != nil || !strings.Contains(out, "Received Final Move Response (Success)") {
			t.Fatalf("movescu %s: %v\n%s", set, err, tail(out, 40))
		}
		entries, _ := os.ReadDir(dir)
		if len(entries) != want || want == 0 {
			t.Errorf("%s: movescu received %d files, study has %d instances", set, len(entries), want)
		}
		if !strings.Contains(out, fmt.Sprintf("Completed Suboperations : %d", want)) && !strings.Contains(out, "Received Move Response") {
			t.Logf("movescu output:\n%s", tail(out, 30))
		}
	}
	// SERIES level, Patient Root with the unique keys above.
	philips := readFile(t, corpusFiles(t, "series/pydicom-philips-mr-patient-3series")[0]).Dataset
	dir := t.TempDir()
	out, err := runTool(t, 120*time.Second, movescu, "-v", "-P", "-aet", "MOVESCU", "-aec", "LIGHTBOX", "-aem", "MOVESCU",
		"+P", strconv.Itoa(movePort), "-od", dir, "-k", "QueryRetrieveLevel=SERIES", "-k", "PatientID="+philips.String(dicom.TagPatientID),
		"-k", "StudyInstanceUID="+philips.String(dicom.TagStudyInstanceUID), "-k", "SeriesInstanceUID="+philips.String(dicom.TagSeriesInstanceUID),
		n.host, n.port)
	if err != nil || !strings.Contains(out, "Received Final Move Response (Success)") {
		t.Fatalf("movescu series: %v\n%s", err, tail(out, 40))
	}

	// Compressed instances to a destination that takes only Implicit VR
	// Little Endian: those the codec registry decodes arrive
	// decompressed; any other would fail, listed by UID.
	var jpegStudy string
	idx.Each(ctx, index.Query{Level: index.InstanceLevel}, func(r index.InstanceRecord) error {
		if jpegStudy == "" && dicom.IsEncapsulated(r.Instance.TransferSyntaxUID) {
			jpegStudy = r.Study.StudyInstanceUID
		}
		return nil
	})
	total, decodable := 0, 0
	idx.Each(ctx, index.Query{Level: index.InstanceLevel, Matches: []index.Match{{Key: index.StudyInstanceUID, Value: jpegStudy}}}, func(r index.InstanceRecord) error {
		total++
		if ts := r.Instance.TransferSyntaxUID; !dicom.IsEncapsulated(ts) || codec.CanDecode(ts) {
			decodable++
		}
		return nil
	})
	dir = t.TempDir()
	out, _ = runTool(t, 120*time.Second, movescu, "-d", "-S", "+xi", "-aet", "MOVESCU", "-aec", "LIGHTBOX", "-aem", "MOVESCU",
		"+P", strconv.Itoa(movePort), "-od", dir, "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID="+jpegStudy, n.host, n.port)
	entries, _ := os.ReadDir(dir)
	switch {
	case total == 0:
		t.Error("no compressed study stored")
	case decodable == total && (!strings.Contains(lastLineWith(out, "DIMSE Status"), "0x0000") || len(entries) != total):
		t.Errorf("compressed study to an implicit-VR-only destination: %d of %d received\n%s", len(entries), total, tail(out, 30))
	case decodable < total && (!strings.Contains(out, "FailedSOPInstanceUIDList") || len(entries) != decodable):
		t.Errorf("compressed study (%d of %d decodable) to an implicit-VR-only destination: %d received\n%s", decodable, total, len(entries), tail(out, 30))
	}
	t.Logf("compressed study to an implicit-VR-only destination: %s", lastLineWith(out, "DIMSE Status"))
	// ... and with +xa everything arrives as stored.
	dir = t.TempDir()
	out, err = runTool(t, 120*time.Second, movescu, "-v", "-S", "+xa", "-aet", "MOVESCU", "-aec", "LIGHTBOX", "-aem", "MOVESCU",
		"+P", strconv.Itoa(movePort), "-od", dir, "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID="+jpegStudy, n.host, n.port)
	if err != nil || !strings.Contains(out, "Received Final Move Response (Success)") {
		t.Errorf("movescu +xa: %v\n%s", err, tail(out, 30))
	}

	// Refusals: unknown destination, missing unique key.
	out, _ = runTool(t, 60*time.Second, movescu, "-v", "-S", "-aem", "NOWHERE", "-aec", "LIGHTBOX",
		"-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID=1.2.3", n.host, n.port)
	if !strings.Contains(out, "Received Final Move Response (Failed: MoveDestinationUnknown)") &&
		!strings.Contains(out, "MoveDestinationUnknown") {
		t.Errorf("unknown destination:\n%s", tail(out, 20))
	}
	out, _ = runTool(t, 60*time.Second, movescu, "-v", "-S", "-aem", "MOVESCU", "-aec", "LIGHTBOX",
		"-k", "QueryRetrieveLevel=SERIES", "-k", "StudyInstanceUID=1.2.3", n.host, n.port)
	if !strings.Contains(out, "Received Final Move Response (Error: DataSetDoesNotMatchSOPClass)") {
		t.Errorf("missing SeriesInstanceUID:\n%s", tail(out, 20))
	}
}

func lastLineWith(s, sub string) string {
	lines := strings.Split(s, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], sub) {
			return strings.TrimSpace(lines[i])
		}
	}
	return ""
}

func testGetscu(t *testing.T, n *node) {
	getscu := testenv.RequireTool(t, "getscu")
	ctx := context.Background()
	study := readFile(t, corpusFiles(t, "series/pydicom-ge-ct-2series")[0]).Dataset.String(dicom.TagStudyInstanceUID)
	want, _ := n.srv.Storage().Index.Count(ctx, index.Query{Level: index.InstanceLevel, Matches: []index.Match{{Key: index.StudyInstanceUID, Value: study}}})
	dir := t.TempDir()
	out, err := runTool(t, 120*time.Second, getscu, "-v", "-S", "-aet", "GETSCU", "-aec", "LIGHTBOX", "-od", dir,
		"-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID="+study, n.host, n.port)
	if err != nil || !strings.Contains(out, "Received Final C-GET Response (Success)") && !strings.Contains(out, "Received C-GET Response (Success)") {
		t.Fatalf("getscu: %v\n%s", err, tail(out, 40))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != want || want == 0 {
		t.Errorf("getscu received %d files, study has %d instances", len(entries), want)
	}
}
