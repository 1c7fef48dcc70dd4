"""The clerk's registry template: layout, dropdowns from the reference data, help, and the round trip."""
import datetime as dt

import openpyxl
import pytest

import ocop_analysis as oa
from ocop_analysis import cli, reference, template

HEADERS = ["STT", "Tên sản phẩm", "Tên chủ thể", "Địa chỉ", "Xã/Phường", "Huyện/Thành phố", "Nhóm sản phẩm",
           "Điểm", "Hạng sao", "Loại đánh giá", "Số quyết định", "Ngày quyết định", "Năm đánh giá",
           "Tiềm năng 5 sao", "Mã sản phẩm", "Ghi chú"]


@pytest.fixture
def blank(tmp_path):
    return template.write_template(tmp_path / "so_dang_ky.xlsx")


def test_layout(blank):
    wb = openpyxl.load_workbook(blank)
    assert wb.sheetnames == ["Sổ đăng ký", "Hướng dẫn", "Danh mục"]
    assert wb["Danh mục"].sheet_state == "hidden"
    ws = wb["Sổ đăng ký"]
    assert [c.value for c in ws[1]] == HEADERS
    assert ws.max_row == 1                       # blank: nothing below the header
    assert ws.freeze_panes == "A2"
    assert ws["B1"].font.bold
    assert wb.active.title == "Sổ đăng ký"


def _validations(ws):
    return {str(dv.sqref).split(":")[0][:-1]: dv for dv in ws.data_validations.dataValidation}


def _list_values(wb, formula):
    sheet, ref = formula.split("!")
    return [c.value for row in wb[sheet.strip("'")][ref.replace("$", "")] for c in row]


def test_dropdowns_come_from_the_reference_data(blank):
    wb = openpyxl.load_workbook(blank)
    dvs = _validations(wb["Sổ đăng ký"])
    assert _list_values(wb, dvs["F"].formula1) == list(reference.district_names().values())
    assert len(_list_values(wb, dvs["F"].formula1)) == 12
    assert _list_values(wb, dvs["G"].formula1) == reference.groups()["name"].tolist()
    assert _list_values(wb, dvs["I"].formula1) == ["3 sao", "4 sao", "5 sao", "Không đạt"]
    assert _list_values(wb, dvs["J"].formula1) == ["Mới", "Đánh giá lại", "Nâng hạng"]
    assert dvs["H"].type == "decimal" and (dvs["H"].formula1, dvs["H"].formula2) == ("0", "100")
    assert dvs["M"].type == "whole"
    assert dvs["N"].formula1 == '"x"'
    assert str(dvs["F"].sqref) == "F2:F2001"


def test_every_column_has_input_help_and_an_explanation(blank):
    wb = openpyxl.load_workbook(blank)
    dvs = _validations(wb["Sổ đăng ký"])
    letters = [openpyxl.utils.get_column_letter(i) for i in range(1, len(HEADERS) + 1)]
    assert sorted(dvs) == sorted(letters)
    assert all(dvs[x].showInputMessage and dvs[x].prompt for x in letters)
    help_ws = wb["Hướng dẫn"]
    assert [c.value for c in help_ws[1]] == ["Cột", "Bắt buộc", "Hướng dẫn"]
    explained = [help_ws.cell(r, 1).value for r in range(2, 2 + len(HEADERS))]
    assert explained == [f"Cột {h}" for h in HEADERS]
    assert all(help_ws.cell(r, 3).value.startswith("Ý nghĩa: ") and "Cách điền: " in help_ws.cell(r, 3).value
               for r in range(2, 2 + len(HEADERS)))
    required = {help_ws.cell(r, 1).value.removeprefix("Cột ") for r in range(2, 2 + len(HEADERS)) if help_ws.cell(r, 2).value == "Có"}
    assert required == {"Tên sản phẩm", "Tên chủ thể", "Huyện/Thành phố", "Hạng sao", "Năm đánh giá"}


def test_existing_file_is_not_overwritten(blank, capsys):
    status = cli.main(["template", str(blank)])
    assert status == 2 and "already exists" in capsys.readouterr().err
    assert cli.main(["template", str(blank), "--force"]) == 0


ROWS = [
    # STT, product, entity, address, commune, district, group, score, stars, kind, decision, date, year, 5★, code, note
    [1, "Hạt sen sấy", "HTX Nông nghiệp Sen Tháp Mười", "Ấp 3", "Xã Mỹ Hòa", "Huyện Tháp Mười", "Thực phẩm",
     92.5, "5 sao", "Nâng hạng", "1234/QĐ-UBND", dt.datetime(2023, 8, 15), 2023, None, "DT-001", None],
    [2, "Quýt hồng Lai Vung", "Hộ kinh doanh Nguyễn Văn A", None, "Xã Long Hậu", "Huyện Lai Vung", "Thực phẩm",
     75, "4 sao", "Mới", "88/QĐ-UBND", dt.datetime(2024, 3, 1), 2024, "x", None, "ghi chú"],
    [3, "Rượu sen", "Công ty TNHH Sen Vàng", None, None, "Thành phố Cao Lãnh", "Đồ uống",
     45, "Không đạt", "Đánh giá lại", None, None, 2024, None, None, None],
    [4, "Nem Lai Vung", "Cơ sở Bà Năm", None, None, "Huyện Lai Vung", "Thực phẩm",
     61, "3 sao", "Mới", "90/QĐ-UBND", dt.datetime(2024, 3, 1), 2024, None, None, None],
]


def test_filled_template_loads_with_zero_problems(blank):
    wb = openpyxl.load_workbook(blank)
    ws = wb["Sổ đăng ký"]
    for row in ROWS:
        ws.append(row)
    wb.save(blank)
    reg = oa.load_registry(blank, corrections=None, links=None)
    assert reg.problems.empty, reg.problems.to_string()
    ev = reg.evaluations.sort_values("source_row")
    assert ev["product_name"].tolist() == [r[1] for r in ROWS]
    assert ev["district_code"].tolist() == [872, 876, 866, 876]
    assert ev["stars"].astype("object").where(ev["stars"].notna(), None).tolist() == [5, 4, None, 3]
    assert ev["certified"].tolist() == [True, True, False, True]
    assert ev["kind"].astype(str).tolist() == ["upgrade", "new", "reevaluation", "new"]
    assert ev["group"].tolist() == [1, 1, 2, 1]
    assert ev["year"].tolist() == [2023, 2024, 2024, 2024]
    assert ev["score"].tolist() == [92.5, 75.0, 45.0, 61.0]
    assert ev["five_star_candidate"].fillna(False).tolist() == [False, True, False, False]
    assert ev["decision_date"].iloc[0] == dt.datetime(2023, 8, 15)
    assert ev["source_row"].tolist() == [2, 3, 4, 5]
    assert set(ev["source_sheet"]) == {"Sổ đăng ký"}


def test_blank_template_loads_empty_without_problems(blank):
    reg = oa.load_registry(blank, corrections=None, links=None)
    assert len(reg.evaluations) == 0 and reg.problems.empty
    status = dict(zip(reg.sources["sheet"], reg.sources["status"]))
    assert status == {"Sổ đăng ký": "loaded", "Hướng dẫn": "skipped", "Danh mục": "skipped"}
