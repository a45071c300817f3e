// Viewer extras around the image viewer (viewer/index.ts): display of
// non-image series (Structured Reports as text, Encapsulated PDF in the
// page, Key Object Selection as linked key images) over the viewports, the
// DICOM tag browser of the current image, the print layout, and the
// "attach scan/PDF to this study" form. Mounted by main.ts next to the
// viewer; it adds its buttons to the viewer's toolbar and follows the
// route, so the viewer itself needs no hooks.
import { type DicomJSON, Tag, str, num } from '../dicom';
import { instanceMetadata, qido, enc } from '../dicomweb';
import { h, clear } from '../dom';
import { type Route, viewerURL } from '../router';
import { renderSR } from './sr';
import { renderDocument } from './pdf';
import { renderKeyImages, KEY_OBJECT_SELECTION } from './keyimages';
import { TagBrowser } from './tags';
import { printSheet, viewportImages, studyHeader } from './print';
import { attachForm } from './attach';

type ViewerRoute = Extract<Route, { page: 'viewer' }>;

/** Modalities of series that may hold documents (SR, key objects, PDFs filed as OT or SC). */
const MAYBE_DOCUMENTS = new Set(['SR', 'KO', 'DOC', 'OT', 'SC', '']);

/** Kind of object an instance is, by SOP Class UID. */
export type ObjectKind = 'sr' | 'kos' | 'document' | 'image';

/** kindOf classifies a SOP Class UID. */
export function kindOf(sopClass: string): ObjectKind {
  if (sopClass === KEY_OBJECT_SELECTION) return 'kos';
  if (sopClass.startsWith('1.2.840.10008.5.1.4.1.1.88.')) return 'sr';
  if (sopClass.startsWith('1.2.840.10008.5.1.4.1.1.104.')) return 'document';
  return 'image';
}

interface CurrentImage {
  study: string;
  series: string;
  sop: string;
}

type Hook = { state?: () => { study?: string; series?: string; sop?: string } };

/** ViewerExtras is the mounted extras; update follows the route. */
export interface ViewerExtras {
  update(route: ViewerRoute): void;
  destroy(): void;
}

/** mountViewerExtras attaches the extras to a mounted viewer in root. */
export function mountViewerExtras(root: HTMLElement, first: ViewerRoute): ViewerExtras {
  const controller = new AbortController();
  const signal = controller.signal;
  const study = first.study;
  const cleanups: (() => void)[] = [];
  let route = first;
  let shownObject: CurrentImage | undefined;
  let seq = 0;

  // ---- object view over the viewports ----
  const objectView = h('div', { class: 'object-view', 'data-testid': 'object-view', hidden: true });
  const grid = root.querySelector<HTMLElement>('[data-testid="viewports"]');
  if (grid) {
    if (getComputedStyle(grid).position === 'static') grid.style.position = 'relative';
    grid.append(objectView);
  } else {
    root.append(objectView);
  }
  // The study's series (modality, number), asked once; the instances of a
  // series that may hold documents (SOP classes from QIDO-RS, not the whole
  // metadata: an image series costs the viewer nothing extra).
  let seriesList: Promise<DicomJSON[]> | undefined;
  const studySeries = () => {
    if (!seriesList) {
      const q = new URLSearchParams();
      q.append('includefield', Tag.Modality);
      q.append('includefield', Tag.SeriesNumber);
      seriesList = qido(`/studies/${enc(study)}/series`, q, signal).then((r) => r.items);
      seriesList.catch(() => (seriesList = undefined));
    }
    return seriesList;
  };
  const instances = new Map<string, Promise<DicomJSON[]>>();
  const instancesOf = (series: string) => {
    let p = instances.get(series);
    if (!p) {
      const q = new URLSearchParams();
      q.append('includefield', Tag.SOPClassUID);
      q.append('includefield', Tag.InstanceNumber);
      p = qido(`/studies/${enc(study)}/series/${enc(series)}/instances`, q, signal).then((r) => r.items);
      p.catch(() => instances.delete(series));
      instances.set(series, p);
    }
    return p;
  };
  let docCleanups: (() => void)[] = [];
  const hideObjects = () => {
    for (const c of docCleanups) c();
    docCleanups = [];
    objectView.hidden = true;
    delete objectView.dataset.kind;
    clear(objectView);
    shownObject = undefined;
  };
  cleanups.push(hideObjects);

  const showObjects = async (r: ViewerRoute) => {
    const mine = ++seq;
    let series = r.series;
    let list: DicomJSON[];
    try {
      list = await studySeries();
    } catch {
      return; // the viewer reports a study it cannot load
    }
    if (mine !== seq) return;
    if (!series) {
      // The study's page: the viewer opens the first series (by number)
      // whose modality is not a document's, else the first series; when
      // that holds documents (an SR-only study, a PDF filed as OT), they
      // are shown.
      const sorted = [...list].sort(
        (a, b) => (num(a, Tag.SeriesNumber) ?? Infinity) - (num(b, Tag.SeriesNumber) ?? Infinity) || str(a, Tag.SeriesInstanceUID).localeCompare(str(b, Tag.SeriesInstanceUID)),
      );
      const opened = sorted.find((s) => !['SR', 'PR', 'KO', 'DOC'].includes(str(s, Tag.Modality))) ?? sorted[0];
      if (!opened) {
        hideObjects();
        return;
      }
      series = str(opened, Tag.SeriesInstanceUID);
    }
    const info = list.find((s) => str(s, Tag.SeriesInstanceUID) === series);
    if (info && !MAYBE_DOCUMENTS.has(str(info, Tag.Modality))) {
      hideObjects();
      return;
    }
    let all: DicomJSON[];
    try {
      all = await instancesOf(series);
    } catch {
      return;
    }
    if (mine !== seq || signal.aborted) return;
    const objects = all.filter((ds) => kindOf(str(ds, Tag.SOPClassUID)) !== 'image');
    if (!objects.length || objects.length < all.length / 2) {
      hideObjects();
      return;
    }
    objects.sort((a, b) => (num(a, Tag.InstanceNumber) ?? 0) - (num(b, Tag.InstanceNumber) ?? 0));
    const ref = objects.find((ds) => str(ds, Tag.SOPInstanceUID) === r.instance) ?? objects[0];
    const sop = str(ref, Tag.SOPInstanceUID);
    if (shownObject?.sop === sop && !objectView.hidden) return;
    let pick: DicomJSON | undefined;
    try {
      pick = await instanceMetadata(study, series, sop, signal);
    } catch {
      return;
    }
    if (mine !== seq || signal.aborted || !pick) return;
    hideObjects();
    shownObject = { study, series, sop };
    const kind = kindOf(str(pick, Tag.SOPClassUID));
    objectView.dataset.kind = kind;
    objectView.dataset.sop = sop;
    const nav =
      objects.length > 1
        ? h(
            'nav',
            { class: 'object-nav' },
            ...objects.map((ds, i) => {
              const uid = str(ds, Tag.SOPInstanceUID);
              return h('a', { href: viewerURL(study, series, uid), 'data-link': true, class: uid === sop ? 'active' : undefined }, `${i + 1}`);
            }),
          )
        : null;
    let body: HTMLElement;
    if (kind === 'document') {
      const d = renderDocument(pick, study, series, sop, signal);
      docCleanups.push(d.destroy);
      body = d.el;
    } else if (kind === 'kos') {
      body = h('div', {}, renderKeyImages(pick), renderSR(pick));
    } else {
      body = renderSR(pick);
    }
    objectView.append(...[nav, body].filter((x): x is HTMLElement => !!x));
    objectView.hidden = false;
    // The address bar names the document shown (a shareable deep link).
    const url = viewerURL(study, series, sop);
    if (window.location.pathname !== url) history.replaceState(history.state, '', url);
  };

  // ---- current image ----
  const current = (): CurrentImage | undefined => {
    if (shownObject && !objectView.hidden) return shownObject;
    const s = (window as unknown as { lightboxViewer?: Hook }).lightboxViewer?.state?.();
    if (s?.study && s.series && s.sop) return { study: s.study, series: s.series, sop: s.sop };
    if (route.series && route.instance) return { study, series: route.series, sop: route.instance };
    return undefined;
  };

  // ---- tag browser ----
  let tagTimer = 0;
  let tagsShown = '';
  const tags = new TagBrowser(() => closeTags());
  tags.el.hidden = true;
  root.append(tags.el);
  const refreshTags = async () => {
    const c = current();
    if (!c) {
      tags.el.dataset.state = 'empty';
      return;
    }
    if (c.sop === tagsShown) return;
    tagsShown = c.sop;
    tags.el.dataset.state = 'loading';
    try {
      const ds = await instanceMetadata(c.study, c.series, c.sop, signal);
      if (!ds || tagsShown !== c.sop) return;
      await tags.show(ds, `${str(ds, Tag.Modality)} · SOP Instance ${c.sop}`);
      tags.el.dataset.sop = c.sop;
      tags.el.dataset.state = 'ready';
    } catch (err) {
      tagsShown = '';
      tags.el.dataset.state = 'error';
      if (!signal.aborted) console.warn('tag browser:', err);
    }
  };
  const openTags = () => {
    // Below the viewer's top bar, whose height follows its wrapped toolbar.
    const bar = root.querySelector('.topbar');
    if (bar) tags.el.style.top = `${Math.round(bar.getBoundingClientRect().bottom)}px`;
    tags.el.hidden = false;
    tagsButton.setAttribute('aria-pressed', 'true');
    void refreshTags();
    window.clearInterval(tagTimer);
    tagTimer = window.setInterval(() => void refreshTags(), 400);
  };
  const closeTags = () => {
    tags.el.hidden = true;
    tagsButton.setAttribute('aria-pressed', 'false');
    window.clearInterval(tagTimer);
  };
  cleanups.push(() => window.clearInterval(tagTimer), () => tags.el.remove());

  // ---- print ----
  let sheet: HTMLElement | undefined;
  const closePrint = () => {
    sheet?.remove();
    sheet = undefined;
    document.body.classList.remove('print-mode');
  };
  const openPrint = async () => {
    closePrint();
    const st = await studyHeader(study, signal).catch(() => undefined);
    const images = objectView.hidden ? await viewportImages(root) : [];
    sheet = printSheet(st, images, closePrint);
    if (!objectView.hidden) {
      const doc = objectView.querySelector('.sr-document, .key-images');
      if (doc) sheet.querySelector('.print-grid')?.replaceWith(doc.cloneNode(true));
    }
    document.body.append(sheet);
    document.body.classList.add('print-mode');
  };
  cleanups.push(closePrint);

  // ---- attach ----
  let dialog: HTMLElement | undefined;
  const closeAttach = () => {
    dialog?.remove();
    dialog = undefined;
  };
  const openAttach = () => {
    closeAttach();
    dialog = h(
      'div',
      { class: 'modal', 'data-testid': 'attach-dialog' },
      attachForm(
        study,
        (r) => {
          // Reload the study page on the new series: its list then shows it.
          window.setTimeout(() => window.location.assign(viewerURL(study, r.seriesInstanceUID)), 300);
        },
        closeAttach,
      ),
    );
    root.append(dialog);
  };
  cleanups.push(closeAttach);

  // ---- toolbar ----
  const tagsButton = h('button', { type: 'button', 'data-action': 'tags', 'aria-pressed': 'false', title: 'DICOM attributes of the current image' }, 'Tags');
  tagsButton.addEventListener('click', () => (tags.el.hidden ? openTags() : closeTags()));
  const buttons = [
    h('span', { class: 'sep' }),
    tagsButton,
    h('button', { type: 'button', 'data-action': 'print', title: 'Print layout of the images shown', onclick: () => void openPrint() }, 'Print'),
    h('button', { type: 'button', 'data-action': 'attach', title: 'Attach a scanned film, photo or PDF to this study', onclick: openAttach }, 'Attach…'),
  ];
  const toolbar = root.querySelector('[data-testid="toolbar"]') ?? root;
  toolbar.append(...buttons);
  cleanups.push(() => buttons.forEach((b) => b.remove()));

  void showObjects(route);

  return {
    update(r: ViewerRoute) {
      route = r;
      void showObjects(r);
    },
    destroy() {
      controller.abort();
      objectView.remove();
      for (const c of cleanups.reverse()) {
        try {
          c();
        } catch {
          /* keep tearing down */
        }
      }
    },
  };
}
