package dicomxml

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// maxDepth bounds the nesting of Items (sequence depth).
const maxDepth = 64

// parser reads a NativeDicomModel with the XML tokenizer alone (no
// reflection, no namespace translation: the model's element names are
// matched by local name, whatever namespace or prefix they carry). Unknown
// elements are skipped; start and end tags must match.
type parser struct {
	d *xml.Decoder
}

func parseModel(data []byte) ([]xmlAttr, error) {
	p := &parser{d: xml.NewDecoder(bytes.NewReader(data))}
	for {
		tok, err := p.next()
		if err != nil {
			return nil, err
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local != "NativeDicomModel" {
				return nil, fmt.Errorf("root element is <%s>, not <NativeDicomModel>", se.Name.Local)
			}
			return p.dataSet(se.Name, 0)
		}
	}
}

// next returns the next token that is not a comment, processing
// instruction or directive; the end of the input is an error.
func (p *parser) next() (xml.Token, error) {
	for {
		tok, err := p.d.RawToken()
		if err == io.EOF {
			return nil, errors.New("unexpected end of the document")
		}
		if err != nil {
			return nil, err
		}
		switch tok.(type) {
		case xml.Comment, xml.ProcInst, xml.Directive:
			continue
		}
		return tok, nil
	}
}

func sameName(a, b xml.Name) bool { return a.Local == b.Local && a.Space == b.Space }

// end checks an end tag against its start.
func end(ee xml.EndElement, start xml.Name) error {
	if !sameName(ee.Name, start) {
		return fmt.Errorf("</%s> closes <%s>", ee.Name.Local, start.Local)
	}
	return nil
}

// skip consumes the rest of an element whose start tag was read.
func (p *parser) skip(start xml.Name) error {
	for {
		tok, err := p.next()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := p.skip(t.Name); err != nil {
				return err
			}
		case xml.EndElement:
			return end(t, start)
		}
	}
}

// text returns the character data of an element (nested elements are
// skipped).
func (p *parser) text(start xml.Name) (string, error) {
	var b []byte
	for {
		tok, err := p.next()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			b = append(b, t...)
		case xml.StartElement:
			if err := p.skip(t.Name); err != nil {
				return "", err
			}
		case xml.EndElement:
			return string(b), end(t, start)
		}
	}
}

// dataSet reads DicomAttribute elements up to the end of start.
func (p *parser) dataSet(start xml.Name, depth int) ([]xmlAttr, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("sequences nested deeper than %d", maxDepth)
	}
	var attrs []xmlAttr
	for {
		tok, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "DicomAttribute" {
				if err := p.skip(t.Name); err != nil {
					return nil, err
				}
				continue
			}
			a, err := p.attribute(t, depth)
			if err != nil {
				return nil, err
			}
			attrs = append(attrs, a)
		case xml.EndElement:
			return attrs, end(t, start)
		}
	}
}

func attrValue(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func number(se xml.StartElement) (int, error) {
	s := attrValue(se, "number")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("number=%q is not a positive integer", s)
	}
	return n, nil
}

func (p *parser) attribute(se xml.StartElement, depth int) (xmlAttr, error) {
	a := xmlAttr{
		Tag:            attrValue(se, "tag"),
		VR:             attrValue(se, "vr"),
		Keyword:        attrValue(se, "keyword"),
		PrivateCreator: attrValue(se, "privateCreator"),
	}
	for {
		tok, err := p.next()
		if err != nil {
			return a, err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return a, end(t, se.Name)
		case xml.StartElement:
			switch t.Name.Local {
			case "Value":
				n, err := number(t)
				if err != nil {
					return a, err
				}
				s, err := p.text(t.Name)
				if err != nil {
					return a, err
				}
				a.Values = append(a.Values, xmlValue{Number: n, Text: s})
			case "PersonName":
				pn, err := p.personName(t)
				if err != nil {
					return a, err
				}
				a.Names = append(a.Names, pn)
			case "Item":
				n, err := number(t)
				if err != nil {
					return a, err
				}
				sub, err := p.dataSet(t.Name, depth+1)
				if err != nil {
					return a, err
				}
				a.Items = append(a.Items, xmlItem{Number: n, Attrs: sub})
			case "BulkData":
				a.BulkData = &xmlBulk{URI: attrValue(t, "uri"), UUID: attrValue(t, "uuid")}
				if err := p.skip(t.Name); err != nil {
					return a, err
				}
			case "InlineBinary":
				s, err := p.text(t.Name)
				if err != nil {
					return a, err
				}
				a.InlineBinary = &xmlInlined{Text: s}
			default:
				if err := p.skip(t.Name); err != nil {
					return a, err
				}
			}
		}
	}
}

func (p *parser) personName(se xml.StartElement) (xmlPN, error) {
	n, err := number(se)
	if err != nil {
		return xmlPN{}, err
	}
	pn := xmlPN{Number: n}
	for {
		tok, err := p.next()
		if err != nil {
			return pn, err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return pn, end(t, se.Name)
		case xml.StartElement:
			var group **xmlNames
			switch t.Name.Local {
			case "Alphabetic":
				group = &pn.Alphabetic
			case "Ideographic":
				group = &pn.Ideographic
			case "Phonetic":
				group = &pn.Phonetic
			default:
				if err := p.skip(t.Name); err != nil {
					return pn, err
				}
				continue
			}
			names, err := p.nameComponents(t.Name)
			if err != nil {
				return pn, err
			}
			*group = names
		}
	}
}

func (p *parser) nameComponents(start xml.Name) (*xmlNames, error) {
	n := &xmlNames{}
	for {
		tok, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return n, end(t, start)
		case xml.StartElement:
			var dst *string
			switch t.Name.Local {
			case "FamilyName":
				dst = &n.FamilyName
			case "GivenName":
				dst = &n.GivenName
			case "MiddleName":
				dst = &n.MiddleName
			case "NamePrefix":
				dst = &n.NamePrefix
			case "NameSuffix":
				dst = &n.NameSuffix
			default:
				if err := p.skip(t.Name); err != nil {
					return nil, err
				}
				continue
			}
			s, err := p.text(t.Name)
			if err != nil {
				return nil, err
			}
			*dst = s
		}
	}
}
