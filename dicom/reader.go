package dicom

import (
	"bufio"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/lightbox-pacs/lightbox/dicom/dict"
)

// ReadOptions tune the reader. The zero value reads headers only, leaving
// Pixel Data and binary values above DefaultBulkThreshold in the source.
type ReadOptions struct {
	// LoadBulk loads every value, Pixel Data included.
	LoadBulk bool
	// BulkThreshold is the length above which a binary value (OB, OW, OF,
	// OD, OL, OV, UN) is left in the source; 0 means DefaultBulkThreshold.
	// Pixel Data is always bulk unless LoadBulk is set.
	BulkThreshold int64
	// MaxDepth bounds sequence nesting; 0 means DefaultMaxDepth.
	MaxDepth int
	// MaxInflated bounds the size of a deflated data set once inflated;
	// 0 means 256 times the compressed size (or 1 GiB for streams).
	MaxInflated int64
}

// Defaults for ReadOptions.
const (
	DefaultBulkThreshold = 64 << 10
	DefaultMaxDepth      = 64
)

// File is a parsed Part 10 file or bare data set.
type File struct {
	HasPreamble bool
	// Meta is the File Meta Information group, nil when the input had none.
	Meta *Dataset
	// Dataset is the main data set.
	Dataset *Dataset
	// TransferSyntax is the UID from the File Meta group, or the one the
	// reader detected from the bytes when the group lacks it.
	TransferSyntax string
	// DatasetOffset is the byte offset where the main data set begins.
	DatasetOffset int64
	// Size is the number of bytes read or known to be in the source.
	Size int64
	// Warnings lists tolerated deviations (wrong group length, encoding
	// differing from the declared transfer syntax, trailing padding, ...).
	Warnings []string
}

// ReadFile parses the file at path; bulk values stay on disk unless
// opts.LoadBulk is set.
func ReadFile(path string, opts ReadOptions) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dicom: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("dicom: %w", err)
	}
	return Read(f, st.Size(), opts)
}

// Read parses a Part 10 file or bare data set from r. size is the number of
// bytes r holds, or -1 when unknown (a network stream). When r is an
// io.Seeker, bulk values are skipped by seeking.
func Read(r io.Reader, size int64, opts ReadOptions) (*File, error) {
	rd := newReader(r, size, opts)
	defer rd.release()
	return rd.readFile()
}

// ReadDataset parses a bare data set in the given encoding, as DIMSE carries
// it (no preamble, no File Meta).
func ReadDataset(r io.Reader, size int64, enc Encoding, opts ReadOptions) (*Dataset, error) {
	rd := newReader(r, size, opts)
	defer rd.release()
	if enc.Deflated {
		if err := rd.inflate(); err != nil {
			return nil, err
		}
	}
	rd.enc = enc
	ds := &Dataset{Encoding: rd.enc, Offset: rd.pos}
	if err := rd.readItems(ds, -1, 0, false); err != nil {
		return ds, err
	}
	ds.finish()
	return ds, nil
}

// bufPool recycles read buffers: indexing reads many small files in a row.
var bufPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 16<<10) }}

// release returns the read buffer to the pool. The buffer may be the
// inflating one, which is not pooled.
func (r *reader) release() {
	if r.br != nil && r.br.Size() == 16<<10 {
		r.br.Reset(nil)
		bufPool.Put(r.br)
	}
	r.br = nil
}

// newElement hands out elements from a slab: a header has hundreds of
// them, and one allocation per element dominated the reader's profile.
func (r *reader) newElement(tag Tag) *Element {
	if len(r.elems) == 0 {
		// Grow slabs with the data set so small headers stay small.
		r.slab = min(max(2*r.slab, 16), 256)
		r.elems = make([]Element, r.slab)
	}
	e := &r.elems[0]
	r.elems = r.elems[1:]
	e.Tag = tag
	return e
}

// valueBuf returns n bytes for a small value, carved from a shared arena.
// Capacity is clipped so an append to one value can never overwrite the next.
func (r *reader) valueBuf(n int) []byte {
	if n > 256 {
		return make([]byte, n)
	}
	if len(r.arena) < n {
		r.arenaSize = min(max(2*r.arenaSize, 1024), 16<<10)
		r.arena = make([]byte, r.arenaSize)
	}
	b := r.arena[:n:n]
	r.arena = r.arena[n:]
	return b
}

type reader struct {
	elems     []Element
	slab      int
	arena     []byte
	arenaSize int
	br        *bufio.Reader
	src       io.Reader
	seeker    io.Seeker
	pos       int64 // offset of the next unread byte
	size      int64 // total bytes in the source, -1 when unknown
	enc       Encoding
	opts      ReadOptions
	warn      []string
	// order is the byte order of enc, cached.
	order binary.ByteOrder
}

func newReader(r io.Reader, size int64, opts ReadOptions) *reader {
	if opts.BulkThreshold <= 0 {
		opts.BulkThreshold = DefaultBulkThreshold
	}
	if opts.MaxDepth <= 0 {
		opts.MaxDepth = DefaultMaxDepth
	}
	br := bufPool.Get().(*bufio.Reader)
	br.Reset(r)
	rd := &reader{br: br, src: r, size: size, opts: opts, order: binary.LittleEndian}
	if s, ok := r.(io.Seeker); ok {
		rd.seeker = s
	}
	return rd
}

func (r *reader) errf(tag Tag, base error, format string, args ...any) error {
	return &ParseError{Offset: r.pos, Tag: tag, Msg: fmt.Sprintf(format, args...), Err: base}
}

func (r *reader) warnf(format string, args ...any) {
	if len(r.warn) < 100 {
		r.warn = append(r.warn, fmt.Sprintf(format, args...))
	}
}

// remaining returns how many bytes the source still holds, or -1.
func (r *reader) remaining() int64 {
	if r.size < 0 {
		return -1
	}
	return r.size - r.pos
}

func (r *reader) peek(n int) []byte {
	b, _ := r.br.Peek(n)
	return b
}

// readFixed reads exactly len(buf) bytes of element framing.
func (r *reader) readFixed(buf []byte, tag Tag) error {
	n, err := io.ReadFull(r.br, buf)
	r.pos += int64(n)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return r.errf(tag, ErrTruncated, "input ends inside an element header")
		}
		return r.errf(tag, err, "read failed")
	}
	return nil
}

// readValue reads n value bytes. It never allocates more than the source
// really holds: with a known size the claim is checked first, and for
// streams a large claim is read in growing chunks.
func (r *reader) readValue(n int64, tag Tag) ([]byte, error) {
	if rem := r.remaining(); rem >= 0 && n > rem {
		return nil, r.errf(tag, ErrTruncated, "value length %d exceeds the %d bytes left", n, rem)
	}
	var buf []byte
	if r.size >= 0 || n <= 1<<20 {
		buf = r.valueBuf(int(n))
		k, err := io.ReadFull(r.br, buf)
		r.pos += int64(k)
		if err != nil {
			return nil, r.errf(tag, ErrTruncated, "value of %d bytes cut short after %d", n, k)
		}
		return buf, nil
	}
	// Unknown input size and a large claim: grow as bytes really arrive,
	// doubling up to the claim, so a lie costs at most twice what was sent.
	buf = make([]byte, 0, 1<<20)
	for int64(len(buf)) < n {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(int64(2*cap(buf)), n))
			copy(grown, buf)
			buf = grown
		}
		k, err := r.br.Read(buf[len(buf):min(int64(cap(buf)), n)])
		buf = buf[:len(buf)+k]
		r.pos += int64(k)
		if err != nil {
			if err == io.EOF {
				return nil, r.errf(tag, ErrTruncated, "value of %d bytes cut short after %d", n, len(buf))
			}
			return nil, r.errf(tag, err, "read failed after %d of %d bytes", len(buf), n)
		}
	}
	return buf, nil
}

// skip moves past n bytes, seeking when the source allows it.
func (r *reader) skip(n int64, tag Tag) error {
	if rem := r.remaining(); rem >= 0 && n > rem {
		return r.errf(tag, ErrTruncated, "value length %d exceeds the %d bytes left", n, rem)
	}
	if b := int64(r.br.Buffered()); n > b && r.seeker != nil {
		if _, err := r.br.Discard(int(b)); err != nil {
			return r.errf(tag, err, "skip failed")
		}
		if _, err := r.seeker.Seek(n-b, io.SeekCurrent); err != nil {
			return r.errf(tag, err, "seek failed")
		}
		r.br.Reset(r.src)
		r.pos += n
		return nil
	}
	k, err := io.CopyN(io.Discard, r.br, n)
	r.pos += k
	if err != nil {
		return r.errf(tag, ErrTruncated, "value of %d bytes cut short after %d", n, k)
	}
	return nil
}

func (r *reader) setEncoding(enc Encoding) {
	r.enc = enc
	if enc.BigEndian {
		r.order = binary.BigEndian
	} else {
		r.order = binary.LittleEndian
	}
}

func (r *reader) readFile() (*File, error) {
	f := &File{}
	head := r.peek(136)
	switch {
	case len(head) == 0:
		return f, r.errf(0, ErrNotDICOM, "empty input")
	case len(head) >= 132 && string(head[128:132]) == "DICM" && looksLikeBareDataset(head):
		r.warnf("'DICM' at offset 128 is part of a data set without preamble")
	case len(head) >= 132 && string(head[128:132]) == "DICM":
		f.HasPreamble = true
		if err := r.skip(132, 0); err != nil {
			return f, err
		}
	case len(head) >= 4 && string(head[:4]) == "DICM":
		r.warnf("'DICM' magic without the 128-byte preamble")
		if err := r.skip(4, 0); err != nil {
			return f, err
		}
	}
	if b := r.peek(2); len(b) == 2 && b[0] == 0x02 && b[1] == 0x00 {
		meta, err := r.readMeta()
		f.Meta = meta
		if err != nil {
			f.Warnings = r.warn
			return f, err
		}
		if e := meta.Get(TagTransferSyntaxUID); e != nil {
			f.TransferSyntax = trimUID(e.Value)
		}
	} else if f.HasPreamble {
		r.warnf("no File Meta group after the 'DICM' magic")
	}

	enc, ok := r.detectEncoding(f.TransferSyntax)
	if !ok {
		f.Warnings = r.warn
		if f.Meta == nil && !f.HasPreamble {
			return f, r.errf(0, ErrNotDICOM, "no preamble, no File Meta and the first bytes are no data element")
		}
		if r.remaining() == 0 || len(r.peek(1)) == 0 {
			return f, r.errf(0, ErrTruncated, "input ends before the data set")
		}
	}
	if f.TransferSyntax == "" {
		f.TransferSyntax = encodingUID(enc)
		if f.Meta != nil {
			r.warnf("File Meta lacks TransferSyntaxUID; data set read as %s", enc)
		}
	}
	if enc.Deflated {
		if err := r.inflate(); err != nil {
			f.Warnings = r.warn
			return f, err
		}
		enc.Deflated = false
	}
	r.setEncoding(enc)
	f.DatasetOffset = r.pos
	ds := &Dataset{Encoding: enc, Offset: r.pos}
	f.Dataset = ds
	err := r.readItems(ds, -1, 0, false)
	ds.finish()
	f.Size = r.pos
	f.Warnings = r.warn
	return f, err
}

// inflate switches the reader to the inflated remainder of the input.
func (r *reader) inflate() error {
	limit := r.opts.MaxInflated
	if limit <= 0 {
		limit = 1 << 30
		if rem := r.remaining(); rem >= 0 && rem*256 < limit {
			limit = rem*256 + 1<<20
		}
	}
	// Offsets into the inflated stream locate nothing in the source, so
	// bulk values cannot be left there: load them (bounded by limit).
	r.opts.LoadBulk = true
	fr := flate.NewReader(r.br)
	lr := &limitErrReader{r: fr, n: limit}
	r.src = lr
	r.seeker = nil
	r.br = bufio.NewReaderSize(lr, 32<<10)
	r.size = -1
	r.pos = 0
	return nil
}

type limitErrReader struct {
	r io.Reader
	n int64
}

func (l *limitErrReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, fmt.Errorf("dicom: deflated data set inflates beyond the limit: %w", ErrTooLarge)
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// readMeta reads group 0002, which is always Explicit VR Little Endian. The
// group ends where the group number changes: a wrong or missing group
// length only earns a warning.
func (r *reader) readMeta() (*Dataset, error) {
	r.setEncoding(EncodingExplicitLE)
	meta := &Dataset{Encoding: EncodingExplicitLE, Offset: r.pos}
	start := r.pos
	var last Tag
	for {
		b := r.peek(4)
		if len(b) < 4 || b[0] != 0x02 || b[1] != 0x00 {
			break
		}
		if t := r.tagOf(b); len(meta.Elements) > 0 && t <= last {
			// A second File Meta group (some tools prepend a new one to a
			// file): the group ends here, the rest belongs to the data set.
			r.warnf("File Meta element %s repeated at offset %d; kept in the data set", t, r.pos)
			break
		}
		// Some writers put the meta group in implicit VR; detect per element.
		enc := EncodingExplicitLE
		if h := r.peek(6); len(h) == 6 {
			if _, ok := ParseVR(h[4], h[5]); !ok {
				enc = EncodingImplicitLE
			}
		}
		r.setEncoding(enc)
		e, err := r.readElement(meta, 0)
		r.setEncoding(EncodingExplicitLE)
		if err != nil {
			meta.finish()
			return meta, err
		}
		if enc.Implicit {
			r.warnf("File Meta element %s written in implicit VR", e.Tag)
		}
		meta.Elements = append(meta.Elements, e)
		last = e.Tag
	}
	meta.finish()
	if gl := meta.Get(TagFileMetaInformationGroupLength); gl != nil && len(gl.Value) == 4 {
		want := int64(binary.LittleEndian.Uint32(gl.Value))
		if got := r.pos - start - 12; got != want {
			r.warnf("File Meta group length says %d bytes, group has %d", want, got)
		}
	} else {
		r.warnf("File Meta lacks a valid group length (0002,0000)")
	}
	return meta, nil
}

// detectEncoding checks the declared transfer syntax against the first
// element's bytes and works out the encoding when nothing is declared.
func (r *reader) detectEncoding(ts string) (Encoding, bool) {
	declared, known := EncodingOf(ts)
	b := r.peek(8)
	if len(b) < 8 {
		return declared, ts != ""
	}
	leGroup := uint16(b[0]) | uint16(b[1])<<8
	beGroup := uint16(b[0])<<8 | uint16(b[1])
	_, explicitVR := ParseVR(b[4], b[5])
	bigEndian := beGroup < leGroup && beGroup != 0
	plausible := func(g uint16) bool { return g >= 0x0002 && g <= 0x7FE0 || g == 0xFFFC || g == 0xFFFE }
	if ts != "" {
		if declared.Deflated {
			return declared, true
		}
		if declared.Implicit == !explicitVR && plausible(pick(declared.BigEndian, beGroup, leGroup)) {
			return declared, true
		}
		guess := Encoding{Implicit: !explicitVR, BigEndian: bigEndian}
		if !plausible(pick(bigEndian, beGroup, leGroup)) {
			return declared, known
		}
		r.warnf("transfer syntax %s declared but the data set is encoded %s; reading as found", ts, guess)
		return guess, true
	}
	g := pick(bigEndian, beGroup, leGroup)
	if !plausible(g) {
		return EncodingImplicitLE, false
	}
	return Encoding{Implicit: !explicitVR, BigEndian: bigEndian}, true
}

// looksLikeBareDataset reports whether input whose bytes 128-131 read
// "DICM" is really a data set without preamble that happens to hold those
// letters there: no File Meta follows the magic, and the input starts with
// a well-formed explicit VR element of group 0008.
func looksLikeBareDataset(head []byte) bool {
	if len(head) < 136 || head[132] == 0x02 && head[133] == 0x00 {
		return false
	}
	_, explicit := ParseVR(head[4], head[5])
	return explicit && head[0] == 0x08 && head[1] == 0x00
}

func pick(cond bool, a, b uint16) uint16 {
	if cond {
		return a
	}
	return b
}

func encodingUID(enc Encoding) string {
	switch {
	case enc.Deflated:
		return DeflatedExplicitVRLittleEndian
	case enc.BigEndian:
		return ExplicitVRBigEndian
	case enc.Implicit:
		return ImplicitVRLittleEndian
	}
	return ExplicitVRLittleEndian
}

// readItems reads elements into ds until end (an absolute offset, or -1 for
// "until a delimiter or the end of input"). inItem says whether an Item
// Delimitation ends the data set.
func (r *reader) readItems(ds *Dataset, end int64, depth int, inItem bool) error {
	for {
		if end >= 0 && r.pos >= end {
			if r.pos > end {
				return r.errf(0, ErrMalformed, "element overruns its item, which ends at offset %d", end)
			}
			return nil
		}
		head := r.peek(4)
		if len(head) < 4 {
			if len(head) == 0 && !inItem && end < 0 {
				return nil // clean end of the top-level data set
			}
			if len(head) == 0 {
				return r.errf(0, ErrTruncated, "input ends inside a sequence item")
			}
			return r.errf(0, ErrTruncated, "input ends inside an element tag")
		}
		tag := r.tagOf(head)
		switch tag {
		case TagItemDelimitation:
			var b [8]byte
			if err := r.readFixed(b[:], tag); err != nil {
				return err
			}
			if inItem && end < 0 {
				return nil
			}
			r.warnf("stray Item Delimitation at offset %d ignored", r.pos-8)
			continue
		case TagSequenceDelimitation:
			if inItem && end < 0 {
				// Item without its delimiter: let the sequence consume the marker.
				r.warnf("item ends without Item Delimitation at offset %d", r.pos)
				return errSeqEnded
			}
			return r.errf(tag, ErrMalformed, "Sequence Delimitation outside a sequence")
		}
		if tag == 0 && end < 0 && !inItem && depth == 0 && r.onlyZerosLeft() {
			r.warnf("%d bytes of zero padding after the data set", r.remaining())
			return r.skip(r.remaining(), 0)
		}
		e, err := r.readElement(ds, depth)
		if err != nil {
			if e != nil {
				ds.Elements = append(ds.Elements, e)
			}
			return err
		}
		ds.Elements = append(ds.Elements, e)
	}
}

var errSeqEnded = errors.New("sequence delimiter reached")

// onlyZerosLeft reports whether the rest of a seekable input is zero bytes
// (some writers pad files). It only looks when the rest is small.
func (r *reader) onlyZerosLeft() bool {
	rem := r.remaining()
	if rem <= 0 || rem > 64<<10 {
		return false
	}
	b := r.peek(int(rem))
	if int64(len(b)) != rem {
		return false
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func (r *reader) tagOf(b []byte) Tag {
	return NewTag(r.order.Uint16(b[0:2]), r.order.Uint16(b[2:4]))
}

// readElement reads one element (header and value) into a new Element.
func (r *reader) readElement(ds *Dataset, depth int) (*Element, error) {
	var hdr [8]byte
	start := r.pos
	if err := r.readFixed(hdr[:], 0); err != nil {
		return nil, err
	}
	tag := r.tagOf(hdr[:4])
	e := r.newElement(tag)
	var length uint32
	if r.enc.Implicit || tag.Group() == 0xFFFE {
		length = r.order.Uint32(hdr[4:8])
		e.VR = r.implicitVR(ds, tag)
	} else {
		vr, ok := ParseVR(hdr[4], hdr[5])
		if !ok {
			if !blankVR(hdr[4], hdr[5]) {
				r.pos = start
				return nil, r.errf(tag, ErrMalformed, "invalid VR bytes 0x%02X 0x%02X", hdr[4], hdr[5])
			}
			// Some writers leave the VR blank; the 16-bit length that
			// follows is still there. Take the VR from the dictionary.
			vr = r.implicitVR(ds, tag)
			if vr.HasLongLength() {
				vr = UN
			}
			r.warnf("blank VR in %s at offset %d read as %s", tag, start, vr)
			e.VR = vr
			length = uint32(r.order.Uint16(hdr[6:8]))
		} else if e.VR = vr; vr.HasLongLength() {
			var l [4]byte
			if err := r.readFixed(l[:], tag); err != nil {
				return nil, err
			}
			length = r.order.Uint32(l[:])
		} else {
			length = uint32(r.order.Uint16(hdr[6:8]))
		}
	}
	e.Length = length
	e.Offset = r.pos
	if tag.Group() == 0xFFFE {
		return nil, r.errf(tag, ErrMalformed, "item tag where a data element was expected")
	}

	// The real VR of a UN element is known when the public or private
	// dictionary has its tag.
	if e.VR == UN && !r.enc.Implicit {
		if real := r.implicitVR(ds, tag); real != UN && real != VRNone {
			e.OriginalVR, e.VR = UN, real
		}
	}

	switch {
	case length == UndefinedLength && (e.VR == SQ || e.VR == UN || r.nextIsItem() && !isPixelDataTag(tag)):
		if e.VR == UN || e.OriginalVR == UN {
			// PS3.5 6.2.2: an undefined-length UN holds implicit VR LE items.
			return e, r.withEncoding(EncodingImplicitLE, func() error { return r.readSequence(e, ds, depth) })
		}
		e.VR = SQ
		return e, r.readSequence(e, ds, depth)
	case length == UndefinedLength:
		if !r.nextIsItem() {
			return e, r.errf(tag, ErrMalformed, "undefined length on a %s element that is neither a sequence nor encapsulated", e.VR)
		}
		return e, r.readFragments(e)
	case e.VR == SQ && e.OriginalVR == UN:
		// Defined-length UN that the dictionary says is a sequence: its
		// items are implicit VR LE (PS3.5 6.2.2).
		return e, r.withEncoding(EncodingImplicitLE, func() error { return r.readSequence(e, ds, depth) })
	case e.VR == SQ:
		if rem := r.remaining(); rem >= 0 && int64(length) > rem {
			return e, r.errf(tag, ErrTruncated, "sequence length %d exceeds the %d bytes left", length, rem)
		}
		return e, r.readSequence(e, ds, depth)
	}
	if length%2 == 1 {
		r.warnf("odd value length %d in %s at offset %d", length, tag, e.Offset)
	}
	if r.isBulk(e) {
		e.Bulk = true
		return e, r.skip(int64(length), tag)
	}
	v, err := r.readValue(int64(length), tag)
	if err != nil {
		return e, err
	}
	e.Value = v
	return e, nil
}

func blankVR(a, b byte) bool { return (a == ' ' || a == 0) && (b == ' ' || b == 0) }

func (r *reader) withEncoding(enc Encoding, fn func() error) error {
	saved := r.enc
	r.setEncoding(enc)
	err := fn()
	r.setEncoding(saved)
	return err
}

// nextIsItem reports whether the next four bytes are an Item tag.
func (r *reader) nextIsItem() bool {
	b := r.peek(4)
	return len(b) == 4 && r.tagOf(b) == TagItem
}

func isPixelDataTag(t Tag) bool {
	return t == TagPixelData || t == TagFloatPixelData || t == TagDoubleFloatPixelData
}

func (r *reader) isBulk(e *Element) bool {
	if r.opts.LoadBulk {
		return false
	}
	if isPixelDataTag(e.Tag) {
		return true
	}
	switch e.VR {
	case OB, OW, OF, OD, OL, OV, UN:
		return int64(e.Length) > r.opts.BulkThreshold
	}
	return false
}

// implicitVR gives the VR of an element read without one: from the public
// dictionary, the private dictionary of the block's creator, or UN.
func (r *reader) implicitVR(ds *Dataset, tag Tag) VR {
	switch {
	case tag.Group() == 0xFFFE:
		return VRNone
	case tag.IsGroupLength():
		return UL
	case tag.IsPrivateCreator():
		return LO
	case tag.IsPrivate():
		if c := ds.Get(NewTag(tag.Group(), tag.Element()>>8)); c != nil {
			creator := trimSpaces(string(c.Value))
			if pe, ok := dict.PrivateLookup(creator, tag.Group(), uint8(tag.Element())); ok {
				return VRFromName(pe.VR)
			}
		}
		return UN
	}
	de, ok := dict.Lookup(uint32(tag))
	if !ok {
		return UN
	}
	if de.VR == "US or SS" || de.VR == "US or SS or OW" {
		if pr := ds.Get(TagPixelRepresentation); pr != nil && len(pr.Value) >= 2 && r.order.Uint16(pr.Value) == 1 {
			return SS
		}
		return US
	}
	return VRFromName(de.VR)
}

// readSequence reads the items of e, of defined or undefined length.
func (r *reader) readSequence(e *Element, parent *Dataset, depth int) error {
	if depth+1 > r.opts.MaxDepth {
		return r.errf(e.Tag, ErrTooDeep, "sequences nest deeper than %d levels", r.opts.MaxDepth)
	}
	e.VR = SQ
	e.Items = []*Dataset{}
	end := int64(-1)
	if e.Length != UndefinedLength {
		end = r.pos + int64(e.Length)
	}
	for {
		if end >= 0 && r.pos >= end {
			if r.pos > end {
				return r.errf(e.Tag, ErrMalformed, "items overrun the sequence, which ends at offset %d", end)
			}
			return nil
		}
		var hdr [8]byte
		if err := r.readFixed(hdr[:], e.Tag); err != nil {
			return err
		}
		tag := r.tagOf(hdr[:4])
		length := r.order.Uint32(hdr[4:8])
		switch tag {
		case TagSequenceDelimitation:
			if end >= 0 {
				r.warnf("Sequence Delimitation inside defined-length sequence %s", e.Tag)
			}
			return nil
		case TagItem:
		default:
			r.pos -= 8
			return r.errf(e.Tag, ErrMalformed, "found %s where a sequence item was expected", tag)
		}
		item := &Dataset{Encoding: r.enc, Offset: r.pos, Parent: parent}
		e.Items = append(e.Items, item)
		itemEnd := int64(-1)
		if length != UndefinedLength {
			itemEnd = r.pos + int64(length)
			if end >= 0 && itemEnd > end {
				return r.errf(e.Tag, ErrMalformed, "item length %d overruns its sequence", length)
			}
			if rem := r.remaining(); rem >= 0 && int64(length) > rem {
				return r.errf(e.Tag, ErrTruncated, "item length %d exceeds the %d bytes left", length, rem)
			}
		}
		err := r.readItems(item, itemEnd, depth+1, true)
		item.finish()
		if err == errSeqEnded {
			// The item lacked its delimiter and the sequence's own delimiter follows.
			var d [8]byte
			return r.readFixed(d[:], e.Tag)
		}
		if err != nil {
			return err
		}
	}
}

// readFragments reads the items of encapsulated Pixel Data.
func (r *reader) readFragments(e *Element) error {
	e.Fragments = []Fragment{}
	for {
		var hdr [8]byte
		if err := r.readFixed(hdr[:], e.Tag); err != nil {
			return err
		}
		tag := r.tagOf(hdr[:4])
		length := r.order.Uint32(hdr[4:8])
		switch tag {
		case TagSequenceDelimitation:
			return nil
		case TagItem:
		default:
			r.pos -= 8
			return r.errf(e.Tag, ErrMalformed, "found %s where a pixel data fragment was expected", tag)
		}
		if length == UndefinedLength {
			return r.errf(e.Tag, ErrMalformed, "pixel data fragment of undefined length")
		}
		f := Fragment{Offset: r.pos, Length: length}
		// The Basic Offset Table (first item) is small and always loaded.
		if r.opts.LoadBulk || len(e.Fragments) == 0 && int64(length) <= r.opts.BulkThreshold {
			v, err := r.readValue(int64(length), e.Tag)
			if err != nil {
				return err
			}
			f.Data = v
		} else {
			e.Bulk = true
			if err := r.skip(int64(length), e.Tag); err != nil {
				return err
			}
		}
		e.Fragments = append(e.Fragments, f)
	}
}

// finish marks the data set sorted when its tags ascend, and resolves its
// Specific Character Set once so later reads never write to it.
func (ds *Dataset) finish() {
	sorted := true
	for i := 1; i < len(ds.Elements); i++ {
		if ds.Elements[i].Tag <= ds.Elements[i-1].Tag {
			sorted = false
			break
		}
	}
	ds.sorted = sorted
	if ds.Get(TagSpecificCharacterSet) != nil {
		ds.Charset()
	}
}

// ReadMeta reads only what precedes the data set: the preamble and File Meta
// group, or, without them, enough to detect the encoding. It returns the
// File Meta (nil when absent), the transfer syntax (declared or detected)
// and the offset where the data set begins.
func ReadMeta(r io.Reader, size int64) (meta *Dataset, transferSyntax string, datasetOffset int64, err error) {
	rd := newReader(r, size, ReadOptions{})
	defer rd.release()
	f := &File{}
	head := rd.peek(136)
	switch {
	case len(head) == 0:
		return nil, "", 0, rd.errf(0, ErrNotDICOM, "empty input")
	case len(head) >= 132 && string(head[128:132]) == "DICM" && !looksLikeBareDataset(head):
		f.HasPreamble = true
		if err := rd.skip(132, 0); err != nil {
			return nil, "", 0, err
		}
	case len(head) >= 4 && string(head[:4]) == "DICM":
		if err := rd.skip(4, 0); err != nil {
			return nil, "", 0, err
		}
	}
	if b := rd.peek(2); len(b) == 2 && b[0] == 0x02 && b[1] == 0x00 {
		if meta, err = rd.readMeta(); err != nil {
			return meta, "", rd.pos, err
		}
		if e := meta.Get(TagTransferSyntaxUID); e != nil {
			transferSyntax = trimUID(e.Value)
		}
	}
	enc, ok := rd.detectEncoding(transferSyntax)
	if !ok && meta == nil && !f.HasPreamble {
		return nil, "", rd.pos, rd.errf(0, ErrNotDICOM, "no preamble, no File Meta and the first bytes are no data element")
	}
	if transferSyntax == "" {
		transferSyntax = encodingUID(enc)
	}
	return meta, transferSyntax, rd.pos, nil
}
