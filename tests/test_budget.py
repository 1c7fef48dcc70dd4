"""Budget scenarios: arithmetic by hand, derived quantities, sensitivity, break-even, Monte Carlo, files."""
from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import yaml

import ocop_analysis as oa
from ocop_analysis import budget
from ocop_analysis.errors import ConfigError

M = 1_000_000


def small_raw() -> dict:
    """A scenario built so every number can be checked by hand."""
    return {
        "envelope": 7 * M,
        "scenarios": {
            "base": {
                "label_en": "Base",
                "parameters": {
                    "new": {"value": 10, "source": "plan"},
                    "pass_rate": {"value": 0.7, "dist": "beta", "a": 7, "b": 3},
                    "entries": {"formula": "ceil(new / pass_rate)"},
                },
                "items": [
                    {"id": "award", "category": "new_products", "quantity": 3, "unit_cost": 1 * M,
                     "source": "Bắc Giang"},
                    {"id": "fixed", "category": "management", "amount": 500_000},
                    {"id": "council", "category": "evaluation", "quantity": "entries", "unit_cost": 200_000,
                     "dist": "uniform", "low": 100_000, "high": 300_000},
                ],
            },
            "cheap": {
                "base": "base",
                "items": [{"id": "award", "unit_cost": 500_000}],
                "drop_items": ["fixed"],
            },
        },
    }


@pytest.fixture
def small():
    return budget.parse_scenarios(small_raw())


@pytest.fixture(scope="module")
def default():
    return budget.load_scenarios(oa.paths.DEFAULT_SCENARIOS)


# ---- arithmetic -----------------------------------------------------------------------------

def test_totals_by_hand(small):
    res = budget.evaluate(small, envelope=7 * M)
    # base: 3 × 1 M + 0.5 M fixed + ceil(10 / 0.7) = 15 entries × 0.2 M = 3 M  → 6.5 M
    # cheap: 3 × 0.5 M + 15 × 0.2 M = 4.5 M
    totals = res.totals.set_index("scenario")
    assert totals.loc["base", "total"] == 6_500_000
    assert totals.loc["base", "headroom"] == 500_000
    assert totals.loc["base", "shortfall"] == 0
    assert bool(totals.loc["base", "fits"])
    assert totals.loc["cheap", "total"] == 4_500_000
    assert list(res.items.loc[res.items["scenario"] == "cheap", "item"]) == ["award", "council"]
    assert res.items["amount"].dtype == np.int64 and res.totals["total"].dtype == np.int64


def test_shortfall_when_over(small):
    totals = budget.evaluate(small["base"], envelope=6 * M).totals.iloc[0]
    assert totals["headroom"] == -500_000 and totals["shortfall"] == 500_000 and not totals["fits"]


def test_result_unpacks_into_items_and_totals(small):
    items, totals = budget.evaluate(small)
    assert len(items) == 5 and len(totals) == 2


def test_default_plan_total_by_hand(default):
    plan = budget.evaluate(default["plan"]).totals.iloc[0]
    expected = (40 * 50 * M + 20 * 150 * M + 5 * 100 * M          # awards, dossiers
                + 58 * 20 * M + 21 * 60 * M                        # 115 × 50% → 58; 41 × 50% → 21 re-evaluated
                + (58 + 29) * 10 * M                               # packaging per new entry
                + (58 + 29 + 58 + 21) * 1_500_000                  # council per entry
                + 315_680_000 + 1_282_040_000 + 539_320_000 + 264_000_000)  # Thanh Hóa 2022 lines × 1.0
    assert plan["total"] == expected == 11_440_040_000
    assert plan["headroom"] == 8_000_000_000 - expected


def test_scaled_lines_have_no_float_drift():
    raw = small_raw()
    raw["scenarios"] = {"s": {"parameters": {"scale": {"value": 0.1}}, "items": [
        {"id": f"line{i}", "category": "training", "quantity": "scale", "unit_cost": 1_282_040_000}
        for i in range(3)]}}
    s = budget.parse_scenarios(raw)
    total = budget.evaluate(s).totals["total"].iloc[0]
    assert total == 3 * 128_204_000  # float 0.1 × 3 would drift; integer VND does not
    assert isinstance(budget.total(s["s"]), int)


# ---- derived quantities -------------------------------------------------------------------

def test_entries_from_pass_rate(default):
    q = budget.resolve_parameters(default["plan"])
    assert q["entries_3star"] == 58  # ceil(40 / 0.7)
    assert q["entries_4star"] == 29  # ceil(20 / 0.7)
    assert q["reevaluated_3star"] == 58 and q["reevaluated_4star"] == 21  # ceil(115 × 0.5), ceil(41 × 0.5)


def test_ceil_is_not_fooled_by_float_error():
    f = budget.Formula.parse("ceil(rate * 100)")
    assert f.evaluate({"rate": 0.7}) == 70  # 0.7 * 100 == 70.00000000000001 in floating point


def test_formula_vectorises():
    f = budget.Formula.parse("ceil(new / rate) + max(1, 2)")
    out = f.evaluate({"new": 40, "rate": np.array([0.5, 0.7, 0.8])})
    assert list(out) == [82, 60, 52]


def test_derived_quantity_follows_a_what_if(default):
    r = budget.what_if(default["plan"], pass_rate_3star=0.5)
    entries = r.items.set_index("item").loc["councils", "quantity"]
    assert entries == 80 + 29 + 58 + 21  # ceil(40 / 0.5) = 80


def test_what_if_changes_total_and_headroom(default):
    base = budget.total(default["plan"])
    r = budget.what_if(default["plan"], award_new_4star=100 * M)
    assert r.total == base - 20 * 50 * M
    assert r.headroom == 8_000_000_000 - r.total
    assert "tỷ đồng" in r.summary()
    with pytest.raises(KeyError, match="no parameter or item 'nope'"):
        budget.what_if(default["plan"], nope=1)


# ---- sensitivity and break-even ----------------------------------------------------------

def test_sensitivity_on_a_linear_item(small):
    table = budget.sensitivity(small["base"], vary=0.2).set_index("input")
    # award: 3 × 1 M, ±20% → totals 6.5 M ∓ 0.6 M; swing 1.2 M
    assert table.loc["award", "total_low"] == 6_500_000 - 600_000
    assert table.loc["award", "total_high"] == 6_500_000 + 600_000
    assert table.loc["award", "swing"] == 1_200_000
    # fixed amount 0.5 M ±20% → swing 0.2 M
    assert table.loc["fixed", "swing"] == 200_000
    swings = budget.sensitivity(small["base"])["swing"].tolist()
    assert swings == sorted(swings, reverse=True)


def test_sensitivity_default_plan_award(default):
    table = budget.sensitivity(default["plan"], vary=0.2).set_index("input")
    assert table.loc["award_new_4star", "swing"] == 2 * 0.2 * 20 * 150 * M  # 1.2 bn
    assert table.loc["pass_rate_3star", "high_value"] == pytest.approx(0.84)


def test_sensitivity_over_stated_ranges(small):
    table = budget.sensitivity(small["base"], vary="range").set_index("input")
    assert set(table.index) == {"pass_rate", "council"}  # only inputs with a dist
    # council 100k–300k per entry × 15 entries → swing 3 M
    assert table.loc["council", "swing"] == 15 * 200_000


def test_breakeven_by_hand():
    raw = {"scenarios": {"s": {
        "parameters": {"new": {"value": 3}},
        "items": [{"id": "award", "category": "new_products", "quantity": "new", "unit_cost": 1 * M},
                  {"id": "pack", "category": "packaging", "quantity": "new", "unit_cost": 250_000},
                  {"id": "fixed", "category": "management", "amount": 4 * M}]}}}
    s = budget.parse_scenarios(raw)["s"]
    be = budget.breakeven(s, envelope=10 * M, item="new")
    # 4 M fixed + 1.25 M per product ≤ 10 M → 4 products (9 M); a fifth would cost 10.25 M
    assert be.max_value == 4 and be.total_at_max == 9 * M
    assert be.marginal_cost == 1_250_000 and be.headroom_at_max == 1 * M and be.extra == 1
    assert budget.breakeven(s, envelope=10 * M, item="award").max_value == 4  # item → its count parameter
    assert budget.breakeven(s, envelope=3 * M, item="new").max_value == 0


# ---- simulation ---------------------------------------------------------------------------

def test_simulate_reproducible_with_seed(default):
    a = budget.simulate(default["plan"], n=5_000, seed=7)
    b = budget.simulate(default["plan"], n=5_000, seed=7)
    c = budget.simulate(default["plan"], n=5_000, seed=8)
    assert a.draws.equals(b.draws)
    assert not a.draws["total"].equals(c.draws["total"])
    assert a.summary["seed"] == 7 and a.summary["n"] == 5_000


def test_exceedance_decreases_as_envelope_grows(default):
    sim = budget.simulate(default["plan"], n=20_000, seed=1)
    envelopes = [6e9, 7e9, 8e9, 9e9, 10e9, 11e9, 12e9, 14e9]
    p = [sim.p_exceed(e) for e in envelopes]
    assert all(x >= y for x, y in zip(p, p[1:]))
    assert p[0] > p[-1]
    assert p[-1] == 0.0  # above the sum of every upper bound (about 11.9 bn)
    curve = sim.exceedance(envelopes)
    assert curve["p_exceed"].tolist() == p


def test_simulation_summary_is_consistent(default):
    sim = budget.simulate(default["plan"], n=20_000, seed=3, envelope=8_000_000_000)
    s = sim.summary
    assert s["p5"] <= s["p50"] <= s["p95"]
    assert s["p_exceed"] == pytest.approx(float(np.mean(sim.totals > 8e9)))
    assert sim.draws["total"].dtype == np.int64
    # every unit cost's mode is its upper bound, so the mean sits below the deterministic total
    assert s["mean"] < s["deterministic_total"] == 11_440_040_000


def test_simulation_without_uncertainty_equals_evaluate():
    raw = {"scenarios": {"s": {"items": [{"id": "a", "category": "training", "quantity": 2, "unit_cost": 3 * M}]}}}
    s = budget.parse_scenarios(raw)["s"]
    sim = budget.simulate(s, n=100, seed=0)
    assert (sim.totals == 6 * M).all() and sim.summary["p_exceed"] == 0.0


def test_simulated_mean_matches_the_distribution():
    raw = {"scenarios": {"s": {"items": [{"id": "a", "category": "training", "quantity": 10, "unit_cost": 1 * M,
                                          "dist": "uniform", "low": 0, "high": 2 * M}]}}}
    sim = budget.simulate(budget.parse_scenarios(raw)["s"], n=100_000, seed=11)
    # mean 10 M; standard error = 10 × 2 M / sqrt(12) / sqrt(1e5) ≈ 18 k
    assert abs(sim.summary["mean"] - 10 * M) < 100_000


def test_pass_rate_draws_move_the_entry_count(small):
    sim = budget.simulate(small["base"], n=2_000, seed=5)
    assert set(sim.draws.columns) == {"pass_rate", "council", "total"}
    assert sim.draws["pass_rate"].between(0, 1).all()
    assert sim.draws["total"].nunique() > 100


# ---- files --------------------------------------------------------------------------------

def test_default_file_has_the_scenarios_and_sources(default):
    assert {"plan", "lean", "ambitious"} <= set(default)
    assert default.envelope == 8_000_000_000
    for scenario in default.values():
        for item in scenario.items:
            assert item.source, item.id
            assert item.label_vi and item.label_en
    # every unit cost says which province it comes from, or that it is an assumption
    for row in budget.cost_sources(default["plan"]).itertuples():
        assert any(w in row.source for w in ("Bắc Giang", "Bắc Ninh", "Hưng Yên", "Trà Vinh", "Thanh Hóa",
                                              "assumption")), row.item


def test_default_items_cover_the_brief(default):
    cats = {it.category for it in default["plan"].items}
    assert cats == {"new_products", "five_star", "reevaluation", "packaging", "evaluation", "promotion",
                    "training", "communication", "management"}


def test_workbook_round_trip(small, tmp_path):
    path = budget.to_excel(small, tmp_path / "s.xlsx")
    back = budget.load_scenarios(path)
    assert back == small and back.envelope == small.envelope == 7 * M


def test_committed_workbook_agrees_with_yaml(default):
    workbook = budget.load_scenarios(oa.paths.BUDGET_DIR / "scenarios_2025.xlsx")
    assert list(workbook) == list(default)
    for name in default:
        assert workbook[name] == default[name], name
    assert workbook.envelope == default.envelope


def test_yaml_dict_round_trip(default, tmp_path):
    path = tmp_path / "again.yaml"
    path.write_text(yaml.safe_dump(budget.to_yaml_dict(default), allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    assert budget.load_scenarios(path) == default


def write_yaml(tmp_path, raw) -> str:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_bad_unit_cost_names_scenario_item_key_and_value(tmp_path):
    raw = small_raw()
    raw["scenarios"]["lean"] = {"items": [{"id": "packaging", "category": "packaging", "quantity": 1,
                                           "unit_cost": "abc"}]}
    with pytest.raises(ConfigError, match=r"scenario 'lean', item 'packaging': unit_cost 'abc' is not a number"):
        budget.load_scenarios(write_yaml(tmp_path, raw))


def test_bad_value_in_workbook_is_named(small, tmp_path):
    from openpyxl import load_workbook

    path = budget.to_excel(small, tmp_path / "s.xlsx")
    wb = load_workbook(path)
    ws = wb["items"]
    header = [c.value for c in ws[1]]
    ws.cell(row=2, column=header.index("unit_cost") + 1, value="abc")
    wb.save(path)
    with pytest.raises(ConfigError, match=r"s\.xlsx: scenario 'base', item 'award': unit_cost 'abc' is not a number"):
        budget.load_scenarios(path)


@pytest.mark.parametrize("mutate, message", [
    (lambda r: r["scenarios"]["base"]["items"][0].update(unitcost=5),
     r"item 'award': unknown key 'unitcost' \(did you mean 'unit_cost'\?\)"),
    (lambda r: r["scenarios"]["base"]["items"][2].update(quantity="ceil(entrys)"),
     r"item 'council': quantity 'ceil\(entrys\)' uses unknown parameter 'entrys' \(did you mean 'entries'\?\)"),
    (lambda r: r["scenarios"]["base"]["items"][2].update(quantity="entries ** 2"),
     r"item 'council': quantity 'entries \*\* 2' uses 'entries \*\* 2'"),
    (lambda r: r["scenarios"]["base"]["items"][2].update(quantity="__import__('os')"),
     r"unknown function '__import__'"),
    (lambda r: r["scenarios"]["cheap"].update(base="nope"), r"scenario 'cheap': base 'nope' is not a scenario"),
    (lambda r: r["scenarios"]["base"].update(base="cheap"), r"makes a cycle"),
    (lambda r: r["scenarios"]["base"]["parameters"]["pass_rate"].update(dist="normal"),
     r"parameter 'pass_rate': dist 'normal' is not one of uniform, triangular, beta"),
    (lambda r: r["scenarios"]["base"]["items"][2].update(low=400_000),
     r"item 'council': low 400000 is above high 300000"),
    (lambda r: r["scenarios"]["base"]["items"][0].update(amount=5),
     r"item 'award': give either amount, or quantity and unit_cost, not both"),
    (lambda r: r["scenarios"]["base"]["items"][0].pop("unit_cost"), r"item 'award': unit_cost is missing"),
    (lambda r: r["scenarios"]["base"]["items"][0].update(unit_cost=-5), r"unit_cost -5 is negative"),
    (lambda r: r["scenarios"]["base"]["parameters"].update(award={"value": 1}),
     r"item id 'award' is also a parameter name"),
    (lambda r: r["scenarios"]["base"]["parameters"]["entries"].update(formula="entries + 1"),
     r"derived parameters form a cycle: entries -> entries"),
    (lambda r: r["scenarios"]["cheap"].update(drop_items=["ghost"]), r"drop_items names 'ghost'"),
    (lambda r: r.update(envelop=1), r"unknown key 'envelop' \(did you mean 'envelope'\?\)"),
])
def test_bad_files_name_the_key_and_value(tmp_path, mutate, message):
    raw = copy.deepcopy(small_raw())
    mutate(raw)
    with pytest.raises(ConfigError, match=message):
        budget.load_scenarios(write_yaml(tmp_path, raw))


def test_unreadable_files(tmp_path):
    (tmp_path / "broken.yaml").write_text("scenarios: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="broken.yaml: not valid YAML"):
        budget.load_scenarios(tmp_path / "broken.yaml")
    (tmp_path / "fake.xlsx").write_bytes(b"not a zip")
    with pytest.raises(ConfigError, match="fake.xlsx: cannot read the workbook"):
        budget.load_scenarios(tmp_path / "fake.xlsx")
    with pytest.raises(ConfigError, match="not found"):
        budget.load_scenarios(tmp_path / "missing.yaml")


def test_workbook_missing_sheet(small, tmp_path):
    from openpyxl import load_workbook

    path = budget.to_excel(small, tmp_path / "s.xlsx")
    wb = load_workbook(path)
    del wb["items"]
    wb.save(path)
    with pytest.raises(ConfigError, match="sheet 'items' is missing"):
        budget.load_scenarios(path)


def test_workbook_text_that_looks_like_a_formula_stays_text(tmp_path):
    raw = small_raw()
    raw["scenarios"]["base"]["items"][0]["source"] = "=HYPERLINK(\"http://x\")"
    s = budget.parse_scenarios(raw)
    back = budget.load_scenarios(budget.to_excel(s, tmp_path / "s.xlsx"))
    assert back["base"].item("award").source == "=HYPERLINK(\"http://x\")"


# ---- quantities from a registry or a plan ---------------------------------------------------

def test_with_registry_counts_the_cohort(default):
    rows = ([{"product_id": f"p{i}", "year": 2022, "stars": 3, "certified": True} for i in range(10)]
            + [{"product_id": f"q{i}", "year": 2022, "stars": 4, "certified": True} for i in range(4)]
            + [{"product_id": "r", "year": 2022, "stars": None, "certified": False},   # failed round
               {"product_id": "s", "year": 2021, "stars": 3, "certified": True},       # other cohort
               {"product_id": "p0", "year": 2022, "stars": 4, "certified": True}])     # upgraded: counts once, as 4★
    ev = oa.schema.coerce_evaluations(rows)
    assert budget.cohort_counts(ev, 2022) == {"cohort_2022": 14, "cohort_2022_3star": 9, "cohort_2022_4star": 5}
    scenarios = budget.with_registry(default, ev)
    q = budget.resolve_parameters(scenarios["plan"])
    assert q["reevaluated_3star"] == 5 and q["reevaluated_4star"] == 3  # ceil(9 × 0.5), ceil(5 × 0.5)
    assert "registry" in scenarios["plan"].parameters["cohort_2022_3star"].source
    assert default["plan"].parameters["cohort_2022_3star"].value == 115  # input untouched
    # a registry without a 2022 cohort keeps the published counts instead of zeroing them
    assert budget.with_registry(default, ev[ev["year"] != 2022]) is default


def test_with_plan_sets_the_counts(default):
    plan = {"new_3star": {"target": 45}, "new_4star": 25, "five_star_dossiers": 6, "unrelated": "x"}
    s = budget.with_plan(default["plan"], plan)
    q = budget.resolve_parameters(s)
    assert (q["new_3star"], q["new_4star"], q["five_star_dossiers"]) == (45, 25, 6)
    assert q["entries_3star"] == math.ceil(45 / 0.7)


def test_widget_builds_and_recomputes(default):
    w = budget.what_if_widget(default["plan"])
    result = w.children[-1]
    assert "11,4 tỷ đồng" in result.value
    slider = next(c for c in w.children if getattr(c, "description", "").startswith("Hỗ trợ sản phẩm mới đạt 4 sao"))
    slider.value = 100.0  # triệu đồng
    assert "10,4 tỷ đồng" in result.value  # 11.44 bn − 20 × 50 M
    # headless (papermill, HTML report) the widget shows as its plain text: the current result
    text = w._repr_mimebundle_()["text/plain"]
    assert text.startswith("Tổng: 10,4 tỷ đồng — thiếu 2,4 tỷ đồng so với 8,0 tỷ đồng") and "…" not in text


def test_with_plan_follows_only_plan_sourced_parameters(default):
    s = budget.with_plan(default, {"new_3star": 45, "participation": 0.8, "envelope": 9_000_000_000})
    assert s.envelope == 9_000_000_000
    assert s["plan"].parameters["new_3star"].value == 45
    assert s["lean"].parameters["new_3star"].value == 45          # inherited the plan's target
    assert s["ambitious"].parameters["new_3star"].value == 50     # its own choice ("assumption: ...") stays
    # the participation range keeps its relative width around the new value: 0.4–0.6 × 0.8/0.5
    dist = s["plan"].parameters["participation"].dist
    assert (dist.low, dist.high) == (pytest.approx(0.64), pytest.approx(0.96))


def test_with_plan_reads_the_plan_file(default):
    plan = oa.load_plan(oa.paths.DEFAULT_PLAN)
    s = budget.with_plan(default, plan)
    assert s == default and s.envelope == 8_000_000_000  # the YAML's plan figures are the plan file's
    assert budget.load_with_plan() == default


def test_tables_for_people(default):
    res = budget.evaluate(default)
    totals = budget.totals_table(res)
    assert totals.loc[0, "Tổng kinh phí"] == "11,4 tỷ đồng" and totals.loc[0, "Còn dư (+) / thiếu (−)"] == "-3,4 tỷ đồng"
    items = budget.items_table(res, "plan", "en")
    assert items.loc[0, "Unit cost"] == "50 M VND" and items.loc[0, "Amount"] == "2.0 bn VND"
    be = budget.breakeven_table(default, 8_000_000_000).set_index(["scenario", "input"])
    assert be.loc[("plan", "new_3star"), "max_value"] == 0          # the rest alone is 8.77 bn
    # from 0 to 1 new 3★: the award, and ceil(1 / 0.7) = 2 entries × (10 M packaging + 1.5 M council)
    assert be.loc[("plan", "new_3star"), "marginal_cost"] == 50 * M + 2 * (10 * M + 1_500_000)
    sens = budget.sensitivity_table(budget.sensitivity(default["plan"]))
    assert sens.loc[0, "Yếu tố"] == "Sản phẩm mới đạt 4 sao (chỉ tiêu)"


@pytest.mark.parametrize("p, text", [(0.88707, "88,7%"), (0.99972, "> 99,9%"), (0.0004, "< 0,1%"), (0.0, "0%"),
                                     (1.0, "100%")])
def test_probability_text(p, text):
    assert budget.probability(p) == text


def test_numbers_typed_the_vietnamese_way(tmp_path):
    raw = small_raw()
    raw["scenarios"]["base"]["items"][0]["unit_cost"] = "1.000.000"   # thousands dots, as typed in Excel
    raw["scenarios"]["base"]["parameters"]["pass_rate"]["value"] = "0,7"
    s = budget.load_scenarios(write_yaml(tmp_path, raw))
    assert s["base"].item("award").unit_cost == 1 * M and s["base"].parameters["pass_rate"].value == 0.7
    raw["scenarios"]["base"]["items"][0]["unit_cost"] = "1 triệu"     # refused, never read as 1 đồng
    with pytest.raises(ConfigError, match="item 'award': unit_cost '1 triệu' is not a number"):
        budget.load_scenarios(write_yaml(tmp_path, raw))
