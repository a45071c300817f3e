#!/bin/sh
# web/viewer/build.sh — build the viewer bundle into internal/webui/dist,
# where internal/webui embeds it (go:embed). Run by `go generate
# ./internal/webui`; safe to run directly from anywhere.
#
#   1. npm ci when node_modules is missing or older than package-lock.json
#      (offline when the npm cache holds the packages);
#   2. vite build, unless the bundle is newer than every input (sources,
#      index.html, configs, lockfile). VIEWER_FORCE=1 rebuilds anyway.
set -eu
cd "$(dirname "$0")"
out=../../internal/webui/dist

command -v npm >/dev/null 2>&1 || { echo "viewer: npm not found: install Node.js 20+ (scripts/setup.sh)" >&2; exit 1; }

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "viewer: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

if [ "${VIEWER_FORCE:-}" != 1 ] && [ -f "$out/index.html" ] &&
  [ -z "$(find src vite public index.html vite.config.ts tsconfig.json package.json package-lock.json build.sh \
          -newer "$out/index.html" -print 2>/dev/null | head -n 1)" ]; then
  echo "viewer: bundle up to date ($out)"
  exit 0
fi

echo "viewer: vite build -> internal/webui/dist"
npm run --silent build
