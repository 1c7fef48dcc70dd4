"""Charts of the registry analyses: districts, stars, groups, scores, the plan scorecard, the tile map.

Each ``plot_*`` takes the tidy result of an analysis function (data first), keyword-only
options, ``ax=None`` (a new figure when None) and ``lang="vi"|"en"``, and returns the
Axes. None of them shows or saves; use ``charts.save(ax.figure, name)``.
"""
from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import Normalize
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import MaxNLocator

from .. import fmt, reference
from .theme import STAR_PALETTE, TARGET_COLOR, label, number_formatter, percent_formatter, star_label

__all__ = ["plot_stars_by_district", "plot_district_group_heatmap", "plot_star_shares_by_year",
           "plot_score_histogram", "plot_scorecard", "plot_tile_map"]


def _axes(ax, figsize):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _district_order(table: pd.DataFrame, include_total: bool) -> pd.DataFrame:
    t = table if include_total else table[~table["is_total"].astype(bool)]
    return t.sort_values("order", kind="stable")


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(str(text), width)) or str(text)


def _group_name(g, lang, width=18) -> str:
    if pd.isna(g):
        return "?"
    return _wrap(reference.group_names(lang).get(int(g), str(g)), width)


# ---- stars by district -----------------------------------------------------------------------

def plot_stars_by_district(table: pd.DataFrame, *, ax=None, lang: str = "vi", include_total: bool = False,
                           short_names: bool = True, annotate: bool = True, title: bool = True):
    """Stacked bars: certified products per district (official order), stacked by stars.

    ``table`` is ``district_breakdown(..., by="stars")``. One bar container per star level
    (legend "3 sao", "4 sao", …; colours from STAR_PALETTE); totals written on top.
    """
    t = _district_order(table, include_total)
    name_col = "short_name" if short_names else "district"
    wide = t.pivot_table(index=["order", name_col], columns="stars", values="count", aggfunc="sum",
                         sort=True).fillna(0)
    names = [n if n != "Toàn tỉnh" else label("total", lang) for n in wide.index.get_level_values(name_col)]
    ax = _axes(ax, (9, 4.8))
    x = np.arange(len(wide))
    bottom = np.zeros(len(wide))
    for s in wide.columns:
        values = wide[s].to_numpy(dtype=float)
        ax.bar(x, values, bottom=bottom, color=STAR_PALETTE[int(s)], label=star_label(s, lang),
               edgecolor="white", linewidth=0.6, width=0.75)
        bottom += values
    if annotate:
        for xi, total in zip(x, bottom):
            ax.annotate(fmt.number(total, 0, lang), (xi, total), xytext=(0, 2), textcoords="offset points",
                        ha="center", va="bottom", fontsize="small")
    ax.set_xticks(x, names, rotation=35, ha="right", rotation_mode="anchor")
    ax.set_xlabel(label("district", lang))
    ax.set_ylabel(label("count", lang))
    ax.yaxis.set_major_formatter(number_formatter(lang=lang))
    ax.grid(axis="x", visible=False)
    ax.legend(title=label("stars", lang), loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.margins(y=0.12)
    if title:
        ax.set_title(label("stars_by_district", lang))
    return ax


# ---- district × group heatmap ----------------------------------------------------------------

def plot_district_group_heatmap(table: pd.DataFrame, *, ax=None, lang: str = "vi", value: str = "count",
                                cmap: str = "YlOrBr", annotate: bool = True, title: bool = True):
    """Heatmap of districts (rows, official order) × product groups (columns).

    ``table`` is ``district_breakdown(..., by="group")``; ``value`` "count" or "share"
    (share of the district's products). Cells are written in Vietnamese number format.
    """
    if value not in ("count", "share"):
        raise ValueError(f"value must be 'count' or 'share', not {value!r}")
    t = _district_order(table, False)
    t = t[t["group"].notna()]
    names = dict(zip(t["order"], t["short_name"]))
    wide = t.pivot_table(index="order", columns="group", values=value, aggfunc="sum", dropna=False, sort=True)
    wide = wide.reindex(columns=sorted(int(c) for c in wide.columns))
    data = wide.to_numpy(dtype=float)
    ax = _axes(ax, (9, 6))
    vmax = np.nanmax(data) if np.isfinite(data).any() and np.nanmax(data) > 0 else 1
    mesh = ax.pcolormesh(np.arange(data.shape[1] + 1), np.arange(data.shape[0] + 1), np.ma.masked_invalid(data),
                         cmap=cmap, vmin=0, vmax=vmax, edgecolors="white", linewidth=1)
    ax.invert_yaxis()
    ax.set_xticks(np.arange(data.shape[1]) + 0.5, [_group_name(g, lang, 14) for g in wide.columns], fontsize="small")
    ax.set_yticks(np.arange(data.shape[0]) + 0.5, [names[o] for o in wide.index])
    ax.tick_params(length=0)
    ax.grid(False)
    for side in ("left", "bottom", "top", "right"):
        ax.spines[side].set_visible(False)
    cbar = ax.figure.colorbar(mesh, ax=ax, fraction=0.04, pad=0.02)
    cbar.set_label(label("count" if value == "count" else "share", lang))
    if value == "count":
        cbar.ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        cbar.ax.yaxis.set_major_formatter(number_formatter(lang=lang))
    else:
        cbar.ax.yaxis.set_major_formatter(percent_formatter(lang=lang))
    if annotate:
        for (i, j), v in np.ndenumerate(data):
            if np.isnan(v):
                continue
            text = fmt.number(v, 0, lang) if value == "count" else fmt.percent(v, 0, lang)
            dark = mesh.cmap(mesh.norm(v))
            lum = 0.2126 * dark[0] + 0.7152 * dark[1] + 0.0722 * dark[2]
            ax.text(j + 0.5, i + 0.5, text, ha="center", va="center", fontsize="small",
                    color="white" if lum < 0.5 else "black")
    ax.set_xlabel(label("group", lang))
    ax.set_ylabel(label("district", lang))
    if title:
        ax.set_title(label("group_by_district", lang))
    return ax


# ---- star shares by year ---------------------------------------------------------------------

def plot_star_shares_by_year(dist: pd.DataFrame, *, ax=None, lang: str = "vi", benchmark: bool = True,
                             annotate: bool = True, title: bool = True):
    """100% stacked bars of the star mix per evaluation year, with the national benchmark bar.

    ``dist`` is ``star_distribution(..., by="year")``. Years without certified results are
    left empty. The national bar (source "national") is the last one, labelled with its date.
    """
    reg = dist[dist["source"] == "registry"]
    wide = reg.pivot_table(index="year", columns="stars", values="share", aggfunc="sum", sort=True)
    ticks = [str(int(y)) for y in wide.index]
    if benchmark and (dist["source"] == "national").any():
        nat = dist[dist["source"] == "national"]
        row = nat.pivot_table(columns="stars", values="share", aggfunc="sum")
        row.index = ["national"]
        wide = pd.concat([wide, row.reindex(columns=wide.columns)])
        lab = nat["label"].iloc[0] if lang == "vi" else _english_benchmark(nat["benchmark_as_of"].iloc[0])
        ticks.append(_wrap(lab, 14))
    ax = _axes(ax, (8, 4.8))
    x = np.arange(len(wide))
    bottom = np.zeros(len(wide))
    for s in wide.columns:
        values = np.nan_to_num(wide[s].to_numpy(dtype=float))
        bars = ax.bar(x, values, bottom=bottom, color=STAR_PALETTE[int(s)], label=star_label(s, lang),
                      edgecolor="white", linewidth=0.6, width=0.7)
        if annotate:
            for rect, v, b in zip(bars, values, bottom):
                if v >= 0.06:
                    lum = _lightness(STAR_PALETTE[int(s)])
                    ax.text(rect.get_x() + rect.get_width() / 2, b + v / 2, fmt.percent(v, 0, lang),
                            ha="center", va="center", fontsize="x-small", color="white" if lum < 0.5 else "black")
        bottom += values
    ax.set_xticks(x, ticks)
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(percent_formatter(lang=lang))
    ax.set_ylabel(label("share", lang))
    ax.set_xlabel(label("year", lang))
    ax.grid(axis="x", visible=False)
    ax.legend(title=label("stars", lang), loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if title:
        ax.set_title(label("star_shares_by_year", lang))
    return ax


def _english_benchmark(as_of: str) -> str:
    ts = pd.Timestamp(as_of)
    return f"Nationwide ({ts.strftime('%b %Y')})"


def _lightness(colour) -> float:
    from matplotlib.colors import to_rgb

    r, g, b = to_rgb(colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


# ---- score histogram -------------------------------------------------------------------------

def plot_score_histogram(evaluations, *, ax=None, lang: str = "vi", binwidth: float = 2.0,
                         title: bool = True):
    """Histogram of evaluation scores, bars coloured by star band, with the 50/70/90 cut-offs.

    ``evaluations`` is the evaluation table (its ``score`` column) or a Series of scores.
    Bins start at 0 and are ``binwidth`` wide (2 points: every cut-off is a bin edge).
    Cut-off lines are the certified bands' minimum scores from reference.star_bands().
    """
    scores = evaluations["score"] if isinstance(evaluations, pd.DataFrame) else pd.Series(evaluations)
    scores = pd.to_numeric(scores, errors="coerce").dropna().astype(float)
    bands = reference.star_bands().sort_values("stars")
    edges = np.arange(0, 100 + binwidth, binwidth)
    counts, edges = np.histogram(scores.clip(0, 100), bins=edges)
    ax = _axes(ax, (8, 4.5))
    mins = bands["min_score"].to_numpy()
    band_of = np.searchsorted(mins, edges[:-1], side="right") - 1
    colours = [STAR_PALETTE[int(bands["stars"].iloc[i])] for i in band_of]
    ax.bar(edges[:-1], counts, width=binwidth, align="edge", color=colours, edgecolor="white", linewidth=0.4)
    top = max(counts.max() if len(counts) else 0, 1)
    for _, b in bands[bands["certified"]].iterrows():
        ax.axvline(b["min_score"], color=TARGET_COLOR, linestyle="--", linewidth=1)
        ax.text(b["min_score"] + 0.8, top * 1.08, star_label(int(b["stars"]), lang), fontsize="small",
                va="top", ha="left", color=TARGET_COLOR)
    handles = [Patch(color=STAR_PALETTE[int(s)], label=star_label(int(s), lang))
               for s in bands["stars"] if int(s) in STAR_PALETTE]
    ax.legend(handles=handles, title=label("band", lang), loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_xlim(0, 100)
    ax.set_ylim(0, top * 1.12)
    ax.set_xlabel(label("score", lang))
    ax.set_ylabel(label("count", lang))
    ax.yaxis.set_major_formatter(number_formatter(lang=lang))
    ax.xaxis.set_major_formatter(number_formatter(lang=lang))
    ax.grid(axis="x", visible=False)
    if title:
        ax.set_title(label("score_histogram", lang))
    return ax


# ---- plan scorecard --------------------------------------------------------------------------

def _format_value(v, unit: str, lang: str) -> str:
    if v is None or pd.isna(v):
        return label("not_measured", lang)
    if unit == "share":
        return fmt.percent(float(v), 0, lang)
    if unit == "vnd":
        return fmt.vnd(float(v), lang)
    return fmt.number(float(v), 0, lang)


MET_COLOR = "#0072B2"      # Okabe–Ito blue
NOT_MET_COLOR = "#E69F00"  # Okabe–Ito orange: distinct from blue for colour-blind readers and in greyscale


def plot_scorecard(card: pd.DataFrame, *, ax=None, lang: str = "vi", cap: float = 1.5, title: bool = True):
    """Progress bars: actual / target per plan item, a marker at the target (100%).

    ``card`` is ``plan_scorecard(...)``. Bars are blue when met, orange when not; items not
    measured get no bar and the text "Chưa đo được". Each row is annotated "actual / target".
    Progress is drawn up to ``cap`` (150%) so one overshoot does not squash the rest.
    """
    ax = _axes(ax, (9, 0.6 * len(card) + 1.2))
    y = np.arange(len(card))
    for yi, (_, row) in zip(y, card.iterrows()):
        target, actual = float(row["target"]), row["actual"]
        measured = actual is not None and not pd.isna(actual)
        progress = (float(actual) / target if target > 0 else 1.0) if measured else 0.0
        met = row["met"]
        colour = MET_COLOR if (measured and not pd.isna(met) and bool(met)) else NOT_MET_COLOR
        ax.barh(yi, 1.0, color="#eeeeee", height=0.6, zorder=1)  # the 0–100% track
        if measured:
            ax.barh(yi, min(progress, cap), color=colour, height=0.36, zorder=2)
        text = f"{_format_value(actual, row['unit'], lang)} / {_format_value(target, row['unit'], lang)}" \
            if measured else label("not_measured", lang)
        ax.text(min(max(progress, 1.0), cap) + 0.02, yi, text, va="center", ha="left", fontsize="small")
    ax.vlines(np.ones(len(card)), y - 0.38, y + 0.38, colors=TARGET_COLOR, linewidth=2, zorder=3,
              label=label("target", lang))
    ax.set_yticks(y, [_wrap(v, 38) for v in card["label"]])
    ax.invert_yaxis()
    ax.set_xlim(0, cap + 0.45)
    ax.set_xticks(np.arange(0, cap + 0.001, 0.25))
    ax.xaxis.set_major_formatter(percent_formatter(lang=lang))
    ax.set_xlabel(label("progress", lang))
    ax.grid(axis="y", visible=False)
    handles = [Patch(color=MET_COLOR, label=label("met", lang)), Patch(color=NOT_MET_COLOR, label=label("not_met", lang)),
               plt.Line2D([], [], color=TARGET_COLOR, linewidth=2, label=label("target", lang))]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 0.3 / max(len(card), 1)), ncol=3)
    if title:
        ax.set_title(label("scorecard", lang))
    return ax


# ---- tile map --------------------------------------------------------------------------------

def plot_tile_map(data: pd.DataFrame, *, value: str = "count", ax=None, lang: str = "vi", province: str = "dong-thap",
                  cmap: str = "YlOrBr", vmin: float | None = None, vmax: float | None = None,
                  value_format=None, colorbar: bool = True, title: str | None = None, highlight: str | None = None):
    """Schematic tile map: one square per district, placed roughly as on the map, coloured by ``value``.

    ``data`` has one row per district_code (e.g. ``district_totals(...)`` or
    ``plan_district_table(...)``) and the ``value`` column. Positions come from tile_row /
    tile_col in reference/districts.csv (north at the top). A district missing from
    ``data`` is drawn hatched grey. ``value_format`` formats the number in each tile
    (default: Vietnamese integers; shares when value is "share"). ``highlight`` names a boolean
    column (e.g. "met" of plan_district_table): those tiles get a dark outline and a ✓.
    """
    if data["district_code"].duplicated().any():
        raise ValueError("plot_tile_map needs one row per district_code (see analysis.district_totals)")
    d = reference.districts(province)
    values = d["code"].map(dict(zip(data["district_code"].astype(int), data[value].astype(float))))
    marked = (d["code"].map(dict(zip(data["district_code"].astype(int), data[highlight].fillna(False).astype(bool))))
              .fillna(False).astype(bool) if highlight else pd.Series(False, index=d.index))
    ax = _axes(ax, (6.5, 5.5))
    finite = values.dropna()
    lo = vmin if vmin is not None else (min(0.0, finite.min()) if len(finite) else 0.0)
    hi = vmax if vmax is not None else (finite.max() if len(finite) and finite.max() > lo else lo + 1)
    norm = Normalize(lo, hi)
    cm = plt.get_cmap(cmap)
    if value_format is None:
        value_format = (lambda v: fmt.percent(v, 0, lang)) if value == "share" else (lambda v: fmt.number(v, 0, lang))
    for (_, row), v, mark in zip(d.iterrows(), values, marked):
        x, yy = row["tile_col"], -row["tile_row"]
        if pd.isna(v):
            face, hatch, txt_col = "#f2f2f2", "///", "black"
        else:
            face, hatch = cm(norm(v)), None
            txt_col = "white" if _lightness(face) < 0.5 else "black"
        ax.add_patch(Rectangle((x, yy), 0.94, 0.94, facecolor=face, hatch=hatch, gid=f"tile-{row['code']}",
                               edgecolor=TARGET_COLOR if mark else "#bdbdbd", linewidth=2.5 if mark else 0.6))
        if mark:
            ax.text(x + 0.86, yy + 0.86, "✓", ha="right", va="top", fontsize="medium", fontweight="bold",
                    color=txt_col)
        ax.text(x + 0.47, yy + 0.6, _wrap(row["short_name"], 12), ha="center", va="center", fontsize="x-small",
                color=txt_col)
        ax.text(x + 0.47, yy + 0.25, "–" if pd.isna(v) else value_format(v), ha="center", va="center",
                fontsize="medium", fontweight="bold", color=txt_col)
    ax.set_xlim(-0.1, d["tile_col"].max() + 1.04)
    ax.set_ylim(-d["tile_row"].max() - 0.1, 1.04)
    ax.set_aspect("equal")
    ax.axis("off")
    if colorbar:
        sm = plt.cm.ScalarMappable(norm=norm, cmap=cm)
        cbar = ax.figure.colorbar(sm, ax=ax, fraction=0.04, pad=0.02)
        if value == "share":
            cbar.ax.yaxis.set_major_formatter(percent_formatter(lang=lang))
        else:
            cbar.ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            cbar.ax.yaxis.set_major_formatter(number_formatter(lang=lang))
    ax.set_title(title if title is not None else label("tile_map", lang))
    return ax
