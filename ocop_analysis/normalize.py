"""Text normalisation and value parsers, in one place, used everywhere.

Vietnamese text arrives NFC or NFD, with or without diacritics, in any case,
with stray spaces. Two forms are used:

* ``clean_text`` — what we keep and show: NFC, whitespace collapsed.
* ``fold`` — what we match on: no diacritics (đ→d), case-folded, punctuation
  as spaces, whitespace collapsed. ``fold("TP. Cao Lãnh") == "tp cao lanh"``.

Resolvers (districts, groups, kinds, entity types) read their spellings from
``ocop_analysis/reference/`` and never guess: an ambiguous name returns every
candidate.

>>> resolve_district("H. Cao Lãnh").code
873
>>> resolve_district("Cao Lãnh").candidates
(866, 873)
>>> parse_stars("★★★"), parse_stars("Ba sao"), parse_score("65,5")
(3, 3, 65.5)
"""
from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any, Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import reference

__all__ = [
    "clean_text", "fold", "is_blank", "district_key", "resolve_district", "DistrictMatch",
    "parse_stars", "is_failed_result", "parse_score", "parse_number", "parse_date",
    "parse_decision", "parse_kind", "resolve_group", "GroupMatch", "taxonomy_for_year",
    "entity_type", "entity_key", "product_key", "map_unique",
]

_WS = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w\s]|_")
# Characters people use for "space" that str.split does not all know about.
_ODD_SPACES_CHARS = "\u00a0\u2007\u202f\u200b\u2060\ufeff"
_ODD_SPACES = dict.fromkeys(map(ord, _ODD_SPACES_CHARS), " ")
# Control characters (NUL, \x01, ..., DEL) are never meant: they come from old systems and copy-paste, and
# openpyxl cannot write them to a workbook. (Tab, newline and the other whitespace controls collapse to a space.)
_CONTROL = dict.fromkeys([*range(0x00, 0x09), 0x0e, 0x0f, *range(0x10, 0x1c), 0x7f])
_NEEDS_TRANSLATE = re.compile("[\u00a0\u2007\u202f\u200b\u2060\ufeff\x00-\x08\x0e-\x1b\x7f]")


def is_blank(value: Any) -> bool:
    """True for None, NaN, pandas NA and strings of only whitespace."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if not isinstance(value, str):
        return False
    text = value.strip()
    # the first character left is not whitespace: the text is blank only if it is an odd space
    return not text or (text[0] in _ODD_SPACES_CHARS and not text.translate(_ODD_SPACES).strip())


def clean_text(value: Any) -> str | None:
    """NFC, odd spaces made plain, whitespace collapsed and stripped; None when blank.

    >>> clean_text("  Huyện\\u00a0 Lai   Vung "), clean_text("Mắm\\x00 cá\\x0blinh")
    ('Huyện Lai Vung', 'Mắm cá linh')
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, str):
        text = value
    elif isinstance(value, float):
        if math.isnan(value):
            return None
        text = str(int(value)) if value.is_integer() else str(value)
    else:
        text = str(value)
    # The loader calls this once per distinct cell text: skip the work a clean string does not need.
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    if _NEEDS_TRANSLATE.search(text):
        text = text.translate(_ODD_SPACES).translate(_CONTROL)
    # str.split() splits on exactly the characters re's \s matches; join-split is the faster collapse
    return " ".join(text.split()) or None


_SEP = "\uffff"  # a noncharacter: not whitespace, composes with nothing, never typed by a clerk
# every character str.split() splits on, but the plain space (all of them are below U+3001)
_OTHER_SPACES = "".join(ch for ch in map(chr, range(0x3001)) if ch.isspace() and ch != " ")


@cache
def _odd_chars(also: str) -> re.Pattern:
    return re.compile("[" + re.escape(_OTHER_SPACES + "".join(_ODD_SPACES_CHARS) + also)
                      + _NEEDS_TRANSLATE.pattern[1:-1] + "]")


def unchanged_by_clean_text(texts: list, also: str = "") -> np.ndarray:
    """True where ``clean_text(t) == t`` for sure: a non-empty str, NFC, single-spaced, stripped, nothing odd.

    ``also``: characters that mark a text as not unchanged too (a caller's own check, e.g. the TCVN3
    letters). Found with C-speed passes over all texts joined (one character-class search, substring
    searches for doubled/edge spaces, one NFC check), not a Python call per text, so a caller can send
    only the others through :func:`clean_text` (issue 9). False is "not sure", never wrong.

    >>> unchanged_by_clean_text(["Lai Vung", " Lai Vung", "Lai  Vung", "", 3.0, "B×nh"], also="×").tolist()
    [True, False, False, False, False, False]
    """
    n = len(texts)
    if set(map(type, texts)) <= {str}:  # the usual column of text: no per-value Python test
        strs = texts
        lengths = np.fromiter(map(len, strs), dtype=np.int64, count=n)
        ok = lengths > 0
    else:
        ok = np.fromiter((isinstance(t, str) and len(t) > 0 for t in texts), dtype=bool, count=n)
        strs = [t if o else "" for t, o in zip(texts, ok)]
        lengths = np.fromiter(map(len, strs), dtype=np.int64, count=n)
    if not ok.any():
        return ok
    joined = _SEP.join(strs)
    starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
    bad_at = [m.start() for m in _odd_chars(also).finditer(joined)] + _spacing_positions(joined, _SEP)
    if joined.count(_SEP) != n - 1:  # a text holding the separator itself: offsets stay right, judge it apart
        ok &= np.fromiter((_SEP not in t for t in strs), dtype=bool, count=n)
    if bad_at:
        ok[np.searchsorted(starts, np.asarray(bad_at), side="right") - 1] = False
    if not unicodedata.is_normalized("NFC", joined):
        ok &= np.fromiter((unicodedata.is_normalized("NFC", t) for t in strs), dtype=bool, count=n)
    return ok


_FOLDED: dict[str, str] = {}  # fold's memo for text, shared with fold_many (which fills it a column at a time)


def fold(value: Any) -> str:
    """Matching key: no diacritics (đ→d), case-folded, punctuation → space, collapsed.

    >>> fold("THÀNH PHỐ  Sa Đéc."), fold("Thành phố Sa Đéc")
    ('thanh pho sa dec', 'thanh pho sa dec')
    """
    if value.__class__ is not str:  # a dict key would merge True, 1 and 1.0; other values are rare here
        return _fold(value)
    try:
        return _FOLDED[value]
    except KeyError:
        result = _FOLDED[value] = _fold(value)
        return result


def _fold(value: Any) -> str:
    text = clean_text(value)
    if text is None:
        return ""
    text = text.replace("đ", "d").replace("Đ", "D")
    stripped = unicodedata.normalize("NFD", text).translate(_DROP_MARKS)
    stripped = _PUNCT.sub(" ", stripped.casefold())
    return _WS.sub(" ", stripped).strip()


_FOLD_SEP = "\x1f"  # never in a clean text (clean_text turns it into a space); a starter NFD keeps


def fold_many(values) -> list[str]:
    """``[fold(v) for v in values]``, with the already-clean texts folded together as one joined string.

    Each step of :func:`fold` after :func:`clean_text` works character by character (NFD cannot reorder
    marks across the separator, a starter), so the joined text is folded with a handful of whole-string
    operations: NFD, one ``replace`` per distinct nonspacing mark and per distinct punctuation character
    found in it, casefold; then each text's whitespace is collapsed. Texts clean_text would change, and
    non-text values, are folded one by one. Results are memoised for :func:`fold` too, and values already
    in that memo are not folded again.
    """
    values = list(values)
    memo = _FOLDED
    out: list = [memo.get(v) if v.__class__ is str else None for v in values] if memo else [None] * len(values)
    new = [i for i, o in enumerate(out) if o is None]
    if not new:
        return out
    sure = [new[k] for k in np.flatnonzero(unchanged_by_clean_text([values[i] for i in new])).tolist()]
    texts = [values[i] for i in sure]
    joined = _FOLD_SEP.join(texts)
    if texts and joined.count(_FOLD_SEP) == len(texts) - 1:
        joined = unicodedata.normalize("NFD", joined.replace("đ", "d").replace("Đ", "D"))
        for ch in set(joined) if not joined.isascii() else ():
            if unicodedata.category(ch) == "Mn":
                joined = joined.replace(ch, "")
        joined = joined.casefold()
        for ch in set(joined):
            if ch != _FOLD_SEP and _PUNCT.match(ch):
                joined = joined.replace(ch, " ")
        parts = joined.split(_FOLD_SEP)
        # The texts were single-spaced and stripped; only a punctuation mark turned into a space (or a
        # dropped mark next to a space) can leave a double or an edge space: collapse just those parts.
        for k in _parts_with_spacing(joined, parts):
            parts[k] = " ".join(parts[k].split())
        memo.update(zip(texts, parts))
        filled = np.array(out, dtype=object)
        filled[sure] = parts
        out = filled.tolist()
    for i in new:
        if out[i] is None:
            out[i] = fold(values[i])
    return out


def _spacing_positions(joined: str, sep: str) -> list[int]:
    """Positions, in texts joined by ``sep``, of a doubled space or a text's leading or trailing space
    (each inside the text it belongs to). Substring searches in C; usually none is found."""
    at = []
    for pair, offset in (("  ", 0), (" " + sep, 0), (sep + " ", 1)):
        i = joined.find(pair)
        while i >= 0:
            at.append(i + offset)
            i = joined.find(pair, i + 1)
    if joined.startswith(" "):
        at.append(0)
    if joined.endswith(" "):
        at.append(len(joined) - 1)
    return at


def _parts_with_spacing(joined: str, parts: list[str]) -> set[int]:
    """Indices of the ``_FOLD_SEP``-separated parts of ``joined`` with a doubled, leading or trailing space."""
    at = _spacing_positions(joined, _FOLD_SEP)
    if not at:
        return set()
    starts = np.concatenate(([0], np.cumsum(np.fromiter(map(len, parts), dtype=np.int64, count=len(parts)) + 1)[:-1]))
    return set((np.searchsorted(starts, np.asarray(at), side="right") - 1).tolist())


class _NonspacingMarks(dict):
    """``str.translate`` table deleting every nonspacing mark (category Mn), filled as characters are met."""

    def __missing__(self, codepoint: int):
        value = None if unicodedata.category(chr(codepoint)) == "Mn" else codepoint
        self[codepoint] = value
        return value


_DROP_MARKS = _NonspacingMarks()


# --------------------------------------------------------------------------- columns in numpy and Arrow

_TABLE_END = 0x2000  # code points below: Latin (with Vietnamese), Greek, Cyrillic, ... (the table costs ~10 ms once)


@cache
def _fold_table() -> np.ndarray:
    """What :func:`fold` makes of each code point below ``_TABLE_END`` wherever it stands in a text: the
    ASCII byte (0: dropped), or -1 when that is not one ASCII character or nothing, or may depend on its
    neighbours.

    Read off fold's own steps applied to the character alone. A character qualifies only if clean_text
    changes nothing about it but NFC (no control, odd space or whitespace other than the space) and every
    mark in its NFD that NFD may reorder (combining class > 0) is a dropped nonspacing mark. For a text
    made of such characters every later step works on each character apart (NFD(NFC(t)) == NFD(t);
    casefold and the punctuation rule look at one character), so fold(t) is the table's bytes of its
    characters with the spaces collapsed.
    """
    table = np.full(_TABLE_END + 1, -1, dtype=np.int16)  # the last entry: every code point from _TABLE_END
    for cp in range(_TABLE_END):
        ch = chr(cp)
        if cp in _CONTROL or ch in _ODD_SPACES_CHARS or (ch.isspace() and ch != " "):
            continue
        decomposed = unicodedata.normalize("NFD", ch.replace("đ", "d").replace("Đ", "D"))
        if any(unicodedata.combining(c) and unicodedata.category(c) != "Mn" for c in decomposed):
            continue
        out = _PUNCT.sub(" ", decomposed.translate(_DROP_MARKS).casefold())
        if len(out) <= 1 and out.isascii() and (out == " " or not out.isspace()):
            table[cp] = ord(out) if out else 0
    return table


def _collapse_spaces(code: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Texts given as the ``_fold_table`` bytes of their characters (0: dropped), ``counts`` characters
    each, with the dropped characters removed and the spaces collapsed: their bytes and end offsets."""
    n = len(counts)
    ends = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=ends[1:])
    space = code == 0x20
    edge = np.zeros(len(code) + 1, dtype=bool)
    edge[ends] = True  # edge[i]: a text starts at character i; edge[i + 1]: one ends with it
    if (code > 0).all() and not (space & (edge[:-1] | edge[1:] | np.r_[False, space[:-1]])).any():
        return code.astype(np.uint8), ends  # nothing to remove: the usual clean name
    owner = np.repeat(np.arange(n, dtype=np.int32), counts)
    keep = code > 0
    out, owner = code[keep].astype(np.uint8), owner[keep]
    # a space is dropped at a text's start, after a space, then at a text's end
    space = out == 0x20
    drop = space & np.r_[True, (owner[1:] != owner[:-1]) | space[:-1]]
    if drop.any():
        out, owner, space = out[~drop], owner[~drop], space[~drop]
    drop = space & np.r_[owner[1:] != owner[:-1], True]
    if drop.any():
        out, owner = out[~drop], owner[~drop]
    np.cumsum(np.bincount(owner, minlength=n), out=ends[1:])
    return out, ends


def fold_strings(values) -> pa.Array:
    """:func:`fold` of every value of an Arrow string array (a null is blank: ""), as a ``large_string`` array.

    Texts made only of characters ``_fold_table`` knows are folded together in numpy (UTF-8 decoded,
    each code point looked up, spaces collapsed: no Python call per text); the others through
    :func:`fold_many`. For a column of distinct names (issue 9).

    >>> fold_strings(pa.array(["Hợp tác xã  Mỹ Xương.", None, "Straße"])).to_pylist()
    ['hop tac xa my xuong', '', 'strasse']
    """
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if not isinstance(arr, pa.Array):
        arr = pa.array(arr, type=pa.large_string())
    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    if arr.null_count:
        arr = arr.fill_null("")
    n = len(arr)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset:arr.offset + n + 1]
    data = arr.buffers()[2]
    utf8 = memoryview(data)[offsets[0]:offsets[-1]] if n and data is not None else b""
    cp = np.frombuffer(str(utf8, "utf-8").encode("utf-32-le"), dtype=np.uint32)  # decoded in C
    counts = pc.utf8_length(arr).to_numpy(zero_copy_only=False).astype(np.int64)
    code = np.take(_fold_table(), cp, mode="clip")  # clipped to the last entry, -1: not in the table
    unknown = np.flatnonzero(code < 0)
    slow = np.unique(np.searchsorted(np.cumsum(counts), unknown, "right"))  # folded apart below
    code[unknown] = 0x3F  # a placeholder: those texts' results are replaced
    out, ends = _collapse_spaces(code, counts)
    result = pa.LargeStringArray.from_buffers(n, pa.py_buffer(ends), pa.py_buffer(out.tobytes()))
    if len(slow):
        folded = pa.array(fold_many(arr.take(pa.array(slow)).to_pylist()), type=pa.large_string())
        place = np.arange(n, dtype=np.int64)
        place[slow] = n + np.arange(len(slow))
        result = pa.concat_arrays([result, folded]).take(pa.array(place))
    return result


# --------------------------------------------------------------------------- districts

# Unit-type words, folded, to their short form. Longest first.
_UNIT_PREFIXES = [
    ("thanh pho", "tp"), ("thi xa", "tx"), ("thi tran", "tt"), ("huyen", "h"), ("quan", "q"),
    ("t p", "tp"), ("t x", "tx"), ("tp", "tp"), ("tx", "tx"), ("h", "h"), ("q", "q"),
]
# "I.", "IV -", "2.", "a)" at the start of a section row.
_ENUM = re.compile(r"^\s*(?:(?:[ivxlc]+|\d{1,3})\s*[.)/:\-–]|[a-z]\s*\))\s*", re.IGNORECASE)
_PROVINCE_TAIL = re.compile(r"\s*(?:,|-|–)?\s*(?:tinh\s+)?dong thap\s*$")


def district_key(value: Any) -> str:
    """Folded district name with a canonical unit prefix: 'Thành phố Cao Lãnh' → 'tp cao lanh'.

    Leading enumerators ("I.", "2.") and a trailing ", tỉnh Đồng Tháp" are dropped.
    """
    text = clean_text(value)
    if text is None:
        return ""
    text = _ENUM.sub("", text, count=1)
    key = fold(text)
    key = _PROVINCE_TAIL.sub("", key) if key not in ("dong thap",) else key
    for long, short in _UNIT_PREFIXES:
        if key == long:
            return short
        if key.startswith(long + " "):
            return f"{short} {key[len(long) + 1:]}"
    return key


@dataclass(frozen=True)
class DistrictMatch:
    """Result of resolving a district name. status: ok | ambiguous | unknown | blank."""

    text: str | None
    status: str
    code: int | None = None
    candidates: tuple[int, ...] = ()
    suggestion: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@cache
def _district_index(province: str) -> dict[str, tuple[int, ...]]:
    aliases = reference.table("district_aliases")
    aliases = aliases[aliases["province"] == province]
    index: dict[str, set[int]] = {}
    for alias, code in zip(aliases["alias"], aliases["code"].astype(int)):
        index.setdefault(district_key(alias), set()).add(code)
    for row in reference.districts(province).itertuples():
        for name in (row.name, row.short_name):
            index.setdefault(district_key(name), set()).add(row.code)
    return {k: tuple(sorted(v)) for k, v in index.items()}


@cache
def _curated_provinces() -> frozenset[str]:
    return frozenset(reference.table("districts")["province"])


@cache
def resolve_district(value: Any, province: str = reference.DEFAULT_PROVINCE) -> DistrictMatch:
    """Find the district code for a name in any alias form; never guesses.

    A bare name shared by two units ("Cao Lãnh") is ``ambiguous`` with both
    candidates; an unknown name may carry a ``suggestion`` (closest known unit).
    Provinces without curated rows in ``reference/districts.csv`` ("ben-tre",
    "an-giang", ...) are resolved by ``geography.resolve_legacy_district``.

    >>> resolve_district("TP. Cao Lãnh").code, resolve_district("thi xa hong ngu").code
    (866, 868)
    >>> resolve_district("Huyen Lai Vug").suggestion
    876
    """
    if province not in _curated_provinces():
        # Any other province: the 63-province reference of geography.py (same statuses, never guesses).
        from .geography import resolve_legacy_district

        return resolve_legacy_district(value, province)
    text = clean_text(value)
    if text is None:
        return DistrictMatch(None, "blank")
    index = _district_index(province)
    key = district_key(text)
    codes = index.get(key, ())
    if len(codes) == 1:
        return DistrictMatch(text, "ok", codes[0], codes)
    if len(codes) > 1:
        return DistrictMatch(text, "ambiguous", None, codes)
    return DistrictMatch(text, "unknown", None, (), _suggest(key, index))


def _suggest(key: str, index: dict[str, tuple[int, ...]]) -> int | None:
    from rapidfuzz import fuzz, process

    if not key:
        return None
    best = process.extractOne(key, list(index), scorer=fuzz.ratio, score_cutoff=75)
    if best is None:
        return None
    codes = index[best[0]]
    return codes[0] if len(codes) == 1 else None


# --------------------------------------------------------------------------- stars

_STAR_CHARS = "★☆*✩✪✫✬✭✮✯✰⭐"
_NUMBER_WORDS = {"mot": 1, "hai": 2, "ba": 3, "bon": 4, "tu": 4, "nam": 5}
_FAILED = ("khong dat", "chua dat", "khong du dieu kien", "khong xep hang", "truot", "not passed", "failed", "fail")


def is_failed_result(value: Any) -> bool:
    """True for a result written as a fail: "Không đạt", "Chưa đạt", "Không xếp hạng", "Failed"."""
    key = fold(value)
    return bool(key) and any(key == f or key.startswith(f + " ") for f in _FAILED)


def parse_stars(value: Any) -> int | None:
    """Star rank 1–5 from 3, 3.0, "3 sao", "3★", "★★★", "3*", "***", "Ba sao", "Hạng 4 sao".

    None when blank; ``ValueError`` when the value is not a star rank (including a fail).
    """
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a star rank")
    if isinstance(value, (int, float)):
        if float(value).is_integer() and 1 <= value <= 5:
            return int(value)
        raise ValueError(f"{value!r} is not a star rank 1–5")
    text = clean_text(value) or ""
    compact = text.replace(" ", "")
    if compact and all(ch in _STAR_CHARS for ch in compact):
        return _check_rank(len(compact), value)
    digits = re.findall(r"(?<![\w.,])-?\d+(?:[.,]\d+)?|\d+(?:[.,]\d+)?", text)
    if len(digits) == 1:
        return _check_rank(float(digits[0].replace(",", ".")), value)
    if len(digits) > 1:
        # "4 sao (tiềm năng 5 sao)": the first number followed by a star word or sign counts.
        first = re.match(r"\D*?(\d)\s*(?:sao\b|[★*])", fold(text.replace("*", " sao ")) if "*" in text else fold(text.replace("★", " sao ")))
        if first:
            return _check_rank(int(first.group(1)), value)
        raise ValueError(f"{value!r} is not a star rank")
    words = fold(text).split()
    if words and words[0] == "hang":
        words = words[1:]
    if words and words[0] in _NUMBER_WORDS and (len(words) == 1 or words[1] == "sao"):
        return _NUMBER_WORDS[words[0]]
    raise ValueError(f"{value!r} is not a star rank")


def _check_rank(number: float, original: Any) -> int:
    if float(number).is_integer() and 1 <= number <= 5:
        return int(number)
    raise ValueError(f"{original!r} is not a star rank 1–5")


# --------------------------------------------------------------------------- numbers, dates

_NUM_CLEAN = re.compile(r"[\s\u00a0]|điểm|diem|đ$|points?|pts?", re.IGNORECASE)


def parse_number(value: Any) -> float | None:
    """A number written the Vietnamese way or the English way; None when blank.

    "65,5" → 65.5; "1.234,5" → 1234.5; "1,234.5" → 1234.5; "1.234" → 1234 (dot before
    exactly three digits is a thousands separator); "72 điểm" → 72. ``ValueError`` otherwise.
    """
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, (int, float)):
        return float(value)
    text = _NUM_CLEAN.sub("", clean_text(value) or "")
    if not re.fullmatch(r"[+-]?[\d.,]*\d[\d.,]*", text):
        raise ValueError(f"{value!r} is not a number")
    if "," in text and "." in text:
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        text = text.replace(thousands, "").replace(decimal, ".")
    elif "," in text:
        text = text.replace(",", "") if text.count(",") > 1 else text.replace(",", ".")
    elif text.count(".") > 1 or re.fullmatch(r"[+-]?\d{1,3}\.\d{3}", text):
        text = text.replace(".", "")
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{value!r} is not a number") from None


def parse_score(value: Any) -> float | None:
    """A score (0–100 expected; range checked by the loader)."""
    return parse_number(value)


_EXCEL_EPOCH = dt.date(1899, 12, 30)
_VN_DATE = re.compile(r"ngay\s*(\d{1,2})\s*thang\s*(\d{1,2})\s*nam\s*(\d{2,4})")
_DMY = re.compile(r"(?<!\d)(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4}|\d{2})(?!\d)")
_YMD = re.compile(r"(?<!\d)(\d{4})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{1,2})(?!\d)")


def parse_date(value: Any) -> dt.date | None:
    """A date from a datetime, an Excel serial, "15/08/2022", "15-8-2022", "2022-08-15" or
    "ngày 15 tháng 8 năm 2022" (day first, as Vietnamese documents write it). None when blank.
    """
    if is_blank(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 1 <= value < 2958466:  # Excel's serial range (1900-01-01 .. 9999-12-31)
            return _EXCEL_EPOCH + dt.timedelta(days=int(value))
        raise ValueError(f"{value!r} is not a date")
    key = fold(value).replace(" ", "") if "ngay" in fold(value) else None
    if key:
        m = _VN_DATE.search(fold(value))
        if m:
            return _make_date(int(m.group(3)), int(m.group(2)), int(m.group(1)), value)
    text = clean_text(value) or ""
    m = _YMD.search(text)
    if m:
        return _make_date(int(m.group(1)), int(m.group(2)), int(m.group(3)), value)
    m = _DMY.search(text)
    if m:
        return _make_date(int(m.group(3)), int(m.group(2)), int(m.group(1)), value)
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return parse_date(float(text))
    raise ValueError(f"{value!r} is not a date")


def _make_date(year: int, month: int, day: int, original: Any) -> dt.date:
    if year < 100:
        year += 2000
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(f"{original!r} is not a valid date") from None


_DECISION_NO = re.compile(r"(\d+[\w\-]*\s*/\s*[\wĐđ]+(?:\s*[\-–]\s*[\wĐđ]+)*)", re.UNICODE)


def parse_decision(value: Any) -> tuple[str | None, dt.date | None]:
    """Split "1580/QĐ-UBND-HC ngày 16/12/2019" into ("1580/QĐ-UBND-HC", date(2019, 12, 16)).

    Either part may be None. A date that cannot be read is None (the caller reports it).
    """
    text = clean_text(value)
    if text is None:
        return None, None
    m = _DECISION_NO.search(text)
    number = re.sub(r"\s+", "", m.group(1)) if m else None
    rest = text[m.end():] if m else text
    try:
        date = parse_date(rest) if rest.strip() else None
    except ValueError:
        date = None
    if number is None and date is None:
        return text, None
    return number, date


# --------------------------------------------------------------------------- kinds, groups

@cache
def _kind_index() -> dict[str, str]:
    t = reference.table("kinds")
    return {fold(a): k for a, k in zip(t["alias"], t["kind"])}


def parse_kind(value: Any) -> str | None:
    """'Mới' → new, 'Đánh giá lại' → reevaluation, 'Nâng hạng' → upgrade; None when blank."""
    key = fold(value)
    if not key:
        return None
    index = _kind_index()
    if key in index:
        return index[key]
    for alias, kind in sorted(index.items(), key=lambda kv: -len(kv[0])):
        if key.startswith(alias + " ") or f" {alias}" in f" {key}":
            return kind
    raise ValueError(f"{value!r} is not a kind of evaluation (Mới, Đánh giá lại, Nâng hạng)")


def taxonomy_for_year(year: int | None) -> str:
    """'1048' for evaluation years up to 2022, '148' from 2023 (Decision 148 of 24/02/2023)."""
    effective = int(reference.rule("criteria_148_effective")[:4])
    return "1048" if year is not None and year < effective else "148"


@dataclass(frozen=True)
class GroupMatch:
    """A product group resolved to the 148/2023 group (1–6). status: ok | unknown | blank."""

    text: str | None
    status: str
    group: int | None = None
    taxonomy: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@cache
def _group_index() -> dict[str, dict[str, int]]:
    t = reference.table("group_aliases")
    index: dict[str, dict[str, int]] = {"148": {}, "1048": {}}
    for tax, alias, group in zip(t["taxonomy"], t["alias"], t["group"].astype(int)):
        for target in (("148", "1048") if tax == "any" else (tax,)):
            index[target][fold(alias)] = group
    for row in reference.groups().itertuples():
        index["148"][fold(row.name)] = row.group
    for row in reference.groups_1048().itertuples():
        index["1048"][fold(row.name)] = row.group_148
    return index


_GROUP_NUMBER = re.compile(r"^(?:(?:nhom|nganh|group)\s*)?(\d|[ivx]+)(?:\s|$)")
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6}


@cache
def resolve_group(value: Any, taxonomy: str = "148") -> GroupMatch:
    """Product group (148/2023 numbering) from a number, a name or an alias.

    A number is read in the registry's own taxonomy: under 1048 (2019–2022), group 5
    (Lưu niệm – nội thất – trang trí) is 148 group 4. A name is looked up in that
    taxonomy first, then in the other one (names do not collide).

    >>> resolve_group(5, "1048").group, resolve_group("Thảo dược", "1048").group
    (4, 3)
    """
    if taxonomy not in ("148", "1048"):
        raise ValueError(f"taxonomy must be '148' or '1048', not {taxonomy!r}")
    text = clean_text(value)
    if text is None:
        return GroupMatch(None, "blank")
    key = fold(text)
    number = None
    m = _GROUP_NUMBER.match(key)
    if m:
        token = m.group(1)
        number = int(token) if token.isdigit() else _ROMAN.get(token)
        rest = key[m.end():].strip()
    else:
        rest = key
    index = _group_index()
    other = "1048" if taxonomy == "148" else "148"
    if rest:
        for tax in (taxonomy, other):
            if rest in index[tax]:
                return GroupMatch(text, "ok", index[tax][rest], tax)
    if number is not None and 1 <= number <= 6 and (not rest or m is not None):
        if taxonomy == "1048":
            mapping = dict(zip(reference.groups_1048()["group_1048"], reference.groups_1048()["group_148"]))
            return GroupMatch(text, "ok", mapping[number], "1048")
        return GroupMatch(text, "ok", number, "148")
    return GroupMatch(text, "unknown")


# --------------------------------------------------------------------------- revocation reasons

# Folded phrases -> the two reasons the programme's rules name; checked in this order.
_REVOCATION_PHRASES = [
    ("danh gia lai", "not_reevaluated"), ("36 thang", "not_reevaluated"), ("het han", "not_reevaluated"),
    ("tai dang ky", "not_reevaluated"), ("not reevaluated", "not_reevaluated"),
    ("bat buoc", "failed_mandatory"), ("khong dat", "failed_mandatory"), ("failed", "failed_mandatory"),
]


def revocation_reason(value: Any) -> str | None:
    """A revocation reason as written -> "not_reevaluated" | "failed_mandatory" | the cleaned text; None when blank.
    The one reading, for the loader's ``reg.revocations`` and for lifecycle.

    >>> revocation_reason("Không đánh giá lại trong thời hạn 36 tháng"), revocation_reason("Sản phẩm không đạt")
    ('not_reevaluated', 'failed_mandatory')
    """
    text = clean_text(value)
    if text is None:
        return None
    key = fold(text)
    for phrase, code in _REVOCATION_PHRASES:
        if phrase in key:
            return code
    return text


# --------------------------------------------------------------------------- entities, identity

@cache
def _entity_prefixes() -> list[tuple[str, str, str]]:
    t = reference.table("entity_types")
    rows = [(fold(p), e, c) for p, e, c in zip(t["prefix"], t["entity_type"], t["canonical"])]
    return sorted(rows, key=lambda r: -len(r[0]))


@cache
def _prefix_index() -> dict[str, list[tuple[str, str, tuple[str, str]]]]:
    """First word -> [(prefix, prefix + " ", (entity type, canonical spelling))], longest prefix first."""
    index: dict[str, list] = {}
    for prefix, etype, canonical in _entity_prefixes():  # longest first
        index.setdefault(prefix.split(" ", 1)[0], []).append((prefix, prefix + " ", (etype, canonical)))
    return index


def _entity_prefix(key: str) -> tuple[str, tuple[str, str]] | None:
    """The longest prefix of the entity types table equal to the folded ``key`` or followed in it by a space.

    Only the prefixes sharing the key's first word are tried (one dictionary lookup picks them). Memoised:
    the loader asks for each entity's type, then linking for its key.
    """
    try:
        return _PREFIX_OF[key]
    except KeyError:
        pass
    result = None
    for prefix, spaced, found in _prefix_index().get(key.split(" ", 1)[0], ()):
        if key == prefix or key.startswith(spaced):
            result = prefix, found
            break
    _PREFIX_OF[key] = result
    return result


_PREFIX_OF: dict[str, tuple[str, tuple[str, str]] | None] = {}


@cache
def entity_type(name: Any) -> str:
    """company | cooperative | cooperative_group | household | other, from the name's prefix.

    >>> entity_type("HTX Nông nghiệp Mỹ Xương"), entity_type("Cty TNHH Ecolotus")
    ('cooperative', 'company')
    """
    found = _entity_prefix(fold(name))
    return found[1][0] if found else "other"


def entity_types(values) -> list[str]:
    """``[entity_type(v) for v in values]``: texts (and None) folded in numpy by :func:`fold_strings`, their
    prefixes found as :func:`entity_keys_folded` finds them; a list holding other values over :func:`fold_many`.

    >>> entity_types(["HTX Mỹ Xương", "Cty TNHH Ecolotus", None, "Ba Hưng"])
    ['cooperative', 'company', 'other', 'other']
    """
    values = list(values)
    if values and set(map(type, values)) <= {str, type(None)}:
        try:
            column = pa.array(values, type=pa.large_string())
        except (pa.ArrowException, UnicodeError):  # a lone surrogate
            column = None
        if column is not None:
            rows = _entity_prefix_rows()
            prefixes, spellings = _entity_prefix_spellings()
            if not prefixes:
                return ["other"] * len(values)
            found = _found_prefixes(fold_strings(column), prefixes, spellings, True)[0]
            return np.array([etype for etype, _ in rows.values()] + ["other"], dtype=object)[found].tolist()
    out = []
    for key in fold_many(values):
        found = _entity_prefix(key)
        out.append(found[1][0] if found else "other")
    return out


def entity_keys(values) -> list[str]:
    """``[entity_key(v) for v in values]`` over :func:`fold_many` (a column at once)."""
    out = []
    for key in fold_many(values):
        found = _entity_prefix(key)
        if found is None:
            out.append(key)
        else:
            prefix, (_, canonical) = found
            out.append(f"{fold(canonical)} {key[len(prefix):].strip()}".strip())
    return out


@cache
def _entity_prefix_rows() -> dict[str, tuple[str, str]]:
    """Each distinct folded entity-type prefix, longest first, with its (entity type, folded canonical
    spelling): of equal prefixes the first row of the table wins, as in :func:`_entity_prefix`."""
    rows: dict[str, tuple[str, str]] = {}
    for prefix, etype, spelling in _entity_prefixes():  # longest first
        rows.setdefault(prefix, (etype, fold(spelling)))
    return rows


def _entity_prefix_spellings() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The distinct folded entity-type prefixes, longest first, and their folded canonical spellings."""
    rows = _entity_prefix_rows()
    return tuple(rows), tuple(spelling for _, spelling in rows.values())


@cache
def _prefix_words(prefixes: tuple[str, ...], spellings: tuple[str, ...]):
    """Each prefix as (UTF-8 length, its bytes as little-endian 8-byte words, the masks of those bytes);
    the prefixes by their first word (as a little-endian number; None: longer than 8 bytes), in order;
    the spellings, with "" last (no prefix); and whether each spelling is empty (False last)."""
    words, groups = [], {}
    for k, prefix in enumerate(prefixes):
        raw = prefix.encode("utf-8")
        size = -(-len(raw) // 8) * 8
        padded = np.frombuffer(raw.ljust(size, b"\0"), dtype="<u8")
        mask = np.frombuffer((b"\xff" * len(raw)).ljust(size, b"\0"), dtype="<u8")
        words.append((len(raw), padded, mask))
        first = raw.split(b" ", 1)[0]
        groups.setdefault(int.from_bytes(first, "little") if len(first) <= 8 else None, []).append(k)
    return (words, groups, pa.array([*spellings, ""], type=pa.large_string()),
            np.array([not s for s in spellings] + [False]))


_LOW_BYTES = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)  # masks of the first 0..8 bytes


def _head_words(offsets: np.ndarray, data: np.ndarray, count: int) -> np.ndarray:
    """The first ``count`` * 8 bytes of each text (zeros past its end) as little-endian 8-byte words."""
    padded = np.concatenate([data[offsets[0]:offsets[-1]], np.zeros(8 * count + 8, dtype=np.uint8)])
    at = np.ndarray(shape=(len(padded) - 7,), dtype="<u8", buffer=padded, strides=(1,))  # 8 bytes from each byte
    starts, lengths = offsets[:-1] - offsets[0], np.diff(offsets)
    heads = np.empty((len(starts), count), dtype=np.uint64)
    for w in range(count):
        heads[:, w] = at[starts + 8 * w] & _LOW_BYTES[np.clip(lengths - 8 * w, 0, 8)]
    return heads


def _first_words(heads: np.ndarray) -> np.ndarray:
    """Each name's first word (up to its first space or its end) as a little-endian number; 0 when it is
    longer than 8 bytes (``heads`` from ``_head_words``, two words or more)."""
    head = heads[:, :2].copy().view(np.uint8)[:, :9]
    stop = (head == 0x20) | (head == 0)
    size = np.argmax(stop, axis=1)
    return np.where(stop.any(axis=1), heads[:, 0] & _LOW_BYTES[size], np.uint64(0))


def _first_prefix(heads, lengths, words, ids, whole: bool, none: int) -> np.ndarray:
    """The id of the first of ``words`` (``_prefix_words``' form) each name starts with, followed by a
    space (or equal to the name, if ``whole``); ``none`` for no prefix."""
    found = np.full(len(lengths), none, dtype=np.int64)
    for k, (size, prefix, masks) in zip(ids, words):
        after = (heads[:, size // 8] >> np.uint64(8 * (size % 8))) & np.uint64(0xFF)  # 0 past the end
        hit = (found == none) & ((after == 0x20) | ((lengths == size) if whole else False))
        for w in range(len(prefix)):
            hit &= (heads[:, w] & masks[w]) == prefix[w]
        found[hit] = k
    return found


def _found_prefixes(folded: pa.Array, prefixes: tuple[str, ...], spellings: tuple[str, ...], whole: bool):
    """For each name of a folded ``large_string`` array: the index of its first prefix (``len(prefixes)``:
    none), as :func:`replace_prefixes` finds it; and the array's offsets and lengths in bytes."""
    n = len(folded)
    words, groups, _, _ = _prefix_words(prefixes, spellings)
    offsets = np.frombuffer(folded.buffers()[1], dtype=np.int64)[folded.offset:folded.offset + n + 1]
    data = folded.buffers()[2]
    lengths = np.diff(offsets)
    heads = _head_words(offsets, np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8),
                        max(size for size, _, _ in words) // 8 + 2)
    if None in groups:  # a prefix's first word is longer than 8 bytes: every prefix on every name
        return _first_prefix(heads, lengths, words, range(len(words)), whole, len(words)), offsets, lengths
    # a prefix fits only names of its first word: each group of prefixes is tried on those alone
    found = np.full(n, len(words), dtype=np.int64)  # the last: no prefix
    first = _first_words(heads)
    for word, members in groups.items():
        rows = np.flatnonzero(first == word)
        found[rows] = _first_prefix(heads[rows], lengths[rows], [words[k] for k in members], members,
                                    whole, len(words))
    return found, offsets, lengths


def replace_prefixes(folded, prefixes: tuple[str, ...], spellings: tuple[str, ...], *, whole: bool) -> pa.Array:
    """Each folded name's first prefix (in the order given) followed in it by a space (or, if ``whole``,
    equal to the name) replaced by its spelling: ``f"{spelling} {rest}".strip()``; other names as they are.

    In numpy and Arrow, for a column of names already folded (no edge or doubled spaces, no NUL): each
    name's first bytes are compared with each prefix as 8-byte words, the names are cut in place after
    their prefix, and the spellings are joined to the rests.

    >>> replace_prefixes(pa.array(["hop tac xa my", "hop tac xa", "hop tac xam"]), ("hop tac xa",), ("htx",),
    ...                  whole=True).to_pylist()
    ['htx my', 'htx', 'hop tac xam']
    """
    folded = folded.combine_chunks() if isinstance(folded, pa.ChunkedArray) else folded
    folded = folded.cast(pa.large_string()).fill_null("")
    n = len(folded)
    words, _, spelled, bare = _prefix_words(tuple(prefixes), tuple(spellings))
    if not words or not n:
        return folded
    found, offsets, lengths = _found_prefixes(folded, tuple(prefixes), tuple(spellings), whole)
    data = folded.buffers()[2]
    cut = np.r_[[size for size, _, _ in words], 0][found]
    cut += bare[found] & (lengths > cut)  # an empty spelling: the rest without its space
    # the names split in place into (prefix, rest) pieces: the rests are every second piece
    pieces = np.empty(2 * n + 1, dtype=np.int64)
    pieces[0::2], pieces[1::2] = offsets, offsets[:-1] + cut
    split = pa.LargeStringArray.from_buffers(2 * n, pa.py_buffer(pieces), data)
    rests = split.take(pa.array(np.arange(1, 2 * n, 2)))
    return pc.binary_join_element_wise(spelled.take(pa.array(found)), rests, pa.scalar("", pa.large_string()))


def entity_keys_folded(folded) -> pa.Array:
    """:func:`entity_key` of names already folded (as :func:`fold_strings` returns them), by
    :func:`replace_prefixes` with the entity-type prefixes and their canonical spellings.

    >>> entity_keys_folded(fold_strings(pa.array(["Hợp tác xã Mỹ Xương", "Cty TNHH", "Ba Hưng"]))).to_pylist()
    ['htx my xuong', 'cong ty tnhh', 'ba hung']
    """
    return replace_prefixes(folded, *_entity_prefix_spellings(), whole=True)


@cache
def entity_key(name: Any) -> str:
    """Identity key of an entity: folded, with the type prefix in one canonical spelling,
    so "HTX Mỹ Xương", "Hợp tác xã Mỹ Xương" and "hop tac xa  my xuong" give one key."""
    key = fold(name)
    found = _entity_prefix(key)
    if found is None:
        return key
    prefix, (_, canonical) = found
    return f"{fold(canonical)} {key[len(prefix):].strip()}".strip()


def product_key(entity_name: Any, product_name: Any) -> str:
    """Identity key of a product: entity key + folded product name."""
    return f"{entity_key(entity_name)}|{fold(product_name)}"


# --------------------------------------------------------------------------- vectorising helper

def map_unique(series: pd.Series, func: Callable[[Any], Any]) -> pd.Series:
    """Apply ``func`` once per distinct value of ``series`` and map the results back.

    Registries repeat the same district, group and star spellings thousands of
    times; parsing each distinct spelling once keeps loading fast.
    """
    values = series.astype(object)
    # factorize groups equal values (blanks — None, NaN, NA — together, as one None); the results
    # are placed back by integer codes, without a Python call per row.
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    results = np.empty(len(uniques) + 1, dtype=object)
    for k, u in enumerate(uniques):
        results[k] = func(u)
    results[-1] = func(None) if (codes < 0).any() else None
    return pd.Series(results[codes], index=series.index, dtype=object)
