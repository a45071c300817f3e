// "Attach scan or PDF": the form that sends a scanned film, photo (JPEG,
// PNG, TIFF) or PDF to POST /api/studies/{study}/captures, where the server
// wraps it as a Secondary Capture image or an Encapsulated PDF in a new
// series of the study.
import { h } from '../dom';

/** CaptureResult is the server's answer (see internal/api/capture.go). */
export interface CaptureResult {
  studyInstanceUID: string;
  seriesInstanceUID: string;
  sopInstanceUID: string;
  sopClassUID: string;
}

export const CAPTURE_TYPES = ['image/jpeg', 'image/png', 'image/tiff', 'application/pdf'];

/** typeOf is the upload's media type, from the file type or its name. */
export function typeOf(f: File): string {
  if (CAPTURE_TYPES.includes(f.type)) return f.type;
  const ext = f.name.toLowerCase().split('.').pop() ?? '';
  return ({ jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', tif: 'image/tiff', tiff: 'image/tiff', pdf: 'application/pdf' } as Record<string, string>)[ext] ?? f.type;
}

/** sendCapture uploads one file to the capture endpoint of a study. */
export async function sendCapture(study: string, file: File, description: string, conversionType: string): Promise<CaptureResult> {
  const q = new URLSearchParams();
  if (description) q.set('description', description);
  if (conversionType) q.set('conversionType', conversionType);
  const res = await fetch(`/api/studies/${encodeURIComponent(study)}/captures?${q}`, {
    method: 'POST',
    headers: { 'Content-Type': typeOf(file) || 'application/octet-stream' },
    body: file,
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const msg = (body as { error?: string } | undefined)?.error ?? text.slice(0, 200);
    throw new Error(`${res.status}: ${msg}`);
  }
  return body as CaptureResult;
}

/** attachForm renders the dialog; onStored gets each stored result. */
export function attachForm(study: string, onStored: (r: CaptureResult) => void, onClose: () => void): HTMLElement {
  const file = h('input', { type: 'file', name: 'file', required: true, accept: '.jpg,.jpeg,.png,.tif,.tiff,.pdf,image/jpeg,image/png,image/tiff,application/pdf', 'data-testid': 'attach-file' });
  const desc = h('input', { type: 'text', name: 'description', maxlength: 64, placeholder: 'e.g. Outside film, referral letter', 'data-testid': 'attach-description' });
  const conv = h(
    'select',
    { name: 'conversionType', 'data-testid': 'attach-conversion' },
    h('option', { value: '' }, 'Automatic (scanned image / document)'),
    h('option', { value: 'DF' }, 'Digitized film'),
    h('option', { value: 'SD' }, 'Scanned document'),
    h('option', { value: 'SI' }, 'Scanned image'),
    h('option', { value: 'WSD' }, 'Workstation'),
  );
  const status = h('p', { class: 'attach-status', role: 'status', 'data-testid': 'attach-status' });
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'attach-submit' }, 'Attach');
  const form = h(
    'form',
    { class: 'attach-form', 'data-testid': 'attach-form' },
    h('h2', {}, 'Attach a scan or PDF to this study'),
    h('label', { class: 'field' }, 'File (JPEG, PNG, TIFF or PDF)', file),
    h('label', { class: 'field' }, 'Series description', desc),
    h('label', { class: 'field' }, 'Kind', conv),
    h('div', { class: 'buttons' }, submit, h('button', { type: 'button', onclick: onClose }, 'Close')),
    status,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = file.files?.[0];
    if (!f) return;
    submit.disabled = true;
    status.className = 'attach-status';
    status.textContent = `Sending ${f.name}…`;
    form.dataset.state = 'sending';
    try {
      const r = await sendCapture(study, f, desc.value.trim(), conv.value);
      status.textContent = `Stored ${f.name} as a new series.`;
      form.dataset.state = 'stored';
      form.dataset.series = r.seriesInstanceUID;
      onStored(r);
    } catch (err) {
      status.textContent = `Not stored: ${err instanceof Error ? err.message : String(err)}`;
      status.classList.add('error');
      form.dataset.state = 'failed';
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/** sendNewStudy uploads one file as the first instance of a new study for a patient. */
export async function sendNewStudy(file: File, patient: Record<string, string>): Promise<CaptureResult> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(patient)) if (v.trim()) q.set(k, v.trim());
  const res = await fetch(`/api/captures?${q}`, { method: 'POST', headers: { 'Content-Type': typeOf(file) || 'application/octet-stream' }, body: file });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!res.ok) throw new Error(`${res.status}: ${(body as { error?: string } | undefined)?.error ?? text.slice(0, 200)}`);
  return body as CaptureResult;
}

/**
 * newStudyForm renders the "new study from a scan or PDF" dialog of the
 * study browser: patient attributes and the file; onStored gets the result.
 */
export function newStudyForm(onStored: (r: CaptureResult) => void, onClose: () => void): HTMLElement {
  const field = (label: string, name: string, attrs: Record<string, string | number | boolean> = {}) =>
    h('label', { class: 'field' }, label, h('input', { name, 'data-testid': `new-${name}`, ...attrs }));
  const file = h('input', { type: 'file', name: 'file', required: true, accept: '.jpg,.jpeg,.png,.tif,.tiff,.pdf', 'data-testid': 'new-file' });
  const sex = h('select', { name: 'sex', 'data-testid': 'new-sex' }, h('option', { value: '' }, '—'), h('option', { value: 'F' }, 'F'), h('option', { value: 'M' }, 'M'), h('option', { value: 'O' }, 'O'));
  const status = h('p', { class: 'attach-status', role: 'status', 'data-testid': 'new-status' });
  const form = h(
    'form',
    { class: 'attach-form', 'data-testid': 'new-study-form' },
    h('h2', {}, 'New study from a scan or PDF'),
    field('Patient ID (required)', 'patientID', { required: true, maxlength: 64 }),
    field('Patient name (Family^Given)', 'patientName', { maxlength: 200 }),
    field('Birth date', 'birthDate', { type: 'date' }),
    h('label', { class: 'field' }, 'Sex', sex),
    field('Accession number', 'accessionNumber', { maxlength: 16 }),
    field('Study description', 'studyDescription', { maxlength: 64 }),
    field('Series description', 'description', { maxlength: 64 }),
    h('label', { class: 'field' }, 'File (JPEG, PNG, TIFF or PDF)', file),
    h('div', { class: 'buttons' }, h('button', { type: 'submit', class: 'primary', 'data-testid': 'new-submit' }, 'Create study'), h('button', { type: 'button', onclick: onClose }, 'Close')),
    status,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = file.files?.[0];
    if (!f) return;
    const data = new FormData(form);
    const patient: Record<string, string> = {};
    for (const k of ['patientID', 'patientName', 'birthDate', 'sex', 'accessionNumber', 'studyDescription', 'description']) {
      patient[k] = String(data.get(k) ?? '');
    }
    patient.birthDate = patient.birthDate.replaceAll('-', '');
    form.dataset.state = 'sending';
    status.className = 'attach-status';
    status.textContent = `Sending ${f.name}…`;
    try {
      const r = await sendNewStudy(f, patient);
      form.dataset.state = 'stored';
      form.dataset.study = r.studyInstanceUID;
      status.textContent = 'Stored: a new study.';
      onStored(r);
    } catch (err) {
      form.dataset.state = 'failed';
      status.textContent = `Not stored: ${err instanceof Error ? err.message : String(err)}`;
      status.classList.add('error');
    }
  });
  return form;
}
