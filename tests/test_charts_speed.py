"""What charts do to stay fast in report kernels, without changing what they draw or write:

- the theme's seaborn values are written out (no seaborn import), and equal seaborn's own;
- save() lets the kernel show a figure from the PNG it just wrote instead of rendering it again,
  only while the figure is unchanged since save().
"""
import base64
import importlib
import subprocess
import sys

import matplotlib as mpl
import matplotlib.pyplot as plt
import pytest
from IPython.core.formatters import DisplayFormatter
from matplotlib.figure import Figure

th = importlib.import_module("ocop_analysis.charts.theme")  # the module (charts.theme is the function)


@pytest.mark.parametrize("context", ["paper", "notebook", "talk", "poster"])
@pytest.mark.parametrize("font_scale", [1.0, 1.3])
def test_theme_values_equal_seaborns(context, font_scale):
    sns = pytest.importorskip("seaborn")
    expected = {}
    expected.update(sns.axes_style("whitegrid"))
    expected.update(sns.plotting_context(context, font_scale=font_scale))
    ours = th._rc(context, font_scale, None)
    own = {"font.family", "font.sans-serif", "axes.spines.top", "axes.spines.right", "image.cmap"}  # kit overrides
    for key, value in expected.items():
        if key not in own:
            assert ours[key] == value, key
    assert ours["font.sans-serif"] == [th.FONT_FAMILY]


def test_unknown_context_is_refused():
    with pytest.raises(ValueError, match="context must be in"):
        th.theme("huge")


def test_charts_do_not_import_seaborn():
    code = "import sys, ocop_analysis as oa; oa.charts.theme(); print('seaborn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"MPLBACKEND": "Agg", "PATH": ""})
    assert out.stdout.strip() == "False"


class _Shell:
    """The part of an IPython shell save() uses: a display formatter with a counting PNG printer."""

    def __init__(self):
        self.display_formatter = DisplayFormatter()
        self.renders = 0

        def render(fig):
            self.renders += 1
            return "RENDERED"

        self.display_formatter.formatters["image/png"].for_type(Figure, render)

    def png(self, fig):
        data, meta = self.display_formatter.format(fig, include={"image/png"})
        return data["image/png"], meta.get("image/png", {})


@pytest.fixture()
def shell(monkeypatch):
    s = _Shell()
    monkeypatch.setattr(th, "_inline_shell", lambda: s)
    return s


def _figure():
    fig, ax = plt.subplots(figsize=(4, 3), dpi=100)
    ax.bar([1, 2, 3], [3, 1, 2])
    ax.set_title("Sản phẩm OCOP theo huyện ★")
    return fig, ax


def test_saved_figure_is_shown_from_its_png(shell, tmp_path):
    fig, _ = _figure()
    png, svg = th.save(fig, "chart", out_dir=tmp_path)
    data, meta = shell.png(fig)
    assert shell.renders == 0
    written = png.read_bytes()
    assert base64.b64decode(data) == written
    width, height = th._png_size(written)
    # written at 200 dpi, shown at the figure's 100 dpi: half the pixels each way
    assert (meta["width"], meta["height"]) == (round(width / 2), round(height / 2))
    assert svg.exists() and svg.stat().st_size > 0


def test_changed_figure_is_rendered_again(shell, tmp_path):
    fig, ax = _figure()
    th.save(fig, "chart", out_dir=tmp_path)
    ax.set_title("another title")
    assert shell.png(fig) == ("RENDERED", {})
    assert shell.renders == 1


def test_figure_changed_through_a_patch_is_rendered_again(shell, tmp_path):
    fig, ax = _figure()
    th.save(fig, "chart", out_dir=tmp_path)
    ax.patches[0].set_height(10)
    assert shell.png(fig)[0] == "RENDERED"


def test_figure_never_saved_is_rendered(shell, tmp_path):
    fig, _ = _figure()
    assert shell.png(fig)[0] == "RENDERED"


def test_saved_without_png_is_rendered(shell, tmp_path):
    fig, _ = _figure()
    th.save(fig, "chart", out_dir=tmp_path, formats=("svg",))
    assert shell.png(fig)[0] == "RENDERED"


def test_saved_at_the_figure_dpi_has_no_size_override(shell, tmp_path):
    fig, _ = _figure()
    th.save(fig, "chart", out_dir=tmp_path, dpi=100)
    data, meta = shell.png(fig)
    assert data != "RENDERED" and meta == {}


def test_printer_is_wrapped_once(shell, tmp_path):
    fig, _ = _figure()
    th.save(fig, "a", out_dir=tmp_path)
    th.save(fig, "b", out_dir=tmp_path)
    printer = shell.display_formatter.formatters["image/png"].lookup_by_type(Figure)
    assert not hasattr(printer._ocop_wraps, "_ocop_wraps")


def test_outside_a_kernel_nothing_is_attached(tmp_path):
    assert mpl.get_backend().lower() == "agg"
    fig, _ = _figure()
    th.save(fig, "chart", out_dir=tmp_path)
    assert not hasattr(fig, th._SAVED_ATTR)


def test_changed_then_drawn_after_save_is_rendered_again(shell, tmp_path):
    # the draw clears fig.stale, but what it drew (the label) is not in the saved PNG
    fig, ax = _figure()
    th.save(fig, "chart", out_dir=tmp_path)
    ax.set_xlabel("x")
    fig.canvas.draw()
    assert not fig.stale
    assert shell.png(fig) == ("RENDERED", {})


@pytest.mark.parametrize("draw", [
    lambda fig, tmp: fig.savefig(tmp / "other.pdf"),
    lambda fig, tmp: fig.savefig(tmp / "other.png"),
    lambda fig, tmp: th.save(fig, "svg_only", out_dir=tmp, formats=("svg",)),
])
def test_any_draw_after_save_drops_the_saved_png(shell, tmp_path, draw):
    fig, ax = _figure()
    th.save(fig, "chart", out_dir=tmp_path)
    ax.set_xlabel("x")
    draw(fig, tmp_path)
    assert shell.png(fig)[0] == "RENDERED"


def test_saved_again_after_a_change_is_shown_from_the_new_png(shell, tmp_path):
    # the second save() draws the figure (and fires draw events) itself: that must not drop its PNG
    fig, ax = _figure()
    th.save(fig, "first", out_dir=tmp_path)
    ax.set_xlabel("x")
    fig.canvas.draw()
    second, _ = th.save(fig, "second", out_dir=tmp_path)
    data, _ = shell.png(fig)
    assert shell.renders == 0
    assert base64.b64decode(data) == second.read_bytes()
