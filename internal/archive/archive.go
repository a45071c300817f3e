// Package archive owns the storing, retrieving and deleting of instances:
// it streams received bytes into a blob store, extracts the index record
// while the bytes go by, and acknowledges an instance only when both its
// bytes and its index row are durable. It knows no network protocol: DIMSE
// C-STORE, STOW-RS and the import command all call [Archive.Store].
//
// # Durability and group commit
//
// Store tees the incoming stream into a blob writer while dicom.Read parses
// the header (bulk data is skipped, never held in memory). Parsed instances
// are handed to the committer, which batches concurrent Store calls: it
// collects up to Options.MaxBatch instances, waiting at most
// Options.MaxDelay for Store calls still parsing, commits all their blobs
// together (blob.CommitAll: parallel fsyncs, one fsync per directory), then
// inserts all their index rows in one transaction (index.InsertBatch).
// Every caller of the batch returns only after that. The two steps run as
// a pipeline: the blobs of the next batch are fsynced while the index
// commits the previous one. Blobs are written
// under fresh random keys, so a crash at any point leaves at worst a blob
// without an index row, which fsck reports (and never a row without a
// blob, or a half-written blob that is visible).
//
// # Duplicates
//
// An instance whose SOP Instance UID is already stored with the same
// SHA-256 is a no-op (OutcomeIdentical). Otherwise Options.Duplicates
// decides: keep the first (the default; logged), replace it (the new blob
// is stored, the index row swapped in one transaction, then the old blob
// deleted), or reject the new one with a *RejectError.
//
// # Compression at rest
//
// With Options.Compress a native image is re-encoded losslessly (JPEG-LS,
// JPEG 2000 or RLE) before it is committed, kept only when a decode of the
// result equals the received pixels bit for bit; with KeepOriginal the
// received bytes are committed too, under the instance's key plus
// OriginalSuffix (Archive.RetrieveOriginal), and the index row names the
// compressed instance (compress.go, docs/storage-format.md).
//
// # Deletion
//
// Deleting an instance, series, study or patient removes its index rows in
// one transaction first, then its blobs. A crash in between leaves orphan
// blobs, which `lightbox fsck` reports; the index stays consistent.
package archive

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/blob"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// Errors callers branch on with errors.Is. Rejected input is reported as a
// *RejectError (errors.As).
var (
	// ErrNotFound: no instance (series, study, patient) with that identity.
	ErrNotFound = errors.New("archive: not found")
	// ErrClosed: the archive has been closed.
	ErrClosed = errors.New("archive: closed")
)

// DuplicatePolicy says what Store does with an instance whose SOP Instance
// UID is already stored with different bytes.
type DuplicatePolicy int

// The duplicate policies.
const (
	// KeepFirst keeps the stored instance and discards the new one, with a
	// logged warning. The default.
	KeepFirst DuplicatePolicy = iota
	// Replace stores the new instance in place of the old one.
	Replace
	// Reject refuses the new instance with a *RejectError (ReasonDuplicate).
	Reject
)

// String returns the policy's name as ParseDuplicatePolicy reads it.
func (p DuplicatePolicy) String() string {
	switch p {
	case KeepFirst:
		return "keep-first"
	case Replace:
		return "replace"
	case Reject:
		return "reject"
	}
	return fmt.Sprintf("DuplicatePolicy(%d)", int(p))
}

// ParseDuplicatePolicy reads "keep-first", "replace" or "reject".
func ParseDuplicatePolicy(s string) (DuplicatePolicy, error) {
	for _, p := range []DuplicatePolicy{KeepFirst, Replace, Reject} {
		if p.String() == s {
			return p, nil
		}
	}
	return 0, fmt.Errorf("archive: unknown duplicate policy %q (keep-first, replace, reject)", s)
}

// Options configure an Archive. The zero value is usable.
type Options struct {
	// Logger receives warnings (duplicates, identity conflicts, cleanup
	// failures); nil discards them.
	Logger *slog.Logger
	// Duplicates is the duplicate SOP Instance UID policy.
	Duplicates DuplicatePolicy
	// MaxBatch caps the instances committed together; 0 means 128.
	MaxBatch int
	// MaxDelay is how long the committer waits for Store calls still
	// parsing before committing a batch that is not full; 0 means 2 ms, a
	// negative value never waits.
	MaxDelay time.Duration
	// Now returns the time recorded as ReceivedAt when IngestMeta has
	// none; nil means time.Now.
	Now func() time.Time
	// Compress turns on lossless compression at rest (compress.go).
	Compress CompressOptions
}

// Archive stores, retrieves and deletes instances over a blob store and an
// index. It is safe for concurrent use; Store calls made concurrently share
// their fsyncs and index transactions.
type Archive struct {
	blobs blob.Store
	idx   index.Index
	opts  Options
	log   *slog.Logger

	queue   chan *pending
	quit    chan struct{}
	stopped chan struct{}
	closing sync.Once
	mu      sync.RWMutex // held for reading while submitting; Close takes it to stop submissions
	closed  bool

	// serial turns the pipeline off (benchmark comparison).
	serial bool

	// active counts Store calls in progress; inIndex the instances handed
	// to the index stage and not yet released. The committer's estimate of
	// the number of concurrent callers (concurrency) decays slowly from
	// the highest recent value of active.
	active      atomic.Int64
	inIndex     atomic.Int64
	concurrency float64 // committer goroutine only

	// parsing counts Store calls that have begun but not yet reached the
	// committer (or given up); the committer waits for them.
	parsing atomic.Int64
}

// New returns an archive over blobs and idx, which the caller keeps
// owning (Close does not close them).
func New(blobs blob.Store, idx index.Index, opts Options) *Archive {
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 128
	}
	if opts.MaxDelay == 0 {
		opts.MaxDelay = 2 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Archive{
		blobs:   blobs,
		idx:     idx,
		opts:    opts,
		log:     log.With("component", "archive"),
		queue:   make(chan *pending, opts.MaxBatch),
		quit:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	go a.commitLoop()
	return a
}

// Close waits for the batches in progress and stops the committer. Store
// calls after Close fail with ErrClosed. Close is idempotent.
func (a *Archive) Close() error {
	a.closing.Do(func() {
		a.mu.Lock()
		a.closed = true
		a.mu.Unlock()
		close(a.quit)
		<-a.stopped
	})
	return nil
}

// Blobs returns the archive's blob store.
func (a *Archive) Blobs() blob.Store { return a.blobs }

// Index returns the archive's index.
func (a *Archive) Index() index.Index { return a.idx }

// IngestMeta describes where an instance comes from.
type IngestMeta struct {
	// Size is the number of bytes the reader holds, or -1 (or 0) when
	// unknown (a network stream).
	Size int64
	// CallingAE is the sender's AE title or another source label.
	CallingAE string
	// ReceivedAt is recorded in the index; zero means now.
	ReceivedAt time.Time
	// Source names the input in log messages (a file path, a peer).
	Source string
}

// Outcome says what Store did with an instance.
type Outcome int

// The outcomes of Store.
const (
	// OutcomeStored: a new instance was stored.
	OutcomeStored Outcome = iota + 1
	// OutcomeIdentical: the same bytes were already stored; nothing changed.
	OutcomeIdentical
	// OutcomeKeptFirst: another version was already stored and kept
	// (KeepFirst); the new bytes were discarded.
	OutcomeKeptFirst
	// OutcomeReplaced: the new instance replaced the stored one (Replace).
	OutcomeReplaced
)

// String returns the outcome's name.
func (o Outcome) String() string {
	switch o {
	case OutcomeStored:
		return "stored"
	case OutcomeIdentical:
		return "identical"
	case OutcomeKeptFirst:
		return "kept-first"
	case OutcomeReplaced:
		return "replaced"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// IsDuplicate reports whether the SOP Instance UID was already stored.
func (o Outcome) IsDuplicate() bool {
	return o == OutcomeIdentical || o == OutcomeKeptFirst || o == OutcomeReplaced
}

// Result describes a stored (or deduplicated) instance.
type Result struct {
	Outcome           Outcome
	SOPInstanceUID    string
	SOPClassUID       string
	StudyInstanceUID  string
	SeriesInstanceUID string
	TransferSyntaxUID string
	// BlobKey, Size and SHA256 describe the bytes now stored under the SOP
	// Instance UID (the first version's for OutcomeKeptFirst).
	BlobKey string
	Size    int64
	SHA256  [32]byte
	// Received is the number of bytes read from the input.
	Received int64
	// Conflicts lists the identity conflicts the instance raised (see
	// index.Conflict); the instance is stored regardless.
	Conflicts []index.Conflict
	// Warnings are the parser's notes on tolerated deviations.
	Warnings []string
}

// pending is one parsed instance waiting for the committer.
type pending struct {
	w       blob.Writer
	rec     index.InstanceRecord
	replace bool // the pre-check found another version and the policy is Replace
	res     Result
	done    chan struct{}
	err     error
}

func (p *pending) finish(err error) {
	p.err = err
	close(p.done)
}

// Store reads one Part 10 instance from r and stores it byte for byte. It
// returns once the bytes and the index row are durable, or with a
// *RejectError (nothing stored) when the input is not a storable instance,
// or with another error when storing failed (nothing acknowledged). A
// protocol that delivers bare data sets puts a FileMetaHeader in front.
// ctx bounds the receiving; once the instance is handed to the committer
// Store waits for its batch (milliseconds) whatever ctx says.
func (a *Archive) Store(ctx context.Context, r io.Reader, meta IngestMeta) (Result, error) {
	a.active.Add(1)
	defer a.active.Add(-1)
	a.parsing.Add(1)
	submitted := false
	defer func() {
		if !submitted {
			a.parsing.Add(-1)
		}
	}()
	if a.isClosed() {
		return Result{}, ErrClosed
	}
	key, err := newKey()
	if err != nil {
		return Result{}, err
	}
	var w blob.Writer
	var mem *memWriter // compression at rest: receive into memory first
	if a.opts.Compress.enabled() && (meta.Size <= 0 || meta.Size <= a.opts.Compress.maxBytes()) {
		mem = a.newMemWriter(ctx, key)
		w = mem
	} else if w, err = a.blobs.Create(ctx, key); err != nil {
		return Result{}, fmt.Errorf("archive: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			w.Abort()
			if mem != nil {
				mem.Abort()
			}
		}
	}()

	p, err := a.receive(ctx, r, w, key, meta)
	if err != nil {
		return Result{}, err
	}
	if mem != nil {
		if err := a.compressAtRest(ctx, p, mem); err != nil {
			return Result{}, err
		}
		w = p.w
	}
	// Cheap pre-check, so that re-sent instances cost no fsync. The
	// committer checks again (index.InsertBatch reports duplicates)
	// because a concurrent Store may race this one.
	if existing, err := a.idx.Instance(ctx, p.res.SOPInstanceUID); err == nil {
		if res, final, err := a.duplicate(ctx, p, existing, false); final {
			return res, err
		}
		p.replace = true
	} else if !errors.Is(err, index.ErrNotFound) {
		return Result{}, fmt.Errorf("archive: store %s: %w", p.res.SOPInstanceUID, err)
	}

	if mem != nil {
		if err := mem.commitOriginal(); err != nil {
			return Result{}, fmt.Errorf("archive: keep original of %s: %w", p.res.SOPInstanceUID, err)
		}
	}
	if !a.submit(p) {
		return Result{}, ErrClosed
	}
	submitted, committed = true, true
	<-p.done
	return p.res, p.err
}

func (a *Archive) isClosed() bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.closed
}

// submit hands p to the committer; it fails once the archive is closed.
func (a *Archive) submit(p *pending) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed {
		return false
	}
	a.queue <- p
	a.parsing.Add(-1)
	return true
}

// receive streams r into w while parsing it, and builds the pending
// instance. The blob is not committed.
func (a *Archive) receive(ctx context.Context, r io.Reader, w blob.Writer, key string, meta IngestMeta) (*pending, error) {
	size := meta.Size
	if size == 0 {
		size = -1
	}
	src := &sourceReader{r: r}
	// The parser reads in small pieces; buffer them into large writes.
	bw := writeBuffers.Get().(*bufio.Writer)
	bw.Reset(w)
	defer func() {
		bw.Reset(nil)
		writeBuffers.Put(bw)
	}()
	sink := &sinkWriter{w: bw, h: sha256.New()}
	tee := io.TeeReader(src, sink)
	f, perr := dicom.Read(tee, size, dicom.ReadOptions{})
	if perr == nil {
		// The reader stops at the end of the data set; keep whatever
		// follows (it is part of what was received).
		_, perr = io.Copy(io.Discard, tee)
	}
	if err := bw.Flush(); err != nil && sink.err == nil {
		sink.err = err
	}
	switch {
	case sink.err != nil:
		return nil, fmt.Errorf("archive: store %s: %w", meta.Source, sink.err)
	case src.err != nil:
		return nil, fmt.Errorf("archive: receive %s: %w", meta.Source, src.err)
	case ctx.Err() != nil:
		return nil, fmt.Errorf("archive: receive %s: %w", meta.Source, ctx.Err())
	case perr != nil:
		return nil, rejectParse(f, perr)
	}
	if err := checkStrict(f); err != nil {
		return nil, err
	}
	rec, err := extractRecord(f)
	if err != nil {
		return nil, err
	}
	rec.Instance.BlobKey = key
	rec.Instance.Size = sink.n
	copy(rec.Instance.SHA256[:], sink.h.Sum(nil))
	rec.Instance.CallingAE = meta.CallingAE
	rec.Instance.ReceivedAt = meta.ReceivedAt
	if rec.Instance.ReceivedAt.IsZero() {
		rec.Instance.ReceivedAt = a.opts.Now()
	}
	rec.Normalize()
	if err := rec.Validate(); err != nil {
		return nil, &RejectError{Reason: ReasonMissingAttribute, Offset: -1, Detail: err.Error(), Err: err}
	}
	p := &pending{w: w, rec: rec, done: make(chan struct{})}
	p.res = Result{
		Outcome:           OutcomeStored,
		SOPInstanceUID:    rec.Instance.SOPInstanceUID,
		SOPClassUID:       rec.Instance.SOPClassUID,
		StudyInstanceUID:  rec.Study.StudyInstanceUID,
		SeriesInstanceUID: rec.Series.SeriesInstanceUID,
		TransferSyntaxUID: rec.Instance.TransferSyntaxUID,
		BlobKey:           key,
		Size:              sink.n,
		SHA256:            rec.Instance.SHA256,
		Received:          sink.n,
		Warnings:          f.Warnings,
	}
	return p, nil
}

// duplicate applies the duplicate policy to p, whose SOP Instance UID is
// already stored as existing. final is false when the caller must go on
// replacing. committed says p's blob is already committed (and must be
// deleted when p is dropped).
func (a *Archive) duplicate(ctx context.Context, p *pending, existing index.InstanceRecord, committed bool) (res Result, final bool, err error) {
	drop := func() {
		if committed {
			a.deleteBlob(ctx, p.rec.Instance.BlobKey)
		}
	}
	res = p.res
	old := existing.Instance
	if old.SHA256 == p.rec.Instance.SHA256 && old.Size == p.rec.Instance.Size {
		drop()
		res.Outcome = OutcomeIdentical
		res.BlobKey = old.BlobKey
		return res, true, nil
	}
	switch a.opts.Duplicates {
	case Replace:
		return res, false, nil
	case Reject:
		drop()
		return Result{}, true, &RejectError{Reason: ReasonDuplicate, Offset: -1,
			Detail: fmt.Sprintf("SOP Instance UID %s is already stored with different content", p.res.SOPInstanceUID)}
	default:
		drop()
		a.log.Warn("duplicate SOP Instance UID with different content; keeping the first",
			"sop_instance_uid", p.res.SOPInstanceUID, "stored_sha256", hex.EncodeToString(old.SHA256[:]),
			"received_sha256", hex.EncodeToString(p.rec.Instance.SHA256[:]))
		res.Outcome = OutcomeKeptFirst
		res.BlobKey, res.Size, res.SHA256 = old.BlobKey, old.Size, old.SHA256
		return res, true, nil
	}
}

// commitLoop is the committer's first stage: it collects batches and
// commits their blobs, then hands each batch to indexLoop, so that the
// blob fsyncs of one batch overlap the index transaction of the previous
// one.
func (a *Archive) commitLoop() {
	indexed := make(chan []*pending, 1)
	go a.indexLoop(indexed)
	defer close(indexed)
	for {
		var first *pending
		select {
		case first = <-a.queue:
		case <-a.quit:
			// Submissions have stopped; drain what was queued.
			for {
				select {
				case p := <-a.queue:
					ok := a.commitBlobs([]*pending{p})
					a.inIndex.Add(int64(len(ok)))
					indexed <- ok
				default:
					return
				}
			}
		}
		batch := make([]*pending, 1, a.opts.MaxBatch)
		batch[0] = first
		a.collect(&batch)
		if a.serial {
			a.indexBatch(a.commitBlobs(batch))
			continue
		}
		ok := a.commitBlobs(batch)
		a.inIndex.Add(int64(len(ok)))
		indexed <- ok
	}
}

// indexLoop is the committer's second stage: it indexes the batches whose
// blobs are durable and releases their callers.
func (a *Archive) indexLoop(batches <-chan []*pending) {
	defer close(a.stopped)
	for b := range batches {
		a.indexBatch(b)
		a.inIndex.Add(-int64(len(b)))
	}
}

// collect adds queued instances to batch. It waits (at most MaxDelay)
// while Store calls are still parsing, and while the batch is smaller than
// the callers recently seen at once minus those whose instances are in the
// index stage: callers just released by the previous batch usually come
// back with their next instance within a millisecond or two, and a batch
// that waits for them shares its fsyncs and transaction among more
// instances. A lone caller never waits.
func (a *Archive) collect(batch *[]*pending) {
	a.concurrency = max(float64(a.active.Load()), a.concurrency-0.25)
	target := int(a.concurrency) - int(a.inIndex.Load())
	var deadline <-chan time.Time
	for len(*batch) < a.opts.MaxBatch {
		select {
		case p := <-a.queue:
			*batch = append(*batch, p)
			continue
		default:
		}
		if a.opts.MaxDelay < 0 || a.parsing.Load() <= 0 && len(*batch) >= target {
			return
		}
		if deadline == nil {
			t := time.NewTimer(a.opts.MaxDelay)
			defer t.Stop()
			deadline = t.C
		}
		poll := time.NewTimer(100 * time.Microsecond)
		select {
		case p := <-a.queue:
			*batch = append(*batch, p)
		case <-poll.C:
		case <-deadline:
			poll.Stop()
			return
		}
		poll.Stop()
	}
}

// commitBlobs commits the blobs of batch together and returns the
// instances whose blobs are durable; the others are released with their
// error.
func (a *Archive) commitBlobs(batch []*pending) []*pending {
	// Commit (and so time-stamp) the blobs in the order the index applies
	// the batch: by study and series, replacements last. Rebuild replays
	// blobs in commit order and so reproduces this index exactly.
	sort.SliceStable(batch, func(i, j int) bool { return applyBefore(batch[i], batch[j]) })
	ws := make([]blob.Writer, len(batch))
	for i, p := range batch {
		ws[i] = p.w
	}
	errs := blob.CommitAll(a.blobs, ws)
	ok := batch[:0]
	for i, p := range batch {
		if errs[i] != nil {
			a.deleteBlob(context.Background(), p.rec.Instance.BlobKey) // may have become visible
			p.finish(fmt.Errorf("archive: store %s: %w", p.res.SOPInstanceUID, errs[i]))
			continue
		}
		ok = append(ok, p)
	}
	return ok
}

// indexBatch inserts the index rows of a batch whose blobs are durable in
// one transaction (replacements one by one after it) and releases the
// callers.
func (a *Archive) indexBatch(batch []*pending) {
	ctx := context.Background()
	var ins []*pending
	var recs []index.InstanceRecord
	var reps []*pending
	for _, p := range batch {
		if p.replace {
			reps = append(reps, p)
			continue
		}
		ins = append(ins, p)
		recs = append(recs, p.rec)
	}
	if len(recs) > 0 {
		results, err := a.idx.InsertBatch(ctx, recs)
		if err == nil && len(results) != len(recs) {
			err = fmt.Errorf("index returned %d results for %d records", len(results), len(recs))
		}
		if err != nil {
			for _, p := range ins {
				a.deleteBlob(ctx, p.rec.Instance.BlobKey)
				p.finish(fmt.Errorf("archive: index %s: %w", p.res.SOPInstanceUID, err))
			}
		} else {
			for i, p := range ins {
				a.settle(ctx, p, results[i])
			}
		}
	}
	for _, p := range reps {
		a.replace(ctx, p)
	}
}

// applyBefore orders a batch as index.InsertBatch applies it (stable by
// Study and Series Instance UID), with replacements, applied one by one
// after the batch, last.
func applyBefore(a, b *pending) bool {
	if a.replace != b.replace {
		return !a.replace
	}
	return keyLess(&a.rec, &b.rec)
}

// keyLess compares records by Study, then Series Instance UID.
func keyLess(a, b *index.InstanceRecord) bool {
	if a.Study.StudyInstanceUID != b.Study.StudyInstanceUID {
		return a.Study.StudyInstanceUID < b.Study.StudyInstanceUID
	}
	return a.Series.SeriesInstanceUID < b.Series.SeriesInstanceUID
}

// settle finishes p after its index insert.
func (a *Archive) settle(ctx context.Context, p *pending, r index.InsertResult) {
	switch r.Status {
	case index.Inserted:
		a.noteConflicts(p, r.Conflicts)
		p.finish(nil)
	case index.Duplicate:
		if r.Existing == nil {
			a.deleteBlob(ctx, p.rec.Instance.BlobKey)
			p.finish(fmt.Errorf("archive: index %s: duplicate reported without the stored record", p.res.SOPInstanceUID))
			return
		}
		res, final, err := a.duplicate(ctx, p, *r.Existing, true)
		if final {
			p.res = res
			p.finish(err)
			return
		}
		a.replace(ctx, p)
	default:
		a.deleteBlob(ctx, p.rec.Instance.BlobKey)
		p.finish(fmt.Errorf("archive: index %s: unexpected insert status %v", p.res.SOPInstanceUID, r.Status))
	}
}

// replace swaps p in for the stored version of its SOP Instance UID and
// frees the old blob.
func (a *Archive) replace(ctx context.Context, p *pending) {
	r, err := a.idx.Replace(ctx, p.rec)
	if err != nil {
		a.deleteBlob(ctx, p.rec.Instance.BlobKey)
		p.finish(fmt.Errorf("archive: replace %s: %w", p.res.SOPInstanceUID, err))
		return
	}
	if r.Status == index.Replaced {
		p.res.Outcome = OutcomeReplaced
		if r.Existing != nil && r.Existing.Instance.BlobKey != p.rec.Instance.BlobKey {
			a.deleteBlob(ctx, r.Existing.Instance.BlobKey)
		}
		a.log.Info("instance replaced", "sop_instance_uid", p.res.SOPInstanceUID)
	}
	a.noteConflicts(p, r.Conflicts)
	p.finish(nil)
}

func (a *Archive) noteConflicts(p *pending, cs []index.Conflict) {
	p.res.Conflicts = cs
	for _, c := range cs {
		a.log.Debug("identity conflict", "kind", c.Kind, "attribute", c.Attribute,
			"stored", c.Existing, "received", c.Incoming, "patient_id", c.PatientID,
			"study_instance_uid", c.StudyInstanceUID, "sop_instance_uid", p.res.SOPInstanceUID)
	}
}

// deleteBlob frees a blob no index row points to; a failure leaves an
// orphan for fsck and is only logged.
func (a *Archive) deleteBlob(ctx context.Context, key string) {
	if err := a.blobs.Delete(ctx, key); err != nil && !errors.Is(err, blob.ErrNotFound) {
		a.log.Warn("could not delete blob; fsck will report it as an orphan", "key", key, "err", err)
	}
	a.deleteOriginal(ctx, key)
}

// newKey returns a fresh blob key: 128 random bits in hex.
func newKey() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("archive: blob key: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// writeBuffers hold the write buffers between the parser and the blob
// writers.
var writeBuffers = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 256<<10) }}

// sourceReader remembers the input's own read errors, so that they are not
// mistaken for a malformed instance.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// sinkWriter writes to the blob, hashes and counts, and remembers the
// blob's write errors.
type sinkWriter struct {
	w   io.Writer
	h   hash.Hash
	n   int64
	err error
}

func (s *sinkWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	s.h.Write(p[:n])
	s.n += int64(n)
	if err != nil {
		s.err = err
	}
	return n, err
}
