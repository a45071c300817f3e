// Import from the browser: DICOM files or whole folders dropped on the
// study browser (or picked) are sent with STOW-RS, one instance per
// request, a few at a time, with an XHR upload progress bar over all the
// bytes and a result per file: stored, duplicate (the SOP Instance UID was
// already in the archive, found with QIDO-RS before sending) or failed with
// the reason from the STOW-RS response. A scan or PDF for a patient without
// a study opens a new study through the capture API (objects/attach.ts).
import { dicomwebRoot, qido } from './dicomweb';
import { h, clear } from './dom';
import { newStudyForm } from './objects/attach';
import { viewerURL } from './router';

/** Outcome of one file. */
export type Outcome = 'stored' | 'duplicate' | 'failed';

export interface FileResult {
  name: string;
  outcome: Outcome;
  detail: string;
  study?: string;
}

const CONCURRENCY = 3;

/** Failure reasons of PS3.4 B.2.3 / PS3.18 that STOW-RS answers with. */
const REASONS: Record<number, string> = {
  0x0110: 'processing failure',
  0x0111: 'duplicate SOP instance (rejected)',
  0x0122: 'SOP class not supported',
  0x0124: 'not authorized',
  0xa700: 'out of resources',
  0xa900: 'data set does not match SOP class',
  0xc000: 'cannot understand (not a valid DICOM file)',
  0xb000: 'stored with coercion of data elements',
};

/**
 * metaUID reads (0002,0003) Media Storage SOP Instance UID from a Part 10
 * file's File Meta group (explicit VR little endian after the 128-byte
 * preamble and "DICM"); "" when the bytes are not such a file.
 */
export function metaUID(buf: ArrayBuffer): string {
  const b = new Uint8Array(buf);
  if (b.length < 132 || String.fromCharCode(b[128], b[129], b[130], b[131]) !== 'DICM') return '';
  const dv = new DataView(buf);
  let off = 132;
  while (off + 8 <= b.length) {
    const group = dv.getUint16(off, true);
    const elem = dv.getUint16(off + 2, true);
    if (group !== 2) return '';
    const vr = String.fromCharCode(b[off + 4], b[off + 5]);
    let len: number;
    let start: number;
    if (['OB', 'OW', 'OF', 'SQ', 'UT', 'UN', 'UC', 'UR', 'OD', 'OL', 'OV'].includes(vr)) {
      if (off + 12 > b.length) return '';
      len = dv.getUint32(off + 8, true);
      start = off + 12;
    } else {
      len = dv.getUint16(off + 6, true);
      start = off + 8;
    }
    if (len === 0xffffffff || start + len > b.length) return '';
    if (elem === 3) {
      return String.fromCharCode(...b.subarray(start, start + len)).replace(/[\0 ]+$/, '');
    }
    off = start + len;
  }
  return '';
}

/** filesFromDrop collects the files of a drop, walking dropped folders. */
export async function filesFromDrop(dt: DataTransfer): Promise<File[]> {
  const out: File[] = [];
  const entries: FileSystemEntry[] = [];
  const loose: File[] = [];
  for (const item of Array.from(dt.items ?? [])) {
    if (item.kind !== 'file') continue;
    const entry = item.webkitGetAsEntry?.();
    if (entry) entries.push(entry);
    else {
      const f = item.getAsFile();
      if (f) loose.push(f);
    }
  }
  if (!entries.length && !loose.length) loose.push(...Array.from(dt.files ?? []));
  const walk = async (e: FileSystemEntry): Promise<void> => {
    if (e.isFile) {
      out.push(await new Promise<File>((res, rej) => (e as FileSystemFileEntry).file(res, rej)));
    } else if (e.isDirectory) {
      const reader = (e as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const c of batch) await walk(c);
      }
    }
  };
  for (const e of entries) await walk(e);
  return [...out, ...loose];
}

/** multipart builds a one-part multipart/related STOW-RS body. */
function multipart(file: Blob): { body: Blob; type: string } {
  const boundary = `lightbox-${crypto.getRandomValues(new Uint32Array(2)).join('-')}`;
  const body = new Blob([`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`, file, `\r\n--${boundary}--\r\n`]);
  return { body, type: `multipart/related; type="application/dicom"; boundary=${boundary}` };
}

interface StowJSON {
  [tag: string]: { Value?: Record<string, { Value?: unknown[] }>[] } | undefined;
}

/** stowOne sends one file, reporting uploaded bytes; resolves with the parsed response. */
function stowOne(data: Blob, onBytes: (sent: number) => void): Promise<{ status: number; json: StowJSON | undefined; text: string; warning: string }> {
  return new Promise((resolve, reject) => {
    const { body, type } = multipart(data);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `${dicomwebRoot()}/studies`);
    xhr.setRequestHeader('Content-Type', type);
    xhr.setRequestHeader('Accept', 'application/dicom+json');
    xhr.upload.onprogress = (ev) => onBytes(Math.min(ev.loaded, data.size));
    xhr.onload = () => {
      onBytes(data.size);
      let json: StowJSON | undefined;
      try {
        json = xhr.responseText ? (JSON.parse(xhr.responseText) as StowJSON) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ status: xhr.status, json, text: xhr.responseText, warning: xhr.getResponseHeader('Warning') ?? '' });
    };
    xhr.onerror = () => reject(new Error('network error'));
    xhr.onabort = () => reject(new Error('aborted'));
    xhr.send(body);
  });
}

/** exists asks QIDO-RS whether an instance is stored. */
async function exists(sop: string): Promise<boolean> {
  if (!sop) return false;
  const r = await qido('/instances', new URLSearchParams({ SOPInstanceUID: sop }));
  return r.items.length > 0;
}

const studyOf = (ref: Record<string, { Value?: unknown[] }>) => {
  const url = String(ref['00081190']?.Value?.[0] ?? '');
  return /\/studies\/([^/]+)/.exec(url)?.[1];
};

/** uploadFile stores one file and classifies the answer. */
async function uploadFile(file: File, onBytes: (sent: number) => void): Promise<FileResult> {
  // The File Meta group is at the start; the file itself is streamed from
  // disk by the browser, never read whole into memory here.
  const sop = metaUID(await file.slice(0, 1 << 16).arrayBuffer());
  const known = await exists(sop).catch(() => false);
  const res = await stowOne(file, onBytes);
  const ok = res.json?.['00081199']?.Value ?? [];
  const failed = res.json?.['00081198']?.Value ?? [];
  if (ok.length) {
    const warn = Number(ok[0]['00081196']?.Value?.[0] ?? 0);
    const kept = /kept and this one discarded/.test(res.warning);
    if (known || kept) {
      return { name: file.name, outcome: 'duplicate', detail: kept ? 'another version is stored; kept it' : 'already stored', study: studyOf(ok[0]) };
    }
    return { name: file.name, outcome: 'stored', detail: warn ? REASONS[warn] ?? `warning 0x${warn.toString(16)}` : 'stored', study: studyOf(ok[0]) };
  }
  if (failed.length) {
    const code = Number(failed[0]['00081197']?.Value?.[0] ?? 0);
    const why = REASONS[code] ?? `failure 0x${code.toString(16)}`;
    if (code === 0x0111) return { name: file.name, outcome: 'duplicate', detail: why };
    // Warning: 299 lightbox "<SOP Instance UID>: <message>" (no UID when unreadable).
    const msg = res.warning.replace(/^299 \S+ "|"$/g, '').replace(/^[\d.]*:\s*/, '');
    return { name: file.name, outcome: 'failed', detail: msg ? `${why}: ${msg}` : why };
  }
  let msg = `${res.status}`;
  try {
    const j = JSON.parse(res.text) as { errorMessage?: string; error?: string };
    msg += `: ${j.errorMessage ?? j.error ?? ''}`;
  } catch {
    if (res.text) msg += `: ${res.text.slice(0, 200)}`;
  }
  return { name: file.name, outcome: 'failed', detail: msg };
}

/**
 * mountUploader renders the import panel (drop zone, file and folder
 * pickers, progress, results); onDone runs after each batch that stored
 * something (the study browser searches again).
 */
export function mountUploader(onDone: () => void): { el: HTMLElement; destroy(): void } {
  const progress = h('progress', { max: 100, value: 0, 'data-testid': 'upload-progress' });
  const summary = h('span', { class: 'upload-summary', 'data-testid': 'upload-summary', role: 'status' });
  const results = h('ul', { class: 'upload-results', 'data-testid': 'upload-results' });
  const files = h('input', { type: 'file', multiple: true, 'data-testid': 'upload-files', hidden: true });
  const folder = h('input', { type: 'file', multiple: true, webkitdirectory: true, 'data-testid': 'upload-folder', hidden: true });
  const zone = h(
    'div',
    { class: 'drop-zone', 'data-testid': 'drop-zone', tabindex: 0 },
    h('strong', {}, 'Import: '),
    'drop DICOM files or folders here, or ',
    h('button', { type: 'button', class: 'link', onclick: () => files.click() }, 'choose files'),
    ' / ',
    h('button', { type: 'button', class: 'link', onclick: () => folder.click() }, 'a folder'),
    ' · ',
    h('button', { type: 'button', class: 'link', 'data-action': 'new-study', onclick: () => openNewStudy() }, 'new study from a scan or PDF…'),
    files,
    folder,
    h('div', { class: 'upload-status' }, progress, summary),
    results,
  );
  let dialog: HTMLElement | undefined;
  const closeNewStudy = () => {
    dialog?.remove();
    dialog = undefined;
  };
  const openNewStudy = () => {
    closeNewStudy();
    dialog = h(
      'div',
      { class: 'modal', 'data-testid': 'new-study-dialog' },
      newStudyForm((r) => window.setTimeout(() => window.location.assign(viewerURL(r.studyInstanceUID, r.seriesInstanceUID)), 300), closeNewStudy),
    );
    document.body.append(dialog);
  };
  let busy = Promise.resolve();
  let destroyed = false;

  const run = async (list: File[]) => {
    if (!list.length) return;
    zone.dataset.state = 'uploading';
    clear(results);
    const total = list.reduce((n, f) => n + f.size, 0) || 1;
    const sent = new Array<number>(list.length).fill(0);
    const counts: Record<Outcome, number> = { stored: 0, duplicate: 0, failed: 0 };
    const update = () => {
      const pct = Math.round((100 * sent.reduce((a, b) => a + b, 0)) / total);
      progress.value = pct;
      progress.dataset.percent = String(pct);
      summary.textContent = `${pct}% · ${counts.stored} stored, ${counts.duplicate} duplicate, ${counts.failed} failed of ${list.length}`;
    };
    update();
    let next = 0;
    const worker = async () => {
      while (next < list.length && !destroyed) {
        const i = next++;
        const f = list[i];
        let r: FileResult;
        try {
          r = await uploadFile(f, (n) => {
            sent[i] = n;
            update();
          });
        } catch (err) {
          r = { name: f.name, outcome: 'failed', detail: err instanceof Error ? err.message : String(err) };
        }
        sent[i] = f.size;
        counts[r.outcome]++;
        results.append(
          h('li', { class: `upload-${r.outcome}`, 'data-outcome': r.outcome, 'data-file': r.name, 'data-study': r.study }, h('span', { class: 'file' }, r.name), ` — ${r.outcome}`, r.detail && r.detail !== r.outcome ? `: ${r.detail}` : ''),
        );
        update();
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, list.length) }, worker));
    zone.dataset.state = 'done';
    if (counts.stored > 0 && !destroyed) onDone();
  };
  const enqueue = (list: File[]) => {
    busy = busy.then(() => run(list)).catch(() => {});
  };

  zone.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (ev) => {
    ev.preventDefault();
    zone.classList.remove('over');
    if (ev.dataTransfer) void filesFromDrop(ev.dataTransfer).then(enqueue);
  });
  for (const input of [files, folder]) {
    input.addEventListener('change', () => {
      enqueue(Array.from(input.files ?? []));
      input.value = '';
    });
  }
  return {
    el: zone,
    destroy: () => {
      destroyed = true;
      closeNewStudy();
    },
  };
}
