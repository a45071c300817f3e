package dicom

// Transfer syntax UIDs the reader and writer treat specially (PS3.5 10, Annex A).
const (
	ImplicitVRLittleEndian                         = "1.2.840.10008.1.2"
	ExplicitVRLittleEndian                         = "1.2.840.10008.1.2.1"
	DeflatedExplicitVRLittleEndian                 = "1.2.840.10008.1.2.1.99"
	ExplicitVRBigEndian                            = "1.2.840.10008.1.2.2"
	EncapsulatedUncompressedExplicitVRLittleEndian = "1.2.840.10008.1.2.1.98"
	JPEGBaseline8Bit                               = "1.2.840.10008.1.2.4.50"
	JPEGExtended12Bit                              = "1.2.840.10008.1.2.4.51"
	JPEGLossless                                   = "1.2.840.10008.1.2.4.57"
	JPEGLosslessSV1                                = "1.2.840.10008.1.2.4.70"
	JPEGLSLossless                                 = "1.2.840.10008.1.2.4.80"
	JPEGLSNearLossless                             = "1.2.840.10008.1.2.4.81"
	JPEG2000Lossless                               = "1.2.840.10008.1.2.4.90"
	JPEG2000                                       = "1.2.840.10008.1.2.4.91"
	HTJ2KLossless                                  = "1.2.840.10008.1.2.4.201"
	HTJ2KLosslessRPCL                              = "1.2.840.10008.1.2.4.202"
	HTJ2K                                          = "1.2.840.10008.1.2.4.203"
	JPEGXLLossless                                 = "1.2.840.10008.1.2.4.110"
	JPEGXLJPEGRecompression                        = "1.2.840.10008.1.2.4.111"
	JPEGXL                                         = "1.2.840.10008.1.2.4.112"
	RLELossless                                    = "1.2.840.10008.1.2.5"
	DeflatedImageFrameCompression                  = "1.2.840.10008.1.2.8.1"
)

// Encoding says how a data set is laid out on the wire: VR explicit or
// implicit, byte order, and whether the stream is deflated.
type Encoding struct {
	Implicit  bool
	BigEndian bool
	Deflated  bool
}

// Common encodings.
var (
	EncodingExplicitLE = Encoding{}
	EncodingImplicitLE = Encoding{Implicit: true}
	EncodingExplicitBE = Encoding{BigEndian: true}
)

func (e Encoding) String() string {
	s := "Explicit VR"
	if e.Implicit {
		s = "Implicit VR"
	}
	if e.BigEndian {
		s += " Big Endian"
	} else {
		s += " Little Endian"
	}
	if e.Deflated {
		s = "Deflated " + s
	}
	return s
}

// EncodingOf returns the data set encoding of a transfer syntax. Every
// syntax other than the three uncompressed ones and deflate is encoded as
// Explicit VR Little Endian (encapsulated pixel data); ok is false when the
// UID is not a DICOM transfer syntax root at all.
func EncodingOf(ts string) (enc Encoding, ok bool) {
	switch ts {
	case ImplicitVRLittleEndian:
		return EncodingImplicitLE, true
	case ExplicitVRLittleEndian, EncapsulatedUncompressedExplicitVRLittleEndian:
		return EncodingExplicitLE, true
	case ExplicitVRBigEndian:
		return EncodingExplicitBE, true
	case DeflatedExplicitVRLittleEndian:
		return Encoding{Deflated: true}, true
	}
	if len(ts) > len("1.2.840.10008.1.2.") && ts[:len("1.2.840.10008.1.2.")] == "1.2.840.10008.1.2." {
		return EncodingExplicitLE, true
	}
	// Private transfer syntaxes (e.g. vendor compressions) are explicit LE in practice.
	return EncodingExplicitLE, false
}

// IsEncapsulated reports whether Pixel Data in this transfer syntax is
// encapsulated (compressed fragments) rather than native.
func IsEncapsulated(ts string) bool {
	switch ts {
	case ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian, DeflatedExplicitVRLittleEndian:
		return false
	}
	return ts != ""
}
