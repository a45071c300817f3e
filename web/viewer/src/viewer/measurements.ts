// The measurement list: every length annotation of the open study, with its
// value, the image it was drawn on, and a button to remove it.
import { annotation } from '@cornerstonejs/tools';
import { h, clear } from '../dom';

/** Measurement is one length annotation as the list shows it. */
export interface Measurement {
  uid: string;
  tool: string;
  value: number | undefined;
  unit: string;
  imageId: string;
}

interface LengthStats {
  length?: number;
  unit?: string;
}

/** measurements reads the length annotations from Cornerstone's state. */
export function measurements(): Measurement[] {
  const out: Measurement[] = [];
  for (const a of annotation.state.getAllAnnotations()) {
    if (a.metadata?.toolName !== 'Length') continue;
    const stats = (a.data?.cachedStats ?? {}) as Record<string, LengthStats>;
    const first = Object.values(stats).find((s) => typeof s?.length === 'number');
    out.push({
      uid: a.annotationUID ?? '',
      tool: 'Length',
      value: first?.length,
      unit: first?.unit ?? '',
      imageId: a.metadata?.referencedImageId ?? '',
    });
  }
  return out;
}

/** formatLength shows a length with two decimals and its unit. */
export function formatLength(m: Measurement): string {
  return m.value === undefined || !Number.isFinite(m.value) ? '…' : `${m.value.toFixed(2)} ${m.unit}`;
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
    el.append(h('p', { class: 'hint' }, 'No measurements. Choose Length and drag on the image.'));
    return;
  }
  const ol = h('ol', { class: 'measurements', 'data-testid': 'measurements' });
  list.forEach((m, i) => {
    const li = h(
      'li',
      { 'data-uid': m.uid, 'data-value': m.value ?? '', 'data-unit': m.unit },
      h(
        'button',
        { type: 'button', class: 'link', title: 'Show the image', onclick: () => jump(m.imageId) },
        `${m.tool} ${i + 1}: `,
        h('strong', { class: 'value' }, formatLength(m)),
        h('span', { class: 'where' }, ` ${imageLabel(m.imageId)}`),
      ),
      h('button', { type: 'button', class: 'icon', title: 'Delete', onclick: () => remove(m.uid) }, '×'),
    );
    ol.append(li);
  });
  el.append(ol);
}
