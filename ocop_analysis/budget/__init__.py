"""Budget scenarios for an OCOP plan: what it costs line by line, what if, and how likely an overrun.

A scenario is data (``data/budget/scenarios_2025.yaml`` or its workbook form):
parameters (counts, rates, scales) and line items (``quantity × unit_cost`` or a
fixed amount), each with its source or "assumption". Money is integer VND.

>>> import ocop_analysis as oa
>>> s = oa.budget.load_scenarios(oa.paths.DEFAULT_SCENARIOS)
>>> res = oa.budget.evaluate(s, envelope=8_000_000_000)
>>> list(res.totals.columns)[:5]
['scenario', 'label', 'total', 'envelope', 'headroom']
>>> sim = oa.budget.simulate(s["plan"], n=1_000, seed=1)
>>> 0.0 <= sim.summary["p_exceed"] <= 1.0
True

API: :func:`load_scenarios`, :func:`to_excel`, :func:`evaluate` (→ :class:`BudgetResult`
with ``.items``, ``.totals``, ``.parameters``), :func:`what_if`, :func:`sensitivity`,
:func:`breakeven`, :func:`simulate`, :func:`what_if_widget`, :func:`with_registry`,
:func:`with_plan`, :func:`cost_sources`; for people: :func:`load_with_plan`, :func:`for_registry`, :func:`totals_table`,
:func:`items_table`, :func:`breakeven_table`, :func:`simulation_table`, :func:`answer`.
"""
from __future__ import annotations

import pandas as pd

from .compute import (DEFAULT_ENVELOPE, BreakEven, BudgetResult, WhatIf, breakeven, evaluate, line_amounts,
                      quantities, resolve_parameters, sensitivity, total, what_if)
from .files import ScenarioSet, load_scenarios, parse_scenarios, to_excel, to_yaml_dict
from .inputs import cohort_counts, with_plan, with_registry
from .model import CATEGORIES, Dist, Formula, LineItem, Parameter, Scenario, category_label
from .simulate import Simulation, simulate
from .tables import (answer, breakeven_table, for_registry, items_table, load_with_plan, probability, sensitivity_table,
                     simulation_table, totals_table)
from .widgets import what_if_controls, what_if_widget

__all__ = [
    "load_scenarios", "parse_scenarios", "to_excel", "to_yaml_dict", "ScenarioSet", "Scenario", "Parameter",
    "LineItem", "Dist", "Formula", "CATEGORIES", "category_label", "evaluate", "BudgetResult", "what_if", "WhatIf",
    "sensitivity", "breakeven", "BreakEven", "simulate", "Simulation", "what_if_widget", "what_if_controls",
    "with_registry", "with_plan", "cohort_counts", "resolve_parameters", "quantities", "line_amounts", "total",
    "cost_sources", "DEFAULT_ENVELOPE", "load_with_plan", "for_registry", "totals_table", "items_table", "breakeven_table",
    "simulation_table", "answer", "sensitivity_table", "probability",
]


def cost_sources(scenario: Scenario, lang: str = "vi") -> pd.DataFrame:
    """Every unit cost (or fixed amount) of a scenario with its source and uncertainty range.

    Columns: item, label, unit_cost, range, source — the closing note of notebook 06.
    """
    rows = [{"item": it.id, "label": it.label(lang), "unit_cost": it.cost,
             "range": it.dist.describe(money_like=True) if it.dist else "",
             "source": it.source} for it in scenario.items]
    return pd.DataFrame(rows, columns=["item", "label", "unit_cost", "range", "source"]).astype({"unit_cost": "int64"})
