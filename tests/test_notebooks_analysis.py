"""Notebooks 02, 03 and 05: committed stripped, and they run headless on the sample, saving every chart."""
from __future__ import annotations

import nbformat
import pytest

from ocop_analysis import paths

NOTEBOOKS = {
    "02_district_breakdown": ["stars_by_district", "group_by_district_heatmap", "district_tile_map",
                              "district_bubble_map", "valid_by_district_tile_map"],
    "03_star_distribution": ["star_shares_by_year", "score_histogram"],
    "05_plan_scorecard": ["plan_scorecard", "plan_new_4star_tile_map"],
}
PARAMETERS = {
    "02_district_breakdown": {"registry_paths", "as_of", "lang", "output_dir"},
    "03_star_distribution": {"registry_paths", "as_of", "lang", "output_dir", "upgrade_within"},
    "05_plan_scorecard": {"registry_paths", "plan_path", "scenarios_path", "as_of", "lang", "output_dir"},
}


def _has_sample() -> bool:
    return paths.SAMPLE_DIR.is_dir() and any(paths.SAMPLE_DIR.glob("*.xlsx"))


@pytest.fixture(scope="module")
def registry_paths(tmp_path_factory):
    """The committed sample (None = the notebooks' default) or, before it is committed, one generated."""
    if _has_sample():
        return None
    from ocop_analysis import sample

    out = tmp_path_factory.mktemp("sample")
    sample.generate(out)
    return [str(out)]


@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_committed_notebook_is_stripped_with_one_parameters_cell(name):
    nb = nbformat.read(paths.NOTEBOOKS_DIR / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.cells[0].cell_type == "markdown"
    for word in ("Câu hỏi", "Đầu vào", "Đầu ra"):
        assert word in nb.cells[0].source
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    names = {line.split("=")[0].strip() for line in tagged[0].source.splitlines() if "=" in line}
    assert names == PARAMETERS[name]
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def _run(name, tmp_path, registry_paths, **extra):
    import papermill as pm

    out_dir = tmp_path / "reports"
    params = {"output_dir": str(out_dir), **extra}
    if registry_paths is not None:
        params["registry_paths"] = registry_paths
    out_nb = tmp_path / f"{name}.ipynb"
    pm.execute_notebook(str(paths.NOTEBOOKS_DIR / f"{name}.ipynb"), str(out_nb), parameters=params,
                        kernel_name="python3", cwd=str(tmp_path), progress_bar=False)
    return nbformat.read(out_nb, as_version=4), out_dir / "figures"


def _outputs(nb):
    for cell in nb.cells:
        if cell.cell_type == "code":
            yield cell, cell.outputs


@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_notebook_runs_headless_and_saves_charts(name, tmp_path, registry_paths):
    nb, figures = _run(name, tmp_path, registry_paths)
    for chart in NOTEBOOKS[name]:
        for ext in ("png", "svg"):
            path = figures / f"{chart}.{ext}"
            assert path.is_file() and path.stat().st_size > 1000, path
    for cell, outputs in _outputs(nb):
        for out in outputs:
            assert out.output_type != "error"
            if out.output_type == "stream":
                assert "Glyph" not in out.text and "missing from" not in out.text, out.text
    if name in ("02_district_breakdown", "03_star_distribution"):
        # the selector cell shows the default selection: its chart and its table as ordinary outputs
        cell = nb.cells[-1]
        assert "explorer(" in cell.source
        kinds = [sorted(o.get("data", {})) for o in cell.outputs]
        assert any("image/png" in k for k in kinds) and any("text/html" in k for k in kinds)


def test_scorecard_notebook_shows_the_2025_targets(tmp_path, registry_paths):
    nb, _ = _run("05_plan_scorecard", tmp_path, registry_paths, lang="en")
    card_cell = next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith("card = "))
    html = "".join(o["data"].get("text/html", "") for o in card_cell.outputs if "data" in o)
    for item in ("new_entries", "new_3_star", "new_4_star", "new_4_star_per_district", "five_star_dossiers",
                 "cohort_2022_reevaluated", "budget"):
        assert item in html
    assert "New products entered for evaluation in 2025" in html
    for target in ("≥ 60", "≥ 40", "≥ 20", "≥ 12", "≥ 5", "≥ 50%", "&gt; 8.0 bn VND"):
        assert target in html
