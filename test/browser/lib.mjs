// Shared pieces of the browser test scripts (e2e.mjs, objects.mjs,
// mpr.mjs): the scenario from the environment, playwright-core from the
// viewer's node_modules, the Chromium flags this machine needs, and a
// run log with steps, checks and numbered screenshots.
import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** scenario parses the JSON in process.env[env], exiting 2 if a required key is missing. */
export function scenario(env, required) {
  const cfg = JSON.parse(process.env[env] ?? '{}');
  for (const k of ['baseURL', 'chromium', 'viewerDir', 'artifacts', ...required]) {
    if (!cfg[k]) {
      console.error(`${env} lacks "${k}"`);
      process.exit(2);
    }
  }
  mkdirSync(cfg.artifacts, { recursive: true });
  return cfg;
}

/** playwrightChromium loads playwright-core's chromium from the viewer's npm directory. */
export function playwrightChromium(viewerDir) {
  const require = createRequire(join(viewerDir, 'package.json'));
  return require('playwright-core').chromium;
}

// The flags the machine's Chromium needs: no sandbox as root, no GPU, and
// none of the background connections a closed network refuses.
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** SOFTWARE_WEBGL lets Chromium rasterise WebGL on the CPU (SwiftShader). */
export const SOFTWARE_WEBGL = '--enable-unsafe-swiftshader';

/** CheckError is a failed check (as opposed to a crash of the script). */
export class CheckError extends Error {}

export const check = (cond, msg) => {
  if (!cond) throw new CheckError(msg);
};

/**
 * newRun returns the log of one script run: say (timestamped lines, kept in
 * log), problems (page errors and the like, checked after every step),
 * screenshot(page, name) (numbered files in artifacts, names prefixed by
 * prefix) and step(name, fn, pageOnFailure) (a screenshot of the page when
 * the step fails).
 */
export function newRun(artifacts, prefix = '') {
  const log = [];
  const problems = [];
  let shot = 0;
  const say = (msg) => {
    const line = `${new Date().toISOString().slice(11, 23)} ${msg}`;
    log.push(line);
    console.log(line);
  };
  async function screenshot(page, name) {
    shot++;
    const file = join(artifacts, `${prefix}${String(shot).padStart(2, '0')}-${name}.png`);
    await page.screenshot({ path: file });
    say(`  screenshot ${file}`);
  }
  async function step(name, fn, pageOnFailure) {
    const t0 = Date.now();
    say(`STEP ${name}`);
    try {
      await fn();
    } catch (err) {
      const page = pageOnFailure?.();
      if (page) await screenshot(page, `FAILED-${name.replace(/\W+/g, '-')}`.slice(0, 80)).catch(() => {});
      throw err;
    }
    say(`  ok (${Date.now() - t0} ms)`);
    if (problems.length) throw new CheckError(`after step ${name}: ${problems.join('; ')}`);
  }
  return { log, problems, say, screenshot, step };
}
