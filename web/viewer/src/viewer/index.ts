// The viewer page: a study's series (with thumbnails) and the patient's
// prior studies beside one to four Cornerstone3D stack viewports (layouts
// 1x1, 1x2, 2x2; see pane.ts) that load frames through WADO-RS, with the
// reading tools, corner overlays, cine, synchronised scrolling, a
// measurement list and a URL that always names the image shown in the
// active viewport.
import { RenderingEngine, eventTarget, cache, utilities as csUtils } from '@cornerstonejs/core';
import { Enums as ToolEnums, annotation } from '@cornerstonejs/tools';
import { Tag, str, num, nums, formatDate, strs } from '../dicom';
import { qido, enc } from '../dicomweb';
import { h, clear } from '../dom';
import { type Route, viewerURL, lastSearch } from '../router';
import { ensureCornerstone, applyRendererChoice, renderer } from './cornerstone';
import { CT_PRESETS, fromRange } from './presets';
import { StackTools, PRIMARY_TOOLS, actions, flips, type PrimaryTool } from './tools';
import { measurements, renderMeasurements, calibrateUnits } from './measurements';
import { ThumbnailQueue, fillThumbnail } from './thumbnails';
import { Pane, slicePosition, errorText, SERIES_DRAG_TYPE } from './pane';
import { cropFromCanvas, fitCrop } from './filters';
import { attachCropDrag } from './crop';
import { askText } from './textprompt';
import { LAYOUTS, type LayoutId, layoutSize } from './layout';

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
const TOOLGROUP_ID = 'lightbox-stack-tools';
const SERIES_INCLUDE = [Tag.SeriesDescription, Tag.SeriesNumber, Tag.Modality, Tag.NumberOfSeriesRelatedInstances];
const STUDY_INCLUDE = [Tag.StudyDescription, Tag.ModalitiesInStudy, Tag.AccessionNumber, Tag.PatientBirthDate, Tag.PatientSex];
const PRIOR_INCLUDE = [Tag.StudyDescription, Tag.ModalitiesInStudy, Tag.StudyDate];
const NON_IMAGE = ['SR', 'PR', 'KO', 'DOC'];
const DEFAULT_FPS = 10;
const FRAME_TIME = '00181063'; // Frame Time (ms)
const CINE_RATE = '00180040'; // Cine Rate (frames/s)
const RECOMMENDED_FPS = '00082144'; // Recommended Display Frame Rate

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
  const priorList = h('ol', { class: 'prior-list', 'data-testid': 'prior-list' });
  const measureList = h('div', { class: 'measure-panel' });
  const grid = h('div', { class: 'viewports', 'data-testid': 'viewports', 'data-layout': '1x1' });
  const toolbar = h('div', { class: 'toolbar', role: 'toolbar', 'data-testid': 'toolbar' });
  const viewerEl = h(
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
      h(
        'aside',
        { class: 'side' },
        studyInfo,
        h('h2', {}, 'Series'),
        seriesList,
        h('h2', {}, 'Prior studies'),
        priorList,
        h('h2', {}, 'Measurements'),
        measureList,
      ),
      grid,
    ),
  );

  clear(root);
  root.append(viewerEl);

  performance.mark('lightbox:viewer-module');
  await ensureCornerstone();
  applyRendererChoice();
  performance.mark('lightbox:cornerstone-ready');
  if (destroyed) return { destroy() {}, update: () => false };

  // ---- Cornerstone engine, viewports (panes) and tools ----
  const engine = new RenderingEngine(ENGINE_ID);
  performance.mark('lightbox:engine-ready');
  const panes: Pane[] = [];
  let active: Pane;
  let tools: StackTools | undefined;
  let layout: LayoutId = '1x1';
  let syncScroll = false;
  const thumbs = new ThumbnailQueue();
  cleanups.push(() => thumbs.stop());

  const paneEvents = {
    activate: (p: Pane) => setActive(p),
    image: (p: Pane, from: number) => {
      if (p === active) {
        syncURL();
        highlightSeries();
      }
      syncFrom(p, from);
    },
    firstImage: (p: Pane) => {
      if (p.number === 1) thumbs.start();
      if (p === active) suggestFps(p);
    },
    drop: (p: Pane, st: string, series: string) => {
      setActive(p);
      void p.openSeries(st, series).then(() => {
        highlightSeries();
        syncURL();
      });
    },
  };
  /** draggable makes a list entry draggable onto a viewport. */
  const draggable = (el: HTMLElement, st: string, series: string) => {
    el.setAttribute('draggable', 'true');
    el.addEventListener('dragstart', (ev) => {
      ev.dataTransfer?.setData(SERIES_DRAG_TYPE, `${st} ${series}`);
      if (ev.dataTransfer) ev.dataTransfer.effectAllowed = 'copy';
    });
  };

  const cleanupsOfPane = new Map<Pane, () => void>(); // the crop drag of each pane
  const addPane = () => {
    const p = new Pane(engine, panes.length + 1, grid, paneEvents, signal);
    panes.push(p);
    if (!tools) {
      tools = new StackTools(TOOLGROUP_ID, ENGINE_ID, [p.id], (current, done) => askText(viewerEl, current, done));
    } else {
      tools.addViewport(p.id, ENGINE_ID);
    }
    const detachCrop = attachCropDrag(
      p.wrap,
      p.element,
      () => tools?.primaryTool === 'Crop',
      (a, b) => {
        if (!p.stack.length) return;
        const crop = cropFromCanvas(p.vp(), a, b);
        if (!crop) return;
        p.crop = crop;
        fitCrop(p.vp(), crop);
        p.refreshOverlay();
      },
    );
    cleanupsOfPane.set(p, detachCrop);
    return p;
  };
  const removePane = (p: Pane) => {
    cleanupsOfPane.get(p)?.();
    cleanupsOfPane.delete(p);
    try {
      tools?.removeViewport(p.id, ENGINE_ID);
    } catch {
      /* group gone */
    }
    p.destroy();
    panes.splice(panes.indexOf(p), 1);
  };

  active = addPane();
  active.setActive(true);
  cleanups.push(() => {
    for (const p of [...panes].reverse()) removePane(p);
  });
  cleanups.push(() => tools?.destroy());
  cleanups.push(() => engine.destroy());

  const setActive = (p: Pane) => {
    if (active === p) return;
    active = p;
    for (const q of panes) q.setActive(q === p);
    syncURL();
    highlightSeries();
    refreshCineControls();
  };

  const setLayout = (id: LayoutId) => {
    layout = id;
    const { rows, cols } = layoutSize(id);
    const n = rows * cols;
    grid.dataset.layout = id;
    grid.style.gridTemplateColumns = `repeat(${cols}, 1fr)`;
    grid.style.gridTemplateRows = `repeat(${rows}, 1fr)`;
    while (panes.length < n) addPane();
    while (panes.length > n) removePane(panes[panes.length - 1]);
    if (!panes.includes(active)) setActive(panes[0]);
    for (const p of panes) p.setActive(p === active);
    for (const [k, b] of layoutButtons) b.setAttribute('aria-pressed', String(k === id));
    // Fill the new viewports: the next series of the study after the one shown.
    for (const p of panes) {
      if (p.series || !seriesInfos.length) continue;
      const used = new Set(panes.map((q) => q.series));
      const next = imageSeries().find((s) => !used.has(s.uid)) ?? imageSeries()[0];
      if (next) void p.openSeries(study, next.uid);
    }
    engine.resize(true, true);
  };

  // ---- state ----
  let seriesInfos: SeriesInfo[] = [];
  const imageSeries = () => seriesInfos.filter((s) => !NON_IMAGE.includes(s.modality));

  let urlTimer = 0;
  const syncURL = () => {
    window.clearTimeout(urlTimer);
    urlTimer = window.setTimeout(() => {
      const img = active.current();
      if (!img || destroyed) return;
      const url = viewerURL(active.study, active.series, img.sop, img.frame);
      if (window.location.pathname !== url) history.replaceState(history.state, '', url);
    }, 150);
  };
  cleanups.push(() => window.clearTimeout(urlTimer));

  // ---- synchronised scrolling ----
  /**
   * syncFrom moves the other viewports when p shows another image: to the
   * image nearest p's slice position when both share a frame of reference
   * and slice orientation, else by the same number of images.
   */
  const syncFrom = (p: Pane, from: number) => {
    const to = p.currentIndex();
    if (p.syncTarget !== undefined) {
      const caused = p.syncTarget === to;
      p.syncTarget = undefined;
      if (caused) return; // moved by another viewport: do not echo
    }
    if (!syncScroll || from < 0 || to < 0 || from === to) return;
    const src = p.current();
    if (!src) return;
    const sp = slicePosition(src.meta);
    const fr = p.frameOfReference();
    for (const q of panes) {
      if (q === p || !q.stack.length || q.currentIndex() < 0) continue;
      let target: number;
      const qp = q.current() && slicePosition(q.current()!.meta);
      const parallel = sp && qp && Math.abs(sp.normal[0] * qp.normal[0] + sp.normal[1] * qp.normal[1] + sp.normal[2] * qp.normal[2]) > 0.99;
      if (fr && fr === q.frameOfReference() && sp && parallel) {
        let best = -1;
        let bestD = Infinity;
        q.stack.forEach((s, i) => {
          const pos = slicePosition(s.meta);
          if (!pos) return;
          const d = Math.abs(pos.pos * Math.sign(pos.normal[0] * sp.normal[0] + pos.normal[1] * sp.normal[1] + pos.normal[2] * sp.normal[2] || 1) - sp.pos);
          if (d < bestD) {
            bestD = d;
            best = i;
          }
        });
        if (best < 0) continue;
        target = best;
      } else {
        target = Math.max(0, Math.min(q.stack.length - 1, q.currentIndex() + (to - from)));
      }
      if (target === q.currentIndex()) continue;
      q.syncTarget = target;
      actions.jump(q.vp(), target);
    }
  };

  // ---- measurements ----
  const imageLabel = (imageId: string) => {
    for (const p of panes) {
      const i = p.byImageId.get(imageId);
      if (i !== undefined) return `(${panes.length > 1 ? `viewport ${p.number}, ` : ''}image ${i + 1})`;
    }
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
          for (const p of panes) {
            const i = p.byImageId.get(imageId);
            if (i !== undefined) {
              setActive(p);
              actions.jump(p.vp(), i);
              return;
            }
          }
        },
        (uid) => {
          annotation.state.removeAnnotation(uid);
          for (const p of panes) if (p.stack.length) p.vp().render();
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
  for (const ev of [
    ToolEnums.Events.ANNOTATION_COMPLETED,
    ToolEnums.Events.ANNOTATION_MODIFIED,
    ToolEnums.Events.ANNOTATION_REMOVED,
    ToolEnums.Events.ANNOTATION_ADDED,
  ]) {
    on(eventTarget, ev, refreshMeasurements);
  }
  // The annotation tools recompute their values at most every 100 ms while
  // a handle is dragged and once more after the drag ends, but do not
  // redraw for that last computation: redraw, so that the label on the
  // image shows the final value (the list already does).
  let redrawQueued = false;
  on(eventTarget, ToolEnums.Events.ANNOTATION_MODIFIED, ((ev: CustomEvent) => {
    const d = ev.detail as { changeType?: string; annotation?: Parameters<typeof calibrateUnits>[0] };
    if (d.changeType !== ToolEnums.ChangeTypes.StatsUpdated) return;
    if (d.annotation) calibrateUnits(d.annotation);
    if (redrawQueued) return;
    redrawQueued = true;
    requestAnimationFrame(() => {
      redrawQueued = false;
      if (destroyed) return;
      for (const p of panes) if (p.stack.length) p.vp().render();
    });
  }) as EventListener);

  // ---- toolbar ----
  const toolButtons = new Map<PrimaryTool, HTMLButtonElement>();
  const selectTool = (id: PrimaryTool) => {
    tools?.setPrimary(id);
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
    { title: 'Window presets (keys 1–5; A: automatic from the pixels)', 'data-testid': 'wl-preset' },
    h('option', { value: '' }, 'W/L preset…'),
    ...CT_PRESETS.map((p) => h('option', { value: p.id }, `${p.key} ${p.label} (${p.width}/${p.center})`)),
    h('option', { value: 'auto' }, 'A MR auto (pixel statistics)'),
    h('option', { value: 'default' }, 'Image default'),
  );
  const applyPreset = (id: string) => {
    const p = active;
    if (!p.stack.length) return;
    const vp = p.vp();
    if (id === 'default') {
      vp.resetProperties();
      vp.render();
      p.resetWindow();
    } else if (id === 'auto') {
      p.applyAutoWindow();
    } else {
      const pr = CT_PRESETS.find((x) => x.id === id);
      if (pr) actions.windowLevel(vp, pr.width, pr.center);
    }
  };
  presetSelect.addEventListener('change', () => {
    applyPreset(presetSelect.value);
    presetSelect.value = '';
    active.element.focus();
  });

  const resetView = (p: Pane) => {
    p.crop = undefined;
    actions.reset(p.vp());
    p.resetWindow();
  };
  const fitView = (p: Pane) => {
    p.crop = undefined;
    p.vp().resetCamera();
    p.vp().render();
  };
  const toggleSharpen = (p: Pane) => {
    p.sharpen = !p.sharpen;
    sharpenButton.setAttribute('aria-pressed', String(p.sharpen));
    p.vp().render();
  };

  const act = (label: string, title: string, action: string, fn: (p: Pane) => void) =>
    h('button', { type: 'button', title, 'data-action': action, onclick: () => active.stack.length && fn(active) }, label);
  const sharpenButton = act('Sharpen', 'Sharpen filter on/off (S)', 'sharpen', toggleSharpen);
  sharpenButton.setAttribute('aria-pressed', 'false');
  const autoButton = act('MR auto', 'Window from the pixel statistics, 1st to 99th percentile (A); MR images without a window get it on load', 'auto-wl', (p) => {
    p.applyAutoWindow();
  });
  toolbar.append(
    h('span', { class: 'sep' }),
    presetSelect,
    autoButton,
    h('span', { class: 'sep' }),
    act('Rotate', 'Rotate 90° clockwise (R)', 'rotate', (p) => actions.rotate90(p.vp())),
    act('Flip H', 'Flip horizontally (H)', 'flip-h', (p) => actions.flipH(p.vp())),
    act('Flip V', 'Flip vertically (V)', 'flip-v', (p) => actions.flipV(p.vp())),
    act('Invert', 'Invert (I)', 'invert', (p) => actions.invert(p.vp())),
    sharpenButton,
    act('Fit', 'Fit the image to the viewport, undoing a crop (F)', 'fit', fitView),
    act('Reset', 'Reset the view (Esc)', 'reset', resetView),
  );

  // Cine
  const fpsInput = h('input', { type: 'number', min: 1, max: 60, step: 1, value: DEFAULT_FPS, title: 'Cine frame rate (frames per second)', 'data-testid': 'cine-fps', class: 'fps' });
  const cineButton = h('button', { type: 'button', 'data-action': 'cine', title: 'Play / stop cine through the stack (P)' }, 'Play');
  const readFps = () => {
    const v = Number(fpsInput.value);
    return Number.isFinite(v) ? Math.max(1, Math.min(60, Math.round(v))) : DEFAULT_FPS;
  };
  /**
   * suggestFps puts the acquisition's frame rate of a multi-frame image
   * (Recommended Display Frame Rate, else Cine Rate, else 1000 / Frame
   * Time) in the frame rate box, unless cine is playing.
   */
  const suggestFps = (p: Pane) => {
    const meta = p.current()?.meta;
    if (!meta || p.cineFps || (p.current()?.frames ?? 1) < 2) return;
    const frameTime = num(meta, FRAME_TIME);
    const fps = num(meta, RECOMMENDED_FPS) ?? num(meta, CINE_RATE) ?? (frameTime ? 1000 / frameTime : undefined);
    if (fps && Number.isFinite(fps) && fps > 0) fpsInput.value = String(Math.max(1, Math.min(60, Math.round(fps))));
  };
  const refreshCineControls = () => {
    const playing = active.cineFps > 0;
    cineButton.textContent = playing ? 'Stop' : 'Play';
    cineButton.setAttribute('aria-pressed', String(playing));
    sharpenButton.setAttribute('aria-pressed', String(active.sharpen));
  };
  const toggleCine = () => {
    if (!active.stack.length) return;
    if (active.cineFps) active.stopCine();
    else active.playCine(readFps());
    active.refreshOverlay();
    refreshCineControls();
  };
  cineButton.addEventListener('click', toggleCine);
  fpsInput.addEventListener('change', () => {
    fpsInput.value = String(readFps());
    if (active.cineFps) {
      active.stopCine();
      active.playCine(readFps());
      active.refreshOverlay();
    }
  });

  // Layouts and synchronisation
  const layoutButtons = new Map<LayoutId, HTMLButtonElement>();
  for (const l of LAYOUTS) {
    const b = h('button', { type: 'button', 'data-layout': l, title: `Layout ${l}`, 'aria-pressed': String(l === '1x1'), onclick: () => setLayout(l) }, l);
    layoutButtons.set(l, b);
  }
  const syncButton = h(
    'button',
    {
      type: 'button',
      'data-action': 'sync',
      'aria-pressed': 'false',
      title: 'Synchronised scrolling: by slice position when the series share a frame of reference, else by image count',
    },
    'Sync',
  );
  syncButton.addEventListener('click', () => {
    syncScroll = !syncScroll;
    syncButton.setAttribute('aria-pressed', String(syncScroll));
  });
  toolbar.append(h('span', { class: 'sep' }), cineButton, fpsInput, h('span', { class: 'sep' }), ...layoutButtons.values(), syncButton);

  // MPR / 3D of the active viewport's series (mpr.ts, loaded on first use), laid over the page.
  let closeMPR: (() => void) | undefined;
  cleanups.push(() => closeMPR?.());
  const openMPR = (p: Pane) =>
    void import('./mpr').then((m) => {
      const title = seriesInfos.find((s) => s.uid === p.series)?.description || p.series;
      closeMPR = m.openMPR({ container: viewerEl, slices: p.stack.map((s) => ({ imageId: s.imageId, meta: s.meta, frames: s.frames })), seriesUID: p.series, title, onClose: () => p.element.focus() }).close;
    });
  toolbar.append(h('span', { class: 'sep' }), act('MPR/3D', 'MPR (axial, sagittal, coronal) and 3D volume rendering of the series', 'mpr', openMPR));

  // ---- keyboard ----
  on(window, 'keydown', ((ev: KeyboardEvent) => {
    const t = ev.target as HTMLElement | null;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA')) return;
    if (ev.ctrlKey || ev.metaKey || ev.altKey || !active.stack.length) return;
    const p = active;
    const vp = p.vp();
    const n = p.stack.length;
    const preset = CT_PRESETS.find((x) => x.key === ev.key);
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
        actions.scroll(vp, Math.max(1, Math.round(n / 10)));
        break;
      case 'PageUp':
        actions.scroll(vp, -Math.max(1, Math.round(n / 10)));
        break;
      case 'Home':
        actions.jump(vp, 0);
        break;
      case 'End':
        actions.jump(vp, n - 1);
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
      case 's':
      case 'S':
        toggleSharpen(p);
        break;
      case 'f':
      case 'F':
        fitView(p);
        break;
      case 'p':
      case 'P':
        toggleCine();
        break;
      case 'a':
      case 'A':
        p.applyAutoWindow();
        break;
      case 'Escape':
        resetView(p);
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
    for (const [uid, li] of seriesItems) {
      li.classList.toggle('active', active.study === study && uid === active.series);
      li.dataset.viewports = panes.filter((p) => p.study === study && p.series === uid).map((p) => p.number).join(' ');
    }
  };

  const renderSeriesList = () => {
    clear(seriesList);
    seriesItems.clear();
    for (const s of seriesInfos) {
      const box = h('div', { class: 'thumb' }, s.modality || '…');
      const a = h(
        'a',
        { href: viewerURL(study, s.uid), 'data-link': true, 'data-series': s.uid, title: 'Show in the active viewport (or drag it onto a viewport)' },
        box,
        h(
          'div',
          { class: 'series-text' },
          h('div', { class: 'series-title' }, [s.number !== undefined ? `#${s.number}` : '', s.modality].filter(Boolean).join(' ')),
          h('div', { class: 'series-desc' }, s.description || '(no description)'),
          h('div', { class: 'series-count' }, s.count !== undefined ? `${s.count} image${s.count === 1 ? '' : 's'}` : ''),
        ),
      );
      draggable(a, study, s.uid);
      const li = h('li', { 'data-series': s.uid }, a);
      seriesItems.set(s.uid, li);
      seriesList.append(li);
      thumbs.add(() => fillThumbnail(box, study, s.uid, s.modality));
    }
    highlightSeries();
  };

  // ---- prior studies (same Patient ID) ----
  const loadPriors = async (patientID: string) => {
    clear(priorList);
    if (!patientID) {
      priorList.append(h('li', { class: 'hint' }, 'No patient ID: no priors.'));
      return;
    }
    const sp = new URLSearchParams({ PatientID: patientID });
    for (const t of PRIOR_INCLUDE) sp.append('includefield', t);
    const res = await qido('/studies', sp, signal);
    const others = res.items
      .filter((st) => str(st, Tag.StudyInstanceUID) !== study)
      .sort((a, b) => str(b, Tag.StudyDate).localeCompare(str(a, Tag.StudyDate)));
    priorList.dataset.count = String(others.length);
    if (others.length === 0) {
      priorList.append(h('li', { class: 'hint' }, 'No other studies of this patient.'));
      return;
    }
    for (const st of others) {
      const uid = str(st, Tag.StudyInstanceUID);
      const series = h('ol', { class: 'prior-series' });
      const compare = h('button', { type: 'button', 'data-action': 'compare', title: 'Open beside the current study (viewport 2)' }, 'Compare');
      const li = h(
        'li',
        { 'data-study': uid },
        h(
          'div',
          { class: 'prior-title' },
          h('a', { href: viewerURL(uid), 'data-link': true }, [formatDate(str(st, Tag.StudyDate)), strs(st, Tag.ModalitiesInStudy).join('/')].filter(Boolean).join(' · ') || uid),
          ' ',
          compare,
        ),
        h('div', { class: 'series-desc' }, str(st, Tag.StudyDescription) || '(no description)'),
        series,
      );
      priorList.append(li);
      let infos: SeriesInfo[] | undefined;
      const seriesOf = async () => {
        if (infos) return infos;
        const q = new URLSearchParams();
        for (const t of SERIES_INCLUDE) q.append('includefield', t);
        const r = await qido(`/studies/${enc(uid)}/series`, q, signal);
        infos = r.items.map(seriesInfo).sort(bySeriesNumber);
        clear(series);
        for (const s of infos) {
          const li = h(
            'li',
            {},
            h(
              'button',
              {
                type: 'button',
                class: 'link',
                'data-series': s.uid,
                title: 'Show in the active viewport (or drag it onto a viewport)',
                onclick: () => void active.openSeries(uid, s.uid).then(() => syncURL()),
              },
              `${s.number !== undefined ? `#${s.number} ` : ''}${s.modality} ${s.description || ''} (${s.count ?? '?'})`,
            ),
          );
          draggable(li, uid, s.uid);
          series.append(li);
        }
        return infos;
      };
      compare.addEventListener('click', async () => {
        try {
          const list = (await seriesOf()).filter((s) => !NON_IMAGE.includes(s.modality));
          if (!list.length) return;
          if (layout === '1x1') setLayout('1x2');
          const target = panes[1];
          setActive(target);
          await target.openSeries(uid, list[0].uid);
          syncURL();
        } catch (err) {
          if (!signal.aborted) panes[1]?.setStatus(`Could not open the prior study: ${errorText(err)}`, true);
        }
      });
      void seriesOf().catch(() => {});
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
    seriesInfos = seriesRes.items.map(seriesInfo).sort(bySeriesNumber);
    renderSeriesList();
    if (seriesInfos.length === 0) {
      active.setStatus('This study has no series.', true);
      return;
    }
    const first = seriesInfos.find((s) => s.uid === route.series) ?? imageSeries()[0] ?? seriesInfos[0];
    const opening = panes[0].openSeries(study, first.uid, first.uid === route.series ? route : undefined);
    highlightSeries();
    if (st) {
      loadPriors(str(st, Tag.PatientID)).catch((err) => {
        if (!signal.aborted) priorList.append(h('li', { class: 'error' }, `Could not search prior studies: ${errorText(err)}`));
      });
    }
    await opening;
    highlightSeries();
    syncURL();
  };

  panes[0].setStatus('Loading…');
  loadStudy().catch((err) => {
    if (!signal.aborted) {
      active.setStatus(`Could not load the study: ${errorText(err)}`, true);
      studyInfo.textContent = 'Could not load the study.';
    }
  });

  // ---- automation hook (used by the browser tests; read-only helpers) ----
  const paneAt = (n?: number) => (n === undefined ? active : (panes[n - 1] ?? active));
  const paneState = (p: Pane) => {
    const vp = p.vp();
    const img = p.current();
    const props = vp.getProperties();
    const pres = vp.getViewPresentation();
    const wl = props.voiRange ? fromRange(props.voiRange) : undefined;
    return {
      viewport: p.number,
      study: p.study,
      series: p.series,
      sop: img?.sop,
      frame: img?.frame,
      index: p.currentIndex(),
      count: p.stack.length,
      ready: p.ready(),
      window: wl?.width,
      center: wl?.center,
      voiLower: props.voiRange?.lower,
      voiUpper: props.voiRange?.upper,
      invert: !!props.invert,
      rotation: pres.rotation ?? 0,
      flipH: flips(vp).h,
      flipV: flips(vp).v,
      zoom: vp.getZoom(),
      scale: p.scale(),
      sharpen: p.sharpen,
      cropped: !!p.crop,
      cineFps: p.cineFps,
      newImages: p.newImages,
      frameOfReference: p.frameOfReference(),
      // prefetched images of the series in the cache, of count
      loaded: p.prefetch?.loaded() ?? 0,
      loadFailed: p.prefetch?.failed() ?? 0,
    };
  };
  const hook = {
    ready: () => active.ready(),
    /** state describes the active viewport, with the page's layout state. */
    state: () => ({
      ...paneState(active),
      renderer: renderer(),
      primaryTool: tools?.primaryTool,
      layout,
      viewports: panes.length,
      active: active.number,
      sync: syncScroll,
    }),
    /** viewports describes every viewport of the layout. */
    viewports: () => panes.map(paneState),
    /**
     * pixelToClient maps the centre of the pixel at (column, row) — indices
     * from 0, fractions allowed — of the image shown in viewport n (default:
     * the active one) to client (CSS) coordinates. Cornerstone's image
     * coordinates put (0,0) at the first pixel's outer corner.
     */
    pixelToClient: (col: number, row: number, n?: number): [number, number] | undefined => {
      const p = paneAt(n);
      const img = p.current();
      if (!img) return undefined;
      const world = csUtils.imageToWorldCoords(img.imageId, [col + 0.5, row + 0.5]);
      if (!world) return undefined;
      const [cx, cy] = p.vp().worldToCanvas(world);
      const r = p.element.getBoundingClientRect();
      return [r.left + cx, r.top + cy];
    },
    /** modalityValue is the stored value at (column, row) after the rescale (HU for CT). */
    modalityValue: (x: number, y: number, n?: number): number | undefined => {
      const p = paneAt(n);
      const img = p.current();
      const image = img && cache.getImage(img.imageId);
      if (!image) return undefined;
      const v = image.getPixelData()[y * image.columns + x];
      if (image.preScale?.scaled) return v;
      return v * (image.slope ?? 1) + (image.intercept ?? 0);
    },
    /** imageSize is the shown image's columns and rows. */
    imageSize: (n?: number): [number, number] | undefined => {
      const img = paneAt(n).current();
      const image = img && cache.getImage(img.imageId);
      return image ? [image.columns, image.rows] : undefined;
    },
    /** autoWindow is the window the MR auto preset would set on viewport n (default: active). */
    autoWindow: (n?: number) => paneAt(n).autoWindowRange(),
    pixelSpacing: (n?: number): number[] => nums(paneAt(n).current()?.meta, Tag.PixelSpacing),
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
      const p = active;
      const img = p.current();
      const series = r.series ?? imageSeries()[0]?.uid;
      if (series && (series !== p.series || p.study !== study)) {
        void p.openSeries(study, series, r).then(() => {
          highlightSeries();
          syncURL();
        });
      } else if (r.instance && (img?.sop !== r.instance || img?.frame !== (r.frame ?? 1))) {
        const i = p.stack.findIndex((s) => s.sop === r.instance && s.frame === (r.frame ?? 1));
        if (i >= 0) actions.jump(p.vp(), i);
      }
      return true;
    },
  };
}

function seriesInfo(ds: Parameters<typeof str>[0]): SeriesInfo {
  return {
    uid: str(ds, Tag.SeriesInstanceUID),
    number: num(ds, Tag.SeriesNumber),
    modality: str(ds, Tag.Modality),
    description: str(ds, Tag.SeriesDescription),
    count: num(ds, Tag.NumberOfSeriesRelatedInstances),
  };
}

function bySeriesNumber(a: SeriesInfo, b: SeriesInfo): number {
  return (a.number ?? Infinity) - (b.number ?? Infinity) || a.uid.localeCompare(b.uid);
}
