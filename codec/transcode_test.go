package codec

import (
	"regexp"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
)

var uidSyntax = regexp.MustCompile(`^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$`)

// TestDerivedUID checks that derived UIDs are valid UIDs (PS3.5 9.1: digits
// and dots, no leading zeros, 64 characters at most) under Lightbox's
// root, stable for one derivation and distinct across sources, syntaxes
// and qualities.
func TestDerivedUID(t *testing.T) {
	seen := map[string]string{}
	for _, tc := range []struct {
		src, ts string
		q       int
	}{
		{"1.2.3.4", dicom.JPEGBaseline8Bit, 0},
		{"1.2.3.4", dicom.JPEGBaseline8Bit, 50},
		{"1.2.3.4", dicom.JPEGLSNearLossless, 0},
		{"1.2.3.5", dicom.JPEGBaseline8Bit, 0},
		{strings.Repeat("1.", 31) + "9", dicom.JPEGBaseline8Bit, 0},
	} {
		u := DerivedUID(tc.src, tc.ts, EncodeOptions{Quality: tc.q})
		if len(u) > 64 || !uidSyntax.MatchString(u) {
			t.Errorf("DerivedUID(%q, %s, %d) = %q: not a valid UID", tc.src, tc.ts, tc.q, u)
		}
		if !strings.HasPrefix(u, dicom.ImplementationClassUID+".1.") {
			t.Errorf("DerivedUID = %q, not under the root %s", u, dicom.ImplementationClassUID)
		}
		if again := DerivedUID(tc.src, tc.ts, EncodeOptions{Quality: tc.q}); again != u {
			t.Errorf("DerivedUID is not stable: %q then %q", u, again)
		}
		key := tc.src + " " + tc.ts + " " + string(rune('0'+tc.q%10))
		if prev, dup := seen[u]; dup {
			t.Errorf("DerivedUID %q for both %s and %s", u, prev, key)
		}
		seen[u] = key
	}
}

// TestDeriveLossy checks the attributes DeriveLossy sets, table-driven over
// the Image Type the source has.
func TestDeriveLossy(t *testing.T) {
	for _, tc := range []struct {
		name, imageType, wantType string
	}{
		{"absent", "", `DERIVED\SECONDARY`},
		{"one value", "ORIGINAL", `DERIVED\SECONDARY`},
		{"primary axial", `ORIGINAL\PRIMARY\AXIAL`, `DERIVED\PRIMARY\AXIAL`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := dicom.NewDataset()
			src.Set(dicom.NewStringElement(tagSOPClassUID, dicom.UI, "1.2.840.10008.5.1.4.1.1.2"))
			src.Set(dicom.NewStringElement(tagSOPInstanceUID, dicom.UI, "1.2.3.4"))
			src.Set(dicom.NewStringElement(tagDerivationDescription, dicom.ST, "earlier step"))
			if tc.imageType != "" {
				src.Set(dicom.NewStringElement(tagImageType, dicom.CS, strings.Split(tc.imageType, `\`)...))
			}
			out := copyDataset(src)
			DeriveLossy(out, src, dicom.JPEGBaseline8Bit, EncodeOptions{})
			if got := strings.Join(out.Strings(out.Get(tagImageType)), `\`); got != tc.wantType {
				t.Errorf("Image Type %q, want %q", got, tc.wantType)
			}
			if got := out.String(tagSOPInstanceUID); got != DerivedUID("1.2.3.4", dicom.JPEGBaseline8Bit, EncodeOptions{}) {
				t.Errorf("SOP Instance UID %q", got)
			}
			if src.String(tagSOPInstanceUID) != "1.2.3.4" {
				t.Errorf("the source data set was changed")
			}
			if d := out.String(tagDerivationDescription); !strings.HasPrefix(d, "earlier step; ") || !strings.HasSuffix(d, dicom.JPEGBaseline8Bit) {
				t.Errorf("Derivation Description %q", d)
			}
			seq := out.Get(tagSourceImageSequence)
			if seq == nil || len(seq.Items) != 1 {
				t.Fatalf("Source Image Sequence %v", seq)
			}
			ref := seq.Items[0]
			if ref.String(tagReferencedSOPInstanceUID) != "1.2.3.4" || ref.String(tagReferencedSOPClassUID) != "1.2.840.10008.5.1.4.1.1.2" {
				t.Errorf("Source Image Sequence item references %q of class %q", ref.String(tagReferencedSOPInstanceUID), ref.String(tagReferencedSOPClassUID))
			}
			purpose := ref.Get(tagPurposeOfReferenceCodeSeq)
			if purpose == nil || len(purpose.Items) != 1 || purpose.Items[0].String(tagCodeValue) != uncompressedPredecessorCode {
				t.Errorf("Purpose of Reference Code Sequence missing or wrong")
			}
			code := out.Get(tagDerivationCodeSequence)
			if code == nil || len(code.Items) != 1 || code.Items[0].String(tagCodeValue) != lossyCompressionCode {
				t.Errorf("Derivation Code Sequence missing or wrong")
			}
		})
	}
}
