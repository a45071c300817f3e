// End-to-end test of Lightbox's viewer in headless Chromium, driven with
// playwright-core. Run by browser_test.go (go test ./test/browser), which
// starts the server and passes the scenario in the LIGHTBOX_E2E environment
// variable (JSON):
//
//   baseURL      the server (viewer at /, DICOMweb at /dicom-web)
//   chromium     the Chromium executable (Debian's /usr/bin/chromium)
//   viewerDir    web/viewer, whose node_modules holds playwright-core
//   artifacts    directory for screenshots and the step log
//   ct           the CT study the steps use: search terms, UIDs, and the
//                values the checks expect (from the corpus files)
//   images       JPEG 2000, colour ultrasound and server-decoded images with
//                pydicom's values at sampled pixels (runImageCases)
//
// LIGHTBOX_E2E_ONLY_IMAGES=1 runs only the image cases (while working on them).
//
// Each step checks what the reader would see — rendered canvas pixels, the
// overlay text, the measured length — not only that the page loaded, and
// saves a screenshot. Any failed check, page error, Content-Security-Policy
// violation or request to another origin fails the run (exit status 1).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scenario, playwrightChromium, CHROMIUM_FLAGS, SOFTWARE_WEBGL, CheckError, check, newRun } from './lib.mjs';

const cfg = scenario('LIGHTBOX_E2E', ['ct']);
const chromium = playwrightChromium(cfg.viewerDir);
const report = newRun(cfg.artifacts);
const { log, problems, say } = report;
const near = (a, b, tol) => Math.abs(a - b) <= tol;

// Playwright adds --headless and a fresh temporary --user-data-dir of its
// own; one is passed explicitly anyway so the profile is known to be new.
// Software WebGL (SwiftShader) is what a GPU-less machine renders with;
// without it Cornerstone falls back to its CPU renderer, which the test
// accepts too (the renderer used is logged).
const profile = mkdtempSync(join(tmpdir(), 'lightbox-e2e-profile-'));
const FLAGS = [...CHROMIUM_FLAGS, SOFTWARE_WEBGL];

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
    if (!['data:', 'blob:'].includes(u.protocol) && u.origin !== base.origin) {
      problems.push(`request to another origin: ${req.url()}`);
    }
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    watch(page);
    await run(page, context);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

function watch(page) {
  page.on('pageerror', (err) => {
    problems.push(`page error: ${err.message}`);
    say(`  page error: ${(err.stack || err.message).split('\n').slice(0, 6).join(' | ')}`);
  });
  page.on('console', (msg) => {
    const text = msg.text();
    if (/Content Security Policy|Refused to (load|connect|execute|create)/i.test(text)) {
      problems.push(`CSP: ${text}`);
    }
    if (msg.type() === 'error') say(`  console error: ${text.slice(0, 300)}`);
    if (msg.type() === 'warning' && /error/i.test(text)) say(`  console warning: ${text.slice(0, 300)}`);
  });
}

const screenshot = report.screenshot;

let currentPage; // for the screenshot of a failed step

const step = (name, fn) => report.step(name, fn, () => currentPage);

// ---- helpers over the viewer's automation hook (window.lightboxViewer) ----

const viewerState = (page) => page.evaluate(() => window.lightboxViewer.state());

async function waitReady(page) {
  await page.waitForFunction(() => window.lightboxViewer?.ready?.() === true, null, { timeout: 60000 });
}

async function waitIndex(page, index) {
  await page.waitForFunction(
    (i) => {
      const v = window.lightboxViewer;
      return v && v.state().index === i && v.ready();
    },
    index,
    { timeout: 10000 },
  );
  // Let the frame render (one animation frame after the index changes).
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

/**
 * samplePixels reads, for image pixels pts ([col,row]), the modality value
 * (HU) and the grey drawn on the viewport's canvas at that pixel's centre.
 */
async function samplePixels(page, pts) {
  await nextFrames(page); // let a pending render land first
  return page.evaluate((pts) => {
    const v = window.lightboxViewer;
    const el = document.querySelector('[data-testid=viewport]');
    const canvas = el.querySelector('canvas');
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    const cr = canvas.getBoundingClientRect();
    const sx = canvas.width / cr.width;
    const sy = canvas.height / cr.height;
    return pts.map(([x, y]) => {
      const [cx, cy] = v.pixelToClient(x, y);
      const px = Math.floor((cx - cr.left) * sx);
      const py = Math.floor((cy - cr.top) * sy);
      const d = ctx.getImageData(px, py, 1, 1).data;
      const around = [
        [x - 1, y],
        [x + 1, y],
        [x, y - 1],
        [x, y + 1],
      ].map(([a, b]) => v.modalityValue(a, b));
      const [nx, ny] = v.pixelToClient(x + 1, y);
      const zoom = Math.hypot(nx - cx, ny - cy); // screen pixels per image pixel
      return { x, y, hu: v.modalityValue(x, y), around, zoom, rgb: [d[0], d[1], d[2]] };
    });
  }, pts);
}

/**
 * nextFrames waits two animation frames: Cornerstone draws a state change
 * (W/L, rotation, invert, ...) on the next frame, not during the click.
 */
async function nextFrames(page) {
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

/** canvasDigest is a cheap fingerprint of the viewport canvas. */
async function canvasDigest(page) {
  await nextFrames(page);
  return page.evaluate(() => {
    const canvas = document.querySelector('[data-testid=viewport] canvas');
    const d = canvas.getContext('2d', { willReadFrequently: true }).getImageData(0, 0, canvas.width, canvas.height).data;
    let h = 2166136261 >>> 0;
    let sum = 0;
    for (let i = 0; i < d.length; i += 4) {
      h = Math.imul(h ^ d[i], 16777619) >>> 0;
      sum += d[i];
    }
    return { hash: h, mean: sum / (d.length / 4) };
  });
}

/**
 * canvasDigestChanged waits (up to 5 s) for the viewport to draw something
 * other than the before digest: Cornerstone renders on the next animation
 * frame, so a digest taken straight after a click can still show the old frame.
 */
async function canvasDigestChanged(page, before) {
  const deadline = Date.now() + 5000;
  for (;;) {
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const d = await canvasDigest(page);
    if (d.hash !== before.hash || Date.now() > deadline) return d;
  }
}

/**
 * expectedGrey is the grey the VOI range should give a modality value: the
 * lower bound and below black, the upper bound and above white, linear in
 * between (DICOM's LINEAR VOI LUT function, as Cornerstone implements it).
 */
function expectedGrey(hu, lower, upper, invert = false) {
  const t = Math.min(1, Math.max(0, (hu - lower) / (upper - lower)));
  const g = t * 255;
  return invert ? 255 - g : g;
}

/** SCREEN_SLACK is how far (screen pixels) the drawn image may be from its computed place. */
const SCREEN_SLACK = 2.5;

/**
 * checkVOI checks the drawn greys against the VOI range the viewer reports,
 * and that range against the window width/centre shown (DICOM LINEAR:
 * lower = C - 0.5 - (W-1)/2, upper = C - 0.5 + (W-1)/2). It returns how many
 * samples fell strictly inside the window (the informative ones).
 */
function checkVOI(samples, st, what) {
  check(
    near(st.voiLower, st.center - 0.5 - (st.window - 1) / 2, 1e-6) && near(st.voiUpper, st.center - 0.5 + (st.window - 1) / 2, 1e-6),
    `${what}: VOI range ${st.voiLower}..${st.voiUpper} does not match W ${st.window} L ${st.center}`,
  );
  let informative = 0;
  for (const s of samples) {
    check(typeof s.hu === 'number', `${what}: no modality value at (${s.x},${s.y})`);
    const want = expectedGrey(s.hu, st.voiLower, st.voiUpper, st.invert);
    // The drawn image may sit up to SCREEN_SLACK screen pixels from where
    // the viewer's coordinates put it (whole-pixel canvas placement, the
    // reading position rounded to a device pixel). Where the image changes
    // fast between neighbours (an edge, a narrow window), that shift moves
    // the interpolated grey: allow for it, on top of rounding.
    const slope = Math.max(
      ...s.around.map((h) =>
        typeof h === 'number' ? Math.abs(expectedGrey(h, st.voiLower, st.voiUpper) - expectedGrey(s.hu, st.voiLower, st.voiUpper)) : 0,
      ),
    );
    const tol = 4 + slope * Math.min(0.5, SCREEN_SLACK / s.zoom);
    const [r, g, b] = s.rgb;
    check(Math.max(r, g, b) - Math.min(r, g, b) <= 1, `${what}: pixel (${s.x},${s.y}) is not grey: ${s.rgb}`);
    check(
      near(r, want, tol),
      `${what}: pixel (${s.x},${s.y}) HU ${s.hu} drawn ${r}, expected ${want.toFixed(1)} ±${tol.toFixed(1)} for W ${st.window} L ${st.center}${st.invert ? ' inverted' : ''}`,
    );
    if (want > 8 && want < 247) informative++;
  }
  return informative;
}

/** A grid of image pixels to sample, away from the edges. */
function grid(cols, rows, n = 5) {
  const pts = [];
  for (let i = 1; i <= n; i++) {
    for (let j = 1; j <= n; j++) {
      pts.push([Math.floor((cols * i) / (n + 1)), Math.floor((rows * j) / (n + 1))]);
    }
  }
  return pts;
}

/** marks lists the viewer's performance marks, in ms after lightbox:open-viewer. */
const marks = (page) =>
  page.evaluate(() => {
    const ms = performance.getEntriesByType('mark').filter((m) => m.name.startsWith('lightbox:'));
    const t0 = ms.find((m) => m.name === 'lightbox:open-viewer')?.startTime ?? 0;
    return ms.map((m) => `${m.name.slice(9)} ${(m.startTime - t0).toFixed(0)} ms`).join(', ');
  });

/**
 * measureLength draws a horizontal length over 60% of the image's width
 * with the Length tool and checks the value against the pixel spacing.
 */
async function measureLength(page, ct) {
  await page.click('button[data-tool=Length]');
  const before = (await page.evaluate(() => window.lightboxViewer.measurements())).length;
  const y = Math.floor(ct.rows / 2);
  const [x1, x2] = [Math.floor(ct.columns * 0.2), Math.floor(ct.columns * 0.8)];
  const [p1, p2] = await page.evaluate(
    ([x1, x2, y]) => [window.lightboxViewer.pixelToClient(x1, y), window.lightboxViewer.pixelToClient(x2, y)],
    [x1, x2, y],
  );
  await page.mouse.move(p1[0], p1[1]);
  await page.mouse.down();
  for (let i = 1; i <= 10; i++) await page.mouse.move(p1[0] + ((p2[0] - p1[0]) * i) / 10, p1[1] + ((p2[1] - p1[1]) * i) / 10);
  await page.mouse.up();
  await page.waitForFunction(
    (n) => document.querySelectorAll('[data-testid=measurements] li[data-value]:not([data-value=""])').length === n,
    before + 1,
    { timeout: 5000 },
  );
  // The tool computes the value at most every 100 ms while dragging and
  // once more after the drag: wait until it stops changing.
  await page.waitForFunction(
    () => {
      const ms = window.lightboxViewer.measurements();
      const v = ms[ms.length - 1]?.value;
      const w = window.__lastLength;
      window.__lastLength = v;
      return v !== undefined && v === w;
    },
    null,
    { polling: 300, timeout: 5000 },
  );
  const ms = await page.evaluate(() => window.lightboxViewer.measurements());
  check(ms.length === before + 1, `${ms.length} measurements, want ${before + 1}`);
  const m = ms[ms.length - 1];
  const want = (x2 - x1) * ct.pixelSpacing[1]; // along a row: column spacing
  say(`  length ${m.value} ${m.unit}, expected ${want.toFixed(4)} mm`);
  check(m.unit === 'mm', `unit ${m.unit}, want mm`);
  check(near(m.value, want, want * 0.01), `measured ${m.value} mm, want ${want} mm (±1%)`);
  const label = `${m.value.toFixed(2)} mm`;
  await page.waitForFunction(
    (label) => {
      const vs = [...document.querySelectorAll('[data-testid=measurements] li .value')].map((e) => e.textContent);
      return vs[vs.length - 1] === label;
    },
    label,
    { timeout: 3000 },
  ).catch(() => {});
  const texts = await page.$$eval('[data-testid=measurements] li .value', (els) => els.map((e) => e.textContent));
  check(texts[texts.length - 1] === label, `measurement list shows ${JSON.stringify(texts)}, want ${label} last`);
  // The label drawn beside the line on the image (SVG) shows it too.
  await page.waitForFunction(
    (label) => [...document.querySelectorAll('[data-testid=viewport] svg text')].some((t) => t.textContent === label),
    label,
    { timeout: 3000 },
  ).catch(() => {});
  const svgTexts = await page.$$eval('[data-testid=viewport] svg text', (els) => els.map((e) => e.textContent));
  check(svgTexts.includes(label), `the label on the image shows ${JSON.stringify(svgTexts)}, want ${label}`);
}

// ---- helpers of the reading tools (ROI, angle, text, sharpen, crop) ----

/** clientOf maps image pixel (col,row) centres (fractions allowed) of viewport n to client coordinates. */
const clientOf = (page, col, row, n) => page.evaluate(([c, r, n]) => window.lightboxViewer.pixelToClient(c, r, n ?? undefined), [col, row, n ?? null]);

/** drag moves the mouse from a to b with the left button down, in steps. */
async function drag(page, a, b, steps = 10) {
  await page.mouse.move(a[0], a[1]);
  await page.mouse.down();
  for (let i = 1; i <= steps; i++) await page.mouse.move(a[0] + ((b[0] - a[0]) * i) / steps, a[1] + ((b[1] - a[1]) * i) / steps);
  await page.mouse.up();
}

/**
 * settledMeasurement waits until there are `count` measurements of tool and
 * the newest one's key field stops changing (the tools recompute at most
 * every 100 ms), and returns it.
 */
async function settledMeasurement(page, tool, count, field = 'value') {
  await page.waitForFunction(
    ([tool, count, field]) => {
      const ms = window.lightboxViewer.measurements().filter((m) => m.tool === tool);
      const v = JSON.stringify(ms[count - 1]?.[field] ?? null);
      const w = window.__lastMeasure;
      window.__lastMeasure = v;
      return ms.length === count && v !== 'null' && v === w;
    },
    [tool, count, field],
    { polling: 300, timeout: 8000 },
  );
  const ms = await page.evaluate((tool) => window.lightboxViewer.measurements().filter((m) => m.tool === tool), tool);
  return ms[count - 1];
}

/** statsOf is the mean and population standard deviation of pydicom's modality values (ct.hu) at pts. */
function statsOf(ct, pts) {
  const vals = pts.map(([x, y]) => ct.hu[y * ct.columns + x]);
  const n = vals.length;
  const mean = vals.reduce((a, b) => a + b, 0) / n;
  const sd = Math.sqrt(vals.reduce((a, b) => a + (b - mean) ** 2, 0) / n);
  return { n, mean, sd, min: Math.min(...vals), max: Math.max(...vals) };
}

/** edgeEnergy is the mean absolute difference between horizontal and vertical canvas neighbours (red channel) inside a client rectangle. */
const edgeEnergy = (page, rect, testid = 'viewport') =>
  page.evaluate(
    ([rect, testid]) => {
      const canvas = document.querySelector(`[data-testid=${testid}] canvas`);
      const cr = canvas.getBoundingClientRect();
      const s = canvas.width / cr.width;
      const x0 = Math.max(1, Math.floor((rect[0] - cr.left) * s));
      const y0 = Math.max(1, Math.floor((rect[1] - cr.top) * s));
      const x1 = Math.min(canvas.width - 2, Math.floor((rect[2] - cr.left) * s));
      const y1 = Math.min(canvas.height - 2, Math.floor((rect[3] - cr.top) * s));
      const d = canvas.getContext('2d', { willReadFrequently: true }).getImageData(0, 0, canvas.width, canvas.height).data;
      const at = (x, y) => d[(y * canvas.width + x) * 4];
      let sum = 0;
      let n = 0;
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          sum += Math.abs(at(x + 1, y) - at(x, y)) + Math.abs(at(x, y + 1) - at(x, y));
          n++;
        }
      }
      return sum / Math.max(1, n);
    },
    [rect, testid],
  );

/** checkSharpen switches the sharpen filter on and off, checking edge contrast and the restored image. */
async function checkSharpen(page, ct) {
  // The annotations are drawn in SVG above the canvas: they do not count.
  const tl = await clientOf(page, 0, 0);
  const br = await clientOf(page, ct.columns - 1, ct.rows - 1);
  const rect = [tl[0], tl[1], br[0], br[1]];
  const d0 = await canvasDigest(page);
  const e0 = await edgeEnergy(page, rect);
  await page.click('button[data-action=sharpen]');
  check((await viewerState(page)).sharpen, 'sharpen did not switch on');
  const d1 = await canvasDigestChanged(page, d0);
  check(d1.hash !== d0.hash, 'sharpen did not change the canvas');
  const e1 = await edgeEnergy(page, rect);
  say(`  edge energy ${e0.toFixed(3)} -> ${e1.toFixed(3)} with sharpen`);
  check(e1 > e0 * 1.3, `sharpen raised the edge energy only from ${e0} to ${e1}`);
  check(/Sharpen/.test(await overlayText(page, 'br')), 'overlay does not say Sharpen');
  await screenshot(page, `sharpen-${(await viewerState(page)).renderer}`);
  await page.click('button[data-action=sharpen]');
  const d2 = await canvasDigestChanged(page, d1);
  check(d2.hash === d0.hash, 'switching sharpen off did not restore the image');
}

/** checkCrop crops image pixels 4..11, checks the display and the mask, then fits to the window. */
async function checkCrop(page, ct) {
  const before = await viewerState(page);
  await page.click('button[data-tool=Crop]');
  // Image pixels 4..11 in both directions: the corners are pixel edges.
  await drag(page, await clientOf(page, 3.5, 3.5), await clientOf(page, 11.5, 11.5));
  await page.waitForFunction(() => window.lightboxViewer.state().cropped, null, { timeout: 5000 });
  await nextFrames(page);
  const st = await viewerState(page);
  const vpBox = await page.locator('[data-testid=viewport]').boundingBox();
  const wantScale = Math.min(vpBox.width, vpBox.height) / 8;
  say(`  scale ${before.scale.toFixed(2)} -> ${st.scale.toFixed(2)} (want ${wantScale.toFixed(2)})`);
  check(near(st.scale, wantScale, wantScale * 0.03), `cropped scale ${st.scale}, want ${wantScale}`);
  const centre = await clientOf(page, 7.5, 7.5);
  check(near(centre[0], vpBox.x + vpBox.width / 2, 3) && near(centre[1], vpBox.y + vpBox.height / 2, 3), `crop centre drawn at ${centre}, viewport centre ${vpBox.x + vpBox.width / 2},${vpBox.y + vpBox.height / 2}`);
  const inside = [];
  for (let y = 5; y <= 10; y += 1) for (let x = 5; x <= 10; x += 1) inside.push([x, y]);
  checkVOI(await samplePixels(page, inside), st, 'inside the crop');
  // Pixels left and right of the crop that are still on the canvas are masked black.
  const outside = [];
  for (let y = 4; y <= 11; y++) outside.push([3, y], [12, y]);
  const samples = await samplePixels(page, outside);
  let meaningful = 0;
  for (const s of samples) {
    const grey = expectedGrey(s.hu, st.voiLower, st.voiUpper, st.invert);
    if (grey > 20) meaningful++;
    check(s.rgb[0] === 0 && s.rgb[1] === 0 && s.rgb[2] === 0, `pixel (${s.x},${s.y}) outside the crop is drawn ${s.rgb}, want black`);
  }
  check(meaningful >= 3, `only ${meaningful} masked pixels would otherwise be visible: the check proves little`);
  check(/Cropped/.test(await overlayText(page, 'br')), 'overlay does not say Cropped');
  await screenshot(page, `cropped-${(await viewerState(page)).renderer}`);
  await page.click('button[data-tool=WindowLevel]');
  await page.click('button[data-action=fit]');
  await page.waitForFunction(() => !window.lightboxViewer.state().cropped, null, { timeout: 5000 });
  await nextFrames(page);
  const fit = await viewerState(page);
  check(near(fit.scale, before.scale, 0.01 * before.scale), `fit scale ${fit.scale}, want ${before.scale}`);
  const again = await samplePixels(page, outside);
  check(again.some((s) => s.rgb[0] > 0), 'after fit, the pixels outside the former crop are still black');
  checkVOI(again, fit, 'after fit');
  await screenshot(page, `fit-${(await viewerState(page)).renderer}`);
}

const overlayText = (page, corner) => page.locator(`[data-testid=overlay-${corner}]`).innerText();

// ---- the scenario ----

async function run(page, context) {
  if (process.env.LIGHTBOX_E2E_ONLY_IMAGES) {
    currentPage = page;
    await runImageCases(page);
    return;
  }
  currentPage = page;
  const ct = cfg.ct;
  const base = cfg.baseURL.replace(/\/$/, '');

  await step('home page lists the archive, sorts and pages', async () => {
    await page.goto(`${base}/`);
    await page.waitForSelector('[data-testid=search-status][data-count]', { timeout: 15000 });
    const count = Number(await page.getAttribute('[data-testid=search-status]', 'data-count'));
    check(count === cfg.studyCount, `home page lists ${count} studies, the archive holds ${cfg.studyCount}`);
    // Sort by patient name, ascending.
    await page.click('th a[data-sort=patient]');
    await page.waitForURL(/sort=patient/);
    await page.waitForSelector('[data-testid=search-status][data-count]');
    const names = await page.$$eval('table.studies tbody tr td:first-child', (tds) => tds.map((t) => t.textContent));
    const sorted = [...names].sort((a, b) => a.localeCompare(b, undefined, { sensitivity: 'base', numeric: true }));
    check(JSON.stringify(names) === JSON.stringify(sorted), `patient column not sorted: ${names.join(' | ')}`);
    if (count > 10) {
      // Ten per page, then the second page.
      await page.selectOption('.pager select', '10');
      await page.waitForURL(/size=10/);
      await page.waitForSelector('[data-testid=page-info]');
      check((await page.innerText('[data-testid=page-info]')).startsWith('1–10 of'), 'first page is not 1–10');
      await page.click('[data-testid=next-page]');
      await page.waitForURL(/page=2/);
      await page.waitForSelector('[data-testid=page-info]');
      const info = await page.innerText('[data-testid=page-info]');
      check(info.startsWith('11–'), `second page shows ${info}`);
    }
    await screenshot(page, 'home');
  });

  await step(`search patient name "${ct.searchName}" modality ${ct.modality}`, async () => {
    await page.goto(`${base}/`);
    await page.fill('[data-testid=search-name]', ct.searchName);
    await page.selectOption('select[name=mod]', ct.modality);
    if (ct.studyDate) {
      await page.fill('[data-testid=search-from]', ct.studyDate);
      await page.fill('[data-testid=search-to]', ct.studyDate);
    }
    await page.click('[data-testid=search-submit]');
    await page.waitForURL(/name=/);
    await page.waitForSelector('[data-testid=search-status][data-count]', { timeout: 15000 });
    const rows = await page.$$eval('table.studies tbody tr', (trs) =>
      trs.map((tr) => ({ uid: tr.dataset.study, cells: [...tr.cells].map((c) => c.textContent) })),
    );
    check(rows.length >= 1, 'the search found nothing');
    for (const r of rows) {
      check(r.cells[3].split(', ').includes(ct.modality), `row ${r.uid} modality ${r.cells[3]} is not ${ct.modality}`);
      check(r.cells[0].toLowerCase().startsWith(ct.patientFamily.toLowerCase()), `row ${r.uid} patient ${r.cells[0]}`);
    }
    const row = rows.find((r) => r.uid === ct.study);
    check(row, `study ${ct.study} not among the results`);
    check(row.cells[1] === ct.patientID, `patient ID cell ${row.cells[1]}, want ${ct.patientID}`);
    check(Number(row.cells[6]) === ct.seriesCount, `series count cell ${row.cells[6]}, want ${ct.seriesCount}`);
    await screenshot(page, 'search');
  });

  await step('open the study', async () => {
    await page.click(`tr[data-study="${ct.study}"] a.open-study`);
    await page.waitForURL(new RegExp(`/viewer/studies/${ct.study.replaceAll('.', '\\.')}`));
    await waitReady(page);
    const n = await page.locator('[data-testid=series-list] li').count();
    check(n === ct.seriesCount, `series list has ${n} entries, want ${ct.seriesCount}`);
    // Thumbnails: every image series gets one (server /thumbnail or drawn in the browser).
    await page.waitForFunction(
      (want) => document.querySelectorAll('[data-testid=series-list] .thumb[data-source]').length === want,
      ct.seriesCount,
      { timeout: 20000 },
    );
    const st = await viewerState(page);
    say(`  renderer: ${st.renderer}; first series ${st.series} (${st.count} images)`);
    say(`  timings from the click: ${await marks(page)}`);
    check(st.count > 0, 'no image shown');
    const tl = await overlayText(page, 'tl');
    check(tl.includes(ct.patientID), `top-left overlay lacks the patient ID: ${JSON.stringify(tl)}`);
    await screenshot(page, 'study');
  });

  let st;
  await step(`open the CT series ${ct.seriesNumber} (${ct.imageCount} images)`, async () => {
    await page.click(`[data-testid=series-list] a[data-series="${ct.series}"]`);
    await page.waitForFunction((s) => window.lightboxViewer?.state().series === s, ct.series);
    await waitReady(page);
    await waitIndex(page, 0);
    st = await viewerState(page);
    check(st.count === ct.imageCount, `stack has ${st.count} images, want ${ct.imageCount}`);
    check(st.sop === ct.instances[0], `first image ${st.sop}, want ${ct.instances[0]}`);
    check(near(st.window, ct.window, 0.5) && near(st.center, ct.center, 0.5), `initial W/L ${st.window}/${st.center}, want the file's ${ct.window}/${ct.center}`);
    await page.waitForURL(new RegExp(`/series/${ct.series.replaceAll('.', '\\.')}/instances/${ct.instances[0].replaceAll('.', '\\.')}$`));
    const bl = await overlayText(page, 'bl');
    check(bl.includes(`Im: 1/${ct.imageCount}`), `bottom-left overlay: ${JSON.stringify(bl)}`);
    const br = await overlayText(page, 'br');
    check(br.includes(`W: ${ct.window} L: ${ct.center}`), `bottom-right overlay: ${JSON.stringify(br)}`);
    const informative = checkVOI(await samplePixels(page, grid(ct.columns, ct.rows)), st, 'initial image');
    check(informative >= 3, `only ${informative} sampled pixels fall inside the window: the check proves little`);
    await screenshot(page, 'series');
  });

  await step('scroll with the keyboard and the mouse wheel', async () => {
    const before = await canvasDigest(page);
    await page.locator('[data-testid=viewport]').focus();
    await page.keyboard.press('ArrowDown');
    await waitIndex(page, 1);
    const afterKey = await canvasDigestChanged(page, before);
    check(afterKey.hash !== before.hash, 'the canvas did not change after scrolling to image 2');
    const box = await page.locator('[data-testid=viewport]').boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, 120);
    await waitIndex(page, 2);
    st = await viewerState(page);
    check(st.sop === ct.instances[2], `after the wheel the image is ${st.sop}, want ${ct.instances[2]}`);
    const bl = await overlayText(page, 'bl');
    check(bl.includes(`Im: 3/${ct.imageCount}`), `overlay after scrolling: ${JSON.stringify(bl)}`);
    await page.waitForURL(new RegExp(`/instances/${ct.instances[2].replaceAll('.', '\\.')}$`));
    checkVOI(await samplePixels(page, grid(ct.columns, ct.rows)), st, 'image 3');
    await screenshot(page, 'scrolled');
  });

  await step('window/level by dragging, then the CT presets', async () => {
    const before = await viewerState(page);
    const box = await page.locator('[data-testid=viewport]').boundingBox();
    const x0 = box.x + box.width / 2;
    const y0 = box.y + box.height / 2;
    await page.mouse.move(x0, y0);
    await page.mouse.down();
    for (let i = 1; i <= 10; i++) await page.mouse.move(x0 + i * 8, y0 + i * 5);
    await page.mouse.up();
    st = await viewerState(page);
    check(st.window > before.window, `dragging right did not widen the window: ${before.window} -> ${st.window}`);
    check(st.center !== before.center, `dragging down did not move the level: ${before.center} -> ${st.center}`);
    const br = await overlayText(page, 'br');
    check(br.includes(`W: ${Math.round(st.window)} L: ${Math.round(st.center)}`), `overlay after W/L drag: ${JSON.stringify(br)}`);
    checkVOI(await samplePixels(page, grid(ct.columns, ct.rows)), st, 'after W/L drag');
    await screenshot(page, 'wl-drag');

    const digests = new Set();
    for (const p of [
      { id: 'lung', w: 1500, c: -600 },
      { id: 'mediastinum', w: 350, c: 50 },
      { id: 'bone', w: 2000, c: 500 },
      { id: 'brain', w: 80, c: 40 },
      { id: 'abdomen', w: 400, c: 50 },
    ]) {
      await page.selectOption('[data-testid=wl-preset]', p.id);
      st = await viewerState(page);
      check(st.window === p.w && st.center === p.c, `preset ${p.id}: W/L ${st.window}/${st.center}`);
      await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
      checkVOI(await samplePixels(page, grid(ct.columns, ct.rows)), st, `preset ${p.id}`);
      const br2 = await overlayText(page, 'br');
      check(br2.includes(`W: ${p.w} L: ${p.c}`), `overlay for preset ${p.id}: ${JSON.stringify(br2)}`);
      digests.add((await canvasDigest(page)).hash);
      if (p.id === 'lung') await screenshot(page, 'preset-lung');
    }
    check(digests.size >= 4, `the five presets drew only ${digests.size} different images`);
    await screenshot(page, 'preset-abdomen');
  });

  await step('measure a length', async () => {
    await measureLength(page, ct);
    await page.click('button[data-tool=WindowLevel]');
    await screenshot(page, 'length');
  });

  await step('rotate, flip, invert, zoom, pan and reset', async () => {
    const vp = page.locator('[data-testid=viewport]');
    const d0 = await canvasDigest(page);
    await page.click('button[data-action=rotate]');
    st = await viewerState(page);
    check(st.rotation === 90, `rotation ${st.rotation}, want 90`);
    const d1 = await canvasDigestChanged(page, d0);
    check(d1.hash !== d0.hash, 'rotating did not change the canvas');
    await page.click('button[data-action=flip-h]');
    await page.click('button[data-action=flip-v]');
    st = await viewerState(page);
    check(st.flipH && st.flipV, `flips: H ${st.flipH} V ${st.flipV}`);
    await page.click('button[data-action=invert]');
    st = await viewerState(page);
    check(st.invert, 'invert did not take');
    checkVOI(await samplePixels(page, grid(ct.columns, ct.rows)), st, 'inverted, rotated and flipped');
    const br = await overlayText(page, 'br');
    check(/Rot: 90°/.test(br) && /Flip H/.test(br) && /Flip V/.test(br) && /Inverted/.test(br), `overlay flags: ${JSON.stringify(br)}`);
    await screenshot(page, 'rotated-flipped-inverted');

    // Zoom with the right button, pan with the middle one.
    const box = await vp.boundingBox();
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    const z0 = st.zoom;
    await page.mouse.move(cx, cy);
    await page.mouse.down({ button: 'right' });
    for (let i = 1; i <= 8; i++) await page.mouse.move(cx, cy - i * 10);
    await page.mouse.up({ button: 'right' });
    st = await viewerState(page);
    check(Math.abs(st.zoom - z0) > 0.05, `right-drag did not zoom: ${z0} -> ${st.zoom}`);
    const centreBefore = await page.evaluate(([c, r]) => window.lightboxViewer.pixelToClient(c, r), [ct.columns / 2, ct.rows / 2]);
    await page.mouse.move(cx, cy);
    await page.mouse.down({ button: 'middle' });
    for (let i = 1; i <= 8; i++) await page.mouse.move(cx + i * 5, cy + i * 5);
    await page.mouse.up({ button: 'middle' });
    const centreAfter = await page.evaluate(([c, r]) => window.lightboxViewer.pixelToClient(c, r), [ct.columns / 2, ct.rows / 2]);
    check(near(centreAfter[0] - centreBefore[0], 40, 3) && near(centreAfter[1] - centreBefore[1], 40, 3), `middle-drag by (40,40) moved the image by (${centreAfter[0] - centreBefore[0]}, ${centreAfter[1] - centreBefore[1]})`);
    await screenshot(page, 'zoomed-panned');

    await page.click('button[data-action=reset]');
    st = await viewerState(page);
    check(st.rotation === 0 && !st.flipH && !st.flipV && !st.invert, `reset left ${JSON.stringify(st)}`);
    check(near(st.window, ct.window, 0.5) && near(st.center, ct.center, 0.5), `reset W/L ${st.window}/${st.center}`);
    check(near(st.zoom, z0, 0.01), `reset zoom ${st.zoom}, want ${z0}`);
    checkVOI(await samplePixels(page, grid(ct.columns, ct.rows)), st, 'after reset');
    await screenshot(page, 'reset');
  });

  await step('deep link to the image opens it in a new tab', async () => {
    const url = page.url();
    check(url.includes(`/instances/${ct.instances[2]}`), `URL does not name the image: ${url}`);
    const p2 = await context.newPage();
    watch(p2);
    await p2.goto(url);
    await waitReady(p2);
    await waitIndex(p2, 2);
    const s2 = await viewerState(p2);
    check(s2.series === ct.series && s2.sop === ct.instances[2], `deep link opened ${s2.series} / ${s2.sop}`);
    await screenshot(p2, 'deep-link');
    await p2.close();
  });


  await step('rectangle and ellipse ROI: mean, SD and area match the pixel values', async () => {
    const vs = await viewerState(page);
    check(vs.sop === ct.instances[2], `the ROI steps measure image 3, the viewer shows ${vs.sop}`);
    // The viewer's modality values are pydicom's (the reference the statistics are computed from).
    const mismatch = await page.evaluate((ct) => {
      const v = window.lightboxViewer;
      for (let y = 0; y < ct.rows; y++) {
        for (let x = 0; x < ct.columns; x++) {
          const got = v.modalityValue(x, y);
          if (Math.abs(got - ct.hu[y * ct.columns + x]) > 1e-6) return `(${x},${y}) viewer ${got}, pydicom ${ct.hu[y * ct.columns + x]}`;
        }
      }
      return '';
    }, ct);
    check(mismatch === '', `modality value differs from pydicom at ${mismatch}`);
    const [sx, sy] = [ct.pixelSpacing[1], ct.pixelSpacing[0]]; // column, row spacing
    // Rectangle: image pixels x1..x2 × y1..y2, corners 0.3 pixel outside their centres.
    await page.click('button[data-tool=RectangleROI]');
    const [x1, y1, x2, y2] = [3, 4, 10, 11];
    await drag(page, await clientOf(page, x1 - 0.3, y1 - 0.3), await clientOf(page, x2 + 0.3, y2 + 0.3));
    const rect = await settledMeasurement(page, 'RectangleROI', 1, 'stats');
    const inRect = [];
    for (let y = y1; y <= y2; y++) for (let x = x1; x <= x2; x++) inRect.push([x, y]);
    const want = statsOf(ct, inRect);
    say(`  rectangle ROI: mean ${rect.stats.mean} SD ${rect.stats.stdDev} area ${rect.stats.area} ${rect.stats.areaUnit} ${rect.stats.modalityUnit}; expected mean ${want.mean.toFixed(3)} SD ${want.sd.toFixed(3)} over ${want.n} pixels`);
    check(want.sd > 1, `the rectangle covers a flat region (SD ${want.sd}): the check proves little`);
    check(near(rect.stats.mean, want.mean, 0.01 + Math.abs(want.mean) * 1e-4), `rectangle mean ${rect.stats.mean}, want ${want.mean}`);
    check(near(rect.stats.stdDev, want.sd, 0.01 + want.sd * 1e-3), `rectangle SD ${rect.stats.stdDev}, want ${want.sd}`);
    const wantArea = (x2 - x1 + 0.6) * sx * (y2 - y1 + 0.6) * sy;
    check(near(rect.stats.area, wantArea, wantArea * 0.03), `rectangle area ${rect.stats.area}, want ${wantArea.toFixed(2)} mm² (±3%)`);
    check(rect.stats.areaUnit === 'mm²', `area unit ${rect.stats.areaUnit}`);
    check(rect.stats.modalityUnit === 'HU', `CT ROI unit ${rect.stats.modalityUnit}, want HU`);
    const rectText = await page.locator('[data-testid=measurements] li[data-tool=RectangleROI] .value').innerText();
    check(rectText.includes(`mean ${rect.stats.mean.toFixed(2)} HU`) && rectText.includes('mm²'), `list shows ${JSON.stringify(rectText)}`);

    // Ellipse inscribed in the box [3.3, 10.7] × [3.2, 9.8] (pixel-centre
    // coordinates), drawn from its centre to a corner of the box.
    await page.click('button[data-tool=EllipticalROI]');
    const box = [3.3, 3.2, 10.7, 9.8]; // no pixel centre within 0.12 of the edge
    const [cx, cy, rx, ry] = [(box[0] + box[2]) / 2, (box[1] + box[3]) / 2, (box[2] - box[0]) / 2, (box[3] - box[1]) / 2];
    await drag(page, await clientOf(page, cx, cy), await clientOf(page, box[2], box[3]));
    const ell = await settledMeasurement(page, 'EllipticalROI', 1, 'stats');
    const inEll = [];
    for (let y = 0; y < ct.rows; y++) {
      for (let x = 0; x < ct.columns; x++) {
        const r = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2;
        check(Math.abs(r - 1) > 0.05, `pixel (${x},${y}) lies on the ellipse's edge: choose another box`);
        if (r < 1) inEll.push([x, y]);
      }
    }
    const wantE = statsOf(ct, inEll);
    say(`  ellipse ROI: mean ${ell.stats.mean} SD ${ell.stats.stdDev} area ${ell.stats.area}; expected mean ${wantE.mean.toFixed(3)} SD ${wantE.sd.toFixed(3)} over ${wantE.n} pixels`);
    check(near(ell.stats.mean, wantE.mean, 0.01 + Math.abs(wantE.mean) * 1e-4), `ellipse mean ${ell.stats.mean}, want ${wantE.mean}`);
    check(near(ell.stats.stdDev, wantE.sd, 0.01 + wantE.sd * 1e-3), `ellipse SD ${ell.stats.stdDev}, want ${wantE.sd}`);
    const wantEArea = Math.PI * rx * sx * ry * sy;
    check(near(ell.stats.area, wantEArea, wantEArea * 0.03), `ellipse area ${ell.stats.area}, want ${wantEArea.toFixed(2)} mm² (±3%)`);
    check(ell.stats.modalityUnit === 'HU', `ellipse unit ${ell.stats.modalityUnit}`);
    check((await viewerState(page)).index === vs.index, 'drawing scrolled the stack');
    await screenshot(page, 'roi');
  });

  await step('text annotation', async () => {
    await page.click('button[data-tool=ArrowAnnotate]');
    await drag(page, await clientOf(page, 13.5, 1.5), await clientOf(page, 11, 3));
    await page.waitForSelector('[data-testid=annotation-text]', { timeout: 5000 }).catch(async () => {
      const st = await page.evaluate(() => ({ tools: window.lightboxViewer.measurements().map((m) => m.tool), tool: window.lightboxViewer.state().primaryTool }));
      throw new CheckError(`no text prompt after drawing an arrow; annotations ${JSON.stringify(st)}`);
    });
    await page.fill('[data-testid=annotation-text]', 'lesion A');
    await page.keyboard.press('Enter');
    const m = await settledMeasurement(page, 'ArrowAnnotate', 1, 'text');
    check(m.text === 'lesion A', `annotation text ${JSON.stringify(m.text)}`);
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=viewport] svg text')].some((t) => t.textContent === 'lesion A'), null, { timeout: 5000 });
    await page.click('button[data-tool=WindowLevel]');
    await screenshot(page, 'text-annotation');
  });

  await step('measure an angle', async () => {
    await page.click('button[data-tool=Angle]');
    // Arms from the vertex (8,8) to (3,3) and to (13,8): 135°.
    const a = await clientOf(page, 3, 3);
    const b = await clientOf(page, 8, 8);
    const c = await clientOf(page, 13, 8);
    await drag(page, a, b);
    for (let i = 1; i <= 10; i++) await page.mouse.move(b[0] + ((c[0] - b[0]) * i) / 10, b[1] + ((c[1] - b[1]) * i) / 10);
    await page.mouse.down();
    await page.mouse.up();
    const m = await settledMeasurement(page, 'Angle', 1);
    say(`  angle ${m.value}°, drawn 135°`);
    check(near(m.value, 135, 1), `angle ${m.value}°, want 135° ±1`);
    const t = await page.locator('[data-testid=measurements] li[data-tool=Angle] .value').innerText();
    check(t === `${m.value.toFixed(1)}°`, `angle list entry ${JSON.stringify(t)}`);
    await screenshot(page, 'angle');
  });

  await step('sharpen raises edge contrast and switches off again', () => checkSharpen(page, ct));

  await step('crop to a region, then fit to the window', () => checkCrop(page, ct));

  await step('MR auto window from the pixel statistics', async () => {
    const mr = cfg.mrAuto;
    await page.goto(`${base}/viewer/studies/${mr.study}/series/${mr.series}`);
    await waitReady(page);
    await waitIndex(page, 0);
    // The file has no window: the viewer sets the automatic one on load.
    // The frame rate box holds the file's rate: Frame Time 69.47 ms, 14 frames/s.
    await page.waitForFunction((want) => document.querySelector('[data-testid=cine-fps]').value === want, String(mr.fps), { timeout: 5000 });
    // pydicom's percentiles of frame 1 (computed by the Go test).
    const want = { lower: mr.autoLower, upper: mr.autoUpper, min: mr.min, max: mr.max };
    const bad = await page.evaluate(
      (samples) => samples.filter(([x, y, val]) => Math.abs(window.lightboxViewer.modalityValue(x, y) - val) > 1e-6).map((s) => s.join(',')),
      mr.samples,
    );
    check(mr.samples.length >= 16 && bad.length === 0, `MR modality values differ from pydicom at ${bad.join(' ')}`);
    await page.waitForFunction((w) => Math.abs(window.lightboxViewer.state().voiLower - w.lower) < 1e-6, want, { timeout: 5000 });
    let st = await viewerState(page);
    say(`  MR auto VOI ${st.voiLower}..${st.voiUpper}; percentiles 1/99 ${want.lower}..${want.upper}; min..max ${want.min}..${want.max}`);
    check(near(st.voiLower, want.lower, 1e-6) && near(st.voiUpper, want.upper, 1e-6), `auto VOI ${st.voiLower}..${st.voiUpper}, want ${want.lower}..${want.upper}`);
    check(want.upper < want.max || want.lower > want.min, 'the percentiles equal min..max: the check proves little');
    checkVOI(await samplePixels(page, grid(mr.columns, mr.rows)), st, 'MR auto window');
    // The preset goes back to it after another window.
    await page.selectOption('[data-testid=wl-preset]', 'lung');
    await page.selectOption('[data-testid=wl-preset]', 'auto');
    st = await viewerState(page);
    check(near(st.voiLower, want.lower, 1e-6) && near(st.voiUpper, want.upper, 1e-6), `MR auto preset VOI ${st.voiLower}..${st.voiUpper}`);
    // And the toolbar button does the same.
    await page.selectOption('[data-testid=wl-preset]', 'brain');
    check((await viewerState(page)).window === 80, 'brain preset did not apply');
    await page.click('button[data-action=auto-wl]');
    st = await viewerState(page);
    check(near(st.voiLower, want.lower, 1e-6) && near(st.voiUpper, want.upper, 1e-6), `MR auto button VOI ${st.voiLower}..${st.voiUpper}`);
    await screenshot(page, 'mr-auto');
  });


  await step('cine through the multi-frame MR at the chosen frame rate', async () => {
    const mr = cfg.mrAuto;
    let st = await viewerState(page);
    check(st.count === mr.frames, `the MR stack has ${st.count} images, want its ${mr.frames} frames`);
    /**
     * rate plays cine at fps and counts the frames shown until `frames`
     * more have been, returning frames per second over that window.
     */
    const rate = async (fps, frames) => {
      await page.fill('[data-testid=cine-fps]', String(fps));
      await page.locator('[data-testid=cine-fps]').dispatchEvent('change');
      if ((await viewerState(page)).cineFps === 0) await page.click('button[data-action=cine]');
      await page.waitForFunction((fps) => window.lightboxViewer.state().cineFps === fps, fps, { timeout: 3000 });
      // Start counting at a frame change, so the window holds whole frames.
      const n0 = await page.evaluate(() => window.lightboxViewer.state().newImages);
      await page.waitForFunction((n0) => window.lightboxViewer.state().newImages > n0, n0, { timeout: 5000, polling: 'raf' });
      const start = await page.evaluate(() => ({ n: window.lightboxViewer.state().newImages, t: performance.now() }));
      await page.waitForFunction(
        ([start, frames]) => window.lightboxViewer.state().newImages - start.n >= frames,
        [start, frames],
        { timeout: (frames / fps) * 4000 + 5000, polling: 'raf' },
      );
      const end = await page.evaluate(() => ({ n: window.lightboxViewer.state().newImages, t: performance.now() }));
      return ((end.n - start.n) * 1000) / (end.t - start.t);
    };
    // Only upper bounds and the direction are asserted: a busy machine can
    // slow cine down (the rate is a target, not a guarantee), but never make
    // it run faster than asked. The measured rates are logged.
    const slow = await rate(4, 6);
    say(`  cine at 4 fps: ${slow.toFixed(2)} frames/s`);
    check(slow < 4 * 1.4, `cine at 4 fps showed ${slow.toFixed(2)} frames/s, faster than asked`);
    st = await viewerState(page);
    check(/Cine 4 fps/.test(await overlayText(page, 'br')), 'overlay does not say Cine 4 fps');
    check(st.frame >= 1 && st.frame <= mr.frames, `frame ${st.frame}`);
    await screenshot(page, 'cine');
    const fast = await rate(12, 18);
    say(`  cine at 12 fps: ${fast.toFixed(2)} frames/s`);
    check(fast > slow && fast < 12 * 1.4, `raising the frame rate to 12 fps gave ${fast.toFixed(2)} frames/s (4 fps gave ${slow.toFixed(2)})`);
    // Every frame of the instance is shown in turn (the clip loops).
    const seen = await page.evaluate(async (n) => {
      const frames = new Set();
      const t0 = performance.now();
      while (frames.size < n && performance.now() - t0 < 10000) {
        frames.add(window.lightboxViewer.state().frame);
        await new Promise((r) => requestAnimationFrame(r));
      }
      return frames.size;
    }, mr.frames);
    check(seen === mr.frames, `cine showed ${seen} of the ${mr.frames} frames`);
    await page.click('button[data-action=cine]');
    st = await viewerState(page);
    check(st.cineFps === 0, 'cine did not stop');
    const stopped = st.newImages;
    // Over a window of five frame periods at the last rate, nothing moves.
    await page.evaluate(() => new Promise((r) => setTimeout(r, 400)));
    check((await viewerState(page)).newImages === stopped, 'frames still advance after Stop');
  });


  await step('layouts 1x2 and 2x2, series into the active viewport, synchronised scrolling, a prior beside the study', async () => {
    const vps = () => page.evaluate(() => window.lightboxViewer.viewports());
    /** waitPane waits until viewport n is ready with the given state fields. */
    const waitPane = (n, want = {}) =>
      page.waitForFunction(
        ([n, want]) => {
          const v = window.lightboxViewer?.viewports()[n - 1];
          return !!v && v.ready && Object.entries(want).every(([k, x]) => v[k] === x);
        },
        [n, want],
        { timeout: 15000 },
      );
    const clickPane = async (n) => {
      const box = await page.locator(`[data-testid=viewport${n === 1 ? '' : `-${n}`}]`).boundingBox();
      await page.mouse.click(box.x + 10, box.y + box.height / 2);
      await page.waitForFunction((n) => window.lightboxViewer.state().active === n, n, { timeout: 3000 });
    };
    await page.goto(`${base}/viewer/studies/${ct.study}/series/${ct.series}`);
    await waitReady(page);
    await waitIndex(page, 0);

    // 1x2: the second viewport gets the study's other series.
    await page.click('button[data-layout="1x2"]');
    check((await page.getAttribute('[data-testid=viewports]', 'data-layout')) === '1x2', 'layout attribute is not 1x2');
    await waitPane(2, { series: ct.scoutSeries });
    let v = await vps();
    check(v.length === 2, `${v.length} viewports in 1x2`);
    check((await viewerState(page)).active === 1, 'the first viewport is not the active one');
    const b1 = await page.locator('[data-testid=viewport]').boundingBox();
    const b2 = await page.locator('[data-testid=viewport-2]').boundingBox();
    check(b2.x > b1.x + b1.width - 5 && near(b1.y, b2.y, 2) && near(b1.width, b2.width, 4), `1x2 viewports at ${JSON.stringify([b1, b2])}`);

    // Clicking the second viewport makes it the active (highlighted) one; a series chosen goes into it.
    await clickPane(2);
    const borders = await page.$$eval('[data-testid=viewports] > .viewport-wrap', (els) => els.map((e) => [e.classList.contains('active'), getComputedStyle(e).borderTopColor]));
    check(borders[1][0] && !borders[0][0] && borders[0][1] !== borders[1][1], `active viewport not highlighted: ${JSON.stringify(borders)}`);
    await page.click(`[data-testid=series-list] a[data-series="${ct.series}"]`);
    await waitPane(2, { series: ct.series, index: 0 });
    v = await vps();
    check(v[0].series === ct.series && v[1].series === ct.series, `viewports show ${v.map((x) => x.series)}`);

    // Synchronised scrolling by slice position (same frame of reference).
    await clickPane(1);
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await waitPane(1, { index: 2 });
    check((await vps())[1].index === 0, 'the second viewport moved before Sync was on');
    await page.click('button[data-action=sync]');
    check((await viewerState(page)).sync, 'sync did not switch on');
    await page.locator('[data-testid=viewport]').focus();
    await page.keyboard.press('ArrowDown');
    await waitPane(1, { index: 3 });
    // By position the second viewport shows the same slice (index 3), where
    // scrolling by count would have moved it to index 1.
    await waitPane(2, { index: 3 });
    v = await vps();
    check(v[0].sop === v[1].sop, `synchronised viewports show ${v[0].sop} and ${v[1].sop}`);
    const bl2 = await overlayText(page, 'bl-2');
    check(bl2.includes(`Im: 4/${ct.imageCount}`), `second viewport's overlay: ${JSON.stringify(bl2)}`);
    await screenshot(page, 'layout-1x2-sync');

    // Prior studies of the patient (QIDO by Patient ID) beside the study.
    await page.waitForSelector('[data-testid=prior-list][data-count]', { timeout: 10000 });
    const priors = await page.$$eval('[data-testid=prior-list] > li[data-study]', (els) => els.map((e) => e.dataset.study));
    check(JSON.stringify([...priors].sort()) === JSON.stringify([...ct.priors].sort()), `priors listed ${JSON.stringify(priors)}, want ${JSON.stringify(ct.priors)}`);
    // Compare: the prior opens in the second viewport, which becomes active.
    await page.click(`[data-testid=prior-list] > li[data-study="${ct.priorStudy}"] button[data-action=compare]`);
    await waitPane(2, { study: ct.priorStudy });
    check((await viewerState(page)).active === 2, 'compare did not make the second viewport active');
    // One of the prior's series into the active viewport.
    await page.click(`[data-testid=prior-list] > li[data-study="${ct.priorStudy}"] button[data-series="${ct.priorSeries}"]`);
    await waitPane(2, { series: ct.priorSeries, index: 0 });
    v = await vps();
    check(v[1].count === ct.priorSeriesCount, `prior series has ${v[1].count} images, want ${ct.priorSeriesCount}`);
    check(v[1].frameOfReference !== v[0].frameOfReference, 'the prior shares the frame of reference: the index sync is untested');
    await page.waitForURL(new RegExp(`/studies/${ct.priorStudy.replaceAll('.', '\\.')}/series/`));
    // Another frame of reference: scrolling synchronises by count.
    await clickPane(1);
    await page.keyboard.press('ArrowDown');
    await waitPane(1, { index: 4 });
    await waitPane(2, { index: 1 });
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    await waitPane(1, { index: 2 });
    await waitPane(2, { index: 0 });
    await screenshot(page, 'layout-1x2-prior');

    // The address bar names the active viewport's image: a deep link to it still works.
    await page.waitForURL(new RegExp(`/series/${ct.series.replaceAll('.', '\\.')}/instances/${ct.instances[2].replaceAll('.', '\\.')}$`));
    const p2 = await context.newPage();
    watch(p2);
    await p2.goto(page.url());
    await waitReady(p2);
    await waitIndex(p2, 2);
    const s2 = await viewerState(p2);
    check(s2.series === ct.series && s2.sop === ct.instances[2], `deep link opened ${s2.series} / ${s2.sop}`);
    await p2.close();

    // 2x2, then back to 1x1 keeping the first viewport's image.
    await page.click('button[data-layout="2x2"]');
    await waitPane(4);
    v = await vps();
    check(v.length === 4 && v.every((x) => x.count > 0), `2x2 viewports: ${JSON.stringify(v.map((x) => [x.series, x.count]))}`);
    const boxes = await Promise.all(['', '-2', '-3', '-4'].map((s) => page.locator(`[data-testid=viewport${s}]`).boundingBox()));
    check(near(boxes[0].y, boxes[1].y, 2) && boxes[2].y > boxes[0].y + boxes[0].height - 5 && near(boxes[0].x, boxes[2].x, 2), `2x2 boxes ${JSON.stringify(boxes)}`);
    // Series dragged from the lists onto a viewport are shown there.
    await page.dragAndDrop(`[data-testid=series-list] a[data-series="${ct.series}"]`, '[data-testid=viewport-4]');
    await waitPane(4, { series: ct.series, study: ct.study });
    check((await viewerState(page)).active === 4, 'the viewport a series was dropped on is not the active one');
    await page.dragAndDrop(`[data-testid=prior-list] li:has(> button[data-series="${ct.priorSeries}"])`, '[data-testid=viewport-3]');
    await waitPane(3, { series: ct.priorSeries, study: ct.priorStudy });
    await screenshot(page, 'layout-2x2');
    await page.click('button[data-layout="1x1"]');
    v = await vps();
    check(v.length === 1 && v[0].series === ct.series && v[0].index === 2, `back to 1x1: ${JSON.stringify(v.map((x) => [x.series, x.index]))}`);
    check((await viewerState(page)).active === 1, 'back to 1x1, the remaining viewport is not the active one');
    check((await page.locator('[data-testid=viewport-2]').count()) === 0, 'the second viewport is still on the page');

    // Cine through a series of single-frame images (not only a multi-frame instance).
    await page.fill('[data-testid=cine-fps]', '6');
    await page.locator('[data-testid=cine-fps]').dispatchEvent('change');
    await page.click('button[data-action=cine]');
    const shown = await page.evaluate(async (n) => {
      const sops = new Set();
      const t0 = performance.now();
      while (sops.size < n && performance.now() - t0 < 10000) {
        sops.add(window.lightboxViewer.state().sop);
        await new Promise((r) => requestAnimationFrame(r));
      }
      return sops.size;
    }, ct.imageCount);
    await page.click('button[data-action=cine]');
    check(shown === ct.imageCount, `cine through the series showed ${shown} of its ${ct.imageCount} images`);
    check((await viewerState(page)).cineFps === 0, 'series cine did not stop');
  });

  // The steps above ran on the renderer the viewer picks by itself (the
  // CPU one where, as here, WebGL is only a software rasteriser). The
  // WebGL path must draw the same greys and measure the same lengths.
  await step('the WebGL renderer (?renderer=gpu) draws and measures the same', async () => {
    const p3 = await context.newPage();
    watch(p3);
    currentPage = p3;
    const first = (await viewerState(page)).renderer;
    await p3.goto(`${base}/viewer/studies/${ct.study}/series/${ct.series}/instances/${ct.instances[1]}?renderer=gpu`);
    await waitReady(p3);
    await waitIndex(p3, 1);
    let s3 = await viewerState(p3);
    say(`  renderer: ${s3.renderer} (the scenario ran on ${first})`);
    check(s3.renderer === 'webgl', 'no WebGL in this browser: the GPU path is untested');
    checkVOI(await samplePixels(p3, grid(ct.columns, ct.rows)), s3, 'WebGL, file window');
    await p3.locator('[data-testid=viewport]').focus();
    await p3.keyboard.press('1'); // lung preset
    s3 = await viewerState(p3);
    check(s3.window === 1500 && s3.center === -600, `key 1 (lung): W/L ${s3.window}/${s3.center}`);
    await p3.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    checkVOI(await samplePixels(p3, grid(ct.columns, ct.rows)), s3, 'WebGL, lung preset');
    await measureLength(p3, ct);
    // The display filters post-process the drawn canvas on this path too.
    await p3.click('button[data-tool=WindowLevel]');
    await checkSharpen(p3, ct);
    await checkCrop(p3, ct);
    await screenshot(p3, 'webgl');
    await p3.goto(`${base}/?renderer=auto`);
    await p3.close();
    currentPage = page;
  });

  // JPEG 2000, colour ultrasound, and a file the browser cannot decode.
  await runImageCases(page);
}

/**
 * openImageCase opens an image case: from the home page (search by patient
 * ID and modality, open the study) when it has a patient ID, else by its URL.
 */
async function openImageCase(page, c) {
  const base = cfg.baseURL;
  if (c.patientID) {
    await page.goto(`${base}/`);
    await page.fill('[data-testid=search-pid]', c.patientID);
    await page.selectOption('select[name=mod]', c.modality);
    await page.click('[data-testid=search-submit]');
    await page.waitForURL(/pid=/);
    await page.waitForSelector(`tr[data-study="${c.study}"] a.open-study`, { timeout: 15000 });
    await page.click(`tr[data-study="${c.study}"] a.open-study`);
    await page.waitForURL(new RegExp(`/viewer/studies/${c.study.replaceAll('.', '\\.')}`));
  } else {
    await page.goto(`${base}/viewer/studies/${c.study}/series/${c.series}/instances/${c.sop}`);
  }
  await page.waitForFunction((s) => window.lightboxViewer?.state().sop === s, c.sop, { timeout: 60000 });
  await waitReady(page);
}

/**
 * checkImageCase compares what the viewer holds and draws for one frame of
 * an image case with the reference decoder's values: modality values for
 * grey images (and the drawn greys under the window shown), the RGB drawn on
 * the canvas for colour ones; and where it was decoded.
 */
async function checkImageCase(page, c, fc) {
  const st = await viewerState(page);
  check(st.sop === c.sop && st.frame === fc.frame, `showing ${st.sop} frame ${st.frame}, want ${c.sop} frame ${fc.frame}`);
  check(st.count === c.frames, `stack has ${st.count} images, want ${c.frames}`);
  const decode = await page.$eval('[data-testid=viewport]', (el) => el.dataset.decode);
  check(decode === c.decode, `decoded in the ${decode}, want ${c.decode}`);
  const all = (await page.locator('.viewport-wrap[data-pane="1"]').innerText()).replace(/\s+/g, ' ');
  check((c.decode === 'server') === all.includes('Server-decoded'), `overlay ${c.decode === 'server' ? 'lacks' : 'shows'} "Server-decoded": ${JSON.stringify(all.slice(0, 300))}`);
  check((c.decode === 'rendered') === all.includes('Rendered by the server'), `overlay ${c.decode === 'rendered' ? 'lacks' : 'shows'} "Rendered by the server": ${JSON.stringify(all.slice(0, 300))}`);
  const size = await page.evaluate(() => window.lightboxViewer.imageSize());
  check(size && size[0] === c.columns && size[1] === c.rows, `image size ${size}, want ${c.columns}x${c.rows}`);
  const pts = fc.samples.map((s) => [s[0], s[1]]);
  const got = await samplePixels(page, pts);
  let worst = 0;
  const bad = [];
  if (c.decode === 'rendered') {
    // The server's 8-bit rendering under the file's window, drawn as is.
    const [w, ctr] = c.window;
    const lower = ctr - 0.5 - (w - 1) / 2;
    const upper = ctr - 0.5 + (w - 1) / 2;
    for (let i = 0; i < got.length; i++) {
      const want = expectedGrey(fc.samples[i][2], lower, upper);
      const d = Math.max(...got[i].rgb.map((v) => Math.abs(v - want)));
      worst = Math.max(worst, d);
      if (!(d <= c.tol)) bad.push(`(${pts[i]}) drawn ${got[i].rgb} vs ${want.toFixed(1)} (value ${fc.samples[i][2]})`);
    }
    const inside = fc.samples.filter((s) => s[2] > lower && s[2] < upper).length;
    check(inside >= 3, `only ${inside} samples inside the window`);
  } else if (!c.colour) {
    for (let i = 0; i < got.length; i++) {
      const d = Math.abs(got[i].hu - fc.samples[i][2]);
      worst = Math.max(worst, d);
      if (!(d <= c.tol)) bad.push(`(${pts[i]}) ${got[i].hu} vs ${fc.samples[i][2]}`);
    }
    // Drawn greys under the window shown; where the image is minified a
    // screen pixel mixes several image pixels, so only the values are checked there.
    if (got.every((g) => g.zoom >= 1)) {
      const informative = checkVOI(got, st, c.name);
      check(informative >= 3, `${c.name}: only ${informative} sampled pixels fall inside the window`);
    } else say(`  ${c.name}: shown minified (${got[0].zoom.toFixed(2)} screen pixels per image pixel); drawn greys not compared`);
  } else {
    for (let i = 0; i < got.length; i++) {
      const want = fc.samples[i].slice(2, 5);
      const tol = c.tol + (fc.samples[i][5] ?? 0);
      const d = Math.max(...got[i].rgb.map((v, k) => Math.abs(v - want[k])));
      worst = Math.max(worst, d);
      if (!(d <= tol)) bad.push(`(${pts[i]}) rgb ${got[i].rgb} vs ${want} ±${tol}`);
    }
    const coloured = fc.samples.filter((s) => Math.max(...s.slice(2, 5)) - Math.min(...s.slice(2, 5)) > 20).length;
    say(`  ${coloured} of the samples are coloured (YBR_FULL_422 chroma)`);
    check(coloured >= 5, `only ${coloured} coloured samples`);
    // The samples must say something: not all one colour.
    const distinct = new Set(fc.samples.map((s) => s.slice(2, 5).join(','))).size;
    check(distinct >= 3, `only ${distinct} distinct reference colours among the samples`);
  }
  say(`  ${c.name} frame ${fc.frame}: ${got.length} samples vs ${c.reference}, worst difference ${worst} (tolerance ${c.tol}); decoded: ${decode}`);
  check(bad.length === 0, `${c.name} frame ${fc.frame}: ${bad.length} samples differ from ${c.reference}: ${bad.slice(0, 5).join('; ')}`);
}

/**
 * breakBrowserDecode makes the browser's decode of an instance fail: its
 * frames asked as stored bytes (transfer-syntax=*) are answered with a
 * JPEG 2000 stream of garbage; other requests (the server-decoded ones) go
 * to the server. It returns the Accept headers and answered content types
 * of the instance's frame requests.
 */
async function breakBrowserDecode(page, c) {
  const seen = [];
  const pattern = `**/instances/${c.sop}/frames/**`;
  // A syntax the loader has no decoder for: the series metadata is made to
  // say so ((0002,0010) relabelled); the frames stay the server's real ones.
  const metaPattern = `**/series/${c.series}/metadata*`;
  if (c.pretendSyntax) {
    await page.route(metaPattern, async (route) => {
      const resp = await route.fetch();
      const list = await resp.json();
      for (const m of list) {
        if (m['00080018']?.Value?.[0] === c.sop) m['00020010'] = { vr: 'UI', Value: [c.pretendSyntax] };
      }
      await route.fulfill({ response: resp, body: JSON.stringify(list) });
    });
  }
  await page.route(pattern, async (route) => {
    if (/\/rendered(\?|$)/.test(route.request().url())) {
      seen.push({ accept: 'rendered', type: 'rendered' });
      await route.continue();
      return;
    }
    const accept = route.request().headers()['accept'] ?? '';
    if (/transfer-syntax=\*/.test(accept) && c.breakBrowserDecode) {
      const boundary = 'lightbox-e2e-broken';
      const head = `--${boundary}\r\nContent-Type: application/octet-stream; transfer-syntax=${c.syntax}\r\n\r\n`;
      const garbage = Buffer.alloc(64);
      garbage.set([0xff, 0x4f, 0xff, 0x51]); // a J2K start of codestream, then nothing valid
      const body = Buffer.concat([Buffer.from(head), garbage, Buffer.from(`\r\n--${boundary}--\r\n`)]);
      seen.push({ accept, type: 'broken' });
      await route.fulfill({
        status: 200,
        headers: { 'content-type': `multipart/related; type="application/octet-stream"; transfer-syntax=${c.syntax}; boundary=${boundary}` },
        body,
      });
      return;
    }
    if (c.breakServerDecode) {
      seen.push({ accept, type: 'refused' });
      await route.fulfill({ status: 500, contentType: 'text/plain', body: 'the test refuses to decode this frame' });
      return;
    }
    const resp = await route.fetch();
    seen.push({ accept, type: resp.headers()['content-type'] });
    if (resp.status() !== 200) say(`  ${route.request().url()}: ${resp.status()} ${(await resp.text()).slice(0, 300)}`);
    await route.fulfill({ response: resp });
  });
  return {
    seen,
    undo: async () => {
      await page.unroute(pattern);
      if (c.pretendSyntax) await page.unroute(metaPattern);
    },
  };
}

async function runImageCases(page) {
  for (const c of cfg.images ?? []) {
    await step(`${c.name}: ${c.file} drawn as ${c.reference} decodes it`, async () => {
      const broken = c.breakBrowserDecode || c.pretendSyntax ? await breakBrowserDecode(page, c) : undefined;
      await openImageCase(page, c);
      await broken?.undo();
      // The stored syntax is the one the case is about (a duplicate SOP
      // Instance UID in the corpus would keep another file).
      const meta = await page.evaluate(
        async ([st, se]) => (await fetch(`/dicom-web/studies/${st}/series/${se}/metadata`, { headers: { Accept: 'application/dicom+json' } })).json(),
        [c.study, c.series],
      );
      const inst = meta.find((m) => m['00080018']?.Value?.[0] === c.sop);
      check(inst?.['00020010']?.Value?.[0] === c.syntax, `stored transfer syntax ${inst?.['00020010']?.Value?.[0]}, want ${c.syntax}`);
      if (broken) {
        say(`  frame requests: ${broken.seen.map((r) => `${r.accept} -> ${r.type}`).join('; ')}`);
        if (c.pretendSyntax) {
          check(!broken.seen.some((r) => /transfer-syntax=\*/.test(r.accept)), `the viewer asked for stored ${c.pretendSyntax} bytes it cannot decode`);
        } else check(broken.seen.some((r) => r.type === 'broken'), 'the viewer never asked for the stored bytes');
        check(broken.seen.some((r) => r.type === 'rendered') === (c.decode === 'rendered'), `rendered frame ${c.decode === 'rendered' ? 'never' : 'also'} asked for`);
        check(
          broken.seen.some((r) => /transfer-syntax=1\.2\.840\.10008\.1\.2\.1$/.test(r.accept) && (c.breakServerDecode ? r.type === 'refused' : /^multipart\/related/.test(r.type ?? ''))),
          'no frame was asked for (and answered) in Explicit VR Little Endian (server-decoded)',
        );
      }
      for (const fc of c.checks) {
        if (fc.frame !== 1) {
          await page.goto(`${cfg.baseURL}/viewer/studies/${c.study}/series/${c.series}/instances/${c.sop}/frames/${fc.frame}`);
          await page.waitForFunction((f) => window.lightboxViewer?.state().frame === f && window.lightboxViewer.ready(), fc.frame, { timeout: 60000 });
        }
        await checkImageCase(page, c, fc);
        await screenshot(page, c.file.replace(/[^a-z0-9]+/gi, '-').replace(/-dcm$/, '') + `-f${fc.frame}`);
      }
    });
  }
}

main()
  .then(() => {
    writeFileSync(join(cfg.artifacts, 'e2e.log'), log.join('\n') + '\n');
    say('PASS');
  })
  .catch((err) => {
    say(`FAIL: ${err instanceof CheckError ? err.message : err.stack || err}`);
    if (problems.length) say(`problems: ${problems.join('; ')}`);
    writeFileSync(join(cfg.artifacts, 'e2e.log'), log.join('\n') + '\n');
    process.exit(1);
  });
