"""Per-sheet layout detection: where the product table is and what every row is.

A clerk's sheet may hold, in any combination: title rows above the table; a
header over one or two rows (a parent such as "Kết quả đánh giá" over "Điểm" and
"Hạng sao"); a column-number row ("(1) (2) (3)"); district section rows
("I. THÀNH PHỐ CAO LÃNH", "2. Huyện Lai Vung") that set the district of the rows
below; star-level sections ("Sản phẩm đạt 4 sao"); subtotal and total rows
("Cộng", "Tổng cộng: 70 sản phẩm"); blank rows; a header repeated after a page
break; a signature block ("KT. CHỦ TỊCH"). The sheet name may name the district.

``detect_layout(sheet)`` labels every row (``data`` or a skip reason), maps the
header to canonical input columns through ``reference/header_aliases.csv`` and
returns the data rows as a frame of raw values; parsing the values is the
loader's job. Headers and section rows typed in the legacy TCVN3 encoding are
converted first (``reference/legacy_tcvn3.csv``).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from . import reference
from .normalize import clean_text, fold, parse_kind, resolve_district

__all__ = ["SheetLayout", "detect_layout", "match_header", "legacy_to_unicode", "INPUT_COLUMNS", "ROW_KINDS"]

# The loader's raw input columns (header_aliases.csv "canonical").
INPUT_COLUMNS = [
    "stt", "product_name", "entity_name", "address", "commune", "district", "group", "subgroup", "score",
    "stars", "result", "kind", "decision", "decision_date", "year", "five_star_candidate", "product_code",
    "note", "revoked_on", "revocation_decision", "revocation_reason", "year_recognized",
]
# What a row can be. Every row of a sheet gets exactly one.
ROW_KINDS = ["data", "blank", "title", "header", "section", "subtotal", "signature", "note", "hidden", "no_table"]

_HEADER_SCAN_ROWS = 40
# "3 sao", "4★" over a column of marks (x) — one column per star rank.
_STAR_MARK = re.compile(r"^(?:hang\s+)?([1-5])\s*(?:sao|\*)$")
_RESULT_COLUMNS = ("stars", "result", "score", "revoked_on", "revocation_decision", "entity_name")
_VALUE_COLUMNS = ("product_name", "entity_name", "stars", "result", "score")


@dataclass
class SheetLayout:
    """What ``detect_layout`` found on one sheet."""

    sheet: str
    status: str                                   # table | skipped
    kind: str | None = None                       # evaluations | revocations
    layout: str = ""
    header_rows: int = 0
    note: str = ""
    row_kinds: list[str] = field(default_factory=list)   # one per sheet row
    columns: dict[str, int] = field(default_factory=dict)  # canonical -> 0-based column
    headers: dict[str, str] = field(default_factory=dict)  # canonical -> header as written
    data: pd.DataFrame = field(default_factory=pd.DataFrame)
    title: str = ""                                # the title rows' text, joined
    sheet_district: str | None = None             # the sheet name, when it names a district
    legacy_header: bool = False


# --------------------------------------------------------------------------- legacy encodings

@cache
def _tcvn3() -> tuple[dict[str, str], frozenset[str], frozenset[str]]:
    t = reference.table("legacy_tcvn3")
    mapping = {s: u for s, u, c in zip(t["shown"], t["unicode"], t["certain"]) if c == "true"}
    uncertain = frozenset(s for s, c in zip(t["shown"], t["certain"]) if c != "true")
    distinctive = frozenset(s for s, d in zip(t["shown"], t["distinctive"]) if d == "true")
    return mapping, uncertain, distinctive


@cache
def legacy_letters() -> str:
    """Every character that can make a text TCVN3 (:func:`legacy_to_unicode` converts nothing without one)."""
    return "".join(sorted(_tcvn3()[2]))


_VIET_UNICODE = re.compile("[ăđơưĩũĂĐƠƯĨŨ\u1ea0-\u1ef9\u0300-\u0303\u0309\u0323]")


def legacy_to_unicode(text: Any) -> tuple[Any, str | None]:
    """(converted text, 'tcvn3' | 'tcvn3_uncertain' | None) for text typed in the TCVN3 (.VnTime) encoding.

    Text counts as TCVN3 only when it holds, next to a letter, a character that is not a
    Vietnamese letter but is a TCVN3 letter ("×" in "Ninh B×nh"), and no Unicode Vietnamese letter.

    >>> legacy_to_unicode("Ninh B×nh")
    ('Ninh Bình', 'tcvn3')
    >>> legacy_to_unicode("Bánh tét")
    ('Bánh tét', None)
    """
    if not isinstance(text, str) or text.isascii():
        return text, None
    mapping, uncertain, distinctive = _tcvn3()
    if _VIET_UNICODE.search(text) or not any(
            ch in distinctive and ((i > 0 and text[i - 1].isalpha()) or (i + 1 < len(text) and text[i + 1].isalpha()))
            for i, ch in enumerate(text)):
        return text, None  # "2 × 3": a sign between spaces is not a letter
    if any(ch in uncertain for ch in text):
        return text, "tcvn3_uncertain"
    return "".join(mapping.get(ch, ch) for ch in text), "tcvn3"


# --------------------------------------------------------------------------- header aliases

@cache
def _alias_index() -> tuple[dict[str, str], dict[str, list[tuple[str, str]]], list[tuple[str, str]]]:
    t = reference.table("header_aliases")
    plain: dict[str, str] = {}
    with_parent: dict[str, list[tuple[str, str]]] = {}
    for canon, alias, parent in zip(t["canonical"], t["alias"], t["parent"]):
        key = fold(alias) or alias.strip()
        if parent:
            with_parent.setdefault(key, []).append((fold(parent), canon))
        else:
            plain.setdefault(key, canon)
    prefixes = sorted(((k, v) for k, v in plain.items() if " " in k), key=lambda kv: -len(kv[0]))
    return plain, with_parent, prefixes


_PAREN_TAIL = re.compile(r"\s*[\(\[].*$")


@cache
def match_header(text: Any, parent: Any = None) -> str | None:
    """Canonical input column for a header cell (optionally under a parent header); None when unknown.

    >>> match_header("TÊN SẢN PHẨM"), match_header("Hang sao"), match_header("Số", "Quyết định công nhận")
    ('product_name', 'stars', 'decision')
    """
    if not isinstance(text, str):
        return None
    raw = clean_text(legacy_to_unicode(text)[0])
    if raw is None:
        return None
    plain, with_parent, prefixes = _alias_index()
    keys = [fold(raw)]
    stripped = fold(_PAREN_TAIL.sub("", raw))
    if stripped and stripped != keys[0]:
        keys.append(stripped)
    if raw.strip() == "#":
        keys.append("#")
    if parent:
        pkey = fold(legacy_to_unicode(parent)[0] if isinstance(parent, str) else parent)
        for key in keys:
            for pword, canon in with_parent.get(key, ()):
                if pword and pword in pkey:
                    return canon
    for key in keys:
        if key in plain:
            return plain[key]
    for key in keys:
        for alias, canon in prefixes:
            if key.startswith(alias + " "):
                return canon
    return None


# --------------------------------------------------------------------------- cell helpers

def _blank(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, str) and not value.strip()) or value != value


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


# --------------------------------------------------------------------------- header detection

def _row_mapping(cells: list, parents: list | None = None) -> tuple[dict[str, int], dict[str, str]]:
    mapping: dict[str, int] = {}
    written: dict[str, str] = {}
    carried = None
    for j, cell in enumerate(cells):
        parent = None
        if parents is not None:
            p = parents[j] if j < len(parents) else ""
            if not _blank(p):
                carried = p
            elif _blank(cell):
                carried = None
            parent = p if not _blank(p) else carried
        if _blank(cell) or not isinstance(cell, str):
            if parents is not None and parent is not None and not _blank(parents[j] if j < len(parents) else ""):
                canon = match_header(parent)
                if canon and canon not in mapping:
                    mapping[canon], written[canon] = j, clean_text(parent)
            continue
        mark = _STAR_MARK.match(fold(cell))
        canon = f"stars_{mark.group(1)}" if mark else match_header(cell, parent)
        if canon is None and parent is not None:
            canon = match_header(f"{parent} {cell}")
        if canon and canon not in mapping:
            mapping[canon] = j
            written[canon] = clean_text(cell) if parent is None else f"{clean_text(parent)} › {clean_text(cell)}"
    return mapping, written


def _usable(mapping: dict[str, int]) -> bool:
    return "product_name" in mapping and (any(c in mapping for c in _RESULT_COLUMNS)
                                          or any(k.startswith("stars_") for k in mapping))


def _find_header(rows: list[list]) -> tuple[int, int, dict[str, int], dict[str, str]] | None:
    """(first header row, number of header rows, mapping, written headers) or None."""
    best = None
    limit = min(len(rows), _HEADER_SCAN_ROWS)
    for r in range(limit):
        row = rows[r]
        if sum(1 for c in row if isinstance(c, str) and c.strip()) < 2:
            continue
        single, written = _row_mapping(row)
        candidates = [(single, written, 1)]
        if r + 1 < len(rows):
            child = rows[r + 1]
            child_text = [c for c in child if not _blank(c)]
            if child_text and all(isinstance(c, str) for c in child_text):
                pair, pwritten = _row_mapping(child, row)
                if len(pair) > len(single):
                    candidates.append((pair, pwritten, 2))
        for mapping, wr, n in candidates:
            if not _usable(mapping):
                continue
            score = len(mapping)
            if best is None or score > best[0]:
                best = (score, r, n, mapping, wr)
    if best is None:
        return None
    _, r, n, mapping, written = best
    return r, n, mapping, written


_COLUMN_NUMBER = re.compile(r"^\(?\s*(?:\d{1,2}|[a-z])\s*\)?$", re.IGNORECASE)


def _is_column_number_row(cells: list) -> bool:
    values = [c for c in cells if not _blank(c)]
    if len(values) < 3:
        return False
    texts = [_text(c).strip() for c in values]
    if all(_COLUMN_NUMBER.match(t) for t in texts):
        nums = [int(re.sub(r"\D", "", t)) for t in texts if re.sub(r"\D", "", t)]
        return len(nums) < 3 or nums == sorted(nums)
    return False


# --------------------------------------------------------------------------- row classification

# On case-folded text WITH diacritics: "Cộng" is a subtotal, "Công ty …" is not.
_SUBTOTAL_RAW = re.compile(r"^(?:tổng cộng|tổng số|tổng|cộng|tong cong|tong so|total|subtotal|sum|grand total)"
                           r"(?:[\s:.,(\d]|$)|^cong\s*[:\d]")


def _is_subtotal(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    return bool(_SUBTOTAL_RAW.match(unicodedata.normalize("NFC", " ".join(value.split())).casefold()))
_SIGNATURE = re.compile(
    r"^(?:kt|tm|tl|q|ktl)?\s*(?:chu tich|pho chu tich|uy ban nhan dan|ubnd|giam doc|pho giam doc|truong phong|"
    r"truong ban|pho truong ban|thu truong|hoi dong)\b"
    r"|^(?:noi nhan|nguoi lap bieu|nguoi lap bang|nguoi lap|ky ten|xac nhan cua|lanh dao duyet|can bo lap)\b"
    r"|^[\w\s]{0,30}\bngay\s*\d{0,2}\s*thang\s*\d{0,2}\s*nam\s*\d{0,4}$")
_NOTE = re.compile(r"^(?:ghi chu|chu thich|luu y|nguon|note|source)\b")
_ENUMERATOR = re.compile(r"^\s*(?:[IVXLC]+|\d{1,3}|[A-Za-z])\s*[.)/:\-–]\s*\S")
_BARE_ENUM = re.compile(r"^\s*(?:[IVXLCivxlc]+|\d{1,3}|[A-Za-z])\s*[.)]?\s*$")
_UNIT_WORD = re.compile(r"^(?:(?:[ivxlc]+|\d{1,3}|[a-z])\s+)?(?:huyen|thanh pho|thi xa|tp|tx|h)\s+\w")
_STAR_SECTION = re.compile(r"(?:^|\s)([1-5])\s*sao\b")


def _section_text(values: list[tuple[int, Any]]) -> str:
    texts = [_text(v) for _, v in values]
    if len(texts) > 1 and _BARE_ENUM.match(texts[0]):
        return f"{texts[0].strip().rstrip('.)')}. " + " ".join(texts[1:])
    return " ".join(texts)


def _classify_section(text: str, province: str = reference.DEFAULT_PROVINCE) -> tuple[str, Any] | None:
    """('district', text) | ('stars', n) | ('kind', kind) | ('other', None) for a section row; None if not one.
    District names are those of ``province``."""
    converted = legacy_to_unicode(text)[0]
    match = resolve_district(converted, province)
    key = fold(converted)
    if match.status in ("ok", "ambiguous") or _UNIT_WORD.match(key):
        # "2. Huyện Lai Vug" (unknown) is still a district section: the rows below report it.
        return "district", _ENUMERATOR_STRIP.sub("", converted).strip() or converted  # "2. Huyện Lai Vug": unknown name, reported on the rows below
    stars = _STAR_SECTION.search(key)
    if stars and len(key) < 80:
        return "stars", int(stars.group(1))
    body = _ENUMERATOR_STRIP.sub("", converted)
    heading = _ROMAN_OR_LETTER.match(converted) or (body.isupper() and len(body) > 3)
    if _ENUMERATOR.match(converted) and heading and len(converted) < 100:
        try:
            kind = parse_kind(_ENUMERATOR_STRIP.sub("", converted))
        except ValueError:
            kind = None
        return ("kind", kind) if kind else ("other", None)
    if body.isupper() and len(body) > 3 and len(body) < 100:
        try:
            kind = parse_kind(body)
        except ValueError:
            kind = None
        return ("kind", kind) if kind else ("other", None)
    return None


_ROMAN_OR_LETTER = re.compile(r"^\s*(?:[IVXLC]+|[A-Za-z])\s*[.)/:\-–]\s*\S")
_ENUMERATOR_STRIP = re.compile(r"^\s*(?:[IVXLC]+|\d{1,3}|[A-Za-z])\s*[.)/:\-–]\s*")


def _classify_rows(rows: list[list], start: int, cols: dict[str, int], header_keys: set[str],
                   province: str = reference.DEFAULT_PROVINCE):
    """Label rows[start:]; return (kinds, data row indices, section district per data row, section stars, kind)."""
    kinds: list[str] = []
    data_idx: list[int] = []
    sec_district: list[Any] = []
    sec_stars: list[Any] = []
    sec_kind: list[Any] = []
    district = stars = kind = None
    footer = False
    pcol = cols.get("product_name")
    value_cols = [cols[c] for c in _VALUE_COLUMNS if c in cols]
    detail_cols = [cols[c] for c in ("entity_name", "stars", "result", "score") if c in cols]
    detail_cols += [c for k, c in cols.items() if k.startswith("stars_")]
    header_low = {h.casefold() for h in header_keys}
    for r in range(start, len(rows)):
        row = rows[r]
        width = len(row)
        product = row[pcol] if pcol is not None and pcol < width else ""
        # Fast path, most rows: a product name and a result or entity next to it.
        if not footer and product.__class__ is str:
            low = product.strip().casefold()
            if low and low not in header_low and not _SUBTOTAL_RAW.match(low):
                for c in detail_cols:
                    v = row[c] if c < width else ""
                    if v is not None and v != "" and not (v.__class__ is str and not v.strip()):
                        break
                else:
                    c = None
                if c is not None:
                    kinds.append("data")
                    data_idx.append(r)
                    sec_district.append(district)
                    sec_stars.append(stars)
                    sec_kind.append(kind)
                    continue
        has_detail = any(c < width and not _blank(row[c]) for c in detail_cols)
        pkey = fold(product) if not _blank(product) else ""
        if not footer and pkey and has_detail and pkey not in header_keys and not _is_subtotal(product):
            kinds.append("data")
            data_idx.append(r)
            sec_district.append(district)
            sec_stars.append(stars)
            sec_kind.append(kind)
            continue
        values = [(j, v) for j, v in enumerate(row) if not _blank(v)]
        if not values:
            kinds.append("blank")
            continue
        text = _section_text(values)
        key = fold(legacy_to_unicode(text)[0])
        first_key = fold(legacy_to_unicode(_text(values[0][1]))[0])
        if footer:
            if not _blank(product) and has_detail:
                footer = False
            else:
                kinds.append("signature")
                continue
        if _NOTE.match(first_key) and not has_detail:
            kinds.append("note")  # "Ghi chú: …", "Nguồn: …" under the table
            continue
        if _SIGNATURE.match(first_key) or (len(values) <= 2 and _SIGNATURE.match(key)):
            footer = True
            kinds.append("signature")
            continue
        if _is_subtotal(values[0][1]) and (not pkey or _is_subtotal(product)):
            kinds.append("subtotal")
            continue
        if sum(1 for _, v in values if isinstance(v, str) and match_header(v)) >= 2:
            kinds.append("header")
            continue
        if _is_column_number_row(row):
            kinds.append("header")
            continue
        if len(values) <= 3 and not has_detail:
            section = _classify_section(text, province)
            if section is not None:
                what, value = section
                if what == "district":
                    district = value
                elif what == "stars":
                    stars = value
                elif what == "kind":
                    kind = value
                kinds.append("section")
                continue
        if not any(c < width and not _blank(row[c]) for c in value_cols):
            kinds.append("note")
            continue
        kinds.append("data")
        data_idx.append(r)
        sec_district.append(district)
        sec_stars.append(stars)
        sec_kind.append(kind)
    return kinds, data_idx, sec_district, sec_stars, sec_kind


# --------------------------------------------------------------------------- the sheet

def detect_layout(sheet, province: str = reference.DEFAULT_PROVINCE) -> SheetLayout:
    """Find the product table of a ``workbook.Sheet`` and label every row (see module docstring).
    Section rows ("I. CHỢ LÁCH") and the sheet name are matched against ``province``'s districts."""
    rows = sheet.rows
    n = len(rows)
    out = SheetLayout(sheet=sheet.name, status="skipped")
    if not sheet.visible:
        out.row_kinds = ["hidden"] * n
        out.note = "hidden sheet"
        return out
    if n == 0:
        out.note = "empty sheet"
        return out
    found = _find_header(rows)
    if found is None:
        out.row_kinds = ["blank" if all(_blank(c) for c in row) else "no_table" for row in rows]
        out.note = "no product table (no header row with a product name and a result column)"
        return out
    first, nrows, cols, written = found
    header_end = first + nrows
    header_keys = {fold(rows[r][c]) for r in range(first, header_end) for c in cols.values()
                   if c < len(rows[r]) and isinstance(rows[r][c], str)}
    kinds = ["blank" if all(_blank(c) for c in row) else "title" for row in rows[:first]]
    kinds += ["header"] * nrows
    if header_end < n and _is_column_number_row(rows[header_end]):
        kinds.append("header")  # "(1) (2) (3) …" under the header
        header_end += 1
    body, data_idx, sec_district, sec_stars, sec_kind = _classify_rows(rows, header_end, cols, header_keys, province)
    kinds += body
    title = " ".join(" ".join(_text(c) for c in row if not _blank(c)) for row in rows[:first])
    data = {"source_row": [r + 1 for r in data_idx]}
    width = max((len(rows[r]) for r in data_idx), default=0)
    data_rows = [rows[r] if len(rows[r]) == width else rows[r] + [""] * (width - len(rows[r])) for r in data_idx]
    # the cells as one 2-D object array (the values themselves, nothing converted); its columns are views
    grid = np.array(data_rows, dtype=object) if data_rows else np.empty((0, 0), dtype=object)
    for canon, c in cols.items():
        data[canon] = grid[:, c] if c < grid.shape[1] else np.full(len(data_idx), "", dtype=object)
    marks = {int(k[6:]): c for k, c in cols.items() if k.startswith("stars_")}
    if marks and "stars" not in cols:
        data["stars"] = [_stars_from_marks(row, marks) for row in data_rows]
    data["section_district"] = sec_district
    data["section_stars"] = sec_stars
    data["section_kind"] = sec_kind
    frame = pd.DataFrame(data, dtype=object)
    frame["source_row"] = frame["source_row"].astype("int64")
    name_match = resolve_district(legacy_to_unicode(sheet.name)[0], province)
    is_revocation = ("revoked_on" in cols or "revocation_decision" in cols
                     or any("thu hoi" in fold(h) for h in written.values()))
    out.status = "table"
    out.kind = "revocations" if is_revocation else "evaluations"
    out.header_rows = nrows
    out.columns = cols
    out.headers = written
    out.row_kinds = kinds
    out.data = frame
    out.title = title
    out.sheet_district = sheet.name if name_match.status in ("ok", "ambiguous") else None
    out.legacy_header = any(legacy_to_unicode(rows[r][c])[1] for r in range(first, header_end)
                            for c in cols.values() if c < len(rows[r]))
    out.layout = _describe(kinds, first, nrows, out)
    return out


def _stars_from_marks(row: list, marks: dict[int, int]) -> str:
    """'4 sao' when exactly one star-rank column of the row is marked; the marks as text otherwise."""
    marked = [n for n, c in sorted(marks.items())
              if c < len(row) and not _blank(row[c]) and fold(row[c]) not in ("0", "khong", "-")]
    if len(marked) == 1:
        return f"{marked[0]} sao"
    if not marked:
        return ""
    # several marks: reported as invalid stars, with the marks named
    return f"đánh dấu nhiều cột hạng sao: {', '.join(map(str, marked))}"


def _describe(kinds: list[str], first: int, nrows: int, out: SheetLayout) -> str:
    parts = []
    if "title" in kinds[:first]:
        parts.append("title rows")
    parts.append("2-row header" if nrows == 2 else "1-row header")
    if "section" in kinds:
        parts.append("sections")
    if "subtotal" in kinds:
        parts.append("subtotals")
    if "signature" in kinds:
        parts.append("signature block")
    if out.sheet_district and "district" not in out.columns:
        parts.append("district from sheet name")
    if out.kind == "revocations":
        parts.insert(0, "revocation list")
    return ", ".join(parts)
