"""Checks a file must pass before any parser opens it, and the guard that keeps outputs off inputs.

Registries arrive by e-mail and USB stick; the kit must never hang, exhaust
memory or run anything because of what a file contains. ``check_file(path)``
(``scan_file``) is called by :func:`ocop_analysis.workbook.read_workbook` before calamine,
defusedxml or zipfile look inside a file; for an .xlsx the worksheet parts are
checked last, and calamine may open the workbook once the other parts passed
(``scan_file(others_passed=…)``); it reads sheets only after every check. It refuses, with a plain
:class:`~ocop_analysis.errors.RegistryError` sentence naming the file:

* a file larger than the size cap (default 50 MB; env ``OCOP_MAX_FILE_MB``);
* for zip containers (.xlsx, .xlsm, .ods), from the central directory alone and
  so in milliseconds: too many members, a member or a total that would
  decompress beyond the caps, or a compression ratio no spreadsheet has (a zip
  bomb). python-calamine reads members through the Rust ``zip`` crate, which
  stops at the *declared* uncompressed size ("File is larger than its declared
  uncompressed size"), so the declared sizes checked here bound what it
  decompresses;
* any XML part with a DOCTYPE or ENTITY declaration (no Office file has one;
  billion laughs, quadratic blowup, external entities). calamine refuses such
  entities by itself (``XmlError: unrecognized entity``); refusing first gives
  the clerk a clear reason;
* a worksheet whose cells span more than ``max_cells`` (row × column): calamine
  stores a sheet as a dense grid, so a 6 KB .xlsx with one value in XFD1048576
  asks for 549 GB and *aborts the Python process* (a Rust allocation failure
  cannot be caught). The same for .ods rows/cells repeated thousands of times.

Magic bytes (zip, OLE2, HTML/XML, other) pick which checks apply; what the file
*is* (xlsx, xls, HTML export, PDF…) is then told by ``workbook.sniff``.

openpyxl (used to write workbooks and to read budget workbooks) parses XML with
defusedxml whenever defusedxml is installed (``openpyxl.xml.DEFUSEDXML``, unless
the environment sets ``OPENPYXL_DEFUSEDXML=False``); :func:`openpyxl_is_defused`
says whether that holds, and the tests check it.

>>> sniff_magic(b"PK\\x03\\x04rest"), sniff_magic(bytes.fromhex("D0CF11E0A1B11AE1")), sniff_magic(b"  <html>")
('zip', 'ole2', 'markup')
"""
from __future__ import annotations

import functools
import os
import re
import struct
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Iterable

from .errors import RegistryError

__all__ = ["Limits", "limits", "check_file", "scan_file", "Scan", "sniff_magic", "openpyxl_is_defused", "refuse_overwrite",
           "OutputOverwritesInput"]

MB = 1024 * 1024
_OLE2 = bytes.fromhex("D0CF11E0A1B11AE1")
_FRESH_COPY = "Ask the sender for the original workbook."


@dataclass(frozen=True)
class Limits:
    """Caps applied before parsing. Generous for any real registry, far below what hurts the machine."""

    max_file_bytes: int = 50 * MB            # on-disk size of one input
    max_members: int = 10_000                 # entries in a zip container
    max_member_bytes: int = 256 * MB          # declared uncompressed size of one member
    max_total_bytes: int = 1024 * MB          # declared uncompressed size of all members
    max_ratio: float = 200.0                  # uncompressed / compressed, members above ratio_floor_bytes
    ratio_floor_bytes: int = 1 * MB           # small members may compress as well as they like
    max_cells: int = 5_000_000                # rows × columns of one sheet's grid (e.g. 100,000 rows × 50 columns)


def limits() -> Limits:
    """The limits in force: the defaults, with ``OCOP_MAX_FILE_MB`` (a number of megabytes) if set."""
    value = os.environ.get("OCOP_MAX_FILE_MB", "").strip()
    if not value:
        return Limits()
    try:
        mb = float(value)
    except ValueError:
        raise RegistryError(f"OCOP_MAX_FILE_MB must be a number of megabytes, not {value!r}.") from None
    return replace(Limits(), max_file_bytes=int(mb * MB))


def sniff_magic(head: bytes) -> str:
    """'zip', 'ole2', 'markup' (HTML or XML text) or 'other', from a file's first bytes."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")):
        return "zip"
    if head.startswith(_OLE2):
        return "ole2"
    text = head.replace(b"\x00", b"").lstrip(b"\xef\xbb\xbf\xff\xfe \t\r\n")
    if text.startswith(b"<"):
        return "markup"
    return "other"


@dataclass(frozen=True)
class Scan:
    """What the checks learnt on the way: the magic kind, and which worksheet parts hold formulas.

    ``formula_parts`` lets the loader look for formulas without a saved result in those parts only,
    instead of unpacking every sheet a second time (issue 9).
    """

    kind: str
    formula_parts: frozenset[str] = frozenset()


def check_file(path: str | Path, lim: Limits | None = None) -> str:
    """Refuse a file that is too big or a zip/XML bomb; returns its magic kind ('zip', 'ole2', 'markup', 'other').

    Missing files, folders and empty files pass through untouched (``workbook.sniff`` words those);
    a pipe, socket or device is refused unopened (reading a pipe would wait for ever).
    """
    return scan_file(path, lim).kind


def scan_file(path: str | Path, lim: Limits | None = None, *, others_passed=None) -> Scan:
    """:func:`check_file`, returning the :class:`Scan`.

    ``others_passed``: for a zip container, called (no arguments) once every part but the worksheets (the
    parts under a ``worksheets/`` folder, checked last) has passed, so a reader may open the workbook while
    the worksheets are still being checked (``workbook.stream_workbook``; it reads no sheet before every
    check has passed). Not called for other kinds of file, nor when a check of those parts fails.
    """
    path = Path(path)
    lim = lim or limits()
    if not path.is_file():
        if path.exists() and not path.is_dir():
            raise RegistryError(f"{path.name}: is not a regular file (a pipe, socket or device), so it was not read. "
                                f"Save the workbook as a file and load that.")
        return Scan("other")
    _INPUTS.add(path.resolve())
    size = path.stat().st_size
    if size > lim.max_file_bytes:
        raise RegistryError(f"{path.name}: the file is {size / MB:,.1f} MB, above the {lim.max_file_bytes / MB:,.0f} MB "
                            f"limit for one registry workbook. Split it, or raise the limit with the environment "
                            f"variable OCOP_MAX_FILE_MB if it really is a registry.")
    with path.open("rb") as fh:
        head = fh.read(4096)
    kind = sniff_magic(head)
    formula_parts: frozenset[str] = frozenset()
    if kind == "zip":
        formula_parts = _check_zip(path, lim, others_passed)
    elif kind == "markup":
        _check_spreadsheetml(path, lim)
    elif kind == "ole2":
        _check_biff(path, lim)
    return Scan(kind, formula_parts)


def _entity_message(name: str) -> str:
    return (f"{name}: the file declares XML entities (a DOCTYPE), which no Excel or LibreOffice file does and which "
            f"can be used to attack the reader; it was refused without being read. {_FRESH_COPY}")


def _bomb(name: str, why: str) -> RegistryError:
    return RegistryError(f"{name}: refused without unpacking it, because {why} — no registry workbook is like this "
                         f"(it looks like a 'zip bomb' or a damaged file). {_FRESH_COPY}")


# --------------------------------------------------------------------------- zip containers

def _check_zip(path: Path, lim: Limits, others_passed=None) -> frozenset[str]:
    """The zip checks; returns the worksheet parts that hold formulas. Worksheet parts (by path) are checked
    after every other part, and ``others_passed()`` is called in between (see :func:`scan_file`)."""
    name = path.name
    formula_parts = set()
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            _check_directory(name, infos, lim)
            # every part, whatever its name says: relationships can point calamine at any of them
            sheets = [i for i in infos if _is_sheet_path(i.filename)]
            others = [i for i in infos if not _is_sheet_path(i.filename)]
            for info in others:
                if _check_xml_member(name, zf, info, lim):
                    formula_parts.add(info.filename)
            if others_passed is not None:
                others_passed()
            for info in sheets:
                if _check_xml_member(name, zf, info, lim):
                    formula_parts.add(info.filename)
        return frozenset(formula_parts)
    except RegistryError:
        raise
    except Exception:  # BadZipFile, zlib.error, EOFError, NotImplementedError (unknown method), ...: all "damaged"
        raise RegistryError(f"{name}: the file is damaged (a broken or truncated zip container) and cannot be read. "
                            f"{_FRESH_COPY}") from None


def _check_directory(name: str, infos: list[zipfile.ZipInfo], lim: Limits) -> None:
    if len(infos) > lim.max_members:
        raise _bomb(name, f"its zip container holds {len(infos):,} parts (a workbook has a few dozen; limit "
                          f"{lim.max_members:,})")
    total = 0
    for info in infos:
        if info.flag_bits & 0x1:
            raise RegistryError(f"{name}: its parts are protected with a password (an encrypted zip), so it cannot be "
                                f"read. Ask the sender for a copy without a password.")
        if info.file_size > lim.max_member_bytes:
            raise _bomb(name, f"its part '{info.filename}' would unpack to {info.file_size / MB:,.0f} MB "
                              f"(limit {lim.max_member_bytes / MB:,.0f} MB)")
        if info.file_size > lim.ratio_floor_bytes and info.file_size > lim.max_ratio * max(info.compress_size, 1):
            raise _bomb(name, f"its part '{info.filename}' would unpack {info.file_size / max(info.compress_size, 1):,.0f} "
                              f"times larger than it is stored (limit {lim.max_ratio:,.0f} times)")
        total += info.file_size
    if total > lim.max_total_bytes:
        raise _bomb(name, f"its parts would unpack to {total / MB:,.0f} MB in all (limit {lim.max_total_bytes / MB:,.0f} MB)")


_DECLARATION = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
# In a loose XML/HTML file a plain <!DOCTYPE html> is normal; entity declarations are not.
_SHEET_DATA = re.compile(rb"<(?:[\w.-]+:)?sheetData[\s/>]")  # the cell table of a worksheet part
_SHEET_WORD = re.compile(rb"sheetData")  # a fast literal search first
_MARKUP_DECLARATION = re.compile(rb"<!ENTITY|<!DOCTYPE[^>\[]*\[", re.IGNORECASE)


def _check_xml_member(name: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo, lim: Limits) -> bool:
    """No DOCTYPE/ENTITY anywhere in the part; for worksheet parts, a bounded grid. Streams, never loads whole.

    Returns whether a worksheet part holds a formula (``</f>``; a shared formula's children always come
    with a master that has one)."""
    member = PurePosixPath(info.filename)
    sheet_kind = "xlsx" if _is_xlsx_sheet(member) else "ods" if member.name == "content.xml" else None
    if sheet_kind == "ods":
        _check_ods_content(name, zf, info, lim)
        return False
    grid = _XlsxGrid() if sheet_kind == "xlsx" else None
    tail = b""
    with zf.open(info) as fh:
        while True:
            # the first window is read exactly (it sets the columns): keep it small
            chunk = fh.read(1 << 20 if tail else 1 << 16)
            if not chunk:
                break
            window = tail + chunk
            # every window: a comment or instruction in the prolog can hide a declaration far down (the first
            # window is also searched as UTF-16)
            if _DECLARATION.search(window) or (not tail and _DECLARATION.search(window[:65536].replace(b"\x00", b""))):
                raise RegistryError(_entity_message(name))
            if grid is None and _SHEET_WORD.search(window) and _SHEET_DATA.search(window):
                # a worksheet at a path no workbook uses (xl/data/foo.xml, sheet3.dat, after 1 MB of anything):
                # a workbook's relationships can send calamine to any part, so every part is looked at whole
                grid = _XlsxGrid()
            if grid is not None:
                grid.feed(window, len(tail))
                if grid.cells > lim.max_cells:
                    raise _grid_error(name, info.filename, grid.height, grid.width, lim)
            tail = window[-256:]
    if grid is None:
        return False
    grid.finish(tail)
    if grid.cells > lim.max_cells:
        raise _grid_error(name, info.filename, grid.height, grid.width, lim)
    return grid.formulas


def _is_sheet_path(member: str) -> bool:
    """A part under a ``worksheets/`` folder: where workbooks keep their sheets (checked last)."""
    parts = member.lower().split("/")
    return len(parts) >= 2 and parts[-2] == "worksheets"


def _is_xlsx_sheet(member: PurePosixPath) -> bool:
    parts = [p.lower() for p in member.parts]
    return len(parts) >= 2 and parts[-2] in ("worksheets", "macrosheets", "dialogsheets") or \
        (member.suffix.lower() == ".xml" and member.name.lower().startswith("sheet"))


def _grid_error(name: str, member: str | None, rows: int, cols: int, lim: Limits) -> RegistryError:
    where = f"a sheet ('{member}')" if member else "a sheet"
    return RegistryError(f"{name}: {where} reaches row {rows:,} and column {cols:,}, a grid of "
                         f"{rows * cols:,} cells, above the limit of {lim.max_cells:,} cells for one sheet; it was "
                         f"refused before reading. Delete the far-away cells (Ctrl+End shows the last one) and "
                         f"save again, or {_FRESH_COPY[0].lower()}{_FRESH_COPY[1:]}")


# The r= attribute of <row> ("7") and of <c> ("AB7"): any spacing around "=", either quote, any length
# (leading zeros included: calamine reads r="C0000000005" as C5).
_REF = re.compile(rb"\sr\s*=\s*[\"']([A-Za-z]*)(\d+)[\"']")
_SPLIT_REF = 32  # longer than a start tag the fast check accepts: <c r="XFD1048576"
_LAST_ROW = re.compile(rb"<row r=\"(\d{1,9})\"")
# Row and cell start tags, any namespace prefix. calamine places rows and cells without r= one after
# the other, so those reach as far as their count.
_TAG = re.compile(rb"<(?:[\w.-]+:)?(row|c)(?=[\s/>])[^>]*>")
# ... and those without r= (a tag cut by the window's end is judged in the next window's carried tail)
_ROW_NO_REF = re.compile(rb"<(?:[\w.-]+:)?row(?=[\s/>])(?![^>]*\sr\s*=)[^>]*>")
_CELL_NO_REF = re.compile(rb"<(?:[\w.-]+:)?c(?=[\s/>])(?![^>]*\sr\s*=)[^>]*>")


# Literal searches as compiled patterns: the regex engine finds a rare first byte faster than ``in`` does
# over sheet XML, where ">" is everywhere (about 2× on a 46 MB sheet).
_FORMULA_END = re.compile(rb"f>")
_PREFIXED_ROW = re.compile(rb":row")


class _XlsxGrid:
    """Running extent of the rows and cells of a worksheet part (calamine's dense grid is rows × cols).

    The exact way reads every reference (``_REF.findall``), which builds a Python object per cell
    (~1 s for 60,000 rows). Instead each window is *checked* against the extent known so far, widened to
    the window's last ``<row r=…>``: one C-speed search for a cell start tag that is not exactly
    ``<c r="…"`` with a reference inside that extent, and one for such a row tag (:func:`_beyond`).
    Anything else — a farther reference, another attribute first, spaces, single quotes, leading zeros,
    a cell or row without ``r=``, a namespace prefix — sends the window down the exact path, which places
    rows and cells without ``r=`` as calamine does, one after the other. Rows of a sheet come in order, so
    a normal file is read exactly only in its first (64 KiB) and last windows.
    """

    def __init__(self) -> None:
        self.rows = 0          # largest row reached
        self.cols = 0          # largest column reached
        self.row_at = 0        # where calamine is: the current row and the column of the last cell in it
        self.col_at = 0
        self.formulas = False

    @property
    def height(self) -> int:
        return self.rows

    @property
    def width(self) -> int:
        return max(self.cols, 1)

    @property
    def cells(self) -> int:
        return self.height * self.width

    def feed(self, window: bytes, start: int) -> None:
        # a tag inside the carried-over tail is seen twice: harmless for a maximum; for a row or cell placed
        # by position it can only move the count on by one more (a bound)
        if not self.formulas:  # "</f>" or "</x:f>" (one scan; an "f>" in text only costs a closer look later)
            self.formulas = _FORMULA_END.search(window) is not None
        if self.cols and _PREFIXED_ROW.search(window) is None:  # a namespace prefix goes down the exact path
            claim = self.rows
            last = window.rfind(b"<row ")
            if last >= 0:
                m = _LAST_ROW.match(window, last)
                if m:
                    claim = max(claim, int(m.group(1)))
            # a tag in the window's last bytes (perhaps cut) is whole in the next window's carried-over tail
            # (or in finish()): a first match there is no match here
            end = len(window) - _SPLIT_REF
            cell, row = _beyond(claim, self.cols)
            m, n = cell.search(window), row.search(window)
            if (m is None or m.start() >= end) and (n is None or n.start() >= end):
                self.rows = self.row_at = claim
                self.col_at = self.cols  # the row's last cell is at most there
                return
        self._exact(window)

    def finish(self, tail: bytes) -> None:
        """The last bytes of the part, which the windows' checks left to a next window that never came."""
        self._exact(tail)

    def _exact(self, window: bytes) -> None:
        if not _ROW_NO_REF.search(window) and not _CELL_NO_REF.search(window):
            for letters, digits in _REF.findall(window):  # every row and cell says where it is
                row = _row_number(digits)
                self.rows = max(self.rows, row)
                if letters:
                    self.cols = max(self.cols, _column_number(letters))
            return
        # Rows or cells without r=: walk the tags in order as calamine does — a row without r= comes after
        # the previous row, a cell without r= after the previous cell of its row.
        for tag in _TAG.finditer(window):
            ref = _REF.search(tag.group(0))
            if tag.group(1) == b"row":
                self.row_at = _row_number(ref.group(2)) if ref else self.row_at + 1
                self.col_at = 0
            elif ref:
                self.col_at = _column_number(ref.group(1)) if ref.group(1) else self.col_at + 1
                self.row_at = max(self.row_at, _row_number(ref.group(2)))
            else:
                self.col_at += 1
            self.rows = max(self.rows, self.row_at)
            self.cols = max(self.cols, self.col_at)


def cell_reference(attributes: bytes) -> tuple[int, int] | None:
    """(Excel row, 0-based column) of a ``<c …>`` tag's r= attribute, read as the grid check reads it; None
    without one (the formula check in ``workbook`` uses it)."""
    m = _REF.search(b" " + attributes)
    if not m or not m.group(1):
        return None
    return _row_number(m.group(2)), _column_number(m.group(1)) - 1


def _row_number(digits: bytes) -> int:
    digits = digits.lstrip(b"0") or b"0"
    return int(digits) if len(digits) <= 18 else 10 ** 18  # beyond any grid limit


def _column_number(letters: bytes) -> int:
    col = 0
    for ch in letters.upper():
        col = col * 26 + ch - 64
    return col


def _column_letters(col: int) -> str:
    out = ""
    while col > 0:
        col, rest = divmod(col - 1, 26)
        out = chr(65 + rest) + out
    return out


def _at_most(text: str, low: str, high: str, first_low: str | None = None) -> list[str]:
    """Regex alternatives for strings of len(text) over [low-high] that sort ≤ text (same length: sort = value)."""
    alts = [re.escape(text)]
    for i, ch in enumerate(text):
        lo = first_low if (i == 0 and first_low) else low
        if ch > lo:
            top = chr(ord(ch) - 1)
            alts.append(f"{re.escape(text[:i])}[{lo}-{top}][{low}-{high}]{{{len(text) - i - 1}}}")
    return alts


@functools.lru_cache(maxsize=64)
def _beyond(rows: int, cols: int) -> tuple[re.Pattern, re.Pattern]:
    """Patterns finding a cell start tag, and a row start tag, that is NOT exactly ``<c r="…"`` /
    ``<row r="…"`` with a reference inside rows 1..rows × columns 1..cols.

    Inside means: upper-case letters naming a column ≤ cols (for a cell), then a row number 1..rows
    without leading zeros. Everything else matches — a farther reference, lower-case letters, a leading
    zero, no r=, another attribute or more space before it, single quotes; also ``<col``, ``<cols`` and
    ``<rowBreaks`` (harmless: their window is then read exactly).
    """
    letters = _column_letters(cols)
    col_alts = ([f"[A-Z]{{1,{len(letters) - 1}}}"] if len(letters) > 1 else []) + _at_most(letters, "A", "Z")
    digits = str(max(rows, 1))
    row_alts = ([f"[1-9][0-9]{{0,{len(digits) - 2}}}"] if len(digits) > 1 else []) + \
        _at_most(digits, "0", "9", first_low="1")
    row_inside = f"(?:{'|'.join(row_alts)})\""
    cell = re.compile(f'<c(?! r="(?:{"|".join(col_alts)}){row_inside})'.encode())
    row = re.compile(f'<row(?! r="{row_inside})'.encode())
    return cell, row


_ODS_TOKEN = re.compile(rb"<(/?)(?:\w+:)?table(-row)?(?=[\s/>])([^>]*)>")
_ODS_CELL = re.compile(rb"<(?:\w+:)?(?:covered-)?table-cell\b([^>]*?)(/?)>")
_ODS_ROWS_REPEATED = re.compile(rb"number-rows-repeated=\"(\d{1,12})\"")
_ODS_COLS_REPEATED = re.compile(rb"number-columns-repeated=\"(\d{1,12})\"")


def _check_ods_content(name: str, zf: zipfile.ZipFile, info: zipfile.ZipInfo, lim: Limits) -> None:
    """Rows × columns an .ods sheet expands to, counting repeats up to the last cell that holds something.

    LibreOffice pads every sheet with empty rows and cells repeated to the sheet's edge; those do not
    count (calamine drops them too). Streams content.xml a row at a time; no DOCTYPE allowed.
    """
    height = width = last_row = 0
    tail = b""
    with zf.open(info) as fh:
        while True:
            chunk = fh.read(4 << 20)
            window = tail + chunk
            if _DECLARATION.search(window) or (not tail and _DECLARATION.search(window[:65536].replace(b"\x00", b""))):
                raise RegistryError(_entity_message(name))
            cut = len(window) if not chunk else window.rfind(b"table-row>") + len(b"table-row>")
            if cut < len(b"table-row>"):
                cut = 0
            body, tail = window[:cut], window[cut:]
            row_start, row_attrs = -1, b""
            for m in _ODS_TOKEN.finditer(body):
                closing, is_row, attrs = m.groups()
                if not is_row:
                    if not closing:  # <table:table …>: a new sheet
                        height = width = last_row = 0
                    continue
                if not closing:
                    row_start, row_attrs = m.end(), attrs
                    if not attrs.endswith(b"/"):
                        continue
                    row = b""  # <table:table-row …/>
                else:
                    row = body[row_start:m.start()] if row_start >= 0 else b""
                repeat = _ODS_ROWS_REPEATED.search(row_attrs)
                height += _repeat(repeat.group(1)) if repeat else 1
                row_start = -1
                row_width = _ods_row_width(row)
                if row_width:
                    last_row, width = height, max(width, row_width)
                    if last_row * width > lim.max_cells:
                        raise _grid_error(name, info.filename, last_row, width, lim)
            if not chunk:
                break


def _ods_row_width(row: bytes) -> int:
    """Columns up to the last cell of a row that holds a value (0 for an empty row)."""
    last = max(row.rfind(b"value-type"), row.rfind(b"</"))
    if last < 0:
        return 0
    if b"<table:" in row:  # the usual prefix: count in C up to the end of the last filled cell's tag
        prefix = row[:row.find(b">", last) + 1 or len(row)]
        cells = prefix.count(b"<table:table-cell") + prefix.count(b"<table:covered-table-cell")
        return cells + sum(int(n) - 1 for n in _ODS_COLS_REPEATED.findall(prefix) if int(n) > 1)
    col = last = 0
    for m in _ODS_CELL.finditer(row):
        attrs, closed = m.group(1), m.group(2)
        repeat = _ODS_COLS_REPEATED.search(attrs)
        col += _repeat(repeat.group(1)) if repeat else 1
        if b"value-type" in attrs or not closed:
            last = col
    return last


def _repeat(value) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


# --------------------------------------------------------------------------- Excel 2003 XML (SpreadsheetML)

_SSML_TAG = re.compile(rb"<(?:\w+:)?(Row|Cell|Worksheet)\b([^>]*)>")
_SSML_INDEX = re.compile(rb"\b(?:\w+:)?Index=\"(\d{1,12})\"")
_SSML_ACROSS = re.compile(rb"\b(?:\w+:)?MergeAcross=\"(\d{1,12})\"")


def _check_spreadsheetml(path: Path, lim: Limits) -> None:
    """The grid a SpreadsheetML file asks for: Row/Cell ss:Index and ss:MergeAcross jump and pad.

    workbook.py builds each sheet as a list of rows padded to the widest, so a 3 KB file with
    ``<Row ss:Index="200000"><Cell ss:Index="5000">`` (or ``ss:MergeAcross="300000000"``) would
    fill gigabytes. Also refuses a DOCTYPE anywhere. Streams the file (at most the size cap).
    """
    row = col = rows = cols = 0
    tail = b""
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(4 << 20)
            if not chunk:
                break
            window = tail + chunk
            cut = window.rfind(b"<") if len(chunk) == 4 << 20 else len(window)
            cut = cut if cut > 0 else len(window)
            body, tail = window[:cut], window[cut:]
            if _MARKUP_DECLARATION.search(body.replace(b"\x00", b"")):
                raise RegistryError(_entity_message(path.name))
            for m in _SSML_TAG.finditer(body):
                tag, attrs = m.group(1), m.group(2)
                index = _SSML_INDEX.search(attrs)
                if tag == b"Worksheet":
                    row = col = 0
                    continue
                if tag == b"Row":
                    row = int(index.group(1)) if index else row + 1
                    col = 0
                else:
                    col = int(index.group(1)) if index else col + 1
                    across = _SSML_ACROSS.search(attrs)
                    col += int(across.group(1)) if across else 0
                rows, cols = max(rows, row), max(cols, col)
                if rows * max(cols, 1) > lim.max_cells:
                    raise _grid_error(path.name, None, rows, cols, lim)


# --------------------------------------------------------------------------- Excel 97-2003 (.xls, BIFF in OLE2)

_BIFF_CELLS = {0x0006, 0x0203, 0x0204, 0x00FD, 0x027E, 0x0205, 0x00D6, 0x0406, 0x0003, 0x0004, 0x0002}
_BIFF_MULRK = 0x00BD
_BIFF_BOF = {0x0809, 0x0409, 0x0209, 0x0009}


def _check_biff(path: Path, lim: Limits) -> None:
    """The grid each sheet of a .xls asks for, from its cell records (row, column).

    A 10 KB .xls with one value in IV65536 makes calamine build a 65,536 × 256 grid (1.3 GB, 4 s, per
    sheet). Reads the OLE2 container by hand (no dependency); anything it cannot follow is left to
    calamine, which reports a damaged file. Encrypted workbooks are left to workbook.sniff.
    """
    try:
        stream = _ole2_stream(path.read_bytes(), ("Workbook", "Book"))
    except Exception:  # a container this reader cannot follow: calamine decides (and reports it damaged)
        return
    if not stream:
        return
    rows = cols = 0
    pos, end = 0, len(stream)
    while pos + 4 <= end:
        rtype, rlen = struct.unpack_from("<HH", stream, pos)
        body = pos + 4
        if rtype in _BIFF_BOF:
            rows = cols = 0
        elif rlen >= 4 and (rtype in _BIFF_CELLS or rtype == _BIFF_MULRK):
            row, col = struct.unpack_from("<HH", stream, body)
            if rtype == _BIFF_MULRK and rlen >= 6:
                col = struct.unpack_from("<H", stream, body + rlen - 2)[0]
            rows, cols = max(rows, row + 1), max(cols, col + 1)
            if rows * cols > lim.max_cells:
                raise _grid_error(path.name, None, rows, cols, lim)
        pos = body + rlen


def _ole2_stream(data: bytes, names: tuple[str, ...]) -> bytes | None:
    """The bytes of the first stream called one of ``names`` in an OLE2 (Compound File) container."""
    shift = struct.unpack_from("<H", data, 0x1E)[0]
    if shift not in (9, 12):
        return None
    size = 1 << shift
    n_sectors = max(0, (len(data) - size) // size)

    def sector(n: int) -> bytes:
        if not 0 <= n < n_sectors:
            raise ValueError("sector out of range")
        return data[(n + 1) * size:(n + 2) * size]

    def chain(start: int, fat: list[int]) -> list[int]:
        out, seen = [], set()
        while 0 <= start < len(fat) and start not in seen and len(out) <= n_sectors:
            seen.add(start)
            out.append(start)
            start = fat[start]
        return out

    difat = [n for n in struct.unpack_from("<109I", data, 0x4C) if n < 0xFFFFFFFA]
    nxt, hops = struct.unpack_from("<I", data, 0x44)[0], 0
    while nxt < 0xFFFFFFFA and hops <= n_sectors:
        values = struct.unpack(f"<{size // 4}I", sector(nxt))
        difat += [n for n in values[:-1] if n < 0xFFFFFFFA]
        nxt, hops = values[-1], hops + 1
    fat: list[int] = []
    for n in difat[: n_sectors + 1]:
        fat += struct.unpack(f"<{size // 4}I", sector(n))
    directory = b"".join(sector(n) for n in chain(struct.unpack_from("<I", data, 0x30)[0], fat))
    entries = []
    for off in range(0, len(directory) - 127, 128):
        name_len = struct.unpack_from("<H", directory, off + 0x40)[0]
        name = directory[off:off + max(0, min(name_len, 64) - 2)].decode("utf-16-le", errors="replace")
        kind = directory[off + 0x42]
        start, length = struct.unpack_from("<IQ", directory, off + 0x74)
        entries.append((name, kind, start, length if size == 4096 else length & 0xFFFFFFFF))
    if not entries:
        return None
    cutoff = struct.unpack_from("<I", data, 0x38)[0]
    for name, kind, start, length in entries:
        if kind != 2 or name not in names:
            continue
        length = min(length, len(data))
        if length >= cutoff:
            return b"".join(sector(n) for n in chain(start, fat))[:length]
        root = entries[0]
        mini = b"".join(sector(n) for n in chain(root[2], fat))
        minifat: list[int] = []
        for n in chain(struct.unpack_from("<I", data, 0x3C)[0], fat):
            minifat += struct.unpack(f"<{size // 4}I", sector(n))
        msize = 1 << struct.unpack_from("<H", data, 0x20)[0]
        return b"".join(mini[n * msize:(n + 1) * msize] for n in chain(start, minifat))[:length]
    return None


# --------------------------------------------------------------------------- XML parsers of other libraries

def openpyxl_is_defused() -> bool:
    """True when openpyxl parses workbook XML with defusedxml (entity declarations refused)."""
    import defusedxml.ElementTree as dET
    import openpyxl.xml.functions as fx

    from openpyxl import DEFUSEDXML
    return bool(DEFUSEDXML) and fx.iterparse is dET.iterparse and (getattr(fx, "LXML", False)
                                                                  or fx.fromstring is dET.fromstring)


# --------------------------------------------------------------------------- outputs never overwrite inputs

# Every file this process has opened as a registry input (recorded by check_file): writers refuse these.
_INPUTS: set[Path] = set()


class OutputOverwritesInput(RegistryError, FileExistsError):
    """An output path is one of the inputs (or a workbook inside an input folder)."""


def refuse_overwrite(out_path: str | Path, inputs: Iterable[str | Path] | str | Path | None = None) -> None:
    """Raise :class:`OutputOverwritesInput` when writing ``out_path`` would replace an input file.

    Inputs are the files this process has read as registries (``check_file`` records them) plus
    ``inputs`` (files or folders: a folder protects the workbooks in it). Paths are compared after
    resolving symlinks and ``..``, and by inode when the output exists (hard links). Every writer
    of the kit calls this before opening its output.
    """
    if isinstance(inputs, (str, Path)):
        inputs = [inputs]
    candidates = [*(inputs or []), *sorted(_INPUTS)]
    if not candidates:
        return
    out = Path(out_path).expanduser().resolve()
    for item in candidates:
        src = Path(item).expanduser().resolve()
        # a workbook already in an input folder was an input too
        same = out == src or (src.is_dir() and src in out.parents and out.is_file()
                              and out.suffix.lower() in (".xlsx", ".xlsm", ".xls", ".ods"))
        if not same and out.exists() and src.is_file():
            try:
                same = os.path.samefile(out, src)
            except OSError:
                same = False
        if same:
            raise OutputOverwritesInput(f"{out_path}: refusing to write over an input file ({Path(item).name}); "
                                        f"choose another output name or folder.")
