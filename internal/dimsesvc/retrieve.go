package dimsesvc

import (
	"context"
	"fmt"

	"github.com/lightbox-pacs/lightbox/dicom"

	"github.com/lightbox-pacs/lightbox/dimse"
	"github.com/lightbox-pacs/lightbox/internal/index"
)

// Move resolves a C-MOVE identifier to the stored instances to send; the
// dimse.Server sends them to the destination its AEResolver finds.
func (s *Service) Move(ctx context.Context, req *dimse.RetrieveRequest) ([]dimse.Instance, error) {
	return s.retrieve(ctx, req)
}

// Get resolves a C-GET identifier to the stored instances to send back on
// the association.
func (s *Service) Get(ctx context.Context, req *dimse.RetrieveRequest) ([]dimse.Instance, error) {
	return s.retrieve(ctx, req)
}

func (s *Service) retrieve(ctx context.Context, req *dimse.RetrieveRequest) ([]dimse.Instance, error) {
	ae := req.Association.CallingAE
	if !s.allowed(ctx, ae, svcRetrieve) {
		return nil, notAuthorized(ae, svcRetrieve)
	}
	level, ms, se := retrieveMatches(req.SOPClassUID, req.Identifier)
	if se != nil {
		s.log.Info("retrieve refused", "calling", ae, "status", se.Status, "comment", se.Comment)
		return nil, se
	}
	var out []dimse.Instance
	err := s.arch.Index().Each(ctx, index.Query{Level: index.InstanceLevel, Matches: ms}, func(rec index.InstanceRecord) error {
		out = append(out, s.instance(rec.Instance))
		return nil
	})
	if err != nil {
		return nil, queryError(err)
	}
	s.log.Info("retrieve", "calling", ae, "destination", req.Destination, "level", level, "keys", describe(ms), "instances", len(out))
	return out, nil
}

// instance makes a stored instance sendable: its blob is opened when the
// sub-operation runs. A compressed instance the codec registry can decode
// can also be converted to Explicit VR Little Endian, for a peer that
// accepts no compressed syntax.
func (s *Service) instance(in index.Instance) dimse.Instance {
	key, storedTS := in.BlobKey, in.TransferSyntaxUID
	inst := dimse.Instance{
		SOPClassUID:    in.SOPClassUID,
		SOPInstanceUID: in.SOPInstanceUID,
		TransferSyntax: storedTS,
		Open: func(ctx context.Context) (dimse.InstanceReader, error) {
			return s.arch.Blobs().Open(ctx, key)
		},
	}
	if canDecompress(storedTS) {
		inst.Convert = func(ctx context.Context, ts string) (dimse.InstanceReader, error) {
			if ts != dicom.ExplicitVRLittleEndian {
				return nil, fmt.Errorf("dimsesvc: cannot convert %s to %s", key, ts)
			}
			return s.decompress(ctx, key, storedTS)
		}
	}
	return inst
}
