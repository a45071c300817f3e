// Palette colour lookup tables for the WADO-RS loader. Cornerstone's WADO-RS
// metadata provider reads (0028,1201-1203) only as a numeric Value list, but
// a DICOMweb server sends these OW values as InlineBinary or, above its bulk
// threshold, as a BulkDataURI; without the tables the loader fails with
// "does not have a complete color palette". resolvePaletteData fetches and
// unpacks them into the metadata before the stack is built.
import { type DicomJSON, str, nums } from '../dicom';

const PHOTOMETRIC = '00280004';
/** Descriptor tag -> data tag, red, green, blue. */
const TABLES: [string, string][] = [
  ['00281101', '00281201'],
  ['00281102', '00281202'],
  ['00281103', '00281203'],
];

/** lutEntries unpacks LUT Data bytes (little endian words) into entries. */
export function lutEntries(bytes: Uint8Array, descriptor: number[]): number[] {
  const entries = descriptor[0] === 0 ? 65536 : (descriptor[0] ?? 0);
  const bits = descriptor[2] ?? 16;
  if (bits === 8 && bytes.length === entries) return Array.from(bytes); // one byte per 8-bit entry
  const n = Math.min(entries || bytes.length >> 1, bytes.length >> 1);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = dv.getUint16(2 * i, true);
  return out;
}

function fromBase64(s: string): Uint8Array {
  return Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
}

/** firstPart returns the body of a multipart/related answer's first part. */
function firstPart(body: Uint8Array, contentType: string): Uint8Array {
  const m = /boundary="?([^";]+)"?/i.exec(contentType);
  if (!m) return body;
  const text = new TextDecoder('latin1').decode(body);
  const delim = `--${m[1]}`;
  const start = text.indexOf(delim);
  const headersEnd = start < 0 ? -1 : text.indexOf('\r\n\r\n', start);
  if (headersEnd < 0) throw new Error('bulk data: malformed multipart answer');
  const end = text.indexOf(`\r\n${delim}`, headersEnd + 4);
  return body.subarray(headersEnd + 4, end < 0 ? body.length : end);
}

async function fetchBulk(uri: string, signal?: AbortSignal): Promise<Uint8Array> {
  const res = await fetch(uri, {
    headers: { Accept: 'application/octet-stream, multipart/related; type="application/octet-stream"' },
    signal,
  });
  if (!res.ok) throw new Error(`bulk data ${uri}: ${res.status} ${res.statusText}`);
  const body = new Uint8Array(await res.arrayBuffer());
  const ct = res.headers.get('Content-Type') ?? '';
  return ct.toLowerCase().startsWith('multipart/') ? firstPart(body, ct) : body;
}

/**
 * resolvePaletteData replaces the InlineBinary or BulkDataURI of the palette
 * tables of every PALETTE COLOR instance in metadata by their entries
 * (Value), fetching each bulk URI once.
 */
export async function resolvePaletteData(metadata: DicomJSON[], signal?: AbortSignal): Promise<void> {
  const fetched = new Map<string, Promise<Uint8Array>>();
  const jobs: Promise<void>[] = [];
  for (const ds of metadata) {
    if (str(ds, PHOTOMETRIC) !== 'PALETTE COLOR') continue;
    for (const [descTag, dataTag] of TABLES) {
      const a = ds[dataTag];
      if (!a || Array.isArray(a.Value)) continue;
      const descriptor = nums(ds, descTag);
      let bytes: Promise<Uint8Array>;
      if (a.InlineBinary) {
        bytes = Promise.resolve(fromBase64(a.InlineBinary));
      } else if (a.BulkDataURI) {
        const uri = a.BulkDataURI;
        if (!fetched.has(uri)) fetched.set(uri, fetchBulk(uri, signal));
        bytes = fetched.get(uri)!;
      } else {
        continue;
      }
      jobs.push(
        bytes.then((b) => {
          ds[dataTag] = { vr: a.vr, Value: lutEntries(b, descriptor) };
        }),
      );
    }
  }
  await Promise.all(jobs);
}
