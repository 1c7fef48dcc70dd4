"""Inputs are never modified or locked (issue 8), and no output may overwrite an input.

Every input is hashed (SHA-256) with its size, mtime and mode before and after a load, a
``validate`` run and a report run (the report's own workbooks plus one small notebook that
loads the registry again). Writers refuse an output path that is an input:
``safety.refuse_overwrite`` is called by excel_out.write_excel/write_csv (report workbooks),
validate.write_problems_xlsx, template.write_template and budget.to_excel, and the report
refuses an --out folder whose clean-up would delete an input.
"""
from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

import ocop_analysis as oa
from notebook_factory import make_notebook
from ocop_analysis import budget, cli, excel_out, report, safety, template, validate

FIXTURES = Path(__file__).parent / "fixtures"
INPUTS = ["flat_clean.xlsx", "flat_clean.xls", "flat_clean.ods", "macro_enabled.xlsm", "revocations.xlsx",
          "bad_rows.xlsx", "formula_no_cache.xlsx", "title_two_row_header.xlsx"]


def snapshot(folder: Path) -> dict[str, tuple]:
    out = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            st = p.stat()
            out[str(p.relative_to(folder))] = (hashlib.sha256(p.read_bytes()).hexdigest(), st.st_size,
                                               st.st_mtime_ns, st.st_mode)
    return out


@pytest.fixture
def inputs(tmp_path):
    folder = tmp_path / "inputs"
    folder.mkdir()
    for name in INPUTS:
        shutil.copy2(FIXTURES / name, folder / name)
        os.chmod(folder / name, 0o644)
    return folder


def open_descriptors_to(folder: Path) -> list[str]:
    """Files under ``folder`` this process still holds open (a lock on Windows, a leak anywhere)."""
    held = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(folder)):
            held.append(target)
    return held


def test_load_leaves_every_input_untouched_and_unlocked(inputs):
    before = snapshot(inputs)
    reg = oa.load_registry(inputs, corrections=None, links=None)
    assert set(reg.sources["file"]) == set(INPUTS)
    assert snapshot(inputs) == before
    assert open_descriptors_to(inputs) == []


def test_validate_leaves_inputs_untouched(inputs, tmp_path, capsys):
    before = snapshot(inputs)
    code = cli.main(["validate", str(inputs), "--xlsx", str(tmp_path / "out" / "problems.xlsx")])
    assert code == 1  # bad_rows.xlsx has errors
    assert (tmp_path / "out" / "problems.xlsx").is_file()
    assert snapshot(inputs) == before
    assert open_descriptors_to(inputs) == []


def tiny_notebook(folder: Path) -> Path:
    folder.mkdir()
    make_notebook(folder / "01_load.ipynb",
                  ["import ocop_analysis as oa\nreg = oa.load_registry(registry_paths, corrections=None, links=None)\n"
                   "reg.evaluations[['product_name', 'stars']].head()"],
                  params="registry_paths = None\noutput_dir = 'reports'",
                  markdown="# Nạp sổ đăng ký\n\nCâu hỏi: đọc được không? Đầu vào: registry_paths.")
    return folder


def test_report_leaves_inputs_untouched(inputs, tmp_path):
    before = snapshot(inputs)
    out = report.run_report([inputs], out_dir=tmp_path / "out", notebooks_dir=tiny_notebook(tmp_path / "nbs"),
                            progress=False)
    assert (out / "registry_clean.xlsx").is_file() and (out / "report.html").is_file()
    assert snapshot(inputs) == before
    assert open_descriptors_to(inputs) == []


# --------------------------------------------------------------------------- outputs never overwrite inputs

def test_validate_refuses_xlsx_over_an_input(inputs, capsys):
    target = inputs / "bad_rows.xlsx"
    before = snapshot(inputs)
    code = cli.main(["validate", str(target), "--xlsx", str(target)])
    assert code == 2
    assert "refusing to overwrite an input" in capsys.readouterr().err
    assert snapshot(inputs) == before


def test_writers_refuse_an_input_path_after_a_load(inputs):
    reg = oa.load_registry(inputs / "flat_clean.xlsx", corrections=None, links=None)
    target = inputs / "flat_clean.xlsx"
    before = snapshot(inputs)
    frame = pd.DataFrame({"product_name": ["x"]})
    with pytest.raises(safety.OutputOverwritesInput, match="refusing to write over an input file"):
        excel_out.write_excel(target, frame)
    with pytest.raises(safety.OutputOverwritesInput):
        excel_out.write_csv(frame, target)
    with pytest.raises(safety.OutputOverwritesInput):
        validate.write_problems_xlsx(reg, target)
    with pytest.raises(safety.OutputOverwritesInput):
        template.write_template(target, overwrite=True)
    with pytest.raises(safety.OutputOverwritesInput):
        budget.to_excel(budget.load_scenarios(oa.paths.DEFAULT_SCENARIOS), target)
    with pytest.raises(safety.OutputOverwritesInput):  # the same file by another name: a relative path with ..
        excel_out.write_excel(inputs / ".." / "inputs" / "flat_clean.xlsx", frame)
    assert snapshot(inputs) == before


def test_a_symlink_or_hard_link_to_an_input_is_refused(inputs, tmp_path):
    oa.load_registry(inputs / "flat_clean.xlsx", corrections=None, links=None)
    (tmp_path / "alias.xlsx").symlink_to(inputs / "flat_clean.xlsx")
    os.link(inputs / "flat_clean.xlsx", tmp_path / "hard.xlsx")
    before = snapshot(inputs)
    for path in (tmp_path / "alias.xlsx", tmp_path / "hard.xlsx"):
        with pytest.raises(safety.OutputOverwritesInput):
            excel_out.write_excel(path, pd.DataFrame({"a": [1]}))
    assert snapshot(inputs) == before


def test_explicit_inputs_and_folders():
    with pytest.raises(safety.OutputOverwritesInput):
        safety.refuse_overwrite(FIXTURES / "flat_clean.xlsx", [FIXTURES])  # an existing workbook in an input folder
    safety.refuse_overwrite(FIXTURES / "not_there_yet.xlsx", [FIXTURES])  # a new file beside the inputs is fine
    safety.refuse_overwrite(Path("/tmp/elsewhere.xlsx"), [FIXTURES / "flat_clean.xlsx"])


def test_report_out_folder_holding_an_input_is_refused_before_clearing(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    registry = out / "registry_clean.xlsx"  # a previous report's output, now given as the input
    shutil.copy(FIXTURES / "flat_clean.xlsx", registry)
    before = snapshot(out)
    with pytest.raises(safety.OutputOverwritesInput):
        report.run_report([registry], out_dir=out, notebooks_dir=tiny_notebook(tmp_path / "nbs"), progress=False)
    assert snapshot(out) == before
    (out / "figures").mkdir()
    kept = shutil.copy(FIXTURES / "flat_clean.xlsx", out / "figures" / "mine.xlsx")
    with pytest.raises(report.ReportError, match="registry input is inside"):
        report.run_report([kept], out_dir=out, notebooks_dir=tmp_path / "nbs", progress=False)
    assert Path(kept).is_file()
