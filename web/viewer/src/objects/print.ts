// The print layout: a page with a patient and study header and the images
// of the viewer's viewports as they are shown (window, zoom, rotation
// included), for the browser's print dialog or "Save as PDF" — the
// soft-copy replacement of printed film. The sheet is previewed on screen;
// @media print rules (objects.css) hide everything else.
import { Tag, str, formatDate, type DicomJSON } from '../dicom';
import { qido } from '../dicomweb';
import { h } from '../dom';

/** PrintImage is one image for the sheet. */
export interface PrintImage {
  src: string; // data: URL of the drawn image
  caption: string;
}

/** withAnnotations draws the viewport's SVG layer (measurements, text) over its canvas. */
async function withAnnotations(c: HTMLCanvasElement): Promise<string> {
  const svg = c.parentElement?.querySelector<SVGSVGElement>('svg.svg-layer');
  const base = c.toDataURL('image/png');
  if (!svg || !svg.childElementCount) return base;
  const r = c.getBoundingClientRect();
  const clone = svg.cloneNode(true) as SVGSVGElement;
  clone.setAttribute('xmlns', 'http://www.w3.org/2000/svg');
  clone.setAttribute('width', String(r.width));
  clone.setAttribute('height', String(r.height));
  const url = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(new XMLSerializer().serializeToString(clone))}`;
  const load = (src: string) =>
    new Promise<HTMLImageElement>((res, rej) => {
      const im = new Image();
      im.onload = () => res(im);
      im.onerror = () => rej(new Error('image did not load'));
      im.src = src;
    });
  try {
    const [bg, fg] = await Promise.all([load(base), load(url)]);
    const out = document.createElement('canvas');
    out.width = c.width;
    out.height = c.height;
    const ctx = out.getContext('2d')!;
    ctx.drawImage(bg, 0, 0);
    ctx.drawImage(fg, 0, 0, c.width, c.height);
    return out.toDataURL('image/png');
  } catch {
    return base;
  }
}

/** viewportImages captures the viewer's viewports as drawn, annotations included. */
export async function viewportImages(root: ParentNode): Promise<PrintImage[]> {
  const out: PrintImage[] = [];
  const hook = (window as unknown as { lightboxViewer?: { viewports?: () => { viewport: number; index: number; count: number; sop?: string; frame?: number; window?: number; center?: number }[] } }).lightboxViewer;
  const states = hook?.viewports?.() ?? [];
  const canvases = Array.from(root.querySelectorAll<HTMLCanvasElement>('[data-testid="viewports"] canvas'));
  for (const [i, c] of canvases.entries()) {
    if (!c.width || !c.height) continue;
    let src = '';
    try {
      src = await withAnnotations(c);
    } catch {
      continue; // a tainted canvas cannot be printed
    }
    const s = states[i];
    const caption =
      s && s.index >= 0
        ? [`Image ${s.index + 1} of ${s.count}`, s.frame && s.frame > 1 ? `frame ${s.frame}` : '', s.window !== undefined ? `W ${Math.round(s.window)} / L ${Math.round(s.center ?? 0)}` : '']
            .filter(Boolean)
            .join(' · ')
        : `Viewport ${i + 1}`;
    out.push({ src, caption });
  }
  return out;
}

/** printSheet builds the sheet for a study and images. */
export function printSheet(st: DicomJSON | undefined, images: PrintImage[], onClose: () => void): HTMLElement {
  const cols = images.length <= 1 ? 1 : images.length <= 4 ? 2 : 3;
  const header = h(
    'header',
    { class: 'print-header', 'data-testid': 'print-header' },
    h('div', { class: 'print-patient' }, str(st, Tag.PatientName) || '(no name)'),
    h(
      'div',
      {},
      [
        str(st, Tag.PatientID) && `ID ${str(st, Tag.PatientID)}`,
        str(st, Tag.PatientBirthDate) && `born ${formatDate(str(st, Tag.PatientBirthDate))}`,
        str(st, Tag.PatientSex),
      ]
        .filter(Boolean)
        .join(' · '),
    ),
    h(
      'div',
      {},
      [
        formatDate(str(st, Tag.StudyDate)),
        str(st, Tag.StudyDescription),
        str(st, Tag.AccessionNumber) && `Acc ${str(st, Tag.AccessionNumber)}`,
        str(st, Tag.InstitutionName),
      ]
        .filter(Boolean)
        .join(' · '),
    ),
  );
  return h(
    'div',
    { class: 'print-sheet', 'data-testid': 'print-sheet' },
    h(
      'div',
      { class: 'print-controls' },
      h('button', { type: 'button', 'data-action': 'do-print', onclick: () => window.print() }, 'Print…'),
      h('button', { type: 'button', 'data-action': 'close-print', onclick: onClose }, 'Close'),
      h('span', { class: 'hint' }, 'Use the print dialog’s “Save as PDF” for a PDF.'),
    ),
    header,
    h(
      'div',
      { class: images.length > 2 ? 'print-grid many' : 'print-grid', style: `grid-template-columns: repeat(${cols}, 1fr)` },
      ...images.map((im) => h('figure', { class: 'print-image' }, h('img', { src: im.src, alt: im.caption }), h('figcaption', {}, im.caption))),
    ),
    images.length ? null : h('p', { class: 'hint' }, 'No image is shown: nothing to print.'),
    h('footer', { class: 'print-footer' }, `Printed ${new Date().toLocaleString()} from Lightbox — not for primary diagnosis unless your display and printer are calibrated.`),
  );
}

const STUDY_FIELDS = [Tag.PatientBirthDate, Tag.PatientSex, Tag.StudyDescription, Tag.AccessionNumber, Tag.InstitutionName];

/** studyHeader fetches the study-level attributes the header shows. */
export async function studyHeader(study: string, signal?: AbortSignal): Promise<DicomJSON | undefined> {
  const sp = new URLSearchParams({ StudyInstanceUID: study });
  for (const t of STUDY_FIELDS) sp.append('includefield', t);
  return (await qido('/studies', sp, signal)).items[0];
}
