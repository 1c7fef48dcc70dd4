"""The main job, end to end: `ocop-analysis report` on the sample writes the whole report package.

The runner's own behaviour (parameters, failures, TOC, offline HTML) is tested on small notebooks in
tests/test_report_runner.py; here the real notebooks run on data/sample/ once (module fixture).
"""
import datetime as dt
import json
import re

import nbformat
import openpyxl
import pandas as pd
import pytest

import ocop_analysis as oa
from ocop_analysis import cli, paths, report, template

AS_OF = "2025-12-31"
SHEETS_VI = ["Theo huyện", "Hạng sao theo năm", "Đánh giá lại", "Kế hoạch", "Kinh phí", "Kinh phí - hạng mục",
             "Kinh phí - tham số", "Ghi chú"]


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "sample"
    result = report.run_report(as_of=AS_OF, out_dir=out, progress=False)
    reg = oa.load_registry(paths.SAMPLE_DIR, as_of=dt.date.fromisoformat(AS_OF))
    return result, reg


def sheet(path, name):
    return pd.read_excel(path, sheet_name=name, engine="openpyxl")


def test_writes_every_output(package):
    out, reg = package
    assert out.name == "sample"
    names = {p.name for p in out.iterdir()}
    assert {"report.html", "summary.xlsx", "registry_clean.xlsx", "figures", "notebooks", "manifest.json"} <= names
    assert "FAILED.txt" not in names
    assert ("problems.xlsx" in names) == (len(reg.problems) > 0)
    executed = sorted(p.name for p in (out / "notebooks").iterdir())
    assert executed == [p.name for p in report.find_notebooks()]
    assert executed[0] == "00_quickstart.ipynb"
    assert not any(p.name.endswith(".ipynb") and p.parent != paths.NOTEBOOKS_DIR
                   for p in paths.NOTEBOOKS_DIR.rglob("*.ipynb"))


def test_figures_png_and_svg_named_by_content(package):
    out, _ = package
    pngs = {p.stem for p in (out / "figures").glob("*.png")}
    svgs = {p.stem for p in (out / "figures").glob("*.svg")}
    assert pngs and pngs == svgs
    assert "quickstart_star_shares_by_year" in pngs
    assert not any(re.fullmatch(r"(fig|figure|plot)_?\d*", s) for s in pngs)
    from PIL import Image
    with Image.open(out / "figures" / "quickstart_star_shares_by_year.png") as im:
        dpi = im.info.get("dpi", (0, 0))[0]
    assert round(dpi) == 200


def test_html_holds_every_figure_and_every_notebook(package):
    out, _ = package
    page = (out / "report.html").read_text(encoding="utf-8")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    shown_total = 0
    for entry in manifest["notebooks"]:
        nb = nbformat.read(out / "notebooks" / entry["notebook"], as_version=4)
        shown = sum("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
        saved = [f for f in entry["figures"] if f.endswith(".png")]
        assert shown >= len(saved), f"{entry['notebook']} saves {len(saved)} charts but shows {shown}"
        shown_total += shown
        title = next(c.source for c in nb.cells if c.cell_type == "markdown").lstrip("# ").splitlines()[0]
        assert title.split()[0] in page
    imgs = re.findall(r'<img[^>]*src="data:image/png;base64,', page)
    assert len(imgs) == shown_total
    assert len(imgs) >= len(list((out / "figures").glob("*.png")))
    assert 'class="ocop-toc"' in page
    assert not re.search(r'<script[^>]*src="https?://', page)
    assert 'class="ocop-failed"' not in page
    assert "Traceback" not in page


def test_summary_sheets_match_the_kit_functions(package):
    out, reg = package
    path = out / "summary.xlsx"
    assert openpyxl.load_workbook(path).sheetnames == SHEETS_VI
    as_of = dt.date.fromisoformat(AS_OF)

    districts = sheet(path, "Theo huyện")
    expected = oa.district_breakdown(reg.evaluations, by="stars")
    assert len(districts) == len(expected) == 13 * 3            # 12 districts + province row, 3 star levels
    assert districts["Số lượng"].tolist() == expected["count"].tolist()
    assert districts["Huyện/Thành phố"].tolist() == expected["district"].tolist()

    stars = sheet(path, "Hạng sao theo năm")
    expected = oa.star_distribution(reg.evaluations, by="year")
    assert stars["Số lượng"].tolist() == expected["count"].tolist()
    got = stars[stars["Nguồn"] == "registry"].set_index(["Năm đánh giá", "Hạng sao"])["Số lượng"]
    # hand counts: the calibrated rounds of issue 2
    assert (got[(2019, 3)], got[(2019, 4)]) == (47, 23)
    assert (got[(2021, 3)], got[(2021, 4)]) == (100, 4)
    assert (got[(2022, 3)], got[(2022, 4)]) == (115, 41)

    cohorts = sheet(path, "Đánh giá lại")
    expected = oa.reevaluation_rates(reg, as_of=as_of)
    assert cohorts["Năm công nhận"].tolist() == expected["cohort"].tolist()
    assert cohorts["Được công nhận"].tolist() == expected["recognized"].tolist()
    assert cohorts.set_index("Năm công nhận").loc[2019, "Được công nhận"] == 70     # 47 + 23
    assert cohorts.set_index("Năm công nhận").loc[2021, "Được công nhận"] == 104    # 100 + 4

    card = sheet(path, "Kế hoạch")
    # the budget the report uses is the one notebooks 05 and 06 use (oa.budget.for_registry)
    expected = oa.plan_scorecard(reg, oa.load_plan(paths.DEFAULT_PLAN), as_of=as_of,
                                 scenarios=oa.budget.for_registry(reg))
    assert card["Chỉ tiêu"].tolist() == expected["item"].tolist()
    assert card["Thực hiện"].tolist() == pytest.approx(expected["actual"].astype(float).tolist(), nan_ok=True)

    budget = sheet(path, "Kinh phí")
    expected = oa.budget.evaluate(oa.budget.load_scenarios(paths.DEFAULT_SCENARIOS)).totals
    assert budget["Kịch bản"].tolist() == expected["scenario"].tolist()
    assert budget["Tổng"].tolist() == pytest.approx(expected["total"].astype(float).tolist())
    # the scorecard's budget line is filled, and is the plan scenario's total of the budget sheet
    budget_line = card.set_index("Chỉ tiêu").loc["budget", "Thực hiện"]   # target id 'budget' in the plan file
    plan_total = budget.set_index("Kịch bản").loc["plan", "Tổng"]
    assert budget_line == pytest.approx(float(plan_total))

    ws = openpyxl.load_workbook(path)["Theo huyện"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref and ws["A1"].font.bold


def test_registry_clean_is_the_canonical_table_with_its_sources(package):
    out, reg = package
    clean = sheet(out / "registry_clean.xlsx", "Đánh giá")
    assert len(clean) == len(reg.evaluations) == 996  # 991 of old Đồng Tháp + 5 of former Tiền Giang (2025)
    for header in ("Tên sản phẩm", "Tên chủ thể", "Huyện/Thành phố", "Hạng sao", "Năm đánh giá",
                   "Tệp nguồn", "Trang tính nguồn", "Dòng nguồn"):
        assert header in clean.columns
    assert clean["Tên sản phẩm"].tolist() == reg.evaluations["product_name"].tolist()
    assert clean["Dòng nguồn"].tolist() == reg.evaluations["source_row"].tolist()
    failed = int((~reg.evaluations["certified"].astype(bool)).sum())
    assert (clean["Hạng sao"] == "Không đạt").sum() == failed
    assert set(clean["Loại đánh giá"]) <= {"Mới", "Đánh giá lại", "Nâng hạng"}
    # an analyst can load it again
    again = oa.load_registry(out / "registry_clean.xlsx", corrections=None, links=None)
    assert len(again.evaluations) == len(reg.evaluations)
    assert (again.problems["severity"] == "error").sum() == 0


EVIL = '=HYPERLINK("http://evil.example","Bấm vào")'


def _registry_with_evil_names(path):
    template.write_template(path)
    wb = openpyxl.load_workbook(path)
    ws = wb["Sổ đăng ký"]
    rows = [
        [1, EVIL, "HTX Sen", None, None, "Huyện Tháp Mười", "Thực phẩm", 72, "4 sao", "Mới", None, None, 2024],
        [2, "Khô cá lóc", "@Cơ sở Út", None, None, "Huyện Hồng Ngự", "Thực phẩm", 61, "3 sao", "Mới", None, None, 2024],
        [3, "Bánh phồng", "Cơ sở Ba", None, None, "=cmd|' /C calc'!A0", "Thực phẩm", 55, "3 sao", "Mới", None, None,
         2024],
    ]
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row, start=1):
            cell = ws.cell(r, c, value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"          # text in the source, as a clerk's paste would be
    wb.save(path)
    return path


def test_formula_injection_neutralised_in_every_workbook(tmp_path):
    src = _registry_with_evil_names(tmp_path / "so_dang_ky.xlsx")
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    out = report.run_report([src], as_of=AS_OF, out_dir=tmp_path / "out", notebooks_dir=nbs, progress=False)
    written = sorted(out.glob("*.xlsx"))
    assert [p.name for p in written] == ["problems.xlsx", "registry_clean.xlsx", "summary.xlsx"]
    texts = []
    for path in written:
        for ws in openpyxl.load_workbook(path).worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", f"{path.name}!{cell.coordinate} is a formula"
                    if isinstance(cell.value, str):
                        texts.append(cell.value)
                        assert not cell.value.startswith(excel_prefixes()), (path.name, cell.value)
    assert "'" + EVIL in texts                                  # registry_clean: visible text kept
    assert "'@Cơ sở Út" in texts
    assert "'=cmd|' /C calc'!A0" in texts                       # problems.xlsx: the bad district value
    clean = openpyxl.load_workbook(out / "registry_clean.xlsx")["Đánh giá"]
    header = [c.value for c in clean[1]]
    scores = [clean.cell(r, header.index("Điểm") + 1).value for r in range(2, clean.max_row + 1)]
    assert scores == [72, 61] and all(isinstance(s, (int, float)) for s in scores)


def excel_prefixes():
    return ("=", "+", "-", "@", "\t", "\r", "\n")


def test_unreadable_registry_is_one_clear_line(tmp_path, capsys):
    bad = tmp_path / "so_dang_ky.xlsx"
    bad.write_text("this is not a workbook", encoding="utf-8")
    status = cli.main(["report", str(bad), "--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("ocop-analysis report: ") and "so_dang_ky.xlsx" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
