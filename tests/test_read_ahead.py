"""workbook.stream_workbook (issue 9): calamine opens an .xlsx in a thread while the safety checks of the
worksheet parts go on, and reads its sheets there (while the main thread lays out the ones read) only
once every check has passed.

The guarantee that matters is the process surviving a far cell in a later sheet, however the workbook
maps sheets to parts: calamine would abort the whole process (an uncatchable Rust allocation failure) if
the thread read that sheet before the checks. Those files are loaded in a child process
(test_hostile.measured), so a broken guard fails the test instead of killing pytest. The rest pins that
streaming reads the same sheets as reading one after the other and that the thread stops when iteration
stops or fails.
"""
from __future__ import annotations

import gc
import re
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


RT = 'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"'
C_FIRST = '<sheets><sheet name="C" sheetId="3" r:id="rId3"/><sheet name="A" sheetId="1" r:id="rId1"/>' \
          '<sheet name="B" sheetId="2" r:id="rId2"/></sheets>'


def _sheets(xml: str) -> callable:
    return lambda data: re.sub(r"<sheets>.*</sheets>", xml, data)


def _rels(old: str, new: str) -> callable:
    return lambda data: data.replace(old, new)


# Workbooks where another reading of workbook.xml and its relationships than calamine's own would map the
# sheet holding the far cell ('C', xl/worksheets/sheet3.xml) to a checked part (found by review; each
# aborted the process when a sheet was read as soon as "its" part had passed).
MISREAD = {
    "a second sheet with the same name": (_sheets(C_FIRST[:-9] + '<sheet name="C" sheetId="4" r:id="rId1"/></sheets>'),
                                          None),
    "names that differ only by a tab": (_sheets(C_FIRST.replace('name="C"', 'name="X Y"')[:-9]
                                                + '<sheet name="X\tY" sheetId="4" r:id="rId1"/></sheets>'), None),
    "a relationship under another element name": (
        _sheets(C_FIRST), _rels("</Relationships>", '<Other Id="rId3" Target="/xl/worksheets/sheet1.xml"/></Relationships>')),
    "a nested relationship": (
        _sheets(C_FIRST),
        lambda data: data.replace('Target="/xl/worksheets/sheet3.xml"', 'Target="/xl/worksheets/sheet1.xml"').replace(
            "</Relationships>", f'<W><Relationship {RT} Id="rId3" Target="/xl/worksheets/sheet3.xml"/></W></Relationships>')),
}


def misread_book(tmp_path: Path, case: str) -> Path:
    book_edit, rels_edit = MISREAD[case]

    def edit(name, data):
        if name == "xl/worksheets/sheet3.xml":
            return data.replace(b"</sheetData>", FAR + b"</sheetData>", 1)
        if name == "xl/workbook.xml":
            return book_edit(data.decode()).encode()
        if name == "xl/_rels/workbook.xml.rels" and rels_edit:
            return rels_edit(data.decode()).encode()
        return data
    return edited_copy(three_sheets(tmp_path / "base.xlsx"), tmp_path / "misread.xlsx", edit)


@pytest.mark.parametrize("case", sorted(MISREAD))
def test_a_far_cell_is_refused_however_the_workbook_maps_its_sheets(tmp_path, case):
    assert_refused_fast(measured(misread_book(tmp_path, case)), "misread.xlsx", "row 1,048,576 and column 16,384")


def test_a_far_cell_behind_a_second_relationships_part_in_other_case_is_refused(tmp_path):
    """Two zip entries for the workbook's relationships, 'xl/…' and 'XL/…': calamine may read either."""
    base = three_sheets(tmp_path / "base.xlsx")
    path = tmp_path / "two_rels.xlsx"
    with zipfile.ZipFile(base) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        rels = zin.read("xl/_rels/workbook.xml.rels")
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet3.xml":
                data = data.replace(b"</sheetData>", FAR + b"</sheetData>", 1)
            if info.filename == "xl/workbook.xml":
                data = _sheets(C_FIRST)(data.decode()).encode()
            if info.filename == "xl/_rels/workbook.xml.rels":
                zout.writestr(info.filename, rels.replace(b"/xl/worksheets/sheet3.xml", b"/xl/worksheets/sheet1.xml"))
                zout.writestr("XL/_rels/workbook.xml.rels", rels)
                continue
            zout.writestr(info.filename, data)
    assert_refused_fast(measured(path), "two_rels.xlsx", "row 1,048,576 and column 16,384")


def test_no_sheet_is_read_before_every_check_passed(tmp_path, monkeypatch):
    path = three_sheets(tmp_path / "three.xlsx", rows_last=2_000)
    seen = []
    real = workbook._ReadAhead._may_read

    def spy(self, name):
        allowed = real(self, name)
        seen.append((name, allowed, self.everything))
        return allowed
    monkeypatch.setattr(workbook._ReadAhead, "_may_read", spy)
    assert [s.name for s in workbook.read_workbook(path).sheets] == ["A", "B", "C"]
    assert seen == [("A", True, True), ("B", True, True), ("C", True, True)]


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


def test_sheets_dropped_unread_stop_the_thread(tmp_path, monkeypatch):
    """Sheets never iterated (the generator never started, so no cleanup of its own runs) still stop the
    thread once dropped: it reads at most the sheet it is on, not the rest of the workbook."""
    path = three_sheets(tmp_path / "three.xlsx", rows_last=3)
    release, read = threading.Event(), []
    real = workbook._calamine_sheets

    def held(p, wait=None):  # calamine's sheets, the thread held after each until the test lets it go
        for sheet in real(p, wait):
            read.append(sheet.name)
            yield sheet
            release.wait(30)
    monkeypatch.setattr(workbook, "_calamine_sheets", held)
    sheets = workbook.stream_workbook(path).sheets
    threads = reading_threads()
    del sheets
    gc.collect()
    release.set()
    for thread in threads:
        thread.join(timeout=30)
    assert "C" not in read and not reading_threads()


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
