"""Monte Carlo over a scenario's uncertain inputs, vectorised with numpy.

Every parameter and line item with a ``dist`` in the scenario file is drawn
``n`` times (independently); formulas are evaluated on the whole arrays, so
counts derived from a drawn pass rate move draw by draw. 100,000 draws take a
few tens of milliseconds. The same ``seed`` gives the same draws.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .compute import DEFAULT_ENVELOPE, resolve_parameters
from .model import Formula, Scenario

__all__ = ["Simulation", "simulate"]


@dataclass(frozen=True)
class Simulation:
    """Draws and totals of a Monte Carlo run.

    ``draws``: one row per draw, a column per uncertain input (parameter value or
    unit cost) and ``total`` (VND, int64). ``summary``: mean, std, p5, p50, p95,
    p_exceed (share of draws above the envelope), envelope, n, seed, and the
    deterministic total of the scenario for comparison.
    """

    scenario: str
    draws: pd.DataFrame
    envelope: int
    seed: int | None
    deterministic_total: int

    @property
    def totals(self) -> np.ndarray:
        return self.draws["total"].to_numpy()

    def p_exceed(self, envelope: int | float | None = None) -> float:
        """Share of draws whose total is above ``envelope`` (default: the run's envelope)."""
        env = self.envelope if envelope is None else envelope
        return float(np.mean(self.totals > env))

    def quantile(self, q: float) -> int:
        return int(round(float(np.quantile(self.totals, q))))

    def exceedance(self, envelopes) -> pd.DataFrame:
        """P(total > envelope) for several envelopes: columns envelope, p_exceed."""
        sorted_totals = np.sort(self.totals)
        env = np.asarray(list(envelopes), dtype=float)
        above = len(sorted_totals) - np.searchsorted(sorted_totals, env, side="right")
        return pd.DataFrame({"envelope": env.astype("int64"), "p_exceed": above / len(sorted_totals)})

    @property
    def summary(self) -> pd.Series:
        t = self.totals
        return pd.Series({
            "scenario": self.scenario, "n": len(t), "seed": self.seed, "envelope": self.envelope,
            "deterministic_total": self.deterministic_total,
            "mean": int(round(float(t.mean()))), "std": int(round(float(t.std()))),
            "p5": self.quantile(0.05), "p50": self.quantile(0.50), "p95": self.quantile(0.95),
            "p_exceed": self.p_exceed(),
        }, dtype=object)


def simulate(scenario: Scenario, n: int = 100_000, seed: int | None = None,
             envelope: int = DEFAULT_ENVELOPE) -> Simulation:
    """Draw the scenario's uncertain inputs ``n`` times and return a :class:`Simulation`.

    Inputs without a distribution stay at their stated value. Draws are made in
    file order (parameters, then items) from one ``numpy.random.default_rng(seed)``.

    >>> sim = simulate(plan, n=100_000, seed=2025)   # doctest: +SKIP
    >>> sim.summary["p_exceed"]                      # doctest: +SKIP
    """
    from .compute import total as _total

    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {}
    given: dict[str, object] = {}
    for p in scenario.parameters.values():
        if p.dist is not None:
            given[p.name] = columns[p.name] = p.dist.sample(rng, n, p.value)
    costs: dict[str, np.ndarray | int] = {}
    for it in scenario.items:
        if it.dist is not None:
            costs[it.id] = columns[it.id] = it.dist.sample(rng, n, it.cost)
        else:
            costs[it.id] = it.cost
    params = resolve_parameters(scenario, given)
    totals = np.zeros(n, dtype=float)
    for it in scenario.items:
        if it.is_fixed:
            totals += costs[it.id]
            continue
        q = Formula.parse(it.quantity).evaluate(params) if isinstance(it.quantity, str) else it.quantity
        totals += np.asarray(q, dtype=float) * costs[it.id]
    draws = pd.DataFrame(columns)
    draws["total"] = np.rint(totals).astype("int64")
    return Simulation(scenario=scenario.name, draws=draws, envelope=int(envelope), seed=seed,
                      deterministic_total=_total(scenario))
