"""notebooks/01_load_and_validate.ipynb runs on the sample in a temp dir and writes problems.xlsx there."""
from __future__ import annotations

import pytest

from ocop_analysis import paths

NOTEBOOK = paths.NOTEBOOKS_DIR / "01_load_and_validate.ipynb"


@pytest.mark.skipif(not any(paths.SAMPLE_DIR.glob("*.xlsx")), reason="data/sample/ not generated yet")
def test_notebook_01_runs(tmp_path):
    papermill = pytest.importorskip("papermill")
    out_dir = tmp_path / "reports"
    papermill.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"), cwd=str(tmp_path),
                               parameters={"output_dir": str(out_dir)}, kernel_name="python3", progress_bar=False)
    assert (out_dir / "problems.xlsx").exists()
