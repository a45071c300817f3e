#!/usr/bin/python3
"""Regenerate golden.json, the pydicom reference for the charset tests.

Run with the Debian python3 that has python3-pydicom installed:

    /usr/bin/python3 dicom/charset/testdata/gen.py

It records, as pydicom decodes them:

  fixtures  every SH/LO/UC/ST/LT/UT/PN element with 8-bit or ESC bytes (and
            every PatientName under charset/) in the shared DICOM corpus
            (shared/dicom-samples, found by walking up from this file): the
            raw value field, the effective (0008,0005) and pydicom's value;
  probes    hand-made values: the examples of PS3.5 Annexes H, I, J and K,
            pydicom's own test vectors, and edge cases (misspelled terms,
            invalid bytes, undeclared escapes, delimiter bytes inside
            multi-byte characters);
  encodes   pydicom's encoding of some strings;
  terms     pydicom's reading of some (0008,0005) values;
  tables    Python's codecs for every cell of each character set, to check
            the x/text tables against.

The Go tests compare against this file and list each deliberate difference
from pydicom with its reason.
"""

import base64
import codecs
import json
import os
import sys
import warnings

import pydicom
from pydicom import charset as pcs
from pydicom.dataelem import DataElement_from_raw, RawDataElement
from pydicom.multival import MultiValue
from pydicom.valuerep import PersonName

TEXT_VRS = {"SH", "LO", "UC", "ST", "LT", "UT", "PN"}
TAGS = {"PN": 0x00100010, "LO": 0x00081030, "SH": 0x00080050,
        "UC": 0x00189908, "LT": 0x001021B0, "ST": 0x00080081, "UT": 0x0040A160}
MAX_RAW = 2048
MAX_PER_FILE = 4
HERE = os.path.dirname(os.path.abspath(__file__))


def find_corpus():
    d = HERE
    while True:
        cand = os.path.join(d, "shared", "dicom-samples")
        if os.path.isdir(cand):
            return cand
        parent = os.path.dirname(d)
        if parent == d:
            sys.exit("shared/dicom-samples not found above " + HERE)
        d = parent


def terms_of(value):
    if value is None:
        return []
    if isinstance(value, (list, MultiValue)):
        return [str(v) for v in value]
    return [str(value)]


def as_text(value):
    """pydicom's value of a text element, multiple values joined by '\\'."""
    if isinstance(value, (list, MultiValue)):
        return "\\".join(str(v) for v in value)
    return str(value)


def decode_with_pydicom(terms, vr, raw):
    """Decode raw as pydicom's reader would; return (text, warnings)."""
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        encs = pcs.convert_encodings(terms or None)
        elem = DataElement_from_raw(
            RawDataElement(TAGS[vr], vr, len(raw), raw, 0, False, True),
            encoding=encs)
        text = as_text(elem.value)
    return text, [str(x.message) for x in w]


def scan_corpus(corpus):
    sys.setrecursionlimit(5000)
    fixtures = []
    seen = set()
    for root, dirs, files in os.walk(corpus):
        dirs.sort()
        for fn in sorted(files):
            path = os.path.join(root, fn)
            rel = os.path.relpath(path, corpus)
            if not (fn.endswith(".dcm") or "." not in fn):
                continue
            if "deeply-nested" in fn:  # pydicom hits its recursion limit
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
                except Exception:
                    continue
            in_charset_dir = rel.startswith("charset" + os.sep)
            found = []

            def walk(d, terms, where):
                try:
                    keys = list(d.keys())
                except Exception:
                    return
                own = d.get_item(0x00080005)
                if own is not None and own.value:
                    # an item's own (0008,0005) replaces the parent's
                    terms = terms_of(d[0x00080005].value)
                for tag in keys:
                    try:
                        raw_elem = d.get_item(tag)
                        raw = getattr(raw_elem, "value", None)
                        with warnings.catch_warnings(record=True) as w:
                            warnings.simplefilter("always")
                            elem = d[tag]
                            msgs = [str(x.message) for x in w]
                    except Exception:
                        continue
                    vr = str(elem.VR)
                    if vr == "SQ":
                        for n, item in enumerate(elem.value or []):
                            walk(item, terms, where + [f"{elem.tag:08X}[{n}]"])
                        continue
                    if vr not in TEXT_VRS or not isinstance(raw, bytes):
                        continue
                    special = any(b >= 0x80 or b == 0x1B for b in raw)
                    if not special and not (in_charset_dir and tag == 0x00100010):
                        continue
                    if len(raw) > MAX_RAW:
                        continue
                    # every charset/ file keeps its own fixtures; elsewhere
                    # identical values are recorded once
                    key = (rel if in_charset_dir else "", tuple(terms), vr, raw)
                    if key in seen:
                        continue
                    seen.add(key)
                    found.append({
                        "file": rel.replace(os.sep, "/"),
                        "path": "/".join(where + [f"{elem.tag:08X}"]),
                        "keyword": elem.keyword,
                        "vr": vr,
                        "charset": terms,
                        "raw": base64.b64encode(raw).decode(),
                        "pydicom": as_text(elem.value),
                        "warnings": msgs,
                    })

            try:
                walk(ds, terms_of(ds.get("SpecificCharacterSet")), [])
            except RecursionError:
                continue
            fixtures.extend(found if in_charset_dir else found[:MAX_PER_FILE])
    return fixtures


def jis(s):
    return s.encode("iso2022_jp")


# Values from the standard; "expect" is the text the standard gives.
def annex_probes():
    ko = lambda s: s.encode("euc_kr")
    gb = lambda s: s.encode("gb18030")
    return [
        {"name": "PS3.5 H.3.1 Japanese PN, ISO 2022 IR 87", "charset": ["", "ISO 2022 IR 87"], "vr": "PN",
         "raw": b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B",
         "expect": "Yamada^Tarou=山田^太郎=やまだ^たろう"},
        {"name": "PS3.5 H.3.2 Japanese PN, ISO 2022 IR 13 and 87", "charset": ["ISO 2022 IR 13", "ISO 2022 IR 87"], "vr": "PN",
         "raw": b"\xd4\xcf\xc0\xde^\xc0\xdb\xb3=\x1b$B;3ED\x1b(J^\x1b$BB@O:\x1b(J=\x1b$B$d$^$@\x1b(J^\x1b$B$?$m$&\x1b(J",
         "expect": "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう"},
        {"name": "PS3.5 I.2 Korean PN, ISO 2022 IR 149", "charset": ["", "ISO 2022 IR 149"], "vr": "PN",
         "raw": b"Hong^Gildong=\x1b$)C\xfb\xf3^\x1b$)C\xd1\xce\xd4\xd7=\x1b$)C\xc8\xab^\x1b$)C\xb1\xe6\xb5\xbf",
         "expect": "Hong^Gildong=洪^吉洞=홍^길동"},
        {"name": "PS3.5 I.2 Korean LT, ISO 2022 IR 149", "charset": ["", "ISO 2022 IR 149"], "vr": "LT",
         "raw": b"The 1st line includes \x1b$)C" + ko("한글") + b".\r\nThe 2nd line includes \x1b$)C" + ko("한글")
         + b", too.\r\nThe 3rd line.\r\n",
         "expect": "The 1st line includes 한글.\r\nThe 2nd line includes 한글, too.\r\nThe 3rd line.\r\n"},
        {"name": "PS3.5 J.1 Chinese PN, ISO_IR 192", "charset": ["ISO_IR 192"], "vr": "PN",
         "raw": "Wang^XiaoDong=王^小東=".encode("utf-8"), "expect": "Wang^XiaoDong=王^小東="},
        {"name": "PS3.5 J.2 Chinese LT, ISO_IR 192", "charset": ["ISO_IR 192"], "vr": "LT",
         "raw": "The first line includes 中文.\r\nThe second line includes 中文, too.\r\nThe third line.\r\n".encode("utf-8"),
         "expect": "The first line includes 中文.\r\nThe second line includes 中文, too.\r\nThe third line.\r\n"},
        {"name": "PS3.5 J.3 Chinese PN, GB18030", "charset": ["GB18030"], "vr": "PN",
         "raw": b"Wang^XiaoDong=\xcd\xf5^\xd0\xa1\xb6\xab=", "expect": "Wang^XiaoDong=王^小东="},
        {"name": "PS3.5 J.3 Chinese PN, GBK", "charset": ["GBK"], "vr": "PN",
         "raw": b"Wang^XiaoDong=\xcd\xf5^\xd0\xa1\xb6\xab=", "expect": "Wang^XiaoDong=王^小东="},
        {"name": "PS3.5 J.4 Chinese LT, GB18030", "charset": ["GB18030"], "vr": "LT",
         "raw": b"The first line includes\xd6\xd0\xce\xc4.\r\nThe second line includes\xd6\xd0\xce\xc4, too.\r\nThe third line.\r\n",
         "expect": "The first line includes中文.\r\nThe second line includes中文, too.\r\nThe third line.\r\n"},
        {"name": "PS3.5 K.2 Chinese PN, ISO 2022 IR 58", "charset": ["", "ISO 2022 IR 58"], "vr": "PN",
         "raw": b"Zhang^XiaoDong=\x1b$)A\xd5\xc5^\x1b$)A\xd0\xa1\xb6\xab= ", "expect": "Zhang^XiaoDong=张^小东= "},
        {"name": "PS3.5 K.3 Chinese LT, ISO 2022 IR 58", "charset": ["", "ISO 2022 IR 58"], "vr": "LT",
         "raw": b"1.\x1b$)A" + gb("第一行文字。") + b"\r\n2.\x1b$)A" + gb("第二行文字。") + b"\r\n3.\x1b$)A" + gb("第三行文字。") + b"\r\n",
         "expect": "1.第一行文字。\r\n2.第二行文字。\r\n3.第三行文字。\r\n"},
        {"name": "PS3.5 K.3 (2015c) Chinese LT, ISO 2022 IR 58, explicit ESC ( B", "charset": ["", "ISO 2022 IR 58"], "vr": "LT",
         "raw": b"1.\x1b$)A" + gb("第一行文字。") + b"\x1b(B\r\n2.\x1b$)A" + gb("第二行文字。") + b"\x1b(B\r\n3.\x1b$)A"
         + gb("第三行文字。") + b"\x1b(B\r\n ",
         "expect": "1.第一行文字。\r\n2.第二行文字。\r\n3.第三行文字。\r\n "},
        {"name": "Japanese LT after PS3.5 H, ISO 2022 IR 87", "charset": ["", "ISO 2022 IR 87"], "vr": "LT",
         "raw": b"1. " + jis("山田") + b"\r\n2. " + jis("やまだ") + b" Tarou\r\n",
         "expect": "1. 山田\r\n2. やまだ Tarou\r\n"},
    ]


# pydicom's test vectors for single-byte code extensions (tests/test_charset.py).
PYDICOM_NAMES = [
    ("ISO 2022 IR 13", "ﾔﾏﾀﾞ^ﾀﾛｳ", b"\x1b\x29\x49\xd4\xcf\xc0\xde\x5e\x1b\x29\x49\xc0\xdb\xb3"),
    ("ISO 2022 IR 100", "Buc^Jérôme", b"\x1b\x2d\x41\x42\x75\x63\x5e\x1b\x2d\x41\x4a\xe9\x72\xf4\x6d\x65"),
    ("ISO 2022 IR 101", "Wałęsa", b"\x1b\x2d\x42\x57\x61\xb3\xea\x73\x61"),
    ("ISO 2022 IR 109", "antaŭnomo", b"\x1b\x2d\x43\x61\x6e\x74\x61\xfd\x6e\x6f\x6d\x6f"),
    ("ISO 2022 IR 110", "vārds", b"\x1b\x2d\x44\x76\xe0\x72\x64\x73"),
    ("ISO 2022 IR 127", "قباني^لنزار", b"\x1b\x2d\x47\xe2\xc8\xc7\xe6\xea\x5e\x1b\x2d\x47\xe4\xe6\xd2\xc7\xd1"),
    ("ISO 2022 IR 126", "Διονυσιος", b"\x1b\x2d\x46\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2"),
    ("ISO 2022 IR 138", "שרון^דבורה", b"\x1b\x2d\x48\xf9\xf8\xe5\xef\x5e\x1b\x2d\x48\xe3\xe1\xe5\xf8\xe4"),
    ("ISO 2022 IR 144", "Люкceмбypг", b"\x1b\x2d\x4c\xbb\xee\xda\x63\x65\xdc\xd1\x79\x70\xd3"),
    ("ISO 2022 IR 148", "Çavuşoğlu", b"\x1b\x2d\x4d\xc7\x61\x76\x75\xfe\x6f\xf0\x6c\x75"),
    ("ISO 2022 IR 166", "นามสกุล", b"\x1b\x2d\x54\xb9\xd2\xc1\xca\xa1\xd8\xc5"),
]


def edge_probes():
    p = []
    for term, text, raw in PYDICOM_NAMES:
        p.append({"name": "pydicom vector " + term, "charset": ["", term], "vr": "PN",
                  "raw": b"ASCII+" + raw, "expect": "ASCII+" + text})
    mori = (b"Mori^Ogai=\x1b$B?9\x1b(B^\x1b$(Dl?\x1b$B30\x1b(B=\x1b$B$b$j\x1b(B^\x1b$B$*$&$,$$\x1b(B")
    s_latin = "Buc^Jérôme"
    p += [
        {"name": "JIS X 0212 PN (pydicom vector)", "charset": ["ISO 2022 IR 6", "ISO 2022 IR 87", "ISO 2022 IR 159"],
         "vr": "PN", "raw": mori, "expect": "Mori^Ogai=森^鷗外=もり^おうがい"},
        {"name": "missing escape after ^ (pydicom vector)", "charset": ["", "ISO 2022 IR 13"], "vr": "PN",
         "raw": b"ASCII+\x1b\x29\x49\xd4\xcf\xc0\xde\x5e\xc0\xdb\xb3"},
        {"name": "multi-valued PN, three sets (pydicom vector)", "charset": ["ISO 2022 IR 100", "ISO 2022 IR 144", "ISO 2022 IR 126"],
         "vr": "PN", "raw": b"Buc^J\xe9r\xf4me\\\x1b-F\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2\\\x1b-L\xbb\xee\xda\x63\x65\xdc\xd1\x79\x70\xd3",
         "expect": "Buc^Jérôme\\Διονυσιος\\Люкceмбypг"},
        {"name": "multi-valued LO, three sets (pydicom vector)", "charset": ["ISO 2022 IR 100", "ISO 2022 IR 144", "ISO 2022 IR 126"],
         "vr": "LO", "raw": b"Buc^J\xe9r\xf4me\\\x1b-F\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2\\\x1b-L\xbb\xee\xda\x63\x65\xdc\xd1\x79\x70\xd3",
         "expect": "Buc^Jérôme\\Διονυσιος\\Люкceмбypг"},
        {"name": "escape inside LO (pydicom vector)", "charset": ["ISO 2022 IR 100", "ISO 2022 IR 126"], "vr": "LO",
         "raw": b"Dionysios is \x1b-F\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2", "expect": "Dionysios is Διονυσιος"},
        {"name": "first value used without escape (pydicom vector)", "charset": ["ISO 2022 IR 100", "ISO 2022 IR 144"], "vr": "LO",
         "raw": b"R\xf6ntgenaufnahme", "expect": "Röntgenaufnahme"},
        {"name": "known escape for undeclared set (pydicom vector)", "charset": ["ISO_IR 100"], "vr": "PN",
         "raw": b"\x1b-F\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2", "expect": "Διονυσιος"},
        {"name": "unknown escape sequence", "charset": ["ISO_IR 100"], "vr": "LO", "raw": b"ab\x1b(Zcd"},
        {"name": "ESC at end of value", "charset": ["", "ISO 2022 IR 87"], "vr": "LO", "raw": b"abc\x1b"},
        {"name": "JIS X 0212 invalid bytes (pydicom vector)", "charset": ["ISO 2022 IR 159"], "vr": "PN",
         "raw": b"\x1b$(D\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2"},
        {"name": "kanji whose second byte is '=' in PN", "charset": ["", "ISO 2022 IR 87"], "vr": "PN",
         "raw": jis("そ") + b"^Taro", "expect": "そ^Taro"},
        {"name": "kanji whose second byte is '\\' in LO", "charset": ["", "ISO 2022 IR 87"], "vr": "LO",
         "raw": jis("ボ") + b"\\" + jis("ボ"), "expect": "ボ\\ボ"},
        {"name": "kanji whose first byte is '=' in PN", "charset": ["", "ISO 2022 IR 87"], "vr": "PN",
         "raw": jis("渋谷") + b"=Shibuya", "expect": "渋谷=Shibuya"},
        {"name": "SPACE inside a JIS X 0208 run", "charset": ["", "ISO 2022 IR 87"], "vr": "PN",
         "raw": b"\x1b$B;3 ED\x1b(B", "expect": "山 田"},
        {"name": "truncated JIS X 0208 character", "charset": ["", "ISO 2022 IR 87"], "vr": "LO",
         "raw": b"\x1b$B;3E\x1b(Bx"},
        {"name": "JIS X 0208 run not closed before ^ (writer error)", "charset": ["", "ISO 2022 IR 87"], "vr": "PN",
         "raw": b"\x1b$B;3ED^\x1b$BB@O:\x1b(B"},
        {"name": "ISO_IR 192 invalid (pydicom vector)", "charset": ["ISO_IR 192"], "vr": "PN",
         "raw": b"\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2"},
        {"name": "ISO_IR 192 truncated sequence", "charset": ["ISO_IR 192"], "vr": "LO", "raw": b"a\xe4\xb8"},
        {"name": "ISO_IR 192 surrogate and overlong", "charset": ["ISO_IR 192"], "vr": "LO", "raw": b"\xed\xa0\x80|\xc0\xaf|\xf4\x90\x80\x80|\xf0\x9f\x98"},
        {"name": "ISO_IR 192 with code extensions (pydicom vector)", "charset": ["ISO_IR 192", "ISO 2022 IR 100", "ISO 2022 IR 144"],
         "vr": "PN", "raw": s_latin.encode("utf-8"), "expect": s_latin},
        {"name": "no charset, UTF-8 bytes", "charset": [], "vr": "PN", "raw": s_latin.encode("utf-8"), "expect": s_latin},
        {"name": "no charset, UTF-8 Chinese", "charset": [], "vr": "LO", "raw": "王小东".encode("utf-8"), "expect": "王小东"},
        {"name": "no charset, Latin-1 bytes", "charset": [], "vr": "PN", "raw": s_latin.encode("latin-1"), "expect": s_latin},
        {"name": "no charset, EUC-KR bytes (corpus pr/lunit-gsps)", "charset": [], "vr": "PN", "raw": b"\xb1\xe8\xc5\xc2\xb9\xfc"},
        {"name": "empty charset value, UTF-8 bytes", "charset": [""], "vr": "PN", "raw": s_latin.encode("utf-8"), "expect": s_latin},
        {"name": "misspelled ISO IR 100", "charset": ["ISO IR 100"], "vr": "PN", "raw": s_latin.encode("latin-1"), "expect": s_latin},
        {"name": "misspelled ISO-IR 100", "charset": ["ISO-IR 100"], "vr": "PN", "raw": s_latin.encode("latin-1"), "expect": s_latin},
        {"name": "misspelled ISO IR 192 (pydicom vector)", "charset": ["ISO IR 192"], "vr": "PN", "raw": s_latin.encode("utf-8"), "expect": s_latin},
        {"name": "misspelled ISO-IR 192", "charset": ["ISO-IR 192"], "vr": "PN", "raw": s_latin.encode("utf-8"), "expect": s_latin},
        {"name": "misspelled ISO_IR192", "charset": ["ISO_IR192"], "vr": "PN", "raw": s_latin.encode("utf-8"), "expect": s_latin},
        {"name": "misspelled ISOIR 192 (pydicom vector)", "charset": ["ISOIR 192"], "vr": "PN", "raw": s_latin.encode("utf-8"), "expect": s_latin},
        {"name": "lower case iso_ir 192", "charset": ["iso_ir 192"], "vr": "PN", "raw": s_latin.encode("utf-8"), "expect": s_latin},
        {"name": "encoding name utf8 (pydicom vector)", "charset": ["utf8"], "vr": "PN", "raw": s_latin.encode("utf-8"), "expect": s_latin},
        {"name": "encoding name UTF-8", "charset": ["UTF-8"], "vr": "PN", "raw": s_latin.encode("utf-8"), "expect": s_latin},
        {"name": "lower case iso_ir 100", "charset": ["iso_ir 100"], "vr": "PN", "raw": s_latin.encode("latin-1"), "expect": s_latin},
        {"name": "misspelled ISO_2022-IR 100 (pydicom vector)", "charset": ["ISO_2022-IR 100", "ISO 2022 IR 126"], "vr": "PN",
         "raw": b"Dionysios=\x1b-F\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2", "expect": "Dionysios=Διονυσιος"},
        {"name": "misspelled ISO_2022_IR+126 (pydicom vector)", "charset": ["ISO 2022 IR 100", "ISO_2022_IR+126"], "vr": "PN",
         "raw": b"Dionysios=\x1b-F\xc4\xe9\xef\xed\xf5\xf3\xe9\xef\xf2", "expect": "Dionysios=Διονυσιος"},
        {"name": "unknown term (pydicom vector)", "charset": ["UNSUPPORTED"], "vr": "PN", "raw": b"CompressedSamples^CT1", "expect": "CompressedSamples^CT1"},
        {"name": "unknown second term (pydicom vector)", "charset": ["ISO 2022 IR 100", "ISO 2022 IR 146"], "vr": "PN", "raw": b"CITIZEN", "expect": "CITIZEN"},
        {"name": "ISO_IR 203 Latin-9 euro sign", "charset": ["ISO_IR 203"], "vr": "LO", "raw": b"\xa4 5, \xbd\xbc\xbe", "expect": "€ 5, œŒŸ"},
        {"name": "ISO 2022 IR 203 escape", "charset": ["", "ISO 2022 IR 203"], "vr": "LO", "raw": b"x\x1b-b\xa4", "expect": "x€"},
        {"name": "ISO_IR 166 Thai", "charset": ["ISO_IR 166"], "vr": "PN", "raw": b"\xb9\xd2\xc1\xca\xa1\xd8\xc5", "expect": "นามสกุล"},
        {"name": "ISO_IR 13 katakana and romaji", "charset": ["ISO_IR 13"], "vr": "PN", "raw": b"\xd4\xcf\xc0\xde^\xc0\xdb\xb3=Yamada", "expect": "ﾔﾏﾀﾞ^ﾀﾛｳ=Yamada"},
        {"name": "ISO_IR 13 holding Shift_JIS kanji", "charset": ["ISO_IR 13"], "vr": "PN", "raw": "山田^ﾀﾛｳ".encode("shift_jis"), "expect": "山田^ﾀﾛｳ"},
        {"name": "ISO_IR 13 Shift_JIS with 0x5C trail byte in LO", "charset": ["ISO_IR 13"], "vr": "LO", "raw": "ソ\\ﾀ".encode("shift_jis"), "expect": "ソ\\ﾀ"},
        {"name": "GB18030 with 0x5C trail byte in multi-valued LO", "charset": ["GB18030"], "vr": "LO", "raw": "乗\\ABC".encode("gb18030"), "expect": "乗\\ABC"},
        {"name": "GB18030 four-byte sequences", "charset": ["GB18030"], "vr": "LO", "raw": "€ 😀 ǹ".encode("gb18030"), "expect": "€ 😀 ǹ"},
        {"name": "GB18030 invalid bytes", "charset": ["GB18030"], "vr": "LO", "raw": b"a\x81\x20b\xff\x81\x30"},
        {"name": "GBK invalid bytes", "charset": ["GBK"], "vr": "LO", "raw": b"a\x81\x20b\xff\xa1"},
        {"name": "ISO 2022 IR 149 as value 1 (EUC-KR without escapes)", "charset": ["ISO 2022 IR 149"], "vr": "PN",
         "raw": b"\xb1\xe8\xc8\xf1\xc1\xdf", "expect": "김희중"},
        {"name": "KS X 1001 without escape after delimiter", "charset": ["", "ISO 2022 IR 149"], "vr": "PN",
         "raw": b"\x1b$)C\xc8\xab^\xb1\xe6\xb5\xbf"},
        {"name": "KS X 1001 mixed with ASCII", "charset": ["", "ISO 2022 IR 149"], "vr": "LO",
         "raw": b"\x1b$)C\xc8\xabA\xb1\xe6", "expect": "홍A길"},
        {"name": "CP949 syllable under KS X 1001", "charset": ["", "ISO 2022 IR 149"], "vr": "PN",
         "raw": b"\x1b$)C" + "똠".encode("cp949"), "expect": "똠"},
        {"name": "Korean LT, line without re-designation", "charset": ["", "ISO 2022 IR 149"], "vr": "LT",
         "raw": b"\x1b$)C\xc7\xd1\r\n\xc7\xd1"},
        {"name": "GB 2312 PN, trailing groups", "charset": ["", "ISO 2022 IR 58"], "vr": "PN",
         "raw": b"\x1b$)A\xd5\xc5==", "expect": "张=="},
        {"name": "ISO 2022 IR 58 as value 1 (EUC-CN without escapes)", "charset": ["ISO 2022 IR 58"], "vr": "LO",
         "raw": "张小东".encode("gb2312"), "expect": "张小东"},
        {"name": "Korean and Chinese in one value", "charset": ["", "ISO 2022 IR 149", "ISO 2022 IR 58"], "vr": "LO",
         "raw": b"\x1b$)C\xc8\xab \x1b$)A\xd5\xc5", "expect": "홍 张"},
        {"name": "Greek then Latin-1 with escapes", "charset": ["ISO 2022 IR 100", "ISO 2022 IR 126"], "vr": "LT",
         "raw": b"\xe9 \x1b-F\xc4\xe9 \x1b-A\xe9\r\n\xe9", "expect": "é Δι é\r\né"},
        {"name": "empty value", "charset": ["", "ISO 2022 IR 87"], "vr": "PN", "raw": b"", "expect": ""},
        {"name": "NUL padding", "charset": ["ISO_IR 100"], "vr": "LO", "raw": b"\xe9\x00", "expect": "é\x00"},
    ]
    return p


def probes():
    out = []
    for p in annex_probes() + edge_probes():
        text, msgs = decode_with_pydicom(p["charset"], p["vr"], p["raw"])
        q = dict(p)
        q["raw"] = base64.b64encode(p["raw"]).decode()
        q["pydicom"] = text
        q["warnings"] = msgs
        out.append(q)
    return out


ENCODES = [
    (["", "ISO 2022 IR 87"], "PN", "Yamada^Tarou=山田^太郎=やまだ^たろう"),
    (["ISO 2022 IR 13", "ISO 2022 IR 87"], "PN", "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう"),
    (["", "ISO 2022 IR 149"], "PN", "Hong^Gildong=洪^吉洞=홍^길동"),
    (["", "ISO 2022 IR 149"], "PN", "김희중"),
    (["", "ISO 2022 IR 58"], "PN", "Zhang^XiaoDong=张^小东"),
    (["", "ISO 2022 IR 58"], "LT", "1.第一行文字。\r\n2.第二行文字。\r\n"),
    (["ISO 2022 IR 6", "ISO 2022 IR 87", "ISO 2022 IR 159"], "PN", "Mori^Ogai=森^鷗外=もり^おうがい"),
    (["ISO 2022 IR 13", "ISO 2022 IR 87", "ISO 2022 IR 159"], "LO", "あaｱア齩"),
    (["ISO 2022 IR 100", "ISO 2022 IR 126"], "PN", "Dionysios=Διονυσιος"),
    (["ISO 2022 IR 100", "ISO 2022 IR 144", "ISO 2022 IR 126"], "LO", "Dionysios Διονυσιος Люкceмбypг Jérôme"),
    (["ISO_IR 100"], "PN", "Buc^Jérôme"),
    (["ISO_IR 192"], "PN", "Wang^XiaoDong=王^小東"),
    (["GB18030"], "PN", "Wang^XiaoDong=王^小东"),
    (["GBK"], "LO", "乗\\ABC"),
    (["ISO_IR 13"], "PN", "ﾔﾏﾀﾞ^ﾀﾛｳ"),
    (["ISO_IR 166"], "PN", "นามสกุล"),
]


def encodes():
    out = []
    for terms, vr, text in ENCODES:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            encs = pcs.convert_encodings(terms)
            if vr == "PN":
                raw = PersonName(text).encode(encs)
            else:
                raw = pcs.encode_string(text, encs)
        out.append({"charset": terms, "vr": vr, "text": text,
                    "pydicom": base64.b64encode(bytes(raw)).decode(),
                    "warnings": [str(x.message) for x in w]})
    return out


TERMS = [
    [], [""], ["ISO_IR 6"], ["ISO_IR 100"], ["ISO IR 100"], ["ISO-IR 100"], ["iso_ir 100"], ["ISO_IR 192"],
    ["ISO IR 192"], ["ISO-IR 192"], ["ISO_IR192"], ["ISOIR 192"], ["iso_ir 192"], ["utf8"], ["UTF-8"], ["latin1"],
    ["ISO_2022-IR 100", "ISO 2022 IR 126"], ["ISO 2022 IR 100", "ISO_2022_IR+126"], ["ISO 2022 IR 100", "ISO 2022 IR 146"],
    ["ISO_IR 192", "ISO 2022 IR 100", "ISO 2022 IR 144"], ["ISO_IR 126", "GBK", "ISO 2022 IR 144", "ISO_IR 192"],
    ["UNSUPPORTED"], ["ISO_IR 203"], ["ISO 2022 IR 203"], ["", "ISO 2022 IR 87"], ["ISO 2022 IR 13", "ISO 2022 IR 87"],
    ["GB18030"], ["gb18030"], ["GBK"], ["ISO 2022 58"], ["ISO 2022 GBK"], ["ISO_IR 87"], ["ISO 2022 IR 192"],
    ["ISO 2022 IR 149"], ["ISO_IR 13"], ["ISO_IR 166"],
]


def terms():
    out = []
    for t in TERMS:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            encs = pcs.convert_encodings(list(t) if t else None)
        out.append({"charset": t, "pydicom": encs, "warnings": [str(x.message) for x in w]})
    return out


def strict(data, codec):
    try:
        s = data.decode(codec)
    except UnicodeDecodeError:
        return "\x00"
    return s if len(s) == 1 else "\x00"


def tables():
    single = {
        "ISO_IR 100": "latin_1", "ISO_IR 101": "iso8859_2", "ISO_IR 109": "iso8859_3", "ISO_IR 110": "iso8859_4",
        "ISO_IR 126": "iso_ir_126", "ISO_IR 127": "iso_ir_127", "ISO_IR 138": "iso_ir_138", "ISO_IR 144": "iso_ir_144",
        "ISO_IR 148": "iso_ir_148", "ISO_IR 166": "iso_ir_166",
        "ISO_IR 203": "iso8859_15",  # not in pydicom; Python's codec for ISO 8859-15
    }
    out = {"single": {}, "double": {}}
    for term, codec in single.items():
        out["single"][term] = {"codec": codec, "cells": "".join(strict(bytes([b]), codec) for b in range(0x80, 0x100))}
    out["single"]["ISO_IR 13"] = {"codec": "shift_jis", "cells": "".join(
        strict(bytes([b]), "shift_jis") if 0xA1 <= b <= 0xDF else "\x00" for b in range(0x80, 0x100))}
    double = {
        "ISO 2022 IR 87": ("iso2022_jp", lambda r, c: b"\x1b$B" + bytes([r, c]) + b"\x1b(B"),
        "ISO 2022 IR 159": ("iso2022_jp_2", lambda r, c: b"\x1b$(D" + bytes([r, c]) + b"\x1b(B"),
        "ISO 2022 IR 149": ("euc_kr", lambda r, c: bytes([r | 0x80, c | 0x80])),
        "ISO 2022 IR 58": ("gb2312", lambda r, c: bytes([r | 0x80, c | 0x80])),
    }
    for term, (codec, mk) in double.items():
        out["double"][term] = {"codec": codec, "cells": "".join(
            strict(mk(r, c), codec) for r in range(0x21, 0x7F) for c in range(0x21, 0x7F))}
    return out


def main():
    corpus = find_corpus()
    golden = {
        "generator": "dicom/charset/testdata/gen.py",
        "pydicom": pydicom.__version__,
        "python": sys.version.split()[0],
        "fixtures": scan_corpus(corpus),
        "probes": probes(),
        "encodes": encodes(),
        "terms": terms(),
        "tables": tables(),
    }
    path = os.path.join(HERE, "golden.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(golden, f, ensure_ascii=False, indent=1, sort_keys=False)
        f.write("\n")
    print(f"wrote {path}: {len(golden['fixtures'])} fixtures, {len(golden['probes'])} probes")


if __name__ == "__main__":
    main()
