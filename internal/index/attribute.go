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
}

var attributes = []Attribute{
	{PatientName, 0x00100010, "PN", PatientLevel, KindPN, false},
	{PatientID, 0x00100020, "LO", PatientLevel, KindString, false},
	{IssuerOfPatientID, 0x00100021, "LO", PatientLevel, KindString, false},
	{PatientBirthDate, 0x00100030, "DA", PatientLevel, KindDate, false},
	{PatientSex, 0x00100040, "CS", PatientLevel, KindCode, false},
	{NumberOfPatientRelatedStudies, 0x00201200, "IS", PatientLevel, KindCount, false},
	{NumberOfPatientRelatedSeries, 0x00201202, "IS", PatientLevel, KindCount, false},
	{NumberOfPatientRelatedInstances, 0x00201204, "IS", PatientLevel, KindCount, false},

	{StudyInstanceUID, 0x0020000D, "UI", StudyLevel, KindUID, false},
	{StudyDate, 0x00080020, "DA", StudyLevel, KindDate, false},
	{StudyTime, 0x00080030, "TM", StudyLevel, KindTime, false},
	{AccessionNumber, 0x00080050, "SH", StudyLevel, KindString, false},
	{StudyID, 0x00200010, "SH", StudyLevel, KindString, false},
	{StudyDescription, 0x00081030, "LO", StudyLevel, KindString, false},
	{ReferringPhysicianName, 0x00080090, "PN", StudyLevel, KindPN, false},
	{ModalitiesInStudy, 0x00080061, "CS", StudyLevel, KindCode, true},
	{SOPClassesInStudy, 0x00080062, "UI", StudyLevel, KindUID, true},
	{NumberOfStudyRelatedSeries, 0x00201206, "IS", StudyLevel, KindCount, false},
	{NumberOfStudyRelatedInstances, 0x00201208, "IS", StudyLevel, KindCount, false},

	{SeriesInstanceUID, 0x0020000E, "UI", SeriesLevel, KindUID, false},
	{Modality, 0x00080060, "CS", SeriesLevel, KindCode, false},
	{SeriesNumber, 0x00200011, "IS", SeriesLevel, KindInt, false},
	{SeriesDescription, 0x0008103E, "LO", SeriesLevel, KindString, false},
	{BodyPartExamined, 0x00180015, "CS", SeriesLevel, KindCode, false},
	{SeriesDate, 0x00080021, "DA", SeriesLevel, KindDate, false},
	{SeriesTime, 0x00080031, "TM", SeriesLevel, KindTime, false},
	{PerformedProcedureStepStartDate, 0x00400244, "DA", SeriesLevel, KindDate, false},
	{PerformedProcedureStepStartTime, 0x00400245, "TM", SeriesLevel, KindTime, false},
	{InstitutionName, 0x00080080, "LO", SeriesLevel, KindString, false},
	{StationName, 0x00081010, "SH", SeriesLevel, KindString, false},
	{Manufacturer, 0x00080070, "LO", SeriesLevel, KindString, false},
	{NumberOfSeriesRelatedInstances, 0x00201209, "IS", SeriesLevel, KindCount, false},

	{SOPInstanceUID, 0x00080018, "UI", InstanceLevel, KindUID, false},
	{SOPClassUID, 0x00080016, "UI", InstanceLevel, KindUID, false},
	{InstanceNumber, 0x00200013, "IS", InstanceLevel, KindInt, false},
	{TransferSyntaxUID, 0x00020010, "UI", InstanceLevel, KindUID, false},
	{NumberOfFrames, 0x00280008, "IS", InstanceLevel, KindInt, false},
	{Rows, 0x00280010, "US", InstanceLevel, KindInt, false},
	{Columns, 0x00280011, "US", InstanceLevel, KindInt, false},
	{ContentDate, 0x00080023, "DA", InstanceLevel, KindDate, false},
	{ContentTime, 0x00080033, "TM", InstanceLevel, KindTime, false},
	{AcquisitionDateTime, 0x0008002A, "DT", InstanceLevel, KindDateTime, false},
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
