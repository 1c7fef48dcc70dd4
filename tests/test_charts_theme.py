"""charts/theme.py: style, palettes, labels, formatters, save."""
from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402

from ocop_analysis import charts, paths  # noqa: E402
import importlib  # noqa: E402

th = importlib.import_module("ocop_analysis.charts.theme")  # the module (charts.theme is the function)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _linear(rgb):
    rgb = np.asarray(rgb, dtype=float)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def _lightness_linear(lin):
    y = float(lin @ np.array([0.2126, 0.7152, 0.0722]))
    return 116 * y ** (1 / 3) - 16 if y > 0.008856 else 903.3 * y


def _lightness(colour):
    return _lightness_linear(_linear(to_rgb(colour)))


# Viénot, Brettel & Mollon (1999) dichromat simulation matrices on linear RGB.
_PROTAN = np.array([[0.11238, 0.88762, 0.0], [0.11238, 0.88762, 0.0], [0.00401, -0.00401, 1.0]])
_DEUTAN = np.array([[0.29275, 0.70725, 0.0], [0.29275, 0.70725, 0.0], [-0.02234, 0.02234, 1.0]])

ORDER = [th.NOT_CERTIFIED, 1, 2, 3, 4, 5]


def test_star_palette_keys():
    assert set(th.STAR_PALETTE) == {th.NOT_CERTIFIED, 1, 2, 3, 4, 5}
    assert set(th.GROUP_PALETTE) == {1, 2, 3, 4, 5, 6}
    assert len(set(th.GROUP_PALETTE.values())) == 6


def test_star_palette_reads_in_greyscale():
    # Lightness falls monotonically from not certified to 5 stars, >= 8 L* apart.
    ls = [_lightness(th.STAR_PALETTE[k]) for k in ORDER]
    assert all(b < a - 8 for a, b in zip(ls, ls[1:])), ls


@pytest.mark.parametrize("matrix", [_PROTAN, _DEUTAN], ids=["protan", "deutan"])
def test_star_palette_reads_for_colour_blind(matrix):
    ls = [_lightness_linear(np.clip(matrix @ _linear(to_rgb(th.STAR_PALETTE[k])), 0, 1)) for k in ORDER]
    assert all(b < a - 6 for a, b in zip(ls, ls[1:])), ls


def test_labels_both_languages():
    assert th.label("district") == "Huyện/thành phố"
    assert th.label("district", "en") == "District/city"
    assert th.star_label(3) == "3 sao" and th.star_label(5, "en") == "5★"
    assert th.star_label(th.NOT_CERTIFIED) == "Không đạt"
    for key in th.LABELS:
        assert th.label(key, "vi") and th.label(key, "en")
    with pytest.raises(KeyError, match="no label"):
        th.label("nonsense")
    with pytest.raises(ValueError):
        th.label("district", "fr")


def test_formatters_write_vietnamese_numbers():
    assert th.number_formatter()(1234, 0) == "1.234"
    assert th.number_formatter(lang="en")(1234, 0) == "1,234"
    assert th.percent_formatter()(0.12, 0) == "12%"
    assert th.percent_formatter(1)(0.125, 0) == "12,5%"
    assert th.vnd_formatter()(8_000_000_000, 0) == "8,0 tỷ đồng"
    assert th.vnd_formatter()(450_000_000, 0) == "450 triệu đồng"
    assert th.vnd_formatter()(0, 0) == "0"


def test_theme_is_function_and_context_manager():
    before = dict(matplotlib.rcParams)
    with th.theme():
        assert matplotlib.rcParams["font.sans-serif"][0] == "DejaVu Sans"
        assert matplotlib.rcParams["axes.spines.top"] is False
    assert matplotlib.rcParams["font.sans-serif"] == before["font.sans-serif"]
    assert matplotlib.rcParams["axes.spines.top"] == before["axes.spines.top"]
    t = th.theme(rc={"axes.titlesize": 17})
    try:
        assert matplotlib.rcParams["axes.titlesize"] == 17
    finally:
        t.__exit__(None, None, None)
    assert matplotlib.rcParams["axes.titlesize"] == before["axes.titlesize"]


def test_vietnamese_text_renders_without_missing_glyphs(tmp_path):
    text = "Huyện Lấp Vò · Thành phố Hồng Ngự · Dược liệu · Sinh vật cảnh · 4★ · 8,0 tỷ đồng · ỹữằếđĐ"
    with th.theme():
        fig, ax = plt.subplots()
        ax.set_title(text)
        ax.set_xlabel(text)
        ax.bar([text[:12], "Thủ công mỹ nghệ"], [1, 2])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fig.savefig(tmp_path / "vi.png")
            fig.savefig(tmp_path / "vi.svg")
    assert (tmp_path / "vi.png").stat().st_size > 0


def test_missing_glyph_would_be_caught(tmp_path):
    # Guard for the guard: a glyph DejaVu lacks (CJK) does raise under our warning filter.
    fig, ax = plt.subplots()
    ax.set_title("漢字")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match="[Gg]lyph"):
            fig.savefig(tmp_path / "cjk.png")


def test_save_writes_each_format(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    out = th.save(fig, "stars_by_district.png", out_dir=tmp_path / "figs")
    assert out == [tmp_path / "figs" / "stars_by_district.png", tmp_path / "figs" / "stars_by_district.svg"]
    assert all(p.stat().st_size > 0 for p in out)
    assert (tmp_path / "figs" / "stars_by_district.png").read_bytes()[:4] == b"\x89PNG"
    assert "<svg" in (tmp_path / "figs" / "stars_by_district.svg").read_text(encoding="utf-8")[:500]
    only = th.save(ax, "x", formats=("svg",), out_dir=tmp_path)
    assert only == [tmp_path / "x.svg"]


def test_save_default_dir_is_figures_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "FIGURES_DIR", tmp_path / "reports" / "figures")
    fig, _ = plt.subplots()
    out = th.save(fig, "tile_map", formats=("png",))
    assert out == [tmp_path / "reports" / "figures" / "tile_map.png"]


def test_save_rejects_empty_name(tmp_path):
    fig, _ = plt.subplots()
    with pytest.raises(ValueError):
        th.save(fig, "", out_dir=tmp_path)


def test_charts_package_reexports_theme():
    for name in th.__all__:
        assert getattr(charts, name) is getattr(th, name)
