"""A blank registry workbook for clerks: ``ocop-analysis template registry.xlsx``.

One flat table with the Vietnamese headers the loader recognises (the sample
workbooks' headers), dropdowns for the district (official names), the product
group (Decision 148/2023), the star rating and the kind of evaluation, an input
message on every column, a frozen header, and a second sheet "Hướng dẫn" that
explains each column. A template filled in this way loads with zero problems.

The dropdown lists live on a hidden sheet "Danh mục" (the loader skips hidden
sheets), taken from ``ocop_analysis/reference/`` — never typed here.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from . import excel_out, reference, safety

__all__ = ["TEMPLATE_COLUMNS", "STAR_CHOICES", "KIND_CHOICES", "write_template", "add_arguments", "run_cli"]

DATA_SHEET = "Sổ đăng ký"
HELP_SHEET = "Hướng dẫn"
LISTS_SHEET = "Danh mục"
STAR_CHOICES = ["3 sao", "4 sao", "5 sao", "Không đạt"]
KIND_CHOICES = ["Mới", "Đánh giá lại", "Nâng hạng"]
REQUIRED_FILL = "8B2E16"   # required columns: a darker, warmer header band


@dataclass(frozen=True)
class Column:
    header: str          # as the loader's header aliases know it
    canonical: str       # the canonical column it becomes
    required: bool
    meaning: str
    how: str             # how to fill it in / valid values
    example: str
    width: int = 18


TEMPLATE_COLUMNS: list[Column] = [
    Column("STT", "—", False, "Số thứ tự (không dùng để phân tích).", "Số nguyên; có thể để trống.", "1", 6),
    Column("Tên sản phẩm", "product_name", True, "Tên sản phẩm OCOP như trên quyết định công nhận.",
           "Gõ tự do. Không bắt đầu bằng dấu =, +, -, @.", "Hạt sen sấy", 30),
    Column("Tên chủ thể", "entity_name", True, "Tên chủ thể sản xuất (HTX, công ty, hộ kinh doanh, cơ sở...).",
           "Ghi đủ loại hình ở đầu tên: HTX, Công ty TNHH, Hộ kinh doanh, Cơ sở...",
           "HTX Nông nghiệp Sen Tháp Mười", 32),
    Column("Địa chỉ", "address", False, "Địa chỉ của chủ thể.", "Gõ tự do.", "Ấp 3, xã Mỹ Hòa", 26),
    Column("Xã/Phường", "commune", False, "Xã, phường, thị trấn nơi sản xuất.", "Gõ tự do.", "Xã Mỹ Hòa", 18),
    Column("Huyện/Thành phố", "district", True, "Đơn vị cấp huyện (tên chính thức trước 01/7/2025).",
           "Chọn trong danh sách thả xuống.", "Huyện Tháp Mười", 24),
    Column("Nhóm sản phẩm", "group", False, "Ngành/nhóm sản phẩm theo Quyết định 148/QĐ-TTg (2023).",
           "Chọn trong danh sách thả xuống.", "Thực phẩm", 28),
    Column("Điểm", "score", False, "Tổng điểm đánh giá (0–100).", "Số từ 0 đến 100, có thể có phần thập phân.",
           "72,5", 8),
    Column("Hạng sao", "stars", True, "Kết quả đánh giá: hạng sao được công nhận, hoặc Không đạt.",
           "Chọn: 3 sao, 4 sao, 5 sao hoặc Không đạt.", "4 sao", 11),
    Column("Loại đánh giá", "kind", False, "Lần đánh giá: mới, đánh giá lại khi hết hạn, hay nâng hạng.",
           "Chọn: Mới, Đánh giá lại hoặc Nâng hạng.", "Mới", 14),
    Column("Số quyết định", "decision_no", False, "Số quyết định công nhận.", "Ghi như trên quyết định.",
           "1234/QĐ-UBND", 16),
    Column("Ngày quyết định", "decision_date", False, "Ngày ký quyết định công nhận; hiệu lực 36 tháng từ ngày này.",
           "Ngày, dạng dd/mm/yyyy.", "15/08/2023", 14),
    Column("Năm đánh giá", "year", True, "Năm của đợt đánh giá.", "Số năm, ví dụ 2024.", "2023", 12),
    Column("Tiềm năng 5 sao", "five_star_candidate", False, "Sản phẩm 4 sao được đề xuất đánh giá 5 sao.",
           "Ghi x nếu có; để trống nếu không.", "x", 12),
    Column("Mã sản phẩm", "product_code", False, "Mã OCOP của sản phẩm nếu tỉnh có cấp mã (để nối các năm).",
           "Gõ tự do; giữ nguyên mã qua các năm.", "DT-2019-001", 14),
    Column("Ghi chú", "—", False, "Ghi chú của người nhập (không dùng để phân tích).", "Gõ tự do.", "", 24),
]


def _letter(name: str) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter([c.header for c in TEMPLATE_COLUMNS].index(name) + 1)


def _lists_sheet(wb, province: str) -> dict[str, str]:
    """Write the dropdown lists on a hidden sheet; return {header: range formula}."""
    ws = wb.create_sheet(LISTS_SHEET)
    lists = {
        "Huyện/Thành phố": list(reference.district_names(province).values()),
        "Nhóm sản phẩm": reference.groups()["name"].tolist(),
        "Hạng sao": STAR_CHOICES,
        "Loại đánh giá": KIND_CHOICES,
    }
    ranges = {}
    for col, (header, values) in enumerate(lists.items(), start=1):
        from openpyxl.utils import get_column_letter

        letter = get_column_letter(col)
        ws.cell(1, col, excel_out.neutralise(header))
        for row, value in enumerate(values, start=2):
            ws.cell(row, col, excel_out.neutralise(value))
        ranges[header] = f"'{LISTS_SHEET}'!${letter}$2:${letter}${len(values) + 1}"
    ws.sheet_state = "hidden"
    return ranges


def _validations(ws, ranges: dict[str, str], rows: int) -> None:
    from openpyxl.worksheet.datavalidation import DataValidation

    last = rows + 1
    for col in TEMPLATE_COLUMNS:
        letter = _letter(col.header)
        kwargs: dict = {}
        if col.header in ranges:
            kwargs = {"type": "list", "formula1": ranges[col.header]}
        elif col.header == "Điểm":
            kwargs = {"type": "decimal", "operator": "between", "formula1": "0", "formula2": "100"}
        elif col.header == "Năm đánh giá":
            kwargs = {"type": "whole", "operator": "between", "formula1": "2018", "formula2": "2040"}
        elif col.header == "Ngày quyết định":
            kwargs = {"type": "date", "operator": "greaterThan", "formula1": "43101"}  # after 01/01/2018
        elif col.header == "Tiềm năng 5 sao":
            kwargs = {"type": "list", "formula1": '"x"'}
        dv = DataValidation(allow_blank=True, showInputMessage=True, showErrorMessage=bool(kwargs), **kwargs)
        dv.promptTitle = col.header[:32]
        dv.prompt = f"{col.meaning} {col.how}"[:255]
        if kwargs:
            dv.errorTitle = "Giá trị không hợp lệ"
            dv.error = col.how[:255]
            dv.errorStyle = "stop" if col.header in ranges or col.header == "Tiềm năng 5 sao" else "warning"
        dv.add(f"{letter}2:{letter}{last}")
        ws.add_data_validation(dv)


def _help_frame() -> pd.DataFrame:
    # One explanation cell per column, each starting "Cột …" / "Ý nghĩa: …": a loader looking for a
    # product table must not mistake this sheet for one (headers written here verbatim would match).
    return pd.DataFrame({
        "Cột": [f"Cột {c.header}" for c in TEMPLATE_COLUMNS],
        "Bắt buộc": ["Có" if c.required else "Không" for c in TEMPLATE_COLUMNS],
        "Hướng dẫn": [f"Ý nghĩa: {c.meaning}\nCách điền: {c.how}" + (f"\nVí dụ: {c.example}" if c.example else "")
                      + (f"\n(cột chuẩn: {c.canonical})" if c.canonical != "—" else "")
                      for c in TEMPLATE_COLUMNS],
    })


HELP_NOTES = [
    "Mỗi dòng là MỘT lần đánh giá của MỘT sản phẩm. Sản phẩm đánh giá lại hoặc nâng hạng: thêm một dòng mới, "
    "không sửa dòng cũ.",
    "Kết quả Không đạt vẫn ghi một dòng, cột Hạng sao = Không đạt.",
    "Không thêm dòng tiêu đề, dòng tổng cộng hay dòng trống giữa bảng; không gộp ô.",
    "Cột có tiêu đề nền đỏ sậm là bắt buộc.",
    "Danh sách thả xuống lấy từ dữ liệu tham chiếu của ocop-analysis (tên huyện chính thức, 6 nhóm sản phẩm "
    "theo Quyết định 148/QĐ-TTg).",
    "Kiểm tra tệp: ocop-analysis validate <tệp.xlsx>. Lập báo cáo: ocop-analysis report <tệp.xlsx>.",
]


def write_template(path: str | Path, province: str = reference.DEFAULT_PROVINCE, *, rows: int = 2000,
                   overwrite: bool = False) -> Path:
    """Write the blank registry workbook to ``path`` (.xlsx); returns the path.

    ``rows`` is how many rows carry the dropdowns and input help.
    """
    from openpyxl import Workbook
    from openpyxl.styles import PatternFill

    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise ValueError(f"the template is an .xlsx workbook; got {path.name}")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; choose another name or pass --force")
    safety.refuse_overwrite(path)
    wb = Workbook()
    ws = wb.active
    ws.title = DATA_SHEET
    ws.append([c.header for c in TEMPLATE_COLUMNS])
    excel_out.format_sheet(ws, autofilter=False)
    ws.auto_filter.ref = f"A1:{_letter(TEMPLATE_COLUMNS[-1].header)}1"
    required = PatternFill("solid", fgColor=REQUIRED_FILL)
    for col in TEMPLATE_COLUMNS:
        letter = _letter(col.header)
        ws.column_dimensions[letter].width = col.width
        if col.required:
            ws[f"{letter}1"].fill = required
    ws.row_dimensions[1].height = 32
    _validations(ws, _lists_sheet(wb, province), rows)
    excel_out.add_sheet(wb, _help_frame(), HELP_SHEET, labels=None)
    help_ws = wb[HELP_SHEET]
    start = help_ws.max_row + 2
    for i, note in enumerate(HELP_NOTES):
        help_ws.cell(start + i, 1, excel_out.neutralise(note))
    from openpyxl.styles import Alignment

    for letter, width in zip("ABC", (24, 10, 90)):
        help_ws.column_dimensions[letter].width = width
    for row in help_ws.iter_rows(min_row=2, max_row=len(TEMPLATE_COLUMNS) + 1, max_col=3):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    # the lists sheet last, the help sheet right after the data
    wb.move_sheet(HELP_SHEET, offset=-(len(wb.sheetnames) - 2))
    wb.active = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="FILE", help="the workbook to write, e.g. so_dang_ky_2025.xlsx")
    parser.add_argument("--province", default=reference.DEFAULT_PROVINCE,
                        help="province for the district list (default: dong-thap)")
    parser.add_argument("--rows", type=int, default=2000, help="rows with dropdowns and input help (default: 2000)")
    parser.add_argument("--force", action="store_true", help="overwrite the file if it exists")


def run_cli(args: argparse.Namespace) -> int:
    try:
        path = write_template(args.path, args.province, rows=args.rows, overwrite=args.force)
    except (FileExistsError, ValueError, KeyError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) else exc
        print(f"ocop-analysis template: {message}", file=sys.stderr)
        return 2
    print(f"template written to {path}: fill the sheet '{DATA_SHEET}'; column help in '{HELP_SHEET}'")
    return 0
