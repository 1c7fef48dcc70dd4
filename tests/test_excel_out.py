"""excel_out: formula injection neutralised in every format; people-friendly formatting."""
import datetime as dt

import openpyxl
import pandas as pd
import pytest

from ocop_analysis import excel_out, schema

EVIL = '=HYPERLINK("http://evil.example","Bấm vào đây")'


@pytest.mark.parametrize("text", [EVIL, "+1+2", "-1+cmd|' /C calc'!A0", "@SUM(A1)", "\tx", "\rx", "\nx"])
def test_formula_like_text_gets_a_leading_quote_and_keeps_the_rest(text):
    assert excel_out.neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["Hạt sen sấy", "", "3 sao", 5, -5, -5.5, None, True])
def test_other_values_unchanged(value):
    assert excel_out.neutralise(value) == value or (value is None and excel_out.neutralise(value) is None)


def frame():
    return schema.coerce_evaluations([
        {"product_name": EVIL, "entity_name": "HTX Sen Tháp Mười", "stars": 3, "score": -5.0,
         "year": 2023, "decision_date": "2023-05-04", "certified": True, "kind": "new"},
        {"product_name": "@cmd", "entity_name": "-Cơ sở A", "stars": pd.NA, "score": 45.5,
         "year": 2024, "certified": False, "kind": "reevaluation"},
    ])


def test_xlsx_text_neutralised_numbers_stay_numbers(tmp_path):
    path = excel_out.write_excel(tmp_path / "t.xlsx", {"Dữ liệu": frame(),
                                                       "n": pd.DataFrame({"x": [-5, 3], "t": ["-5", "a"]})})
    wb = openpyxl.load_workbook(path)
    ws = wb["Dữ liệu"]
    header = [c.value for c in ws[1]]
    col = {h: i for i, h in enumerate(header)}
    row2, row3 = [c for c in ws[2]], [c for c in ws[3]]
    assert row2[col["Tên sản phẩm"]].value == "'" + EVIL
    assert row2[col["Tên sản phẩm"]].data_type == "s"          # text, not a formula
    assert row3[col["Tên sản phẩm"]].value == "'@cmd"
    assert row3[col["Tên chủ thể"]].value == "'-Cơ sở A"
    assert row2[col["Điểm"]].value == -5 and row2[col["Điểm"]].data_type == "n"
    assert row2[col["Hạng sao"]].value == 3
    assert row3[col["Hạng sao"]].value is None
    assert row2[col["Ngày quyết định"]].value == dt.datetime(2023, 5, 4)
    assert row2[col["Ngày quyết định"]].number_format == "dd/mm/yyyy"
    n = wb["n"]
    assert [c.value for c in n[2]] == [-5, "'-5"]
    assert n.cell(2, 1).data_type == "n"
    # no cell anywhere is a formula
    for sheet in wb.worksheets:
        for r in sheet.iter_rows():
            assert all(c.data_type != "f" for c in r)


def test_xlsx_formatting_for_people(tmp_path):
    df = pd.DataFrame({"cohort": [2019, 2020], "rate": [0.5, 0.25], "recognized": [1200, 99],
                       "amount": [8_000_000_000.0, 1.5e9]})
    path = excel_out.write_excel(tmp_path / "f.xlsx", {"Tỷ lệ": df}, notes=["Dữ liệu mô phỏng"])
    wb = openpyxl.load_workbook(path)
    ws = wb["Tỷ lệ"]
    assert [c.value for c in ws[1]] == ["Năm công nhận", "Tỷ lệ", "Được công nhận", "Kinh phí (đồng)"]
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:D3"
    assert ws["A1"].font.bold
    assert ws["B2"].number_format == "0.0%" and ws["B2"].value == 0.5
    assert ws["C2"].number_format == "#,##0"
    assert ws["D2"].number_format == "#,##0"
    assert ws["A2"].number_format == "0"
    assert all(ws.column_dimensions[c].width >= 8 for c in "ABCD")
    assert wb.sheetnames == ["Tỷ lệ", "Ghi chú"]
    assert wb["Ghi chú"]["A1"].value == "Dữ liệu mô phỏng"


def test_csv_and_html_neutralised(tmp_path):
    path = excel_out.write_csv(frame()[["product_name", "score"]], tmp_path / "t.csv")
    back = pd.read_csv(path, encoding="utf-8-sig")
    assert back["product_name"].tolist() == ["'" + EVIL, "'@cmd"]
    assert back["score"].tolist() == [-5.0, 45.5]
    page = excel_out.to_html(pd.DataFrame({"name": [EVIL, "<b>x</b>"]}))
    assert "&#x27;=HYPERLINK" in page or "'=HYPERLINK" in page
    assert "<b>x</b>" not in page


def test_sheet_titles_made_valid_and_unique(tmp_path):
    path = excel_out.write_excel(tmp_path / "s.xlsx", {"a/b:c" * 10: pd.DataFrame({"x": [1]}),
                                                       ("a/b:c" * 10)[:31]: pd.DataFrame({"x": [2]})})
    names = openpyxl.load_workbook(path).sheetnames
    assert len(names) == 2 and len(set(names)) == 2 and all(len(n) <= 31 for n in names)
    assert not any(ch in n for n in names for ch in "/:")
