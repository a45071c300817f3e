package all

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

// benchFiles are the corpus CT/MR/CR/MG/XA images the decode benchmarks
// use: the same 512x512 CT in every syntax, then larger and multi-frame
// images.
var benchFiles = []string{
	"transfer-syntax/ge-ct-evrle.dcm",
	"transfer-syntax/ge-ct-rle.dcm",
	"transfer-syntax/ge-ct-jpeg-baseline-50.dcm",
	"transfer-syntax/ge-ct-jpeg-extended-51.dcm",
	"transfer-syntax/ge-ct-jpeg-lossless-57.dcm",
	"transfer-syntax/ge-ct-jpeg-lossless-sv1-70.dcm",
	"transfer-syntax/ge-ct-jpegls-lossless-80.dcm",
	"transfer-syntax/ge-ct-jpegls-near-81.dcm",
	"transfer-syntax/ge-ct-j2k-lossless-90.dcm",
	"transfer-syntax/ge-ct-j2k-91.dcm",
	"mr/philips-mr4-jpegls-lossless.dcm",
	"mr/ge-mr3-rle.dcm",
	"cr-dx/konica-cr-mono1-jpeg.dcm",
	"cr-dx/fuji-cr-rg2-j2k-lossy.dcm",
	"mg/ge-mg-senographe-jpegll.dcm",
	"xa-rf/siemens-xa-96f-jpeg.dcm",
	"transfer-syntax/htj2k-lossless-rgb-201.dcm",
	"transfer-syntax/jpegxl-ge-us-27f-111.dcm",
}

// BenchmarkDecode measures Lightbox's decode throughput: every frame of
// the file per iteration, into a reused buffer, reading compressed frames
// from the (cached) file. Reports frames/s and megapixels/s.
func BenchmarkDecode(b *testing.B) {
	root := testenv.CorpusDir(b)
	for _, rel := range benchFiles {
		b.Run(rel, func(b *testing.B) {
			path := filepath.Join(root, rel)
			f, err := dicom.ReadFile(path, dicom.ReadOptions{})
			if err != nil {
				b.Fatal(err)
			}
			src, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			defer src.Close()
			p, err := codec.Open(f.Dataset, f.TransferSyntax, src, codec.Options{})
			if err != nil {
				b.Fatal(err)
			}
			dst := make([]byte, p.Info.FrameSize())
			b.SetBytes(p.Info.FrameSize() * int64(p.NumFrames()))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for k := 0; k < p.NumFrames(); k++ {
					if _, err := p.FrameInto(dst, k); err != nil {
						b.Fatal(err)
					}
				}
			}
			reportRates(b, p.Info, b.Elapsed())
		})
	}
}

func reportRates(b *testing.B, info codec.PixelInfo, elapsed time.Duration) {
	frames := float64(b.N) * float64(info.NumberOfFrames)
	s := elapsed.Seconds()
	b.ReportMetric(frames/s, "frames/s")
	b.ReportMetric(frames*float64(info.Pixels())/1e6/s, "Mpx/s")
}

// BenchmarkReference runs the reference command-line decoder (DCMTK's
// dcmdjpeg, dcmdjpls, dcmdrle; GDCM's gdcmconv for JPEG 2000) on the same
// files, one process per iteration: process start-up and writing the
// output file are included, so the "uncompressed" row (dcmconv copying the
// native file) is the fixed cost to subtract.
func BenchmarkReference(b *testing.B) {
	root := testenv.CorpusDir(b)
	dir := b.TempDir()
	for _, rel := range benchFiles {
		path := filepath.Join(root, rel)
		f, err := dicom.ReadFile(path, dicom.ReadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		tool, args := referenceCommand(f.TransferSyntax)
		if tool == "" {
			continue
		}
		info, err := codec.ReadPixelInfo(f.Dataset)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(rel+"/"+tool, func(b *testing.B) {
			bin := testenv.RequireTool(b, tool)
			out := filepath.Join(dir, "out.dcm")
			for i := 0; i < b.N; i++ {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				cmd := exec.CommandContext(ctx, bin, append(args, path, out)...)
				if msg, err := cmd.CombinedOutput(); err != nil {
					cancel()
					b.Fatalf("%s: %v\n%s", tool, err, msg)
				}
				cancel()
			}
			reportRates(b, info, b.Elapsed())
		})
	}
}

func referenceCommand(ts string) (string, []string) {
	switch tool := refTool(ts); tool {
	case "pydicom":
		return "dcmconv", []string{"+te"}
	case "dcmdjpeg", "dcmdjpls", "dcmdrle":
		return tool, nil
	case "gdcmconv":
		return tool, []string{"--raw"}
	}
	return "", nil
}

// BenchmarkEncode measures the encoders on one decoded frame: the
// 512x512 signed 16-bit CT for the syntaxes that take signed samples, and
// a 320x240 unsigned 12-bit MR for every encoder. Reports frames/s,
// megapixels/s and the compression ratio.
//
//	go test -run '^$' -bench Encode -benchtime 20x ./codec/all/
func BenchmarkEncode(b *testing.B) {
	root := testenv.CorpusDir(b)
	for _, c := range []struct {
		rel string
		tss []string
	}{
		{"transfer-syntax/ge-ct-evrle.dcm", []string{dicom.RLELossless, dicom.JPEGLSLossless, dicom.JPEG2000Lossless, dicom.JPEGLosslessSV1}},
		{"mr/siemens-mr-im631.dcm", []string{dicom.RLELossless, dicom.JPEGLSLossless, dicom.JPEG2000Lossless, dicom.JPEGLosslessSV1,
			dicom.JPEGExtended12Bit, dicom.JPEGXLLossless, dicom.JPEGXL}},
	} {
		path := filepath.Join(root, c.rel)
		f, err := dicom.ReadFile(path, dicom.ReadOptions{LoadBulk: true})
		if err != nil {
			b.Fatal(err)
		}
		p, err := codec.Open(f.Dataset, f.TransferSyntax, nil, codec.Options{})
		if err != nil {
			b.Fatal(err)
		}
		frame, info, err := p.Frame(0)
		if err != nil {
			b.Fatal(err)
		}
		for _, ts := range c.tss {
			enc, ok := codec.LookupEncoder(ts)
			if !ok {
				b.Fatalf("no encoder for %s", ts)
			}
			b.Run(filepath.Base(c.rel)+"/"+ts, func(b *testing.B) {
				var n int
				b.SetBytes(int64(len(frame)))
				for b.Loop() {
					out, _, err := enc.Encode(frame, info, codec.EncodeOptions{})
					if err != nil {
						b.Fatal(err)
					}
					n = len(out)
				}
				reportRates(b, info, b.Elapsed())
				b.ReportMetric(float64(len(frame))/float64(n), "ratio")
			})
		}
	}
}
