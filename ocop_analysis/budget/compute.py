"""Deterministic budget arithmetic: evaluate, what-if, sensitivity and break-even.

All money is Python ``int`` (whole VND) and sums are exact; quantities are
numbers (counts come out whole where the formula rounds them with ``ceil``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping

import pandas as pd

from .model import Formula, LineItem, Scenario, category_label, is_rate_name, money

__all__ = ["BudgetResult", "WhatIf", "BreakEven", "parameter_order", "resolve_parameters", "quantities",
           "line_amounts", "total", "evaluate", "what_if", "sensitivity", "breakeven", "DEFAULT_ENVELOPE"]

DEFAULT_ENVELOPE = 8_000_000_000

ITEM_COLUMNS = ["scenario", "category", "item", "label", "quantity", "unit_cost", "amount", "source"]
TOTAL_COLUMNS = ["scenario", "label", "total", "envelope", "headroom", "shortfall", "fits", "share_of_envelope"]


def parameter_order(scenario: Scenario) -> list[str]:
    """Parameter names in an order where every formula comes after what it uses.

    Raises ValueError naming the cycle if derived parameters depend on each other.
    """
    params = scenario.parameters
    deps = {n: (Formula.parse(p.formula).names if p.formula else ()) for n, p in params.items()}
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            raise ValueError(f"derived parameters form a cycle: {' -> '.join(trail + (name,))}")
        state[name] = 1
        for dep in deps.get(name, ()):
            if dep in params:
                visit(dep, trail + (name,))
        state[name] = 2
        order.append(name)

    for name in params:
        visit(name, ())
    return order


def resolve_parameters(scenario: Scenario, values: Mapping[str, object] | None = None) -> dict[str, object]:
    """Every parameter's value: stated ones (or ``values`` given), then derived ones in dependency order.

    ``values`` may hold numpy arrays (Monte Carlo draws); formulas broadcast.
    """
    given = dict(values or {})
    out: dict[str, object] = {}
    for name in parameter_order(scenario):
        p = scenario.parameters[name]
        if name in given:
            out[name] = given[name]
        elif p.formula:
            out[name] = Formula.parse(p.formula).evaluate(out)
        else:
            out[name] = p.value
    return out


def _quantity(item: LineItem, values: Mapping[str, object]):
    if item.is_fixed:
        return 1
    if isinstance(item.quantity, str):
        return Formula.parse(item.quantity).evaluate(values)
    return item.quantity


def _as_number(q) -> int | float:
    q = float(q)
    return int(q) if q.is_integer() else q


def quantities(scenario: Scenario, values: Mapping[str, object] | None = None) -> dict[str, int | float]:
    """Each item's quantity (1 for a fixed amount)."""
    params = resolve_parameters(scenario, values)
    return {it.id: _as_number(_quantity(it, params)) for it in scenario.items}


def line_amounts(scenario: Scenario, values: Mapping[str, object] | None = None) -> dict[str, int]:
    """Each item's amount in whole VND: quantity × unit cost, or the fixed amount."""
    qty = quantities(scenario, values)
    out = {}
    for it in scenario.items:
        if it.is_fixed:
            out[it.id] = it.amount
        else:
            q = qty[it.id]
            if not math.isfinite(q):
                raise ValueError(f"scenario {scenario.name!r}, item {it.id!r}: quantity {it.quantity!r} "
                                 f"is {q} (a rate of 0?)")
            out[it.id] = q * it.unit_cost if isinstance(q, int) else money(_exact(q) * it.unit_cost)
    return out


def _exact(q: float):
    from fractions import Fraction
    return Fraction(repr(float(q)))


def total(scenario: Scenario, values: Mapping[str, object] | None = None) -> int:
    """The scenario's total in whole VND."""
    return sum(line_amounts(scenario, values).values())


# ---- evaluate ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class BudgetResult:
    """``items``: one row per scenario and line item; ``totals``: one row per scenario.

    items columns: scenario, category, item, label, quantity, unit_cost, amount, source.
    totals columns: scenario, label, total, envelope, headroom (envelope − total; negative
    = shortfall), shortfall (≥ 0), fits, share_of_envelope. Money columns are int64 VND.
    """

    items: pd.DataFrame
    totals: pd.DataFrame
    parameters: pd.DataFrame

    def by_category(self, lang: str = "vi") -> pd.DataFrame:
        """Amount per scenario and category (categories in first-seen order), with labels."""
        order = list(dict.fromkeys(self.items["category"]))
        table = (self.items.groupby(["scenario", "category"], sort=False, observed=True)["amount"].sum()
                 .reset_index())
        table["category"] = pd.Categorical(table["category"], categories=order, ordered=True)
        table["category_label"] = [category_label(c, lang) for c in table["category"]]
        return table.sort_values(["scenario", "category"], kind="stable").reset_index(drop=True)

    def __iter__(self):  # allows `items, totals = evaluate(...)`
        return iter((self.items, self.totals))


def _as_list(scenarios) -> list[Scenario]:
    if isinstance(scenarios, Scenario):
        return [scenarios]
    if isinstance(scenarios, Mapping):
        return list(scenarios.values())
    return list(scenarios)


def evaluate(scenarios, envelope: int = DEFAULT_ENVELOPE, *, lang: str = "vi") -> BudgetResult:
    """Line items and totals of one or many scenarios against the envelope.

    ``scenarios``: a :class:`Scenario`, a dict of them (``load_scenarios``) or a list.
    ``envelope``: 8 billion VND unless given (pass ``scenarios.envelope`` to use the file's).
    Returns a :class:`BudgetResult` with ``.items``, ``.totals`` and ``.parameters``
    (also unpackable: ``items, totals = evaluate(s)``).

    >>> res = evaluate(load_scenarios(paths.DEFAULT_SCENARIOS))  # doctest: +SKIP
    >>> res.totals[["scenario", "total", "headroom"]]            # doctest: +SKIP
    """
    envelope = int(envelope)
    item_rows, total_rows, param_rows = [], [], []
    for s in _as_list(scenarios):
        params = resolve_parameters(s)
        qty = quantities(s)
        amounts = line_amounts(s)
        for it in s.items:
            item_rows.append({"scenario": s.name, "category": it.category, "item": it.id, "label": it.label(lang),
                              "quantity": float(qty[it.id]), "unit_cost": it.cost if not it.is_fixed else it.amount,
                              "amount": amounts[it.id], "source": it.source})
        t = sum(amounts.values())
        total_rows.append({"scenario": s.name, "label": s.label(lang), "total": t, "envelope": envelope,
                           "headroom": envelope - t, "shortfall": max(0, t - envelope), "fits": t <= envelope,
                           "share_of_envelope": t / envelope if envelope else float("nan")})
        for name, p in s.parameters.items():
            param_rows.append({"scenario": s.name, "parameter": name, "label": p.label(lang),
                               "value": float(params[name]), "formula": p.formula or "",
                               "uncertainty": p.dist.describe() if p.dist else "", "source": p.source})
    items = pd.DataFrame(item_rows, columns=ITEM_COLUMNS)
    items = items.astype({"quantity": "float64", "unit_cost": "int64", "amount": "int64"})
    totals = pd.DataFrame(total_rows, columns=TOTAL_COLUMNS)
    totals = totals.astype({"total": "int64", "envelope": "int64", "headroom": "int64", "shortfall": "int64",
                            "fits": "bool", "share_of_envelope": "float64"})
    parameters = pd.DataFrame(param_rows, columns=["scenario", "parameter", "label", "value", "formula",
                                                   "uncertainty", "source"])
    return BudgetResult(items=items, totals=totals, parameters=parameters)


# ---- what-if ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class WhatIf:
    """The numbers of one what-if: total, headroom (envelope − total) and the lines."""

    total: int
    envelope: int
    headroom: int
    items: pd.DataFrame
    overrides: Mapping[str, object]

    @property
    def fits(self) -> bool:
        return self.headroom >= 0

    def summary(self, lang: str = "vi") -> str:
        from .. import fmt
        if lang == "vi":
            state = "còn dư" if self.fits else "thiếu"
            return (f"Tổng: {fmt.vnd(self.total)} — {state} {fmt.vnd(abs(self.headroom))} "
                    f"so với {fmt.vnd(self.envelope)}")
        state = "headroom" if self.fits else "shortfall"
        return (f"Total: {fmt.vnd(self.total, 'en')} — {state} {fmt.vnd(abs(self.headroom), 'en')} "
                f"against {fmt.vnd(self.envelope, 'en')}")


def what_if(scenario: Scenario, envelope: int = DEFAULT_ENVELOPE, **overrides) -> WhatIf:
    """Total and headroom with some inputs changed (key = parameter name or item id → its unit cost).

    >>> what_if(plan, new_3star=45, pass_rate_3star=0.6, award_new_4star=100_000_000)  # doctest: +SKIP
    """
    changed = scenario.with_values(**overrides)
    res = evaluate(changed, envelope)
    t = int(res.totals["total"].iloc[0])
    return WhatIf(total=t, envelope=int(envelope), headroom=int(envelope) - t, items=res.items,
                  overrides=dict(overrides))


# ---- sensitivity ------------------------------------------------------------------------------

def _inputs(scenario: Scenario, inputs: Iterable[str] | None) -> list[tuple[str, str, float, str]]:
    """(name, kind, base value, label) of every stated input: parameters with a value, item costs."""
    out = []
    for p in scenario.parameters.values():
        if p.formula is None:
            out.append((p.name, "parameter", p.value, p.label()))
    for it in scenario.items:
        out.append((it.id, "amount" if it.is_fixed else "unit_cost", it.cost, it.label()))
    if inputs is not None:
        wanted = list(inputs)
        known = {o[0] for o in out}
        unknown = [w for w in wanted if w not in known]
        if unknown:
            raise KeyError(f"no input {unknown[0]!r} in scenario {scenario.name!r}; inputs: {', '.join(sorted(known))}")
        out = [o for o in out if o[0] in wanted]
    return out


def _is_rate(scenario: Scenario, name: str) -> bool:
    return name in scenario.parameters and is_rate_name(name)


def sensitivity(scenario: Scenario, vary: float | str = 0.2, *, inputs: Iterable[str] | None = None,
                lang: str = "vi") -> pd.DataFrame:
    """One-at-a-time swings of the total, largest first (the data of a tornado chart).

    Each stated input (a parameter with a value, or an item's unit cost / fixed
    amount) is set to ``value × (1 − vary)`` and ``value × (1 + vary)`` while
    everything else stays; rates are capped at 1. ``vary="range"`` uses the
    input's stated distribution bounds instead (inputs without one are left out).

    Columns: input, kind, label, base_value, low_value, high_value, base_total,
    total_low, total_high, swing (= |total_high − total_low|), sorted by swing.
    """
    base_total = total(scenario)
    rows = []
    for name, kind, value, _label in _inputs(scenario, inputs):
        if vary == "range":
            dist = (scenario.parameters[name].dist if kind == "parameter" else scenario.item(name).dist)
            if dist is None:
                continue
            low, high = dist.interval()
        else:
            low, high = value * (1 - float(vary)), value * (1 + float(vary))
            if _is_rate(scenario, name):
                high = min(high, 1.0)
        t_low = total(scenario.with_values(**{name: low}))
        t_high = total(scenario.with_values(**{name: high}))
        label = scenario.parameters[name].label(lang) if kind == "parameter" else scenario.item(name).label(lang)
        rows.append({"input": name, "kind": kind, "label": label, "base_value": value, "low_value": low,
                     "high_value": high, "base_total": base_total, "total_low": t_low, "total_high": t_high,
                     "swing": abs(t_high - t_low)})
    columns = ["input", "kind", "label", "base_value", "low_value", "high_value", "base_total", "total_low",
               "total_high", "swing"]
    table = pd.DataFrame(rows, columns=columns)
    table = table.astype({"base_total": "int64", "total_low": "int64", "total_high": "int64", "swing": "int64",
                          "base_value": "float64", "low_value": "float64", "high_value": "float64"})
    return table.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)


# ---- break-even -------------------------------------------------------------------------------

@dataclass(frozen=True)
class BreakEven:
    """How far one count can go before the total reaches the envelope, the rest unchanged."""

    input: str
    base_value: float
    max_value: int
    total_at_max: int
    envelope: int
    marginal_cost: int  # what one more unit adds at max_value (total(max+1) − total(max))

    @property
    def headroom_at_max(self) -> int:
        return self.envelope - self.total_at_max

    @property
    def extra(self) -> int:
        """How many more than the scenario's own value fit (negative: that many must go)."""
        return self.max_value - int(round(self.base_value))


def _count_input(scenario: Scenario, item: str) -> str:
    """The input that counts ``item``: a parameter, or the item's own literal quantity."""
    if item in scenario.parameters:
        if scenario.parameters[item].formula:
            raise ValueError(f"{item!r} is derived (formula {scenario.parameters[item].formula!r}); "
                             "name a parameter with a stated value")
        return item
    it = scenario.item(item)
    if isinstance(it.quantity, str) and it.quantity.strip() in scenario.parameters:
        return _count_input(scenario, it.quantity.strip())
    raise ValueError(f"item {item!r} has quantity {it.quantity!r}; name the parameter that counts it")


def breakeven(scenario: Scenario, envelope: int = DEFAULT_ENVELOPE, item: str = "new_3star",
              *, limit: int = 100_000) -> BreakEven:
    """The largest count of ``item`` (a count parameter, or an item whose quantity is one) that keeps
    the total within ``envelope``, everything else as in the scenario.

    The marginal cost includes every line the count drives (awards, packaging, council
    entries through the pass rate), so it is the real cost of one more product.
    """
    name = _count_input(scenario, item)

    def at(n: int) -> int:
        return total(scenario.with_values(**{name: n}))

    envelope = int(envelope)
    base_value = float(scenario.parameters[name].value)
    if at(0) > envelope:
        return BreakEven(name, base_value, 0, at(0), envelope, at(1) - at(0))
    lo, hi = 0, 1
    while at(hi) <= envelope:  # total is non-decreasing in a count
        lo, hi = hi, hi * 2
        if hi > limit:
            raise ValueError(f"more than {limit} of {name!r} fit in the envelope; is its cost zero?")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if at(mid) <= envelope else (lo, mid)
    return BreakEven(name, base_value, lo, at(lo), envelope, at(lo + 1) - at(lo))
