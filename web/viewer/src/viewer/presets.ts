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
