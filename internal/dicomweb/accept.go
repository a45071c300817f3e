package dicomweb

import (
	"mime"
	"sort"
	"strconv"
	"strings"

	"github.com/lightbox-pacs/lightbox/dicom"
)

// acceptItem is one media range of an Accept header, with the parts
// DICOMweb negotiates on: for multipart/related the type parameter is the
// media type of the parts.
type acceptItem struct {
	multipart bool   // multipart/related
	typ       string // media type (of the parts, for multipart), lower case; "" = unspecified
	ts        string // transfer-syntax parameter; "" absent, "*" any
	q         float64
}

// parseAccept splits an Accept header into its media ranges ordered by
// preference (q, then order of appearance). A missing header is "*/*".
func parseAccept(h string) []acceptItem {
	if strings.TrimSpace(h) == "" {
		return []acceptItem{{typ: "*/*", q: 1}}
	}
	var items []acceptItem
	for _, part := range splitOutsideQuotes(h, ',') {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		mt, params, err := mime.ParseMediaType(part)
		if err != nil {
			// Tolerate unquoted values mime rejects (e.g. type=application/dicom).
			mt, params = lenientMediaType(part)
		}
		it := acceptItem{typ: mt, q: 1}
		if v, ok := params["q"]; ok {
			if q, err := strconv.ParseFloat(v, 64); err == nil {
				it.q = q
			}
		}
		it.ts = strings.TrimSpace(params["transfer-syntax"])
		if mt == "multipart/related" {
			it.multipart = true
			it.typ = strings.ToLower(strings.TrimSpace(params["type"]))
		}
		if it.q > 0 {
			items = append(items, it)
		}
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].q > items[j].q })
	return items
}

func splitOutsideQuotes(s string, sep byte) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case sep:
			if !quoted {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// lenientMediaType parses "type/sub; k=v; ..." without mime's strictness.
func lenientMediaType(s string) (string, map[string]string) {
	parts := splitOutsideQuotes(s, ';')
	params := map[string]string{}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		params[strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return strings.ToLower(strings.TrimSpace(parts[0])), params
}

// qParam reads q from the parameter text of an Accept-Encoding element.
func qParam(params string) (float64, bool) {
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.TrimSpace(k) == "q" {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return q, err == nil
		}
	}
	return 0, false
}

// matchesType reports whether the media range typ admits want.
func matchesType(typ, want string) bool {
	if typ == "" || typ == "*/*" || typ == want {
		return true
	}
	if strings.HasSuffix(typ, "/*") {
		return strings.HasPrefix(want, strings.TrimSuffix(typ, "*"))
	}
	return false
}

// acceptsJSON reports whether a DICOM JSON response is acceptable.
func acceptsJSON(h string) bool {
	for _, it := range parseAccept(h) {
		if it.multipart {
			continue
		}
		if matchesType(it.typ, "application/dicom+json") || it.typ == "application/json" {
			return true
		}
	}
	return false
}

// Media types of compressed pixel data (PS3.18 Table 8.7.3-5 and the
// types clients send for them).
var tsMediaTypes = map[string][]string{
	dicom.JPEGBaseline8Bit:              {"image/jpeg"},
	dicom.JPEGExtended12Bit:             {"image/jpeg"},
	dicom.JPEGLossless:                  {"image/jpeg"},
	dicom.JPEGLosslessSV1:               {"image/jpeg"},
	dicom.JPEGLSLossless:                {"image/jls", "image/x-jls"},
	dicom.JPEGLSNearLossless:            {"image/jls", "image/x-jls"},
	dicom.JPEG2000Lossless:              {"image/jp2"},
	dicom.JPEG2000:                      {"image/jp2"},
	"1.2.840.10008.1.2.4.92":            {"image/jpx"},
	"1.2.840.10008.1.2.4.93":            {"image/jpx"},
	dicom.HTJ2KLossless:                 {"image/jphc", "image/jhc"},
	dicom.HTJ2KLosslessRPCL:             {"image/jphc", "image/jhc"},
	dicom.HTJ2K:                         {"image/jphc", "image/jhc"},
	dicom.JPEGXLLossless:                {"image/jxl"},
	dicom.JPEGXLJPEGRecompression:       {"image/jxl"},
	dicom.JPEGXL:                        {"image/jxl"},
	dicom.RLELossless:                   {"image/dicom-rle", "image/x-dicom-rle"},
	"1.2.840.10008.1.2.4.100":           {"video/mpeg"},
	"1.2.840.10008.1.2.4.101":           {"video/mpeg"},
	"1.2.840.10008.1.2.4.102":           {"video/mp4"},
	"1.2.840.10008.1.2.4.103":           {"video/mp4"},
	"1.2.840.10008.1.2.4.104":           {"video/mp4"},
	"1.2.840.10008.1.2.4.105":           {"video/mp4"},
	"1.2.840.10008.1.2.4.106":           {"video/mp4"},
	"1.2.840.10008.1.2.4.107":           {"video/H265"},
	"1.2.840.10008.1.2.4.108":           {"video/H265"},
	dicom.DeflatedImageFrameCompression: {"application/octet-stream"},
}

// pixelMediaType returns the media type of pixel data in the stored
// syntax: the compressed type for encapsulated syntaxes, else
// application/octet-stream.
func pixelMediaType(ts string) string {
	if t, ok := tsMediaTypes[ts]; ok {
		return t[0]
	}
	return "application/octet-stream"
}

// isNative reports whether the syntax stores Pixel Data natively.
func isNative(ts string) bool { return !dicom.IsEncapsulated(ts) }
