"""Maps at real positions, offline: one bubble per district (or commune) at its centroid.

No tiles, no basemap, no download: positions are the centroids of
:mod:`ocop_analysis.geography` (longitude on x, latitude on y, the y axis
stretched by 1/cos(latitude) so distances look right). Bubble area and colour
both grow with the value; each bubble is labelled with the unit's name.
Sits beside the schematic tile map (``plot_tile_map``) of charts/registry.py.
"""
from __future__ import annotations

import math
from typing import Any, Callable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import matplotlib.patheffects as pe
from matplotlib.colors import Normalize

from .. import fmt, geography
from .theme import label as text_label, number_formatter, percent_formatter

__all__ = ["plot_bubble_map", "bubble_sizes"]

_NAME_COLUMNS = ("short_name", "name", "district", "commune")
_MISSING_COLOUR = "#bdbdbd"


def bubble_sizes(values: Any, *, size_range: tuple[float, float] = (60.0, 1500.0), vmax: float | None = None) -> np.ndarray:
    """Marker areas (points²) growing linearly with the value from 0 (smallest) to ``vmax`` (largest).

    Area, not radius, is proportional so a bubble twice the value looks twice as big.
    Missing values get the smallest size; negative values count as 0.

    >>> bubble_sizes([0, 5, 10], size_range=(10, 110)).tolist()
    [10.0, 60.0, 110.0]
    """
    v = np.clip(np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float), 0, None)
    top = vmax if vmax is not None else (np.nanmax(v) if np.isfinite(v).any() else 0.0)
    lo, hi = size_range
    if not top or top <= 0:
        return np.full(len(v), lo)
    return np.where(np.isnan(v), lo, lo + (hi - lo) * np.minimum(v, top) / top)


def _positions(data: pd.DataFrame, province: str, structure: str) -> pd.DataFrame:
    """data with lon, lat and a display name, whichever key it carries."""
    d = data.copy()
    if {"lat", "lon"} <= set(d.columns):
        pass
    elif "district_code" in d.columns:
        coords = geography.district_coordinates(province)
        short = geography.districts(province).set_index("code")["short_name"]
        coords["short_name"] = coords["code"].map(short)
        d = d.merge(coords.rename(columns={"code": "district_code", "name": "_official"}),
                    on="district_code", how="left", suffixes=("", "_geo"))
    elif "commune_code" in d.columns:
        coords = geography.commune_coordinates(province, structure)
        d = d.merge(coords[["code", "name", "lat", "lon"]].rename(columns={"code": "commune_code", "name": "_official"}),
                    on="commune_code", how="left")
    else:
        raise ValueError("plot_bubble_map needs lat/lon columns, or district_code, or commune_code")
    name_col = next((c for c in _NAME_COLUMNS if c in d.columns and d[c].notna().any()), None)
    d["_label"] = d[name_col] if name_col else d.get("_official")
    if "_official" in d.columns:
        d["_label"] = d["_label"].fillna(d["_official"])
    missing = d["lat"].isna() | d["lon"].isna()
    if missing.any():
        raise ValueError(f"no coordinates for {missing.sum()} row(s): {d.loc[missing, '_label'].tolist()[:5]}")
    return d.reset_index(drop=True)


def plot_bubble_map(data: pd.DataFrame, *, value: str, ax=None, lang: str = "vi", label: bool = True,
                    province: str = "dong-thap", structure: str = "current", cmap: str = "YlOrBr",
                    size_range: tuple[float, float] | None = None, vmax: float | None = None,
                    value_format: Callable[[float], str] | None = None, colorbar: bool = True,
                    max_labels: int | None = 30, scale_km: float | None = 10.0, title: str | None = None):
    """Bubbles at real positions, sized and coloured by ``value``, named.

    ``data`` has one row per unit and the ``value`` column, plus either ``lat``/``lon`` (and a
    ``name``), or ``district_code`` (old districts of ``province``; e.g. a district table of the
    2025 plan), or ``commune_code`` (2025 communes; ``structure="legacy"`` for old ones).
    ``label`` writes each unit's name (and value) beside its bubble — on the side away from its
    nearest neighbour; with more than ``max_labels`` units only the largest values are named.
    ``size_range`` (points²) defaults to smaller bubbles when there are many units.
    ``scale_km`` draws a scale bar. Returns the Axes; never shows or saves.
    """
    d = _positions(data, province, structure)
    values = pd.to_numeric(d[value], errors="coerce").astype(float)
    ax = ax if ax is not None else plt.subplots(figsize=(7.5, 6.5))[1]
    finite = values.dropna()
    top = vmax if vmax is not None else (float(finite.max()) if len(finite) else 1.0)
    norm = Normalize(0.0, top if top > 0 else 1.0)
    cm = plt.get_cmap(cmap)
    if value_format is None:
        value_format = (lambda v: fmt.percent(v, 0, lang)) if value == "share" else (lambda v: fmt.number(v, 0, lang))
    if size_range is None:
        size_range = (40.0, max(250.0, 1400.0 * min(1.0, 15.0 / max(len(d), 1))))
    sizes = bubble_sizes(values, size_range=size_range, vmax=top)
    colours = [cm(norm(v)) if not math.isnan(v) else _MISSING_COLOUR for v in values]
    order = np.argsort(-sizes, kind="stable")  # big bubbles first, small ones stay visible on top
    ax.scatter(d["lon"].to_numpy()[order], d["lat"].to_numpy()[order], s=sizes[order],
               c=[colours[i] for i in order], edgecolors="#444444", linewidths=0.8, alpha=0.9, zorder=2, gid="bubbles")
    mean_lat = float(d["lat"].mean())
    if label:
        _labels(ax, d, values, sizes, value_format, mean_lat, max_labels)
    ax.set_aspect(1.0 / math.cos(math.radians(mean_lat)))
    _pad_limits(ax, d)
    ax.set_xticks([]), ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    ax.grid(False)
    if scale_km:
        _scale_bar(ax, scale_km, mean_lat)
    if colorbar:
        sm = plt.cm.ScalarMappable(norm=norm, cmap=cm)
        cbar = ax.figure.colorbar(sm, ax=ax, fraction=0.035, pad=0.02, shrink=0.6)
        cbar.set_label(text_label(value, lang) if value in ("count", "share", "value") else value)
        cbar.ax.yaxis.set_major_formatter(percent_formatter(lang=lang) if value == "share" else number_formatter(lang=lang))
    ax.set_title(title if title is not None else _label("bubble_map", lang))
    return ax


def _labels(ax, d: pd.DataFrame, values: pd.Series, sizes: np.ndarray, value_format, lat: float,
            max_labels: int | None) -> None:
    x = d["lon"].to_numpy() * math.cos(math.radians(lat))
    y = d["lat"].to_numpy()
    chosen = range(len(d))
    if max_labels is not None and len(d) > max_labels:
        chosen = sorted(np.argsort(-values.fillna(-np.inf).to_numpy(), kind="stable")[:max_labels])
    halo = [pe.withStroke(linewidth=2.5, foreground="white")]
    for i in chosen:
        dist = np.hypot(x - x[i], y - y[i])
        dist[i] = np.inf
        j = int(np.argmin(dist)) if len(d) > 1 else i
        left = len(d) > 1 and dist[j] < 0.12 and x[j] > x[i]   # a close neighbour to the east
        offset = math.sqrt(sizes[i]) / 2 + 3
        v = values.iloc[i]
        text = f"{d['_label'].iloc[i]}\n{'–' if math.isnan(v) else value_format(v)}"
        ax.annotate(text, (d["lon"].iloc[i], d["lat"].iloc[i]), xytext=(-offset if left else offset, 0),
                    textcoords="offset points", ha="right" if left else "left", va="center", fontsize="x-small",
                    zorder=3, gid=f"label-{i}", path_effects=halo)


def _label(key: str, lang: str) -> str:
    try:
        return text_label(key, lang)
    except KeyError:
        return {"vi": "Bản đồ theo vị trí thực", "en": "Map at real positions"}[lang] if lang in ("vi", "en") else text_label(key, lang)


def _pad_limits(ax, d: pd.DataFrame) -> None:
    lon_lo, lon_hi = d["lon"].min(), d["lon"].max()
    lat_lo, lat_hi = d["lat"].min(), d["lat"].max()
    span = max(lon_hi - lon_lo, lat_hi - lat_lo, 0.05)
    ax.set_xlim(lon_lo - 0.25 * span, lon_hi + 0.30 * span)  # room for labels on both sides
    ax.set_ylim(lat_lo - 0.12 * span, lat_hi + 0.12 * span)


def _scale_bar(ax, km: float, lat: float) -> None:
    deg = km / (111.32 * math.cos(math.radians(lat)))
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    x, y = x0 + 0.04 * (x1 - x0), y0 + 0.04 * (y1 - y0)
    ax.plot([x, x + deg], [y, y], color="#222222", linewidth=2, zorder=3, gid="scale-bar")
    ax.annotate(f"{fmt.number(km, 0)} km", (x + deg / 2, y), xytext=(0, 3), textcoords="offset points",
                ha="center", va="bottom", fontsize="x-small")
