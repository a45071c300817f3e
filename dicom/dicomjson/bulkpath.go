package dicomjson

import (
	"strconv"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// BulkPaths maps every bulk value of ds, nested ones included, to its bulk
// data path: tags as eight upper-case hex digits and item indices joined
// by "/", as in 7FE00010 or 00540016/0/00181072. A bulk value is one left
// in the source by the reader (Element.Bulk) or encapsulated Pixel Data;
// binary values the reader loaded are not bulk (they are inlined).
//
// The archive stores these paths, relative, as the BulkDataURIs of the
// header it indexes, and WADO-RS serves them under the instance URL, so
// both must name elements the same way.
func BulkPaths(ds *dicom.Dataset) map[*dicom.Element]string {
	m := map[*dicom.Element]string{}
	var walk func(ds *dicom.Dataset, prefix string)
	walk = func(ds *dicom.Dataset, prefix string) {
		for _, e := range ds.Elements {
			switch {
			case e.IsSequence():
				for i, it := range e.Items {
					walk(it, prefix+tagHex(e.Tag)+"/"+strconv.Itoa(i)+"/")
				}
			case e.Bulk || e.IsEncapsulated():
				m[e] = prefix + tagHex(e.Tag)
			}
		}
	}
	walk(ds, "")
	return m
}

// tagHex formats a tag as eight upper-case hex digits, the form of DICOM
// JSON keys.
func tagHex(t dicom.Tag) string {
	return string(appendTagHex(make([]byte, 0, 8), t))
}

// appendTagHex appends t as eight upper-case hex digits (without fmt: it
// runs once per element encoded).
func appendTagHex(buf []byte, t dicom.Tag) []byte {
	const digits = "0123456789ABCDEF"
	for i := range 8 {
		buf = append(buf, digits[(uint32(t)>>(28-4*uint(i)))&0xF])
	}
	return buf
}
