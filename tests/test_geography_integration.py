"""The geography layer wired into the loader, the analyses, the plan scorecard and the maps (issue 11).

Every expected number below is counted by hand from the rows the test writes; the old districts of
the 2025 communes are those of NQ 1663/NQ-UBTVQH15 as listed in reference/GEOGRAPHY.md and
tests/test_geography.py (e.g. phường Sa Đéc ← TP. Sa Đéc 867; xã Lai Vung ← Lấp Vò 875 + Lai Vung 876).
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from openpyxl import Workbook

import ocop_analysis as oa
from ocop_analysis import geography
from ocop_analysis.charts.maps import plot_bubble_map

HEADERS = ["STT", "Tên sản phẩm", "Tên chủ thể", "Địa chỉ", "Xã/Phường", "Huyện/Thành phố", "Nhóm sản phẩm",
           "Điểm", "Hạng sao", "Loại đánh giá", "Số quyết định", "Ngày quyết định", "Năm đánh giá"]
H2 = dt.date(2025, 10, 15)  # after 1 July 2025: communes of the merged province, no district level

# (product, entity, commune, district column, stars) — every row "Mới", decided on H2
MERGED_2025 = [
    ("Bánh pía sen", "Cơ sở Sen Hồng", "Phường Cao Lãnh", None, 4),              # 866
    ("Trà sen sấy", "Cơ sở Trà Mỹ", "Phường Cao Lãnh", None, 4),                # 866
    ("Nem Sa Đéc", "Hộ kinh doanh Nguyễn Văn An", "Phường Sa Đéc", None, 4),     # 867
    ("Khô cá lóc", "HTX Tân Hồng Xanh", "Xã Tân Hồng", None, 4),                # 869
    ("Mật ong tràm", "HTX Ong Tân Hồng", "Xã Tân Hồng", None, 4),               # 869
    ("Gạo sạch Tràm Chim", "HTX Lúa Tràm Chim", "Xã Tràm Chim", None, 4),        # 871
    ("Quýt hồng sấy", "HTX Quýt Lai Vung", "Xã Lai Vung", "Huyện Lai Vung", 4),   # 876 (the district column settles it)
    ("Nem chua Lai Vung", "Cơ sở Nem Bà Tư", "Xã Lai Vung", None, 4),            # 875 or 876: warning, no district
    ("Bánh phồng tôm", "Cơ sở Phú Hựu", "Xã Phú Hựu", None, 3),                  # 877, 3★
    ("Kẹo dừa Cái Bè", "Cơ sở Kẹo Cái Bè", "Xã Cái Bè", None, 4),                # former Tiền Giang 819
    ("Sầu riêng sấy", "HTX Sầu Riêng Châu Thành", "Xã Châu Thành", None, 4),      # former Tiền Giang 821, not 877
]
# hand count of new 4★ rows of old Đồng Tháp by old district
EXPECTED_4_STAR = {866: 2, 867: 1, 869: 2, 871: 1, 876: 1}


def _write(path, rows, headers=HEADERS):
    wb = Workbook()
    ws = wb.active
    ws.title = "Danh sách"
    ws.append(headers)
    for row in rows:
        ws.append(list(row))
    wb.save(path)
    return path


def _merged_registry(tmp_path):
    rows = [[i, product, entity, None, commune, district, "Thực phẩm", 75 if stars == 4 else 60, stars, "Mới",
             "2105/QĐ-UBND", H2, 2025]
            for i, (product, entity, commune, district, stars) in enumerate(MERGED_2025, start=1)]
    path = _write(tmp_path / "ocop_dong_thap_moi_2025.xlsx", rows)
    return oa.load_registry(path, corrections=None, links=None, cache=False)


@pytest.fixture
def merged(tmp_path):
    return _merged_registry(tmp_path)


def test_merged_registry_loads_every_row_with_its_old_district(merged):
    ev = merged.evaluations
    assert len(ev) == len(MERGED_2025)
    assert merged.problems[merged.problems["severity"] == "error"].empty
    by_product = dict(zip(ev["product_name"], ev["district_code"]))
    assert by_product["Bánh pía sen"] == 866 and by_product["Nem Sa Đéc"] == 867
    assert by_product["Khô cá lóc"] == 869 and by_product["Gạo sạch Tràm Chim"] == 871
    assert by_product["Quýt hồng sấy"] == 876 and by_product["Bánh phồng tôm"] == 877
    assert by_product["Kẹo dừa Cái Bè"] == 819 and by_product["Sầu riêng sấy"] == 821
    row = ev[ev["product_name"] == "Quýt hồng sấy"].iloc[0]
    assert row["district"] == "Huyện Lai Vung" and row["legacy_province"] == "dong-thap"
    # every row carries the province of 2025 (new Đồng Tháp, GSO 82) and its commune's code
    assert set(ev["province_code"]) == {82}
    assert ev.loc[ev["commune"] == "Phường Sa Đéc", "commune_code"].tolist() == [29905]


def test_a_commune_formed_from_two_old_districts_loads_without_a_district_and_warns(merged):
    ev = merged.evaluations
    assert ev.loc[ev["product_name"] == "Nem chua Lai Vung", "district_code"].isna().all()
    assert ev.loc[ev["product_name"] == "Nem chua Lai Vung", "legacy_province"].tolist() == ["dong-thap"]
    warn = merged.problems[merged.problems["problem"] == "ambiguous_legacy_district"]
    assert len(warn) == 1
    assert warn["severity"].iloc[0] == "warning" and warn["row"].iloc[0] == 9  # header row 1, 8th product
    assert "875" in warn["message"].iloc[0] and "876" in warn["message"].iloc[0]


def test_plan_district_table_on_a_merged_registry_equals_the_hand_count(merged):
    plan = oa.load_plan(oa.paths.DEFAULT_PLAN)
    table = oa.plan.plan_district_table(merged, plan)
    counts = dict(zip(table["district_code"].astype(int), table["count"]))
    assert counts == {code: EXPECTED_4_STAR.get(code, 0) for code in range(866, 878)}
    card = oa.plan_scorecard(merged, plan).set_index("item")
    # old Đồng Tháp only: 9 new rows (the 2 Tiền Giang rows left out), 8 of them 4★ (the ambiguous one included)
    assert card.loc["new_entries", "actual"] == 9
    assert card.loc["new_4_star", "actual"] == 8
    assert card.loc["new_3_star", "actual"] == 1
    assert card.loc["new_4_star_per_district", "actual"] == 2  # 866 and 869 reach 2


def test_tien_giang_rows_keep_their_legacy_province_and_stay_out_of_old_dong_thap(merged):
    ev = merged.evaluations
    tg = ev[ev["legacy_province"] == "tien-giang"]
    assert sorted(tg["product_name"]) == ["Kẹo dừa Cái Bè", "Sầu riêng sấy"]
    assert sorted(tg["district"]) == ["Huyện Châu Thành", "Huyện Cái Bè"]
    table = oa.district_breakdown(ev, by="stars")
    total4 = table[table["is_total"] & (table["stars"] == 4)]["count"].iloc[0]
    assert total4 == sum(EXPECTED_4_STAR.values())  # 7: neither Tiền Giang nor the ambiguous row
    chau_thanh = table[(table["district_code"] == 877) & (table["stars"] == 4)]["count"].iloc[0]
    assert chau_thanh == 0  # xã Châu Thành of former Tiền Giang is not huyện Châu Thành of old Đồng Tháp


def test_commune_geography_groups_by_commune(merged):
    table = oa.district_breakdown(merged.evaluations, by="stars", geography="commune")
    four = table[(table["stars"] == 4) & ~table["is_total"]].set_index("commune")["count"]
    assert four["Phường Cao Lãnh"] == 2 and four["Xã Tân Hồng"] == 2 and four["Xã Lai Vung"] == 2
    assert "Xã Cái Bè" not in four.index
    assert table[table["is_total"] & (table["stars"] == 4)]["count"].iloc[0] == 8
    with pytest.raises(ValueError):
        oa.district_breakdown(merged.evaluations, geography="ward")


def test_an_address_column_gives_commune_and_district_when_there_is_no_district_column(tmp_path):
    headers = ["STT", "Tên sản phẩm", "Tên chủ thể", "Địa chỉ", "Hạng sao", "Ngày quyết định", "Năm đánh giá"]
    rows = [
        [1, "Xoài sấy", "HTX Mỹ Ngãi", "Ấp 2, xã Mỹ Ngãi, TP. Cao Lãnh", 3, dt.date(2023, 12, 20), 2023],
        [2, "Túi giấy lá sen", "Công ty Lá Sen", "số 40/1 Trần Thị Nhượng, phường 4, thành phố Cao Lãnh", 3,
         dt.date(2023, 12, 20), 2023],
        [3, "Khô cá sặc", "Cơ sở Cá Tân Hồng", "ấp 2, xã Tân Hồng, tỉnh Đồng Tháp", 4, H2, 2025],
        [4, "Nem Lai Vung", "Cơ sở Nem Út", "ấp 3, xã Lai Vung, tỉnh Đồng Tháp", 3, H2, 2025],
    ]
    reg = oa.load_registry(_write(tmp_path / "danh_sach.xlsx", rows, headers), corrections=None, links=None,
                           cache=False)
    ev = reg.evaluations.set_index("product_name")
    assert len(ev) == 4 and reg.problems[reg.problems["severity"] == "error"].empty
    # xã Mỹ Ngãi was already a ward before 2025 in the GSO list: the official name is written
    assert ev.loc["Xoài sấy", "district_code"] == 866 and ev.loc["Xoài sấy", "commune"] == "Phường Mỹ Ngãi"
    assert ev.loc["Túi giấy lá sen", "district_code"] == 866 and ev.loc["Túi giấy lá sen", "commune"] == "Phường 4"
    assert ev.loc["Khô cá sặc", "district_code"] == 869 and ev.loc["Khô cá sặc", "commune"] == "Xã Tân Hồng"
    assert pd.isna(ev.loc["Nem Lai Vung", "district_code"])
    assert ev["district_code"].isna().sum() == 1
    warn = reg.problems[reg.problems["problem"] == "ambiguous_legacy_district"]
    assert warn["column"].tolist() == ["address"] and warn["row"].tolist() == [5]


def test_a_registry_of_another_province_loads_with_its_own_districts(tmp_path):
    rows = [
        [1, "Kẹo dừa sáp", "Cơ sở Dừa Xanh", None, None, "H. Chợ Lách", "Thực phẩm", 72, 4, "Mới", "1/QĐ", dt.date(2024, 5, 2), 2024],
        [2, "Bánh tráng dừa", "Cơ sở Mỹ Lồng", None, None, "Huyện Giồng Trôm", "Thực phẩm", 60, 3, "Mới", "1/QĐ", dt.date(2024, 5, 2), 2024],
        [3, "Thạch dừa", "Công ty Dừa Bến Tre", None, None, "Thành phố Bến Tre", "Thực phẩm", 62, 3, "Mới", "1/QĐ", dt.date(2024, 5, 2), 2024],
        [4, "Hạt sen sấy", "Cơ sở Sen Lạc", None, None, "Huyện Lai Vung", "Thực phẩm", 62, 3, "Mới", "1/QĐ", dt.date(2024, 5, 2), 2024],
    ]
    reg = oa.load_registry(_write(tmp_path / "ben_tre.xlsx", rows), province="ben-tre", corrections=None, links=None,
                           cache=False)
    ev = reg.evaluations.set_index("product_name")
    assert ev.loc["Kẹo dừa sáp", "district_code"] == 832 and ev.loc["Kẹo dừa sáp", "district"] == "Huyện Chợ Lách"
    assert ev.loc["Thạch dừa", "district_code"] == 829
    assert set(ev["legacy_province"]) == {"ben-tre"}
    # huyện Lai Vung is Đồng Tháp's, not Bến Tre's: the row is rejected as an unknown district
    errors = reg.problems[reg.problems["severity"] == "error"]
    assert errors["problem"].tolist() == ["unknown_district"] and "Hạt sen sấy" not in ev.index
    table = oa.district_breakdown(reg.evaluations, by="stars", province="ben-tre")
    districts = table[~table["is_total"]]["district_code"].unique().tolist()
    assert districts == geography.districts("ben-tre")["code"].tolist() and 832 in districts
    assert table[table["is_total"]].set_index("stars")["count"].to_dict() == {3: 2, 4: 1, 5: 0}


def test_bubble_map_of_the_loaded_registry_sits_at_the_real_district_positions(merged):
    plan = oa.load_plan(oa.paths.DEFAULT_PLAN)
    table = oa.plan.plan_district_table(merged, plan)
    ax = plot_bubble_map(table, value="count")
    [coll] = [c for c in ax.collections if c.get_gid() == "bubbles"]
    drawn = sorted(map(tuple, coll.get_offsets().tolist()))
    coords = geography.district_coordinates("dong-thap")
    expected = sorted(zip(coords["lon"].astype(float), coords["lat"].astype(float)))
    assert len(drawn) == 12
    assert all(abs(a - c) < 1e-6 and abs(b - d) < 1e-6 for (a, b), (c, d) in zip(drawn, expected))


def test_star_distribution_counts_only_old_dong_thap_rows_of_a_merged_registry(merged):
    dist = oa.star_distribution(merged.evaluations, benchmark=None).set_index("stars")["count"]
    assert dist.to_dict() == {3: 1, 4: 8, 5: 0}  # 2 Tiền Giang 4★ rows left out; the ambiguous Lai Vung row counts


def test_a_revocation_list_with_only_an_address_gets_its_districts(tmp_path):
    headers = ["STT", "Tên sản phẩm", "Tên chủ thể", "Địa chỉ", "Hạng sao", "Năm công nhận", "Số quyết định thu hồi",
               "Ngày thu hồi", "Lý do thu hồi"]
    rows = [
        [1, "Túi giấy lá sen", "Công ty Lá Sen", "số 40/1 Trần Thị Nhượng, khóm 2, phường 4, thành phố Cao Lãnh", 3,
         2021, "196/QĐ-UBND-HC", dt.date(2025, 2, 21), "Không đánh giá lại trong thời hạn 36 tháng"],
        [2, "Quýt hồng", "HTX Quýt", "ấp Tân Hòa, xã Tân Bình, huyện Châu Thành, tỉnh Đồng Tháp", 3,
         2021, "196/QĐ-UBND-HC", dt.date(2025, 2, 21), "Không đánh giá lại trong thời hạn 36 tháng"],
    ]
    reg = oa.load_registry(_write(tmp_path / "thu_hoi.xlsx", rows, headers), corrections=None, links=None,
                           cache=False)
    rev = reg.revocations.set_index("product_name")
    assert rev.loc["Túi giấy lá sen", "district_code"] == 866
    assert rev.loc["Quýt hồng", "district_code"] == 877 and rev.loc["Quýt hồng", "district"] == "Huyện Châu Thành"


def test_tile_map_and_bubble_map_of_another_province(tmp_path):
    rows = [[1, "Kẹo dừa sáp", "Cơ sở Dừa Xanh", None, None, "H. Chợ Lách", "Thực phẩm", 72, 4, "Mới", "1/QĐ",
             dt.date(2024, 5, 2), 2024]]
    reg = oa.load_registry(_write(tmp_path / "ben_tre.xlsx", rows), province="ben-tre", corrections=None, links=None,
                           cache=False)
    totals = oa.analysis.district_totals(oa.district_breakdown(reg.evaluations, province="ben-tre"))
    n = len(geography.districts("ben-tre"))
    ax = oa.charts.plot_tile_map(totals, value="count", province="ben-tre")
    assert any("Chợ Lách" in t.get_text() for t in ax.texts)
    ax = plot_bubble_map(totals, value="count", province="ben-tre")
    [coll] = [c for c in ax.collections if c.get_gid() == "bubbles"]
    assert len(coll.get_offsets()) == n


def test_a_district_of_former_tien_giang_is_kept_and_a_misspelt_district_stays_an_error(tmp_path):
    rows = [
        [1, "Bánh tráng Cái Bè", "Cơ sở Cái Bè Xưa", None, None, "Huyện Cái Bè", "Thực phẩm", 60, 3, "Mới", "1/QĐ",
         dt.date(2024, 5, 2), 2024],
        [2, "Quýt hồng sấy", "HTX Quýt Hồng", None, "Xã Long Hậu", "Huyen Lai Vug", "Thực phẩm", 60, 3, "Mới", "1/QĐ",
         dt.date(2024, 5, 2), 2024],
    ]
    reg = oa.load_registry(_write(tmp_path / "mixed.xlsx", rows), corrections=None, links=None, cache=False)
    ev = reg.evaluations
    assert ev["product_name"].tolist() == ["Bánh tráng Cái Bè"]
    assert ev["district_code"].tolist() == [819] and ev["legacy_province"].tolist() == ["tien-giang"]
    errors = reg.problems[reg.problems["severity"] == "error"]
    assert errors["problem"].tolist() == ["unknown_district"] and "Huyện Lai Vung" in errors["message"].iloc[0]
