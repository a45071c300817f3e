package dicomweb

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// FuzzNegotiateTranscode feeds arbitrary Accept headers to the negotiation
// of instances, frames and rendered parts with the codec transcoder, and
// checks its promises: no panic; an error is a 406 with a message; every
// candidate is one the transcoder can produce; and a lossy syntax is
// never chosen unless the header names it (its UID, or image/jpeg for JPEG
// baseline frames).
func FuzzNegotiateTranscode(f *testing.F) {
	for _, s := range []string{
		"", "*/*", `multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50`,
		`multipart/related; type="image/jls"`, `multipart/related; type="image/*"; transfer-syntax=*`,
		`multipart/related; type="image/jpeg"; q=0.2, multipart/related; type="image/jp2"; q=0.9`,
		`application/dicom; transfer-syntax=1.2.840.10008.1.2.4.81`, `image/png, image/jpeg;q=0.1`,
		`multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.5`,
		`multipart/related; type="image/x-dicom-rle", multipart/related; type=image/jls;transfer-syntax="1.2.840.10008.1.2.4.80"`,
	} {
		f.Add(s)
	}
	s := New(nil, Options{Transcoder: CodecTranscoder{}})
	stored := []string{dicom.ExplicitVRLittleEndian, dicom.JPEGLSLossless, dicom.JPEG2000, dicom.RLELossless}
	check406 := func(t *testing.T, what string, err error) {
		var he *HTTPError
		if !errors.As(err, &he) || he.Status != http.StatusNotAcceptable || he.Msg == "" {
			t.Fatalf("%s: error %v, want a 406 with a message", what, err)
		}
	}
	named := func(h, ts string) bool { return strings.Contains(h, ts) }
	f.Fuzz(func(t *testing.T, h string) {
		cands, err := s.negotiateDICOM(h, stored, true)
		if err != nil {
			check406(t, "instances", err)
		}
		for _, c := range cands {
			if c.ts == "" {
				continue
			}
			for _, from := range stored {
				if from != c.ts && !s.opts.Transcoder.CanTranscode(from, c.ts) {
					t.Fatalf("instance candidate %s cannot be made from %s", c.ts, from)
				}
			}
			if isLossy(c.ts) && !named(h, c.ts) {
				t.Fatalf("lossy %s chosen from %q", c.ts, h)
			}
		}
		for _, ts := range stored {
			fc, err := s.negotiateFrames(h, ts, false)
			if err != nil {
				check406(t, "frames", err)
			}
			for _, c := range fc {
				if c.single {
					t.Fatalf("single part candidate for several frames: %+v", c)
				}
				if c.transTo != "" && !s.opts.Transcoder.CanTranscode(ts, c.transTo) {
					t.Fatalf("frame candidate %s cannot be made from %s", c.transTo, ts)
				}
				if c.transTo != "" && isLossy(c.transTo) && !named(h, c.transTo) &&
					!(c.transTo == dicom.JPEGBaseline8Bit && strings.Contains(strings.ToLower(h), "image/jpeg")) {
					t.Fatalf("lossy %s chosen for frames from %q", c.transTo, h)
				}
			}
		}
		if media, err := negotiateRenderedParts(h); err != nil {
			check406(t, "rendered", err)
		} else if media != "image/jpeg" && media != "image/png" {
			t.Fatalf("rendered parts as %q", media)
		}
	})
}
