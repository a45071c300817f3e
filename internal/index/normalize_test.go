package index

import (
	"slices"
	"testing"
	"time"
)

func TestNormalizeDate(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"20200115", "20200115"},
		{" 20200115 ", "20200115"},
		{"2020.01.15", "20200115"},
		{"20201315", ""},
		{"20200100", ""},
		{"2020011", ""},
		{"2020-01-15", ""},
		{"", ""},
	} {
		if got := NormalizeDate(tc.in); got != tc.want {
			t.Errorf("NormalizeDate(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNormalizeTime(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"10", "100000"},
		{"1015", "101500"},
		{"101530", "101530"},
		{"101530.5", "101530.5"},
		{"101530.500000", "101530.5"},
		{"101530.000", "101530"},
		{"10:15:30", "101530"},
		{"10:15:30.25 ", "101530.25"},
		{"101530.1234567", ""},
		{"1015.5", ""},
		{"2560", ""},
		{"1", ""},
		{"ab", ""},
	} {
		if got := NormalizeTime(tc.in); got != tc.want {
			t.Errorf("NormalizeTime(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestNormalizeDateTime(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"2020", "20200101000000"},
		{"202003", "20200301000000"},
		{"20200315", "20200315000000"},
		{"2020031512", "20200315120000"},
		{"20200315123456.789", "20200315123456.789"},
		{"20200315123456+0100", "20200315123456"},
		{"20200315123456-0500", "20200315123456"},
		{"20200315123456-2500", ""},
		{"20201315", ""},
		{"20200315123456.1234567", ""},
		{"", ""},
	} {
		if got := NormalizeDateTime(tc.in); got != tc.want {
			t.Errorf("NormalizeDateTime(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPersonName(t *testing.T) {
	pn := ParsePersonName("Yamada^Tarou=山田^太郎=やまだ^たろう")
	if pn.Alphabetic != "Yamada^Tarou" || pn.Ideographic != "山田^太郎" || pn.Phonetic != "やまだ^たろう" {
		t.Errorf("ParsePersonName = %+v", pn)
	}
	if s := pn.String(); s != "Yamada^Tarou=山田^太郎=やまだ^たろう" {
		t.Errorf("String = %q", s)
	}
	if s := ParsePersonName("=漢字").String(); s != "=漢字" {
		t.Errorf("String(=漢字) = %q", s)
	}
	if s := (PersonName{Alphabetic: "A"}).String(); s != "A" {
		t.Errorf("String = %q", s)
	}
	for in, want := range map[string]string{
		"Smith^John^^^":   "Smith^John",
		" Smith ^ John ":  "Smith^John",
		"^^^":             "",
		"Smith^^^Dr":      "Smith^^^Dr",
		"Smith\x00":       "Smith",
		"":                "",
		"van der Berg^Jo": "van der Berg^Jo",
	} {
		if got := NormalizePNGroup(in); got != want {
			t.Errorf("NormalizePNGroup(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNameWords(t *testing.T) {
	got := NameWords(ParsePersonName("Müller-Lüdenscheidt^Jean Pierre=山田^太郎"))
	want := []string{"MULLER-LUDENSCHEIDT", "MULLER", "LUDENSCHEIDT", "JEAN", "PIERRE", "山田", "太郎"}
	if !slices.Equal(got, want) {
		t.Errorf("NameWords = %q, want %q", got, want)
	}
	if got := FoldName("Ångström ÉLODIE"); got != "ANGSTROM ELODIE" {
		t.Errorf("FoldName = %q", got)
	}
}

func TestRecordNormalize(t *testing.T) {
	r := InstanceRecord{
		Patient: Patient{PatientID: " P1 ", PatientSex: "f", PatientBirthDate: "1970.01.02",
			PatientName: PersonName{Alphabetic: "Doe^Jane^^"}, NumberOfPatientRelatedStudies: 9},
		Study:  Study{StudyInstanceUID: "1.2\x00", StudyTime: "10:00", ModalitiesInStudy: []string{"X"}},
		Series: Series{SeriesInstanceUID: "1.3 ", Modality: "ct", BodyPartExamined: " chest"},
		Instance: Instance{SOPInstanceUID: "1.4", AcquisitionDateTime: "2020+0100",
			ReceivedAt: time.Date(2024, 1, 2, 3, 4, 5, 6789, time.FixedZone("X", 3600))},
	}
	r.Normalize()
	r2 := r
	r2.Normalize()
	if r.Patient.PatientID != "P1" || r.Patient.PatientSex != "F" || r.Patient.PatientBirthDate != "19700102" ||
		r.Patient.PatientName.Alphabetic != "Doe^Jane" || r.Patient.NumberOfPatientRelatedStudies != 0 ||
		r.Study.StudyInstanceUID != "1.2" || r.Study.StudyTime != "100000" || r.Study.ModalitiesInStudy != nil ||
		r.Series.SeriesInstanceUID != "1.3" || r.Series.Modality != "CT" || r.Series.BodyPartExamined != "CHEST" ||
		r.Instance.AcquisitionDateTime != "20200101000000" {
		t.Errorf("Normalize = %+v", r)
	}
	if got := r.Instance.ReceivedAt; got.Location() != time.UTC || got.Nanosecond() != 6000 {
		t.Errorf("ReceivedAt = %v", got)
	}
	if r2.Patient != r.Patient || r2.Study.StudyTime != r.Study.StudyTime {
		t.Error("Normalize is not idempotent")
	}
	if err := r.Validate(); err == nil {
		t.Error("Validate accepted a record without blob key")
	}
	r.Instance.BlobKey = "k"
	if err := r.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}
