"""plan.py: the plan file's validation and the scorecard on a hand-built registry."""
from __future__ import annotations

import sys
import types

import pandas as pd
import pytest
import yaml

from ocop_analysis import paths, schema
from ocop_analysis.errors import ConfigError
from ocop_analysis.plan import load_plan, parse_plan, plan_district_table, plan_scorecard
from ocop_analysis.registry import Registry


def _r(pid, code, stars, year, kind, *, cand=None, date=None):
    return dict(product_id=pid, product_name=f"SP {pid}", entity_name=f"HTX {pid}", district_code=code,
                stars=stars, year=year, kind=kind, five_star_candidate=cand, decision_date=date,
                certified=stars is not None and stars >= 3)


@pytest.fixture
def reg():
    rows = [
        # 2025 new entries (7): 866 has two 4★, 876 one 4★ and two 3★, 875 one failed and one 5★
        _r("N1", 866, 4, 2025, "new", cand=True),
        _r("N2", 866, 4, 2025, "new"),
        _r("N3", 876, 4, 2025, "new"),
        _r("N4", 876, 3, 2025, "new"),
        _r("N5", 876, 3, 2025, "new"),
        _r("N6", 875, None, 2025, "new"),
        _r("N7", 875, 5, 2025, "new", date="2025-11-01"),
        # the 2022 cohort: four certified; P22a and P22b have a 2025 round (one failed)
        _r("P22a", 869, 3, 2022, "new"), _r("P22a", 869, 4, 2025, "reevaluation"),
        _r("P22b", 869, 3, 2022, "new"), _r("P22b", 869, None, 2025, "reevaluation"),
        _r("P22c", 870, 3, 2022, "new"),
        _r("P22d", 870, 4, 2022, "new"),
        # not new in 2025: an upgrade (marked potential 5★), an older 4★, a row without kind
        _r("X", 871, 3, 2023, "new"), _r("X", 871, 4, 2025, "upgrade", cand=True),
        _r("OLD", 866, 4, 2024, "new"),
        _r("K", 872, 3, 2025, None),
    ]
    return Registry(evaluations=schema.coerce_evaluations(rows))


@pytest.fixture
def no_lifecycle(monkeypatch):
    monkeypatch.setitem(sys.modules, "ocop_analysis.lifecycle", None)  # import fails → plain count


def _by_item(card):
    return card.set_index("item")


def test_default_plan_file_holds_the_2025_targets():
    plan = load_plan(paths.DEFAULT_PLAN)
    assert plan.year == 2025 and plan.province == "dong-thap"
    t = {x.id: x for x in plan.targets}
    assert t["new_entries"].target == 60
    assert t["new_3_star"].target == 40 and t["new_3_star"].params["stars"] == 3
    assert t["new_4_star"].target == 20 and t["new_4_star"].params["stars"] == 4
    assert t["new_4_star_per_district"].target == 2
    assert t["five_star_dossiers"].target == 5
    assert t["cohort_2022_reevaluated"].target == 0.5 and t["cohort_2022_reevaluated"].params["cohort"] == 2022
    assert t["budget"].target == 8_000_000_000 and t["budget"].compare == ">"


def test_scorecard_hand_counts(reg, no_lifecycle):
    card = plan_scorecard(reg, paths.DEFAULT_PLAN)
    assert list(card.columns[:7]) == ["item", "label", "metric", "target", "actual", "gap", "met"]
    assert {"unit", "note"} <= set(card.columns)
    c = _by_item(card)
    assert c.loc["new_entries", "actual"] == 7  # N1–N7; K has no kind, X is an upgrade
    assert "không ghi loại đánh giá" in c.loc["new_entries", "note"]
    assert c.loc["new_entries", "gap"] == 53 and not c.loc["new_entries", "met"]
    assert c.loc["new_3_star", "actual"] == 2  # N4, N5
    assert c.loc["new_4_star", "actual"] == 3  # N1, N2, N3
    assert c.loc["new_4_star_per_district", "actual"] == 1  # only 866 has 2
    assert c.loc["new_4_star_per_district", "target"] == 12
    assert c.loc["five_star_dossiers", "actual"] == 3  # N1 and X marked, N7 rated 5★
    assert c.loc["cohort_2022_reevaluated", "actual"] == 0.5  # P22a, P22b of four
    assert c.loc["cohort_2022_reevaluated", "met"]  # ≥ 50%
    assert "2/4 sản phẩm công nhận năm 2022" in c.loc["cohort_2022_reevaluated", "note"]
    assert pd.isna(c.loc["budget", "actual"]) and pd.isna(c.loc["budget", "met"])
    assert "chưa đo được" in c.loc["budget", "note"]
    assert c.loc["new_entries", "label"] == "Sản phẩm mới tham gia đánh giá năm 2025"


def test_scorecard_english_labels(reg, no_lifecycle):
    c = _by_item(plan_scorecard(reg, paths.DEFAULT_PLAN, lang="en"))
    assert c.loc["new_entries", "label"] == "New products entered for evaluation in 2025"
    assert "2 of 4 products certified in 2022" in c.loc["cohort_2022_reevaluated", "note"]
    assert c.loc["budget", "note"].startswith("not measured")
    assert "1 of 12 districts" in c.loc["new_4_star_per_district", "note"]


def test_scorecard_as_of_drops_later_decisions(reg, no_lifecycle):
    c = _by_item(plan_scorecard(reg, paths.DEFAULT_PLAN, as_of="2025-06-30"))
    assert c.loc["new_entries", "actual"] == 6  # N7 decided in November
    assert c.loc["five_star_dossiers", "actual"] == 2


def test_scorecard_uses_lifecycle_rates_when_present(reg, monkeypatch):
    rates = pd.DataFrame({"cohort": [2021, 2022], "recognized": [10, 156], "due": [10, 156],
                          "reevaluated": [3, 80], "rate": [0.3, 80 / 156]})
    fake = types.SimpleNamespace(reevaluation_rates=lambda reg, as_of=None: rates)
    monkeypatch.setitem(sys.modules, "ocop_analysis.lifecycle", fake)
    c = _by_item(plan_scorecard(reg, paths.DEFAULT_PLAN, lang="en"))
    assert c.loc["cohort_2022_reevaluated", "actual"] == pytest.approx(80 / 156)
    assert c.loc["cohort_2022_reevaluated", "met"]
    assert "80 of 156" in c.loc["cohort_2022_reevaluated", "note"]


def test_budget_from_totals(reg, no_lifecycle):
    totals = pd.DataFrame({"scenario": ["plan", "lean"], "total": [8_200_000_000, 8_000_000_000]})
    c = _by_item(plan_scorecard(reg, paths.DEFAULT_PLAN, scenarios=totals))
    assert c.loc["budget", "actual"] == 8_200_000_000 and c.loc["budget", "met"]
    raw = yaml.safe_load(paths.DEFAULT_PLAN.read_text(encoding="utf-8"))
    raw["targets"][-1]["scenario"] = "lean"
    c = _by_item(plan_scorecard(reg, raw, scenarios=totals))
    assert c.loc["budget", "actual"] == 8_000_000_000 and not c.loc["budget", "met"]  # "more than 8 bn"
    raw["targets"][-1]["scenario"] = "nope"
    with pytest.raises(ConfigError, match="nope"):
        plan_scorecard(reg, raw, scenarios=totals)


def test_district_table(reg):
    t = plan_district_table(reg, paths.DEFAULT_PLAN)
    assert len(t) == 12 and t["district_code"].tolist() == list(range(866, 878))
    counts = t.set_index("district_code")["count"]
    assert counts[866] == 2 and counts[876] == 1 and counts[875] == 0 and counts[869] == 0
    assert t.set_index("district_code")["met"].to_dict()[866]
    assert t["met"].sum() == 1
    assert set(t["target"]) == {2}


def test_a_new_plan_is_a_new_file(tmp_path, reg, no_lifecycle):
    text = """
year: 2024
province: dong-thap
targets:
  - {id: n, label: Mới 2024, metric: new_entries, target: 1}
  - {id: d, label: {vi: Mỗi huyện 1 sp 4 sao, en: one 4★ per district}, metric: new_entries_per_district,
     stars: 4, target: 1}
"""
    path = tmp_path / "other.yaml"
    path.write_text(text, encoding="utf-8")
    c = _by_item(plan_scorecard(reg, path))
    assert c.loc["n", "actual"] == 1  # OLD is the only new row of 2024
    assert c.loc["d", "actual"] == 1 and c.loc["d", "label"] == "Mỗi huyện 1 sp 4 sao"


# ---- validation ------------------------------------------------------------------------------

GOOD = {"year": 2025, "province": "dong-thap",
        "targets": [{"id": "a", "label": "A", "metric": "new_certified_at_stars", "stars": 3, "target": 40}]}


def _bad(**change):
    raw = yaml.safe_load(yaml.safe_dump(GOOD))
    target = change.pop("target_changes", None)
    raw.update(change)
    if target:
        raw["targets"][0].update(target)
    return raw


@pytest.mark.parametrize("raw, needle", [
    (_bad(year="2025"), "year"),
    (_bad(province="atlantis"), "atlantis"),
    (_bad(targets=[]), "targets"),
    (_bad(budjet=5), "'budjet'"),
    (_bad(target_changes={"metric": "new_entry"}), "'new_entry'"),
    (_bad(target_changes={"tagret": 3}), "'tagret'"),
    (_bad(target_changes={"stars": 7}), "stars"),
    (_bad(target_changes={"target": -1}), "target"),
    (_bad(target_changes={"target": "forty"}), "'forty'"),
    (_bad(target_changes={"compare": "<"}), "compare"),
    (_bad(target_changes={"unit": "kg"}), "'kg'"),
    (_bad(target_changes={"label": {"fr": "x"}}), "label"),
    (_bad(target_changes={"note": 5}), "note"),
    ({"year": 2025, "province": "dong-thap",
      "targets": [{"id": "s", "label": "S", "metric": "cohort_reevaluated_share", "cohort": 2022, "target": 50}]},
     "0.5"),
    ({"year": 2025, "province": "dong-thap",
      "targets": [{"id": "s", "label": "S", "metric": "new_entries_per_district", "target": 2}]}, "'stars'"),
    ({"year": 2025, "province": "dong-thap", "targets": [GOOD["targets"][0], GOOD["targets"][0]]}, "twice"),
])
def test_bad_plans_name_the_key(raw, needle):
    with pytest.raises(ConfigError) as exc:
        parse_plan(raw, source="bad.yaml")
    assert needle in str(exc.value)
    assert str(exc.value).startswith("bad.yaml")


def test_bad_files(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_plan(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("year: [2025\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="broken.yaml: not valid YAML"):
        load_plan(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="list.yaml"):
        load_plan(listed)
    typo = tmp_path / "typo.yaml"
    typo.write_text(paths.DEFAULT_PLAN.read_text(encoding="utf-8").replace("metric: five_star_dossiers",
                                                                          "metric: five_star"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"typo.yaml: targets\[4\] \('five_star_dossiers'\): metric 'five_star'"):
        load_plan(typo)


def test_scorecard_table_reads_like_a_report(reg, no_lifecycle):
    from ocop_analysis.plan import scorecard_table

    totals = pd.DataFrame({"scenario": ["plan"], "total": [8_200_000_000]})
    t = scorecard_table(plan_scorecard(reg, paths.DEFAULT_PLAN, scenarios=totals))
    assert list(t.columns) == ["Chỉ tiêu", "Kế hoạch", "Thực hiện", "Còn thiếu", "Kết quả", "Cách tính"]
    assert t.loc["new_entries", "Kế hoạch"] == "≥ 60" and t.loc["new_entries", "Thực hiện"] == "7"
    assert t.loc["new_entries", "Còn thiếu"] == "53" and t.loc["new_entries", "Kết quả"] == "Chưa đạt"
    assert t.loc["cohort_2022_reevaluated", "Thực hiện"] == "50%"
    assert t.loc["cohort_2022_reevaluated", "Còn thiếu"] == "–" and t.loc["cohort_2022_reevaluated", "Kết quả"] == "Đạt"
    assert t.loc["budget", "Kế hoạch"] == "> 8,0 tỷ đồng" and t.loc["budget", "Thực hiện"] == "8,2 tỷ đồng"
    en = scorecard_table(plan_scorecard(reg, paths.DEFAULT_PLAN), lang="en")
    assert en.loc["budget", "Result"] == "Not measured"


def test_scorecard_on_the_sample_matches_its_ground_truth():
    # The sample's ground_truth.csv records, for every workbook row, the generator's kind, stars and
    # certificate: the 2025 new-entry counts follow from it without the kit's loader or scorecard.
    import ocop_analysis as oa

    truth = pd.read_csv(paths.SAMPLE_DIR / "ground_truth.csv")
    # the sample's 2025 workbook also holds rows of former Tiền Giang (the merged province): not old Đồng Tháp's plan
    new25 = truth[(truth["year"] == 2025) & (truth["kind"] == "new") & (truth["legacy_province"] == "dong-thap")]
    certified = new25["certified"].astype(str).str.lower() == "true"
    card = _by_item(plan_scorecard(oa.load_registry(paths.SAMPLE_DIR), paths.DEFAULT_PLAN))
    assert card["target"].to_dict() == {"new_entries": 60, "new_3_star": 40, "new_4_star": 20,
                                        "new_4_star_per_district": 12, "five_star_dossiers": 5,
                                        "cohort_2022_reevaluated": 0.5, "budget": 8_000_000_000}
    assert card.loc["new_entries", "actual"] == len(new25)
    assert card.loc["new_3_star", "actual"] == int((certified & (new25["stars"] == 3)).sum())
    assert card.loc["new_4_star", "actual"] == int((certified & (new25["stars"] == 4)).sum())
    assert card.loc["new_4_star_per_district", "actual"] <= 12


def test_scorecard_reads_kind_as_text_and_counts_only_the_plans_old_province(reg, no_lifecycle):
    # kind as plain text rather than a category: the same counts
    ev = reg.evaluations
    text = Registry(evaluations=ev.assign(kind=ev["kind"].astype("string")))
    pd.testing.assert_frame_equal(plan_scorecard(text, paths.DEFAULT_PLAN), plan_scorecard(reg, paths.DEFAULT_PLAN))
    # N1 and N2 recorded for the old Tiền Giang: the Đồng Tháp plan counts N3–N7; rows without an old
    # province stay counted
    legacy = pd.Series(pd.NA, index=ev.index, dtype="string")
    legacy[ev["product_id"].isin(["N1", "N2"])] = "tien-giang"
    legacy[ev["product_id"].isin(["N3", "N4"])] = "dong-thap"
    merged = Registry(evaluations=ev.assign(legacy_province=legacy))
    c = _by_item(plan_scorecard(merged, paths.DEFAULT_PLAN))
    assert c.loc["new_entries", "actual"] == 5
    assert c.loc["new_4_star", "actual"] == 1  # N3 (N1, N2 left out)
    assert c.loc["new_3_star", "actual"] == 2  # N4, N5
