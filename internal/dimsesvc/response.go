package dimsesvc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/charset"
	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
	"github.com/lightbox-pacs/lightbox/dicom/dict"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// This file builds C-FIND responses: every requested key, valued from the
// index record or the stored header, encoded in the request's Specific
// Character Set when it can represent the values, else in ISO_IR 192.

// utf8Set is ISO_IR 192, the fallback repertoire of responses.
var utf8Set = func() *charset.Set {
	s, _ := charset.Parse([]string{"ISO_IR 192"})
	return s
}()

// errEncode is returned by an encoder that met a character its
// repertoire lacks.
var errEncode = errors.New("dimsesvc: character not in the repertoire")

// response builds the C-FIND response for one matching record.
func (fq *findQuery) response(rec *index.InstanceRecord, retrieveAE string) (*dicom.Dataset, error) {
	var hdr *dicom.Dataset
	if fq.q.IncludeHeader && len(rec.Header) > 0 {
		var err error
		if hdr, _, err = dicomjson.Unmarshal(rec.Header); err != nil {
			return nil, fmt.Errorf("dimsesvc: stored header of %s: %w", rec.Instance.SOPInstanceUID, err)
		}
	}
	ds, err := fq.encode(rec, hdr, retrieveAE, fq.cs, fq.terms)
	if errors.Is(err, errEncode) {
		ds, err = fq.encode(rec, hdr, retrieveAE, utf8Set, []string{"ISO_IR 192"})
	}
	return ds, err
}

// encoder writes text values in one repertoire.
type encoder struct {
	cs *charset.Set
}

// text returns a string element of vr holding the UTF-8 value s.
func (enc encoder) text(tag dicom.Tag, vr dicom.VR, s string) (*dicom.Element, error) {
	var b []byte
	if vr.UsesCharset() {
		kind, _ := charset.KindForVR(vr.String())
		var err error
		if b, err = enc.cs.Encode(s, kind); err != nil {
			return nil, errEncode
		}
	} else {
		b = []byte(s)
	}
	if len(b)%2 == 1 {
		b = append(b, vr.Padding())
	}
	return &dicom.Element{Tag: tag, VR: vr, Value: b}, nil
}

// encode builds the response in cs; terms is its (0008,0005), nil for none.
func (fq *findQuery) encode(rec *index.InstanceRecord, hdr *dicom.Dataset, retrieveAE string, cs *charset.Set, terms []string) (*dicom.Dataset, error) {
	enc := encoder{cs: cs}
	ds := dicom.NewDataset()
	if terms != nil {
		ds.Set(dicom.NewStringElement(dicom.TagSpecificCharacterSet, dicom.CS, terms...))
	}
	ds.Set(dicom.NewStringElement(tagQueryRetrieveLevel, dicom.CS, fq.level.String()))
	ds.Set(dicom.NewStringElement(tagRetrieveAETitle, dicom.AE, retrieveAE))
	for _, k := range fq.keys {
		e, err := fq.value(enc, k, rec, hdr)
		if err != nil {
			return nil, err
		}
		ds.Set(e)
	}
	return ds, nil
}

// value returns the element answering one key.
func (fq *findQuery) value(enc encoder, k key, rec *index.InstanceRecord, hdr *dicom.Dataset) (*dicom.Element, error) {
	tag, vr := k.e.Tag, k.e.VR
	if k.hasAttr {
		if vr == dicom.UN || vr == dicom.VRNone {
			vr = dicom.VRFromName(k.attr.VR)
		}
		if k.below {
			return &dicom.Element{Tag: tag, VR: vr}, nil
		}
		s := modelText(rec, k.attr)
		if vr == dicom.US || vr == dicom.UL {
			return binaryInts(tag, vr, s), nil
		}
		return enc.text(tag, vr, s)
	}
	if k.configured && k.below {
		if vr == dicom.UN || vr == dicom.VRNone {
			vr = dicom.VRFromName(k.attr.VR)
		}
		return &dicom.Element{Tag: tag, VR: vr}, nil
	}
	switch tag {
	case tagInstanceAvailability:
		return enc.text(tag, dicom.CS, "ONLINE")
	}
	var src *dicom.Element
	if hdr != nil {
		src = hdr.Get(tag)
	}
	if src == nil || src.Bulk {
		if vr == dicom.UN || vr == dicom.VRNone {
			vr = dictVR(tag)
		}
		return &dicom.Element{Tag: tag, VR: vr}, nil
	}
	return copyElement(enc, hdr, src, k.e)
}

// dictVR returns the dictionary VR of a tag, UN when unknown.
func dictVR(tag dicom.Tag) dicom.VR {
	if en, ok := dict.Lookup(uint32(tag)); ok {
		if vr := dicom.VRFromName(dict.FirstVR(en.VR)); vr != dicom.VRNone {
			return vr
		}
	}
	return dicom.UN
}

// copyElement copies a header element (UTF-8 text) into the response's
// repertoire. For a sequence, req's first item, when it lists keys, says
// which elements of each item to return.
func copyElement(enc encoder, from *dicom.Dataset, src, req *dicom.Element) (*dicom.Element, error) {
	switch {
	case src.IsSequence():
		var want *dicom.Dataset
		if req != nil && len(req.Items) > 0 && req.Items[0].Len() > 0 {
			want = req.Items[0]
		}
		out := &dicom.Element{Tag: src.Tag, VR: dicom.SQ, Items: []*dicom.Dataset{}}
		for _, it := range src.Items {
			item := dicom.NewDataset()
			for _, e := range it.Elements {
				if e.Tag == dicom.TagSpecificCharacterSet || e.Bulk {
					continue
				}
				var sub *dicom.Element
				if want != nil {
					if sub = want.Get(e.Tag); sub == nil {
						continue
					}
				}
				c, err := copyElement(enc, it, e, sub)
				if err != nil {
					return nil, err
				}
				item.Set(c)
			}
			if want != nil {
				for _, w := range want.Elements {
					if item.Get(w.Tag) == nil {
						item.Set(&dicom.Element{Tag: w.Tag, VR: w.VR})
					}
				}
			}
			out.Items = append(out.Items, item)
		}
		return out, nil
	case src.VR.IsString():
		return enc.text(src.Tag, src.VR, from.Text(src))
	}
	return &dicom.Element{Tag: src.Tag, VR: src.VR, Value: src.Value}, nil
}

// binaryInts encodes decimal values (backslash-separated) as US or UL.
func binaryInts(tag dicom.Tag, vr dicom.VR, s string) *dicom.Element {
	e := &dicom.Element{Tag: tag, VR: vr}
	if s == "" {
		return e
	}
	for _, p := range strings.Split(s, `\`) {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			continue
		}
		if vr == dicom.US {
			e.Value = binary.LittleEndian.AppendUint16(e.Value, uint16(n))
		} else {
			e.Value = binary.LittleEndian.AppendUint32(e.Value, uint32(n))
		}
	}
	return e
}

// modelText returns the value of a model attribute of rec as UTF-8 text
// in DICOM form ("" when absent).
func modelText(rec *index.InstanceRecord, a index.Attribute) string {
	switch f := rec.Field(a.Key); f.Kind {
	case index.FieldText:
		return f.Text
	case index.FieldList:
		return strings.Join(f.List, `\`)
	case index.FieldName:
		return f.Name.String()
	case index.FieldInt:
		if f.HasInt {
			return strconv.Itoa(f.Int)
		}
	}
	return ""
}
