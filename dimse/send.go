package dimse

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/ul"
)

// This file prepares stored instances for C-STORE: it finds the SOP class,
// instance and transfer syntax, picks an accepted presentation context, and
// writes the data set either byte for byte or re-encoded in another native
// transfer syntax.

// ErrNoContext is returned when no accepted presentation context can carry
// an instance.
var ErrNoContext = errors.New("dimse: no accepted presentation context for the instance")

// source is an instance ready to send.
type source struct {
	SOPClassUID    string
	SOPInstanceUID string
	// TransferSyntax is the syntax the data set really is in.
	TransferSyntax string
	// file is the parsed instance when the source is seekable (nil when
	// streaming); dataOffset is where its data set bytes begin.
	file       *dicom.File
	ra         io.ReaderAt
	rs         io.ReadSeeker
	dataOffset int64
	// stream is the rest of a non-seekable source, positioned at the data set.
	stream io.Reader
	// rewrite is set when the data set must be re-encoded even in its own
	// syntax: it holds File Meta elements (a second File Meta group some
	// tools prepend), which a data set must not carry, or it has odd length.
	rewrite bool
}

type seekReaderAt interface {
	io.Reader
	io.ReaderAt
	io.Seeker
}

// openSource parses r enough to send it. A seekable r (an *os.File, a
// blob.Reader) is parsed with bulk data left in place, and can be
// converted to another native syntax; any other reader must be a Part 10
// file with a File Meta group length, and is sent as it is.
func openSource(r io.Reader) (*source, error) {
	if s, ok := r.(seekReaderAt); ok {
		return openSeekable(s)
	}
	return openStream(r)
}

func openSeekable(r seekReaderAt) (*source, error) {
	size, err := r.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, fmt.Errorf("dimse: %w", err)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("dimse: %w", err)
	}
	// Only the headers matter here; nesting as deep as a file holds is fine.
	f, err := dicom.Read(r, size, dicom.ReadOptions{MaxDepth: 1 << 12})
	if errors.Is(err, dicom.ErrTooDeep) {
		// Too deep to parse here, but a Part 10 file can still be sent
		// as it is: its File Meta says what it is.
		if _, serr := r.Seek(0, io.SeekStart); serr == nil {
			if s, serr := openStream(r); serr == nil {
				return s, nil
			}
		}
	}
	if err != nil {
		return nil, err
	}
	s := &source{file: f, ra: r, rs: r, dataOffset: f.DatasetOffset}
	if f.Meta != nil && len(f.Meta.Elements) > 0 {
		last := f.Meta.Elements[len(f.Meta.Elements)-1]
		s.dataOffset = last.Offset + int64(last.Length)
		s.SOPClassUID = f.Meta.String(dicom.TagMediaStorageSOPClassUID)
		s.SOPInstanceUID = f.Meta.String(dicom.TagMediaStorageSOPInstanceUID)
	}
	if v := f.Dataset.String(dicom.TagSOPClassUID); v != "" {
		s.SOPClassUID = v
	}
	if v := f.Dataset.String(dicom.TagSOPInstanceUID); v != "" {
		s.SOPInstanceUID = v
	}
	for _, e := range f.Dataset.Elements {
		if e.Tag.Group() == 0x0002 {
			s.rewrite = true
			break
		}
	}
	if (size-s.dataOffset)%2 == 1 && !dicom.IsEncapsulated(f.TransferSyntax) && !encodingOf(f.TransferSyntax).Deflated {
		// An odd-length native data set (an odd value somewhere): the
		// writer pads values to even length, where a trailing NUL would
		// leave the receiver half a tag.
		s.rewrite = true
	}
	s.TransferSyntax = f.TransferSyntax
	if !dicom.IsEncapsulated(f.TransferSyntax) || f.Dataset.Encoding.Implicit || f.Dataset.Encoding.BigEndian {
		// The reader tells the real encoding of mislabelled files.
		enc := f.Dataset.Encoding
		enc.Deflated = encodingOf(f.TransferSyntax).Deflated
		if enc != encodingOf(f.TransferSyntax) {
			s.TransferSyntax = syntaxOf(enc)
		}
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *source) check() error {
	if s.SOPClassUID == "" || s.SOPInstanceUID == "" {
		return fmt.Errorf("dimse: instance lacks SOP Class or SOP Instance UID: %w", dicom.ErrMalformed)
	}
	if s.TransferSyntax == "" {
		return fmt.Errorf("dimse: instance has no transfer syntax: %w", dicom.ErrMalformed)
	}
	return nil
}

// openStream reads the preamble and File Meta group of a Part 10 stream.
func openStream(r io.Reader) (*source, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head := make([]byte, 132+12)
	if _, err := io.ReadFull(br, head); err != nil {
		return nil, fmt.Errorf("dimse: reading the file header: %w", err)
	}
	if string(head[128:132]) != "DICM" {
		return nil, fmt.Errorf("dimse: a non-seekable source must be a Part 10 file: %w", dicom.ErrNotDICOM)
	}
	gl := head[132:]
	if !bytes.Equal(gl[:8], []byte{0x02, 0, 0, 0, 'U', 'L', 4, 0}) {
		return nil, fmt.Errorf("dimse: a non-seekable source needs a File Meta group length: %w", dicom.ErrMalformed)
	}
	n := binary.LittleEndian.Uint32(gl[8:])
	if n > 64<<10 {
		return nil, fmt.Errorf("dimse: File Meta group of %d bytes: %w", n, dicom.ErrTooLarge)
	}
	meta := make([]byte, n)
	if _, err := io.ReadFull(br, meta); err != nil {
		return nil, fmt.Errorf("dimse: reading File Meta: %w", err)
	}
	ds, err := dicom.ReadDataset(bytes.NewReader(meta), int64(n), dicom.EncodingExplicitLE, dicom.ReadOptions{LoadBulk: true})
	if err != nil {
		return nil, err
	}
	s := &source{
		SOPClassUID:    ds.String(dicom.TagMediaStorageSOPClassUID),
		SOPInstanceUID: ds.String(dicom.TagMediaStorageSOPInstanceUID),
		TransferSyntax: ds.String(dicom.TagTransferSyntaxUID),
		stream:         br,
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	return s, nil
}

// canConvert reports whether the source can be re-encoded in ts.
func (s *source) canConvert(ts string) bool {
	return s.file != nil && isNative(s.TransferSyntax) && isNative(ts)
}

// chooseContext picks the accepted presentation context for s: one in
// its own syntax, else (when it can be converted) one in another native
// syntax, in the order of nativeSyntaxes. With needSCP, only contexts where
// the requestor took the SCP role count (C-GET sub-operations).
func chooseContext(a *ul.Association, s *source, needSCP bool) (ul.PresentationContext, error) {
	var convertible []ul.PresentationContext
	for _, pc := range a.Contexts() {
		if !pc.Accepted() || pc.AbstractSyntax != s.SOPClassUID || needSCP && !pc.SCPRole {
			continue
		}
		if pc.TransferSyntax == s.TransferSyntax {
			return pc, nil
		}
		if s.canConvert(pc.TransferSyntax) {
			convertible = append(convertible, pc)
		}
	}
	if len(convertible) == 0 {
		return ul.PresentationContext{}, fmt.Errorf("%w: SOP class %s in %s", ErrNoContext, s.SOPClassUID, s.TransferSyntax)
	}
	slices.SortStableFunc(convertible, func(x, y ul.PresentationContext) int {
		return slices.Index(nativeSyntaxes, x.TransferSyntax) - slices.Index(nativeSyntaxes, y.TransferSyntax)
	})
	return convertible[0], nil
}

// writeData writes the data set in ts: the source bytes when ts is the
// source's syntax, a re-encoding otherwise.
func (s *source) writeData(w io.Writer, ts string) error {
	if ts == s.TransferSyntax && !s.rewrite {
		if s.stream != nil {
			_, err := io.Copy(w, s.stream)
			return err
		}
		if _, err := s.rs.Seek(s.dataOffset, io.SeekStart); err != nil {
			return err
		}
		_, err := io.Copy(w, s.rs)
		return err
	}
	if ts != s.TransferSyntax && !s.canConvert(ts) {
		return fmt.Errorf("dimse: cannot convert %s to %s", s.TransferSyntax, ts)
	}
	ds := s.file.Dataset
	ds.Elements = slices.DeleteFunc(ds.Elements, func(e *dicom.Element) bool { return e.Tag.Group() == 0x0002 })
	dropGroupLengths(ds)
	return dicom.WriteDataset(w, ds, encodingOf(ts), dicom.WriteOptions{Bulk: s.ra})
}

// dropGroupLengths removes (gggg,0000) elements, whose values a change of
// encoding would falsify (they are retired in data sets anyway).
func dropGroupLengths(ds *dicom.Dataset) {
	ds.Elements = slices.DeleteFunc(ds.Elements, func(e *dicom.Element) bool { return e.Tag.IsGroupLength() })
	for _, e := range ds.Elements {
		for _, it := range e.Items {
			dropGroupLengths(it)
		}
	}
}

// storageProposal returns the presentation context to propose for
// instances of a SOP class stored in ts: the stored syntax, plus Explicit
// and Implicit VR Little Endian when the data is native (convertible).
func storageProposal(sopClass, ts string) ul.ContextRQ {
	return storageProposalConv(sopClass, ts, false)
}

// storageProposalConv is storageProposal, with Explicit and Implicit VR
// Little Endian also offered for compressed data when convertible (the
// instance has a Convert hook).
func storageProposalConv(sopClass, ts string, convertible bool) ul.ContextRQ {
	syntaxes := []string{ts}
	if isNative(ts) || convertible {
		for _, alt := range []string{dicom.ExplicitVRLittleEndian, dicom.ImplicitVRLittleEndian} {
			if alt != ts {
				syntaxes = append(syntaxes, alt)
			}
		}
	}
	return ul.ContextRQ{AbstractSyntax: sopClass, TransferSyntaxes: syntaxes}
}

// StorageContexts returns presentation contexts to propose for sending
// instances of the given (SOP class, transfer syntax) pairs, one per
// distinct pair, in first-seen order. Native syntaxes are offered with
// Explicit and Implicit VR Little Endian as alternatives.
func StorageContexts(pairs ...[2]string) []ul.ContextRQ {
	seen := map[[2]string]bool{}
	var out []ul.ContextRQ
	for _, p := range pairs {
		if seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, storageProposal(p[0], p[1]))
	}
	return out
}

// InstanceFromFile probes the DICOM file at path (headers only) and returns
// it as an Instance to send, opened again when sent.
func InstanceFromFile(path string) (Instance, error) {
	f, err := os.Open(path)
	if err != nil {
		return Instance{}, fmt.Errorf("dimse: %w", err)
	}
	defer f.Close()
	s, err := openSeekable(f)
	if err != nil {
		return Instance{}, err
	}
	return Instance{
		SOPClassUID:    s.SOPClassUID,
		SOPInstanceUID: s.SOPInstanceUID,
		TransferSyntax: s.TransferSyntax,
		Open: func(context.Context) (InstanceReader, error) {
			f, err := os.Open(path)
			if err != nil {
				return nil, fmt.Errorf("dimse: %w", err)
			}
			return f, nil
		},
	}, nil
}

// ContextsFor returns the presentation contexts to propose for sending
// the instances (see StorageContexts); compressed instances with a
// Convert hook are also offered in Explicit and Implicit VR Little Endian.
func ContextsFor(instances []Instance) []ul.ContextRQ {
	index := map[[2]string]int{}
	var out []ul.ContextRQ
	for _, inst := range instances {
		p := [2]string{inst.SOPClassUID, syntaxOrDefault(inst.TransferSyntax)}
		conv := inst.Convert != nil && !isNative(p[1])
		i, ok := index[p]
		if !ok {
			index[p] = len(out)
			out = append(out, storageProposalConv(p[0], p[1], conv))
			continue
		}
		if conv && len(out[i].TransferSyntaxes) == 1 {
			out[i] = storageProposalConv(p[0], p[1], true)
		}
	}
	return out
}

// ChunkInstances splits instances, keeping their order, into groups whose
// presentation contexts (ContextsFor) fit in one association.
func ChunkInstances(instances []Instance) [][]Instance { return chunkByContexts(instances) }
