package dicomweb

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/lightbox-pacs/lightbox/codec"
	"github.com/lightbox-pacs/lightbox/dicom"
)

type transcodeStep struct {
	Name         string           `json:"name"`
	Call         string           `json:"call"`
	Study        string           `json:"study"`
	Series       string           `json:"series"`
	Instance     string           `json:"instance"`
	FrameNumbers []int            `json:"frameNumbers,omitempty"`
	MediaTypes   []map[string]any `json:"mediaTypes,omitempty"`
}

type transcodeResult struct {
	Parts []struct {
		File   string `json:"file"`
		Length int    `json:"length"`
	} `json:"parts"`
	Error  string `json:"error"`
	Status int    `json:"status"`
}

// TestRealClientTranscode drives transfer syntax negotiation with the
// dicomweb-client npm package under Node: retrieveInstance and
// retrieveInstanceFrames with mediaTypes carrying a transferSyntaxUID
// (RLE, JPEG-LS, JPEG 2000, JPEG baseline), native to compressed and
// compressed to compressed, and retrieveInstanceFramesRendered of several
// frames. What the client received is decoded with Lightbox's codecs and
// compared with the source pixels, bit for bit for lossless syntaxes.
func TestRealClientTranscode(t *testing.T) {
	dir := clientDir(t)
	ctFile, mrFile, rgbFile, mfFile := "transfer-syntax/ge-ct-evrle.dcm", "mr/philips-mr4-jpegls-lossless.dcm", "sc/sc-rgb-evrle.dcm", "multiframe/enhanced-mr-10f.dcm"
	fx := newFixture(t, fixtureOpts{opts: Options{Transcoder: CodecTranscoder{}}}, ctFile, mrFile, rgbFile, mfFile)
	byPath := map[string]corpusFile{}
	for _, cf := range fx.files {
		byPath[cf.path] = cf
	}
	mt := func(media, ts string) []map[string]any {
		return []map[string]any{{"mediaType": media, "transferSyntaxUID": ts}}
	}
	type check struct {
		file   string
		ts     string // syntax the parts must decode from
		frames []int  // frames asked for; nil = whole instance
		lossy  bool
	}
	var steps []transcodeStep
	checks := map[string]check{}
	add := func(name, call, file string, frames []int, media []map[string]any, c check) {
		r := refOf(byPath[file])
		steps = append(steps, transcodeStep{Name: name, Call: call, Study: r.Study, Series: r.Series, Instance: r.Instance, FrameNumbers: frames, MediaTypes: media})
		c.file, c.frames = file, frames
		checks[name] = c
	}
	add("ct-jls", "retrieveInstance", ctFile, nil, mt("application/dicom", dicom.JPEGLSLossless), check{ts: dicom.JPEGLSLossless})
	add("ct-rle", "retrieveInstance", ctFile, nil, mt("application/dicom", dicom.RLELossless), check{ts: dicom.RLELossless})
	add("mr-j2k", "retrieveInstance", mrFile, nil, mt("application/dicom", dicom.JPEG2000Lossless), check{ts: dicom.JPEG2000Lossless})
	add("rgb-jpeg", "retrieveInstance", rgbFile, nil, mt("application/dicom", dicom.JPEGBaseline8Bit), check{ts: dicom.JPEGBaseline8Bit, lossy: true})
	add("mf-frames-jls", "retrieveInstanceFrames", mfFile, []int{1, 4, 10}, mt("image/jls", dicom.JPEGLSLossless), check{ts: dicom.JPEGLSLossless})
	add("mr-frames-rle", "retrieveInstanceFrames", mrFile, []int{1}, mt("image/x-dicom-rle", dicom.RLELossless), check{ts: dicom.RLELossless})
	add("ct-frames-jp2", "retrieveInstanceFrames", ctFile, []int{1}, mt("image/jp2", dicom.JPEG2000Lossless), check{ts: dicom.JPEG2000Lossless})
	add("mf-rendered", "retrieveInstanceFramesRendered", mfFile, []int{2, 3}, []map[string]any{{"mediaType": "image/png"}}, check{})

	out := t.TempDir()
	planPath := filepath.Join(out, "plan.json")
	pb, _ := json.Marshal(map[string]any{"url": fx.base, "outDir": out, "steps": steps})
	if err := os.WriteFile(planPath, pb, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "transcode.mjs", planPath)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	res, err := cmd.Output()
	if err != nil {
		t.Fatalf("node transcode.mjs: %v\n%s", err, stderr.String())
	}
	var got map[string]transcodeResult
	if err := json.Unmarshal(res, &got); err != nil {
		t.Fatalf("client output: %v\n%s", err, res)
	}
	for _, st := range steps {
		t.Run(st.Name, func(t *testing.T) {
			r, c := got[st.Name], checks[st.Name]
			if r.Error != "" {
				t.Fatalf("client: %s (status %d)", r.Error, r.Status)
			}
			cf := byPath[c.file]
			want, info := sourcePixels(t, cf.f, cf.data)
			parts := make([][]byte, len(r.Parts))
			for i, p := range r.Parts {
				if parts[i], err = os.ReadFile(p.File); err != nil {
					t.Fatal(err)
				}
			}
			switch {
			case st.Call == "retrieveInstanceFramesRendered":
				if len(parts) != len(c.frames) {
					t.Fatalf("%d rendered parts, want %d", len(parts), len(c.frames))
				}
				for i, n := range c.frames {
					img, err := png.Decode(bytes.NewReader(parts[i]))
					if err != nil {
						t.Fatalf("part %d: %v", i+1, err)
					}
					ref := decodeImage(t, fx.get(instPath(cf)+"/frames/"+strconv.Itoa(n)+"/rendered", "Accept: image/png"), "image/png")
					if d := meanAbsDiff(img, ref); d != 0 {
						t.Errorf("rendered frame %d differs from frames/%d/rendered by %.2f", n, n, d)
					}
				}
			case c.frames == nil:
				if len(parts) != 1 {
					t.Fatalf("%d parts", len(parts))
				}
				frames := checkInstance(t, parts[0], c.ts, cf, c.lossy)
				tol := 0
				if c.lossy {
					tol = -1
				}
				compareFrames(t, want, frames, info, tol)
			default:
				if len(parts) != len(c.frames) {
					t.Fatalf("%d frame parts, want %d", len(parts), len(c.frames))
				}
				dec, _ := codec.Lookup(c.ts)
				fi := info
				fi.NumberOfFrames = 1
				for i, n := range c.frames {
					dst := make([]byte, fi.FrameSize())
					if _, err := dec.Decode(dst, parts[i], fi); err != nil {
						t.Fatalf("frame %d: not %s: %v", n, c.ts, err)
					}
					compareFrames(t, want[n-1:n], [][]byte{dst}, info, 0)
				}
			}
		})
	}
}
