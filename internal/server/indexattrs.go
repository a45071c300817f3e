package server

import (
	"fmt"

	"github.com/lightbox-pacs/lightbox/dicom/dict"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// indexDict lends the data dictionary to index.ParseAttributeSpec.
type indexDict struct{}

func (indexDict) ByKeyword(k string) (uint32, string, bool) {
	e, ok := dict.ByKeyword(k)
	return e.Tag, dict.FirstVR(e.VR), ok
}

func (indexDict) ByTag(tag uint32) (string, string, bool) {
	e, ok := dict.Lookup(tag)
	if !ok || e.Keyword == "" {
		return "", "", false
	}
	return e.Keyword, dict.FirstVR(e.VR), true
}

// QueryAttributes resolves the configured query attributes
// (config.Index.QueryAttributes) against the data dictionary.
func QueryAttributes(specs []string) ([]index.Attribute, error) {
	var out []index.Attribute
	for _, s := range specs {
		a, err := index.ParseAttributeSpec(s, indexDict{})
		if err != nil {
			return nil, fmt.Errorf("query attribute: %w", err)
		}
		out = append(out, a)
	}
	return out, nil
}
