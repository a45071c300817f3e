package ul

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"testing"
)

func sampleRQ() *AssociateRQ {
	return &AssociateRQ{
		ProtocolVersion:    ProtocolVersion,
		CalledAE:           "LIGHTBOX",
		CallingAE:          "MODALITY1",
		ApplicationContext: ApplicationContextName,
		Contexts: []ContextRQ{
			{ID: 1, AbstractSyntax: "1.2.840.10008.1.1", TransferSyntaxes: []string{"1.2.840.10008.1.2"}},
			{ID: 3, AbstractSyntax: "1.2.840.10008.5.1.4.1.1.2", TransferSyntaxes: []string{"1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2"}},
		},
		UserInfo: UserInfo{
			MaxPDULength:              16384,
			ImplementationClassUID:    "1.2.3.4",
			ImplementationVersionName: "TEST_1",
			AsyncOps:                  &AsyncOpsWindow{Invoked: 5, Performed: 3},
			Roles:                     []RoleSelection{{SOPClassUID: "1.2.840.10008.5.1.4.1.1.2", SCU: false, SCP: true}},
			ExtendedNegotiations:      []ExtendedNegotiation{{SOPClassUID: "1.2.840.10008.5.1.4.1.2.2.1", Info: []byte{1, 0, 1}}},
			CommonExtendedNegotiations: []CommonExtendedNegotiation{{
				SOPClassUID: "1.2.840.10008.5.1.4.1.1.88.22", ServiceClassUID: "1.2.840.10008.4.2",
				RelatedGeneralSOPClasses: []string{"1.2.840.10008.5.1.4.1.1.88.11"},
			}},
			UserIdentity: &UserIdentity{Type: UserIdentityUsernamePasscode, PositiveResponseRequested: true, Primary: []byte("alice"), Secondary: []byte("secret")},
			Unknown:      []RawItem{{Type: 0x5F, Value: []byte{9, 9}}},
		},
	}
}

func samplePDUs() []PDU {
	return []PDU{
		sampleRQ(),
		&AssociateAC{
			ProtocolVersion: ProtocolVersion, CalledAE: "LIGHTBOX", CallingAE: "MODALITY1", ApplicationContext: ApplicationContextName,
			Contexts: []ContextAC{{ID: 1, Result: ContextAccepted, TransferSyntax: "1.2.840.10008.1.2"}, {ID: 3, Result: ContextAbstractSyntaxNotSupported}},
			UserInfo: UserInfo{MaxPDULength: 0, ImplementationClassUID: "1.2.3", AsyncOps: &AsyncOpsWindow{1, 1},
				Roles: []RoleSelection{{SOPClassUID: "1.2.840.10008.5.1.4.1.1.2", SCP: true}}, UserIdentityResponse: []byte("token")},
		},
		&AssociateRJ{Result: RejectPermanent, Source: RejectSourceUser, Reason: RejectCalledAENotRecognized},
		&PDataTF{Items: []PDV{{ContextID: 1, Command: true, Last: true, Data: []byte{1, 2, 3, 4}}, {ContextID: 1, Data: []byte{}}, {ContextID: 3, Last: true, Data: []byte("xyz")}}},
		&ReleaseRQ{},
		&ReleaseRP{},
		&Abort{Source: AbortSourceProvider, Reason: AbortUnexpectedPDU},
	}
}

func TestPDURoundTrip(t *testing.T) {
	for _, p := range samplePDUs() {
		t.Run(p.Type().String(), func(t *testing.T) {
			b, err := EncodePDU(p)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ReadPDU(bytes.NewReader(b), 0)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(normalize(got), normalize(p)) {
				t.Errorf("round trip:\n got %#v\nwant %#v", got, p)
			}
		})
	}
}

// normalize maps empty slices to nil so DeepEqual compares content.
func normalize(p PDU) PDU {
	if d, ok := p.(*PDataTF); ok {
		c := &PDataTF{}
		for _, v := range d.Items {
			if len(v.Data) == 0 {
				v.Data = nil
			}
			c.Items = append(c.Items, v)
		}
		return c
	}
	return p
}

func TestReadPDUBounds(t *testing.T) {
	hdr := func(t PDUType, n uint32) []byte {
		b := []byte{byte(t), 0, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(b[2:], n)
		return b
	}
	tests := []struct {
		name string
		in   []byte
		max  uint32
		want error
	}{
		{"p-data over max", hdr(TypePDataTF, 1<<20), 16384, ErrPDUTooLarge},
		{"associate over limit", hdr(TypeAssociateRQ, MaxAssociatePDULength+1), 0, ErrPDUTooLarge},
		{"huge length, few bytes", hdr(TypeAssociateRQ, 200000), 0, io.ErrUnexpectedEOF},
		{"release with body 5", append(hdr(TypeReleaseRQ, 5), 0, 0, 0, 0, 0), 0, ErrMalformedPDU},
		{"unknown type", hdr(0x47, 4), 0, ErrMalformedPDU},
		{"p-data without pdv", append(hdr(TypePDataTF, 4), 0, 0, 0, 0), 0, ErrMalformedPDU},
		{"pdv overruns", append(hdr(TypePDataTF, 6), 0, 0, 0, 9, 1, 3), 0, ErrMalformedPDU},
		{"short associate", append(hdr(TypeAssociateRQ, 10), make([]byte, 10)...), 0, ErrMalformedPDU},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadPDU(bytes.NewReader(tt.in), tt.max)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestItemOverrun(t *testing.T) {
	b, err := EncodePDU(sampleRQ())
	if err != nil {
		t.Fatal(err)
	}
	// Corrupt the first variable item's length to run past the PDU.
	binary.BigEndian.PutUint16(b[pduHeaderLength+68+2:], 0xFFF0)
	if _, err := ReadPDU(bytes.NewReader(b), 0); !errors.Is(err, ErrMalformedPDU) {
		t.Fatalf("err = %v, want ErrMalformedPDU", err)
	}
}

func TestValidateAETitle(t *testing.T) {
	for _, ae := range []string{"A", "LIGHTBOX", "0123456789ABCDEF", "MY AE"} {
		if err := ValidateAETitle(ae); err != nil {
			t.Errorf("%q: %v", ae, err)
		}
	}
	for _, ae := range []string{"", "0123456789ABCDEFG", "   ", "A\\B", "A\nB"} {
		if err := ValidateAETitle(ae); err == nil {
			t.Errorf("%q accepted", ae)
		}
	}
}

func FuzzReadPDU(f *testing.F) {
	for _, p := range samplePDUs() {
		b, err := EncodePDU(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ReadPDU(bytes.NewReader(data), 1<<16)
		if err != nil {
			return
		}
		// What decodes must re-encode (when its fields are encodable) and
		// decode to the same value.
		b, err := EncodePDU(p)
		if err != nil {
			return
		}
		q, err := ReadPDU(bytes.NewReader(b), 1<<17)
		if err != nil {
			t.Fatalf("re-encoded %s does not decode: %v", p.Type(), err)
		}
		if !reflect.DeepEqual(normalize(p), normalize(q)) {
			t.Fatalf("round trip differs:\n%#v\n%#v", p, q)
		}
	})
}
