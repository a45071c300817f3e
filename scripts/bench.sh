#!/usr/bin/env bash
# scripts/bench.sh — the body of `make bench`.
#
# Placeholder: runs every Go benchmark once. The owners of the archive,
# DIMSE and DICOMweb benchmarks extend it (corpus ingest, wrk/hyperfine runs
# against a local server, comparison with Orthanc) and record the figures in
# BENCHMARKS.md. The machine has 2 cores shared with other work: keep runs
# bounded and loopback-only.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CGO_ENABLED=1

echo "==> go test -run=^\$ -bench=. -benchmem ./..."
go test -run='^$' -bench=. -benchmem ./...
