package dicom

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// enc builds data set bytes element by element for tests.
type enc struct {
	b     bytes.Buffer
	order binary.ByteOrder
	impl  bool
}

func newEnc(e Encoding) *enc {
	x := &enc{order: binary.LittleEndian, impl: e.Implicit}
	if e.BigEndian {
		x.order = binary.BigEndian
	}
	return x
}

func (x *enc) tag(t Tag) {
	binary.Write(&x.b, x.order, t.Group())
	binary.Write(&x.b, x.order, t.Element())
}

func (x *enc) elem(t Tag, vr VR, val []byte) *enc {
	x.tag(t)
	switch {
	case x.impl:
		binary.Write(&x.b, x.order, uint32(len(val)))
	case vr.HasLongLength():
		x.b.WriteString(vr.String())
		x.b.Write([]byte{0, 0})
		binary.Write(&x.b, x.order, uint32(len(val)))
	default:
		x.b.WriteString(vr.String())
		binary.Write(&x.b, x.order, uint16(len(val)))
	}
	x.b.Write(val)
	return x
}

func (x *enc) raw(t Tag, vr VR, length uint32) *enc {
	x.tag(t)
	if x.impl || vr == VRNone {
		binary.Write(&x.b, x.order, length)
	} else {
		x.b.WriteString(vr.String())
		x.b.Write([]byte{0, 0})
		binary.Write(&x.b, x.order, length)
	}
	return x
}

func part10(ts string, body []byte) []byte {
	var b bytes.Buffer
	b.Write(make([]byte, 128))
	b.WriteString("DICM")
	m := newEnc(EncodingExplicitLE)
	tsb := []byte(ts)
	if len(tsb)%2 == 1 {
		tsb = append(tsb, 0)
	}
	m.elem(TagTransferSyntaxUID, UI, tsb)
	gl := make([]byte, 4)
	binary.LittleEndian.PutUint32(gl, uint32(m.b.Len()))
	g := newEnc(EncodingExplicitLE)
	g.elem(TagFileMetaInformationGroupLength, UL, gl)
	b.Write(g.b.Bytes())
	b.Write(m.b.Bytes())
	b.Write(body)
	return b.Bytes()
}

func readBytes(t *testing.T, data []byte, opts ReadOptions) (*File, error) {
	t.Helper()
	return Read(bytes.NewReader(data), int64(len(data)), opts)
}

func TestReadEncodings(t *testing.T) {
	for _, tc := range []struct {
		name string
		ts   string
		enc  Encoding
	}{
		{"implicit LE", ImplicitVRLittleEndian, EncodingImplicitLE},
		{"explicit LE", ExplicitVRLittleEndian, EncodingExplicitLE},
		{"explicit BE", ExplicitVRBigEndian, EncodingExplicitBE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := newEnc(tc.enc)
			rows := make([]byte, 2)
			x.order.PutUint16(rows, 512)
			x.elem(TagPatientName, PN, []byte("Doe^John"))
			x.elem(TagPatientID, LO, []byte("ID1 "))
			x.elem(TagRows, US, rows)
			f, err := readBytes(t, part10(tc.ts, x.b.Bytes()), ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ds := f.Dataset
			if got := ds.String(TagPatientName); got != "Doe^John" {
				t.Errorf("PatientName = %q", got)
			}
			if got := ds.String(TagPatientID); got != "ID1" {
				t.Errorf("PatientID = %q", got)
			}
			if v, ok := ds.Int(TagRows); !ok || v != 512 {
				t.Errorf("Rows = %d %v", v, ok)
			}
			if ds.Get(TagRows).VR != US {
				t.Errorf("Rows VR = %s", ds.Get(TagRows).VR)
			}
		})
	}
}

func TestReadSequencesAndFragments(t *testing.T) {
	x := newEnc(EncodingExplicitLE)
	x.elem(TagPatientID, LO, []byte("P1"))
	// Undefined-length sequence with one undefined-length item and one defined.
	x.raw(0x00081115, SQ, UndefinedLength)
	x.raw(TagItem, VRNone, UndefinedLength)
	x.elem(TagSeriesInstanceUID, UI, []byte("1.2.3\x00"))
	x.raw(TagItemDelimitation, VRNone, 0)
	inner := newEnc(EncodingExplicitLE)
	inner.elem(TagSeriesInstanceUID, UI, []byte("1.2.4\x00"))
	x.raw(TagItem, VRNone, uint32(inner.b.Len()))
	x.b.Write(inner.b.Bytes())
	x.raw(TagSequenceDelimitation, VRNone, 0)
	// Encapsulated pixel data: empty BOT and two fragments.
	x.raw(TagPixelData, OB, UndefinedLength)
	x.raw(TagItem, VRNone, 0)
	x.raw(TagItem, VRNone, 4)
	x.b.Write([]byte{1, 2, 3, 4})
	x.raw(TagItem, VRNone, 2)
	x.b.Write([]byte{5, 6})
	x.raw(TagSequenceDelimitation, VRNone, 0)
	data := part10(JPEGBaseline8Bit, x.b.Bytes())

	f, err := readBytes(t, data, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sq := f.Dataset.Get(0x00081115)
	if sq == nil || len(sq.Items) != 2 {
		t.Fatalf("sequence = %v", sq)
	}
	if got := sq.Items[1].String(TagSeriesInstanceUID); got != "1.2.4" {
		t.Errorf("item 2 UID = %q", got)
	}
	pd := f.Dataset.Get(TagPixelData)
	if pd == nil || len(pd.Fragments) != 3 || !pd.Bulk {
		t.Fatalf("pixel data = %+v", pd)
	}
	if off := pd.Fragments[1].Offset; !bytes.Equal(data[off:off+4], []byte{1, 2, 3, 4}) {
		t.Errorf("fragment offset %d does not point at its bytes", off)
	}

	f, err = readBytes(t, data, ReadOptions{LoadBulk: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Dataset.Get(TagPixelData).Fragments[2].Data; !bytes.Equal(got, []byte{5, 6}) {
		t.Errorf("fragment 2 = %v", got)
	}
}

func TestReadRejects(t *testing.T) {
	valid := newEnc(EncodingExplicitLE).elem(TagPatientID, LO, []byte("P1")).b.Bytes()
	deep := newEnc(EncodingExplicitLE)
	for i := 0; i < 200; i++ {
		deep.raw(0x00081115, SQ, UndefinedLength)
		deep.raw(TagItem, VRNone, UndefinedLength)
	}
	huge := newEnc(EncodingExplicitLE).elem(TagPatientID, LO, []byte("P1"))
	huge.raw(TagPixelData, OW, 0xFFFFFFF0)
	huge.b.Write(make([]byte, 100))
	overrun := newEnc(EncodingExplicitLE)
	overrun.raw(0x00081115, SQ, 8)
	overrun.raw(TagItem, VRNone, 100)
	overrun.b.Write(make([]byte, 100))
	badVR := append([]byte{}, valid...)
	badVR[4], badVR[5] = 'Z', 'Z'
	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrNotDICOM},
		{"truncated preamble", make([]byte, 64), ErrNotDICOM},
		{"truncated after DICM", part10(ExplicitVRLittleEndian, nil)[:132], ErrTruncated},
		{"truncated value", part10(ExplicitVRLittleEndian, valid[:len(valid)-1]), ErrTruncated},
		{"huge pixel data claim", part10(ExplicitVRLittleEndian, huge.b.Bytes()), ErrTruncated},
		{"deep nesting", part10(ExplicitVRLittleEndian, deep.b.Bytes()), ErrTooDeep},
		{"item overruns sequence", part10(ExplicitVRLittleEndian, overrun.b.Bytes()), ErrMalformed},
		{"invalid VR", part10(ExplicitVRLittleEndian, append(append([]byte{}, valid...), badVR...)), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readBytes(t, tc.data, ReadOptions{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), "offset") {
				t.Errorf("error %q does not say where", err)
			}
		})
	}
}

func TestReadNoMeta(t *testing.T) {
	for _, e := range []Encoding{EncodingImplicitLE, EncodingExplicitLE, EncodingExplicitBE} {
		x := newEnc(e)
		x.elem(TagSOPInstanceUID, UI, []byte("1.2\x00"))
		x.elem(TagPatientName, PN, []byte("A^B "))
		f, err := readBytes(t, x.b.Bytes(), ReadOptions{})
		if err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		if f.Meta != nil || f.HasPreamble {
			t.Errorf("%s: meta %v preamble %v", e, f.Meta, f.HasPreamble)
		}
		if f.Dataset.Encoding != e || f.Dataset.String(TagPatientName) != "A^B" {
			t.Errorf("%s: read as %s, name %q", e, f.Dataset.Encoding, f.Dataset.String(TagPatientName))
		}
	}
}

func TestStreamDoesNotAllocateFromClaims(t *testing.T) {
	x := newEnc(EncodingExplicitLE)
	x.raw(0x00091010, OB, 0xFFFFFFF0) // private OB, far beyond the input
	x.b.Write(make([]byte, 1000))
	data := part10(ExplicitVRLittleEndian, x.b.Bytes())
	// Size unknown (-1): the reader must stream, not allocate 4 GB.
	_, err := Read(struct{ *bytes.Reader }{bytes.NewReader(data)}, -1, ReadOptions{LoadBulk: true})
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("err = %v", err)
	}
}

func TestUNReadWithDictionary(t *testing.T) {
	// A public sequence sent as UN with undefined length holds implicit VR items.
	x := newEnc(EncodingExplicitLE)
	x.raw(0x00081115, UN, UndefinedLength)
	x.raw(TagItem, VRNone, UndefinedLength)
	in := newEnc(EncodingImplicitLE)
	in.elem(TagSeriesInstanceUID, UI, []byte("1.2.5\x00"))
	x.b.Write(in.b.Bytes())
	x.raw(TagItemDelimitation, VRNone, 0)
	x.raw(TagSequenceDelimitation, VRNone, 0)
	// A public US element sent as UN.
	x.raw(TagRows, UN, 2)
	x.b.Write([]byte{0, 2})
	f, err := readBytes(t, part10(ExplicitVRLittleEndian, x.b.Bytes()), ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sq := f.Dataset.Get(0x00081115)
	if sq.VR != SQ || len(sq.Items) != 1 || sq.Items[0].String(TagSeriesInstanceUID) != "1.2.5" {
		t.Fatalf("UN sequence not re-read: %+v", sq)
	}
	if e := f.Dataset.Get(TagRows); e.VR != US || e.OriginalVR != UN {
		t.Errorf("Rows VR = %s (orig %s)", e.VR, e.OriginalVR)
	}
	if v, _ := f.Dataset.Int(TagRows); v != 512 {
		t.Errorf("Rows = %d", v)
	}
}

func TestWriteRoundTrip(t *testing.T) {
	x := newEnc(EncodingExplicitLE)
	x.elem(TagSOPClassUID, UI, []byte("1.2.840.10008.5.1.4.1.1.7\x00"))
	x.elem(TagSOPInstanceUID, UI, []byte("1.2.3.4\x00"))
	x.elem(TagPatientName, PN, []byte("Doe^Jane"))
	x.raw(0x00081115, SQ, UndefinedLength)
	x.raw(TagItem, VRNone, UndefinedLength)
	x.elem(TagSeriesInstanceUID, UI, []byte("1.2.3\x00"))
	x.raw(TagItemDelimitation, VRNone, 0)
	x.raw(TagSequenceDelimitation, VRNone, 0)
	x.elem(TagRows, US, []byte{0, 1})
	x.elem(0x00281052, DS, []byte("-1024 "))
	x.elem(TagPixelData, OW, []byte{1, 2, 3, 4, 5, 6})
	src := part10(ExplicitVRLittleEndian, x.b.Bytes())
	orig, err := readBytes(t, src, ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range []string{ExplicitVRLittleEndian, ImplicitVRLittleEndian, ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian} {
		t.Run(ts, func(t *testing.T) {
			var out bytes.Buffer
			if err := WriteFile(&out, orig.Dataset, ts, WriteOptions{Bulk: bytes.NewReader(src)}); err != nil {
				t.Fatal(err)
			}
			back, err := readBytes(t, out.Bytes(), ReadOptions{LoadBulk: true})
			if err != nil {
				t.Fatal(err)
			}
			if back.TransferSyntax != ts {
				t.Errorf("TS = %s", back.TransferSyntax)
			}
			ds := back.Dataset
			if ds.String(TagPatientName) != "Doe^Jane" || ds.String(TagSOPInstanceUID) != "1.2.3.4" {
				t.Errorf("strings lost: %q %q", ds.String(TagPatientName), ds.String(TagSOPInstanceUID))
			}
			if v, _ := ds.Int(TagRows); v != 256 {
				t.Errorf("Rows = %d", v)
			}
			if sq := ds.Get(0x00081115); sq == nil || len(sq.Items) != 1 || sq.Items[0].String(TagSeriesInstanceUID) != "1.2.3" {
				t.Errorf("sequence lost")
			}
			px, _ := ds.Ints(ds.Get(TagPixelData))
			if len(px) != 3 || px[0] != 0x0201 || px[2] != 0x0605 {
				t.Errorf("pixel words = %x", px)
			}
			if back.Meta.String(TagMediaStorageSOPInstanceUID) != "1.2.3.4" {
				t.Errorf("meta SOP instance = %q", back.Meta.String(TagMediaStorageSOPInstanceUID))
			}
			if len(back.Warnings) != 0 {
				t.Errorf("warnings: %v", back.Warnings)
			}
		})
	}
}

func TestTypedValues(t *testing.T) {
	d, err := ParseDate("20240229")
	if err != nil || d != (Date{2024, 2, 29}) {
		t.Errorf("ParseDate = %v %v", d, err)
	}
	if d, err := ParseDate("1999.12.31"); err != nil || d.Year != 1999 {
		t.Errorf("ACR-NEMA date = %v %v", d, err)
	}
	for _, bad := range []string{"2024", "20241301", "2024-01-01", ""} {
		if _, err := ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) accepted", bad)
		}
	}
	tm, err := ParseTime("235959.123")
	if err != nil || tm.Hour != 23 || tm.Second != 59 || tm.Nanosecond != 123000000 || tm.Precision != 4 {
		t.Errorf("ParseTime = %+v %v", tm, err)
	}
	if tm, err := ParseTime("10"); err != nil || tm.Precision != 1 {
		t.Errorf("ParseTime(10) = %+v %v", tm, err)
	}
	dt, err := ParseDateTime("20200102030405.5+0130")
	if err != nil || !dt.HasTime || dt.Time.Minute != 4 || dt.Offset != 90 {
		t.Errorf("ParseDateTime = %+v %v", dt, err)
	}
	if a, err := ParseAge("045Y"); err != nil || a.N != 45 || a.Unit != 'Y' {
		t.Errorf("ParseAge = %+v %v", a, err)
	}
	pn := ParsePersonName("Yamada^Tarou=山田^太郎=やまだ^たろう")
	if pn.Ideographic.Family != "山田" || pn.Phonetic.Given != "たろう" || pn.String() != "Yamada^Tarou=山田^太郎=やまだ^たろう" {
		t.Errorf("PN = %+v", pn)
	}
}

func TestParseTag(t *testing.T) {
	for in, want := range map[string]Tag{"(0010,0010)": TagPatientName, "00100020": TagPatientID, "PatientName": TagPatientName, "0020,000D": TagStudyInstanceUID} {
		if got, err := ParseTag(in); err != nil || got != want {
			t.Errorf("ParseTag(%q) = %s %v", in, got, err)
		}
	}
	if _, err := ParseTag("NoSuchKeyword"); err == nil {
		t.Error("unknown keyword accepted")
	}
}

func TestReadMeta(t *testing.T) {
	x := newEnc(EncodingExplicitLE)
	x.elem(TagPatientID, LO, []byte("P1"))
	data := part10(JPEGBaseline8Bit, x.b.Bytes())
	meta, ts, off, err := ReadMeta(bytes.NewReader(data), int64(len(data)))
	if err != nil || meta == nil || ts != JPEGBaseline8Bit || off != int64(len(data)-x.b.Len()) {
		t.Fatalf("ReadMeta = %v %q %d %v", meta, ts, off, err)
	}
	bare := newEnc(EncodingImplicitLE).elem(TagPatientID, LO, []byte("P1")).b.Bytes()
	if meta, ts, off, err := ReadMeta(bytes.NewReader(bare), int64(len(bare))); err != nil || meta != nil || ts != ImplicitVRLittleEndian || off != 0 {
		t.Errorf("bare: %v %q %d %v", meta, ts, off, err)
	}
	if _, _, _, err := ReadMeta(bytes.NewReader(nil), 0); !errors.Is(err, ErrNotDICOM) {
		t.Errorf("empty: %v", err)
	}
}
