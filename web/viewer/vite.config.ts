// Vite configuration for Lightbox's viewer. The build goes to
// internal/webui/dist, which the Go package internal/webui embeds.
//
// `npm run dev` serves the sources with hot reload and proxies the server's
// services (/dicom-web, /api) to a running `lightbox serve`
// (LIGHTBOX_URL, default http://127.0.0.1:8080).
import { defineConfig, type Plugin } from 'vite';
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const outDir = resolve(__dirname, '../../internal/webui/dist');
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

export default defineConfig({
  base: '/',
  plugins: [keepDistGitignore()],
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
  },
  worker: { format: 'es' },
  optimizeDeps: {
    exclude: ['@cornerstonejs/dicom-image-loader'],
    include: ['dicom-parser'],
  },
  server: {
    proxy: {
      '/dicom-web': backend,
      '/api': backend,
    },
  },
});
