"""Writing (issue 8): every writer neutralises formula-like text the OWASP way; HTML is escaped.

Each writer of the kit is fed the same hostile values and its output read back cell by cell:
the report's registry_clean.xlsx, problems.xlsx and summary.xlsx, ``validate --xlsx``, the
template, budget.to_excel, CSV and HTML. A text cell starting with = + - @ tab CR LF must come
back with a leading ``'`` and the rest as written; the number -5 must stay the number -5.
"""
from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pandas as pd

import ocop_analysis as oa
from notebook_factory import make_notebook
from ocop_analysis import budget, excel_out, reference, report, schema, template, validate
from ocop_analysis.registry import Registry

FIXTURES = Path(__file__).parent / "fixtures"
HOSTILE = ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "\nx"]
SAFE = ["'" + h for h in HOSTILE]
SCRIPT = "<script>alert(1)</script>"


def hostile_registry() -> Registry:
    """Seven evaluations whose product names are the hostile strings, score -5 on the first (a number),
    and problems whose value and message are hostile too."""
    records = [{"product_id": f"P{i}", "product_name": name, "entity_name": "HTX A", "district_code": 867,
                "district": "Huyện Lai Vung", "stars": 3, "score": -5.0 if i == 0 else 60.0, "certified": True,
                "year": 2022, "kind": "new", "source_file": "=cmd.xlsx", "source_sheet": "S", "source_row": i + 2}
               for i, name in enumerate(HOSTILE)]
    problems = schema.problems_frame([{"file": "=cmd.xlsx", "sheet": "S", "row": 2, "column": "score", "value": h,
                                       "problem": "invalid_stars", "message": h} for h in HOSTILE])
    sources = pd.DataFrame([{"file": "=cmd.xlsx", "sheet": "@S", "status": "loaded", "layout": "flat",
                             "header_rows": 1, "rows_seen": 8, "rows_loaded": 7, "rows_rejected": 0,
                             "rows_skipped": 1, "note": "-2+3"}], columns=schema.SOURCE_COLUMNS)
    return Registry(evaluations=schema.coerce_evaluations(records), problems=problems, sources=sources)


def text_cells(path: Path, sheet: str | None = None) -> list:
    wb = openpyxl.load_workbook(path)
    sheets = [wb[sheet]] if sheet else wb.worksheets
    return [c for ws in sheets for row in ws.iter_rows() for c in row if c.value is not None]


def assert_neutralised(cells, expected=SAFE) -> None:
    # XML turns a CR in text into LF when read back (openpyxl writes it raw), so "'\rx" returns as "'\nx"
    values = [c.value.replace("\r", "\n") if isinstance(c.value, str) else c.value for c in cells]
    expected = [e.replace("\r", "\n") for e in expected]
    for safe in expected:
        assert safe in values, (safe, values[:40])
    for c in cells:
        assert c.data_type != "f", (c.coordinate, c.value)  # no formula anywhere
        if isinstance(c.value, str):
            assert not c.value.startswith(excel_out.FORMULA_PREFIXES), (c.coordinate, c.value)


def test_report_registry_clean_and_problems(tmp_path):
    written = report.write_registry_workbooks(hostile_registry(), tmp_path)
    assert [p.name for p in written] == ["registry_clean.xlsx", "problems.xlsx"]
    clean = text_cells(tmp_path / "registry_clean.xlsx", "Đánh giá")
    assert_neutralised(clean, SAFE + ["'=cmd.xlsx"])
    header = {c.value: c.column_letter for c in clean if c.row == 1}
    score_cells = [c for c in clean if c.column_letter == header["Điểm"] and c.row > 1]
    assert score_cells[0].value == -5 and score_cells[0].data_type == "n"
    assert_neutralised(text_cells(tmp_path / "problems.xlsx"), SAFE + ["'=cmd.xlsx", "'@S", "'-2+3"])


def test_report_summary(tmp_path, monkeypatch):
    frame = pd.DataFrame({"district": HOSTILE, "count": [-5, 1, 2, 3, 4, 5, 6]})
    monkeypatch.setattr(report, "_summary_tables", lambda *a, **k: ({"districts": ("=Sheet", frame)}, ["@note"]))
    path, _ = report.write_summary(hostile_registry(), tmp_path, inputs=["-input"])
    cells = text_cells(path)
    assert_neutralised(cells, SAFE + ["'@note", "'-input"])
    counts = [c.value for c in cells if c.column == 2 and c.row > 1 and c.parent.title != "Ghi chú"]
    assert counts[0] == -5


def test_validate_xlsx(tmp_path):
    path = validate.write_problems_xlsx(hostile_registry(), tmp_path / "problems.xlsx")
    assert_neutralised(text_cells(path), SAFE + ["'=cmd.xlsx", "'@S", "'-2+3"])


def test_template_lists_and_help(tmp_path, monkeypatch):
    monkeypatch.setattr(reference, "district_names", lambda province: dict(enumerate(HOSTILE)))
    path = template.write_template(tmp_path / "template.xlsx")
    assert_neutralised(text_cells(path, template.LISTS_SHEET))
    assert_neutralised(text_cells(path), [])


def test_budget_to_excel_and_back(tmp_path):
    scenarios = budget.load_scenarios(oa.paths.DEFAULT_SCENARIOS)
    raw = budget.to_yaml_dict(scenarios)
    name = next(iter(raw["scenarios"]))
    raw["scenarios"][name]["description"] = HOSTILE[0]
    raw["scenarios"][name]["label_vi"] = "-2+3"
    hostile = budget.parse_scenarios(raw)
    path = budget.to_excel(hostile, tmp_path / "budget.xlsx")
    cells = text_cells(path, "scenarios")
    assert_neutralised(cells, [SAFE[0], "'-2+3"])
    back = budget.load_scenarios(path)  # the quote is the writer's; the reader takes it off again
    assert back[name].description == HOSTILE[0] and back[name].label("vi") == "-2+3"


def test_csv(tmp_path):
    df = pd.DataFrame({"product_name": HOSTILE, "score": [-5, 1, 2, 3, 4, 5, 6]})
    path = excel_out.write_csv(df, tmp_path / "out.csv")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert [r[0] for r in rows[1:]] == SAFE
    assert rows[1][1] == "-5"  # a number, written as a number


def test_excel_out_html_escapes_and_neutralises():
    text = excel_out.to_html(pd.DataFrame({"product_name": [SCRIPT, HOSTILE[0]]}))
    assert SCRIPT not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&#x27;=HYPERLINK" in text or "'=HYPERLINK" in text


def test_report_html_escapes_registry_text(tmp_path):
    """End to end on one small notebook: a product named <script>…</script> and a file name with a
    backtick and a tag appear escaped in report.html, never as markup."""
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    make_notebook(nbs / "01_names.ipynb",
                  ["import ocop_analysis as oa\nreg = oa.load_registry(registry_paths, corrections=None, links=None)\n"
                   "reg.evaluations[['product_name', 'stars']]"],
                  params="registry_paths = None\noutput_dir = 'reports'",
                  markdown="# Tên sản phẩm\n\nCâu hỏi, đầu vào, đầu ra.")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Tên sản phẩm", "Tên chủ thể", "Huyện/Thành phố", "Hạng sao", "Năm đánh giá"])
    ws.append([SCRIPT, "HTX A", "Huyện Lai Vung", 4, 2022])
    ws.append(["Bánh <b>phồng</b> & tôm", "HTX B", "Huyện Lai Vung", 3, 2022])
    registry = tmp_path / "a`<img src=x onerror=alert(2)>`.xlsx"
    wb.save(registry)
    out = report.run_report([registry], out_dir=tmp_path / "out", notebooks_dir=nbs, progress=False)
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    assert "<img src=x onerror" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "Bánh &lt;b&gt;phồng&lt;/b&gt; &amp; tôm" in page
    clean = text_cells(out / "registry_clean.xlsx", "Đánh giá")
    assert SCRIPT in [c.value for c in clean]  # in a workbook it is plain text, kept as written
