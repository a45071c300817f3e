package archive

import (
	"context"
	"errors"
	"fmt"

	"github.com/lightbox-pacs/lightbox/internal/blob"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// Retrieve opens the stored bytes of the instance with the SOP Instance
// UID, and returns its index record (header included). The caller closes
// the reader. A missing instance gives ErrNotFound.
func (a *Archive) Retrieve(ctx context.Context, sopInstanceUID string) (blob.Reader, index.InstanceRecord, error) {
	rec, err := a.idx.Instance(ctx, sopInstanceUID)
	if err != nil {
		if errors.Is(err, index.ErrNotFound) {
			return nil, rec, fmt.Errorf("%w: instance %s", ErrNotFound, sopInstanceUID)
		}
		return nil, rec, fmt.Errorf("archive: retrieve %s: %w", sopInstanceUID, err)
	}
	r, err := a.blobs.Open(ctx, rec.Instance.BlobKey)
	if err != nil {
		// An index row without its blob: storage was damaged (fsck).
		return nil, rec, fmt.Errorf("archive: retrieve %s: blob %s: %w", sopInstanceUID, rec.Instance.BlobKey, err)
	}
	return r, rec, nil
}

// Level names what Delete removes.
type Level int

// The levels Delete works on.
const (
	DeleteInstance Level = iota + 1
	DeleteSeries
	DeleteStudy
	DeletePatient
)

// DeleteResult says what a delete removed.
type DeleteResult struct {
	// Instances is the number of instances removed from the index.
	Instances int
	// BlobsFailed counts blobs that could not be deleted (left as orphans
	// for fsck; logged).
	BlobsFailed int
}

// Delete removes an instance (id = SOP Instance UID), a series (Series
// Instance UID), a study (Study Instance UID) or a patient (id = Patient
// ID; issuer = Issuer of Patient ID, "" when none) with everything below
// it: first its index rows, in one transaction, then its blobs. A missing
// entity gives ErrNotFound.
func (a *Archive) Delete(ctx context.Context, level Level, id, issuer string) (DeleteResult, error) {
	var keys []string
	var err error
	switch level {
	case DeleteInstance:
		keys, err = a.idx.DeleteInstance(ctx, id)
	case DeleteSeries:
		keys, err = a.idx.DeleteSeries(ctx, id)
	case DeleteStudy:
		keys, err = a.idx.DeleteStudy(ctx, id)
	case DeletePatient:
		keys, err = a.idx.DeletePatient(ctx, id, issuer)
	default:
		return DeleteResult{}, fmt.Errorf("archive: delete: unknown level %d", level)
	}
	if err != nil {
		if errors.Is(err, index.ErrNotFound) {
			return DeleteResult{}, fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return DeleteResult{}, fmt.Errorf("archive: delete %s: %w", id, err)
	}
	res := DeleteResult{Instances: len(keys)}
	for _, k := range keys {
		if err := a.blobs.Delete(ctx, k); err != nil && !errors.Is(err, blob.ErrNotFound) {
			res.BlobsFailed++
			a.log.Warn("could not delete blob; fsck will report it as an orphan", "key", k, "err", err)
		}
		if a.deleteOriginal(ctx, k) != nil {
			res.BlobsFailed++
		}
	}
	return res, nil
}
