"""workbook.stream_workbook (issue 9): calamine reads an .xlsx's sheets in a thread while the safety checks of
the later sheets go on, and never reads a sheet before its part has passed them.

The guarantee that matters is the process surviving a far cell in a *later* sheet: calamine would abort
the whole process (an uncatchable Rust allocation failure) if the thread read that sheet early. Those
files are loaded in a child process (test_hostile.measured), so a broken guard fails the test instead of
killing pytest. The rest pins that streaming reads the same sheets as reading one after the other, that
the thread stops when iteration stops or fails, and how sheets are mapped to their parts.
"""
from __future__ import annotations

import threading
import zipfile
from pathlib import Path

import openpyxl
import pytest

from ocop_analysis import workbook
from ocop_analysis.errors import RegistryError
from test_hostile import assert_refused_fast, edited_copy, measured

FIXTURES = Path(__file__).parent / "fixtures"
HEADER = ["STT", "Tên sản phẩm", "Tên chủ thể", "Huyện/Thành phố", "Điểm", "Hạng sao", "Năm đánh giá"]
FAR = b'<row r="1048576"><c r="XFD1048576" t="n"><v>1</v></c></row>'


def three_sheets(path: Path, rows_last: int = 20_000) -> Path:
    """Sheets 'A' and 'B' with 3 products each, then 'C' with ``rows_last`` products (several MB of XML, so
    its check is still running when the thread is ready to read it)."""
    wb = openpyxl.Workbook()
    for k, (title, n) in enumerate((("A", 3), ("B", 3), ("C", rows_last))):
        ws = wb.active if k == 0 else wb.create_sheet()
        ws.title = title
        ws.append(HEADER)
        for i in range(1, n + 1):
            ws.append([i, f"Sản phẩm {title}{i}", f"HTX {title}{i % 50}", "Lai Vung", 60 + i % 40, 3 + i % 3, 2022])
    wb.save(path)
    return path


def reading_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "ocop-calamine"]


def test_far_cell_in_a_later_sheet_is_refused_and_the_process_survives(tmp_path):
    base = three_sheets(tmp_path / "base.xlsx")
    path = edited_copy(base, tmp_path / "far_in_c.xlsx",
                       lambda name, data: data.replace(b"</sheetData>", FAR + b"</sheetData>", 1)
                       if name == "xl/worksheets/sheet3.xml" else data)
    assert_refused_fast(measured(path), "far_in_c.xlsx", "row 1,048,576 and column 16,384")


def test_a_sheet_whose_part_is_not_plain_waits_for_every_check(tmp_path):
    """Two worksheet parts named sheet3.xml: which one calamine reads is not sure from the names alone, so
    'C' is read only after every part has passed; the far cell in the one calamine reads is refused first,
    and the process survives."""
    base = three_sheets(tmp_path / "base.xlsx")
    decoy = tmp_path / "decoy.xlsx"
    with zipfile.ZipFile(base) as zin, zipfile.ZipFile(decoy, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet3.xml":
                zout.writestr("xl/extra/worksheets/sheet3.xml", data)
                data = data.replace(b"</sheetData>", FAR + b"</sheetData>", 1)
            zout.writestr(info.filename, data)
    assert workbook._sheet_parts(decoy, plain_only=True) == {"A": "xl/worksheets/sheet1.xml",
                                                             "B": "xl/worksheets/sheet2.xml"}
    assert workbook._sheet_parts(decoy)["C"] == "xl/worksheets/sheet3.xml"
    assert_refused_fast(measured(decoy), "decoy.xlsx", "row 1,048,576 and column 16,384")


def test_streamed_sheets_equal_sheets_read_one_after_the_other(tmp_path):
    path = three_sheets(tmp_path / "three.xlsx", rows_last=500)
    for source in (path, *(FIXTURES / f for f in ("flat_clean.xlsx", "sheet_per_district.xlsx", "sheet_per_district_lo.xlsx",
                                                  "title_two_row_header.xlsx", "macro_enabled.xlsm",
                                                  "formula_no_cache.xlsx", "revocations.xlsx"))):
        streamed = list(workbook.stream_workbook(source).sheets)
        plain = list(workbook._calamine_sheets(Path(source)))
        assert [(s.name, s.rows, s.visible, s.merged) for s in streamed] == \
               [(s.name, s.rows, s.visible, s.merged) for s in plain], source
    formulas = list(workbook.stream_workbook(FIXTURES / "formula_no_cache.xlsx").sheets)
    assert any(s.formula_cells for s in formulas)  # still found, before the sheets are handed out
    three = workbook.read_workbook(path)
    assert [s.name for s in three.sheets] == ["A", "B", "C"]
    assert [len(s.rows) for s in three.sheets] == [4, 4, 501]   # header + products
    assert three.sheets[2].rows[500][1] == "Sản phẩm C500"
    assert not reading_threads()


def test_stopping_early_stops_the_thread(tmp_path):
    path = three_sheets(tmp_path / "three.xlsx", rows_last=5_000)
    sheets = workbook.stream_workbook(path).sheets
    first = next(sheets)
    assert first.name == "A" and first.rows[1][1] == "Sản phẩm A1"
    sheets.close()
    assert not reading_threads()


def test_a_damaged_later_sheet_is_a_plain_error_and_the_thread_stops(tmp_path):
    base = three_sheets(tmp_path / "base.xlsx", rows_last=3)
    path = edited_copy(base, tmp_path / "cut.xlsx",
                       lambda name, data: data[: len(data) // 2] if name == "xl/worksheets/sheet2.xml" else data)
    with pytest.raises(RegistryError) as info:
        workbook.read_workbook(path)
    assert str(info.value).startswith("cut.xlsx: the Excel (.xlsx) file is damaged or truncated")
    assert not reading_threads()


def test_sheet_parts_of_an_ordinary_workbook(tmp_path):
    path = three_sheets(tmp_path / "three.xlsx", rows_last=3)
    expected = {"A": "xl/worksheets/sheet1.xml", "B": "xl/worksheets/sheet2.xml", "C": "xl/worksheets/sheet3.xml"}
    assert workbook._sheet_parts(path) == expected
    assert workbook._sheet_parts(path, plain_only=True) == expected
