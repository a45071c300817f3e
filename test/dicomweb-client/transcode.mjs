// Asks a Lightbox DICOMweb server for instances and frames in other
// transfer syntaxes, and for rendered frames, with the dicomweb-client
// package (mediaTypes carrying transferSyntaxUID, as OHIF does), writes
// every part it got to a file and prints one JSON object naming them. The
// Go test (internal/dicomweb, TestRealClientTranscode) writes the plan,
// runs this script and decodes the files to check the pixels.
//
// Usage: node transcode.mjs plan.json
//
// plan.json: {
//   "url": "http://127.0.0.1:port/dicom-web", "outDir": "/tmp/...",
//   "steps": [{"name": "...", "call": "retrieveInstance" | "retrieveInstanceFrames" |
//              "retrieveInstanceFramesRendered",
//              "study": "...", "series": "...", "instance": "...", "frameNumbers": [1, 2],
//              "mediaTypes": [{"mediaType": "image/jls", "transferSyntaxUID": "..."}]}]
// }
// Output: {"<name>": {"parts": [{"file": "...", "length": n}]} or {"error": "...", "status": n}}
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import XMLHttpRequest from 'xhr2';
import dwc from 'dicomweb-client';

globalThis.XMLHttpRequest = XMLHttpRequest;
const { DICOMwebClient } = dwc.api ? dwc.api : dwc;

const plan = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const client = new DICOMwebClient({ url: plan.url, verbose: false });
const out = {};

for (const s of plan.steps) {
  const opts = {
    studyInstanceUID: s.study, seriesInstanceUID: s.series, sopInstanceUID: s.instance,
  };
  if (s.frameNumbers) opts.frameNumbers = s.frameNumbers;
  if (s.mediaTypes) opts.mediaTypes = s.mediaTypes;
  try {
    let res;
    if (s.call === 'retrieveInstance' && s.mediaTypes) {
      // dicomweb-client 0.11 rejects every mediaTypes value in
      // retrieveInstance/Series/Study: _getCommonMediaType returns the type
      // prefix "application/", which it then compares with
      // "application/dicom". Call what retrieveInstance would call: the
      // client's own Accept header builder and multipart decoder.
      const url = `${client.wadoURL}/studies/${s.study}/series/${s.series}/instances/${s.instance}`;
      res = await client._httpGetMultipartApplicationDicom(url, s.mediaTypes, false, {});
    } else {
      res = await client[s.call](opts);
    }
    if (!Array.isArray(res)) res = [res];
    out[s.name] = {
      parts: res.map((buf, i) => {
        const file = join(plan.outDir, `${s.name}-${i}.bin`);
        writeFileSync(file, Buffer.from(buf));
        return { file, length: buf.byteLength };
      }),
    };
  } catch (err) {
    out[s.name] = { error: String(err), status: err.status };
  }
}
process.stdout.write(JSON.stringify(out));
