package dimse

import (
	"reflect"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
)

func TestCommandRoundTrip(t *testing.T) {
	tests := []*Command{
		{Field: CEchoRQ, MessageID: 1, AffectedSOPClassUID: VerificationSOPClass},
		{Field: CEchoRSP, MessageIDBeingRespondedTo: 1, AffectedSOPClassUID: VerificationSOPClass, Status: StatusSuccess},
		{Field: CStoreRQ, MessageID: 7, AffectedSOPClassUID: "1.2.840.10008.5.1.4.1.1.2", AffectedSOPInstanceUID: "1.2.3.4.5",
			Priority: PriorityHigh, HasDataSet: true, MoveOriginatorAET: "MOVER", MoveOriginatorMessageID: 3},
		{Field: CStoreRSP, MessageIDBeingRespondedTo: 7, AffectedSOPClassUID: "1.2.840.10008.5.1.4.1.1.2", AffectedSOPInstanceUID: "1.2.3.4.5",
			Status: StatusCannotUnderstand, ErrorComment: "bad data", OffendingElements: []dicom.Tag{0x00100010, 0x7FE00010}},
		{Field: CMoveRQ, MessageID: 9, AffectedSOPClassUID: StudyRootMove, MoveDestination: "DEST", HasDataSet: true},
		{Field: CMoveRSP, MessageIDBeingRespondedTo: 9, AffectedSOPClassUID: StudyRootMove, Status: StatusPending,
			SubOps: &SubOperations{Remaining: 3, Completed: 1, Failed: 1, Warning: 0}},
		{Field: CGetRSP, MessageIDBeingRespondedTo: 9, AffectedSOPClassUID: StudyRootGet, Status: StatusSubOperationsCompleteWithFailures,
			SubOps: &SubOperations{Completed: 4, Failed: 1}, HasDataSet: true},
		{Field: CCancelRQ, MessageIDBeingRespondedTo: 9},
	}
	for _, c := range tests {
		t.Run(c.Field.String(), func(t *testing.T) {
			b, err := c.Encode()
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeCommand(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c) {
				t.Errorf("round trip\n got %+v\nwant %+v", got, c)
			}
		})
	}
}

func TestCommandGroupLength(t *testing.T) {
	b, err := (&Command{Field: CEchoRQ, MessageID: 1, AffectedSOPClassUID: VerificationSOPClass}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	// (0000,0000) UL, implicit: tag 4, length 4, value = bytes after it.
	if got := int(b[8]) | int(b[9])<<8; got != len(b)-12 {
		t.Errorf("group length %d, want %d", got, len(b)-12)
	}
}

func TestErrorCommentSanitized(t *testing.T) {
	c := &Command{Field: CStoreRSP, Status: StatusOutOfResources, ErrorComment: "line1\nline2 " + strings.Repeat("x", 100)}
	b, _ := c.Encode()
	got, _ := DecodeCommand(b)
	if len(got.ErrorComment) > 64 || strings.Contains(got.ErrorComment, "\n") {
		t.Errorf("comment %q", got.ErrorComment)
	}
}

func TestStatusCategory(t *testing.T) {
	tests := []struct {
		s    Status
		want Category
	}{
		{StatusSuccess, CategorySuccess},
		{StatusPending, CategoryPending},
		{StatusPendingWarning, CategoryPending},
		{StatusCancel, CategoryCancel},
		{StatusCoercionOfDataElements, CategoryWarning},
		{StatusElementsDiscarded, CategoryWarning},
		{StatusAttributeListError, CategoryWarning},
		{StatusOutOfResources, CategoryFailure},
		{0xA7FF, CategoryFailure},
		{StatusCannotUnderstand, CategoryFailure},
		{0xC123, CategoryFailure},
		{StatusMoveDestinationUnknown, CategoryFailure},
		{StatusSOPClassNotSupported, CategoryFailure},
	}
	for _, tt := range tests {
		if got := tt.s.Category(); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.s, got, tt.want)
		}
	}
	if s := Status(0xC123).String(); !strings.Contains(s, "cannot understand") {
		t.Errorf("C123: %s", s)
	}
}

func TestServiceOf(t *testing.T) {
	tests := []struct {
		uid  string
		want Service
	}{
		{VerificationSOPClass, ServiceVerification},
		{"1.2.840.10008.5.1.4.1.1.2", ServiceStorage},     // CT Image Storage
		{"1.2.840.10008.5.1.4.1.1.88.11", ServiceStorage}, // Basic Text SR
		{"1.2.276.0.7230010.3.1.0.1", ServiceStorage},     // private (DCMTK) class
		{"1.3.12.2.1107.5.9.1", ServiceStorage},           // Siemens CSA non-image
		{StudyRootFind, ServiceFind},
		{PatientRootMove, ServiceMove},
		{CompositeInstanceRootGet, ServiceGet},
		{"1.2.840.10008.1.20.1", ServiceNone},   // Storage Commitment Push Model
		{"1.2.840.10008.5.1.4.31", ServiceNone}, // Modality Worklist Find
		{"1.2.840.10008.1.2.1", ServiceNone},    // a transfer syntax
	}
	for _, tt := range tests {
		if got := ServiceOf(tt.uid); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.uid, got, tt.want)
		}
	}
}

func FuzzDecodeCommand(f *testing.F) {
	for _, c := range []*Command{
		{Field: CEchoRQ, MessageID: 1, AffectedSOPClassUID: VerificationSOPClass},
		{Field: CStoreRSP, MessageIDBeingRespondedTo: 7, AffectedSOPInstanceUID: "1.2.3", Status: StatusCannotUnderstand, ErrorComment: "x",
			OffendingElements: []dicom.Tag{0x00100010}},
		{Field: CMoveRSP, MessageIDBeingRespondedTo: 9, Status: StatusPending, SubOps: &SubOperations{Remaining: 3, Completed: 1}},
		{Field: CMoveRQ, MessageID: 2, AffectedSOPClassUID: StudyRootMove, MoveDestination: "DEST", HasDataSet: true},
	} {
		b, err := c.Encode()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCommand(b)
		if err != nil {
			return
		}
		// What decodes re-encodes (when its fields are encodable) to a
		// command that decodes the same.
		enc, err := c.Encode()
		if err != nil {
			return
		}
		d, err := DecodeCommand(enc)
		if err != nil {
			t.Fatalf("re-encoded command does not decode: %v", err)
		}
		same := d.Field == c.Field && d.HasDataSet == c.HasDataSet && d.AffectedSOPInstanceUID == c.AffectedSOPInstanceUID
		if c.Field.IsResponse() {
			same = same && d.Status == c.Status && d.MessageIDBeingRespondedTo == c.MessageIDBeingRespondedTo
		} else {
			same = same && d.MessageID == c.MessageID
		}
		if !same {
			t.Fatalf("round trip: %+v became %+v", c, d)
		}
	})
}
