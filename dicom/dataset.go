package dicom

import (
	"sort"

	"github.com/lightbox-pacs/lightbox/dicom/charset"
)

// Dataset is an ordered collection of data elements: a whole data set, the
// File Meta group, or one sequence item.
type Dataset struct {
	// Elements in the order read (ascending tags in a valid data set).
	Elements []*Element
	// Encoding the raw values are in.
	Encoding Encoding
	// Offset of the first byte of the data set (or item content) in the source.
	Offset int64
	// Parent is the data set whose sequence holds this item, nil at top level;
	// items inherit the Specific Character Set of their parent.
	Parent *Dataset

	charset *charset.Set
	sorted  bool
}

// NewDataset returns an empty data set in Explicit VR Little Endian.
func NewDataset() *Dataset { return &Dataset{sorted: true} }

// Len returns the number of elements.
func (ds *Dataset) Len() int { return len(ds.Elements) }

// Get returns the element with the tag, or nil.
func (ds *Dataset) Get(tag Tag) *Element {
	if ds == nil {
		return nil
	}
	if ds.sorted {
		i := sort.Search(len(ds.Elements), func(i int) bool { return ds.Elements[i].Tag >= tag })
		if i < len(ds.Elements) && ds.Elements[i].Tag == tag {
			return ds.Elements[i]
		}
		return nil
	}
	for _, e := range ds.Elements {
		if e.Tag == tag {
			return e
		}
	}
	return nil
}

// Set inserts the element, replacing one with the same tag, keeping the
// elements in ascending tag order.
func (ds *Dataset) Set(e *Element) {
	if !ds.sorted {
		ds.Sort()
	}
	i := sort.Search(len(ds.Elements), func(i int) bool { return ds.Elements[i].Tag >= e.Tag })
	if i < len(ds.Elements) && ds.Elements[i].Tag == e.Tag {
		ds.Elements[i] = e
	} else {
		ds.Elements = append(ds.Elements, nil)
		copy(ds.Elements[i+1:], ds.Elements[i:])
		ds.Elements[i] = e
	}
	if e.Tag == TagSpecificCharacterSet {
		ds.charset = nil
	}
}

// Delete removes the element with the tag, if present.
func (ds *Dataset) Delete(tag Tag) {
	for i, e := range ds.Elements {
		if e.Tag == tag {
			ds.Elements = append(ds.Elements[:i], ds.Elements[i+1:]...)
			return
		}
	}
}

// Sort orders the elements by tag (stable, so duplicates keep read order).
func (ds *Dataset) Sort() {
	sort.SliceStable(ds.Elements, func(i, j int) bool { return ds.Elements[i].Tag < ds.Elements[j].Tag })
	ds.sorted = true
}

// Walk calls fn for every element, depth first into sequence items; depth is
// 0 at the top. Returning false from fn skips the element's items.
func (ds *Dataset) Walk(fn func(e *Element, depth int) bool) {
	ds.walk(fn, 0)
}

func (ds *Dataset) walk(fn func(e *Element, depth int) bool, depth int) {
	for _, e := range ds.Elements {
		if fn(e, depth) {
			for _, it := range e.Items {
				it.walk(fn, depth+1)
			}
		}
	}
}

// Charset returns the Specific Character Set in force for this data set:
// its own (0008,0005), else its parent's, else the default repertoire.
func (ds *Dataset) Charset() *charset.Set {
	for d := ds; d != nil; d = d.Parent {
		if d.charset != nil {
			return d.charset
		}
		if e := d.Get(TagSpecificCharacterSet); e != nil {
			terms := splitValues(e.Value)
			for i := range terms {
				terms[i] = trimSpaces(terms[i])
			}
			cs, _ := charset.Parse(terms) // unknown terms still give a usable fallback set
			if cs == nil {
				cs = charset.Default
			}
			d.charset = cs
			return cs
		}
	}
	return charset.Default
}
