// Series prefetch: once the first image of a stack is on screen, every other
// image of the stack is loaded into Cornerstone's cache in the background, a
// few at a time and nearest to the shown image first, so that scrolling and
// cine through a 500-slice series do not wait on the network. Requests go
// through Cornerstone's image load pool as "prefetch" requests, so images the
// reader asks for (interaction) overtake them.
import { imageLoader, imageLoadPoolManager, cache, Enums } from '@cornerstonejs/core';

/** Prefetch is a running background load of a stack. */
export interface Prefetch {
  /** loaded counts the images in the cache (loaded here or before). */
  loaded(): number;
  /** failed counts images whose load failed. */
  failed(): number;
  total(): number;
  /** done resolves when every image has been tried (or on cancel). */
  done: Promise<void>;
  /** cancel stops queuing new loads (loads in flight finish). */
  cancel(): void;
}

/** nearestFirst orders indices 0..n-1 by distance from start. */
export function nearestFirst(n: number, start: number): number[] {
  const out: number[] = [];
  const s = Math.min(Math.max(0, start), Math.max(0, n - 1));
  for (let d = 0; out.length < n; d++) {
    if (s + d < n) out.push(s + d);
    if (d > 0 && s - d >= 0) out.push(s - d);
  }
  return out;
}

/**
 * prefetchStack loads imageIds into the cache, nearest to start first, with at
 * most `parallel` requests of its own queued at once. When every image is
 * loaded it sets the performance mark lightbox:series-loaded.
 */
export function prefetchStack(imageIds: string[], start: number, parallel = 6): Prefetch {
  const order = nearestFirst(imageIds.length, start);
  let next = 0;
  let loaded = 0;
  let failed = 0;
  let cancelled = false;
  let finish: () => void = () => {};
  const done = new Promise<void>((r) => (finish = r));

  const settle = () => {
    if (loaded + failed === imageIds.length) {
      if (failed === 0) performance.mark('lightbox:series-loaded');
      finish();
    }
  };
  const pump = () => {
    while (!cancelled && next < order.length && next - loaded - failed < parallel) {
      const id = imageIds[order[next++]];
      if (cache.getImageLoadObject(id)) {
        // Already loaded or loading (the shown image, a scroll): count it when it lands.
        cache
          .getImageLoadObject(id)!
          .promise.then(
            () => loaded++,
            () => failed++,
          )
          .finally(() => {
            settle();
            pump();
          });
        continue;
      }
      imageLoadPoolManager.addRequest(
        () =>
          imageLoader
            .loadAndCacheImage(id, { priority: 0, requestType: Enums.RequestType.Prefetch })
            .then(
              () => {
                loaded++;
              },
              () => {
                failed++;
              },
            )
            .finally(() => {
              settle();
              pump();
            }),
        Enums.RequestType.Prefetch,
        { imageId: id },
        0,
      );
    }
  };
  if (imageIds.length === 0) finish();
  else pump();
  return {
    loaded: () => loaded,
    failed: () => failed,
    total: () => imageIds.length,
    done,
    cancel: () => {
      cancelled = true;
      finish();
    },
  };
}
