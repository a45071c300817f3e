# scripts/lib/side-by-side.sh — sourced by the benchmark scripts that run
# Lightbox and Orthanc 1.10 + its DICOMweb plugin side by side inside a
# private network namespace (Orthanc binds every interface). Needs $root
# (the repository), build/lightbox built, and $bench (the script's name for
# messages). Provides:
#
#   find_sample REL        prints the path of shared/dicom-samples/REL
#   start_side_by_side     starts both servers on fixed ports, waits until
#                          they answer, stops them and removes $tmp on exit;
#                          sets tmp, lb_http, lb_dicom, or_http, or_dicom

find_sample() {
  local d
  for d in "$root/../shared" "$root/shared" "$root/../../shared"; do
    [ -f "$d/dicom-samples/$1" ] && { echo "$d/dicom-samples/$1"; return 0; }
  done
  echo "$bench: shared/dicom-samples/$1 not found" >&2
  return 1
}

wait_http() { # url name log
  for _ in $(seq 600); do
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "$bench: $2 did not answer on $1:" >&2; tail -40 "$3" >&2; exit 1
}

start_side_by_side() {
  local orthanc plugin
  orthanc=$(PATH="$PATH:/usr/sbin:/sbin" command -v Orthanc) || { echo "$bench: Orthanc not installed" >&2; exit 1; }
  plugin=/usr/share/orthanc/plugins/libOrthancDicomWeb.so
  [ -f "$plugin" ] || { echo "$bench: $plugin missing (orthanc-dicomweb)" >&2; exit 1; }

  tmp=$(mktemp -d)
  pids=()
  trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
        for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
        rm -rf "$tmp"' EXIT

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
  wait_http "http://127.0.0.1:$or_http/system" Orthanc "$tmp/orthanc.log"
  wait_http "http://127.0.0.1:$lb_http/dicom-web/studies" Lightbox "$tmp/lightbox.log"
}
