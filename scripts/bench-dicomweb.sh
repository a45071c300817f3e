#!/usr/bin/env bash
# scripts/bench-dicomweb.sh — Lightbox's DICOMweb endpoints side by side with
# Orthanc 1.10 + its DICOMweb plugin 1.7 (Debian's `orthanc` and
# `orthanc-dicomweb`) on the same synthetic data, driven by the same Go
# client (scripts/benchdicomweb) and wrk: a 100-instance CT study (~388 kB
# instances made from ge-ct-evrle.dcm with new UIDs) plus 49 two-instance
# studies so QIDO has something to search, and a second 100-instance
# study for concurrent ingest. Measures STOW-RS instances/s (1 and 4 clients),
# QIDO-RS study search by PatientID (p50/p99 with one client, req/s under
# wrk), PatientName wildcard latency, /metadata of the study (first and
# repeated) and WADO-RS whole-study MB/s. Prints a Markdown table (also
# written to build/bench-dicomweb.md). Takes about a minute.
#
# Orthanc binds every interface, so Orthanc, Lightbox and the load
# generator all run inside a private network namespace with only loopback
# up (needs root or unprivileged user namespaces: `unshare -n`). QIDO
# values (^ * ?) are sent literally: Orthanc's plugin does not
# percent-decode them.
#
#   scripts/bench-dicomweb.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)

if [ "${LIGHTBOX_NETNS_CHILD:-}" != 1 ]; then
  mkdir -p build
  go build -o build/lightbox ./cmd/lightbox
  go build -o build/benchdicomweb ./scripts/benchdicomweb
  command -v wrk >/dev/null || { echo "bench-dicomweb: wrk not installed" >&2; exit 1; }
  exec unshare -n sh -c 'ip link set lo up && exec "$@"' sh \
    env LIGHTBOX_NETNS_CHILD=1 "$0" "$@"
fi

orthanc=$(PATH="$PATH:/usr/sbin:/sbin" command -v Orthanc) || { echo "bench-dicomweb: Orthanc not installed" >&2; exit 1; }
plugin=/usr/share/orthanc/plugins/libOrthancDicomWeb.so
[ -f "$plugin" ] || { echo "bench-dicomweb: $plugin missing (orthanc-dicomweb)" >&2; exit 1; }
template=""
for d in "$root/../shared" "$root/shared" "$root/../../shared"; do
  [ -f "$d/dicom-samples/transfer-syntax/ge-ct-evrle.dcm" ] && template="$d/dicom-samples/transfer-syntax/ge-ct-evrle.dcm" && break
done
[ -n "$template" ] || { echo "bench-dicomweb: shared/dicom-samples/transfer-syntax/ge-ct-evrle.dcm not found" >&2; exit 1; }

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# Fresh namespace: fixed ports are free.
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
  echo "bench-dicomweb: $2 did not answer on $1:" >&2; tail -40 "$3" >&2; exit 1
}
wait_http "http://127.0.0.1:$or_http/system" Orthanc "$tmp/orthanc.log"
wait_http "http://127.0.0.1:$lb_http/dicom-web/studies" Lightbox "$tmp/lightbox.log"

echo "Orthanc $(curl -s http://127.0.0.1:$or_http/system | sed -n 's/.*"Version" *: *"\([^"]*\)".*/\1/p'), Lightbox $("$root/build/lightbox" version 2>/dev/null | head -1)"
"$root/build/benchdicomweb" -template "$template" \
  -lightbox "http://127.0.0.1:$lb_http/dicom-web" \
  -orthanc "http://127.0.0.1:$or_http/dicom-web" \
  -out "$root/build/bench-dicomweb.md" "$@"
echo
echo "table written to build/bench-dicomweb.md"
