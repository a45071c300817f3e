// Package imaging owns the display pipeline: it turns a decoded frame
// (codec.Decode's native samples and PixelInfo) into an 8- or 16-bit
// image, and encodes it as PNG or JPEG. It is what WADO-RS /rendered and
// /thumbnail, WADO-URI image/jpeg and `lightbox render` use.
//
// # Grayscale
//
// MONOCHROME1/2 frames follow PS3.4 N.2.1: stored values (masked to Bits
// Stored at High Bit, sign-extended) go through the Modality LUT (Rescale
// Slope/Intercept or the Modality LUT Sequence), the VOI LUT (a window
// with VOI LUT Function LINEAR, LINEAR_EXACT or SIGMOID, or the VOI LUT
// Sequence; several selectable by index; a window over the frame's value
// range when the data set has none, or over the range the stored bits can
// hold when the frame is uniform) and the Presentation LUT Shape
// (IDENTITY, INVERSE; MONOCHROME1 inverts when no shape is given, as
// DCMTK does). Pixel Padding Value / Range Limit pixels are left out of
// the automatic window and shown black (DCMTK windows them like other
// values). One-sample frames with a missing or unknown Photometric
// Interpretation are shown as MONOCHROME2. Enhanced multi-frame objects take the Pixel Value
// Transformation and Frame VOI LUT of each frame from the Per-frame
// Functional Groups, else the Shared ones, else the top level.
//
// For integer samples of up to 16 stored bits the whole chain is folded
// into one table over the stored bit patterns, built per frame, so the
// per-pixel cost is one lookup; 32-bit and float samples are mapped one by
// one. Output levels are rounded (DCMTK truncates, so renders differ from
// dcm2pnm's by at most one level).
//
// # Colour
//
// RGB is scaled from Bits Stored to the output depth; YBR_FULL,
// YBR_FULL_422 and YBR_ICT use the BT.601 full-range inverse, YBR_PARTIAL_
// 422/420 the studio-range one, YBR_RCT the JPEG 2000 reversible inverse.
// Decoders usually deliver RGB already and say so in the PixelInfo, which
// is what counts, not the data set's Photometric Interpretation. PALETTE
// COLOR reads plain or segmented tables with 8- or 16-bit entries.
//
// # Overlays, scaling, output
//
// Overlay planes (60xx), separate or embedded in unused high bits of the
// pixel data, single- or multi-frame, are drawn white on request. Scaling
// to a viewport keeps the aspect ratio (Pixel Aspect Ratio or Pixel
// Spacing included), averages areas when shrinking and interpolates
// linearly when enlarging.
//
// PNG output uses a fixed-filter writer (png.go) about twice as fast as
// image/png for the same size; JPEG uses image/jpeg.
//
// Values the DICOM reader leaves in the source (large LUT Data or Overlay
// Data) are read through Options.Source.
//
// Not handled: Presentation LUT Sequence (only its shape), presentation
// states, ICC profiles, ROI-type overlays drawn differently from graphics.
package imaging
