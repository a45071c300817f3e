package codec

import (
	"fmt"
	"sort"
	"sync"
)

// Codec decodes the frames of one transfer syntax.
type Codec interface {
	// TransferSyntax returns the UID the codec is registered under.
	TransferSyntax() string
	// Decode decodes the compressed bytes of one frame into dst, which has
	// exactly in.FrameSize() bytes for the PixelInfo in, and returns the
	// PixelInfo describing what it wrote: native little-endian samples,
	// colour-by-pixel (PlanarConfiguration 0), the photometric
	// interpretation changed where the codec converted colour. It fails,
	// never writing past dst, when the stream's geometry differs from in
	// or the stream is corrupt.
	Decode(dst, src []byte, in PixelInfo) (PixelInfo, error)
}

// Encoder is a Codec that can also compress frames.
type Encoder interface {
	Codec
	// Encode compresses one frame of native little-endian colour-by-pixel
	// samples described by in, and returns the compressed bytes and the
	// PixelInfo of the encoded frame as the data set must then declare it
	// (e.g. PhotometricInterpretation YBR_FULL_422 for colour JPEG).
	Encode(src []byte, in PixelInfo, opts EncodeOptions) ([]byte, PixelInfo, error)
	// Lossy reports whether the encoding loses information.
	Lossy() bool
	// Method returns the Lossy Image Compression Method defined term
	// (0028,2114) for lossy encoders, e.g. "ISO_10918_1"; "" otherwise.
	Method() string
}

// EncodeOptions tune an encoder. The zero value picks each codec's default.
type EncodeOptions struct {
	// Quality is the JPEG quality 1..100 (lossy JPEG only; 0 means 90).
	Quality int
}

var registry = struct {
	sync.RWMutex
	m map[string]Codec
}{m: map[string]Codec{}}

// Register makes c available for its transfer syntax. It panics when a
// codec is already registered for that UID: two codecs for one syntax is a
// build mistake, not something to resolve at run time.
func Register(c Codec) {
	ts := c.TransferSyntax()
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.m[ts]; dup {
		panic(fmt.Sprintf("codec: Register called twice for transfer syntax %s", ts))
	}
	registry.m[ts] = c
}

// Lookup returns the codec registered for the transfer syntax UID.
func Lookup(ts string) (Codec, bool) {
	registry.RLock()
	defer registry.RUnlock()
	c, ok := registry.m[ts]
	return c, ok
}

// LookupEncoder returns the codec for ts when it can also encode.
func LookupEncoder(ts string) (Encoder, bool) {
	c, ok := Lookup(ts)
	if !ok {
		return nil, false
	}
	e, ok := c.(Encoder)
	return e, ok
}

// TransferSyntaxes returns the UIDs with a registered codec, sorted.
func TransferSyntaxes() []string {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]string, 0, len(registry.m))
	for ts := range registry.m {
		out = append(out, ts)
	}
	sort.Strings(out)
	return out
}

// CanDecode reports whether frames in transfer syntax ts can be decoded:
// the native syntaxes always, others when a codec is registered.
func CanDecode(ts string) bool {
	if isNative(ts) {
		return true
	}
	_, ok := Lookup(ts)
	return ok
}

// CanEncode reports whether Transcode can produce transfer syntax ts.
func CanEncode(ts string) bool {
	if isNative(ts) {
		return true
	}
	_, ok := LookupEncoder(ts)
	return ok
}

// Replace registers c in place of the codec registered for its transfer
// syntax and returns that codec (nil when there was none). It is for
// wrapping the registered codecs at start-up, e.g. to decode in a child
// process (codec/isolate), before any data set is opened; Pixels opened
// earlier keep the codec they were opened with.
func Replace(c Codec) Codec {
	ts := c.TransferSyntax()
	registry.Lock()
	defer registry.Unlock()
	old := registry.m[ts]
	registry.m[ts] = c
	return old
}
