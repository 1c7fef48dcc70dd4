"""notebooks/00_quickstart.ipynb runs top to bottom on a fresh kernel with its defaults (the sample)."""
import re
import os

import nbformat
import papermill as pm
import pytest

from ocop_analysis import paths


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    out = tmp_path_factory.mktemp("quickstart")
    target = out / "00_quickstart.ipynb"
    backend = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"   # charts inline, as in Jupyter
    try:
        pm.execute_notebook(str(paths.NOTEBOOKS_DIR / "00_quickstart.ipynb"), str(target), kernel_name="python3",
                            parameters={"output_dir": str(out)}, cwd=str(paths.NOTEBOOKS_DIR),
                            progress_bar=False)
    finally:
        os.environ.pop("MPLBACKEND") if backend is None else os.environ.__setitem__("MPLBACKEND", backend)
    return out, nbformat.read(target, as_version=4)


def test_runs_without_error_and_saves_its_chart(executed):
    out, nb = executed
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    assert sorted(p.name for p in (out / "figures").iterdir()) == ["quickstart_star_shares_by_year.png",
                                                                  "quickstart_star_shares_by_year.svg"]


def test_shows_the_canonical_table_counts_and_one_chart(executed):
    _, nb = executed
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    html = "\n".join(o.get("data", {}).get("text/html", "") for o in outputs)
    for column in ("product_name", "entity_name", "district", "stars", "source_row"):
        assert f"<th>{column}</th>" in html
    # the calibrated rounds (issue 2): 2019 47 3★ + 23 4★ = 70; 2021 100 + 4 = 104; 2022 115 + 41 = 156
    text = "\n".join(o.get("data", {}).get("text/plain", "") for o in outputs)
    for year, three, four, total in ((2019, 47, 23, 70), (2021, 100, 4, 104), (2022, 115, 41, 156)):
        assert re.search(rf"^{year}\s+{three}\s+{four}\s+0\s+{total}$", text, flags=re.M), year
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 1
