#!/usr/bin/env bash
# scripts/test.sh — the body of `make test` (setup runs before it).
#
#   scripts/test.sh [checks] [unit] [fuzz]     default: all three
#
#   checks  go vet ./... and a gofmt check that lists unformatted files
#   unit    go test -race -count=1 -timeout 20m ./...
#   fuzz    every fuzz target (go test -list '^Fuzz' per package), each for
#           $FUZZTIME (10s), within $FUZZ_BUDGET seconds (360) in all;
#           targets past the budget are listed as not fuzzed
#
# Every step runs even if an earlier one failed, so one run shows all
# problems. All go test output goes through `go test -json` into build/test/
# and scripts/testsum, which prints progress, then failing tests with their
# output, skipped tests with their reasons, and the closing line
#   tests: N passed, N failed, N skipped
# (also written to build/test/summary.txt). Exit status 1 on any failure.
#
# A fuzz failure writes its input to the package's testdata/fuzz/ as usual:
# commit it with the fix.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

export CGO_ENABLED=1
FUZZTIME=${FUZZTIME:-2000x}
FUZZ_BUDGET=${FUZZ_BUDGET:-360}
OUT=build/test
TS=build/testsum

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(checks unit corpus fuzz)

mkdir -p "$OUT"
rm -f "$OUT"/*.json "$OUT"/summary.txt "$OUT"/fuzz-targets.txt

if ! go build -o "$TS" ./scripts/testsum; then
  echo "test.sh: cannot build scripts/testsum"
  echo "tests: 0 passed, 1 failed, 0 skipped" | tee "$OUT/summary.txt"
  exit 1
fi

# exit_event records a step's exit status in its stream (see scripts/testsum).
exit_event() {
  printf '{"Action":"lightbox-exit","Package":"%s","Output":"%s"}\n' "$2" "$3" >>"$1"
}

run_checks() {
  echo "==> go vet ./..."
  "$TS" check "go vet" -- go vet ./... >>"$OUT/checks.json" && echo "    ok" || echo "    FAILED"
  echo "==> gofmt check"
  "$TS" check gofmt -- bash -c '
    files=$(find . -name "*.go" -not -path "./.git/*" -not -path "./build/*" \
      -not -path "*/node_modules/*" -not -path "*/testdata/*" -print0 | xargs -0 -r gofmt -l)
    if [ -n "$files" ]; then echo "gofmt -l lists files that need gofmt -w:"; echo "$files"; exit 1; fi
  ' >>"$OUT/checks.json" && echo "    ok" || echo "    FAILED: files need gofmt"
}

run_unit() {
  echo "==> go test -race -count=1 -timeout 20m ./..."
  local start=$SECONDS
  go test -json -race -count=1 -timeout 20m ./... 2>&1 | tee "$OUT/unit.json" | "$TS" progress
  local rc=${PIPESTATUS[0]}
  exit_event "$OUT/unit.json" "go test -race ./..." "$rc"
  echo "    (go test exit $rc, $((SECONDS - start))s)"
}

# The corpus-wide decode/parse/render tests visit a sample under -race (the
# detector slows them tenfold); this step runs them in full without it.
run_corpus() {
  echo "==> corpus-wide tests in full, without -race"
  local start=$SECONDS
  go test -json -count=1 -timeout 20m -run 'Corpus|Golden|Transcode|Pydicom' ./dicom/ ./imaging/ ./codec/... ./internal/archive/ 2>&1 | tee "$OUT/corpus.json" | "$TS" progress
  local rc=${PIPESTATUS[0]}
  exit_event "$OUT/corpus.json" "corpus tests without -race" "$rc"
  echo "    (corpus step exit $rc, $((SECONDS - start))s)"
}

run_fuzz() {
  echo "==> fuzz targets (go test -list '^Fuzz' ./...)"
  go test -list '^Fuzz' -json ./... 2>/dev/null | "$TS" fuzzlist >"$OUT/fuzz-targets.txt"
  local n
  n=$(wc -l <"$OUT/fuzz-targets.txt")
  if [ "$n" -eq 0 ]; then
    echo "    no fuzz targets"
    return
  fi
  echo "    $n target(s), $FUZZTIME each, budget ${FUZZ_BUDGET}s"
  local start=$SECONDS pkg="" name="" rc=0 skipped=()
  touch "$OUT/fuzz.json"
  while read -r pkg name; do
    if [ $((SECONDS - start)) -ge "$FUZZ_BUDGET" ]; then
      skipped+=("$pkg.$name")
      continue
    fi
    echo "--> fuzz $pkg $name"
    go test -run='^$' -fuzz="^${name}\$" -fuzztime="$FUZZTIME" -json "$pkg" </dev/null 2>&1 |
      tee -a "$OUT/fuzz.json" | "$TS" progress
    rc=${PIPESTATUS[0]}
    exit_event "$OUT/fuzz.json" "fuzz $pkg.$name" "$rc"
  done <"$OUT/fuzz-targets.txt"
  if [ ${#skipped[@]} -gt 0 ]; then
    echo "!!! fuzz budget of ${FUZZ_BUDGET}s spent: ${#skipped[@]} target(s) NOT fuzzed this run (their seed corpus ran in the unit step):"
    printf '    %s\n' "${skipped[@]}"
  fi
  echo "    (fuzz pass $((SECONDS - start))s)"
}

for step in "${steps[@]}"; do
  case "$step" in
  checks) run_checks ;;
  unit) run_unit ;;
  corpus) run_corpus ;;
  fuzz) run_fuzz ;;
  *) echo "test.sh: unknown step $step (want checks, unit, corpus, fuzz)" >&2; exit 2 ;;
  esac
done

streams=()
for f in checks unit corpus fuzz; do
  [ -f "$OUT/$f.json" ] && streams+=("$OUT/$f.json")
done
"$TS" report -o "$OUT/summary.txt" "${streams[@]}"
