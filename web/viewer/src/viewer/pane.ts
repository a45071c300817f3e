// One viewport of the layout: a Cornerstone stack viewport with its own
// series (possibly of another study: a prior), corner overlay, status line,
// display filters (sharpen, crop) and cine state.
import { Enums, eventTarget, cache, utilities as csUtils, type RenderingEngine, type Types } from '@cornerstonejs/core';
import { utilities as toolUtils } from '@cornerstonejs/tools';
import { Tag, type DicomJSON, str, nums } from '../dicom';
import { seriesMetadata } from '../dicomweb';
import { h } from '../dom';
import { buildStack, type StackImage } from './stack';
import { decodedWhere } from './fallback';
import { Overlay } from './overlay';
import { fromRange, autoWindow } from './presets';
import { flips } from './tools';
import { applyFilters, type CropRect } from './filters';
import { prefetchStack, type Prefetch } from './prefetch';
import { resolvePaletteData } from './palette';

/** SERIES_DRAG_TYPE is the drag data type of a series dragged from a list onto a viewport: "study series". */
export const SERIES_DRAG_TYPE = 'application/x-lightbox-series';

/** FRAME_OF_REFERENCE is (0020,0052) Frame of Reference UID. */
const FRAME_OF_REFERENCE = '00200052';

/** PaneEvents are how a pane tells the page about itself. */
export interface PaneEvents {
  /** image is called when the pane shows another image of its stack (from is the previous index, -1 at first). */
  image(pane: Pane, from: number): void;
  /** activate is called when the reader presses a button in the pane. */
  activate(pane: Pane): void;
  /** firstImage is called when the first image of a series is drawn. */
  firstImage?(pane: Pane): void;
  /** drop is called when a series is dropped on the pane (see SERIES_DRAG_TYPE). */
  drop?(pane: Pane, study: string, series: string): void;
}

/** Pane is one viewport of the layout. */
export class Pane {
  readonly id: string;
  readonly number: number; // 1-based, as the tests and the reader see it
  readonly wrap: HTMLElement;
  readonly element: HTMLDivElement;
  private readonly status: HTMLElement;
  private readonly overlay: Overlay;
  private readonly engine: RenderingEngine;
  private readonly events: PaneEvents;
  private readonly cleanups: (() => void)[] = [];
  private readonly signal: AbortSignal;

  study = '';
  series = '';
  stack: StackImage[] = [];
  byImageId = new Map<string, number>();
  shownIndex = -1;
  imageShown = false;
  /** newImages counts the images shown since the pane was made (cine tests count frames with it). */
  newImages = 0;
  sharpen = false;
  crop: CropRect | undefined;
  cineFps = 0; // 0: not playing
  /** syncTarget is the index a synchronised scroll asked for; reaching it is not propagated. */
  syncTarget: number | undefined;
  /** prefetch loads the rest of the series once its first image is shown. */
  prefetch: Prefetch | undefined;
  private autoWindowPending = false;
  private loadGeneration = 0;
  private destroyed = false;

  constructor(engine: RenderingEngine, number: number, container: HTMLElement, events: PaneEvents, signal: AbortSignal) {
    this.engine = engine;
    this.number = number;
    this.events = events;
    this.signal = signal;
    this.id = `lightbox-stack-${number}`;
    const suffix = number === 1 ? '' : `-${number}`;
    this.status = h('div', { class: 'viewport-status', 'data-testid': `viewer-status${suffix}`, role: 'status' }, '');
    this.status.hidden = true;
    this.element = h('div', { class: 'viewport', 'data-testid': `viewport${suffix}`, 'data-pane': number, tabindex: 0 }) as HTMLDivElement;
    this.wrap = h('div', { class: 'viewport-wrap', 'data-pane': number }, this.element, this.status);
    this.overlay = new Overlay(this.wrap, suffix);
    container.append(this.wrap);
    this.element.addEventListener('contextmenu', (ev) => ev.preventDefault());
    // Capture: the pane becomes active before a tool sees the press.
    const activate = () => this.events.activate(this);
    this.wrap.addEventListener('pointerdown', activate, true);
    this.wrap.addEventListener('wheel', activate, { capture: true, passive: true });
    // A series dragged from the series or prior lists is shown here.
    this.wrap.addEventListener('dragover', (ev) => {
      if (!ev.dataTransfer?.types.includes(SERIES_DRAG_TYPE)) return;
      ev.preventDefault();
      ev.dataTransfer.dropEffect = 'copy';
      this.wrap.classList.add('drop-target');
    });
    this.wrap.addEventListener('dragleave', () => this.wrap.classList.remove('drop-target'));
    this.wrap.addEventListener('drop', (ev) => {
      this.wrap.classList.remove('drop-target');
      const data = ev.dataTransfer?.getData(SERIES_DRAG_TYPE);
      if (!data) return;
      ev.preventDefault();
      const [study, series] = data.split(' ');
      if (study && series) this.events.drop?.(this, study, series);
    });
    engine.enableElement({
      viewportId: this.id,
      type: Enums.ViewportType.STACK,
      element: this.element,
      defaultOptions: { background: [0, 0, 0] as Types.Point3 },
    });
    const ro = new ResizeObserver(() => {
      if (!this.destroyed) engine.resize(true, true);
    });
    ro.observe(this.element);
    this.cleanups.push(() => ro.disconnect());

    this.on(this.element, Enums.Events.STACK_NEW_IMAGE, ((ev: CustomEvent) => {
      const d = ev.detail as { imageIdIndex?: number; imageId?: string };
      const from = this.shownIndex;
      this.shownIndex =
        d.imageId !== undefined && this.byImageId.has(d.imageId) ? this.byImageId.get(d.imageId)! : (d.imageIdIndex ?? this.shownIndex);
      this.newImages++;
      this.refreshOverlay();
      this.events.image(this, from);
    }) as EventListener);
    this.on(this.element, Enums.Events.IMAGE_RENDERED, () => {
      this.postRender();
      this.refreshOverlay();
      if (!this.imageShown && this.stack.length && this.shownIndex >= 0) {
        this.imageShown = true;
        this.setStatus('');
        this.element.dataset.ready = 'true';
        if (this.number === 1) performance.mark('lightbox:first-image');
        this.prefetch?.cancel();
        this.prefetch = prefetchStack(
          this.stack.map((s) => s.imageId),
          this.shownIndex,
        );
        this.events.firstImage?.(this);
      }
      if (this.autoWindowPending) {
        this.autoWindowPending = false;
        this.applyAutoWindow();
      }
    });
    this.on(eventTarget, Enums.Events.IMAGE_LOAD_FAILED, ((ev: CustomEvent) => {
      const d = ev.detail as { imageId?: string; error?: unknown };
      if (!d.imageId || !this.byImageId.has(d.imageId)) return;
      const i = this.byImageId.get(d.imageId)!;
      this.setStatus(`Could not load image ${i + 1}: ${errorText(d.error)}`, true);
    }) as EventListener);
  }

  private on(target: EventTarget, type: string, fn: EventListener): void {
    target.addEventListener(type, fn);
    this.cleanups.push(() => target.removeEventListener(type, fn));
  }

  /** vp is the Cornerstone viewport. */
  vp(): Types.IStackViewport {
    return this.engine.getViewport(this.id) as Types.IStackViewport;
  }

  /** ready reports whether the pane has drawn an image of its series. */
  ready(): boolean {
    return this.element.dataset.ready === 'true';
  }

  currentIndex(): number {
    return this.stack.length ? this.shownIndex : -1;
  }

  current(): StackImage | undefined {
    return this.stack[this.currentIndex()];
  }

  setStatus(text: string, error = false): void {
    this.status.textContent = text;
    this.status.classList.toggle('error', error);
    this.status.hidden = text === '';
  }

  setActive(active: boolean): void {
    this.wrap.classList.toggle('active', active);
    this.wrap.dataset.active = String(active);
  }

  /** openSeries loads a series' metadata and shows it, at target's image if given. */
  async openSeries(study: string, seriesUID: string, target?: { instance?: string; frame?: number }): Promise<void> {
    const gen = ++this.loadGeneration;
    this.stopCine();
    this.prefetch?.cancel();
    this.prefetch = undefined;
    this.study = study;
    this.series = seriesUID;
    this.setStatus('Loading series…');
    this.element.dataset.ready = 'false';
    this.imageShown = false;
    this.crop = undefined;
    let metadata: DicomJSON[];
    try {
      metadata = await seriesMetadata(study, seriesUID, this.signal);
    } catch (err) {
      if (gen === this.loadGeneration && !this.signal.aborted) this.setStatus(`Could not load the series: ${errorText(err)}`, true);
      return;
    }
    if (gen !== this.loadGeneration || this.destroyed) return;
    if (this.number === 1) performance.mark('lightbox:series-metadata');
    try {
      await resolvePaletteData(metadata, this.signal);
    } catch (err) {
      // The images still load; palette colour ones will say what is missing.
      console.warn('palette colour tables:', err);
    }
    if (gen !== this.loadGeneration || this.destroyed) return;
    const next = buildStack(study, seriesUID, metadata);
    if (next.length === 0) {
      this.stack = [];
      this.byImageId = new Map();
      this.setStatus('This series has no images to display.', true);
      return;
    }
    this.stack = next;
    this.shownIndex = -1;
    this.byImageId = new Map(next.map((s, i) => [s.imageId, i]));
    let index = 0;
    if (target?.instance) {
      const i = next.findIndex((s) => s.sop === target.instance && s.frame === (target.frame ?? 1));
      if (i >= 0) index = i;
    }
    this.autoWindowPending = needsAutoWindow(next[index].meta);
    try {
      await this.vp().setStack(
        next.map((s) => s.imageId),
        index,
      );
      if (gen !== this.loadGeneration || this.destroyed) return;
      this.vp().render();
      this.refreshOverlay();
    } catch (err) {
      if (gen === this.loadGeneration && !this.destroyed) this.setStatus(`Could not display the image: ${errorText(err)}`, true);
    }
  }

  /**
   * autoWindowRange is the window from the shown image's pixel statistics
   * (see presets.autoWindow), undefined before the image is loaded.
   */
  autoWindowRange(): { lower: number; upper: number } | undefined {
    const img = this.current();
    const image = img && cache.getImage(img.imageId);
    if (!image) return undefined;
    return autoWindow(image.getPixelData(), image.preScale?.scaled ? 1 : (image.slope ?? 1), image.preScale?.scaled ? 0 : (image.intercept ?? 0));
  }

  /** applyAutoWindow sets the window from the image's pixel statistics. */
  applyAutoWindow(): boolean {
    const r = this.autoWindowRange();
    if (!r) return false;
    this.vp().setProperties({ voiRange: r });
    this.vp().render();
    return true;
  }

  /** resetWindow goes back to the image's own window (or the automatic one when it has none and is MR). */
  resetWindow(): void {
    const img = this.current();
    if (img && needsAutoWindow(img.meta)) this.applyAutoWindow();
  }

  playCine(fps: number): void {
    if (this.stack.length < 2) return;
    this.cineFps = fps;
    toolUtils.cine.playClip(this.element, { framesPerSecond: fps, loop: true });
  }

  stopCine(): void {
    if (!this.cineFps) return;
    this.cineFps = 0;
    toolUtils.cine.stopClip(this.element);
  }

  /** postRender applies the display filters to the drawn canvas. */
  private postRender(): void {
    if (!this.sharpen && !this.crop) return;
    const canvas = this.element.querySelector('canvas');
    if (!canvas) return;
    applyFilters(canvas, this.vp(), { sharpen: this.sharpen, crop: this.crop });
  }

  refreshOverlay(): void {
    const i = this.currentIndex();
    const img = this.stack[i];
    if (!img) return;
    const vp = this.vp();
    const props = vp.getProperties();
    const pres = vp.getViewPresentation();
    const wl = props.voiRange ? fromRange(props.voiRange) : undefined;
    // Where the shown frame was decoded, for the reader and the tests.
    const decode = decodedWhere(img.imageId);
    this.element.dataset.decode = decode;
    this.overlay.update({
      meta: img.meta,
      index: i,
      count: this.stack.length,
      frame: img.frame,
      frames: img.frames,
      window: wl?.width,
      center: wl?.center,
      zoom: displayScale(vp, img.imageId),
      rotation: pres.rotation,
      flipH: flips(vp).h,
      flipV: flips(vp).v,
      invert: props.invert,
      extra: [
        decode === 'server' ? 'Server-decoded' : '',
        // The server's 8-bit rendering: W/L, values and ROI statistics are of the picture, not the data.
        decode === 'rendered' ? 'Rendered by the server: display only, W/L and values not diagnostic' : '',
        this.sharpen ? 'Sharpen' : '',
        this.crop ? 'Cropped' : '',
        this.cineFps ? `Cine ${this.cineFps} fps` : '',
      ].filter(Boolean),
    });
  }

  /** frameOfReference is the Frame of Reference UID of the shown image. */
  frameOfReference(): string {
    const m = this.current()?.meta;
    return m ? str(m, FRAME_OF_REFERENCE) : '';
  }

  /** scale is the magnification shown (screen pixels per image pixel). */
  scale(): number | undefined {
    const img = this.current();
    return img ? displayScale(this.vp(), img.imageId) : undefined;
  }

  destroy(): void {
    this.destroyed = true;
    this.loadGeneration++;
    this.stopCine();
    this.prefetch?.cancel();
    for (const c of this.cleanups.reverse()) {
      try {
        c();
      } catch {
        /* keep tearing down */
      }
    }
    try {
      this.engine.disableElement(this.id);
    } catch {
      /* engine already gone */
    }
    this.wrap.remove();
  }
}

/**
 * needsAutoWindow: an MR image without a window of its own gets one from its
 * pixel statistics rather than Cornerstone's full min..max range.
 */
export function needsAutoWindow(meta: DicomJSON): boolean {
  return str(meta, Tag.Modality) === 'MR' && nums(meta, Tag.WindowCenter).length === 0;
}

/**
 * slicePosition is an image's position along its slice normal (mm) and the
 * normal, or undefined without Image Position/Orientation (Patient).
 */
export function slicePosition(meta: DicomJSON): { pos: number; normal: number[] } | undefined {
  const ipp = nums(meta, Tag.ImagePositionPatient);
  const iop = nums(meta, Tag.ImageOrientationPatient);
  if (ipp.length !== 3 || iop.length !== 6) return undefined;
  const n = [iop[1] * iop[5] - iop[2] * iop[4], iop[2] * iop[3] - iop[0] * iop[5], iop[0] * iop[4] - iop[1] * iop[3]];
  return { pos: ipp[0] * n[0] + ipp[1] * n[1] + ipp[2] * n[2], normal: n };
}

/**
 * displayScale is the magnification shown: screen (CSS) pixels per image
 * pixel, measured along a row, the same on both renderers (Cornerstone's
 * getZoom is relative to "fit" on WebGL and absolute on the CPU path).
 */
export function displayScale(vp: Types.IStackViewport, imageId: string): number | undefined {
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

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err && typeof err === 'object' && 'message' in err) return String((err as { message: unknown }).message);
  return String(err ?? 'unknown error');
}
