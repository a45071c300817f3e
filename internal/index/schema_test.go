package index

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

type mapDict map[string]struct {
	tag uint32
	vr  string
}

func (d mapDict) ByKeyword(k string) (uint32, string, bool) {
	e, ok := d[k]
	return e.tag, e.vr, ok
}

func (d mapDict) ByTag(tag uint32) (string, string, bool) {
	for k, e := range d {
		if e.tag == tag {
			return k, e.vr, true
		}
	}
	return "", "", false
}

var testDict = mapDict{
	"ProtocolName":    {0x00181030, "LO"},
	"OperatorsName":   {0x00081070, "PN"},
	"AcquisitionDate": {0x00080022, "DA"},
	"PixelSpacing":    {0x00280030, "DS"},
	"Modality":        {0x00080060, "CS"},
}

func TestParseAttributeSpec(t *testing.T) {
	for _, tc := range []struct {
		spec, want string
	}{
		{"ProtocolName", "ProtocolName 00181030 LO IMAGE  configured"},
		{"series:ProtocolName", "ProtocolName 00181030 LO SERIES  configured"},
		{" STUDY : OperatorsName ", "OperatorsName 00081070 PN STUDY  configured"},
		{"(0018,1030)", "ProtocolName 00181030 LO IMAGE  configured"},
		{"00080022", "AcquisitionDate 00080022 DA IMAGE  configured"},
		{"0008,0022/TM", "AcquisitionDate 00080022 TM IMAGE  configured"},
		{"(0011,1234)", "error: index: attribute \"(0011,1234)\": a private tag needs its creator (\"@CREATOR\")"},
		{"SERIES:(0019,xx0C)@GEMS_ACQU_01/ds", "0019xx0C@GEMS_ACQU_01 0019100C DS SERIES GEMS_ACQU_01 configured"},
		{"(0019,120C)@GEMS_ACQU_01/DS", "0019xx0C@GEMS_ACQU_01 0019100C DS IMAGE GEMS_ACQU_01 configured"},
		{"(0019,0010)@X/LO", "error: index: attribute \"(0019,0010)@X/LO\": private creator elements cannot be indexed"},
		{"(0018,1030)@X", "error: index: attribute \"(0018,1030)@X\": only private tags have a creator"},
		{"ProtocolName@", "error: index: attribute \"ProtocolName@\": empty private creator"},
		{"(7777,0010", "error: index: attribute \"(7777,0010\": malformed tag"},
		{"(0018,10)", "error: index: attribute \"(0018,10)\": malformed tag"},
		{"Modality", "Modality 00080060 CS SERIES  model"},
		{"(0009,1234)/OB", "error: index: attribute \"(0009,1234)/OB\": a private tag needs its creator (\"@CREATOR\")"},
		{"(0009,1234)@C/OB", "error: index: attribute \"(0009,1234)@C/OB\": VR OB cannot be matched"},
		{"(0021,0040)", "error: index: attribute \"(0021,0040)\": private creator elements cannot be indexed"},
		{"(0008,9999)", "error: index: attribute \"(0008,9999)\": VR unknown, give it as \"/VR\""},
		{"PixelSpacing", "PixelSpacing 00280030 DS IMAGE  configured"},
		{"NoSuch", "error: index: attribute \"NoSuch\": unknown keyword"},
		{"PATIENT:ProtocolName", "error: index: attribute \"PATIENT:ProtocolName\": level \"PATIENT\" is not STUDY, SERIES or IMAGE"},
		{"", "error: index: attribute \"\": no keyword or tag"},
		{"(0029,xx10)@ACME: MR/SH", "0029xx10@ACME: MR 00291010 SH IMAGE ACME: MR configured"},
		{"SERIES:(0029,xx10)@ACME: MR/SH", "0029xx10@ACME: MR 00291010 SH SERIES ACME: MR configured"},
		{"AcquisitionDate/US or SS", "AcquisitionDate 00080022 US IMAGE  configured"},
	} {
		a, err := ParseAttributeSpec(tc.spec, testDict)
		got := ""
		if err != nil {
			got = "error: " + err.Error()
		} else {
			kind := "model"
			if a.Configured {
				kind = "configured"
			}
			got = fmt.Sprintf("%s %08X %s %s %s %s", a.Key, a.Tag, a.VR, a.Level, a.Creator, kind)
		}
		if got != tc.want {
			t.Errorf("ParseAttributeSpec(%q)\n got  %s\n want %s", tc.spec, got, tc.want)
		}
	}
}

func TestSchemaLookup(t *testing.T) {
	var attrs []Attribute
	for _, s := range []string{"SERIES:ProtocolName", "Modality", "SERIES:(0019,xx0C)@GEMS_ACQU_01/DS", "ProtocolName"} {
		a, err := ParseAttributeSpec(s, testDict)
		if err != nil {
			t.Fatal(err)
		}
		attrs = append(attrs, a)
	}
	s, err := NewSchema(attrs)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Configured(); len(got) != 2 || got[0].Key != "ProtocolName" || got[0].Level != SeriesLevel {
		t.Fatalf("Configured = %+v: want ProtocolName (first wins) and the private one", got)
	}
	if a, ok := s.Lookup("ProtocolName"); !ok || !a.Configured {
		t.Errorf("Lookup(ProtocolName) = %+v, %v", a, ok)
	}
	if a, ok := s.Lookup(PatientID); !ok || a.Configured {
		t.Errorf("Lookup(PatientID) = %+v, %v", a, ok)
	}
	for _, tc := range []struct {
		tag     uint32
		creator string
		want    Key
	}{
		{0x0019100C, "GEMS_ACQU_01", "0019xx0C@GEMS_ACQU_01"},
		{0x0019110C, "GEMS_ACQU_01 ", "0019xx0C@GEMS_ACQU_01"},
		{0x0019100C, "", "0019xx0C@GEMS_ACQU_01"},
		{0x0019100C, "SIEMENS", ""},
		{0x0019100D, "GEMS_ACQU_01", ""},
		{0x00181030, "", "ProtocolName"},
		{0x00100020, "", PatientID},
		{0x00180050, "", ""},
	} {
		a, ok := s.LookupTag(tc.tag, tc.creator)
		if a.Key != tc.want || ok != (tc.want != "") {
			t.Errorf("LookupTag(%08X, %q) = %s, %v; want %s", tc.tag, tc.creator, a.Key, ok, tc.want)
		}
	}
	var nilSchema *Schema
	if _, ok := nilSchema.Lookup("ProtocolName"); ok {
		t.Error("nil schema knows ProtocolName")
	}
	if _, ok := nilSchema.LookupTag(0x00100010, ""); !ok {
		t.Error("nil schema lost the model")
	}
	if _, err := NewSchema([]Attribute{{Key: "X", Tag: 0x00090001, VR: "LO", Level: PatientLevel, Kind: KindString}}); err == nil {
		t.Error("PATIENT level accepted")
	}
	// Parsing with the schema: configured keys are known, fuzzy PN does not
	// apply to them.
	q := Query{Level: SeriesLevel, FuzzyNames: true, Matches: []Match{{"ProtocolName", "CT*"}}}
	if _, err := s.ParseQuery(q); err != nil {
		t.Error(err)
	}
	if _, err := ParseQuery(q); !errors.Is(err, ErrUnsupportedKey) {
		t.Errorf("model-only ParseQuery: %v", err)
	}
}

func TestHeaderValues(t *testing.T) {
	attrs := []Attribute{
		{Key: "ProtocolName", Tag: 0x00181030, VR: "LO", Kind: KindString, Level: SeriesLevel},
		{Key: "OperatorsName", Tag: 0x00081070, VR: "PN", Kind: KindPN, Level: InstanceLevel},
		{Key: "P", Tag: 0x0019100C, VR: "DS", Kind: KindString, Level: SeriesLevel, Creator: "GEMS_ACQU_01"},
		{Key: "N", Tag: 0x00200012, VR: "IS", Kind: KindInt, Level: InstanceLevel},
		{Key: "D", Tag: 0x00189151, VR: "DT", Kind: KindDateTime, Level: InstanceLevel},
		{Key: "C", Tag: 0x00080060, VR: "CS", Kind: KindCode, Level: SeriesLevel},
		{Key: "U", Tag: 0x00080016, VR: "UI", Kind: KindUID, Level: InstanceLevel},
	}
	hdr := `{"00181030":{"vr":"LO","Value":["  Chest  "]},` +
		`"00081070":{"vr":"PN","Value":[{"Alphabetic":"doe^jane","Ideographic":"山田"},null,{"Alphabetic":""}]},` +
		`"00190010":{"vr":"LO","Value":["OTHER"]},"00190011":{"vr":"LO","Value":["GEMS_ACQU_01 "]},` +
		`"0019100C":{"vr":"DS","Value":[1.5]},"0019110C":{"vr":"DS","Value":[2.5]},` +
		`"00200012":{"vr":"IS","Value":[7, "x", "+8"]},` +
		`"00080201":{"vr":"SH","Value":["-0500"]},"00189151":{"vr":"DT","Value":["20240101120000","20240101120000+0100"]},` +
		`"00080060":{"vr":"CS","Value":["mr "]},"00080016":{"vr":"UI","BulkDataURI":"x"}}` + "\n"
	vals, err := HeaderValues([]byte(hdr), attrs)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(vals))
	for i, vs := range vals {
		var parts []string
		for _, v := range vs {
			s := v.Text
			if v.Ideographic != "" {
				s += "=" + v.Ideographic
			}
			if v.Int != nil {
				s += fmt.Sprintf("#%d", *v.Int)
			}
			if v.UTC != "" {
				s += "@" + v.UTC
			}
			parts = append(parts, s)
		}
		got[i] = strings.Join(parts, "|")
	}
	want := []string{"Chest", "DOE^JANE=山田", "2.5", "7#7|8#8", "20240101120000@20240101170000|20240101120000@20240101110000", "MR", ""}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%s = %q, want %q", attrs[i].Key, got[i], want[i])
		}
	}
	for i, want := range []bool{true, true, true, true, true, true, true} {
		if got := HeaderMayHave([]byte(hdr), attrs[i]); got != want {
			t.Errorf("HeaderMayHave(%s) = %v", attrs[i].Key, got)
		}
	}
	if HeaderMayHave([]byte(hdr), Attribute{Tag: 0x00181031}) || HeaderMayHave([]byte(hdr), Attribute{Tag: 0x0019100C, Creator: "SIEMENS"}) {
		t.Error("HeaderMayHave found absent attributes")
	}
	if _, err := HeaderValues([]byte("[1,2]"), attrs); err == nil {
		t.Error("a JSON array header gave no error")
	}
	if vals, err := HeaderValues(nil, attrs); err != nil || len(vals) != len(attrs) {
		t.Errorf("empty header: %v %v", vals, err)
	}
}

func TestDateTimeUTC(t *testing.T) {
	for _, tc := range []struct{ dt, tz, want string }{
		{"20240101120000", "", ""},
		{"20240101120000+0100", "", "20240101110000"},
		{"20240101003000-0130", "", "20240101020000"},
		{"20240101233000.25-0100", "", "20240102003000.25"},
		{"20240101120000", "+0530", "20240101063000"},
		{"20240101120000+0000", "+0530", "20240101120000"},
		{"2024+0100", "", "20231231230000"},
		{"20240101120000+1500", "", ""},
		{"20240101120000+01", "", ""},
		{"20240101240000+0100", "", ""},
		{"bad", "+0100", ""},
	} {
		if got := DateTimeUTC(tc.dt, tc.tz); got != tc.want {
			t.Errorf("DateTimeUTC(%q, %q) = %q, want %q", tc.dt, tc.tz, got, tc.want)
		}
	}
}

func TestUTCBounds(t *testing.T) {
	for _, tc := range []struct{ v, tz, want string }{
		{"20240101", "", "false  "},
		{"20240101+0100", "", "true 20231231230000 20240101225959.999999"},
		{"20240101-0100", "", "true 20240101010000 20240102005959.999999"},
		{"20240101120000-0500-20240101130000-0500", "", "true 20240101170000 20240101180000.999999"},
		{"20240101120000+0100-20240101130000", "", "true 20240101110000 20240101120000.999999"},
		{"-20240101130000+0200", "", "true  20240101110000.999999"},
		{"20240101120000-", "-0100", "true 20240101130000 "},
		{"20240101120000", "+0000", "true 20240101120000 20240101120000.999999"},
	} {
		ok, lo, hi := utcBounds(tc.v, tc.tz)
		if got := fmt.Sprintf("%v %s %s", ok, lo, hi); got != tc.want {
			t.Errorf("utcBounds(%q, %q) = %q, want %q", tc.v, tc.tz, got, tc.want)
		}
	}
}

func TestOrder(t *testing.T) {
	o, _ := ParseOrder(" -StudyDate, +PatientName,,SeriesNumber")
	if got := fmt.Sprint(o); got != "[{StudyDate true} {PatientName false} {SeriesNumber false}]" {
		t.Errorf("ParseOrder = %s", got)
	}
	for _, lv := range []Level{PatientLevel, StudyLevel, SeriesLevel, InstanceLevel} {
		q := Query{Level: lv, OrderBy: DefaultOrder(lv)}
		if lv != InstanceLevel && lv != SeriesLevel {
			if _, err := ParseQuery(q); err != nil {
				t.Errorf("default order of %s is not a valid OrderBy: %v", lv, err)
			}
		}
	}
}

// FuzzParseAttributeSpec: any configuration text gives an attribute the
// schema accepts or an error, never a panic.
func FuzzParseAttributeSpec(f *testing.F) {
	for _, s := range []string{"ProtocolName", "SERIES:(0019,xx0C)@GEMS_ACQU_01/DS", "(0018,1030)", "00080022/TM", "STUDY:", "(,)@/", "xx@"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		a, err := ParseAttributeSpec(spec, testDict)
		if err != nil {
			return
		}
		if a.Configured {
			if _, err := NewSchema([]Attribute{a}); err != nil {
				t.Errorf("ParseAttributeSpec(%q) = %+v, which NewSchema refuses: %v", spec, a, err)
			}
		}
	})
}

// FuzzHeaderValues: any stored header gives values or an error.
func FuzzHeaderValues(f *testing.F) {
	f.Add([]byte(`{"00181030":{"vr":"LO","Value":["X"]},"00190010":{"vr":"LO","Value":["C"]},"0019100C":{"vr":"DS","Value":[1]}}`))
	f.Add([]byte(`{"00081070":{"vr":"PN","Value":[{"Alphabetic":"A^B"}]},"00189151":{"vr":"DT","Value":["2024+0100"]}}`))
	f.Add([]byte(`{"00080201":{"vr":"SH","Value":[5]}}`))
	attrs := []Attribute{
		{Key: "ProtocolName", Tag: 0x00181030, Kind: KindString},
		{Key: "P", Tag: 0x0019100C, Kind: KindString, Creator: "C"},
		{Key: "OperatorsName", Tag: 0x00081070, Kind: KindPN},
		{Key: "D", Tag: 0x00189151, Kind: KindDateTime},
		{Key: "N", Tag: 0x00200012, Kind: KindInt},
	}
	f.Fuzz(func(t *testing.T, hdr []byte) {
		vals, err := HeaderValues(hdr, attrs)
		if err == nil && len(vals) != len(attrs) {
			t.Fatalf("%d value lists for %d attributes", len(vals), len(attrs))
		}
	})
}

// FuzzParseDateTimeQuery: any DT key value with any Timezone Offset From
// UTC parses or fails with ErrInvalidQuery; UTC bounds stay ordered.
func FuzzParseDateTimeQuery(f *testing.F) {
	for _, s := range []string{"20240101-0500", "2024-2025", "20240101120000+0100-20240101130000-0100", "-2024+1400", "---"} {
		f.Add(s, "")
		f.Add(s, "+0100")
	}
	f.Fuzz(func(t *testing.T, v, tz string) {
		conds, err := ParseQuery(Query{Level: InstanceLevel, TimezoneOffset: tz, Matches: []Match{{AcquisitionDateTime, v}}})
		if err != nil {
			if !errors.Is(err, ErrInvalidQuery) {
				t.Fatalf("error %v is not ErrInvalidQuery", err)
			}
			return
		}
		for _, c := range conds {
			for _, term := range c.Terms {
				if term.UTC && term.LoUTC != "" && term.HiUTC != "" && term.LoUTC > term.HiUTC {
					t.Errorf("%q (tz %q): UTC bounds %s > %s", v, tz, term.LoUTC, term.HiUTC)
				}
			}
		}
	})
}
