// Package dict holds the generated DICOM data dictionary (PS3.6), UID registry and vendor private dictionaries.
//
// The tables live in zz_generated_*.go, written by the generator in
// internal/gen from the standard extracts in shared/dicom-standard (pydicom's
// dictionaries, with innolitics' attribute list as a secondary source for
// tags pydicom lacks). Never edit them by hand: change the generator and run
//
//	go generate ./dicom/dict
//
// The tables are fixed-size arrays of constants, so the Go toolchain lays
// them out as static data: importing the package costs no init-time work and
// every function here is safe for concurrent use. Lookups are binary searches
// over sorted arrays.
//
// This package must not import package dicom (dicom imports dict); tags are
// plain uint32 values, group in the high 16 bits.
package dict

//go:generate go run ./internal/gen -src ../../../shared/dicom-standard
