// Key Object Selection documents: the images a reader flagged, listed with
// links that open each in the viewer, under the document's title (e.g.
// "Of Interest", "For Teaching") and the key object description.
import { type DicomJSON, str, Tag } from '../dicom';
import { h } from '../dom';
import { dicomwebRoot, enc } from '../dicomweb';
import { viewerURL } from '../router';
import { SRTag, items, conceptName, evidenceIndex } from './sr';

export const KEY_OBJECT_SELECTION = '1.2.840.10008.5.1.4.1.1.88.59';

/** KeyImage is one referenced instance. */
export interface KeyImage {
  study: string;
  series: string;
  sop: string;
  frames: number[];
}

/** keyImages lists the instances a Key Object Selection references, in document order. */
export function keyImages(ds: DicomJSON): KeyImage[] {
  const where = evidenceIndex(ds);
  const out: KeyImage[] = [];
  const seen = new Set<string>();
  const visit = (list: DicomJSON[]) => {
    for (const it of list) {
      for (const ref of items(it, SRTag.ReferencedSOPSequence)) {
        const sop = str(ref, SRTag.ReferencedSOPInstanceUID);
        const w = where.get(sop);
        if (!sop || !w || seen.has(sop)) continue;
        seen.add(sop);
        const frames = ((ref[SRTag.ReferencedFrameNumber]?.Value ?? []) as unknown[]).map(Number).filter(Number.isFinite);
        out.push({ study: w.study, series: w.series, sop, frames });
      }
      visit(items(it, SRTag.ContentSequence));
    }
  };
  visit(items(ds, SRTag.ContentSequence));
  // Evidence not referenced from the content tree still counts.
  for (const [sop, w] of where) if (!seen.has(sop)) out.push({ ...w, sop, frames: [] });
  return out;
}

/** renderKeyImages renders the list of key images with viewer links. */
export function renderKeyImages(ds: DicomJSON): HTMLElement {
  const list = keyImages(ds);
  const description = items(ds, SRTag.ContentSequence)
    .filter((it) => str(it, SRTag.ValueType) === 'TEXT')
    .map((it) => str(it, SRTag.TextValue))
    .join(' ');
  return h(
    'section',
    { class: 'key-images', 'data-testid': 'key-images' },
    h('h2', {}, `Key images: ${conceptName(ds) || 'selection'}`),
    description ? h('p', {}, description) : null,
    h(
      'ol',
      {},
      ...list.map((k, i) =>
        h(
          'li',
          { 'data-sop': k.sop },
          h(
            'a',
            { href: viewerURL(k.study, k.series, k.sop, k.frames[0]), 'data-link': true, class: 'key-thumb', title: 'Open in the viewer' },
            h('img', {
              src: `${dicomwebRoot()}/studies/${enc(k.study)}/series/${enc(k.series)}/instances/${enc(k.sop)}${k.frames[0] ? `/frames/${k.frames[0]}` : ''}/thumbnail?viewport=128,128`,
              alt: `Key image ${i + 1}`,
              loading: 'lazy',
              width: 128,
              height: 128,
            }),
          ),
          h('a', { href: viewerURL(k.study, k.series, k.sop, k.frames[0]), 'data-link': true, class: 'key-link' }, `Key image ${i + 1}`),
          ` — ${k.sop}${k.frames.length ? `, frame ${k.frames.join(', ')}` : ''}${k.study !== str(ds, Tag.StudyInstanceUID) ? ' (another study)' : ''}`,
        ),
      ),
    ),
    list.length ? null : h('p', { class: 'hint' }, 'The selection references no instances.'),
  );
}
