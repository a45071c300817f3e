package indextest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/internal/index"
)

// Opener opens a new, empty index database for t and returns a function
// that opens it (again) with the given configured attributes. The suite
// closes each index before opening the next; the backend arranges for the
// database to be removed when t ends.
type Opener func(t *testing.T) func(attrs []index.Attribute) index.Index

// testDict is the part of the data dictionary the suite configures.
type testDict map[string]struct {
	tag uint32
	vr  string
}

var dict = testDict{
	"ProtocolName":           {0x00181030, "LO"},
	"OperatorsName":          {0x00081070, "PN"},
	"ContrastBolusAgent":     {0x00180010, "LO"},
	"AcquisitionNumber":      {0x00200012, "IS"},
	"FrameReferenceDateTime": {0x00189151, "DT"},
	"StationName":            {0x00081010, "SH"},
}

func (d testDict) ByKeyword(k string) (uint32, string, bool) {
	e, ok := d[k]
	return e.tag, e.vr, ok
}

func (d testDict) ByTag(tag uint32) (string, string, bool) {
	for k, e := range d {
		if e.tag == tag {
			return k, e.vr, true
		}
	}
	return "", "", false
}

// Specs parses attribute specifications with the suite's dictionary.
func Specs(t testing.TB, specs ...string) []index.Attribute {
	t.Helper()
	var out []index.Attribute
	for _, s := range specs {
		a, err := index.ParseAttributeSpec(s, dict)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

// configuredHeader is the stored header of fixture instance n (1..12):
// series-level ProtocolName, OperatorsName (PN, two values on I1), a
// private attribute of creator "LIGHTBOX TEST" in block 0x11, an integer,
// a DT with an offset on I5 and with a Timezone Offset From UTC on I6.
func configuredHeader(n int, rec index.InstanceRecord) []byte {
	protocols := map[string]string{SE1: "Chest Routine", SE2: "Chest Scout", SE3: "Brain T1", SE4: "Abdomen",
		SE6: "Neck US", SE7: "Hand", SE8: ""}
	elems := []string{fmt.Sprintf(`"00080018":{"vr":"UI","Value":[%q]}`, rec.Instance.SOPInstanceUID)}
	if p := protocols[rec.Series.SeriesInstanceUID]; p != "" {
		elems = append(elems, fmt.Sprintf(`"00181030":{"vr":"LO","Value":[%q]}`, p+"  "))
	}
	switch n {
	case 1:
		elems = append(elems, `"00081070":{"vr":"PN","Value":[{"Alphabetic":"Tech^Anna"},{"Alphabetic":"Operator^Bob","Ideographic":"操作^ボブ"}]}`)
	case 7:
		elems = append(elems, `"00081070":{"vr":"PN","Value":[{"Alphabetic":"tech^carl"}]}`)
	}
	if n <= 4 {
		elems = append(elems, `"00290011":{"vr":"LO","Value":["LIGHTBOX TEST"]}`,
			fmt.Sprintf(`"00291105":{"vr":"LO","Value":["dose-%d"]}`, n))
	}
	elems = append(elems, fmt.Sprintf(`"00200012":{"vr":"IS","Value":[%d]}`, n%3))
	switch n {
	case 5:
		elems = append(elems, `"00189151":{"vr":"DT","Value":["20200301230100+0100"]}`)
	case 6:
		elems = append(elems, `"00080201":{"vr":"SH","Value":["-0500"]}`, `"00189151":{"vr":"DT","Value":["20200301170100"]}`)
	case 7:
		elems = append(elems, `"00189151":{"vr":"DT","Value":["20200301220100"]}`)
	}
	return []byte("{" + strings.Join(elems, ",") + "}")
}

// RunConfigured runs the suite of configured attributes: back-fill of
// instances stored before the configuration, values stored at insert,
// every matching rule on them at their own level and across levels,
// private attributes, UTC offsets, removal with their entities, and a
// changed configuration.
func RunConfigured(t *testing.T, open Opener) {
	ctx := context.Background()
	reopen := open(t)
	ix := reopen(nil)
	recs := fixture()
	for i := range recs {
		recs[i].Header = configuredHeader(i+1, recs[i])
	}
	if _, err := ix.InsertBatch(ctx, recs[:10]); err != nil {
		t.Fatal(err)
	}
	if _, err := ix.Find(ctx, index.Query{Level: index.SeriesLevel, Matches: m("ProtocolName", "Chest*")}); !errors.Is(err, index.ErrUnsupportedKey) {
		t.Fatalf("unconfigured key: err = %v, want ErrUnsupportedKey", err)
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}

	all := Specs(t, "SERIES:ProtocolName", "OperatorsName", "SERIES:(0029,xx05)@LIGHTBOX TEST/LO", "AcquisitionNumber",
		"FrameReferenceDateTime", "StationName")
	ix = reopen(all) // back-fills I1..I10
	if got := ix.Schema().Configured(); len(got) != 5 {
		t.Fatalf("configured = %v, want 5 (StationName is in the model)", got)
	}
	if a, ok := ix.Schema().LookupTag(0x00291205, "LIGHTBOX TEST"); !ok || a.VR != "LO" || a.Level != index.SeriesLevel {
		t.Errorf("LookupTag(private) = %+v, %v", a, ok)
	}
	if _, ok := ix.Schema().LookupTag(0x00291205, "OTHER CREATOR"); ok {
		t.Error("LookupTag found a private attribute of another creator")
	}
	if _, err := ix.InsertBatch(ctx, recs[10:]); err != nil { // values at insert
		t.Fatal(err)
	}
	private := string(all[2].Key)
	cases := []struct {
		name    string
		level   index.Level
		matches []index.Match
		want    []string
	}{
		{"single", index.SeriesLevel, m("ProtocolName", "Hand"), []string{SE7}},
		{"single is case-sensitive", index.SeriesLevel, m("ProtocolName", "hand"), nil},
		{"wildcard", index.SeriesLevel, m("ProtocolName", "Chest*"), []string{SE1, SE2}},
		{"wildcard ?", index.SeriesLevel, m("ProtocolName", "Ne?k US"), []string{SE6}},
		{"list", index.SeriesLevel, m("ProtocolName", `Hand\Abdomen`), []string{SE4, SE7}},
		{"empty value", index.SeriesLevel, m("ProtocolName", `""`), []string{SE5, SE8}},
		{"universal", index.SeriesLevel, m("ProtocolName", "*"), []string{SE1, SE2, SE3, SE4, SE5, SE6, SE7, SE8}},
		{"study with a matching series", index.StudyLevel, m("ProtocolName", "Brain*"), []string{S2}},
		{"instances of matching series", index.InstanceLevel, m("ProtocolName", "Chest Scout"), []string{I(4)}},
		{"with model keys", index.SeriesLevel, m("ProtocolName", "Chest*", "Modality", "MR"), []string{SE2}},
		{"PN any value, case-insensitive", index.InstanceLevel, m("OperatorsName", "operator*"), []string{I(1)}},
		{"PN wildcard", index.InstanceLevel, m("OperatorsName", "TECH^*"), []string{I(1), I(7)}},
		{"PN ideographic group", index.InstanceLevel, m("OperatorsName", "操作*"), []string{I(1)}},
		{"PN at study level", index.StudyLevel, m("OperatorsName", "tech^carl"), []string{S3}},
		{"private", index.SeriesLevel, m(private, "dose-4"), []string{SE2}},
		{"private wildcard", index.SeriesLevel, m(private, "dose-*"), []string{SE1, SE2}},
		{"integer list", index.InstanceLevel, m("AcquisitionNumber", `0\2`),
			[]string{I(2), I(3), I(5), I(6), I(8), I(9), I(11), I(12)}},
		{"integer with model key", index.InstanceLevel, m("AcquisitionNumber", "1", "SeriesInstanceUID", SE1),
			[]string{I(1)}},
		{"DT same instant, three offsets", index.InstanceLevel, m("FrameReferenceDateTime", "202003011701-0500"),
			[]string{I(5), I(6)}},
		{"DT unknown offset compares local", index.InstanceLevel, m("FrameReferenceDateTime", "202003012201"),
			[]string{I(7)}},
		{"DT range", index.InstanceLevel, m("FrameReferenceDateTime", "20200301-20200301"), []string{I(5), I(6), I(7)}},
	}
	check := func(t *testing.T, ix index.Index, level index.Level, matches []index.Match, want []string) {
		t.Helper()
		q := index.Query{Level: level, Matches: matches}
		rs, err := ix.Find(ctx, q)
		if err != nil {
			t.Fatalf("Find %v: %v", matches, err)
		}
		got := ids(level, rs)
		slices.Sort(got)
		want = slices.Clone(want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s %v:\n got  %v\n want %v", level, matches, got, want)
		}
		if n, err := ix.Count(ctx, q); err != nil || n != len(want) {
			t.Errorf("Count %v = %d, %v; want %d", matches, n, err, len(want))
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { check(t, ix, tc.level, tc.matches, tc.want) })
	}
	if _, err := ix.Find(ctx, index.Query{Level: index.InstanceLevel, Matches: m("AcquisitionNumber", "one")}); !errors.Is(err, index.ErrInvalidQuery) {
		t.Errorf("bad integer: %v", err)
	}

	// Deleting a series removes its values: a new series under the same
	// protocol is the only match afterwards.
	if _, err := ix.DeleteSeries(ctx, SE7); err != nil {
		t.Fatal(err)
	}
	check(t, ix, index.SeriesLevel, m("ProtocolName", "Hand"), nil)
	check(t, ix, index.InstanceLevel, m("AcquisitionNumber", "2"), []string{I(2), I(5), I(8)})

	// A changed configuration: OperatorsName leaves, ContrastBolusAgent
	// arrives (nothing has it); the others keep their values.
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ix = reopen(Specs(t, "SERIES:ProtocolName", "STUDY:ContrastBolusAgent"))
	if _, err := ix.Find(ctx, index.Query{Level: index.InstanceLevel, Matches: m("OperatorsName", "TECH*")}); !errors.Is(err, index.ErrUnsupportedKey) {
		t.Errorf("dropped key: err = %v", err)
	}
	check(t, ix, index.SeriesLevel, m("ProtocolName", "Chest*"), []string{SE1, SE2})
	check(t, ix, index.StudyLevel, m("ContrastBolusAgent", `""`), []string{S1, S2, S3, S4, S6})
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	// Back again: the values are extracted anew.
	ix = reopen(Specs(t, "OperatorsName"))
	check(t, ix, index.InstanceLevel, m("OperatorsName", "TECH*"), []string{I(1), I(7)})
}
