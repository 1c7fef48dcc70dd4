"""charts/registry.py: plots read back through their artists; rendered to PNG with no missing glyph."""
from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from ocop_analysis import analysis as an  # noqa: E402
from ocop_analysis import charts, schema  # noqa: E402
from ocop_analysis.charts.theme import STAR_PALETTE  # noqa: E402


@pytest.fixture
def ev():
    # Lai Vung (876): two 3★ and one 4★; TP Cao Lãnh (866): one 5★; Lấp Vò (875): one 4★ (group 2).
    rows = [dict(product_id=p, district_code=c, stars=s, certified=True, year=y, group=g, score=sc, kind="new")
            for p, c, s, y, g, sc in [("a", 876, 3, 2023, 1, 55.0), ("b", 876, 3, 2024, 1, 68.5),
                                      ("c", 876, 4, 2024, 1, 71.0), ("d", 866, 5, 2024, 3, 91.0),
                                      ("e", 875, 4, 2023, 2, 88.0)]]
    rows.append(dict(product_id="f", district_code=875, stars=None, certified=False, year=2024, group=2, score=41.0))
    return schema.coerce_evaluations(rows)


def _render(ax, tmp_path, name="chart"):
    """Draw to PNG; any warning (a missing glyph above all) fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax.figure.savefig(tmp_path / f"{name}.png")
    assert (tmp_path / f"{name}.png").stat().st_size > 1000


def _ticklabels(axis):
    return [t.get_text() for t in axis.get_ticklabels()]


def test_stars_by_district_bars_equal_the_data(ev, tmp_path):
    table = an.district_breakdown(ev, by="stars")
    with charts.theme():
        ax = charts.plot_stars_by_district(table)
        _render(ax, tmp_path)
    assert len(ax.containers) == 3  # 3★, 4★, 5★
    labels = _ticklabels(ax.xaxis)
    assert labels[0] == "TP. Cao Lãnh" and labels[-1] == "H. Châu Thành" and "H. Lấp Vò" in labels
    assert len(labels) == 12
    lai_vung = labels.index("H. Lai Vung")
    heights = {s: [p.get_height() for p in c] for s, c in zip((3, 4, 5), ax.containers)}
    assert heights[3][lai_vung] == 2 and heights[4][lai_vung] == 1 and heights[5][lai_vung] == 0
    assert heights[5][0] == 1  # TP Cao Lãnh
    assert sum(heights[3]) == 2 and sum(heights[4]) == 2 and sum(heights[5]) == 1
    # stacked: the 4★ segment starts on top of the 3★ one
    assert ax.containers[1][lai_vung].get_y() == 2
    assert to_hex(ax.containers[1][0].get_facecolor()) == STAR_PALETTE[4]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["3 sao", "4 sao", "5 sao"]
    assert "3" in [t.get_text() for t in ax.texts]  # Lai Vung's total on its bar


def test_stars_by_district_english_and_total(ev, tmp_path):
    ax = charts.plot_stars_by_district(an.district_breakdown(ev), lang="en", include_total=True)
    _render(ax, tmp_path)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["3★", "4★", "5★"]
    assert _ticklabels(ax.xaxis)[-1] == "Province total"
    assert ax.containers[0][-1].get_height() == 2
    assert ax.get_xlabel() == "District/city"


def test_heatmap_cells_and_labels(ev, tmp_path):
    ax = charts.plot_district_group_heatmap(an.district_breakdown(ev, by="group"))
    _render(ax, tmp_path)
    mesh = ax.collections[0]
    data = np.asarray(mesh.get_array()).reshape(12, 6)
    assert data.sum() == 5
    assert data[10, 0] == 3  # Lai Vung (11th), Thực phẩm
    assert data[0, 2] == 1  # TP Cao Lãnh, Dược liệu
    assert data[9, 1] == 1  # Lấp Vò, Đồ uống
    assert _ticklabels(ax.yaxis)[10] == "H. Lai Vung"
    assert _ticklabels(ax.xaxis)[0] == "Thực phẩm"
    assert "Dược liệu" in _ticklabels(ax.xaxis)[2]
    assert [t.get_text() for t in ax.texts].count("3") == 1


def test_heatmap_share(ev, tmp_path):
    ax = charts.plot_district_group_heatmap(an.district_breakdown(ev, by="group"), value="share", lang="en")
    _render(ax, tmp_path)
    assert "100%" in [t.get_text() for t in ax.texts]
    assert _ticklabels(ax.xaxis)[0] == "Food"
    with pytest.raises(ValueError):
        charts.plot_district_group_heatmap(an.district_breakdown(ev, by="group"), value="mean")


def test_star_shares_by_year(ev, tmp_path):
    ax = charts.plot_star_shares_by_year(an.star_distribution(ev, by="year"))
    _render(ax, tmp_path)
    assert _ticklabels(ax.xaxis)[:2] == ["2023", "2024"]
    assert "Cả nước" in _ticklabels(ax.xaxis)[2]
    h = [[p.get_height() for p in c] for c in ax.containers]  # per star, per bar
    # 2023: a 3★ and e 4★ → 50/50; 2024: b 3★, c 4★, d 5★ → a third each; national 76.2 / 22.9 / 0.51 %
    assert h[0][0] == pytest.approx(0.5) and h[1][0] == pytest.approx(0.5) and h[2][0] == 0
    assert [x[1] for x in h] == pytest.approx([1 / 3] * 3)
    assert [x[2] for x in h] == pytest.approx([0.762, 0.229, 79 / 15590], abs=1e-4)
    assert _ticklabels(ax.yaxis)[-1] == "100%"
    assert "50%" in [t.get_text() for t in ax.texts]


def test_star_shares_without_benchmark_english(ev, tmp_path):
    ax = charts.plot_star_shares_by_year(an.star_distribution(ev, by="year"), lang="en", benchmark=False)
    _render(ax, tmp_path)
    assert _ticklabels(ax.xaxis) == ["2023", "2024"]
    ax = charts.plot_star_shares_by_year(an.star_distribution(ev, by="year"), lang="en")
    assert _ticklabels(ax.xaxis)[-1].replace("\n", " ") == "Nationwide (Dec 2024)"


def test_score_histogram(ev, tmp_path):
    ax = charts.plot_score_histogram(ev)
    _render(ax, tmp_path)
    heights = [p.get_height() for p in ax.patches if isinstance(p, Rectangle)]
    assert sum(heights) == 6
    lefts = {p.get_x(): p for p in ax.patches}
    assert lefts[70.0].get_height() == 1  # 71 points
    assert to_hex(lefts[70.0].get_facecolor()) == STAR_PALETTE[4]
    assert to_hex(lefts[40.0].get_facecolor()) == STAR_PALETTE[2]
    assert sorted(line.get_xdata()[0] for line in ax.lines) == [50, 70, 90]
    assert {"3 sao", "4 sao", "5 sao"} <= {t.get_text() for t in ax.texts}


def _card():
    return pd.DataFrame({
        "item": ["a", "b", "c", "d"],
        "label": ["Sản phẩm mới tham gia đánh giá", "Huyện có ≥ 2 sản phẩm 4 sao", "Tỷ lệ đánh giá lại",
                  "Tổng kinh phí"],
        "target": [60.0, 12.0, 0.5, 8e9], "actual": pd.array([45, 12, 0.6, None], dtype="Float64"),
        "gap": pd.array([15, 0, -0.1, None], dtype="Float64"), "met": pd.array([False, True, True, None],
                                                                                 dtype="boolean"),
        "unit": ["products", "districts", "share", "vnd"], "note": ["", "", "", ""]})


def test_scorecard_bars_and_markers(tmp_path):
    ax = charts.plot_scorecard(_card())
    _render(ax, tmp_path)
    progress = [p for p in ax.patches if p.get_height() == pytest.approx(0.36)]
    assert [p.get_width() for p in progress] == pytest.approx([0.75, 1.0, 1.2])
    assert to_hex(progress[0].get_facecolor()).lower() == "#e69f00"  # not met
    assert to_hex(progress[1].get_facecolor()).lower() == "#0072b2"  # met
    markers = ax.collections[0]
    assert len(markers.get_segments()) == 4
    assert all(seg[0][0] == 1.0 for seg in markers.get_segments())
    texts = [t.get_text() for t in ax.texts]
    assert "45 / 60" in texts and "60% / 50%" in texts and "Chưa đo được" in texts
    assert _ticklabels(ax.yaxis)[0] == "Sản phẩm mới tham gia đánh giá"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Đạt", "Chưa đạt", "Chỉ tiêu"]


def test_scorecard_caps_overshoot_and_formats_money(tmp_path):
    card = _card()
    card["actual"] = pd.array([120, 12, 0.6, 9e9], dtype="Float64")
    card["met"] = pd.array([True, True, True, True], dtype="boolean")
    ax = charts.plot_scorecard(card, lang="en")
    _render(ax, tmp_path)
    progress = [p for p in ax.patches if p.get_height() == pytest.approx(0.36)]
    assert progress[0].get_width() == 1.5  # 200% drawn at the cap
    assert "9.0 bn VND / 8.0 bn VND" in [t.get_text() for t in ax.texts]


def test_tile_map(ev, tmp_path):
    totals = an.district_totals(an.district_breakdown(ev))
    ax = charts.plot_tile_map(totals)
    _render(ax, tmp_path)
    tiles = {p.get_gid(): p for p in ax.patches if (p.get_gid() or "").startswith("tile-")}
    assert len(tiles) == 12
    lai_vung = tiles["tile-876"]
    assert (lai_vung.get_x(), lai_vung.get_y()) == (1, -3)  # tile_row 3, tile_col 1
    texts = [t.get_text() for t in ax.texts]
    assert "H. Lai Vung" in texts and "TP. Cao Lãnh" in texts
    assert texts.count("3") == 1 and texts.count("0") == 9
    # darker tile for the larger value (YlOrBr rises in darkness)
    assert sum(lai_vung.get_facecolor()[:3]) < sum(tiles["tile-869"].get_facecolor()[:3])


def test_tile_map_missing_district_and_share(tmp_path):
    data = pd.DataFrame({"district_code": [866, 876], "share": [0.25, 0.5]})
    ax = charts.plot_tile_map(data, value="share", lang="en", title="Share")
    _render(ax, tmp_path)
    texts = [t.get_text() for t in ax.texts]
    assert "50%" in texts and texts.count("–") == 10
    hatched = [p for p in ax.patches if p.get_hatch()]
    assert len(hatched) == 10
    assert ax.get_title() == "Share"
    with pytest.raises(ValueError, match="one row per district"):
        charts.plot_tile_map(pd.DataFrame({"district_code": [866, 866], "count": [1, 2]}))


def test_plots_use_given_axes_and_never_show(ev, monkeypatch):
    monkeypatch.setattr(plt, "show", lambda *a, **k: pytest.fail("a plot function called show()"))
    fig, axes = plt.subplots(2, 3)
    out = [
        charts.plot_stars_by_district(an.district_breakdown(ev), ax=axes[0, 0]),
        charts.plot_district_group_heatmap(an.district_breakdown(ev, by="group"), ax=axes[0, 1]),
        charts.plot_star_shares_by_year(an.star_distribution(ev, by="year"), ax=axes[0, 2]),
        charts.plot_score_histogram(ev, ax=axes[1, 0]),
        charts.plot_scorecard(_card(), ax=axes[1, 1]),
        charts.plot_tile_map(an.district_totals(an.district_breakdown(ev)), ax=axes[1, 2]),
    ]
    assert out == list(axes.flat)


def test_empty_registry_still_draws(tmp_path):
    ev = schema.coerce_evaluations()
    for ax in (charts.plot_stars_by_district(an.district_breakdown(ev)),
               charts.plot_district_group_heatmap(an.district_breakdown(ev, by="group")),
               charts.plot_score_histogram(ev),
               charts.plot_tile_map(an.district_totals(an.district_breakdown(ev)))):
        _render(ax, tmp_path)


def test_tile_map_highlights_met_districts(tmp_path):
    data = pd.DataFrame({"district_code": [866, 876, 875], "count": [2, 3, 1], "met": [True, True, False]})
    ax = charts.plot_tile_map(data, highlight="met")
    _render(ax, tmp_path)
    tiles = {p.get_gid(): p for p in ax.patches if (p.get_gid() or "").startswith("tile-")}
    thick = sorted(g for g, p in tiles.items() if p.get_linewidth() > 2)
    assert thick == ["tile-866", "tile-876"]
    assert [t.get_text() for t in ax.texts].count("✓") == 2
