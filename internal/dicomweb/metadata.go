package dicomweb

import (
	"bytes"
	"container/list"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// bulkURIMark is how every BulkDataURI of metadata JSON begins, in the
// index's stored header as in the metadata read from a blob: relative to
// the instance URL, which writeExpanded puts in front when serving. A
// quote not preceded by a backslash ends a JSON string, so the mark can
// only be the key and start of a BulkDataURI, never text inside a value.
var bulkURIMark = []byte(`"BulkDataURI":"` + archive.BulkURIPrefix)

// metadata serves WADO-RS /metadata at study, series and instance level.
func (s *Service) metadata(w http.ResponseWriter, r *http.Request) error {
	t, err := targetOf(r)
	if err != nil {
		return err
	}
	asXML := false
	if !acceptsJSON(r.Header.Get("Accept")) {
		if asXML = acceptsXMLParts(r.Header.Get("Accept")); !asXML {
			return errorf(http.StatusNotAcceptable, `metadata is served as application/dicom+json or multipart/related; type="application/dicom+xml"`)
		}
	}
	if err := s.authorize(r, ActionRetrieve, t.resource()); err != nil {
		return err
	}
	recs, err := s.instancesWithHeaders(r, t)
	if err != nil {
		return err
	}
	v := validatorsOf(recs, "metadata")
	if v.notModified(w, r) {
		return nil
	}
	if asXML {
		return s.writeMetadataXML(w, r, recs) // xml.go
	}
	base := s.baseURL(r)
	// The response starts with the first instance's metadata in hand, so
	// that an unreadable first instance still gives an error status.
	var bw *errWriter
	var done func() error
	err = s.eachMetadata(ctxOf(r), recs, func(i int, js []byte) error {
		if i == 0 {
			var out io.Writer
			out, done = jsonWriter(w, r, "application/dicom+json", http.StatusOK)
			bw = &errWriter{w: out}
			bw.write([]byte{'['})
		} else {
			bw.write([]byte{','})
		}
		writeExpanded(bw, js, instanceURL(base, &recs[i]))
		return bw.err
	})
	if err != nil {
		return err
	}
	bw.write([]byte{']'})
	if bw.err != nil {
		return bw.err
	}
	return done()
}

type errWriter struct {
	w   interface{ Write([]byte) (int, error) }
	err error
}

func (e *errWriter) write(p []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(p)
	}
}

// instancesWithHeaders is instances with each record's stored header.
func (s *Service) instancesWithHeaders(r *http.Request, t target) ([]index.InstanceRecord, error) {
	return s.findInstances(r, t, true)
}

// writeExpanded writes metadata JSON with its relative BulkDataURIs made
// absolute under the instance URL (JSON-escaped), without copying the JSON.
func writeExpanded(bw *errWriter, js []byte, url string) {
	var esc []byte
	for {
		i := bytes.Index(js, bulkURIMark)
		if i < 0 {
			bw.write(js)
			return
		}
		if esc == nil {
			esc = dicomjson.AppendString(nil, url)
			esc = append(esc[1:len(esc)-1], '/')
		}
		at := i + len(bulkURIMark) - len(archive.BulkURIPrefix)
		bw.write(js[:at])
		bw.write(esc)
		js = js[at:]
	}
}

// stripBulkURIs returns the value v of a stored header's attribute without
// the relative BulkDataURIs that the archive records for bulk values, or
// nil when v is itself one: searches (QIDO-RS includefield=all) show the
// header as stored before bulk values were recorded. The header is written
// by dicomjson, compact, so a bulk attribute nested in a sequence item is
// exactly "TTTTTTTT":{"vr":"VR","BulkDataURI":"bulkdata/PATH"} (the path
// has no characters JSON escapes). v is copied only when changed.
func stripBulkURIs(v []byte) []byte {
	const keyVR = len(`"TTTTTTTT":{"vr":"VR",`)
	const vrLen = len(`{"vr":"VR",`)
	if len(v) > vrLen && bytes.HasPrefix(v[vrLen:], bulkURIMark) {
		return nil
	}
	if !bytes.Contains(v, bulkURIMark) {
		return v
	}
	out := make([]byte, 0, len(v))
	from := 0 // v[:from] is dealt with
	for {
		rel := bytes.Index(v[from:], bulkURIMark)
		if rel < 0 {
			return append(out, v[from:]...)
		}
		i := from + rel
		start := i - keyVR
		if start < from || start < 1 || v[start] != '"' || !bytes.HasPrefix(v[start+9:], []byte(`":{"vr":"`)) {
			return v // not the shape dicomjson writes: leave the value alone
		}
		q := bytes.IndexByte(v[i+len(bulkURIMark):], '"')
		if q < 0 {
			return v
		}
		end := i + len(bulkURIMark) + q + 1 // past the URI's closing quote
		if end >= len(v) || v[end] != '}' {
			return v
		}
		end++
		switch {
		case start-1 >= from && v[start-1] == ',':
			start--
		case end < len(v) && v[end] == ',':
			end++
		}
		out = append(out, v[from:start]...)
		from = end
	}
}

// eachMetadata produces the metadata JSON of each record, in order, with
// BulkDataURIs relative to the instance URL (see writeExpanded). Records
// whose stored header is complete (archive.HeaderComplete) are served
// from it; the others parse their blob's header, in parallel, through the
// cache. js is only valid during fn, which must not modify it.
func (s *Service) eachMetadata(ctx context.Context, recs []index.InstanceRecord, fn func(i int, js []byte) error) error {
	var fromBlob []int
	for i := range recs {
		if !archive.HeaderComplete(recs[i].Header) {
			fromBlob = append(fromBlob, i)
		}
	}
	var sm storedMetadata
	if len(fromBlob) == 0 {
		for i := range recs {
			js, err := sm.build(&recs[i])
			if err != nil {
				return err
			}
			if err := fn(i, js); err != nil {
				return err
			}
		}
		return nil
	}
	type result struct {
		js  []byte
		err error
	}
	results := make([]chan result, len(recs))
	for i := range results {
		results[i] = make(chan result, 1)
	}
	work := make(chan int)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), len(fromBlob))
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				js, err := s.instanceMetadata(ctx, &recs[i])
				results[i] <- result{js, err}
			}
		}()
	}
	go func() {
		defer close(work)
		for _, i := range fromBlob {
			select {
			case work <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	defer wg.Wait()
	for i := range recs {
		if archive.HeaderComplete(recs[i].Header) {
			js, err := sm.build(&recs[i])
			if err != nil {
				return err
			}
			if err := fn(i, js); err != nil {
				return err
			}
			continue
		}
		var res result
		select {
		case res = <-results[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		if res.err != nil {
			return res.err
		}
		if err := fn(i, res.js); err != nil {
			return err
		}
	}
	return nil
}

// storedMetadata builds metadata JSON from stored headers, reusing one
// buffer and the Transfer Syntax UID attribute of the previous record.
type storedMetadata struct {
	buf      []byte
	ts       string
	tsMember []byte // "00020010":{...}
}

// build returns the metadata JSON of rec from its complete stored header:
// the header with (0002,0010) Transfer Syntax UID added in tag order
// unless present, as marshalMetadata gives from the blob.
func (sm *storedMetadata) build(rec *index.InstanceRecord) ([]byte, error) {
	hdr := rec.Header[:len(rec.Header)-1] // without the completeness mark
	ts := rec.Instance.TransferSyntaxUID
	if ts == "" {
		return hdr, nil
	}
	at, ok, err := tsInsertAt(hdr)
	if err != nil {
		return nil, fmt.Errorf("dicomweb: stored header of %s: %w", rec.Instance.SOPInstanceUID, err)
	}
	if !ok {
		return hdr, nil
	}
	if sm.tsMember == nil || sm.ts != ts {
		ds := dicom.NewDataset()
		ds.Set(dicom.NewStringElement(dicom.TagTransferSyntaxUID, dicom.UI, ts))
		obj, err := dicomjson.Marshal(ds, dicomjson.Options{})
		if err != nil {
			return nil, fmt.Errorf("dicomweb: transfer syntax of %s: %w", rec.Instance.SOPInstanceUID, err)
		}
		sm.ts, sm.tsMember = ts, obj[1:len(obj)-1]
	}
	b := append(sm.buf[:0], hdr[:at]...)
	switch {
	case hdr[at] == '"': // before a member
		b = append(b, sm.tsMember...)
		b = append(b, ',')
	case at > 1: // at the end of a non-empty object
		b = append(b, ',')
		b = append(b, sm.tsMember...)
	default: // into {}
		b = append(b, sm.tsMember...)
	}
	b = append(b, hdr[at:]...)
	sm.buf = b
	return b, nil
}

// tsKey is the DICOM JSON key of (0002,0010) Transfer Syntax UID.
const tsKey = "00020010"

// tsInsertAt scans the top-level members of a DICOM JSON object written
// by dicomjson (compact, keys in tag order) and returns the offset where
// the Transfer Syntax UID member belongs: the start of the first member
// with a greater key, or the closing brace. ok is false when the object
// already has the member.
func tsInsertAt(obj []byte) (at int, ok bool, err error) {
	if len(obj) < 2 || obj[0] != '{' {
		return 0, false, fmt.Errorf("not a JSON object")
	}
	i := 1
	for {
		switch {
		case i < len(obj) && obj[i] == '}':
			return i, true, nil
		case i+10 > len(obj) || obj[i] != '"' || obj[i+9] != '"':
			return 0, false, fmt.Errorf("expected a tag key at byte %d", i)
		}
		switch key := string(obj[i+1 : i+9]); {
		case key == tsKey:
			return i, false, nil
		case key > tsKey:
			return i, true, nil
		}
		end, err := skipJSONValue(obj, i+10)
		if err != nil {
			return 0, false, err
		}
		i = end
		if i < len(obj) && obj[i] == ',' {
			i++
		}
	}
}

// skipJSONValue returns the offset just past the member value that starts
// with ':' at obj[i] (compact JSON, as dicomjson writes it).
func skipJSONValue(obj []byte, i int) (int, error) {
	if i >= len(obj) || obj[i] != ':' {
		return 0, fmt.Errorf("expected ':' at byte %d", i)
	}
	depth := 0
	for i++; i < len(obj); i++ {
		switch obj[i] {
		case '"':
			for i++; i < len(obj) && obj[i] != '"'; i++ {
				if obj[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			depth++
			continue
		case '}', ']':
			depth--
		default:
			continue
		}
		if depth <= 0 {
			if depth < 0 {
				return 0, fmt.Errorf("unbalanced JSON at byte %d", i)
			}
			return i + 1, nil
		}
	}
	return 0, fmt.Errorf("truncated JSON value")
}

// instanceMetadata returns the DICOM JSON of one instance read from its
// blob, with bulk elements as BulkDataURIs relative to the instance URL.
func (s *Service) instanceMetadata(ctx context.Context, rec *index.InstanceRecord) ([]byte, error) {
	key := rec.Instance.SOPInstanceUID + "/" + hex.EncodeToString(rec.Instance.SHA256[:8])
	if js, ok := s.mdc.get(key); ok {
		return js, nil
	}
	f, br, err := s.readHeader(ctx, rec)
	if err != nil {
		return nil, err
	}
	br.Close()
	js, err := marshalMetadata(f)
	if err != nil {
		return nil, fmt.Errorf("dicomweb: metadata of %s: %w", rec.Instance.SOPInstanceUID, err)
	}
	s.mdc.put(key, js)
	return js, nil
}

// marshalMetadata encodes f's data set with its transfer syntax and
// BulkDataURIs for bulk values.
func marshalMetadata(f *dicom.File) ([]byte, error) {
	ds := f.Dataset
	paths := bulkPaths(ds)
	if f.TransferSyntax != "" && ds.Get(dicom.TagTransferSyntaxUID) == nil {
		ds.Set(dicom.NewStringElement(dicom.TagTransferSyntaxUID, dicom.UI, f.TransferSyntax))
	}
	return dicomjson.Marshal(ds, dicomjson.Options{
		OmitBulk: true,
		BulkDataURI: func(e *dicom.Element) string {
			if p, ok := paths[e]; ok {
				return archive.BulkURIPrefix + p
			}
			return ""
		},
	})
}

// bulkPaths maps every bulk element of ds, nested ones included, to its
// bulk data path (dicomjson.BulkPaths: 7FE00010, 00540016/0/00181072).
func bulkPaths(ds *dicom.Dataset) map[*dicom.Element]string {
	return dicomjson.BulkPaths(ds)
}

// findPath returns the element a bulk data path names.
func findPath(ds *dicom.Dataset, path string) (*dicom.Element, *dicom.Dataset, error) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	cur := ds
	for i := 0; i < len(parts); i += 2 {
		t, err := strconv.ParseUint(parts[i], 16, 32)
		if err != nil || len(parts[i]) != 8 {
			return nil, nil, errorf(http.StatusBadRequest, "bulk data path %q: %q is not an eight-digit hex tag", path, parts[i])
		}
		e := cur.Get(dicom.Tag(t))
		if e == nil {
			return nil, nil, errorf(http.StatusNotFound, "bulk data path %q: no element %s", path, dicom.Tag(t))
		}
		if i == len(parts)-1 {
			return e, cur, nil
		}
		if i+1 >= len(parts) {
			break
		}
		n, err := strconv.Atoi(parts[i+1])
		if err != nil || n < 0 || n >= len(e.Items) {
			return nil, nil, errorf(http.StatusNotFound, "bulk data path %q: no item %q in %s", path, parts[i+1], dicom.Tag(t))
		}
		cur = e.Items[n]
	}
	return nil, nil, errorf(http.StatusBadRequest, "bulk data path %q does not end in a tag", path)
}

// metaCache is a byte-bounded LRU of metadata JSON.
type metaCache struct {
	mu    sync.Mutex
	max   int64
	size  int64
	ll    *list.List
	items map[string]*list.Element
}

type metaEntry struct {
	key string
	js  []byte
}

func newMetaCache(max int64) *metaCache {
	return &metaCache{max: max, ll: list.New(), items: map[string]*list.Element{}}
}

func (c *metaCache) get(key string) ([]byte, bool) {
	if c.max <= 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		c.ll.MoveToFront(el)
		return el.Value.(*metaEntry).js, true
	}
	return nil, false
}

func (c *metaCache) put(key string, js []byte) {
	n := int64(len(js) + len(key))
	if c.max <= 0 || n > c.max/4 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[key]; ok {
		return
	}
	c.items[key] = c.ll.PushFront(&metaEntry{key, js})
	c.size += n
	for c.size > c.max {
		el := c.ll.Back()
		e := el.Value.(*metaEntry)
		c.ll.Remove(el)
		delete(c.items, e.key)
		c.size -= int64(len(e.js) + len(e.key))
	}
}
