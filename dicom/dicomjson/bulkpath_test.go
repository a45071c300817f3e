package dicomjson

import (
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
)

func TestBulkPaths(t *testing.T) {
	px := &dicom.Element{Tag: dicom.TagPixelData, VR: dicom.OW, Bulk: true, Length: 512}
	small := &dicom.Element{Tag: 0x00091010, VR: dicom.OB, Value: []byte{1, 2}}
	icon := &dicom.Element{Tag: dicom.TagPixelData, VR: dicom.OB, Bulk: true, Length: 64}
	wave := &dicom.Element{Tag: 0x54001010, VR: dicom.OW, Bulk: true, Length: 1 << 20}
	item0, item1 := dicom.NewDataset(), dicom.NewDataset()
	item0.Elements = []*dicom.Element{small}
	item1.Elements = []*dicom.Element{icon}
	seq := &dicom.Element{Tag: 0x00880200, VR: dicom.SQ, Items: []*dicom.Dataset{item0, item1}}
	witem := dicom.NewDataset()
	witem.Elements = []*dicom.Element{wave}
	wseq := &dicom.Element{Tag: 0x54000100, VR: dicom.SQ, Items: []*dicom.Dataset{witem}}
	ds := dicom.NewDataset()
	ds.Elements = []*dicom.Element{seq, wseq, px}
	got := BulkPaths(ds)
	for _, c := range []struct {
		e    *dicom.Element
		want string
	}{
		{px, "7FE00010"},
		{icon, "00880200/1/7FE00010"},
		{wave, "54000100/0/54001010"},
		{small, ""}, // loaded: inlined, not bulk
		{seq, ""},
	} {
		if p := got[c.e]; p != c.want {
			t.Errorf("path of %s = %q, want %q", c.e.Tag, p, c.want)
		}
	}
	if len(got) != 3 {
		t.Errorf("%d bulk paths, want 3: %v", len(got), got)
	}
}

func TestTagHex(t *testing.T) {
	for _, tag := range []dicom.Tag{0, 0x00100010, 0x7FE00010, 0xFFFEE000, 0x0009A0BC} {
		if got, want := tagHex(tag), tag.Hex(); got != want {
			t.Errorf("tagHex(%v) = %q, want %q", tag, got, want)
		}
	}
}
