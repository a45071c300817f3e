package index

import (
	"strings"
	"time"
)

// PersonName is a DICOM PN value split into its three component groups, each
// decoded to UTF-8 and kept in DICOM form ("Family^Given^Middle^Prefix^Suffix").
type PersonName struct {
	Alphabetic  string
	Ideographic string
	Phonetic    string
}

// ParsePersonName splits a decoded PN value ("A=I=P") into its component groups.
func ParsePersonName(s string) PersonName {
	g := strings.SplitN(s, "=", 3)
	var pn PersonName
	pn.Alphabetic = g[0]
	if len(g) > 1 {
		pn.Ideographic = g[1]
	}
	if len(g) > 2 {
		pn.Phonetic = g[2]
	}
	return pn
}

// String returns the DICOM form of pn, "A=I=P", without trailing empty groups.
func (pn PersonName) String() string {
	switch {
	case pn.Phonetic != "":
		return pn.Alphabetic + "=" + pn.Ideographic + "=" + pn.Phonetic
	case pn.Ideographic != "":
		return pn.Alphabetic + "=" + pn.Ideographic
	default:
		return pn.Alphabetic
	}
}

// IsEmpty reports whether all groups of pn are empty.
func (pn PersonName) IsEmpty() bool {
	return pn.Alphabetic == "" && pn.Ideographic == "" && pn.Phonetic == ""
}

// Groups returns the three component groups in order.
func (pn PersonName) Groups() [3]string {
	return [3]string{pn.Alphabetic, pn.Ideographic, pn.Phonetic}
}

// Patient is the PATIENT level of the information model.
//
// A patient is identified by PatientID together with IssuerOfPatientID. The
// Number* counts are maintained by the index; they are ignored on insert.
type Patient struct {
	PatientID         string
	IssuerOfPatientID string
	PatientName       PersonName
	PatientBirthDate  string // DA, YYYYMMDD after normalisation
	PatientSex        string // CS

	NumberOfPatientRelatedStudies   int
	NumberOfPatientRelatedSeries    int
	NumberOfPatientRelatedInstances int
}

// Study is the STUDY level of the information model.
//
// ModalitiesInStudy, SOPClassesInStudy and the Number* counts are maintained
// by the index from the series and instances stored; they are ignored on insert.
type Study struct {
	StudyInstanceUID       string
	StudyDate              string // DA, YYYYMMDD
	StudyTime              string // TM, HHMMSS[.F{1,6}]
	AccessionNumber        string
	StudyID                string
	StudyDescription       string
	ReferringPhysicianName PersonName

	ModalitiesInStudy             []string
	SOPClassesInStudy             []string
	NumberOfStudyRelatedSeries    int
	NumberOfStudyRelatedInstances int
}

// Series is the SERIES level of the information model.
type Series struct {
	SeriesInstanceUID               string
	Modality                        string
	SeriesNumber                    *int // IS; nil when absent
	SeriesDescription               string
	BodyPartExamined                string
	SeriesDate                      string // DA
	SeriesTime                      string // TM
	PerformedProcedureStepStartDate string // DA
	PerformedProcedureStepStartTime string // TM
	InstitutionName                 string
	StationName                     string
	Manufacturer                    string

	NumberOfSeriesRelatedInstances int // maintained by the index
}

// Instance is the IMAGE (composite object instance) level of the information
// model, together with where and how the object is stored.
type Instance struct {
	SOPInstanceUID      string
	SOPClassUID         string
	InstanceNumber      *int // IS; nil when absent
	TransferSyntaxUID   string
	NumberOfFrames      int    // 0 when absent
	Rows                int    // 0 when absent
	Columns             int    // 0 when absent
	ContentDate         string // DA
	ContentTime         string // TM
	AcquisitionDateTime string // DT, YYYYMMDDHHMMSS[.F{1,6}], UTC offset dropped
	// AcquisitionDateTimeUTC is the UTC instant of AcquisitionDateTime when
	// its offset is known (its own "&ZZXX" suffix, else the header's
	// Timezone Offset From UTC (0008,0201)), in the same form; else "".
	AcquisitionDateTimeUTC string

	// BlobKey names the stored Part 10 file in the blob store.
	BlobKey string
	// Size is the size of the stored file in bytes.
	Size int64
	// SHA256 is the digest of the stored file.
	SHA256 [32]byte
	// ReceivedAt is when the archive received the instance.
	ReceivedAt time.Time
	// CallingAE is the AE title (or other source label) the instance came from.
	CallingAE string
}

// InstanceRecord is one instance with its place in the hierarchy: the unit of
// insertion and the shape of every query result.
//
// In query results, levels below the query level are zero. Header is only
// returned when Query.IncludeHeader is set.
type InstanceRecord struct {
	Patient  Patient
	Study    Study
	Series   Series
	Instance Instance

	// Header is the whole non-bulk header of the instance as DICOM JSON
	// (PS3.18 F.2), opaque to the index. In a query result above the IMAGE
	// level it is the header of a representative instance of the entity
	// (the first one stored), so that attributes outside the model can be
	// returned.
	Header []byte
}

// IntPtr returns a pointer to v; a convenience for the optional IS fields.
func IntPtr(v int) *int { return &v }
