"""Budget charts, tested by reading the artists (bar heights, line positions, labels) and rendering PNGs."""
from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from ocop_analysis import budget, charts  # noqa: E402
from ocop_analysis.charts import budget as budget_charts  # noqa: E402

M = 1_000_000


@pytest.fixture
def scenarios():
    raw = {"scenarios": {
        "a": {"label_vi": "Kịch bản A", "label_en": "Scenario A",
              "parameters": {"new": {"value": 4}, "rate": {"value": 0.5, "dist": "uniform", "low": 0.4, "high": 0.6},
                             "entries": {"formula": "ceil(new / rate)"}},
              "items": [
                  {"id": "award", "category": "new_products", "label_vi": "Hỗ trợ 4 sao", "label_en": "4★ support",
                   "quantity": "new", "unit_cost": 1_000 * M, "dist": "triangular", "low": 500 * M,
                   "high": 1_000 * M},
                  {"id": "council", "category": "evaluation", "label_vi": "Hội đồng đánh giá",
                   "label_en": "Councils", "quantity": "entries", "unit_cost": 250 * M},
                  {"id": "training", "category": "training", "label_vi": "Đào tạo, tập huấn", "label_en": "Training",
                   "amount": 1_500 * M}]},
        "b": {"base": "a", "label_vi": "Kịch bản B", "items": [{"id": "award", "unit_cost": 500 * M}],
              "drop_items": ["training"]},
    }}
    return budget.parse_scenarios(raw)
    # a: 4 × 1,000 M + 8 × 250 M + 1,500 M = 7,500 M;  b: 4 × 500 M + 8 × 250 M = 4,000 M


@pytest.fixture
def result(scenarios):
    return budget.evaluate(scenarios, envelope=8_000 * M)


def _render(ax, tmp_path, name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph (Vietnamese letters, ★) warns: fail on it
        paths = charts.save(ax.figure, name, formats=("png",), out_dir=tmp_path)
    assert paths[0].exists() and paths[0].stat().st_size > 5_000


def _hlines(ax):
    return [line for line in ax.get_lines() if len(set(line.get_ydata())) == 1 and line.get_linestyle() == "--"]


def test_waterfall_bars_total_and_envelope(result, tmp_path):
    ax = charts.plot_waterfall(result, scenario="a")
    bars = ax.patches
    assert [p.get_height() for p in bars] == [4_000 * M, 2_000 * M, 1_500 * M, 7_500 * M]
    assert [p.get_y() for p in bars] == [0, 4_000 * M, 6_000 * M, 0]  # floating: each starts where the last ended
    (envelope,) = _hlines(ax)
    assert envelope.get_ydata()[0] == 8_000 * M
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["Hỗ trợ 4 sao", "Hội đồng đánh giá", "Đào tạo, tập huấn", "Tổng"]
    assert "Kinh phí kế hoạch: 8,0 tỷ đồng" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert "7,5 tỷ đồng" in [t.get_text() for t in ax.texts]
    _render(ax, tmp_path, "waterfall")


def test_waterfall_by_category_in_english(result, tmp_path):
    ax = charts.plot_waterfall(result.items, scenario="b", by="category", lang="en", envelope=3_000 * M)
    assert [p.get_height() for p in ax.patches] == [2_000 * M, 2_000 * M, 4_000 * M]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["New-product support", "Evaluation councils", "Total"]
    assert ax.patches[-1].get_facecolor() == matplotlib.colors.to_rgba(budget_charts.OVER_COLOR)  # over the envelope
    _render(ax, tmp_path, "waterfall_en")


def test_waterfall_needs_a_scenario_when_several(result):
    with pytest.raises(ValueError, match="several scenarios"):
        charts.plot_waterfall(result)


def test_scenarios_stacked_bars(result, tmp_path):
    ax = charts.plot_scenarios(result)
    heights = [p.get_height() for p in ax.patches]
    # categories in order (new_products, evaluation, training), each across scenarios a, b
    assert heights == [4_000 * M, 2_000 * M, 2_000 * M, 2_000 * M, 1_500 * M, 0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Kịch bản A", "Kịch bản B"]
    assert [t.get_text() for t in ax.texts] == ["7,5 tỷ đồng", "4,0 tỷ đồng"]
    (envelope,) = _hlines(ax)
    assert envelope.get_ydata()[0] == 8_000 * M
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Hỗ trợ sản phẩm mới" in legend and "Đào tạo, tập huấn" in legend
    _render(ax, tmp_path, "scenarios")


def test_tornado_bars_around_the_base(scenarios, tmp_path):
    table = budget.sensitivity(scenarios["a"], vary=0.2)
    ax = charts.plot_tornado(table, envelope=8_000 * M)
    n = len(table)
    low, high = ax.patches[:n], ax.patches[n:]
    base = 7_500 * M
    assert all(p.get_x() == base for p in ax.patches)
    # new ±20%: 3.2 → 3,200 M + ceil(6.4) = 7 × 250 M + 1,500 M = 6,450 M;
    #           4.8 → 4,800 M + ceil(9.6) = 10 × 250 M + 1,500 M = 8,800 M — the largest swing, at the top
    assert list(table["input"][:2]) == ["new", "award"]
    assert low[0].get_width() == 6_450 * M - base and high[0].get_width() == 8_800 * M - base
    # award: ±20% of 4 × 1,000 M = ±800 M
    assert low[1].get_width() == -800 * M and high[1].get_width() == 800 * M
    assert low[0].get_y() > low[1].get_y() > low[-1].get_y()
    ticks = sorted(ax.get_yticklabels(), key=lambda t: -t.get_position()[1])  # top to bottom
    assert [t.get_text() for t in ticks[:2]] == ["new", "Hỗ trợ 4 sao"]
    xs = {line.get_xdata()[0] for line in ax.get_lines()}
    assert xs == {base, 8_000 * M}
    _render(ax, tmp_path, "tornado")


def test_simulation_histogram_marks_envelope_and_p95(scenarios, tmp_path):
    sim = budget.simulate(scenarios["a"], n=20_000, seed=4, envelope=7_000 * M)
    ax = charts.plot_simulation(sim, lang="en")
    assert sum(p.get_height() for p in ax.patches) == 20_000
    envelope, p95 = ax.get_lines()
    assert envelope.get_xdata()[0] == 7_000 * M
    assert p95.get_xdata()[0] == pytest.approx(np.quantile(sim.totals, 0.95))
    text = ax.texts[0].get_text()
    assert text.startswith("P(exceed) 7.0 bn VND:") and text.endswith(f"{100 * sim.p_exceed():.1f}%")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0] == "Plan envelope: 7.0 bn VND" and legend[1].startswith("P95: ")
    _render(ax, tmp_path, "simulation")


def test_simulation_from_plain_totals_uses_given_envelope(tmp_path):
    totals = np.array([1, 2, 3, 4, 5] * 20) * 1_000 * M
    ax = charts.plot_simulation(totals, envelope=3_000 * M, bins=5)
    assert ax.get_lines()[0].get_xdata()[0] == 3_000 * M
    assert ax.texts[0].get_text().endswith("40,0%")  # 4 and 5 bn exceed 3 bn: 40 of 100
    _render(ax, tmp_path, "simulation_plain")


def test_plots_accept_an_axes_and_return_it(result):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2)
    assert charts.plot_waterfall(result, scenario="b", ax=axes[0]) is axes[0]
    assert charts.plot_scenarios(result, ax=axes[1]) is axes[1]


def test_default_scenarios_render_in_both_languages(tmp_path):
    import ocop_analysis as oa
    s = budget.load_scenarios(oa.paths.DEFAULT_SCENARIOS)
    res = budget.evaluate(s)
    with charts.theme():
        for lang in ("vi", "en"):
            _render(charts.plot_waterfall(res, scenario="plan", lang=lang), tmp_path, f"w_{lang}")
            _render(charts.plot_scenarios(budget.evaluate(s, lang=lang), lang=lang), tmp_path, f"s_{lang}")
            _render(charts.plot_tornado(budget.sensitivity(s["plan"], lang=lang), lang=lang), tmp_path, f"t_{lang}")
            _render(charts.plot_simulation(budget.simulate(s["plan"], n=2_000, seed=1), lang=lang), tmp_path,
                    f"h_{lang}")
