// Package dicom owns the DICOM data model (Tag, VR, Element, Dataset) and
// the streaming Part 10 reader and writer (PS3.5, PS3.10).
//
// The reader accepts Part 10 files with or without the 128-byte preamble,
// with or without a File Meta group (old ACR-NEMA style, with the encoding
// detected from the bytes), and every uncompressed transfer syntax plus
// encapsulated pixel data of any syntax. Bulk values (Pixel Data and other
// large binary elements) are not loaded by default: the reader records their
// byte offset and length so callers can stream them from the source.
//
// Nothing is allocated from a header's claims alone: a value is read only as
// far as the input really holds bytes, nesting depth is bounded, and every
// error names the element and the byte offset where reading stopped.
package dicom
