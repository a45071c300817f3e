// MPR and 3D volume rendering of one series: a view laid over the stack
// viewer with three orthogonal slices (axial, sagittal, coronal) and a 3D
// volume rendering, all of one streaming Cornerstone volume built from the
// same wadors: image ids (and WADO-RS metadata) the stack uses.
//
// The orthogonal viewports share crosshairs (left drag moves their centre,
// which moves the other two slices), the window (a VOI synchroniser; the
// CT presets of presets.ts), wheel scrolling, right-drag zoom and
// middle-drag pan. The 3D viewport renders with one of Cornerstone's
// transfer-function presets (VIEWPORT_PRESETS) and rotates by left drag.
//
// Volume viewports need WebGL, so the view switches Cornerstone to WebGL
// for its own rendering engine even where the stack viewer prefers the CPU
// renderer (software rasterisers), and restores the stack's choice when it
// closes. `window.lightboxMPR` is a read-only hook for the browser tests.
import {
  RenderingEngine,
  getRenderingEngine,
  Enums,
  CONSTANTS,
  volumeLoader,
  cache,
  setVolumesForViewports,
  getRenderingCapabilities,
  getShouldUseCPURendering,
  setUseCPURendering,
  utilities as csUtils,
  type Types,
} from '@cornerstonejs/core';
import {
  addTool,
  ToolGroupManager,
  SynchronizerManager,
  synchronizers,
  CrosshairsTool,
  WindowLevelTool,
  ZoomTool,
  PanTool,
  StackScrollTool,
  TrackballRotateTool,
  Enums as ToolEnums,
} from '@cornerstonejs/tools';
import { h } from '../dom';
import { applyRendererChoice } from './cornerstone';
import { CT_PRESETS, toRange, fromRange } from './presets';
import { checkVolume, type VolumeSlice } from './volume';
import './mpr.css';

const { MouseBindings } = ToolEnums;

const ENGINE_ID = 'lightbox-mpr-engine';
const ORTHO_GROUP = 'lightbox-mpr-ortho';
const VR_GROUP = 'lightbox-mpr-3d';
const VOI_SYNC = 'lightbox-mpr-voi';
/** SOFTWARE_SAMPLE_DISTANCE multiplies the 3D ray-casting step under a software rasteriser. */
const SOFTWARE_SAMPLE_DISTANCE = 2;

/** OrthoName names an orthogonal viewport. */
export type OrthoName = 'axial' | 'sagittal' | 'coronal';
type ViewName = OrthoName | '3d';

const ORTHO: { name: OrthoName; label: string; orientation: Enums.OrientationAxis; color: string }[] = [
  { name: 'axial', label: 'Axial', orientation: Enums.OrientationAxis.AXIAL, color: 'rgb(220, 60, 60)' },
  { name: 'sagittal', label: 'Sagittal', orientation: Enums.OrientationAxis.SAGITTAL, color: 'rgb(230, 200, 40)' },
  { name: 'coronal', label: 'Coronal', orientation: Enums.OrientationAxis.CORONAL, color: 'rgb(60, 200, 80)' },
];

/** VR_PRESETS are the transfer functions offered for 3D, by modality. */
const VR_PRESETS: Record<string, string[]> = {
  CT: ['CT-Bone', 'CT-Soft-Tissue', 'CT-Lung', 'CT-MIP', 'CT-Muscle', 'CT-Cardiac', 'CT-Chest-Contrast-Enhanced', 'CT-AAA'],
  MR: ['MR-Default', 'MR-MIP', 'MR-Angio', 'MR-T2-Brain'],
};

type PrimaryTool = 'Crosshairs' | 'WindowLevel' | 'Zoom' | 'Pan';
const PRIMARY: { id: PrimaryTool; label: string; title: string; tool: string }[] = [
  { id: 'Crosshairs', label: 'Crosshairs', title: 'Left drag moves the crosshairs (the other slices follow)', tool: CrosshairsTool.toolName },
  { id: 'WindowLevel', label: 'W/L', title: 'Left drag changes the window (all three slices)', tool: WindowLevelTool.toolName },
  { id: 'Zoom', label: 'Zoom', title: 'Left drag zooms (also right drag)', tool: ZoomTool.toolName },
  { id: 'Pan', label: 'Pan', title: 'Left drag pans (also middle drag)', tool: PanTool.toolName },
];

/** MPRHandle is an open MPR view. */
export interface MPRHandle {
  close(): void;
}

/** MPROptions say what to show and where. */
export interface MPROptions {
  /** container is covered by the view (position: relative is set on it). */
  container: HTMLElement;
  /** slices of the series, with the metadata already registered with the wadors loader. */
  slices: VolumeSlice[];
  seriesUID: string;
  title: string;
  /** onClose is called once the view is gone (back to the stack). */
  onClose?: () => void;
}

let current: MPRHandle | undefined;

/** openMPR lays the MPR/3D view over options.container. */
export function openMPR(options: MPROptions): MPRHandle {
  current?.close();
  const cleanups: (() => void)[] = [];
  let closed = false;
  const state = {
    status: 'opening' as 'opening' | 'loading' | 'ready' | 'not-volume' | 'error',
    reason: '',
    loaded: 0,
    failed: 0,
    total: 0,
    preset3d: '',
    primaryTool: 'Crosshairs' as PrimaryTool,
    renders: { axial: 0, sagittal: 0, coronal: 0, '3d': 0 } as Record<ViewName, number>,
  };

  const statusEl = h('div', { class: 'mpr-status', role: 'status', 'data-testid': 'mpr-status' }, 'Checking the series…');
  const toolbar = h('div', { class: 'mpr-toolbar', role: 'toolbar', 'data-testid': 'mpr-toolbar' });
  const grid = h('div', { class: 'mpr-grid' });
  const root = h(
    'div',
    { class: 'mpr', 'data-testid': 'mpr', 'data-state': 'opening', tabindex: -1 },
    h(
      'header',
      { class: 'mpr-top' },
      h('button', { type: 'button', class: 'mpr-back', 'data-testid': 'mpr-back', title: 'Back to the stack view (Esc)', onclick: () => close() }, '‹ Stack view'),
      h('span', { class: 'mpr-title' }, `MPR / 3D — ${options.title}`),
      toolbar,
    ),
    statusEl,
    grid,
  );
  const setState = (s: typeof state.status, text: string) => {
    state.status = s;
    root.dataset.state = s;
    statusEl.textContent = text;
    statusEl.classList.toggle('error', s === 'not-volume' || s === 'error');
    statusEl.hidden = text === '';
  };
  if (getComputedStyle(options.container).position === 'static') options.container.style.position = 'relative';
  options.container.append(root);
  root.focus();

  function close(): void {
    if (closed) return;
    closed = true;
    for (const c of cleanups.reverse()) {
      try {
        c();
      } catch {
        /* keep tearing down */
      }
    }
    root.remove();
    if (current === handle) current = undefined;
    options.onClose?.();
  }
  const handle: MPRHandle = { close };
  current = handle;

  let isCT = false;
  let setWindow = (_width: number, _center: number): void => {};
  // Keys while the view is open are its own: Esc goes back, 1–5 are the CT
  // presets; the stack viewer's shortcuts must not act on the hidden stack.
  const onKey = (ev: KeyboardEvent) => {
    const t = ev.target as HTMLElement | null;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA')) return;
    ev.stopImmediatePropagation();
    if (ev.key === 'Escape') {
      ev.preventDefault();
      close();
      return;
    }
    const p = CT_PRESETS.find((x) => x.key === ev.key);
    if (p && isCT && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
      ev.preventDefault();
      setWindow(p.width, p.center);
    }
  };
  window.addEventListener('keydown', onKey, true);
  cleanups.push(() => window.removeEventListener('keydown', onKey, true));

  const hook: Record<string, unknown> = { state: () => ({ ...state, renders: { ...state.renders } }) };
  (window as unknown as { lightboxMPR?: unknown }).lightboxMPR = hook;
  cleanups.push(() => {
    delete (window as unknown as { lightboxMPR?: unknown }).lightboxMPR;
  });

  // Everything from here may fail (WebGL contexts, Cornerstone): the view
  // then says why instead of leaving a half-built page.
  const start = () => {
    const check = checkVolume(options.slices);
    isCT = check.ok && check.modality === 'CT';
    if (!check.ok) {
      state.reason = check.reason;
      setState('not-volume', `This series does not form a volume, so MPR and 3D are not available: ${check.reason}`);
      grid.hidden = true;
      return;
    }
    const caps = getRenderingCapabilities();
    if (!caps.webgl) {
      setState('error', 'MPR and 3D rendering need WebGL, which this browser does not offer.');
      grid.hidden = true;
      return;
    }

    // ---- viewports ----
    const elements = new Map<ViewName, HTMLDivElement>();
    const infos = new Map<ViewName, HTMLElement>();
    const vpId = (n: ViewName) => `lightbox-mpr-${n}`;
    for (const v of [...ORTHO.map((o) => ({ name: o.name as ViewName, label: o.label, color: o.color })), { name: '3d' as ViewName, label: '3D', color: '#8af' }]) {
      const el = h('div', { class: 'mpr-viewport', 'data-testid': `mpr-${v.name}`, 'data-view': v.name }) as HTMLDivElement;
      el.addEventListener('contextmenu', (ev) => ev.preventDefault());
      elements.set(v.name, el);
      const info = h('span', { class: 'mpr-info', 'data-testid': `mpr-info-${v.name}` }, '');
      infos.set(v.name, info);
      grid.append(h('div', { class: 'mpr-cell', 'data-view': v.name }, el, h('span', { class: 'mpr-label', style: `color: ${v.color}` }, v.label), info));
    }

    // Volume viewports are WebGL only: switch for this engine's viewports
    // (not the existing stack viewports), and back when closing.
    if (getShouldUseCPURendering()) setUseCPURendering(false, false);
    getRenderingEngine(ENGINE_ID)?.destroy();
    const engine = new RenderingEngine(ENGINE_ID);
    cleanups.push(() => {
      engine.destroy();
      applyRendererChoice();
    });
    engine.setViewports([
      ...ORTHO.map((o) => ({
        viewportId: vpId(o.name),
        type: Enums.ViewportType.ORTHOGRAPHIC,
        element: elements.get(o.name)!,
        defaultOptions: { orientation: o.orientation, background: [0, 0, 0] as Types.Point3 },
      })),
      {
        viewportId: vpId('3d'),
        type: Enums.ViewportType.VOLUME_3D,
        element: elements.get('3d')!,
        // Seen from the front (anterior), head up, as a coronal slice.
        defaultOptions: { background: [0.08, 0.08, 0.1] as Types.Point3, orientation: Enums.OrientationAxis.CORONAL },
      },
    ]);
    const vp = (n: OrthoName) => engine.getViewport(vpId(n)) as Types.IVolumeViewport;
    const vp3d = () => engine.getViewport(vpId('3d')) as Types.IVolumeViewport;
    const ro = new ResizeObserver(() => {
      if (!closed) engine.resize(true, true);
    });
    ro.observe(grid);
    cleanups.push(() => ro.disconnect());
    // Corner text of a slice: its number, its position (patient axis, mm) and the window.
    const describe = (name: OrthoName) => {
      const v = vp(name);
      const slice = csUtils.getImageSliceDataForVolumeViewport(v);
      const cam = v.getCamera();
      const r = v.getProperties()?.voiRange;
      if (!slice || !cam.focalPoint) return '';
      const axis = name === 'axial' ? 'z' : name === 'sagittal' ? 'x' : 'y';
      const wl = r ? fromRange(r) : undefined;
      return [
        `Slice ${slice.imageIndex + 1}/${slice.numberOfSlices}`,
        `${axis} ${(name === 'axial' ? cam.focalPoint[2] : name === 'sagittal' ? cam.focalPoint[0] : cam.focalPoint[1]).toFixed(1)} mm`,
        wl ? `W ${Math.round(wl.width)} L ${Math.round(wl.center)}` : '',
      ]
        .filter(Boolean)
        .join(' · ');
    };
    for (const [name, el] of elements) {
      const fn = () => {
        state.renders[name]++;
        if (name !== '3d') {
          try {
            infos.get(name)!.textContent = describe(name);
          } catch {
            /* viewport without its volume yet */
          }
        }
      };
      el.addEventListener(Enums.Events.IMAGE_RENDERED, fn);
      cleanups.push(() => el.removeEventListener(Enums.Events.IMAGE_RENDERED, fn));
    }

    // ---- tools ----
    for (const t of [CrosshairsTool, WindowLevelTool, ZoomTool, PanTool, StackScrollTool, TrackballRotateTool]) addTool(t);
    // Left over by a view whose teardown failed: start afresh.
    for (const id of [ORTHO_GROUP, VR_GROUP]) if (ToolGroupManager.getToolGroup(id)) ToolGroupManager.destroyToolGroup(id);
    if (SynchronizerManager.getSynchronizer(VOI_SYNC)) SynchronizerManager.destroySynchronizer(VOI_SYNC);
    const ortho = ToolGroupManager.createToolGroup(ORTHO_GROUP)!;
    cleanups.unshift(() => ToolGroupManager.destroyToolGroup(ORTHO_GROUP));
    const colorOf = new Map(ORTHO.map((o) => [vpId(o.name), o.color]));
    ortho.addTool(CrosshairsTool.toolName, {
      getReferenceLineColor: (id: string) => colorOf.get(id) ?? '#fff',
      getReferenceLineControllable: () => true,
      getReferenceLineDraggableRotatable: () => false,
      getReferenceLineSlabThicknessControlsOn: () => false,
    });
    ortho.addTool(WindowLevelTool.toolName);
    ortho.addTool(ZoomTool.toolName);
    ortho.addTool(PanTool.toolName);
    ortho.addTool(StackScrollTool.toolName);
    for (const o of ORTHO) ortho.addViewport(vpId(o.name), ENGINE_ID);
    ortho.setToolActive(StackScrollTool.toolName, { bindings: [{ mouseButton: MouseBindings.Wheel }] });

    const vr = ToolGroupManager.createToolGroup(VR_GROUP)!;
    cleanups.unshift(() => ToolGroupManager.destroyToolGroup(VR_GROUP));
    vr.addTool(TrackballRotateTool.toolName);
    vr.addTool(ZoomTool.toolName);
    vr.addTool(PanTool.toolName);
    vr.addViewport(vpId('3d'), ENGINE_ID);
    vr.setToolActive(TrackballRotateTool.toolName, { bindings: [{ mouseButton: MouseBindings.Primary }] });
    vr.setToolActive(ZoomTool.toolName, { bindings: [{ mouseButton: MouseBindings.Secondary }, { mouseButton: MouseBindings.Wheel }] });
    vr.setToolActive(PanTool.toolName, { bindings: [{ mouseButton: MouseBindings.Auxiliary }] });

    const voiSync = synchronizers.createVOISynchronizer(VOI_SYNC, { syncInvertState: false, syncColormap: false });
    cleanups.unshift(() => SynchronizerManager.destroySynchronizer(VOI_SYNC));
    for (const o of ORTHO) voiSync.add({ renderingEngineId: ENGINE_ID, viewportId: vpId(o.name) });

    // ---- toolbar ----
    const toolButtons = new Map<PrimaryTool, HTMLButtonElement>();
    const setPrimary = (id: PrimaryTool) => {
      state.primaryTool = id;
      for (const p of PRIMARY) {
        if (p.id === id) continue;
        // Crosshairs stay drawn (passive) when another tool has the left button.
        if (p.id === 'Crosshairs') ortho.setToolPassive(p.tool);
        else if (p.id === 'Zoom') ortho.setToolActive(p.tool, { bindings: [{ mouseButton: MouseBindings.Secondary }] });
        else if (p.id === 'Pan') ortho.setToolActive(p.tool, { bindings: [{ mouseButton: MouseBindings.Auxiliary }] });
        else ortho.setToolPassive(p.tool);
      }
      const p = PRIMARY.find((x) => x.id === id)!;
      const extra =
        id === 'Zoom' ? [{ mouseButton: MouseBindings.Secondary }] : id === 'Pan' ? [{ mouseButton: MouseBindings.Auxiliary }] : [];
      ortho.setToolActive(p.tool, { bindings: [{ mouseButton: MouseBindings.Primary }, ...extra] });
      for (const [k, b] of toolButtons) b.setAttribute('aria-pressed', String(k === id));
    };
    for (const p of PRIMARY) {
      const b = h('button', { type: 'button', title: p.title, 'data-mpr-tool': p.id, 'aria-pressed': 'false', onclick: () => setPrimary(p.id) }, p.label);
      toolButtons.set(p.id, b);
      toolbar.append(b);
    }

    setWindow = (width: number, center: number) => {
      if (state.status !== 'ready' && state.status !== 'loading') return;
      for (const o of ORTHO) {
        const v = vp(o.name);
        v.setProperties({ voiRange: toRange(width, center) });
        v.render();
      }
    };
    const wlSelect = h(
      'select',
      { title: 'Window presets (keys 1–5), for all three slices', 'data-testid': 'mpr-wl-preset' },
      h('option', { value: '' }, 'W/L preset…'),
      ...CT_PRESETS.map((p) => h('option', { value: p.id }, `${p.key} ${p.label} (${p.width}/${p.center})`)),
    );
    wlSelect.addEventListener('change', () => {
      const p = CT_PRESETS.find((x) => x.id === wlSelect.value);
      if (p) setWindow(p.width, p.center);
      wlSelect.value = '';
    });

    const presets = VR_PRESETS[check.modality] ?? [...VR_PRESETS.CT, ...VR_PRESETS.MR];
    const known = new Set(CONSTANTS.VIEWPORT_PRESETS.map((p) => p.name));
    const vrSelect = h(
      'select',
      { title: '3D transfer function', 'data-testid': 'mpr-3d-preset' },
      ...presets.filter((p) => known.has(p)).map((p) => h('option', { value: p }, p)),
    );
    const setPreset3d = (name: string) => {
      const v = vp3d();
      v.setProperties({ preset: name });
      state.preset3d = name;
      vrSelect.value = name;
      v.render();
    };
    vrSelect.addEventListener('change', () => setPreset3d(vrSelect.value));
    const resetButton = h(
      'button',
      {
        type: 'button',
        title: 'Reset the slices, crosshairs and 3D view',
        'data-action': 'mpr-reset',
        onclick: () => {
          for (const o of ORTHO) vp(o.name).resetCamera();
          vp3d().resetCamera();
          (ortho.getToolInstance(CrosshairsTool.toolName) as CrosshairsTool | undefined)?.resetCrosshairs?.();
          engine.render();
        },
      },
      'Reset',
    );
    // The CT windows (Hounsfield units) mean nothing for other modalities.
    if (check.modality !== 'CT') wlSelect.hidden = true;
    toolbar.append(h('span', { class: 'sep' }), wlSelect, h('span', { class: 'sep' }), h('label', {}, '3D ', vrSelect), resetButton);

    // ---- the volume ----
    const volumeId = `cornerstoneStreamingImageVolume:lightbox-${options.seriesUID}`;
    state.total = check.imageIds.length;
    setState('loading', `Loading the volume: 0 of ${state.total} slices…`);

    const waitRendered = (names: ViewName[]) =>
      new Promise<void>((resolve) => {
        const before = names.map((n) => state.renders[n]);
        const tick = () => {
          if (closed || names.every((n, i) => state.renders[n] > before[i])) resolve();
          else requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      });

    (async () => {
      // A volume's texture belongs to the WebGL context of the engine that
      // drew it: the volume goes with the view (its images stay cached, so
      // reopening is quick).
      if (cache.getVolume(volumeId)) cache.removeVolumeLoadObject(volumeId);
      const volume = await volumeLoader.createAndCacheVolume(volumeId, { imageIds: check.imageIds });
      const drop = () => {
        try {
          (volume as unknown as { cancelLoading?: () => void }).cancelLoading?.();
          if (cache.getVolume(volumeId)) cache.removeVolumeLoadObject(volumeId);
        } catch {
          /* already gone */
        }
      };
      if (closed) {
        drop();
        return;
      }
      // Last of all: the viewports and tools ask the volume about themselves as they go.
      cleanups.unshift(drop);
      let done!: () => void;
      const loaded = new Promise<void>((r) => (done = r));
      const progress = (evt: unknown) => {
        const e = evt as { success?: boolean; framesProcessed?: number; totalNumFrames?: number };
        if (e.success === false) state.failed++;
        state.loaded = (e.framesProcessed ?? 0) - state.failed;
        if (!closed && state.status === 'loading') statusEl.textContent = `Loading the volume: ${state.loaded} of ${state.total} slices…`;
        if (e.framesProcessed === e.totalNumFrames) done();
      };
      const v = volume as unknown as { load(cb: (evt: unknown) => void): void; loadStatus?: { loaded: boolean } };
      if (v.loadStatus?.loaded) {
        state.loaded = state.total;
        done();
      } else {
        v.load(progress);
      }
      // The slices stream in as they load; the 3D rendering waits for the
      // whole volume (re-rendering it for every few slices that arrive costs
      // much and shows a truncated volume).
      await setVolumesForViewports(engine, [{ volumeId }], ORTHO.map((o) => vpId(o.name)));
      if (closed) return;
      setPrimary('Crosshairs');
      engine.render();
      await loaded;
      if (closed) return;
      if (state.failed) {
        setState('error', `${state.failed} of ${state.total} slices could not be loaded; the volume is incomplete.`);
        return;
      }
      await setVolumesForViewports(engine, [{ volumeId }], [vpId('3d')]);
      if (closed) return;
      const initial = presets.find((p) => known.has(p));
      if (initial) setPreset3d(initial);
      // A software rasteriser casts every ray on the CPU: longer steps along
      // the rays keep the 3D view usable there (at some cost in detail).
      if (caps.softwareRasterizer) vp3d().setProperties({ sampleDistanceMultiplier: SOFTWARE_SAMPLE_DISTANCE });
      engine.render();
      await waitRendered(['axial', 'sagittal', 'coronal', '3d']);
      if (!closed) setState('ready', '');
    })().catch((err) => {
      if (!closed) setState('error', `Could not show the volume: ${err instanceof Error ? err.message : String(err)}`);
    });

    // ---- automation hook (read-only, for the browser tests) ----
    const wl = (n: OrthoName) => {
      const r = vp(n).getProperties()?.voiRange;
      return r ? { lower: r.lower, upper: r.upper, ...fromRange(r) } : undefined;
    };
    Object.assign(hook, {
      state: () => ({
        ...state,
        renders: { ...state.renders },
        viewports: Object.fromEntries(
          ORTHO.map((o) => {
            const v = vp(o.name);
            const cam = v.getCamera();
            const slice = csUtils.getImageSliceDataForVolumeViewport(v);
            return [o.name, { voi: wl(o.name), slice: slice?.imageIndex, slices: slice?.numberOfSlices, focalPoint: cam.focalPoint, normal: cam.viewPlaneNormal }];
          }),
        ),
        camera3d: (() => {
          const c = vp3d().getCamera();
          return { position: c.position, viewUp: c.viewUp, focalPoint: c.focalPoint };
        })(),
      }),
      /** worldToClient maps a patient (world) point to client coordinates in a viewport. */
      worldToClient: (name: ViewName, world: Types.Point3): [number, number] => {
        const v = engine.getViewport(vpId(name));
        const [x, y] = v.worldToCanvas(world);
        const r = elements.get(name)!.getBoundingClientRect();
        return [r.left + x, r.top + y];
      },
      /** crosshairCenter is the crosshairs' centre (world, mm). */
      crosshairCenter: () => (ortho.getToolInstance(CrosshairsTool.toolName) as CrosshairsTool).toolCenter,
      /** referenceLines are the crosshair lines drawn in a viewport (client coordinates). */
      referenceLines: (name: OrthoName) => {
        const r = elements.get(name)!.getBoundingClientRect();
        return [...elements.get(name)!.querySelectorAll('svg line')].map((l) => ({
          x1: r.left + Number(l.getAttribute('x1')),
          y1: r.top + Number(l.getAttribute('y1')),
          x2: r.left + Number(l.getAttribute('x2')),
          y2: r.top + Number(l.getAttribute('y2')),
          color: l.getAttribute('stroke'),
        }));
      },
      renderCount: (name: ViewName) => state.renders[name],
    });
  };
  try {
    start();
  } catch (err) {
    setState('error', `Could not open MPR and 3D: ${err instanceof Error ? err.message : String(err)}`);
    grid.hidden = true;
  }
  return handle;
}

/** closeMPR closes the open view, if any (the viewer page calls it when it goes). */
export function closeMPR(): void {
  current?.close();
}
