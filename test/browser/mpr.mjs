// End-to-end test of the viewer's MPR and 3D volume rendering, in headless
// Chromium with playwright-core. Run by mpr_test.go (TestViewerMPR), which
// stores a synthetic CT volume (two bone rods along z in a soft-tissue
// cylinder; geometry in LIGHTBOX_MPR.volume) and a copy with one slice
// missing through STOW-RS. The steps open the MPR view, check drawn pixels
// against the geometry (rods as lines in the sagittal and coronal slices
// and dots in the axial one, on the sides radiological convention puts
// them), scroll the axial slice and follow the crosshairs, drag a window
// and see it shared, change the 3D preset and rotate (the 3D canvas
// changes), go back to the stack, and see a non-volume series refused with
// its reason. Screenshots: mpr-NN-*.png in the artifacts directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scenario, playwrightChromium, CHROMIUM_FLAGS, SOFTWARE_WEBGL, CheckError, check, newRun } from './lib.mjs';

const cfg = scenario('LIGHTBOX_MPR', ['volume']);
const chromium = playwrightChromium(cfg.viewerDir);
const V = cfg.volume;
const report = newRun(cfg.artifacts, 'mpr-');
const { problems, say } = report;

// Volume viewports need WebGL: SwiftShader is the GPU-less machine's.
const FLAGS = [...CHROMIUM_FLAGS, SOFTWARE_WEBGL];
let page;

const screenshot = (name) => report.screenshot(page, name);
const step = (name, fn) => report.step(name, fn, () => page);

const waitFor = (fn, arg, timeout = 30000) => page.waitForFunction(fn, arg, { timeout });
const mprState = () => page.evaluate(() => window.lightboxMPR.state());

// ---- geometry of the phantom ----
const worldOf = (c, r, k) => [V.origin[0] + c * V.spacing, V.origin[1] + r * V.spacing, V.origin[2] + k * V.sliceSpacing];
const rodA = worldOf(V.rodA[0], V.rodA[1], 0); // x, y of rod A's axis (z ignored)
const rodB = worldOf(V.rodB[0], V.rodB[1], 0);
const zFirst = V.origin[2] + V.rodFirst * V.sliceSpacing; // centres of the first and last slices with rods
const zLast = V.origin[2] + V.rodLast * V.sliceSpacing;
const zMid = (zFirst + zLast) / 2;
const zBelow = zFirst - 4 * V.sliceSpacing; // clear of the rods' ends (inside the volume)
const zAbove = zLast + 4 * V.sliceSpacing;
const centre = worldOf((V.columns - 1) / 2, (V.rows - 1) / 2, 0);

// Mediastinum window (350/50): bone white, soft tissue mid grey, air black.
const WINDOW = { width: 350, center: 50 };
const grey = { bone: [220, 256], tissue: [70, 170], air: [-1, 40] };
const classify = (g) => Object.keys(grey).find((k) => g > grey[k][0] && g < grey[k][1]) ?? `unclassified(${g.toFixed(0)})`;

/**
 * sample reads the drawn grey level (mean of R, G, B over the square of
 * canvas pixels half pixels about the point) at patient points in an MPR viewport: the viewport's canvas is
 * copied into a 2D canvas and read back, i.e. what the reader sees.
 */
const sample = (view, worlds, half = 1) =>
  page.evaluate(
    ({ view, worlds, half }) => {
      const el = document.querySelector(`[data-testid=mpr-${view}]`);
      const canvas = el.querySelector('canvas');
      const r = canvas.getBoundingClientRect();
      const copy = document.createElement('canvas');
      copy.width = canvas.width;
      copy.height = canvas.height;
      const ctx = copy.getContext('2d');
      ctx.drawImage(canvas, 0, 0);
      return worlds.map((w) => {
        const [cx, cy] = window.lightboxMPR.worldToClient(view, w);
        const x = Math.round(((cx - r.left) * canvas.width) / r.width);
        const y = Math.round(((cy - r.top) * canvas.height) / r.height);
        const d = ctx.getImageData(x - half, y - half, 2 * half + 1, 2 * half + 1).data;
        let s = 0;
        for (let i = 0; i < d.length; i += 4) s += (d[i] + d[i + 1] + d[i + 2]) / 3;
        return { world: w, client: [cx, cy], canvas: [x, y], grey: s / (d.length / 4) };
      });
    },
    { view, worlds, half },
  );

async function expectTissue(view, expectations) {
  const got = await sample(
    view,
    expectations.map((e) => e.world),
  );
  for (const [i, e] of expectations.entries()) {
    const g = got[i];
    say(`  ${view} ${e.what} at (${e.world.map((v) => v.toFixed(1)).join(', ')}) mm -> canvas ${g.canvas.join(',')}: grey ${g.grey.toFixed(0)} (${classify(g.grey)})`);
    check(classify(g.grey) === e.want, `${view}: ${e.what} at ${e.world.join(', ')} drawn grey ${g.grey.toFixed(0)}, want ${e.want}`);
  }
  return got;
}

/** digest3d hashes the 3D canvas and counts pixels unlike the background. */
const digest3d = () =>
  page.evaluate(() => {
    const canvas = document.querySelector('[data-testid=mpr-3d] canvas');
    const copy = document.createElement('canvas');
    copy.width = canvas.width;
    copy.height = canvas.height;
    const ctx = copy.getContext('2d');
    ctx.drawImage(canvas, 0, 0);
    const d = ctx.getImageData(0, 0, copy.width, copy.height).data;
    let h = 0x811c9dc5;
    let lit = 0;
    let bright = 0;
    for (let i = 0; i < d.length; i += 4) {
      h = Math.imul(h ^ d[i], 16777619) ^ Math.imul(d[i + 1], 31) ^ Math.imul(d[i + 2], 131);
      const diff = Math.abs(d[i] - 20) + Math.abs(d[i + 1] - 20) + Math.abs(d[i + 2] - 26);
      if (diff > 30) lit++;
      if (d[i] + d[i + 1] + d[i + 2] > 300) bright++;
    }
    return { hash: (h >>> 0).toString(16), lit, bright, pixels: d.length / 4 };
  });

/** waitRenders waits until view has drawn after `before` renders, then for the next frame. */
async function waitRenders(view, before, timeout = 60000) {
  await waitFor(({ view, before }) => window.lightboxMPR.state().renders[view] > before, { view, before }, timeout);
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

/** waitStable waits until view has not drawn for 10 animation frames (a drag's last render done). */
async function waitStable(view) {
  await waitFor(
    (view) =>
      new Promise((resolve) => {
        let n = window.lightboxMPR.state().renders[view];
        let quiet = 0;
        const tick = () => {
          const m = window.lightboxMPR.state().renders[view];
          quiet = m === n ? quiet + 1 : 0;
          n = m;
          if (quiet >= 10) resolve(true);
          else requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      }),
    view,
  );
}

async function main() {
  const profile = mkdtempSync(join(tmpdir(), 'lightbox-mpr-profile-'));
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
    if (!['data:', 'blob:'].includes(u.protocol) && u.origin !== base.origin) problems.push(`request to another origin: ${req.url()}`);
  });
  try {
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      const text = msg.text();
      if (/Content Security Policy|Refused to (load|connect|execute|create)/i.test(text)) problems.push(`CSP: ${text}`);
      if (msg.type() === 'error') say(`  console error: ${text.slice(0, 300)}`);
    });
    await run();
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

async function run() {
  let stackRenderer;
  let axialBefore;
  let digestBone;

  await step('open the phantom series in the stack viewer', async () => {
    await page.goto(`${cfg.baseURL}/viewer/studies/${V.study}/series/${V.series}`);
    await waitFor(() => window.lightboxViewer?.ready?.() === true, null, 60000);
    const s = await page.evaluate(() => window.lightboxViewer.state());
    stackRenderer = s.renderer;
    say(`  stack: ${s.count} images, renderer ${s.renderer}`);
    check(s.count === V.slices, `stack has ${s.count} images, want ${V.slices}`);
  });

  await step('switch to MPR/3D: the volume loads into four viewports', async () => {
    await page.click('[data-action=mpr]');
    await waitFor(() => document.querySelector('[data-testid=mpr]'));
    await waitFor(() => ['ready', 'error', 'not-volume'].includes(document.querySelector('[data-testid=mpr]').dataset.state), null, 180000);
    const s = await mprState();
    check(s.status === 'ready', `MPR state ${s.status}: ${await page.textContent('[data-testid=mpr-status]')}`);
    say(`  loaded ${s.loaded}/${s.total} slices; axial slice ${s.viewports.axial.slice}/${s.viewports.axial.slices}, sagittal ${s.viewports.sagittal.slices}, coronal ${s.viewports.coronal.slices} slices; 3D preset ${s.preset3d}`);
    check(s.loaded === V.slices && s.total === V.slices, `loaded ${s.loaded} of ${s.total}, want ${V.slices}`);
    check(s.viewports.axial.slices === V.slices, `axial viewport has ${s.viewports.axial.slices} slices, want ${V.slices}`);
    check(s.viewports.sagittal.slices === V.columns, `sagittal viewport has ${s.viewports.sagittal.slices} slices, want ${V.columns}`);
    check(s.viewports.coronal.slices === V.rows, `coronal viewport has ${s.viewports.coronal.slices} slices, want ${V.rows}`);
    const n = s.viewports;
    check(Math.abs(Math.abs(n.axial.normal[2]) - 1) < 1e-6, `axial normal ${n.axial.normal}`);
    check(Math.abs(Math.abs(n.sagittal.normal[0]) - 1) < 1e-6, `sagittal normal ${n.sagittal.normal}`);
    check(Math.abs(Math.abs(n.coronal.normal[1]) - 1) < 1e-6, `coronal normal ${n.coronal.normal}`);
    await screenshot('open');
  });

  await step('mediastinum preset: window shared by the three slices', async () => {
    const before = (await mprState()).renders;
    await page.selectOption('[data-testid=mpr-wl-preset]', 'mediastinum');
    for (const v of ['axial', 'sagittal', 'coronal']) await waitRenders(v, before[v]);
    const s = await mprState();
    for (const v of ['axial', 'sagittal', 'coronal']) {
      const w = s.viewports[v].voi;
      check(w && Math.abs(w.width - WINDOW.width) < 0.01 && Math.abs(w.center - WINDOW.center) < 0.01, `${v} window ${JSON.stringify(w)}, want ${WINDOW.width}/${WINDOW.center}`);
      const info = await page.textContent(`[data-testid=mpr-info-${v}]`);
      say(`  ${v} corner: ${info}`);
      check(info.includes(`W ${WINDOW.width} L ${WINDOW.center}`), `${v} corner text "${info}" lacks the window`);
    }
    // The axial slice's position in its corner is the slice's z.
    const z = s.viewports.axial.focalPoint[2];
    const info = await page.textContent('[data-testid=mpr-info-axial]');
    check(info.includes(`Slice ${s.viewports.axial.slice + 1}/${V.slices}`) && info.includes(`z ${z.toFixed(1)} mm`), `axial corner text "${info}", want slice ${s.viewports.axial.slice + 1}/${V.slices} at z ${z.toFixed(1)} mm`);
  });

  await step('rods drawn where the geometry puts them in each slice', async () => {
    const s = await mprState();
    const c = await page.evaluate(() => window.lightboxMPR.crosshairCenter());
    say(`  crosshairs at (${c.map((v) => v.toFixed(2)).join(', ')}) mm; axial at z=${s.viewports.axial.focalPoint[2].toFixed(2)}`);
    const zA = s.viewports.axial.focalPoint[2];
    check(zA > zFirst && zA < zLast, `axial slice z=${zA} outside the rods (${zFirst}..${zLast})`);
    // Axial: two dots (the rods' cross-sections), tissue between, air outside.
    await expectTissue('axial', [
      { what: 'rod A', world: [rodA[0], rodA[1], zA], want: 'bone' },
      { what: 'rod B', world: [rodB[0], rodB[1], zA], want: 'bone' },
      { what: 'centre', world: [centre[0], centre[1], zA], want: 'tissue' },
      { what: 'corner', world: [V.origin[0] + 3, V.origin[1] + 3, zA], want: 'air' },
    ]);
    // Sagittal (through the centre column, rod A's plane): rod A is a
    // line along z ending where the rods end; rod B is not in this plane.
    const xS = s.viewports.sagittal.focalPoint[0];
    check(Math.abs(xS - rodA[0]) <= V.rodHalf * V.spacing, `sagittal plane x=${xS} misses rod A at x=${rodA[0]}`);
    const sag = await expectTissue('sagittal', [
      { what: 'rod A low', world: [xS, rodA[1], zFirst + 2], want: 'bone' },
      { what: 'rod A middle', world: [xS, rodA[1], zMid], want: 'bone' },
      { what: 'rod A high', world: [xS, rodA[1], zLast - 2], want: 'bone' },
      { what: 'below rod A', world: [xS, rodA[1], zBelow], want: 'tissue' },
      { what: 'above rod A', world: [xS, rodA[1], zAbove], want: 'tissue' },
      { what: 'centre', world: [xS, centre[1], zMid], want: 'tissue' },
      { what: 'front edge', world: [xS, V.origin[1] + 3, zMid], want: 'air' },
    ]);
    check(sag[2].client[1] < sag[0].client[1] - 20, `sagittal: superior (z=${zLast - 2}) drawn at y=${sag[2].client[1]}, not above inferior at y=${sag[0].client[1]}`);
    // Coronal (through the centre row, rod B's plane).
    const yC = s.viewports.coronal.focalPoint[1];
    check(Math.abs(yC - rodB[1]) <= V.rodHalf * V.spacing, `coronal plane y=${yC} misses rod B at y=${rodB[1]}`);
    const cor = await expectTissue('coronal', [
      { what: 'rod B low', world: [rodB[0], yC, zFirst + 2], want: 'bone' },
      { what: 'rod B middle', world: [rodB[0], yC, zMid], want: 'bone' },
      { what: 'rod B high', world: [rodB[0], yC, zLast - 2], want: 'bone' },
      { what: 'below rod B', world: [rodB[0], yC, zBelow], want: 'tissue' },
      { what: 'above rod B', world: [rodB[0], yC, zAbove], want: 'tissue' },
      { what: 'centre', world: [centre[0], yC, zMid], want: 'tissue' },
      { what: 'mirror of rod B', world: [2 * centre[0] - rodB[0], yC, zMid], want: 'tissue' },
    ]);
    check(cor[2].client[1] < cor[0].client[1] - 20, `coronal: superior drawn at y=${cor[2].client[1]}, not above inferior at y=${cor[0].client[1]}`);
    // Radiological convention: the patient's right (rod B, -x) on the
    // viewer's left in axial and coronal, anterior (rod A, -y) up in axial.
    check(cor[1].client[0] < cor[5].client[0] - 20, `coronal: rod B (patient right) drawn at x=${cor[1].client[0]}, not left of centre ${cor[5].client[0]}`);
    const ax = await sample('axial', [
      [rodA[0], rodA[1], zA],
      [rodB[0], rodB[1], zA],
      [centre[0], centre[1], zA],
    ]);
    check(ax[0].client[1] < ax[2].client[1] - 20, `axial: rod A (anterior) at y=${ax[0].client[1]}, not above centre ${ax[2].client[1]}`);
    check(ax[1].client[0] < ax[2].client[0] - 20, `axial: rod B (patient right) at x=${ax[1].client[0]}, not left of centre ${ax[2].client[0]}`);
    axialBefore = s.viewports.axial;
    await screenshot('rods');
  });

  await step('scroll the axial slice past the rods: the crosshairs follow', async () => {
    const red = 'rgb(220, 60, 60)'; // the axial plane's reference line colour
    const lineY = async () => {
      const lines = (await page.evaluate(() => window.lightboxMPR.referenceLines('sagittal'))).filter((l) => l.color === red);
      check(lines.length > 0, 'no axial reference line drawn in the sagittal viewport');
      for (const l of lines) check(Math.abs(l.y1 - l.y2) < 1, `axial reference line in sagittal not horizontal: ${JSON.stringify(l)}`);
      return lines.reduce((a, l) => a + l.y1, 0) / lines.length;
    };
    const y0 = await lineY();
    const box = await page.locator('[data-testid=mpr-axial]').boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    const z0 = axialBefore.focalPoint[2];
    let dy = 100;
    let z = z0;
    for (let i = 0; i < 30 && z <= zLast + 2 * V.sliceSpacing && z >= zFirst - 2 * V.sliceSpacing; i++) {
      const renders = (await mprState()).renders.axial;
      await page.mouse.wheel(0, dy);
      await waitFor((prev) => Math.abs(window.lightboxMPR.state().viewports.axial.focalPoint[2] - prev) > 1e-3, z);
      await waitRenders('axial', renders);
      const nz = (await mprState()).viewports.axial.focalPoint[2];
      check(Math.abs(Math.abs(nz - z) - V.sliceSpacing) < 0.01, `one wheel step moved the axial slice by ${nz - z} mm, want ±${V.sliceSpacing}`);
      // Go towards the nearer end of the rods.
      if (i === 0 && (nz > z) !== (zLast - z0 < z0 - zFirst)) dy = -dy;
      z = nz;
    }
    say(`  axial slice z ${z0.toFixed(2)} -> ${z.toFixed(2)} mm`);
    check(z > zLast + V.sliceSpacing || z < zFirst - V.sliceSpacing, `axial slice z=${z} still within the rods`);
    const c = await page.evaluate(() => window.lightboxMPR.crosshairCenter());
    check(Math.abs(c[2] - z) < 0.01, `crosshairs centre z=${c[2]}, want the axial slice's ${z}`);
    await waitFor(
      ({ y0, red }) => {
        const l = window.lightboxMPR.referenceLines('sagittal').find((x) => x.color === red);
        return l && Math.abs(l.y1 - y0) > 10;
      },
      { y0, red },
    );
    const y1 = await lineY();
    const [, want] = await page.evaluate((w) => window.lightboxMPR.worldToClient('sagittal', w), [c[0], c[1], z]);
    say(`  sagittal's axial reference line y ${y0.toFixed(1)} -> ${y1.toFixed(1)} px (slice z=${z} maps to ${want.toFixed(1)})`);
    check(Math.abs(y1 - want) < 3, `axial reference line in sagittal at y=${y1}, want ${want}`);
    check(Math.sign(y0 - y1) === Math.sign(z - z0), `reference line moved the wrong way (${y0} -> ${y1}) for z ${z0} -> ${z}`);
    await expectTissue('axial', [
      { what: 'rod A position past its end', world: [rodA[0], rodA[1], z], want: 'tissue' },
      { what: 'rod B position past its end', world: [rodB[0], rodB[1], z], want: 'tissue' },
    ]);
    await screenshot('scrolled');
  });

  await step('scroll the coronal slice off rod B: it leaves the coronal slice, the axial reference line follows', async () => {
    const green = 'rgb(60, 200, 80)'; // the coronal plane's reference line colour
    const s0 = await mprState();
    const y0 = s0.viewports.coronal.focalPoint[1];
    const box = await page.locator('[data-testid=mpr-coronal]').boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    let y = y0;
    for (let i = 0; i < 2 * V.rodHalf + 4 && Math.abs(y - V.origin[1] - V.rodB[1] * V.spacing) <= V.rodHalf * V.spacing + 1; i++) {
      const renders = (await mprState()).renders.coronal;
      await page.mouse.wheel(0, 100);
      await waitFor((prev) => Math.abs(window.lightboxMPR.state().viewports.coronal.focalPoint[1] - prev) > 1e-3, y);
      await waitRenders('coronal', renders);
      y = (await mprState()).viewports.coronal.focalPoint[1];
    }
    say(`  coronal slice y ${y0.toFixed(2)} -> ${y.toFixed(2)} mm`);
    check(Math.abs(y - rodB[1]) > V.rodHalf * V.spacing + 1, `coronal slice y=${y} still within rod B`);
    await expectTissue('coronal', [{ what: 'rod B position, slice off the rod', world: [rodB[0], y, zMid], want: 'tissue' }]);
    // In the axial viewport the coronal plane is the horizontal green line.
    const z = (await mprState()).viewports.axial.focalPoint[2];
    const [, want] = await page.evaluate((w) => window.lightboxMPR.worldToClient('axial', w), [centre[0], y, z]);
    await waitFor(
      ({ want, green }) => {
        const ls = window.lightboxMPR.referenceLines('axial').filter((l) => l.color === green);
        return ls.length > 0 && ls.every((l) => Math.abs(l.y1 - want) < 3 && Math.abs(l.y2 - want) < 3);
      },
      { want, green },
    );
  });

  await step('key 3 (bone preset) sets the window of all three slices', async () => {
    await page.focus('[data-testid=mpr]');
    await page.keyboard.press('3');
    await waitFor(() => {
      const s = window.lightboxMPR.state().viewports;
      return ['axial', 'sagittal', 'coronal'].every((v) => s[v].voi && Math.abs(s[v].voi.width - 2000) < 0.01 && Math.abs(s[v].voi.center - 500) < 0.01);
    });
    // The stack viewer underneath did not take the key.
    const st = await page.evaluate(() => window.lightboxViewer.state());
    check(!(Math.abs(st.window - 2000) < 0.01 && Math.abs(st.center - 500) < 0.01), 'the key reached the stack viewer under the MPR view');
  });

  await step('drag a window in the axial slice: sagittal and coronal follow', async () => {
    await page.click('[data-mpr-tool=WindowLevel]');
    const before = (await mprState()).viewports.axial.voi;
    const box = await page.locator('[data-testid=mpr-axial]').boundingBox();
    const x = box.x + box.width / 2;
    const y = box.y + box.height / 2;
    await page.mouse.move(x, y);
    // Few moves: the tool redraws every viewport of the volume, the 3D one
    // too, which a software rasteriser takes seconds for.
    await page.mouse.down();
    await page.mouse.move(x + 80, y - 50, { steps: 2 });
    await page.mouse.up();
    await waitFor((b) => {
      const s = window.lightboxMPR.state().viewports;
      const a = s.axial.voi;
      const same = (w) => w && Math.abs(w.lower - a.lower) < 1e-6 && Math.abs(w.upper - a.upper) < 1e-6;
      return a && Math.abs(a.width - b.width) > 1 && same(s.sagittal.voi) && same(s.coronal.voi);
    }, before);
    const s = (await mprState()).viewports;
    say(`  window ${before.width.toFixed(0)}/${before.center.toFixed(0)} -> axial ${s.axial.voi.width.toFixed(0)}/${s.axial.voi.center.toFixed(0)}, sagittal ${s.sagittal.voi.width.toFixed(0)}/${s.sagittal.voi.center.toFixed(0)}, coronal ${s.coronal.voi.width.toFixed(0)}/${s.coronal.voi.center.toFixed(0)}`);
    await page.click('[data-mpr-tool=Crosshairs]');
    await screenshot('window');
  });

  await step('3D rendering: CT-Bone shows the rods', async () => {
    const s = await mprState();
    check(s.preset3d === 'CT-Bone', `3D preset ${s.preset3d}, want CT-Bone first for CT`);
    await waitStable('3d');
    digestBone = await digest3d();
    say(`  3D ${digestBone.hash}: ${digestBone.lit} of ${digestBone.pixels} pixels unlike the background, ${digestBone.bright} bright`);
    check(digestBone.lit > 500, `3D rendering nearly empty: ${digestBone.lit} pixels unlike the background`);
    // Seen from the front: the rods are brighter than the tissue beside them
    // (at the mirror image of rod B) and than the space above them.
    const [a, b, beside, above] = await sample('3d', [
      [rodA[0], rodA[1], zMid],
      [rodB[0], rodB[1], zMid],
      [2 * centre[0] - rodB[0], rodB[1], zMid],
      [rodA[0], rodA[1], zAbove],
    ], 4);
    say(`  3D grey: rod A ${a.grey.toFixed(0)}, rod B ${b.grey.toFixed(0)}, beside ${beside.grey.toFixed(0)}, above ${above.grey.toFixed(0)}`);
    // Rod B lies deeper (behind more tissue) than rod A: less contrast.
    for (const [name, g, margin] of [['rod A', a, 20], ['rod B', b, 5]]) {
      check(g.grey > beside.grey + margin && g.grey > above.grey + margin, `3D CT-Bone: ${name} grey ${g.grey.toFixed(0)} not brighter than tissue (${beside.grey.toFixed(0)}, ${above.grey.toFixed(0)}) by ${margin}`);
    }
    await screenshot('3d-bone');
  });

  let digestSoft;
  await step('3D preset CT-Soft-Tissue changes the rendering', async () => {
    const before = (await mprState()).renders['3d'];
    await page.selectOption('[data-testid=mpr-3d-preset]', 'CT-Soft-Tissue');
    await waitRenders('3d', before);
    await waitStable('3d');
    check((await mprState()).preset3d === 'CT-Soft-Tissue', '3D preset not applied');
    digestSoft = await digest3d();
    say(`  3D ${digestSoft.hash}: ${digestSoft.lit} pixels unlike the background, ${digestSoft.bright} bright`);
    check(digestSoft.hash !== digestBone.hash, '3D canvas unchanged by the preset');
    // The soft-tissue cylinder is opaque in this preset, hidden in CT-Bone.
    check(digestSoft.bright > 10 * (digestBone.bright + 100), `soft tissue preset: ${digestSoft.bright} bright pixels, bone ${digestBone.bright}: want many more`);
    await screenshot('3d-soft-tissue');
  });

  await step('rotate the 3D view by dragging', async () => {
    const s0 = await mprState();
    const box = await page.locator('[data-testid=mpr-3d]').boundingBox();
    const x = box.x + box.width / 2;
    const y = box.y + box.height / 2;
    await page.mouse.move(x, y);
    await page.mouse.down();
    for (let i = 1; i <= 10; i++) await page.mouse.move(x + 12 * i, y + 4 * i);
    await page.mouse.up();
    await waitFor((p) => {
      const c = window.lightboxMPR.state().camera3d.position;
      return Math.hypot(c[0] - p[0], c[1] - p[1], c[2] - p[2]) > 1;
    }, s0.camera3d.position);
    await waitStable('3d');
    const d = await digest3d();
    const s1 = await mprState();
    say(`  camera ${s0.camera3d.position.map((v) => v.toFixed(0))} -> ${s1.camera3d.position.map((v) => v.toFixed(0))}; 3D ${d.hash}, ${d.lit} lit`);
    check(d.hash !== digestSoft.hash, '3D canvas unchanged by the rotation');
    check(d.lit > 500, `3D rendering nearly empty after rotation: ${d.lit}`);
    await screenshot('3d-rotated');
  });

  await step('back to the stack view', async () => {
    await page.click('[data-testid=mpr-back]');
    await waitFor(() => !document.querySelector('[data-testid=mpr]') && !window.lightboxMPR);
    const s = await page.evaluate(() => window.lightboxViewer.state());
    check(s.renderer === stackRenderer, `stack renderer ${s.renderer} after MPR, was ${stackRenderer}`);
    const from = s.index;
    await page.focus('[data-testid=viewport]');
    await page.keyboard.press('ArrowDown');
    await waitFor((i) => window.lightboxViewer.state().index === i + 1 && window.lightboxViewer.ready(), from);
    await screenshot('back-to-stack');
  });

  await step('reopen MPR: the volume is rebuilt from the cached slices', async () => {
    await page.click('[data-action=mpr]');
    await waitFor(() => document.querySelector('[data-testid=mpr]')?.dataset.state === 'ready', null, 120000);
    const s = await mprState();
    check(s.loaded === V.slices, `reopened with ${s.loaded} slices loaded`);
    const zA = s.viewports.axial.focalPoint[2];
    await expectTissue('axial', [{ what: 'rod A', world: [rodA[0], rodA[1], zA], want: 'bone' }]);
    await page.click('[data-testid=mpr-back]');
    await waitFor(() => !document.querySelector('[data-testid=mpr]'));
  });

  await step('an MR volume: MR transfer functions in 3D', async () => {
    await page.goto(`${cfg.baseURL}/viewer/studies/${V.study}/series/${V.mr}`);
    await waitFor(() => window.lightboxViewer?.ready?.() === true, null, 60000);
    await page.click('[data-action=mpr]');
    await waitFor(() => ['ready', 'error', 'not-volume'].includes(document.querySelector('[data-testid=mpr]')?.dataset.state), null, 180000);
    const s = await mprState();
    check(s.status === 'ready', `MR MPR state ${s.status}: ${await page.textContent('[data-testid=mpr-status]')}`);
    const options = await page.$$eval('[data-testid=mpr-3d-preset] option', (os) => os.map((o) => o.value));
    say(`  3D presets: ${options.join(', ')}; shown ${s.preset3d}`);
    check(s.preset3d === 'MR-Default' && options.every((o) => o.startsWith('MR-')), `MR volume: 3D preset ${s.preset3d} of ${options.join(', ')}`);
    check(await page.locator('[data-testid=mpr-wl-preset]').isHidden(), 'CT window presets offered for an MR volume');
    await waitStable('3d');
    const d = await digest3d();
    say(`  3D ${d.hash}: ${d.lit} pixels unlike the background`);
    check(d.lit > 500, `MR 3D rendering nearly empty: ${d.lit}`);
    // Stored values (no rescale): the rods are the brightest, in the same place.
    const zA = s.viewports.axial.focalPoint[2];
    const [rod, mid] = await sample('axial', [
      [rodA[0], rodA[1], zA],
      [centre[0], centre[1], zA],
    ]);
    check(rod.grey > mid.grey + 40, `MR axial: rod A grey ${rod.grey.toFixed(0)} not brighter than the centre ${mid.grey.toFixed(0)}`);
    await screenshot('mr');
    await page.click('[data-testid=mpr-back]');
    await waitFor(() => !document.querySelector('[data-testid=mpr]'));
  });

  await step('a series with a slice missing is not offered as a volume', async () => {
    await page.goto(`${cfg.baseURL}/viewer/studies/${V.study}/series/${V.uneven}`);
    await waitFor((n) => window.lightboxViewer?.ready?.() === true && window.lightboxViewer.state().count === n, V.slices - 1, 60000);
    await page.click('[data-action=mpr]');
    await waitFor(() => document.querySelector('[data-testid=mpr]')?.dataset.state === 'not-volume');
    const text = await page.textContent('[data-testid=mpr-status]');
    say(`  ${text}`);
    // Slices (1-based, in position order) UnevenGap and UnevenGap+1 are
    // two slice spacings apart: the slice between them is missing.
    const want = `${(2 * V.sliceSpacing).toFixed(2)} mm between slices ${V.unevenGap} and ${V.unevenGap + 1}, where most are ${V.sliceSpacing.toFixed(2)} mm apart`;
    check(text.includes('not evenly spaced') && text.includes(want), `reason shown: ${text}; want it to say "${want}"`);
    check((await page.locator('[data-testid=mpr] canvas').count()) === 0, 'viewports created for a series that is not a volume');
    await screenshot('not-a-volume');
    await page.keyboard.press('Escape');
    await waitFor(() => !document.querySelector('[data-testid=mpr]'));
  });
}

main().then(
  () => {
    say('mpr: all steps passed');
  },
  (err) => {
    say(`mpr: FAILED: ${err instanceof CheckError ? err.message : err.stack || err}`);
    process.exit(1);
  },
);
