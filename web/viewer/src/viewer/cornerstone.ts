// One-time initialisation of Cornerstone3D (rendering), its tools and the
// DICOM image loader (WADO-RS frames decoded in web workers; the codecs are
// WebAssembly files in the bundle, loaded on first use).
//
// Rendering path (applyRendererChoice): WebGL on a real GPU; Cornerstone's CPU renderer when the
// browser has no WebGL or only a software rasteriser (SwiftShader,
// llvmpipe: virtual machines, remote desktops, headless test browsers),
// where every WebGL frame is rasterised on the CPU and then read back, and
// drawing the stack directly into a 2D canvas is several times faster.
// ?renderer=gpu|cpu|auto in the page URL overrides the choice and is
// remembered in the browser (localStorage).
import {
  init as coreInit,
  getShouldUseCPURendering,
  setUseCPURendering,
  getRenderingCapabilities,
} from '@cornerstonejs/core';
import { init as toolsInit, addTool } from '@cornerstonejs/tools';
import { init as loaderInit } from '@cornerstonejs/dicom-image-loader';
import { beforeSend, registerFallbackLoader } from './fallback';
import { TOOL_CLASSES } from './tools';

export type RendererChoice = 'auto' | 'gpu' | 'cpu';

const RENDERER_KEY = 'lightbox.renderer';

let ready: Promise<void> | undefined;

/** rendererChoice reads ?renderer= (remembering it) or the remembered choice. */
export function rendererChoice(): RendererChoice {
  const valid = (v: string | null): v is RendererChoice => v === 'auto' || v === 'gpu' || v === 'cpu';
  const fromURL = new URLSearchParams(window.location.search).get('renderer');
  try {
    if (valid(fromURL)) {
      window.localStorage.setItem(RENDERER_KEY, fromURL);
      return fromURL;
    }
    const stored = window.localStorage.getItem(RENDERER_KEY);
    if (valid(stored)) return stored;
  } catch {
    /* storage disabled */
  }
  return valid(fromURL) ? fromURL : 'auto';
}

/**
 * applyRendererChoice selects the rendering path for viewports created
 * from now on (see the package comment); call it before creating them.
 */
export function applyRendererChoice(): void {
  const choice = rendererChoice();
  const caps = getRenderingCapabilities();
  const cpu = !caps.webgl || choice === 'cpu' || (choice === 'auto' && caps.softwareRasterizer);
  if (cpu !== getShouldUseCPURendering()) setUseCPURendering(cpu, false);
}

/** ensureCornerstone initialises Cornerstone once; later calls share it. */
export function ensureCornerstone(): Promise<void> {
  ready ??= (async () => {
    coreInit();
    applyRendererChoice();
    loaderInit({
      maxWebWorkers: Math.max(1, Math.min(4, Math.floor((navigator.hardwareConcurrency || 2) / 2))),
      // Frames the server decodes (see fallback.ts) ask for Explicit VR Little Endian.
      beforeSend,
    });
    registerFallbackLoader();
    toolsInit();
    for (const tool of Object.values(TOOL_CLASSES)) addTool(tool);
  })();
  return ready;
}

/** renderer names the rendering path in use, for the status line and tests. */
export function renderer(): 'cpu' | 'webgl' {
  return getShouldUseCPURendering() ? 'cpu' : 'webgl';
}
