// Vite configuration for Lightbox's viewer. The build goes to
// internal/webui/dist, which the Go package internal/webui embeds.
//
// `npm run dev` serves the sources with hot reload and proxies the server's
// services (/dicom-web, /api) to a running `lightbox serve`
// (LIGHTBOX_URL, default http://127.0.0.1:8080).
import { defineConfig, type Plugin } from 'vite';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { gzipSync, constants as zlibConstants } from 'node:zlib';
import { cornerstoneFixes } from './vite/cornerstone-fixes.ts';

const outDir = resolve(import.meta.dirname, '../../internal/webui/dist');
const backend = process.env.LIGHTBOX_URL ?? 'http://127.0.0.1:8080';

// The .gitignore that keeps dist/ (and the go:embed pattern) on a clean
// clone; emptyOutDir removes it, so the build writes it back, unchanged.
const distGitignore = `# The viewer bundle is built here by \`go generate ./internal/webui\`
# (web/viewer: npm ci + vite build) and embedded by internal/webui.
# Build output is not committed; this file keeps the directory (and the
# go:embed pattern) valid on a clean clone. Vite's build rewrites it.
*
!.gitignore
`;

function keepDistGitignore(): Plugin {
  return {
    name: 'lightbox-keep-dist-gitignore',
    apply: 'build',
    closeBundle() {
      writeFileSync(resolve(outDir, '.gitignore'), distGitignore);
    },
  };
}

// Precompressed copies (name.gz) of the compressible files, which
// internal/webui serves to clients that accept gzip. Kept only where they
// save at least a tenth.
function precompress(): Plugin {
  const exts = new Set(['.js', '.mjs', '.css', '.wasm', '.svg', '.json', '.html']);
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((n) => {
      const p = join(dir, n);
      return statSync(p).isDirectory() ? walk(p) : [p];
    });
  return {
    name: 'lightbox-precompress',
    apply: 'build',
    closeBundle() {
      for (const file of walk(outDir)) {
        if (!exts.has(extname(file))) continue;
        const data = readFileSync(file);
        if (data.length < 1024) continue;
        const gz = gzipSync(data, { level: zlibConstants.Z_BEST_COMPRESSION });
        if (gz.length <= data.length * 0.9) writeFileSync(`${file}.gz`, gz);
      }
    },
  };
}

export default defineConfig({
  base: '/',
  plugins: [cornerstoneFixes(), keepDistGitignore(), precompress()],
  resolve: {
    alias: {
      // vtk.js (inside Cornerstone) reaches xmlbuilder2, which extends
      // Node's EventEmitter: bundle the npm "events" package in its place
      // (the trailing slash makes Vite resolve the package, not the Node
      // built-in it would otherwise stub out).
      events: 'events/',
    },
  },
  build: {
    outDir,
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // Cornerstone (with vtk.js and dcmjs) is one large lazily loaded chunk;
    // the study browser does not load it.
    chunkSizeWarningLimit: 4096,
    rolldownOptions: {
      // The codecs' Emscripten glue mentions Node's fs/path/url for the
      // Node build it also supports; in the browser those branches never
      // run, so the "externalized for browser compatibility" notices for
      // them are noise.
      onLog(level, log, handler) {
        if (log.code === 'PLUGIN_TIMINGS') return; // advice on plugin speed, every build
        if (/externalized for browser compatibility/.test(log.message) && /node_modules\/(@cornerstonejs\/codec-|@oozcitak\/)/.test(log.message)) return;
        handler(level, log);
      },
    },
  },
  worker: { format: 'es' },
  // Dev server only: the image loader is served as is (its worker and
  // WebAssembly URLs must stay relative to it), so the CommonJS/UMD
  // modules it imports are pre-bundled here.
  optimizeDeps: {
    exclude: ['@cornerstonejs/dicom-image-loader'],
    include: [
      'dicom-parser',
      'pako',
      'comlink',
      '@cornerstonejs/codec-charls/decodewasmjs',
      '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs',
      '@cornerstonejs/codec-libjxl/decodewasmjs',
      '@cornerstonejs/codec-openjpeg/decodewasmjs',
      '@cornerstonejs/codec-openjph/wasmjs',
    ],
  },
  server: {
    proxy: {
      '/dicom-web': backend,
      '/api': backend,
    },
  },
});
