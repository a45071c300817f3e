package index

import (
	"context"
	"errors"
	"time"
)

// Errors callers branch on, checked with errors.Is.
var (
	// ErrNotFound: the instance, series, study or patient does not exist.
	ErrNotFound = errors.New("index: not found")
	// ErrInvalidQuery: a query value is malformed or not allowed for its key.
	ErrInvalidQuery = errors.New("index: invalid query")
	// ErrUnsupportedKey: a match key is not part of the indexed model.
	ErrUnsupportedKey = errors.New("index: unsupported key")
	// ErrInvalidRecord: a record lacks an identifying UID or its blob key.
	ErrInvalidRecord = errors.New("index: invalid record")
	// ErrClosed: the index has been closed.
	ErrClosed = errors.New("index: closed")
)

// Index is the central metadata index of the archive.
//
// Implementations are safe for concurrent use. Every write is one
// transaction; when a write method returns without error its effect is
// durable (it survives a crash of the process or the machine).
type Index interface {
	// Insert adds one instance, creating its patient, study and series as
	// needed and updating the maintained counts. If the SOP Instance UID is
	// already indexed nothing changes and the result reports Duplicate with
	// the existing record (header included), so that the caller can apply
	// its duplicate policy. Identity conflicts are recorded and returned
	// (see [Conflict]); they do not prevent the insert.
	Insert(ctx context.Context, rec InstanceRecord) (InsertResult, error)

	// InsertBatch inserts recs in one transaction (group commit) and returns
	// one result per record, in order. A record duplicating an earlier one
	// of the same batch is reported as Duplicate. An invalid record fails
	// the whole batch before anything is written.
	InsertBatch(ctx context.Context, recs []InstanceRecord) ([]InsertResult, error)

	// Replace inserts rec, replacing an instance with the same SOP Instance
	// UID in the same transaction. The result reports Replaced with the old
	// record (whose blob the caller frees after Replace returns), or
	// Inserted if there was none.
	Replace(ctx context.Context, rec InstanceRecord) (InsertResult, error)

	// Instance returns the record of one instance, header included, or
	// ErrNotFound.
	Instance(ctx context.Context, sopInstanceUID string) (InstanceRecord, error)

	// Find returns the entities of q.Level matching q, sorted by q.OrderBy,
	// then the level's [DefaultOrder], then insertion (a total, stable
	// order), with q.Offset and q.Limit applied. Keys may name configured
	// attributes of [Index.Schema].
	Find(ctx context.Context, q Query) ([]InstanceRecord, error)

	// Each calls fn for each result of q in the order of Find, streaming
	// from the database. fn runs while a read transaction is open and must
	// not call the Index; an error from fn stops the iteration and is
	// returned.
	Each(ctx context.Context, q Query, fn func(InstanceRecord) error) error

	// Schema returns the attributes the index matches: the model plus the
	// configured ones.
	Schema() *Schema

	// Count returns the number of entities matching q, ignoring Limit and Offset.
	Count(ctx context.Context, q Query) (int, error)

	// DeleteInstance, DeleteSeries, DeleteStudy and DeletePatient remove an
	// entity with everything below it in one transaction, remove parents
	// left empty, update the counts, and return the blob keys of the removed
	// instances for the caller to free. They return ErrNotFound if the
	// entity does not exist.
	DeleteInstance(ctx context.Context, sopInstanceUID string) ([]string, error)
	DeleteSeries(ctx context.Context, seriesInstanceUID string) ([]string, error)
	DeleteStudy(ctx context.Context, studyInstanceUID string) ([]string, error)
	DeletePatient(ctx context.Context, patientID, issuerOfPatientID string) ([]string, error)

	// Conflicts returns the recorded identity conflicts, oldest first.
	Conflicts(ctx context.Context) ([]Conflict, error)

	// Stats returns the size of the index.
	Stats(ctx context.Context) (Stats, error)

	// Close releases the index. Further calls return ErrClosed.
	Close() error
}

// InsertStatus says what Insert did with a record.
type InsertStatus int

// The outcomes of an insert.
const (
	// Inserted: the instance was added.
	Inserted InsertStatus = iota + 1
	// Duplicate: an instance with the same SOP Instance UID already exists;
	// nothing was changed.
	Duplicate
	// Replaced: Replace swapped an existing instance for the new one.
	Replaced
)

func (s InsertStatus) String() string {
	switch s {
	case Inserted:
		return "inserted"
	case Duplicate:
		return "duplicate"
	case Replaced:
		return "replaced"
	}
	return "InsertStatus(?)"
}

// InsertResult is the outcome of inserting one record.
type InsertResult struct {
	Status InsertStatus
	// Existing is the record already stored under the SOP Instance UID
	// (Duplicate), or the record that was replaced (Replaced).
	Existing *InstanceRecord
	// Conflicts lists the identity conflicts this record raised.
	Conflicts []Conflict
}

// ConflictKind classifies identity conflicts.
type ConflictKind string

// The kinds of identity conflicts.
const (
	// ConflictPatientDemographics: a Patient ID (same issuer) arrived with a
	// name, birth date or sex different from the stored one. The stored
	// value is kept.
	ConflictPatientDemographics ConflictKind = "patient-demographics"
	// ConflictStudyPatient: a study arrived under a patient (ID or issuer)
	// other than the one it is stored under. The instance is filed under
	// the stored patient.
	ConflictStudyPatient ConflictKind = "study-patient"
	// ConflictSeriesStudy: a series arrived under a study other than the one
	// it is stored under. The instance is filed under the stored study.
	ConflictSeriesStudy ConflictKind = "series-study"
)

// Conflict is one recorded identity conflict. Repeated occurrences of the
// same conflict (same kind, entity, attribute and incoming value) are
// counted in one record.
type Conflict struct {
	ID   int64
	Kind ConflictKind
	// PatientID and IssuerOfPatientID identify the stored patient involved.
	PatientID         string
	IssuerOfPatientID string
	// StudyInstanceUID, SeriesInstanceUID and SOPInstanceUID are those of the
	// incoming instance that first raised the conflict.
	StudyInstanceUID  string
	SeriesInstanceUID string
	SOPInstanceUID    string
	// Attribute is the attribute that differs (PatientName, PatientBirthDate,
	// PatientSex, PatientID, IssuerOfPatientID, StudyInstanceUID).
	Attribute Key
	// Existing is the stored value, Incoming the value that arrived.
	Existing string
	Incoming string
	// Count is how many inserts raised this conflict.
	Count     int
	FirstSeen time.Time
	LastSeen  time.Time
}

// Stats is the size of the index.
type Stats struct {
	Patients  int
	Studies   int
	Series    int
	Instances int
	Bytes     int64
	// Modalities is broken down by series Modality, sorted by modality.
	Modalities []ModalityStats
}

// ModalityStats is the part of the index with one series Modality.
type ModalityStats struct {
	Modality  string
	Series    int
	Instances int
	Bytes     int64
}
