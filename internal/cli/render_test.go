package cli

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/internal/testenv"
)

func TestRender(t *testing.T) {
	dir := testenv.CorpusDir(t)
	out := t.TempDir()
	for _, tc := range []struct {
		name   string
		args   []string
		out    string
		size   image.Point
		model  string // "gray", "gray16", "rgb", "jpeg"
		errSub string
	}{
		{name: "ct png", args: []string{filepath.Join(dir, "ct/siemens-ct-issue141.dcm")}, out: "ct.png", size: image.Pt(512, 512), model: "gray"},
		{name: "flags after file", args: []string{filepath.Join(dir, "ct/siemens-ct-issue141.dcm"), "--window", "40,400", "--size", "128x128"}, out: "ct128.png", size: image.Pt(128, 128), model: "gray"},
		{name: "16-bit png", args: []string{"--depth", "16", filepath.Join(dir, "cr-dx/fuji-cr-mono1-chest.dcm")}, out: "cr16.png", size: image.Pt(440, 440), model: "gray16"},
		{name: "multiframe jpeg", args: []string{"--frame", "3", "--size", "0x100", "--quality", "80", filepath.Join(dir, "multiframe/enhanced-mr-10f.dcm")}, out: "mr.jpg", size: image.Pt(100, 100), model: "jpeg"},
		{name: "colour with overlays flag", args: []string{"--overlays", "--window", "0,10,sigmoid", filepath.Join(dir, "us/philips-us-palette.dcm")}, out: "pal.png", size: image.Pt(800, 350), model: "rgb"},
		{name: "frame out of range", args: []string{"--frame", "99", filepath.Join(dir, "ct/siemens-ct-issue141.dcm")}, out: "bad.png", errSub: "frame"},
		{name: "frame 0", args: []string{"--frame", "0", filepath.Join(dir, "ct/siemens-ct-issue141.dcm")}, out: "bad.png", errSub: "numbered from 1"},
		{name: "bad window", args: []string{"--window", "40", filepath.Join(dir, "ct/siemens-ct-issue141.dcm")}, out: "bad.png", errSub: "C,W"},
		{name: "bad size", args: []string{"--size", "12", filepath.Join(dir, "ct/siemens-ct-issue141.dcm")}, out: "bad.png", errSub: "WxH"},
		{name: "bad extension", args: []string{filepath.Join(dir, "ct/siemens-ct-issue141.dcm")}, out: "bad.gif", errSub: "extension"},
		{name: "no pixel data", args: []string{filepath.Join(dir, "edge-cases/ge-sc-no-pixel.dcm")}, out: "bad.png", errSub: "no pixel data"},
		{name: "no voi", args: []string{"--voi", "3", filepath.Join(dir, "ct/siemens-ct-issue141.dcm")}, out: "bad.png", errSub: "window 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(out, tc.out)
			_, errOut, code := runCLI(t, append([]string{"render", "-o", path}, tc.args...)...)
			if tc.errSub != "" {
				if code != 1 || !strings.Contains(errOut, tc.errSub) {
					t.Fatalf("exit %d, stderr %q; want 1 and %q", code, errOut, tc.errSub)
				}
				return
			}
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var img image.Image
			if tc.model == "jpeg" {
				img, err = jpeg.Decode(bytes.NewReader(b))
			} else {
				img, err = png.Decode(bytes.NewReader(b))
			}
			if err != nil {
				t.Fatal(err)
			}
			if img.Bounds().Size() != tc.size {
				t.Errorf("size %v, want %v", img.Bounds().Size(), tc.size)
			}
			ok := true
			switch tc.model {
			case "gray":
				_, ok = img.(*image.Gray)
			case "gray16":
				_, ok = img.(*image.Gray16)
			case "rgb":
				_, ok = img.(*image.RGBA)
			}
			if !ok {
				t.Errorf("decoded %T, want %s", img, tc.model)
			}
		})
	}
}

func TestRenderUsage(t *testing.T) {
	for _, args := range [][]string{{"render"}, {"render", "x.dcm"}, {"render", "-o", "x.png"}, {"render", "--nope"}} {
		if _, _, code := runCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestRenderStdout(t *testing.T) {
	file := filepath.Join(testenv.CorpusDir(t), "mr/toshiba-mr-small-evrle.dcm")
	stdout, errOut, code := runCLI(t, "render", "-o", "-", file)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	img, err := png.Decode(strings.NewReader(stdout))
	if err != nil || img.Bounds().Dx() != 64 {
		t.Fatalf("stdout PNG: %v %v", err, img)
	}
}
