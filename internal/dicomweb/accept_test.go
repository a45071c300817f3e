package dicomweb

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/lightbox-pacs/lightbox/dicom"
)

func TestParseAccept(t *testing.T) {
	cases := []struct {
		in   string
		want []acceptItem
	}{
		{"", []acceptItem{{typ: "*/*", q: 1}}},
		{`multipart/related; type="application/dicom"; transfer-syntax=*`, []acceptItem{{multipart: true, typ: "application/dicom", ts: "*", q: 1}}},
		// Cornerstone sends the type unquoted.
		{`multipart/related; type=application/octet-stream; transfer-syntax=*`, []acceptItem{{multipart: true, typ: "application/octet-stream", ts: "*", q: 1}}},
		{`application/json;q=0.5, application/dicom+json`, []acceptItem{{typ: "application/dicom+json", q: 1}, {typ: "application/json", q: 0.5}}},
		{`image/jpeg;q=0, */*`, []acceptItem{{typ: "*/*", q: 1}}},
		{`multipart/related; type="image/jls", multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1;q=0.9`,
			[]acceptItem{{multipart: true, typ: "image/jls", q: 1}, {multipart: true, typ: "application/octet-stream", ts: "1.2.840.10008.1.2.1", q: 0.9}}},
	}
	for _, c := range cases {
		got := parseAccept(c.in)
		if len(got) != len(c.want) {
			t.Errorf("%q: got %+v, want %+v", c.in, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%q item %d: got %+v, want %+v", c.in, i, got[i], c.want[i])
			}
		}
	}
}

func TestNegotiateFrames(t *testing.T) {
	s := New(nil, Options{})
	cases := []struct {
		accept, stored string
		one            bool
		status         int // 0: acceptable
		single         bool
		ctype          string
	}{
		{"", dicom.ExplicitVRLittleEndian, false, 0, false, "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"},
		{"", dicom.ImplicitVRLittleEndian, false, 0, false, "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"},
		{"", dicom.JPEGBaseline8Bit, false, 0, false, "image/jpeg; transfer-syntax=1.2.840.10008.1.2.4.50"},
		{`multipart/related; type=application/octet-stream; transfer-syntax=*`, dicom.JPEG2000, false, 0, false, "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.4.91"},
		{`multipart/related; type="image/jp2"`, dicom.JPEG2000, false, 0, false, "image/jp2; transfer-syntax=1.2.840.10008.1.2.4.91"},
		{`multipart/related; type="image/jpeg"`, dicom.JPEG2000, false, http.StatusNotAcceptable, false, ""},
		{`multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1`, dicom.RLELossless, false, http.StatusNotAcceptable, false, ""},
		{`application/octet-stream`, dicom.ExplicitVRLittleEndian, true, 0, true, "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"},
		{`application/octet-stream`, dicom.ExplicitVRLittleEndian, false, http.StatusNotAcceptable, false, ""},
		{`image/jls`, dicom.JPEGLSLossless, true, 0, true, "image/jls; transfer-syntax=1.2.840.10008.1.2.4.80"},
	}
	for _, c := range cases {
		got, err := s.negotiateFrames(c.accept, c.stored, c.one)
		var he *HTTPError
		switch {
		case c.status != 0:
			if !errors.As(err, &he) || he.Status != c.status {
				t.Errorf("%q on %s: got %+v, %v; want status %d", c.accept, c.stored, got, err, c.status)
			}
		case err != nil:
			t.Errorf("%q on %s: %v", c.accept, c.stored, err)
		case got[0].single != c.single || got[0].ctype != c.ctype:
			t.Errorf("%q on %s: got %+v, want single=%v ctype %q", c.accept, c.stored, got[0], c.single, c.ctype)
		}
	}
}

// TestNegotiateTranscode checks negotiation with the codec transcoder:
// compressed targets from native and compressed sources, media type
// defaults, q-value order, and lossy syntaxes only when named.
func TestNegotiateTranscode(t *testing.T) {
	s := New(nil, Options{Transcoder: CodecTranscoder{}})
	const (
		evrle = dicom.ExplicitVRLittleEndian
		jls   = dicom.JPEGLSLossless
	)
	frames := []struct {
		name, accept, stored string
		status               int      // 0: acceptable
		want                 []string // Content-Type of each candidate, in order
		trans                string   // transTo of the first candidate
	}{
		{"jls from native", `multipart/related; type="image/jls"`, evrle, 0,
			[]string{"image/jls; transfer-syntax=1.2.840.10008.1.2.4.80"}, jls},
		{"jls from j2k", `multipart/related; type="image/jls"; transfer-syntax=1.2.840.10008.1.2.4.80`, dicom.JPEG2000Lossless, 0,
			[]string{"image/jls; transfer-syntax=1.2.840.10008.1.2.4.80"}, jls},
		{"rle from native", `multipart/related; type="image/x-dicom-rle"`, evrle, 0,
			[]string{"image/x-dicom-rle; transfer-syntax=1.2.840.10008.1.2.5"}, dicom.RLELossless},
		{"jp2 default lossless", `multipart/related; type="image/jp2"`, evrle, 0,
			[]string{"image/jp2; transfer-syntax=1.2.840.10008.1.2.4.90"}, dicom.JPEG2000Lossless},
		{"octet-stream with a compressed syntax", `multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.5`, evrle, 0,
			[]string{"application/octet-stream; transfer-syntax=1.2.840.10008.1.2.5"}, dicom.RLELossless},
		{"image/jpeg names baseline", `multipart/related; type="image/jpeg"`, evrle, 0,
			[]string{"image/jpeg; transfer-syntax=1.2.840.10008.1.2.4.50"}, dicom.JPEGBaseline8Bit},
		{"image/jpeg any syntax is not lossy", `multipart/related; type="image/jpeg"; transfer-syntax=*`, evrle, http.StatusNotAcceptable, nil, ""},
		{"wildcard never lossy", `multipart/related; type="image/*"`, evrle, http.StatusNotAcceptable, nil, ""},
		{"wildcard with a named syntax", `multipart/related; type="image/*"; transfer-syntax=1.2.840.10008.1.2.4.80`, evrle, 0,
			[]string{"image/jls; transfer-syntax=1.2.840.10008.1.2.4.80"}, jls},
		{"mismatched type and syntax", `multipart/related; type="image/jls"; transfer-syntax=1.2.840.10008.1.2.4.90`, evrle, http.StatusNotAcceptable, nil, ""},
		{"no encoder", `multipart/related; type="image/jxl"; transfer-syntax=1.2.840.10008.1.2.4.111`, evrle, http.StatusNotAcceptable, nil, ""},
		{"q order", `multipart/related; type="image/jp2";q=0.5, multipart/related; type="image/jls";q=0.9, multipart/related; type="image/jxl"; transfer-syntax=1.2.840.10008.1.2.4.111`, evrle, 0,
			[]string{"image/jls; transfer-syntax=1.2.840.10008.1.2.4.80", "image/jp2; transfer-syntax=1.2.840.10008.1.2.4.90"}, jls},
		{"stored preferred when it matches", `multipart/related; type="image/jls"`, jls, 0,
			[]string{"image/jls; transfer-syntax=1.2.840.10008.1.2.4.80"}, ""},
	}
	for _, c := range frames {
		t.Run("frames/"+c.name, func(t *testing.T) {
			got, err := s.negotiateFrames(c.accept, c.stored, false)
			var he *HTTPError
			if c.status != 0 {
				if !errors.As(err, &he) || he.Status != c.status || he.Msg == "" {
					t.Errorf("got %+v, %v; want status %d with a message", got, err, c.status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var types []string
			for _, g := range got {
				types = append(types, g.ctype)
			}
			if strings.Join(types, ",") != strings.Join(c.want, ",") || got[0].transTo != c.trans {
				t.Errorf("got %q (transcode to %q), want %q (%q)", types, got[0].transTo, c.want, c.trans)
			}
		})
	}
	instances := []struct {
		name, accept string
		stored       []string
		status       int
		want         []dicomChoice
	}{
		{"compressed target", `multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.80`,
			[]string{evrle, dicom.RLELossless}, 0, []dicomChoice{{ts: jls}}},
		{"lossy named", `multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50`,
			[]string{evrle}, 0, []dicomChoice{{ts: dicom.JPEGBaseline8Bit}}},
		{"all stored", `multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.80`,
			[]string{jls}, 0, []dicomChoice{{}}},
		{"q order and fallback", `multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50, multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.5; q=0.8, multipart/related; type="application/dicom"; transfer-syntax=*; q=0.1`,
			[]string{evrle}, 0, []dicomChoice{{ts: dicom.JPEGBaseline8Bit}, {ts: dicom.RLELossless}, {}}},
		{"single part", `application/dicom; transfer-syntax=1.2.840.10008.1.2.4.90`,
			[]string{evrle}, 0, []dicomChoice{{single: true, ts: dicom.JPEG2000Lossless}}},
		{"no encoder", `multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.111`,
			[]string{evrle}, http.StatusNotAcceptable, nil},
		{"undecodable source", `multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.80`,
			[]string{"1.2.840.10008.1.2.4.100"}, http.StatusNotAcceptable, nil},
	}
	for _, c := range instances {
		t.Run("instances/"+c.name, func(t *testing.T) {
			got, err := s.negotiateDICOM(c.accept, c.stored, true)
			var he *HTTPError
			if c.status != 0 {
				if !errors.As(err, &he) || he.Status != c.status || he.Msg == "" {
					t.Errorf("got %+v, %v; want status %d with a message", got, err, c.status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}
