// Viewer load benchmark in headless Chromium, run by scripts/benchviewer
// (scripts/bench-viewer.sh). Configuration in LIGHTBOX_BENCH_VIEWER (JSON):
//
//   chromium, viewerDir   the browser and the npm directory with playwright-core
//   runs                  runs per target
//   patientID, study      the benchmark study
//   slices                images in its series
//   targets               [{name, url}]: the viewer served from url, whose
//                         /dicom-web is the server under test
//
// Each run opens the home page with the patient ID search in a fresh browser
// profile (cold cache), clicks the study, and reads the viewer's performance
// marks after lightbox:open-viewer (set on the click): lightbox:first-image
// and lightbox:series-loaded (every slice in Cornerstone's cache). Prints one
// line per run, then the results as one JSON line.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { playwrightChromium, CHROMIUM_FLAGS, SOFTWARE_WEBGL } from './lib.mjs';

const cfg = JSON.parse(process.env.LIGHTBOX_BENCH_VIEWER ?? '{}');
const chromium = playwrightChromium(cfg.viewerDir);
const FLAGS = [...CHROMIUM_FLAGS, SOFTWARE_WEBGL];

async function once(target) {
  const profile = mkdtempSync(join(tmpdir(), 'lightbox-bench-profile-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: cfg.chromium,
    headless: true,
    args: FLAGS,
    chromiumSandbox: false,
    viewport: { width: 1280, height: 900 },
    deviceScaleFactor: 1,
  });
  try {
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${target.url}/?pid=${encodeURIComponent(cfg.patientID)}`);
    const link = page.locator(`tr[data-study="${cfg.study}"] a.open-study`);
    await link.waitFor({ timeout: 30000 });
    // Let the home page finish its idle-time warm-up (viewer code, Cornerstone),
    // as it would while a reader looks at the list.
    await page.waitForTimeout(2500);
    await link.click();
    await page.waitForFunction(() => performance.getEntriesByName('lightbox:first-image').length > 0, null, { timeout: 60000 });
    await page.waitForFunction(
      () => performance.getEntriesByName('lightbox:series-loaded').length > 0,
      null,
      { timeout: 300000, polling: 100 },
    );
    const r = await page.evaluate(() => {
      const t = (n) => performance.getEntriesByName(n)[0]?.startTime;
      const t0 = t('lightbox:open-viewer');
      const st = window.lightboxViewer?.state?.();
      return { firstImage: t('lightbox:first-image') - t0, seriesLoaded: t('lightbox:series-loaded') - t0, count: st?.count, loaded: st?.loaded };
    });
    if (r.count !== cfg.slices) throw new Error(`${target.name}: stack has ${r.count} images, want ${cfg.slices}`);
    if (errors.length) throw new Error(`${target.name}: page errors: ${errors.join('; ')}`);
    return r;
  } finally {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

const results = {};
for (let i = 0; i < cfg.runs; i++) {
  for (const target of cfg.targets) {
    const r = await once(target);
    (results[target.name] ??= []).push(r);
    console.log(`run ${i + 1} ${target.name}: first image ${r.firstImage.toFixed(0)} ms, ${r.count} slices loaded ${r.seriesLoaded.toFixed(0)} ms`);
  }
}
console.log(JSON.stringify(results));
