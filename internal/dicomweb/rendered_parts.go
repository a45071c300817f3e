package dicomweb

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/textproto"
	"sort"
	"strconv"
	"strings"

	"github.com/lightbox-pacs/lightbox/imaging"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// negotiateRenderedParts picks the media type of the parts of a rendered
// response with several images (PS3.18 8.7.4: multipart/related of
// rendered media types): image/jpeg (the default) or image/png, named as
// the multipart type or as a plain media type.
func negotiateRenderedParts(accept string) (string, error) {
	for _, it := range parseAccept(accept) {
		switch it.typ {
		case "", imaging.MediaTypeJPEG, "image/*", "*/*":
			if it.typ == "" && !it.multipart {
				continue
			}
			return imaging.MediaTypeJPEG, nil
		case imaging.MediaTypePNG:
			return imaging.MediaTypePNG, nil
		}
	}
	return "", errorf(http.StatusNotAcceptable,
		`several rendered images are served as multipart/related; type="image/jpeg" or type="image/png"; the Accept header %q allows neither (GIF and video renderings are not supported)`, accept)
}

// displayOrder returns the image instances of recs (those the index knows
// Rows for) in display order: series by Series Number then UID, instances
// by Instance Number then UID. Non-image instances are dropped.
func displayOrder(recs []index.InstanceRecord) []index.InstanceRecord {
	out := make([]index.InstanceRecord, 0, len(recs))
	for i := range recs {
		if recs[i].Instance.Rows > 0 {
			out = append(out, recs[i])
		}
	}
	num := func(p *int) int {
		if p == nil {
			return math.MaxInt
		}
		return *p
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := &out[i], &out[j]
		if a.Series.SeriesInstanceUID != b.Series.SeriesInstanceUID {
			if na, nb := num(a.Series.SeriesNumber), num(b.Series.SeriesNumber); na != nb {
				return na < nb
			}
			return a.Series.SeriesInstanceUID < b.Series.SeriesInstanceUID
		}
		if na, nb := num(a.Instance.InstanceNumber), num(b.Instance.InstanceNumber); na != nb {
			return na < nb
		}
		return a.Instance.SOPInstanceUID < b.Instance.SOPInstanceUID
	})
	return out
}

// sendRenderedParts writes rendered images as multipart/related, one part
// per image, streamed: each instance's header is read, and each frame
// rendered, only when its part is due. frames lists the frames of the one
// instance in recs; nil means every frame of every instance (a series or
// study). The first image is rendered before the response starts, so
// that a request nothing can be rendered for gets a 4xx: an explicit
// frame that does not exist is 404, a target without image instances
// 400. In a series or study, instances without pixel data are skipped,
// and so is an instance the renderer refuses (an unsupported syntax or
// pixel layout), with a warning in the log; other errors abort the
// response.
func (s *Service) sendRenderedParts(w http.ResponseWriter, r *http.Request, t target, recs []index.InstanceRecord, frames []int, p renderParams, media string) error {
	ctx := ctxOf(r)
	key := "rendered-parts;" + media + ";" + p.key()
	for _, n := range frames {
		key += ";" + strconv.Itoa(n)
	}
	h := w.Header()
	h.Add("Vary", "Accept")
	h.Set("Cache-Control", "private, no-cache")
	if len(recs) == 0 {
		return errorf(http.StatusBadRequest, "the %s has no image instances; nothing can be rendered (retrieve its instances as application/dicom or their /metadata)",
			strings.ToLower(t.level().String()))
	}
	v := validatorsOf(recs, key)
	if v.notModified(w, r) {
		return nil
	}
	base := s.baseURL(r)
	var mw *multipartWriter
	skipped := 0
	for i := range recs {
		rec := &recs[i]
		f, br, err := s.readHeader(ctx, rec)
		if err != nil {
			return err
		}
		list := frames
		if list == nil {
			if pixelElement(f.Dataset) == nil {
				br.Close()
				skipped++
				continue
			}
			n := numberOfFrames(f.Dataset)
			list = make([]int, n)
			for k := range list {
				list[k] = k + 1
			}
		} else if n := numberOfFrames(f.Dataset); pixelElement(f.Dataset) != nil {
			for _, fr := range list {
				if fr > n {
					br.Close()
					return errorf(http.StatusNotFound, "instance %s has %d frame(s), there is no frame %d", rec.Instance.SOPInstanceUID, n, fr)
				}
			}
		}
		for _, n := range list {
			b, err := renderImage(f, br, rec, n, p, media)
			if err != nil {
				var he *HTTPError
				if frames == nil && errors.As(err, &he) && he.Status != http.StatusNotFound {
					s.log.Warn("rendered: instance skipped", "sop_instance_uid", rec.Instance.SOPInstanceUID, "frame", n, "err", err)
					skipped++
					break
				}
				br.Close()
				return err
			}
			if mw == nil {
				mw = newMultipart(w, media)
				if r.Method == http.MethodHead {
					br.Close()
					w.WriteHeader(http.StatusOK)
					return nil
				}
			}
			hdr := textproto.MIMEHeader{}
			hdr.Set("Content-Type", media)
			hdr.Set("Content-Length", strconv.Itoa(len(b)))
			hdr.Set("Content-Location", instanceURL(base, rec)+"/frames/"+strconv.Itoa(n)+"/rendered")
			pw, err := mw.CreatePart(hdr)
			if err == nil {
				_, err = pw.Write(b)
			}
			if err != nil {
				br.Close()
				return fmt.Errorf("dicomweb: send rendered %s frame %d: %w", rec.Instance.SOPInstanceUID, n, err)
			}
		}
		br.Close()
	}
	if mw == nil {
		return errorf(http.StatusBadRequest, "none of the %d instance(s) of the %s can be rendered (%d without pixel data or in a form the renderer does not support)",
			len(recs), strings.ToLower(t.level().String()), skipped)
	}
	return mw.Close()
}
