"""A small selector for notebooks 02 and 03: pick a year, a district and a group; the main chart
and its table redraw.

The chart and table are shown with IPython display handles, so a headless run
(papermill, nbconvert) keeps the default selection as ordinary cell outputs, and in
Jupyter the dropdowns update those same outputs in place. All counting is done by
``analysis``; all drawing by ``charts``.

>>> from ocop_analysis.explore import explorer
>>> ex = explorer(reg.evaluations, view="district", lang="vi")   # doctest: +SKIP
>>> ex.update(year=2024, group=1)                                # doctest: +SKIP
"""
from __future__ import annotations

import io

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Image

from . import analysis, charts, reference

__all__ = ["explorer", "Explorer", "VIEWS", "selection_table"]

VIEWS = ("district", "stars")
_ALL = {"vi": "Tất cả", "en": "All"}
_DESC = {"year": ("Năm", "Year"), "district": ("Huyện/TP", "District"), "group": ("Nhóm", "Group")}


def selection_table(evaluations: pd.DataFrame, *, view: str = "district", year=None, district=None, group=None,
                    lang: str = "vi", province: str = "dong-thap") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(tidy result for the chart, display table) for one selection.

    view "district": stars by district of the selected year/group (the chart), and the selected
    district's rows (or the province total) as the table. view "stars": star shares by year of the
    selected district/group, and the selected year's rows (or every year) as the table.
    """
    if view not in VIEWS:
        raise ValueError(f"view must be one of {VIEWS}, not {view!r}")
    if view == "district":
        rows = analysis.select(evaluations, year=year, group=group)
        result = analysis.district_breakdown(rows, by="stars", province=province)
        if district in (None, "all"):
            table = result[result["is_total"]]
        else:
            table = result[result["district_code"] == int(district)]
        table = analysis.breakdown_table(table, lang=lang)
    else:
        rows = analysis.select(evaluations, district=district, group=group)
        result = analysis.star_distribution(rows, by="year")
        table = result if year in (None, "all") else result[(result["year"] == int(year)) | result["year"].isna()]
        table = analysis.distribution_table(table, by="year", lang=lang)
    return result, table


class Explorer:
    """The dropdowns plus the chart and table they drive (see :func:`explorer`)."""

    def __init__(self, evaluations: pd.DataFrame, *, view: str = "district", lang: str = "vi",
                 province: str = "dong-thap", year=None, district=None, group=None):
        if view not in VIEWS:
            raise ValueError(f"view must be one of {VIEWS}, not {view!r}")
        self.evaluations, self.view, self.lang, self.province = evaluations, view, lang, province
        self.selection = {"year": year, "district": district, "group": group}
        self._chart = self._table = None
        self.controls = self._controls()

    def _options(self, key: str) -> list[tuple[str, object]]:
        # "all", not None: an ipywidgets 8 Dropdown whose value is None shows no selection (blank).
        every = [(_ALL[self.lang], "all")]
        if key == "year":
            years = sorted(int(y) for y in self.evaluations["year"].dropna().unique())
            return every + [(str(y), y) for y in years]
        if key == "district":
            d = reference.districts(self.province)
            return every + list(zip(d["short_name"], d["code"].astype(int)))
        names = reference.group_names(self.lang)
        return every + [(f"{g}. {n}", g) for g, n in names.items()]

    def _controls(self):
        try:
            import ipywidgets as w
        except ImportError:  # the tables and chart still work without widgets
            return None
        boxes = []
        for key in ("year", "district", "group"):
            chosen = "all" if self.selection[key] is None else self.selection[key]
            dd = w.Dropdown(options=self._options(key), value=chosen,
                            description=_DESC[key][0 if self.lang == "vi" else 1])
            dd.observe(lambda change, k=key: self.update(**{k: None if change["new"] == "all" else change["new"]}),
                       names="value")
            boxes.append(dd)
        return w.HBox(boxes)

    def render(self):
        """(PNG image of the chart, table) for the current selection; the PNG does not depend on the
        matplotlib backend, so headless runs keep it."""
        result, table = selection_table(self.evaluations, view=self.view, lang=self.lang, province=self.province,
                                        **self.selection)
        with charts.theme():
            if self.view == "district":
                ax = charts.plot_stars_by_district(result, lang=self.lang)
            else:
                ax = charts.plot_star_shares_by_year(result, lang=self.lang)
        fig = ax.figure
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        plt.close(fig)  # shown through the display handle only, not again by the inline backend
        return Image(data=buf.getvalue(), format="png"), table

    def show(self) -> "Explorer":
        from IPython.display import display

        if self.controls is not None:
            display(self.controls)
        fig, table = self.render()
        self._chart = display(fig, display_id=True)
        self._table = display(table, display_id=True)
        return self

    def update(self, **selection) -> "Explorer":
        """Change the selection (year=, district=, group=) and redraw chart and table."""
        unknown = set(selection) - set(self.selection)
        if unknown:
            raise TypeError(f"unknown selection {sorted(unknown)}; use year, district, group")
        self.selection.update(selection)
        fig, table = self.render()
        if self._chart is not None:
            self._chart.update(fig)
            self._table.update(table)
        self.last = (fig, table)
        return self


def explorer(evaluations: pd.DataFrame, *, view: str = "district", lang: str = "vi", province: str = "dong-thap",
             year=None, district=None, group=None) -> Explorer:
    """Show the selector with its chart and table (default selection: everything) and return it.

    view "district" (notebook 02): stars by district; view "stars" (notebook 03): star shares by year.
    """
    return Explorer(evaluations, view=view, lang=lang, province=province, year=year, district=district,
                    group=group).show()
