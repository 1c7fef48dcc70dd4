"""The fast sheet-grid check (issue 9): same verdict as reading every reference, at C speed.

``safety._XlsxGrid`` checks each 1 MiB window against the extent seen so far with one regex search
(``safety._beyond``) and reads references one by one only where that search finds one outside. These
tests pin the two halves: the pattern, against a plain integer comparison over many references; and
the windowed scan, against the exact maximum on multi-window sheets with far cells hidden where a
window check could miss them (out of order mid-sheet, single quotes, tab before the attribute, cut
by a window boundary, the very last bytes).
"""
from __future__ import annotations

import random
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, strategies as st
from openpyxl.utils import get_column_letter

from ocop_analysis import safety
from ocop_analysis.errors import RegistryError

FLAT = Path(__file__).parent / "fixtures" / "flat_clean.xlsx"   # 12 products, 14 columns A–N


def letters(col: int) -> str:
    """Column letters by openpyxl (an oracle independent of the kit); 0 -> "" (a <row r="…"> reference)."""
    return get_column_letter(col) if col else ""


def tag(col: int, row: int | str) -> bytes:
    """A cell start tag, or a row start tag when col is 0."""
    return f'<c r="{letters(col)}{row}"'.encode() if col else f'<row r="{row}"'.encode()


def outside(pattern_pair, text: bytes) -> bool:
    cell, row = pattern_pair
    return cell.search(text) is not None or row.search(text) is not None


@given(rows=st.integers(1, 2_000_000), cols=st.integers(1, 16_384),
       ref_row=st.integers(1, 2_000_000), ref_col=st.integers(0, 16_384))
def test_beyond_pattern_agrees_with_integer_comparison(rows, cols, ref_row, ref_col):
    expected = ref_row > rows or ref_col > cols
    assert outside(safety._beyond(rows, cols), tag(ref_col, ref_row)) == expected


@pytest.mark.parametrize("rows, cols", [(1, 1), (9, 26), (10, 27), (60_002, 14), (99_999, 702), (100_000, 703),
                                        (1_048_576, 16_384)])
def test_beyond_pattern_at_the_edges(rows, cols):
    pattern = safety._beyond(rows, cols)
    for r, c in [(rows, cols), (rows, 0), (1, 1), (1, cols)]:
        assert not outside(pattern, tag(c, r)), (r, c)
    for r, c in [(rows + 1, cols), (rows, cols + 1), (rows + 1, 0), (rows * 10, 1)]:
        assert outside(pattern, tag(c, r)), (r, c)
    # what the exact path must look at: lower case, a leading zero, row 0, no r=, other attributes or
    # spacing before r=, single quotes, a cell reference without letters
    for odd in (b'<c r="a1"', b'<c r="A01"', b'<c r="A0"', b'<c t="n"', b'<c>', b'<c/>', b'<c s="1" r="A1"',
                b'<c  r="A1"', b'<c\tr="A1"', b'<c r = "A1"', b"<c r='A1'", b'<c r="1"', b'<row>', b'<row spans="1:3"',
                b"<row r='1'", b'<row r="01"'):
        assert outside(pattern, odd), odd


def sheet_xml(n_rows: int, far: tuple[int, bytes] | None = None, end: bytes = b"") -> bytes:
    """A worksheet part of ``n_rows`` rows × 14 columns (~3.3 MB for 12,000 rows: several windows).

    ``far``: (after which row, raw XML) to slip in out of order; ``end``: XML just before </sheetData>.
    """
    parts = [b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>']
    for r in range(1, n_rows + 1):
        cells = b"".join(b'<c r="%s%d" t="n"><v>%d</v></c>' % (bytes([65 + j]), r, r) for j in range(14))
        parts.append(b'<row r="%d">%s</row>' % (r, cells))
        if far and far[0] == r:
            parts.append(far[1])
    parts.append(end + b"</sheetData></worksheet>")
    return b"".join(parts)


def exact(data: bytes) -> tuple[int, int]:
    grid = safety._XlsxGrid()
    grid._exact(data)
    return grid.height, grid.width


def windowed(data: bytes, size: int = 1 << 20) -> tuple[int, int]:
    """The scan as _check_xml_member drives it: windows of ``size`` bytes plus a 256-byte carried tail."""
    grid, tail = safety._XlsxGrid(), b""
    for i in range(0, len(data), size):
        window = tail + data[i:i + size]
        grid.feed(window, len(tail))
        tail = window[-256:]
    grid.finish(tail)
    return grid.height, grid.width


FAR = b'<row r="2"><c r="XFD1048576" t="n"><v>1</v></c></row>'
CASES = {
    "plain": dict(),
    "far cell out of order mid-sheet": dict(far=(6_000, FAR)),
    "far cell in single quotes": dict(far=(6_000, b"<row r='3'><c r='XFD1048576' t='n'><v>1</v></c></row>")),
    "tab before the attribute": dict(far=(6_000, b'<row r="4"><c\tr="XFD1048576" t="n"><v>1</v></c></row>')),
    "line break before the attribute": dict(far=(6_000, b'<row r="4"><c\nr="ZZ9" t="n"><v>1</v></c></row>')),
    "wider column in a later window": dict(far=(9_000, b'<row r="9000"><c r="AB9000"><v>1</v></c></row>')),
    "far cell in the last bytes": dict(end=b'<row r="12000"><c r="XFD1048576"><v>1</v></c></row>'),
    "lower-case reference": dict(far=(6_000, b'<row r="5"><c r="xfd5"><v>1</v></c></row>')),
    # found in review: forms calamine reads that a scan of ' r="…"' alone would miss
    "leading zeros": dict(far=(6_000, b'<row r="6"><c r="XFD0001048576"><v>1</v></c></row>')),
    "spaces around =": dict(far=(6_000, b'<row r="6"><c r = "XFD1048576"><v>1</v></c></row>')),
    "another attribute first": dict(far=(6_000, b'<row r="6"><c s="1" r="XFD1048576"><v>1</v></c></row>')),
    "namespace prefix": dict(far=(6_000, b'<x:row r="6"><x:c r="XFD1048576"><x:v>1</x:v></x:c></x:row>')),
}


@pytest.mark.parametrize("case", CASES)
def test_windowed_scan_equals_the_exact_one(case):
    data = sheet_xml(12_000, **CASES[case])
    assert len(data) > 3 * (1 << 20)
    assert windowed(data) == exact(data)


@pytest.mark.parametrize("size", [4_096, 65_536, 1_000_003])
def test_every_window_boundary(size):
    # small and odd window sizes cut references at every possible place
    data = sheet_xml(3_000, far=(1_500, FAR))
    assert windowed(data, size) == exact(data) == (1_048_576, 16_384)


def test_expected_extent_worked_out_by_hand_for_the_review_cases():
    for case in ("leading zeros", "spaces around =", "another attribute first", "namespace prefix"):
        assert exact(sheet_xml(12_000, **CASES[case])) == (1_048_576, 16_384), case


NO_R_CELLS = b'<row r="6">' + b"<c><v>1</v></c>" * 16_384 + b"</row>"   # calamine: columns A..XFD of row 6
NO_R_ROWS = b"<row><c><v>1</v></c></row>" * 3_000                       # calamine: 3,000 more rows


def test_cells_and_rows_without_references_count_by_position():
    # 12,000 rows × 14 referenced columns; then one row of 16,384 cells without r= (a width of at least
    # 16,384) and 3,000 rows without r= (each may come after row 12,000)
    data = sheet_xml(12_000, far=(6_000, NO_R_CELLS), end=NO_R_ROWS)
    height, width = windowed(data)
    # calamine: 15,000 rows × 16,384 columns; a tag in a window's carried-over tail may count once more
    assert 15_000 <= height <= 15_000 + 20 and 16_384 <= width <= 16_384 + 20
    assert exact(data) == (15_000, 16_384)


def test_expected_extent_worked_out_by_hand():
    assert exact(sheet_xml(12_000)) == (12_000, 14)
    assert exact(sheet_xml(12_000, **CASES["far cell out of order mid-sheet"])) == (1_048_576, 16_384)
    assert exact(sheet_xml(12_000, **CASES["tab before the attribute"])) == (1_048_576, 16_384)
    assert exact(sheet_xml(12_000, **CASES["line break before the attribute"])) == (12_000, 702)   # ZZ
    assert exact(sheet_xml(12_000, **CASES["wider column in a later window"])) == (12_000, 28)     # AB


def with_sheet(tmp_path: Path, data: bytes) -> Path:
    dst = tmp_path / "big.xlsx"
    with zipfile.ZipFile(FLAT) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            body = data if info.filename == "xl/worksheets/sheet1.xml" else zin.read(info.filename)
            zout.writestr(info.filename, body)
    return dst


@pytest.mark.parametrize("case", ["far cell out of order mid-sheet", "far cell in single quotes",
                                  "far cell in the last bytes", "leading zeros", "spaces around =",
                                  "another attribute first", "namespace prefix"])
def test_check_file_refuses_a_far_cell_hidden_in_a_big_sheet(tmp_path, case):
    path = with_sheet(tmp_path, sheet_xml(12_000, **CASES[case]))
    with pytest.raises(RegistryError, match="column 16,384"):
        safety.check_file(path)


def test_check_file_passes_a_big_plain_sheet_and_sees_no_formulas(tmp_path):
    scan = safety.scan_file(with_sheet(tmp_path, sheet_xml(12_000)))
    assert scan.kind == "zip" and scan.formula_parts == frozenset()


def test_scan_names_the_sheet_parts_with_formulas(tmp_path):
    data = sheet_xml(12_000, far=(11_000, b'<row r="11001"><c r="A11001"><f>SUM(A1:A2)</f></c></row>'))
    assert safety.scan_file(with_sheet(tmp_path, data)).formula_parts == {"xl/worksheets/sheet1.xml"}


def test_declaration_after_a_long_prolog_is_still_refused(tmp_path):
    # 2 MB of comment (random, so it does not compress like a bomb) before the DOCTYPE: the declaration is
    # searched until the root element starts
    comment = random.Random(9).randbytes(1 << 20).hex().encode()
    prolog = b"<?xml version='1.0'?><!--" + comment + b'--><!DOCTYPE worksheet [<!ENTITY a "b">]>'
    with pytest.raises(RegistryError, match="declares XML entities"):
        safety.check_file(with_sheet(tmp_path, prolog + sheet_xml(10)))


def test_scan_sees_a_prefixed_formula_element(tmp_path):
    # some writers prefix the spreadsheetml namespace: <x:f>…</x:f>
    data = sheet_xml(20, far=(10, b'<row r="11"><c r="A11"><x:f>A1*2</x:f></c></row>'))
    assert safety.scan_file(with_sheet(tmp_path, data)).formula_parts == {"xl/worksheets/sheet1.xml"}


def test_cells_without_references_reaching_far_are_refused(tmp_path):
    data = sheet_xml(10, far=(5, NO_R_CELLS), end=b'<row r="1048576"><c><v>1</v></c></row>')
    with pytest.raises(RegistryError, match="above the limit"):
        safety.check_file(with_sheet(tmp_path, data))


def test_a_worksheet_at_an_unusual_path_is_checked_too(tmp_path):
    # calamine follows the workbook's relationships wherever they point; the check goes by content
    data = sheet_xml(10, far=(5, FAR))
    dst = tmp_path / "elsewhere.xlsx"
    with zipfile.ZipFile(FLAT) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            body = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                continue
            if info.filename == "xl/_rels/workbook.xml.rels":
                body = body.replace(b"worksheets/sheet1.xml", b"data/foo.xml")
            if info.filename == "[Content_Types].xml":
                body = body.replace(b"/xl/worksheets/sheet1.xml", b"/xl/data/foo.xml")
            zout.writestr(info.filename, body)
        zout.writestr("xl/data/foo.xml", data)
    with pytest.raises(RegistryError, match="column 16,384"):
        safety.check_file(dst)


def test_declaration_after_a_comment_that_holds_a_tag_is_refused(tmp_path):
    comment = random.Random(3).randbytes(600_000).hex().encode()
    prolog = b"<?xml version='1.0'?><!-- <a --><!--" + comment + b'--><!DOCTYPE worksheet [<!ENTITY e "x">]>'
    with pytest.raises(RegistryError, match="declares XML entities"):
        safety.check_file(with_sheet(tmp_path, prolog + sheet_xml(10)))


def test_cell_reference_for_the_formula_check():
    # (Excel row, 0-based column), by hand: C5 -> (5, 2); AA10 written with spaces, quotes, lower case and a
    # leading zero -> (10, 26); no r= -> None
    assert safety.cell_reference(b' r="C5" t="n"') == (5, 2)
    assert safety.cell_reference(b" t='n' r = 'aa0010'") == (10, 26)
    assert safety.cell_reference(b' t="n"') is None
