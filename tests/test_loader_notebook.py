"""notebooks/01_load_and_validate.ipynb runs in a temp dir; it writes problems.xlsx only when there are problems."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import papermill

from ocop_analysis import paths

NOTEBOOK = paths.NOTEBOOKS_DIR / "01_load_and_validate.ipynb"
BAD_ROWS = Path(__file__).parent / "fixtures" / "bad_rows.xlsx"


def _run(tmp_path, **parameters):
    out_dir = tmp_path / "reports"
    papermill.execute_notebook(str(NOTEBOOK), str(tmp_path / "out.ipynb"), cwd=str(tmp_path),
                               parameters={"output_dir": str(out_dir), **parameters},
                               kernel_name="python3", progress_bar=False)
    return out_dir


def test_notebook_01_runs_on_the_clean_sample_and_writes_no_problems_workbook(tmp_path):
    out_dir = _run(tmp_path)
    assert not (out_dir / "problems.xlsx").exists()


def test_notebook_01_writes_the_problems_of_a_bad_registry(tmp_path):
    out_dir = _run(tmp_path, registry_paths=[str(BAD_ROWS)])
    sheets = pd.read_excel(out_dir / "problems.xlsx", sheet_name=None, engine="calamine")
    problems = sheets["Vấn đề"]
    # bad_rows.xlsx holds at least one row of each error kind (tests/fixtures/bad_rows.expected.yaml)
    assert {"missing_name", "invalid_stars", "unknown_district", "ambiguous_district", "duplicate"} <= set(problems["Vấn đề"])
    assert "Đã sửa (x)" in problems.columns


def test_notebook_01_writes_problems_in_the_language_asked(tmp_path):
    # the report passes lang to every notebook that declares it; problems.xlsx follows it
    out_dir = _run(tmp_path, registry_paths=[str(BAD_ROWS)], lang="en")
    assert set(pd.read_excel(out_dir / "problems.xlsx", sheet_name=None, engine="calamine")) == {"Problems", "Sheets"}
