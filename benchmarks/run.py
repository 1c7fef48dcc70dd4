"""``make bench``: the kit's paths at national scale, each next to its baseline, in ONE process (issue 9).

Medians of ``--repeat`` runs (≥ 3; kit and baseline alternate), a table of ratios with the target and
PASS/FAIL, the machine's description, a cProfile summary of one load, peak RSS per load (each in its
own subprocess), and linking's growth from 6,000 to 60,000 rows. Writes benchmarks/RESULTS.md.

    .venv/bin/python benchmarks/run.py [--rows 60000] [--repeat 3] [--report-repeat 3] [--no-report] [--no-openpyxl]

The full report on the sample is timed against the same runner executing as many empty notebooks
(``--no-report`` skips that pair). Data: benchmarks/generate.py (written once to benchmarks/data/, git-ignored).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import math
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402

import ocop_analysis as oa  # noqa: E402
from ocop_analysis import linking, normalize  # noqa: E402

RESULTS = HERE / "RESULTS.md"


# --------------------------------------------------------------------------- machine

def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "?"
    try:
        import psutil

        ram = f"{psutil.virtual_memory().total / 2**30:.1f} GiB"
    except ImportError:
        pass
    versions = {}
    for pkg in ("pandas", "python-calamine", "openpyxl", "pyarrow", "numpy", "rapidfuzz"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "-"
    return {"CPU": cpu, "cores": str(os.cpu_count()), "RAM": ram, "OS": platform.platform(),
            "Python": platform.python_version(), **versions, "ocop-analysis": oa.__version__}


# --------------------------------------------------------------------------- timing helpers

def timed(func) -> float:
    t = time.perf_counter()
    func()
    return time.perf_counter() - t


def medians(funcs: dict, repeat: int) -> dict[str, float]:
    """Run every function ``repeat`` times, interleaved; median seconds of each."""
    times: dict[str, list[float]] = {k: [] for k in funcs}
    for _ in range(repeat):
        for name, func in funcs.items():
            times[name].append(timed(func))
    return {k: statistics.median(v) for k, v in times.items()}


class Table:
    def __init__(self):
        self.rows: list[list[str]] = []

    def add(self, what: str, kit: float, base: float | None, target: str, ok: bool | None,
            ratio: float | None = None, base_label: str = ""):
        """``ok`` None: an informative row, no target."""
        ratio = ratio if ratio is not None else (kit / base if base else None)
        self.rows.append([what, f"{kit:.3f} s", f"{base:.3f} s" if base is not None else "—",
                          f"{ratio:.3f}" if ratio is not None else "—", target,
                          "info" if ok is None else "PASS" if ok else "FAIL", base_label])
        print(f"  {what}: kit {kit:.3f} s" + (f", baseline {base:.3f} s, ratio {ratio:.3f}" if base else "")
              + f"  [{target}] {'info' if ok is None else 'PASS' if ok else 'FAIL'}", flush=True)

    def markdown(self) -> str:
        head = ["measure", "kit", "baseline", "ratio", "target", "result", "baseline is"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        return "\n".join(lines)


# --------------------------------------------------------------------------- parts

def bare_calamine(path: Path):
    return pd.read_excel(path, sheet_name=None, engine="calamine", header=None)


def bare_openpyxl(path: Path):
    return pd.read_excel(path, sheet_name=None, engine="openpyxl", header=None)


def forget_names() -> None:
    """Empty the kit's per-name memos (folded names, entity types and keys), so each timed load or linking
    run folds its names as the first load of a session does, not from an earlier run's memo."""
    normalize._FOLDED.clear()
    normalize._PREFIX_OF.clear()
    normalize.entity_type.cache_clear()
    normalize.entity_key.cache_clear()


def kit_load(path: Path, cache: bool = False):
    forget_names()
    return oa.load_registry(path, corrections=None, links=None, cache=cache)


def cold_linking(frame: pd.DataFrame):
    forget_names()
    return linking.assign_product_ids(frame)


def bench_loads(table: Table, files: dict[str, Path], repeat: int, openpyxl: bool) -> dict[str, float]:
    loads = {}
    for kind, path in files.items():
        print(f"load {kind} ({path.name})", flush=True)
        funcs = {"kit": lambda: kit_load(path), "calamine": lambda: bare_calamine(path)}
        m = medians(funcs, repeat)
        loads[kind] = m["kit"]
        table.add(f"load_registry, {kind} workbook", m["kit"], m["calamine"], "≤ 1.5× calamine",
                  m["kit"] <= 1.5 * m["calamine"], base_label="pandas.read_excel(engine='calamine', header=None)")
        if openpyxl:
            op = medians({"openpyxl": lambda: bare_openpyxl(path)}, repeat)["openpyxl"]
            table.add(f"load_registry vs openpyxl, {kind}", m["kit"], op, "≥ 4× faster (ratio ≤ 0.25)",
                      m["kit"] * 4 <= op, base_label="pandas.read_excel(engine='openpyxl', header=None)")
    return loads


def bench_cache(table: Table, path: Path, repeat: int) -> None:
    print("cache", flush=True)
    old = os.environ.get("OCOP_CACHE_DIR")
    firsts, seconds = [], []
    try:
        for _ in range(repeat):
            with tempfile.TemporaryDirectory(prefix="ocop-bench-cache-") as tmp:
                os.environ["OCOP_CACHE_DIR"] = tmp
                firsts.append(timed(lambda: kit_load(path, cache=True)))
                seconds.append(timed(lambda: kit_load(path, cache=True)))
    finally:
        if old is None:
            os.environ.pop("OCOP_CACHE_DIR", None)
        else:
            os.environ["OCOP_CACHE_DIR"] = old
    first, second = statistics.median(firsts), statistics.median(seconds)
    table.add("second load_registry (cache hit), flat", second, first, "≤ 0.05× first load",
              second <= 0.05 * first, base_label="first load_registry (cache miss, writes the entry)")


def bench_analyses(table: Table, reg, path: Path, repeat: int) -> None:
    """Each analysis against a load of the same rows, measured in the same interleaved loop (the box is shared)."""
    print("analyses", flush=True)
    plan = oa.load_plan(oa.paths.DEFAULT_PLAN)
    ev = reg.evaluations
    cols = ["entity_name", "product_name", "district_code", "year", "product_code",
            "source_file", "source_sheet", "source_row"]
    frame = ev[cols].copy()
    funcs = {
        "load": lambda: kit_load(path),
        "district_breakdown": lambda: oa.district_breakdown(ev),
        "star_distribution": lambda: oa.star_distribution(ev),
        "linking.assign_product_ids": lambda: cold_linking(frame),
        "reevaluation_rates": lambda: oa.reevaluation_rates(reg),
        "plan_scorecard": lambda: oa.plan_scorecard(reg, plan),
    }
    m = medians(funcs, repeat)
    load_seconds = m["load"]
    m["reevaluation_rates + linking again"] = m["reevaluation_rates"] + m["linking.assign_product_ids"]
    # reevaluation_rates runs on ids that linking gave at load (its time is inside the load); the row
    # "+ linking again" adds a fresh linking of the same rows, the strict reading of the target.
    for name in ("district_breakdown", "star_distribution", "reevaluation_rates", "plan_scorecard",
                 "linking.assign_product_ids", "reevaluation_rates + linking again"):
        table.add(f"{name}, {len(ev):,} rows", m[name], load_seconds, "≤ 0.2× load", m[name] <= 0.2 * load_seconds,
                  base_label="load_registry of the same rows (flat), same loop")


def _link_frame(n: int) -> pd.DataFrame:
    rows = generate.rows(n)
    return pd.DataFrame({"entity_name": [r["entity"] for r in rows], "product_name": [r["product"] for r in rows],
                         "district_code": pd.array([r["district_code"] for r in rows], dtype="Int64"),
                         "year": pd.array([r["year"] for r in rows], dtype="Int64"),
                         "product_code": pd.array([pd.NA] * n, dtype="string"),
                         "source_file": "bench.xlsx", "source_sheet": "Danh sách",
                         "source_row": pd.array(range(2, n + 2), dtype="Int64")})


def bench_linking_growth(table: Table, sizes, repeat: int) -> tuple[list, float]:
    print("linking growth", flush=True)
    points = []
    for n in sizes:
        frame = _link_frame(n)
        products = []
        t = medians({"link": lambda: products.append(cold_linking(frame))}, repeat)["link"]
        ids, problems = products[-1]
        points.append((n, t, ids.nunique(), len(problems)))
        print(f"  {n:>6} rows: {t:.3f} s, {ids.nunique()} products, {len(problems)} possible_link", flush=True)
    xs = [math.log(n) for n, *_ in points]
    ys = [math.log(max(t, 1e-6)) for _, t, *_ in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    table.add(f"linking growth {sizes[0]:,}→{sizes[-1]:,} rows (exponent)", points[-1][1], points[0][1],
              "exponent < 1.5 (not quadratic)", slope < 1.5, ratio=slope,
              base_label=f"linking at {sizes[0]:,} rows; ratio column = fitted exponent")
    return points, slope


def bench_budget(table: Table, repeat: int) -> None:
    print("budget.simulate", flush=True)
    scenarios = oa.budget.load_scenarios(oa.paths.DEFAULT_SCENARIOS)
    name = "plan" if "plan" in scenarios else next(iter(scenarios))
    t = medians({"sim": lambda: oa.budget.simulate(scenarios[name], n=100_000, seed=1)}, repeat)["sim"]
    table.add("budget.simulate, 100,000 draws", t, None, "< 1 s", t < 1.0, base_label="absolute target")


def _empty_notebooks(folder: Path) -> int:
    import nbformat

    count = 0
    for src in sorted(oa.paths.NOTEBOOKS_DIR.glob("*.ipynb")):
        nb = nbformat.read(src, as_version=4)
        params = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
        empty = nbformat.v4.new_notebook(metadata=nb.metadata)
        empty.cells = [nbformat.v4.new_markdown_cell(f"# {src.stem} (empty, benchmark baseline)"), *params]
        nbformat.write(empty, folder / src.name)
        count += 1
    return count


def _import_only_notebooks(folder: Path) -> int:
    """Each notebook cut to its parameters cell and one cell with its imports and the kit attributes it
    touches (what ``report.notebook_imports`` reads, so the runner warms the kernel up as for the real one):
    the floor of kernel start-up *and* imports, for an informative row beside the issue's target."""
    import ast

    import nbformat

    from ocop_analysis.report import notebook_imports

    count = 0
    for src in sorted(oa.paths.NOTEBOOKS_DIR.glob("*.ipynb")):
        nb = nbformat.read(src, as_version=4)
        params = [c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", [])]
        statements, chains = notebook_imports(src)
        alias = {}
        for statement in statements:
            for node in ast.parse(statement).body:
                if isinstance(node, ast.Import):
                    for a in node.names:
                        alias.setdefault(a.name if a.asname else a.name.split(".")[0], a.asname or a.name.split(".")[0])
        touches = [".".join([alias[module], *attrs]) for module, attrs in chains if module in alias and attrs]
        cut = nbformat.v4.new_notebook(metadata=nb.metadata)
        cut.cells = [nbformat.v4.new_markdown_cell(f"# {src.stem} (imports only, benchmark baseline)"), *params,
                     nbformat.v4.new_code_cell("\n".join([*statements, *touches]))]
        nbformat.write(cut, folder / src.name)
        count += 1
    return count


def bench_report(table: Table, repeat: int) -> None:
    from ocop_analysis.report import run_report

    print("report (slow)", flush=True)
    with tempfile.TemporaryDirectory(prefix="ocop-bench-report-") as tmp:
        tmp = Path(tmp)
        (tmp / "empty").mkdir()
        (tmp / "imports").mkdir()
        n = _empty_notebooks(tmp / "empty")
        _import_only_notebooks(tmp / "imports")
        m = medians({
            "full": lambda: run_report(out_dir=tmp / "full", progress=False),
            "empty": lambda: run_report(out_dir=tmp / "empty_out", notebooks_dir=tmp / "empty", workbooks=False,
                                        progress=False),
            "imports": lambda: run_report(out_dir=tmp / "imports_out", notebooks_dir=tmp / "imports",
                                          workbooks=False, progress=False),
        }, repeat)
    table.add(f"full report on the sample ({n} notebooks)", m["full"], m["empty"], "≤ 2× empty notebooks",
              m["full"] <= 2 * m["empty"], base_label=f"run_report of {n} empty notebooks (parameters cell only)")
    table.add(f"(informative) full report vs the same {n} notebooks importing only", m["full"], m["imports"],
              "— (not the issue's target)", None,
              base_label=f"run_report of {n} notebooks cut to parameters + their imports (kernel start-up and "
                         f"imports: the floor of any notebook that uses pandas and matplotlib)")


RSS_CODE = {
    "python + pandas + kit imported (floor)": "import pandas, ocop_analysis",
    "pandas.read_excel(engine='calamine')": "import pandas as pd; pd.read_excel({p!r}, sheet_name=None, "
                                            "engine='calamine', header=None)",
    "pandas.read_excel(engine='openpyxl')": "import pandas as pd; pd.read_excel({p!r}, sheet_name=None, "
                                            "engine='openpyxl', header=None)",
    "load_registry (no cache)": "import ocop_analysis as oa; oa.load_registry({p!r}, corrections=None, "
                                "links=None, cache=False)",
    "load_registry (cache hit)": "import ocop_analysis as oa; oa.load_registry({p!r}, corrections=None, "
                                 "links=None)",
}
WRAPPER = ("import resource, subprocess, sys; subprocess.run([sys.executable, '-c', sys.argv[1]], check=True); "
           "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def bench_rss(path: Path, openpyxl: bool) -> list[tuple[str, float]]:
    """Peak RSS (MiB) of each load in a fresh child; the wrapper's RUSAGE_CHILDREN sees only that child."""
    print("peak RSS", flush=True)
    out = []
    with tempfile.TemporaryDirectory(prefix="ocop-bench-rss-") as tmp:
        env = {**os.environ, "OCOP_CACHE_DIR": tmp}
        subprocess.run([sys.executable, "-c", RSS_CODE["load_registry (cache hit)"].format(p=str(path))],
                       env=env, check=True)  # fills the cache for the cache-hit case
        for label, code in RSS_CODE.items():
            if "openpyxl" in label and not openpyxl:
                continue
            res = subprocess.run([sys.executable, "-c", WRAPPER, code.format(p=str(path))], env=env, check=True,
                                 capture_output=True, text=True)
            kib = int(res.stdout.strip().splitlines()[-1])
            out.append((label, kib / 1024))
            print(f"  {label}: {kib / 1024:.0f} MiB", flush=True)
    return out


def profile_load(path: Path, top: int = 18) -> str:
    prof = cProfile.Profile()
    prof.enable()
    kit_load(path)
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).strip_dirs().sort_stats("tottime").print_stats(top)
    text = buf.getvalue()
    start = text.find("   ncalls")
    return text[start:].rstrip() if start >= 0 else text


# --------------------------------------------------------------------------- main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=60_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-report", dest="report", action="store_false",
                    help="skip the full report against empty notebooks (the slowest pair, ~1 minute a round)")
    ap.add_argument("--report-repeat", type=int, default=3)
    ap.add_argument("--no-openpyxl", dest="openpyxl", action="store_false", help="skip the slow openpyxl baseline")
    ap.add_argument("--no-rss", dest="rss", action="store_false")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    repeat = max(3, args.repeat)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    info = machine()
    print("\n".join(f"{k}: {v}" for k, v in info.items()), flush=True)
    files = generate.generate(args.rows)
    table = Table()
    kit_load(files["flat"])  # warm-up: imports, reference tables, code fingerprint
    bench_loads(table, files, repeat, args.openpyxl)
    bench_cache(table, files["flat"], repeat)
    reg = kit_load(files["flat"])
    bench_analyses(table, reg, files["flat"], repeat)
    sizes = [6_000, 20_000, 60_000]  # in memory (generate.rows), whatever --rows is
    points, slope = bench_linking_growth(table, sizes, repeat)
    bench_budget(table, repeat)
    if args.report:
        bench_report(table, args.report_repeat)
    rss = bench_rss(files["flat"], args.openpyxl) if args.rss else []
    profile = profile_load(files["flat"])

    md = ["# Benchmark results (issue 9)", "",
          f"`make bench` (benchmarks/run.py), {started}; {args.rows:,} evaluation rows (benchmarks/generate.py: "
          f"flat = one sheet, messy = 12 district sheets with title rows, 2-row merged header, year sections, "
          f"subtotals, signature). Medians of {repeat} runs in one process, kit and baseline interleaved"
          + (f"; the report pair ran {args.report_repeat}×." if args.report else "; report not timed (--no-report)."),
          "", "## Machine", "", *[f"- {k}: {v}" for k, v in info.items()], "",
          "## Ratios", "", table.markdown(), "",
          "## Linking growth", "", "| rows | seconds | products | possible_link warnings |", "|---|---|---|---|",
          *[f"| {n:,} | {t:.3f} | {p:,} | {w:,} |" for n, t, p, w in points], "",
          f"Fitted exponent (log time vs log rows): **{slope:.2f}** (1 = linear, 2 = quadratic).", ""]
    if rss:
        md += ["## Peak RSS (flat workbook, each in its own subprocess)", "", "| run | peak RSS |", "|---|---|",
               *[f"| {label} | {mib:.0f} MiB |" for label, mib in rss], ""]
    md += ["## Profile of one load_registry (flat, no cache; cProfile, top by own time)", "", "```", profile, "```", ""]
    if args.out:
        old = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        notes = old[old.find("## Notes"):] if "## Notes" in old else ""
        args.out.write_text("\n".join(md) + ("\n" + notes if notes else ""), encoding="utf-8")
        print(f"wrote {args.out}")
    print(table.markdown())
    fails = sum(r[5] == "FAIL" for r in table.rows)
    passes = sum(r[5] == "PASS" for r in table.rows)
    print(f"{passes} PASS, {fails} FAIL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
