"""The report runner on small notebooks made here: parameters, outputs, HTML, failures, CLI messages.

The end-to-end run on the real notebooks and the sample is tests/test_report.py.
"""
import json
import re

import nbformat
import pytest

import notebook_factory

from ocop_analysis import cli, report


def make_notebook(path, params_source, cells, title=None):
    return notebook_factory.make_notebook(path, cells, params=params_source,
                                          markdown=f"# {title or path.stem}\n\n## Kết luận\nchữ")


CHART = """import matplotlib.pyplot as plt, os
fig, ax = plt.subplots(figsize=(3, 2))
ax.bar([1, 2], [{h}, 4])
os.makedirs(f"{{output_dir}}/figures", exist_ok=True)
for ext in ("png", "svg"):
    fig.savefig(f"{{output_dir}}/figures/{name}.{{ext}}", dpi=200)"""

SAVED_NOT_SHOWN = """import matplotlib.pyplot as plt, os
fig, ax = plt.subplots(figsize=(3, 2))
os.makedirs(f"{output_dir}/figures", exist_ok=True)
fig.savefig(f"{output_dir}/figures/hidden_chart.png", dpi=200)
plt.close(fig)"""


@pytest.fixture(scope="module")
def good_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("good")
    nbs = base / "notebooks"
    nbs.mkdir()
    make_notebook(nbs / "01_first.ipynb", 'lang = "vi"\noutput_dir = "reports"\nregistry_paths = None',
                  [CHART.format(h=3, name="bars_one"), 'print("LANG=" + lang, "PATHS=", registry_paths)'])
    make_notebook(nbs / "02_second.ipynb", "as_of = None\noutput_dir = 'reports'",
                  [CHART.format(h=1, name="bars_two"), SAVED_NOT_SHOWN, 'print("ASOF=" + str(as_of))',
                   'import sys; print("NOISE", file=sys.stderr)'])
    (nbs / "notes.ipynb").write_text("not a numbered notebook, not run")
    before = {p.name: p.read_bytes() for p in nbs.iterdir()}
    out = report.run_report(None, as_of="2025-06-30", lang="en",
                            out_dir=base / "out", notebooks_dir=nbs, workbooks=False, progress=False)
    return out, nbs, before


def test_every_numbered_notebook_executed_into_the_out_folder(good_run):
    out, nbs, before = good_run
    assert sorted(p.name for p in (out / "notebooks").iterdir()) == ["01_first.ipynb", "02_second.ipynb"]
    # inputs untouched, nothing executed lands beside them
    assert {p.name: p.read_bytes() for p in nbs.iterdir()} == before


def test_only_declared_parameters_are_passed(good_run):
    out, _, _ = good_run
    first = nbformat.read(out / "notebooks" / "01_first.ipynb", as_version=4)
    injected = [c for c in first.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    names = set(re.findall(r"^(\w+) = ", injected[0].source, flags=re.M))
    assert names == {"lang", "output_dir", "registry_paths"}
    text = json.dumps(first.cells[-1].outputs)
    assert "LANG=en" in text and "PATHS= None" in text
    second = nbformat.read(out / "notebooks" / "02_second.ipynb", as_version=4)
    assert "ASOF=2025-06-30" in json.dumps([c.get("outputs") for c in second.cells if c.cell_type == "code"])


def test_figures_written_and_every_one_in_the_html(good_run):
    out, _, _ = good_run
    pngs = sorted(p.name for p in (out / "figures").glob("*.png"))
    assert pngs == ["bars_one.png", "bars_two.png", "hidden_chart.png"]
    assert sorted(p.name for p in (out / "figures").glob("*.svg")) == ["bars_one.svg", "bars_two.svg"]
    page = (out / "report.html").read_text(encoding="utf-8")
    # 02 saved two charts but showed one: the safety net appends both saved PNGs to its
    # section, so every figure is in the page (2 shown inline + 2 appended).
    assert page.count("<img") == 4
    assert len(re.findall(r'<img[^>]*src="data:image/png;base64,', page)) == 4    # embedded, no files needed
    assert 'alt="hidden_chart"' in page and 'alt="bars_two"' in page and 'alt="bars_one"' not in page


def test_html_hides_code_has_toc_and_needs_no_network(good_run):
    out, _, _ = good_run
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "os.makedirs" not in page and "plt.subplots" not in page      # code hidden
    assert "NOISE" not in page                                            # stderr left out
    assert 'class="ocop-toc"' in page
    toc = re.search(r'<nav class="ocop-toc">(.*?)</nav>', page, flags=re.S).group(1)
    hrefs = re.findall(r'href="#([^"]+)"', toc)
    ids = re.findall(r'<h[1-3] id="([^"]+)"', page)
    assert len(hrefs) == 4 and set(hrefs) <= set(ids)                     # 2 notebooks x (h1 + h2)
    assert len(ids) == len(set(ids))                                      # repeated headings made unique
    assert not re.search(r'<script[^>]*src="https?://', page)
    assert "cdnjs" not in page and "MathJax.js" not in page


def test_manifest_records_run(good_run):
    out, _, _ = good_run
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "ok"
    assert [n["notebook"] for n in manifest["notebooks"]] == ["01_first.ipynb", "02_second.ipynb"]
    assert manifest["notebooks"][0]["figures"] == ["bars_one.png", "bars_one.svg"]
    assert not (out / "FAILED.txt").exists()


def test_failing_notebook_stops_run_with_name_cell_error(tmp_path, capsys):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    make_notebook(nbs / "01_ok.ipynb", 'lang = "vi"', ['print("fine")'])
    make_notebook(nbs / "02_broken.ipynb", 'lang = "vi"', ["x = 1", 'raise ValueError("cột Hạng sao bị thiếu")'])
    make_notebook(nbs / "03_after.ipynb", 'lang = "vi"', ['print("never")'])
    status = cli.main(["report", "--notebooks", str(nbs), "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert status != 0
    assert "02_broken.ipynb" in err and "ValueError" in err and "cột Hạng sao bị thiếu" in err
    # exec counts: 1 = parameters, 2 = injected parameters, 3 = x = 1, 4 = the raise
    assert "cell [4]" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    out = tmp_path / "out"
    assert "02_broken.ipynb" in (out / "FAILED.txt").read_text(encoding="utf-8")
    assert sorted(p.name for p in (out / "notebooks").iterdir()) == ["01_ok.ipynb", "02_broken.ipynb"]
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "ocop-failed" in page and "INCOMPLETE" not in page and "CHƯA HOÀN CHỈNH" in page
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["status"] == "failed"


def test_missing_registry_path_is_one_clear_line(tmp_path, capsys):
    status = cli.main(["report", str(tmp_path / "khong_co.xlsx"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2
    assert err.strip() == f"ocop-analysis report: registry not found: {tmp_path / 'khong_co.xlsx'} " \
                          "(give an .xlsx/.xls/.ods file or a folder of them)"
    assert not (tmp_path / "out").exists()                                # nothing written


@pytest.mark.parametrize("argv, needle", [
    (["--as-of", "30/06/2025"], "--as-of must be a date written YYYY-MM-DD"),
    (["--plan", "no_such_plan.yaml"], "plan file not found: no_such_plan.yaml"),
])
def test_bad_options_are_one_clear_line(tmp_path, capsys, argv, needle):
    status = cli.main(["report", *argv, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2 and needle in err and "Traceback" not in err


def test_out_folder_must_not_be_the_notebooks(tmp_path):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    with pytest.raises(report.ReportError, match="input notebooks"):
        report.run_report(out_dir=nbs, notebooks_dir=nbs, workbooks=False, progress=False)


def test_parameter_names_read_from_the_tagged_cell(tmp_path):
    path = make_notebook(tmp_path / "01_x.ipynb", "registry_paths = None  # sample\nas_of: str | None = None\n"
                         "lang = 'vi'\nimport os", [])
    assert report.notebook_parameters(path) == ["registry_paths", "as_of", "lang"]


def test_default_out_dir():
    assert report.default_out_dir(None).name == "sample"
    assert report.default_out_dir(["a.xlsx"], "2025-06-30").name == "2025-06-30"


def test_summary_leaves_out_a_sheet_whose_module_has_not_landed(tmp_path, monkeypatch):
    import importlib.util

    import openpyxl

    from ocop_analysis import Registry, schema

    real = importlib.util.find_spec
    monkeypatch.setattr(report.importlib.util, "find_spec",
                        lambda name, *a: None if name == "ocop_analysis.budget" else real(name, *a))
    ev = schema.coerce_evaluations([
        {"product_id": "p1", "product_name": "Hạt sen sấy", "entity_name": "HTX Sen", "district_code": 872,
         "district": "Huyện Tháp Mười", "group": 1, "stars": 4, "score": 75.0, "certified": True, "year": 2024,
         "kind": "new", "decision_date": "2024-06-01", "valid_until": "2027-06-01"}])
    path, notes = report.write_summary(Registry(evaluations=ev), tmp_path, as_of="2025-06-30")
    wb = openpyxl.load_workbook(path)
    assert "Kinh phí" not in wb.sheetnames and "Theo huyện" in wb.sheetnames
    assert notes == ["Bảng «Kinh phí» chưa có: mô-đun ocop_analysis.budget chưa có trong phiên bản này."]
    assert [c.value for c in wb["Ghi chú"]["A"]] == notes
    # hand count: one 4★ product in Tháp Mười, none elsewhere
    ws = wb["Theo huyện"]
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, [c.value for c in r])) for r in ws.iter_rows(min_row=2)]
    counts = {(r["Huyện/Thành phố"], r["Hạng sao"]): r["Số lượng"] for r in rows}
    assert counts[("Huyện Tháp Mười", 4)] == 1
    assert sum(v for (d, _), v in counts.items() if d != "Huyện Tháp Mười" and d != "Toàn tỉnh") == 0


def test_widgets_become_a_pointer_to_jupyter_in_the_page(tmp_path):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    make_notebook(nbs / "01_widgets.ipynb", 'lang = "vi"',
                  ["import ipywidgets as w\nw.HBox([w.Dropdown(options=['2024', '2025'], description='Năm')])"])
    out = report.run_report(out_dir=tmp_path / "out", notebooks_dir=nbs, workbooks=False, progress=False)
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "HBox(children" not in page and "Dropdown(" not in page
    assert "make lab" in page


def test_broken_plan_or_scenarios_stop_before_any_notebook(tmp_path, capsys):
    # a scenarios file without the 'plan' scenario the budget notebook follows, and a plan that is not YAML:
    # one plain line and exit 2, before notebook 00 runs (no output folder is made)
    scen = tmp_path / "scen.yaml"   # the kit's scenarios with 'plan' renamed
    text = (report.paths.DEFAULT_SCENARIOS).read_text(encoding="utf-8")
    scen.write_text(text.replace("\n  plan:\n", "\n  baseline:\n", 1), encoding="utf-8")
    bad_plan = tmp_path / "plan.yaml"
    bad_plan.write_text("targets: [unclosed\n", encoding="utf-8")
    for extra in (["--scenarios", str(scen)], ["--plan", str(bad_plan)]):
        out = tmp_path / f"out{len(extra[1])}"
        status = cli.main(["report", "--out", str(out), "--no-progress", *extra])
        err = capsys.readouterr().err
        assert status == 2, err
        assert err.startswith("ocop-analysis report: ") and len(err.strip().splitlines()) == 1
        assert "Traceback" not in err
        assert ("'plan'" in err) if "--scenarios" in extra else ("not valid YAML" in err)
        assert not (out / "notebooks").exists()
