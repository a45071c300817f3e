// Package all registers every pixel codec Lightbox has: import it for its
// side effect (import _ ".../codec/all") wherever pixel data is decoded or
// transcoded. Its tests check every corpus image against reference
// decoders and hold the decode benchmarks.
package all

import (
	_ "github.com/lightbox-pacs/lightbox/codec/deflateframe" // Deflated Image Frame Compression
	_ "github.com/lightbox-pacs/lightbox/codec/jpeg"         // JPEG baseline, extended, lossless
	_ "github.com/lightbox-pacs/lightbox/codec/jpeg2000"     // JPEG 2000, HTJ2K
	_ "github.com/lightbox-pacs/lightbox/codec/jpegls"       // JPEG-LS
	_ "github.com/lightbox-pacs/lightbox/codec/jpegxl"       // JPEG XL
	_ "github.com/lightbox-pacs/lightbox/codec/rle"          // RLE Lossless
)
