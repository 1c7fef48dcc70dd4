"""Every fixture workbook in tests/fixtures/ loads exactly as its hand-written expectation says.

The expectations (``tests/fixtures/*.expected.yaml``) were worked out by hand from how
``tests/fixtures/build_fixtures.py`` builds each workbook, never from the loader's output.
Format and definitions: tests/fixtures/README.md.

What is asserted, per fixture:
* the exact set of loaded rows (file, sheet, Excel row) and every field the expectation lists;
  the same for reg.revocations (``revocations:``; none when the key is absent);
* the exact set of problems (sheet, row, problem; column and message text where listed);
  ``possible_link`` problems (owned by linking.py, a heuristic with its own tests) are ignored;
* reg.sources: exactly the sheets listed, the fields given, and for every sheet
  seen = loaded + rejected + skipped, loaded = its rows in reg.evaluations + reg.revocations,
  rejected = its distinct rows with an error in reg.problems;
* ``same_product`` / ``different_products``: product_id equality across listed rows;
* ``raises``: the exception type and the words its message must contain.
And once for all: loading never modifies a fixture file (bytes identical before and after).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import ocop_analysis as oa

FIXTURES = Path(__file__).resolve().parent / "fixtures"
IGNORED_PROBLEMS = {"possible_link"}
ROW_KEYS = {"file", "sheet", "row"}
SOURCE_COUNTS = ("rows_seen", "rows_loaded", "rows_rejected", "rows_skipped")


# --------------------------------------------------------------------------- expectations

def _read_expectation(path: Path) -> dict:
    exp = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if "same_as" in exp:
        base = _read_expectation(FIXTURES / exp["same_as"])
        merged = {**base, **{k: v for k, v in exp.items() if k != "same_as"}}
        merged["file"] = exp["file"]
        return merged
    return exp


EXPECTATIONS = {p.name[: -len(".expected.yaml")]: p for p in sorted(FIXTURES.glob("*.expected.yaml"))}


def _load(path: Path):
    # Fixtures are loaded on their own: no repository corrections or links file applies to them.
    return oa.load_registry(path, corrections=None, links=None)


# --------------------------------------------------------------------------- value comparison

def _plain(value):
    """Loader values -> plain Python for comparison (NA -> None, Timestamp -> date, numpy -> Python)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        value = value.item()
        if isinstance(value, float) and math.isnan(value):
            return None
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return value.date()
    return value


def _same(expected, actual) -> bool:
    actual = _plain(actual)
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return math.isclose(float(expected), float(actual), rel_tol=0, abs_tol=1e-9)
    if isinstance(expected, dt.date) and isinstance(actual, dt.date):
        return expected == actual
    return expected == actual


def _name(file_value) -> str | None:
    file_value = _plain(file_value)
    return None if file_value is None else Path(str(file_value)).name


def _default_file(exp: dict) -> str | None:
    path = FIXTURES / exp["file"]
    return None if path.is_dir() else path.name


def _row_key(exp_row: dict, default_file: str | None) -> tuple:
    return (exp_row.get("file", default_file), exp_row["sheet"], exp_row["row"])


def _fmt(d: dict) -> str:
    return "{" + ", ".join(f"{k}: {v!r}" for k, v in d.items()) + "}"


# --------------------------------------------------------------------------- checks

def _check_loaded(exp: dict, reg, default_file, table: str = "evaluations", exp_key: str = "loaded") -> list[str]:
    ev = getattr(reg, table)
    actual = {}
    for rec in ev.to_dict("records"):
        key = (_name(rec.get("source_file")), _plain(rec.get("source_sheet")), _plain(rec.get("source_row")))
        actual.setdefault(key, []).append(rec)
    expected = {_row_key(r, default_file): r for r in (exp.get(exp_key) or [])}
    out = []
    for key in sorted(set(expected) - set(actual), key=str):
        out.append(f"  missing row (expected, not in reg.{table}): {_fmt(expected[key])}")
    for key in sorted(set(actual) - set(expected), key=str):
        rec = actual[key][0]
        shown = {k: _plain(rec.get(k)) for k in ("product_name", "district_code", "stars", "score", "certified", "year", "reason")
                 if k in rec}
        out.append(f"  unexpected row {key} (in reg.{table}, not expected): {_fmt(shown)}")
    for key, recs in actual.items():
        if len(recs) > 1:
            out.append(f"  row {key} loaded {len(recs)} times")
    for key in sorted(set(expected) & set(actual), key=str):
        rec = actual[key][0]
        for field, want in expected[key].items():
            if field in ROW_KEYS:
                continue
            if field not in rec:
                out.append(f"  row {key}: column {field!r} missing from reg.{table}")
            elif not _same(want, rec[field]):
                out.append(f"  row {key}: {field} expected {want!r}, got {_plain(rec[field])!r}")
    return out


def _actual_problems(reg) -> list[dict]:
    recs = []
    for rec in reg.problems.to_dict("records"):
        if _plain(rec.get("problem")) in IGNORED_PROBLEMS:
            continue
        recs.append({k: _plain(v) for k, v in rec.items()} | {"file": _name(rec.get("file"))})
    return recs


def _check_problems(exp: dict, reg, default_file) -> list[str]:
    actual = _actual_problems(reg)
    unmatched = list(range(len(actual)))
    out = []
    for want in exp.get("problems") or []:
        wfile = want.get("file", default_file)
        found = None
        for i in unmatched:
            got = actual[i]
            if (got["sheet"], got["row"], got["problem"]) != (want["sheet"], want["row"], want["problem"]):
                continue
            if wfile is not None and got["file"] != wfile:
                continue
            if "column" in want and got.get("column") != want["column"]:
                continue
            found = i
            break
        if found is None:
            near = [a for a in actual if (a["sheet"], a["row"]) == (want["sheet"], want["row"])]
            hint = "; at that row: " + "; ".join(_fmt({k: a.get(k) for k in ("problem", "column", "message")}) for a in near) if near else ""
            out.append(f"  missing problem: {_fmt(want)}{hint}")
            continue
        unmatched.remove(found)
        message = actual[found].get("message") or ""
        for text in want.get("message_contains") or []:
            if text not in message:
                out.append(f"  problem {_fmt(want)}: message {message!r} does not contain {text!r}")
    for i in unmatched:
        got = actual[i]
        out.append("  unexpected problem: " + _fmt({k: got.get(k) for k in ("file", "sheet", "row", "column", "value", "problem", "message")}))
    return out


def _check_sources(exp: dict, reg, default_file) -> list[str]:
    out = []
    src = reg.sources
    records = [{k: _plain(v) for k, v in r.items()} | {"file": _name(r.get("file"))} for r in src.to_dict("records")]
    # every sheet: the loader's own accounting adds up and agrees with the other tables
    loaded_per: dict = {}
    for table in (reg.evaluations, reg.revocations):
        if len(table) and "source_sheet" in table:
            for rec in table[["source_file", "source_sheet"]].to_dict("records"):
                where = (_name(rec["source_file"]), _plain(rec["source_sheet"]))
                loaded_per[where] = loaded_per.get(where, 0) + 1
    errs = reg.problems[reg.problems["severity"] == "error"]
    rejected_per = {}
    for rec in errs.to_dict("records"):
        if _plain(rec.get("row")) is None:
            continue
        rejected_per.setdefault((_name(rec.get("file")), _plain(rec.get("sheet"))), set()).add(_plain(rec.get("row")))
    for r in records:
        where = (r["file"], r["sheet"])
        counts = {c: r.get(c) for c in SOURCE_COUNTS}
        if any(v is None for v in counts.values()):
            out.append(f"  sources {where}: counts missing {counts}")
            continue
        if counts["rows_seen"] != counts["rows_loaded"] + counts["rows_rejected"] + counts["rows_skipped"]:
            out.append(f"  sources {where}: seen != loaded + rejected + skipped: {counts}")
        if counts["rows_loaded"] != loaded_per.get(where, 0):
            out.append(f"  sources {where}: rows_loaded {counts['rows_loaded']} but {loaded_per.get(where, 0)} rows in "
                       f"reg.evaluations + reg.revocations")
        if counts["rows_rejected"] != len(rejected_per.get(where, ())):
            out.append(f"  sources {where}: rows_rejected {counts['rows_rejected']} but {len(rejected_per.get(where, ()))} rows with errors in reg.problems")
    if "sources" not in exp:
        return out
    by_key = {}
    for r in records:
        by_key.setdefault((r["file"], r["sheet"]), []).append(r)
    expected_keys = [(s.get("file", default_file), s["sheet"]) for s in exp["sources"]]
    for key in sorted(set(expected_keys) - set(by_key), key=str):
        out.append(f"  sheet {key} not listed in reg.sources")
    for key in sorted(set(by_key) - set(expected_keys), key=str):
        out.append(f"  unexpected sheet {key} in reg.sources: {by_key[key][0]}")
    for s, key in zip(exp["sources"], expected_keys):
        if key not in by_key:
            continue
        if len(by_key[key]) > 1:
            out.append(f"  sheet {key} listed {len(by_key[key])} times in reg.sources")
        got = by_key[key][0]
        for field, want in s.items():
            if field in ("file", "sheet"):
                continue
            if not _same(want, got.get(field)):
                out.append(f"  sources {key}: {field} expected {want!r}, got {got.get(field)!r}")
    return out


def _check_identity(exp: dict, reg) -> list[str]:
    out = []
    ids = {}
    records = reg.evaluations.to_dict("records")
    if len(reg.revocations) and "source_row" in reg.revocations:
        records += reg.revocations.to_dict("records")
    for rec in records:
        ids[(_name(rec.get("source_file")), _plain(rec.get("source_sheet")), _plain(rec.get("source_row")))] = _plain(rec.get("product_id"))
    for check, want_equal in (("same_product", True), ("different_products", False)):
        for a, b in exp.get(check) or []:
            ka, kb = tuple(a), tuple(b)
            if ka not in ids or kb not in ids:
                out.append(f"  {check}: {ka} or {kb} not loaded")
                continue
            if ids[ka] is None or ids[kb] is None:
                out.append(f"  {check}: product_id empty for {ka} ({ids[ka]!r}) or {kb} ({ids[kb]!r})")
            elif (ids[ka] == ids[kb]) != want_equal:
                out.append(f"  {check}: {ka} -> {ids[ka]!r}, {kb} -> {ids[kb]!r}")
    return out


# --------------------------------------------------------------------------- tests

@pytest.mark.parametrize("name", list(EXPECTATIONS))
def test_fixture_loads_as_expected(name):
    exp = _read_expectation(EXPECTATIONS[name])
    path = FIXTURES / exp["file"]
    assert path.exists(), f"fixture {path} missing: run tests/fixtures/build_fixtures.py"
    if "raises" in exp:
        error = getattr(oa, exp["raises"])
        with pytest.raises(error) as info:
            _load(path)
        message = str(info.value)
        missing = [t for t in exp.get("message_contains") or [] if t not in message]
        assert not missing, f"{exp['raises']} message {message!r} does not contain {missing}"
        any_of = exp.get("message_contains_any") or []
        assert not any_of or any(t.lower() in message.lower() for t in any_of), \
            f"{exp['raises']} message {message!r} contains none of {any_of}"
        return
    reg = _load(path)
    default_file = _default_file(exp)
    report = []
    for title, lines in (
        ("loaded rows", _check_loaded(exp, reg, default_file)),
        ("revocations", _check_loaded(exp, reg, default_file, "revocations", "revocations")),
        ("problems", _check_problems(exp, reg, default_file)),
        ("sources", _check_sources(exp, reg, default_file)),
        ("product identity", _check_identity(exp, reg)),
    ):
        if lines:
            report.append(f"{title}:")
            report.extend(lines)
    if report:
        pytest.fail(f"{exp['file']} differs from {EXPECTATIONS[name].name}:\n" + "\n".join(report), pytrace=False)


def _fixture_digests() -> dict[str, str]:
    skip = {".py", ".yaml", ".md"}
    return {str(p.relative_to(FIXTURES)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(FIXTURES.rglob("*")) if p.is_file() and p.suffix not in skip and "__pycache__" not in p.parts}


def test_loading_never_modifies_fixture_files():
    before = _fixture_digests()
    assert before, "no fixture files: run tests/fixtures/build_fixtures.py"
    for name, exp_path in EXPECTATIONS.items():
        exp = _read_expectation(exp_path)
        try:
            _load(FIXTURES / exp["file"])
        except oa.RegistryError:
            pass
    after = _fixture_digests()
    changed = sorted(k for k in before if before[k] != after.get(k))
    added = sorted(set(after) - set(before))
    assert not changed and not added, f"loading changed {changed}, created {added}"


def test_every_fixture_file_has_an_expectation():
    covered = set()
    for exp_path in EXPECTATIONS.values():
        exp = _read_expectation(exp_path)
        target = FIXTURES / exp["file"]
        covered |= {str(p.relative_to(FIXTURES)) for p in target.rglob("*") if p.is_file()} if target.is_dir() else {exp["file"]}
    files = set(_fixture_digests())
    assert files - covered == set(), f"fixture files without an expectation: {sorted(files - covered)}"
