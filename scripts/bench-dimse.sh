#!/usr/bin/env bash
# scripts/bench-dimse.sh — Lightbox's DIMSE services side by side with
# Orthanc 1.10 (Debian's `orthanc`, started with TCP_NODELAY=1) on the same
# 2,000 synthetic CT instances (~388 kB), driven by the same Go client:
# C-STORE ingest over 1 and 4 associations, C-FIND study-level latency
# (p50/p99 inside one association), C-MOVE and C-GET of a 100-instance
# study. Prints a Markdown table (also written to build/bench-dimse.md).
#
# Orthanc and DCMTK bind every interface, so everything runs inside a
# private network namespace with only loopback up (needs root or
# unprivileged user namespaces: `unshare -n`).
#
#   scripts/bench-dimse.sh            # build, then run once
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p build
go test -c -o build/dimsesvc.test ./internal/dimsesvc
out=$(pwd)/build/bench-dimse.md
rm -f "$out"
unshare -n sh -c 'ip link set lo up && exec "$@"' sh \
  env LIGHTBOX_NETNS_CHILD=1 LIGHTBOX_BENCH_OUT="$out" \
  ./build/dimsesvc.test -test.run '^$' -test.bench '^BenchmarkDIMSEVsOrthanc$' -test.benchtime 1x -test.v
[ -f "$out" ] && echo && echo "table written to build/bench-dimse.md"
