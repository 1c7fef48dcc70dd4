"""Loader: unreadable files, sniffing, legacy encodings, formulas, corrections and the validate CLI."""
from __future__ import annotations

import subprocess
import sys
import zipfile

import openpyxl
import pandas as pd
import pytest

import ocop_analysis as oa
from ocop_analysis import workbook
from ocop_analysis.errors import ConfigError
from ocop_analysis.layout import legacy_to_unicode, match_header

HEAD = ["STT", "Tên sản phẩm", "Tên chủ thể", "Huyện/Thành phố", "Hạng sao", "Năm đánh giá"]


def make(tmp_path, rows, name="ds.xlsx", title="Phụ lục"):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = title
    for r in rows:
        ws.append(r)
    path = tmp_path / name
    wb.save(path)
    return path


def load(path, **kw):
    kw.setdefault("corrections", None)
    return oa.load_registry(path, links=None, **kw)


# --------------------------------------------------------------------------- unreadable files

def test_missing_path_is_plain(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load(tmp_path / "nope.xlsx")
    with pytest.raises(oa.RegistryError):
        load(tmp_path / "nope.xlsx")


@pytest.mark.parametrize("content, reason", [
    (b"", "empty"),
    (b"%PDF-1.4 fake", "PDF"),
    (b"PK\x03\x04" + b"\x00" * 40, "damaged"),
    (b"<html><body><table><tr><td>x</td></tr></table></body></html>", "HTML"),
    (b"STT,Ten san pham\n1,A\n", "text"),
    (bytes(range(256)) * 4, "not a spreadsheet"),
    (b'<?xml version="1.0"?><root/>', "XML"),
])
def test_unreadable_files_raise_registry_error(tmp_path, content, reason):
    path = tmp_path / "bad.xls"
    path.write_bytes(content)
    with pytest.raises(oa.RegistryError) as info:
        load(path)
    assert "bad.xls" in str(info.value) and reason in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__  # no parser traceback chained


def test_zip_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "doc.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("word/document.xml", "<w/>")
    with pytest.raises(oa.RegistryError, match="Word document"):
        load(path)


def test_encrypted_ole2_container(tmp_path):
    # An encrypted .xlsx is an OLE2 compound file holding an "EncryptedPackage" stream.
    data = bytearray(bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 1024)
    data += "EncryptedPackage".encode("utf-16-le") + b"\x00" * 64
    path = tmp_path / "secret.xlsx"
    path.write_bytes(bytes(data))
    with pytest.raises(oa.RegistryError, match="password"):
        load(path)


def test_truncated_xlsx(tmp_path):
    good = make(tmp_path, [HEAD, [1, "A", "HTX A", "H. Lấp Vò", 3, 2022]])
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(good.read_bytes()[:300])
    with pytest.raises(oa.RegistryError, match="cut.xlsx.*damaged"):
        load(cut)


def test_spreadsheetml_2003_xml_is_read(tmp_path):
    xml = """<?xml version="1.0"?>
<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet">
 <Worksheet ss:Name="DS"><Table>
  <Row><Cell><Data ss:Type="String">Tiêu đề</Data></Cell></Row>
  <Row ss:Index="3"><Cell><Data ss:Type="String">Tên sản phẩm</Data></Cell><Cell><Data ss:Type="String">Huyện</Data></Cell>
   <Cell><Data ss:Type="String">Hạng sao</Data></Cell></Row>
  <Row><Cell><Data ss:Type="String">Hạt sen</Data></Cell><Cell><Data ss:Type="String">H. Tháp Mười</Data></Cell>
   <Cell><Data ss:Type="Number">4</Data></Cell></Row>
 </Table></Worksheet></Workbook>"""
    path = tmp_path / "export.xls"
    path.write_text(xml, encoding="utf-8")
    reg = load(path)
    assert reg.evaluations[["source_row", "district_code", "stars"]].values.tolist() == [[4, 872, 4]]


def test_sniff_kinds(tmp_path):
    xlsx = make(tmp_path, [HEAD])
    assert workbook.sniff(xlsx) == "xlsx"


# --------------------------------------------------------------------------- rows as Excel shows them

def test_leading_empty_rows_and_columns_keep_excel_row_numbers(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["C5"], ws["D5"], ws["E5"] = "Tên sản phẩm", "Huyện", "Hạng sao"
    ws["C9"], ws["D9"], ws["E9"] = "Hạt sen", "H. Tháp Mười", 4
    path = tmp_path / "offset.xlsx"
    wb.save(path)
    reg = load(path)
    assert reg.evaluations["source_row"].tolist() == [9]
    src = reg.sources.iloc[0]
    assert (src.rows_seen, src.rows_loaded, src.rows_skipped) == (9, 1, 8)


# --------------------------------------------------------------------------- legacy encoding

def _tcvn3(text: str) -> str:
    """Encode Unicode Vietnamese as TCVN3 bytes shown as Latin-1, using the kit's own table in reverse."""
    table = oa.reference.table("legacy_tcvn3")
    reverse = {u: s for s, u, c in zip(table["shown"], table["unicode"], table["certain"]) if c == "true"}
    return "".join(reverse.get(ch, ch) for ch in text)


@pytest.mark.parametrize("text", ["Ninh Bình", "Đồng Tháp", "Hợp tác xã Mỹ Xương", "Huyện Lai Vung", "Nước mắm"])
def test_tcvn3_round_trip(text):
    legacy = _tcvn3(text)
    assert legacy != text
    assert legacy_to_unicode(legacy) == (text, "tcvn3")


def test_tcvn3_known_string_and_unicode_left_alone():
    assert legacy_to_unicode("Ninh B×nh") == ("Ninh Bình", "tcvn3")
    assert legacy_to_unicode("§ång Th¸p") == ("Đồng Tháp", "tcvn3")
    for ok in ("Bánh tét", "Cà phê", "Đồng Tháp", "Hạt sen", "2 × 3"):
        assert legacy_to_unicode(ok)[1] is None


def test_tcvn3_cells_are_converted_and_warned_once_per_column(tmp_path):
    rows = [HEAD, [1, _tcvn3("Nước mắm"), _tcvn3("Hợp tác xã Sen"), _tcvn3("Huyện Lai Vung"), 3, 2021],
            [2, _tcvn3("Mắm cá"), "HTX B", "H. Lai Vung", 3, 2021]]
    reg = load(make(tmp_path, rows))
    ev = reg.evaluations
    assert ev["product_name"].tolist() == ["Nước mắm", "Mắm cá"]
    assert ev["entity_name"].tolist() == ["Hợp tác xã Sen", "HTX B"]
    assert ev["district_code"].tolist() == [876, 876]
    warn = reg.problems[reg.problems["problem"] == "legacy_encoding"]
    assert warn[["row", "column"]].values.tolist() == [[2, "product_name"], [2, "entity_name"], [2, "district"]]
    assert "2 value(s)" in warn.iloc[0]["message"]


def test_header_aliases_from_reference():
    assert match_header("Ten san pham") == "product_name"
    assert match_header("TÊN  SẢN PHẨM (tên thương mại)") == "product_name"
    assert match_header("Hạng\nsao") == "stars"
    assert match_header("Ngày", "Quyết định công nhận") == "decision_date"
    assert match_header("Đơn vị tính") is None


# --------------------------------------------------------------------------- formulas and macros

def test_formula_without_cached_value_warns_once(tmp_path):
    rows = [["Tên sản phẩm", "Huyện", "Hạng sao", "A", "B", "Điểm"],
            ["X", "H. Lấp Vò", 3, 30, 30, "=D2+E2"],
            ["Y", "H. Lấp Vò", 3, 30, 31, "=D3+E3"],
            ["Z", "H. Lấp Vò", 3, 30, 32, 62]]
    reg = load(make(tmp_path, rows, name="ocop_2022.xlsx"))
    assert reg.evaluations["score"].tolist()[:2] == [pd.NA, pd.NA]
    assert reg.evaluations["score"].tolist()[2] == 62
    assert reg.problems[["row", "column", "problem"]].values.tolist() == [[2, "score", "formula_without_value"]]


# --------------------------------------------------------------------------- corrections

def test_corrections_fix_a_typo_and_report_unmatched(tmp_path):
    rows = [HEAD, [1, "Nem", "Cơ sở A", "Huyen Lai Vug", 3, 2022], [2, "Quýt", "HTX B", "H. Lai Vung", "4 sao", 2022]]
    path = make(tmp_path, rows, name="ds_2022.xlsx")
    corr = tmp_path / "corrections.yml"
    corr.write_text(
        "- match: {file: ds_2022.xlsx, sheet: Phụ lục, row: 2}\n"
        "  set: {district: H. Lai Vung}\n"
        "  reason: typo confirmed\n"
        "- match: {product_name: 'quyt'}\n"
        "  set: {stars: 5}\n"
        "  reason: upgraded in the same decision\n"
        "- match: {file: ds_2022.xlsx, row: 99}\n"
        "  set: {stars: 3}\n"
        "  reason: nothing there\n"
        "- match: {file: other.xlsx, row: 2}\n"
        "  set: {stars: 3}\n"
        "  reason: another file, not loaded now\n", encoding="utf-8")
    before = path.read_bytes()
    reg = load(path, corrections=corr)
    assert reg.evaluations[["source_row", "district_code", "stars"]].values.tolist() == [[2, 876, 3], [3, 876, 5]]
    assert reg.corrections[["correction", "row", "column", "old_value", "new_value"]].values.tolist() == [
        [1, 2, "district", "Huyen Lai Vug", "H. Lai Vung"], [2, 3, "stars", "4 sao", "5"]]
    assert reg.problems[["problem"]].values.ravel().tolist() == ["correction_unmatched"]
    assert path.read_bytes() == before


def test_bad_corrections_file(tmp_path):
    path = make(tmp_path, [HEAD, [1, "Nem", "Cơ sở A", "H. Lai Vung", 3, 2022]])
    corr = tmp_path / "c.yml"
    corr.write_text("- match: {colour: red}\n  set: {stars: 3}\n  reason: x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot match on"):
        load(path, corrections=corr)
    corr.write_text("- match: {row: 2}\n  set: {stars: 3}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="reason"):
        load(path, corrections=corr)


def test_repo_corrections_file_is_valid():
    from ocop_analysis.corrections import load_corrections

    assert load_corrections(oa.paths.DATA_DIR / "corrections.yml") == []


# --------------------------------------------------------------------------- the CLI

def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "ocop_analysis.cli", "validate", *args],
                          capture_output=True, text=True, timeout=300)


def test_validate_names_the_row_and_suggests(tmp_path):
    path = make(tmp_path, [HEAD, [1, "Nem", "Cơ sở A", "Huyen Lai Vug", 3, 2022],
                           [2, "Quýt", "HTX B", "H. Lai Vung", 4, 2022]], name="typo.xlsx")
    out_xlsx = tmp_path / "out" / "problems.xlsx"
    res = run_cli(str(path), "--xlsx", str(out_xlsx), "--no-corrections")
    assert res.returncode == 1, res.stderr
    assert "typo.xlsx › Phụ lục: loaded; seen 3, loaded 1, rejected 1, skipped 1" in res.stdout
    assert ("Sheet 'Phụ lục', row 2: district 'Huyen Lai Vug' is not a district of Đồng Tháp — did you mean "
            "Huyện Lai Vung?") in res.stdout
    written = pd.read_excel(out_xlsx, sheet_name=None, engine="calamine")
    assert written["Vấn đề"]["Dòng"].tolist() == [2]  # Vietnamese headers for clerks


def test_validate_clean_file_exit_0_and_unreadable_exit_2(tmp_path):
    path = make(tmp_path, [HEAD, [1, "Quýt", "HTX B", "H. Lai Vung", 4, 2022]], name="ok.xlsx")
    res = run_cli(str(path), "--no-corrections")
    assert res.returncode == 0 and "No problems found." in res.stdout
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"%PDF-1.7")
    res = run_cli(str(bad))
    assert res.returncode == 2
    assert "bad.xlsx: is a PDF document" in res.stderr and "Traceback" not in res.stderr


def test_validate_refuses_to_overwrite_input(tmp_path):
    path = make(tmp_path, [HEAD, [1, "Quýt", "HTX B", "H. Lai Vung", 4, 2022]], name="in.xlsx")
    before = path.read_bytes()
    res = run_cli(str(path), "--xlsx", str(path))
    assert res.returncode == 2 and "refusing to overwrite" in res.stderr
    assert path.read_bytes() == before


def test_a_correction_sees_what_an_earlier_one_set(tmp_path):
    # rule 1 renames the product it matched by name; rule 2 matches the new name (columns are folded once for all rules,
    # and again after a rule changes them); rule 3 matches the old name, which no row has any more
    rows = [HEAD, [1, "Nem chua", "Cơ sở A", "H. Lai Vung", 3, 2022], [2, "Quýt", "HTX B", "H. Lai Vung", 4, 2022]]
    path = make(tmp_path, rows, name="ds_2022.xlsx")
    corr = tmp_path / "corrections.yml"
    corr.write_text(
        "- match: {product_name: 'nem chua'}\n  set: {product_name: Nem chua Lai Vung}\n  reason: full name\n"
        "- match: {product_name: 'nem chua lai vung'}\n  set: {stars: 4}\n  reason: confirmed\n"
        "- match: {product_name: 'Nem chua'}\n  set: {stars: 5}\n  reason: stale name\n", encoding="utf-8")
    reg = load(path, corrections=corr)
    assert reg.evaluations[["product_name", "stars"]].values.tolist() == [["Nem chua Lai Vung", 4], ["Quýt", 4]]
    assert reg.corrections["correction"].tolist() == [1, 2]
    assert reg.problems["problem"].tolist() == ["correction_unmatched"]
