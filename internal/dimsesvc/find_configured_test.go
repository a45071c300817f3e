package dimsesvc_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/config"
)

// uidsIn returns the sorted distinct values of one UI key in findscu output.
func uidsIn(out string, tag string) []string {
	re := regexp.MustCompile(`\(` + tag + `\) UI \[([0-9.]+)[ \x00]?\]`)
	var out2 []string
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		out2 = append(out2, m[1])
	}
	slices.Sort(out2)
	return slices.Compact(out2)
}

// TestFindscuConfiguredKeys configures attributes outside the model
// (ProtocolName at SERIES level, OperatorsName at IMAGE level, a GE private
// attribute), stores CT and MR corpus files with storescu, and queries
// them with DCMTK findscu: configured keys match (wildcards, PN case
// rules) and come back valued, keys outside the model that are not
// configured stay unmatched (returned from the header).
func TestFindscuConfiguredKeys(t *testing.T) {
	n := startLightbox(t, func(c *config.Config) {
		c.Index.QueryAttributes = []string{"SERIES:ProtocolName", "OperatorsName", "SERIES:(0009,xx01)@GEMS_IDEN_01/LO"}
	})
	files := corpusFiles(t, "ct", "mr")
	status := storescuAll(t, n, files)

	// What the files say, for the files the node accepted.
	wantSeries := map[string][]string{} // ProtocolName pattern -> series
	var operators, gePrivate []string
	for p, st := range status {
		if st != "Success" {
			continue
		}
		ds := readFile(t, p).Dataset
		series, sop := ds.String(dicom.TagSeriesInstanceUID), ds.String(dicom.TagSOPInstanceUID)
		if strings.HasPrefix(ds.String(dicom.Tag(0x00181030)), "CBU_DTI") {
			wantSeries["CBU_DTI*"] = append(wantSeries["CBU_DTI*"], series)
		}
		if strings.EqualFold(ds.String(dicom.Tag(0x00081070)), "meduser") {
			operators = append(operators, sop)
		}
		if ds.String(dicom.Tag(0x00090010)) == "GEMS_IDEN_01" && strings.HasPrefix(ds.String(dicom.Tag(0x00091001)), "CT_LIGHT") {
			gePrivate = append(gePrivate, series)
		}
	}
	for _, l := range [][]string{wantSeries["CBU_DTI*"], operators, gePrivate} {
		slices.Sort(l)
	}
	gePrivate = slices.Compact(gePrivate)
	if len(wantSeries["CBU_DTI*"]) == 0 || len(operators) < 2 || len(gePrivate) == 0 {
		t.Fatalf("corpus changed: %v %v %v", wantSeries, operators, gePrivate)
	}

	out := findscu(t, n, "-S", "-k", "QueryRetrieveLevel=SERIES", "-k", "SeriesInstanceUID", "-k", "ProtocolName=CBU_DTI*")
	if got := uidsIn(out, "0020,000e"); !slices.Equal(got, slices.Compact(wantSeries["CBU_DTI*"])) || finalStatus(out) != "Success" {
		t.Errorf("ProtocolName=CBU_DTI*: series %v, want %v (final %q)\n%s", got, wantSeries["CBU_DTI*"], finalStatus(out), tail(out, 30))
	}
	if !strings.Contains(out, "(0018,1030) LO [CBU_DTI_64D_1A]") {
		t.Errorf("ProtocolName not returned:\n%s", tail(out, 20))
	}
	// PN rules: case-insensitive.
	out = findscu(t, n, "-S", "-k", "QueryRetrieveLevel=IMAGE", "-k", "SOPInstanceUID", "-k", "OperatorsName=MEDUSER")
	if got := uidsIn(out, "0008,0018"); !slices.Equal(got, operators) {
		t.Errorf("OperatorsName=MEDUSER: instances %v, want %v\n%s", got, operators, tail(out, 30))
	}
	// A private key with its creator.
	out = findscu(t, n, "-S", "-k", "QueryRetrieveLevel=SERIES", "-k", "SeriesInstanceUID",
		"-k", "(0009,0010)=GEMS_IDEN_01", "-k", "(0009,1001)=CT_LIGHT*")
	if got := uidsIn(out, "0020,000e"); !slices.Equal(got, gePrivate) {
		t.Errorf("private (0009,xx01)@GEMS_IDEN_01: series %v, want %v\n%s", got, gePrivate, tail(out, 30))
	}
	// The same element under another creator is not the configured key:
	// not matched, so every series answers.
	all := findscu(t, n, "-S", "-k", "QueryRetrieveLevel=SERIES", "-k", "SeriesInstanceUID")
	out = findscu(t, n, "-S", "-k", "QueryRetrieveLevel=SERIES", "-k", "SeriesInstanceUID",
		"-k", "(0009,0010)=OTHER_VENDOR", "-k", "(0009,1001)=CT_LIGHT*")
	if responses(out) != responses(all) || responses(all) < 10 {
		t.Errorf("other creator: %d responses, want all %d", responses(out), responses(all))
	}
	// A key outside the model that is not configured is not matched.
	out = findscu(t, n, "-S", "-k", "QueryRetrieveLevel=SERIES", "-k", "SeriesInstanceUID", "-k", "SeriesType=NO_SUCH_TYPE")
	if responses(out) != responses(all) {
		t.Errorf("unconfigured key: %d responses, want all %d", responses(out), responses(all))
	}
	// A SERIES key in a STUDY query (hierarchical) is returned empty and
	// not matched.
	studies := findscu(t, n, "-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID")
	out = findscu(t, n, "-S", "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID", "-k", "ProtocolName=CBU_DTI*")
	if responses(out) != responses(studies) || strings.Contains(out, "CBU_DTI_64D_1A") {
		t.Errorf("SERIES key at STUDY level: %d responses of %d\n%s", responses(out), responses(studies), tail(out, 20))
	}
	// A bad value of a configured key is refused like a model key's.
	out = findscu(t, n, "-S", "-k", "QueryRetrieveLevel=IMAGE", "-k", "SOPInstanceUID", "-k", "OperatorsName", "-k", "AcquisitionDateTime=notadate")
	if fs := finalStatus(out); fs != "Error: DataSetDoesNotMatchSOPClass" {
		t.Errorf("bad DT: final %q", fs)
	}
}
