// Package capture owns the wrapping of non-DICOM documents as DICOM
// instances, for the film digitizer and paper workflow: a scanned film or
// photograph (JPEG, PNG, TIFF) becomes a Secondary Capture Image instance
// and a PDF becomes an Encapsulated PDF instance, each in a new series of a
// chosen study (or of a new study for a given patient), with new UIDs under
// Lightbox's UID root.
//
// JPEG files in the baseline process (8-bit, Huffman, sequential) are kept
// byte for byte in JPEG Baseline (Process 1) encapsulated Pixel Data; other
// JPEGs, PNG and TIFF are decoded and stored as native 8- or 16-bit
// monochrome or 8-bit RGB in Explicit VR Little Endian. A JPEG whose Exif
// orientation says it is stored sideways (a phone photograph) is decoded
// and stored upright. Dimensions are read
// from the header before anything is decoded, so a file claiming huge
// dimensions is refused without allocating its pixels.
//
// The package builds Part 10 bytes only; storing them (through the archive,
// so the durability rule applies) is the caller's business.
package capture

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	_ "image/jpeg" // registers the JPEG decoder for non-baseline JPEGs
	_ "image/png"  // registers the PNG decoder
	"math/big"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lightbox-pacs/lightbox/dicom"
	_ "golang.org/x/image/tiff" // registers the TIFF decoder
)

// SOP classes and transfer syntaxes the package writes.
const (
	SecondaryCaptureImageStorage = "1.2.840.10008.5.1.4.1.1.7"
	EncapsulatedPDFStorage       = "1.2.840.10008.5.1.4.1.1.104.1"

	ExplicitVRLittleEndian = "1.2.840.10008.1.2.1"
	JPEGBaseline           = "1.2.840.10008.1.2.4.50"
)

// UIDRoot is Lightbox's UID root: UUID-derived UIDs (PS3.5 B.2), under
// which the implementation class UID also lives.
const UIDRoot = "2.25."

// ErrInvalid is wrapped by every error about the input (not an image, an
// empty PDF, dimensions too large, a bad attribute); callers answer those
// with a client error.
var ErrInvalid = errors.New("capture: invalid input")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Subject holds the Patient and General Study attributes a capture is
// filed under, as UTF-8 text. An empty StudyInstanceUID means a new study.
type Subject struct {
	PatientName            string
	PatientID              string
	IssuerOfPatientID      string
	PatientBirthDate       string
	PatientSex             string
	StudyInstanceUID       string
	StudyDate              string
	StudyTime              string
	StudyID                string
	AccessionNumber        string
	ReferringPhysicianName string
	StudyDescription       string
}

// charsetUTF8 is the Specific Character Set of a capture with non-ASCII text.
const charsetUTF8 = "ISO_IR 192"

// Tags the package reads and writes that package dicom has no name for.
const (
	tagInstanceCreationDate    dicom.Tag = 0x00080012
	tagInstanceCreationTime    dicom.Tag = 0x00080013
	tagStudyTime               dicom.Tag = 0x00080030
	tagContentDate             dicom.Tag = 0x00080023
	tagContentTime             dicom.Tag = 0x00080033
	tagAcquisitionDateTime     dicom.Tag = 0x0008002A
	tagAccessionNumber         dicom.Tag = 0x00080050
	tagConversionType          dicom.Tag = 0x00080064
	tagManufacturer            dicom.Tag = 0x00080070
	tagReferringPhysicianName  dicom.Tag = 0x00080090
	tagStudyDescription        dicom.Tag = 0x00081030
	tagSeriesDescription       dicom.Tag = 0x0008103E
	tagIssuerOfPatientID       dicom.Tag = 0x00100021
	tagPatientBirthDate        dicom.Tag = 0x00100030
	tagPatientSex              dicom.Tag = 0x00100040
	tagSoftwareVersions        dicom.Tag = 0x00181020
	tagDateOfSecondaryCapture  dicom.Tag = 0x00181012
	tagTimeOfSecondaryCapture  dicom.Tag = 0x00181014
	tagStudyID                 dicom.Tag = 0x00200010
	tagSeriesNumber            dicom.Tag = 0x00200011
	tagInstanceNumber          dicom.Tag = 0x00200013
	tagPatientOrientation      dicom.Tag = 0x00200020
	tagLaterality              dicom.Tag = 0x00200060
	tagPhotometric             dicom.Tag = 0x00280004
	tagPlanarConfiguration     dicom.Tag = 0x00280006
	tagHighBit                 dicom.Tag = 0x00280102
	tagBurnedInAnnotation      dicom.Tag = 0x00280301
	tagLossyImageCompression   dicom.Tag = 0x00282110
	tagLossyCompressionMethod  dicom.Tag = 0x00282114
	tagDocumentTitle           dicom.Tag = 0x00420010
	tagEncapsulatedDocument    dicom.Tag = 0x00420011
	tagMIMETypeOfEncapsulated  dicom.Tag = 0x00420012
	tagEncapsulatedDocumentLen dicom.Tag = 0x00420015
	tagConceptNameCodeSequence dicom.Tag = 0x0040A043
)

// SubjectFrom reads the Patient and General Study attributes of a stored
// instance's data set.
func SubjectFrom(ds *dicom.Dataset) Subject {
	s := func(t dicom.Tag) string { return ds.Text(ds.Get(t)) }
	return Subject{
		PatientName:            s(dicom.TagPatientName),
		PatientID:              s(dicom.TagPatientID),
		IssuerOfPatientID:      s(tagIssuerOfPatientID),
		PatientBirthDate:       s(tagPatientBirthDate),
		PatientSex:             s(tagPatientSex),
		StudyInstanceUID:       ds.String(dicom.TagStudyInstanceUID),
		StudyDate:              s(dicom.TagStudyDate),
		StudyTime:              s(tagStudyTime),
		StudyID:                s(tagStudyID),
		AccessionNumber:        s(tagAccessionNumber),
		ReferringPhysicianName: s(tagReferringPhysicianName),
		StudyDescription:       s(tagStudyDescription),
	}
}

// Validate checks the attributes a client may supply for a new study.
func (s Subject) Validate() error {
	if strings.TrimSpace(s.PatientID) == "" {
		return invalid("a Patient ID is required")
	}
	checks := []struct {
		name, v string
		max     int
	}{
		{"Patient ID", s.PatientID, 64}, {"Issuer of Patient ID", s.IssuerOfPatientID, 64},
		{"Patient's Name", s.PatientName, 64 * 5}, {"Accession Number", s.AccessionNumber, 16},
		{"Study Description", s.StudyDescription, 64}, {"Study ID", s.StudyID, 16},
		{"Referring Physician's Name", s.ReferringPhysicianName, 64 * 5},
	}
	for _, c := range checks {
		if !utf8.ValidString(c.v) || strings.ContainsAny(c.v, "\\\x00\r\n") {
			return invalid("%s %q has a forbidden character", c.name, c.v)
		}
		if utf8.RuneCountInString(c.v) > c.max {
			return invalid("%s is longer than %d characters", c.name, c.max)
		}
	}
	if s.PatientBirthDate != "" {
		if _, err := dicom.ParseDate(s.PatientBirthDate); err != nil || len(s.PatientBirthDate) != 8 {
			return invalid("birth date %q is not YYYYMMDD", s.PatientBirthDate)
		}
	}
	switch s.PatientSex {
	case "", "M", "F", "O":
	default:
		return invalid("sex %q is not M, F or O", s.PatientSex)
	}
	if s.StudyInstanceUID != "" && !ValidUID(s.StudyInstanceUID) {
		return invalid("%q is not a valid UID", s.StudyInstanceUID)
	}
	return nil
}

// Options describe the new series.
type Options struct {
	// SeriesDescription (and for a PDF the Document Title); "" picks one.
	SeriesDescription string
	// ConversionType is the SC Equipment module's (0008,0064): "DF"
	// digitized film, "SD" scanned document, "SI" scanned image, "DI",
	// "WSD", ...; "" means "SI" for images and "SD" for PDFs.
	ConversionType string
	// SeriesNumber of the new series; 0 means 9000-something.
	SeriesNumber int
	// MaxPixels caps Rows×Columns; 0 means 100 megapixels.
	MaxPixels int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Instance is a built Part 10 instance.
type Instance struct {
	Bytes             []byte
	SOPClassUID       string
	SOPInstanceUID    string
	SeriesInstanceUID string
	StudyInstanceUID  string
	TransferSyntaxUID string
}

// MediaTypes lists the content types Build accepts (image/jpg and
// image/pjpeg are taken as image/jpeg too).
func MediaTypes() []string {
	return []string{"image/jpeg", "image/png", "image/tiff", "application/pdf"}
}

// Supported reports whether Build accepts the media type (a Content-Type
// header value; parameters are ignored).
func Supported(mediaType string) bool {
	switch normalType(mediaType) {
	case "application/pdf", "image/jpeg", "image/jpg", "image/pjpeg", "image/png", "image/tiff":
		return true
	}
	return false
}

func normalType(mediaType string) string {
	return strings.ToLower(strings.TrimSpace(strings.SplitN(mediaType, ";", 2)[0]))
}

// Build wraps content of the media type (as in a Content-Type header) as a
// DICOM instance filed under subj. Errors about the input wrap ErrInvalid.
func Build(content []byte, mediaType string, subj Subject, opts Options) (*Instance, error) {
	mt := normalType(mediaType)
	if !Supported(mt) {
		return nil, invalid("unsupported content type %q (want one of %s)", mediaType, strings.Join(MediaTypes(), ", "))
	}
	if err := subj.Validate(); err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxPixels <= 0 {
		opts.MaxPixels = 100 << 20
	}
	if len(opts.SeriesDescription) > 64 || strings.ContainsAny(opts.SeriesDescription, "\\\x00\r\n") || !utf8.ValidString(opts.SeriesDescription) {
		return nil, invalid("series description %q is too long or has a forbidden character", opts.SeriesDescription)
	}
	if len(opts.ConversionType) > 16 || strings.ContainsAny(opts.ConversionType, "\\\x00 ") {
		return nil, invalid("conversion type %q is not a code string", opts.ConversionType)
	}
	if len(content) == 0 {
		return nil, invalid("empty %s body", mt)
	}
	b := newBuilder(subj, opts)
	if mt == "application/pdf" {
		return b.pdf(content)
	}
	return b.image(content, mt)
}

// NewUID returns a fresh UID under UIDRoot: 2.25 and a random UUID as a
// decimal integer (PS3.5 B.2).
func NewUID() string {
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		panic("capture: crypto/rand failed: " + err.Error()) // never happens on supported platforms
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	return UIDRoot + new(big.Int).SetBytes(u[:]).String()
}

// ValidUID reports whether s is a syntactically valid UID.
func ValidUID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" || (len(part) > 1 && part[0] == '0') {
			return false
		}
		for _, c := range part {
			if c < '0' || c > '9' {
				return false
			}
		}
	}
	return true
}

type builder struct {
	ds   *dicom.Dataset
	subj Subject
	opts Options
	now  time.Time
	utf8 bool
}

func newBuilder(subj Subject, opts Options) *builder {
	return &builder{ds: dicom.NewDataset(), subj: subj, opts: opts, now: opts.Now()}
}

func (b *builder) str(tag dicom.Tag, vr dicom.VR, v string) {
	for i := 0; i < len(v); i++ {
		if v[i] >= 0x80 {
			b.utf8 = true
			break
		}
	}
	b.ds.Set(dicom.NewStringElement(tag, vr, v))
}

func (b *builder) us(tag dicom.Tag, v uint16) {
	b.ds.Set(&dicom.Element{Tag: tag, VR: dicom.US, Value: binary.LittleEndian.AppendUint16(nil, v)})
}

// common sets the Patient, General Study, General Series, General and SC
// Equipment and SOP Common attributes.
func (b *builder) common(class, modality, defaultConversion, defaultDescription string) (study, series, sop string) {
	s := b.subj
	study = s.StudyInstanceUID
	date, tm := b.now.Format("20060102"), b.now.Format("150405")
	if study == "" {
		study = NewUID()
		if s.StudyDate == "" {
			s.StudyDate, s.StudyTime = date, tm
		}
	}
	series, sop = NewUID(), NewUID()
	b.str(dicom.TagSOPClassUID, dicom.UI, class)
	b.str(dicom.TagSOPInstanceUID, dicom.UI, sop)
	b.str(tagInstanceCreationDate, dicom.DA, date)
	b.str(tagInstanceCreationTime, dicom.TM, tm)
	b.str(dicom.TagPatientName, dicom.PN, s.PatientName)
	b.str(dicom.TagPatientID, dicom.LO, s.PatientID)
	if s.IssuerOfPatientID != "" {
		b.str(tagIssuerOfPatientID, dicom.LO, s.IssuerOfPatientID)
	}
	b.str(tagPatientBirthDate, dicom.DA, s.PatientBirthDate)
	b.str(tagPatientSex, dicom.CS, s.PatientSex)
	b.str(dicom.TagStudyInstanceUID, dicom.UI, study)
	b.str(dicom.TagStudyDate, dicom.DA, s.StudyDate)
	b.str(tagStudyTime, dicom.TM, s.StudyTime)
	b.str(tagStudyID, dicom.SH, s.StudyID)
	b.str(tagAccessionNumber, dicom.SH, s.AccessionNumber)
	b.str(tagReferringPhysicianName, dicom.PN, s.ReferringPhysicianName)
	if s.StudyDescription != "" {
		b.str(tagStudyDescription, dicom.LO, s.StudyDescription)
	}
	b.str(dicom.TagModality, dicom.CS, modality)
	b.str(dicom.TagSeriesInstanceUID, dicom.UI, series)
	num := b.opts.SeriesNumber
	if num <= 0 {
		num = 9000 + int(b.now.Unix()%1000)
	}
	b.str(tagSeriesNumber, dicom.IS, strconv.Itoa(num))
	desc := b.opts.SeriesDescription
	if desc == "" {
		desc = defaultDescription
	}
	b.str(tagSeriesDescription, dicom.LO, desc)
	b.str(tagInstanceNumber, dicom.IS, "1")
	b.str(tagManufacturer, dicom.LO, "Lightbox")
	b.str(tagSoftwareVersions, dicom.LO, dicom.ImplementationVersionName)
	conv := b.opts.ConversionType
	if conv == "" {
		conv = defaultConversion
	}
	b.str(tagConversionType, dicom.CS, conv)
	return study, series, sop
}

func (b *builder) finish(study, series, sop, class, ts string) (*Instance, error) {
	if b.utf8 {
		b.ds.Set(dicom.NewStringElement(dicom.TagSpecificCharacterSet, dicom.CS, charsetUTF8))
	}
	b.ds.Sort()
	var buf bytes.Buffer
	if err := dicom.WriteFile(&buf, b.ds, ts, dicom.WriteOptions{}); err != nil {
		return nil, fmt.Errorf("capture: encode: %w", err)
	}
	return &Instance{Bytes: buf.Bytes(), SOPClassUID: class, SOPInstanceUID: sop,
		SeriesInstanceUID: series, StudyInstanceUID: study, TransferSyntaxUID: ts}, nil
}

// pdf builds an Encapsulated PDF instance.
func (b *builder) pdf(content []byte) (*Instance, error) {
	if err := checkPDF(content); err != nil {
		return nil, err
	}
	if len(content) > 0xFFFFFFFE-1 {
		return nil, invalid("PDF of %d bytes is too large", len(content))
	}
	study, series, sop := b.common(EncapsulatedPDFStorage, "DOC", "SD", "Scanned document")
	title := b.opts.SeriesDescription
	if title == "" {
		title = "Scanned document"
	}
	date, tm := b.now.Format("20060102"), b.now.Format("150405")
	b.str(tagContentDate, dicom.DA, date)
	b.str(tagContentTime, dicom.TM, tm)
	b.str(tagAcquisitionDateTime, dicom.DT, date+tm)
	b.str(tagBurnedInAnnotation, dicom.CS, "YES")
	b.str(tagDocumentTitle, dicom.ST, title)
	b.ds.Set(&dicom.Element{Tag: tagConceptNameCodeSequence, VR: dicom.SQ, Items: []*dicom.Dataset{}})
	b.str(tagMIMETypeOfEncapsulated, dicom.LO, "application/pdf")
	b.ds.Set(&dicom.Element{Tag: tagEncapsulatedDocument, VR: dicom.OB, Value: content})
	b.ds.Set(&dicom.Element{Tag: tagEncapsulatedDocumentLen, VR: dicom.UL,
		Value: binary.LittleEndian.AppendUint32(nil, uint32(len(content)))})
	return b.finish(study, series, sop, EncapsulatedPDFStorage, ExplicitVRLittleEndian)
}

// checkPDF accepts a file with a PDF header in its first 1024 bytes and an
// end-of-file marker in its last 1024 (ISO 32000-1 7.5.2, 7.5.5, with the
// tolerance readers apply).
func checkPDF(content []byte) error {
	head := content[:min(len(content), 1024)]
	i := bytes.Index(head, []byte("%PDF-"))
	if i < 0 {
		return invalid("not a PDF: no %%PDF- header in the first 1024 bytes")
	}
	tail := content[max(0, len(content)-1024):]
	if !bytes.Contains(tail, []byte("%%EOF")) || len(content)-i < 64 {
		return invalid("truncated or empty PDF: no %%%%EOF marker at the end")
	}
	return nil
}

// image builds a Secondary Capture Image instance.
func (b *builder) image(content []byte, mt string) (*Instance, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(content))
	if err != nil {
		return nil, invalid("not a readable %s image: %v", mt, err)
	}
	if err := b.checkSize(cfg.Width, cfg.Height); err != nil {
		return nil, err
	}
	orientation := 0
	if format == "jpeg" {
		orientation = exifOrientation(content)
	}
	if format == "jpeg" && orientation <= 1 {
		if sof, ok := baselineJPEG(content); ok {
			if sof.width != cfg.Width || sof.height != cfg.Height {
				return nil, invalid("JPEG frame header %dx%d disagrees with decoder %dx%d", sof.width, sof.height, cfg.Width, cfg.Height)
			}
			return b.encapsulatedJPEG(content, sof)
		}
	}
	img, _, err := image.Decode(bytes.NewReader(content))
	if err != nil {
		return nil, invalid("cannot decode %s image: %v", format, err)
	}
	if orientation > 1 {
		img = orient(img, orientation) // stored upright: DICOM has no Exif
	}
	return b.native(img)
}

func (b *builder) checkSize(w, h int) error {
	if w <= 0 || h <= 0 {
		return invalid("image has no pixels (%dx%d)", w, h)
	}
	if w > 0xFFFF || h > 0xFFFF || w*h > b.opts.MaxPixels {
		return invalid("image dimensions %dx%d exceed the limit (at most 65535 per side and %d pixels)", w, h, b.opts.MaxPixels)
	}
	return nil
}

// scImage sets the SC Image, General Image and Image Pixel attributes
// shared by both pixel encodings.
func (b *builder) scImage(rows, cols, spp, bits int, photometric string) {
	b.str(tagPatientOrientation, dicom.CS, "")
	b.str(tagLaterality, dicom.CS, "") // 2C: unknown for a scan; present and empty
	b.str(tagDateOfSecondaryCapture, dicom.DA, b.now.Format("20060102"))
	b.str(tagTimeOfSecondaryCapture, dicom.TM, b.now.Format("150405"))
	b.str(tagBurnedInAnnotation, dicom.CS, "YES")
	b.us(dicom.TagSamplesPerPixel, uint16(spp))
	b.str(tagPhotometric, dicom.CS, photometric)
	if spp > 1 {
		b.us(tagPlanarConfiguration, 0)
	}
	b.us(dicom.TagRows, uint16(rows))
	b.us(dicom.TagColumns, uint16(cols))
	b.us(dicom.TagBitsAllocated, uint16(bits))
	b.us(dicom.TagBitsStored, uint16(bits))
	b.us(tagHighBit, uint16(bits-1))
	b.us(dicom.TagPixelRepresentation, 0)
}

func (b *builder) encapsulatedJPEG(content []byte, sof jpegFrame) (*Instance, error) {
	study, series, sop := b.common(SecondaryCaptureImageStorage, "OT", "SI", "Scanned image")
	pi := "MONOCHROME2"
	if sof.components == 3 {
		pi = "YBR_FULL"
		if sof.subsampled {
			pi = "YBR_FULL_422"
		}
	}
	b.scImage(sof.height, sof.width, sof.components, 8, pi)
	b.str(tagLossyImageCompression, dicom.CS, "01")
	b.str(tagLossyCompressionMethod, dicom.CS, "ISO_10918_1")
	frag := content
	if len(frag)%2 == 1 {
		frag = append(append([]byte(nil), content...), 0) // PS3.5 A.4: fragments have even length
	}
	b.ds.Set(&dicom.Element{Tag: dicom.TagPixelData, VR: dicom.OB, Length: dicom.UndefinedLength,
		Fragments: []dicom.Fragment{{Data: []byte{}}, {Length: uint32(len(frag)), Data: frag}}})
	return b.finish(study, series, sop, SecondaryCaptureImageStorage, JPEGBaseline)
}

// native stores decoded pixels: 8/16-bit grey as MONOCHROME2, everything
// else as 8-bit RGB with transparency flattened onto white.
func (b *builder) native(img image.Image) (*Instance, error) {
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	if err := b.checkSize(w, h); err != nil {
		return nil, err
	}
	study, series, sop := b.common(SecondaryCaptureImageStorage, "OT", "SI", "Scanned image")
	var px []byte
	switch g := img.(type) {
	case *image.Gray:
		b.scImage(h, w, 1, 8, "MONOCHROME2")
		px = make([]byte, 0, w*h+1)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			px = append(px, g.Pix[g.PixOffset(r.Min.X, y):g.PixOffset(r.Min.X, y)+w]...)
		}
	case *image.Gray16:
		b.scImage(h, w, 1, 16, "MONOCHROME2")
		px = make([]byte, 0, 2*w*h)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				px = binary.LittleEndian.AppendUint16(px, g.Gray16At(x, y).Y)
			}
		}
	default:
		b.scImage(h, w, 3, 8, "RGB")
		px = rgbOnWhite(img)
	}
	if len(px)%2 == 1 {
		px = append(px, 0)
	}
	vr := dicom.OB
	if _, ok := img.(*image.Gray16); ok {
		vr = dicom.OW
	}
	b.ds.Set(&dicom.Element{Tag: dicom.TagPixelData, VR: vr, Value: px})
	return b.finish(study, series, sop, SecondaryCaptureImageStorage, ExplicitVRLittleEndian)
}

// rgbOnWhite returns the 8-bit RGB samples of img, row by row, with
// transparency composited onto white. The common decoder outputs (NRGBA
// from PNG, RGBA from TIFF) take a direct path.
func rgbOnWhite(img image.Image) []byte {
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	px := make([]byte, 0, 3*w*h+1)
	switch m := img.(type) {
	case *image.NRGBA:
		for y := r.Min.Y; y < r.Max.Y; y++ {
			row := m.Pix[m.PixOffset(r.Min.X, y) : m.PixOffset(r.Min.X, y)+4*w]
			for i := 0; i < len(row); i += 4 {
				a := uint32(row[i+3])
				for c := 0; c < 3; c++ {
					px = append(px, uint8((uint32(row[i+c])*a+255*(255-a)+127)/255))
				}
			}
		}
	case *image.RGBA:
		for y := r.Min.Y; y < r.Max.Y; y++ {
			row := m.Pix[m.PixOffset(r.Min.X, y) : m.PixOffset(r.Min.X, y)+4*w]
			for i := 0; i < len(row); i += 4 {
				white := 255 - row[i+3] // premultiplied: add the white showing through
				px = append(px, row[i]+white, row[i+1]+white, row[i+2]+white)
			}
		}
	default:
		rgba := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.Draw(rgba, rgba.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
		draw.Draw(rgba, rgba.Bounds(), img, r.Min, draw.Over)
		for i := 0; i < len(rgba.Pix); i += 4 {
			px = append(px, rgba.Pix[i], rgba.Pix[i+1], rgba.Pix[i+2])
		}
	}
	return px
}
