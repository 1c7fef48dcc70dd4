"""The one place the kit writes tables for people: .xlsx, .csv and HTML.

Every writer in the kit (the report's summary, registry_clean and problems
workbooks, ``validate --xlsx``, the registry template) goes through here, for
two reasons:

* **Formula injection.** Registry text comes from many hands. A product named
  ``=HYPERLINK("http://…","Bấm vào đây")`` must reach Excel as text, never as a
  formula. Following OWASP ("CSV Injection"), a text cell that starts with
  ``=``, ``+``, ``-``, ``@``, tab, CR or LF gets a leading ``'``; the rest of
  the text is kept as written. Numbers stay numbers (``-5`` is still -5).
  openpyxl itself would store any string starting with ``=`` as a formula, so
  this is not only about what Excel does when a cell is edited.
* **Tables people can use.** Bold header on a coloured band, frozen header,
  autofilter, number formats (thousands, one-decimal scores, percentages,
  dd/mm/yyyy dates) and column widths fitted to the content.

>>> neutralise('=HYPERLINK("http://x")'), neutralise("-5"), neutralise(-5), neutralise("Hạt sen")
('\\'=HYPERLINK("http://x")', "'-5", -5, 'Hạt sen')
"""
from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from . import safety

__all__ = [
    "FORMULA_PREFIXES", "neutralise", "neutralise_frame", "COLUMN_LABELS", "label_columns",
    "write_excel", "add_sheet", "format_sheet", "write_csv", "to_html",
]

# OWASP CSV injection: the characters that make a spreadsheet treat a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")

HEADER_FILL = "1F5C4A"      # dark lotus-leaf green; white bold text on it
HEADER_FONT = "FFFFFF"
NOTE_SHEET = {"vi": "Ghi chú", "en": "Notes"}
MAX_WIDTH = 60
MIN_WIDTH = 6

# Headers people read, for the canonical columns and the common analysis columns.
# Vietnamese forms of the registry columns are the sample workbook's headers, so a
# registry_clean.xlsx can be loaded again by oa.load_registry.
COLUMN_LABELS: dict[str, dict[str, str]] = {
    "vi": {
        "product_id": "Mã định danh sản phẩm",
        "product_name": "Tên sản phẩm",
        "entity_name": "Tên chủ thể",
        "entity_type": "Loại hình chủ thể",
        "district_code": "Mã huyện",
        "district": "Huyện/Thành phố",
        "commune": "Xã/Phường",
        "address": "Địa chỉ",
        "group": "Mã nhóm",
        "group_name": "Nhóm sản phẩm",
        "group_source": "Nhóm sản phẩm (như ghi trong nguồn)",
        "stars": "Hạng sao",
        "score": "Điểm",
        "certified": "Được công nhận",
        "year": "Năm đánh giá",
        "kind": "Loại đánh giá",
        "decision_no": "Số quyết định",
        "decision_date": "Ngày quyết định",
        "valid_until": "Hiệu lực đến",
        "valid_until_estimated": "Hiệu lực ước tính",
        "five_star_candidate": "Tiềm năng 5 sao",
        "product_code": "Mã sản phẩm",
        "source_file": "Tệp nguồn",
        "source_sheet": "Trang tính nguồn",
        "source_row": "Dòng nguồn",
        # problems
        "file": "Tệp", "sheet": "Trang tính", "row": "Dòng", "column": "Cột", "value": "Giá trị",
        "problem": "Vấn đề", "severity": "Mức độ", "message": "Hướng dẫn sửa", "fixed": "Đã sửa (x)",
        # analysis tables
        "cohort": "Năm công nhận", "recognized": "Được công nhận", "due": "Đến hạn đánh giá lại",
        "reevaluated": "Đã đánh giá lại", "rate": "Tỷ lệ", "upgraded": "Nâng hạng", "same": "Giữ hạng",
        "downgraded": "Hạ hạng", "failed": "Không đạt", "lapsed": "Hết hạn", "revoked": "Bị thu hồi",
        "item": "Chỉ tiêu", "label": "Nội dung", "target": "Kế hoạch", "actual": "Thực hiện",
        "gap": "Chênh lệch", "met": "Đạt", "unit": "Đơn vị", "note": "Ghi chú",
        "count": "Số lượng", "share": "Tỷ trọng", "total": "Tổng",
        "scenario": "Kịch bản", "amount": "Kinh phí (đồng)", "envelope": "Tổng mức (đồng)",
        "headroom": "Còn lại (đồng)", "shortfall": "Thiếu (đồng)", "fits": "Trong tổng mức",
        "share_of_envelope": "So với tổng mức", "category": "Nhóm chi", "quantity": "Số lượng",
        "unit_cost": "Đơn giá (đồng)", "source": "Nguồn", "parameter": "Tham số",
        "short_name": "Tên ngắn", "order": "Thứ tự", "is_total": "Dòng tổng",
        "benchmark_as_of": "Số liệu toàn quốc đến", "metric": "Chỉ số", "compare": "So sánh",
        "recertified": "Được công nhận lại", "recertified_rate": "Tỷ lệ công nhận lại",
        "superseded": "Đã thay bằng kết quả mới", "pending": "Chưa đến hạn",
    },
    "en": {},
}

_PERCENT_HINTS = ("rate", "share", "pct", "percent")
_MONEY_HINTS = ("amount", "cost", "budget", "vnd", "envelope", "spend", "headroom", "shortfall", "total")


# Control characters a workbook cannot hold (openpyxl raises IllegalCharacterError on them): dropped.
_ILLEGAL = dict.fromkeys([*range(0x00, 0x09), 0x0b, 0x0c, *range(0x0e, 0x20)])


def neutralise(value: Any) -> Any:
    """A text value made safe for a spreadsheet (leading ``'`` if formula-like, control characters
    dropped); anything else unchanged."""
    if isinstance(value, str):
        value = value.translate(_ILLEGAL)
        if value.startswith(FORMULA_PREFIXES):
            return "'" + value
    return value


def neutralise_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells (and text headers) are neutralised; numbers, dates, booleans untouched."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s) \
                or pd.api.types.is_bool_dtype(s):
            continue
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)
        out[col] = s.map(neutralise, na_action="ignore")
    out.columns = [neutralise(c) for c in out.columns]
    return out


def label_columns(df: pd.DataFrame, labels: str | Mapping[str, str] | None = "vi") -> pd.DataFrame:
    """Rename columns to the headers people read: ``labels`` is "vi", "en" (names kept), a mapping, or None."""
    if labels is None:
        return df
    mapping = COLUMN_LABELS.get(labels, {}) if isinstance(labels, str) else dict(labels)
    return df.rename(columns={c: mapping[c] for c in df.columns if c in mapping})


def _cell_value(value: Any) -> Any:
    """A Python value openpyxl can write, neutralised; pandas missing values become empty cells."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
        return value.replace(tzinfo=None)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        value = value.item()
    if isinstance(value, (list, tuple, set, dict)):
        value = ", ".join(map(str, value)) if not isinstance(value, dict) else str(value)
    return neutralise(value)


def _number_format(name: str, series: pd.Series) -> str | None:
    lname = str(name).lower()
    if pd.api.types.is_bool_dtype(series):
        return None
    if pd.api.types.is_datetime64_any_dtype(series):
        return "dd/mm/yyyy"
    if pd.api.types.is_integer_dtype(series):
        if any(h in lname for h in ("year", "code", "row", "cohort", "group", "stars")):
            return "0"
        return "#,##0"
    if pd.api.types.is_float_dtype(series):
        if any(h in lname for h in _PERCENT_HINTS):
            return "0.0%"
        if any(h in lname for h in _MONEY_HINTS):
            return "#,##0"
        return "#,##0.0"
    if series.dtype == object and len(series.dropna()):
        first = series.dropna().iloc[0]
        if isinstance(first, (dt.date, dt.datetime)):
            return "dd/mm/yyyy"
    return None


def add_sheet(wb, df: pd.DataFrame, title: str, *, labels: str | Mapping[str, str] | None = "vi",
              number_formats: Mapping[str, str] | None = None, index: bool = False):
    """Append ``df`` as a formatted sheet of the openpyxl workbook ``wb``; returns the worksheet.

    Number formats are chosen from the dtype and the column name (rates as %,
    money with thousands, dates dd/mm/yyyy); ``number_formats`` overrides by
    original column name.
    """
    if index:
        df = df.reset_index()
    formats = {c: _number_format(c, df[c]) for c in df.columns}
    formats.update(number_formats or {})
    shown = label_columns(df, labels)
    ws = wb.create_sheet(title=_sheet_title(title, wb.sheetnames))
    ws.append([_cell_value(str(c)) for c in shown.columns])
    for row in shown.itertuples(index=False, name=None):
        ws.append([_cell_value(v) for v in row])
    format_sheet(ws, number_formats=[formats.get(c) for c in df.columns])
    return ws


def format_sheet(ws, *, number_formats: Iterable[str | None] | None = None, header_row: int = 1,
                 freeze: bool = True, autofilter: bool = True) -> None:
    """Header style, frozen header, autofilter, number formats and column widths for a filled sheet."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    fill = PatternFill("solid", fgColor=HEADER_FILL)
    font = Font(bold=True, color=HEADER_FONT)
    for cell in ws[header_row]:
        cell.fill, cell.font = fill, font
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    formats = list(number_formats or [])
    for idx, column in enumerate(ws.iter_cols(min_row=header_row), start=1):
        fmt = formats[idx - 1] if idx - 1 < len(formats) else None
        width = MIN_WIDTH
        for cell in column:
            if fmt and cell.row > header_row and cell.value is not None:
                cell.number_format = fmt
            text = _display_width(cell.value, fmt)
            width = max(width, text if cell.row > header_row else min(text, 30))
        ws.column_dimensions[get_column_letter(idx)].width = min(width + 2, MAX_WIDTH)
    if freeze:
        ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    if autofilter and ws.max_row > header_row and ws.max_column:
        ws.auto_filter.ref = f"A{header_row}:{get_column_letter(ws.max_column)}{ws.max_row}"


def _display_width(value: Any, fmt: str | None) -> int:
    if value is None:
        return 0
    if isinstance(value, (dt.date, dt.datetime)):
        return 10
    if isinstance(value, float):
        return len(f"{value:,.1f}")
    return max((len(line) for line in str(value).splitlines()), default=0)


def _sheet_title(title: str, existing: list[str]) -> str:
    # Excel: at most 31 characters, none of []:*?/\ , unique in the workbook.
    clean = "".join("_" if ch in '[]:*?/\\' else ch for ch in str(title)).strip("'")[:31] or "Sheet"
    name, n = clean, 2
    while name in existing:
        suffix = f" ({n})"
        name, n = clean[: 31 - len(suffix)] + suffix, n + 1
    return name


def write_excel(path: str | Path, sheets: Mapping[str, pd.DataFrame] | pd.DataFrame, *,
                labels: str | Mapping[str, str] | None = "vi", notes: Iterable[str] | None = None,
                notes_title: str | None = None, number_formats: Mapping[str, str] | None = None) -> Path:
    """Write one or several DataFrames to ``path`` (.xlsx), one formatted sheet each.

    ``sheets`` is a DataFrame (one sheet named "Dữ liệu") or {sheet title: frame}.
    ``notes`` (lines of text) go on a last sheet "Ghi chú" / "Notes" — say there
    what a sheet means, or why one is missing. Returns the path written.
    """
    from openpyxl import Workbook

    if isinstance(sheets, pd.DataFrame):
        sheets = {"Dữ liệu" if labels == "vi" else "Data": sheets}
    path = Path(path)
    safety.refuse_overwrite(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    wb.remove(wb.active)
    for title, df in sheets.items():
        add_sheet(wb, df, title, labels=labels, number_formats=number_formats)
    notes = [n for n in (notes or []) if n]
    if notes or not wb.sheetnames:
        lang = labels if labels in NOTE_SHEET else "vi"
        ws = wb.create_sheet(_sheet_title(notes_title or NOTE_SHEET[lang], wb.sheetnames))
        for line in notes or ["(trống)" if lang == "vi" else "(empty)"]:
            ws.append([_cell_value(line)])
        ws.column_dimensions["A"].width = 100
    wb.save(path)
    return path


def write_csv(df: pd.DataFrame, path: str | Path, *, labels: str | Mapping[str, str] | None = None,
              **to_csv_kwargs) -> Path:
    """Write ``df`` as UTF-8 CSV with a BOM (so Excel shows Vietnamese correctly), text cells neutralised."""
    path = Path(path)
    safety.refuse_overwrite(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = neutralise_frame(label_columns(df, labels))
    to_csv_kwargs.setdefault("index", False)
    to_csv_kwargs.setdefault("encoding", "utf-8-sig")
    # CRLF, so a CR inside a text cell is quoted too: unquoted it would start a new row in Excel, and a
    # new row starting "=..." is a formula again (issue 8)
    to_csv_kwargs.setdefault("lineterminator", "\r\n")
    out.to_csv(path, **to_csv_kwargs)
    return path


def to_html(df: pd.DataFrame, *, labels: str | Mapping[str, str] | None = None, **to_html_kwargs) -> str:
    """An HTML table of ``df``: text escaped and neutralised (it is often copied into Excel)."""
    to_html_kwargs.setdefault("index", False)
    to_html_kwargs.setdefault("escape", True)
    to_html_kwargs.setdefault("na_rep", "")
    return neutralise_frame(label_columns(df, labels)).to_html(**to_html_kwargs)
