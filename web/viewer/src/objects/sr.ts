// Structured Reports as readable text: the document's title, header
// (patient, dates, completion and verification) and its content tree —
// containers as headings, then each content item as "concept: value" with
// code meanings, numeric values with their units, dates, names, and
// references to images (links into the viewer) and spatial coordinates.
// Everything comes from WADO-RS /metadata (DICOM JSON).
import { type DicomJSON, type DicomAttr, Tag, str, strs, formatDate, formatTime, personName, type PNValue } from '../dicom';
import { h } from '../dom';
import { viewerURL } from '../router';

/** SR tags (PS3.3 C.17.3). */
export const SRTag = {
  ValueType: '0040A040',
  RelationshipType: '0040A010',
  ConceptNameCodeSequence: '0040A043',
  ContentSequence: '0040A730',
  TextValue: '0040A160',
  ConceptCodeSequence: '0040A168',
  MeasuredValueSequence: '0040A300',
  NumericValue: '0040A30A',
  MeasurementUnitsCodeSequence: '004008EA',
  NumericValueQualifierCodeSequence: '0040A301',
  DateValue: '0040A121',
  TimeValue: '0040A122',
  DateTimeValue: '0040A120',
  PersonName: '0040A123',
  UID: '0040A124',
  ReferencedSOPSequence: '00081199',
  ReferencedSOPClassUID: '00081150',
  ReferencedSOPInstanceUID: '00081155',
  ReferencedFrameNumber: '00081160',
  GraphicType: '00700023',
  GraphicData: '00700022',
  ContinuityOfContent: '0040A050',
  CompletionFlag: '0040A491',
  VerificationFlag: '0040A493',
  ContentDate: '00080023',
  ContentTime: '00080033',
  CodeValue: '00080100',
  CodingSchemeDesignator: '00080102',
  CodeMeaning: '00080104',
  CurrentRequestedProcedureEvidenceSequence: '0040A375',
  ReferencedSeriesSequence: '00081115',
  ObservationDateTime: '0040A032',
  VerifyingObserverSequence: '0040A073',
  VerifyingObserverName: '0040A075',
  ReferencedContentItemIdentifier: '0040DB73',
} as const;

/** items returns the items of a sequence attribute. */
export function items(ds: DicomJSON | undefined, tag: string): DicomJSON[] {
  const v = ds?.[tag]?.Value;
  return Array.isArray(v) ? (v as DicomJSON[]) : [];
}

/** codeMeaning is a code item's meaning, or its value and scheme. */
export function codeMeaning(code: DicomJSON | undefined): string {
  if (!code) return '';
  return str(code, SRTag.CodeMeaning) || [str(code, SRTag.CodeValue), str(code, SRTag.CodingSchemeDesignator)].filter(Boolean).join(' ');
}

/** conceptName is the meaning of an item's Concept Name Code Sequence. */
export function conceptName(item: DicomJSON): string {
  return codeMeaning(items(item, SRTag.ConceptNameCodeSequence)[0]);
}

/** unitText shows a UCUM unit: its code ("mm", "cm2", "[hnsf'U]" as "HU") or meaning. */
export function unitText(unit: DicomJSON | undefined): string {
  if (!unit) return '';
  const code = str(unit, SRTag.CodeValue);
  const scheme = str(unit, SRTag.CodingSchemeDesignator);
  if (scheme === 'UCUM') {
    if (code === '1') return '';
    if (code === "[hnsf'U]") return 'HU';
    if (code) return code;
  }
  return str(unit, SRTag.CodeMeaning) || code;
}

/** numericText is "value unit" of a NUM item, or its qualifier ("not a number"). */
export function numericText(item: DicomJSON): string {
  const mv = items(item, SRTag.MeasuredValueSequence)[0];
  if (!mv) {
    const q = items(item, SRTag.NumericValueQualifierCodeSequence)[0];
    return q ? codeMeaning(q) : '(no value)';
  }
  const v = str(mv, SRTag.NumericValue);
  const u = unitText(items(mv, SRTag.MeasurementUnitsCodeSequence)[0]);
  return u ? `${v} ${u}` : v;
}

/** SOPRef locates a referenced instance for a link into the viewer. */
export type SeriesOf = (sop: string) => { study: string; series: string } | undefined;

/** evidenceIndex maps the SOP Instance UIDs of a document's evidence to their study and series. */
export function evidenceIndex(ds: DicomJSON): Map<string, { study: string; series: string }> {
  const m = new Map<string, { study: string; series: string }>();
  for (const tag of [SRTag.CurrentRequestedProcedureEvidenceSequence, '0040A385' /* Pertinent Other Evidence */]) {
    for (const st of items(ds, tag)) {
      const study = str(st, Tag.StudyInstanceUID);
      for (const se of items(st, SRTag.ReferencedSeriesSequence)) {
        const series = str(se, Tag.SeriesInstanceUID);
        for (const ref of items(se, SRTag.ReferencedSOPSequence)) m.set(str(ref, SRTag.ReferencedSOPInstanceUID), { study, series });
      }
    }
  }
  return m;
}

function valueOf(item: DicomJSON, seriesOf: SeriesOf): (Node | string)[] {
  const vt = str(item, SRTag.ValueType);
  switch (vt) {
    case 'TEXT':
      return [h('span', { class: 'sr-text' }, str(item, SRTag.TextValue))];
    case 'CODE':
      return [h('span', { class: 'sr-code' }, codeMeaning(items(item, SRTag.ConceptCodeSequence)[0]))];
    case 'NUM':
      return [h('span', { class: 'sr-num', 'data-testid': 'sr-num' }, numericText(item))];
    case 'DATE':
      return [formatDate(str(item, SRTag.DateValue))];
    case 'TIME':
      return [formatTime(str(item, SRTag.TimeValue))];
    case 'DATETIME':
      return [str(item, SRTag.DateTimeValue)];
    case 'PNAME':
      return [personName(item[SRTag.PersonName]?.Value?.[0] as PNValue | undefined)];
    case 'UIDREF':
      return [h('code', {}, str(item, SRTag.UID))];
    case 'IMAGE':
    case 'COMPOSITE':
    case 'WAVEFORM': {
      const out: (Node | string)[] = [];
      for (const ref of items(item, SRTag.ReferencedSOPSequence)) {
        const sop = str(ref, SRTag.ReferencedSOPInstanceUID);
        const frames = strs(ref, SRTag.ReferencedFrameNumber);
        const where = seriesOf(sop);
        const label = `${vt === 'IMAGE' ? 'image' : vt.toLowerCase()} ${sop}${frames.length ? ` frame ${frames.join(', ')}` : ''}`;
        out.push(
          where
            ? h('a', { href: viewerURL(where.study, where.series, sop, frames.length ? Number(frames[0]) : undefined), 'data-link': true, class: 'sr-ref' }, label)
            : h('span', { class: 'sr-ref' }, label),
        );
      }
      return out;
    }
    case 'SCOORD':
    case 'SCOORD3D': {
      const data = (item[SRTag.GraphicData]?.Value ?? []) as number[];
      const pts = [];
      const dim = vt === 'SCOORD3D' ? 3 : 2;
      for (let i = 0; i + dim <= data.length; i += dim) pts.push(`(${data.slice(i, i + dim).map((n) => Number(n).toFixed(1)).join(', ')})`);
      return [`${str(item, SRTag.GraphicType).toLowerCase()} ${pts.join(' ')}`];
    }
    case 'TCOORD':
      return ['temporal coordinates'];
    case 'CONTAINER':
      return [];
  }
  const ref = (item[SRTag.ReferencedContentItemIdentifier]?.Value ?? []) as number[];
  if (ref.length) return [`(see item ${ref.join('.')})`];
  return vt ? [`(${vt})`] : [];
}

function renderItems(list: DicomJSON[], depth: number, seriesOf: SeriesOf): HTMLElement {
  const ol = h('ul', { class: `sr-items depth-${Math.min(depth, 6)}` });
  for (const item of list) {
    const vt = str(item, SRTag.ValueType);
    const name = conceptName(item);
    const rel = str(item, SRTag.RelationshipType);
    const children = items(item, SRTag.ContentSequence);
    const li = h('li', { class: `sr-item sr-vt-${vt.toLowerCase() || 'ref'}`, 'data-value-type': vt, 'data-relationship': rel });
    if (vt === 'CONTAINER') {
      const level = Math.min(3 + depth, 6);
      li.append(h(`h${level}` as 'h3', { class: 'sr-heading' }, name || '(untitled section)'));
    } else {
      li.append(h('span', { class: 'sr-concept' }, name ? `${name}: ` : ''), ...valueOf(item, seriesOf));
      if (rel && rel !== 'CONTAINS' && rel !== 'HAS PROPERTIES') li.append(h('span', { class: 'sr-rel' }, ` [${rel.toLowerCase()}]`));
    }
    if (children.length) li.append(renderItems(children, depth + 1, seriesOf));
    ol.append(li);
  }
  return ol;
}

/** textOf renders a DICOM JSON attribute that may be a bulk URI for display. */
export function attrText(a: DicomAttr | undefined): string {
  if (!a) return '';
  if (a.BulkDataURI) return '(bulk data)';
  return (a.Value ?? []).map((v) => (typeof v === 'object' && v !== null ? personName(v as PNValue) : String(v))).join('\\');
}

/**
 * renderSR renders a Structured Report (or a Key Object Selection, whose
 * document has the same form) as an article.
 */
export function renderSR(ds: DicomJSON, seriesOf?: SeriesOf): HTMLElement {
  const evidence = evidenceIndex(ds);
  const lookup: SeriesOf = (sop) => evidence.get(sop) ?? seriesOf?.(sop);
  const title = conceptName(ds) || 'Structured report';
  const when = [formatDate(str(ds, SRTag.ContentDate)), formatTime(str(ds, SRTag.ContentTime))].filter(Boolean).join(' ');
  const flags = [str(ds, SRTag.CompletionFlag), str(ds, SRTag.VerificationFlag)].filter(Boolean).map((f) => f.toLowerCase());
  const verifier = items(ds, SRTag.VerifyingObserverSequence)
    .map((v) => personName(v[SRTag.VerifyingObserverName]?.Value?.[0] as PNValue | undefined))
    .filter(Boolean);
  return h(
    'article',
    { class: 'sr-document', 'data-testid': 'sr-document' },
    h('h2', { class: 'sr-title' }, title),
    h(
      'p',
      { class: 'sr-meta' },
      [str(ds, Tag.PatientName), str(ds, Tag.PatientID) && `ID ${str(ds, Tag.PatientID)}`, when, flags.join(', '), verifier.length ? `verified by ${verifier.join(', ')}` : '']
        .filter(Boolean)
        .join(' · '),
    ),
    renderItems(items(ds, SRTag.ContentSequence), 0, lookup),
  );
}
