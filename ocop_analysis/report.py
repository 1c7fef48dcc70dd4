"""The one-command report: run every notebook on a registry, write a report package.

``ocop-analysis report [PATHS…]`` (or ``run_report(...)``) does, in order:

1. checks the inputs and loads the registry once (a missing or unreadable file
   stops here with one plain line, before any notebook runs);
2. writes ``registry_clean.xlsx`` (the canonical table, Vietnamese headers,
   source file/sheet/row), ``problems.xlsx`` (when the loader found problems)
   and ``summary.xlsx`` (one sheet per key table, computed by calling the kit's
   functions — never scraped from notebooks);
3. runs ``notebooks/NN_*.ipynb`` in order with papermill, one progress step
   each, passing only the parameters each notebook declares; executed copies
   go to ``<out>/notebooks/`` and figures to ``<out>/figures/``. Each notebook
   runs in its own fresh kernel; to save time (issue 9) the next notebook's
   kernel is launched, and imports what that notebook imports, while the
   current one runs, finished kernels stop in the background, the executed
   notebook is written once, and registry_clean.xlsx/summary.xlsx are written
   by a thread meanwhile. The warm-up runs silently, so what a module prints or
   warns while it is first imported (a DeprecationWarning at import time, say)
   is not in the executed notebook: the notebook's own import finds the module
   already loaded. A failing import is not hidden: the notebook's cell raises it;
4. joins the executed notebooks into one offline HTML page, ``report.html``
   (code hidden, table of contents, charts embedded).

A failing notebook stops the run: the error names the notebook, the cell and
the exception; what was written so far stays, ``FAILED.txt`` says what
happened (and, on a second line, an error met writing the workbooks, if any)
and ``report.html`` carries a banner.
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import base64
import datetime as dt
import functools
import html
import importlib.util
import json
import logging
import os
import queue
import re
import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import pandas as pd

from . import excel_out, paths, safety
from .errors import ConfigError

__all__ = ["run_report", "ReportError", "NotebookFailed", "find_notebooks", "notebook_parameters",
           "default_out_dir", "SUMMARY_SHEETS", "add_arguments", "run_cli"]

PARAMETER_NAMES = ("registry_paths", "plan_path", "scenarios_path", "as_of", "lang", "output_dir")
NOTEBOOK_PATTERN = re.compile(r"^\d\d_.+\.ipynb$")
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"

# summary.xlsx: key -> sheet title per language (the order of the sheets).
SUMMARY_SHEETS = {
    "districts": {"vi": "Theo huyện", "en": "Districts"},
    "stars": {"vi": "Hạng sao theo năm", "en": "Stars by year"},
    "cohorts": {"vi": "Đánh giá lại", "en": "Re-evaluation"},
    "scorecard": {"vi": "Kế hoạch", "en": "Plan scorecard"},
    "budget": {"vi": "Kinh phí", "en": "Budget"},
    "budget_items": {"vi": "Kinh phí - hạng mục", "en": "Budget line items"},
    "budget_parameters": {"vi": "Kinh phí - tham số", "en": "Budget parameters"},
}

_TEXT = {
    "vi": {
        "title": "Báo cáo phân tích OCOP",
        "toc": "Mục lục",
        "inputs": "Dữ liệu đầu vào",
        "sample": "Dữ liệu mẫu MÔ PHỎNG (tổng hợp, hiệu chỉnh theo số liệu công bố) — không phải số liệu thật.",
        "as_of": "Ngày tính trạng thái",
        "generated": "Lập lúc",
        "failed": "BÁO CÁO CHƯA HOÀN CHỈNH",
        "missing": "Bảng «{sheet}» chưa có: mô-đun {module} chưa có trong phiên bản này.",
        "figures": "Biểu đồ đã lưu của sổ này",
        "widget": "Phần tương tác: mở sổ này trong JupyterLab (make lab) để chọn năm, huyện, nhóm.",
    },
    "en": {
        "title": "OCOP analysis report",
        "toc": "Contents",
        "inputs": "Inputs",
        "sample": "SYNTHETIC sample data (calibrated to published totals) — not real figures.",
        "as_of": "Status as of",
        "generated": "Generated",
        "failed": "INCOMPLETE REPORT",
        "missing": "Sheet “{sheet}” left out: module {module} is not in this version yet.",
        "figures": "Figures saved by this notebook",
        "widget": "Interactive part: open this notebook in JupyterLab (make lab) to pick year, district, group.",
    },
}


class ReportError(Exception):
    """The report could not be completed; the message is one plain line."""


class NotebookFailed(ReportError):
    """A notebook raised: which notebook, which cell, which error."""

    def __init__(self, notebook: str, cell: Any, ename: str, evalue: str, executed: Path | None):
        self.notebook, self.cell, self.ename, self.evalue, self.executed = notebook, cell, ename, evalue, executed
        where = f"at cell [{cell}]" if cell is not None else "while running"
        evalue_line = (evalue or "").strip().splitlines()[0] if (evalue or "").strip() else ""
        msg = f"notebook {notebook} failed {where}: {ename}: {evalue_line}".rstrip(": ")
        if executed:
            msg += f" (executed copy with the full error: {executed})"
        super().__init__(msg)


@dataclass
class RunLog:
    """What happened, written to ``manifest.json``."""

    started: str
    inputs: dict
    notebooks: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    seconds: float | None = None
    status: str = "running"


# ---------------------------------------------------------------- notebooks

def find_notebooks(notebooks_dir: str | Path | None = None) -> list[Path]:
    """``NN_*.ipynb`` in ``notebooks_dir`` (default: the kit's notebooks/), sorted by name."""
    folder = Path(notebooks_dir) if notebooks_dir is not None else paths.NOTEBOOKS_DIR
    if not folder.is_dir():
        raise ReportError(f"notebook folder not found: {folder}")
    return sorted(p for p in folder.iterdir() if p.is_file() and NOTEBOOK_PATTERN.match(p.name))


def notebook_parameters(path: str | Path) -> list[str]:
    """Names assigned in the notebook's cell tagged ``parameters`` (empty if it has none)."""
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            try:
                tree = ast.parse(source)
            except SyntaxError:
                return []
            names = []
            for node in tree.body:
                targets = node.targets if isinstance(node, ast.Assign) else \
                    [node.target] if isinstance(node, ast.AnnAssign) else []
                names += [t.id for t in targets if isinstance(t, ast.Name)]
            return names
    return []


# The kernel's "running over TCP" notice is noise on a local run; no IPython history file (as nbclient does).
KERNEL_ARGUMENTS = ("--IPKernelApp.log_level=CRITICAL", "--HistoryManager.hist_file=:memory:")


@functools.cache
def _engine_name() -> str:
    """A papermill engine (registered once) that writes the executed notebook once instead of at every cell.

    papermill's own engine writes the whole notebook, figures included, at the start and the end of
    every cell (~60 writes for notebook 06). For a batch run one write is enough: papermill writes
    the finished notebook (with a failing cell's traceback) itself; the engine keeps only the write
    for a run that ends without a notebook (kernel died, timeout), so that copy still exists.
    """
    from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

    class _Manager(NotebookExecutionManager):
        write = False

        def save(self, **kwargs):
            if self.write:
                super().save(**kwargs)

    class _Engine(NBClientEngine):
        @classmethod
        def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True, log_output=False,
                             autosave_cell_every=30, **kwargs):
            nb_man = _Manager(nb, output_path=output_path, progress_bar=progress_bar, log_output=log_output,
                              autosave_cell_every=autosave_cell_every)
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
            except BaseException:
                nb_man.write = True  # papermill will not write this run's notebook: keep what ran
                raise
            finally:
                nb_man.cleanup_pbar()
                nb_man.notebook_complete()
            return nb_man.nb

    papermill_engines.register("ocop-report", _Engine)
    return "ocop-report"


@functools.cache
def _kernel_manager_class():
    # nbclient's own default: its asynchronous client notices a kernel that died (a blocking one waits forever)
    from jupyter_client import AsyncKernelManager

    class _KernelManager(AsyncKernelManager):
        """Remembers the clients made for it, so their channels are closed with the kernel."""

        def client(self, **kwargs):
            kc = super().client(**kwargs)
            self.__dict__.setdefault("_ocop_clients", []).append(kc)
            return kc

    return _KernelManager


def notebook_imports(path: str | Path) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """What a notebook will import, read from its code without running it.

    Returns (the import statements that open its first code cell after the parameters, as source
    text; attribute chains on the names those statements bind, as (module, [attribute, ...])), e.g.
    ``import ocop_analysis as oa`` and ``oa.charts.save(...)`` later give ``("ocop_analysis",
    ["charts", "save"])`` — the kit's package imports ``charts`` lazily on that first access.
    A cell that is not plain Python (magics) gives nothing.
    """
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    sources = []
    for cell in nb.get("cells", []):
        tags = cell.get("metadata", {}).get("tags", [])
        if cell.get("cell_type") != "code" or "parameters" in tags or "injected-parameters" in tags:
            continue
        sources.append("".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"])
    if not sources:
        return [], []
    try:
        first = ast.parse(sources[0])
    except SyntaxError:
        return [], []
    statements, bound = [], {}
    for node in first.body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = (alias.name, [])
                else:
                    bound[alias.name.split(".")[0]] = (alias.name.split(".")[0], [])
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                if alias.name != "*":
                    bound[alias.asname or alias.name] = (node.module, [alias.name])
        else:
            break
        statements.append(ast.get_source_segment(sources[0], node))
    chains = []
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            names, cur = [], node
            while isinstance(cur, ast.Attribute):
                names.append(cur.attr)
                cur = cur.value
            if isinstance(cur, ast.Name) and cur.id in bound and names:
                module, attrs = bound[cur.id]
                chain = (module, attrs + names[::-1])
                if chain not in chains:
                    chains.append(chain)
    return statements, chains


# Run silently in a kernel started ahead, in a scratch namespace: imports what the notebook will
# import, and follows attribute chains only through modules (a module's lazy __getattr__ imports).
_WARM_UP = """
import importlib, types
for statement in STATEMENTS:
    try:
        exec(statement, {})
    except Exception:
        pass
for module, attrs in CHAINS:
    try:
        obj = importlib.import_module(module)
        for attr in attrs:
            if not isinstance(obj, types.ModuleType):
                break
            obj = getattr(obj, attr)
    except Exception:
        pass
"""


WARM_UP_TIMEOUT = 300  # seconds a warm-up may take at most
WARM_UP_POLL = 0.5     # seconds between checks that the kernel warming up is still alive


def _warm_up_code(nb_path: Path) -> str | None:
    statements, chains = notebook_imports(nb_path)
    if not statements:
        return None
    code = f"STATEMENTS = {statements!r}\nCHAINS = {chains!r}\n{_WARM_UP}"
    return f"exec({code!r}, {{}})"


class _Kernels:
    """Fresh python3 kernels for the notebooks, one each, started ahead and stopped in the background.

    Every notebook still runs in its own new kernel; what changes is when: the next notebook's kernel
    is launched while the current one runs (a kernel takes ~0.5 s to boot, on the other core) and
    imports, silently and in a scratch namespace, the modules that notebook imports (its opening
    import statements and the kit modules they lead to; ~1 s of pandas, matplotlib and the kit in
    every kernel); a finished kernel is shut down while the next notebook runs instead of before it
    starts. Nothing of the warm-up is visible to the notebook but sys.modules: no names, no
    execution count, no output (a failing import is left for the notebook's own cell to report).
    """

    def __init__(self, cwd: Path):
        self.cwd = cwd
        self.ahead = None
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ocop-kernel-stop")
        self._warm_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ocop-kernel-warm")
        self._warming: dict[int, Any] = {}

    def _start(self, notebook: Path | None = None):
        from jupyter_core.utils import run_sync

        # the notebook is read before a kernel is launched: a notebook that cannot be read launches none
        code = _warm_up_code(notebook) if notebook is not None else None
        km = _kernel_manager_class()(kernel_name="python3")
        try:
            run_sync(km.start_kernel)(cwd=str(self.cwd), extra_arguments=list(KERNEL_ARGUMENTS))
        except BaseException:
            # a start that fails after launching the process must not leave it running
            with contextlib.suppress(Exception):
                if km.has_kernel:
                    run_sync(km.shutdown_kernel)(now=True)
            raise
        if code is not None:
            self._warming[id(km)] = self._warm_pool.submit(self._warm_up, km, code)
        return km

    @staticmethod
    def _warm_up(km, code: str) -> None:
        from jupyter_client.blocking import BlockingKernelClient

        kc = BlockingKernelClient()
        kc.load_connection_info(km.get_connection_info())
        try:
            kc.start_channels()
            kc.wait_for_ready(timeout=60)
            msg_id = kc.execute(code, silent=True, store_history=False, allow_stdin=False)
            deadline = time.monotonic() + WARM_UP_TIMEOUT
            # The reply says the warm-up is over (the notebook's requests queue behind it). Polled in
            # short waits: a kernel that dies while importing never replies, and the run would wait
            # for it (when the kernel is stopped) until the deadline.
            while time.monotonic() < deadline:
                try:
                    reply = kc.get_shell_msg(timeout=WARM_UP_POLL)
                except queue.Empty:
                    if not kc.is_alive():
                        break
                    continue
                if reply.get("parent_header", {}).get("msg_id") == msg_id:
                    break
        except Exception:  # noqa: BLE001 — no warm-up only means the notebook imports as usual
            pass
        finally:
            kc.stop_channels()

    def prepare(self, notebook: Path) -> None:
        """Launch the kernel of the first notebook now (it boots while the caller does other work)."""
        if self.ahead is None:
            self._start_ahead(notebook)

    def _start_ahead(self, notebook: Path) -> None:
        # A notebook that cannot be read, or a kernel that will not start, is not this moment's error:
        # that notebook meets it again on its own turn and fails under its own name.
        try:
            self.ahead = self._start(notebook)
        except Exception:  # noqa: BLE001
            self.ahead = None

    def take(self, next_notebook: Path | None):
        """The kernel for the notebook about to run (started now if none is ready); launch the next one's."""
        km, self.ahead = self.ahead, None
        if km is None:
            km = self._start()
        if next_notebook is not None:
            self._start_ahead(next_notebook)
        return km

    def _shutdown(self, km) -> None:
        from jupyter_core.utils import run_sync

        warming = self._warming.pop(id(km), None)
        if warming is not None:
            warming.result()
        try:
            for kc in km.__dict__.get("_ocop_clients", []):
                kc.stop_channels()
            if km.has_kernel:
                run_sync(km.shutdown_kernel)(now=False)
        except Exception:  # noqa: BLE001 — a kernel that will not stop gracefully is killed
            try:
                run_sync(km.shutdown_kernel)(now=True)
            except Exception:  # noqa: BLE001
                pass

    def stop(self, km) -> None:
        self._pool.submit(self._shutdown, km)

    def close(self) -> None:
        """Stop a kernel started ahead but not used, and wait until every kernel has exited (idempotent)."""
        if self.ahead is not None:
            self.stop(self.ahead)
            self.ahead = None
        self._pool.shutdown(wait=True)
        self._warm_pool.shutdown(wait=True)


def _run_one(nb_path: Path, out_path: Path, params: dict, km) -> None:
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    try:
        pm.execute_notebook(str(nb_path), str(out_path), parameters=params, kernel_name="python3", km=km,
                            engine_name=_engine_name(), progress_bar=False, log_output=False)
    except PapermillExecutionError as exc:
        raise NotebookFailed(nb_path.name, exc.exec_count, exc.ename, exc.evalue, out_path) from None
    except Exception as exc:  # kernel died, timeout, unreadable notebook ...
        raise NotebookFailed(nb_path.name, None, type(exc).__name__, str(exc),
                             out_path if out_path.exists() else None) from None


# ---------------------------------------------------------------- inputs

def default_out_dir(registry_paths: Sequence | None, as_of: str | None = None) -> Path:
    """reports/sample for the embedded sample; reports/<as_of or today> for your own registry."""
    if not registry_paths:
        return paths.REPORTS_DIR / "sample"
    return paths.REPORTS_DIR / (as_of or dt.date.today().isoformat())


def _check_inputs(registry_paths, plan_path, scenarios_path, as_of, lang, *, kit_notebooks: bool = True):
    if lang not in ("vi", "en"):
        raise ConfigError(f"lang must be 'vi' or 'en', not {lang!r}")
    if as_of is not None:
        try:
            as_of = dt.date.fromisoformat(str(as_of)).isoformat()
        except ValueError:
            raise ConfigError(f"--as-of must be a date written YYYY-MM-DD, not {as_of!r}") from None
    regs = None
    if registry_paths:
        if isinstance(registry_paths, (str, Path)):
            registry_paths = [registry_paths]
        regs = []
        for p in registry_paths:
            path = Path(p).expanduser()
            if not path.exists():
                raise FileNotFoundError(f"registry not found: {p} (give an .xlsx/.xls/.ods file or a folder of them)")
            regs.append(str(path.resolve()))
    resolved = {}
    for key, value in (("plan", plan_path), ("scenarios", scenarios_path)):
        if value is not None:
            path = Path(value).expanduser()
            if not path.is_file():
                raise FileNotFoundError(f"{key} file not found: {value}")
            resolved[key] = str(path.resolve())
        else:
            resolved[key] = None
    _check_plan_and_scenarios(resolved["plan"], resolved["scenarios"], need_plan_scenario=kit_notebooks)
    return regs, resolved["plan"], resolved["scenarios"], as_of


def _check_plan_and_scenarios(plan_path: str | None, scenarios_path: str | None, *, need_plan_scenario: bool) -> None:
    """Read the plan and the budget scenarios before any notebook runs, so a broken file is one plain line
    (ConfigError, exit 2) instead of notebooks 04–06 failing after 00–03 have run. The kit's budget
    notebook follows the scenario named 'plan' (``need_plan_scenario``)."""
    from . import budget
    from .plan import load_plan

    if plan_path:
        load_plan(plan_path)
    scenarios = budget.load_with_plan(scenarios_path, plan_path)
    if need_plan_scenario and "plan" not in scenarios:
        raise ConfigError(f"{scenarios_path or paths.DEFAULT_SCENARIOS}: no scenario named 'plan' (the report's budget "
                          f"notebook follows it); the file has {', '.join(scenarios) or 'no scenarios'}.")


def _prepare_out(out_dir: Path, notebooks_dir: Path, inputs: Sequence = ()) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    if (out_dir / "notebooks").resolve() == notebooks_dir.resolve() or out_dir.resolve() == notebooks_dir.resolve():
        raise ReportError(f"--out {out_dir} would write over the input notebooks; choose another folder")
    # a registry read from a previous report's folder must not be cleared away below (issue 8)
    for name in ("figures", "notebooks"):
        if any((out_dir / name).resolve() in Path(p).resolve().parents for p in inputs):
            raise ReportError(f"--out {out_dir}: a registry input is inside {out_dir / name}; choose another folder")
    for name in ("report.html", "summary.xlsx", "registry_clean.xlsx", "problems.xlsx", "FAILED.txt", "manifest.json"):
        safety.refuse_overwrite(out_dir / name, inputs)
    # Clear what a previous run wrote here (and only that), so stale figures do not linger.
    for name in ("figures", "notebooks"):
        shutil.rmtree(out_dir / name, ignore_errors=True)
    for name in ("report.html", "summary.xlsx", "registry_clean.xlsx", "problems.xlsx", "FAILED.txt",
                 "manifest.json"):
        (out_dir / name).unlink(missing_ok=True)


# ---------------------------------------------------------------- data workbooks

_KIND_VI = {"new": "Mới", "reevaluation": "Đánh giá lại", "upgrade": "Nâng hạng"}
_ENTITY_VI = {"company": "Doanh nghiệp", "cooperative": "Hợp tác xã", "cooperative_group": "Tổ hợp tác",
              "household": "Hộ kinh doanh, cơ sở", "other": "Khác"}
_REVOCATION_VI = {"year_recognized": "Năm công nhận", "revoked_on": "Ngày thu hồi",
                  "decision_no": "Số quyết định thu hồi", "reason": "Lý do thu hồi"}


def registry_clean_frame(evaluations: pd.DataFrame, lang: str = "vi") -> pd.DataFrame:
    """The canonical table as people read it: failed rounds written "Không đạt", kinds in words."""
    df = evaluations.copy()
    failed = df["stars"].isna() & df["certified"].eq(False).fillna(False)
    stars = df["stars"].astype(object).where(df["stars"].notna(), None)
    stars[failed] = "Không đạt" if lang == "vi" else "Not certified"
    df["stars"] = stars
    if lang == "vi":
        df["kind"] = df["kind"].astype(object).map(lambda k: _KIND_VI.get(k, k), na_action="ignore")
        df["entity_type"] = df["entity_type"].astype(object).map(lambda k: _ENTITY_VI.get(k, k), na_action="ignore")
    return df


def write_registry_workbooks(reg, out_dir: Path, lang: str = "vi") -> list[Path]:
    """registry_clean.xlsx (+ revocations sheet) and, when there are problems, problems.xlsx."""
    written = [_write_registry_clean(reg, out_dir, lang)]
    problems = _write_problems(reg, out_dir, lang)
    if problems is not None:
        written.append(problems)
    return written


def _write_problems(reg, out_dir: Path, lang: str) -> Path | None:
    from .validate import write_problems_xlsx

    return write_problems_xlsx(reg, out_dir / "problems.xlsx", lang=lang, only_if_problems=True)


def _write_registry_clean(reg, out_dir: Path, lang: str) -> Path:
    sheets = {("Đánh giá" if lang == "vi" else "Evaluations"): registry_clean_frame(reg.evaluations, lang)}
    rev = getattr(reg, "revocations", None)
    if rev is not None and len(rev):
        rev = rev.rename(columns=_REVOCATION_VI) if lang == "vi" else rev
        sheets["Thu hồi" if lang == "vi" else "Revocations"] = rev
    return excel_out.write_excel(out_dir / "registry_clean.xlsx", sheets, labels=lang, notes=[
        "Bảng chuẩn hoá do ocop-analysis đọc từ sổ đăng ký; mỗi dòng là một lần đánh giá của một sản phẩm."
        if lang == "vi" else "The canonical table as loaded by ocop-analysis; one row per product per evaluation round.",
        ("Tệp nguồn / Trang tính nguồn / Dòng nguồn chỉ ra dòng gốc trong Excel."
         if lang == "vi" else "source_file / source_sheet / source_row point at the original Excel row."),
    ])


def _summary_tables(reg, plan_path, scenarios_path, as_of, lang) -> tuple[dict, list[str]]:
    """{sheet key: DataFrame} computed by the kit's functions; notes for sheets left out."""
    import ocop_analysis as oa

    as_of_date = dt.date.fromisoformat(as_of) if as_of else None
    plan_path = plan_path or (str(paths.DEFAULT_PLAN) if paths.DEFAULT_PLAN.exists() else None)
    scenarios_path = scenarios_path or (str(paths.DEFAULT_SCENARIOS) if paths.DEFAULT_SCENARIOS.exists() else None)

    def budget_table():
        if scenarios_path is None:
            raise FileNotFoundError("no budget scenarios file")
        scenarios = oa.budget.for_registry(reg, scenarios_path, plan_path)  # as notebooks 05 and 06
        result = oa.budget.evaluate(scenarios, scenarios.envelope, lang=lang)
        # the totals per scenario are the key table; line items and parameters follow
        return {"": result.totals, "_items": result.items, "_parameters": result.parameters}

    def scorecard_table():
        if plan_path is None:
            raise FileNotFoundError("no plan file")
        budget = oa.budget.for_registry(reg, scenarios_path, plan_path) if scenarios_path else None
        return oa.plan_scorecard(reg, oa.load_plan(plan_path), as_of=as_of_date, scenarios=budget)

    builders: dict[str, tuple[str, Callable[[], Any]]] = {
        "districts": ("analysis", lambda: oa.district_breakdown(reg.evaluations, by="stars")),
        "stars": ("analysis", lambda: oa.star_distribution(reg.evaluations, by="year")),
        "cohorts": ("lifecycle", lambda: oa.reevaluation_rates(reg, as_of=as_of_date)),
        "scorecard": ("plan", scorecard_table),
        "budget": ("budget", budget_table),
    }
    tables, notes = {}, []
    for key, (module, build) in builders.items():
        sheet = SUMMARY_SHEETS[key][lang]
        if importlib.util.find_spec(f"ocop_analysis.{module}") is None:
            notes.append(_TEXT[lang]["missing"].format(sheet=sheet, module=f"ocop_analysis.{module}"))
            continue
        try:
            value = build()
        except FileNotFoundError as exc:
            notes.append(f"{sheet}: {exc}")
            continue
        except Exception as exc:
            raise ReportError(f"summary.xlsx, sheet {sheet!r}: {type(exc).__name__}: {exc}") from exc
        frames = value if isinstance(value, dict) else {"": value}
        for suffix, frame in frames.items():
            tables[key + suffix] = (SUMMARY_SHEETS[key + suffix][lang], frame)
    return tables, notes


def write_summary(reg, out_dir: Path, *, plan_path=None, scenarios_path=None, as_of=None, lang="vi",
                  inputs: Iterable[str] = ()) -> tuple[Path, list[str]]:
    """summary.xlsx: one sheet per key table, plus a notes sheet (inputs, sheets left out)."""
    tables, notes = _summary_tables(reg, plan_path, scenarios_path, as_of, lang)
    sheets = {title: frame for title, frame in tables.values()}
    path = excel_out.write_excel(out_dir / "summary.xlsx", sheets, labels=lang, notes=[*inputs, *notes])
    return path, notes


# ---------------------------------------------------------------- HTML

def _cell_source(cell) -> str:
    return "".join(cell.source) if isinstance(cell.source, list) else cell.source


WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def _static_output(output, lang: str):
    """Widgets cannot work in a static page: say where to use them instead of printing their repr."""
    if WIDGET_MIME not in output.get("data", {}):
        return output
    import nbformat

    return nbformat.v4.new_output("display_data", data={"text/html": f"<p><em>{_TEXT[lang]['widget']}</em></p>"})


def _merge_notebooks(executed: list[Path], figures_by_nb: dict[str, list[Path]], header_md: str,
                     lang: str):
    """One notebook: a header, a TOC placeholder, then each executed notebook's cells (stderr dropped)."""
    import nbformat

    merged = nbformat.v4.new_notebook()
    merged.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    merged.cells.append(nbformat.v4.new_markdown_cell(header_md))
    merged.cells.append(nbformat.v4.new_markdown_cell("OCOPTOCPLACEHOLDER"))
    for n, path in enumerate(executed):
        nb = nbformat.read(path, as_version=4)
        images = 0
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"nb{n:02d}-{i:03d}"  # ids repeat across notebooks; keep them unique in the page
            tags = cell.get("metadata", {}).get("tags", [])
            if "parameters" in tags or "injected-parameters" in tags:
                continue
            if cell.cell_type == "code":
                cell.outputs = [_static_output(o, lang) for o in cell.get("outputs", [])
                                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
                images += sum(1 for o in cell.outputs if "image/png" in o.get("data", {}))
            merged.cells.append(cell)
        # Every saved figure must be in the page: if the notebook showed fewer charts
        # than it saved, add the saved PNGs at the end of its section.
        pngs = [p for p in figures_by_nb.get(path.name, []) if p.suffix == ".png"]
        if len(pngs) > images:
            parts = [f"### {_TEXT[lang]['figures']}"]
            for png in pngs:
                data = base64.b64encode(png.read_bytes()).decode()
                parts.append(f'<img src="data:image/png;base64,{data}" alt="{html.escape(png.stem)}" '
                             f'style="max-width:100%"/>')
            merged.cells.append(nbformat.v4.new_markdown_cell("\n\n".join(parts)))
    return merged


_HEADING = re.compile(r'<h([1-3])\s+id="([^"]+)"([^>]*)>(.*?)</h\1>', flags=re.S)


def _unique_heading_ids(body: str) -> str:
    """Notebooks reuse headings ("Kết luận"); give every heading its own id so TOC links land right."""
    seen: dict[str, int] = {}

    def fix(m: re.Match) -> str:
        level, hid, attrs, inner = m.groups()
        n = seen.get(hid, 0) + 1
        seen[hid] = n
        if n == 1:
            return m.group(0)
        new_id = f"{hid}-{n}"
        inner = inner.replace(f'href="#{hid}"', f'href="#{new_id}"')
        return f'<h{level} id="{new_id}"{attrs}>{inner}</h{level}>'

    return _HEADING.sub(fix, body)


def _toc(body: str, title: str) -> str:
    items = []
    for i, m in enumerate(_HEADING.finditer(body)):
        level, hid, _, inner = m.groups()
        text = re.sub(r"<[^>]+>", "", inner).replace("¶", "").strip()
        if i == 0 or level == "3" or not text:  # the report title itself, and minor headings
            continue
        items.append(f'<li class="toc-h{level}"><a href="#{hid}">{text}</a></li>')
    style = ("<style>nav.ocop-toc{border:1px solid #ccc;padding:.5em 1.5em;margin:1em 0;}"
             "nav.ocop-toc li.toc-h2{margin-left:1.5em;font-size:.95em}"
             ".ocop-failed{background:#fde2e1;border:2px solid #c0392b;padding:.6em 1em;}</style>")
    return f'{style}<nav class="ocop-toc"><h2>{html.escape(title)}</h2><ul>{"".join(items)}</ul></nav>'


def _stash_images(merged) -> dict[str, str]:
    """Replace each output image's base64 text by a short key; {key: base64}.

    nbconvert's HTML exporter runs the whole page through an HTML parser and serialiser; with the
    charts (megabytes of base64) inside, that is most of the time write_html takes. The text is put
    back verbatim after the export, so the page is the same. The keys (``OCOPIMAGE000000X`` …) start
    with a word found nowhere in the notebooks, so a page that prints such a string keeps it as is.
    """
    text = json.dumps(merged.cells)
    prefix = "OCOPIMAGE"
    while prefix in text:
        prefix += "Z"
    images: dict[str, str] = {}
    for cell in merged.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = output.get("data", {})
            for mime in ("image/png", "image/jpeg"):
                if isinstance(data.get(mime), str):
                    key = f"{prefix}{len(images):06d}X"
                    images[key] = data[mime]
                    data[mime] = key
    return images


def _unstash_images(body: str, images: dict[str, str]) -> str:
    """The page with each stashed key replaced by its image; any other text left alone."""
    if not images:
        return body
    prefix = next(iter(images))[:-7]
    return re.sub(re.escape(prefix) + r"\d{6}X", lambda m: images.get(m.group(0), m.group(0)), body)


def write_html(executed: list[Path], out_path: Path, *, figures_by_nb: dict[str, list[Path]],
               header_md: str, lang: str = "vi") -> Path:
    """Join executed notebooks into one offline page: code hidden, TOC, charts embedded."""
    from nbconvert import HTMLExporter

    merged = _merge_notebooks(executed, figures_by_nb, header_md, lang)
    images = _stash_images(merged)
    exporter = HTMLExporter(template_name="lab", exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True, embed_images=True)
    body, _ = exporter.from_notebook_node(merged, resources={"metadata": {"name": _TEXT[lang]["title"]}})
    body = _unstash_images(body, images)
    # Readable offline: no script is fetched from the internet (the page needs none to show its content).
    body = re.sub(r'<script[^>]*\bsrc="https?://[^"]*"[^>]*>\s*</script>', "", body)
    body = re.sub(r"<script[^>]*>(?:(?!</script>).)*?(?:https?://cdn|MathJax)(?:(?!</script>).)*</script>",
                  "", body, flags=re.S)
    body = _unique_heading_ids(body)
    body = re.sub(r"<p>\s*OCOPTOCPLACEHOLDER\s*</p>", lambda _: _toc(body, _TEXT[lang]["toc"]), body, count=1)
    out_path.write_text(body, encoding="utf-8")
    return out_path


def _md_escape(text: str) -> str:
    """Text shown as-is inside Markdown: HTML-escaped, and the characters Markdown acts on as entities."""
    return "".join(f"&#{ord(ch)};" if ch in "`*_[]\\" else ch for ch in html.escape(text))


def _header(registry_paths, as_of, lang, failure: str | None = None) -> str:
    t = _TEXT[lang]
    lines = [f"# {t['title']}"]
    if failure:
        lines.append(f'<div class="ocop-failed"><strong>{t["failed"]}</strong>: {html.escape(failure)}</div>')
    # file names are escaped HTML, not Markdown code spans: a backtick in a name would end the span (issue 8)
    lines.append(f"**{t['inputs']}:** " + (", ".join(f"<code>{_md_escape(Path(p).name)}</code>" for p in registry_paths)
                                           if registry_paths else f"`data/sample/` — {t['sample']}"))
    lines.append(f"**{t['as_of']}:** {as_of or dt.date.today().isoformat()} · "
                 f"**{t['generated']}:** {dt.datetime.now().strftime('%Y-%m-%d %H:%M')}")
    return "\n\n".join(lines)


# ---------------------------------------------------------------- the run

def run_report(registry_paths: Sequence[str | Path] | str | Path | None = None, *,
               plan_path: str | Path | None = None, scenarios_path: str | Path | None = None,
               as_of: str | dt.date | None = None, lang: str = "vi", out_dir: str | Path | None = None,
               notebooks_dir: str | Path | None = None, workbooks: bool = True,
               progress: bool = True) -> Path:
    """Run the notebooks and write the report package; returns the output folder.

    registry_paths None = the embedded sample (data/sample/). ``workbooks=False``
    skips registry_clean/problems/summary (used to test the runner alone).
    Raises FileNotFoundError / RegistryError / ConfigError for bad inputs (before
    anything runs) and NotebookFailed when a notebook raises.
    """
    start = time.perf_counter()
    if isinstance(as_of, dt.date):
        as_of = as_of.isoformat()
    regs, plan, scenarios, as_of = _check_inputs(registry_paths, plan_path, scenarios_path, as_of, lang,
                                                 kit_notebooks=notebooks_dir is None)
    nb_dir = Path(notebooks_dir) if notebooks_dir is not None else paths.NOTEBOOKS_DIR
    notebooks = find_notebooks(nb_dir)
    out = Path(out_dir) if out_dir is not None else default_out_dir(regs, as_of)
    out = out.resolve()
    _prepare_out(out, nb_dir, regs or ())
    log = RunLog(started=dt.datetime.now().isoformat(timespec="seconds"),
                 inputs={"registry_paths": regs or [str(paths.SAMPLE_DIR)], "plan_path": plan,
                         "scenarios_path": scenarios, "as_of": as_of, "lang": lang})
    failure: NotebookFailed | None = None
    workbook_error: Exception | None = None
    executed: list[Path] = []
    figures_by_nb: dict[str, list[Path]] = {}
    books = kernels = None
    try:
        if workbooks:
            with _inline_backend():
                kernels = _Kernels(nb_dir)
                if notebooks:  # the first notebook's kernel boots (and imports) while the registry loads
                    kernels.prepare(notebooks[0])
            # The registry is loaded (and checked) before any notebook runs; the workbooks are then
            # written by a thread while the notebooks run in their kernels.
            books = _Workbooks(regs, plan, scenarios, as_of, lang, out, log)
        params = {"registry_paths": regs, "plan_path": plan, "scenarios_path": scenarios,
                  "as_of": as_of, "lang": lang, "output_dir": str(out)}
        failure = _run_notebooks(notebooks, nb_dir, out, params, executed, figures_by_nb, log, progress,
                                 stop=books.failed if books else None, kernels=kernels)
        if books:
            try:
                log.outputs += books.result()  # re-raises what went wrong while writing them
            except Exception as exc:  # noqa: BLE001 — the notebook's failure is the one reported
                if failure is None:
                    raise
                workbook_error = exc
    finally:
        if kernels:
            kernels.close()
        if books:
            books.wait()
        log.seconds = round(time.perf_counter() - start, 1)
    header = _header(regs, as_of, lang, failure=str(failure) if failure else None)
    if executed:
        log.outputs.append(str(write_html(executed, out / "report.html", figures_by_nb=figures_by_nb,
                                          header_md=header, lang=lang)))
    log.seconds = round(time.perf_counter() - start, 1)
    log.status = "failed" if failure else "ok"
    if failure:
        lines = [str(failure)]
        if workbook_error is not None:  # met while writing them, after or alongside the notebook's failure
            first = (str(workbook_error).strip().splitlines() or [""])[0]
            lines.append(f"workbooks: {type(workbook_error).__name__}: {first}".rstrip(": "))
            log.notes.append(lines[-1])
        (out / "FAILED.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "manifest.json").write_text(json.dumps(log.__dict__, ensure_ascii=False, indent=2), encoding="utf-8")
    if failure:
        raise failure
    return out


class _Workbooks:
    """registry_clean.xlsx, problems.xlsx and summary.xlsx for one run.

    Made in the caller's thread: the registry load (a missing or unreadable input stops the run
    here, before any notebook) and problems.xlsx (notebook 01 writes the same file, so it is written
    before the notebooks start). registry_clean.xlsx and summary.xlsx are then written by a
    background thread while the notebooks run in their own kernel processes.
    """

    def __init__(self, regs, plan, scenarios, as_of, lang, out: Path, log: RunLog):
        self.log, self.written, self.error = log, [], None
        self._thread = None
        try:
            from .loading import load_registry
        except ModuleNotFoundError as exc:
            if exc.name != "ocop_analysis.loading":
                raise
            log.notes.append("loader not available: registry_clean/problems/summary not written")
            return
        reg = load_registry(regs or paths.SAMPLE_DIR, as_of=dt.date.fromisoformat(as_of) if as_of else None)
        problems = _write_problems(reg, out, lang)
        inputs = [f"{_TEXT[lang]['inputs']}: {', '.join(regs) if regs else str(paths.SAMPLE_DIR)}",
                  f"{_TEXT[lang]['as_of']}: {as_of or dt.date.today().isoformat()}"]
        if not regs:
            inputs.append(_TEXT[lang]["sample"])

        def write():
            try:
                clean = _write_registry_clean(reg, out, lang)
                summary, notes = write_summary(reg, out, plan_path=plan, scenarios_path=scenarios, as_of=as_of,
                                               lang=lang, inputs=inputs)
                self.notes = notes
                self.written = [p for p in (clean, problems, summary) if p is not None]
            except BaseException as exc:  # noqa: BLE001 — handed to the caller by result()
                self.error = exc

        self.notes = []
        self._thread = threading.Thread(target=write, name="ocop-report-workbooks", daemon=True)
        self._thread.start()

    def failed(self) -> bool:
        """True once writing has failed (the runner then starts no further notebook)."""
        return self.error is not None

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def result(self) -> list[str]:
        """The written paths (and notes into the log); raises the error met while writing."""
        self.wait()
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        self.log.notes += self.notes
        self.notes = []
        return [str(p) for p in self.written]


def _snapshot(folder: Path) -> dict[Path, int]:
    """{file: modification time}: a figure rewritten by a later notebook counts for that notebook too."""
    return {p: p.stat().st_mtime_ns for p in folder.iterdir() if p.is_file()}


@contextlib.contextmanager
def _inline_backend():
    """MPLBACKEND set to the inline backend while kernels are launched (a kernel takes its environment
    when it starts): charts must show inline, so they land in the HTML, even if the caller runs with
    MPLBACKEND=Agg."""
    previous = os.environ.get("MPLBACKEND")
    os.environ["MPLBACKEND"] = INLINE_BACKEND
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = previous


def _run_notebooks(notebooks, nb_dir, out, params, executed, figures_by_nb, log, progress, stop=None,
                   kernels=None):
    """Run the notebooks one after the other, each in a fresh kernel (started one notebook ahead)."""
    from tqdm.auto import tqdm

    nb_out = out / "notebooks"
    nb_out.mkdir(parents=True, exist_ok=True)
    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    env = _inline_backend()
    env.__enter__()
    # papermill logs "Unable to parse line" for parameter comments it cannot read; we read them ourselves
    logging.getLogger("papermill").setLevel(logging.ERROR)
    bar = tqdm(notebooks, unit="notebook", disable=not progress, file=sys.stderr, desc="report")
    kernels = kernels if kernels is not None else _Kernels(nb_dir)
    try:
        for i, nb in enumerate(bar):
            if stop is not None and stop():
                break
            bar.set_postfix_str(nb.name)
            before = _snapshot(figures)
            target = nb_out / nb.name
            t0 = time.perf_counter()
            km = None
            try:
                try:
                    declared = notebook_parameters(nb)
                    km = kernels.take(notebooks[i + 1] if i + 1 < len(notebooks) else None)
                except Exception as exc:  # unreadable notebook, no python3 kernel, cannot launch ...
                    raise NotebookFailed(nb.name, None, type(exc).__name__, str(exc), None) from None
                _run_one(nb, target, {k: v for k, v in params.items() if k in declared}, km)
            except NotebookFailed as exc:
                log.notebooks.append({"notebook": nb.name, "status": "failed", "error": str(exc),
                                      "seconds": round(time.perf_counter() - t0, 1)})
                if target.exists():
                    executed.append(target)
                return exc
            finally:
                if km is not None:
                    kernels.stop(km)
                after = _snapshot(figures)
                figures_by_nb[nb.name] = sorted(p for p, m in after.items() if before.get(p) != m)
            executed.append(target)
            log.notebooks.append({"notebook": nb.name, "status": "ok",
                                  "seconds": round(time.perf_counter() - t0, 1),
                                  "figures": [p.name for p in figures_by_nb[nb.name]]})
    finally:
        bar.close()
        kernels.close()
        env.__exit__(None, None, None)
    return None


# ---------------------------------------------------------------- CLI

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH",
                        help="registry workbooks or folders (default: the synthetic sample in data/sample/)")
    parser.add_argument("--plan", metavar="FILE", help="plan targets, YAML (default: data/plans/dong_thap_2025.yaml)")
    parser.add_argument("--scenarios", metavar="FILE",
                        help="budget scenarios, YAML or Excel (default: data/budget/scenarios_2025.yaml)")
    parser.add_argument("--as-of", metavar="DATE", help="date for certificate status, YYYY-MM-DD (default: today)")
    parser.add_argument("--lang", choices=("vi", "en"), default="vi", help="language of labels and headers (default: vi)")
    parser.add_argument("--out", metavar="FOLDER",
                        help="output folder (default: reports/sample for the sample, reports/<date> otherwise)")
    parser.add_argument("--notebooks", metavar="FOLDER", help=argparse.SUPPRESS)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run_cli(args: argparse.Namespace) -> int:
    try:
        out = run_report(args.paths or None, plan_path=args.plan, scenarios_path=args.scenarios,
                         as_of=args.as_of, lang=args.lang, out_dir=args.out, notebooks_dir=args.notebooks,
                         progress=not args.no_progress)
    except ReportError as exc:
        print(f"ocop-analysis report: {exc}", file=sys.stderr)
        return 1
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    print(f"report written to {out} in {manifest['seconds']} s: open {out / 'report.html'}")
    for note in manifest["notes"]:
        print(f"  note: {note}")
    return 0
