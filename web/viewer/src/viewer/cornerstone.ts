// One-time initialisation of Cornerstone3D (rendering), its tools and the
// DICOM image loader (WADO-RS frames decoded in web workers; the codecs are
// WebAssembly files in the bundle, loaded on first use).
import { init as coreInit, getShouldUseCPURendering } from '@cornerstonejs/core';
import {
  init as toolsInit,
  addTool,
  StackScrollTool,
  WindowLevelTool,
  ZoomTool,
  PanTool,
  LengthTool,
} from '@cornerstonejs/tools';
import { init as loaderInit } from '@cornerstonejs/dicom-image-loader';

let ready: Promise<void> | undefined;

/** ensureCornerstone initialises Cornerstone once; later calls share it. */
export function ensureCornerstone(): Promise<void> {
  ready ??= (async () => {
    coreInit();
    loaderInit({ maxWebWorkers: Math.max(1, Math.min(4, Math.floor((navigator.hardwareConcurrency || 2) / 2))) });
    toolsInit();
    for (const tool of [StackScrollTool, WindowLevelTool, ZoomTool, PanTool, LengthTool]) addTool(tool);
  })();
  return ready;
}

/** renderer names the rendering path in use, for the status line and tests. */
export function renderer(): 'cpu' | 'webgl' {
  return getShouldUseCPURendering() ? 'cpu' : 'webgl';
}
