"""Quantities from elsewhere: the 2022 cohort from a registry, the targets from a plan.

Both return new scenarios (nothing is modified) whose parameters say where the
new value came from in their ``source``.
"""
from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, Mapping

import pandas as pd

from .files import ScenarioSet
from .model import Dist, Scenario

__all__ = ["cohort_counts", "with_registry", "with_plan", "PLAN_TARGETS", "PLAN_METRICS"]


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


def _rescaled(dist: Dist | None, old: float, new: float) -> Dist | None:
    """The same relative uncertainty around a new value (a rate's range stays within 0–1)."""
    if dist is None or dist.kind == "beta" or not old:
        return dist
    factor = new / old
    within_unit = dist.low is not None and 0 <= dist.low and (dist.high or 0) <= 1

    def scale(x):
        if x is None:
            return None
        y = x * factor
        return min(max(y, 0.0), 1.0) if within_unit else y

    return replace(dist, low=scale(dist.low), mode=scale(dist.mode), high=scale(dist.high))


def _apply(scenarios, values: Mapping[str, float], source: str):
    def one(s: Scenario) -> Scenario:
        params = dict(s.parameters)
        for name, value in values.items():
            p = params.get(name)
            if p is None or (p.formula is None and p.value == value):
                continue  # unchanged: keep the original source text
            dist = _rescaled(p.dist, p.value, value) if p.formula is None else None
            params[name] = replace(p, value=value, formula=None, source=source, dist=dist)
        return replace(s, parameters=params)

    if isinstance(scenarios, Scenario):
        return one(scenarios)
    return ScenarioSet((one(s) for s in scenarios.values()), envelope=getattr(scenarios, "envelope", 8_000_000_000),
                       source=getattr(scenarios, "source", ""))


def with_registry(scenarios, registry, year: int = 2022):
    """Scenarios whose ``cohort_<year>*`` parameters are counted from ``registry`` (or its evaluations).

    A registry without any product certified in ``year`` leaves the scenarios unchanged (their
    published counts stay), rather than setting the cohort to zero.
    """
    counts = cohort_counts(registry, year)
    if counts[f"cohort_{year}"] == 0:
        return scenarios
    return _apply(scenarios, counts, f"registry: products certified in {year} ({counts[f'cohort_{year}']})")


# The plan's targets that drive quantities, by plan metric (data/plans/*.yaml, oa.load_plan) or,
# for a plain mapping, by key.
PLAN_METRICS = {
    ("new_certified_at_stars", 3): "new_3star",
    ("new_certified_at_stars", 4): "new_4star",
    ("five_star_dossiers", None): "five_star_dossiers",
    ("cohort_reevaluated_share", None): "participation",
}
PLAN_TARGETS = {"new_3star": "new_3star", "new_4star": "new_4star", "five_star_dossiers": "five_star_dossiers",
                "participation": "participation", "reevaluation_share": "participation"}
# A parameter "follows the plan" when its source says it came from a plan; other scenarios'
# own choices (e.g. the ambitious scenario's 50 new 3★, sourced "assumption: ...") are kept.
_FOLLOWS_PLAN = re.compile(r"^\s*(Đồng Tháp \d{4} plan|plan file)", re.IGNORECASE)


def _plan_values(plan: Any) -> tuple[dict[str, float], int | None]:
    """({parameter: target}, budget envelope or None) from a Plan (oa.load_plan) or a mapping."""
    values: dict[str, float] = {}
    envelope = None
    targets = getattr(plan, "targets", None)
    if targets is not None and not isinstance(plan, Mapping):
        for t in targets:
            params = getattr(t, "params", {}) or {}
            key = (t.metric, params.get("stars")) if t.metric == "new_certified_at_stars" else (t.metric, None)
            if key in PLAN_METRICS:
                values[PLAN_METRICS[key]] = float(t.target)
            elif t.metric == "budget_vnd":
                envelope = int(t.target)
        return values, envelope
    for key, value in (plan or {}).items():
        if isinstance(value, Mapping):
            value = value.get("target", value.get("value"))
        if key in PLAN_TARGETS and isinstance(value, (int, float)) and not isinstance(value, bool):
            values[PLAN_TARGETS[key]] = float(value)
        elif key in ("envelope", "budget") and isinstance(value, (int, float)):
            envelope = int(value)
    return values, envelope


def with_plan(scenarios, plan):
    """Scenarios whose plan-derived counts and rates take the targets of ``plan``.

    ``plan``: a Plan from ``oa.load_plan`` (targets read by metric: new 3★ and 4★ products,
    five-star dossiers, the cohort re-evaluation share, and the budget as the envelope) or a
    mapping ``{"new_3star": 40, ...}``. Only parameters that follow the plan are changed —
    those whose source starts with "Đồng Tháp <year> plan" (or "plan file") — so a scenario's
    own choices stay. A single Scenario is updated whatever its sources say.
    """
    values, envelope = _plan_values(plan)
    values = {k: (int(v) if float(v).is_integer() else v) for k, v in values.items()}
    name = getattr(getattr(plan, "path", None), "name", None) or "plan"
    source = f"plan file ({name})"
    if isinstance(scenarios, Scenario):
        return _apply(scenarios, values, source)
    out = []
    for s in scenarios.values():
        follow = {k: v for k, v in values.items()
                  if k in s.parameters and _FOLLOWS_PLAN.match(s.parameters[k].source or "")}
        out.append(_apply(s, follow, source))
    return ScenarioSet(out, envelope=envelope if envelope is not None else getattr(scenarios, "envelope", 8_000_000_000),
                       source=getattr(scenarios, "source", ""))
