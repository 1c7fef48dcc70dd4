"""Tables and sentences for people: money written as reports write it, headers in Vietnamese or English.

The analysis frames (``evaluate``, ``simulate``) keep integer VND for further
work; these helpers only format them for notebooks and reports.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping

import pandas as pd

from .. import fmt, paths
from .compute import DEFAULT_ENVELOPE, BudgetResult, breakeven
from .files import ScenarioSet, load_scenarios
from .inputs import with_plan, with_registry
from .model import Scenario, is_rate_name
from .simulate import Simulation, simulate

__all__ = ["load_with_plan", "totals_table", "items_table", "breakeven_table", "simulation_table", "answer",
           "probability", "sensitivity_table"]

_HEADERS = {
    "vi": {"scenario": "Kịch bản", "label": "Tên", "total": "Tổng kinh phí", "envelope": "Kinh phí kế hoạch",
           "headroom": "Còn dư (+) / thiếu (−)", "fits": "Vừa kinh phí", "share_of_envelope": "% kinh phí kế hoạch",
           "category": "Nhóm", "item": "Mã", "quantity": "Số lượng", "unit_cost": "Đơn giá", "amount": "Thành tiền",
           "source": "Nguồn", "input": "Đếm theo", "base_value": "Theo kịch bản", "max_value": "Tối đa vừa kinh phí",
           "marginal_cost": "Chi phí thêm 1 sản phẩm", "mean": "Trung bình", "p5": "P5", "p50": "P50 (trung vị)",
           "p95": "P95", "p_exceed": "Xác suất vượt", "deterministic_total": "Tổng (giá trị nêu)"},
    "en": {"scenario": "Scenario", "label": "Name", "total": "Total", "envelope": "Envelope",
           "headroom": "Headroom (+) / shortfall (−)", "fits": "Fits", "share_of_envelope": "% of envelope",
           "category": "Category", "item": "Id", "quantity": "Quantity", "unit_cost": "Unit cost",
           "amount": "Amount", "source": "Source", "input": "Counted by", "base_value": "In the scenario",
           "max_value": "Most that fit", "marginal_cost": "Cost of one more", "mean": "Mean", "p5": "P5",
           "p50": "P50 (median)", "p95": "P95", "p_exceed": "P(exceed)", "deterministic_total": "Total (stated values)"},
}


def load_with_plan(scenarios_path: str | Path | None = None, plan_path: str | Path | None = None) -> ScenarioSet:
    """Scenarios from ``scenarios_path`` (default: data/budget/scenarios_2025.yaml), with the plan's
    targets applied (:func:`with_plan`) when the plan file exists (default: data/plans/dong_thap_2025.yaml)."""
    scenarios = load_scenarios(scenarios_path or paths.DEFAULT_SCENARIOS)
    plan_file = Path(plan_path) if plan_path else paths.DEFAULT_PLAN
    if plan_file.is_file():
        from ..plan import load_plan
        scenarios = with_plan(scenarios, load_plan(plan_file))
    elif plan_path:
        from ..errors import ConfigError
        raise ConfigError(f"plan file not found: {plan_file}")
    return scenarios


def for_registry(registry, scenarios_path: str | Path | None = None, plan_path: str | Path | None = None,
                 year: int = 2022) -> ScenarioSet:
    """The scenarios the kit uses for a registry: the scenarios file with the plan's targets applied
    (:func:`load_with_plan`) and the ``year`` cohort counted from ``registry`` (:func:`with_registry`).

    Notebooks 05 and 06 and the report's summary.xlsx all take their budget from here, so the totals
    they show agree.
    """
    return with_registry(load_with_plan(scenarios_path, plan_path), registry, year=year)


def _money_cols(df: pd.DataFrame, columns: Iterable[str], lang: str) -> pd.DataFrame:
    out = df.copy()
    for c in columns:
        if c in out.columns:
            out[c] = [fmt.vnd(int(v), lang) for v in out[c]]
    return out


def _rename(df: pd.DataFrame, lang: str) -> pd.DataFrame:
    return df.rename(columns=_HEADERS[lang])


def totals_table(result: BudgetResult, lang: str = "vi") -> pd.DataFrame:
    """One row per scenario: name, total, envelope, headroom (signed), share of the envelope."""
    t = result.totals[["scenario", "label", "total", "envelope", "headroom", "share_of_envelope"]]
    t = _money_cols(t, ["total", "envelope", "headroom"], lang)
    t["share_of_envelope"] = [fmt.percent(v, 0, lang) for v in result.totals["share_of_envelope"]]
    return _rename(t, lang)


def items_table(result: BudgetResult, scenario: str = "plan", lang: str = "vi") -> pd.DataFrame:
    """The line items of one scenario with quantities, unit costs and amounts formatted, and their sources."""
    rows = result.items[result.items["scenario"] == scenario]
    if rows.empty:
        raise KeyError(f"no scenario {scenario!r} in the result ({', '.join(result.totals['scenario'])})")
    t = rows[["item", "label", "quantity", "unit_cost", "amount", "source"]].copy()
    t["quantity"] = [fmt.number(q, 0 if float(q).is_integer() else 2, lang) for q in t["quantity"]]
    t = _money_cols(t, ["unit_cost", "amount"], lang)
    return _rename(t.reset_index(drop=True), lang)


def breakeven_table(scenarios: Mapping[str, Scenario], envelope: int = DEFAULT_ENVELOPE,
                    counts: Iterable[str] = ("new_3star", "new_4star"), lang: str | None = None) -> pd.DataFrame:
    """For each scenario and count parameter: its value, the most that fit in ``envelope`` with
    everything else unchanged, and the marginal cost of one more. ``lang`` formats for display."""
    rows = []
    for s in scenarios.values():
        for name in counts:
            if name not in s.parameters:
                continue
            be = breakeven(s, envelope, item=name)
            rows.append({"scenario": s.name, "input": name, "base_value": int(be.base_value),
                         "max_value": be.max_value, "marginal_cost": be.marginal_cost})
    table = pd.DataFrame(rows, columns=["scenario", "input", "base_value", "max_value", "marginal_cost"])
    if lang is None:
        return table
    return _rename(_money_cols(table, ["marginal_cost"], lang), lang)


def simulation_table(scenarios: Mapping[str, Scenario], *, n: int = 100_000, seed: int | None = 2025,
                     envelope: int = DEFAULT_ENVELOPE, lang: str | None = None) -> pd.DataFrame:
    """Monte Carlo summary per scenario (mean, P5, P50, P95, P(exceed envelope)); same seed for each."""
    rows = []
    for s in scenarios.values():
        summary = simulate(s, n=n, seed=seed, envelope=envelope).summary
        rows.append({k: summary[k] for k in ("scenario", "deterministic_total", "mean", "p5", "p50", "p95",
                                             "p_exceed")})
    table = pd.DataFrame(rows)
    if lang is None:
        return table.astype({"p_exceed": "float64"})
    out = _money_cols(table, ["deterministic_total", "mean", "p5", "p50", "p95"], lang)
    out["p_exceed"] = [probability(v, lang) for v in table["p_exceed"]]
    return _rename(out, lang)


def sensitivity_table(table: pd.DataFrame, lang: str = "vi", top: int | None = 12) -> pd.DataFrame:
    """The ``sensitivity`` frame for reading: input, low and high values (money as money, rates as %),
    totals at each, and the swing."""
    rows = table.head(top) if top else table
    out = pd.DataFrame({"label": rows["label"]})

    def value(v, kind, name):
        if kind in ("unit_cost", "amount"):
            return fmt.vnd(v, lang)
        if is_rate_name(name):
            return fmt.percent(v, 0, lang)
        return fmt.number(v, 0 if float(v).is_integer() else 2, lang)

    for col in ("base_value", "low_value", "high_value"):
        out[col] = [value(v, k, n) for v, k, n in zip(rows[col], rows["kind"], rows["input"])]
    for col in ("total_low", "total_high", "swing"):
        out[col] = [fmt.vnd(int(v), lang) for v in rows[col]]
    names = {"vi": {"label": "Yếu tố", "base_value": "Giá trị", "low_value": "Thấp", "high_value": "Cao",
                    "total_low": "Tổng khi thấp", "total_high": "Tổng khi cao", "swing": "Chênh lệch"},
             "en": {"label": "Input", "base_value": "Value", "low_value": "Low", "high_value": "High",
                    "total_low": "Total at low", "total_high": "Total at high", "swing": "Swing"}}[lang]
    return out.rename(columns=names).reset_index(drop=True)


def probability(p: float, lang: str = "vi") -> str:
    """A share of draws as a percentage with one decimal, never rounding a rare event to 0 or 100.

    >>> probability(0.88707), probability(0.99972), probability(0.0003, "en"), probability(0.0)
    ('88,7%', '> 99,9%', '< 0.1%', '0%')
    """
    if p <= 0 or p >= 1:
        return fmt.percent(p, 0, lang)
    if p < 0.001:
        return "< " + fmt.percent(0.001, 1, lang)
    if p > 0.999:
        return "> " + fmt.percent(0.999, 1, lang)
    return fmt.percent(p, 1, lang)


def answer(result: BudgetResult, sim: Simulation, lang: str = "vi") -> str:
    """One paragraph: does the scenario fit in the envelope, and with what probability (Markdown)."""
    row = result.totals[result.totals["scenario"] == sim.scenario].iloc[0]
    s = sim.summary
    total, env, head = int(row["total"]), int(row["envelope"]), int(row["headroom"])
    p = float(s["p_exceed"])
    if lang == "vi":
        verdict = (f"**vừa** kinh phí, còn dư {fmt.vnd(head)}" if head >= 0
                   else f"**vượt** kinh phí {fmt.vnd(-head)}")
        return (f"Kịch bản **{row['label']}**: tổng {fmt.vnd(total)}, {verdict} so với {fmt.vnd(env)}. "
                f"Với các khoảng bất định nêu trong tệp kịch bản ({fmt.number(s['n'])} lần mô phỏng), tổng kinh phí nằm trong "
                f"khoảng {fmt.vnd(s['p5'])} – {fmt.vnd(s['p95'])} (P5–P95), trung vị {fmt.vnd(s['p50'])}; "
                f"xác suất vượt {fmt.vnd(env)} là **{probability(p)}**.")
    verdict = (f"which **fits** within {fmt.vnd(env, 'en')} with {fmt.vnd(head, 'en')} to spare" if head >= 0
               else f"which **exceeds** {fmt.vnd(env, 'en')} by {fmt.vnd(-head, 'en')}")
    return (f"Scenario **{row['label']}**: total {fmt.vnd(total, 'en')}, {verdict}. Under the ranges stated in the scenario file ({fmt.number(s['n'], lang='en')} draws) the total lies "
            f"between {fmt.vnd(s['p5'], 'en')} and {fmt.vnd(s['p95'], 'en')} (P5–P95), median "
            f"{fmt.vnd(s['p50'], 'en')}; the probability of exceeding {fmt.vnd(env, 'en')} is "
            f"**{probability(p, 'en')}**.")
