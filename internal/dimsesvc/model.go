package dimsesvc

import (
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// This file describes the query/retrieve information models (PS3.4 C.6):
// which levels each allows, and at which level each attribute sits in it.

// root is an information model.
type root int

const (
	patientRoot root = iota + 1
	studyRoot
	patientStudyOnly
	compositeInstanceRoot // retrieve only
)

func (r root) String() string {
	switch r {
	case patientRoot:
		return "Patient Root"
	case studyRoot:
		return "Study Root"
	case patientStudyOnly:
		return "Patient/Study Only"
	case compositeInstanceRoot:
		return "Composite Instance Root"
	}
	return "unknown model"
}

// rootOf returns the information model of a query/retrieve SOP class.
func rootOf(sopClass string) (root, bool) {
	switch sopClass {
	case dimse.PatientRootFind, dimse.PatientRootMove, dimse.PatientRootGet:
		return patientRoot, true
	case dimse.StudyRootFind, dimse.StudyRootMove, dimse.StudyRootGet:
		return studyRoot, true
	case dimse.PatientStudyOnlyFind, dimse.PatientStudyOnlyMove, dimse.PatientStudyOnlyGet:
		return patientStudyOnly, true
	case dimse.CompositeInstanceRootMove, dimse.CompositeInstanceRootGet:
		return compositeInstanceRoot, true
	}
	return 0, false
}

// allows reports whether the model has the level.
func (r root) allows(l index.Level) bool {
	switch r {
	case patientRoot:
		return l.Valid()
	case studyRoot:
		return l >= index.StudyLevel && l <= index.InstanceLevel
	case patientStudyOnly:
		return l == index.PatientLevel || l == index.StudyLevel
	case compositeInstanceRoot:
		return l == index.StudyLevel || l == index.SeriesLevel || l == index.InstanceLevel
	}
	return false
}

// top returns the model's highest level.
func (r root) top() index.Level {
	if r == patientRoot || r == patientStudyOnly {
		return index.PatientLevel
	}
	return index.StudyLevel
}

// levelOf returns the level of an attribute in the model: in Study Root the
// patient attributes belong to the STUDY level.
func (r root) levelOf(a index.Attribute) index.Level {
	if a.Level < r.top() {
		return r.top()
	}
	return a.Level
}

// uniqueKey returns the unique key of a level.
func uniqueKey(l index.Level) index.Key {
	switch l {
	case index.PatientLevel:
		return index.PatientID
	case index.StudyLevel:
		return index.StudyInstanceUID
	case index.SeriesLevel:
		return index.SeriesInstanceUID
	}
	return index.SOPInstanceUID
}

// isUniqueKeyAbove reports whether a is the unique key of a level above l
// in the model (Patient ID is not one in Study Root, where it is a STUDY
// attribute).
func (r root) isUniqueKeyAbove(a index.Attribute, l index.Level) bool {
	for lv := r.top(); lv < l; lv++ {
		if uniqueKey(lv) == a.Key {
			return true
		}
	}
	return false
}
