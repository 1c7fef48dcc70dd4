"""Opening registry files: sniff what a file really is, read its sheets as rows of values.

Every spreadsheet is read with python-calamine (.xlsx, .xlsm, .xls, .ods). Two
traps of real offices are recognised by their first bytes rather than their
extension: an ".xls" that is an HTML page or an Excel 2003 XML (SpreadsheetML)
export. SpreadsheetML is read here with defusedxml. HTML is refused with a
RegistryError that says what the file is and how to convert it: pandas.read_html
would need lxml or html5lib, which are not dependencies of the kit.

A file that cannot be read raises :class:`RegistryError` with one plain sentence
naming the file and the reason; a parser's own traceback never reaches the user.

Rows are returned so that ``sheet.rows[i]`` is the row a person sees as number
``i + 1`` in Excel (calamine's ``skip_empty_area=False`` keeps the leading empty
rows and columns).
"""
from __future__ import annotations

import datetime as dt
import re
import threading
import weakref
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from . import safety
from .errors import RegistryError

__all__ = ["Sheet", "Workbook", "read_workbook", "stream_workbook", "sniff", "MissingFileError", "WORKBOOK_SUFFIXES"]

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
_OLE2 = bytes.fromhex("D0CF11E0A1B11AE1")
_SAVE_AS = "Open it in Excel or LibreOffice Calc and save it again as an Excel workbook (.xlsx)."


class MissingFileError(RegistryError, FileNotFoundError):
    """The path does not exist (a RegistryError and a FileNotFoundError)."""


@dataclass
class Sheet:
    """One sheet: ``rows[i]`` is Excel row ``i + 1``; cells are str, float, int, bool, date or datetime ('' = empty)."""

    name: str
    rows: list[list] = field(default_factory=list)
    visible: bool = True
    # (Excel row, 0-based column) of formula cells whose cached value is missing (.xlsx/.xlsm only), sorted.
    formula_cells: list[tuple[int, int]] = field(default_factory=list)
    # merged ranges ((first_row, first_col), (last_row, last_col)), 0-based, where the format gives them
    merged: list = field(default_factory=list)


@dataclass
class Workbook:
    path: Path
    format: str                      # xlsx | xlsm | xls | ods | html | spreadsheetml
    sheets: list[Sheet]
    has_macros: bool = False


# --------------------------------------------------------------------------- sniffing

def sniff(path: str | Path) -> str:
    """What the file really is, from its first bytes and (for containers) its member names.

    One of: xlsx, xlsm, ods, xls, html, spreadsheetml; anything else raises RegistryError.
    """
    path = Path(path)
    name = path.name
    if not path.exists():
        raise MissingFileError(f"{path}: file not found.")
    if path.is_dir():
        raise RegistryError(f"{name}: is a folder, not a workbook.")
    size = path.stat().st_size
    if size == 0:
        raise RegistryError(f"{name}: the file is empty (0 bytes). {_SAVE_AS}")
    with path.open("rb") as fh:
        head = fh.read(4096)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _sniff_zip(path)
    if head.startswith(_OLE2):
        return _sniff_ole2(path)
    if head.startswith(b"%PDF"):
        raise RegistryError(f"{name}: is a PDF document, not a workbook. Ask the sender for the Excel file.")
    text = _decode_head(head).lstrip("\ufeff \t\r\n").lower()
    if text.startswith("<?xml") or text.startswith("<workbook"):
        if "urn:schemas-microsoft-com:office:spreadsheet" in text:
            return "spreadsheetml"
        if "<html" in text:
            return "html"
        raise RegistryError(f"{name}: is an XML file but not an Excel spreadsheet. {_SAVE_AS}")
    if text.startswith(("<!doctype html", "<html", "<table", "<meta", "<head", "<body")) or "<html" in text[:1024]:
        return "html"
    if text.startswith("mime-version") or "multipart/related" in text[:2048]:
        raise RegistryError(f"{name}: is a single-file web page (MHTML) saved from Excel, not a workbook. {_SAVE_AS}")
    if head.startswith(b"\x09\x08") or head.startswith(b"\x09\x04") or head.startswith(b"\x09\x02"):
        raise RegistryError(f"{name}: is a very old Excel file (Excel 2–4 format) that cannot be read. {_SAVE_AS}")
    if _looks_like_text(head):
        raise RegistryError(f"{name}: is a plain text (CSV or tab-separated) file, not a workbook. {_SAVE_AS}")
    raise RegistryError(f"{name}: is not a spreadsheet (its content is not an Excel, LibreOffice, HTML or XML "
                        f"workbook). Check that the right file was sent.")


def _decode_head(head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace")
    return head.decode("utf-8", errors="replace")


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return "\x00" not in text and any(sep in text for sep in (",", ";", "\t"))


def _sniff_zip(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            mimetype = zf.read("mimetype")[:100] if "mimetype" in names else b""
    except Exception:  # BadZipFile, zlib.error, EOFError, NotImplementedError, ...
        raise RegistryError(f"{path.name}: the file is damaged (a broken or truncated zip container) and cannot be "
                            f"read. Ask the sender for a fresh copy.") from None
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
        if "xl/workbook.bin" in names and "xl/workbook.xml" not in names:
            raise RegistryError(f"{path.name}: is an Excel binary workbook (.xlsb), which the kit does not read. {_SAVE_AS}")
        return "xlsm" if "xl/vbaProject.bin" in names else "xlsx"
    if b"opendocument.spreadsheet" in mimetype or ("content.xml" in names and not mimetype):
        return "ods"
    if b"opendocument" in mimetype:
        raise RegistryError(f"{path.name}: is an OpenDocument text or presentation file, not a spreadsheet.")
    if "word/document.xml" in names:
        raise RegistryError(f"{path.name}: is a Word document (.docx), not a workbook. Copy the table into Excel "
                            f"and save it as .xlsx.")
    if any(n.startswith("ppt/") for n in names):
        raise RegistryError(f"{path.name}: is a PowerPoint file, not a workbook.")
    raise RegistryError(f"{path.name}: is a zip archive, not a workbook. Unzip it and load the workbooks inside.")


def _sniff_ole2(path: Path) -> str:
    data = path.read_bytes()
    if "EncryptedPackage".encode("utf-16-le") in data:
        raise RegistryError(f"{path.name}: is protected with a password (encrypted), so it cannot be read. Open it in "
                            f"Excel, remove the password (File › Info › Protect Workbook) and save a copy.")
    if "Workbook".encode("utf-16-le") in data or "Book".encode("utf-16-le") in data:
        return "xls"
    if "WordDocument".encode("utf-16-le") in data:
        raise RegistryError(f"{path.name}: is a Word document (.doc), not a workbook. Copy the table into Excel "
                            f"and save it as .xlsx.")
    raise RegistryError(f"{path.name}: is an Office file that is not an Excel workbook. Check that the right file was sent.")


# --------------------------------------------------------------------------- reading

def read_workbook(path: str | Path) -> Workbook:
    """Read every sheet of a workbook (hidden ones too, flagged). Raises RegistryError when unreadable."""
    book = stream_workbook(path)
    return Workbook(path=book.path, format=book.format, sheets=list(book.sheets), has_macros=book.has_macros)


def stream_workbook(path: str | Path) -> Workbook:
    """:func:`read_workbook` with ``sheets`` an iterator that gives each sheet as soon as it is read.

    An .xlsx/.xlsm is read by calamine in a thread (calamine lets go of the GIL while it parses): it opens
    the workbook (workbook, relationships, shared strings, styles) once every part but the worksheets has
    passed the safety checks, while the main thread goes on checking the worksheet parts, and reads the
    sheets once every part has passed — never before, since which part calamine reads for a sheet is
    calamine's own reading of the workbook, which a hostile file can make differ from any other — while
    the main thread lays out the sheets already read. A file that fails a check raises its RegistryError
    here, after the thread has stopped; a file calamine cannot read raises while the sheets are iterated.
    Close ``sheets`` (or iterate it to the end) and the thread stops.
    """
    path = Path(path)
    ahead = _ReadAhead(path)
    try:
        scan = safety.scan_file(path, others_passed=ahead.open)  # size cap, zip/XML bomb, sheet grid: before any parser
        kind = sniff(path)
    except BaseException:
        ahead.cancel()
        raise
    ahead.all_passed()
    if kind == "html":
        ahead.cancel()
        # Decision: no HTML parsing. pandas.read_html needs lxml or html5lib, which the kit does not depend
        # on, and a web page loses the cell types; the clerk's one-step fix is reliable.
        raise RegistryError(f"{path.name}: is a web page (HTML table) saved with a spreadsheet name, not a real "
                            f"workbook. Open it in Excel or LibreOffice Calc and use Save As › Excel workbook (.xlsx).")
    if kind == "spreadsheetml":
        ahead.cancel()
        sheets = _nonempty(path, _read_spreadsheetml(path))
    else:
        sheets = _nonempty(path, _read_calamine(path, kind, scan.formula_parts, ahead))
        weakref.finalize(sheets, ahead.cancel, join=False)  # sheets dropped unread stop the thread too
    return Workbook(path=path, format=kind, sheets=sheets, has_macros=(kind == "xlsm"))


def _nonempty(path: Path, sheets):
    seen = False
    for sheet in sheets:
        seen = True
        yield sheet
    if not seen:
        raise RegistryError(f"{path.name}: the workbook has no sheets.")


def _calamine_sheets(path: Path, wait=None):
    """(Sheet) for each sheet calamine lists, in order; ``wait(sheet name)`` is called before a worksheet is
    read and returns False to stop. Raises calamine's own errors as they are."""
    import python_calamine as pc

    wb = pc.CalamineWorkbook.from_path(str(path))
    try:
        for meta in wb.sheets_metadata:
            if str(meta.typ).rsplit(".", 1)[-1] not in ("WorkSheet", "Worksheet"):
                # chart sheets, dialog sheets, macro sheets: no cells
                yield Sheet(meta.name, [], visible=False)
                continue
            if wait is not None and not wait(meta.name):
                return
            cs = wb.get_sheet_by_name(meta.name)
            rows = cs.to_python(skip_empty_area=False)
            merged = list(cs.merged_cell_ranges or [])
            _fill_vertical_merges(rows, merged)
            visible = str(meta.visible).rsplit(".", 1)[-1] == "Visible"
            yield Sheet(meta.name, rows, visible=visible, merged=merged)
    finally:
        wb.close()


def _read_calamine(path: Path, kind: str, formula_parts: frozenset[str] = frozenset(), ahead=None):
    import python_calamine as pc

    sheets = ahead.sheets() if ahead is not None and ahead.started else _calamine_sheets(path)
    try:
        missing: dict[str, list] = {}
        if kind in ("xlsx", "xlsm") and formula_parts:
            try:
                missing = _formulas_without_value(path, formula_parts)
            except Exception:  # the check is a courtesy; calamine reads the values
                missing = {}
        while True:
            try:
                sheet = next(sheets)
            except StopIteration:
                return
            except pc.PasswordError:
                raise RegistryError(f"{path.name}: is protected with a password (encrypted), so it cannot be read. "
                                    f"Open it in Excel, remove the password and save a copy.") from None
            except (KeyboardInterrupt, SystemExit, GeneratorExit):
                raise
            except BaseException as exc:  # calamine's own errors, plain ones, and pyo3's PanicException
                reason = "damaged or truncated" if not isinstance(exc, MemoryError) else "too large to read"
                raise RegistryError(f"{path.name}: the {_FORMAT_NAMES.get(kind, kind)} file is {reason} and cannot be "
                                    f"read. {_SAVE_AS}") from None
            sheet.formula_cells = missing.get(sheet.name, [])
            yield sheet
    finally:
        if ahead is not None:
            ahead.cancel()
        sheets.close()


def _sheet_parts(path: Path) -> dict[str, str]:
    """Sheet name -> the zip part holding its cells, from workbook.xml and its relationships (read with
    defusedxml), for the formula check."""
    from defusedxml import ElementTree as ET

    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
          "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships"}
    out = {}
    with zipfile.ZipFile(path) as zf:
        book = ET.fromstring(zf.read("xl/workbook.xml"))
        rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target") for rel in rels}
    for sheet in book.iterfind("m:sheets/m:sheet", ns):
        target = targets.get(sheet.get(f"{{{ns['r']}}}id"))
        if target:
            out[sheet.get("name")] = target.lstrip("/") if target.startswith("/") else str(PurePosixPath("xl") / target)
    return out


class _ReadAhead:
    """calamine reading an .xlsx/.xlsm in a thread while the safety checks go on (see stream_workbook).

    ``open`` is safety.scan_file's callback once every part but the worksheets has passed: the thread starts
    then and opens the workbook (an .xlsx/.xlsm only). ``all_passed`` lets it read the sheets, never before;
    ``cancel`` stops it.
    """

    def __init__(self, path: Path):
        self.path = path
        self.cond = threading.Condition()
        self.everything = False   # every check passed
        self.stopped = False      # the reader must stop
        self.items: list = []     # Sheet, or ("error", exc)
        self.finished = False
        self.thread: threading.Thread | None = None

    @property
    def started(self) -> bool:
        return self.thread is not None

    def open(self) -> None:
        if self.thread is None and _sniff_quietly(self.path) in ("xlsx", "xlsm"):
            self.thread = threading.Thread(target=self._run, name="ocop-calamine", daemon=True)
            self.thread.start()

    def all_passed(self) -> None:
        with self.cond:
            self.everything = True
            self.cond.notify_all()

    def cancel(self, join: bool = True) -> None:
        with self.cond:
            self.stopped = True
            self.cond.notify_all()
        if join and self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join()

    def _may_read(self, name: str) -> bool:
        with self.cond:
            while not self.stopped and not self.everything:
                self.cond.wait()
            return not self.stopped

    def _run(self) -> None:
        try:
            sheets = _calamine_sheets(self.path, wait=self._may_read)
            try:
                for sheet in sheets:
                    with self.cond:
                        if self.stopped:
                            return
                        self.items.append(sheet)
                        self.cond.notify_all()
            finally:
                sheets.close()
        except BaseException as exc:  # handed to the reading side, which words it
            with self.cond:
                self.items.append(("error", exc))
        finally:
            with self.cond:
                self.finished = True
                self.cond.notify_all()

    def sheets(self):
        k = 0
        while True:
            with self.cond:
                while k >= len(self.items) and not self.finished:
                    self.cond.wait()
                if k >= len(self.items):
                    return
                item = self.items[k]
                self.items[k] = None  # the rows are the caller's now
            k += 1
            if isinstance(item, tuple):
                raise item[1]
            yield item


def _sniff_quietly(path: Path) -> str | None:
    try:
        return sniff(path)
    except Exception:
        return None


def _fill_vertical_merges(rows: list[list], merged: list) -> None:
    """Copy the value of a cell merged downwards into the rows below it (first column of the range only).

    Clerks merge an entity or a district over the rows of its products; every row then carries it.
    Horizontal merges are left alone so a section title stays one cell.
    """
    for (r0, c0), (r1, _c1) in merged:
        if r1 <= r0 or r0 >= len(rows) or c0 >= len(rows[r0]):
            continue
        value = rows[r0][c0]
        for r in range(r0 + 1, min(r1, len(rows) - 1) + 1):
            if c0 < len(rows[r]) and rows[r][c0] in ("", None):
                rows[r][c0] = value


_FORMAT_NAMES = {"xlsx": "Excel (.xlsx)", "xlsm": "Excel macro-enabled (.xlsm)", "xls": "Excel 97–2003 (.xls)",
                 "ods": "LibreOffice (.ods)"}

_HAS_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")
_CELL = re.compile(rb"<(?:\w+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:\w+:)?c>)", re.DOTALL)
_VALUE = re.compile(rb"<(?:\w+:)?v>[^<]+</(?:\w+:)?v>|<(?:\w+:)?is>")


def _formulas_without_value(path: Path, parts: frozenset[str] | None = None) -> dict[str, list[tuple[int, int]]]:
    """Sheet name -> (Excel row, 0-based column) of formula cells with no cached value (never recalculated).

    Reads the sheet XML directly and only looks at cells when the sheet has a formula at all. ``parts``:
    the worksheet parts known to hold formulas (``safety.Scan.formula_parts``); others are not unpacked.
    """
    out: dict[str, list[int]] = {}
    members = _sheet_parts(path)
    with zipfile.ZipFile(path) as zf:
        for name, member in members.items():
            if parts is not None and member not in parts:
                continue
            try:
                data = zf.read(member)
            except KeyError:
                continue
            if b"</f>" not in data and b":f>" not in data:
                continue  # one C-speed scan; a shared formula's children always come with a master </f>
            cells = set()
            for attrs, body in _CELL.findall(data):
                if body and _HAS_FORMULA.search(body) and not _VALUE.search(body):
                    ref = safety.cell_reference(attrs)
                    if ref:
                        cells.add(ref)
            if cells:
                out[name] = sorted(cells)
    return out


# --------------------------------------------------------------------------- SpreadsheetML (Excel 2003 XML)

_SS = "urn:schemas-microsoft-com:office:spreadsheet"
_X = "urn:schemas-microsoft-com:office:excel"


def _read_spreadsheetml(path: Path) -> list[Sheet]:
    from defusedxml import ElementTree as ET
    from defusedxml.common import DefusedXmlException

    try:
        root = ET.parse(str(path)).getroot()
    except DefusedXmlException:
        raise RegistryError(f"{path.name}: the XML workbook uses entity declarations, which are refused for "
                            f"safety. {_SAVE_AS}") from None
    except Exception:
        raise RegistryError(f"{path.name}: is an Excel 2003 XML workbook that is damaged and cannot be read. "
                            f"{_SAVE_AS}") from None
    sheets = []
    for ws in root.iter(f"{{{_SS}}}Worksheet"):
        rows: list[list] = []
        table = ws.find(f"{{{_SS}}}Table")
        for row in (table.iter(f"{{{_SS}}}Row") if table is not None else ()):
            index = _int(row.get(f"{{{_SS}}}Index"), 0)
            while index and len(rows) < index - 1:
                rows.append([])
            cells: list = []
            for cell in row.iter(f"{{{_SS}}}Cell"):
                cidx = _int(cell.get(f"{{{_SS}}}Index"), 0)
                while cidx and len(cells) < cidx - 1:
                    cells.append("")
                data = cell.find(f"{{{_SS}}}Data")
                cells.append(_xml_value(data))
                cells.extend([""] * _int(cell.get(f"{{{_SS}}}MergeAcross"), 0))
            rows.append(cells)
        width = max((len(r) for r in rows), default=0)
        options = ws.find(f"{{{_X}}}WorksheetOptions")
        visible = options is None or options.find(f"{{{_X}}}Visible") is None
        sheets.append(Sheet(ws.get(f"{{{_SS}}}Name") or f"Sheet{len(sheets) + 1}",
                            [r + [""] * (width - len(r)) for r in rows], visible=visible))
    return sheets


def _int(value, default: int) -> int:
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return default


def _xml_value(data):
    if data is None:
        return ""
    text = "".join(data.itertext())
    kind = data.get(f"{{{_SS}}}Type", "String")
    try:
        if kind == "Number":
            return float(text)
        if kind == "Boolean":
            return text.strip() in ("1", "true", "TRUE")
        if kind == "DateTime":
            value = dt.datetime.fromisoformat(text.strip()[:19])
            return value.date() if value.time() == dt.time(0) else value
    except ValueError:
        pass
    return text
