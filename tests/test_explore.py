"""explore.py: the selector's tables follow the selection; works without a notebook front end."""
from __future__ import annotations

import pytest

from ocop_analysis import schema
from ocop_analysis.explore import Explorer, selection_table


@pytest.fixture
def ev():
    rows = [dict(product_id=p, district_code=c, stars=s, certified=True, year=y, group=g, kind="new")
            for p, c, s, y, g in [("a", 876, 3, 2023, 1), ("b", 876, 4, 2024, 1), ("c", 866, 5, 2024, 3),
                                  ("d", 875, 4, 2024, 2)]]
    return schema.coerce_evaluations(rows)


def test_district_view_tables(ev):
    result, table = selection_table(ev, view="district")
    assert table.index.tolist() == ["Toàn tỉnh"]
    assert table.loc["Toàn tỉnh"].tolist() == [1, 2, 1, 4]  # 3★, 4★, 5★, total
    result, table = selection_table(ev, view="district", year=2024, district=876)
    assert table.index.tolist() == ["Huyện Lai Vung"] and table.loc["Huyện Lai Vung"].tolist() == [0, 1, 0, 1]
    assert result["district_code"].nunique() == 12  # the chart still shows every district
    _, table = selection_table(ev, view="district", group=3, lang="en")
    assert table.loc["Province total"].tolist() == [0, 0, 1, 1]


def test_stars_view_tables(ev):
    _, table = selection_table(ev, view="stars", district=876)
    assert table.loc["2023", "3 sao"] == 1 and table.loc["2024", "4 sao"] == 1
    assert table.loc["Cả nước (12/2024)", "Tổng"] == 15590
    _, table = selection_table(ev, view="stars", year=2024)
    assert "2023" not in table.index and table.loc["2024", "Tổng"] == 3
    with pytest.raises(ValueError):
        selection_table(ev, view="map")


def test_explorer_update_redraws(ev):
    ex = Explorer(ev, view="district", lang="vi")
    assert [dd.description for dd in ex.controls.children] == ["Năm", "Huyện/TP", "Nhóm"]
    assert ex.controls.children[1].options[0] == ("Tất cả", "all")
    assert [dd.label for dd in ex.controls.children] == ["Tất cả"] * 3  # shown as selected, not blank
    ex.update(year=2024)
    image, table = ex.last
    assert image.data[:4] == b"\x89PNG"
    assert table.loc["Toàn tỉnh", "Tổng"] == 3
    ex.controls.children[2].value = 1  # choosing a group in the dropdown redraws too
    assert ex.selection == {"year": 2024, "district": None, "group": 1}
    assert ex.last[1].loc["Toàn tỉnh", "Tổng"] == 1
    with pytest.raises(TypeError):
        ex.update(month=3)
