// STOW-RS of metadata and bulk data (PS3.18 10.5, multipart/related;
// type="application/dicom+json" or "application/dicom+xml") sent with
// Node's own fetch — the dicomweb-client package can only store
// application/dicom — and read back with dicomweb-client. Prints one JSON
// object on stdout; the Go test (internal/dicomweb,
// TestRealClientSTOWMetadataBulk) writes the plan and checks the output.
//
// Usage: node stow-bulk.mjs plan.json
//
// plan.json: {
//   "url": "http://127.0.0.1:port/dicom-web",
//   "requests": [{
//     "type": "application/dicom+json", "accept": "application/dicom+json",
//     "study": "...", "series": "...", "instance": "...",
//     "parts": [{"contentType": "...", "contentLocation": "...", "file": "/path"}, ...]
//   }, ...]
// }
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import XMLHttpRequest from 'xhr2';
import dwc from 'dicomweb-client';

globalThis.XMLHttpRequest = XMLHttpRequest;
const { DICOMwebClient } = dwc.api ? dwc.api : dwc;

const plan = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const client = new DICOMwebClient({ url: plan.url, verbose: false });

function multipartRelated(parts) {
  const boundary = 'node-' + randomBytes(12).toString('hex');
  const chunks = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Type: ${p.contentType}\r\n`;
    if (p.contentLocation) head += `Content-Location: ${p.contentLocation}\r\n`;
    chunks.push(Buffer.from(head + '\r\n'), readFileSync(p.file), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { boundary, body: Buffer.concat(chunks) };
}

const results = [];
for (const req of plan.requests) {
  const r = {};
  try {
    const { boundary, body } = multipartRelated(req.parts);
    const resp = await fetch(`${plan.url}/studies/${req.study}`, {
      method: 'POST',
      headers: {
        'Content-Type': `multipart/related; type="${req.type}"; boundary=${boundary}`,
        Accept: req.accept,
      },
      body,
    });
    r.status = resp.status;
    r.contentType = resp.headers.get('content-type');
    r.response = await resp.text();
    const inst = await client.retrieveInstance({
      studyInstanceUID: req.study, seriesInstanceUID: req.series, sopInstanceUID: req.instance,
    });
    r.instance = Buffer.from(inst).toString('base64');
    r.metadata = await client.retrieveInstanceMetadata({
      studyInstanceUID: req.study, seriesInstanceUID: req.series, sopInstanceUID: req.instance,
    });
  } catch (err) {
    r.error = String(err);
  }
  results.push(r);
}
process.stdout.write(JSON.stringify({ results }));
