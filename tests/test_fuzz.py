"""Fuzzing ``load_registry`` (issue 8): random workbooks and random bytes.

The property: ``load_registry`` either returns a registry whose every sheet is accounted for
(rows_seen == rows_loaded + rows_rejected + rows_skipped) or raises ``RegistryError`` with a
plain message — nothing else — and one file never takes more than ``MAX_CPU_S`` CPU seconds.

Workbooks are written by hand (a few lines of XML, no openpyxl) so that they can hold what
openpyxl refuses to write: NUL and other control characters (stored the way Excel stores them,
``_x0000_``), cells out of order, formulas without cached values, error cells, merged ranges
over anything. Random bytes come with and without the magic bytes of zip, OLE2, XML, HTML and
PDF, and as mutations (flipped bytes, truncations) of the real fixtures.

``make test`` runs 560 examples in all (about 30 s); ``make fuzz`` sets OCOP_FUZZ_EXAMPLES=2000
(per test).
"""
from __future__ import annotations

import datetime as dt
import io
import os
import re
import time
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ocop_analysis as oa
from ocop_analysis.errors import RegistryError

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = int(os.environ.get("OCOP_FUZZ_EXAMPLES", "0"))
MAX_CPU_S = 10.0
FUZZ = dict(deadline=None, derandomize=EXAMPLES == 0, database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])


def examples(default: int) -> int:
    return EXAMPLES or default


# --------------------------------------------------------------------------- checking one file

def check_load(path: Path) -> str:
    """Load ``path``; assert the property. Returns "loaded" or "refused"."""
    start = time.process_time()
    try:
        reg = oa.load_registry(path, corrections=None, links=None)
    except RegistryError as exc:
        message = str(exc)
        assert message and "Traceback" not in message and "\n" not in message, message
        outcome = "refused"
    else:
        src = reg.sources
        assert (src["rows_seen"] == src["rows_loaded"] + src["rows_rejected"] + src["rows_skipped"]).all(), src
        assert (src[["rows_loaded", "rows_rejected", "rows_skipped"]] >= 0).all().all(), src
        assert len(reg.evaluations) == src["rows_loaded"].sum() - len(reg.revocations)
        assert set(reg.problems["severity"].dropna()) <= {"error", "warning"}
        outcome = "loaded"
    assert time.process_time() - start < MAX_CPU_S
    OUTCOMES[outcome] = OUTCOMES.get(outcome, 0) + 1
    return outcome


OUTCOMES: dict[str, int] = {}


# --------------------------------------------------------------------------- random workbooks

HEADERS = ["STT", "Tên sản phẩm", "Tên chủ thể", "Địa chỉ", "Xã/Phường", "Huyện/Thành phố", "Nhóm sản phẩm", "Điểm",
           "Hạng sao", "Loại đánh giá", "Số quyết định", "Ngày quyết định", "Năm đánh giá", "Tiềm năng 5 sao",
           "Ngày thu hồi", "Lý do thu hồi", "Product name", "Stars", "TEN SAN PHAM", "Hang sao", "Huyen"]
KNOWN = ["Hạt sen sấy", "HTX Tân Thuận", "Huyện Lai Vung", "Cao Lãnh", "TP. Sa Đéc", "Huyện Không Có", "Thực phẩm",
         "4 sao", "3★", "Không đạt", "5", "65,5", "101", "-3", "12/05/2021", "31/02/2021", "2021", "Mới",
         "Đánh giá lại", "x", "1446/QĐ-UBND-HC", "Tổng cộng", "DANH SÁCH SẢN PHẨM OCOP NĂM 2022", "Người lập biểu",
         "Không đánh giá lại trong thời hạn 36 tháng", "", " ", "_x0041_", "=1+1"]
# control characters (NUL included), mixed scripts, RTL and zero-width marks, surrogates-free emoji
ALPHABET = st.characters(codec="utf-8", exclude_categories=("Cs",)) | st.sampled_from(
    ["\x00", "\x01", "\x07", "\x0b", "\x1f", "\x7f", "\u200b", "\u202e", "\ufeff", "ạ", "ễ", "Đ", "中", "ب", "😀",
     "=", "+", "-", "@", "\t", "\n", "\r", "_"])

text = st.text(ALPHABET, max_size=40)
huge = st.builds(lambda s, n: (s or "x") * n, st.text(ALPHABET, min_size=1, max_size=5), st.integers(1000, 6000))
number = (st.integers(-10**15, 10**15) | st.floats(allow_nan=True, allow_infinity=True)
          | st.floats(min_value=0, max_value=100) | st.integers(1, 5) | st.integers(1990, 2100))
date = st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2100, 12, 31))
cell = st.one_of(
    st.just(None), st.sampled_from(KNOWN), text, number, st.booleans(), date,
    st.tuples(st.just("error"), st.sampled_from(["#N/A", "#REF!", "#DIV/0!", "#VALUE!"])),
    st.tuples(st.just("formula"), st.sampled_from(["SUM(A1:A3)", "[1]Sheet1!A1", "NOW()", "A1&B1"]),
              st.none() | number),
    huge,
)


@st.composite
def sheets(draw):
    width = draw(st.integers(1, 16))
    rows: list[list] = []
    for _ in range(draw(st.integers(0, 3))):  # title rows
        rows.append([draw(st.sampled_from(KNOWN[22:24]) | text)] + [None] * (width - 1))
    if draw(st.booleans()):  # a header row from the known headers, in any order
        rows.append(draw(st.lists(st.sampled_from(HEADERS) | text, min_size=width, max_size=width)))
    for _ in range(draw(st.integers(0, 25))):
        if draw(st.integers(0, 9)) == 0:
            rows.append([None] * width)
        else:
            rows.append(draw(st.lists(cell, min_size=width, max_size=width)))
    merges = []
    for _ in range(draw(st.integers(0, 4))):
        r0 = draw(st.integers(1, max(len(rows), 1)))
        c0 = draw(st.integers(1, width))
        merges.append((r0, c0, r0 + draw(st.integers(0, 4)), c0 + draw(st.integers(0, 3))))
    offset = (draw(st.integers(0, 3)), draw(st.integers(0, 2)))  # leading empty rows / columns
    name = draw(st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")).filter(
        lambda ch: ch not in "[]:*?/\\'&<>\""), min_size=1, max_size=31))
    state = draw(st.sampled_from(["visible", "visible", "hidden", "veryHidden"]))
    return {"rows": rows, "merges": merges, "offset": offset, "name": name.strip() or "S", "state": state}


DISTRICTS = ["Thành phố Cao Lãnh", "TP. Sa Đéc", "Huyện Lai Vung", "H. Tháp Mười", "Cao Lãnh", "Lấp Vò", "Huyện X"]
COLUMN_VALUES = {
    "Tên sản phẩm": st.sampled_from(["Hạt sen sấy", "Mắm cá linh", "Bánh phồng tôm", "=HYPERLINK(1)"]) | text,
    "Tên chủ thể": st.sampled_from(["HTX Tân Thuận", "Công ty TNHH A", "Hộ kinh doanh B", "Cơ sở C"]) | text,
    "Huyện/Thành phố": st.sampled_from(DISTRICTS) | text,
    "Hạng sao": st.sampled_from(["3 sao", "4 sao", "5 sao", "Không đạt", "4★", "★★★", "3*", "Hạng 4 sao"])
    | st.integers(0, 7) | st.floats(2.5, 5.5),
    "Điểm": st.floats(-10, 110) | st.sampled_from(["65,5", "72.25", "90 điểm", "", "NaN"]),
    "Năm đánh giá": st.integers(2015, 2030) | st.sampled_from(["2021", "Năm 2022", "21"]),
    "Ngày quyết định": date | st.sampled_from(["12/05/2021", "31/02/2021", "2021-13-01", "ngày 5 tháng 6 năm 2022"]),
    "Nhóm sản phẩm": st.sampled_from(["Thực phẩm", "Đồ uống", "Dược liệu", "Nhóm 7", "Thủ công mỹ nghệ"]) | text,
    "Loại đánh giá": st.sampled_from(["Mới", "Đánh giá lại", "Nâng hạng", "?"]),
    "Số quyết định": st.sampled_from(["1446/QĐ-UBND-HC", "12/QĐ", ""]) | text,
    "Tiềm năng 5 sao": st.sampled_from(["x", "", "có", "✓"]),
}


@st.composite
def table_sheets(draw):
    """A sheet that looks like a registry (so rows reach the value parsers), with chaos mixed in."""
    columns = ["Tên sản phẩm", "Hạng sao", "Huyện/Thành phố"] + draw(st.lists(
        st.sampled_from([c for c in COLUMN_VALUES if c not in ("Tên sản phẩm", "Hạng sao", "Huyện/Thành phố")]),
        unique=True, max_size=6))
    columns = draw(st.permutations(columns))
    rows: list[list] = [[draw(st.sampled_from(KNOWN[22:23]))] + [None] * (len(columns) - 1), list(columns)]
    for _ in range(draw(st.integers(1, 30))):
        rows.append([draw(cell) if draw(st.integers(0, 9)) == 0 else draw(COLUMN_VALUES[c]) for c in columns])
    merges = [(r, 1, r + draw(st.integers(0, 3)), 1) for r in draw(st.lists(st.integers(3, len(rows)), max_size=2))]
    return {"rows": rows, "merges": merges, "offset": (draw(st.integers(0, 2)), draw(st.integers(0, 1))),
            "name": draw(st.sampled_from(["Danh sách", "2022", "Lai Vung", "Sheet1"])), "state": "visible"}


def col_letter(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def xl_text(value: str) -> str:
    """Text as Excel stores it in XML: control characters as _xHHHH_, the rest escaped."""
    value = value.replace("_x", "_x005F_x")
    return escape(_NOT_XML.sub(lambda m: f"_x{ord(m.group()):04X}_", value))


_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def cell_xml(ref: str, value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)):
        return f'<c r="{ref}"><v>{value!r}</v></c>'
    if isinstance(value, dt.date):
        serial = (value - dt.date(1899, 12, 30)).days
        return f'<c r="{ref}" s="1"><v>{serial}</v></c>'
    if isinstance(value, tuple) and value[0] == "error":
        return f'<c r="{ref}" t="e"><v>{value[1]}</v></c>'
    if isinstance(value, tuple) and value[0] == "formula":
        cached = "" if value[2] is None else f"<v>{value[2]!r}</v>"
        return f'<c r="{ref}"><f>{escape(value[1])}</f>{cached}</c>'
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{xl_text(value)}</t></is></c>'


NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
RNS = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
STYLES = (f'<styleSheet {NS}><numFmts count="0"/><fonts count="1"><font/></fonts><fills count="1"><fill/></fills>'
          '<borders count="1"><border/></borders><cellStyleXfs count="1"><xf/></cellStyleXfs>'
          '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/></cellXfs></styleSheet>')


def sheet_xml(sheet: dict) -> str:
    r_off, c_off = sheet["offset"]
    parts = [f"<worksheet {NS}><sheetData>"]
    for i, row in enumerate(sheet["rows"], start=1 + r_off):
        cells = "".join(cell_xml(f"{col_letter(j)}{i}", v) for j, v in enumerate(row, start=1 + c_off))
        parts.append(f'<row r="{i}">{cells}</row>')
    parts.append("</sheetData>")
    if sheet["merges"]:
        refs = "".join(f'<mergeCell ref="{col_letter(c0 + c_off)}{r0 + r_off}:{col_letter(c1 + c_off)}{r1 + r_off}"/>'
                       for r0, c0, r1, c1 in sheet["merges"])
        parts.append(f'<mergeCells count="{len(sheet["merges"])}">{refs}</mergeCells>')
    parts.append("</worksheet>")
    return "".join(parts)


def xlsx_bytes(book: list[dict]) -> bytes:
    names, seen = [], set()
    for i, sheet in enumerate(book, start=1):
        name = sheet["name"] if sheet["name"].lower() not in seen else f"S{i}"
        seen.add(name.lower())
        names.append(name)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
                            f'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                            for i in range(1, len(book) + 1))
        zf.writestr("[Content_Types].xml", '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                    '<Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
                    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                    f'spreadsheetml.styles+xml"/>{overrides}</Types>')
        zf.writestr("_rels/.rels", '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                    'officeDocument" Target="xl/workbook.xml"/></Relationships>')
        sheets_xml = "".join(f'<sheet name="{escape(n, {chr(34): "&quot;"})}" sheetId="{i}" state="{s["state"]}" '
                             f'r:id="rId{i}"/>' for i, (n, s) in enumerate(zip(names, book), start=1))
        zf.writestr("xl/workbook.xml", f"<workbook {NS} {RNS}><sheets>{sheets_xml}</sheets></workbook>")
        rels = "".join(f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                       f'relationships/worksheet" Target="worksheets/sheet{i}.xml"/>' for i in range(1, len(book) + 1))
        rels += (f'<Relationship Id="rId{len(book) + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                 f'relationships/styles" Target="styles.xml"/>')
        zf.writestr("xl/_rels/workbook.xml.rels",
                    f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}'
                    f'</Relationships>')
        zf.writestr("xl/styles.xml", STYLES)
        for i, sheet in enumerate(book, start=1):
            zf.writestr(f"xl/worksheets/sheet{i}.xml", sheet_xml(sheet))
    return buf.getvalue()


def test_hand_written_workbook_reads_as_written(tmp_path):
    """The fuzzer's writer itself: a clean table comes back with its values (so random ones mean something)."""
    rows = [["DANH SÁCH SẢN PHẨM OCOP NĂM 2022"] + [None] * 5,
            ["Tên sản phẩm", "Tên chủ thể", "Huyện/Thành phố", "Điểm", "Hạng sao", "Năm đánh giá"],
            ["Hạt sen sấy", "HTX Tân Thuận", "Huyện Lai Vung", 72.5, "4 sao", 2022],
            ["Mắm\x00 cá linh", "Hộ Nguyễn Văn A", "Huyện Lai Vung", 55, 3, 2022]]
    path = tmp_path / "hand.xlsx"
    path.write_bytes(xlsx_bytes([{"rows": rows, "merges": [(1, 1, 1, 6)], "offset": (1, 1), "name": "Danh sách",
                                  "state": "visible"}]))
    reg = oa.load_registry(path, corrections=None, links=None)
    ev = reg.evaluations.sort_values("source_row")
    assert list(ev["stars"]) == [4, 3] and list(ev["score"]) == [72.5, 55.0]
    assert list(ev["source_row"]) == [4, 5]  # one leading empty row, title, header
    assert list(ev["product_name"]) == ["Hạt sen sấy", "Mắm cá linh"]  # the NUL (stored _x0000_) dropped


@settings(max_examples=examples(200), **FUZZ)
@given(book=st.lists(sheets() | table_sheets(), min_size=1, max_size=3))
def test_fuzz_random_workbooks(tmp_path_factory, book):
    path = tmp_path_factory.mktemp("fz") / "random.xlsx"
    path.write_bytes(xlsx_bytes(book))
    check_load(path)


# --------------------------------------------------------------------------- random and mutated bytes

MAGIC = [b"", b"PK\x03\x04", b"PK\x05\x06", bytes.fromhex("D0CF11E0A1B11AE1"), b"<?xml version='1.0'?>", b"<html>",
         b"%PDF-1.4", b"\xef\xbb\xbf", b"\xff\xfe", b"\x09\x08", b"STT,Ten san pham\n"]
SEEDS = ["flat_clean.xlsx", "flat_clean.xls", "flat_clean.ods", "macro_enabled.xlsm", "fake_xls_spreadsheetml.xls",
         "sheet_per_district.xls", "bad_rows.ods"]
SUFFIX = {".xlsx": ".xlsx", ".xls": ".xls", ".ods": ".ods", ".xlsm": ".xlsm"}


@settings(max_examples=examples(150), **FUZZ)
@given(prefix=st.sampled_from(MAGIC), body=st.binary(max_size=4096), suffix=st.sampled_from([".xlsx", ".xls", ".ods"]))
def test_fuzz_random_bytes(tmp_path_factory, prefix, body, suffix):
    path = tmp_path_factory.mktemp("fz") / f"noise{suffix}"
    path.write_bytes(prefix + body)
    check_load(path)


@settings(max_examples=examples(150), **FUZZ)
@given(seed=st.sampled_from(SEEDS), data=st.data())
def test_fuzz_mutated_fixtures(tmp_path_factory, seed, data):
    raw = bytearray((FIXTURES / seed).read_bytes())
    how = data.draw(st.sampled_from(["flip", "truncate", "splice"]))
    if how == "flip":
        for _ in range(data.draw(st.integers(1, 20))):
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    elif how == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    else:
        at = data.draw(st.integers(0, len(raw)))
        raw[at:at] = data.draw(st.binary(min_size=1, max_size=256))
    path = tmp_path_factory.mktemp("fz") / f"mutant{Path(seed).suffix}"
    path.write_bytes(bytes(raw))
    check_load(path)


ZIP_SEEDS = ["flat_clean.xlsx", "flat_clean.ods", "macro_enabled.xlsm", "revocations.xlsx", "formula_no_cache.xlsx"]


@settings(max_examples=examples(60), **FUZZ)
@given(seed=st.sampled_from(ZIP_SEEDS), data=st.data())
def test_fuzz_mutated_xml_parts(tmp_path_factory, seed, data):
    """Mutate the XML of one part, then zip it again properly: the damage reaches the XML parsers."""
    with zipfile.ZipFile(FIXTURES / seed) as src:
        parts = [(i.filename, src.read(i.filename), i.compress_type) for i in src.infolist()]
    xml = [n for n, _, _ in parts if n.endswith((".xml", ".rels"))]
    target = data.draw(st.sampled_from(xml))
    out = []
    for name, raw, method in parts:
        if name == target:
            raw = bytearray(raw)
            for _ in range(data.draw(st.integers(1, 6))):
                how = data.draw(st.sampled_from(["flip", "delete", "insert"]))
                at = data.draw(st.integers(0, max(len(raw) - 1, 0)))
                if how == "flip" and raw:
                    raw[at] = data.draw(st.sampled_from(b'<>/="&;x0 \x00\xff'))
                elif how == "delete":
                    del raw[at:at + data.draw(st.integers(1, 40))]
                else:
                    raw[at:at] = data.draw(st.sampled_from([b"<c r=\"XFD1048576\"><v>1</v></c>", b"&lol;",
                                                            b"<!DOCTYPE x [<!ENTITY a \"b\">]>", b"\xc3",
                                                            b'r="A999999"', b'number-columns-repeated="99999"']))
            raw = bytes(raw)
        out.append((name, raw, method))
    path = tmp_path_factory.mktemp("fz") / f"xmlmutant{Path(seed).suffix}"
    with zipfile.ZipFile(path, "w") as zf:
        for name, raw, method in out:
            zf.writestr(name, raw, compress_type=method)
    check_load(path)


def test_fuzz_outcomes_were_mixed():
    """Over the run both outcomes occurred (random workbooks mostly load; random bytes are refused)."""
    if OUTCOMES:  # only meaningful when the fuzz tests ran in this session
        assert OUTCOMES.get("refused", 0) > 0
