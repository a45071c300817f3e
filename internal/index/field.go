package index

// FieldKind says which member of a Field holds the value.
type FieldKind int

// The kinds of model attribute values.
const (
	FieldNone FieldKind = iota // not a column of the record
	FieldText                  // Text: one string, "" when empty
	FieldList                  // List: a multi-valued string attribute
	FieldName                  // Name: a person name
	FieldInt                   // Int, when HasInt
)

// Field is the value of one Q/R model attribute in an InstanceRecord, as
// the index stores it (normalised text, split person names, numbers), for
// the front ends to encode in their own form (C-FIND identifiers, DICOM
// JSON). It is returned by value and never allocates.
type Field struct {
	Kind   FieldKind
	Text   string
	List   []string
	Name   PersonName
	Int    int
	HasInt bool
}

// Field returns the value of the model attribute k in r; Kind is FieldNone
// for a key that is not one of the record's columns.
func (r *InstanceRecord) Field(k Key) Field {
	P, St, Se, I := &r.Patient, &r.Study, &r.Series, &r.Instance
	text := func(s string) Field { return Field{Kind: FieldText, Text: s} }
	count := func(n int) Field { return Field{Kind: FieldInt, Int: n, HasInt: true} }
	positive := func(n int) Field { return Field{Kind: FieldInt, Int: n, HasInt: n > 0} }
	optional := func(p *int) Field {
		if p == nil {
			return Field{Kind: FieldInt}
		}
		return count(*p)
	}
	switch k {
	case PatientName:
		return Field{Kind: FieldName, Name: P.PatientName}
	case PatientID:
		return text(P.PatientID)
	case IssuerOfPatientID:
		return text(P.IssuerOfPatientID)
	case PatientBirthDate:
		return text(P.PatientBirthDate)
	case PatientSex:
		return text(P.PatientSex)
	case NumberOfPatientRelatedStudies:
		return count(P.NumberOfPatientRelatedStudies)
	case NumberOfPatientRelatedSeries:
		return count(P.NumberOfPatientRelatedSeries)
	case NumberOfPatientRelatedInstances:
		return count(P.NumberOfPatientRelatedInstances)
	case StudyInstanceUID:
		return text(St.StudyInstanceUID)
	case StudyDate:
		return text(St.StudyDate)
	case StudyTime:
		return text(St.StudyTime)
	case AccessionNumber:
		return text(St.AccessionNumber)
	case StudyID:
		return text(St.StudyID)
	case StudyDescription:
		return text(St.StudyDescription)
	case ReferringPhysicianName:
		return Field{Kind: FieldName, Name: St.ReferringPhysicianName}
	case ModalitiesInStudy:
		return Field{Kind: FieldList, List: St.ModalitiesInStudy}
	case SOPClassesInStudy:
		return Field{Kind: FieldList, List: St.SOPClassesInStudy}
	case NumberOfStudyRelatedSeries:
		return count(St.NumberOfStudyRelatedSeries)
	case NumberOfStudyRelatedInstances:
		return count(St.NumberOfStudyRelatedInstances)
	case SeriesInstanceUID:
		return text(Se.SeriesInstanceUID)
	case Modality:
		return text(Se.Modality)
	case SeriesNumber:
		return optional(Se.SeriesNumber)
	case SeriesDescription:
		return text(Se.SeriesDescription)
	case BodyPartExamined:
		return text(Se.BodyPartExamined)
	case SeriesDate:
		return text(Se.SeriesDate)
	case SeriesTime:
		return text(Se.SeriesTime)
	case PerformedProcedureStepStartDate:
		return text(Se.PerformedProcedureStepStartDate)
	case PerformedProcedureStepStartTime:
		return text(Se.PerformedProcedureStepStartTime)
	case InstitutionName:
		return text(Se.InstitutionName)
	case StationName:
		return text(Se.StationName)
	case Manufacturer:
		return text(Se.Manufacturer)
	case NumberOfSeriesRelatedInstances:
		return count(Se.NumberOfSeriesRelatedInstances)
	case SOPInstanceUID:
		return text(I.SOPInstanceUID)
	case SOPClassUID:
		return text(I.SOPClassUID)
	case InstanceNumber:
		return optional(I.InstanceNumber)
	case TransferSyntaxUID:
		return text(I.TransferSyntaxUID)
	case NumberOfFrames:
		return positive(I.NumberOfFrames)
	case Rows:
		return positive(I.Rows)
	case Columns:
		return positive(I.Columns)
	case ContentDate:
		return text(I.ContentDate)
	case ContentTime:
		return text(I.ContentTime)
	case AcquisitionDateTime:
		return text(I.AcquisitionDateTime)
	}
	return Field{}
}
