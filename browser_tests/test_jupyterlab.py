"""Every notebook in JupyterLab, in a real browser: Run All, no errors, the charts drawn as
images, the widgets rendered; in notebook 06 the what-if sliders move the total and headroom to
what the kit computes.

Run with ``make test-browser`` (installs Debian's chromium and Playwright's Python package).
Screenshots go to reports/screenshots/.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

import ocop_analysis as oa
from ocop_analysis import fmt

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = REPO / "notebooks"
SCREENSHOTS_DIR = REPO / "reports" / "screenshots"

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
OPEN_S = 120          # lab loaded, notebook open, kernel idle
RUN_S = int(os.environ.get("OCOP_BROWSER_RUN_TIMEOUT", 600))   # Run All of one notebook
WIDGET_S = 60         # a slider change reaching the kernel and back
BUDGET = "06_budget_scenarios.ipynb"
DOCS_SCREENSHOT = REPO / "docs" / "img" / "jupyterlab_budget_whatif.png"

# A chart is drawn by a kit plot function (one figure per call, shown by the inline backend) or by
# the explorer selector (its chart is a PNG display). Counted in the notebook's code, not hard-coded.
PLOT_CALL = re.compile(r"\bcharts\.plot_\w+\(")
EXPLORER_CALL = re.compile(r"\bexplorer\(")
WHAT_IF_CALL = re.compile(r"\bbudget\.what_if_widget\(")

CURRENT = "window.jupyterapp.shell.currentWidget"
JS_READY = f"""() => {{
  const w = window.jupyterapp && {CURRENT};
  return !!(w && w.content && w.context && w.context.isReady && w.sessionContext
            && w.sessionContext.session && w.sessionContext.session.kernel
            && w.sessionContext.session.kernel.status === 'idle');
}}"""
# Finished: kernel idle, no cell queued or running ([*]), and every code cell executed — or an
# error stopped Run All (the cells after it stay unexecuted).
JS_FINISHED = f"""() => {{
  const w = {CURRENT};
  const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
  const prompts = [...w.content.node.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                    .map(n => n.textContent.trim());
  const failed = w.content.widgets.some(c => c.model.type === 'code'
                    && c.model.outputs.toJSON().some(o => o.output_type === 'error'));
  return !!kernel && kernel.status === 'idle' && !prompts.some(p => p.includes('*'))
         && (failed || prompts.every(p => /^\\[\\d+\\]:?$/.test(p)));
}}"""
JS_STATE = f"""() => {{
  const w = {CURRENT};
  return w.content.widgets.filter(c => c.model.type === 'code').map((c, i) => ({{
    index: i,
    source: c.model.sharedModel.getSource().slice(0, 80),
    count: c.model.executionCount,
    errors: c.model.outputs.toJSON().filter(o => o.output_type === 'error')
              .map(o => o.ename + ': ' + o.evalue),
  }}));
}}"""


def code_sources(path: Path) -> list[str]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            src = "".join(cell["source"])
            out.append("\n".join(line for line in src.splitlines() if not line.lstrip().startswith("#")))
    return out


def expected_charts(path: Path) -> int:
    return sum(len(PLOT_CALL.findall(s)) + len(EXPLORER_CALL.findall(s)) for s in code_sources(path))


def open_notebook(page, lab, name: str) -> None:
    page.goto(f"{lab.url}/lab/tree/{name}?reset&token={lab.token}")
    page.wait_for_function(JS_READY, timeout=OPEN_S * 1000, polling=250)


def run_all(page) -> None:
    """Run > Run All Cells (the lab's own command) and wait, bounded, until the kernel is done.

    The command's promise is not awaited (page.evaluate has no timeout); the wait below is bounded.
    Outputs are cleared first, so no stale prompt counts as done.
    """
    page.evaluate("""() => {
      window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs');
      window.jupyterapp.commands.execute('notebook:run-all-cells');
    }""")
    page.wait_for_function(JS_FINISHED, timeout=RUN_S * 1000, polling=500)


def screenshot_whole_notebook(page, name: str) -> Path:
    """Grow the viewport to the notebook's height (the lab scrolls inside its panel) and shoot."""
    height = page.evaluate(f"""() => {{
      const n = {CURRENT}.content.node;
      return Math.max(n.scrollHeight, ...[...n.querySelectorAll('.jp-WindowedPanel-outer')].map(o => o.scrollHeight));
    }}""")
    page.set_viewport_size({"width": 1280, "height": max(900, min(int(height) + 160, 16_000))})
    page.evaluate(f"""() => {{
      const n = {CURRENT}.content.node;
      for (const o of [n, ...n.querySelectorAll('.jp-WindowedPanel-outer')]) o.scrollTop = 0;
    }}""")  # Run All leaves the view at the last cell
    page.wait_for_timeout(300)  # one layout pass after the resize (not a synchronisation wait)
    SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS_DIR / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def assert_ran_clean(page, lab, name: str) -> None:
    cells = page.evaluate(JS_STATE)
    errors = [f"cell {c['index']} ({c['source']!r}): {e}" for c in cells for e in c["errors"]]
    assert not errors, f"{name}: error output in JupyterLab:\n" + "\n".join(errors)
    tracebacks = [t for t in page.locator(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').all_inner_texts()
        if "Traceback" in t]
    assert not tracebacks, f"{name}: traceback on stderr:\n{tracebacks[0][:2000]}"
    not_run = [c["source"] for c in cells if c["count"] is None]
    assert not not_run, f"{name}: cells not executed by Run All: {not_run}"
    assert page.locator(".jupyter-widgets-error-widget").count() == 0, f"{name}: a widget failed to display"
    assert not page.page_errors, f"{name}: uncaught errors in the page: {page.page_errors[:3]}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_jupyterlab(lab, page, notebook):
    sources = code_sources(notebook)
    open_notebook(page, lab, notebook.name)
    run_all(page)
    shot = screenshot_whole_notebook(page, notebook.stem)
    assert_ran_clean(page, lab, notebook.name)

    # Charts: one rendered (decoded, non-empty) image per plot call / explorer.
    images = page.locator(".jp-OutputArea .jp-RenderedImage img")
    sizes = images.evaluate_all("imgs => imgs.map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
    drawn = [s for s in sizes if s[0] and s[1] > 0 and s[2] > 0]
    assert len(drawn) == len(sizes), f"{notebook.name}: images that did not decode: {sizes}"
    assert len(drawn) >= expected_charts(notebook), (
        f"{notebook.name}: {len(drawn)} chart images rendered, the code draws {expected_charts(notebook)} "
        f"(screenshot {shot})")

    # Widgets (ipywidgets 8 in JupyterLab 4 via jupyterlab_widgets): drawn, not their text fallback.
    explorers = sum(len(EXPLORER_CALL.findall(s)) for s in sources)
    what_ifs = sum(len(WHAT_IF_CALL.findall(s)) for s in sources)
    if explorers or what_ifs:
        expect(page.get_by_text("Loading widget...")).to_have_count(0, timeout=WIDGET_S * 1000)
    selects = page.locator(".widget-dropdown select")
    assert selects.count() >= 3 * explorers, (
        f"{notebook.name}: the explorer's year/district/group dropdowns are not rendered")
    shown = selects.evaluate_all("ss => ss.map(s => s.selectedIndex >= 0 ? s.options[s.selectedIndex].text : '')")
    assert all(shown), f"{notebook.name}: a dropdown shows no selection: {shown}"
    if what_ifs:
        boxes = page.locator(".widget-vbox").filter(has=page.locator(".widget-slider"))
        assert boxes.count() == what_ifs, f"{notebook.name}: the what-if widget is not rendered"
        assert page.get_by_text("(what-if:").count() == 0, f"{notebook.name}: the what-if shows its text fallback"


# ---- notebook 06: the what-if follows the sliders ---------------------------------------------

def notebook_budget_inputs(lang: str = "vi"):
    """The plan scenario and envelope notebook 06 builds with its default parameters (sample
    registry, default scenarios and plan, 2022 cohort), rebuilt here with the same kit calls."""
    reg = oa.load_registry(oa.paths.SAMPLE_DIR)
    scenarios = oa.budget.with_registry(oa.budget.load_with_plan(None, None), reg, year=2022)
    return scenarios["plan"], scenarios.envelope


def slider(box, label: str):
    """The slider whose description is exactly ``label``."""
    exact = re.compile("^" + re.escape(label) + "$")
    found = box.locator(".widget-slider").filter(has=box.page.locator("label.widget-label", has_text=exact))
    expect(found).to_have_count(1)
    return found


def test_budget_what_if_follows_the_sliders(lab, page):
    path = NOTEBOOKS_DIR / BUDGET
    assert WHAT_IF_CALL.search("\n".join(code_sources(path))), f"{BUDGET} no longer shows the what-if widget"
    plan, envelope = notebook_budget_inputs()
    specs = oa.budget.what_if_controls(plan)
    count = next(s for s in specs if s["kind"] == "count")    # moved with the keyboard
    money = next(s for s in specs if s["kind"] == "money")    # typed into the readout (triệu đồng)

    open_notebook(page, lab, BUDGET)
    run_all(page)
    assert_ran_clean(page, lab, BUDGET)
    box = page.locator(".widget-vbox").filter(has=page.locator(".widget-slider"))
    expect(box).to_have_count(1)
    expect(box.locator(".widget-slider")).to_have_count(len(specs))
    result = box.locator(".widget-html").last
    base = oa.budget.what_if(plan, envelope)
    expect(result).to_have_text(base.summary("vi"), timeout=WIDGET_S * 1000)

    # 1. An IntSlider: focus its handle, press → k times.
    steps = min(10, int(count["max"] - count["value"]))
    new_count = int(count["value"]) + steps
    first = oa.budget.what_if(plan, envelope, **{count["name"]: new_count})
    assert steps > 0 and first.total != base.total, "the chosen slider must change the total"
    handle = slider(box, count["label"]).locator(".noUi-handle")
    handle.focus()
    for _ in range(steps):
        handle.press("ArrowRight")
    expect(slider(box, count["label"]).locator(".widget-readout")).to_have_text(str(new_count))
    expect(result).to_have_text(first.summary("vi"), timeout=WIDGET_S * 1000)
    assert fmt.vnd(first.total) in result.inner_text() and fmt.vnd(abs(first.headroom)) in result.inner_text()

    # 2. A money FloatSlider: type a value (triệu đồng) into its readout, Enter.
    new_money = round((money["value"] + money["max"]) / 2 / money["step"]) * money["step"]
    second = oa.budget.what_if(plan, envelope, **{count["name"]: new_count,
                                                  money["name"]: int(round(new_money * 1e6))})
    assert second.total != first.total, "the chosen money slider must change the total"
    readout = slider(box, money["label"] + " (triệu đồng)").locator(".widget-readout")
    readout.click()
    page.keyboard.press("Control+A")
    page.keyboard.type(f"{new_money:g}")
    page.keyboard.press("Enter")
    expect(readout).to_have_text(f"{new_money:.2f}")
    expect(result).to_have_text(second.summary("vi"), timeout=WIDGET_S * 1000)
    text = result.inner_text()
    assert fmt.vnd(second.total) in text and fmt.vnd(abs(second.headroom)) in text, text
    assert ("còn dư" if second.fits else "thiếu") in text

    # Screenshot of the widget's cell (with the lab's prompt around it).
    readout.blur()
    cell = page.locator(".jp-CodeCell").filter(has=box)
    cell.scroll_into_view_if_needed()
    SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
    cell.screenshot(path=str(SCREENSHOTS_DIR / "06_budget_what_if.png"))
    if os.environ.get("OCOP_UPDATE_DOCS_SCREENSHOT") == "1":
        DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        cell.screenshot(path=str(DOCS_SCREENSHOT))
