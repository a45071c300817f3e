package dimse

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// CommandField is the Command Field (0000,0100) of a DIMSE message.
type CommandField uint16

// DIMSE-C command fields (PS3.7 E.1), and the DIMSE-N ones for recognising
// requests this package does not serve.
const (
	CStoreRQ       CommandField = 0x0001
	CStoreRSP      CommandField = 0x8001
	CGetRQ         CommandField = 0x0010
	CGetRSP        CommandField = 0x8010
	CFindRQ        CommandField = 0x0020
	CFindRSP       CommandField = 0x8020
	CMoveRQ        CommandField = 0x0021
	CMoveRSP       CommandField = 0x8021
	CEchoRQ        CommandField = 0x0030
	CEchoRSP       CommandField = 0x8030
	CCancelRQ      CommandField = 0x0FFF
	NEventReportRQ CommandField = 0x0100
	NGetRQ         CommandField = 0x0110
	NSetRQ         CommandField = 0x0120
	NActionRQ      CommandField = 0x0130
	NCreateRQ      CommandField = 0x0140
	NDeleteRQ      CommandField = 0x0150
)

// IsResponse reports whether the field is a response's.
func (f CommandField) IsResponse() bool { return f&0x8000 != 0 && f != CCancelRQ }

// Response returns the response field for a request field.
func (f CommandField) Response() CommandField { return f | 0x8000 }

func (f CommandField) String() string {
	switch f {
	case CStoreRQ:
		return "C-STORE-RQ"
	case CStoreRSP:
		return "C-STORE-RSP"
	case CGetRQ:
		return "C-GET-RQ"
	case CGetRSP:
		return "C-GET-RSP"
	case CFindRQ:
		return "C-FIND-RQ"
	case CFindRSP:
		return "C-FIND-RSP"
	case CMoveRQ:
		return "C-MOVE-RQ"
	case CMoveRSP:
		return "C-MOVE-RSP"
	case CEchoRQ:
		return "C-ECHO-RQ"
	case CEchoRSP:
		return "C-ECHO-RSP"
	case CCancelRQ:
		return "C-CANCEL-RQ"
	}
	return fmt.Sprintf("command 0x%04X", uint16(f))
}

// Priority is the Priority (0000,0700) of a request.
type Priority uint16

// Priorities.
const (
	PriorityMedium Priority = 0x0000
	PriorityHigh   Priority = 0x0001
	PriorityLow    Priority = 0x0002
)

// SubOperations are the sub-operation counts of C-MOVE and C-GET responses.
type SubOperations struct {
	Remaining, Completed, Failed, Warning uint16
}

// Command is a DIMSE command set (group 0000), decoded.
type Command struct {
	Field                     CommandField
	MessageID                 uint16
	MessageIDBeingRespondedTo uint16
	AffectedSOPClassUID       string
	RequestedSOPClassUID      string
	AffectedSOPInstanceUID    string
	RequestedSOPInstanceUID   string
	Priority                  Priority
	// HasDataSet is set when a data set follows (Command Data Set Type
	// other than 0101H).
	HasDataSet        bool
	Status            Status
	ErrorComment      string
	ErrorID           uint16
	OffendingElements []dicom.Tag
	MoveDestination   string
	// MoveOriginatorAET and MoveOriginatorMessageID mark a C-STORE that is
	// a C-MOVE sub-operation (empty / 0 otherwise).
	MoveOriginatorAET       string
	MoveOriginatorMessageID uint16
	// SubOps holds the sub-operation counts, nil when absent.
	SubOps *SubOperations
}

// Command set tags (PS3.7 E.1).
const (
	tagCommandGroupLength        dicom.Tag = 0x00000000
	tagAffectedSOPClassUID       dicom.Tag = 0x00000002
	tagRequestedSOPClassUID      dicom.Tag = 0x00000003
	tagCommandField              dicom.Tag = 0x00000100
	tagMessageID                 dicom.Tag = 0x00000110
	tagMessageIDBeingRespondedTo dicom.Tag = 0x00000120
	tagMoveDestination           dicom.Tag = 0x00000600
	tagPriority                  dicom.Tag = 0x00000700
	tagCommandDataSetType        dicom.Tag = 0x00000800
	tagStatus                    dicom.Tag = 0x00000900
	tagOffendingElement          dicom.Tag = 0x00000901
	tagErrorComment              dicom.Tag = 0x00000902
	tagErrorID                   dicom.Tag = 0x00000903
	tagAffectedSOPInstanceUID    dicom.Tag = 0x00001000
	tagRequestedSOPInstanceUID   dicom.Tag = 0x00001001
	tagRemainingSubOps           dicom.Tag = 0x00001020
	tagCompletedSubOps           dicom.Tag = 0x00001021
	tagFailedSubOps              dicom.Tag = 0x00001022
	tagWarningSubOps             dicom.Tag = 0x00001023
	tagMoveOriginatorAET         dicom.Tag = 0x00001030
	tagMoveOriginatorMessageID   dicom.Tag = 0x00001031

	// tagFailedSOPInstanceUIDList is (0008,0058), carried in the
	// identifier of C-MOVE/C-GET final responses.
	tagFailedSOPInstanceUIDList dicom.Tag = 0x00080058
)

// noDataSet is the Command Data Set Type value meaning "no data set".
const noDataSet = 0x0101

// maxErrorComment is the length limit of LO.
const maxErrorComment = 64

func usElement(tag dicom.Tag, v uint16) *dicom.Element {
	return &dicom.Element{Tag: tag, VR: dicom.US, Value: binary.LittleEndian.AppendUint16(nil, v)}
}

func isRequestWithPriority(f CommandField) bool {
	switch f {
	case CStoreRQ, CFindRQ, CMoveRQ, CGetRQ:
		return true
	}
	return false
}

// Encode returns the command set in Implicit VR Little Endian, with its
// Command Group Length.
func (c *Command) Encode() ([]byte, error) {
	ds := dicom.NewDataset()
	setUID := func(tag dicom.Tag, v string) {
		if v != "" {
			ds.Set(dicom.NewStringElement(tag, dicom.UI, v))
		}
	}
	setUID(tagAffectedSOPClassUID, c.AffectedSOPClassUID)
	setUID(tagRequestedSOPClassUID, c.RequestedSOPClassUID)
	setUID(tagAffectedSOPInstanceUID, c.AffectedSOPInstanceUID)
	setUID(tagRequestedSOPInstanceUID, c.RequestedSOPInstanceUID)
	ds.Set(usElement(tagCommandField, uint16(c.Field)))
	if c.Field.IsResponse() {
		ds.Set(usElement(tagMessageIDBeingRespondedTo, c.MessageIDBeingRespondedTo))
		ds.Set(usElement(tagStatus, uint16(c.Status)))
		if c.ErrorComment != "" && c.Status != StatusSuccess {
			ds.Set(dicom.NewStringElement(tagErrorComment, dicom.LO, sanitizeComment(c.ErrorComment)))
		}
		if c.ErrorID != 0 {
			ds.Set(usElement(tagErrorID, c.ErrorID))
		}
		if len(c.OffendingElements) > 0 {
			v := make([]byte, 0, 4*len(c.OffendingElements))
			for _, t := range c.OffendingElements {
				v = binary.LittleEndian.AppendUint16(v, t.Group())
				v = binary.LittleEndian.AppendUint16(v, t.Element())
			}
			ds.Set(&dicom.Element{Tag: tagOffendingElement, VR: dicom.AT, Value: v})
		}
	} else {
		ds.Set(usElement(tagMessageID, c.MessageID))
		if c.Field == CCancelRQ {
			ds.Set(usElement(tagMessageIDBeingRespondedTo, c.MessageIDBeingRespondedTo))
		}
	}
	if isRequestWithPriority(c.Field) {
		ds.Set(usElement(tagPriority, uint16(c.Priority)))
	}
	dst := uint16(noDataSet)
	if c.HasDataSet {
		dst = 0x0001
	}
	ds.Set(usElement(tagCommandDataSetType, dst))
	if c.MoveDestination != "" {
		if err := checkAE(c.MoveDestination); err != nil {
			return nil, err
		}
		ds.Set(dicom.NewStringElement(tagMoveDestination, dicom.AE, c.MoveDestination))
	}
	if c.MoveOriginatorAET != "" {
		ds.Set(dicom.NewStringElement(tagMoveOriginatorAET, dicom.AE, c.MoveOriginatorAET))
		ds.Set(usElement(tagMoveOriginatorMessageID, c.MoveOriginatorMessageID))
	}
	if so := c.SubOps; so != nil {
		if c.Status.IsPending() || c.Status == StatusCancel {
			ds.Set(usElement(tagRemainingSubOps, so.Remaining))
		}
		ds.Set(usElement(tagCompletedSubOps, so.Completed))
		ds.Set(usElement(tagFailedSubOps, so.Failed))
		ds.Set(usElement(tagWarningSubOps, so.Warning))
	}
	var n uint32
	for _, e := range ds.Elements {
		n += 8 + uint32(len(e.Value))
	}
	ds.Set(&dicom.Element{Tag: tagCommandGroupLength, VR: dicom.UL, Value: binary.LittleEndian.AppendUint32(nil, n)})
	var buf bytes.Buffer
	buf.Grow(int(n) + 12)
	if err := dicom.WriteDataset(&buf, ds, dicom.EncodingImplicitLE, dicom.WriteOptions{}); err != nil {
		return nil, fmt.Errorf("dimse: encode %s: %w", c.Field, err)
	}
	return buf.Bytes(), nil
}

func checkAE(ae string) error {
	if ae == "" || len(ae) > 16 || strings.ContainsAny(ae, "\\\r\n") {
		return fmt.Errorf("dimse: invalid AE title %q", ae)
	}
	return nil
}

// sanitizeComment makes an error comment fit LO: one line of at most 64
// characters of the default repertoire.
func sanitizeComment(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c >= 0x7F || c == '\\' {
			b[i] = ' '
		}
	}
	if len(b) > maxErrorComment {
		b = append(b[:maxErrorComment-3], "..."...)
	}
	return string(b)
}

// DecodeCommand decodes a command set read from the wire.
func DecodeCommand(b []byte) (*Command, error) {
	ds, err := dicom.ReadDataset(bytes.NewReader(b), int64(len(b)), dicom.EncodingImplicitLE, dicom.ReadOptions{LoadBulk: true})
	if err != nil {
		return nil, fmt.Errorf("dimse: command set: %w", err)
	}
	for _, e := range ds.Elements {
		if e.Tag.Group() != 0 {
			return nil, fmt.Errorf("dimse: command set holds %s outside group 0000", e.Tag)
		}
	}
	us := func(tag dicom.Tag) (uint16, bool) {
		e := ds.Get(tag)
		if e == nil || len(e.Value) < 2 {
			return 0, false
		}
		return binary.LittleEndian.Uint16(e.Value), true
	}
	f, ok := us(tagCommandField)
	if !ok {
		return nil, fmt.Errorf("dimse: command set lacks Command Field (0000,0100)")
	}
	c := &Command{Field: CommandField(f)}
	c.MessageID, _ = us(tagMessageID)
	c.MessageIDBeingRespondedTo, _ = us(tagMessageIDBeingRespondedTo)
	// UIDs and AE titles are ASCII: take the bytes as they are.
	raw := func(tag dicom.Tag) string {
		if e := ds.Get(tag); e != nil {
			return strings.Trim(string(e.Value), "\x00 ")
		}
		return ""
	}
	c.AffectedSOPClassUID = raw(tagAffectedSOPClassUID)
	c.RequestedSOPClassUID = raw(tagRequestedSOPClassUID)
	c.AffectedSOPInstanceUID = raw(tagAffectedSOPInstanceUID)
	c.RequestedSOPInstanceUID = raw(tagRequestedSOPInstanceUID)
	p, _ := us(tagPriority)
	c.Priority = Priority(p)
	dst, ok := us(tagCommandDataSetType)
	if !ok {
		return nil, fmt.Errorf("dimse: %s lacks Command Data Set Type (0000,0800)", c.Field)
	}
	c.HasDataSet = dst != noDataSet
	st, _ := us(tagStatus)
	c.Status = Status(st)
	if e := ds.Get(tagErrorComment); e != nil {
		c.ErrorComment = strings.TrimRight(string(e.Value), " \x00")
	}
	c.ErrorID, _ = us(tagErrorID)
	if e := ds.Get(tagOffendingElement); e != nil {
		for i := 0; i+4 <= len(e.Value); i += 4 {
			c.OffendingElements = append(c.OffendingElements,
				dicom.NewTag(binary.LittleEndian.Uint16(e.Value[i:]), binary.LittleEndian.Uint16(e.Value[i+2:])))
		}
	}
	c.MoveDestination = raw(tagMoveDestination)
	c.MoveOriginatorAET = raw(tagMoveOriginatorAET)
	c.MoveOriginatorMessageID, _ = us(tagMoveOriginatorMessageID)
	var so SubOperations
	var any bool
	for _, x := range []struct {
		tag dicom.Tag
		v   *uint16
	}{{tagRemainingSubOps, &so.Remaining}, {tagCompletedSubOps, &so.Completed}, {tagFailedSubOps, &so.Failed}, {tagWarningSubOps, &so.Warning}} {
		if v, ok := us(x.tag); ok {
			*x.v, any = v, true
		}
	}
	if any {
		c.SubOps = &so
	}
	return c, nil
}

// String summarises the command for logs.
func (c *Command) String() string {
	var b strings.Builder
	b.WriteString(c.Field.String())
	if c.Field.IsResponse() {
		fmt.Fprintf(&b, " to #%d status %s", c.MessageIDBeingRespondedTo, c.Status)
	} else {
		fmt.Fprintf(&b, " #%d", c.MessageID)
	}
	if c.AffectedSOPInstanceUID != "" {
		fmt.Fprintf(&b, " instance %s", c.AffectedSOPInstanceUID)
	}
	return b.String()
}
