// Window/level presets and the conversion between window width/centre and
// the VOI range Cornerstone works with. The conversion is DICOM's LINEAR
// VOI LUT function (PS3.3 C.11.2.1.2.1), as Cornerstone implements it: a
// window of width W and centre C maps C - 0.5 - (W-1)/2 to black and
// C - 0.5 + (W-1)/2 to white.
import { utilities as csUtils } from '@cornerstonejs/core';

export interface WLPreset {
  id: string;
  label: string;
  key: string; // keyboard shortcut
  width: number;
  center: number;
}

/** CT_PRESETS are the usual CT windows, in Hounsfield units. */
export const CT_PRESETS: WLPreset[] = [
  { id: 'lung', label: 'Lung', key: '1', width: 1500, center: -600 },
  { id: 'mediastinum', label: 'Mediastinum', key: '2', width: 350, center: 50 },
  { id: 'bone', label: 'Bone', key: '3', width: 2000, center: 500 },
  { id: 'brain', label: 'Brain', key: '4', width: 80, center: 40 },
  { id: 'abdomen', label: 'Abdomen', key: '5', width: 400, center: 50 },
];

/** toRange turns width/centre into the lower/upper VOI range. */
export function toRange(width: number, center: number): { lower: number; upper: number } {
  return csUtils.windowLevel.toLowHighRange(width, center);
}

/** fromRange turns a VOI range back into width/centre. */
export function fromRange(r: { lower: number; upper: number }): { width: number; center: number } {
  const { windowWidth, windowCenter } = csUtils.windowLevel.toWindowLevel(r.lower, r.upper);
  return { width: windowWidth, center: windowCenter };
}

/** MR_AUTO_PERCENTILES are the pixel-value percentiles the automatic window spans. */
export const MR_AUTO_PERCENTILES = [0.01, 0.99] as const;

/**
 * autoWindow is a window from an image's pixel statistics, for images that
 * carry none (MR mostly): the VOI range from the 1st to the 99th percentile
 * of the modality values (stored value × slope + intercept), which ignores
 * the few very bright or dark pixels a min..max window is spoilt by.
 * Percentile p is the sorted value at index round(p × (n − 1)).
 */
export function autoWindow(pixels: ArrayLike<number>, slope = 1, intercept = 0): { lower: number; upper: number } | undefined {
  const n = pixels.length;
  if (n === 0) return undefined;
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = pixels[i] * slope + intercept;
  v.sort();
  const at = (p: number) => v[Math.round(p * (n - 1))];
  const lower = at(MR_AUTO_PERCENTILES[0]);
  let upper = at(MR_AUTO_PERCENTILES[1]);
  if (!(upper > lower)) upper = lower + 1;
  return { lower, upper };
}

