"""One look for every chart: theme, palettes, labels, number formats and ``save``.

- ``theme()`` applies the kit's matplotlib/seaborn style; used as ``with theme():``
  it restores the previous settings on exit (like seaborn's ``axes_style``).
- ``STAR_PALETTE`` maps 1–5 stars (and ``NOT_CERTIFIED``) to colours sampled from
  ColorBrewer YlOrBr at fixed CIELAB lightness: not certified (L*≈90, light grey)
  → 1★ 80 → 2★ 70 → 3★ 60 → 4★ 44 → 5★ 28. Lightness falls monotonically with at
  least 10 L* between neighbours, so the order reads in greyscale print and for
  colour-blind readers (dichromacy keeps lightness).
- ``GROUP_PALETTE`` maps the six product groups to the Okabe–Ito colours.
- ``label(key, lang)`` is the one label table for axis titles and legends.
- ``number_formatter``/``percent_formatter``/``vnd_formatter`` write axis ticks as
  Vietnamese reports do (1.234; 12%; 8,0 tỷ đồng) via :mod:`ocop_analysis.fmt`.
- ``save(fig, name)`` writes ``reports/figures/<name>.png`` and ``.svg``. In a Jupyter kernel
  with the inline backend the figure is then shown from the PNG just written (at its resolution,
  displayed at the figure's size) instead of being rendered a third time, unless it changed since.

The font is DejaVu Sans (ships with matplotlib; has every Vietnamese letter and ★).

>>> with theme():                                    # doctest: +SKIP
...     ax = plot_stars_by_district(table)
...     save(ax.figure, "stars_by_district")
"""
from __future__ import annotations

import sys
from base64 import b64encode
from pathlib import Path
from typing import Iterable

import matplotlib as mpl
from matplotlib.ticker import FuncFormatter

from .. import fmt, paths

__all__ = [
    "theme", "save", "STAR_PALETTE", "NOT_CERTIFIED", "GROUP_PALETTE", "TARGET_COLOR", "ACCENT_COLOR",
    "FONT_FAMILY", "LABELS", "label", "star_label", "star_colors", "group_colors",
    "number_formatter", "percent_formatter", "vnd_formatter",
]

FONT_FAMILY = "DejaVu Sans"

# Key used for rounds that ended without a certificate ("Không đạt") in star tables and palettes.
NOT_CERTIFIED = "not_certified"

STAR_PALETTE: dict[int | str, str] = {
    NOT_CERTIFIED: "#e3e3e3",
    1: "#feba46",
    2: "#fa9125",
    3: "#e86c12",
    4: "#b64203",
    5: "#762a05",
}

# Okabe & Ito (2008) colour-blind-safe qualitative colours, one per 148/2023 group.
GROUP_PALETTE: dict[int, str] = {
    1: "#E69F00",  # Thực phẩm
    2: "#56B4E9",  # Đồ uống
    3: "#009E73",  # Dược liệu
    4: "#CC79A7",  # Thủ công mỹ nghệ
    5: "#0072B2",  # Sinh vật cảnh
    6: "#D55E00",  # Dịch vụ du lịch
}

TARGET_COLOR = "#222222"  # target markers, band lines
ACCENT_COLOR = "#0072B2"  # single-series bars (progress bars, histograms)

# key -> (vi, en). Keep short: these are axis titles and legend entries.
LABELS: dict[str, tuple[str, str]] = {
    "district": ("Huyện/thành phố", "District/city"),
    "group": ("Nhóm sản phẩm", "Product group"),
    "stars": ("Hạng sao", "Star rating"),
    "year": ("Năm đánh giá", "Evaluation year"),
    "score": ("Điểm đánh giá", "Evaluation score"),
    "count": ("Số sản phẩm", "Number of products"),
    "products": ("sản phẩm", "products"),
    "share": ("Tỷ lệ", "Share"),
    "total": ("Toàn tỉnh", "Province total"),
    "national": ("Cả nước", "Nationwide"),
    NOT_CERTIFIED: ("Không đạt", "Not certified"),
    "target": ("Chỉ tiêu", "Target"),
    "actual": ("Thực hiện", "Actual"),
    "progress": ("Mức hoàn thành chỉ tiêu", "Progress towards target"),
    "met": ("Đạt", "Met"),
    "not_met": ("Chưa đạt", "Not met"),
    "not_measured": ("Chưa đo được", "Not measured"),
    "band": ("Ngưỡng hạng sao", "Star band cut-off"),
    "value": ("Giá trị", "Value"),
    "budget": ("Kinh phí", "Budget"),
    "stars_by_district": ("Sản phẩm OCOP theo huyện/thành phố và hạng sao",
                          "OCOP products by district/city and star rating"),
    "group_by_district": ("Sản phẩm OCOP theo huyện/thành phố và nhóm sản phẩm",
                          "OCOP products by district/city and product group"),
    "star_shares_by_year": ("Cơ cấu hạng sao theo năm đánh giá", "Star mix by evaluation year"),
    "score_histogram": ("Phân bố điểm đánh giá", "Distribution of evaluation scores"),
    "scorecard": ("Kết quả thực hiện kế hoạch OCOP", "OCOP plan scorecard"),
    "tile_map": ("Bản đồ ô các huyện/thành phố", "Tile map of districts/cities"),
    "products_by_district": ("Sản phẩm OCOP theo huyện/thành phố", "OCOP products by district/city"),
    "valid_by_district": ("Sản phẩm còn hiệu lực chứng nhận theo huyện/thành phố",
                          "Products with a valid certificate by district/city"),
    "new_4star_by_district": ("Sản phẩm mới đạt 4 sao theo huyện/thành phố", "New 4★ products by district/city"),
}


def label(key: str, lang: str = "vi") -> str:
    """The label for ``key`` in ``lang`` ("vi" or "en").

    >>> label("district"), label("district", "en")
    ('Huyện/thành phố', 'District/city')
    """
    _check_lang(lang)
    try:
        vi, en = LABELS[key]
    except KeyError:
        raise KeyError(f"no label for {key!r}; known keys: {', '.join(sorted(LABELS))}") from None
    return vi if lang == "vi" else en


def star_label(stars, lang: str = "vi") -> str:
    """'3 sao' / '3★'; the not-certified key gives 'Không đạt' / 'Not certified'.

    >>> star_label(4), star_label(4, "en"), star_label(NOT_CERTIFIED)
    ('4 sao', '4★', 'Không đạt')
    """
    _check_lang(lang)
    if stars == NOT_CERTIFIED:
        return label(NOT_CERTIFIED, lang)
    return f"{int(stars)} sao" if lang == "vi" else f"{int(stars)}★"


def star_colors(keys: Iterable) -> list[str]:
    """Colours for star keys (1–5 or NOT_CERTIFIED), in the given order."""
    return [STAR_PALETTE[k if k == NOT_CERTIFIED else int(k)] for k in keys]


def group_colors(keys: Iterable) -> list[str]:
    return [GROUP_PALETTE[int(k)] for k in keys]


def _check_lang(lang: str) -> None:
    if lang not in ("vi", "en"):
        raise ValueError(f"lang must be 'vi' or 'en', not {lang!r}")


# ---- axis formatters -------------------------------------------------------------------------

def number_formatter(decimals: int = 0, lang: str = "vi") -> FuncFormatter:
    """Ticks as 1.234 (vi) or 1,234 (en)."""
    return FuncFormatter(lambda x, _pos: fmt.number(x, decimals, lang))


def percent_formatter(decimals: int = 0, lang: str = "vi") -> FuncFormatter:
    """Ticks for shares in 0–1 as 12% (vi uses a decimal comma: 12,5%)."""
    return FuncFormatter(lambda x, _pos: fmt.percent(x, decimals, lang))


def vnd_formatter(lang: str = "vi", decimals: int | None = None) -> FuncFormatter:
    """Ticks for amounts in đồng: 8,0 tỷ đồng; 450 triệu đồng."""
    return FuncFormatter(lambda x, _pos: "0" if x == 0 else fmt.vnd(x, lang, decimals))


# ---- theme -----------------------------------------------------------------------------------

# seaborn 0.13's axes_style("whitegrid") and plotting_context(): written out here so that charts do
# not import seaborn (and through it ipywidgets) in every notebook kernel just to read two dicts.
# tests/test_charts_theme.py checks they equal seaborn's.
_WHITEGRID = {
    "axes.axisbelow": True, "axes.edgecolor": ".8", "axes.facecolor": "white", "axes.grid": True,
    "axes.labelcolor": ".15", "axes.spines.bottom": True, "axes.spines.left": True, "axes.spines.right": True,
    "axes.spines.top": True, "figure.facecolor": "white", "font.family": ["sans-serif"],
    "font.sans-serif": ["Arial", "DejaVu Sans", "Liberation Sans", "Bitstream Vera Sans", "sans-serif"],
    "grid.color": ".8", "grid.linestyle": "-", "image.cmap": "rocket", "lines.solid_capstyle": "round",
    "patch.edgecolor": "w", "patch.force_edgecolor": True, "text.color": ".15", "xtick.bottom": False,
    "xtick.color": ".15", "xtick.direction": "out", "xtick.top": False, "ytick.color": ".15",
    "ytick.direction": "out", "ytick.left": False, "ytick.right": False,
}
_CONTEXT_FONTS = {"font.size": 12, "axes.labelsize": 12, "axes.titlesize": 12, "xtick.labelsize": 11,
                  "ytick.labelsize": 11, "legend.fontsize": 11, "legend.title_fontsize": 12}
_CONTEXT_BASE = {
    "axes.linewidth": 1.25, "grid.linewidth": 1, "lines.linewidth": 1.5, "lines.markersize": 6,
    "patch.linewidth": 1, "xtick.major.width": 1.25, "ytick.major.width": 1.25, "xtick.minor.width": 1,
    "ytick.minor.width": 1, "xtick.major.size": 6, "ytick.major.size": 6, "xtick.minor.size": 4,
    "ytick.minor.size": 4, **_CONTEXT_FONTS,
}
_CONTEXT_SCALE = {"paper": .8, "notebook": 1, "talk": 1.5, "poster": 2}


def _plotting_context(context: str, font_scale: float) -> dict:
    """seaborn.plotting_context(context, font_scale) for a named context."""
    if context not in _CONTEXT_SCALE:
        raise ValueError(f"context must be in {', '.join(_CONTEXT_SCALE)}")
    scaled = {k: v * _CONTEXT_SCALE[context] for k, v in _CONTEXT_BASE.items()}
    scaled.update({k: scaled[k] * font_scale for k in _CONTEXT_FONTS})
    return scaled


def _rc(context: str, font_scale: float, rc: dict | None) -> dict:
    params = {}
    params.update({k: list(v) if isinstance(v, list) else v for k, v in _WHITEGRID.items()})
    params.update(_plotting_context(context, font_scale))
    params.update({
        "font.family": "sans-serif",
        "font.sans-serif": [FONT_FAMILY],
        "axes.unicode_minus": True,  # DejaVu Sans has U+2212
        "axes.titleweight": "bold",
        "axes.titlelocation": "left",
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.prop_cycle": mpl.cycler(color=list(GROUP_PALETTE.values())),
        "legend.frameon": False,
        "figure.dpi": 100,
        "savefig.dpi": 200,
        "savefig.bbox": "tight",
        "svg.fonttype": "path",  # glyphs as paths: the SVG shows diacritics without the font installed
        "image.cmap": "YlOrBr",
    })
    if rc:
        params.update(rc)
    return params


class _Theme:
    """Returned by :func:`theme`; restores the previous rcParams when used as a context manager."""

    def __init__(self, params: dict):
        self._saved = {k: mpl.rcParams[k] for k in params}
        mpl.rcParams.update(params)

    def __enter__(self) -> "_Theme":
        return self

    def __exit__(self, *exc) -> None:
        mpl.rcParams.update(self._saved)


def theme(context: str = "notebook", *, font_scale: float = 1.0, rc: dict | None = None) -> _Theme:
    """Apply the kit's chart style (seaborn whitegrid + DejaVu Sans + our defaults).

    Call it once (``oa.charts.theme()``) for the session, or ``with oa.charts.theme():`` so
    the style does not leak. ``context`` is a seaborn context ("paper", "notebook", "talk").
    """
    return _Theme(_rc(context, font_scale, rc))


# ---- save ------------------------------------------------------------------------------------

def save(fig, name: str, *, formats: Iterable[str] = ("png", "svg"), dpi: int = 200,
         out_dir: str | Path | None = None) -> list[Path]:
    """Write ``fig`` as ``<out_dir>/<name>.<fmt>`` for each format; returns the paths.

    ``name`` is a content name (``stars_by_district``); a trailing extension is dropped.
    ``out_dir`` defaults to ``paths.FIGURES_DIR`` (reports/figures) and is created.
    Accepts a Figure or an Axes (its figure is saved).
    """
    fig = getattr(fig, "figure", fig) if not hasattr(fig, "savefig") else fig
    stem = Path(name).name
    for ext in formats:
        if stem.lower().endswith("." + ext.lower()):
            stem = stem[: -len(ext) - 1]
    if not stem or stem in (".", ".."):
        raise ValueError(f"not a usable figure name: {name!r}")
    folder = Path(out_dir) if out_dir is not None else paths.FIGURES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    png = None
    for ext in formats:
        ext = ext.lower().lstrip(".")
        path = folder / f"{stem}.{ext}"
        # No timestamps in the files, so re-running a report does not change unchanged figures.
        metadata = {"Date": None} if ext in ("svg", "pdf") else ({"Software": None} if ext == "png" else None)
        fig.savefig(path, format=ext, dpi=dpi, bbox_inches="tight", metadata=metadata)
        written.append(path)
        if ext == "png":
            png = path
    if png is not None:
        _show_from_saved(fig, png, dpi)
    return written


# ---- showing a saved figure without rendering it again ------------------------------------------
#
# In a notebook the inline backend renders every open figure to PNG at the end of the cell: after
# save() that is a third rendering of the same chart (PNG 200 dpi, SVG, PNG 100 dpi). save() keeps
# the PNG it just wrote on the figure and marks the figure not stale; the kernel's PNG formatter for
# figures is wrapped once so that a figure unchanged since save() is shown from those bytes, with
# width/height halved like IPython's "retina" format (same size on screen, sharper). Any change to
# the figure after save() makes it stale again (matplotlib propagates it from every artist) and it
# is rendered as before. A draw after save() (fig.canvas.draw(), another savefig) clears the stale
# flag without updating the saved PNG, so the figure also counts its draws ('draw_event') and the
# saved PNG is used only while the count is the one save() recorded after its own savefig calls.

_SAVED_ATTR = "_ocop_saved_png"
_DRAWS_ATTR = "_ocop_draws"


def _inline_shell():
    """The running IPython kernel's shell when the inline backend is in use, else None."""
    if "IPython" not in sys.modules or "inline" not in str(mpl.get_backend()).lower():
        return None
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return None
    shell = get_ipython()
    return shell if shell is not None and hasattr(shell, "display_formatter") else None


def _png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk."""
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _saved_png_printer(render):
    def printer(fig):
        saved = getattr(fig, _SAVED_ATTR, None)
        if saved is None or fig.stale or saved[2] != getattr(fig, _DRAWS_ATTR, None):
            return render(fig)
        data, meta, _ = saved
        return b64encode(data).decode("ascii"), dict(meta)

    printer._ocop_wraps = render
    return printer


def _show_from_saved(fig, png: Path, dpi: float) -> bool:
    """Let the inline backend show ``fig`` from ``png`` (written just now at ``dpi``); True if set up."""
    shell = _inline_shell()
    if shell is None:
        return False
    from matplotlib.figure import Figure

    formatter = shell.display_formatter.formatters.get("image/png")
    try:
        render = formatter.lookup_by_type(Figure)
    except (KeyError, AttributeError):  # figures are not shown as PNG in this kernel
        return False
    if not hasattr(render, "_ocop_wraps"):
        formatter.for_type(Figure, _saved_png_printer(render))
    data = png.read_bytes()
    width, height = _png_size(data)
    scale = fig.dpi / dpi
    meta = {} if abs(scale - 1) < 1e-9 else {"width": round(width * scale), "height": round(height * scale)}
    if not hasattr(fig, _DRAWS_ATTR):  # counted from now on: save()'s own draws are over
        setattr(fig, _DRAWS_ATTR, 0)
        fig.canvas.mpl_connect("draw_event", _count_draw)
    setattr(fig, _SAVED_ATTR, (data, meta, getattr(fig, _DRAWS_ATTR)))
    fig.stale = False
    return True


def _count_draw(event) -> None:
    fig = event.canvas.figure
    setattr(fig, _DRAWS_ATTR, getattr(fig, _DRAWS_ATTR, 0) + 1)
