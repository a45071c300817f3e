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

bench=bench-dicomweb
. "$root/scripts/lib/side-by-side.sh"
template=$(find_sample transfer-syntax/ge-ct-evrle.dcm)
start_side_by_side

echo "Orthanc $(curl -s http://127.0.0.1:$or_http/system | sed -n 's/.*"Version" *: *"\([^"]*\)".*/\1/p'), Lightbox $("$root/build/lightbox" version 2>/dev/null | head -1)"
"$root/build/benchdicomweb" -template "$template" \
  -lightbox "http://127.0.0.1:$lb_http/dicom-web" \
  -orthanc "http://127.0.0.1:$or_http/dicom-web" \
  -out "$root/build/bench-dicomweb.md" "$@"
echo
echo "table written to build/bench-dicomweb.md"
