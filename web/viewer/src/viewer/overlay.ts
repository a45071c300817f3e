// The text overlay on the image corners: patient, study, series, image
// position and display state.
import { Tag, type DicomJSON, str, num, nums, formatDate, formatTime } from '../dicom';
import { h, clear } from '../dom';

/** OverlayState is what the corners show besides the image's own metadata. */
export interface OverlayState {
  meta: DicomJSON;
  index: number; // 0-based position in the stack
  count: number;
  frame: number;
  frames: number;
  window?: number;
  center?: number;
  zoom?: number; // screen pixels per image pixel
  rotation?: number;
  flipH?: boolean;
  flipV?: boolean;
  invert?: boolean;
  extra?: string[]; // display states worth a mention (sharpen, crop, cine)
}

const round = (x: number, digits = 0) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

/** overlayLines returns the text lines of each corner. */
export function overlayLines(s: OverlayState): Record<'tl' | 'tr' | 'bl' | 'br', string[]> {
  const m = s.meta;
  const sex = str(m, Tag.PatientSex);
  const birth = str(m, Tag.PatientBirthDate);
  const tl = [
    str(m, Tag.PatientName),
    str(m, Tag.PatientID) && `ID: ${str(m, Tag.PatientID)}`,
    [birth && formatDate(birth), sex].filter(Boolean).join('  '),
  ];
  const date = str(m, Tag.StudyDate);
  const time = str(m, Tag.StudyTime);
  const tr = [
    str(m, Tag.InstitutionName),
    str(m, Tag.StudyDescription),
    [date && formatDate(date), time && formatTime(time)].filter(Boolean).join(' '),
    str(m, Tag.AccessionNumber) && `Acc: ${str(m, Tag.AccessionNumber)}`,
  ];
  const seriesNo = str(m, Tag.SeriesNumber);
  const loc = num(m, Tag.SliceLocation);
  const ipp = nums(m, Tag.ImagePositionPatient);
  const thick = num(m, Tag.SliceThickness);
  const bl = [
    [str(m, Tag.Modality), seriesNo && `Se: ${seriesNo}`, str(m, Tag.SeriesDescription)].filter(Boolean).join('  '),
    `Im: ${s.index + 1}/${s.count}` + (s.frames > 1 ? `  Fr: ${s.frame}/${s.frames}` : '') +
      (num(m, Tag.InstanceNumber) !== undefined ? `  (#${num(m, Tag.InstanceNumber)})` : ''),
    loc !== undefined
      ? `Loc: ${round(loc, 2)} mm`
      : ipp.length === 3
        ? `Pos: ${ipp.map((v) => round(v, 1)).join(', ')}`
        : '',
    thick !== undefined ? `Thick: ${round(thick, 2)} mm` : '',
  ];
  const flags = [
    s.rotation ? `Rot: ${s.rotation}°` : '',
    s.flipH ? 'Flip H' : '',
    s.flipV ? 'Flip V' : '',
    s.invert ? 'Inverted' : '',
    ...(s.extra ?? []),
  ].filter(Boolean);
  const br = [
    flags.join('  '),
    s.zoom !== undefined ? `Zoom: ${round(s.zoom, 2)}x` : '',
    s.window !== undefined && s.center !== undefined ? `W: ${round(s.window)} L: ${round(s.center)}` : '',
  ];
  const clean = (xs: string[]) => xs.filter((x) => x !== '');
  return { tl: clean(tl), tr: clean(tr), bl: clean(bl), br: clean(br) };
}

/** Overlay owns the four corner elements inside a viewport container. */
export class Overlay {
  private corners: Record<'tl' | 'tr' | 'bl' | 'br', HTMLElement>;

  /** testSuffix tells apart the overlays of several viewports ("" for the first). */
  constructor(container: HTMLElement, testSuffix = '') {
    const mk = (c: string) => h('div', { class: `overlay ${c}`, 'data-testid': `overlay-${c}${testSuffix}` });
    this.corners = { tl: mk('tl'), tr: mk('tr'), bl: mk('bl'), br: mk('br') };
    container.append(this.corners.tl, this.corners.tr, this.corners.bl, this.corners.br);
  }

  update(s: OverlayState): void {
    const lines = overlayLines(s);
    for (const k of ['tl', 'tr', 'bl', 'br'] as const) {
      const el = this.corners[k];
      const text = lines[k].join('\n');
      if (el.dataset.text === text) continue;
      el.dataset.text = text;
      clear(el);
      for (const l of lines[k]) el.append(h('div', {}, l));
    }
  }
}
