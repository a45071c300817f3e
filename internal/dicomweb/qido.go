package dicomweb

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// Tags QIDO-RS returns that are not attributes of the index model.
const (
	tagRetrieveURL           uint32 = 0x00081190
	tagInstanceAvailability  uint32 = 0x00080056
	tagSpecificCharacterSet  uint32 = 0x00080005
	tagBitsAllocated         uint32 = 0x00280100
	tagTimezoneOffsetFromUTC uint32 = 0x00080201
)

// qidoQuery is a parsed QIDO-RS request.
type qidoQuery struct {
	q index.Query
	// include lists tags to return beyond the defaults.
	include map[uint32]bool
	all     bool
	// warnings become Warning headers.
	warnings []string
	// limited is set when the server capped the request's limit.
	limited bool
}

// default return attributes per level (PS3.18 Tables 6.7.1-2, -2a, -2b),
// with StudyDescription, SeriesDate/Time and BodyPartExamined added because
// viewers' study and series lists show them.
var (
	defaultStudyKeys = []index.Key{
		index.StudyDate, index.StudyTime, index.AccessionNumber, index.ModalitiesInStudy,
		index.ReferringPhysicianName, index.PatientName, index.PatientID, index.PatientBirthDate,
		index.PatientSex, index.StudyInstanceUID, index.StudyID, index.StudyDescription,
		index.NumberOfStudyRelatedSeries, index.NumberOfStudyRelatedInstances,
	}
	defaultSeriesKeys = []index.Key{
		index.Modality, index.SeriesDescription, index.SeriesInstanceUID, index.SeriesNumber,
		index.NumberOfSeriesRelatedInstances, index.PerformedProcedureStepStartDate,
		index.PerformedProcedureStepStartTime, index.SeriesDate, index.SeriesTime, index.BodyPartExamined,
	}
	defaultInstanceKeys = []index.Key{
		index.SOPClassUID, index.SOPInstanceUID, index.InstanceNumber, index.Rows, index.Columns,
		index.NumberOfFrames,
	}
)

func (s *Service) searchStudies(w http.ResponseWriter, r *http.Request) error {
	return s.search(w, r, index.StudyLevel)
}

func (s *Service) searchSeries(w http.ResponseWriter, r *http.Request) error {
	return s.search(w, r, index.SeriesLevel)
}

func (s *Service) searchInstances(w http.ResponseWriter, r *http.Request) error {
	return s.search(w, r, index.InstanceLevel)
}

// search serves the QIDO-RS resources of one level.
func (s *Service) search(w http.ResponseWriter, r *http.Request, level index.Level) error {
	t, err := targetOf(r)
	if err != nil {
		return err
	}
	asXML := false
	if !acceptsJSON(r.Header.Get("Accept")) {
		if asXML = acceptsXMLParts(r.Header.Get("Accept")); !asXML {
			return errorf(http.StatusNotAcceptable, `search results are served as application/dicom+json or multipart/related; type="application/dicom+xml"`)
		}
	}
	if err := s.authorize(r, ActionSearch, t.resource()); err != nil {
		return err
	}
	qq, err := parseQIDOSchema(r.URL.Query(), level, s.opts.MaxResults, s.arch.Index().Schema())
	if err != nil {
		return err
	}
	if t.study != "" {
		qq.q.Matches = append(qq.q.Matches, index.Match{Key: index.StudyInstanceUID, Value: t.study})
	}
	if t.series != "" {
		qq.q.Matches = append(qq.q.Matches, index.Match{Key: index.SeriesInstanceUID, Value: t.series})
	}
	want := qq.q.Limit
	qq.q.Limit++ // one more tells whether there are more results
	recs, err := s.arch.Index().Find(ctxOf(r), qq.q)
	if err != nil {
		return err
	}
	if len(recs) > want {
		recs = recs[:want]
		if qq.limited {
			qq.warnings = append(qq.warnings, fmt.Sprintf("The number of results exceeds the maximum of %d; use limit and offset to page through them", s.opts.MaxResults))
		} else {
			qq.warnings = append(qq.warnings, "There are additional results that can be requested")
		}
	}
	for _, msg := range qq.warnings {
		w.Header().Add("Warning", `299 lightbox "`+strings.ReplaceAll(msg, `"`, `'`)+`"`)
	}
	// Relational top-level searches also return the upper levels' defaults.
	levels := levelsOf(level, t)
	base := s.baseURL(r)
	plan := newPlan(level, levels, qq)
	buf := make([]byte, 0, 1024*len(recs)+2)
	buf = append(buf, '[')
	for i := range recs {
		if i > 0 {
			buf = append(buf, ',')
		}
		if buf, err = appendResult(buf, &recs[i], plan, base); err != nil {
			return err
		}
	}
	buf = append(buf, ']')
	if asXML {
		return writeXMLParts(w, r, buf) // xml.go
	}
	return writeJSON(w, r, "application/dicom+json", http.StatusOK, buf)
}

// levelsOf lists the levels whose default attributes a search returns:
// its own, and the levels above that the path does not fix.
func levelsOf(level index.Level, t target) []index.Level {
	switch level {
	case index.SeriesLevel:
		if t.study == "" {
			return []index.Level{index.StudyLevel, index.SeriesLevel}
		}
	case index.InstanceLevel:
		switch {
		case t.study == "":
			return []index.Level{index.StudyLevel, index.SeriesLevel, index.InstanceLevel}
		case t.series == "":
			return []index.Level{index.SeriesLevel, index.InstanceLevel}
		}
	}
	return []index.Level{level}
}

// parseQIDO translates QIDO-RS query parameters into an index query over
// the attributes of the model.
func parseQIDO(params url.Values, level index.Level, maxResults int) (*qidoQuery, error) {
	return parseQIDOSchema(params, level, maxResults, nil)
}

// parseQIDOSchema translates QIDO-RS query parameters into an index query.
// Keys of the model and the index's configured attributes (schema) match;
// other keys are returned from the stored header but not matched, and a
// Warning names them (PS3.18 8.3.4.1 lets an origin server ignore keys it
// does not support). A private configured attribute is named by its tag
// in any block ("00091001"): QIDO-RS cannot name private creators, the
// index matches the creator the configuration names.
// TimezoneOffsetFromUTC (00080201) is the offset of DT values without
// their own. The non-standard orderby parameter ("-StudyDate,PatientName")
// sorts by model attributes ahead of the level's default order.
func parseQIDOSchema(params url.Values, level index.Level, maxResults int, schema *index.Schema) (*qidoQuery, error) {
	qq := &qidoQuery{
		q:       index.Query{Level: level, CombinedDateTime: true, IncludeHeader: level == index.InstanceLevel},
		include: map[uint32]bool{},
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var unsupported []string
	for _, k := range keys {
		vals := params[k]
		switch k {
		case "limit", "offset":
			n, err := strconv.Atoi(vals[len(vals)-1])
			if err != nil || n < 0 {
				return nil, errorf(http.StatusBadRequest, "%s=%q is not a non-negative integer", k, vals[len(vals)-1])
			}
			if k == "limit" {
				qq.q.Limit = n
			} else {
				qq.q.Offset = n
			}
			continue
		case "fuzzymatching":
			b, err := strconv.ParseBool(vals[len(vals)-1])
			if err != nil {
				return nil, errorf(http.StatusBadRequest, "fuzzymatching=%q is not true or false", vals[len(vals)-1])
			}
			qq.q.FuzzyNames = b
			continue
		case "includefield":
			for _, v := range vals {
				for _, f := range strings.Split(v, ",") {
					f = strings.TrimSpace(f)
					switch {
					case f == "":
					case f == "all":
						qq.all = true
					default:
						tag, err := dicom.ParseTag(f)
						if err != nil {
							if strings.Contains(f, ".") {
								unsupported = append(unsupported, "includefield="+f)
								continue
							}
							return nil, errorf(http.StatusBadRequest, "includefield=%q is neither a tag nor a known keyword", f)
						}
						qq.include[uint32(tag)] = true
					}
				}
			}
			continue
		case "emptyvaluematching", "charset", "_":
			continue // accepted and ignored (cache busters, PS3.18 optional features)
		case "orderby":
			for _, v := range vals {
				o, err := index.ParseOrder(v)
				if err != nil {
					return nil, errorf(http.StatusBadRequest, "orderby=%q: %v", v, err)
				}
				qq.q.OrderBy = append(qq.q.OrderBy, o...)
			}
			continue
		}
		tag, err := dicom.ParseTag(k)
		if err != nil {
			if strings.Contains(k, ".") {
				unsupported = append(unsupported, k)
				continue
			}
			return nil, errorf(http.StatusBadRequest, "query parameter %q is neither a tag nor a known keyword", k)
		}
		qq.include[uint32(tag)] = true
		if uint32(tag) == tagTimezoneOffsetFromUTC {
			qq.q.TimezoneOffset = strings.TrimSpace(vals[len(vals)-1])
			continue
		}
		attr, ok := schema.LookupTag(uint32(tag), "")
		if !ok || attr.Kind == index.KindCount {
			unsupported = append(unsupported, k)
			continue
		}
		v := strings.Join(vals, `\`)
		if attr.Kind == index.KindUID {
			v = strings.ReplaceAll(v, ",", `\`)
		}
		qq.q.Matches = append(qq.q.Matches, index.Match{Key: attr.Key, Value: v})
	}
	if len(unsupported) > 0 {
		qq.warnings = append(qq.warnings, "The following query keys are not supported for matching and were ignored: "+strings.Join(unsupported, ", "))
	}
	if qq.q.Limit == 0 || qq.q.Limit > maxResults {
		qq.limited = true
		qq.q.Limit = maxResults
	}
	if qq.all {
		qq.q.IncludeHeader = true
	}
	for t := range qq.include {
		if _, ok := index.LookupTag(t); !ok && t != tagRetrieveURL && t != tagInstanceAvailability {
			qq.q.IncludeHeader = true
		}
	}
	return qq, nil
}

// field is one attribute of a result, as its raw JSON value.
type field struct {
	tag uint32
	js  []byte
}

// Kinds of result columns.
const (
	colModel = iota // an attribute of the index model
	colURL          // RetrieveURL
	colAvail        // InstanceAvailability
)

// column is one attribute every result of a search carries.
type column struct {
	tag  uint32
	kind int
	attr index.Attribute
}

// resultPlan says what each result of a search holds: the columns in tag
// order, and whether the stored header is scanned for more.
type resultPlan struct {
	level  index.Level
	cols   []column
	inPlan map[uint32]bool
	header bool
	all    bool
	incl   map[uint32]bool
	extras []field // scratch for header attributes, reused across results
}

// newPlan computes the columns of a search's results once per request.
func newPlan(level index.Level, levels []index.Level, qq *qidoQuery) *resultPlan {
	p := &resultPlan{level: level, inPlan: map[uint32]bool{}, header: qq.q.IncludeHeader, all: qq.all, incl: qq.include}
	addKey := func(k index.Key) {
		a, _ := index.LookupKey(k)
		if a.Level > level || p.inPlan[a.Tag] {
			return
		}
		p.inPlan[a.Tag] = true
		p.cols = append(p.cols, column{tag: a.Tag, kind: colModel, attr: a})
	}
	for _, l := range levels {
		var keys []index.Key
		switch l {
		case index.StudyLevel:
			keys = defaultStudyKeys
		case index.SeriesLevel:
			keys = defaultSeriesKeys
		case index.InstanceLevel:
			keys = defaultInstanceKeys
		}
		for _, k := range keys {
			addKey(k)
		}
	}
	for _, m := range qq.q.Matches {
		addKey(m.Key)
	}
	for t := range qq.include {
		if a, ok := index.LookupTag(t); ok {
			addKey(a.Key)
		}
	}
	p.cols = append(p.cols, column{tag: tagInstanceAvailability, kind: colAvail}, column{tag: tagRetrieveURL, kind: colURL})
	p.inPlan[tagInstanceAvailability], p.inPlan[tagRetrieveURL] = true, true
	sort.Slice(p.cols, func(i, j int) bool { return p.cols[i].tag < p.cols[j].tag })
	return p
}

// appendResult appends the DICOM JSON object of one search result.
func appendResult(buf []byte, rec *index.InstanceRecord, p *resultPlan, base string) ([]byte, error) {
	extras := p.extras[:0]
	if p.header && len(rec.Header) > 0 {
		err := eachTopLevel(rec.Header, func(tag uint32, v []byte) {
			if p.inPlan[tag] {
				return
			}
			if v = stripBulkURIs(v); v == nil {
				return // a bulk value: /metadata serves its BulkDataURI (metadata.go)
			}
			if a, ok := index.LookupTag(tag); ok && a.Level > p.level {
				return // a lower level's attribute of the representative instance
			}
			if tag == tagSpecificCharacterSet {
				if p.all || p.incl[tag] {
					extras = append(extras, field{tag, []byte(`{"vr":"CS","Value":["ISO_IR 192"]}`)})
				}
				return
			}
			if p.all || p.incl[tag] || p.level == index.InstanceLevel && tag == tagBitsAllocated {
				extras = append(extras, field{tag, v})
			}
		})
		if err != nil {
			return buf, fmt.Errorf("dicomweb: stored header of %s: %w", rec.Instance.SOPInstanceUID, err)
		}
		if !sort.SliceIsSorted(extras, func(i, j int) bool { return extras[i].tag < extras[j].tag }) {
			sort.SliceStable(extras, func(i, j int) bool { return extras[i].tag < extras[j].tag })
		}
	}
	p.extras = extras
	buf = append(buf, '{')
	n := 0
	sep := func() {
		if n > 0 {
			buf = append(buf, ',')
		}
		n++
	}
	ci, ei := 0, 0
	for ci < len(p.cols) || ei < len(extras) {
		if ei < len(extras) && (ci >= len(p.cols) || extras[ei].tag < p.cols[ci].tag) {
			if ei > 0 && extras[ei].tag == extras[ei-1].tag {
				ei++ // a repeated tag in the stored header: the first wins
				continue
			}
			sep()
			buf = appendTagKey(buf, extras[ei].tag)
			buf = append(buf, extras[ei].js...)
			ei++
			continue
		}
		c := p.cols[ci]
		ci++
		sep()
		buf = appendTagKey(buf, c.tag)
		switch c.kind {
		case colModel:
			buf = appendModel(buf, rec, c.attr)
		case colAvail:
			buf = append(buf, `{"vr":"CS","Value":["ONLINE"]}`...)
		case colURL:
			buf = appendURL(buf, retrieveURL(base, rec, p.level))
		}
	}
	return append(buf, '}'), nil
}

// eachTopLevel calls fn for each attribute of a DICOM JSON object (the
// index's stored header) with its tag and raw JSON value, without decoding
// the values: a single scan that tracks strings and nesting.
func eachTopLevel(obj []byte, fn func(tag uint32, v []byte)) error {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return errors.New("not a JSON object")
	}
	i++
	for {
		i = skipSpace(obj, i)
		if i < len(obj) && obj[i] == '}' {
			return nil
		}
		if i >= len(obj) || obj[i] != '"' {
			return fmt.Errorf("expected a key at byte %d", i)
		}
		end := bytes.IndexByte(obj[i+1:], '"')
		if end < 0 {
			return errors.New("unterminated key")
		}
		key := obj[i+1 : i+1+end]
		i = skipSpace(obj, i+2+end)
		if i >= len(obj) || obj[i] != ':' {
			return fmt.Errorf("expected ':' at byte %d", i)
		}
		start := skipSpace(obj, i+1)
		stop, err := skipValue(obj, start)
		if err != nil {
			return err
		}
		if t, err := strconv.ParseUint(string(key), 16, 32); err == nil && len(key) == 8 {
			fn(uint32(t), obj[start:stop])
		}
		i = skipSpace(obj, stop)
		if i < len(obj) && obj[i] == ',' {
			i++
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// skipValue returns the end of the JSON value starting at i.
func skipValue(b []byte, i int) (int, error) {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if i >= len(b) {
				return 0, errors.New("unterminated string")
			}
			if depth == 0 {
				return i + 1, nil
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return i, nil
			}
			depth--
			if depth == 0 {
				return i + 1, nil
			}
		case ',':
			if depth == 0 {
				return i, nil
			}
		}
	}
	if depth != 0 {
		return 0, errors.New("unterminated value")
	}
	return i, nil
}

const hexUpper = "0123456789ABCDEF"

func appendTagKey(buf []byte, tag uint32) []byte {
	buf = append(buf, '"')
	for shift := 28; shift >= 0; shift -= 4 {
		buf = append(buf, hexUpper[(tag>>uint(shift))&0xF])
	}
	return append(buf, '"', ':')
}

// retrieveURL is the WADO-RS URL of a search result's entity.
func retrieveURL(base string, rec *index.InstanceRecord, level index.Level) string {
	switch level {
	case index.StudyLevel:
		return base + "/studies/" + rec.Study.StudyInstanceUID
	case index.SeriesLevel:
		return base + "/studies/" + rec.Study.StudyInstanceUID + "/series/" + rec.Series.SeriesInstanceUID
	}
	return instanceURL(base, rec)
}

func urlJSON(u string) []byte { return appendURL(nil, u) }

func appendURL(b []byte, u string) []byte {
	b = append(b, `{"vr":"UR","Value":[`...)
	b = dicomjson.AppendString(b, u)
	return append(b, "]}"...)
}

// appendModel appends the DICOM JSON value of a model attribute of rec.
func appendModel(b []byte, rec *index.InstanceRecord, a index.Attribute) []byte {
	b = append(b, `{"vr":"`...)
	b = append(b, a.VR...)
	b = append(b, '"')
	strs := func(vals ...string) []byte {
		n := 0
		for _, v := range vals {
			if v != "" {
				n++
			}
		}
		if n == 0 {
			return append(b, '}')
		}
		b = append(b, `,"Value":[`...)
		for i, v := range vals {
			if i > 0 {
				b = append(b, ',')
			}
			if v == "" {
				b = append(b, "null"...)
			} else {
				b = dicomjson.AppendString(b, v)
			}
		}
		return append(b, "]}"...)
	}
	num := func(n int, present bool) []byte {
		if !present {
			return append(b, '}')
		}
		b = append(b, `,"Value":[`...)
		b = strconv.AppendInt(b, int64(n), 10)
		return append(b, "]}"...)
	}
	pn := func(p index.PersonName) []byte {
		if p.IsEmpty() {
			return append(b, '}')
		}
		b = append(b, `,"Value":[{`...)
		n := 0
		for i, g := range p.Groups() {
			if g == "" {
				continue
			}
			if n > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, [...]string{"Alphabetic", "Ideographic", "Phonetic"}[i]...)
			b = append(b, `":`...)
			b = dicomjson.AppendString(b, g)
			n++
		}
		return append(b, "}]}"...)
	}
	switch f := rec.Field(a.Key); f.Kind {
	case index.FieldText:
		return strs(f.Text)
	case index.FieldList:
		return strs(f.List...)
	case index.FieldName:
		return pn(f.Name)
	case index.FieldInt:
		return num(f.Int, f.HasInt)
	}
	return append(b, '}')
}
