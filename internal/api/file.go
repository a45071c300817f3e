package api

import (
	"fmt"
	"net/http"

	"github.com/lightbox-pacs/lightbox/internal/blob"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// served is returned by a route that wrote its own response.
type served struct{}

// instanceFile serves GET /instances/{instance}/file: the instance's Part 10
// bytes as stored. With ?original=true it serves the bytes exactly as
// received when compression at rest kept them (storage.keep_original), and
// 404 when it did not (the instance was stored as received, or without
// keeping the original). This is the administrator's path to the received
// bytes; DICOMweb and DIMSE serve the stored instance.
func (h *Handler) instanceFile(w http.ResponseWriter, r *http.Request) (any, int, error) {
	uid := r.PathValue("instance")
	if !validUID(uid) {
		return nil, 0, badRequest("%q is not a valid UID", uid)
	}
	var wantOriginal bool
	switch v := r.URL.Query().Get("original"); v {
	case "", "false":
	case "true":
		wantOriginal = true
	default:
		return nil, 0, badRequest("original=%q: want true or false", v)
	}
	var (
		br  blob.Reader
		rec index.InstanceRecord
		err error
	)
	if wantOriginal {
		var original bool
		br, rec, original, err = h.arch.RetrieveOriginal(r.Context(), uid)
		if err == nil && !original {
			br.Close()
			return nil, 0, &httpError{http.StatusNotFound, fmt.Sprintf("instance %s: no original kept (it is stored as received, or compression at rest ran without keep_original)", uid)}
		}
	} else {
		br, rec, err = h.arch.Retrieve(r.Context(), uid)
	}
	if err != nil {
		return nil, 0, err
	}
	defer br.Close()
	w.Header().Set("Content-Type", "application/dicom")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", uid+".dcm"))
	if !wantOriginal {
		w.Header().Set("ETag", `"`+fmt.Sprintf("%x", rec.Instance.SHA256[:16])+`"`)
	}
	http.ServeContent(w, r, "", rec.Instance.ReceivedAt, br)
	return served{}, 0, nil
}
