package dimsesvc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/dimse"
)

// This file re-encodes a stored compressed instance in Explicit VR Little
// Endian for a peer that accepts none of its compressed syntax: the
// conversion C-MOVE and C-GET offer once package dimse can ask for it
// (see the package doc: until then instances are sent as stored, or in
// another uncompressed syntax when stored uncompressed).

// canDecompress reports whether instances stored in ts can be converted
// to Explicit VR Little Endian through the codec registry.
func canDecompress(ts string) bool {
	return dicom.IsEncapsulated(ts) && codec.CanDecode(ts)
}

// decompress returns the stored instance under key, stored in storedTS,
// as a Part 10 file in Explicit VR Little Endian. Frames are decoded one
// by one into memory (the native pixel data of one instance) and the file
// is written to a temporary file, removed when the reader is closed.
func (s *Service) decompress(ctx context.Context, key, storedTS string) (dimse.InstanceReader, error) {
	src, err := s.arch.Blobs().Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	f, err := dicom.Read(src, src.Size(), dicom.ReadOptions{})
	if err != nil {
		return nil, fmt.Errorf("dimsesvc: decompress %s: %w", key, err)
	}
	ts := f.TransferSyntax
	if ts == "" {
		ts = storedTS
	}
	out, err := codec.Transcode(f.Dataset, ts, src, dicom.ExplicitVRLittleEndian)
	if err != nil {
		return nil, fmt.Errorf("dimsesvc: decompress %s from %s: %w", key, ts, err)
	}
	tmp, err := os.CreateTemp("", "lightbox-decompressed-*.dcm")
	if err != nil {
		return nil, fmt.Errorf("dimsesvc: decompress: %w", err)
	}
	// Unlinked at once: the open file lives until closed.
	os.Remove(tmp.Name())
	bw := bufio.NewWriterSize(tmp, 256<<10)
	err = dicom.WriteFile(bw, out, dicom.ExplicitVRLittleEndian, dicom.WriteOptions{Bulk: src})
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		_, err = tmp.Seek(0, 0)
	}
	if err != nil {
		tmp.Close()
		return nil, errors.Join(fmt.Errorf("dimsesvc: decompress %s", key), err)
	}
	return tmp, nil
}
