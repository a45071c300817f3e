package dicomweb

import (
	"bytes"
	"io"
	"net/http"
	"net/textproto"
	"strconv"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// bulkdata serves WADO-RS bulk data: the value of one element named by its
// path (tags and item indices, as the BulkDataURIs of /metadata give).
// Pixel data is served as its frames.
func (s *Service) bulkdata(w http.ResponseWriter, r *http.Request) error {
	t, err := targetOf(r)
	if err != nil {
		return err
	}
	if err := s.authorize(r, ActionRetrieve, t.resource()); err != nil {
		return err
	}
	recs, err := s.instances(r, t)
	if err != nil {
		return err
	}
	rec := &recs[0]
	f, br, err := s.readHeader(ctxOf(r), rec)
	if err != nil {
		return err
	}
	defer br.Close()
	path := r.PathValue("path")
	e, ds, err := findPath(f.Dataset, path)
	if err != nil {
		return err
	}
	if e.IsSequence() {
		return errorf(http.StatusBadRequest, "bulk data path %q names a sequence, not a value", path)
	}
	v := validatorsOf(recs, "bulk/"+path)
	accept := r.Header.Get("Accept")
	if ds == f.Dataset && (e.Tag == dicom.TagPixelData || e.Tag == dicom.TagFloatPixelData || e.Tag == dicom.TagDoubleFloatPixelData) {
		src, err := newFrameSource(f, br)
		if err != nil {
			return err
		}
		list := make([]int, src.frames)
		for i := range list {
			list[i] = i + 1
		}
		if !e.IsEncapsulated() && src.frames > 1 {
			// Native pixel data is one value: send it whole.
			return s.sendValue(w, r, e, ds, br, accept, v)
		}
		choice, err := s.negotiateFrames(accept, rec.Instance.TransferSyntaxUID, len(list) == 1)
		if err != nil {
			return err
		}
		return s.sendFrames(w, r, src, list, choice, v)
	}
	return s.sendValue(w, r, e, ds, br, accept, v)
}

// sendValue sends one element's value as application/octet-stream, single
// part (with Range support) or as a one-part multipart.
func (s *Service) sendValue(w http.ResponseWriter, r *http.Request, e *dicom.Element, ds *dicom.Dataset, src io.ReaderAt, accept string, v validators) error {
	single, ok := false, false
	for _, it := range parseAccept(accept) {
		if !matchesType(it.typ, "application/octet-stream") || (it.ts != "" && it.ts != "*" && it.ts != dicom.ExplicitVRLittleEndian) {
			continue
		}
		single = !it.multipart && it.typ == "application/octet-stream"
		ok = true
		break
	}
	if !ok {
		return errorf(http.StatusNotAcceptable, `bulk data is served as application/octet-stream or multipart/related; type="application/octet-stream"; the Accept header %q allows neither`, accept)
	}
	ctype := "application/octet-stream"
	var body io.ReadSeeker
	size := int64(e.Length)
	if e.Bulk && !ds.Encoding.BigEndian {
		body = io.NewSectionReader(src, e.Offset, size)
	} else {
		b, err := valueBytes(e, ds, src)
		if err != nil {
			return err
		}
		body, size = bytes.NewReader(b), int64(len(b))
	}
	if single {
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("ETag", v.etag)
		http.ServeContent(w, r, "", v.lastMod, body)
		return nil
	}
	if v.notModified(w, r) {
		return nil
	}
	mw := newMultipart(w, ctype)
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	hdr := textproto.MIMEHeader{}
	hdr.Set("Content-Type", ctype)
	hdr.Set("Content-Length", strconv.FormatInt(size, 10))
	pw, err := mw.CreatePart(hdr)
	if err != nil {
		return err
	}
	if _, err := io.Copy(pw, body); err != nil {
		return err
	}
	return mw.Close()
}
