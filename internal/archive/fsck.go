package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/blob"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// ProblemKind classifies what Check found.
type ProblemKind string

// The kinds of problems Check reports.
const (
	// ProblemMissingBlob: an index row whose blob is gone.
	ProblemMissingBlob ProblemKind = "missing-blob"
	// ProblemOrphanBlob: a blob no index row points to (an interrupted
	// delete or ingest, or a blob superseded by a replace).
	ProblemOrphanBlob ProblemKind = "orphan-blob"
	// ProblemSizeMismatch: the blob's size differs from the index row's.
	ProblemSizeMismatch ProblemKind = "size-mismatch"
	// ProblemDigestMismatch: the blob's SHA-256 differs from the row's
	// (only with CheckOptions.Verify).
	ProblemDigestMismatch ProblemKind = "digest-mismatch"
	// ProblemUnreadable: Rebuild could not parse the blob as an instance.
	ProblemUnreadable ProblemKind = "unreadable-blob"
)

// Problem is one inconsistency between the index and the blob store.
type Problem struct {
	Kind           ProblemKind
	Key            string // blob key
	SOPInstanceUID string // when known
	Detail         string
}

func (p Problem) String() string {
	s := string(p.Kind) + " " + p.Key
	if p.SOPInstanceUID != "" {
		s += " (SOP Instance UID " + p.SOPInstanceUID + ")"
	}
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	return s
}

// CheckOptions tune Check.
type CheckOptions struct {
	// Verify reads every blob and compares its SHA-256 with the index.
	Verify bool
	// DeleteOrphans deletes blobs that no index row points to (after an
	// interrupted delete). Orphans younger than OrphanGrace are left
	// alone: they may belong to an ingest in progress.
	DeleteOrphans bool
	// OrphanGrace defaults to one hour.
	OrphanGrace time.Duration
}

// CheckReport is the result of Check.
type CheckReport struct {
	Rows           int   // instance rows in the index
	Blobs          int   // committed blobs in the store
	Bytes          int64 // bytes in those blobs
	Problems       []Problem
	OrphansDeleted int
	TempRemoved    int // stale temporary files removed (DeleteOrphans)
}

// OK reports whether index and blobs agree.
func (r CheckReport) OK() bool { return len(r.Problems) == 0 }

// tempCleaner is implemented by blob stores that leave temporary files
// after a crash (internal/blob/fs).
type tempCleaner interface {
	RemoveStaleTemp(ctx context.Context, olderThan time.Duration) (int, error)
}

// Check verifies that every index row has its blob and every blob its
// row. The index is read in one pass, so memory grows with the number of
// instances (about 150 bytes each).
func Check(ctx context.Context, blobs blob.Store, idx index.Index, opts CheckOptions) (CheckReport, error) {
	if opts.OrphanGrace <= 0 {
		opts.OrphanGrace = time.Hour
	}
	type row struct {
		sop    string
		size   int64
		sha    [32]byte
		seen   bool
		loaded bool
	}
	rows := map[string]*row{}
	var rep CheckReport
	err := idx.Each(ctx, index.Query{Level: index.InstanceLevel}, func(r index.InstanceRecord) error {
		in := r.Instance
		rows[in.BlobKey] = &row{sop: in.SOPInstanceUID, size: in.Size, sha: in.SHA256}
		rep.Rows++
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("archive: check: read index: %w", err)
	}
	cutoff := time.Now().Add(-opts.OrphanGrace)
	var orphans []string
	err = blobs.Walk(ctx, func(info blob.Info) error {
		rep.Blobs++
		rep.Bytes += info.Size
		r, ok := rows[info.Key]
		if base, orig := isOriginalKey(info.Key); orig && !ok {
			// The kept original of an instance compressed at rest: not
			// indexed itself, alive as long as its instance is.
			if _, live := rows[base]; live {
				return nil
			}
		}
		if !ok {
			rep.Problems = append(rep.Problems, Problem{Kind: ProblemOrphanBlob, Key: info.Key,
				Detail: fmt.Sprintf("%d bytes, modified %s", info.Size, info.ModTime.UTC().Format(time.RFC3339))})
			if info.ModTime.Before(cutoff) {
				orphans = append(orphans, info.Key)
			}
			return nil
		}
		r.seen = true
		if info.Size != r.size {
			rep.Problems = append(rep.Problems, Problem{Kind: ProblemSizeMismatch, Key: info.Key, SOPInstanceUID: r.sop,
				Detail: fmt.Sprintf("blob has %d bytes, index says %d", info.Size, r.size)})
			return nil
		}
		if opts.Verify {
			sum, err := blobDigest(ctx, blobs, info.Key)
			if err != nil {
				return err
			}
			if sum != r.sha {
				rep.Problems = append(rep.Problems, Problem{Kind: ProblemDigestMismatch, Key: info.Key, SOPInstanceUID: r.sop,
					Detail: fmt.Sprintf("blob SHA-256 %s, index says %s", hex.EncodeToString(sum[:]), hex.EncodeToString(r.sha[:]))})
			}
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("archive: check: walk blobs: %w", err)
	}
	for key, r := range rows {
		if !r.seen {
			rep.Problems = append(rep.Problems, Problem{Kind: ProblemMissingBlob, Key: key, SOPInstanceUID: r.sop})
		}
	}
	sort.Slice(rep.Problems, func(i, j int) bool {
		a, b := rep.Problems[i], rep.Problems[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Key < b.Key
	})
	if opts.DeleteOrphans {
		for _, k := range orphans {
			if err := blobs.Delete(ctx, k); err != nil && !errors.Is(err, blob.ErrNotFound) {
				return rep, fmt.Errorf("archive: check: delete orphan: %w", err)
			}
			rep.OrphansDeleted++
		}
		if tc, ok := blobs.(tempCleaner); ok {
			n, err := tc.RemoveStaleTemp(ctx, opts.OrphanGrace)
			if err != nil {
				return rep, fmt.Errorf("archive: check: %w", err)
			}
			rep.TempRemoved = n
		}
	}
	return rep, nil
}

func blobDigest(ctx context.Context, blobs blob.Store, key string) ([32]byte, error) {
	var sum [32]byte
	r, err := blobs.Open(ctx, key)
	if err != nil {
		return sum, err
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return sum, fmt.Errorf("archive: read blob %s: %w", key, err)
	}
	copy(sum[:], h.Sum(nil))
	return sum, nil
}

// RebuildOptions tune Rebuild.
type RebuildOptions struct {
	// Logger receives progress and problems; nil discards them.
	Logger *slog.Logger
	// Workers parse blobs in parallel; 0 means GOMAXPROCS.
	Workers int
	// BatchSize is the number of records per index transaction; 0 means 256.
	BatchSize int
	// DeleteSuperseded deletes the blobs that lose to a newer blob with
	// the same SOP Instance UID (left over by an interrupted replace).
	DeleteSuperseded bool
	// RemoveStaleTemp removes temporary files older than an hour.
	RemoveStaleTemp bool
}

// RebuildReport is the result of Rebuild.
type RebuildReport struct {
	Blobs      int // blobs read
	Indexed    int // instances in the rebuilt index
	Unreadable []Problem
	// Superseded lists blobs holding an older version of an instance
	// indexed from a newer blob (deleted with DeleteSuperseded).
	Superseded  []string
	TempRemoved int
}

// Rebuild fills idx, which must be empty, from the blobs alone: every blob
// is parsed as at ingest and its record inserted. ReceivedAt becomes the
// blob's commit time and CallingAE is lost (neither is in the bytes).
// Blobs are replayed in commit order (blob.Info.ModTime), so that what
// depends on arrival order (which of conflicting demographics is kept, the
// representative header of a study) comes out as at ingest, and when
// several blobs hold the same SOP Instance UID the last committed wins.
// Blobs that do not parse are reported and kept. The list of blobs is held
// in memory (about 100 bytes each).
func Rebuild(ctx context.Context, blobs blob.Store, idx index.Index, opts RebuildOptions) (RebuildReport, error) {
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 256
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var rep RebuildReport
	if opts.RemoveStaleTemp {
		if tc, ok := blobs.(tempCleaner); ok {
			n, err := tc.RemoveStaleTemp(ctx, time.Hour)
			if err != nil {
				return rep, fmt.Errorf("archive: rebuild: %w", err)
			}
			rep.TempRemoved = n
		}
	}
	// Replay the blobs in commit order, so that what depends on arrival
	// order (the first of conflicting demographics, the representative
	// header) comes out as it did at ingest.
	var infos []blob.Info
	err := blobs.Walk(ctx, func(i blob.Info) error {
		if _, orig := isOriginalKey(i.Key); !orig { // kept originals are not instances
			infos = append(infos, i)
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("archive: rebuild: walk blobs: %w", err)
	}
	sort.Slice(infos, func(i, j int) bool {
		if !infos[i].ModTime.Equal(infos[j].ModTime) {
			return infos[i].ModTime.Before(infos[j].ModTime)
		}
		return infos[i].Key < infos[j].Key
	})

	// Records go to the index in batches that it applies in exactly the
	// replay order: a batch is cut before a record that sorts before its
	// predecessor by Study and Series Instance UID (an index may apply a
	// batch in that order), and a later version of an instance already
	// indexed is applied on its own with Replace.
	batch := make([]index.InstanceRecord, 0, opts.BatchSize)
	seen := map[string]bool{} // SOP Instance UIDs indexed so far
	insert := func() error {
		if len(batch) == 0 {
			return nil
		}
		results, err := idx.InsertBatch(ctx, batch)
		if err != nil {
			return fmt.Errorf("archive: rebuild: %w", err)
		}
		for i, r := range results {
			if r.Status == index.Duplicate {
				return fmt.Errorf("archive: rebuild: instance %s: the index is not empty", batch[i].Instance.SOPInstanceUID)
			}
			rep.Indexed++
		}
		batch = batch[:0]
		return nil
	}
	add := func(rec index.InstanceRecord) error {
		sop := rec.Instance.SOPInstanceUID
		if seen[sop] {
			// A later version: the last committed wins.
			if err := insert(); err != nil {
				return err
			}
			r, err := idx.Replace(ctx, rec)
			if err != nil {
				return fmt.Errorf("archive: rebuild: %w", err)
			}
			if r.Existing != nil {
				rep.Superseded = append(rep.Superseded, r.Existing.Instance.BlobKey)
			}
			return nil
		}
		seen[sop] = true
		if n := len(batch); n == opts.BatchSize || n > 0 && keyLess(&rec, &batch[n-1]) {
			if err := insert(); err != nil {
				return err
			}
		}
		batch = append(batch, rec)
		return nil
	}
	// Parse a chunk in parallel, then insert it in order.
	chunk := opts.Workers * 32
	recs := make([]index.InstanceRecord, chunk)
	errs := make([]error, chunk)
	for start := 0; start < len(infos); start += chunk {
		part := infos[start:min(start+chunk, len(infos))]
		next := make(chan int)
		var wg sync.WaitGroup
		for range opts.Workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					recs[i], errs[i] = recordFromBlob(ctx, blobs, part[i])
				}
			}()
		}
		for i := range part {
			next <- i
		}
		close(next)
		wg.Wait()
		for i, info := range part {
			rep.Blobs++
			if errs[i] != nil {
				p := Problem{Kind: ProblemUnreadable, Key: info.Key, Detail: errs[i].Error()}
				log.Warn("blob is not a storable instance; left in place", "key", p.Key, "reason", p.Detail)
				rep.Unreadable = append(rep.Unreadable, p)
				continue
			}
			if err := add(recs[i]); err != nil {
				return rep, err
			}
		}
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("archive: rebuild: %w", err)
		}
	}
	if err := insert(); err != nil {
		return rep, err
	}
	sort.Strings(rep.Superseded)
	sort.Slice(rep.Unreadable, func(i, j int) bool { return rep.Unreadable[i].Key < rep.Unreadable[j].Key })
	if opts.DeleteSuperseded {
		for _, k := range rep.Superseded {
			if err := blobs.Delete(ctx, k); err != nil && !errors.Is(err, blob.ErrNotFound) {
				return rep, fmt.Errorf("archive: rebuild: delete superseded blob: %w", err)
			}
		}
	}
	return rep, nil
}

// recordFromBlob parses a stored blob into its index record.
func recordFromBlob(ctx context.Context, blobs blob.Store, info blob.Info) (index.InstanceRecord, error) {
	r, err := blobs.Open(ctx, info.Key)
	if err != nil {
		return index.InstanceRecord{}, err
	}
	defer r.Close()
	h := sha256.New()
	f, err := dicom.Read(io.TeeReader(r, h), r.Size(), dicom.ReadOptions{})
	if err != nil {
		return index.InstanceRecord{}, rejectParse(f, err)
	}
	if _, err := io.Copy(h, r); err != nil {
		return index.InstanceRecord{}, fmt.Errorf("archive: read blob %s: %w", info.Key, err)
	}
	if err := checkStrict(f); err != nil {
		return index.InstanceRecord{}, err
	}
	rec, err := extractRecord(f)
	if err != nil {
		return rec, err
	}
	rec.Instance.BlobKey = info.Key
	rec.Instance.Size = r.Size()
	copy(rec.Instance.SHA256[:], h.Sum(nil))
	rec.Instance.ReceivedAt = info.ModTime
	rec.Normalize()
	return rec, rec.Validate()
}
