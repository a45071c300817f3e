package index

import (
	"errors"
	"fmt"
	"testing"
)

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]Level{"PATIENT": PatientLevel, "study ": StudyLevel, "SERIES": SeriesLevel,
		"IMAGE": InstanceLevel, "INSTANCE": InstanceLevel} {
		if got, err := ParseLevel(in); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseLevel("FRAME"); !errors.Is(err, ErrInvalidQuery) {
		t.Errorf("ParseLevel(FRAME) error = %v", err)
	}
	if InstanceLevel.String() != "IMAGE" {
		t.Errorf("InstanceLevel = %s", InstanceLevel)
	}
}

// term renders the single condition of a one-key query.
func term(t *testing.T, key Key, value string, fuzzy, combined bool, extra ...Match) string {
	t.Helper()
	q := Query{Level: StudyLevel, Matches: append([]Match{{key, value}}, extra...), FuzzyNames: fuzzy,
		CombinedDateTime: combined}
	conds, err := ParseQuery(q)
	if err != nil {
		return "error: " + err.Error()
	}
	if len(conds) == 0 {
		return "universal"
	}
	s := ""
	for _, c := range conds {
		s += string(c.Attr.Key)
		if c.Time != nil {
			s += "+" + string(c.Time.Key)
		}
		s += fmt.Sprintf("%+v;", c.Terms)
	}
	return s
}

func TestParseQuery(t *testing.T) {
	for _, tc := range []struct {
		key      Key
		value    string
		fuzzy    bool
		combined bool
		extra    []Match
		want     string
	}{
		{key: PatientID, value: "", want: "universal"},
		{key: PatientID, value: "*", want: "universal"},
		{key: PatientID, value: "  ", want: "universal"},
		{key: StudyInstanceUID, value: `1.2\*`, want: "universal"},
		{key: PatientID, value: "P1 ", want: "PatientID[{Kind:1 Value:P1 Int:0 Lo: Hi: LoTime: HiTime: UTC:false LoUTC: HiUTC: Group:0 Words:[] Parts:[]}];"},
		{key: PatientID, value: `""`, want: "PatientID[{Kind:4 Value: Int:0 Lo: Hi: LoTime: HiTime: UTC:false LoUTC: HiUTC: Group:0 Words:[] Parts:[]}];"},
		{key: Modality, value: "ct", want: "Modality[{Kind:1 Value:CT Int:0 Lo: Hi: LoTime: HiTime: UTC:false LoUTC: HiUTC: Group:0 Words:[] Parts:[]}];"},
		{key: PatientName, value: "smith*", want: "PatientName[{Kind:2 Value:SMITH* Int:0 Lo: Hi: LoTime: HiTime: UTC:false LoUTC: HiUTC: Group:3 Words:[] Parts:[]}];"},
		{key: PatientName, value: "smi* jo", fuzzy: true,
			want: "PatientName[{Kind:5 Value: Int:0 Lo: Hi: LoTime: HiTime: UTC:false LoUTC: HiUTC: Group:0 Words:[SMI JO] Parts:[]}];"},
		{key: PatientName, value: "*", fuzzy: true, want: "universal"},
		{key: StudyDate, value: "20200101-", want: "StudyDate[{Kind:3 Value: Int:0 Lo:20200101 Hi: LoTime: HiTime: UTC:false LoUTC: HiUTC: Group:0 Words:[] Parts:[]}];"},
		{key: StudyTime, value: "-1030", want: "StudyTime[{Kind:3 Value: Int:0 Lo: Hi:103059.999999 LoTime: HiTime: UTC:false LoUTC: HiUTC: Group:0 Words:[] Parts:[]}];"},
		{key: AcquisitionDateTime, value: "2020-2021",
			want: "AcquisitionDateTime[{Kind:3 Value: Int:0 Lo:20200101000000 Hi:20211231235959.999999 LoTime: HiTime: UTC:false LoUTC: HiUTC: Group:0 Words:[] Parts:[]}];"},
		{key: AcquisitionDateTime, value: "20200101-0500",
			want: "AcquisitionDateTime[{Kind:3 Value: Int:0 Lo:20200101000000 Hi:20200101235959.999999 LoTime: HiTime: UTC:true LoUTC:20200101050000 HiUTC:20200102045959.999999 Group:0 Words:[] Parts:[]}];"},
		{key: AcquisitionDateTime, value: "20200101+0100-20200102-0100",
			want: "AcquisitionDateTime[{Kind:3 Value: Int:0 Lo:20200101000000 Hi:20200102235959.999999 LoTime: HiTime: UTC:true LoUTC:20191231230000 HiUTC:20200103005959.999999 Group:0 Words:[] Parts:[]}];"},
		{key: StudyDate, value: "20200101-20200105", combined: true, extra: []Match{{StudyTime, "1000-"}},
			want: "StudyDate+StudyTime[{Kind:3 Value: Int:0 Lo:20200101 Hi:20200105 LoTime:100000 HiTime: UTC:false LoUTC: HiUTC: Group:0 Words:[] Parts:[]}];"},
		{key: StudyDate, value: "-20200105", combined: true, extra: []Match{{StudyTime, "1000-1200"}},
			want: "StudyDate+StudyTime[{Kind:3 Value: Int:0 Lo: Hi:20200105 LoTime: HiTime:120059.999999 UTC:false LoUTC: HiUTC: Group:0 Words:[] Parts:[]}];"},
		{key: StudyDate, value: `20200101\20200105`, combined: true, extra: []Match{{StudyTime, "1000"}},
			want: "StudyDate[{Kind:3 Value: Int:0 Lo:20200101 Hi:20200101 LoTime: HiTime: UTC:false LoUTC: HiUTC: Group:0 Words:[] Parts:[]} " +
				"{Kind:3 Value: Int:0 Lo:20200105 Hi:20200105 LoTime: HiTime: UTC:false LoUTC: HiUTC: Group:0 Words:[] Parts:[]}];" +
				"StudyTime[{Kind:3 Value: Int:0 Lo:100000 Hi:100059.999999 LoTime: HiTime: UTC:false LoUTC: HiUTC: Group:0 Words:[] Parts:[]}];"},
		{key: SeriesNumber, value: "007", want: "SeriesNumber[{Kind:1 Value:007 Int:7 Lo: Hi: LoTime: HiTime: UTC:false LoUTC: HiUTC: Group:0 Words:[] Parts:[]}];"},
		{key: StudyDate, value: "-", want: "error: index: invalid query: StudyDate=\"-\": invalid DA range"},
		{key: StudyTime, value: "1*", want: "error: index: invalid query: StudyTime=\"1*\": wildcards are not allowed for TM"},
	} {
		got := term(t, tc.key, tc.value, tc.fuzzy, tc.combined, tc.extra...)
		if got != tc.want {
			t.Errorf("%s=%q:\n got  %s\n want %s", tc.key, tc.value, got, tc.want)
		}
	}
}

func TestAttributes(t *testing.T) {
	seen := map[uint32]bool{}
	for _, a := range Attributes() {
		if seen[a.Tag] {
			t.Errorf("tag %08X twice", a.Tag)
		}
		seen[a.Tag] = true
		if b, ok := LookupTag(a.Tag); !ok || b.Key != a.Key {
			t.Errorf("LookupTag(%08X) = %v", a.Tag, b)
		}
		if !a.Level.Valid() || a.Kind == 0 {
			t.Errorf("attribute %s incomplete: %+v", a.Key, a)
		}
	}
	if a, ok := LookupKey(PatientName); !ok || a.Tag != 0x00100010 || a.VR != "PN" {
		t.Errorf("LookupKey(PatientName) = %+v", a)
	}
}
