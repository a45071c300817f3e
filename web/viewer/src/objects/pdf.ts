// Encapsulated documents (PDF, and other MIME types as a download): the
// bytes of Encapsulated Document (0042,0011) fetched as WADO-RS bulk data
// and shown by the browser's own PDF viewer from a blob: URL in a frame.
import { type DicomJSON, str, num } from '../dicom';
import { dicomwebRoot, enc } from '../dicomweb';
import { h } from '../dom';

const EncapsulatedDocument = '00420011';
const MIMEType = '00420012';
const DocumentTitle = '00420010';
const EncapsulatedDocumentLength = '00420015';

/** documentBytes fetches the encapsulated document of an instance. */
export async function documentBytes(ds: DicomJSON, study: string, series: string, sop: string, signal?: AbortSignal): Promise<{ bytes: Uint8Array; source: 'inline' | 'bulk' }> {
  const attr = ds[EncapsulatedDocument];
  let bytes: Uint8Array;
  const source = attr?.InlineBinary ? 'inline' : 'bulk';
  if (attr?.InlineBinary) {
    bytes = Uint8Array.from(atob(attr.InlineBinary), (c) => c.charCodeAt(0));
  } else {
    const url =
      attr?.BulkDataURI ?? `${dicomwebRoot()}/studies/${enc(study)}/series/${enc(series)}/instances/${enc(sop)}/bulkdata/${EncapsulatedDocument}`;
    const res = await fetch(url, { headers: { Accept: 'application/octet-stream' }, signal });
    if (!res.ok) throw new Error(`${res.status} ${res.statusText} fetching the document`);
    bytes = new Uint8Array(await res.arrayBuffer());
  }
  // The value is padded to an even length; the length attribute (when
  // present) gives the document's own.
  const n = num(ds, EncapsulatedDocumentLength);
  if (n !== undefined && n <= bytes.length) bytes = bytes.subarray(0, n);
  return { bytes, source };
}

/** renderDocument shows an encapsulated document; the returned cleanup revokes its URL. */
export function renderDocument(ds: DicomJSON, study: string, series: string, sop: string, signal?: AbortSignal): { el: HTMLElement; destroy(): void } {
  const mime = str(ds, MIMEType) || 'application/pdf';
  const title = str(ds, DocumentTitle) || 'Document';
  const status = h('p', { class: 'doc-status' }, 'Loading the document…');
  const el = h('section', { class: 'doc-view', 'data-testid': 'doc-view', 'data-mime': mime }, h('h2', {}, title), status);
  let url = '';
  documentBytes(ds, study, series, sop, signal)
    .then(({ bytes, source }) => {
      if (signal?.aborted) return;
      el.dataset.source = source;
      const blob = new Blob([bytes as BlobPart], { type: mime });
      url = URL.createObjectURL(blob);
      el.dataset.bytes = String(bytes.length);
      const name = `${title.replace(/[^\w.-]+/g, '_')}.${mime === 'application/pdf' ? 'pdf' : 'bin'}`;
      status.replaceChildren(
        `${mime}, ${bytes.length.toLocaleString()} bytes · `,
        h('a', { href: url, download: name, 'data-testid': 'doc-download' }, 'Download'),
      );
      if (mime === 'application/pdf') {
        el.append(h('iframe', { class: 'doc-frame', src: url, title, 'data-testid': 'doc-frame' }));
      }
    })
    .catch((err) => {
      if (!signal?.aborted) {
        status.textContent = `Could not load the document: ${err instanceof Error ? err.message : String(err)}`;
        status.classList.add('error');
      }
    });
  return { el, destroy: () => url && URL.revokeObjectURL(url) };
}
