"""analysis.py on small hand-built frames; expected numbers worked out by hand from the rows below."""
from __future__ import annotations

import pandas as pd
import pytest

from ocop_analysis import analysis as an
from ocop_analysis import reference, schema

CODES = list(range(866, 878))


def _row(pid, code, stars, year, *, group=1, score=None, certified=None, kind="new", valid_until=None):
    return dict(product_id=pid, product_name=f"SP {pid}", entity_name=f"HTX {pid}", district_code=code,
                stars=stars, year=year, group=group, score=score, kind=kind, valid_until=valid_until,
                certified=(stars is not None and stars >= 3) if certified is None else certified)


@pytest.fixture
def ev():
    # Stock (latest certified per product):
    #   A 876 Lai Vung   3★ 2021 → 4★ 2024 (counts once as 4★, group 1)
    #   B 876 Lai Vung   3★ 2022, failed 2025 re-evaluation (latest certified stays 3★, group 2)
    #   C 866 TP Cao Lãnh 5★ 2023 (group 3)
    #   D 866 TP Cao Lãnh failed 2024 only (never certified: not in the stock)
    #   E 875 Lấp Vò     4★ 2024 (group 1)
    #   F 875 Lấp Vò     3★ 2024 (group <NA>)
    return schema.coerce_evaluations([
        _row("A", 876, 3, 2021, score=62, valid_until="2024-06-01"),
        _row("A", 876, 4, 2024, score=86, kind="upgrade", valid_until="2027-06-01"),
        _row("B", 876, 3, 2022, group=2, score=66, valid_until="2025-05-01"),
        _row("B", 876, None, 2025, group=2, score=45, kind="reevaluation"),
        _row("C", 866, 5, 2023, group=3, score=93, valid_until="2026-09-01"),
        _row("D", 866, None, 2024, score=41),
        _row("E", 875, 4, 2024, score=70.5, valid_until="2027-03-01"),
        _row("F", 875, 3, 2024, group=None, score=68, valid_until="2027-03-01"),
    ])


def _cell(table, code, col, value):
    sel = table[(table["district_code"] == code) & (table[col] == value)]
    assert len(sel) == 1
    return sel.iloc[0]


def test_district_breakdown_stars_every_district_in_order(ev):
    t = an.district_breakdown(ev, by="stars")
    districts = t[~t["is_total"]]
    assert districts["district_code"].drop_duplicates().tolist() == reference.districts()["code"].tolist()
    assert len(districts) == 12 * 3  # 12 districts × {3,4,5}
    assert districts["district"].iloc[0] == "Thành phố Cao Lãnh"
    assert t["is_total"].iloc[-1] and t["district"].iloc[-1] == "Toàn tỉnh"
    # hand counts
    assert _cell(t, 876, "stars", 4)["count"] == 1  # A, once, at 4★
    assert _cell(t, 876, "stars", 3)["count"] == 1  # B
    assert _cell(t, 866, "stars", 5)["count"] == 1  # C; D never certified
    assert _cell(t, 866, "stars", 3)["count"] == 0
    assert _cell(t, 875, "stars", 3)["count"] == 1 and _cell(t, 875, "stars", 4)["count"] == 1
    assert _cell(t, 869, "stars", 3)["count"] == 0  # zeros included
    total = t[t["is_total"]].set_index("stars")
    assert total["count"].to_dict() == {3: 2, 4: 2, 5: 1}
    assert set(total["total"]) == {5}


def test_district_breakdown_shares_sum_to_one(ev):
    t = an.district_breakdown(ev, by="stars")
    sums = t[t["total"] > 0].groupby("order")["share"].sum()
    assert sums.round(12).eq(1).all()
    assert t.loc[t["total"] == 0, "share"].isna().all()
    assert _cell(t, 876, "stars", 4)["share"] == 0.5


def test_district_breakdown_year_counts_that_years_rounds(ev):
    t = an.district_breakdown(ev, by="stars", year=2024)
    total = t[t["is_total"]].set_index("stars")["count"].to_dict()
    assert total == {3: 1, 4: 2, 5: 0}  # A 4★, E 4★, F 3★; D failed
    assert _cell(t, 876, "stars", 3)["count"] == 0


def test_district_breakdown_valid_only(ev):
    # As of 2025-08-01: A valid (2027), B latest round failed, C valid (2026), E, F valid.
    t = an.district_breakdown(ev, by="stars", valid_only=True, as_of="2025-08-01")
    assert t[t["is_total"]].set_index("stars")["count"].to_dict() == {3: 1, 4: 2, 5: 1}
    # As of 2026-10-01 C has expired.
    t = an.district_breakdown(ev, by="stars", valid_only=True, as_of="2026-10-01")
    assert _cell(t, 866, "stars", 5)["count"] == 0


def test_district_breakdown_group_keeps_missing_group(ev):
    t = an.district_breakdown(ev, by="group")
    assert t.loc[~t["is_total"], "district_code"].nunique() == 12
    total = t[t["is_total"]]
    assert total.loc[total["group"].isna(), "count"].item() == 1  # F has no group
    known = total.dropna(subset=["group"]).set_index("group")["count"].to_dict()
    assert known == {1: 2, 2: 1, 3: 1, 4: 0, 5: 0, 6: 0}
    assert total["count"].sum() == 5


def test_district_breakdown_rejects_bad_by(ev):
    with pytest.raises(ValueError, match="by must be"):
        an.district_breakdown(ev, by="entity")


def test_district_totals(ev):
    tot = an.district_totals(an.district_breakdown(ev))
    assert tot["district_code"].tolist() == CODES
    assert tot.set_index("district_code")["count"].to_dict()[876] == 2
    assert tot["count"].sum() == 5


def test_star_distribution_overall_with_benchmark(ev):
    d = an.star_distribution(ev)
    reg = d[d["source"] == "registry"].set_index("stars")
    assert reg["count"].to_dict() == {3: 2, 4: 2, 5: 1}
    assert reg["share"].sum() == pytest.approx(1)
    assert reg["share"][3] == pytest.approx(0.4)
    nat = d[d["source"] == "national"].set_index("stars")
    # OCOP.md §4.3, Dec 2024: 15,590 products, 76.2% 3★, 22.9% 4★, 79 5★
    assert set(nat["benchmark_as_of"]) == {"2024-12-31"}
    assert nat["total"].unique().tolist() == [15590]
    assert nat["share"][3] == pytest.approx(0.762) and nat["share"][4] == pytest.approx(0.229)
    assert nat["count"][5] == 79


def test_star_distribution_by_year(ev):
    d = an.star_distribution(ev, by="year", benchmark=None)
    assert sorted(d["year"].unique()) == [2021, 2022, 2023, 2024, 2025]
    y = d.set_index(["year", "stars"])["count"]
    assert y[(2024, 4)] == 2 and y[(2024, 3)] == 1 and y[(2021, 3)] == 1 and y[(2023, 5)] == 1
    assert d[d["year"] == 2025]["count"].sum() == 0  # only a failed round in 2025
    sums = d[d["total"] > 0].groupby("year")["share"].sum()
    assert sums.round(12).eq(1).all()


def test_star_distribution_by_group_and_district(ev):
    g = an.star_distribution(ev, by="group", benchmark=None)
    assert sorted(g["group"].dropna().unique()) == [1, 2, 3, 4, 5, 6]
    assert g.loc[g["group"].isna(), "count"].sum() == 1  # F has no group: kept, not dropped
    assert g["count"].sum() == 5
    assert g.set_index(["group", "stars"])["count"][(1, 4)] == 2  # A and E
    assert g.loc[g["group"] == 1, "label"].iloc[0] == "Thực phẩm"
    d = an.star_distribution(ev, by="district", benchmark=None)
    assert d["district_code"].drop_duplicates().tolist() == CODES
    assert d.set_index(["district_code", "stars"])["count"][(866, 5)] == 1


def test_national_benchmark_dates():
    assert an.national_benchmark("2023-12-31").set_index("stars")["count"][5] == 42
    with pytest.raises(ValueError, match="dates available"):
        an.national_benchmark("2019-01-01")


def test_score_bands(ev):
    b = an.score_bands(ev).set_index("stars")
    # scores: 62, 86, 66, 45, 93, 41, 70.5, 68 → <30:0, 30–49: 2, 50–69: 3, 70–89: 2, 90+: 1
    assert b["count"].to_dict() == {1: 0, 2: 2, 3: 3, 4: 2, 5: 1}
    assert b["total"].unique().tolist() == [8]
    assert b["share"].sum() == pytest.approx(1)
    assert b.loc[3, "min_score"] == 50 and b.loc[4, "min_score"] == 70 and b.loc[5, "min_score"] == 90
    assert an.score_bands(ev, year=2024).set_index("stars")["count"].to_dict() == {1: 0, 2: 1, 3: 1, 4: 2, 5: 0}


def test_score_band_edges():
    ev = schema.coerce_evaluations([dict(score=s) for s in (49.99, 50, 69.9, 70, 89.99, 90, 100, None)])
    b = an.score_bands(ev).set_index("stars")
    assert b["count"].to_dict() == {1: 0, 2: 1, 3: 2, 4: 2, 5: 2}
    assert b["unscored"].unique().tolist() == [1]


def test_upgrade_candidates(ev):
    # Latest certified with a score: A 4★ 86 (4 to 90), C 5★ (top), E 4★ 70.5 (19.5), F 3★ 68 (2 to 70).
    # B's latest round failed, so B is not a candidate.
    u = an.upgrade_candidates(ev, within=5)
    assert u["product_id"].tolist() == ["F", "A"]
    assert u["points_needed"].tolist() == [2.0, 4.0]
    assert u["next_stars"].tolist() == [4, 5]
    assert u["next_min_score"].tolist() == [70.0, 90.0]
    assert an.upgrade_candidates(ev, within=3)["product_id"].tolist() == ["F"]
    with pytest.raises(ValueError):
        an.upgrade_candidates(ev, within=0)


def test_select(ev):
    assert len(an.select(ev, year=2024)) == 4
    assert len(an.select(ev, district=876)) == 4
    assert len(an.select(ev, group=1, year="all")) == 4
    assert len(an.select(ev)) == len(ev)


def test_input_not_mutated(ev):
    before = ev.copy()
    an.district_breakdown(ev, by="group", year=2024)
    an.star_distribution(ev, by="year")
    an.upgrade_candidates(ev)
    pd.testing.assert_frame_equal(ev, before)


def test_empty_frame_gives_all_zero_table():
    t = an.district_breakdown(schema.coerce_evaluations(), by="stars")
    assert len(t) == 13 * 3 and t["count"].sum() == 0
    d = an.star_distribution(schema.coerce_evaluations(), benchmark=None)
    assert d["count"].sum() == 0


def test_readable_tables(ev):
    t = an.breakdown_table(an.district_breakdown(ev, by="stars"))
    assert list(t.columns) == ["3 sao", "4 sao", "5 sao", "Tổng"]
    assert t.index[0] == "Thành phố Cao Lãnh" and t.index[-1] == "Toàn tỉnh" and len(t) == 13
    assert t.loc["Huyện Lai Vung"].tolist() == [1, 1, 0, 2]
    assert t.loc["Toàn tỉnh"].tolist() == [2, 2, 1, 5]
    g = an.distribution_table(an.star_distribution(ev, by="group"), by="group", lang="en")
    assert g.loc["(no group)", "3★"] == 1 and g.loc["Food", "4★"] == 2
    assert g.loc["Nationwide (Dec 2024)", "Total"] == 15590
    y = an.distribution_table(an.star_distribution(ev, by="year"), by="year")
    assert y.loc["2024", "% 4 sao"] == 66.7 and y.loc["2024", "Tổng"] == 3


def test_count_table_counts_rows_or_sums_values_with_totals():
    from ocop_analysis.analysis import count_table
    frame = pd.DataFrame({"year": [2021, 2021, 2022], "kind": pd.Categorical(["new", "upgrade", "new"],
                                                                           categories=["new", "reevaluation", "upgrade"])})
    t = count_table(frame, "year", "kind")
    # every kind kept (reevaluation: 0), totals by hand: 2021 -> 2, 2022 -> 1, all -> 3
    assert t.loc[2021].tolist() == [1, 0, 1, 2] and t.loc[2022].tolist() == [1, 0, 0, 1]
    assert t.loc["Tổng"].tolist() == [2, 0, 1, 3]
    dist = pd.DataFrame({"year": [2021, 2021, 2022], "stars": [3, 4, 3], "count": [5, 2, 7]})
    t = count_table(dist, "year", "stars", values="count", lang="en")
    assert t.loc["Total"].tolist() == [12, 2, 14] and t.loc[2021, "Total"] == 7
