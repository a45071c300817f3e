# Lightbox — developer and CI entry points.
#
#   make run     set up the machine if needed, build bin/lightbox, run `lightbox serve`
#   make test    set up, go vet, gofmt check, go test -race ./..., short fuzz pass
#   make build   build bin/lightbox
#   make bench   ./scripts/bench.sh
#
# Under CI=true (as CI runs it) a test whose tool or service is missing fails
# instead of skipping (internal/testenv).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

export CGO_ENABLED := 1
# Strictness follows the caller's CI variable; exported so every go test sees it.
export CI

GO       ?= go
BIN      ?= bin/lightbox
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  ?= -X github.com/lightbox-pacs/lightbox/internal/version.Version=$(VERSION)
ARGS     ?=
# The shared DICOM corpus: shared/ sits beside the repository.
CORPUS   ?= ../shared/dicom-samples
PYTHON   ?= /usr/bin/python3
# Fuzz pass: time per target and the total budget in seconds.
FUZZTIME    ?= 2000x
FUZZ_BUDGET ?= 240
export FUZZTIME FUZZ_BUDGET

.PHONY: help setup viewer build run test check unit fuzz vet fmt bench pydicom-ref clean

help:
	@echo "make run | test | build | bench | setup | vet | fmt | fuzz | pydicom-ref | clean"

## setup: install tools and libraries, make sure PostgreSQL runs (idempotent, ~1s when done)
setup:
	@./scripts/setup.sh

## viewer: build the web viewer bundle into internal/webui/dist (npm ci + vite build; skipped when up to date)
viewer:
	$(GO) generate ./internal/webui

## build: bin/lightbox
build: viewer
	@test -d cmd/lightbox || { echo "make: cmd/lightbox does not exist yet"; exit 1; }
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/lightbox

## run: the server, with ARGS passed to `lightbox serve`
run: setup build
	./$(BIN) serve $(ARGS)

## test: everything CI runs; closes with "tests: N passed, N failed, N skipped"
test: setup pydicom-ref viewer
	@./scripts/test.sh

## check / unit / fuzz: single steps of `make test`, without setup
check:
	@./scripts/test.sh checks
unit:
	@./scripts/test.sh unit
fuzz:
	@./scripts/test.sh fuzz

vet:
	$(GO) vet ./...

fmt:
	@find . -name '*.go' -not -path './.git/*' -not -path './build/*' -not -path '*/node_modules/*' \
		-not -path '*/testdata/*' -print0 | xargs -0 -r gofmt -l -w

bench: setup
	@./scripts/bench.sh

## pydicom-ref: pydicom's reading of the corpus, for tests that compare with it
pydicom-ref: build/pydicom-ref.json

build/pydicom-ref.json: tools/pydicom_ref.py $(wildcard $(CORPUS)/MANIFEST.tsv)
	@mkdir -p build
	@if [ -f "$(CORPUS)/MANIFEST.tsv" ]; then \
		echo "pydicom-ref: $(CORPUS) -> $@"; \
		$(PYTHON) tools/pydicom_ref.py "$(CORPUS)" >$@.tmp && mv $@.tmp $@; \
	else \
		echo "pydicom-ref: no corpus at $(CORPUS): skipped (tests that need it will say so)"; \
	fi

clean:
	rm -rf bin build
