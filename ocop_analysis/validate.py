"""``ocop-analysis validate FILE…``: check registry workbooks before analysing them.

Prints, per sheet, the rows seen / loaded / rejected / skipped and the layout
found, then every problem with its row and a message a clerk can act on.
``--xlsx problems.xlsx`` also writes the problems as a workbook to work through.
Exit status: 0 when no row has an error, 1 when some do (2 for unreadable files,
via the CLI dispatcher).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from . import safety

__all__ = ["add_arguments", "run_cli", "format_report", "write_problems_xlsx", "problem_summary"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="registry workbooks or folders (.xlsx .xlsm .xls .ods)")
    parser.add_argument("--xlsx", metavar="PROBLEMS.xlsx", help="also write the problems to this workbook")
    parser.add_argument("--province", default="dong-thap", help="province of the registry (default: dong-thap)")
    parser.add_argument("--no-corrections", action="store_true", help="ignore data/corrections.yml")


def run_cli(args: argparse.Namespace) -> int:
    from .loading import load_registry

    if args.xlsx:
        # before the (long) load: the output may be one of the files or a workbook inside a folder given
        try:
            safety.refuse_overwrite(args.xlsx, args.files)
        except safety.OutputOverwritesInput:
            raise safety.OutputOverwritesInput(
                f"{args.xlsx}: refusing to overwrite an input file; choose another name for --xlsx.") from None
    reg = load_registry(args.files, province=args.province,
                        corrections=None if args.no_corrections else "auto")
    print(format_report(reg))
    if args.xlsx:
        path = write_problems_xlsx(reg, args.xlsx)
        print(f"\nProblems written to {path}")
    return 1 if (reg.problems["severity"] == "error").any() else 0


def format_report(reg) -> str:
    """Plain-text accounting and problem list (what ``validate`` prints)."""
    lines = ["Sheets:"]
    src = reg.sources
    for r in src.itertuples():
        counts = (f"seen {r.rows_seen}, loaded {r.rows_loaded}, rejected {r.rows_rejected}, "
                  f"skipped {r.rows_skipped}")
        detail = r.layout if r.status == "loaded" and not pd.isna(r.layout) else r.note
        detail = "" if pd.isna(detail) else f" [{detail}]"
        lines.append(f"  {r.file} › {r.sheet}: {r.status}; {counts}{detail}")
    totals = src[["rows_seen", "rows_loaded", "rows_rejected", "rows_skipped"]].sum()
    lines.append(f"  Total: seen {totals['rows_seen']}, loaded {totals['rows_loaded']}, rejected "
                 f"{totals['rows_rejected']}, skipped {totals['rows_skipped']}")
    probs = reg.problems
    n_err = int((probs["severity"] == "error").sum())
    n_warn = int((probs["severity"] == "warning").sum())
    lines.append("")
    if probs.empty:
        lines.append("No problems found.")
    else:
        lines.append(f"Problems: {n_err} error(s) (rows not loaded), {n_warn} warning(s) (rows loaded):")
        for p in probs.itertuples():
            where = f"{p.file}" if not pd.isna(p.file) else ""
            lines.append(f"  {p.severity.upper():7} {p.problem:22} {where}: {p.message}")
    if len(reg.corrections):
        lines.append("")
        lines.append(f"Corrections applied from data/corrections.yml: {len(reg.corrections)} change(s).")
    return "\n".join(lines)


def problem_summary(problems: pd.DataFrame) -> pd.DataFrame:
    """Problems grouped by kind: severity, problem, rows, files, first message — errors first.

    >>> problem_summary(__import__("ocop_analysis").schema.empty_problems()).columns.tolist()
    ['severity', 'problem', 'rows', 'files', 'example']
    """
    columns = ["severity", "problem", "rows", "files", "example"]
    if problems.empty:
        return pd.DataFrame(columns=columns)
    order = {"error": 0, "warning": 1, "info": 2}
    out = (problems.groupby(["severity", "problem"], sort=False)
           .agg(rows=("problem", "size"), files=("file", "nunique"), example=("message", "first"))
           .reset_index())
    out["_order"] = out["severity"].map(order).fillna(3)
    return out.sort_values(["_order", "rows"], ascending=[True, False])[columns].reset_index(drop=True)


def write_problems_xlsx(reg, path, *, lang: str = "vi", only_if_problems: bool = False) -> Path | None:
    """Write problems (with an empty "fixed" column to tick) and the per-sheet accounting to a
    workbook a clerk can work through. The one problems workbook of the kit: the CLI, notebook 01
    and the report all write it here. With ``only_if_problems``, nothing is written (None) for a
    clean registry.
    """
    from .excel_out import write_excel

    if only_if_problems and not len(reg.problems):
        return None
    probs = reg.problems.copy()
    probs.insert(len(probs.columns), "fixed", "")
    sheets = {("Vấn đề" if lang == "vi" else "Problems"): probs,
              ("Các sheet" if lang == "vi" else "Sheets"): reg.sources}
    return write_excel(path, sheets, labels=lang)


if __name__ == "__main__":  # pragma: no cover
    from .cli import main
    sys.exit(main(["validate", *sys.argv[1:]]))
