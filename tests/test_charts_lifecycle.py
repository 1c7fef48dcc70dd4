"""Lifecycle charts, tested by reading the artists (heights, labels, texts) and rendering to PNG."""
import warnings

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from ocop_analysis import charts
from ocop_analysis.charts import lifecycle as cl
from ocop_analysis.lifecycle import OUTCOMES


@pytest.fixture
def transitions():
    grid = pd.MultiIndex.from_product([["reevaluation", "upgrade"], [3, 4, 5], ["3", "4", "5", "failed"]],
                                      names=["kind", "stars_before", "stars_after"])
    t = pd.Series(0, index=grid, name="count")
    t[("reevaluation", 3, "3")] = 30
    t[("reevaluation", 3, "failed")] = 10
    t[("reevaluation", 4, "4")] = 4
    t[("upgrade", 3, "4")] = 5
    out = t.reset_index()
    out["stars_after"] = pd.Categorical(out["stars_after"], categories=["3", "4", "5", "failed"], ordered=True)
    out["stars_before"] = out["stars_before"].astype("Int64")
    return out


@pytest.fixture
def outcomes():
    counts = {2019: {"same": 30, "upgraded": 0, "downgraded": 0, "failed": 0, "lapsed": 15, "revoked": 25},
              2020: {"same": 40, "upgraded": 10, "failed": 5, "lapsed": 44}}
    rows = [(c, o, counts[c].get(o, 0)) for c in counts for o in OUTCOMES]
    out = pd.DataFrame(rows, columns=["cohort", "outcome", "count"])
    out["outcome"] = pd.Categorical(out["outcome"], categories=OUTCOMES, ordered=True)
    out["recognized"] = out.groupby("cohort")["count"].transform("sum")
    out["share"] = out["count"] / out["recognized"]
    return out


@pytest.fixture
def calendar_counts():
    months = pd.to_datetime(["2025-07-01", "2025-08-01", "2025-09-01"])
    rows = [(m, code, name, 0) for m in months for code, name in [(866, "Thành phố Cao Lãnh"), (876, "Huyện Lai Vung")]]
    out = pd.DataFrame(rows, columns=["month", "district_code", "district", "count"])
    out.loc[(out["month"] == months[1]) & (out["district_code"] == 876), "count"] = 7
    out.loc[(out["month"] == months[2]) & (out["district_code"] == 866), "count"] = 2
    return out


def texts(ax):
    return [t.get_text() for t in ax.texts]


def test_transitions_heatmap_cells_and_labels(transitions):
    ax = cl.plot_transitions(transitions)
    image = ax.images[0].get_array()
    assert image.shape == (3, 4)
    assert image[0, 0] == 30 and image[0, 3] == 10 and image[1, 1] == 4 and image[0, 1] == 5  # both kinds summed
    assert [t.get_text() for t in ax.get_xticklabels()] == ["3 sao", "4 sao", "5 sao", "Không đạt"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["3 sao", "4 sao", "5 sao"]
    assert texts(ax).count("30") == 1 and len(ax.texts) == 12


def test_transitions_heatmap_one_kind_in_english(transitions):
    ax = cl.plot_transitions(transitions, kind="upgrade", lang="en")
    image = ax.images[0].get_array()
    assert image.sum() == 5 and image[0, 1] == 5
    assert ax.get_xticklabels()[-1].get_text() == "Not certified"
    assert ax.get_xlabel() == "Result of re-evaluation"


def test_cohort_bars_heights_equal_the_data(outcomes):
    ax = cl.plot_cohorts(outcomes)
    handles, labels = ax.get_legend_handles_labels()
    # outcomes with a count somewhere, in OUTCOMES order
    assert labels == ["Đánh giá lại: tăng hạng", "Đánh giá lại: giữ hạng", "Đánh giá lại: không đạt",
                      "Không đánh giá lại", "Bị thu hồi"]
    heights = {(lab, i): p.get_height() for h, lab in zip(handles, labels) for i, p in enumerate(h.patches)}
    assert heights[("Đánh giá lại: giữ hạng", 0)] == 30 and heights[("Bị thu hồi", 0)] == 25
    assert heights[("Đánh giá lại: tăng hạng", 1)] == 10 and heights[("Không đánh giá lại", 1)] == 44
    revoked = handles[labels.index("Bị thu hồi")].patches[0]
    assert revoked.get_y() == 45  # stacked on same 30 + lapsed 15
    assert to_hex(revoked.get_facecolor()) == cl.OUTCOME_PALETTE["revoked"].lower()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2019", "2020"]
    assert "n=70" in texts(ax) and "n=99" in texts(ax)


def test_cohort_bars_as_shares(outcomes):
    ax = cl.plot_cohorts(outcomes, share=True, lang="en")
    tops = [p.get_y() + p.get_height() for p in ax.patches]
    assert max(tops) == pytest.approx(1.0)
    assert ax.get_legend_handles_labels()[1][0] == "Re-evaluated: up"


def test_expiry_calendar_heatmap(calendar_counts):
    ax = cl.plot_expiry_calendar(calendar_counts)
    image = ax.images[0].get_array()
    assert image.tolist() == [[0, 0, 2], [0, 7, 0]]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Thành phố Cao Lãnh", "Huyện Lai Vung"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["07/2025", "08/2025", "09/2025"]
    assert sorted(texts(ax)) == ["2", "7"]  # zero cells left blank


def test_revocations_by_district_bars():
    data = pd.DataFrame({"district_code": [866, 870], "district": ["Thành phố Cao Lãnh", "Huyện Hồng Ngự"],
                         "not_reevaluated": [1, 6], "failed_mandatory": [0, 2], "other": [0, 0], "total": [1, 8]})
    ax = cl.plot_revocations_by_district(data)
    widths = sorted(p.get_width() for p in ax.patches)
    assert widths == [0, 1, 2, 6]
    # first district at the top (highest y)
    ticks = {t.get_text(): t.get_position()[1] for t in ax.get_yticklabels()}
    assert ticks["Thành phố Cao Lãnh"] > ticks["Huyện Hồng Ngự"]
    assert ax.get_legend_handles_labels()[1] == ["Không đánh giá lại trong 36 tháng", "Không đạt tiêu chí bắt buộc"]


def test_plots_draw_on_a_given_axes_and_reexported(transitions):
    fig, ax = plt.subplots()
    assert cl.plot_transitions(transitions, ax=ax) is ax
    assert charts.plot_cohorts is cl.plot_cohorts and charts.plot_expiry_calendar is cl.plot_expiry_calendar


def test_render_png_without_missing_glyphs(tmp_path, transitions, outcomes, calendar_counts):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with charts.theme():
            for lang in ("vi", "en"):
                for name, ax in [("transitions", cl.plot_transitions(transitions, lang=lang)),
                                 ("cohorts", cl.plot_cohorts(outcomes, lang=lang)),
                                 ("calendar", cl.plot_expiry_calendar(calendar_counts, lang=lang))]:
                    written = charts.save(ax.figure, f"{name}_{lang}", formats=("png",), out_dir=tmp_path)
                    assert written[0].stat().st_size > 1000


def test_bad_language(outcomes):
    with pytest.raises(ValueError, match="lang"):
        cl.plot_cohorts(outcomes, lang="fr")


def test_cohort_target_bars_and_target_line():
    data = pd.DataFrame([{"cohort": 2022, "recognized": 156, "target_share": 0.5, "target": 78,
                          "reevaluated": 70, "rate": 70 / 156, "recertified": 61, "gap": 8, "met": False}])
    ax = cl.plot_cohort_target(data)
    assert sorted(p.get_width() for p in ax.patches) == [61, 70, 156]
    assert ax.lines[0].get_xdata()[0] == 78
    assert ax.get_legend_handles_labels()[1] == ["Chỉ tiêu: 78 (50%)"]
    assert " 70 (44,9%)" in texts(ax)
    assert ax.get_title() == "Đánh giá lại sản phẩm công nhận năm 2022"
