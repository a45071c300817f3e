package dicomweb

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
	"github.com/lightbox-pacs/lightbox/dicom/dicomxml"
)

// STOW-RS with metadata and bulk data (PS3.18 10.5.1.2.2): the request is
// multipart/related; type="application/dicom+json" or "application/dicom+xml".
// Metadata parts (a JSON array of instances, or one NativeDicomModel per
// part) are held in memory to be decoded, each at most maxMetadataPart and
// all together at most maxMetadataTotal bytes. Bulk data parts are never
// held in memory: they are copied as they arrive into one temporary file of
// the request (in Options.TempDir), from which each instance's Part 10 file
// is written (again to a temporary file) and stored through the same
// archive path, and durability rule, as application/dicom parts.
const (
	maxMetadataPart  = 32 << 20
	maxMetadataTotal = 128 << 20
)

const (
	mediaDicomJSON = "application/dicom+json"
	mediaDicomXML  = "application/dicom+xml"
	mediaOctets    = "application/octet-stream"
)

// defaultMediaTS is the transfer syntax of a compressed bulk part that
// carries no transfer-syntax parameter (PS3.18 Table 8.7.3-5 defaults).
var defaultMediaTS = map[string]string{
	"image/jpeg":        dicom.JPEGBaseline8Bit,
	"image/jls":         dicom.JPEGLSLossless,
	"image/x-jls":       dicom.JPEGLSLossless,
	"image/jp2":         dicom.JPEG2000Lossless,
	"image/jpx":         "1.2.840.10008.1.2.4.92",
	"image/jphc":        dicom.HTJ2KLossless,
	"image/jhc":         dicom.HTJ2KLossless,
	"image/jxl":         dicom.JPEGXLLossless,
	"image/dicom-rle":   dicom.RLELossless,
	"image/x-dicom-rle": dicom.RLELossless,
}

// bulkPart is one bulk data part, spooled into the request's bulk file.
type bulkPart struct {
	off, size int64
	ts        string // "" for application/octet-stream; else the compressed syntax
	n         int    // 1-based part number, for messages
}

// metaPart is one metadata part.
type metaPart struct {
	xml  bool
	data []byte
	n    int
}

// stowBody is a parsed metadata-and-bulk request.
type stowBody struct {
	metas []metaPart
	bulk  map[string][]bulkPart // by Content-Location (and "cid:" + Content-ID)
	file  *os.File              // the bulk data, nil when there is none
	size  int64
}

func (b *stowBody) close() {
	if b.file != nil {
		name := b.file.Name()
		b.file.Close()
		os.Remove(name)
	}
}

// storeMetadataBulk serves a STOW-RS request of metadata and bulk parts.
func (s *Service) storeMetadataBulk(ctx context.Context, r io.Reader, boundary, typ, study, peer string) ([]stowResult, error) {
	body, err := s.readStowBody(r, boundary, typ)
	if body != nil {
		defer body.close()
	}
	if err != nil {
		return nil, err
	}
	type instance struct {
		ds   *dicom.Dataset
		uris map[*dicom.Element]string
		res  stowResult // failure when it could not be decoded
	}
	var insts []instance
	for _, m := range body.metas {
		if m.xml {
			ds, uris, err := dicomxml.Unmarshal(m.data)
			if err != nil {
				insts = append(insts, instance{res: stowResult{failure: reasonCannotUnderstand, msg: fmt.Sprintf("metadata part %d: %v", m.n, err)}})
				continue
			}
			insts = append(insts, instance{ds: ds, uris: uris})
			continue
		}
		objs, err := splitJSONInstances(m.data)
		if err != nil {
			insts = append(insts, instance{res: stowResult{failure: reasonCannotUnderstand, msg: fmt.Sprintf("metadata part %d: %v", m.n, err)}})
			continue
		}
		for i, o := range objs {
			ds, uris, err := dicomjson.Unmarshal(o)
			if err != nil {
				insts = append(insts, instance{res: stowResult{failure: reasonCannotUnderstand, msg: fmt.Sprintf("metadata part %d, instance %d: %v", m.n, i+1, err)}})
				continue
			}
			insts = append(insts, instance{ds: ds, uris: uris})
		}
	}
	if len(insts) == 0 {
		return nil, errorf(http.StatusBadRequest, "the request holds no instance metadata (%s parts)", typ)
	}
	if len(insts) > s.opts.MaxStowParts {
		return nil, errorf(http.StatusRequestEntityTooLarge, "a STOW-RS request holds at most %d instances", s.opts.MaxStowParts)
	}
	results := make([]stowResult, len(insts))
	var wg sync.WaitGroup
	sem := make(chan struct{}, stowWorkers)
	for i := range insts {
		in := insts[i]
		if in.ds == nil {
			results[i] = in.res
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i] = s.storeBuilt(ctx, in.ds, in.uris, body, study, peer)
		}()
	}
	wg.Wait()
	return results, nil
}

// splitJSONInstances splits a DICOM JSON metadata part: an array of
// instances (PS3.18 F.2), or a single object.
func splitJSONInstances(data []byte) ([]json.RawMessage, error) {
	data = bytes.TrimSpace(data)
	if len(data) > 0 && data[0] == '{' {
		return []json.RawMessage{data}, nil
	}
	var objs []json.RawMessage
	if err := json.Unmarshal(data, &objs); err != nil {
		return nil, fmt.Errorf("not a DICOM JSON array of instances: %w", err)
	}
	return objs, nil
}

// readStowBody reads every part: metadata into memory, bulk data into the
// request's bulk file.
func (s *Service) readStowBody(r io.Reader, boundary, typ string) (*stowBody, error) {
	body := &stowBody{bulk: map[string][]bulkPart{}}
	mr := multipart.NewReader(r, boundary)
	var metaTotal int64
	for n := 1; ; n++ {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return body, errorf(http.StatusBadRequest, "the multipart body cannot be parsed at part %d: %v", n, err)
		}
		if n > 16*s.opts.MaxStowParts {
			part.Close()
			return body, errorf(http.StatusRequestEntityTooLarge, "a STOW-RS request holds at most %d parts", 16*s.opts.MaxStowParts)
		}
		ct := part.Header.Get("Content-Type")
		mt, params := mediaTypeOf(ct)
		if mt == "" && len(body.bulk) == 0 {
			mt = typ // metadata parts come first
		}
		switch mt {
		case mediaDicomJSON, mediaDicomXML:
			data, err := io.ReadAll(io.LimitReader(part, maxMetadataPart+1))
			part.Close()
			if err != nil {
				return body, errorf(http.StatusBadRequest, "read metadata part %d: %v", n, err)
			}
			if len(data) > maxMetadataPart {
				return body, errorf(http.StatusRequestEntityTooLarge, "metadata part %d is larger than %d MiB", n, maxMetadataPart>>20)
			}
			if metaTotal += int64(len(data)); metaTotal > maxMetadataTotal {
				return body, errorf(http.StatusRequestEntityTooLarge, "the metadata parts exceed %d MiB in all", maxMetadataTotal>>20)
			}
			body.metas = append(body.metas, metaPart{xml: mt == mediaDicomXML, data: data, n: n})
			continue
		case "application/dicom":
			part.Close()
			return body, errorf(http.StatusUnsupportedMediaType, "part %d is application/dicom in a %s request; send Part 10 instances in a separate multipart/related; type=\"application/dicom\" request", n, typ)
		}
		bp := bulkPart{n: n}
		if mt != mediaOctets && mt != "" {
			ts := strings.Trim(params["transfer-syntax"], `" `)
			if ts == "" {
				ts = defaultMediaTS[mt]
			}
			types, known := tsMediaTypes[ts]
			if !known || !dicom.IsEncapsulated(ts) || !containsString(types, mt) {
				part.Close()
				return body, errorf(http.StatusUnsupportedMediaType, "bulk data part %d: media type %q (transfer syntax %q) is not a supported pixel data type", n, ct, ts)
			}
			bp.ts = ts
		}
		loc := strings.TrimSpace(part.Header.Get("Content-Location"))
		cid := strings.Trim(strings.TrimSpace(part.Header.Get("Content-ID")), "<>")
		if loc == "" && cid == "" {
			part.Close()
			return body, errorf(http.StatusBadRequest, "bulk data part %d has neither Content-Location nor Content-ID to be referenced by", n)
		}
		if err := s.spoolBulk(body, part, &bp); err != nil {
			part.Close()
			return body, err
		}
		part.Close()
		if loc != "" {
			body.bulk[loc] = append(body.bulk[loc], bp)
		}
		if cid != "" {
			body.bulk["cid:"+cid] = append(body.bulk["cid:"+cid], bp)
		}
	}
	return body, nil
}

// mediaTypeOf parses a part's Content-Type, leniently.
func mediaTypeOf(ct string) (string, map[string]string) {
	if strings.TrimSpace(ct) == "" {
		return "", nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		mt, params = lenientMediaType(ct)
	}
	return strings.ToLower(mt), params
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// spoolBulk appends a bulk part to the request's bulk file. An odd-sized
// part is followed by a zero byte so that it can become an even-length
// fragment.
func (s *Service) spoolBulk(body *stowBody, part io.Reader, bp *bulkPart) error {
	if body.file == nil {
		f, err := os.CreateTemp(s.opts.TempDir, "stow-bulk-*")
		if err != nil {
			return fmt.Errorf("dicomweb: spool bulk data: %w", err)
		}
		body.file = f
	}
	n, err := io.Copy(body.file, part)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || strings.Contains(err.Error(), "multipart") {
			return errorf(http.StatusBadRequest, "bulk data part %d breaks off: %v", bp.n, err)
		}
		return fmt.Errorf("dicomweb: spool bulk data part %d: %w", bp.n, err)
	}
	bp.off, bp.size = body.size, n
	body.size += n
	if n%2 == 1 {
		if _, err := body.file.Write([]byte{0}); err != nil {
			return fmt.Errorf("dicomweb: spool bulk data part %d: %w", bp.n, err)
		}
		body.size++
	}
	return nil
}

// stowFailure is why a metadata instance cannot be built.
type stowFailure struct {
	reason uint16
	msg    string
}

func (f *stowFailure) Error() string { return f.msg }

// storeBuilt resolves an instance's bulk data, writes it as Part 10 and
// stores it.
func (s *Service) storeBuilt(ctx context.Context, ds *dicom.Dataset, uris map[*dicom.Element]string, body *stowBody, study, peer string) stowResult {
	res := stowResult{
		sopClass:    ds.String(dicom.TagSOPClassUID),
		sopInstance: ds.String(dicom.TagSOPInstanceUID),
		study:       ds.String(dicom.TagStudyInstanceUID),
		series:      ds.String(dicom.TagSeriesInstanceUID),
	}
	ts, err := resolveBulk(ds, uris, body)
	if err != nil {
		var f *stowFailure
		if errors.As(err, &f) {
			res.failure, res.msg = f.reason, f.msg
		} else {
			res.failure, res.msg = reasonProcessingFailure, err.Error()
		}
		return res
	}
	if study != "" && res.study != study {
		res.failure = reasonDataSetMismatch
		res.msg = fmt.Sprintf("the instance belongs to study %q, not to %q named in the request", res.study, study)
		return res
	}
	f, err := os.CreateTemp(s.opts.TempDir, "stow-*.dcm")
	if err != nil {
		res.failure, res.msg = reasonProcessingFailure, fmt.Sprintf("dicomweb: spool instance: %v", err)
		return res
	}
	sp := &spooled{file: f}
	defer sp.close()
	var src io.ReaderAt
	if body.file != nil {
		src = body.file
	}
	if err := dicom.WriteFile(f, ds, ts, dicom.WriteOptions{Bulk: src}); err != nil {
		res.failure, res.msg = reasonCannotUnderstand, fmt.Sprintf("the metadata cannot be written as a DICOM instance: %v", err)
		return res
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		res.failure, res.msg = reasonProcessingFailure, err.Error()
		return res
	}
	sp.size = size
	return s.storeOne(ctx, sp, study, peer)
}

// resolveBulk attaches the bulk parts named by BulkDataURIs to their
// elements and returns the transfer syntax of the instance: Explicit VR
// Little Endian, or the syntax of compressed Pixel Data parts.
func resolveBulk(ds *dicom.Dataset, uris map[*dicom.Element]string, body *stowBody) (string, error) {
	for _, e := range append([]*dicom.Element(nil), ds.Elements...) {
		if e.Tag.Group() == 0x0002 {
			ds.Delete(e.Tag) // File Meta is built here, not taken from the client
		}
	}
	ts := dicom.ExplicitVRLittleEndian
	var err error
	ds.Walk(func(e *dicom.Element, depth int) bool {
		uri, ok := uris[e]
		if !ok || err != nil {
			return err == nil
		}
		parts := lookupBulk(body, uri)
		if len(parts) == 0 {
			err = &stowFailure{reasonCannotUnderstand, fmt.Sprintf("%s %s: BulkDataURI %q names no part of the request (bulk parts are matched by Content-Location)", e.Tag, e.Tag.Keyword(), uri)}
			return false
		}
		if e.Tag == dicom.TagPixelData && depth == 0 {
			var pts string
			pts, err = attachPixelData(ds, e, parts)
			if pts != "" {
				ts = pts
			}
			return err == nil
		}
		if len(parts) != 1 || parts[0].ts != "" {
			err = &stowFailure{reasonCannotUnderstand, fmt.Sprintf("%s %s: BulkDataURI %q must name one application/octet-stream part, not %d part(s) of a compressed type", e.Tag, e.Tag.Keyword(), uri, len(parts))}
			return false
		}
		e.Bulk, e.Value, e.Offset, e.Length = true, nil, parts[0].off, uint32(parts[0].size)
		if parts[0].size > int64(^uint32(0)-1) {
			err = &stowFailure{reasonCannotUnderstand, fmt.Sprintf("%s: bulk data part %d is too large for an element", e.Tag, parts[0].n)}
		}
		return err == nil
	})
	return ts, err
}

func lookupBulk(body *stowBody, uri string) []bulkPart {
	if p, ok := body.bulk[uri]; ok {
		return p
	}
	if p, ok := body.bulk[strings.TrimSpace(uri)]; ok {
		return p
	}
	return nil
}

// attachPixelData makes Pixel Data from its parts: one native part whose
// size must match the image attributes, or one compressed part per frame.
func attachPixelData(ds *dicom.Dataset, e *dicom.Element, parts []bulkPart) (string, error) {
	frames := int64(1)
	if s := strings.TrimSpace(ds.String(dicom.TagNumberOfFrames)); s != "" {
		if v, ok := ds.Int(dicom.TagNumberOfFrames); ok && v > 0 {
			frames = v
		}
	}
	ts := parts[0].ts
	for _, p := range parts[1:] {
		if p.ts != ts {
			return "", &stowFailure{reasonCannotUnderstand, "Pixel Data: its bulk parts mix media types / transfer syntaxes"}
		}
	}
	if ts == "" {
		if len(parts) != 1 {
			return "", &stowFailure{reasonCannotUnderstand, fmt.Sprintf("Pixel Data: native pixel data must be one application/octet-stream part, got %d", len(parts))}
		}
		rows, _ := ds.Int(dicom.TagRows)
		cols, _ := ds.Int(dicom.TagColumns)
		spp, ok := ds.Int(dicom.TagSamplesPerPixel)
		if !ok {
			spp = 1
		}
		bits, _ := ds.Int(dicom.TagBitsAllocated)
		if rows <= 0 || cols <= 0 || bits <= 0 {
			return "", &stowFailure{reasonDataSetMismatch, "Pixel Data: Rows, Columns and Bits Allocated are needed to check native pixel data"}
		}
		want := (rows*cols*spp*frames*bits + 7) / 8
		got := parts[0].size
		if got != want && !(want%2 == 1 && got == want+1) {
			return "", &stowFailure{reasonDataSetMismatch, fmt.Sprintf("Pixel Data: the bulk data part holds %d bytes; Rows %d x Columns %d x Samples per Pixel %d x Bits Allocated %d / 8 x Number of Frames %d = %d", got, rows, cols, spp, bits, frames, want)}
		}
		if e.VR != dicom.OB && e.VR != dicom.OW {
			e.VR = dicom.OW
			if bits <= 8 {
				e.VR = dicom.OB
			}
		}
		e.Bulk, e.Value, e.Offset, e.Length = true, nil, parts[0].off, uint32(got)
		return "", nil
	}
	// A video stream (MPEG-2, MPEG-4, HEVC) holds all frames in one part.
	video := strings.HasPrefix(pixelMediaType(ts), "video/")
	if video && len(parts) != 1 {
		return "", &stowFailure{reasonCannotUnderstand, fmt.Sprintf("Pixel Data: a video stream is one part, got %d", len(parts))}
	}
	if !video && int64(len(parts)) != frames {
		return "", &stowFailure{reasonDataSetMismatch, fmt.Sprintf("Pixel Data: %d compressed part(s) for %d frame(s); send one part per frame, each with the same Content-Location", len(parts), frames)}
	}
	e.VR = dicom.OB
	e.Bulk, e.Value, e.Length = false, nil, dicom.UndefinedLength
	e.Fragments = []dicom.Fragment{{}} // empty Basic Offset Table
	for _, p := range parts {
		if p.size == 0 {
			return "", &stowFailure{reasonCannotUnderstand, fmt.Sprintf("Pixel Data: compressed part %d is empty", p.n)}
		}
		n := p.size + p.size%2 // the spool pads odd parts with a zero byte
		e.Fragments = append(e.Fragments, dicom.Fragment{Offset: p.off, Length: uint32(n)})
	}
	return ts, nil
}
