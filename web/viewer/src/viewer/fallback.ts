// Where the browser cannot decode a frame: the server decodes it.
//
// Frames are normally fetched with transfer-syntax=* (the stored bytes,
// decoded in the browser by the dicom-image-loader's codecs). An instance
// whose stored syntax has no decoder in the loader (chosen up front from the
// Transfer Syntax UID (0002,0010) in the series metadata: its image ids
// carry the SERVER_DECODED fragment from the start), or any frame whose
// browser-side decode fails or yields a frame that does not fit the header
// (a codec refusing or misreading a stream the server's codecs accept), is
// fetched again with
//
//   Accept: multipart/related; type="application/octet-stream"; transfer-syntax=1.2.840.10008.1.2.1
//
// which makes Lightbox transcode it to Explicit VR Little Endian with its
// codecs: full-fidelity stored values, so window/level, ROI statistics and
// HU stay right. The retry happens inside the wadors: image loader
// (registerFallbackLoader wraps it), so the viewport, the prefetch and the
// cache see one image id whichever way it was decoded; serverDecoded()
// tells which. The SERVER_DECODED fragment is never sent (it is a URL
// fragment); the loader's beforeSend hook (installed by cornerstone.ts)
// swaps the Accept header for such ids.
import { registerImageLoader, type Types } from '@cornerstonejs/core';
import { wadors } from '@cornerstonejs/dicom-image-loader';
import { type DicomJSON, str, num } from '../dicom';

/** SERVER_DECODED is the image id fragment marking frames the server decodes. */
export const SERVER_DECODED = '#lightbox-server-decoded';

/** EXPLICIT_VR_LE is the syntax the server decodes to. */
export const EXPLICIT_VR_LE = '1.2.840.10008.1.2.1';

/** SERVER_DECODED_ACCEPT is the Accept header of server-decoded frames. */
export const SERVER_DECODED_ACCEPT = `multipart/related; type="application/octet-stream"; transfer-syntax=${EXPLICIT_VR_LE}`;

/** TRANSFER_SYNTAX is (0002,0010) Transfer Syntax UID, included in Lightbox's series metadata. */
const TRANSFER_SYNTAX = '00020010';

/**
 * BROWSER_SYNTAXES are the transfer syntaxes @cornerstonejs/dicom-image-loader
 * 5.14 decodes (its decodeImageFrame switch). Anything else — JPEG 2000
 * Part 2 (.4.92/.93), JPIP, MPEG/HEVC video, private syntaxes — goes to the
 * server from the start.
 */
export const BROWSER_SYNTAXES: ReadonlySet<string> = new Set([
  '1.2.840.10008.1.2',
  '1.2.840.10008.1.2.1',
  '1.2.840.10008.1.2.2',
  '1.2.840.10008.1.2.1.99',
  '1.2.840.10008.1.2.1.98',
  '1.2.840.10008.1.2.8.1',
  '1.2.840.10008.1.2.5',
  '1.2.840.10008.1.2.4.50',
  '1.2.840.10008.1.2.4.51',
  '1.2.840.10008.1.2.4.53',
  '1.2.840.10008.1.2.4.55',
  '1.2.840.10008.1.2.4.57',
  '1.2.840.10008.1.2.4.70',
  '1.2.840.10008.1.2.4.80',
  '1.2.840.10008.1.2.4.81',
  '1.2.840.10008.1.2.4.90',
  '1.2.840.10008.1.2.4.91',
  '1.2.840.10008.1.2.4.201',
  '1.2.840.10008.1.2.4.202',
  '1.2.840.10008.1.2.4.203',
  '1.2.840.10008.1.2.4.110',
  '1.2.840.10008.1.2.4.111',
  '1.2.840.10008.1.2.4.112',
]);

/** transferSyntax is an instance's stored Transfer Syntax UID ('' when the metadata lacks it). */
export function transferSyntax(meta: DicomJSON): string {
  return str(meta, TRANSFER_SYNTAX);
}

/**
 * browserDecodes reports whether the browser's loader has a decoder for the
 * instance's stored syntax; unknown (absent) counts as yes.
 */
export function browserDecodes(meta: DicomJSON): boolean {
  const ts = transferSyntax(meta);
  return ts === '' || BROWSER_SYNTAXES.has(ts);
}

/** serverDecodedId is the image id of the server-decoded variant of a wadors: frame id. */
export function serverDecodedId(imageId: string): string {
  return isServerDecoded(imageId) ? imageId : imageId + SERVER_DECODED;
}

/** isServerDecoded reports whether an image id is fetched server-decoded. */
export function isServerDecoded(imageId: string): boolean {
  return imageId.endsWith(SERVER_DECODED);
}

/**
 * beforeSend is the loader's beforeSend hook: server-decoded frames ask for
 * Explicit VR Little Endian instead of the stored bytes.
 */
export function beforeSend(_xhr: unknown, imageId: string): Record<string, string> {
  return isServerDecoded(imageId) ? { Accept: SERVER_DECODED_ACCEPT } : {};
}

/** fellBack holds the image ids whose browser decode failed and the server decoded. */
const fellBack = new Set<string>();

/** renderedIds holds the image ids shown from the server's /rendered frame (display only). */
const renderedIds = new Set<string>();

/** serverDecoded reports whether the image id's frame was decoded by the server. */
export function serverDecoded(imageId: string): boolean {
  return isServerDecoded(imageId) || fellBack.has(imageId);
}

/** decodedWhere says how the image id's frame was obtained. */
export function decodedWhere(imageId: string): 'browser' | 'server' | 'rendered' {
  if (renderedIds.has(imageId)) return 'rendered';
  return serverDecoded(imageId) ? 'server' : 'browser';
}

/**
 * renderedImage is the last resort: the server's PS3.18 rendered frame
 * (PNG, 8-bit, the file's window applied), as a display-only RGB image.
 */
async function renderedImage(imageId: string): Promise<Types.IImage> {
  const url = imageId.slice(imageId.indexOf(':') + 1).replace(SERVER_DECODED, '') + '/rendered';
  const resp = await fetch(url, { headers: { Accept: 'image/png' } });
  if (!resp.ok) throw new Error(`${url}: ${resp.status} ${resp.statusText}`);
  const bitmap = await createImageBitmap(await resp.blob());
  const { width, height } = bitmap;
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i];
    rgb[j + 1] = rgba[i + 1];
    rgb[j + 2] = rgba[i + 2];
  }
  const meta = wadors.metaDataManager.get(imageId) as DicomJSON | undefined;
  const spacing = ((meta?.['00280030']?.Value as number[] | undefined) ?? []).map(Number);
  return {
    imageId,
    minPixelValue: 0,
    maxPixelValue: 255,
    slope: 1,
    intercept: 0,
    windowCenter: 128,
    windowWidth: 256,
    voiLUTFunction: 'LINEAR',
    getPixelData: () => rgb,
    getCanvas: () => canvas,
    rows: height,
    columns: width,
    height,
    width,
    color: true,
    rgba: false,
    numberOfComponents: 3,
    columnPixelSpacing: spacing[1] || 1,
    rowPixelSpacing: spacing[0] || 1,
    invert: false,
    sizeInBytes: rgb.byteLength,
    dataType: 'Uint8Array',
    photometricInterpretation: 'RGB',
  } as unknown as Types.IImage;
}

/**
 * fits checks a decoded frame against its header: the codec must have
 * produced Rows x Columns pixels (a garbage stream can "decode" to an empty
 * image rather than fail).
 */
function fits(image: Types.IImage, imageId: string): void {
  const meta = wadors.metaDataManager.get(imageId) as DicomJSON | undefined;
  const rows = num(meta, '00280010');
  const cols = num(meta, '00280011');
  const px = image.getPixelData?.();
  const spp = image.color ? (image.rgba ? 4 : 3) : 1;
  if (
    (rows !== undefined && image.rows !== rows) ||
    (cols !== undefined && image.columns !== cols) ||
    !px ||
    px.length < image.rows * image.columns * (spp === 4 ? 3 : spp) ||
    image.rows === 0
  ) {
    throw new Error(`decoded frame is ${image.columns}x${image.rows} with ${px?.length ?? 0} samples, the header says ${cols}x${rows}`);
  }
}

/**
 * registerFallbackLoader replaces the wadors: image loader (call it after
 * the loader's init) with one that retries a frame the browser could not
 * decode as a server-decoded one.
 */
export function registerFallbackLoader(): void {
  const inner = wadors.loadImage as (imageId: string, options?: Record<string, unknown>) => Types.IImageLoadObject;
  registerImageLoader('wadors', ((imageId: string, options?: Record<string, unknown>) => {
    // Frames decoded straight into a volume's buffer (MPR) may be resampled: not checked.
    const check = options?.targetBuffer === undefined;
    const first = inner(imageId, options);
    const promise = first.promise
      .then((image) => {
        if (check) fits(image, imageId);
        return image;
      })
      .catch(async (err: unknown) => {
        if (isServerDecoded(imageId)) {
          // A syntax the loader lacks that the server could not decode.
          if (!check) throw err;
          const image = await renderedImage(imageId);
          renderedIds.add(imageId);
          return image;
        }
        const why = err instanceof Error ? err.message : String(err);
        console.warn(`lightbox: ${imageId} not decoded in the browser (${why}); asking the server to decode it`);
        let image: Types.IImage;
        try {
          image = await inner(serverDecodedId(imageId), options).promise;
          if (check) fits(image, imageId);
        } catch (err2: unknown) {
          // Last resort: the server's rendered frame, display only.
          if (!check) throw err2;
          const why2 = err2 instanceof Error ? err2.message : String(err2);
          console.warn(`lightbox: ${imageId} not decoded by the server either (${why2}); showing its rendered frame`);
          image = await renderedImage(imageId);
          renderedIds.add(imageId);
          return image;
        }
        image.imageId = imageId;
        fellBack.add(imageId);
        return image;
      });
    return { promise, cancelFn: first.cancelFn };
  }) as never);
}
