"""Reference tables: the facts of domain/OCOP.md, as data."""
import pytest

from ocop_analysis import reference


def test_twelve_dong_thap_units_with_official_codes():
    d = reference.districts()
    assert list(d["code"]) == list(range(866, 878))
    assert (d["type"] == "city").sum() == 3 and (d["type"] == "district").sum() == 9
    names = reference.district_names()
    assert names[866] == "Thành phố Cao Lãnh"
    assert names[873] == "Huyện Cao Lãnh"
    assert names[868] == "Thành phố Hồng Ngự"
    assert names[870] == "Huyện Hồng Ngự"
    assert names[876] == "Huyện Lai Vung"


def test_tile_positions_are_unique():
    d = reference.districts()
    assert not d.duplicated(["tile_row", "tile_col"]).any()


def test_unknown_province_is_a_clear_error():
    with pytest.raises(KeyError, match="no reference districts"):
        reference.districts("atlantis")


def test_six_groups_of_decision_148():
    g = reference.group_names()
    assert g == {
        1: "Thực phẩm",
        2: "Đồ uống",
        3: "Dược liệu và sản phẩm từ dược liệu",
        4: "Hàng thủ công mỹ nghệ",
        5: "Sinh vật cảnh",
        6: "Dịch vụ du lịch cộng đồng, du lịch sinh thái và điểm du lịch",
    }


def test_1048_groups_map_completely_onto_148():
    g = reference.groups_1048()
    assert list(g["group_1048"]) == [1, 2, 3, 4, 5, 6]
    assert set(g["group_148"]) <= set(reference.group_names())
    mapping = dict(zip(g["name"], g["group_148"]))
    assert mapping["Thảo dược"] == 3
    assert mapping["Vải và may mặc"] == mapping["Lưu niệm – nội thất – trang trí"] == 4
    # Sinh vật cảnh is new in 148: nothing in 1048 maps to it.
    assert 5 not in set(g["group_148"])


def test_star_bands_50_70_90_and_only_3_to_5_certified():
    b = reference.star_bands().set_index("stars")
    assert b.loc[3, "min_score"] == 50 and b.loc[4, "min_score"] == 70 and b.loc[5, "min_score"] == 90
    assert b.loc[5, "max_score"] == 100
    assert reference.certified_stars() == {3, 4, 5}


def test_rules():
    assert reference.validity_months() == 36
    assert reference.rule("reevaluation_window_before_months") == 12
    assert reference.rule("reevaluation_window_after_months") == 6
    with pytest.raises(KeyError, match="unknown rule"):
        reference.rule("nope")


def test_entity_type_prefixes_cover_the_statistics_categories():
    t = reference.table("entity_types")
    assert {"company", "cooperative", "cooperative_group", "household"} <= set(t["entity_type"])
