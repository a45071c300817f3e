// Display filters applied to a viewport's drawn canvas after Cornerstone
// renders it (IMAGE_RENDERED): a sharpening convolution and the crop mask,
// plus the camera move that makes a crop rectangle the displayed region.
// Both renderers draw each viewport into a 2D canvas, so one code path
// serves the CPU and the WebGL one. The stored pixel values (ROI
// statistics, modality values) are never changed: only what is shown.
import type { Types } from '@cornerstonejs/core';

/** CropRect is a crop region: its four corners in world coordinates, in drawing order. */
export interface CropRect {
  corners: Types.Point3[];
}

/** SHARPEN is the 3×3 kernel (unsharp Laplacian): 5 in the centre, −1 at the four neighbours. */
export const SHARPEN = [0, -1, 0, -1, 5, -1, 0, -1, 0];

/** sharpenPixels convolves RGBA pixels (w×h) with SHARPEN; the border row/column is copied. Alpha is kept. */
export function sharpenPixels(src: Uint8ClampedArray, w: number, h: number): Uint8ClampedArray {
  const out = new Uint8ClampedArray(src);
  const row = w * 4;
  for (let y = 1; y < h - 1; y++) {
    let i = y * row + 4;
    for (let x = 1; x < w - 1; x++, i += 4) {
      for (let c = 0; c < 3; c++) {
        const k = i + c;
        out[k] = 5 * src[k] - src[k - 4] - src[k + 4] - src[k - row] - src[k + row];
      }
    }
  }
  return out;
}

/** applyFilters post-processes a drawn viewport canvas: sharpen, then the crop mask. */
export function applyFilters(
  canvas: HTMLCanvasElement,
  vp: Types.IStackViewport,
  opts: { sharpen: boolean; crop?: CropRect },
): void {
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx || canvas.width < 3 || canvas.height < 3) return;
  if (opts.sharpen) {
    const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
    img.data.set(sharpenPixels(img.data, canvas.width, canvas.height));
    ctx.putImageData(img, 0, 0);
  }
  if (opts.crop) {
    // Canvas (CSS) coordinates of the crop corners, in device pixels.
    const ratio = canvas.width / Math.max(1, canvas.clientWidth || canvas.width);
    const pts = opts.crop.corners.map((w) => vp.worldToCanvas(w)).map(([x, y]) => [x * ratio, y * ratio]);
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.beginPath();
    ctx.rect(0, 0, canvas.width, canvas.height);
    ctx.moveTo(pts[0][0], pts[0][1]);
    for (const p of pts.slice(1)) ctx.lineTo(p[0], p[1]);
    ctx.closePath();
    ctx.fillStyle = '#000';
    ctx.fill('evenodd');
    ctx.restore();
  }
}

/**
 * cropFromCanvas turns a rectangle drawn on the canvas (CSS pixels, two
 * opposite corners) into a crop region, or undefined when it is too small.
 */
export function cropFromCanvas(vp: Types.IStackViewport, a: [number, number], b: [number, number]): CropRect | undefined {
  if (Math.abs(a[0] - b[0]) < 4 || Math.abs(a[1] - b[1]) < 4) return undefined;
  const c: Types.Point2[] = [
    [a[0], a[1]],
    [b[0], a[1]],
    [b[0], b[1]],
    [a[0], b[1]],
  ];
  return { corners: c.map((p) => vp.canvasToWorld(p)) };
}

/**
 * fitCrop moves the camera so that the crop region fills the viewport:
 * centred, magnified until its longer side (relative to the viewport)
 * touches the edges.
 */
export function fitCrop(vp: Types.IStackViewport, crop: CropRect): void {
  const cam = vp.getCamera();
  if (!cam.focalPoint || !cam.position || !cam.parallelScale) return;
  const pts = crop.corners.map((w) => vp.worldToCanvas(w));
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const w = Math.max(...xs) - Math.min(...xs);
  const h = Math.max(...ys) - Math.min(...ys);
  const el = vp.element;
  const W = el.clientWidth;
  const H = el.clientHeight;
  if (w <= 0 || h <= 0 || W <= 0 || H <= 0) return;
  const f = Math.min(W / w, H / h);
  const centre = [0, 1, 2].map((k) => crop.corners.reduce((s, c) => s + c[k], 0) / crop.corners.length) as Types.Point3;
  const offset = [0, 1, 2].map((k) => cam.position![k] - cam.focalPoint![k]);
  vp.setCamera({
    focalPoint: centre,
    position: [centre[0] + offset[0], centre[1] + offset[1], centre[2] + offset[2]] as Types.Point3,
    parallelScale: cam.parallelScale / f,
  });
  vp.render();
}
