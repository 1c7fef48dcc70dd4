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


@given(rows=st.integers(1, 2_000_000), cols=st.integers(1, 16_384),
       ref_row=st.integers(1, 2_000_000), ref_col=st.integers(0, 16_384))
def test_beyond_pattern_agrees_with_integer_comparison(rows, cols, ref_row, ref_col):
    ref = f' r="{letters(ref_col)}{ref_row}"'.encode()   # ref_col 0: a <row r="…"> reference
    outside = ref_row > rows or ref_col > cols
    assert (safety._beyond(rows, cols).search(ref) is not None) == outside


@pytest.mark.parametrize("rows, cols", [(1, 1), (9, 26), (10, 27), (60_002, 14), (99_999, 702), (100_000, 703),
                                        (1_048_576, 16_384)])
def test_beyond_pattern_at_the_edges(rows, cols):
    pattern = safety._beyond(rows, cols)
    for r, c in [(rows, cols), (rows, 0), (1, 1), (1, cols)]:
        assert pattern.search(f' r="{letters(c)}{r}"'.encode()) is None, (r, c)
    for r, c in [(rows + 1, cols), (rows, cols + 1), (rows + 1, 0), (rows * 10, 1)]:
        assert pattern.search(f' r="{letters(c)}{r}"'.encode()) is not None, (r, c)
    # what the exact path must look at: lower-case letters, a leading zero, a row of 0
    for odd in (b' r="a1"', b' r="A01"', b' r="A0"'):
        assert pattern.search(odd) is not None


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
    return grid.rows, grid.cols


def windowed(data: bytes, size: int = 1 << 20) -> tuple[int, int]:
    """The scan as _check_xml_member drives it: windows of ``size`` bytes plus a 256-byte carried tail."""
    grid, tail = safety._XlsxGrid(), b""
    for i in range(0, len(data), size):
        window = tail + data[i:i + size]
        grid.feed(window, len(tail))
        tail = window[-256:]
    grid.finish(tail)
    return grid.rows, grid.cols


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
                                  "far cell in the last bytes"])
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
