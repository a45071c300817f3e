// End-to-end test of the viewer's non-image objects, tag browser, print
// layout and import, in headless Chromium with playwright-core. Run by
// objects_test.go (TestViewerObjects), which starts Lightbox (viewer,
// DICOMweb, REST API) and passes the scenario in LIGHTBOX_OBJECTS (JSON):
// the files to drop, the CT study, the SR's measurement as pydicom reads
// it, a PNG and a PDF to attach. Each step waits for the state it expects
// and keeps a screenshot in the artifacts directory; any failed check,
// page error or Content-Security-Policy violation fails the run.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scenario, playwrightChromium, CHROMIUM_FLAGS, CheckError, check, newRun } from './lib.mjs';

const cfg = scenario('LIGHTBOX_OBJECTS', ['uploads', 'ct', 'sr', 'png', 'pdf', 'kos', 'folder']);
const chromium = playwrightChromium(cfg.viewerDir);
const report = newRun(cfg.artifacts);
const { log, problems, say } = report;

const profile = mkdtempSync(join(tmpdir(), 'lightbox-objects-profile-'));
const FLAGS = CHROMIUM_FLAGS;
let page;
let pdfViewerRequests = 0;

const screenshot = (name) => report.screenshot(page, name);
const step = (name, fn) => report.step(name, fn, () => page);

const waitFor = (fn, arg, timeout = 30000) => page.waitForFunction(fn, arg, { timeout });

async function main() {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: cfg.chromium,
    headless: true,
    args: FLAGS,
    chromiumSandbox: false,
    viewport: { width: 1280, height: 800 },
    deviceScaleFactor: 1,
  });
  const base = new URL(cfg.baseURL);
  context.on('request', (req) => {
    const u = new URL(req.url());
    // chrome: and chrome-extension: are the browser's own PDF viewer.
    if (['chrome:', 'chrome-extension:'].includes(u.protocol)) pdfViewerRequests++;
    else if (!['data:', 'blob:'].includes(u.protocol) && u.origin !== base.origin) problems.push(`request to another origin: ${req.url()}`);
  });
  try {
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('response', (res) => {
      if (res.status() >= 400) say(`  HTTP ${res.status()} ${res.request().method()} ${res.url().replace(base.origin, '')}`);
    });
    page.on('console', (msg) => {
      const text = msg.text();
      if (/Content Security Policy|Refused to (load|connect|execute|create|frame)/i.test(text)) problems.push(`CSP: ${text}`);
      if (msg.type() === 'error') say(`  console error: ${text.slice(0, 300)}`);
    });
    await run();
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

async function run() {
  const base = cfg.baseURL;

  await step('drop two DICOM files and a text file on the study browser', async () => {
    await page.goto(`${base}/`);
    await waitFor(() => document.querySelector('[data-testid=search-status]')?.dataset.count !== undefined);
    const files = cfg.uploads.map((u) => ({ name: u.name, b64: readFileSync(u.path).toString('base64') }));
    // A drop event with a DataTransfer built in the page, as a drag from
    // the desktop delivers it.
    await page.evaluate((files) => {
      const dt = new DataTransfer();
      for (const f of files) {
        const bin = atob(f.b64);
        const bytes = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
        dt.items.add(new File([bytes], f.name, { type: f.name.endsWith('.dcm') ? 'application/dicom' : 'text/plain' }));
      }
      const zone = document.querySelector('[data-testid=drop-zone]');
      zone.dispatchEvent(new DragEvent('dragover', { dataTransfer: dt, bubbles: true, cancelable: true }));
      zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, files);
    await waitFor((n) => document.querySelectorAll('[data-testid=upload-results] li').length === n && document.querySelector('[data-testid=drop-zone]').dataset.state === 'done', cfg.uploads.length);
    const res = await page.evaluate(() => ({
      percent: document.querySelector('[data-testid=upload-progress]').dataset.percent,
      value: document.querySelector('[data-testid=upload-progress]').value,
      summary: document.querySelector('[data-testid=upload-summary]').textContent,
      rows: [...document.querySelectorAll('[data-testid=upload-results] li')].map((li) => ({ file: li.dataset.file, outcome: li.dataset.outcome, study: li.dataset.study, text: li.textContent })),
    }));
    say(`  ${res.summary}`);
    check(res.percent === '100' && res.value === 100, `progress ended at ${res.percent}%`);
    for (const u of cfg.uploads) {
      const r = res.rows.find((x) => x.file === u.name);
      check(r, `no result for ${u.name}`);
      if (u.dicom) check(r.outcome === 'stored' && r.study === u.study, `${u.name}: ${r.outcome} ${r.study} (${r.text}), want stored in ${u.study}`);
      else check(r.outcome === 'failed' && /cannot understand|not|invalid/i.test(r.text), `${u.name}: ${r.outcome} (${r.text}), want failed with a reason`);
    }
    // The search runs again: the new studies are listed.
    for (const u of cfg.uploads.filter((x) => x.dicom)) {
      await waitFor((uid) => !!document.querySelector(`tr[data-study="${uid}"]`), u.study);
    }
    await screenshot('import-dropped');
  });

  await step('drop one of them again: duplicate', async () => {
    const u = cfg.uploads[0];
    const b64 = readFileSync(u.path).toString('base64');
    await page.evaluate(
      ({ name, b64 }) => {
        const bin = atob(b64);
        const bytes = new Uint8Array(bin.length);
        for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], name));
        document.querySelector('[data-testid=drop-zone]').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      },
      { name: u.name, b64 },
    );
    await waitFor(() => {
      const li = document.querySelectorAll('[data-testid=upload-results] li');
      return li.length === 1 && document.querySelector('[data-testid=drop-zone]').dataset.state === 'done';
    });
    const outcome = await page.getAttribute('[data-testid=upload-results] li', 'data-outcome');
    check(outcome === 'duplicate', `second drop of ${u.name}: ${outcome}, want duplicate`);
    await screenshot('import-duplicate');
  });

  await step('pick a folder: its files (in a subfolder) are imported', async () => {
    const f = cfg.folder;
    await page.setInputFiles('[data-testid=upload-folder]', f.path);
    await waitFor(() => {
      const li = document.querySelectorAll('[data-testid=upload-results] li');
      return li.length === 2 && document.querySelector('[data-testid=drop-zone]').dataset.state === 'done';
    });
    const rows = await page.evaluate(() => [...document.querySelectorAll('[data-testid=upload-results] li')].map((li) => ({ file: li.dataset.file, outcome: li.dataset.outcome, study: li.dataset.study })));
    const by = Object.fromEntries(rows.map((r) => [r.file, r]));
    check(by[f.duplicate]?.outcome === 'duplicate', `${f.duplicate}: ${JSON.stringify(by[f.duplicate])}, want duplicate`);
    check(by[f.new]?.outcome === 'stored' && by[f.new].study === f.newStudy, `${f.new}: ${JSON.stringify(by[f.new])}, want stored in ${f.newStudy}`);
    await waitFor((uid) => !!document.querySelector(`tr[data-study="${uid}"]`), f.newStudy);
    await screenshot('import-folder');
  });

  await step('new study from a scan for a new patient', async () => {
    await page.click('button[data-action=new-study]');
    await page.fill('[data-testid=new-patientID]', 'SCAN-NEW-1');
    await page.fill('[data-testid=new-patientName]', 'Scan^Paula');
    await page.fill('[data-testid=new-birthDate]', '1971-02-03');
    await page.selectOption('[data-testid=new-sex]', 'F');
    await page.fill('[data-testid=new-studyDescription]', 'Outside films');
    await page.setInputFiles('[data-testid=new-file]', cfg.png.path);
    await page.click('[data-testid=new-submit]');
    await waitFor(() => ['stored', 'failed'].includes(document.querySelector('[data-testid=new-study-form]')?.dataset.state));
    const study = await page.evaluate(() => document.querySelector('[data-testid=new-study-form]').dataset.study);
    check(study, `new study not stored: ${await page.textContent('[data-testid=new-status]')}`);
    await page.waitForURL((u) => u.pathname.startsWith(`/viewer/studies/${study}/series/`), { timeout: 30000 });
    await waitFor(() => window.lightboxViewer?.ready?.() === true, null, 60000);
    const info = await page.textContent('[data-testid=study-info]');
    const size = await page.evaluate(() => window.lightboxViewer.imageSize());
    say(`  study info: ${info}`);
    check(info.includes('SCAN-NEW-1') && info.includes('Scan, Paula') && info.includes('1971-02-03') && info.includes('Outside films'), `study info ${info}`);
    check(size && size[0] === cfg.png.width && size[1] === cfg.png.height, `new study image ${size}`);
    await screenshot('new-study');
  });

  await step('open the SR: readable text with the measurement', async () => {
    const sr = cfg.sr;
    await page.goto(`${base}/viewer/studies/${sr.study}`);
    await waitFor(() => document.querySelector('[data-testid=object-view]:not([hidden]) [data-testid=sr-document]'));
    const got = await page.evaluate((concept) => {
      const doc = document.querySelector('[data-testid=sr-document]');
      const item = [...doc.querySelectorAll('li.sr-vt-num')].find((li) => li.querySelector('.sr-concept')?.textContent.startsWith(concept));
      return {
        title: doc.querySelector('.sr-title').textContent,
        text: doc.innerText,
        num: item?.querySelector('[data-testid=sr-num]')?.textContent,
        headings: [...doc.querySelectorAll('.sr-heading')].map((x) => x.textContent),
      };
    }, sr.concept);
    say(`  title "${got.title}", ${sr.concept}: ${got.num}; headings ${got.headings.join(' / ')}`);
    check(got.title === sr.title, `SR title "${got.title}", want "${sr.title}"`);
    check(got.num === `${sr.value} ${sr.unit}`, `${sr.concept} shows "${got.num}", want "${sr.value} ${sr.unit}" (pydicom)`);
    check(got.headings.length > 0, 'no section headings');
    await page.waitForURL((u) => u.pathname === `/viewer/studies/${sr.study}/series/${sr.series}/instances/${sr.sop}`, { timeout: 10000 });
    await screenshot('sr');
    // Its print layout holds the report's text.
    await page.click('button[data-action=print]');
    await waitFor(() => document.querySelector('[data-testid=print-sheet] .sr-document'));
    const printed = await page.textContent('[data-testid=print-sheet] .sr-document');
    check(printed.includes(sr.concept) && printed.includes(`${sr.value} ${sr.unit}`), 'the SR print layout lacks the measurement');
    await page.click('button[data-action=close-print]');
  });

  await step('tag browser on the SR: nested sequences expand, search filters', async () => {
    await page.click('button[data-action=tags]');
    await waitFor(() => document.querySelector('[data-testid=tag-browser]')?.dataset.state === 'ready');
    const contentSeq = 'tr[data-path="0040A730"]';
    const firstItem = 'tr[data-path="0040A730/1"]';
    check(await page.isVisible(contentSeq), 'Content Sequence row not shown');
    check(!(await page.isVisible(firstItem)), 'sequence items shown before expanding');
    await page.click(`${contentSeq} .toggle`);
    await waitFor((sel) => !document.querySelector(sel).hidden, firstItem);
    const name = await page.textContent(`${contentSeq} td.name`);
    check(name === 'Content Sequence', `(0040,A730) named "${name}"`);
    await screenshot('tags-sr-expanded');
    await page.click('button[data-action=close-tags]');
  });

  await step('key object selection: key images listed and linked', async () => {
    const k = cfg.kos;
    await page.goto(`${base}/viewer/studies/${k.study}/series/${k.series}`);
    await waitFor(() => document.querySelector('[data-testid=object-view]:not([hidden])')?.dataset.kind === 'kos' && document.querySelector('[data-testid=key-images]'));
    const got = await page.evaluate(() => ({
      title: document.querySelector('[data-testid=key-images] h2').textContent,
      text: document.querySelector('[data-testid=key-images]').innerText,
      sops: [...document.querySelectorAll('[data-testid=key-images] li')].map((li) => li.dataset.sop),
    }));
    check(got.title.includes(k.title) && got.text.includes(k.description), `KOS "${got.title}": ${got.text}`);
    check(JSON.stringify(got.sops) === JSON.stringify(k.sops), `key images ${got.sops}, want ${k.sops}`);
    // Each key image is shown as a thumbnail (WADO-RS /thumbnail).
    await waitFor(() => [...document.querySelectorAll('[data-testid=key-images] img')].every((im) => im.complete && im.naturalWidth > 0));
    await screenshot('key-images');
    // Following the second link shows that image in the viewer.
    await page.click(`[data-testid=key-images] li[data-sop="${k.sops[1]}"] a.key-link`);
    await waitFor((sop) => window.lightboxViewer?.ready?.() === true && window.lightboxViewer.state().sop === sop, k.sops[1], 60000);
    await waitFor(() => document.querySelector('[data-testid=object-view]').hidden);
    const st = await page.evaluate(() => window.lightboxViewer.state());
    check(st.series === k.imageSeries, `key image opened in series ${st.series}`);
    await page.waitForURL((u) => u.pathname.endsWith(`/instances/${k.sops[1]}`), { timeout: 10000 });
    await screenshot('key-image-opened');
  });

  await step('attach a PNG scan to the CT study: new SC series shown as an image', async () => {
    const ct = cfg.ct;
    await page.goto(`${base}/viewer/studies/${ct.study}`);
    await waitFor(() => window.lightboxViewer?.ready?.() === true, null, 60000);
    const before = await page.locator('[data-testid=series-list] li').count();
    await page.click('button[data-action=attach]');
    await page.setInputFiles('[data-testid=attach-file]', cfg.png.path);
    await page.fill('[data-testid=attach-description]', 'Outside film');
    await page.selectOption('[data-testid=attach-conversion]', 'DF');
    await page.click('[data-testid=attach-submit]');
    await waitFor(() => document.querySelector('[data-testid=attach-form]')?.dataset.state !== 'sending' || !document.querySelector('[data-testid=attach-form]'));
    const series = await page.evaluate(() => document.querySelector('[data-testid=attach-form]')?.dataset.series);
    check(series, `attach failed: ${await page.textContent('[data-testid=attach-status]').catch(() => '?')}`);
    await page.waitForURL((u) => u.pathname.includes(`/series/${series}`), { timeout: 30000 });
    await waitFor((s) => window.lightboxViewer?.ready?.() === true && window.lightboxViewer.state().series === s, series, 60000);
    const after = await page.locator('[data-testid=series-list] li').count();
    check(after === before + 1, `series list has ${after} entries, want ${before + 1}`);
    const size = await page.evaluate(() => window.lightboxViewer.imageSize());
    check(size && size[0] === cfg.png.width && size[1] === cfg.png.height, `SC image size ${size}`);
    check(await page.isVisible(`[data-testid=series-list] li[data-series="${series}"]`), 'new series not in the list');
    // The drawn image: red on the left, blue on the right.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const px = await page.evaluate(() => {
      const v = window.lightboxViewer;
      const canvas = document.querySelector('[data-testid=viewports] canvas');
      const ctx = canvas.getContext('2d', { willReadFrequently: true });
      const cr = canvas.getBoundingClientRect();
      const at = (x, y) => {
        const [cx, cy] = v.pixelToClient(x, y);
        return [...ctx.getImageData(Math.floor((cx - cr.left) * (canvas.width / cr.width)), Math.floor((cy - cr.top) * (canvas.height / cr.height)), 1, 1).data].slice(0, 3);
      };
      return { left: at(20, 40), right: at(100, 40) };
    });
    say(`  drawn: left ${px.left}, right ${px.right}`);
    check(px.left[0] > 150 && px.left[2] < 80 && px.right[2] > 150 && px.right[0] < 80, `SC pixels left ${px.left} right ${px.right}`);
    await screenshot('attach-png');
  });

  await step('attach a PDF to the CT study: new series shows the document', async () => {
    await page.click('button[data-action=attach]');
    await page.setInputFiles('[data-testid=attach-file]', cfg.pdf.path);
    await page.fill('[data-testid=attach-description]', 'Referral letter');
    await page.click('[data-testid=attach-submit]');
    await waitFor(() => !document.querySelector('[data-testid=attach-form]') || document.querySelector('[data-testid=attach-form]').dataset.state !== 'sending');
    const series = await page.evaluate(() => document.querySelector('[data-testid=attach-form]')?.dataset.series);
    check(series, `attach failed: ${await page.textContent('[data-testid=attach-status]').catch(() => '?')}`);
    await page.waitForURL((u) => u.pathname.includes(`/series/${series}`), { timeout: 30000 });
    await waitFor(() => document.querySelector('[data-testid=object-view]:not([hidden])')?.dataset.kind === 'document');
    await waitFor(() => document.querySelector('[data-testid=doc-frame]'));
    const doc = await page.evaluate(() => ({
      bytes: document.querySelector('[data-testid=doc-view]').dataset.bytes,
      mime: document.querySelector('[data-testid=doc-view]').dataset.mime,
      src: document.querySelector('[data-testid=doc-frame]').src,
      source: document.querySelector('[data-testid=doc-view]').dataset.source,
      title: document.querySelector('[data-testid=doc-view] h2').textContent,
    }));
    check(doc.mime === 'application/pdf' && Number(doc.bytes) === cfg.pdf.size, `document ${doc.mime}, ${doc.bytes} bytes, want ${cfg.pdf.size}`);
    check(doc.source === 'bulk', `a ${cfg.pdf.size}-byte document came ${doc.source}, want as WADO-RS bulk data`);
    check(doc.src.startsWith('blob:') && doc.title === 'Referral letter', `frame ${doc.src}, title ${doc.title}`);
    // The frame loaded the blob (the browser's PDF viewer, where it has one).
    await waitFor((src) => !!document.querySelector(`iframe[src="${src}"]`), doc.src);
    const frame = page.frames().find((f) => f.url() === doc.src);
    check(frame, `no frame loaded ${doc.src} (frames: ${page.frames().map((f) => f.url()).join(', ')})`);
    // Chromium's PDF viewer loads its own resources when it renders the document.
    for (let i = 0; i < 100 && pdfViewerRequests === 0; i++) await page.waitForTimeout(100);
    say(`  the browser's PDF viewer made ${pdfViewerRequests} requests`);
    check(pdfViewerRequests > 0, 'the PDF viewer did not start in the frame');
    check(await page.isVisible(`[data-testid=series-list] li[data-series="${series}"]`), 'PDF series not in the list');
    await screenshot('attach-pdf');
  });

  await step('the corpus Encapsulated PDF study opens on its document', async () => {
    await page.goto(`${base}/viewer/studies/${cfg.corpusPDF.study}`);
    await waitFor(() => document.querySelector('[data-testid=object-view]:not([hidden])')?.dataset.kind === 'document' && document.querySelector('[data-testid=doc-frame]'));
    const bytes = Number(await page.getAttribute('[data-testid=doc-view]', 'data-bytes'));
    say(`  corpus PDF: ${bytes} bytes, ${await page.getAttribute('[data-testid=doc-view]', 'data-source')}`);
    check(bytes > 1000 && bytes <= cfg.corpusPDF.size, `corpus PDF ${bytes} bytes`);
    await screenshot('corpus-pdf');
  });

  await step('tag browser on a CT image: Patient Name and search', async () => {
    const ct = cfg.ct;
    await page.goto(`${base}/viewer/studies/${ct.study}`);
    await waitFor(() => window.lightboxViewer?.ready?.() === true && window.lightboxViewer.state().sop, null, 60000);
    const sop = await page.evaluate(() => window.lightboxViewer.state().sop);
    await page.click('button[data-action=tags]');
    await waitFor((sop) => {
      const tb = document.querySelector('[data-testid=tag-browser]');
      return tb?.dataset.state === 'ready' && tb.dataset.sop === sop;
    }, sop);
    const row = await page.evaluate(() => {
      const tr = document.querySelector('tr[data-path="00100010"]');
      return { tag: tr.querySelector('td.tag').textContent, name: tr.querySelector('td.name').textContent, value: tr.querySelector('td.value').textContent };
    });
    say(`  ${row.tag} ${row.name} = ${row.value}`);
    check(row.tag === '(0010,0010)' && row.name === "Patient's Name" && row.value === ct.patientName, `(0010,0010) row ${JSON.stringify(row)}, want "${ct.patientName}"`);
    await page.fill('[data-testid=tag-search]', '0010,0020');
    await waitFor(() => document.querySelector('tr[data-path="00100010"]').hidden);
    check(await page.isVisible('tr[data-path="00100020"]'), 'Patient ID row hidden by its own search');
    const shown = await page.evaluate(() => [...document.querySelectorAll('.tag-table tbody tr')].filter((tr) => !tr.hidden).map((tr) => tr.dataset.path));
    check(shown.length === 1 && (await page.textContent('tr[data-path="00100020"] td.value')) === ct.patientID, `search shows ${shown}`);
    // A keyword finds its attribute by name.
    await page.fill('[data-testid=tag-search]', 'PatientName');
    await waitFor(() => !document.querySelector('tr[data-path="00100010"]').hidden && document.querySelector('tr[data-path="00100020"]').hidden);
    await screenshot('tags-ct');
    // Scrolling to the next image updates the browser.
    await page.fill('[data-testid=tag-search]', '');
    await page.locator('[data-testid=viewport]').first().focus();
    await page.keyboard.press('ArrowDown');
    await waitFor((sop) => {
      const s = window.lightboxViewer.state().sop;
      const tb = document.querySelector('[data-testid=tag-browser]');
      return s !== sop && tb.dataset.sop === s && tb.dataset.state === 'ready';
    }, sop);
    await page.click('button[data-action=close-tags]');
  });

  await step('print layout, with a length measurement', async () => {
    const ct = cfg.ct;
    // Measure a length, so that the print shows the annotation too.
    await page.click('button[data-tool=Length]');
    const [w, hgt] = await page.evaluate(() => window.lightboxViewer.imageSize());
    const a = await page.evaluate(([x, y]) => window.lightboxViewer.pixelToClient(x, y), [w * 0.2, hgt * 0.3]);
    const b = await page.evaluate(([x, y]) => window.lightboxViewer.pixelToClient(x, y), [w * 0.8, hgt * 0.7]);
    await page.mouse.move(a[0], a[1]);
    await page.mouse.down();
    for (let i = 1; i <= 8; i++) await page.mouse.move(a[0] + ((b[0] - a[0]) * i) / 8, a[1] + ((b[1] - a[1]) * i) / 8);
    await page.mouse.up();
    await waitFor(() => window.lightboxViewer.measurements().length === 1);
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    await page.click('button[data-action=print]');
    await waitFor(() => {
      const img = document.querySelector('[data-testid=print-sheet] .print-image img');
      return img && img.complete && img.naturalWidth > 0;
    });
    await page.emulateMedia({ media: 'print' });
    const got = await page.evaluate(() => ({
      app: getComputedStyle(document.getElementById('app')).display,
      controls: getComputedStyle(document.querySelector('.print-controls')).display,
      header: document.querySelector('[data-testid=print-header]').innerText,
      images: document.querySelectorAll('[data-testid=print-sheet] .print-image img').length,
      caption: document.querySelector('[data-testid=print-sheet] figcaption')?.textContent,
    }));
    say(`  header: ${got.header.replace(/\n/g, ' | ')}; ${got.images} image(s): ${got.caption}`);
    check(got.app === 'none' && got.controls === 'none', `print media shows the app (${got.app}) or controls (${got.controls})`);
    check(got.header.includes(`ID ${ct.patientID}`), `print header lacks the patient ID: ${got.header}`);
    check(got.images === 1 && /Image \d+ of \d+/.test(got.caption), `print images ${got.images}, caption ${got.caption}`);
    // The drawn image is not blank.
    const lit = await page.evaluate(async () => {
      const img = document.querySelector('[data-testid=print-sheet] .print-image img');
      const c = document.createElement('canvas');
      c.width = img.naturalWidth;
      c.height = img.naturalHeight;
      const ctx = c.getContext('2d');
      ctx.drawImage(img, 0, 0);
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      let coloured = 0; // the CT is grey: coloured pixels are the annotation
      for (let i = 0; i < d.length; i += 4) {
        if (d[i] + d[i + 1] + d[i + 2] > 30) n++;
        if (Math.max(d[i], d[i + 1], d[i + 2]) - Math.min(d[i], d[i + 1], d[i + 2]) > 60) coloured++;
      }
      return { n, coloured };
    });
    say(`  printed image: ${lit.n} lit, ${lit.coloured} coloured (annotation) pixels`);
    check(lit.n > 100, `printed image has ${lit.n} lit pixels`);
    check(lit.coloured > 20, `printed image shows no annotation (${lit.coloured} coloured pixels)`);
    await screenshot('print-media');
    await page.pdf({ path: join(cfg.artifacts, 'print.pdf'), format: 'A4' });
    say(`  PDF ${join(cfg.artifacts, 'print.pdf')}`);
    await page.emulateMedia({ media: 'screen' });
    await page.click('button[data-action=close-print]');
    check(!(await page.isVisible('[data-testid=print-sheet]')), 'print sheet still shown after Close');
  });
}


main()
  .then(() => {
    writeFileSync(join(cfg.artifacts, 'objects.log'), log.join('\n') + '\n');
    say('PASS');
  })
  .catch((err) => {
    say(`FAIL: ${err instanceof CheckError ? err.message : err.stack || err}`);
    writeFileSync(join(cfg.artifacts, 'objects.log'), log.join('\n') + '\n');
    process.exit(1);
  });
