// Series thumbnails: the server's rendered thumbnail (WADO-RS /thumbnail)
// when it has one, else the series' first image decoded and drawn in the
// browser. Thumbnails load one after the other, after the main image.
import { utilities as csUtils } from '@cornerstonejs/core';
import { wadors } from '@cornerstonejs/dicom-image-loader';
import { Tag, num, str } from '../dicom';
import { dicomwebRoot, enc, qido, instanceMetadata } from '../dicomweb';
import { frameImageId } from './stack';

const SIZE = 96;

/** Modalities of series without images to draw. */
const NON_IMAGE = new Set(['SR', 'PR', 'KO', 'DOC', 'RTPLAN', 'RTSTRUCT', 'RTRECORD', 'ECG', 'REG', 'FID']);

/** Whether the server answers /thumbnail; learnt from the first attempt. */
let serverThumbnails: 'unknown' | 'yes' | 'no' = 'unknown';

type Job = () => Promise<void>;

/** ThumbnailQueue loads thumbnails one at a time once started. */
export class ThumbnailQueue {
  private jobs: Job[] = [];
  private running = false;
  private started = false;
  private stopped = false;

  add(job: Job): void {
    this.jobs.push(job);
    void this.pump();
  }

  /** start lets queued thumbnails load (called when the main image shows). */
  start(): void {
    this.started = true;
    void this.pump();
  }

  stop(): void {
    this.stopped = true;
    this.jobs = [];
  }

  private async pump(): Promise<void> {
    if (this.running || !this.started) return;
    this.running = true;
    while (!this.stopped && this.jobs.length > 0) {
      const job = this.jobs.shift()!;
      try {
        await job();
      } catch {
        /* a failed thumbnail leaves its placeholder */
      }
    }
    this.running = false;
  }
}

function loadServerThumbnail(img: HTMLImageElement, url: string): Promise<boolean> {
  return new Promise((resolve) => {
    img.onload = () => resolve(img.naturalWidth > 0);
    img.onerror = () => resolve(false);
    img.src = url;
  });
}

/**
 * fillThumbnail draws the thumbnail of a series into box (a placeholder
 * element); it resolves when done or given up.
 */
export async function fillThumbnail(box: HTMLElement, study: string, series: string, modality: string): Promise<void> {
  // Documents (SR, PDF, key objects) have no image to show, and asking the
  // server would get a 400 that must not count against its thumbnails.
  if (NON_IMAGE.has(modality)) {
    box.textContent = modality;
    return;
  }
  if (serverThumbnails !== 'no') {
    const img = document.createElement('img');
    img.alt = '';
    img.width = SIZE;
    img.height = SIZE;
    const url = `${dicomwebRoot()}/studies/${enc(study)}/series/${enc(series)}/thumbnail?viewport=${SIZE},${SIZE}`;
    if (await loadServerThumbnail(img, url)) {
      serverThumbnails = 'yes';
      box.replaceChildren(img);
      box.dataset.source = 'server';
      return;
    }
    if (serverThumbnails === 'unknown') serverThumbnails = 'no';
  }
  // First image of the series, drawn by Cornerstone.
  const params = new URLSearchParams();
  params.append('includefield', Tag.InstanceNumber);
  const images = (await qido(`/studies/${enc(study)}/series/${enc(series)}/instances`, params)).items;
  if (images.length === 0) {
    box.textContent = modality || '—';
    return;
  }
  images.sort((a, b) => (num(a, Tag.InstanceNumber) ?? 0) - (num(b, Tag.InstanceNumber) ?? 0));
  const sop = str(images[0], Tag.SOPInstanceUID);
  const meta = await instanceMetadata(study, series, sop);
  if (!meta || num(meta, Tag.Rows) === undefined) {
    box.textContent = modality || '—';
    return;
  }
  const imageId = frameImageId(study, series, sop, 1);
  wadors.metaDataManager.add(imageId, meta as never);
  const canvas = document.createElement('canvas');
  canvas.width = SIZE;
  canvas.height = SIZE;
  await csUtils.loadImageToCanvas({ canvas, imageId, thumbnail: true });
  box.replaceChildren(canvas);
  box.dataset.source = 'browser';
}
