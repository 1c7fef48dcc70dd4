"""Quantities from elsewhere: the 2022 cohort from a registry, the targets from a plan.

Both return new scenarios (nothing is modified) whose parameters say where the
new value came from in their ``source``.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

import pandas as pd

from .files import ScenarioSet
from .model import Scenario

__all__ = ["cohort_counts", "with_registry", "with_plan", "PLAN_TARGETS"]


def cohort_counts(evaluations: pd.DataFrame | Any, year: int = 2022) -> dict[str, int]:
    """Products certified in ``year`` (the cohort due for re-evaluation three years later), by star.

    Takes a Registry or its ``evaluations`` frame. Returns ``{"cohort_<year>": n,
    "cohort_<year>_3star": n3, "cohort_<year>_4star": n4}``; 4★ counts 4★ and 5★.
    A product certified twice that year counts once, at its highest star.
    """
    ev = getattr(evaluations, "evaluations", evaluations)
    mask = (ev["year"] == year).fillna(False) & ev["certified"].fillna(False)
    rows = ev[mask.astype(bool)]
    best = rows.groupby("product_id", observed=True)["stars"].max()
    n3 = int((best == 3).sum())
    n4 = int((best >= 4).sum())
    return {f"cohort_{year}": n3 + n4, f"cohort_{year}_3star": n3, f"cohort_{year}_4star": n4}


def _apply(scenarios, values: Mapping[str, float], source: str):
    def one(s: Scenario) -> Scenario:
        params = dict(s.parameters)
        for name, value in values.items():
            if name in params:
                params[name] = replace(params[name], value=value, formula=None, source=source)
        return replace(s, parameters=params)

    if isinstance(scenarios, Scenario):
        return one(scenarios)
    out = ScenarioSet((one(s) for s in scenarios.values()), envelope=getattr(scenarios, "envelope", 8_000_000_000),
                      source=getattr(scenarios, "source", ""))
    return out


def with_registry(scenarios, registry, year: int = 2022):
    """Scenarios whose ``cohort_<year>*`` parameters are counted from ``registry`` (or its evaluations)."""
    counts = cohort_counts(registry, year)
    return _apply(scenarios, counts, f"registry: products certified in {year} ({counts[f'cohort_{year}']})")


# plan key -> scenario parameter. The plan file (data/plans/*.yaml) names its targets; these
# are the ones that drive quantities. Read leniently: a plan may hold them as numbers or as
# {target: n} items.
PLAN_TARGETS = {
    "new_3star": "new_3star",
    "new_4star": "new_4star",
    "five_star_dossiers": "five_star_dossiers",
    "five_star_candidates": "five_star_dossiers",
    "reevaluation_share": "participation",
    "reevaluation_2022_share": "participation",
}


def _plan_values(plan: Any) -> dict[str, float]:
    """Flatten a plan (a mapping, or an object with ``targets``/``items``) to {key: number}."""
    if hasattr(plan, "targets"):
        plan = plan.targets
    elif hasattr(plan, "items") and not isinstance(plan, Mapping):
        plan = plan.items
    if isinstance(plan, pd.DataFrame):
        key = "item" if "item" in plan.columns else plan.columns[0]
        return {str(k): float(v) for k, v in zip(plan[key], plan["target"]) if pd.notna(v)}
    out: dict[str, float] = {}
    entries = plan.items() if isinstance(plan, Mapping) else ((getattr(e, "key", None) or getattr(e, "id", None), e)
                                                              for e in plan)
    for key, value in entries:
        if isinstance(value, Mapping):
            value = value.get("target", value.get("value"))
        elif hasattr(value, "target"):
            value = value.target
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out[str(key)] = float(value)
    return out


def with_plan(scenarios, plan, mapping: Mapping[str, str] = PLAN_TARGETS):
    """Scenarios whose count parameters take the plan's targets (``mapping``: plan key → parameter).

    Only the plan scenario's own targets should follow the plan; use it on the ``plan``
    scenario (``with_plan(s["plan"], plan)``) or on all of them.
    """
    values = _plan_values(plan)
    params = {mapping[k]: (int(v) if float(v).is_integer() else v) for k, v in values.items() if k in mapping}
    return _apply(scenarios, params, "plan file") if params else scenarios
