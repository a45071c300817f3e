// The DICOM tag browser: every attribute of an instance's WADO-RS
// /metadata as a table (tag, name, VR, value), sequences as expandable
// rows with their items nested, and a search box that keeps the rows whose
// tag, name or value contains the text (and the sequences leading to
// them, expanded).
import { type DicomJSON, type DicomAttr, type PNValue } from '../dicom';
import { h, clear } from '../dom';

let names: Map<string, string> | undefined;

/** tagNames loads the attribute names (a chunk of its own, on first use). */
export async function tagNames(): Promise<Map<string, string>> {
  if (names) return names;
  const { TAG_NAMES } = await import('./tagdict');
  const m = new Map<string, string>();
  for (const line of TAG_NAMES.split('\n')) {
    const i = line.indexOf('\t');
    if (i === 8) m.set(line.slice(0, 8), line.slice(9));
  }
  names = m;
  return m;
}

/** formatTag writes 8 hex digits as (gggg,eeee). */
export function formatTag(t: string): string {
  return `(${t.slice(0, 4)},${t.slice(4, 8)})`;
}

/** nameOf names a tag: the dictionary's name, private or group-length tags by kind. */
export function nameOf(dict: Map<string, string>, tag: string): string {
  const known = dict.get(tag.toUpperCase());
  if (known) return known;
  const group = parseInt(tag.slice(0, 4), 16);
  const elem = parseInt(tag.slice(4, 8), 16);
  if (elem === 0) return 'Group Length';
  if (group % 2 === 1) return elem >= 0x10 && elem <= 0xff ? 'Private Creator' : 'Private tag';
  return '';
}

const MAX_VALUE_CHARS = 256;

/** valueText renders an attribute's value for the table. */
export function valueText(a: DicomAttr): string {
  if (a.BulkDataURI) return `(bulk data: ${a.BulkDataURI.replace(/^.*\/bulkdata\//, 'bulkdata/')})`;
  if (a.InlineBinary) return `(binary, ${Math.floor((a.InlineBinary.length * 3) / 4)} bytes)`;
  if (a.vr === 'SQ') {
    const n = a.Value?.length ?? 0;
    return `${n} item${n === 1 ? '' : 's'}`;
  }
  const s = (a.Value ?? [])
    .map((v) => {
      if (typeof v !== 'object' || v === null) return String(v);
      if (a.vr === 'PN') {
        // As stored: component groups joined by "=", trailing empty ones dropped.
        const pn = v as PNValue;
        return [pn.Alphabetic ?? '', pn.Ideographic ?? '', pn.Phonetic ?? ''].join('=').replace(/=+$/, '');
      }
      return JSON.stringify(v);
    })
    .join('\\');
  return s.length > MAX_VALUE_CHARS ? `${s.slice(0, MAX_VALUE_CHARS)}…` : s;
}

/** Row is one line of the flattened table. */
interface Row {
  tag: string;
  path: string; // tags and item numbers from the top
  depth: number;
  name: string;
  vr: string;
  value: string;
  kind: 'attr' | 'item';
  parent?: Row;
}

function flatten(ds: DicomJSON, dict: Map<string, string>, depth = 0, prefix = '', parent?: Row, out: Row[] = []): Row[] {
  for (const tag of Object.keys(ds).sort()) {
    const a = ds[tag];
    if (!a) continue;
    const row: Row = { tag, path: prefix + tag, depth, name: nameOf(dict, tag), vr: a.vr, value: valueText(a), kind: 'attr', parent };
    out.push(row);
    if (a.vr === 'SQ') {
      (a.Value ?? []).forEach((item, i) => {
        const ir: Row = { tag: '', path: `${row.path}/${i + 1}`, depth: depth + 1, name: `Item ${i + 1}`, vr: '', value: '', kind: 'item', parent: row };
        out.push(ir);
        flatten(item as DicomJSON, dict, depth + 2, `${ir.path}/`, ir, out);
      });
    }
  }
  return out;
}

/** TagBrowser renders the attributes of one instance. */
export class TagBrowser {
  readonly el: HTMLElement;
  private readonly search: HTMLInputElement;
  private readonly body: HTMLTableSectionElement;
  private readonly caption: HTMLElement;
  private rows: Row[] = [];
  private trs = new Map<Row, HTMLTableRowElement>();
  private open = new Set<string>(); // expanded sequence/item paths

  constructor(onClose: () => void) {
    this.search = h('input', { type: 'search', placeholder: 'Search tag, name or value…', 'data-testid': 'tag-search', 'aria-label': 'Search attributes' });
    this.search.addEventListener('input', () => this.filter());
    this.body = h('tbody');
    this.caption = h('div', { class: 'tag-caption', 'data-testid': 'tag-caption' });
    this.el = h(
      'aside',
      { class: 'tag-browser', 'data-testid': 'tag-browser', role: 'dialog', 'aria-label': 'DICOM attributes' },
      h(
        'header',
        {},
        h('h2', {}, 'DICOM attributes'),
        h('button', { type: 'button', class: 'close', title: 'Close (Esc)', 'data-action': 'close-tags', onclick: onClose }, '×'),
      ),
      this.caption,
      this.search,
      h(
        'div',
        { class: 'tag-scroll' },
        h('table', { class: 'tag-table' }, h('thead', {}, h('tr', {}, h('th', {}, 'Tag'), h('th', {}, 'Name'), h('th', {}, 'VR'), h('th', {}, 'Value'))), this.body),
      ),
    );
  }

  /** show renders an instance's metadata. */
  async show(ds: DicomJSON, caption: string): Promise<void> {
    const dict = await tagNames();
    this.caption.textContent = caption;
    this.rows = flatten(ds, dict);
    this.trs.clear();
    clear(this.body);
    for (const r of this.rows) {
      const toggle =
        r.vr === 'SQ' || r.kind === 'item'
          ? h('button', { type: 'button', class: 'toggle', 'aria-expanded': 'false', title: 'Expand / collapse' }, '▸')
          : null;
      toggle?.addEventListener('click', () => {
        if (this.open.has(r.path)) this.open.delete(r.path);
        else this.open.add(r.path);
        this.filter();
      });
      const tr = h(
        'tr',
        { class: `tag-row ${r.kind}`, 'data-tag': r.tag, 'data-path': r.path, 'data-depth': r.depth },
        h('td', { class: 'tag', style: `padding-left:${0.3 + r.depth * 0.8}em` }, toggle, r.kind === 'attr' ? formatTag(r.tag) : ''),
        h('td', { class: 'name' }, r.name),
        h('td', { class: 'vr' }, r.vr),
        h('td', { class: 'value' }, r.value),
      );
      this.trs.set(r, tr);
      this.body.append(tr);
    }
    this.filter();
  }

  /** filter shows the rows matching the search, within expanded sequences. */
  private filter(): void {
    const q = this.search.value.trim().toLowerCase().replace(/[(),\s]/g, '');
    // Names match with or without spaces and punctuation, so that a
    // keyword ("PatientName") finds "Patient's Name" too.
    const qk = q.replace(/[^a-z0-9]/g, '');
    const matches = (r: Row) =>
      r.kind === 'attr' &&
      (r.tag.toLowerCase().includes(q) ||
        r.name.toLowerCase().replace(/'s\b/g, '').replace(/[^a-z0-9]/g, '').includes(qk || q) ||
        r.value.toLowerCase().replace(/\s/g, '').includes(q));
    const visible = new Set<Row>();
    if (q) {
      for (const r of this.rows) {
        if (!matches(r)) continue;
        for (let p: Row | undefined = r; p; p = p.parent) visible.add(p);
      }
    }
    for (const r of this.rows) {
      const tr = this.trs.get(r)!;
      let shown: boolean;
      if (q) {
        shown = visible.has(r);
      } else {
        shown = true;
        for (let p = r.parent; p; p = p.parent) if (!this.open.has(p.path)) shown = false;
      }
      tr.hidden = !shown;
      const expanded = q ? this.rows.some((c) => c.parent === r && visible.has(c)) : this.open.has(r.path);
      const t = tr.querySelector('.toggle');
      if (t) {
        t.setAttribute('aria-expanded', String(expanded));
        t.textContent = expanded ? '▾' : '▸';
      }
      tr.classList.toggle('match', !!q && matches(r));
    }
  }
}
