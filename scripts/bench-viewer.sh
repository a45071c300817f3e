#!/usr/bin/env bash
# scripts/bench-viewer.sh — the built-in viewer in headless Chromium, loading
# the same 500-slice CT series from Lightbox's DICOMweb and from Orthanc 1.10
# + its DICOMweb plugin (Debian `orthanc`, `orthanc-dicomweb`): time from
# clicking the study on the home page to the first image drawn, and to every
# slice in the viewer's cache. The viewer page is served through two identical
# loopback proxies, one forwarding /dicom-web to Lightbox and one to Orthanc
# (see scripts/benchviewer). Prints a Markdown table (also written to
# build/bench-viewer.md). Needs the viewer bundle (`make viewer`).
#
# Orthanc binds every interface, so everything runs inside a private network
# namespace with only loopback up (`unshare -n`).
#
#   scripts/bench-viewer.sh [-slices 500] [-runs 3]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)

if [ "${LIGHTBOX_NETNS_CHILD:-}" != 1 ]; then
  mkdir -p build
  go generate ./internal/webui
  go build -o build/lightbox ./cmd/lightbox
  go build -o build/benchviewer ./scripts/benchviewer
  exec unshare -n sh -c 'ip link set lo up && exec "$@"' sh \
    env LIGHTBOX_NETNS_CHILD=1 "$0" "$@"
fi

bench=bench-viewer
. "$root/scripts/lib/side-by-side.sh"
chromium=$(command -v chromium) || { echo "bench-viewer: chromium not installed" >&2; exit 1; }
template=$(find_sample ct/siemens-ct-issue141.dcm)
start_side_by_side

echo "Orthanc $(curl -s http://127.0.0.1:$or_http/system | sed -n 's/.*"Version" *: *"\([^"]*\)".*/\1/p'), Lightbox $("$root/build/lightbox" version 2>/dev/null | head -1), $("$chromium" --version 2>/dev/null)"
"$root/build/benchviewer" -template "$template" \
  -lightbox "http://127.0.0.1:$lb_http" \
  -orthanc "http://127.0.0.1:$or_http/dicom-web" \
  -chromium "$chromium" -viewer-dir "$root/web/viewer" -script "$root/test/browser/bench-viewer.mjs" \
  -out "$root/build/bench-viewer.md" "$@"
echo
echo "table written to build/bench-viewer.md"
