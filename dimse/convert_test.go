package dimse

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// TestContextsForConvertible: compressed instances with a Convert hook are
// also proposed in Explicit and Implicit VR Little Endian.
func TestContextsForConvertible(t *testing.T) {
	conv := func(context.Context, string) (InstanceReader, error) { return nil, os.ErrNotExist }
	tests := []struct {
		name      string
		instances []Instance
		want      [][]string
	}{
		{"compressed, no hook", []Instance{{SOPClassUID: "1.2", TransferSyntax: dicom.RLELossless}},
			[][]string{{dicom.RLELossless}}},
		{"compressed, hook", []Instance{{SOPClassUID: "1.2", TransferSyntax: dicom.RLELossless, Convert: conv}},
			[][]string{{dicom.RLELossless, dicom.ExplicitVRLittleEndian, dicom.ImplicitVRLittleEndian}}},
		{"hook on a later instance of the pair", []Instance{
			{SOPClassUID: "1.2", TransferSyntax: dicom.RLELossless},
			{SOPClassUID: "1.2", TransferSyntax: dicom.RLELossless, Convert: conv}},
			[][]string{{dicom.RLELossless, dicom.ExplicitVRLittleEndian, dicom.ImplicitVRLittleEndian}}},
		{"native", []Instance{{SOPClassUID: "1.2", TransferSyntax: dicom.ImplicitVRLittleEndian, Convert: conv}},
			[][]string{{dicom.ImplicitVRLittleEndian, dicom.ExplicitVRLittleEndian}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got [][]string
			for _, c := range ContextsFor(tt.instances) {
				got = append(got, c.TransferSyntaxes)
			}
			if !slices.EqualFunc(got, tt.want, slices.Equal) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestGetConvert: a requestor accepting only Explicit VR Little Endian gets
// a compressed instance through its Convert hook; without one the
// sub-operation fails (A702) and the instance is listed as failed.
func TestGetConvert(t *testing.T) {
	dir := filepath.Join(testenv.CorpusDir(t), "transfer-syntax")
	inst, err := InstanceFromFile(filepath.Join(dir, "ge-ct-rle.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	var asked []string
	withHook := inst
	withHook.Convert = func(_ context.Context, ts string) (InstanceReader, error) {
		asked = append(asked, ts)
		return os.Open(filepath.Join(dir, "ge-ct-evrle.dcm"))
	}
	for _, tt := range []struct {
		name string
		inst Instance
		ok   bool
	}{{"hook", withHook, true}, {"no hook", inst, false}} {
		t.Run(tt.name, func(t *testing.T) {
			asked = nil
			addr := serve(t, &Server{Get: GetHandlerFunc(func(ctx context.Context, req *RetrieveRequest) ([]Instance, error) {
				return []Instance{tt.inst}, nil
			})})
			ctxs, roles := GetContexts([]string{inst.SOPClassUID}, []string{dicom.ExplicitVRLittleEndian})
			c := dialFor(t, addr, nil, func(cfg *ClientConfig) {
				cfg.Contexts = append(append(cfg.Contexts, QueryRetrieveContexts(StudyRootGet)...), ctxs...)
				cfg.Roles = roles
			})
			recv := newDiskStore(t)
			res, err := c.Get(context.Background(), StudyRootGet, patient("*", ""), recv, nil)
			if tt.ok {
				if err != nil || res.Status != StatusSuccess || res.SubOps.Completed != 1 || recv.n.Load() != 1 {
					t.Errorf("result %+v, err %v, received %d", res, err, recv.n.Load())
				}
				if !slices.Equal(asked, []string{dicom.ExplicitVRLittleEndian}) {
					t.Errorf("Convert asked for %q", asked)
				}
				return
			}
			if res.Status != StatusOutOfResourcesSubOps || res.SubOps.Failed != 1 || recv.n.Load() != 0 ||
				!slices.Equal(res.FailedSOPInstanceUIDs, []string{inst.SOPInstanceUID}) {
				t.Errorf("result %+v, err %v, received %d", res, err, recv.n.Load())
			}
		})
	}
}
