// DICOM JSON (PS3.18 F.2) helpers: tags, value access, person names, dates.

/** A DICOM JSON data set: tag (8 hex digits, upper case) -> attribute. */
export type DicomJSON = Record<string, DicomAttr | undefined>;

export interface DicomAttr {
  vr: string;
  Value?: unknown[];
  BulkDataURI?: string;
  InlineBinary?: string;
}

/** Tags used by the viewer, keyword -> 8 hex digits. */
export const Tag = {
  SpecificCharacterSet: '00080005',
  StudyDate: '00080020',
  SeriesDate: '00080021',
  StudyTime: '00080030',
  AccessionNumber: '00080050',
  Modality: '00080060',
  ModalitiesInStudy: '00080061',
  InstitutionName: '00080080',
  ReferringPhysicianName: '00080090',
  StudyDescription: '00081030',
  SeriesDescription: '0008103E',
  SOPClassUID: '00080016',
  SOPInstanceUID: '00080018',
  PatientName: '00100010',
  PatientID: '00100020',
  PatientBirthDate: '00100030',
  PatientSex: '00100040',
  SliceThickness: '00180050',
  StudyInstanceUID: '0020000D',
  SeriesInstanceUID: '0020000E',
  StudyID: '00200010',
  SeriesNumber: '00200011',
  InstanceNumber: '00200013',
  ImagePositionPatient: '00200032',
  ImageOrientationPatient: '00200037',
  SliceLocation: '00201041',
  NumberOfStudyRelatedSeries: '00201206',
  NumberOfStudyRelatedInstances: '00201208',
  NumberOfSeriesRelatedInstances: '00201209',
  NumberOfFrames: '00280008',
  Rows: '00280010',
  Columns: '00280011',
  PixelSpacing: '00280030',
  WindowCenter: '00281050',
  WindowWidth: '00281051',
  RescaleIntercept: '00281052',
  RescaleSlope: '00281053',
  TransferSyntaxUID: '00020010',
  AvailableTransferSyntaxUID: '00083002',
} as const;

/** first returns the first value of an attribute, or undefined. */
export function first(ds: DicomJSON | undefined, tag: string): unknown {
  const v = ds?.[tag]?.Value;
  return v && v.length > 0 ? v[0] : undefined;
}

/** str returns the first value as a string ('' when absent). */
export function str(ds: DicomJSON | undefined, tag: string): string {
  const v = first(ds, tag);
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return personName(v as PNValue);
  return String(v);
}

/** num returns the first value as a number, or undefined. */
export function num(ds: DicomJSON | undefined, tag: string): number | undefined {
  const v = first(ds, tag);
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : undefined;
}

/** nums returns all values as numbers (non-numbers dropped). */
export function nums(ds: DicomJSON | undefined, tag: string): number[] {
  const v = ds?.[tag]?.Value ?? [];
  return v.map((x) => (typeof x === 'number' ? x : Number(x))).filter((n) => Number.isFinite(n));
}

/** strs returns all values as strings. */
export function strs(ds: DicomJSON | undefined, tag: string): string[] {
  const v = ds?.[tag]?.Value ?? [];
  return v.map((x) => (typeof x === 'object' && x !== null ? personName(x as PNValue) : String(x)));
}

export interface PNValue {
  Alphabetic?: string;
  Ideographic?: string;
  Phonetic?: string;
}

/**
 * personName formats a PN value for display: "Family, Given Middle" from the
 * alphabetic group, followed by the ideographic group when present.
 */
export function personName(pn: PNValue | undefined): string {
  if (!pn) return '';
  const fmt = (g?: string) => {
    if (!g) return '';
    const [family = '', given = '', middle = '', prefix = '', suffix = ''] = g.split('^');
    const rest = [prefix, given, middle].filter(Boolean).join(' ');
    let s = family;
    if (rest) s = s ? `${s}, ${rest}` : rest;
    if (suffix) s += ` ${suffix}`;
    return s.trim();
  };
  const a = fmt(pn.Alphabetic);
  const i = fmt(pn.Ideographic);
  if (a && i) return `${a} (${i})`;
  return a || i || fmt(pn.Phonetic);
}

/** formatDate turns a DA value (YYYYMMDD) into YYYY-MM-DD. */
export function formatDate(da: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(da.trim());
  return m ? `${m[1]}-${m[2]}-${m[3]}` : da;
}

/** formatTime turns a TM value (HHMMSS.frac) into HH:MM[:SS]. */
export function formatTime(tm: string): string {
  const m = /^(\d{2})(\d{2})?(\d{2})?/.exec(tm.trim());
  if (!m) return tm;
  return [m[1], m[2] ?? '00', m[3]].filter((x) => x !== undefined).join(':');
}

/** toDA turns an <input type=date> value (YYYY-MM-DD) into DA (YYYYMMDD). */
export function toDA(isoDate: string): string {
  return isoDate.replaceAll('-', '');
}
