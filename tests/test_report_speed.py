"""How the report runner saves time without changing what it produces (issue 9):

- every notebook still runs in its own fresh kernel, but the next one is launched while the current
  notebook runs, and finished kernels are stopped in the background (all stopped when the run ends);
- the executed notebook is written once at the end, not at every cell (a dead kernel still leaves it);
- registry_clean.xlsx / summary.xlsx are written by a thread while the notebooks run; an error there
  still stops the run.
"""
import json
import os
import re
import time

import nbformat
import papermill.engines
import pytest
from jupyter_core.utils import run_sync

import notebook_factory

from ocop_analysis import report
from ocop_analysis.errors import ConfigError


def make_notebook(path, cells, params='output_dir = "reports"'):
    notebook_factory.make_notebook(path, cells, params=params)


PID_CELL = "import os, time\nprint('PID', os.getpid(), 'T', time.monotonic())"


def _printed(nb_path, key):
    nb = nbformat.read(nb_path, as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    words = text.split()
    return [float(words[i + 1]) for i, w in enumerate(words) if w == key]


def alive(km):
    return run_sync(km.is_alive)()


@pytest.fixture()
def launches(monkeypatch):
    """(monotonic time, kernel manager) of every kernel the runner launches."""
    seen = []
    original = report._Kernels._start

    def start(self, *args):
        km = original(self, *args)
        seen.append((time.monotonic(), km))
        return km

    monkeypatch.setattr(report._Kernels, "_start", start)
    return seen


def test_each_notebook_in_its_own_kernel_next_one_launched_ahead_all_stopped(tmp_path, launches):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    for name in ("01_a", "02_b", "03_c"):
        make_notebook(nbs / f"{name}.ipynb", [PID_CELL])
    out = report.run_report(out_dir=tmp_path / "out", notebooks_dir=nbs, workbooks=False, progress=False)

    executed = [out / "notebooks" / f"{n}.ipynb" for n in ("01_a", "02_b", "03_c")]
    pids = [int(_printed(p, "PID")[0]) for p in executed]
    ran_at = [_printed(p, "T")[0] for p in executed]
    assert len(set(pids)) == 3                       # a fresh kernel per notebook
    assert len(launches) == 3                        # and no more kernels than notebooks
    # the kernels of notebooks 2 and 3 were launched before the notebook before them ran its code
    assert launches[1][0] < ran_at[0]
    assert launches[2][0] < ran_at[1]
    for _, km in launches:                           # every kernel stopped when run_report returns
        assert not alive(km)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_kernel_started_ahead_is_stopped_when_a_notebook_fails(tmp_path, launches):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    make_notebook(nbs / "01_fails.ipynb", ["raise ValueError('stop here')"])
    make_notebook(nbs / "02_never.ipynb", [PID_CELL])
    # execution counts: 1 the parameters cell, 2 the injected parameters, 3 the failing cell
    with pytest.raises(report.NotebookFailed, match=r"01_fails.ipynb failed at cell \[3\]: ValueError: stop here"):
        report.run_report(out_dir=tmp_path / "out", notebooks_dir=nbs, workbooks=False, progress=False)
    assert len(launches) == 2
    for _, km in launches:
        assert not alive(km)
    assert not (tmp_path / "out" / "notebooks" / "02_never.ipynb").exists()
    assert "01_fails.ipynb" in (tmp_path / "out" / "FAILED.txt").read_text(encoding="utf-8")


def test_executed_notebook_written_once_not_per_cell(tmp_path, monkeypatch):
    writes = []
    original = papermill.engines.write_ipynb
    monkeypatch.setattr(papermill.engines, "write_ipynb", lambda nb, path: (writes.append(path), original(nb, path)))
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    make_notebook(nbs / "01_cells.ipynb", ["x = 1", "y = x + 1", "print('Y', y)"])
    out = report.run_report(out_dir=tmp_path / "out", notebooks_dir=nbs, workbooks=False, progress=False)
    assert writes == []                              # papermill's engine wrote it 2 × 5 + 2 times before
    assert _printed(out / "notebooks" / "01_cells.ipynb", "Y") == [2.0]


def test_dead_kernel_is_reported_and_leaves_the_executed_copy(tmp_path):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    make_notebook(nbs / "01_dies.ipynb", ["print('BEFORE', 1)", "import os\nos._exit(1)"])
    with pytest.raises(report.NotebookFailed) as info:
        report.run_report(out_dir=tmp_path / "out", notebooks_dir=nbs, workbooks=False, progress=False)
    exc = info.value
    assert exc.notebook == "01_dies.ipynb" and exc.cell is None and "DeadKernel" in exc.ename
    assert str(exc).startswith("notebook 01_dies.ipynb failed while running: DeadKernelError")
    executed = tmp_path / "out" / "notebooks" / "01_dies.ipynb"
    assert exc.executed == executed and executed.exists()
    assert _printed(executed, "BEFORE") == [1.0]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "failed"


def test_workbooks_written_while_notebooks_run(tmp_path, launches, monkeypatch):
    from ocop_analysis import loading

    loaded_at = []
    original = loading.load_registry
    monkeypatch.setattr(loading, "load_registry", lambda *a, **k: (loaded_at.append(time.monotonic()), original(*a, **k))[1])
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    make_notebook(nbs / "01_a.ipynb", [PID_CELL])
    out = report.run_report(as_of="2025-12-31", out_dir=tmp_path / "out", notebooks_dir=nbs, progress=False)
    # the notebook's kernel was launched before the registry was loaded, and the load ran once here
    assert len(launches) == 1 and len(loaded_at) == 1 and launches[0][0] < loaded_at[0]
    assert not alive(launches[0][1])
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    names = [os.path.basename(p) for p in manifest["outputs"]]
    assert names[0] == "registry_clean.xlsx" and names[-2:] == ["summary.xlsx", "report.html"]
    assert names.count("problems.xlsx") == int((out / "problems.xlsx").exists())
    for name in names:
        assert (out / name).stat().st_size > 0


def test_an_error_writing_workbooks_still_stops_the_run(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise report.ReportError("summary.xlsx, sheet 'Kế hoạch': boom")

    monkeypatch.setattr(report, "write_summary", broken)
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    make_notebook(nbs / "01_a.ipynb", [PID_CELL])
    with pytest.raises(report.ReportError, match="boom"):
        report.run_report(out_dir=tmp_path / "out", notebooks_dir=nbs, progress=False)
    assert not (tmp_path / "out" / "report.html").exists()


def test_bad_registry_stops_before_any_notebook_and_stops_the_kernel_launched_ahead(tmp_path, launches):
    bad = tmp_path / "registry.xlsx"
    bad.write_bytes(b"not a workbook")
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    make_notebook(nbs / "01_a.ipynb", [PID_CELL])
    with pytest.raises(Exception) as info:
        report.run_report([bad], out_dir=tmp_path / "out", notebooks_dir=nbs, progress=False)
    assert not isinstance(info.value, (report.NotebookFailed, ConfigError))
    assert len(launches) <= 1                     # the first notebook's kernel boots while the registry loads
    for _, km in launches:
        assert not alive(km)
    assert not (tmp_path / "out" / "notebooks" / "01_a.ipynb").exists()


def test_notebook_imports_read_from_the_code(tmp_path):
    path = tmp_path / "01_x.ipynb"
    make_notebook(path, ["import ocop_analysis as oa\nfrom ocop_analysis import analysis\nimport os.path\n"
                         "reg = oa.load_registry(None)\nimport json",
                         "ax = oa.charts.plot_tile_map(analysis.district_totals(t))\nreg.evaluations.head()",
                         "%matplotlib inline"])
    statements, chains = report.notebook_imports(path)
    # only the imports that open the first code cell (`import json` comes after other code)
    assert statements == ["import ocop_analysis as oa", "from ocop_analysis import analysis", "import os.path"]
    assert ("ocop_analysis", ["load_registry"]) in chains
    assert ("ocop_analysis", ["charts", "plot_tile_map"]) in chains
    assert ("ocop_analysis", ["analysis", "district_totals"]) in chains
    assert ("os", ["path"]) not in chains                  # `import os.path` binds os, not used as os.x
    assert not any(module == "reg" or "evaluations" in attrs for module, attrs in chains)
    empty = tmp_path / "02_empty.ipynb"
    make_notebook(empty, [])
    assert report.notebook_imports(empty) == ([], [])
    assert report._warm_up_code(empty) is None


WAIT_FOR_WARM_UP = """import os, time
for _ in range(600):
    if os.path.exists("warm_marker.txt"):
        break
    time.sleep(0.1)
print("SEEN", int(os.path.exists("warm_marker.txt")))"""

LEAKS = """print("LEAKED", sum(name in globals() for name in ("STATEMENTS", "CHAINS", "importlib", "types", "statement")))
print("MINE", int("warmmod" in globals()))"""


def test_next_kernel_imports_its_notebooks_modules_ahead_and_leaves_no_trace(tmp_path):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    # a module that says when it is imported (the kernels run in the notebooks' folder)
    (nbs / "warmmod.py").write_text("open('warm_marker.txt', 'w').write('imported')\n", encoding="utf-8")
    make_notebook(nbs / "01_first.ipynb", [WAIT_FOR_WARM_UP])
    make_notebook(nbs / "02_second.ipynb", ["import warmmod", LEAKS])
    out = report.run_report(out_dir=tmp_path / "out", notebooks_dir=nbs, workbooks=False, progress=False)
    # notebook 02's import ran in its kernel while notebook 01 was still running
    assert _printed(out / "notebooks" / "01_first.ipynb", "SEEN") == [1.0]
    second = nbformat.read(out / "notebooks" / "02_second.ipynb", as_version=4)
    assert _printed(out / "notebooks" / "02_second.ipynb", "LEAKED") == [0.0]
    assert _printed(out / "notebooks" / "02_second.ipynb", "MINE") == [1.0]
    counts = [c.execution_count for c in second.cells if c.cell_type == "code"]
    assert counts == [1, 2, 3, 4]                          # the silent warm-up took no execution count


CHART_CELL = """import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(2, 1.5))
ax.bar([1, 2], [N, 1])
ax.set_title("Hạng sao ★")"""


def test_html_is_the_same_with_images_stashed_during_export(tmp_path, monkeypatch):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    make_notebook(nbs / "01_a.ipynb", [CHART_CELL.replace("N", "3"), "print('text')"])
    make_notebook(nbs / "02_b.ipynb", [CHART_CELL.replace("N", "2")])
    out = report.run_report(out_dir=tmp_path / "out", notebooks_dir=nbs, workbooks=False, progress=False)
    executed = sorted((out / "notebooks").glob("*.ipynb"))
    shown = [o["data"]["image/png"] for p in executed for c in nbformat.read(p, as_version=4).cells
             if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {})]
    assert len(shown) == 2
    kwargs = dict(figures_by_nb={}, header_md="# Báo cáo", lang="vi")
    stashed = report.write_html(executed, tmp_path / "stashed.html", **kwargs).read_text(encoding="utf-8")
    monkeypatch.setattr(report, "_stash_images", lambda merged: {})
    plain = report.write_html(executed, tmp_path / "plain.html", **kwargs).read_text(encoding="utf-8")

    def same_ids(page):  # the header and TOC cells get random ids from nbformat on every call
        return re.sub(r"cell-id=[0-9a-f]{8}", "cell-id=X", page)

    assert same_ids(stashed) == same_ids(plain)
    assert "OCOPIMAGE" not in stashed
    for data in shown:
        assert f"data:image/png;base64,{data}" in stashed


def _executed(path, outputs_per_cell):
    """An executed notebook written by hand: one code cell per list of outputs."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells.append(nbformat.v4.new_markdown_cell(f"# {path.stem}"))
    for n, outputs in enumerate(outputs_per_cell, start=1):
        cell = nbformat.v4.new_code_cell("...", execution_count=n)
        cell.outputs = outputs
        nb.cells.append(cell)
    nbformat.write(nb, path)
    return path


def test_text_that_looks_like_a_stashed_image_key_is_kept(tmp_path):
    # printed text naming a key that is stashed (000000: the one image) and one that is not (000007)
    printed = "keys OCOPIMAGE000000X and OCOPIMAGE000007X"
    image = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
    nb = _executed(tmp_path / "01_a.ipynb", [
        [nbformat.v4.new_output("stream", name="stdout", text=printed + "\n")],
        [nbformat.v4.new_output("display_data", data={"image/png": image, "text/plain": "<Figure>"})],
    ])
    page = report.write_html([nb], tmp_path / "report.html", figures_by_nb={}, header_md="# Báo cáo",
                             lang="vi").read_text(encoding="utf-8")
    assert printed in page
    assert page.count(f"data:image/png;base64,{image}") == 1


@pytest.fixture()
def started(monkeypatch):
    """Every kernel manager whose start_kernel was called (also those whose start then failed)."""
    seen = []
    cls = report._kernel_manager_class()
    original = cls.start_kernel

    async def start_kernel(self, **kwargs):
        seen.append(self)
        return await original(self, **kwargs)

    monkeypatch.setattr(cls, "start_kernel", start_kernel)
    return seen


def test_unreadable_next_notebook_fails_on_its_own_turn_and_no_kernel_is_left(tmp_path, started):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    make_notebook(nbs / "01_ok.ipynb", [PID_CELL])
    (nbs / "02_broken.ipynb").write_text("{not json", encoding="utf-8")
    with pytest.raises(report.NotebookFailed) as info:
        report.run_report(out_dir=tmp_path / "out", notebooks_dir=nbs, workbooks=False, progress=False)
    exc = info.value
    assert exc.notebook == "02_broken.ipynb" and exc.cell is None and exc.ename == "JSONDecodeError"
    failed = (tmp_path / "out" / "FAILED.txt").read_text(encoding="utf-8")
    assert failed.startswith("notebook 02_broken.ipynb failed while running: JSONDecodeError")
    assert "01_ok" not in failed
    assert len(_printed(tmp_path / "out" / "notebooks" / "01_ok.ipynb", "PID")) == 1   # 01 ran
    assert len(started) == 1               # 01's kernel only: the broken notebook launched none
    for km in started:
        assert not alive(km)


def test_unreadable_first_notebook_with_workbooks_is_reported_under_its_name(tmp_path, started):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    (nbs / "00_broken.ipynb").write_text("{not json", encoding="utf-8")
    make_notebook(nbs / "01_never.ipynb", [PID_CELL])
    with pytest.raises(report.NotebookFailed) as info:
        report.run_report(as_of="2025-12-31", out_dir=tmp_path / "out", notebooks_dir=nbs, progress=False)
    assert info.value.notebook == "00_broken.ipynb" and info.value.ename == "JSONDecodeError"
    assert (tmp_path / "out" / "FAILED.txt").read_text(encoding="utf-8").startswith(
        "notebook 00_broken.ipynb failed while running: JSONDecodeError")
    assert started == []                   # neither notebook got a kernel
    assert not (tmp_path / "out" / "notebooks" / "01_never.ipynb").exists()


def test_next_kernel_that_fails_to_start_is_stopped_and_its_notebook_gets_a_fresh_one(tmp_path, started,
                                                                                        monkeypatch):
    cls = report._kernel_manager_class()
    recording = cls.start_kernel

    async def second_start_fails(self, **kwargs):
        await recording(self, **kwargs)     # the process is launched, then the start fails
        if len(started) == 2:
            raise RuntimeError("kernel did not come up")

    monkeypatch.setattr(cls, "start_kernel", second_start_fails)
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    make_notebook(nbs / "01_a.ipynb", [PID_CELL])
    make_notebook(nbs / "02_b.ipynb", [PID_CELL])
    out = report.run_report(out_dir=tmp_path / "out", notebooks_dir=nbs, workbooks=False, progress=False)
    pids = [int(_printed(out / "notebooks" / f"{n}.ipynb", "PID")[0]) for n in ("01_a", "02_b")]
    assert len(set(pids)) == 2
    # 01's kernel, 02's kernel started ahead (failed), 02's kernel started on its turn
    assert len(started) == 3
    for km in started:
        assert not alive(km)
    assert not (out / "FAILED.txt").exists()


class _DyingClient:
    """A kernel client whose kernel never replies and is found dead at the third check."""

    def __init__(self):
        self.waits, self.checks, self.stopped = [], 0, False

    def load_connection_info(self, info):
        pass

    def start_channels(self):
        pass

    def wait_for_ready(self, timeout=None):
        pass

    def execute(self, code, **kwargs):
        return "warm-up-msg"

    def get_shell_msg(self, timeout=None):
        import queue

        self.waits.append(timeout)
        raise queue.Empty

    def is_alive(self):
        self.checks += 1
        return self.checks < 3

    def stop_channels(self):
        self.stopped = True


def test_warm_up_gives_up_when_its_kernel_dies(monkeypatch):
    import jupyter_client.blocking

    clients = []
    monkeypatch.setattr(jupyter_client.blocking, "BlockingKernelClient",
                        lambda: clients.append(_DyingClient()) or clients[-1])

    class _Km:
        def get_connection_info(self):
            return {}

    report._Kernels._warm_up(_Km(), "import pandas")
    (kc,) = clients
    # alive, alive, dead: three short waits for the reply, then the warm-up stops waiting
    assert len(kc.waits) == 3 and all(wait <= 1 for wait in kc.waits)
    assert kc.checks == 3 and kc.stopped


def test_notebook_failure_is_reported_when_the_workbooks_fail_too(tmp_path, monkeypatch):
    out = tmp_path / "out"

    def broken(*args, **kwargs):
        # fail only once the notebook has failed (its executed copy is written when it stops), so the
        # runner has already started it; the two errors then meet at the end of the run
        for _ in range(1200):
            if (out / "notebooks" / "01_fails.ipynb").exists():
                break
            time.sleep(0.1)
        raise report.ReportError("summary.xlsx, sheet 'Kế hoạch': boom\nsecond line")

    monkeypatch.setattr(report, "write_summary", broken)
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    make_notebook(nbs / "01_fails.ipynb", ["raise ValueError('stop here')"])
    with pytest.raises(report.NotebookFailed, match=r"01_fails.ipynb failed at cell \[3\]: ValueError: stop here"):
        report.run_report(as_of="2025-12-31", out_dir=out, notebooks_dir=nbs, progress=False)
    lines = (out / "FAILED.txt").read_text(encoding="utf-8").splitlines()
    executed = out / "notebooks" / "01_fails.ipynb"
    assert lines == [f"notebook 01_fails.ipynb failed at cell [3]: ValueError: stop here "
                     f"(executed copy with the full error: {executed})",
                     "workbooks: ReportError: summary.xlsx, sheet 'Kế hoạch': boom"]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["status"] == "failed"
    assert manifest["notebooks"][0]["notebook"] == "01_fails.ipynb"
    assert "workbooks: ReportError: summary.xlsx, sheet 'Kế hoạch': boom" in manifest["notes"]


def test_cli_exit_code_is_1_when_a_notebook_and_the_workbooks_fail(tmp_path, monkeypatch, capsys):
    import argparse

    def broken(*args, **kwargs):
        raise report.ReportError("boom")

    monkeypatch.setattr(report, "write_summary", broken)
    monkeypatch.setattr(report, "_run_notebooks",
                        lambda *a, **k: report.NotebookFailed("01_x.ipynb", 3, "ValueError", "stop", None))
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    parser = argparse.ArgumentParser()
    report.add_arguments(parser)
    args = parser.parse_args(["--as-of", "2025-12-31", "--out", str(tmp_path / "out"), "--notebooks", str(nbs),
                              "--no-progress"])
    assert report.run_cli(args) == 1
    assert capsys.readouterr().err.strip() == "ocop-analysis report: notebook 01_x.ipynb failed at cell [3]: ValueError: stop"
    assert (tmp_path / "out" / "FAILED.txt").read_text(encoding="utf-8").splitlines() == [
        "notebook 01_x.ipynb failed at cell [3]: ValueError: stop", "workbooks: ReportError: boom"]
