package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	_ "github.com/lightbox-pacs/lightbox/codec/all" // every pixel codec
	"github.com/lightbox-pacs/lightbox/dicom"
	"github.com/lightbox-pacs/lightbox/imaging"
)

func init() {
	register("render", Command{Summary: "render a frame of a DICOM image to PNG or JPEG", Run: runRender})
}

// renderFlags are the options of `lightbox render`.
type renderFlags struct {
	frame    int
	window   string
	voi      int
	size     string
	out      string
	quality  int
	depth    int
	overlays bool
	shape    string
}

func runRender(_ context.Context, args []string, stdout, stderr io.Writer) int {
	var rf renderFlags
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&rf.frame, "frame", 1, "frame number, 1-based as in DICOM")
	fs.StringVar(&rf.window, "window", "", "window `C,W[,FUNCTION]` overriding the data set's (FUNCTION: linear, linear_exact, sigmoid)")
	fs.IntVar(&rf.voi, "voi", 1, "which of the data set's windows (or VOI LUTs) to use, 1-based")
	fs.StringVar(&rf.size, "size", "", "viewport `WxH` to fit the image in, keeping its aspect ratio (W or H may be 0)")
	fs.StringVar(&rf.out, "o", "", "output `file`, .png or .jpg/.jpeg (- for PNG on stdout)")
	fs.IntVar(&rf.quality, "quality", imaging.DefaultJPEGQuality, "JPEG quality 1..100")
	fs.IntVar(&rf.depth, "depth", 8, "PNG bit depth, 8 or 16")
	fs.BoolVar(&rf.overlays, "overlays", false, "draw overlay planes (60xx)")
	fs.StringVar(&rf.shape, "shape", "", "presentation LUT shape override: identity or inverse")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: lightbox render FILE [--frame N] [--window C,W] [--size WxH] -o out.png|out.jpg")
		fs.PrintDefaults()
	}
	// Accept the file before or after the flags.
	var files []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(files) != 1 || rf.out == "" {
		fs.Usage()
		return 2
	}
	if err := renderFile(files[0], rf, stdout); err != nil {
		fmt.Fprintf(stderr, "lightbox render: %s: %v\n", files[0], err)
		return 1
	}
	return 0
}

// renderOptions turns the flags into imaging options.
func (rf renderFlags) renderOptions() (imaging.Options, error) {
	opts := imaging.Options{
		Frame: rf.frame - 1, VOIIndex: rf.voi - 1, Overlays: rf.overlays, Depth: rf.depth,
		PresentationShape: strings.ToUpper(rf.shape),
	}
	if rf.frame < 1 {
		return opts, fmt.Errorf("--frame %d: frames are numbered from 1", rf.frame)
	}
	if rf.window != "" {
		parts := strings.Split(rf.window, ",")
		if len(parts) < 2 || len(parts) > 3 {
			return opts, fmt.Errorf("--window %q: want C,W[,FUNCTION]", rf.window)
		}
		c, err1 := strconv.ParseFloat(strings.TrimSpace(parts[0]), 64)
		w, err2 := strconv.ParseFloat(strings.TrimSpace(parts[1]), 64)
		if err := errors.Join(err1, err2); err != nil || w <= 0 {
			return opts, fmt.Errorf("--window %q: want numbers C,W with W > 0", rf.window)
		}
		opts.Window = &imaging.Window{Center: c, Width: w}
		if len(parts) == 3 {
			opts.Window.Function = strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(parts[2]), "-", "_"))
		}
	}
	if rf.size != "" {
		ws, hs, ok := strings.Cut(strings.ToLower(rf.size), "x")
		w, err1 := strconv.Atoi(ws)
		h, err2 := strconv.Atoi(hs)
		if !ok || err1 != nil || err2 != nil || w < 0 || h < 0 {
			return opts, fmt.Errorf("--size %q: want WxH", rf.size)
		}
		opts.Width, opts.Height = w, h
	}
	return opts, nil
}

func renderFile(path string, rf renderFlags, stdout io.Writer) (err error) {
	opts, err := rf.renderOptions()
	if err != nil {
		return err
	}
	mediaType := imaging.MediaTypePNG
	switch strings.ToLower(filepath.Ext(rf.out)) {
	case ".jpg", ".jpeg":
		mediaType = imaging.MediaTypeJPEG
	case ".png", "":
	default:
		return fmt.Errorf("-o %s: the extension must be .png, .jpg or .jpeg", rf.out)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	file, err := dicom.Read(f, st.Size(), dicom.ReadOptions{})
	if err != nil {
		return err
	}
	frame, err := imaging.DecodeFrame(file.Dataset, file.TransferSyntax, f, opts.Frame)
	if err != nil {
		return err
	}
	opts.Source = f
	img, err := imaging.Render(file.Dataset, frame, opts)
	if err != nil {
		return err
	}
	var w io.Writer = stdout
	if rf.out != "-" {
		out, err := os.Create(rf.out)
		if err != nil {
			return err
		}
		defer func() {
			if cerr := out.Close(); err == nil {
				err = cerr
			}
		}()
		w = out
	}
	bw := bufio.NewWriter(w)
	if err := imaging.Encode(bw, img, mediaType, rf.quality); err != nil {
		return err
	}
	return bw.Flush()
}
