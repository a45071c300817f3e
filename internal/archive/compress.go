package archive

// Compression at rest (issue 7): an optional step between receiving an
// instance and committing it. See CompressOptions.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/blob"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// OriginalSuffix is appended to an instance's blob key to name the blob
// that keeps the bytes as received when the instance was compressed at
// rest with CompressOptions.KeepOriginal. Such a blob is never indexed:
// Check counts it with its instance (an orphan when the instance is gone)
// and Rebuild skips it.
const OriginalSuffix = ".orig"

// The lossless transfer syntaxes CompressOptions.TransferSyntax accepts.
const (
	JPEGLSLossless   = "1.2.840.10008.1.2.4.80"
	JPEG2000Lossless = "1.2.840.10008.1.2.4.90"
	RLELossless      = "1.2.840.10008.1.2.5"
)

// CompressOptions configure compression at rest. The zero value is off.
//
// When TransferSyntax is set, Store buffers each received instance (up to
// MaxBytes; larger ones are stored as received) and, when it is a native
// (uncompressed, not deflated) image with integer samples, re-encodes its
// pixel data losslessly in TransferSyntax and stores that as a Part 10
// file with a fresh File Meta group: the same data set, the same SOP
// Instance UID, Image Pixel attributes as the encoder declares them. The
// encoded pixels are decoded again before anything is committed and must
// equal the received pixels bit for bit; when they do not (or the encoder
// cannot represent the image: 1-bit, YBR_*_422, float, samples using bits
// above Bits Stored, ...), the instance is stored as received and a
// message logged. So is an instance the encoding would not make smaller.
// Compressed, non-image and deflated instances are always stored as
// received. Encoding is deterministic, so a re-sent instance compresses to
// the same bytes and is recognised as identical; an instance stored
// uncompressed before compression was turned on is not (the duplicate
// policy then applies).
//
// With KeepOriginal the received bytes are also committed, before the
// compressed instance (and so before the acknowledgement), under the
// instance's key plus OriginalSuffix; RetrieveOriginal returns them byte
// for byte. That blob is committed on its own (one more fsync per
// instance, outside the batched commit).
type CompressOptions struct {
	// TransferSyntax is JPEGLSLossless, JPEG2000Lossless or RLELossless;
	// "" turns compression at rest off. Its encoder must be registered
	// (import codec/all); without one every instance is stored as
	// received.
	TransferSyntax string
	// KeepOriginal keeps the received bytes of compressed instances.
	KeepOriginal bool
	// MaxBytes is the largest instance compressed: it is held in memory
	// while being encoded, by every Store call at once, so the default is
	// modest; 0 means 64 MiB (a 2D mammogram or a 120-slice 512² enhanced
	// CT fits; larger instances are stored as received).
	MaxBytes int64
}

func (c CompressOptions) enabled() bool { return c.TransferSyntax != "" }

func (c CompressOptions) maxBytes() int64 {
	if c.MaxBytes <= 0 {
		return 64 << 20
	}
	return c.MaxBytes
}

// ValidateCompressSyntax checks that ts may be used for compression at
// rest: one of the lossless syntaxes above.
func ValidateCompressSyntax(ts string) error {
	switch ts {
	case "", JPEGLSLossless, JPEG2000Lossless, RLELossless:
		return nil
	}
	return fmt.Errorf("archive: %q is not a lossless syntax for compression at rest (%s, %s, %s)", ts, JPEGLSLossless, JPEG2000Lossless, RLELossless)
}

// memWriter is the blob.Writer Store receives into when compression at
// rest is on: it buffers the instance, and once it grows past max it
// opens the real blob under key, copies the buffer there and passes the
// rest through (such an instance is stored as received).
type memWriter struct {
	ctx   context.Context
	blobs blob.Store
	key   string
	max   int64
	buf   bytes.Buffer
	real  blob.Writer
	n     int64
	// orig holds the received bytes under the original's key until
	// commitOriginal (KeepOriginal).
	orig blob.Writer
}

func (a *Archive) newMemWriter(ctx context.Context, key string) *memWriter {
	return &memWriter{ctx: ctx, blobs: a.blobs, key: key, max: a.opts.Compress.maxBytes()}
}

func (m *memWriter) Write(p []byte) (int, error) {
	if m.real == nil && int64(m.buf.Len()+len(p)) > m.max {
		w, err := m.blobs.Create(m.ctx, m.key)
		if err != nil {
			return 0, err
		}
		m.real = w
		if _, err := w.Write(m.buf.Bytes()); err != nil {
			return 0, err
		}
		m.buf = bytes.Buffer{}
	}
	var n int
	var err error
	if m.real != nil {
		n, err = m.real.Write(p)
	} else {
		n, err = m.buf.Write(p)
	}
	m.n += int64(n)
	return n, err
}

// Commit is never called: compressAtRest swaps in a real writer.
func (m *memWriter) Commit() error {
	return errors.New("archive: internal error: in-memory receive buffer committed")
}

func (m *memWriter) Abort() {
	if m.real != nil {
		m.real.Abort()
	}
	if m.orig != nil {
		m.orig.Abort()
	}
}

// commitOriginal makes the kept original durable; Store calls it after
// the duplicate pre-check and before handing the instance to the
// committer, so that it is durable before the acknowledgement.
func (m *memWriter) commitOriginal() error {
	if m.orig == nil {
		return nil
	}
	return m.orig.Commit()
}

func (m *memWriter) Written() int64 { return m.n }

// compressAtRest replaces p's writer (m, holding the received bytes) by a
// real blob writer holding what is to be stored: the instance compressed,
// or as received. With KeepOriginal it also writes the received bytes to
// m.orig, which Store commits (commitOriginal).
func (a *Archive) compressAtRest(ctx context.Context, p *pending, m *memWriter) error {
	if m.real != nil {
		p.w = m.real
		return nil
	}
	received := m.buf.Bytes()
	key := p.rec.Instance.BlobKey
	store := func(b []byte) error {
		w, err := a.blobs.Create(ctx, key)
		if err != nil {
			return fmt.Errorf("archive: %w", err)
		}
		m.real = w // aborted with m until committed
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("archive: store %s: %w", p.res.SOPInstanceUID, err)
		}
		p.w = w
		return nil
	}
	packed, f, why := a.compressed(p.rec.Instance.TransferSyntaxUID, received)
	if packed == nil {
		if why != "" {
			a.log.Info("compression at rest skipped; stored as received", "sop_instance_uid", p.res.SOPInstanceUID,
				"transfer_syntax", p.rec.Instance.TransferSyntaxUID, "reason", why)
		}
		return store(received)
	}
	rec, err := extractRecord(f)
	if err != nil {
		a.log.Warn("compression at rest: compressed instance does not index; stored as received",
			"sop_instance_uid", p.res.SOPInstanceUID, "err", err)
		return store(received)
	}
	old := p.rec.Instance
	rec.Instance.BlobKey = key
	rec.Instance.Size = int64(len(packed))
	rec.Instance.SHA256 = sha256.Sum256(packed)
	rec.Instance.CallingAE = old.CallingAE
	rec.Instance.ReceivedAt = old.ReceivedAt
	rec.Normalize()
	if err := rec.Validate(); err != nil {
		a.log.Warn("compression at rest: compressed instance does not index; stored as received",
			"sop_instance_uid", p.res.SOPInstanceUID, "err", err)
		return store(received)
	}
	if a.opts.Compress.KeepOriginal {
		ow, err := a.blobs.Create(ctx, key+OriginalSuffix)
		if err != nil {
			return fmt.Errorf("archive: keep original: %w", err)
		}
		m.orig = ow
		if _, err := ow.Write(received); err != nil {
			return fmt.Errorf("archive: keep original of %s: %w", p.res.SOPInstanceUID, err)
		}
	}
	if err := store(packed); err != nil {
		return err
	}
	p.rec = rec
	p.res.TransferSyntaxUID = rec.Instance.TransferSyntaxUID
	p.res.Size = rec.Instance.Size
	p.res.SHA256 = rec.Instance.SHA256
	return nil
}

// compressed returns the received Part 10 bytes re-encoded in the
// configured syntax and their parse, or nil and why not ("" when the
// instance is simply not a candidate: compressed already, no pixels).
func (a *Archive) compressed(ts string, received []byte) ([]byte, *dicom.File, string) {
	target := a.opts.Compress.TransferSyntax
	switch ts {
	case dicom.ImplicitVRLittleEndian, dicom.ExplicitVRLittleEndian, dicom.ExplicitVRBigEndian:
	default:
		return nil, nil, "" // compressed (lossy or not) or deflated: as received
	}
	src := bytes.NewReader(received)
	f, err := dicom.Read(src, int64(len(received)), dicom.ReadOptions{})
	if err != nil {
		return nil, nil, "re-read: " + err.Error()
	}
	ds := f.Dataset
	if ds.Get(codec.TagPixelData) == nil {
		return nil, nil, "" // not an image, or float pixel data
	}
	orig, err := codec.Open(ds, ts, src, codec.Options{})
	if err != nil {
		return nil, nil, "pixel data: " + err.Error()
	}
	info := orig.Info
	switch {
	case info.Float:
		return nil, nil, "float pixel data"
	case info.BitsAllocated == 1:
		return nil, nil, "1-bit pixel data"
	case strings.HasSuffix(info.PhotometricInterpretation, "_422") || strings.HasSuffix(info.PhotometricInterpretation, "_420"):
		return nil, nil, "subsampled colour " + info.PhotometricInterpretation
	case info.BitsAllocated > 16:
		return nil, nil, fmt.Sprintf("%d-bit samples", info.BitsAllocated)
	}
	out, err := codec.TranscodeWith(ds, ts, src, target, codec.TranscodeOptions{})
	if err != nil {
		return nil, nil, "encode: " + err.Error()
	}
	var buf bytes.Buffer
	buf.Grow(len(received) / 2)
	sourceAE := ""
	if f.Meta != nil {
		sourceAE = strings.TrimSpace(f.Meta.String(dicom.TagSourceApplicationEntityTitle))
	}
	if err := dicom.WriteFile(&buf, out, target, dicom.WriteOptions{Bulk: src, SourceApplicationEntityTitle: sourceAE}); err != nil {
		return nil, nil, "write: " + err.Error()
	}
	packed := buf.Bytes()
	if int64(len(packed)) >= int64(len(received)) {
		return nil, nil, fmt.Sprintf("no gain (%d bytes compressed, %d received)", len(packed), len(received))
	}
	g, why := verifyLossless(orig, packed)
	if why != "" {
		a.log.Warn("compression at rest: decoded pixels differ from the received ones; stored as received",
			"sop_instance_uid", ds.String(dicom.TagSOPInstanceUID), "transfer_syntax", target, "reason", why)
		return nil, nil, "verify: " + why
	}
	return packed, g, ""
}

// verifyLossless parses the compressed Part 10 bytes and checks that every
// frame decodes to the bytes, and the description, the received pixels
// decode to. It returns the parse, or why not.
func verifyLossless(orig *codec.Pixels, packed []byte) (*dicom.File, string) {
	src := bytes.NewReader(packed)
	g, err := dicom.Read(src, int64(len(packed)), dicom.ReadOptions{})
	if err != nil {
		return nil, "re-read: " + err.Error()
	}
	got, err := codec.Open(g.Dataset, g.TransferSyntax, src, codec.Options{})
	if err != nil {
		return nil, "open: " + err.Error()
	}
	if got.NumFrames() != orig.NumFrames() {
		return nil, fmt.Sprintf("%d frames, received %d", got.NumFrames(), orig.NumFrames())
	}
	want := make([]byte, orig.Info.FrameSize())
	have := make([]byte, got.Info.FrameSize())
	if len(want) != len(have) {
		return nil, fmt.Sprintf("frame size %d, received %d", len(have), len(want))
	}
	for i := 0; i < orig.NumFrames(); i++ {
		wi, err := orig.FrameInto(want, i)
		if err != nil {
			return nil, fmt.Sprintf("frame %d of the received pixels: %v", i, err)
		}
		hi, err := got.FrameInto(have, i)
		if err != nil {
			return nil, fmt.Sprintf("frame %d: %v", i, err)
		}
		if !samePixels(wi, hi) {
			return nil, fmt.Sprintf("frame %d decodes as %+v, received %+v", i, hi, wi)
		}
		if !bytes.Equal(want, have) {
			return nil, fmt.Sprintf("frame %d: samples differ", i)
		}
	}
	return g, ""
}

// samePixels compares what two decoded frames' descriptions say about
// their samples.
func samePixels(a, b codec.PixelInfo) bool {
	return a.Rows == b.Rows && a.Columns == b.Columns && a.SamplesPerPixel == b.SamplesPerPixel &&
		a.BitsAllocated == b.BitsAllocated && a.PixelRepresentation == b.PixelRepresentation &&
		a.PhotometricInterpretation == b.PhotometricInterpretation
}

// RetrieveOriginal is Retrieve, except that for an instance compressed at
// rest with KeepOriginal it opens the bytes as received (original is then
// true). Without a kept original it returns what Retrieve does.
func (a *Archive) RetrieveOriginal(ctx context.Context, sopInstanceUID string) (r blob.Reader, rec index.InstanceRecord, original bool, err error) {
	rec, err = a.idx.Instance(ctx, sopInstanceUID)
	if err != nil {
		if errors.Is(err, index.ErrNotFound) {
			return nil, rec, false, fmt.Errorf("%w: instance %s", ErrNotFound, sopInstanceUID)
		}
		return nil, rec, false, fmt.Errorf("archive: retrieve %s: %w", sopInstanceUID, err)
	}
	r, err = a.blobs.Open(ctx, rec.Instance.BlobKey+OriginalSuffix)
	if err == nil {
		return r, rec, true, nil
	}
	if !errors.Is(err, blob.ErrNotFound) {
		return nil, rec, false, fmt.Errorf("archive: retrieve original of %s: %w", sopInstanceUID, err)
	}
	r, err = a.blobs.Open(ctx, rec.Instance.BlobKey)
	if err != nil {
		return nil, rec, false, fmt.Errorf("archive: retrieve %s: blob %s: %w", sopInstanceUID, rec.Instance.BlobKey, err)
	}
	return r, rec, false, nil
}

// deleteOriginal removes the kept original of the blob key, if any.
func (a *Archive) deleteOriginal(ctx context.Context, key string) error {
	if strings.HasSuffix(key, OriginalSuffix) {
		return nil
	}
	err := a.blobs.Delete(ctx, key+OriginalSuffix)
	if err != nil && !errors.Is(err, blob.ErrNotFound) {
		a.log.Warn("could not delete kept original; fsck will report it as an orphan", "key", key+OriginalSuffix, "err", err)
		return err
	}
	return nil
}

// isOriginalKey reports whether a blob key names a kept original, and the
// key of its instance.
func isOriginalKey(key string) (base string, ok bool) {
	return strings.CutSuffix(key, OriginalSuffix)
}
