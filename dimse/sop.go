package dimse

import (
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dict"
)

// SOP classes of the services this package implements.
const (
	VerificationSOPClass = "1.2.840.10008.1.1"

	PatientRootFind = "1.2.840.10008.5.1.4.1.2.1.1"
	PatientRootMove = "1.2.840.10008.5.1.4.1.2.1.2"
	PatientRootGet  = "1.2.840.10008.5.1.4.1.2.1.3"
	StudyRootFind   = "1.2.840.10008.5.1.4.1.2.2.1"
	StudyRootMove   = "1.2.840.10008.5.1.4.1.2.2.2"
	StudyRootGet    = "1.2.840.10008.5.1.4.1.2.2.3"
	// Patient/Study Only (retired) models, still sent by old workstations.
	PatientStudyOnlyFind = "1.2.840.10008.5.1.4.1.2.3.1"
	PatientStudyOnlyMove = "1.2.840.10008.5.1.4.1.2.3.2"
	PatientStudyOnlyGet  = "1.2.840.10008.5.1.4.1.2.3.3"
	// Composite Instance Root retrieve models.
	CompositeInstanceRootMove = "1.2.840.10008.5.1.4.1.2.4.2"
	CompositeInstanceRootGet  = "1.2.840.10008.5.1.4.1.2.4.3"
)

// Service says which DIMSE-C service an abstract syntax belongs to.
type Service int

// Services.
const (
	ServiceNone Service = iota // a known SOP class of a service this package does not implement
	ServiceVerification
	ServiceStorage
	ServiceFind
	ServiceMove
	ServiceGet
)

func (s Service) String() string {
	return [...]string{"unsupported", "verification", "storage", "find", "move", "get"}[s]
}

// storageClasses is the set of registered storage SOP classes. It is
// built once and never written afterwards.
var storageClasses = func() map[string]bool {
	m := map[string]bool{}
	for _, u := range dict.StorageSOPClasses() {
		m[u.UID] = true
	}
	return m
}()

// ServiceOf classifies an abstract syntax. Registered storage SOP classes
// and every UID that is not a registered SOP class of another service
// (private and future SOP classes) are storage: a PACS accepts what it does
// not know.
func ServiceOf(abstractSyntax string) Service {
	switch abstractSyntax {
	case VerificationSOPClass:
		return ServiceVerification
	case PatientRootFind, StudyRootFind, PatientStudyOnlyFind:
		return ServiceFind
	case PatientRootMove, StudyRootMove, PatientStudyOnlyMove, CompositeInstanceRootMove:
		return ServiceMove
	case PatientRootGet, StudyRootGet, PatientStudyOnlyGet, CompositeInstanceRootGet:
		return ServiceGet
	}
	if storageClasses[abstractSyntax] {
		return ServiceStorage
	}
	if _, ok := dict.LookupUID(abstractSyntax); ok {
		// A registered UID that is no storage class: another service's
		// SOP class, a transfer syntax, a well-known instance...
		return ServiceNone
	}
	return ServiceStorage
}

// IsStorageSOPClass reports whether the abstract syntax is handled as storage.
func IsStorageSOPClass(uid string) bool { return ServiceOf(uid) == ServiceStorage }

// nativeSyntaxes are the transfer syntaxes whose data sets this package
// can decode and re-encode, in preference order for conversion.
var nativeSyntaxes = []string{
	dicom.ExplicitVRLittleEndian,
	dicom.ImplicitVRLittleEndian,
	dicom.ExplicitVRBigEndian,
	dicom.DeflatedExplicitVRLittleEndian,
}

func isNative(ts string) bool {
	for _, n := range nativeSyntaxes {
		if n == ts {
			return true
		}
	}
	return false
}

// AllTransferSyntaxes returns every registered transfer syntax, the
// default set a Server accepts for storage.
func AllTransferSyntaxes() []string {
	var out []string
	for _, u := range dict.TransferSyntaxes() {
		out = append(out, u.UID)
	}
	return out
}

// encodingOf returns the data set encoding of a transfer syntax.
func encodingOf(ts string) dicom.Encoding {
	enc, _ := dicom.EncodingOf(ts)
	return enc
}

// syntaxOf returns the native transfer syntax UID of an encoding.
func syntaxOf(enc dicom.Encoding) string {
	switch {
	case enc.Deflated:
		return dicom.DeflatedExplicitVRLittleEndian
	case enc.BigEndian:
		return dicom.ExplicitVRBigEndian
	case enc.Implicit:
		return dicom.ImplicitVRLittleEndian
	}
	return dicom.ExplicitVRLittleEndian
}
