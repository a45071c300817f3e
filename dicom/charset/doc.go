// Package charset decodes and encodes DICOM text values between Specific
// Character Set repertoires and UTF-8 (PS3.5 section 6.1, PS3.3 C.12.1.1.2,
// examples in PS3.5 Annexes H, I, J and K).
//
// It owns the mapping from the values of Specific Character Set (0008,0005)
// to character repertoires, the ISO/IEC 2022 code extension state machine,
// and the conversion of value fields to and from UTF-8. It knows nothing of
// tags or data sets: the caller finds (0008,0005) (inherited into sequence
// items that lack their own), calls [Parse] once, and decodes each value
// field with the resulting [Set].
//
// # Which values are affected
//
// Only the VRs SH, LO, UC (use [KindText]), ST, LT, UT ([KindLongText]) and
// PN ([KindPN]) are encoded in the Specific Character Set. Every other
// string VR (AE, AS, CS, DA, DS, DT, IS, TM, UI, UR) uses the default
// repertoire and must not be passed through a Set; [KindForVR] tells which
// is which.
//
// Pass the whole value field, backslashes included, to [Set.Decode] and split
// the decoded string on '\' afterwards. Splitting the raw bytes first is
// wrong: in GB18030 and GBK the second byte of a character may be 0x5C, and
// in JIS X 0208 (ISO 2022 IR 87) any of '\', '^' and '=' may be half of a
// character.
//
// # Terms
//
// Every defined term is supported: ISO_IR 6 (the default), ISO_IR 100, 101,
// 109, 110, 126, 127, 138, 144, 148, 166, 203, ISO_IR 13, ISO_IR 192,
// GB18030, GBK, and the ISO 2022 forms ISO 2022 IR 6, 100, 101, 109, 110,
// 126, 127, 138, 144, 148, 166, 203, 13, 87, 159, 149 and 58. A first value
// that is empty means the default repertoire (ISO 2022 IR 6).
//
// [Parse] corrects the misspellings pydicom corrects ("ISO IR 100",
// "ISO-IR 192", "ISO_2022-IR 100") and some that pydicom lets fall back to
// Latin-1 ("ISO_IR192", lower case, "ISO 2022 IR 192", "ISO_IR 87"), maps
// encoding names that pydicom passes to Python ("UTF-8", "latin1",
// "ISO-8859-5", "Shift_JIS", "GB2312", ...) to defined terms, drops values
// it does not know, drops the stand-alone sets (ISO_IR 192, GB18030, GBK)
// used as code extensions, and ignores code extensions after a stand-alone
// first value, as pydicom does. It always returns a usable Set; the error
// returned alongside describes each correction so the caller can log it.
//
// # Code extensions
//
// For every set other than ISO_IR 192, GB18030 and GBK, decoding follows the
// ISO 2022 model of PS3.5 6.1.2.5: escape sequences designate graphic sets
// to G0 (bytes 0x21-0x7E) or G1 (bytes 0xA1-0xFE), and the designations of
// the first value are restored at each delimiter: for every kind at any C0
// control character other than ESC (CR, LF, FF, TAB, ...), for KindText and
// KindPN also at '\', and for KindPN also at '^' and '='. While a two-byte
// set (JIS X 0208 or 0212) is in G0, bytes are consumed in pairs, so a '\'
// or '=' byte inside a kanji does not split it. Escape sequences are also
// honoured in values whose (0008,0005) has a single non-ISO 2022 value, as
// pydicom does.
//
// [Set.Encode] chooses the escape sequences itself: it keeps the current
// designation while it can represent the next character, otherwise it
// designates the first set, in the order of the values of (0008,0005), that
// can; it returns G0 to the first value's set before every delimiter and at
// the end of the value (the form of PS3.5 Annex H), and relies on the
// implicit G1 reset at delimiters (the form of Annexes I and K). For the
// examples of the standard this gives the bytes of the standard.
//
// # Damaged and undeclared bytes
//
// Decoding never fails and never panics, and always returns valid UTF-8.
// When the bytes are not valid in the declared repertoire, [Set.Decode]
// returns, along with the string, a [*DecodeError] describing the first
// problem and counting them all; it wraps one or both of:
//
//   - [ErrReplaced]: bytes that could not be decoded were replaced with
//     U+FFFD (one per maximal invalid subsequence for UTF-8, as Python
//     does; one per bad pair for two-byte sets; one for a whole unknown
//     escape sequence).
//   - [ErrUndeclared]: bytes outside the declared repertoire that have an
//     obvious reading were read that way, losslessly. These are: 8-bit
//     bytes where only the default repertoire is declared (no (0008,0005),
//     or ISO_IR 6), read as UTF-8 if the whole value is valid UTF-8 and as
//     Latin-1 otherwise (pydicom always reads them as Latin-1); 8-bit bytes
//     while nothing is designated to G1 in an ISO 2022 set, read as Latin-1
//     (as pydicom does); an escape sequence for a known set that
//     (0008,0005) does not declare, obeyed (pydicom keeps it as text);
//     Shift_JIS kanji under ISO_IR 13 (pydicom decodes ISO_IR 13 as
//     Shift_JIS); Unified Hangul (CP949) pairs under KS X 1001 and GBK
//     pairs under GB 2312; the vendor rows of the x/text tables (NEC and
//     IBM kanji); and 0x80 as the euro sign in GB18030 and GBK.
//
// SPACE (0x20) and DEL (0x7F) mean themselves in every G0 set, as ISO 2022
// has it, so a space inside a JIS X 0208 run is a space (Python's
// iso2022_jp rejects it). JIS X 0201 Roman (ISO-IR 14, G0 of ISO_IR 13) is
// read as ASCII, as pydicom does: 0x5C is the DICOM value delimiter ”
// rather than YEN SIGN, and 0x7E is '~'; accordingly U+00A5 and U+203E
// cannot be encoded there.
//
// # Tables
//
// Single-byte sets come from golang.org/x/text/encoding/charmap (ISO 8859
// parts 1-9 and 15, and Windows-874 restricted to TIS 620 for ISO_IR 166),
// with 0x80-0x9F read as the C1 controls as Python does. The 94x94 tables
// of JIS X 0208, JIS X 0212, KS X 1001 and GB 2312 are derived once, on
// first use, from the x/text EUC-JP, EUC-KR and GBK decoders. Those follow
// Microsoft's code pages in a few cells; there the tables use the
// standards' mappings, as Python (and so pydicom) does (JIS X 0208 0x2141
// is U+301C WAVE DASH, GB 2312 0x2124 is U+30FB), and the Microsoft
// character still encodes to the cell. Every cell is checked against
// Python's codecs by the tests. The encoder only emits cells that belong to
// the standard (no NEC/IBM rows, no GBK or UHC additions, no private use).
//
// A Set is immutable and safe for concurrent use.
package charset
