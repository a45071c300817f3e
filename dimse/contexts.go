package dimse

import (
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/ul"
)

// uncompressed are the syntaxes proposed for verification and query/retrieve.
var uncompressed = []string{dicom.ExplicitVRLittleEndian, dicom.ImplicitVRLittleEndian}

// VerificationContexts returns the presentation context for C-ECHO.
func VerificationContexts() []ul.ContextRQ {
	return []ul.ContextRQ{{AbstractSyntax: VerificationSOPClass, TransferSyntaxes: uncompressed}}
}

// QueryRetrieveContexts returns presentation contexts for the given
// information models (StudyRootFind, PatientRootMove, ...), each with
// Explicit and Implicit VR Little Endian.
func QueryRetrieveContexts(models ...string) []ul.ContextRQ {
	out := make([]ul.ContextRQ, 0, len(models))
	for _, m := range models {
		out = append(out, ul.ContextRQ{AbstractSyntax: m, TransferSyntaxes: uncompressed})
	}
	return out
}

// GetContexts returns the storage presentation contexts and SCP role
// selections a C-GET requestor proposes to receive instances of the SOP
// classes in any of the transfer syntaxes (nil: Explicit and Implicit VR
// Little Endian).
func GetContexts(sopClasses []string, syntaxes []string) ([]ul.ContextRQ, []ul.RoleSelection) {
	if len(syntaxes) == 0 {
		syntaxes = uncompressed
	}
	var ctxs []ul.ContextRQ
	var roles []ul.RoleSelection
	for _, sc := range sopClasses {
		ctxs = append(ctxs, ul.ContextRQ{AbstractSyntax: sc, TransferSyntaxes: syntaxes})
		roles = append(roles, ul.RoleSelection{SOPClassUID: sc, SCU: false, SCP: true})
	}
	return ctxs, roles
}
