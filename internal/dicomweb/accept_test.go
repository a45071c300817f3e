package dicomweb

import (
	"errors"
	"net/http"
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
		case got.single != c.single || got.ctype != c.ctype:
			t.Errorf("%q on %s: got %+v, want single=%v ctype %q", c.accept, c.stored, got, c.single, c.ctype)
		}
	}
}
