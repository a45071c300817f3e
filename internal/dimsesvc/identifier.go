package dimsesvc

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/charset"
	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// This file reads C-FIND, C-MOVE and C-GET identifiers: the query level,
// the keys, and which of them match under the information model.

// Tags of the identifier that are not keys of the index model.
const (
	tagQueryRetrieveLevel   = dicom.Tag(0x00080052)
	tagRetrieveAETitle      = dicom.Tag(0x00080054)
	tagInstanceAvailability = dicom.Tag(0x00080056)
	tagTimezoneOffset       = dicom.Tag(0x00080201)
)

// key is one requested key of a C-FIND identifier.
type key struct {
	e *dicom.Element
	// attr is the index model attribute of the tag, when hasAttr.
	attr    index.Attribute
	hasAttr bool
	// below: a model key of a level below the query level, returned
	// empty (its value would be one descendant's among many).
	below bool
	// configured: a configured attribute of the index outside the model
	// (attr holds it, hasAttr is false): matched by the index like a
	// model key, returned from the stored header.
	configured bool
}

// findQuery is a parsed C-FIND identifier.
type findQuery struct {
	root  root
	level index.Level
	q     index.Query
	ident *dicom.Dataset
	keys  []key
	// terms are the request's Specific Character Set values (nil when it
	// has none); cs is the set they name.
	terms []string
	cs    *charset.Set
}

// identifierError is the A900 of an identifier the model does not allow.
func identifierError(format string, args ...any) *dimse.StatusError {
	return dimse.NewStatusError(dimse.StatusIdentifierDoesNotMatchSOPClass, format, args...)
}

// queryLevel reads and checks the Query/Retrieve Level.
func queryLevel(ident *dicom.Dataset, r root) (index.Level, *dimse.StatusError) {
	e := ident.Get(tagQueryRetrieveLevel)
	if e == nil {
		return 0, identifierError("identifier has no Query/Retrieve Level (0008,0052)")
	}
	level, err := index.ParseLevel(ident.Text(e))
	if err != nil {
		return 0, identifierError("Query/Retrieve Level %q is not PATIENT, STUDY, SERIES or IMAGE", ident.Text(e))
	}
	if !r.allows(level) {
		return 0, identifierError("level %s is not part of the %s model", level, r)
	}
	return level, nil
}

// parseFind reads a C-FIND identifier. relational, fuzzy and combined say
// what extended negotiation granted; schema holds the index's configured
// attributes.
//
// Keys outside the model are Optional Keys this SCP does not match on
// unless the administrator configured them (PS3.4 C.2.2.1.3 lets an SCP
// treat such keys as universal): they are returned from the stored header
// of the entity (its first instance above the IMAGE level). Configured
// keys match like model keys of their level: at the query level, and
// above it with relational queries; below it they are returned empty. A
// Timezone Offset From UTC (0008,0201) in the identifier is the offset of
// DT key values without their own (PS3.4 C.2.2.2.5).
func parseFind(schema *index.Schema, sopClass string, ident *dicom.Dataset, relational, fuzzy, combined bool) (*findQuery, *dimse.StatusError) {
	r, ok := rootOf(sopClass)
	if !ok || r == compositeInstanceRoot {
		return nil, dimse.NewStatusError(dimse.StatusSOPClassNotSupported, "%s is not a C-FIND model", sopClass)
	}
	level, se := queryLevel(ident, r)
	if se != nil {
		return nil, se
	}
	fq := &findQuery{root: r, level: level, ident: ident, cs: ident.Charset(),
		q: index.Query{Level: level, FuzzyNames: fuzzy, CombinedDateTime: combined}}
	if e := ident.Get(dicom.TagSpecificCharacterSet); e != nil {
		fq.terms = ident.Strings(e)
		if len(fq.terms) == 0 {
			fq.terms = []string{""}
		}
	}
	for _, e := range ident.Elements {
		switch {
		case e.Tag.Group() <= 0x0002, e.Tag.IsGroupLength(),
			e.Tag == dicom.TagSpecificCharacterSet, e.Tag == tagQueryRetrieveLevel, e.Tag == tagRetrieveAETitle:
			continue
		}
		k := key{e: e}
		k.attr, k.hasAttr = index.LookupTag(uint32(e.Tag))
		if e.Tag == tagTimezoneOffset {
			fq.q.TimezoneOffset = strings.TrimSpace(ident.Text(e))
		}
		if !k.hasAttr {
			fq.q.IncludeHeader = true
			creator, hasCreator := privateCreator(ident, e.Tag)
			a, ok := schema.LookupTag(uint32(e.Tag), creator)
			if !ok || !a.Configured || !hasCreator {
				fq.keys = append(fq.keys, k)
				continue
			}
			k.attr, k.configured = a, true
			lv := r.levelOf(a)
			k.below = lv > level
			fq.keys = append(fq.keys, k)
			if lv == level || lv < level && relational {
				if v := configuredValue(ident, e); v != "" {
					fq.q.Matches = append(fq.q.Matches, index.Match{Key: a.Key, Value: v})
				}
			}
			continue
		}
		lv := r.levelOf(k.attr)
		k.below = lv > level
		fq.keys = append(fq.keys, k)
		matches := lv == level || lv < level && (relational || r.isUniqueKeyAbove(k.attr, level))
		if !matches || k.attr.Kind == index.KindCount {
			continue
		}
		if v := identValue(ident, e); v != "" {
			fq.q.Matches = append(fq.q.Matches, index.Match{Key: k.attr.Key, Value: v})
		}
	}
	if _, err := schema.ParseQuery(fq.q); err != nil {
		return nil, queryError(err)
	}
	return fq, nil
}

// privateCreator returns the private creator of a private data element of
// ident; ok is false when the identifier lacks the creator element. A
// standard element has creator "".
func privateCreator(ident *dicom.Dataset, tag dicom.Tag) (creator string, ok bool) {
	if tag.Group()%2 == 0 || tag.Element() < 0x1000 {
		return "", true
	}
	c := ident.Get(dicom.Tag(uint32(tag.Group())<<16 | uint32(tag.Element()>>8)))
	if c == nil {
		return "", false
	}
	return ident.Text(c), true
}

// configuredValue is identValue for a configured key, which may arrive
// with VR UN (a private tag the peer's dictionary does not know).
func configuredValue(ident *dicom.Dataset, e *dicom.Element) string {
	if e.VR == dicom.UN && !e.IsSequence() && !e.Bulk {
		return strings.TrimRight(string(e.Value), " \x00")
	}
	return identValue(ident, e)
}

// queryError maps an index query error to a status.
func queryError(err error) *dimse.StatusError {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "index: ")
	if errors.Is(err, index.ErrInvalidQuery) || errors.Is(err, index.ErrUnsupportedKey) {
		return identifierError("%s", msg)
	}
	return &dimse.StatusError{Status: dimse.StatusUnableToProcess, Comment: msg, Err: err}
}

// identValue returns a key's value in DICOM query encoding, decoded to
// UTF-8: the text of string VRs, binary integers in decimal.
func identValue(ds *dicom.Dataset, e *dicom.Element) string {
	if e.IsSequence() || e.Bulk {
		return ""
	}
	if e.VR.IsString() {
		return ds.Text(e)
	}
	switch e.VR {
	case dicom.US, dicom.SS, dicom.UL, dicom.SL, dicom.UV, dicom.SV:
		ints, err := ds.Ints(e)
		if err != nil {
			return ""
		}
		parts := make([]string, len(ints))
		for i, v := range ints {
			parts[i] = strconv.FormatInt(v, 10)
		}
		return strings.Join(parts, `\`)
	}
	return ""
}

// retrieveMatches reads a C-MOVE or C-GET identifier: the unique keys of
// the retrieve level and the levels above it (PS3.4 C.4.2.2.1). The key of
// the retrieve level is required; those above are matched when given
// (relational retrieval lets them be absent, and this SCP tolerates their
// absence in hierarchical retrieval too).
func retrieveMatches(sopClass string, ident *dicom.Dataset) (index.Level, []index.Match, *dimse.StatusError) {
	r, ok := rootOf(sopClass)
	if !ok {
		return 0, nil, dimse.NewStatusError(dimse.StatusSOPClassNotSupported, "%s is not a retrieve model", sopClass)
	}
	level, se := queryLevel(ident, r)
	if se != nil {
		return 0, nil, se
	}
	var ms []index.Match
	for lv := r.top(); lv <= level; lv++ {
		k := uniqueKey(lv)
		a, _ := index.LookupKey(k)
		var v string
		if e := ident.Get(dicom.Tag(a.Tag)); e != nil {
			v = strings.TrimSpace(identValue(ident, e))
		}
		switch {
		case v == "" && lv == level:
			return 0, nil, identifierError("%s retrieve needs %s (%s)", level, k, dicom.Tag(a.Tag))
		case v == "":
			continue
		case strings.ContainsAny(v, "*?"):
			return 0, nil, identifierError("%s %q: no wildcards in a retrieve identifier", k, v)
		}
		ms = append(ms, index.Match{Key: k, Value: v})
	}
	if _, err := index.ParseQuery(index.Query{Level: index.InstanceLevel, Matches: ms}); err != nil {
		return 0, nil, queryError(err)
	}
	return level, ms, nil
}

// describe summarises matches for logs.
func describe(ms []index.Match) string {
	var b strings.Builder
	for i, m := range ms {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s=%s", m.Key, m.Value)
	}
	return b.String()
}
