package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/archive"
	"github.com/lightbox-pacs/lightbox/internal/capture"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// defaultMaxCaptureBytes caps an uploaded scan or PDF unless
// Options.MaxCaptureBytes says otherwise.
const defaultMaxCaptureBytes = 256 << 20

// CaptureResult is the answer of the capture endpoints: the instance the
// upload became.
type CaptureResult struct {
	StudyInstanceUID  string `json:"studyInstanceUID"`
	SeriesInstanceUID string `json:"seriesInstanceUID"`
	SOPInstanceUID    string `json:"sopInstanceUID"`
	SOPClassUID       string `json:"sopClassUID"`
	TransferSyntaxUID string `json:"transferSyntaxUID"`
	PatientID         string `json:"patientID"`
	Size              int64  `json:"size"`
}

// captureToStudy wraps the body (a JPEG, PNG, TIFF or PDF, typed by its
// Content-Type) as a new instance in a new series of a stored study,
// copying the study's Patient and General Study attributes from one of
// its instances.
func (h *Handler) captureToStudy(w http.ResponseWriter, r *http.Request) (any, int, error) {
	uid := r.PathValue("study")
	rec, err := h.one(r, index.InstanceLevel, index.StudyInstanceUID, uid, false)
	if err != nil {
		return nil, 0, err
	}
	src, _, err := h.arch.Retrieve(r.Context(), rec.Instance.SOPInstanceUID)
	if err != nil {
		return nil, 0, fmt.Errorf("api: capture: read study %s: %w", uid, err)
	}
	f, err := dicom.Read(src, src.Size(), dicom.ReadOptions{})
	src.Close()
	if err != nil {
		return nil, 0, fmt.Errorf("api: capture: read instance %s of study %s: %w", rec.Instance.SOPInstanceUID, uid, err)
	}
	subj := capture.SubjectFrom(f.Dataset)
	subj.StudyInstanceUID = uid // the index's identity, whatever the header says
	return h.capture(w, r, subj)
}

// captureNewStudy wraps the body as the first instance of a new study for
// the patient named by the query parameters.
func (h *Handler) captureNewStudy(w http.ResponseWriter, r *http.Request) (any, int, error) {
	q := r.URL.Query()
	subj := capture.Subject{
		PatientID:         q.Get("patientID"),
		IssuerOfPatientID: q.Get("issuerOfPatientID"),
		PatientName:       q.Get("patientName"),
		PatientBirthDate:  q.Get("birthDate"),
		PatientSex:        q.Get("sex"),
		AccessionNumber:   q.Get("accessionNumber"),
		StudyDescription:  q.Get("studyDescription"),
	}
	return h.capture(w, r, subj)
}

func (h *Handler) capture(w http.ResponseWriter, r *http.Request, subj capture.Subject) (any, int, error) {
	opts := capture.Options{
		SeriesDescription: r.URL.Query().Get("description"),
		ConversionType:    r.URL.Query().Get("conversionType"),
		Now:               h.opts.Now,
	}
	if s := r.URL.Query().Get("seriesNumber"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1<<31-1 {
			return nil, 0, badRequest("seriesNumber %q is not a positive integer", s)
		}
		opts.SeriesNumber = n
	}
	ct := r.Header.Get("Content-Type")
	if !capture.Supported(ct) {
		return nil, 0, &httpError{http.StatusUnsupportedMediaType,
			fmt.Sprintf("Content-Type %q is not one of %s", ct, strings.Join(capture.MediaTypes(), ", "))}
	}
	limit := h.opts.MaxCaptureBytes
	if limit <= 0 {
		limit = defaultMaxCaptureBytes
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, 0, &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("upload larger than %d bytes", limit)}
		}
		return nil, 0, badRequest("reading the upload: %v", err)
	}
	inst, err := capture.Build(body, ct, subj, opts)
	if err != nil {
		if errors.Is(err, capture.ErrInvalid) {
			return nil, 0, badRequest("%v", err)
		}
		return nil, 0, err
	}
	res, err := h.arch.Store(r.Context(), bytes.NewReader(inst.Bytes), archive.IngestMeta{
		Size: int64(len(inst.Bytes)), CallingAE: "LIGHTBOX-CAPTURE", Source: "capture upload"})
	if err != nil {
		if rej, ok := archive.IsReject(err); ok {
			return nil, 0, badRequest("the archive refused the wrapped instance: %v", rej)
		}
		return nil, 0, fmt.Errorf("api: capture: store: %w", err)
	}
	h.log.Info("capture stored", "study", inst.StudyInstanceUID, "sop", inst.SOPInstanceUID, "class", inst.SOPClassUID, "bytes", res.Size)
	return CaptureResult{
		StudyInstanceUID:  res.StudyInstanceUID,
		SeriesInstanceUID: res.SeriesInstanceUID,
		SOPInstanceUID:    res.SOPInstanceUID,
		SOPClassUID:       res.SOPClassUID,
		TransferSyntaxUID: res.TransferSyntaxUID,
		PatientID:         subj.PatientID,
		Size:              res.Size,
	}, http.StatusCreated, nil
}
