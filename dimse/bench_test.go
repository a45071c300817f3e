package dimse

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// BenchmarkStoreIngest measures C-STORE over the protocol path: the Client
// sends synthetic CT-sized instances (~380 kB) to the Server, whose
// handler writes each to a file and fsyncs it before answering (one fsync
// per instance: group commit belongs to the archive); the fsync=false
// variants discard the data set, measuring the protocol path alone. Run with
//
//	go test -run '^$' -bench StoreIngest -benchtime 2000x ./dimse
func BenchmarkStoreIngest(b *testing.B) {
	instance := syntheticCT(b, 436, 436) // 436*436*2 bytes of pixels: ~380 kB
	for _, bc := range []struct {
		assocs int
		fsync  bool
	}{{1, true}, {4, true}, {1, false}, {4, false}} {
		assocs := bc.assocs
		b.Run(fmt.Sprintf("associations=%d/fsync=%v", bc.assocs, bc.fsync), func(b *testing.B) {
			dir := b.TempDir()
			s := &Server{Store: StoreHandlerFunc(func(ctx context.Context, req *StoreRequest, data io.Reader) Result {
				if !bc.fsync {
					io.Copy(io.Discard, data)
					return Result{}
				}
				return fsyncStore(dir, req, data)
			}), Logger: testLogger(b)}
			addr := serve(b, s)
			clients := make([]*Client, assocs)
			for i := range clients {
				clients[i] = dialFor(b, addr, nil, func(cfg *ClientConfig) {
					cfg.Contexts = append(cfg.Contexts, StorageContexts([2]string{ctImageStorage, dicom.ExplicitVRLittleEndian})...)
				})
			}
			b.SetBytes(int64(len(instance)))
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			errs := make(chan error, assocs)
			for i, c := range clients {
				n := b.N / assocs
				if i < b.N%assocs {
					n++
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := 0; j < n; j++ {
						if _, err := c.Store(context.Background(), &seekableBytes{b: instance}); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "inst/s")
			for _, c := range clients {
				c.Release(context.Background())
			}
		})
	}
}

// fsyncStore writes the instance as a Part 10 file, fsyncs it, and
// removes it again (keeping the disk from filling during long runs).
func fsyncStore(dir string, req *StoreRequest, data io.Reader) Result {
	f, err := os.CreateTemp(dir, "bench-*.dcm")
	if err != nil {
		return Result{Status: StatusOutOfResources, ErrorComment: err.Error()}
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := req.WriteFileHeader(f); err != nil {
		return Result{Status: StatusOutOfResources, ErrorComment: err.Error()}
	}
	if _, err := io.Copy(f, data); err != nil {
		return Result{Status: StatusOutOfResources, ErrorComment: err.Error()}
	}
	if err := f.Sync(); err != nil {
		return Result{Status: StatusOutOfResources, ErrorComment: err.Error()}
	}
	return Result{}
}

// syntheticCT returns a Part 10 CT instance with rows x cols 16-bit pixels.
func syntheticCT(tb testing.TB, rows, cols int) []byte {
	ds := dicom.NewDataset()
	str := func(tag dicom.Tag, vr dicom.VR, v string) { ds.Set(dicom.NewStringElement(tag, vr, v)) }
	us := func(tag dicom.Tag, v uint16) {
		ds.Set(&dicom.Element{Tag: tag, VR: dicom.US, Value: []byte{byte(v), byte(v >> 8)}})
	}
	str(dicom.TagSOPClassUID, dicom.UI, ctImageStorage)
	str(dicom.TagSOPInstanceUID, dicom.UI, "1.2.826.0.1.3680043.8.498.1")
	str(dicom.TagStudyDate, dicom.DA, "20240101")
	str(dicom.TagModality, dicom.CS, "CT")
	str(dicom.TagPatientName, dicom.PN, "Bench^Mark")
	str(dicom.TagPatientID, dicom.LO, "BENCH1")
	str(dicom.TagStudyInstanceUID, dicom.UI, "1.2.826.0.1.3680043.8.498.2")
	str(dicom.TagSeriesInstanceUID, dicom.UI, "1.2.826.0.1.3680043.8.498.3")
	us(dicom.TagSamplesPerPixel, 1)
	str(0x00280004, dicom.CS, "MONOCHROME2")
	us(dicom.TagRows, uint16(rows))
	us(dicom.TagColumns, uint16(cols))
	us(dicom.TagBitsAllocated, 16)
	us(dicom.TagBitsStored, 12)
	us(0x00280102, 11)
	us(dicom.TagPixelRepresentation, 0)
	px := make([]byte, rows*cols*2)
	for i := range px {
		px[i] = byte(i * 7)
	}
	ds.Set(&dicom.Element{Tag: dicom.TagPixelData, VR: dicom.OW, Value: px})
	var buf bytes.Buffer
	if err := dicom.WriteFile(&buf, ds, dicom.ExplicitVRLittleEndian, dicom.WriteOptions{}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
