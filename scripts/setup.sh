#!/usr/bin/env bash
# scripts/setup.sh — install everything Lightbox's build and tests need on a
# fresh Debian 12 (bookworm) machine that already has Go, gcc, Node 20 and the
# local services (PostgreSQL, Redis, ...) of the go-svc machine kind.
#
# Idempotent: packages already installed are skipped (checked with
# dpkg-query); `apt-get update` runs only when something is missing. Safe to
# run twice, and fast (about a second) when nothing is missing.
#
# Steps:
#   1. Debian packages (reference tools, test peers, benchmark tools, codec
#      libraries for cgo). Orthanc's package would start a system daemon on
#      4242/8042; a policy-rc.d guard stops that, and any such daemon found
#      afterwards is stopped, because the tests start their own Orthanc.
#   2. PostgreSQL answering on 127.0.0.1:5432 (started if not), database `test`.
#   3. Go module cache filled (go mod download), viewer npm deps if present.
#
# Runs as root, or as a user with sudo for step 1.
# Environment: SETUP_SKIP_APT=1 skips step 1.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-y -q -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=600
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

SUDO=()
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO=(sudo -E); fi

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: ERROR: %s\n' "$*" >&2; exit 1; }

# Packages, one per line. "a|b" means: the first of a, b that apt knows.
# Names were checked against Debian 12 with `apt-cache policy`; all exist
# under the names asked for. libjpeg-dev is the fallback name on releases
# where libjpeg62-turbo-dev is gone.
PACKAGES=(
  dcmtk                 # dcmdump, storescu/storescp, findscu, movescu ... (reference peer)
  python3-pydicom       # reference parser for /usr/bin/python3 (tools/pydicom_ref.py)
  python3-numpy         # pixel data comparisons in reference scripts
  python3-pil           # pydicom's JPEG Baseline decoder (capture tests read wrapped scans back)
  dicom3tools           # dciodvfy/dcdump: IOD validation reference
  orthanc               # reference PACS peer (tests start their own instance)
  orthanc-dicomweb      # DICOMweb plug-in for the Orthanc peer
  python3-hl7           # HL7 v2 reference parser
  wrk                   # HTTP load generator (bench)
  hyperfine             # command timing (bench)
  iproute2              # ss, ip netns for network tests
  chromium              # headless viewer tests
  libopenjp2-7-dev      # JPEG 2000 codec (cgo)
  libcharls-dev         # JPEG-LS codec (cgo)
  libgdcm-dev           # GDCM (reference codecs)
  "libjpeg62-turbo-dev|libjpeg-dev"  # JPEG baseline/lossless (cgo)
  libjxl-dev            # JPEG XL codec (cgo)
  libgdcm-tools         # gdcmconv: reference JPEG 2000 decoder in codec tests
  libopenjp2-tools      # opj_decompress: reference HTJ2K decoder in codec tests
  libjxl-tools          # djxl: reference JPEG XL decoder in codec tests
  pkg-config            # cgo flags of the codec libraries
)

is_installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}

has_candidate() {
  local c
  c=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')
  [ -n "$c" ] && [ "$c" != "(none)" ]
}

# orthanc_system_pids prints the PIDs of Orthanc daemons started by the Debian
# package (config under /etc/orthanc), never an Orthanc a test started.
orthanc_system_pids() {
  local pid cmd
  for pid in $(pgrep -x Orthanc 2>/dev/null || true); do
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
    case "$cmd" in *"/etc/orthanc"*) echo "$pid" ;; esac
  done
}

stop_orthanc_service() {
  local pids
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    "${SUDO[@]}" systemctl disable --now orthanc >/dev/null 2>&1 || true
  fi
  if [ -x /etc/init.d/orthanc ]; then
    "${SUDO[@]}" update-rc.d orthanc disable >/dev/null 2>&1 || true
  fi
  pids=$(orthanc_system_pids)
  if [ -n "$pids" ]; then
    say "stopping the Orthanc system daemon (pid $pids): tests start their own"
    if [ -x /etc/init.d/orthanc ]; then "${SUDO[@]}" /etc/init.d/orthanc stop >/dev/null 2>&1 || true; fi
    sleep 1
    pids=$(orthanc_system_pids)
    # shellcheck disable=SC2086
    [ -z "$pids" ] || "${SUDO[@]}" kill $pids 2>/dev/null || true
  fi
}

install_packages() {
  local missing=() entry name alt chosen
  for entry in "${PACKAGES[@]}"; do
    chosen=""
    IFS='|' read -r -a alts <<<"$entry"
    for alt in "${alts[@]}"; do
      if is_installed "$alt"; then chosen="installed"; break; fi
    done
    [ -n "$chosen" ] || missing+=("$entry")
  done

  if [ ${#missing[@]} -eq 0 ]; then
    say "Debian packages: all ${#PACKAGES[@]} present"
    stop_orthanc_service
    return
  fi

  [ "$(id -u)" -eq 0 ] || [ ${#SUDO[@]} -gt 0 ] ||
    die "need root or sudo to install: ${missing[*]//|/ or } (or set SETUP_SKIP_APT=1)"
  say "Debian packages missing: ${missing[*]//|/ or }"
  say "apt-get update"
  "${SUDO[@]}" apt-get update -qq || die "apt-get update failed"

  local to_install=() unavailable=()
  for entry in "${missing[@]}"; do
    IFS='|' read -r -a alts <<<"$entry"
    chosen=""
    for alt in "${alts[@]}"; do
      if has_candidate "$alt"; then chosen=$alt; break; fi
    done
    if [ -n "$chosen" ]; then
      [ "$chosen" = "${alts[0]}" ] || say "note: ${alts[0]} not available, using $chosen"
      to_install+=("$chosen")
    else
      unavailable+=("$entry")
    fi
  done
  [ ${#unavailable[@]} -eq 0 ] || die "no installation candidate for: ${unavailable[*]}"

  # Keep package maintainer scripts from starting daemons (Orthanc's would
  # listen on 4242/8042). Only a guard we create is removed again.
  local guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# lightbox setup.sh: no daemons during install\nexit 101\n' |
      "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${SUDO[@]}" chmod 755 /usr/sbin/policy-rc.d
    guard=/usr/sbin/policy-rc.d
    # shellcheck disable=SC2064
    trap "${SUDO[*]} rm -f $guard" EXIT
  fi

  say "apt-get install ${to_install[*]}"
  local start=$SECONDS
  if ! "${SUDO[@]}" apt-get install "${APT_OPTS[@]}" --no-install-recommends "${to_install[@]}" >/tmp/lightbox-setup-apt.log 2>&1; then
    tail -n 30 /tmp/lightbox-setup-apt.log >&2
    die "apt-get install failed (full log: /tmp/lightbox-setup-apt.log)"
  fi
  say "installed ${#to_install[@]} package(s) in $((SECONDS - start))s"

  if [ -n "$guard" ]; then "${SUDO[@]}" rm -f "$guard"; trap - EXIT; fi
  stop_orthanc_service
}

pg_answers() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h 127.0.0.1 -p 5432 -t 2
  else
    timeout 2 bash -c '</dev/tcp/127.0.0.1/5432' 2>/dev/null
  fi
}

ensure_postgres() {
  if pg_answers; then
    say "PostgreSQL answers on 127.0.0.1:5432"
  else
    say "PostgreSQL not answering on 127.0.0.1:5432: starting it"
    command -v pg_ctlcluster >/dev/null 2>&1 || die "pg_ctlcluster not found: is PostgreSQL installed?"
    local ver
    ver=$(ls /etc/postgresql | sort -V | tail -n 1)
    "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$ver" main start || die "could not start PostgreSQL $ver"
    local i
    for i in $(seq 1 30); do pg_answers && break; sleep 1; done
    pg_answers || die "PostgreSQL still not answering on 127.0.0.1:5432"
    say "PostgreSQL started"
  fi
  if command -v psql >/dev/null 2>&1; then
    if [ "$(psql -h 127.0.0.1 -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" 2>/dev/null)" != 1 ]; then
      say "creating database test"
      psql -h 127.0.0.1 -U postgres -d postgres -qc 'CREATE DATABASE test' >/dev/null ||
        say "warning: could not create database test"
    fi
  fi
}

go_deps() {
  command -v go >/dev/null 2>&1 || die "go not found on PATH"
  if [ -f go.sum ]; then
    say "Go modules: go mod download"
    go mod download || die "go mod download failed"
  fi
  if [ -f web/viewer/package-lock.json ] && [ ! -d web/viewer/node_modules ]; then
    say "viewer: npm ci"
    (cd web/viewer && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci in web/viewer failed"
  fi
}

if [ "${SETUP_SKIP_APT:-}" = 1 ]; then
  say "SETUP_SKIP_APT=1: not checking Debian packages"
else
  install_packages
fi
ensure_postgres
go_deps
say "done"
