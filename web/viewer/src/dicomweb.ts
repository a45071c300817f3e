// A small DICOMweb client over fetch: QIDO-RS searches and WADO-RS
// metadata, against the server the page came from.
import { type DicomJSON } from './dicom';

/**
 * dicomwebRoot is the DICOMweb base path, from
 * <meta name="lightbox-dicomweb-root"> (default /dicom-web), as an absolute
 * URL on the page's origin.
 */
export function dicomwebRoot(): string {
  const meta = document.querySelector<HTMLMetaElement>('meta[name="lightbox-dicomweb-root"]');
  const root = (meta?.content || '/dicom-web').replace(/\/+$/, '');
  return new URL(root, window.location.origin).href.replace(/\/+$/, '');
}

/** DicomwebError is a failed request, with the status and server message. */
export class DicomwebError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** SearchResult is a QIDO-RS answer and whether the server capped it. */
export interface SearchResult {
  items: DicomJSON[];
  /** warning is the server's Warning header (e.g. results capped). */
  warning: string;
}

async function getJSON(url: string, signal?: AbortSignal): Promise<{ body: unknown; res: Response }> {
  const res = await fetch(url, { headers: { Accept: 'application/dicom+json' }, signal });
  if (res.status === 204) return { body: [], res };
  if (!res.ok) {
    let msg = `${res.status} ${res.statusText}`;
    try {
      const j = await res.json();
      if (j && typeof j.errorMessage === 'string') msg += `: ${j.errorMessage}`;
    } catch {
      /* not JSON */
    }
    throw new DicomwebError(res.status, `${url}: ${msg}`);
  }
  const text = await res.text();
  return { body: text.trim() === '' ? [] : JSON.parse(text), res };
}

/** qido runs a QIDO-RS search at path (e.g. "/studies") with params. */
export async function qido(
  path: string,
  params: URLSearchParams,
  signal?: AbortSignal,
): Promise<SearchResult> {
  const qs = params.toString();
  const url = `${dicomwebRoot()}${path}${qs ? `?${qs}` : ''}`;
  const { body, res } = await getJSON(url, signal);
  return { items: Array.isArray(body) ? (body as DicomJSON[]) : [], warning: res.headers.get('Warning') ?? '' };
}

/** seriesMetadata fetches the WADO-RS metadata of every instance of a series. */
export async function seriesMetadata(study: string, series: string, signal?: AbortSignal): Promise<DicomJSON[]> {
  const url = `${dicomwebRoot()}/studies/${enc(study)}/series/${enc(series)}/metadata`;
  const { body } = await getJSON(url, signal);
  return Array.isArray(body) ? (body as DicomJSON[]) : [];
}

/** instanceMetadata fetches the WADO-RS metadata of one instance. */
export async function instanceMetadata(
  study: string,
  series: string,
  instance: string,
  signal?: AbortSignal,
): Promise<DicomJSON | undefined> {
  const url = `${dicomwebRoot()}/studies/${enc(study)}/series/${enc(series)}/instances/${enc(instance)}/metadata`;
  const { body } = await getJSON(url, signal);
  return Array.isArray(body) ? (body[0] as DicomJSON | undefined) : undefined;
}

/** enc escapes a UID (or any path element) for a URL path. */
export function enc(s: string): string {
  return encodeURIComponent(s);
}
