#!/usr/bin/python3
"""pydicom_ref.py — pydicom's reading of the DICOM corpus, as JSON, for Go tests
that compare Lightbox's reader with a reference.

Usage:
    /usr/bin/python3 tools/pydicom_ref.py CORPUS_DIR [REL_PATH ...] > out.json

CORPUS_DIR holds MANIFEST.tsv (first column `path`, relative to CORPUS_DIR).
With REL_PATHs, only those files are read (in the order given); otherwise
every file the manifest lists, in manifest order. `make pydicom-ref` writes
build/pydicom-ref.json. Needs Debian's python3-pydicom, which is installed for
/usr/bin/python3 (not for a pyenv python3 on PATH). About 12 s and 12 MB for
the 276-file corpus on a loaded 2-core machine.

OUTPUT (one JSON document, ASCII, json.dumps with ensure_ascii=True)

{
  "generator": "tools/pydicom_ref.py",
  "format": 1,                       # bumped on any change of what follows
  "pydicom": "2.3.1",                # pydicom.__version__
  "files": [ FILE, ... ]
}

FILE:
{
  "path": "charset/arabic-iso-ir-127.dcm",   # as in MANIFEST.tsv
  "ok": true,            # false if strict dcmread (force=False) raised, the
                         # forced read raised, or any element failed to read
  "error": null,         # first error: "<ExceptionType>: <message>", else null
  "strict_error": null,  # the strict dcmread(force=False) error, else null
  "transfer_syntax": "1.2.840.10008.1.2.1" | null,   # File Meta (0002,0010)
  "implicit_vr": false, "little_endian": true,       # what pydicom parsed the
                         # data set with (guessed by pydicom when no File Meta);
                         # null when the forced read itself failed
  "elements": [ ELEMENT, ... ]
}

The forced read is dcmread(path, force=True). If it raises (e.g. the
RecursionError on edge-cases/deeply-nested-sequence.dcm), "elements" is
empty. Element values are read one by one inside try/except, so one bad
element does not hide the others.

ELEMENT — the flattened list of ALL data elements: File Meta (group 0002)
first, then the data set, each data set sorted by tag (pydicom keeps the last
of duplicate tags), an SQ element directly followed by its items' elements:
{
  "path": "00081115/0/0020000E",  # tag, or SQtag/itemIndex/tag/... (index from 0)
  "tag": "0020000E",              # 8 upper-case hex digits
  "vr": "UI",                     # VR as pydicom resolves it (see below); null
                                  # if neither pydicom nor the file gives one
  "file_vr": "UI" | null,         # VR written in the file; null for implicit VR
  "vm": 1,                        # number of values (items for SQ)
  "value": ...,                   # see below
  "undefined_length": true        # present only when the length was 0xFFFFFFFF
}
An element whose value failed to convert has instead
  "value": null, "error": "<ExceptionType>: <message>",
  "raw": {"len": N, "sha256": "..."}       # of the raw value bytes, if any
(and no "vm").

VR: pydicom's VR after reading. For implicit VR: the dictionary VR; for a
private tag, LO for a private creator (gggg,0010-00FF), else the VR from
pydicom's private dictionary for that creator, else UN — so a private
group length (odd gggg, element 0000) is UN, while an unknown public group
length is UL and any other unknown public tag UN. An explicit "UN" is
replaced the same way (pydicom's replace_un_with_known_vr: public tags by
the dictionary if the value is shorter than 0xFFFF bytes, private tags by
the private dictionary), so a big endian GE file's UN private elements can
come out as LO, SH, SL, ... Ambiguous VRs ("OB or OW",
"US or SS", "US or SS or OW") resolved from Pixel Representation / Bits
Allocated as pydicom's correct_ambiguous_vr_element does, or left as the
ambiguous string when it cannot. A UN element of undefined length is
parsed by pydicom as an implicit VR sequence (vr "SQ").

VALUE normalisation. Values are collected into a list first; then
"value" is null when the list is empty (vm 0), the single item when vm is 1,
and the list when vm > 1. Items are:
  - text VRs (AE AS CS DA DT LO LT PN SH ST TM UC UI UR UT): pydicom's
    decoded str, charset applied (Specific Character Set, incl. ISO 2022
    code extensions), so with pydicom's trimming (trailing spaces/NULs; UI
    trailing NUL). Multi-valued text is split at backslashes by pydicom
    (not LT, ST, UT, UR). DA/DT/TM stay strings (no datetime conversion).
    PN: str(PersonName), the full form with "=" between the alphabetic,
    ideographic and phonetic groups, e.g. "Yamada^Tarou=山田^太郎=やまだ^たろう".
  - IS, DS: the strings as written in the file, not pydicom's numbers: the
    raw bytes decoded as ASCII (Latin-1 for non-ASCII bytes), split at
    backslashes, each value stripped of leading and trailing spaces and
    NULs. A value of only padding gives vm 0.
  - US SS UL SL UV SV: integers (pydicom's, with its one fix-up: a negative
    first value of a LUT Descriptor gets 65536 added). FL FD: numbers
    (a float32 printed as the float64 it widens to, e.g. 0.1 ->
    0.10000000149011612); NaN and infinities as the strings "NaN",
    "Infinity", "-Infinity".
  - AT: the tag as an integer (group << 16 | element), e.g. 0x00100010 ->
    1048592.
  - SQ: "value" is null, "vm" the number of items; the items' elements
    follow in the list with their paths.
  - Any value pydicom leaves as bytes — OB OW OF OD OL OV UN, an unresolved
    ambiguous VR, Pixel Data (native or encapsulated) — is
      {"len": N, "sha256": "<first 16 hex digits of SHA-256>"}
    of the value bytes exactly as stored in the file (no byte swapping for
    big endian). For an undefined-length value (encapsulated Pixel Data)
    those bytes run from the first Item tag up to, not including, the
    Sequence Delimitation Item: item tags, item lengths and fragments. No
    pixel data is ever decoded or decompressed.
"""

import hashlib
import json
import math
import os
import sys
import warnings

FORMAT = 1

try:
    import pydicom
    from pydicom.dataset import Dataset
    from pydicom.multival import MultiValue
    from pydicom.valuerep import PersonName
    from pydicom.sequence import Sequence
except ImportError as exc:  # pragma: no cover
    sys.exit(f"pydicom_ref.py: cannot import pydicom ({exc}); use /usr/bin/python3 with python3-pydicom")

BULK_HASH_HEX = 16
IS_DS = ("IS", "DS")


def err_str(exc):
    msg = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {msg[0] if msg else ''}"


def bulk(b):
    return {"len": len(b), "sha256": hashlib.sha256(b).hexdigest()[:BULK_HASH_HEX]}


def vr_str(vr):
    """pydicom 2.3 VRs are a str Enum in places: give the plain string."""
    if vr is None:
        return None
    return str(getattr(vr, "value", vr))


def tag_hex(tag):
    return f"{int(tag):08X}"


def number(v):
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return v
    return int(v)


def is_ds_values(raw_value, converted):
    """IS/DS strings as written, trimmed of spaces/NULs at both ends."""
    if isinstance(raw_value, (bytes, bytearray)):
        try:
            text = raw_value.decode("ascii")
        except UnicodeDecodeError:
            text = raw_value.decode("latin-1")
    else:  # already converted by pydicom: fall back to original strings
        vals = list(converted) if isinstance(converted, MultiValue) else [converted]
        text = "\\".join(
            "" if v is None else getattr(v, "original_string", None) or str(v) for v in vals
        )
    if text.strip(" \0") == "":
        return []
    return [v.strip(" \0") for v in text.split("\\")]


def item_value(vr, v):
    if isinstance(v, PersonName):
        return str(v)
    if isinstance(v, (bytes, bytearray)):
        return bulk(bytes(v))
    if vr == "AT":
        return int(v)
    if isinstance(v, (int, float)) and not isinstance(v, str):
        return number(v)
    return str(v)


def values(vr, value):
    if value is None or (isinstance(value, (bytes, bytearray, str)) and len(value) == 0):
        return []
    if isinstance(value, (bytes, bytearray)):
        return [bulk(bytes(value))]
    if isinstance(value, (MultiValue, list, tuple)):
        return [item_value(vr, v) for v in value]
    return [item_value(vr, value)]


def raw_bytes(raw):
    v = getattr(raw, "value", None)
    return bytes(v) if isinstance(v, (bytes, bytearray)) else None


def walk(ds, prefix, out, errors):
    """Append ds's elements (sorted by tag), recursing into sequences."""
    try:
        tags = sorted(ds.keys())
    except Exception as exc:  # noqa: BLE001
        errors.append(f"{prefix or 'dataset'}: {err_str(exc)}")
        return
    # Raw elements before any conversion (conversion replaces them).
    raws = {}
    for tag in tags:
        try:
            raws[tag] = ds.get_item(tag)
        except Exception:  # noqa: BLE001
            raws[tag] = None
    for tag in tags:
        path = prefix + tag_hex(tag)
        raw = raws[tag]
        if type(raw).__name__ == "RawDataElement":
            file_vr = raw.VR  # None for implicit VR
            undefined = raw.length == 0xFFFFFFFF
        else:  # already converted while pydicom read the file
            file_vr = None if getattr(ds, "is_implicit_VR", False) else getattr(raw, "VR", None)
            undefined = bool(getattr(raw, "is_undefined_length", False))
        entry = {"path": path, "tag": tag_hex(tag), "vr": None, "file_vr": vr_str(file_vr)}
        out.append(entry)
        try:
            elem = ds[tag]
            vr = vr_str(elem.VR)
            entry["vr"] = vr
            value = elem.value
            if vr == "SQ" or isinstance(value, Sequence):
                items = list(value) if value is not None else []
                entry["vm"] = len(items)
                entry["value"] = None
                if undefined:
                    entry["undefined_length"] = True
                for i, item in enumerate(items):
                    if isinstance(item, Dataset):
                        walk(item, f"{path}/{i}/", out, errors)
                continue
            if vr in IS_DS and not isinstance(value, (bytes, bytearray)):
                vals = is_ds_values(raw_bytes(raw), value)
            else:
                vals = values(vr, value)
            entry["vm"] = len(vals)
            entry["value"] = None if not vals else vals[0] if len(vals) == 1 else vals
            if undefined:
                entry["undefined_length"] = True
        except Exception as exc:  # noqa: BLE001 — any pydicom failure is data
            if entry["vr"] is None:
                entry["vr"] = vr_str(file_vr)
            entry.pop("vm", None)
            entry["value"] = None
            entry["error"] = err_str(exc)
            rb = raw_bytes(raw)
            if rb is not None:
                entry["raw"] = bulk(rb)
            errors.append(f"{path}: {entry['error']}")


def read_file(corpus, rel):
    path = os.path.join(corpus, rel)
    rec = {"path": rel, "ok": False, "error": None, "strict_error": None,
           "transfer_syntax": None, "implicit_vr": None, "little_endian": None, "elements": []}
    errors = []
    try:
        pydicom.dcmread(path, force=False)
    except Exception as exc:  # noqa: BLE001
        rec["strict_error"] = err_str(exc)
        errors.append("strict dcmread: " + rec["strict_error"])
    try:
        ds = pydicom.dcmread(path, force=True)
    except BaseException as exc:  # noqa: BLE001 — RecursionError, EOFError, ...
        if isinstance(exc, KeyboardInterrupt):
            raise
        errors.insert(0, "dcmread(force=True): " + err_str(exc))
        rec["error"] = errors[0]
        return rec
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        try:
            ts = meta.get("TransferSyntaxUID")
            rec["transfer_syntax"] = str(ts) if ts is not None else None
        except Exception as exc:  # noqa: BLE001
            errors.append(f"00020010: {err_str(exc)}")
    rec["implicit_vr"] = getattr(ds, "is_implicit_VR", None)
    rec["little_endian"] = getattr(ds, "is_little_endian", None)
    if meta is not None:
        walk(meta, "", rec["elements"], errors)
    walk(ds, "", rec["elements"], errors)
    rec["ok"] = not errors
    rec["error"] = errors[0] if errors else None
    return rec


def manifest_paths(corpus):
    paths = []
    with open(os.path.join(corpus, "MANIFEST.tsv"), encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        col = header.index("path")
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if len(fields) > col and fields[col]:
                paths.append(fields[col])
    return paths


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    corpus = argv[1]
    rels = argv[2:] or manifest_paths(corpus)
    warnings.simplefilter("ignore")  # pydicom warns on odd values; they are data here
    files = [read_file(corpus, rel) for rel in rels]
    doc = {"generator": "tools/pydicom_ref.py", "format": FORMAT,
           "pydicom": pydicom.__version__, "files": files}
    json.dump(doc, sys.stdout, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
