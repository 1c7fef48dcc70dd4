"""CPU seconds per stage of ``load_registry`` (issue 9), to compare two versions of the kit.

    .venv/bin/python benchmarks/stages.py benchmarks/data/flat_60000.xlsx [--kit PATH_TO_A_CHECKOUT]

``--kit``: import ``ocop_analysis`` from another checkout (e.g. ``git worktree add /tmp/before <commit>``)
to time the code before a change next to the code now; run the two alternately, in separate processes.
Medians of 3 loads, each with the kit's per-name memos emptied first (as a session's first load), next to
a bare ``pandas.read_excel(engine="calamine")`` of the same file. CPU time, which moves less than wall time
on a shared machine: each stage in the thread it runs in (``time.thread_time``; calamine runs in a second
thread for .xlsx files), the total and the baseline for the whole process (``time.process_time``); "rest"
is the total less the stages. A total above the sum of wall-clock stages means the threads overlapped.
"""
from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("path")
    ap.add_argument("--kit", help="a checkout whose ocop_analysis to import instead of the installed one")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    if args.kit:
        sys.path.insert(0, args.kit)
    import pandas as pd

    import ocop_analysis as oa
    from ocop_analysis import layout, loading, normalize, safety, workbook  # noqa: F401

    spent: dict[str, float] = {}

    def timed(module, name: str, label: str) -> None:
        if not hasattr(module, name):
            return
        func = getattr(module, name)

        @functools.wraps(func)
        def wrapper(*a, **k):
            start = time.thread_time()
            try:
                return func(*a, **k)
            finally:
                spent[label] = spent.get(label, 0.0) + time.thread_time() - start
        setattr(module, name, wrapper)

    def timed_generator(module, name: str, label: str) -> None:
        """A generator's work, counted in the thread that runs it (the kit reads sheets in a thread)."""
        func = getattr(module, name)

        @functools.wraps(func)
        def wrapper(*a, **k):
            gen = func(*a, **k)
            while True:
                start = time.thread_time()
                try:
                    item = next(gen)
                except StopIteration:
                    return
                finally:
                    spent[label] = spent.get(label, 0.0) + time.thread_time() - start
                yield item
        setattr(module, name, wrapper)

    # CPU time of the thread each stage runs in (time.thread_time): the kit reads an .xlsx's sheets with
    # calamine in a second thread while the main thread checks and lays out; "total" is the process's CPU
    timed(safety, "scan_file" if hasattr(safety, "scan_file") else "check_file", "safety")
    if hasattr(workbook, "_calamine_sheets"):
        timed_generator(workbook, "_calamine_sheets", "calamine")
    else:  # a checkout from before the reading thread
        timed(workbook, "_read_calamine", "calamine")
    timed(loading, "detect_layout", "layout")
    timed(loading, "_parse_evaluations", "parse")
    timed(loading, "_assign_ids", "linking")

    def forget() -> None:
        for memo in ("_FOLDED", "_PREFIX_OF"):
            if hasattr(normalize, memo):
                getattr(normalize, memo).clear()
        for name in ("fold", "entity_type", "entity_key"):
            clear = getattr(getattr(normalize, name), "cache_clear", None)
            if clear:
                clear()

    oa.load_registry(args.path, corrections=None, links=None, cache=False)  # warm-up: imports, reference tables
    runs: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        start = time.process_time()
        pd.read_excel(args.path, sheet_name=None, engine="calamine", header=None)
        base = time.process_time() - start
        spent.clear()
        forget()
        start = time.process_time()
        oa.load_registry(args.path, corrections=None, links=None, cache=False)
        total = time.process_time() - start
        spent["rest"] = total - sum(spent.values())
        spent["total"], spent["bare calamine"] = total, base
        for label, seconds in spent.items():
            runs.setdefault(label, []).append(seconds)
    print(f"{oa.__file__}")
    print("  ".join(f"{label} {statistics.median(v):.2f}" for label, v in runs.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
