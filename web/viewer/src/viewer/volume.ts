// Whether a series forms a volume that MPR and 3D rendering can show, and
// its slices in volume order. Pure functions over the series' WADO-RS
// metadata (no Cornerstone), so the reasons a series is refused are the
// same ones the reader is told.
import { Tag, type DicomJSON, str, num, nums } from '../dicom';

/** FRAME_OF_REFERENCE is (0020,0052) Frame of Reference UID. */
const FRAME_OF_REFERENCE = '00200052';

/** VOLUME_MODALITIES are the modalities MPR and 3D are offered for. */
export const VOLUME_MODALITIES = ['CT', 'MR', 'PT', 'NM'];

/** MIN_SLICES is the fewest slices a volume may have. */
export const MIN_SLICES = 3;

/** VolumeSlice is one slice of a candidate volume. */
export interface VolumeSlice {
  imageId: string;
  meta: DicomJSON;
  frames: number;
}

/** VolumeCheck is the outcome of checkVolume. */
export type VolumeCheck =
  | {
      ok: true;
      /** imageIds in order of position along the slice normal (ascending). */
      imageIds: string[];
      /** spacing between slice positions, mm. */
      spacing: number;
      rows: number;
      columns: number;
      modality: string;
    }
  | { ok: false; reason: string };

const dot = (a: number[], b: number[]) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];

/**
 * checkVolume decides whether slices form a volume: single-frame images of
 * a volume modality, at least MIN_SLICES of them, with one Frame of
 * Reference, one orientation (within 1e-3), the same rows, columns and
 * pixel spacing, and positions along the slice normal that are distinct
 * and evenly spaced (each gap within 1%, or 0.01 mm, of the median gap), with
 * no slice offset within its plane (a tilted, sheared stack is refused).
 */
export function checkVolume(slices: VolumeSlice[]): VolumeCheck {
  if (slices.length < MIN_SLICES) {
    return { ok: false, reason: `A volume needs at least ${MIN_SLICES} slices; this series has ${slices.length} image${slices.length === 1 ? '' : 's'}.` };
  }
  const first = slices[0].meta;
  const modality = str(first, Tag.Modality);
  if (!VOLUME_MODALITIES.includes(modality)) {
    return { ok: false, reason: `MPR and 3D are for ${VOLUME_MODALITIES.join(', ')} series; this one is ${modality || 'of no modality'}.` };
  }
  if (slices.some((s) => s.frames > 1)) {
    return { ok: false, reason: 'This series holds multi-frame images; MPR is offered for series of single-frame slices.' };
  }
  const fr = str(first, FRAME_OF_REFERENCE);
  const iop = nums(first, Tag.ImageOrientationPatient);
  const rows = num(first, Tag.Rows) ?? 0;
  const columns = num(first, Tag.Columns) ?? 0;
  const ps = nums(first, Tag.PixelSpacing);
  if (iop.length !== 6 || ps.length !== 2) {
    return { ok: false, reason: 'The images lack Image Orientation (Patient) or Pixel Spacing: their geometry is unknown.' };
  }
  const normal = [
    iop[1] * iop[5] - iop[2] * iop[4],
    iop[2] * iop[3] - iop[0] * iop[5],
    iop[0] * iop[4] - iop[1] * iop[3],
  ];
  const positioned: { id: string; pos: number; ipp: number[] }[] = [];
  for (const [i, s] of slices.entries()) {
    const m = s.meta;
    if (modality !== str(m, Tag.Modality)) return { ok: false, reason: `Image ${i + 1} is of another modality.` };
    if (fr !== str(m, FRAME_OF_REFERENCE)) return { ok: false, reason: `Image ${i + 1} is in another Frame of Reference.` };
    if (num(m, Tag.Rows) !== rows || num(m, Tag.Columns) !== columns) {
      return { ok: false, reason: `The images differ in size (image ${i + 1} is not ${columns}×${rows}).` };
    }
    const o = nums(m, Tag.ImageOrientationPatient);
    if (o.length !== 6 || o.some((v, k) => Math.abs(v - iop[k]) > 1e-3)) {
      return { ok: false, reason: `The slices are not parallel (image ${i + 1} has another orientation).` };
    }
    const p = nums(m, Tag.PixelSpacing);
    if (p.length !== 2 || Math.abs(p[0] - ps[0]) > 1e-3 || Math.abs(p[1] - ps[1]) > 1e-3) {
      return { ok: false, reason: `The images differ in pixel spacing (image ${i + 1}).` };
    }
    const ipp = nums(m, Tag.ImagePositionPatient);
    if (ipp.length !== 3) return { ok: false, reason: `Image ${i + 1} has no Image Position (Patient).` };
    positioned.push({ id: s.imageId, pos: dot(ipp, normal), ipp });
  }
  positioned.sort((a, b) => a.pos - b.pos);
  const gaps: number[] = [];
  for (let i = 1; i < positioned.length; i++) gaps.push(positioned[i].pos - positioned[i - 1].pos);
  if (gaps.some((g) => g < 1e-3)) {
    return { ok: false, reason: 'Two or more images share a slice position (a series of several acquisitions or phases, not one volume).' };
  }
  const spacing = (positioned[positioned.length - 1].pos - positioned[0].pos) / gaps.length;
  // The usual gap is the median one; report the gap furthest from it.
  const median = [...gaps].sort((a, b) => a - b)[Math.floor(gaps.length / 2)];
  const tolerance = Math.max(0.01, median * 0.01);
  let bad = 0;
  for (let i = 1; i < gaps.length; i++) if (Math.abs(gaps[i] - median) > Math.abs(gaps[bad] - median)) bad = i;
  if (Math.abs(gaps[bad] - median) > tolerance || Math.abs(spacing - median) > tolerance) {
    return {
      ok: false,
      reason: `The slices are not evenly spaced: ${gaps[bad].toFixed(2)} mm between slices ${bad + 1} and ${bad + 2}, where most are ${median.toFixed(2)} mm apart (missing or extra slices).`,
    };
  }
  // Each slice's origin must lie on the line through the first along the normal.
  const o0 = positioned[0].ipp;
  for (const [i, s] of positioned.entries()) {
    const d = [s.ipp[0] - o0[0], s.ipp[1] - o0[1], s.ipp[2] - o0[2]];
    const along = dot(d, normal);
    const off = Math.hypot(d[0] - along * normal[0], d[1] - along * normal[1], d[2] - along * normal[2]);
    if (off > Math.max(0.01, spacing * 0.01) + 1e-3 * Math.abs(along)) {
      return { ok: false, reason: `Slice ${i + 1} is shifted within its plane (a tilted or sheared acquisition).` };
    }
  }
  return { ok: true, imageIds: positioned.map((p) => p.id), spacing, rows, columns, modality };
}
