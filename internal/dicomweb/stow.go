package dicomweb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dicom/dicomjson"
	"github.com/lightbox-pacs/lightbox/internal/archive"
)

// Failure and warning reasons of STOW-RS responses (PS3.18 10.5.3,
// PS3.4 Annex B.2.3 status codes).
const (
	reasonProcessingFailure   uint16 = 0x0110
	reasonDuplicate           uint16 = 0x0111
	reasonSOPClassUnsupported uint16 = 0x0122
	reasonOutOfResources      uint16 = 0xA700
	reasonDataSetMismatch     uint16 = 0xA900
	reasonCannotUnderstand    uint16 = 0xC000
	warningCoercion           uint16 = 0xB000
)

// Tags of the STOW-RS response.
const (
	tagFailureReason           uint32 = 0x00081197
	tagFailedSOPSequence       uint32 = 0x00081198
	tagReferencedSOPSequence   uint32 = 0x00081199
	tagWarningReason           uint32 = 0x00081196
	tagReferencedSOPClassUID   uint32 = 0x00081150
	tagReferencedSOPInstanceID uint32 = 0x00081155
)

// memSpool is how much of a part is held in memory before spilling to a
// temporary file.
const memSpool = 4 << 20

// stowWorkers is how many parts of one request are stored concurrently
// (they then share the archive's group commit).
const stowWorkers = 8

// stowResult is the outcome for one part.
type stowResult struct {
	sopClass, sopInstance, study, series string
	failure                              uint16
	warning                              uint16
	msg                                  string
}

// store serves STOW-RS.
func (s *Service) store(w http.ResponseWriter, r *http.Request) error {
	t, err := targetOf(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r, ActionStore, t.resource()); err != nil {
		return err
	}
	asXML, err := stowResponseType(r.Header.Get("Accept"))
	if err != nil {
		return err
	}
	boundary, typ, err := stowContentType(r.Header.Get("Content-Type"))
	if err != nil {
		return err
	}
	peer := r.RemoteAddr
	var results []stowResult
	if typ == "application/dicom" {
		results, err = s.storeParts(ctxOf(r), r.Body, boundary, func(sp *spooled) stowResult {
			return s.storeOne(ctxOf(r), sp, t.study, peer)
		})
	} else {
		results, err = s.storeMetadataBulk(ctxOf(r), r.Body, boundary, typ, t.study, peer)
	}
	if err != nil {
		return err
	}
	return s.writeStowResponseAs(w, r, t.study, results, asXML)
}

// stowBoundary checks a STOW-RS Content-Type and returns its boundary.
func stowBoundary(ct string) (string, error) {
	b, _, err := stowContentType(ct)
	return b, err
}

// stowContentType checks a STOW-RS Content-Type and returns its boundary
// and the type of its root parts: application/dicom (Part 10 instances,
// the default), application/dicom+json or application/dicom+xml (metadata
// with bulk data parts, stow_bulk.go).
func stowContentType(ct string) (string, string, error) {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		mt, params = lenientMediaType(ct)
	}
	if mt != "multipart/related" {
		return "", "", errorf(http.StatusUnsupportedMediaType, `STOW-RS takes multipart/related; type="application/dicom" (or "application/dicom+json", "application/dicom+xml" with bulk data parts), not %q`, ct)
	}
	typ := strings.ToLower(strings.TrimSpace(params["type"]))
	switch typ {
	case "":
		typ = "application/dicom"
	case "application/dicom", mediaDicomJSON, mediaDicomXML:
	default:
		return "", "", errorf(http.StatusUnsupportedMediaType, "STOW-RS parts of type %q are not supported; send application/dicom, application/dicom+json or application/dicom+xml", typ)
	}
	if params["boundary"] == "" {
		return "", "", errorf(http.StatusBadRequest, "the multipart Content-Type has no boundary")
	}
	return params["boundary"], typ, nil
}

// storeParts reads the parts of a multipart body, spools each one and
// hands it to store, up to stowWorkers at a time; results are in part order.
func (s *Service) storeParts(ctx context.Context, body io.Reader, boundary string, store func(*spooled) stowResult) ([]stowResult, error) {
	mr := multipart.NewReader(body, boundary)
	var (
		results []stowResult
		mu      sync.Mutex
		wg      sync.WaitGroup
		sem     = make(chan struct{}, stowWorkers)
	)
	defer wg.Wait()
	for n := 0; ; n++ {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			if n == 0 {
				return nil, errorf(http.StatusBadRequest, "the multipart body cannot be parsed: %v", err)
			}
			// A broken body after some parts: report what was stored.
			mu.Lock()
			results = append(results, stowResult{failure: reasonCannotUnderstand, msg: fmt.Sprintf("the multipart body breaks off after part %d: %v", n, err)})
			mu.Unlock()
			break
		}
		if n >= s.opts.MaxStowParts {
			part.Close()
			return nil, errorf(http.StatusRequestEntityTooLarge, "a STOW-RS request holds at most %d instances", s.opts.MaxStowParts)
		}
		if ct := part.Header.Get("Content-Type"); ct != "" {
			mt, _, _ := mime.ParseMediaType(ct)
			if mt != "application/dicom" {
				part.Close()
				return nil, errorf(http.StatusUnsupportedMediaType, "part %d has Content-Type %q; only application/dicom parts are supported", n+1, ct)
			}
		}
		sp, err := s.spool(part)
		mu.Lock()
		idx := len(results)
		results = append(results, stowResult{})
		mu.Unlock()
		if err != nil {
			part.Close()
			mu.Lock()
			results[idx] = stowResult{failure: reasonCannotUnderstand, msg: err.Error()}
			mu.Unlock()
			if ctx.Err() != nil {
				break
			}
			continue
		}
		if sp.rest != nil {
			// A large part streams from the request into the archive: it is
			// stored before the next part is read.
			res := store(sp)
			sp.close()
			part.Close()
			mu.Lock()
			results[idx] = res
			mu.Unlock()
			continue
		}
		part.Close()
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			defer sp.close()
			res := store(sp)
			mu.Lock()
			results[idx] = res
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(results) == 0 {
		return nil, errorf(http.StatusBadRequest, "the multipart body holds no instance")
	}
	return results, nil
}

// spooled is one part: its bytes in memory or in a temporary file, or,
// for a part larger than memSpool, its first memSpool bytes in memory and
// the rest still in the request (rest), read once.
type spooled struct {
	mem  []byte
	file *os.File
	rest io.Reader
	size int64 // -1 when streaming
}

// reader returns the part's bytes from the start; for a streaming part it
// can be read only once.
func (sp *spooled) reader() io.Reader {
	switch {
	case sp.rest != nil:
		return io.MultiReader(bytes.NewReader(sp.mem), sp.rest)
	case sp.file != nil:
		return io.NewSectionReader(sp.file, 0, sp.size)
	}
	return bytes.NewReader(sp.mem)
}

func (sp *spooled) close() {
	if sp.file != nil {
		name := sp.file.Name()
		sp.file.Close()
		os.Remove(name)
	}
}

// spool reads a part into memory up to memSpool bytes; a larger part is
// returned streaming.
func (s *Service) spool(part io.Reader) (*spooled, error) {
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(part, memSpool+1))
	if err != nil {
		return nil, fmt.Errorf("dicomweb: read part: %w", err)
	}
	if n <= memSpool {
		return &spooled{mem: buf.Bytes(), size: n}, nil
	}
	return &spooled{mem: buf.Bytes(), rest: part, size: -1}, nil
}

// toFile turns a streaming part into one spooled to a temporary file.
func (s *Service) toFile(sp *spooled) error {
	f, err := os.CreateTemp(s.opts.TempDir, "stow-*.dcm")
	if err != nil {
		return fmt.Errorf("dicomweb: spool part: %w", err)
	}
	n, err := io.Copy(f, sp.reader())
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("dicomweb: spool part: %w", err)
	}
	sp.file, sp.rest, sp.mem, sp.size = f, nil, nil, n
	return nil
}

// storeOne checks one spooled part against the study of the request path
// and stores it.
func (s *Service) storeOne(ctx context.Context, sp *spooled, study, peer string) stowResult {
	var res stowResult
	var parseErr error
	identify := func() {
		var f *dicom.File
		if sp.rest != nil {
			// Only the head is in hand: the identifying attributes come
			// early in a data set; reaching the end of the head is fine.
			f, parseErr = dicom.Read(bytes.NewReader(sp.mem), int64(len(sp.mem)), dicom.ReadOptions{})
			if parseErr != nil && f != nil && f.Dataset != nil && f.Dataset.String(dicom.TagStudyInstanceUID) != "" {
				parseErr = nil
			}
		} else {
			f, parseErr = dicom.Read(sp.reader(), sp.size, dicom.ReadOptions{})
		}
		if f == nil || f.Dataset == nil {
			return
		}
		ds := f.Dataset
		res.sopClass = ds.String(dicom.TagSOPClassUID)
		if res.sopClass == "" && f.Meta != nil {
			res.sopClass = f.Meta.String(dicom.TagMediaStorageSOPClassUID)
		}
		res.sopInstance = ds.String(dicom.TagSOPInstanceUID)
		res.study = ds.String(dicom.TagStudyInstanceUID)
		res.series = ds.String(dicom.TagSeriesInstanceUID)
	}
	if study != "" {
		identify()
		if parseErr != nil && sp.rest != nil {
			// The head did not reach the Study Instance UID: spool the part.
			if err := s.toFile(sp); err != nil {
				return stowResult{failure: reasonProcessingFailure, msg: err.Error()}
			}
			identify()
		}
		if parseErr != nil {
			res.failure = reasonCannotUnderstand
			res.msg = "the part is not a readable DICOM instance: " + parseErr.Error()
			return res
		}
		if res.study != study {
			res.failure = reasonDataSetMismatch
			res.msg = fmt.Sprintf("the instance belongs to study %q, not to %q named in the request", res.study, study)
			return res
		}
	}
	out, err := s.arch.Store(ctx, sp.reader(), archive.IngestMeta{Size: sp.size, Source: "STOW-RS from " + peer})
	if err != nil {
		if res.sopInstance == "" {
			identify() // a streaming part's head is still in memory
		}
		res.msg = err.Error()
		if re, ok := archive.IsReject(err); ok {
			switch re.Reason {
			case archive.ReasonNotDICOM, archive.ReasonMalformed:
				res.failure = reasonCannotUnderstand
			case archive.ReasonMissingAttribute:
				res.failure = reasonDataSetMismatch
			case archive.ReasonNotStorable:
				res.failure = reasonSOPClassUnsupported
			case archive.ReasonDuplicate:
				res.failure = reasonDuplicate
			default:
				res.failure = reasonProcessingFailure
			}
		} else if errors.Is(err, syscall.ENOSPC) {
			res.failure = reasonOutOfResources
		} else {
			res.failure = reasonProcessingFailure
			s.log.Error("STOW-RS store failed", "sop_instance_uid", res.sopInstance, "err", err)
		}
		return res
	}
	res.sopClass, res.sopInstance = out.SOPClassUID, out.SOPInstanceUID
	res.study, res.series = out.StudyInstanceUID, out.SeriesInstanceUID
	if out.Outcome == archive.OutcomeKeptFirst {
		res.msg = "another instance with this SOP Instance UID is stored with different content; it was kept and this one discarded"
	}
	if len(out.Conflicts) > 0 {
		res.warning = warningCoercion
		res.msg = fmt.Sprintf("stored under the already known identity (%d identity conflict(s) recorded)", len(out.Conflicts))
	}
	return res
}

// writeStowResponse writes the PS3.18 store response as DICOM JSON.
func (s *Service) writeStowResponse(w http.ResponseWriter, r *http.Request, study string, results []stowResult) error {
	return s.writeStowResponseAs(w, r, study, results, false)
}

// writeStowResponseAs writes the PS3.18 store response as DICOM JSON, or
// as a NativeDicomModel (application/dicom+xml) when asXML.
func (s *Service) writeStowResponseAs(w http.ResponseWriter, r *http.Request, study string, results []stowResult, asXML bool) error {
	base := s.baseURL(r)
	var ok, failed, warned int
	for _, res := range results {
		switch {
		case res.failure != 0:
			failed++
		case res.warning != 0:
			warned++
			ok++
		default:
			ok++
		}
	}
	b := []byte{'{'}
	sep := func() {
		if len(b) > 1 {
			b = append(b, ',')
		}
	}
	// (0008,1190) RetrieveURL of the study, when all stored ones share one.
	if study == "" {
		for _, res := range results {
			if res.failure == 0 {
				if study == "" {
					study = res.study
				} else if study != res.study {
					study = ""
					break
				}
			}
		}
	}
	if ok > 0 && study != "" {
		sep()
		b = appendTagKey(b, tagRetrieveURL)
		b = append(b, urlJSON(base+"/studies/"+study)...)
	}
	if failed > 0 {
		sep()
		b = appendTagKey(b, tagFailedSOPSequence)
		b = append(b, `{"vr":"SQ","Value":[`...)
		n := 0
		for _, res := range results {
			if res.failure == 0 {
				continue
			}
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = append(b, '{')
			b = appendRefs(b, res)
			b = append(b, ',')
			b = appendTagKey(b, tagFailureReason)
			b = append(b, `{"vr":"US","Value":[`...)
			b = strconv.AppendUint(b, uint64(res.failure), 10)
			b = append(b, "]}}"...)
		}
		b = append(b, "]}"...)
	}
	if ok > 0 {
		sep()
		b = appendTagKey(b, tagReferencedSOPSequence)
		b = append(b, `{"vr":"SQ","Value":[`...)
		n := 0
		for _, res := range results {
			if res.failure != 0 {
				continue
			}
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = append(b, '{')
			b = appendRefs(b, res)
			b = append(b, ',')
			b = appendTagKey(b, tagRetrieveURL)
			b = append(b, urlJSON(base+"/studies/"+res.study+"/series/"+res.series+"/instances/"+res.sopInstance)...)
			if res.warning != 0 {
				b = append(b, ',')
				b = appendTagKey(b, tagWarningReason)
				b = append(b, `{"vr":"US","Value":[`...)
				b = strconv.AppendUint(b, uint64(res.warning), 10)
				b = append(b, "]}"...)
			}
			b = append(b, '}')
		}
		b = append(b, "]}"...)
	}
	b = append(b, '}')
	status := http.StatusOK
	switch {
	case ok == 0:
		status = http.StatusConflict
	case failed > 0 || warned > 0:
		status = http.StatusAccepted
	}
	for _, res := range results {
		if res.msg != "" && len(w.Header().Values("Warning")) < 10 {
			w.Header().Add("Warning", `299 lightbox "`+sanitizeWarning(res.sopInstance+": "+res.msg)+`"`)
		}
	}
	s.log.Info("STOW-RS", "stored", ok, "failed", failed, "warnings", warned, "peer", r.RemoteAddr)
	if asXML {
		x, err := stowResponseXML(base, study, results)
		if err != nil {
			return err
		}
		return writeJSON(w, r, mediaDicomXML, status, x)
	}
	return writeJSON(w, r, "application/dicom+json", status, b)
}

func appendRefs(b []byte, res stowResult) []byte {
	b = appendTagKey(b, tagReferencedSOPClassUID)
	b = append(b, `{"vr":"UI"`...)
	if res.sopClass != "" {
		b = append(b, `,"Value":[`...)
		b = dicomjson.AppendString(b, res.sopClass)
		b = append(b, ']')
	}
	b = append(b, "},"...)
	b = appendTagKey(b, tagReferencedSOPInstanceID)
	b = append(b, `{"vr":"UI"`...)
	if res.sopInstance != "" {
		b = append(b, `,"Value":[`...)
		b = dicomjson.AppendString(b, res.sopInstance)
		b = append(b, ']')
	}
	return append(b, '}')
}

// sanitizeWarning makes a message fit in a quoted header value.
func sanitizeWarning(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == '"' || r == 0x7f || r > 0x7e {
			return ' '
		}
		return r
	}, s)
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}
