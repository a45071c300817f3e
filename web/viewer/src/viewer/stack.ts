// Turning a series' WADO-RS metadata into a Cornerstone image stack.
import { wadors } from '@cornerstonejs/dicom-image-loader';
import { Tag, type DicomJSON, str, num, nums } from '../dicom';
import { dicomwebRoot, enc } from '../dicomweb';
import { browserDecodes, serverDecodedId } from './fallback';

/** StackImage is one frame of the stack. */
export interface StackImage {
  imageId: string;
  sop: string;
  frame: number; // 1-based
  frames: number; // frames of the instance
  meta: DicomJSON;
  /**
   * decode is where the frame is meant to be decoded: 'browser' (stored
   * bytes, the loader's codecs; the server steps in if that fails) or
   * 'server' (a syntax the loader lacks; see fallback.ts).
   */
  decode: 'browser' | 'server';
}

/** Image storage SOP classes are those with Rows; others (SR, PR, ...) are not shown in the stack. */
function isImage(ds: DicomJSON): boolean {
  return num(ds, Tag.Rows) !== undefined && num(ds, Tag.Columns) !== undefined;
}

/**
 * sortInstances orders instances for display: by Instance Number, then by
 * position along the slice normal, then by SOP Instance UID, so that the
 * order is stable whatever order the server answered in.
 */
export function sortInstances(list: DicomJSON[]): DicomJSON[] {
  const pos = (ds: DicomJSON): number | undefined => {
    const ipp = nums(ds, Tag.ImagePositionPatient);
    const iop = nums(ds, Tag.ImageOrientationPatient);
    if (ipp.length !== 3 || iop.length !== 6) return undefined;
    const n = [
      iop[1] * iop[5] - iop[2] * iop[4],
      iop[2] * iop[3] - iop[0] * iop[5],
      iop[0] * iop[4] - iop[1] * iop[3],
    ];
    return ipp[0] * n[0] + ipp[1] * n[1] + ipp[2] * n[2];
  };
  return [...list].sort((a, b) => {
    const ia = num(a, Tag.InstanceNumber);
    const ib = num(b, Tag.InstanceNumber);
    if (ia !== undefined && ib !== undefined && ia !== ib) return ia - ib;
    const pa = pos(a);
    const pb = pos(b);
    if (pa !== undefined && pb !== undefined && pa !== pb) return pa - pb;
    return str(a, Tag.SOPInstanceUID).localeCompare(str(b, Tag.SOPInstanceUID));
  });
}

/** frameImageId is the wadors: image id of one frame. */
export function frameImageId(study: string, series: string, sop: string, frame: number): string {
  return `wadors:${dicomwebRoot()}/studies/${enc(study)}/series/${enc(series)}/instances/${enc(sop)}/frames/${frame}`;
}

/**
 * buildStack registers the metadata of every image instance with the WADO-RS
 * loader and returns the stack, one entry per frame.
 */
export function buildStack(study: string, series: string, metadata: DicomJSON[]): StackImage[] {
  const out: StackImage[] = [];
  for (const meta of sortInstances(metadata.filter(isImage))) {
    const sop = str(meta, Tag.SOPInstanceUID);
    const frames = Math.max(1, num(meta, Tag.NumberOfFrames) ?? 1);
    // The loader derives per-frame metadata of multi-frame instances from
    // the entry of frame 1.
    wadors.metaDataManager.add(frameImageId(study, series, sop, 1), loaderMeta(meta) as never);
    // Syntaxes the loader has no decoder for are decoded by the server.
    const decode = browserDecodes(meta) ? 'browser' : 'server';
    for (let f = 1; f <= frames; f++) {
      const id = frameImageId(study, series, sop, f);
      out.push({ imageId: decode === 'server' ? serverDecodedId(id) : id, sop, frame: f, frames, meta, decode });
    }
  }
  return out;
}

/**
 * loaderMeta is the metadata given to the loader: the loader's metadata
 * provider throws on an instance without Modality (0008,0060) (it calls
 * modality.includes), which Secondary Capture files may lack; it gets an
 * empty value instead.
 */
function loaderMeta(meta: DicomJSON): DicomJSON {
  if (meta[Tag.Modality]?.Value?.length) return meta;
  return { ...meta, [Tag.Modality]: { vr: 'CS', Value: [''] } };
}
