// The measurement list: every annotation of the open study (lengths,
// angles, rectangle and ellipse ROIs with their statistics, text
// annotations) with its value, the image it was drawn on, and a button to
// remove it.
import { metaData } from '@cornerstonejs/core';
import { annotation } from '@cornerstonejs/tools';
import { h, clear } from '../dom';

/** MeasureTool names the Cornerstone annotation tools the list shows. */
export type MeasureTool = 'Length' | 'Angle' | 'RectangleROI' | 'EllipticalROI' | 'ArrowAnnotate';

const LABELS: Record<MeasureTool, string> = {
  Length: 'Length',
  Angle: 'Angle',
  RectangleROI: 'Rect ROI',
  EllipticalROI: 'Ellipse ROI',
  ArrowAnnotate: 'Text',
};

/** ROIStats are the statistics of the pixels inside an ROI, in modality units. */
export interface ROIStats {
  mean?: number;
  stdDev?: number;
  min?: number;
  max?: number;
  area?: number;
  areaUnit?: string;
  modalityUnit?: string; // "HU" for calibrated CT
}

/**
 * Measurement is one annotation as the list shows it. value/unit are the
 * headline number: the length, the angle (°), an ROI's mean.
 */
export interface Measurement {
  uid: string;
  tool: MeasureTool;
  value: number | undefined;
  unit: string;
  imageId: string;
  stats?: ROIStats;
  text?: string; // the text of a text annotation
}

const isTool = (t: string | undefined): t is MeasureTool => t !== undefined && t in LABELS;
const finite = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);

/** measurements reads the annotations from Cornerstone's state. */
export function measurements(): Measurement[] {
  const out: Measurement[] = [];
  for (const a of annotation.state.getAllAnnotations()) {
    const tool = a.metadata?.toolName;
    if (!isTool(tool)) continue;
    const all = Object.values((a.data?.cachedStats ?? {}) as Record<string, Record<string, unknown>>);
    const m: Measurement = { uid: a.annotationUID ?? '', tool, value: undefined, unit: '', imageId: a.metadata?.referencedImageId ?? '' };
    switch (tool) {
      case 'Length': {
        const s = all.find((x) => finite(x?.length) !== undefined);
        m.value = finite(s?.length);
        m.unit = String(s?.unit ?? '');
        break;
      }
      case 'Angle': {
        const s = all.find((x) => finite(x?.angle) !== undefined);
        m.value = finite(s?.angle);
        m.unit = '°';
        break;
      }
      case 'RectangleROI':
      case 'EllipticalROI': {
        const s = all.find((x) => finite(x?.mean) !== undefined);
        if (s) {
          m.stats = {
            mean: finite(s.mean),
            stdDev: finite(s.stdDev),
            min: finite(s.min),
            max: finite(s.max),
            area: finite(s.area),
            areaUnit: typeof s.areaUnit === 'string' ? s.areaUnit : undefined,
            modalityUnit: typeof s.modalityUnit === 'string' ? s.modalityUnit : undefined,
          };
          m.value = m.stats.mean;
          m.unit = m.stats.modalityUnit ?? '';
        }
        break;
      }
      case 'ArrowAnnotate':
        m.text = String((a.data as { label?: string } | undefined)?.label ?? '');
        break;
    }
    out.push(m);
  }
  return out;
}

/**
 * calibrateUnits drops the "HU" Cornerstone gives every CT ROI when the
 * image has no Rescale Intercept/Slope: its stored values are then not
 * Hounsfield units. Call it when an ROI's statistics change (before the
 * redraw, so that the label on the image agrees with the list).
 */
export function calibrateUnits(a: { metadata?: { toolName?: string; referencedImageId?: string }; data?: { cachedStats?: unknown } }): void {
  const tool = a.metadata?.toolName;
  if (tool !== 'RectangleROI' && tool !== 'EllipticalROI') return;
  const imageId = a.metadata?.referencedImageId;
  if (!imageId) return;
  const lut = metaData.get('modalityLutModule', imageId) as { rescaleIntercept?: number; rescaleSlope?: number } | undefined;
  if (typeof lut?.rescaleIntercept === 'number' && typeof lut?.rescaleSlope === 'number') return;
  for (const s of Object.values((a.data?.cachedStats ?? {}) as Record<string, { modalityUnit?: string }>)) {
    if (s?.modalityUnit === 'HU') s.modalityUnit = '';
  }
}

const fmt = (x: number | undefined, digits = 2) => (x === undefined ? '…' : x.toFixed(digits));

/** formatLength shows a length with two decimals and its unit. */
export function formatLength(m: Measurement): string {
  return m.value === undefined || !Number.isFinite(m.value) ? '…' : `${m.value.toFixed(2)} ${m.unit}`;
}

/** formatMeasurement is the list's text for a measurement's value. */
export function formatMeasurement(m: Measurement): string {
  switch (m.tool) {
    case 'Length':
      return formatLength(m);
    case 'Angle':
      return m.value === undefined ? '…' : `${m.value.toFixed(1)}°`;
    case 'RectangleROI':
    case 'EllipticalROI': {
      const s = m.stats;
      if (!s) return '…';
      const u = s.modalityUnit ? ` ${s.modalityUnit}` : '';
      return `mean ${fmt(s.mean)}${u}, SD ${fmt(s.stdDev)}, area ${fmt(s.area)} ${s.areaUnit ?? ''}`.trim();
    }
    case 'ArrowAnnotate':
      return m.text ? `“${m.text}”` : '…';
  }
}

/**
 * renderMeasurements fills el with the list; jump(imageId) is called when a
 * row is clicked, remove(uid) when its button is.
 */
export function renderMeasurements(
  el: HTMLElement,
  list: Measurement[],
  imageLabel: (imageId: string) => string,
  jump: (imageId: string) => void,
  remove: (uid: string) => void,
): void {
  clear(el);
  if (list.length === 0) {
    el.append(h('p', { class: 'hint' }, 'No measurements. Choose Length, Angle, an ROI or Text and draw on the image.'));
    return;
  }
  const ol = h('ol', { class: 'measurements', 'data-testid': 'measurements' });
  list.forEach((m, i) => {
    const s = m.stats;
    const li = h(
      'li',
      {
        'data-uid': m.uid,
        'data-tool': m.tool,
        'data-value': m.value ?? '',
        'data-unit': m.unit,
        ...(s ? { 'data-mean': s.mean ?? '', 'data-sd': s.stdDev ?? '', 'data-area': s.area ?? '' } : {}),
        ...(m.text !== undefined ? { 'data-text': m.text } : {}),
      },
      h(
        'button',
        { type: 'button', class: 'link', title: 'Show the image', onclick: () => jump(m.imageId) },
        `${LABELS[m.tool]} ${i + 1}: `,
        h('strong', { class: 'value' }, formatMeasurement(m)),
        h('span', { class: 'where' }, ` ${imageLabel(m.imageId)}`),
      ),
      h('button', { type: 'button', class: 'icon', title: 'Delete', onclick: () => remove(m.uid) }, '×'),
    );
    ol.append(li);
  });
  el.append(ol);
}
