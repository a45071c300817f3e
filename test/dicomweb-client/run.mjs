// Drives a Lightbox DICOMweb server with the dicomweb-client package, the
// library OHIF and many web viewers use, and prints what it got back as
// one JSON object on stdout. The Go test (internal/dicomweb,
// TestRealClient) writes the plan, runs this script and checks the output
// against the original files.
//
// Usage: node run.mjs plan.json
//
// plan.json: {
//   "url": "http://127.0.0.1:port/dicom-web",
//   "study": "...", "series": "...", "instance": "...",
//   "frames": {"study": "...", "series": "...", "instance": "...", "numbers": [1, 2]},
//   "metadata": [{"study": "...", "series": "...", "instance": "..."}, ...],
//   "store": ["/path/to/file.dcm", ...], "storeStudy": "..."
// }
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import XMLHttpRequest from 'xhr2';
import dwc from 'dicomweb-client';

globalThis.XMLHttpRequest = XMLHttpRequest;
const { DICOMwebClient } = dwc.api ? dwc.api : dwc;

const plan = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const client = new DICOMwebClient({ url: plan.url, verbose: false });

const sha = (buf) => createHash('sha256').update(Buffer.from(buf)).digest('hex');
const out = {};

async function step(name, fn) {
  try {
    out[name] = await fn();
  } catch (err) {
    out[name] = { error: String(err), status: err.status, response: err.response ? String(err.response) : undefined };
  }
}

await step('studies', () => client.searchForStudies());
await step('studiesFiltered', () =>
  client.searchForStudies({ queryParams: { StudyInstanceUID: plan.study, includefield: 'all' } }));
await step('series', () => client.searchForSeries({ studyInstanceUID: plan.study }));
await step('instances', () =>
  client.searchForInstances({ studyInstanceUID: plan.study, seriesInstanceUID: plan.series }));
await step('studyMetadata', () => client.retrieveStudyMetadata({ studyInstanceUID: plan.study }));
await step('seriesMetadata', () =>
  client.retrieveSeriesMetadata({ studyInstanceUID: plan.study, seriesInstanceUID: plan.series }));
await step('instanceMetadata', () =>
  client.retrieveInstanceMetadata({
    studyInstanceUID: plan.study, seriesInstanceUID: plan.series, sopInstanceUID: plan.instance,
  }));
await step('metadataOf', async () => {
  const res = [];
  for (const m of plan.metadata || []) {
    res.push(await client.retrieveInstanceMetadata({
      studyInstanceUID: m.study, seriesInstanceUID: m.series, sopInstanceUID: m.instance,
    }));
  }
  return res;
});
await step('instance', async () => {
  const r = await client.retrieveInstance({
    studyInstanceUID: plan.study, seriesInstanceUID: plan.series, sopInstanceUID: plan.instance,
  });
  return [sha(r)];
});
await step('seriesParts', async () => {
  const parts = await client.retrieveSeries({ studyInstanceUID: plan.study, seriesInstanceUID: plan.series });
  return parts.map(sha);
});
await step('studyParts', async () => {
  const parts = await client.retrieveStudy({ studyInstanceUID: plan.study });
  return parts.map(sha);
});
await step('frames', async () => {
  const f = plan.frames;
  const parts = await client.retrieveInstanceFrames({
    studyInstanceUID: f.study, seriesInstanceUID: f.series, sopInstanceUID: f.instance, frameNumbers: f.numbers,
  });
  return parts.map((p) => ({ length: p.byteLength, sha: sha(p) }));
});
await step('bulk', async () => {
  const md = await client.retrieveInstanceMetadata({
    studyInstanceUID: plan.frames.study, seriesInstanceUID: plan.frames.series, sopInstanceUID: plan.frames.instance,
  });
  const uri = md[0]['7FE00010'] && md[0]['7FE00010'].BulkDataURI;
  if (!uri) return { error: 'no BulkDataURI for Pixel Data' };
  const parts = await client.retrieveBulkData({ BulkDataURI: uri });
  return { uri, parts: parts.map((p) => ({ length: p.byteLength, sha: sha(p) })) };
});
await step('store', async () => {
  const datasets = plan.store.map((p) => {
    const b = readFileSync(p);
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
  });
  const opts = { datasets };
  if (plan.storeStudy) opts.studyInstanceUID = plan.storeStudy;
  const r = await client.storeInstances(opts);
  return typeof r === 'string' ? JSON.parse(r) : r;
});
await step('storedSearch', () =>
  client.searchForInstances({ queryParams: { StudyInstanceUID: plan.storeStudy } }));

process.stdout.write(JSON.stringify(out));
