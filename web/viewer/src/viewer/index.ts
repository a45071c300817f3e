// The viewer page: a study's series (with thumbnails) beside a Cornerstone3D
// stack viewport that loads frames through WADO-RS, with the reading tools,
// corner overlays, a measurement list and a URL that always names the
// image shown.
import { RenderingEngine, Enums, eventTarget, cache, utilities as csUtils, type Types } from '@cornerstonejs/core';
import { Enums as ToolEnums, annotation } from '@cornerstonejs/tools';
import { Tag, type DicomJSON, str, num, nums, formatDate, strs } from '../dicom';
import { qido, seriesMetadata, enc } from '../dicomweb';
import { h, clear } from '../dom';
import { type Route, viewerURL, lastSearch } from '../router';
import { ensureCornerstone, applyRendererChoice, renderer } from './cornerstone';
import { buildStack, type StackImage } from './stack';
import { Overlay } from './overlay';
import { CT_PRESETS, fromRange } from './presets';
import { StackTools, PRIMARY_TOOLS, actions, flips, type PrimaryTool } from './tools';
import { measurements, renderMeasurements } from './measurements';
import { ThumbnailQueue, fillThumbnail } from './thumbnails';
import { prefetchStack, type Prefetch } from './prefetch';

type ViewerRoute = Extract<Route, { page: 'viewer' }>;

/** ViewerPage is a mounted viewer; update handles a route of the same study in place. */
export interface ViewerPage {
  destroy(): void;
  update(route: Route): boolean;
}

interface SeriesInfo {
  uid: string;
  number: number | undefined;
  modality: string;
  description: string;
  count: number | undefined;
}

const ENGINE_ID = 'lightbox-engine';
const VIEWPORT_ID = 'lightbox-stack';
const TOOLGROUP_ID = 'lightbox-stack-tools';
const SERIES_INCLUDE = [Tag.SeriesDescription, Tag.SeriesNumber, Tag.Modality, Tag.NumberOfSeriesRelatedInstances];
const STUDY_INCLUDE = [Tag.StudyDescription, Tag.ModalitiesInStudy, Tag.AccessionNumber, Tag.PatientBirthDate, Tag.PatientSex];


/** warmUp initialises Cornerstone ahead of the first study (see prefetchViewer). */
export function warmUp(): Promise<void> {
  return ensureCornerstone();
}

/** mountViewer renders the viewer for route into root. */
export async function mountViewer(
  root: HTMLElement,
  route: ViewerRoute,
): Promise<ViewerPage> {
  const study = route.study;
  const controller = new AbortController();
  const signal = controller.signal;
  const cleanups: (() => void)[] = [];
  let destroyed = false;

  // ---- layout ----
  const backHref = lastSearch();
  const studyInfo = h('div', { class: 'study-info', 'data-testid': 'study-info' }, 'Loading study…');
  const seriesList = h('ol', { class: 'series-list', 'data-testid': 'series-list' });
  const measureList = h('div', { class: 'measure-panel' });
  const status = h('div', { class: 'viewport-status', 'data-testid': 'viewer-status', role: 'status' }, 'Loading…');
  const element = h('div', { class: 'viewport', 'data-testid': 'viewport', tabindex: 0 });
  const viewportWrap = h('div', { class: 'viewport-wrap' }, element, status);
  const overlay = new Overlay(viewportWrap);
  const toolbar = h('div', { class: 'toolbar', role: 'toolbar', 'data-testid': 'toolbar' });

  clear(root);
  root.append(
    h(
      'div',
      { class: 'viewer' },
      h(
        'header',
        { class: 'topbar' },
        h('a', { href: '/', class: 'brand', 'data-link': true }, 'Lightbox'),
        h('a', { href: backHref, 'data-link': true, class: 'back', 'data-testid': 'back-to-studies' }, '‹ Studies'),
        toolbar,
      ),
      h(
        'div',
        { class: 'viewer-body' },
        h('aside', { class: 'side' }, studyInfo, h('h2', {}, 'Series'), seriesList, h('h2', {}, 'Measurements'), measureList),
        viewportWrap,
      ),
    ),
  );
  element.addEventListener('contextmenu', (ev) => ev.preventDefault());

  performance.mark('lightbox:viewer-module');
  await ensureCornerstone();
  applyRendererChoice();
  performance.mark('lightbox:cornerstone-ready');
  if (destroyed) return { destroy() {}, update: () => false };

  // ---- Cornerstone viewport and tools ----
  const engine = new RenderingEngine(ENGINE_ID);
  engine.enableElement({
    viewportId: VIEWPORT_ID,
    type: Enums.ViewportType.STACK,
    element: element as HTMLDivElement,
    defaultOptions: { background: [0, 0, 0] as Types.Point3 },
  });
  performance.mark('lightbox:engine-ready');
  const viewport = () => engine.getViewport(VIEWPORT_ID) as Types.IStackViewport;
  const tools = new StackTools(TOOLGROUP_ID, ENGINE_ID, VIEWPORT_ID);
  cleanups.push(() => tools.destroy());
  cleanups.push(() => engine.destroy());

  const ro = new ResizeObserver(() => engine.resize(true, true));
  ro.observe(element);
  cleanups.push(() => ro.disconnect());

  // ---- state ----
  let seriesInfos: SeriesInfo[] = [];
  let currentSeries = '';
  let stack: StackImage[] = [];
  let byImageId = new Map<string, number>();
  let loadGeneration = 0;
  let imageShown = false;
  // Background load of the whole series once its first image is shown.
  let prefetch: Prefetch | undefined;
  cleanups.push(() => prefetch?.cancel());
  const thumbs = new ThumbnailQueue();
  cleanups.push(() => thumbs.stop());

  const setStatus = (text: string, error = false) => {
    status.textContent = text;
    status.classList.toggle('error', error);
    status.hidden = text === '';
  };

  // The index of the image on screen. Cornerstone's getCurrentImageIdIndex
  // changes only after STACK_NEW_IMAGE has fired, so the index is taken
  // from that event.
  let shownIndex = -1;
  const currentIndex = () => (stack.length ? shownIndex : -1);

  const refreshOverlay = () => {
    const i = currentIndex();
    const img = stack[i];
    if (!img) return;
    const vp = viewport();
    const props = vp.getProperties();
    const pres = vp.getViewPresentation();
    const wl = props.voiRange ? fromRange(props.voiRange) : undefined;
    overlay.update({
      meta: img.meta,
      index: i,
      count: stack.length,
      frame: img.frame,
      frames: img.frames,
      window: wl?.width,
      center: wl?.center,
      zoom: displayScale(vp, img.imageId),
      rotation: pres.rotation,
      flipH: flips(vp).h,
      flipV: flips(vp).v,
      invert: props.invert,
    });
  };

  let urlTimer = 0;
  const syncURL = () => {
    window.clearTimeout(urlTimer);
    urlTimer = window.setTimeout(() => {
      const img = stack[currentIndex()];
      if (!img || destroyed) return;
      const url = viewerURL(study, currentSeries, img.sop, img.frame);
      if (window.location.pathname !== url) history.replaceState(history.state, '', url);
    }, 150);
  };
  cleanups.push(() => window.clearTimeout(urlTimer));

  const imageLabel = (imageId: string) => {
    const i = byImageId.get(imageId);
    if (i !== undefined) return `(image ${i + 1})`;
    return '(other series)';
  };

  let measureQueued = false;
  const refreshMeasurements = () => {
    if (measureQueued) return;
    measureQueued = true;
    requestAnimationFrame(() => {
      measureQueued = false;
      if (destroyed) return;
      renderMeasurements(
        measureList,
        measurements(),
        imageLabel,
        (imageId) => {
          const i = byImageId.get(imageId);
          if (i !== undefined) actions.jump(viewport(), i);
        },
        (uid) => {
          annotation.state.removeAnnotation(uid);
          viewport().render();
          refreshMeasurements();
        },
      );
    });
  };
  cleanups.push(() => annotation.state.removeAllAnnotations());

  // ---- events ----
  const on = (target: EventTarget, type: string, fn: EventListener) => {
    target.addEventListener(type, fn);
    cleanups.push(() => target.removeEventListener(type, fn));
  };
  on(element, Enums.Events.STACK_NEW_IMAGE, ((ev: CustomEvent) => {
    const d = ev.detail as { imageIdIndex?: number; imageId?: string };
    shownIndex = d.imageId !== undefined && byImageId.has(d.imageId) ? byImageId.get(d.imageId)! : (d.imageIdIndex ?? shownIndex);
    refreshOverlay();
    syncURL();
    highlightSeries();
  }) as EventListener);
  on(element, Enums.Events.IMAGE_RENDERED, () => {
    refreshOverlay();
    if (!imageShown && stack.length && shownIndex >= 0) {
      imageShown = true;
      performance.mark('lightbox:first-image');
      setStatus('');
      element.dataset.ready = 'true';
      thumbs.start();
      prefetch?.cancel();
      prefetch = prefetchStack(
        stack.map((s) => s.imageId),
        shownIndex,
      );
    }
  });
  for (const ev of [
    ToolEnums.Events.ANNOTATION_COMPLETED,
    ToolEnums.Events.ANNOTATION_MODIFIED,
    ToolEnums.Events.ANNOTATION_REMOVED,
    ToolEnums.Events.ANNOTATION_ADDED,
  ]) {
    on(eventTarget, ev, refreshMeasurements);
  }
  // The Length tool recomputes its value at most every 100 ms while a
  // handle is dragged and once more after the drag ends, but it does not
  // redraw for that last computation: redraw, so that the label on the
  // image shows the final value (the list already does).
  let redrawQueued = false;
  on(eventTarget, ToolEnums.Events.ANNOTATION_MODIFIED, ((ev: CustomEvent) => {
    if ((ev.detail as { changeType?: string }).changeType !== ToolEnums.ChangeTypes.StatsUpdated || redrawQueued) return;
    redrawQueued = true;
    requestAnimationFrame(() => {
      redrawQueued = false;
      if (!destroyed && stack.length) viewport().render();
    });
  }) as EventListener);
  on(eventTarget, Enums.Events.IMAGE_LOAD_FAILED, ((ev: CustomEvent) => {
    const d = ev.detail as { imageId?: string; error?: unknown };
    if (d.imageId && byImageId.has(d.imageId)) {
      setStatus(`Could not load image ${byImageId.get(d.imageId)! + 1}: ${errorText(d.error)}`, true);
    }
  }) as EventListener);

  // ---- toolbar ----
  const toolButtons = new Map<PrimaryTool, HTMLButtonElement>();
  const selectTool = (id: PrimaryTool) => {
    tools.setPrimary(id);
    for (const [k, b] of toolButtons) b.setAttribute('aria-pressed', String(k === id));
  };
  for (const t of PRIMARY_TOOLS) {
    const b = h('button', { type: 'button', title: t.title, 'data-tool': t.id, 'aria-pressed': 'false', onclick: () => selectTool(t.id) }, t.label);
    toolButtons.set(t.id, b);
    toolbar.append(b);
  }
  toolButtons.get('WindowLevel')?.setAttribute('aria-pressed', 'true');

  const presetSelect = h(
    'select',
    { title: 'Window presets (keys 1–5)', 'data-testid': 'wl-preset' },
    h('option', { value: '' }, 'W/L preset…'),
    ...CT_PRESETS.map((p) => h('option', { value: p.id }, `${p.key} ${p.label} (${p.width}/${p.center})`)),
    h('option', { value: 'default' }, 'Image default'),
  );
  const applyPreset = (id: string) => {
    const vp = viewport();
    if (!stack.length) return;
    if (id === 'default') {
      vp.resetProperties();
      vp.render();
    } else {
      const p = CT_PRESETS.find((x) => x.id === id);
      if (p) actions.windowLevel(vp, p.width, p.center);
    }
  };
  presetSelect.addEventListener('change', () => {
    applyPreset(presetSelect.value);
    presetSelect.value = '';
    element.focus();
  });

  const act = (label: string, title: string, action: string, fn: () => void) =>
    h('button', { type: 'button', title, 'data-action': action, onclick: () => stack.length && fn() }, label);
  toolbar.append(
    h('span', { class: 'sep' }),
    presetSelect,
    h('span', { class: 'sep' }),
    act('Rotate', 'Rotate 90° clockwise (R)', 'rotate', () => actions.rotate90(viewport())),
    act('Flip H', 'Flip horizontally (H)', 'flip-h', () => actions.flipH(viewport())),
    act('Flip V', 'Flip vertically (V)', 'flip-v', () => actions.flipV(viewport())),
    act('Invert', 'Invert (I)', 'invert', () => actions.invert(viewport())),
    act('Reset', 'Reset the view (Esc)', 'reset', () => actions.reset(viewport())),
  );

  // ---- keyboard ----
  on(window, 'keydown', ((ev: KeyboardEvent) => {
    const t = ev.target as HTMLElement | null;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA')) return;
    if (ev.ctrlKey || ev.metaKey || ev.altKey || !stack.length) return;
    const vp = viewport();
    const preset = CT_PRESETS.find((p) => p.key === ev.key);
    let handled = true;
    switch (ev.key) {
      case 'ArrowDown':
      case 'ArrowRight':
        actions.scroll(vp, 1);
        break;
      case 'ArrowUp':
      case 'ArrowLeft':
        actions.scroll(vp, -1);
        break;
      case 'PageDown':
        actions.scroll(vp, Math.max(1, Math.round(stack.length / 10)));
        break;
      case 'PageUp':
        actions.scroll(vp, -Math.max(1, Math.round(stack.length / 10)));
        break;
      case 'Home':
        actions.jump(vp, 0);
        break;
      case 'End':
        actions.jump(vp, stack.length - 1);
        break;
      case 'r':
      case 'R':
        actions.rotate90(vp);
        break;
      case 'h':
      case 'H':
        actions.flipH(vp);
        break;
      case 'v':
      case 'V':
        actions.flipV(vp);
        break;
      case 'i':
      case 'I':
        actions.invert(vp);
        break;
      case 'Escape':
        actions.reset(vp);
        break;
      default:
        if (preset) actions.windowLevel(vp, preset.width, preset.center);
        else handled = false;
    }
    if (handled) ev.preventDefault();
  }) as EventListener);

  // ---- series list ----
  const seriesItems = new Map<string, HTMLElement>();
  const highlightSeries = () => {
    for (const [uid, li] of seriesItems) li.classList.toggle('active', uid === currentSeries);
  };

  const renderSeriesList = () => {
    clear(seriesList);
    seriesItems.clear();
    for (const s of seriesInfos) {
      const box = h('div', { class: 'thumb' }, s.modality || '…');
      const a = h(
        'a',
        { href: viewerURL(study, s.uid), 'data-link': true, 'data-series': s.uid },
        box,
        h(
          'div',
          { class: 'series-text' },
          h('div', { class: 'series-title' }, [s.number !== undefined ? `#${s.number}` : '', s.modality].filter(Boolean).join(' ')),
          h('div', { class: 'series-desc' }, s.description || '(no description)'),
          h('div', { class: 'series-count' }, s.count !== undefined ? `${s.count} image${s.count === 1 ? '' : 's'}` : ''),
        ),
      );
      const li = h('li', { 'data-series': s.uid }, a);
      seriesItems.set(s.uid, li);
      seriesList.append(li);
      thumbs.add(() => fillThumbnail(box, study, s.uid, s.modality));
    }
    highlightSeries();
  };

  const openSeries = async (seriesUID: string, target?: { instance?: string; frame?: number }) => {
    const gen = ++loadGeneration;
    currentSeries = seriesUID;
    highlightSeries();
    setStatus('Loading series…');
    element.dataset.ready = 'false';
    imageShown = false;
    let metadata: DicomJSON[];
    try {
      metadata = await seriesMetadata(study, seriesUID, signal);
    } catch (err) {
      if (gen === loadGeneration && !signal.aborted) setStatus(`Could not load the series: ${errorText(err)}`, true);
      return;
    }
    if (gen !== loadGeneration || destroyed) return;
    performance.mark('lightbox:series-metadata');
    const next = buildStack(study, seriesUID, metadata);
    if (next.length === 0) {
      stack = [];
      byImageId = new Map();
      setStatus('This series has no images to display.', true);
      return;
    }
    stack = next;
    shownIndex = -1;
    byImageId = new Map(stack.map((s, i) => [s.imageId, i]));
    let index = 0;
    if (target?.instance) {
      const i = stack.findIndex((s) => s.sop === target.instance && s.frame === (target.frame ?? 1));
      if (i >= 0) index = i;
    }
    try {
      await viewport().setStack(
        stack.map((s) => s.imageId),
        index,
      );
      if (gen !== loadGeneration || destroyed) return;
      viewport().render();
      refreshOverlay();
      refreshMeasurements();
      syncURL();
    } catch (err) {
      if (gen === loadGeneration && !destroyed) setStatus(`Could not display the image: ${errorText(err)}`, true);
    }
  };

  // ---- study ----
  const loadStudy = async () => {
    performance.mark('lightbox:study-query');
    const sp = new URLSearchParams({ StudyInstanceUID: study });
    for (const t of STUDY_INCLUDE) sp.append('includefield', t);
    const seriesParams = new URLSearchParams();
    for (const t of SERIES_INCLUDE) seriesParams.append('includefield', t);
    const [studyRes, seriesRes] = await Promise.all([
      qido('/studies', sp, signal),
      qido(`/studies/${enc(study)}/series`, seriesParams, signal),
    ]);
    performance.mark('lightbox:study-found');
    const st = studyRes.items[0];
    clear(studyInfo);
    if (st) {
      const birth = str(st, Tag.PatientBirthDate);
      studyInfo.append(
        h('div', { class: 'patient-name' }, str(st, Tag.PatientName) || '(no name)'),
        h('div', {}, [str(st, Tag.PatientID) && `ID ${str(st, Tag.PatientID)}`, birth && formatDate(birth), str(st, Tag.PatientSex)].filter(Boolean).join(' · ')),
        h('div', { class: 'study-desc' }, str(st, Tag.StudyDescription) || '(no description)'),
        h('div', {}, [formatDate(str(st, Tag.StudyDate)), strs(st, Tag.ModalitiesInStudy).join('/'), str(st, Tag.AccessionNumber) && `Acc ${str(st, Tag.AccessionNumber)}`].filter(Boolean).join(' · ')),
      );
      document.title = `${str(st, Tag.PatientName) || 'Study'} — Lightbox`;
    } else {
      studyInfo.append(h('div', { class: 'error' }, 'Study not found.'));
    }
    seriesInfos = seriesRes.items
      .map((ds) => ({
        uid: str(ds, Tag.SeriesInstanceUID),
        number: num(ds, Tag.SeriesNumber),
        modality: str(ds, Tag.Modality),
        description: str(ds, Tag.SeriesDescription),
        count: num(ds, Tag.NumberOfSeriesRelatedInstances),
      }))
      .sort((a, b) => (a.number ?? Infinity) - (b.number ?? Infinity) || a.uid.localeCompare(b.uid));
    renderSeriesList();
    if (seriesInfos.length === 0) {
      setStatus('This study has no series.', true);
      return;
    }
    const first =
      seriesInfos.find((s) => s.uid === route.series) ??
      seriesInfos.find((s) => !['SR', 'PR', 'KO', 'DOC'].includes(s.modality)) ??
      seriesInfos[0];
    await openSeries(first.uid, first.uid === route.series ? route : undefined);
  };

  loadStudy().catch((err) => {
    if (!signal.aborted) {
      setStatus(`Could not load the study: ${errorText(err)}`, true);
      studyInfo.textContent = 'Could not load the study.';
    }
  });

  // ---- automation hook (used by the browser tests; read-only helpers) ----
  const hook = {
    ready: () => element.dataset.ready === 'true',
    state: () => {
      const vp = viewport();
      const img = stack[currentIndex()];
      const props = vp.getProperties();
      const pres = vp.getViewPresentation();
      const wl = props.voiRange ? fromRange(props.voiRange) : undefined;
      return {
        study,
        series: currentSeries,
        sop: img?.sop,
        frame: img?.frame,
        index: currentIndex(),
        count: stack.length,
        window: wl?.width,
        center: wl?.center,
        voiLower: props.voiRange?.lower,
        voiUpper: props.voiRange?.upper,
        invert: !!props.invert,
        rotation: pres.rotation ?? 0,
        flipH: flips(vp).h,
        flipV: flips(vp).v,
        zoom: vp.getZoom(),
        scale: img ? displayScale(vp, img.imageId) : undefined,
        renderer: renderer(),
        primaryTool: tools.primaryTool,
        // prefetched images of the series in the cache, of count
        loaded: prefetch?.loaded() ?? 0,
        loadFailed: prefetch?.failed() ?? 0,
      };
    },
    /**
     * pixelToClient maps the centre of the pixel at (column, row) — indices
     * from 0, fractions allowed — to client (CSS) coordinates. Cornerstone's
     * image coordinates put (0,0) at the first pixel's outer corner.
     */
    pixelToClient: (col: number, row: number): [number, number] | undefined => {
      const img = stack[currentIndex()];
      if (!img) return undefined;
      const world = csUtils.imageToWorldCoords(img.imageId, [col + 0.5, row + 0.5]);
      if (!world) return undefined;
      const [cx, cy] = viewport().worldToCanvas(world);
      const r = element.getBoundingClientRect();
      return [r.left + cx, r.top + cy];
    },
    /** modalityValue is the stored value at (column, row) after the rescale (HU for CT). */
    modalityValue: (x: number, y: number): number | undefined => {
      const img = stack[currentIndex()];
      const image = img && cache.getImage(img.imageId);
      if (!image) return undefined;
      const v = image.getPixelData()[y * image.columns + x];
      if (image.preScale?.scaled) return v;
      return v * (image.slope ?? 1) + (image.intercept ?? 0);
    },
    pixelSpacing: (): number[] => nums(stack[currentIndex()]?.meta, Tag.PixelSpacing),
    measurements,
  };
  (window as unknown as { lightboxViewer?: unknown }).lightboxViewer = hook;
  cleanups.push(() => {
    delete (window as unknown as { lightboxViewer?: unknown }).lightboxViewer;
  });

  return {
    destroy() {
      destroyed = true;
      controller.abort();
      for (const c of cleanups.reverse()) {
        try {
          c();
        } catch {
          /* keep tearing down */
        }
      }
    },
    update(r: Route): boolean {
      if (r.page !== 'viewer' || r.study !== study) return false;
      const img = stack[currentIndex()];
      const series = r.series ?? seriesInfos[0]?.uid;
      if (series && series !== currentSeries) {
        void openSeries(series, r);
      } else if (r.instance && (img?.sop !== r.instance || img?.frame !== (r.frame ?? 1))) {
        const i = stack.findIndex((s) => s.sop === r.instance && s.frame === (r.frame ?? 1));
        if (i >= 0) actions.jump(viewport(), i);
      }
      return true;
    },
  };
}

/**
 * displayScale is the magnification shown: screen (CSS) pixels per image
 * pixel, measured along a row, the same on both renderers (Cornerstone's
 * getZoom is relative to "fit" on WebGL and absolute on the CPU path).
 */
function displayScale(vp: Types.IStackViewport, imageId: string): number | undefined {
  if (!vp.getImageData()) return undefined; // between two series
  try {
    const a = csUtils.imageToWorldCoords(imageId, [0, 0]);
    const b = csUtils.imageToWorldCoords(imageId, [1, 0]);
    if (!a || !b) return undefined;
    const [ax, ay] = vp.worldToCanvas(a as Types.Point3);
    const [bx, by] = vp.worldToCanvas(b as Types.Point3);
    return Math.hypot(bx - ax, by - ay);
  } catch {
    return undefined;
  }
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err && typeof err === 'object' && 'message' in err) return String((err as { message: unknown }).message);
  return String(err ?? 'unknown error');
}
