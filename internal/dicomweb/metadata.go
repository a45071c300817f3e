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
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// basePlaceholder stands for the instance URL in cached metadata; it is
// replaced by the URL of each request's origin when served. It is made
// of private-use characters that DICOM text never carries.
const basePlaceholder = "\ue000lightbox-instance-url\ue000"

// metadata serves WADO-RS /metadata at study, series and instance level.
func (s *Service) metadata(w http.ResponseWriter, r *http.Request) error {
	t, err := targetOf(r)
	if err != nil {
		return err
	}
	if !acceptsJSON(r.Header.Get("Accept")) {
		return errorf(http.StatusNotAcceptable, "metadata is served as application/dicom+json only")
	}
	if err := s.authorize(r, ActionRetrieve, t.resource()); err != nil {
		return err
	}
	recs, err := s.instances(r, t)
	if err != nil {
		return err
	}
	v := validatorsOf(recs, "metadata")
	if v.notModified(w, r) {
		return nil
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

// writeExpanded writes cached JSON with the placeholder replaced by the
// instance URL (JSON-escaped), without copying the JSON.
func writeExpanded(bw *errWriter, js []byte, url string) {
	var esc []byte
	for {
		i := bytes.Index(js, []byte(basePlaceholder))
		if i < 0 {
			bw.write(js)
			return
		}
		if esc == nil {
			esc = dicomjson.AppendString(nil, url)
			esc = esc[1 : len(esc)-1]
		}
		bw.write(js[:i])
		bw.write(esc)
		js = js[i+len(basePlaceholder):]
	}
}

// eachMetadata produces the metadata JSON of each record, in order,
// parsing headers in parallel on cache misses.
func (s *Service) eachMetadata(ctx context.Context, recs []index.InstanceRecord, fn func(i int, js []byte) error) error {
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
	workers := min(runtime.GOMAXPROCS(0), len(recs))
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
		for i := range recs {
			select {
			case work <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	defer wg.Wait()
	for i := range recs {
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

// instanceMetadata returns the DICOM JSON of one instance with bulk
// elements as BulkDataURIs relative to basePlaceholder.
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
			if p, ok := paths[e]; ok && (e.Bulk || e.IsEncapsulated()) {
				return basePlaceholder + "/bulkdata/" + p
			}
			return ""
		},
	})
}

// bulkPaths maps every binary element of ds, nested ones included, to its
// bulk data path: tags and item indices joined by "/", as in
// 7FE00010 or 00540016/0/00181072.
func bulkPaths(ds *dicom.Dataset) map[*dicom.Element]string {
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

// tagHex formats a tag as eight upper-case hex digits (without fmt).
func tagHex(t dicom.Tag) string {
	var b [8]byte
	for i := range b {
		b[i] = hexUpper[(uint32(t)>>(28-4*uint(i)))&0xF]
	}
	return string(b[:])
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
