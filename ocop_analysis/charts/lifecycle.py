"""Charts of the certificate lifecycle: transitions heatmap, cohort outcomes, expiry calendar, revocations.

Each takes the tidy result of the matching ``ocop_analysis.lifecycle`` function
(data first), options keyword-only, ``ax=None``, ``lang="vi"|"en"``, and returns
the Axes; none shows or saves (``charts.save`` does).

>>> ax = plot_cohorts(oa.lifecycle.cohort_outcomes(reg))        # doctest: +SKIP
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from .. import fmt
from .theme import (NOT_CERTIFIED, TARGET_COLOR, _check_lang, label, number_formatter, percent_formatter,
                    star_label)

__all__ = ["plot_transitions", "plot_cohorts", "plot_expiry_calendar", "plot_revocations_by_district",
           "plot_cohort_target",
           "OUTCOME_PALETTE", "OUTCOME_LABELS"]

# Colour-blind-safe (Okabe–Ito based): greens/blues for products that stayed, warm for those lost.
OUTCOME_PALETTE = {
    "upgraded": "#009E73",
    "same": "#7FCDBB",
    "downgraded": "#F0E442",
    "superseded": "#56B4E9",
    "failed": "#E69F00",
    "lapsed": "#D55E00",
    "revoked": "#7A1B1B",
    "still_valid": "#D9D9D9",
}
OUTCOME_LABELS = {
    "upgraded": ("Đánh giá lại: tăng hạng", "Re-evaluated: up"),
    "same": ("Đánh giá lại: giữ hạng", "Re-evaluated: same"),
    "downgraded": ("Đánh giá lại: giảm hạng", "Re-evaluated: down"),
    "superseded": ("Nâng hạng trước hạn", "Renewed early"),
    "failed": ("Đánh giá lại: không đạt", "Re-evaluated: failed"),
    "lapsed": ("Không đánh giá lại", "Lapsed"),
    "revoked": ("Bị thu hồi", "Revoked"),
    "still_valid": ("Còn hiệu lực", "Still valid"),
}
REASON_PALETTE = {"not_reevaluated": "#D55E00", "failed_mandatory": "#E69F00", "other": "#999999"}
_TEXT = {
    "reason:not_reevaluated": ("Không đánh giá lại trong 36 tháng", "Not re-evaluated within 36 months"),
    "reason:failed_mandatory": ("Không đạt tiêu chí bắt buộc", "Failed mandatory criteria"),
    "reason:other": ("Lý do khác", "Other reason"),
    "stars_before": ("Hạng sao trước", "Stars before"),
    "stars_after": ("Kết quả đánh giá lại", "Result of re-evaluation"),
    "transitions": ("Chuyển hạng sao khi đánh giá lại, nâng hạng", "Star transitions at re-evaluation and upgrade"),
    "cohort": ("Năm công nhận", "Year recognised"),
    "cohorts": ("Kết quả theo năm công nhận", "Outcome by year of recognition"),
    "calendar": ("Giấy chứng nhận hết hạn theo tháng", "Certificates expiring by month"),
    "month": ("Tháng hết hạn", "Month of expiry"),
    "revocations": ("Sản phẩm bị thu hồi giấy chứng nhận", "Certificates revoked"),
    "n": ("Số sản phẩm", "Products"),
    "recognized": ("Được công nhận", "Recognised"),
    "reevaluated": ("Đã tham gia đánh giá lại", "Re-evaluated"),
    "recertified": ("Được công nhận lại", "Re-certified"),
    "target": ("Chỉ tiêu", "Target"),
    "cohort_target": ("Đánh giá lại sản phẩm công nhận năm {cohort}", "Re-evaluation of the {cohort} cohort"),
}


def _t(key: str, lang: str) -> str:
    vi, en = _TEXT[key]
    return vi if lang == "vi" else en


def _axes(ax, figsize):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _heatmap(ax, matrix: np.ndarray, xlabels, ylabels, *, annotate: bool, cmap: str = "YlOrBr",
             zeros: bool = True):
    ax.imshow(matrix, cmap=cmap, aspect="auto", vmin=0, vmax=max(float(matrix.max()), 1.0))
    ax.set_xticks(range(len(xlabels)), labels=xlabels)
    ax.set_yticks(range(len(ylabels)), labels=ylabels)
    ax.grid(False)
    if annotate:
        top = max(float(matrix.max()), 1.0)
        for i in range(matrix.shape[0]):
            for j in range(matrix.shape[1]):
                value = matrix[i, j]
                if value == 0 and not zeros:
                    continue
                ax.text(j, i, f"{int(value)}", ha="center", va="center", fontsize=9,
                        color="white" if value > top * 0.6 else "black")


def plot_transitions(data: pd.DataFrame, *, kind: str | None = None, annotate: bool = True, ax=None,
                     lang: str = "vi"):
    """Heatmap of stars before (rows) × result after (columns) from ``lifecycle.transitions``.

    ``kind``: "reevaluation" or "upgrade" to show one kind; default both summed.
    Cells carry the counts; the last column is the failed rounds.
    """
    _check_lang(lang)
    if kind is not None:
        data = data[data["kind"] == kind]
    table = data.pivot_table(index="stars_before", columns="stars_after", values="count", aggfunc="sum",
                             observed=False).fillna(0)
    ax = _axes(ax, (6, 4))
    xlabels = [star_label(NOT_CERTIFIED if c == "failed" else int(c), lang) for c in table.columns]
    ylabels = [star_label(int(r), lang) for r in table.index]
    _heatmap(ax, table.to_numpy(dtype=float), xlabels, ylabels, annotate=annotate)
    ax.set_xlabel(_t("stars_after", lang))
    ax.set_ylabel(_t("stars_before", lang))
    ax.set_title(_t("transitions", lang))
    return ax


def plot_cohorts(data: pd.DataFrame, *, share: bool = False, ax=None, lang: str = "vi"):
    """Stacked bars per recognition cohort from ``lifecycle.cohort_outcomes``.

    One stack per outcome (re-evaluated up / same / down, renewed early, failed, lapsed,
    revoked, still valid); outcomes absent from every cohort are left out. ``share=True``
    stacks shares of the cohort instead of counts. The cohort size is written above each bar.
    """
    _check_lang(lang)
    value = "share" if share else "count"
    table = data.pivot_table(index="cohort", columns="outcome", values=value, aggfunc="sum",
                             observed=False).fillna(0)
    sizes = data.groupby("cohort")["count"].sum().reindex(table.index)
    ax = _axes(ax, (8, 4.5))
    x = np.arange(len(table.index))
    bottom = np.zeros(len(x))
    for outcome in OUTCOME_PALETTE:
        if outcome not in table.columns or not table[outcome].any():
            continue
        heights = table[outcome].to_numpy(dtype=float)
        ax.bar(x, heights, bottom=bottom, color=OUTCOME_PALETTE[outcome], width=0.7,
               label=OUTCOME_LABELS[outcome][0 if lang == "vi" else 1])
        bottom += heights
    for xi, top, n in zip(x, bottom, sizes):
        ax.text(xi, top, f"n={int(n)}", ha="center", va="bottom", fontsize=9)
    ax.set_xticks(x, labels=[str(int(c)) for c in table.index])
    ax.margins(y=0.12)
    if not share:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(_t("cohort", lang))
    ax.yaxis.set_major_formatter(percent_formatter(lang=lang) if share else number_formatter(lang=lang))
    ax.set_ylabel(label("share" if share else "count", lang))
    ax.set_title(_t("cohorts", lang))
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax


def plot_expiry_calendar(calendar, *, annotate: bool = True, ax=None, lang: str = "vi"):
    """Heatmap of certificates expiring per district (rows, official order) × month (columns).

    ``calendar``: the ``ExpiryCalendar`` from ``lifecycle.expiry_calendar`` or its ``counts``.
    """
    _check_lang(lang)
    counts = getattr(calendar, "counts", calendar)
    table = counts.pivot_table(index="district", columns="month", values="count", aggfunc="sum",
                               sort=False).reindex(pd.unique(counts["district"])).fillna(0)
    table = table[sorted(table.columns)]
    ax = _axes(ax, (max(6.0, 0.7 * len(table.columns) + 3), max(3.0, 0.35 * len(table.index) + 1.5)))
    xlabels = [f"{pd.Timestamp(m):%m/%Y}" for m in table.columns]
    _heatmap(ax, table.to_numpy(dtype=float), xlabels, list(table.index), annotate=annotate, cmap="Oranges",
             zeros=False)
    ax.tick_params(axis="x", labelrotation=45)
    ax.set_xlabel(_t("month", lang))
    ax.set_ylabel(label("district", lang))
    ax.set_title(_t("calendar", lang))
    return ax


def plot_revocations_by_district(data: pd.DataFrame, *, ax=None, lang: str = "vi"):
    """Horizontal stacked bars: revoked certificates per district by reason (``revocations_by_district``)."""
    _check_lang(lang)
    ax = _axes(ax, (7, max(3.0, 0.35 * len(data) + 1.5)))
    y = np.arange(len(data))[::-1]
    left = np.zeros(len(data))
    for reason, colour in REASON_PALETTE.items():
        if reason not in data or not data[reason].any():
            continue
        widths = data[reason].to_numpy(dtype=float)
        ax.barh(y, widths, left=left, color=colour, label=_t(f"reason:{reason}", lang))
        left += widths
    ax.set_yticks(y, labels=list(data["district"]))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(number_formatter(lang=lang))
    ax.set_xlabel(_t("n", lang))
    ax.set_title(_t("revocations", lang))
    if left.any():
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return ax



def plot_cohort_target(data: pd.DataFrame, *, ax=None, lang: str = "vi"):
    """One cohort against its re-evaluation target (a row of ``lifecycle.cohort_target``).

    Horizontal bars: recognised, re-evaluated, re-certified (counts, with the share of the
    cohort); a vertical line marks the target number of products.
    """
    _check_lang(lang)
    row = data.iloc[0]
    keys = ["recognized", "reevaluated", "recertified"]
    values = [float(row[k]) for k in keys]
    ax = _axes(ax, (7, 2.8))
    y = np.arange(len(keys))[::-1]
    colours = ["#D9D9D9", OUTCOME_PALETTE["same"], OUTCOME_PALETTE["upgraded"]]
    ax.barh(y, values, color=colours)
    ax.set_yticks(y, labels=[_t(k, lang) for k in keys])
    total = values[0]
    for yi, v in zip(y, values):
        share = f" ({fmt.percent(v / total, 1, lang)})" if total else ""
        ax.text(v, yi, f" {fmt.number(v, 0, lang)}{share}", va="center", fontsize=9)
    target = float(row["target"])
    ax.axvline(target, color=TARGET_COLOR, linestyle="--", linewidth=1.5,
               label=f"{_t('target', lang)}: {fmt.number(target, 0, lang)} "
                     f"({fmt.percent(float(row['target_share']), 0, lang)})")
    ax.xaxis.set_major_formatter(number_formatter(lang=lang))
    ax.set_xlim(0, max(values + [target]) * 1.25 or 1)
    ax.set_xlabel(_t("n", lang))
    ax.set_title(_t("cohort_target", lang).format(cohort=int(row["cohort"])))
    ax.legend(loc="lower right")
    return ax
