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

orthanc=$(PATH="$PATH:/usr/sbin:/sbin" command -v Orthanc) || { echo "bench-viewer: Orthanc not installed" >&2; exit 1; }
plugin=/usr/share/orthanc/plugins/libOrthancDicomWeb.so
[ -f "$plugin" ] || { echo "bench-viewer: $plugin missing (orthanc-dicomweb)" >&2; exit 1; }
chromium=$(command -v chromium) || { echo "bench-viewer: chromium not installed" >&2; exit 1; }
template=""
for d in "$root/../shared" "$root/shared" "$root/../../shared"; do
  [ -f "$d/dicom-samples/ct/siemens-ct-issue141.dcm" ] && template="$d/dicom-samples/ct/siemens-ct-issue141.dcm" && break
done
[ -n "$template" ] || { echo "bench-viewer: shared/dicom-samples/ct/siemens-ct-issue141.dcm not found" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

lb_http=18080 lb_dicom=18104 or_http=18042 or_dicom=18105
mkdir -p "$tmp/orthanc"
cat >"$tmp/orthanc/orthanc.json" <<JSON
{
  "Name": "lightbox-bench",
  "StorageDirectory": "$tmp/orthanc/storage",
  "IndexDirectory": "$tmp/orthanc/index",
  "TemporaryDirectory": "$tmp/orthanc/tmp",
  "DicomAet": "ORTHANC",
  "DicomPort": $or_dicom,
  "HttpPort": $or_http,
  "RemoteAccessAllowed": false,
  "AuthenticationEnabled": false,
  "HttpServerEnabled": true,
  "OrthancExplorerEnabled": false,
  "WebDavEnabled": false,
  "Plugins": ["$plugin"],
  "DicomWeb": { "Enable": true, "Root": "/dicom-web/" },
  "LuaScripts": [],
  "StorageCompression": false,
  "SaveJobs": false,
  "UnknownSopClassAccepted": true,
  "StableAge": 1
}
JSON
(cd "$tmp/orthanc" && exec "$orthanc" --no-jobs orthanc.json >"$tmp/orthanc.log" 2>&1) &
pids+=($!)
"$root/build/lightbox" serve -data "$tmp/lightbox" -http-addr 127.0.0.1:$lb_http \
  -dicom-addr 127.0.0.1:$lb_dicom -log-level warn >"$tmp/lightbox.log" 2>&1 &
pids+=($!)

wait_http() { # url name log
  for _ in $(seq 600); do
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "bench-viewer: $2 did not answer on $1:" >&2; tail -40 "$3" >&2; exit 1
}
wait_http "http://127.0.0.1:$or_http/system" Orthanc "$tmp/orthanc.log"
wait_http "http://127.0.0.1:$lb_http/dicom-web/studies" Lightbox "$tmp/lightbox.log"

echo "Orthanc $(curl -s http://127.0.0.1:$or_http/system | sed -n 's/.*"Version" *: *"\([^"]*\)".*/\1/p'), Lightbox $("$root/build/lightbox" version 2>/dev/null | head -1), $("$chromium" --version 2>/dev/null)"
"$root/build/benchviewer" -template "$template" \
  -lightbox "http://127.0.0.1:$lb_http" \
  -orthanc "http://127.0.0.1:$or_http/dicom-web" \
  -chromium "$chromium" -viewer-dir "$root/web/viewer" -script "$root/test/browser/bench-viewer.mjs" \
  -out "$root/build/bench-viewer.md" "$@"
echo
echo "table written to build/bench-viewer.md"
