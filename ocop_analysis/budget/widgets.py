"""An interactive what-if: sliders wired to :func:`~ocop_analysis.budget.compute.what_if`.

The widget holds no arithmetic: every slider change calls ``what_if`` and shows
its total and headroom. Headless (papermill, nbconvert) the widget is built but
not drawn; notebooks show the static tables and charts as well.
"""
from __future__ import annotations

from typing import Iterable

from .. import fmt
from .compute import DEFAULT_ENVELOPE, what_if
from .model import Scenario, is_rate_name

__all__ = ["what_if_controls", "what_if_widget", "DEFAULT_CONTROLS"]

# The main inputs, when the scenario has them: unit costs of the largest lines, the plan's
# counts, pass and participation rates, and the scale of programme-level activities.
DEFAULT_CONTROLS = ("award_new_3star", "award_new_4star", "reeval_3star", "reeval_4star", "packaging",
                    "five_star_dossier", "new_3star", "new_4star", "five_star_dossiers", "pass_rate_3star",
                    "pass_rate_4star", "participation", "programme_scale")


def what_if_controls(scenario: Scenario, controls: Iterable[str] | None = None) -> list[dict]:
    """Slider specs (name, kind, label, value, min, max, step) for the inputs named in ``controls``.

    Ranges come from the input's stated distribution where it has one (widened to include
    0.5–1.5 × the value), else 0–2 × the value. Money sliders move in millions of đồng.
    """
    specs = []
    for name in (DEFAULT_CONTROLS if controls is None else controls):
        if name in scenario.parameters:
            p = scenario.parameters[name]
            if p.formula:
                continue
            value, dist, label = float(p.value), p.dist, p.label()
            kind = "rate" if is_rate_name(name) else ("count" if isinstance(p.value, int) else "number")
        elif any(it.id == name for it in scenario.items):
            it = scenario.item(name)
            value, dist, label, kind = it.cost / 1e6, it.dist, it.label(), "money"
        else:
            continue
        lo, hi = (0.0, 2 * value) if value else (0.0, 1.0)
        if dist is not None:
            dlo, dhi = dist.bounds()
            scale = 1e6 if kind == "money" else 1
            lo, hi = min(dlo / scale, 0.5 * value), max(dhi / scale, 1.5 * value)
        if kind == "rate":
            lo, hi, step = max(0.05, min(lo, value)), min(1.0, max(hi, value)), 0.01
        elif kind == "count":
            lo, hi, step = 0, max(int(hi), int(value) + 1), 1
        else:
            step = 0.5 if kind == "money" else 0.05
        specs.append({"name": name, "kind": kind, "label": label, "value": value, "min": lo, "max": hi,
                      "step": step})
    return specs


def what_if_widget(scenario: Scenario, envelope: int = DEFAULT_ENVELOPE, *,
                   controls: Iterable[str] | None = None, lang: str = "vi"):
    """A VBox of sliders (unit costs in triệu đồng, counts, rates) and a live total/headroom line."""
    import ipywidgets as w

    specs = what_if_controls(scenario, controls)
    sliders = {}
    for spec in specs:
        cls = w.IntSlider if spec["kind"] == "count" else w.FloatSlider
        unit = " (triệu đồng)" if spec["kind"] == "money" and lang == "vi" else (
            " (M VND)" if spec["kind"] == "money" else "")
        sliders[spec["name"]] = cls(value=spec["value"], min=spec["min"], max=spec["max"], step=spec["step"],
                                    description=spec["label"] + unit, continuous_update=False,
                                    style={"description_width": "30em"}, layout=w.Layout(width="56em"))
    result = w.HTML()

    def overrides() -> dict:
        out = {}
        for spec in specs:
            v = sliders[spec["name"]].value
            out[spec["name"]] = int(round(v * 1e6)) if spec["kind"] == "money" else v
        return out

    def refresh(_change=None) -> None:
        r = what_if(scenario, envelope, **overrides())
        colour = "#1a7f37" if r.fits else "#b42318"
        result.value = f"<b style='color:{colour}'>{r.summary(lang)}</b>"

    for s in sliders.values():
        s.observe(refresh, names="value")
    refresh()
    title = w.HTML(f"<b>{scenario.label(lang)}</b> — {fmt.vnd(envelope, lang)}")

    class WhatIfBox(w.VBox):
        """A VBox whose plain-text form (what a headless run or an HTML report shows) is the result line.

        ipywidgets cuts that text at 110 characters, so it stays short.
        """

        def __repr__(self) -> str:
            r = what_if(scenario, envelope, **overrides())
            note = "(what-if: kéo thanh trượt)" if lang == "vi" else "(what-if: move the sliders)"
            return f"{r.summary(lang)} {note}"

    return WhatIfBox([title, *sliders.values(), result])
