"""Reference decoder for native pixel data. Reads lines "FILE<TAB>OUTDIR"
from standard input; for each, writes every frame as pydicom's pixel_array
gives it to OUTDIR/frame-N.raw as little-endian colour-by-pixel samples,
and prints one JSON line: {"file", "frames", "shape", "dtype"} or
{"file", "error"}. One process serves the whole corpus: starting Python
with numpy per file costs seconds. Run with Debian's /usr/bin/python3
(python3-pydicom, python3-numpy).
"""
import json
import os
import sys

import numpy as np
import pydicom


def frames(path, outdir):
    ds = pydicom.dcmread(path, force=True)
    if "TransferSyntaxUID" not in ds.file_meta:  # ACR-NEMA style, no File Meta
        ds.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian if ds.is_implicit_VR else pydicom.uid.ExplicitVRLittleEndian
    # Defaults the Go side applies too (PS3.3 leaves no other reading).
    if "SamplesPerPixel" not in ds:
        ds.SamplesPerPixel = 1
    if "PixelRepresentation" not in ds:
        ds.PixelRepresentation = 0
    arr = ds.pixel_array
    n = int(getattr(ds, "NumberOfFrames", 1) or 1)
    if n == 1:
        arr = arr[np.newaxis, ...]
    arr = arr.astype(arr.dtype.newbyteorder("<"))
    for i in range(arr.shape[0]):
        with open(os.path.join(outdir, "frame-%d.raw" % i), "wb") as f:
            f.write(np.ascontiguousarray(arr[i]).tobytes())
    return {"frames": arr.shape[0], "shape": list(arr.shape), "dtype": arr.dtype.str}


def main():
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            continue
        path, outdir = line.split("\t")
        try:
            res = frames(path, outdir)
        except Exception as e:  # reported to the Go test, which decides
            res = {"error": "%s: %s" % (type(e).__name__, e)}
        res["file"] = path
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
