"""Certificate lifecycle on hand-built histories whose answers are worked out in the comments.

Validity 36 months; re-evaluation window from 12 months before expiry to 6 months after;
'expiring' within 6 months (reference/rules.csv). A 2019 certificate dated 16/12/2019
expires 16/12/2022; its window is 16/12/2021 – 16/06/2023.
"""
import datetime as dt

import pandas as pd
import pytest

from ocop_analysis import lifecycle as lc
from ocop_analysis import schema
from ocop_analysis.linking import assign_product_ids
from ocop_analysis.registry import Registry

LAI_VUNG, TP_CAO_LANH, H_CAO_LANH, H_HONG_NGU, TAN_HONG = 876, 866, 873, 870, 869
NAMES = {866: "Thành phố Cao Lãnh", 869: "Huyện Tân Hồng", 870: "Huyện Hồng Ngự", 873: "Huyện Cao Lãnh",
         876: "Huyện Lai Vung"}


def ev(pid, date, stars, *, year=None, district=LAI_VUNG, kind=None):
    year = year if year is not None else int(date[:4])
    return {"product_id": pid, "product_name": f"Sản phẩm {pid}", "entity_name": f"HTX {pid}",
            "district_code": district, "district": NAMES[district], "year": year, "stars": stars,
            "certified": stars is not None, "decision_date": date, "kind": kind}


HISTORY = [
    ev("A", "2019-12-16", 3), ev("A", "2022-12-29", 3, district=TP_CAO_LANH),  # re-evaluated, same
    ev("B", "2019-12-16", 3), ev("B", "2022-02-01", 4),                        # early (window opens 16/12/2021), up
    ev("C", "2019-12-16", 4), ev("C", "2023-05-20", 4, district=H_HONG_NGU),   # late but within +6 months, same
    ev("D", "2019-12-16", 3), ev("D", "2023-09-01", 3),                        # too late: 2019 lapsed, 2023 new
    ev("E", "2019-12-16", 3), ev("E", "2022-12-29", None),                     # failed, then revoked
    ev("E2", "2020-12-07", 3), ev("E2", "2023-03-01", None),                   # failed; old certificate stays in force
    ev("F", "2019-12-16", 3), ev("F", "2024-12-20", 3),                        # lapsed, re-entered as new in 2024
    ev("G", "2019-12-16", 3), ev("G", "2022-06-01", None), ev("G", "2022-12-29", 3),  # twice: failed then passed
    ev("H", "2019-12-16", 4), ev("H", "2022-12-29", 3, district=H_CAO_LANH),   # downgraded
    ev("I", "2019-12-16", 3),                                                  # lapsed, revoked
    ev("J", "2020-06-01", 3), ev("J", "2020-12-07", 4),                        # certified twice in one year
    ev("K", "2019-12-16", 3), ev("K", "2020-12-07", 4),                        # upgraded before the window
    ev("N", "2021-12-10", None),                                               # never certified
    ev("P", "2023-03-01", 3),                                                  # revoked while in force
]
REVOCATIONS = pd.DataFrame({
    "product_id": ["E", "I", "O", "P"],
    "product_name": ["Sản phẩm E", "Sản phẩm I", "Sản phẩm O", "Sản phẩm P"],
    "entity_name": ["HTX E", "HTX I", "HTX O", "HTX P"],
    "district_code": pd.array([LAI_VUNG, None, TAN_HONG, LAI_VUNG], dtype="Int64"),
    "district": ["Huyện Lai Vung", None, "Huyện Tân Hồng", "Huyện Lai Vung"],
    "stars": [3, 3, 3, 3],
    "year_recognized": [2019, 2019, 2019, 2023],
    "revoked_on": pd.to_datetime(["2023-02-10", "2023-02-10", "2023-02-10", "2024-05-01"]),
    "reason": ["Không đạt tiêu chí bắt buộc", "Không đánh giá lại trong thời hạn 36 tháng",
               "not_reevaluated", "Vi phạm an toàn thực phẩm"],
})
AS_OF = dt.date(2025, 6, 30)


@pytest.fixture
def reg():
    return Registry(evaluations=schema.coerce_evaluations(HISTORY), revocations=REVOCATIONS, as_of=AS_OF)


def by_cohort(rates, cohort):
    return rates.set_index("cohort").loc[cohort]


# --------------------------------------------------------------------------- cohort members and rates

def test_outcome_of_every_2019_certificate(reg):
    m = lc.cohort_members(reg).query("cohort == 2019").set_index("product_id")["outcome"].astype(str)
    assert m.to_dict() == {"A": "same", "B": "upgraded", "C": "same", "D": "lapsed", "E": "revoked",
                           "F": "lapsed", "G": "same", "H": "downgraded", "I": "revoked", "K": "superseded"}


def test_2019_cohort_rates(reg):
    r = by_cohort(lc.reevaluation_rates(reg), 2019)
    # A, B, C, E, G, H took part in the window; D came too late; F, I never; K was upgraded in 2020
    assert r["recognized"] == 10 and r["due"] == 10
    assert r["reevaluated"] == 6 and r["rate"] == pytest.approx(0.6)
    assert r["recertified"] == 5 and r["recertified_rate"] == pytest.approx(0.5)
    assert (r["upgraded"], r["same"], r["downgraded"], r["failed"]) == (1, 3, 1, 1)
    assert (r["lapsed"], r["revoked"], r["superseded"], r["pending"]) == (3, 2, 1, 0)


def test_cohort_counts_a_product_certified_twice_in_a_year_once(reg):
    r = by_cohort(lc.reevaluation_rates(reg), 2020)
    # J (twice in 2020, counted once), K (upgrade of 2020), E2; all expired 07/12/2023
    assert (r["recognized"], r["due"], r["reevaluated"], r["failed"], r["lapsed"]) == (3, 3, 1, 1, 2)


def test_later_cohorts_and_pending(reg):
    rates = lc.reevaluation_rates(reg)
    r22 = by_cohort(rates, 2022)  # A, B, G, H; only B's (01/02/2022 → 01/02/2025) has expired
    assert (r22["recognized"], r22["due"], r22["lapsed"], r22["pending"]) == (4, 1, 1, 3)
    r23 = by_cohort(rates, 2023)  # C, D, P; P revoked while in force
    assert (r23["recognized"], r23["due"], r23["revoked"], r23["pending"]) == (3, 0, 1, 2)
    assert by_cohort(rates, 2024)["recognized"] == 1  # F re-entered as new
    assert 2021 not in set(rates["cohort"])  # N failed: no certificate


def test_rates_carry_numerator_and_denominator_and_interface_columns(reg):
    rates = lc.reevaluation_rates(reg)
    for col in ["cohort", "recognized", "due", "reevaluated", "rate", "upgraded", "same", "downgraded",
                "failed", "lapsed", "revoked", "recertified"]:
        assert col in rates.columns
    assert (rates["rate"] == rates["reevaluated"] / rates["recognized"]).all()
    assert rates["cohort"].tolist() == sorted(rates["cohort"])


def test_rates_for_chosen_cohorts_list_empty_years(reg):
    rates = lc.reevaluation_rates(reg, cohorts=range(2019, 2023))
    assert rates["cohort"].tolist() == [2019, 2020, 2021, 2022]
    r21 = by_cohort(rates, 2021)
    assert r21["recognized"] == 0 and pd.isna(r21["rate"])


def test_as_of_in_the_past_ignores_later_results(reg):
    rates = lc.reevaluation_rates(reg, as_of="2022-06-30")
    r = by_cohort(rates, 2019)
    # by then: B re-evaluated (01/02/2022) and G failed (01/06/2022); nothing due yet; K superseded
    assert (r["due"], r["reevaluated"], r["recertified"], r["failed"], r["superseded"]) == (0, 2, 1, 1, 1)
    assert r["pending"] == 7
    assert 2023 not in set(rates["cohort"])


def test_certificate_of_late_december_is_reevaluated_three_years_later():
    # 29/12/2022 expires 29/12/2025; a 2025 re-evaluation (20/11/2025) is in its window
    reg = Registry(evaluations=schema.coerce_evaluations([
        ev("L", "2022-12-29", 3), ev("L", "2025-11-20", 4),
        ev("M", None, 3, year=2022), ev("M", None, 3, year=2025),  # year only: 31/12/2022 → 31/12/2025
    ]), as_of=dt.date(2026, 1, 31))
    r = by_cohort(lc.reevaluation_rates(reg), 2022)
    assert (r["recognized"], r["reevaluated"], r["upgraded"], r["same"]) == (2, 2, 1, 1)
    products = lc.build_products(reg).set_index("product_id")
    assert products.at["M", "valid_until"] == pd.Timestamp("2028-12-31")
    assert bool(products.at["M", "valid_until_estimated"]) is True
    assert bool(products.at["L", "valid_until_estimated"]) is False


def test_cohort_outcomes_are_exclusive_and_complete(reg):
    out = lc.cohort_outcomes(reg, cohorts=[2019, 2020])
    assert out["outcome"].cat.categories.tolist() == lc.OUTCOMES
    c19 = out[out["cohort"] == 2019].set_index("outcome")["count"].to_dict()
    assert c19 == {"upgraded": 1, "same": 3, "downgraded": 1, "superseded": 1, "failed": 0, "lapsed": 2,
                   "revoked": 2, "still_valid": 0}
    assert out.groupby("cohort")["count"].sum().tolist() == [10, 3]
    assert out.loc[(out["cohort"] == 2019) & (out["outcome"] == "revoked"), "share"].item() == pytest.approx(0.2)


def test_cohort_target_against_the_plan_share(reg):
    rates = lc.reevaluation_rates(reg)
    t = lc.cohort_target(rates, 2019, 0.5).iloc[0]
    assert (t["recognized"], t["target"], t["reevaluated"], t["gap"], bool(t["met"])) == (10, 5, 6, 0, True)
    t = lc.cohort_target(rates, 2022, 0.5).iloc[0]
    assert (t["target"], t["reevaluated"], t["gap"], bool(t["met"])) == (2, 0, 2, False)


# --------------------------------------------------------------------------- products

def test_products_status_and_certificate_in_force(reg):
    p = lc.build_products(reg).set_index("product_id")
    status = p["status"].astype(str).to_dict()
    assert status == {
        "A": "expiring",        # 29/12/2025 is within 6 months of 30/06/2025
        "B": "expired",         # 01/02/2025
        "C": "valid",           # 20/05/2026
        "D": "valid", "F": "valid",
        "E": "revoked", "I": "revoked", "P": "revoked", "O": "revoked",
        "E2": "expired", "G": "expiring", "H": "expiring",
        "J": "expired", "K": "expired",
        "N": "never_certified",
    }
    assert p.at["A", "stars_now"] == 3 and pd.isna(p.at["B", "stars_now"])
    assert p.at["A", "district_code"] == TP_CAO_LANH  # latest result's district


def test_products_first_and_latest(reg):
    p = lc.build_products(reg).set_index("product_id")
    assert (p.at["F", "first_year"], p.at["F", "first_stars"], p.at["F", "latest_year"]) == (2019, 3, 2024)
    assert (p.at["J", "first_stars"], p.at["J", "latest_stars"], p.at["J", "evaluations"]) == (3, 4, 2)
    assert p.at["G", "latest_certified"] == pd.Timestamp("2022-12-29")
    assert p.at["E2", "latest_year"] == 2023 and pd.isna(p.at["E2", "latest_stars"])
    assert pd.isna(p.at["N", "first_year"]) and pd.isna(p.at["N", "valid_until"])
    assert p.at["E", "revoked_on"] == pd.Timestamp("2023-02-10")
    assert list(p.reset_index().columns) == lc.PRODUCT_COLUMNS


def test_failed_reevaluation_leaves_the_old_certificate_in_force(reg):
    p = lc.build_products(reg, as_of="2023-06-01").set_index("product_id")
    # E2: 3★ of 07/12/2020 (until 07/12/2023), failed on 01/03/2023
    assert p.at["E2", "status"] == "valid" and p.at["E2", "stars_now"] == 3
    assert pd.isna(p.at["E2", "latest_stars"])


def test_revoked_product_that_came_back_is_valid_again():
    reg = Registry(evaluations=schema.coerce_evaluations([ev("R", "2019-12-16", 3), ev("R", "2024-12-20", 3)]),
                   revocations=pd.DataFrame({"product_id": ["R"], "year_recognized": [2019],
                                             "revoked_on": pd.to_datetime(["2023-02-10"]),
                                             "reason": ["not_reevaluated"]}),
                   as_of=AS_OF)
    p = lc.build_products(reg).set_index("product_id")
    assert p.at["R", "status"] == "valid" and p.at["R", "revoked_on"] == pd.Timestamp("2023-02-10")
    r = by_cohort(lc.reevaluation_rates(reg), 2019)
    assert (r["lapsed"], r["revoked"]) == (1, 1)


def test_registry_products_property_uses_its_as_of(reg):
    assert reg.products["status"].astype(str).tolist() == lc.build_products(reg, AS_OF)["status"].astype(str).tolist()


# --------------------------------------------------------------------------- expiry calendar

def test_expiry_calendar_lists_certificates_in_force(reg):
    cal = lc.expiry_calendar(reg, start="2025-06-30", months=12)
    counts, products = cal  # unpacks
    # in force and ending from 30/06/2025 to 31/05/2026 (12 calendar months): A, G (TP Cao Lãnh / Lai Vung), H 29/12/2025; C 20/05/2026.
    # P (until 01/03/2026) is revoked; D, F end later; B, J, K already expired.
    assert products["product_id"].tolist() == ["A", "H", "G", "C"]  # by expiry, then district code
    assert list(products.columns[:6]) == ["entity_name", "product_name", "stars", "valid_until",
                                          "valid_until_estimated", "district"]
    assert products["stars"].tolist() == [3, 3, 3, 4]
    assert counts["count"].sum() == 4
    months = sorted(counts["month"].unique())
    assert len(months) == 12 and months[0] == pd.Timestamp("2025-06-01")
    cell = counts.set_index(["month", "district_code"])["count"]
    assert cell[(pd.Timestamp("2025-12-01"), TP_CAO_LANH)] == 1
    assert cell[(pd.Timestamp("2025-12-01"), LAI_VUNG)] == 1
    assert cell[(pd.Timestamp("2025-12-01"), H_CAO_LANH)] == 1
    assert cell[(pd.Timestamp("2026-05-01"), H_HONG_NGU)] == 1
    assert counts["district_code"].nunique() == 12  # every district, zeros included


def test_expiry_calendar_defaults_to_the_registry_date_and_has_a_wide_table(reg):
    cal = lc.expiry_calendar(reg, months=7)  # 30/06/2025 to 31/12/2025
    assert cal.start == pd.Timestamp(AS_OF) and cal.end == pd.Timestamp("2026-01-01")
    assert cal.products["product_id"].tolist() == ["A", "H", "G"]
    table = cal.table()
    assert table.loc["total", "total"] == 3
    assert table.loc["Huyện Lai Vung", "12/2025"] == 1
    assert list(table.columns[:2]) == ["06/2025", "07/2025"] and len(table.columns) == 7 + 1
    assert lc.expiry_calendar(reg, months=6).products.empty  # 06–11/2025: nothing ends then


# --------------------------------------------------------------------------- transitions

def test_transitions(reg):
    t = lc.transitions(reg)
    got = {(k, int(b), str(a)): int(c) for k, b, a, c in t[t["count"] > 0].itertuples(index=False)}
    assert got == {
        ("reevaluation", 3, "3"): 2,        # A, G (second round)
        ("reevaluation", 3, "4"): 1,        # B
        ("reevaluation", 4, "4"): 1,        # C
        ("reevaluation", 3, "failed"): 3,   # E, E2, G (first round)
        ("reevaluation", 4, "3"): 1,        # H
        ("upgrade", 3, "4"): 2,             # J within 2020, K 2020 over 2019
    }
    assert t["stars_after"].cat.categories.tolist() == ["3", "4", "5", "failed"]
    assert len(t) == 2 * 3 * 4  # full grid


# --------------------------------------------------------------------------- revocations

def test_revocations_by_district(reg):
    r = lc.revocations_by_district(reg).set_index("district_code")
    assert len(r) == 12 and r.index[0] == 866  # official order, all districts
    # E failed_mandatory, I not_reevaluated (district from its evaluations), P other; O in Tân Hồng
    assert r.loc[LAI_VUNG, ["not_reevaluated", "failed_mandatory", "other", "total"]].tolist() == [1, 1, 1, 3]
    assert r.loc[TAN_HONG, ["not_reevaluated", "total"]].tolist() == [1, 1]
    assert r["total"].sum() == 4
    assert lc.revocations_by_district(reg, cohort=2023)["total"].sum() == 1


def test_revocations_by_district_of_a_cohort_skip_revocations_without_a_year():
    # I's recognition year left blank: of the 2019 revocations only E (Lai Vung) and O (Tân Hồng) remain
    revs = REVOCATIONS.assign(year_recognized=pd.array([2019, None, 2019, 2023], dtype="Int64"))
    reg = Registry(evaluations=schema.coerce_evaluations(HISTORY), revocations=revs, as_of=AS_OF)
    r = lc.revocations_by_district(reg, cohort=2019).set_index("district_code")
    assert r.loc[LAI_VUNG, ["not_reevaluated", "failed_mandatory", "total"]].tolist() == [0, 1, 1]
    assert r.loc[TAN_HONG, ["not_reevaluated", "total"]].tolist() == [1, 1]
    assert r["total"].sum() == 2


# --------------------------------------------------------------------------- with linking

def test_lifecycle_on_names_linked_across_years():
    rows = schema.coerce_evaluations([
        {**ev(None, "2019-12-16", 3), "entity_name": "Cơ sở Ba Hưng", "product_name": "Bánh tráng sữa",
         "district_code": 867, "district": "Thành phố Sa Đéc"},
        {**ev(None, "2022-12-29", 4), "entity_name": "Công ty TNHH Ba Hưng", "product_name": "Bánh Tráng  Sữa",
         "district_code": 867, "district": "Thành phố Sa Đéc"},
        {**ev(None, "2019-12-16", 3), "entity_name": "HTX Mỹ Xương", "product_name": "Xoài cát Hòa Lộc",
         "district_code": 873, "district": "Huyện Cao Lãnh"},
        {**ev(None, "2022-12-29", 3), "entity_name": "Hợp tác xã Mỹ Xương", "product_name": "Xoài cát Hoà Lộc",
         "district_code": 866, "district": "Thành phố Cao Lãnh"},
    ])
    ids, problems = assign_product_ids(rows)
    rows["product_id"] = ids
    reg = Registry(evaluations=rows, as_of=AS_OF)
    r = by_cohort(lc.reevaluation_rates(reg), 2019)
    assert (r["recognized"], r["reevaluated"], r["upgraded"], r["same"]) == (2, 2, 1, 1)
    assert problems == []
    assert len(reg.products) == 2
    moved = reg.products.set_index("entity_name").loc["Hợp tác xã Mỹ Xương"]
    assert moved["district_code"] == 866


def test_empty_registry():
    reg = Registry()
    assert lc.reevaluation_rates(reg).empty
    assert lc.build_products(reg).empty
    assert lc.expiry_calendar(reg).products.empty
    assert lc.transitions(reg)["count"].sum() == 0
    assert lc.revocations_by_district(reg)["total"].sum() == 0


# --------------------------------------------------------------------------- the sample registries

@pytest.fixture(scope="module")
def sample():
    import ocop_analysis as oa

    return oa.load_registry(oa.paths.SAMPLE_DIR, as_of="2025-12-31")


def test_sample_2019_cohort_matches_the_published_2022_round(sample):
    # domain/OCOP.md §3.2: 34 of the 70 products of 2019 re-certified in 2022 (30 3★ + 4 4★);
    # 10 re-evaluated but failed; 25 revoked in Feb 2023 (15 did not take part, 10 failed)
    r = by_cohort(lc.reevaluation_rates(sample), 2019)
    assert (r["recognized"], r["recertified"], r["failed"], r["reevaluated"]) == (70, 34, 10, 44)
    assert r["revoked"] == 25
    m = lc.cohort_members(sample).query("cohort == 2019 and recertified")
    assert (m["reevaluated_on"].dt.year == 2022).all()
    assert m["stars_after"].value_counts().to_dict() == {3: 30, 4: 4}
    rev = lc.revocations_by_district(sample, cohort=2019)
    assert (rev["not_reevaluated"].sum(), rev["failed_mandatory"].sum()) == (15, 10)


def test_sample_2020_cohort_matches_the_published_2023_round(sample):
    # §3.2: 55 of the 99 products of 2020 entered re-evaluation in 2023; 30 + 20 = 50 re-certified
    r = by_cohort(lc.reevaluation_rates(sample), 2020)
    assert (r["recognized"], r["reevaluated"], r["recertified"]) == (99, 55, 50)
    m = lc.cohort_members(sample).query("cohort == 2020 and reevaluated")
    assert (m["reevaluated_on"].dt.year == 2023).all()


def test_sample_2021_revocations_match_the_published_47(sample):
    # §3.2: 47 products of 2021 revoked: 41 not re-registered, 6 failed; huyện Hồng Ngự most (8), TP Cao Lãnh 1
    rev = lc.revocations_by_district(sample, cohort=2021).set_index("district_code")
    assert (rev["not_reevaluated"].sum(), rev["failed_mandatory"].sum(), rev["total"].sum()) == (41, 6, 47)
    assert rev["total"].idxmax() == 870 and rev.at[870, "total"] == 8 and rev.at[866, "total"] == 1
    assert by_cohort(lc.reevaluation_rates(sample), 2021)["revoked"] == 47


def test_sample_cohort_sizes_and_calendar(sample):
    rates = lc.reevaluation_rates(sample, cohorts=range(2019, 2023))
    assert rates["recognized"].tolist() == [70, 99, 104, 156]  # §4.1
    cal = lc.expiry_calendar(sample, start="2026-01-01", months=12)
    assert len(cal.counts["month"].unique()) == 12
    assert cal.counts["count"].sum() == len(cal.products) > 0
    assert set(cal.products["status"]) <= {"valid", "expiring"}
    products = sample.products
    assert products["product_id"].is_unique
    assert set(cal.products["product_id"]) <= set(products.loc[products["status"].isin(["valid", "expiring"]),
                                                               "product_id"])


def test_plan_cohort_targets_reads_the_plan(sample):
    import ocop_analysis as oa

    plan = oa.load_plan(oa.paths.DEFAULT_PLAN)
    rates = lc.reevaluation_rates(sample)
    t = lc.plan_cohort_targets(rates, plan)
    assert t["cohort"].tolist() == [2022]  # the 2025 plan: ≥ 50% of the 2022 cohort (156 → 78)
    row = t.iloc[0]
    assert (row["recognized"], row["target_share"], row["target"]) == (156, 0.5, 78)
    assert row["reevaluated"] == by_cohort(rates, 2022)["reevaluated"]
    assert row["gap"] == max(78 - row["reevaluated"], 0) and bool(row["met"]) == (row["reevaluated"] >= 78)


# --------------------------------------------------------------------------- notebook 04

def test_notebook_04_runs_on_the_sample_and_writes_its_figures(tmp_path):
    import os

    import nbformat
    import papermill as pm

    from ocop_analysis import paths

    backend = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "Agg"
    try:
        pm.execute_notebook(str(paths.NOTEBOOKS_DIR / "04_reevaluation.ipynb"), str(tmp_path / "04.ipynb"),
                            kernel_name="python3", progress_bar=False, cwd=str(tmp_path),
                            parameters={"output_dir": str(tmp_path), "as_of": "2025-12-31"})
    finally:
        os.environ.pop("MPLBACKEND") if backend is None else os.environ.__setitem__("MPLBACKEND", backend)
    nb = nbformat.read(tmp_path / "04.ipynb", as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert [o for o in outputs if o.output_type == "error"] == []
    names = {p.name for p in (tmp_path / "figures").iterdir()}
    for stem in ("reevaluation_target", "reevaluation_cohorts", "star_transitions", "expiry_calendar",
                 "revocations_by_district"):
        assert {f"{stem}.png", f"{stem}.svg"} <= names
    assert (tmp_path / "expiry_calendar.xlsx").is_file()
    text = "\n".join(o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "cohort_2022_reevaluated" in text  # the plan's target row


def test_revocation_without_its_year_is_tied_to_the_certificate_before_it():
    evs = schema.coerce_evaluations([ev("S", "2019-12-16", 3), ev("S", "2022-12-29", 3), ev("U", "2020-12-07", 4)])
    revs = pd.DataFrame({"product_id": ["S", "U"], "year_recognized": pd.array([None, None], dtype="Int64"),
                         "revoked_on": pd.to_datetime(["2023-02-10", None]), "reason": ["x", "y"]})
    reg = Registry(evaluations=evs, revocations=revs, as_of=AS_OF)
    m = lc.cohort_members(reg).set_index(["product_id", "cohort"])["revoked"]
    # S: revoked 10/02/2023 → its newest certificate by then (29/12/2022); U: undated → its latest
    assert m.to_dict() == {("S", 2019): False, ("S", 2022): True, ("U", 2020): True}
    p = lc.build_products(reg).set_index("product_id")["status"].astype(str)
    assert p.to_dict() == {"S": "revoked", "U": "revoked"}
    assert lc.revocations_by_district(reg)["other"].sum() == 2


def test_evaluations_without_ids_are_linked_on_the_fly():
    rows = [{**ev("x", "2019-12-16", 3), "product_id": None, "entity_name": "HTX Mỹ Xương"},
            {**ev("x", "2022-12-29", 4), "product_id": None, "entity_name": "Hợp tác xã Mỹ Xương"}]
    reg = Registry(evaluations=schema.coerce_evaluations(rows), as_of=AS_OF)
    r = by_cohort(lc.reevaluation_rates(reg), 2019)
    assert (r["recognized"], r["reevaluated"], r["upgraded"]) == (1, 1, 1)


def test_expiry_calendar_to_excel_titles_its_sheets_in_the_language_asked(tmp_path):
    import ocop_analysis as oa

    reg = oa.load_registry(oa.paths.SAMPLE_DIR)
    calendar = oa.expiry_calendar(reg, start="2025-06-01")
    for lang, titles in (("vi", ["Lịch hết hạn", "Danh sách liên hệ"]), ("en", ["Expiry calendar", "Contact list"])):
        path = calendar.to_excel(tmp_path / f"cal_{lang}.xlsx", lang=lang)
        sheets = pd.read_excel(path, sheet_name=None, engine="calamine")
        assert list(sheets)[:2] == titles
        # one row per district + the total row; one row per certificate on the call list
        assert len(sheets[titles[0]]) == calendar.counts["district"].nunique() + 1
        assert len(sheets[titles[1]]) == len(calendar.products)


# --------------------------------------------------------------------------- same answers however the rows fall

def test_two_results_on_one_day_the_later_row_decides_for_every_product():
    # 20 identical histories: 3★ of 16/12/2019, then two rows of 29/12/2022 (in the window
    # 16/12/2021 – 16/06/2023), 4★ then 3★ below it. Results are ordered by date, then by row,
    # so the 3★ row is the later one: each 2019 certificate is renewed at the same stars, for all
    # 20 products alike (an unstable sort once answered 4★ for some of them, by position).
    rows = []
    for i in range(20):
        rows += [ev(f"T{i:02d}", "2019-12-16", 3), ev(f"T{i:02d}", "2022-12-29", 4), ev(f"T{i:02d}", "2022-12-29", 3)]
    reg = Registry(evaluations=schema.coerce_evaluations(rows), as_of=AS_OF)
    m = lc.cohort_members(reg)
    c19 = m[m["cohort"] == 2019]
    assert len(c19) == 20 and c19["stars_after"].tolist() == [3] * 20
    assert c19["outcome"].astype(str).tolist() == ["same"] * 20
    # one 2022 certificate per product: the later row of that year, 3★
    assert m.loc[m["cohort"] == 2022, "stars"].tolist() == [3] * 20
    r = by_cohort(lc.reevaluation_rates(reg), 2019)
    assert (r["recognized"], r["reevaluated"], r["same"], r["upgraded"]) == (20, 20, 20, 0)
    p = lc.build_products(reg)
    assert p["latest_stars"].tolist() == [3] * 20 and p["stars_now"].tolist() == [3] * 20


def test_rates_do_not_depend_on_how_products_are_named(reg):
    # the rates number products in order of appearance, cohort_members in order of id: same counts
    rates = lc.reevaluation_rates(reg).set_index("cohort")
    m = lc.cohort_members(reg)
    for col in ("due", "reevaluated", "recertified", "failed", "lapsed", "revoked", "superseded", "pending"):
        assert rates[col].tolist() == m.groupby("cohort")[col].sum().tolist(), col
    # ids renamed so that their alphabetical order is reversed: the same table
    ids = sorted(set(reg.evaluations["product_id"]) | set(REVOCATIONS["product_id"]))
    new_id = {pid: f"P{99 - i:02d}" for i, pid in enumerate(ids)}  # A → P99, B → P98, ...
    evs = reg.evaluations.assign(product_id=reg.evaluations["product_id"].map(new_id))
    revs = REVOCATIONS.assign(product_id=REVOCATIONS["product_id"].map(new_id))
    renamed = Registry(evaluations=evs, revocations=revs, as_of=AS_OF)
    pd.testing.assert_frame_equal(lc.reevaluation_rates(renamed), lc.reevaluation_rates(reg))
    pd.testing.assert_frame_equal(lc.transitions(renamed), lc.transitions(reg))


def test_revocations_only_of_products_without_results():
    # A: 3★ of 16/12/2019, expired 16/12/2022, never re-evaluated. The list revokes only O,
    # which has no result at all: A's certificate is not revoked, O is listed as revoked.
    reg = Registry(evaluations=schema.coerce_evaluations([ev("A", "2019-12-16", 3)]),
                   revocations=REVOCATIONS[REVOCATIONS["product_id"] == "O"], as_of=AS_OF)
    m = lc.cohort_members(reg)
    assert m[["product_id", "cohort", "revoked", "outcome"]].astype(str).values.tolist() == \
        [["A", "2019", "False", "lapsed"]]
    r = by_cohort(lc.reevaluation_rates(reg), 2019)
    assert (r["recognized"], r["lapsed"], r["revoked"]) == (1, 1, 0)
    p = lc.build_products(reg).set_index("product_id")["status"].astype(str)
    assert p.to_dict() == {"A": "expired", "O": "revoked"}
    # before any result: nothing recognised yet, and the list's revocation is not in force either
    assert lc.reevaluation_rates(reg, as_of="2019-06-30").empty
    assert lc.build_products(reg, as_of="2019-06-30").empty


def test_a_revocation_without_a_year_of_a_product_never_certified_marks_it_revoked():
    # N failed on 10/12/2021 and never held a certificate; a list revokes N on 10/02/2023 without a
    # recognition year: no certificate to tie it to, so it is matched on "no cohort" and N is revoked
    revs = pd.DataFrame({"product_id": ["N"], "year_recognized": pd.array([None], dtype="Int64"),
                         "revoked_on": pd.to_datetime(["2023-02-10"]), "reason": ["other"]})
    reg = Registry(evaluations=schema.coerce_evaluations(HISTORY), revocations=revs, as_of=AS_OF)
    p = lc.build_products(reg).set_index("product_id")
    assert p.at["N", "status"] == "revoked" and p.at["N", "revoked_on"] == pd.Timestamp("2023-02-10")
    # A (29/12/2022, until 29/12/2025, within 6 months of 30/06/2025) is untouched
    assert p.at["A", "status"] == "expiring" and pd.isna(p.at["A", "revoked_on"])
    assert (p["status"] == "revoked").sum() == 1
