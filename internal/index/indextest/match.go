package indextest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/internal/index"
)

// m builds a Match list from key/value pairs.
func m(kv ...string) []index.Match {
	var out []index.Match
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, index.Match{Key: index.Key(kv[i]), Value: kv[i+1]})
	}
	return out
}

// ids returns the identifier of each result at its level: PatientID|Issuer,
// Study, Series or SOP Instance UID.
func ids(level index.Level, rs []index.InstanceRecord) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		switch level {
		case index.PatientLevel:
			out = append(out, r.Patient.PatientID+"|"+r.Patient.IssuerOfPatientID)
		case index.StudyLevel:
			out = append(out, r.Study.StudyInstanceUID)
		case index.SeriesLevel:
			out = append(out, r.Series.SeriesInstanceUID)
		default:
			out = append(out, r.Instance.SOPInstanceUID)
		}
	}
	return out
}

type matchCase struct {
	name     string
	level    index.Level
	matches  []index.Match
	fuzzy    bool
	combined bool
	tz       string // Query.TimezoneOffset
	want     []string
}

// matchCases is the table of matching rules, run against the fixture.
var matchCases = []matchCase{
	// Universal matching.
	{name: "universal/studies", level: index.StudyLevel, want: []string{S1, S2, S3, S4, S5, S6}},
	{name: "universal/empty and star", level: index.StudyLevel, matches: m("PatientID", "", "AccessionNumber", "*"),
		want: []string{S1, S2, S3, S4, S5, S6}},
	{name: "universal/patients", level: index.PatientLevel,
		want: []string{"PID1|HOSP", "PID2|HOSP", "PID3|", "PID1|OTHER", "|"}},

	// Single value, issuer.
	{name: "single/PatientID", level: index.StudyLevel, matches: m("PatientID", "PID1"), want: []string{S1, S2, S5}},
	{name: "single/PatientID+issuer", level: index.StudyLevel, matches: m("PatientID", "PID1", "IssuerOfPatientID", "HOSP"),
		want: []string{S1, S2}},
	{name: "single/padded value normalised", level: index.StudyLevel, matches: m("PatientID", "PID3"), want: []string{S4}},
	{name: "single/padded key trimmed", level: index.StudyLevel, matches: m("PatientID", " PID3 "), want: []string{S4}},
	{name: "single/case-sensitive LO", level: index.StudyLevel, matches: m("StudyDescription", "ct abdomen"), want: []string{S3}},
	{name: "single/case-sensitive LO no match", level: index.StudyLevel, matches: m("StudyDescription", "CT ABDOMEN")},
	{name: "single/CS upper-cased", level: index.StudyLevel, matches: m("PatientSex", "m"), want: []string{S1, S2, S4}},
	{name: "single/no match", level: index.StudyLevel, matches: m("AccessionNumber", "NOPE")},

	// Wildcards, escaping of the backend's own pattern characters.
	{name: "wildcard/prefix", level: index.StudyLevel, matches: m("AccessionNumber", "ACC*"), want: []string{S1, S2, S3, S4}},
	{name: "wildcard/question mark", level: index.StudyLevel, matches: m("AccessionNumber", "ACC?"), want: []string{S1, S2, S3, S4}},
	{name: "wildcard/case-sensitive", level: index.StudyLevel, matches: m("StudyDescription", "CT*"), want: []string{S1}},
	{name: "wildcard/infix", level: index.StudyLevel, matches: m("StudyDescription", "*an*"), want: []string{S5}},
	{name: "wildcard/literal percent and underscore", level: index.StudyLevel, matches: m("StudyDescription", "50%_*"),
		want: []string{S6}},
	{name: "wildcard/underscore is literal", level: index.StudyLevel, matches: m("StudyDescription", "50__off*")},
	{name: "wildcard/percent is literal", level: index.StudyLevel, matches: m("StudyDescription", "%*")},
	{name: "wildcard/bracket is literal", level: index.StudyLevel, matches: m("StudyDescription", "*[test]"), want: []string{S6}},
	{name: "wildcard/question mark over underscore", level: index.StudyLevel, matches: m("StudyDescription", "50%?off*"),
		want: []string{S6}},

	// Lists.
	{name: "list/UIDs", level: index.StudyLevel, matches: m("StudyInstanceUID", S3+`\`+S1), want: []string{S1, S3}},
	{name: "list/padded UIDs", level: index.StudyLevel, matches: m("StudyInstanceUID", S4+"\x00"), want: []string{S4}},
	{name: "list/strings", level: index.StudyLevel, matches: m("AccessionNumber", `ACC1\ACC3`), want: []string{S1, S3}},
	{name: "list/with wildcard", level: index.StudyLevel, matches: m("AccessionNumber", `ACC1\CR*\ACC4`), want: []string{S1, S4}},
	{name: "list/SOP Instance UIDs", level: index.InstanceLevel, matches: m("SOPInstanceUID", I(2)+`\`+I(9)+`\`+I(12)),
		want: []string{I(2), I(9), I(12)}},

	// Empty value matching.
	{name: "empty/accession", level: index.StudyLevel, matches: m("AccessionNumber", `""`), want: []string{S5, S6}},
	{name: "empty/date", level: index.StudyLevel, matches: m("StudyDate", `""`), want: []string{S5}},
	{name: "empty/series number", level: index.SeriesLevel, matches: m("SeriesNumber", `""`), want: []string{SE5}},

	// Person names: case-insensitive, component groups.
	{name: "PN/wildcard", level: index.StudyLevel, matches: m("PatientName", "SMITH*"), want: []string{S1, S2, S5}},
	{name: "PN/wildcard lower case", level: index.StudyLevel, matches: m("PatientName", "smith*"), want: []string{S1, S2, S5}},
	{name: "PN/single case-insensitive", level: index.StudyLevel, matches: m("PatientName", "smith^john"), want: []string{S1, S2}},
	{name: "PN/trailing separators ignored", level: index.StudyLevel, matches: m("PatientName", "SMITH^JOHN^^^"),
		want: []string{S1, S2}},
	{name: "PN/single is not a prefix", level: index.StudyLevel, matches: m("PatientName", "Smith")},
	{name: "PN/component wildcard", level: index.StudyLevel, matches: m("PatientName", "SM?TH^J*"), want: []string{S1, S2}},
	{name: "PN/infix", level: index.StudyLevel, matches: m("PatientName", "*ITH*"), want: []string{S1, S2, S5}},
	{name: "PN/ideographic any group", level: index.StudyLevel, matches: m("PatientName", "山田*"), want: []string{S3}},
	{name: "PN/phonetic any group", level: index.StudyLevel, matches: m("PatientName", "やまだ^たろう"), want: []string{S3}},
	{name: "PN/two groups", level: index.StudyLevel, matches: m("PatientName", "Yamada^Tarou=山田^太郎"), want: []string{S3}},
	{name: "PN/ideographic group only", level: index.StudyLevel, matches: m("PatientName", "=山田^太郎"), want: []string{S3}},
	{name: "PN/groups must all match", level: index.StudyLevel, matches: m("PatientName", "Yamada^Tarou=山田^花子")},
	{name: "PN/non-ASCII upper-cased", level: index.StudyLevel, matches: m("PatientName", "müller^jean-pierre"), want: []string{S4}},
	{name: "PN/referring physician", level: index.StudyLevel, matches: m("ReferringPhysicianName", "JONES*"), want: []string{S1, S4}},

	// Fuzzy person names.
	{name: "fuzzy/word prefixes any order", level: index.StudyLevel, fuzzy: true, matches: m("PatientName", "john smi"),
		want: []string{S1, S2}},
	{name: "fuzzy/diacritics folded", level: index.StudyLevel, fuzzy: true, matches: m("PatientName", "muller"), want: []string{S4}},
	{name: "fuzzy/hyphenated part", level: index.StudyLevel, fuzzy: true, matches: m("PatientName", "pierre"), want: []string{S4}},
	{name: "fuzzy/given name prefix", level: index.StudyLevel, fuzzy: true, matches: m("PatientName", "tar"), want: []string{S3}},
	{name: "fuzzy/ideographic component", level: index.StudyLevel, fuzzy: true, matches: m("PatientName", "太郎"), want: []string{S3}},
	{name: "fuzzy/all words must match", level: index.StudyLevel, fuzzy: true, matches: m("PatientName", "anna smith"),
		want: []string{S5}},
	{name: "fuzzy/wildcard stripped", level: index.StudyLevel, fuzzy: true, matches: m("PatientName", "SMITH*"),
		want: []string{S1, S2, S5}},
	{name: "fuzzy/not infix", level: index.StudyLevel, fuzzy: true, matches: m("PatientName", "mith")},
	{name: "fuzzy/referring physician", level: index.StudyLevel, fuzzy: true, matches: m("ReferringPhysicianName", "bob"),
		want: []string{S1}},
	{name: "fuzzy/off uses strict", level: index.StudyLevel, matches: m("PatientName", "john smi")},

	// Dates, times, date-times.
	{name: "date/single", level: index.StudyLevel, matches: m("StudyDate", "20200115"), want: []string{S1, S4}},
	{name: "date/ACR-NEMA key", level: index.StudyLevel, matches: m("StudyDate", "2020.01.15"), want: []string{S1, S4}},
	{name: "date/closed range", level: index.StudyLevel, matches: m("StudyDate", "20200101-20200131"), want: []string{S1, S4}},
	{name: "date/open start", level: index.StudyLevel, matches: m("StudyDate", "-20200101"), want: []string{S3}},
	{name: "date/open end", level: index.StudyLevel, matches: m("StudyDate", "20200201-"), want: []string{S2, S6}},
	{name: "date/inclusive bounds", level: index.StudyLevel, matches: m("StudyDate", "20191231-20200115"),
		want: []string{S1, S3, S4}},
	{name: "date/empty never in range", level: index.StudyLevel, matches: m("StudyDate", "-29991231"),
		want: []string{S1, S2, S3, S4, S6}},
	{name: "date/list of ranges", level: index.StudyLevel, matches: m("StudyDate", `-20191231\20210101-`), want: []string{S3, S6}},
	{name: "date/birth date range", level: index.PatientLevel, matches: m("PatientBirthDate", "19600101-19751231"),
		want: []string{"PID1|HOSP", "PID1|OTHER"}},
	{name: "date/ACR-NEMA stored", level: index.PatientLevel, matches: m("PatientBirthDate", "19900303"), want: []string{"PID3|"}},
	{name: "time/range", level: index.StudyLevel, matches: m("StudyTime", "1000-1100"), want: []string{S1}},
	{name: "time/open end", level: index.StudyLevel, matches: m("StudyTime", "2300-"), want: []string{S2, S4}},
	{name: "time/single is its precision", level: index.StudyLevel, matches: m("StudyTime", "10"), want: []string{S1}},
	{name: "time/fraction and colons", level: index.StudyLevel, matches: m("StudyTime", "235959.4-23:59:59.6"), want: []string{S4}},
	{name: "time/padded stored", level: index.StudyLevel, matches: m("StudyTime", "120000"), want: []string{S6}},
	{name: "datetime/independent", level: index.StudyLevel, matches: m("StudyDate", "20200115-20200301", "StudyTime", "1200-2200")},
	{name: "datetime/combined", level: index.StudyLevel, combined: true,
		matches: m("StudyDate", "20200115-20200301", "StudyTime", "1200-2200"), want: []string{S4}},
	{name: "datetime/combined open end", level: index.StudyLevel, combined: true,
		matches: m("StudyDate", "20200115-", "StudyTime", "1200-"), want: []string{S2, S4, S6}},
	{name: "datetime/combined single date", level: index.StudyLevel, combined: true,
		matches: m("StudyDate", "20200115", "StudyTime", "1000-1100"), want: []string{S1}},
	{name: "datetime/DT year", level: index.InstanceLevel, matches: m("AcquisitionDateTime", "2020"),
		want: []string{I(1), I(2), I(3), I(5)}},
	{name: "datetime/DT range", level: index.InstanceLevel, matches: m("AcquisitionDateTime", "20200115101601-20200115101602"),
		want: []string{I(2), I(3)}},
	{name: "datetime/DT fraction", level: index.InstanceLevel, matches: m("AcquisitionDateTime", "20200115101601.2-"),
		want: []string{I(2), I(3), I(5)}},
	// I5's AcquisitionDateTime is 20200301230100+0100 (22:01 UTC); the
	// other instances have no offset: they compare as local times.
	{name: "datetime/DT same instant other offset", level: index.InstanceLevel,
		matches: m("AcquisitionDateTime", "202003011701-0500"), want: []string{I(5)}},
	{name: "datetime/DT same wall clock other offset", level: index.InstanceLevel,
		matches: m("AcquisitionDateTime", "202003012301-0500")},
	{name: "datetime/DT without offset is local", level: index.InstanceLevel,
		matches: m("AcquisitionDateTime", "202003012301"), want: []string{I(5)}},
	{name: "datetime/DT query timezone offset", level: index.InstanceLevel, tz: "+0000",
		matches: m("AcquisitionDateTime", "202003012201"), want: []string{I(5)}},
	{name: "datetime/DT offset range across midnight", level: index.InstanceLevel,
		matches: m("AcquisitionDateTime", "20200302000000+0200-20200302010000+0200"), want: []string{I(5)}},
	{name: "datetime/DT offset range, unknown offsets local", level: index.InstanceLevel,
		matches: m("AcquisitionDateTime", "20200115101601+0100-20200115101602+0100"), want: []string{I(2), I(3)}},
	{name: "datetime/content date range at image level", level: index.InstanceLevel,
		matches: m("ContentDate", "20200115", "ContentTime", "1016-1017"), want: []string{I(1), I(2), I(3)}},

	// Derived multi-valued study attributes.
	{name: "multi/ModalitiesInStudy", level: index.StudyLevel, matches: m("ModalitiesInStudy", "MR"), want: []string{S1, S2}},
	{name: "multi/ModalitiesInStudy list", level: index.StudyLevel, matches: m("ModalitiesInStudy", `CT\US`),
		want: []string{S1, S3, S4}},
	{name: "multi/ModalitiesInStudy lower case", level: index.StudyLevel, matches: m("ModalitiesInStudy", "us"), want: []string{S4}},
	{name: "multi/ModalitiesInStudy at series level", level: index.SeriesLevel, matches: m("ModalitiesInStudy", "MR"),
		want: []string{SE1, SE2, SE3}},
	{name: "multi/ModalitiesInStudy at patient level", level: index.PatientLevel, matches: m("ModalitiesInStudy", "SR"),
		want: []string{"PID2|HOSP"}},
	{name: "multi/SOPClassesInStudy", level: index.StudyLevel, matches: m("SOPClassesInStudy", srBasic), want: []string{S3}},

	// Relational keys from upper levels.
	{name: "relational/series by StudyDate", level: index.SeriesLevel, matches: m("StudyDate", "20200115"),
		want: []string{SE1, SE2, SE6}},
	{name: "relational/series by StudyDate and Modality", level: index.SeriesLevel,
		matches: m("StudyDate", "20200115", "Modality", "CT"), want: []string{SE1}},
	{name: "relational/instances by PatientID", level: index.InstanceLevel, matches: m("PatientID", "PID1", "IssuerOfPatientID", "HOSP"),
		want: []string{I(1), I(2), I(3), I(4), I(5), I(6)}},
	{name: "relational/instances of a series", level: index.InstanceLevel, matches: m("SeriesInstanceUID", SE1),
		want: []string{I(1), I(2), I(3)}},
	{name: "relational/instances by name and modality", level: index.InstanceLevel,
		matches: m("PatientName", "MÜLLER*", "Modality", "US"), want: []string{I(9), I(10)}},

	// Series and instance attributes.
	{name: "series/Modality", level: index.SeriesLevel, matches: m("Modality", "MR"), want: []string{SE2, SE3}},
	{name: "series/SeriesNumber", level: index.SeriesLevel, matches: m("StudyInstanceUID", S1, "SeriesNumber", "2"),
		want: []string{SE2}},
	{name: "series/SeriesNumber list", level: index.SeriesLevel, matches: m("SeriesNumber", `2\3`), want: []string{SE2, SE6}},
	{name: "series/BodyPartExamined upper-cased", level: index.SeriesLevel, matches: m("BodyPartExamined", "chest"),
		want: []string{SE1, SE2}},
	{name: "series/Manufacturer", level: index.SeriesLevel, matches: m("Manufacturer", "AC*", "SeriesDescription", "T1"),
		want: []string{SE3}},
	{name: "instance/InstanceNumber", level: index.InstanceLevel, matches: m("SeriesInstanceUID", SE1, "InstanceNumber", "2"),
		want: []string{I(2)}},
	{name: "instance/SOPClassUID", level: index.InstanceLevel, matches: m("SOPClassUID", usImage), want: []string{I(9), I(10)}},
	{name: "instance/Rows", level: index.InstanceLevel, matches: m("Rows", "2048"), want: []string{I(11)}},
	{name: "instance/NumberOfFrames", level: index.InstanceLevel, matches: m("NumberOfFrames", "30"), want: []string{I(9), I(10)}},

	// Keys below the query level: entities with a matching descendant.
	{name: "descendant/study by BodyPartExamined", level: index.StudyLevel, matches: m("BodyPartExamined", "CHEST"),
		want: []string{S1}},
	{name: "descendant/study by SOP Instance UID", level: index.StudyLevel, matches: m("SOPInstanceUID", I(8)), want: []string{S3}},
	{name: "descendant/series and instance keys on one instance", level: index.StudyLevel,
		matches: m("Modality", "CT", "InstanceNumber", "3"), want: []string{S1}},
	{name: "descendant/patient by Modality", level: index.PatientLevel, matches: m("Modality", "US"), want: []string{"PID3|"}},
	{name: "descendant/patient by StudyDate", level: index.PatientLevel, matches: m("StudyDate", "20210601"), want: []string{"|"}},
	{name: "descendant/series by SOPClassUID", level: index.SeriesLevel, matches: m("SOPClassUID", srBasic), want: []string{SE5}},
}

// invalidCases must fail with the given sentinel.
var invalidCases = []struct {
	name string
	q    index.Query
	want error
}{
	{"unknown key", index.Query{Level: index.StudyLevel, Matches: m("PatientAge", "040Y")}, index.ErrUnsupportedKey},
	{"UID wildcard", index.Query{Level: index.StudyLevel, Matches: m("StudyInstanceUID", "1.2*")}, index.ErrInvalidQuery},
	{"date wildcard", index.Query{Level: index.StudyLevel, Matches: m("StudyDate", "2020*")}, index.ErrInvalidQuery},
	{"bad date", index.Query{Level: index.StudyLevel, Matches: m("StudyDate", "yesterday")}, index.ErrInvalidQuery},
	{"reversed range", index.Query{Level: index.StudyLevel, Matches: m("StudyDate", "20201231-20200101")}, index.ErrInvalidQuery},
	{"bad integer", index.Query{Level: index.SeriesLevel, Matches: m("SeriesNumber", "one")}, index.ErrInvalidQuery},
	{"count key", index.Query{Level: index.StudyLevel, Matches: m("NumberOfStudyRelatedInstances", "5")}, index.ErrInvalidQuery},
	{"no level", index.Query{}, index.ErrInvalidQuery},
	{"negative limit", index.Query{Level: index.StudyLevel, Limit: -1}, index.ErrInvalidQuery},
	{"bad timezone", index.Query{Level: index.InstanceLevel, TimezoneOffset: "0100"}, index.ErrInvalidQuery},
	{"sort by count", index.Query{Level: index.StudyLevel, OrderBy: []index.Order{{Key: "NumberOfStudyRelatedInstances"}}},
		index.ErrInvalidQuery},
	{"sort by lower level", index.Query{Level: index.StudyLevel, OrderBy: []index.Order{{Key: "InstanceNumber"}}},
		index.ErrInvalidQuery},
	{"sort by unknown key", index.Query{Level: index.StudyLevel, OrderBy: []index.Order{{Key: "ProtocolName"}}},
		index.ErrInvalidQuery},
	{"unconfigured key", index.Query{Level: index.SeriesLevel, Matches: m("ProtocolName", "X")}, index.ErrUnsupportedKey},
}

func testMatching(t *testing.T, open func(t *testing.T) index.Index) {
	ctx := context.Background()
	ix := open(t)
	insertFixture(t, ix)
	for _, tc := range matchCases {
		t.Run(tc.name, func(t *testing.T) {
			q := index.Query{Level: tc.level, Matches: tc.matches, FuzzyNames: tc.fuzzy, CombinedDateTime: tc.combined,
				TimezoneOffset: tc.tz}
			rs, err := ix.Find(ctx, q)
			if err != nil {
				t.Fatalf("Find: %v", err)
			}
			got := ids(tc.level, rs)
			want := append([]string(nil), tc.want...)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("%s %v:\n got  %s\n want %s", tc.level, tc.matches, strings.Join(got, " "), strings.Join(want, " "))
			}
			n, err := ix.Count(ctx, q)
			if err != nil {
				t.Fatalf("Count: %v", err)
			}
			if n != len(tc.want) {
				t.Errorf("Count = %d, want %d", n, len(tc.want))
			}
		})
	}
	for _, tc := range invalidCases {
		t.Run("invalid/"+tc.name, func(t *testing.T) {
			if _, err := ix.Find(ctx, tc.q); !errors.Is(err, tc.want) {
				t.Errorf("Find error = %v, want %v", err, tc.want)
			}
			if _, err := ix.Count(ctx, tc.q); !errors.Is(err, tc.want) {
				t.Errorf("Count error = %v, want %v", err, tc.want)
			}
		})
	}
}
