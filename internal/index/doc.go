// Package index owns Lightbox's central metadata index: the patient / study /
// series / instance hierarchy of the DICOM query/retrieve information model
// (PS3.4 C.6.1, C.6.2), the record and query model, the normalisation of
// values for matching, and the matching rules shared by every front end
// (DIMSE C-FIND, QIDO-RS, the UI).
//
// The package knows nothing about DICOM encoding: it does not import the
// dicom packages. The archive converts a parsed data set into an
// [InstanceRecord] (decoded UTF-8 strings, the header as opaque DICOM JSON)
// and hands it to an [Index]. Backends live in sub-packages
// (internal/index/sqlite, internal/index/postgres) and all pass the shared
// conformance suite in internal/index/indextest.
//
// Matching semantics are defined once here: [ParseQuery] turns the
// DICOM-encoded values of a [Query] into typed [Condition]s (single value,
// wildcard, list, range, empty value) which backends translate to their query
// language. Besides the model, an index stores and matches attributes the
// administrator configured ([Schema], [ParseAttributeSpec]), taken from the
// stored header; results come in a defined order ([DefaultOrder],
// [Query.OrderBy]); DT values with UTC offsets compare as instants
// ([DateTimeUTC]). See docs/index-schema.md for the schema and the exact
// rules.
package index
