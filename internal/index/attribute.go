package index

// Key names an attribute of the information model by its DICOM keyword.
type Key string

// The keys of the information model, one per indexed attribute.
const (
	PatientName                     Key = "PatientName"
	PatientID                       Key = "PatientID"
	IssuerOfPatientID               Key = "IssuerOfPatientID"
	PatientBirthDate                Key = "PatientBirthDate"
	PatientSex                      Key = "PatientSex"
	NumberOfPatientRelatedStudies   Key = "NumberOfPatientRelatedStudies"
	NumberOfPatientRelatedSeries    Key = "NumberOfPatientRelatedSeries"
	NumberOfPatientRelatedInstances Key = "NumberOfPatientRelatedInstances"

	StudyInstanceUID              Key = "StudyInstanceUID"
	StudyDate                     Key = "StudyDate"
	StudyTime                     Key = "StudyTime"
	AccessionNumber               Key = "AccessionNumber"
	StudyID                       Key = "StudyID"
	StudyDescription              Key = "StudyDescription"
	ReferringPhysicianName        Key = "ReferringPhysicianName"
	ModalitiesInStudy             Key = "ModalitiesInStudy"
	SOPClassesInStudy             Key = "SOPClassesInStudy"
	NumberOfStudyRelatedSeries    Key = "NumberOfStudyRelatedSeries"
	NumberOfStudyRelatedInstances Key = "NumberOfStudyRelatedInstances"

	SeriesInstanceUID               Key = "SeriesInstanceUID"
	Modality                        Key = "Modality"
	SeriesNumber                    Key = "SeriesNumber"
	SeriesDescription               Key = "SeriesDescription"
	BodyPartExamined                Key = "BodyPartExamined"
	SeriesDate                      Key = "SeriesDate"
	SeriesTime                      Key = "SeriesTime"
	PerformedProcedureStepStartDate Key = "PerformedProcedureStepStartDate"
	PerformedProcedureStepStartTime Key = "PerformedProcedureStepStartTime"
	InstitutionName                 Key = "InstitutionName"
	StationName                     Key = "StationName"
	Manufacturer                    Key = "Manufacturer"
	NumberOfSeriesRelatedInstances  Key = "NumberOfSeriesRelatedInstances"

	SOPInstanceUID      Key = "SOPInstanceUID"
	SOPClassUID         Key = "SOPClassUID"
	InstanceNumber      Key = "InstanceNumber"
	TransferSyntaxUID   Key = "TransferSyntaxUID"
	NumberOfFrames      Key = "NumberOfFrames"
	Rows                Key = "Rows"
	Columns             Key = "Columns"
	ContentDate         Key = "ContentDate"
	ContentTime         Key = "ContentTime"
	AcquisitionDateTime Key = "AcquisitionDateTime"
)

// Kind says how values of an attribute are stored and matched.
type Kind int

// The kinds of attribute values.
const (
	KindString   Kind = iota + 1 // LO, SH, LT...: case-sensitive text
	KindCode                     // CS: upper-cased text
	KindPN                       // PN: matched case-insensitively on upper-cased groups
	KindUID                      // UI: single value or list; no wildcards
	KindDate                     // DA: YYYYMMDD, range matching
	KindTime                     // TM: HHMMSS[.F], range matching
	KindDateTime                 // DT: YYYYMMDDHHMMSS[.F], range matching
	KindInt                      // IS, US: single value or list
	KindCount                    // maintained counts: return-only, universal matching only
)

// Attribute describes one key of the information model.
type Attribute struct {
	Key   Key
	Tag   uint32 // group<<16 | element
	VR    string
	Level Level
	Kind  Kind
	// Multi marks multi-valued derived attributes (ModalitiesInStudy,
	// SOPClassesInStudy): a key matches if any value of the entity matches.
	Multi bool
	// Creator is the private creator of a configured private attribute
	// (Tag then has element block 0x10: (gggg,10ee)).
	Creator string
	// Configured marks an attribute outside the model that the
	// administrator configured (see [Schema]): its values are taken from
	// the stored header and kept in a side table.
	Configured bool
}

var attributes = []Attribute{
	{PatientName, 0x00100010, "PN", PatientLevel, KindPN, false, "", false},
	{PatientID, 0x00100020, "LO", PatientLevel, KindString, false, "", false},
	{IssuerOfPatientID, 0x00100021, "LO", PatientLevel, KindString, false, "", false},
	{PatientBirthDate, 0x00100030, "DA", PatientLevel, KindDate, false, "", false},
	{PatientSex, 0x00100040, "CS", PatientLevel, KindCode, false, "", false},
	{NumberOfPatientRelatedStudies, 0x00201200, "IS", PatientLevel, KindCount, false, "", false},
	{NumberOfPatientRelatedSeries, 0x00201202, "IS", PatientLevel, KindCount, false, "", false},
	{NumberOfPatientRelatedInstances, 0x00201204, "IS", PatientLevel, KindCount, false, "", false},

	{StudyInstanceUID, 0x0020000D, "UI", StudyLevel, KindUID, false, "", false},
	{StudyDate, 0x00080020, "DA", StudyLevel, KindDate, false, "", false},
	{StudyTime, 0x00080030, "TM", StudyLevel, KindTime, false, "", false},
	{AccessionNumber, 0x00080050, "SH", StudyLevel, KindString, false, "", false},
	{StudyID, 0x00200010, "SH", StudyLevel, KindString, false, "", false},
	{StudyDescription, 0x00081030, "LO", StudyLevel, KindString, false, "", false},
	{ReferringPhysicianName, 0x00080090, "PN", StudyLevel, KindPN, false, "", false},
	{ModalitiesInStudy, 0x00080061, "CS", StudyLevel, KindCode, true, "", false},
	{SOPClassesInStudy, 0x00080062, "UI", StudyLevel, KindUID, true, "", false},
	{NumberOfStudyRelatedSeries, 0x00201206, "IS", StudyLevel, KindCount, false, "", false},
	{NumberOfStudyRelatedInstances, 0x00201208, "IS", StudyLevel, KindCount, false, "", false},

	{SeriesInstanceUID, 0x0020000E, "UI", SeriesLevel, KindUID, false, "", false},
	{Modality, 0x00080060, "CS", SeriesLevel, KindCode, false, "", false},
	{SeriesNumber, 0x00200011, "IS", SeriesLevel, KindInt, false, "", false},
	{SeriesDescription, 0x0008103E, "LO", SeriesLevel, KindString, false, "", false},
	{BodyPartExamined, 0x00180015, "CS", SeriesLevel, KindCode, false, "", false},
	{SeriesDate, 0x00080021, "DA", SeriesLevel, KindDate, false, "", false},
	{SeriesTime, 0x00080031, "TM", SeriesLevel, KindTime, false, "", false},
	{PerformedProcedureStepStartDate, 0x00400244, "DA", SeriesLevel, KindDate, false, "", false},
	{PerformedProcedureStepStartTime, 0x00400245, "TM", SeriesLevel, KindTime, false, "", false},
	{InstitutionName, 0x00080080, "LO", SeriesLevel, KindString, false, "", false},
	{StationName, 0x00081010, "SH", SeriesLevel, KindString, false, "", false},
	{Manufacturer, 0x00080070, "LO", SeriesLevel, KindString, false, "", false},
	{NumberOfSeriesRelatedInstances, 0x00201209, "IS", SeriesLevel, KindCount, false, "", false},

	{SOPInstanceUID, 0x00080018, "UI", InstanceLevel, KindUID, false, "", false},
	{SOPClassUID, 0x00080016, "UI", InstanceLevel, KindUID, false, "", false},
	{InstanceNumber, 0x00200013, "IS", InstanceLevel, KindInt, false, "", false},
	{TransferSyntaxUID, 0x00020010, "UI", InstanceLevel, KindUID, false, "", false},
	{NumberOfFrames, 0x00280008, "IS", InstanceLevel, KindInt, false, "", false},
	{Rows, 0x00280010, "US", InstanceLevel, KindInt, false, "", false},
	{Columns, 0x00280011, "US", InstanceLevel, KindInt, false, "", false},
	{ContentDate, 0x00080023, "DA", InstanceLevel, KindDate, false, "", false},
	{ContentTime, 0x00080033, "TM", InstanceLevel, KindTime, false, "", false},
	{AcquisitionDateTime, 0x0008002A, "DT", InstanceLevel, KindDateTime, false, "", false},
}

var (
	attrByKey = map[Key]Attribute{}
	attrByTag = map[uint32]Attribute{}
)

func init() {
	for _, a := range attributes {
		attrByKey[a.Key] = a
		attrByTag[a.Tag] = a
	}
}

// Attributes returns every attribute of the model, in level order.
func Attributes() []Attribute {
	return append([]Attribute(nil), attributes...)
}

// LookupKey returns the attribute named by key.
func LookupKey(key Key) (Attribute, bool) {
	a, ok := attrByKey[key]
	return a, ok
}

// LookupTag returns the attribute with the given tag (group<<16 | element).
func LookupTag(tag uint32) (Attribute, bool) {
	a, ok := attrByTag[tag]
	return a, ok
}

// datePairs maps each date attribute to the time attribute it is combined
// with under combined date-time matching (PS3.4 C.2.2.2.5).
var datePairs = map[Key]Key{
	StudyDate:                       StudyTime,
	SeriesDate:                      SeriesTime,
	PerformedProcedureStepStartDate: PerformedProcedureStepStartTime,
	ContentDate:                     ContentTime,
}
