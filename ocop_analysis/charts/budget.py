"""Budget charts: waterfall to the total, scenario comparison, tornado, Monte Carlo histogram.

Each takes the tidy result of :mod:`ocop_analysis.budget` (``evaluate(...).items``,
``.totals``, ``sensitivity(...)``, ``simulate(...)``), keyword-only options,
``ax=None`` and ``lang``, and returns the Axes. The envelope (8 billion VND by
default) is drawn as a dashed line labelled with its amount.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .. import fmt
from .theme import ACCENT_COLOR, TARGET_COLOR, vnd_formatter

__all__ = ["plot_waterfall", "plot_scenarios", "plot_tornado", "plot_simulation", "CATEGORY_COLORS"]

DEFAULT_ENVELOPE = 8_000_000_000

# Okabe–Ito colours then greys: programme-level lines in greys, product lines in colour.
CATEGORY_COLORS: dict[str, str] = {
    "new_products": "#E69F00",
    "five_star": "#D55E00",
    "reevaluation": "#CC79A7",
    "packaging": "#009E73",
    "evaluation": "#56B4E9",
    "promotion": "#0072B2",
    "training": "#7f7f7f",
    "communication": "#a6a6a6",
    "management": "#595959",
}
_FALLBACK = ["#F0E442", "#000000", "#bcbd22", "#17becf"]
TOTAL_COLOR = "#333333"
OVER_COLOR = "#b42318"
P95_COLOR = "#7a1fa2"

_TEXT = {
    "envelope": ("Kinh phí kế hoạch", "Plan envelope"),
    "total": ("Tổng", "Total"),
    "amount": ("Kinh phí", "Amount"),
    "total_amount": ("Tổng kinh phí", "Total cost"),
    "scenario": ("Kịch bản", "Scenario"),
    "waterfall": ("Kinh phí theo khoản mục", "Budget by line item"),
    "scenarios": ("So sánh các kịch bản kinh phí", "Budget scenarios compared"),
    "tornado": ("Độ nhạy của tổng kinh phí", "Sensitivity of the total"),
    "tornado_x": ("Tổng kinh phí khi thay đổi từng yếu tố", "Total when one input changes"),
    "low": ("Thấp", "Low"),
    "high": ("Cao", "High"),
    "base": ("Kịch bản gốc", "Base case"),
    "simulation": ("Phân bố tổng kinh phí (mô phỏng Monte Carlo)", "Simulated total (Monte Carlo)"),
    "draws": ("Số lần mô phỏng", "Draws"),
    "p_exceed": ("Xác suất vượt", "P(exceed)"),
}


def _t(key: str, lang: str) -> str:
    if lang not in ("vi", "en"):
        raise ValueError(f"lang must be 'vi' or 'en', not {lang!r}")
    vi, en = _TEXT[key]
    return vi if lang == "vi" else en


def _category_colors(categories) -> dict[str, str]:
    out, spare = {}, iter(_FALLBACK * 10)
    for c in dict.fromkeys(categories):
        out[c] = CATEGORY_COLORS.get(c) or next(spare)
    return out


def _items_frame(data) -> pd.DataFrame:
    return data.items if hasattr(data, "items") and isinstance(getattr(data, "items"), pd.DataFrame) else data


def _envelope_line(ax, envelope: float, lang: str, *, vertical: bool = False) -> None:
    text = f"{_t('envelope', lang)}: {fmt.vnd(envelope, lang)}"
    if vertical:
        ax.axvline(envelope, color=TARGET_COLOR, linestyle="--", linewidth=1.4, label=text, zorder=3)
    else:
        ax.axhline(envelope, color=TARGET_COLOR, linestyle="--", linewidth=1.4, label=text, zorder=3)


def _billions_axis(axis, lang: str) -> str:
    """Ticks in tỷ đồng (8,0) with the unit in the axis label: long tick texts would collide."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator
    axis.set_major_locator(MaxNLocator(nbins=6))
    axis.set_major_formatter(FuncFormatter(lambda v, _p: fmt.number(v / 1e9, 1, lang)))
    return "tỷ đồng" if lang == "vi" else "bn VND"


def _legend(ax, **kwargs):
    leg = ax.legend(frameon=True, facecolor="white", edgecolor="#dddddd", framealpha=0.95, **kwargs)
    return leg


def _category_label(key: str, lang: str) -> str:
    from ..budget import category_label
    return category_label(key, lang)


def plot_waterfall(items, *, scenario: str | None = None, envelope: float | None = DEFAULT_ENVELOPE,
                   by: str = "item", ax=None, lang: str = "vi", title: str | None = None):
    """Floating bars from each line item (or category) up to the total, with the envelope line.

    ``items``: ``evaluate(...).items`` (or the BudgetResult); ``scenario`` picks one when
    several are present. Bars are coloured by category; the last bar is the total.
    Patches in order: one per line (or category), then the total.
    """
    df = _items_frame(items)
    names = list(dict.fromkeys(df["scenario"]))
    if scenario is None:
        if len(names) > 1:
            raise ValueError(f"items hold several scenarios ({', '.join(names)}); pass scenario=")
        scenario = names[0]
    df = df[df["scenario"] == scenario]
    if df.empty:
        raise ValueError(f"no items for scenario {scenario!r}")
    if by == "category":
        grouped = df.groupby("category", sort=False)["amount"].sum()
        labels = [_category_label(c, lang) for c in grouped.index]
        cats, amounts = list(grouped.index), grouped.to_numpy(dtype="int64")
    elif by == "item":
        labels, cats, amounts = list(df["label"]), list(df["category"]), df["amount"].to_numpy(dtype="int64")
    else:
        raise ValueError(f"by must be 'item' or 'category', not {by!r}")
    if ax is None:
        _, ax = plt.subplots(figsize=(max(7.0, 0.75 * len(labels) + 2), 5))
    colors = _category_colors(cats)
    starts = np.concatenate([[0], np.cumsum(amounts)[:-1]])
    x = np.arange(len(amounts) + 1)
    total = int(amounts.sum())
    ax.bar(x[:-1], amounts, bottom=starts, color=[colors[c] for c in cats], edgecolor="white", zorder=2)
    over = envelope is not None and total > envelope
    ax.bar(x[-1], total, color=OVER_COLOR if over else TOTAL_COLOR, zorder=2)
    ax.annotate(fmt.vnd(total, lang), (x[-1], total), xytext=(0, 3), textcoords="offset points",
                ha="center", va="bottom", fontsize="small")
    if envelope is not None:
        _envelope_line(ax, envelope, lang)
        _legend(ax, loc="upper left")
    ax.set_xticks(x, [*labels, _t("total", lang)], rotation=40, ha="right", rotation_mode="anchor")
    ax.yaxis.set_major_formatter(vnd_formatter(lang))
    ax.set_ylabel(_t("amount", lang))
    ax.set_ylim(0, max(total, envelope or 0) * 1.12)
    ax.set_title(title or _t("waterfall", lang))
    return ax


def plot_scenarios(items, *, envelope: float | None = DEFAULT_ENVELOPE, labels: dict | None = None,
                   ax=None, lang: str = "vi", title: str | None = None):
    """Stacked bars per scenario by category, the total written above each bar, and the envelope line.

    ``items``: ``evaluate(...).items`` (or the BudgetResult). ``labels``: scenario → display
    name (default: the result's totals labels when a BudgetResult is given, else the key).
    Patches are grouped by category (each category's bars across scenarios, in order).
    """
    if labels is None and hasattr(items, "totals"):
        labels = dict(zip(items.totals["scenario"], items.totals["label"]))
    df = _items_frame(items)
    scenarios = list(dict.fromkeys(df["scenario"]))
    table = (df.pivot_table(index="scenario", columns="category", values="amount", aggfunc="sum", sort=False)
             .reindex(index=scenarios, columns=list(dict.fromkeys(df["category"]))).fillna(0).astype("int64"))
    if ax is None:
        _, ax = plt.subplots(figsize=(max(6.5, 1.6 * len(scenarios) + 3), 5))
    colors = _category_colors(table.columns)
    x = np.arange(len(scenarios))
    bottom = np.zeros(len(scenarios), dtype="int64")
    for cat in table.columns:
        values = table[cat].to_numpy()
        ax.bar(x, values, bottom=bottom, color=colors[cat], label=_category_label(cat, lang), width=0.6, zorder=2)
        bottom = bottom + values
    for xi, total in zip(x, bottom):
        over = envelope is not None and total > envelope
        ax.annotate(fmt.vnd(int(total), lang), (xi, total), xytext=(0, 3), textcoords="offset points",
                    ha="center", va="bottom", fontsize="small", color=OVER_COLOR if over else TOTAL_COLOR,
                    fontweight="bold")
    if envelope is not None:
        _envelope_line(ax, envelope, lang)
    names = [(labels or {}).get(s, s) for s in scenarios]
    ax.set_xticks(x, names, rotation=15 if len(scenarios) > 3 else 0, ha="right" if len(scenarios) > 3 else "center")
    ax.yaxis.set_major_formatter(vnd_formatter(lang))
    ax.set_ylabel(_t("amount", lang))
    ax.set_ylim(0, max(int(bottom.max()), envelope or 0) * 1.12)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    ax.set_title(title or _t("scenarios", lang))
    return ax


def plot_tornado(table: pd.DataFrame, *, top: int | None = 12, envelope: float | None = None, ax=None,
                 lang: str = "vi", title: str | None = None):
    """Horizontal bars of the total at each input's low and high value, around the base total.

    ``table``: ``sensitivity(...)`` (sorted by swing; the largest swing is drawn at the top).
    Patches: the low-side bars (one per input, top to bottom), then the high-side bars.
    """
    if table.empty:
        raise ValueError("the sensitivity table is empty")
    rows = table.head(top) if top else table
    base = float(rows["base_total"].iloc[0])
    y = np.arange(len(rows))[::-1]  # largest swing at the top
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.42 * len(rows) + 1.6))
    low = rows["total_low"].to_numpy(dtype=float)
    high = rows["total_high"].to_numpy(dtype=float)
    ax.barh(y, low - base, left=base, color="#56B4E9", label=_t("low", lang) + " (−)", zorder=2)
    ax.barh(y, high - base, left=base, color="#E69F00", label=_t("high", lang) + " (+)", zorder=2)
    ax.axvline(base, color=TOTAL_COLOR, linewidth=1.0, label=f"{_t('base', lang)}: {fmt.vnd(base, lang)}")
    if envelope is not None:
        _envelope_line(ax, envelope, lang, vertical=True)
    ax.set_yticks(y, list(rows["label"]))
    unit = _billions_axis(ax.xaxis, lang)
    ax.set_xlabel(f"{_t('tornado_x', lang)} ({unit})")
    _legend(ax, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    ax.set_title(title or _t("tornado", lang))
    return ax


def plot_simulation(sim, *, envelope: float | None = None, bins: int = 60, ax=None, lang: str = "vi",
                    title: str | None = None):
    """Histogram of simulated totals with the envelope and the 95th percentile marked.

    ``sim``: a :class:`~ocop_analysis.budget.Simulation` (its envelope is used unless given)
    or an array of totals. Vertical lines: the envelope (dashed), then P95 (dotted).
    """
    totals = np.asarray(sim.totals if hasattr(sim, "totals") else sim, dtype=float)
    if envelope is None:
        envelope = getattr(sim, "envelope", DEFAULT_ENVELOPE)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.8))
    ax.hist(totals, bins=bins, color=ACCENT_COLOR, alpha=0.85, zorder=2)
    p95 = float(np.quantile(totals, 0.95))
    p_exceed = float(np.mean(totals > envelope))
    _envelope_line(ax, envelope, lang, vertical=True)
    ax.axvline(p95, color=P95_COLOR, linestyle=":", linewidth=1.8, label=f"P95: {fmt.vnd(p95, lang)}", zorder=3)
    ax.text(0.99, 0.97, f"{_t('p_exceed', lang)} {fmt.vnd(envelope, lang)}: {fmt.percent(p_exceed, 1, lang)}",
            transform=ax.transAxes, ha="right", va="top", fontsize="small",
            bbox={"facecolor": "white", "edgecolor": "#cccccc", "boxstyle": "round,pad=0.3"})
    unit = _billions_axis(ax.xaxis, lang)
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _p: fmt.number(v, 0, lang)))
    ax.set_xlabel(f"{_t('total_amount', lang)} ({unit})")
    ax.set_ylabel(_t("draws", lang))
    _legend(ax, loc="upper left", fontsize="small")
    ax.set_title(title or _t("simulation", lang))
    return ax
