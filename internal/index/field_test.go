package index

import "testing"

// TestFieldCoversModel keeps InstanceRecord.Field in step with the model:
// every attribute the index stores has a column value of the kind its VR
// calls for.
func TestFieldCoversModel(t *testing.T) {
	seven, one := 7, 1
	rec := InstanceRecord{}
	rec.Patient.PatientName = ParsePersonName("DOE^JOHN")
	rec.Study.ModalitiesInStudy = []string{"CT", "MR"}
	rec.Series.SeriesNumber = &seven
	rec.Instance.InstanceNumber = &one
	rec.Instance.Rows = 512
	for _, a := range Attributes() {
		f := rec.Field(a.Key)
		var want FieldKind
		switch {
		case a.VR == "PN":
			want = FieldName
		case a.VR == "IS" || a.VR == "US" || a.VR == "UL":
			want = FieldInt
		case a.Key == ModalitiesInStudy || a.Key == SOPClassesInStudy:
			want = FieldList
		default:
			want = FieldText
		}
		if f.Kind != want {
			t.Errorf("%v (%s): kind %d, want %d", a.Key, a.VR, f.Kind, want)
		}
	}
	for _, tc := range []struct {
		key  Key
		want Field
	}{
		{SeriesNumber, Field{Kind: FieldInt, Int: 7, HasInt: true}},
		{Rows, Field{Kind: FieldInt, Int: 512, HasInt: true}},
		{Columns, Field{Kind: FieldInt}},                                  // 0 means absent
		{NumberOfStudyRelatedSeries, Field{Kind: FieldInt, HasInt: true}}, // counts are always present
	} {
		if got := rec.Field(tc.key); got.Kind != tc.want.Kind || got.Int != tc.want.Int || got.HasInt != tc.want.HasInt {
			t.Errorf("key %v: %+v, want %+v", tc.key, got, tc.want)
		}
	}
	if f := rec.Field(Key("NoSuchAttribute")); f.Kind != FieldNone {
		t.Errorf("unknown key: kind %d", f.Kind)
	}
}
