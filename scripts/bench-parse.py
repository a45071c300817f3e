#!/usr/bin/python3
"""Header parsing side by side: Lightbox vs DCMTK dcmdump vs pydicom.

Usage: /usr/bin/python3 scripts/bench-parse.py LIGHTBOX_BIN CORPUS_DIR [ROUNDS]

Reads the same corpus files with each tool, header only, in one run on this
machine, best of ROUNDS (default 5), and prints a Markdown table:
  - lightbox: `lightbox bench parse` (in-process loop, ReadOptions{} = bulk
    data left on disk);
  - dcmdump: one `dcmdump -q -M` process over all files (-M: do not load
    long values such as Pixel Data), output to /dev/null;
  - pydicom: in-process loop of dcmread(f, stop_before_pixels=True, force=True).
Files DCMTK 3.6.7 crashes on (pathological nesting) are left out for all
three so the set is the same. Peak memory is each process's max RSS.
"""
import os, subprocess, sys, time

lb, corpus = sys.argv[1], sys.argv[2]
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
files = []
for line in open(os.path.join(corpus, "MANIFEST.tsv"), encoding="utf-8").read().splitlines()[1:]:
    cols = line.split("\t")
    if "rc=-11" in cols[11]:  # dcmdump segfaults on it
        continue
    files.append(os.path.join(corpus, cols[0]))
total = sum(os.path.getsize(f) for f in files)

def run_once(cmd):
    """Runs cmd, returning (seconds, its own peak RSS in MB, stdout)."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - t, ru.ru_maxrss / 1024, out.decode("utf-8", "replace")

def run(cmd):
    best, rss, out = None, 0, ""
    for _ in range(rounds):
        el, r, out = run_once(cmd)
        best = el if best is None or el < best else best
        rss = max(rss, r)
    return best, rss, out

_, lb_rss, out = run_once([lb, "bench", "parse", "-rounds", str(rounds)] + files)
kv = dict(x.split("=") for x in out.split())
lb_time = float(kv["time"].rstrip("ms")) / 1000

dcm_time, dcm_rss, _ = run(["dcmdump", "-q", "-M"] + files)
py_code = """
import sys, time, warnings
warnings.filterwarnings('ignore')
import pydicom
files = sys.argv[1:]
best = None
for _ in range(%d):
    t = time.perf_counter()
    for f in files:
        try:
            pydicom.dcmread(f, stop_before_pixels=True, force=True)
        except Exception:
            pass
    el = time.perf_counter() - t
    best = el if best is None or el < best else best
print(best)
""" % rounds
_, py_rss, out = run_once(["/usr/bin/python3", "-c", py_code] + files)
py_time = float(out.strip())

n = len(files)
print(f"{n} files, {total/1e6:.1f} MB, best of {rounds}\n")
print("| reader | total ms | files/s | MB/s | µs/file | peak RSS MB |")
print("|---|---:|---:|---:|---:|---:|")
for name, t, rss in [("Lightbox (`lightbox bench parse`)", lb_time, lb_rss),
                     ("DCMTK 3.6.7 `dcmdump -q -M` (one process)", dcm_time, dcm_rss),
                     ("pydicom 2.3 `dcmread(stop_before_pixels=True)`", py_time, py_rss)]:
    print(f"| {name} | {t*1000:.1f} | {n/t:.0f} | {total/1e6/t:.0f} | {t*1e6/n:.1f} | {rss:.1f} |")
print(f"\nLightbox allocations: {kv['allocs_per_file']} allocs/file, {int(float(kv['bytes_alloc_per_file']))} bytes/file")
print(f"Speed-up: {dcm_time/lb_time:.1f}x DCMTK, {py_time/lb_time:.1f}x pydicom")
