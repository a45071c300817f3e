// The study browser (home page): a QIDO-RS study search with a sortable,
// paginated result table. The search form's state lives in the URL query,
// so a search is a shareable link and the back button restores it.
import { Tag, type DicomJSON, str, num, strs, formatDate, formatTime, toDA } from './dicom';
import { qido } from './dicomweb';
import { h, clear } from './dom';
import { viewerURL } from './router';
import { mountUploader } from './upload';

/** MAX_RESULTS caps one search; sorting and paging happen over these. */
export const MAX_RESULTS = 1000;
const PAGE_SIZES = [10, 25, 50, 100];
const MODALITIES = ['', 'CT', 'MR', 'CR', 'DX', 'US', 'MG', 'NM', 'PT', 'XA', 'RF', 'OT', 'SC', 'SR', 'SEG', 'RTSTRUCT'];

/** Fields of the search form, as URL query keys. */
const FIELDS = ['name', 'pid', 'acc', 'from', 'to', 'mod', 'desc'] as const;
type Field = (typeof FIELDS)[number];

/** The extra study attributes asked for with includefield. */
const INCLUDE = [
  Tag.StudyDescription,
  Tag.ModalitiesInStudy,
  Tag.NumberOfStudyRelatedSeries,
  Tag.NumberOfStudyRelatedInstances,
  Tag.PatientBirthDate,
  Tag.PatientSex,
  Tag.AccessionNumber,
  Tag.StudyTime,
];

interface Row {
  uid: string;
  patient: string;
  pid: string;
  birth: string;
  date: string; // YYYYMMDD
  time: string;
  modalities: string;
  description: string;
  accession: string;
  series: number | undefined;
  instances: number | undefined;
}

type SortKey = 'patient' | 'pid' | 'date' | 'modalities' | 'description' | 'accession' | 'series' | 'instances';

const COLUMNS: { key: SortKey; label: string; numeric?: boolean }[] = [
  { key: 'patient', label: 'Patient' },
  { key: 'pid', label: 'Patient ID' },
  { key: 'date', label: 'Study date' },
  { key: 'modalities', label: 'Modality' },
  { key: 'description', label: 'Description' },
  { key: 'accession', label: 'Accession' },
  { key: 'series', label: 'Series', numeric: true },
  { key: 'instances', label: 'Images', numeric: true },
];

/**
 * wildcard returns a QIDO matching value: the user's text as typed when it
 * has * or ?, else with affixes added for a prefix ("Doe" -> "Doe*") or
 * substring ("head" -> "*head*") match.
 */
export function wildcard(text: string, mode: 'prefix' | 'substring' | 'exact'): string {
  const t = text.trim();
  if (!t || mode === 'exact' || /[*?]/.test(t)) return t;
  return mode === 'prefix' ? `${t}*` : `*${t}*`;
}

/** qidoParams turns the form state into QIDO-RS query parameters. */
export function qidoParams(q: URLSearchParams): URLSearchParams {
  const p = new URLSearchParams();
  const get = (f: Field) => (q.get(f) ?? '').trim();
  if (get('name')) p.set('PatientName', wildcard(get('name'), 'prefix'));
  if (get('pid')) p.set('PatientID', wildcard(get('pid'), 'exact'));
  if (get('acc')) p.set('AccessionNumber', wildcard(get('acc'), 'exact'));
  if (get('desc')) p.set('StudyDescription', wildcard(get('desc'), 'substring'));
  if (get('mod')) p.set('ModalitiesInStudy', get('mod'));
  const from = toDA(get('from'));
  const to = toDA(get('to'));
  if (from || to) p.set('StudyDate', from === to ? from : `${from}-${to}`);
  for (const t of INCLUDE) p.append('includefield', t);
  p.set('limit', String(MAX_RESULTS));
  return p;
}

function toRow(ds: DicomJSON): Row {
  return {
    uid: str(ds, Tag.StudyInstanceUID),
    patient: str(ds, Tag.PatientName),
    pid: str(ds, Tag.PatientID),
    birth: str(ds, Tag.PatientBirthDate),
    date: str(ds, Tag.StudyDate),
    time: str(ds, Tag.StudyTime),
    modalities: strs(ds, Tag.ModalitiesInStudy).join(', '),
    description: str(ds, Tag.StudyDescription),
    accession: str(ds, Tag.AccessionNumber),
    series: num(ds, Tag.NumberOfStudyRelatedSeries),
    instances: num(ds, Tag.NumberOfStudyRelatedInstances),
  };
}

/** compareRows orders rows by key; empty values sort last either way. */
export function compareRows(a: Row, b: Row, key: SortKey, desc: boolean): number {
  const va = key === 'date' ? a.date + a.time : a[key];
  const vb = key === 'date' ? b.date + b.time : b[key];
  const ea = va === undefined || va === '';
  const eb = vb === undefined || vb === '';
  if (ea || eb) return ea === eb ? 0 : ea ? 1 : -1;
  let c: number;
  if (typeof va === 'number' && typeof vb === 'number') c = va - vb;
  else c = String(va).localeCompare(String(vb), undefined, { sensitivity: 'base', numeric: true });
  return desc ? -c : c;
}

/**
 * prefetchViewer loads the viewer's code (Cornerstone and its tools, the
 * larger part of the bundle) and initialises Cornerstone once the browser
 * is idle, so that opening a study does not wait for either.
 */
function prefetchViewer(): void {
  const load = () => void import('./viewer/index').then((m) => m.warmUp()).catch(() => {});
  if ('requestIdleCallback' in window) window.requestIdleCallback(load, { timeout: 2000 });
  else setTimeout(load, 500);
}

/** mountBrowser renders the study browser into root; returns its cleanup. */
export function mountBrowser(root: HTMLElement, query: URLSearchParams, navigate: (url: string) => void): () => void {
  const controller = new AbortController();
  let rows: Row[] = [];
  const sortKey = (query.get('sort') as SortKey) || 'date';
  const sortDesc = (query.get('dir') ?? (sortKey === 'date' ? 'desc' : 'asc')) === 'desc';
  const pageSize = PAGE_SIZES.includes(Number(query.get('size'))) ? Number(query.get('size')) : 25;
  let page = Math.max(1, Number(query.get('page')) || 1);

  const input = (f: Field, label: string, attrs: Record<string, string> = {}) =>
    h('label', { class: 'field' }, label, h('input', { name: f, value: query.get(f) ?? '', ...attrs }));

  const modSelect = h(
    'select',
    { name: 'mod' },
    ...MODALITIES.map((m) => h('option', { value: m, selected: (query.get('mod') ?? '') === m }, m || 'Any')),
  );

  const form = h(
    'form',
    { class: 'search', id: 'study-search', autocomplete: 'off' },
    input('name', 'Patient name', { placeholder: 'Doe^J* or *smith*', 'data-testid': 'search-name' }),
    input('pid', 'Patient ID', { 'data-testid': 'search-pid' }),
    input('acc', 'Accession', { 'data-testid': 'search-acc' }),
    input('from', 'From', { type: 'date', 'data-testid': 'search-from' }),
    input('to', 'To', { type: 'date', 'data-testid': 'search-to' }),
    h('label', { class: 'field' }, 'Modality', modSelect),
    input('desc', 'Description', { 'data-testid': 'search-desc' }),
    h(
      'div',
      { class: 'buttons' },
      h('button', { type: 'submit', class: 'primary', 'data-testid': 'search-submit' }, 'Search'),
      h('button', { type: 'button', onclick: () => navigate('/') }, 'Clear'),
    ),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    const data = new FormData(form);
    for (const f of FIELDS) {
      const v = String(data.get(f) ?? '').trim();
      if (v) q.set(f, v);
    }
    if (query.get('sort')) q.set('sort', query.get('sort')!);
    if (query.get('dir')) q.set('dir', query.get('dir')!);
    if (query.get('size')) q.set('size', query.get('size')!);
    navigate(`/?${q}`);
  });

  const status = h('div', { class: 'status', 'data-testid': 'search-status', role: 'status' }, 'Searching…');
  const table = h('table', { class: 'studies', 'data-testid': 'study-table' });
  const pager = h('div', { class: 'pager' });

  // Import by drag and drop: a batch that stored something searches again.
  const uploader = mountUploader(() => search());

  clear(root);
  root.append(
    h(
      'div',
      { class: 'browser' },
      h('header', { class: 'topbar' }, h('a', { href: '/', class: 'brand', 'data-link': true }, 'Lightbox'), h('span', {}, 'Studies')),
      form,
      uploader.el,
      status,
      h('div', { class: 'table-wrap' }, table),
      pager,
    ),
  );

  const linkWith = (changes: Record<string, string | undefined>) => {
    const q = new URLSearchParams(query);
    for (const [k, v] of Object.entries(changes)) {
      if (v === undefined) q.delete(k);
      else q.set(k, v);
    }
    return `/?${q}`;
  };

  const render = () => {
    const sorted = [...rows].sort((a, b) => compareRows(a, b, sortKey, sortDesc));
    const pages = Math.max(1, Math.ceil(sorted.length / pageSize));
    page = Math.min(page, pages);
    const start = (page - 1) * pageSize;
    const shown = sorted.slice(start, start + pageSize);

    clear(table);
    table.append(
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...COLUMNS.map((c) => {
            const active = c.key === sortKey;
            const nextDir = active ? (sortDesc ? 'asc' : 'desc') : c.key === 'date' ? 'desc' : 'asc';
            return h(
              'th',
              { class: c.numeric ? 'num' : undefined, 'aria-sort': active ? (sortDesc ? 'descending' : 'ascending') : undefined },
              h(
                'a',
                { href: linkWith({ sort: c.key, dir: nextDir, page: undefined }), 'data-link': true, 'data-sort': c.key },
                c.label,
                active ? (sortDesc ? ' ▼' : ' ▲') : '',
              ),
            );
          }),
        ),
      ),
    );
    const tbody = h('tbody', {});
    for (const r of shown) {
      const href = viewerURL(r.uid);
      const tr = h(
        'tr',
        { 'data-study': r.uid },
        h('td', {}, h('a', { href, 'data-link': true, class: 'open-study' }, r.patient || '(no name)')),
        h('td', {}, r.pid),
        h('td', {}, [formatDate(r.date), r.time ? formatTime(r.time) : ''].filter(Boolean).join(' ')),
        h('td', {}, r.modalities),
        h('td', {}, r.description),
        h('td', {}, r.accession),
        h('td', { class: 'num' }, r.series ?? ''),
        h('td', { class: 'num' }, r.instances ?? ''),
      );
      tr.addEventListener('click', (ev) => {
        if ((ev.target as HTMLElement).closest('a')) return; // the link handles itself
        navigate(href);
      });
      tbody.append(tr);
    }
    table.append(tbody);

    clear(pager);
    if (sorted.length > 0) {
      pager.append(
        h('span', { 'data-testid': 'page-info' }, `${start + 1}–${start + shown.length} of ${sorted.length}`),
        page > 1 ? h('a', { href: linkWith({ page: String(page - 1) }), 'data-link': true, class: 'button' }, '‹ Prev') : '',
        h('span', {}, `Page ${page} of ${pages}`),
        page < pages ? h('a', { href: linkWith({ page: String(page + 1) }), 'data-link': true, class: 'button', 'data-testid': 'next-page' }, 'Next ›') : '',
        h(
          'label',
          {},
          'Per page ',
          h(
            'select',
            { onchange: (ev: Event) => navigate(linkWith({ size: (ev.target as HTMLSelectElement).value, page: undefined })) },
            ...PAGE_SIZES.map((n) => h('option', { value: n, selected: n === pageSize }, n)),
          ),
        ),
      );
    }
  };

  const search = () =>
    qido('/studies', qidoParams(query), controller.signal)
    .then((res) => {
      rows = res.items.map(toRow);
      const capped = rows.length >= MAX_RESULTS || /exceeds|additional results/i.test(res.warning);
      status.textContent =
        rows.length === 0
          ? 'No studies match.'
          : `${rows.length} ${rows.length === 1 ? 'study' : 'studies'}` +
            (capped ? ` (only the first ${rows.length} are shown: narrow the search)` : '');
      if (res.warning) status.title = res.warning;
      status.dataset.count = String(rows.length);
      render();
      prefetchViewer();
    })
    .catch((err: unknown) => {
      if (controller.signal.aborted) return;
      status.textContent = `Search failed: ${err instanceof Error ? err.message : String(err)}`;
      status.classList.add('error');
    });
  void search();

  (form.querySelector('input[name=name]') as HTMLInputElement | null)?.focus();
  return () => {
    controller.abort();
    uploader.destroy();
  };
}
