"""Fixes from the review round: one test (or a few) per fix, expectations worked out by hand."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import ocop_analysis as oa
from ocop_analysis import cli
from ocop_analysis.errors import ConfigError

FIXTURES = Path(__file__).parent / "fixtures"


# --------------------------------------------------------------------------- 1. unknown province

def test_unknown_province_is_a_config_error_naming_the_known_ones():
    with pytest.raises(ConfigError, match="no reference districts for province 'dongthap'") as info:
        oa.load_registry(FIXTURES / "flat_clean.xlsx", province="dongthap", cache=False)
    assert "dong-thap" in str(info.value)  # the curated province is listed


def test_validate_with_unknown_province_exits_2_without_traceback(capsys):
    status = cli.main(["validate", "--province", "dongthap", str(FIXTURES / "flat_clean.xlsx")])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("ocop-analysis validate: no reference districts for province 'dongthap'")
    assert "Traceback" not in err


# --------------------------------------------------------------------------- 2. decision in a title, any casing

@pytest.mark.parametrize("title", [
    "(Kèm theo Quyết định số 1580/QĐ-UBND-HC ngày 16/12/2019)",   # the usual spelling
    "(Kèm theo Quyết Định số 1580/QĐ-UBND-HC ngày 16/12/2019)",   # capital Đ
    "(Kèm theo Quyết định Số 1580/QĐ-UBND-HC ngày 16/12/2019)",   # capital S
    "(KÈM THEO QUYẾT ĐỊNH SỐ 1580/QĐ-UBND-HC NGÀY 16/12/2019)",   # all capitals
])
def test_title_decision_any_casing(title):
    from ocop_analysis.loading import _title_decision

    assert _title_decision(title) == ("1580/QĐ-UBND-HC", dt.date(2019, 12, 16))


# --------------------------------------------------------------------------- 3. districts() built once per province

def _districts_old_recipe(province):
    """What districts() built on every call before the cache (curated provinces)."""
    df = oa.reference.table("districts")
    df = df[df["province"] == province].copy()
    for col in ("code", "order", "tile_row", "tile_col"):
        df[col] = df[col].astype(int)
    return df.sort_values("order").reset_index(drop=True)


def test_districts_cached_but_each_call_an_independent_copy():
    import pandas as pd

    from ocop_analysis import geography, reference

    first = reference.districts("dong-thap")
    pd.testing.assert_frame_equal(first, _districts_old_recipe("dong-thap"))
    assert len(first) == 12  # Đồng Tháp's 12 district-level units (OCOP.md district table)
    second = reference.districts("dong-thap")
    pd.testing.assert_frame_equal(second, first)
    assert second is not first
    saved = second.copy()
    first.loc[0, "name"] = "changed"
    del first["short_name"]
    pd.testing.assert_frame_equal(reference.districts("dong-thap"), saved)  # the cached table is untouched
    pd.testing.assert_frame_equal(reference.districts(), saved)  # default province, same table
    # a province from the geography library: the library's table, also a fresh copy each call
    bt = reference.districts("ben-tre")
    pd.testing.assert_frame_equal(bt, geography.library_districts("ben-tre"))
    bt.loc[0, "name"] = "changed"
    pd.testing.assert_frame_equal(reference.districts("ben-tre"), geography.library_districts("ben-tre"))
    # an unknown province still raises KeyError each time (errors are not cached)
    for _ in range(2):
        with pytest.raises(KeyError, match="no reference districts"):
            reference.districts("dongthap")


# --------------------------------------------------------------------------- 4. layout: sections and sheet names of the load's province

def _ben_tre_book(path, section, sheet="Sheet1"):
    """A title, a header with no district column, an optional section row, two product rows."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(["DANH SÁCH SẢN PHẨM OCOP NĂM 2021"])
    ws.append(["STT", "Tên sản phẩm", "Chủ thể", "Hạng sao", "Năm đánh giá"])
    if section:
        ws.append([section])
    ws.append([1, "Bưởi da xanh", "HTX Bưởi Chợ Lách", "3 sao", 2021])
    ws.append([2, "Kẹo dừa", "Cơ sở Kẹo dừa Thanh Long", "4 sao", 2021])
    wb.save(path)
    return path


@pytest.mark.parametrize("section, sheet", [
    ("I. HUYỆN CHỢ LÁCH", "Sheet1"),   # section row with the unit word
    ("I. CHỢ LÁCH", "Sheet1"),         # section row with the bare name (a Bến Tre name only)
    (None, "Chợ Lách"),                # no section row; the sheet is named after the district
])
def test_ben_tre_section_rows_and_sheet_names_give_the_district(tmp_path, section, sheet):
    d = oa.reference.districts("ben-tre")
    cho_lach = int(d.loc[d["name"] == "Huyện Chợ Lách", "code"].iloc[0])  # 832 in the geography library
    path = _ben_tre_book(tmp_path / "ben_tre.xlsx", section, sheet)
    reg = oa.load_registry(path, province="ben-tre", corrections=None, links=None, cache=False)
    ev = reg.evaluations
    assert ev["product_name"].tolist() == ["Bưởi da xanh", "Kẹo dừa"]
    assert ev["district_code"].tolist() == [cho_lach, cho_lach]
    assert ev["district"].tolist() == ["Huyện Chợ Lách", "Huyện Chợ Lách"]
    assert not (reg.problems["problem"] == "unknown_district").any()


def test_detect_layout_province_parameter(tmp_path):
    from ocop_analysis.layout import detect_layout
    from ocop_analysis.workbook import read_workbook

    sheet = read_workbook(_ben_tre_book(tmp_path / "b.xlsx", "I. CHỢ LÁCH", "Chợ Lách")).sheets[0]
    bt = detect_layout(sheet, province="ben-tre")
    assert bt.sheet_district == "Chợ Lách"
    assert bt.data["section_district"].tolist() == ["CHỢ LÁCH", "CHỢ LÁCH"]
    assert bt.row_kinds == ["title", "header", "section", "data", "data"]
    dt_ = detect_layout(sheet)  # default province (Đồng Tháp) has no Chợ Lách
    assert dt_.sheet_district is None
    assert dt_.data["section_district"].tolist() == [None, None]


# --------------------------------------------------------------------------- 5. validate --xlsx refuses before loading

@pytest.mark.parametrize("given", ["folder", "file"])
def test_validate_refuses_xlsx_over_a_workbook_of_the_input_before_loading(tmp_path, monkeypatch, capsys, given):
    import shutil

    from ocop_analysis import loading

    data = tmp_path / "data"
    data.mkdir()
    target = data / "x.xlsx"
    shutil.copyfile(FIXTURES / "flat_clean.xlsx", target)
    before = target.read_bytes()

    def must_not_load(*args, **kwargs):
        raise AssertionError("load_registry ran before the overwrite check")

    monkeypatch.setattr(loading, "load_registry", must_not_load)
    source = str(data) if given == "folder" else str(target)
    status = cli.main(["validate", source, "--xlsx", str(target)])
    err = capsys.readouterr().err
    assert status == 2
    assert err == f"ocop-analysis validate: {target}: refusing to overwrite an input file; choose another name for --xlsx.\n"
    assert target.read_bytes() == before
