"""The analyst's corrections (``data/corrections.yml``), applied at load, never to the source file.

The file is a YAML list; each item::

    - match: {file: ds_ocop_2020.xlsx, sheet: "Phụ lục", row: 14}   # any of: file, sheet, row, and any
                                                                   # input column (product_name, entity_name, ...)
      set: {district: "Huyện Lai Vung"}                            # input column -> value as it should have been typed
      reason: "Typo 'Lai Vug' in the source; confirmed by phone with the district office, 2024-03-02"

Matching: ``file`` is the file name, ``row`` the Excel row (a number or a list),
text is compared after folding case, diacritics and spaces. The new values are
parsed exactly like typed values. Every change is listed in ``reg.corrections``;
a correction for a loaded file that matches no row is reported
(``correction_unmatched``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from .errors import ConfigError
from .layout import INPUT_COLUMNS
from .normalize import fold, map_unique

__all__ = ["load_corrections", "apply_corrections", "MATCH_KEYS", "SET_COLUMNS"]

MATCH_KEYS = {"file", "sheet", "row", *INPUT_COLUMNS}
SET_COLUMNS = set(INPUT_COLUMNS) - {"stt", "note"}


def load_corrections(path) -> list[dict]:
    """Read and check a corrections file; None -> []. Raises ConfigError naming the item and the key."""
    if path is None:
        return []
    from .config import read_yaml

    path = Path(path)
    data = read_yaml(path, "corrections")
    if data is None:
        return []
    if isinstance(data, dict) and "corrections" in data:
        data = data["corrections"] or []
    if not isinstance(data, list):
        raise ConfigError(f"{path.name}: must be a list of corrections (- match: … set: … reason: …).")
    rules = []
    for n, item in enumerate(data, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("match"), dict) or not isinstance(item.get("set"), dict):
            raise ConfigError(f"{path.name}: correction {n} needs a 'match' mapping and a 'set' mapping.")
        extra = set(item) - {"match", "set", "reason"}
        if extra:
            raise ConfigError(f"{path.name}: correction {n} has unknown key(s) {sorted(extra)}.")
        bad = set(item["match"]) - MATCH_KEYS
        if bad:
            raise ConfigError(f"{path.name}: correction {n}: cannot match on {sorted(bad)}; "
                              f"use file, sheet, row or a column ({', '.join(sorted(SET_COLUMNS))}).")
        bad = set(item["set"]) - SET_COLUMNS
        if bad:
            raise ConfigError(f"{path.name}: correction {n}: cannot set {sorted(bad)}; "
                              f"columns are {', '.join(sorted(SET_COLUMNS))}.")
        if not item["match"]:
            raise ConfigError(f"{path.name}: correction {n}: 'match' is empty (it would change every row).")
        if not str(item.get("reason") or "").strip():
            raise ConfigError(f"{path.name}: correction {n}: give a 'reason' (every change needs one on record).")
        rules.append({"n": n, "match": item["match"], "set": item["set"], "reason": str(item["reason"]).strip()})
    return rules


def _mask(raw: pd.DataFrame, match: dict, folded: dict[str, pd.Series]) -> pd.Series:
    """Rows matching every key of ``match`` (folded comparison). ``folded``: the frame's columns folded once
    (per distinct value) and kept across rules; a rule that sets a column drops it from there."""
    def column(name: str) -> pd.Series:
        if name not in folded:
            values = raw[name] if name not in ("source_file", "source_sheet") else raw[name].astype(str)
            folded[name] = map_unique(values, lambda v: fold(v) if not isinstance(v, float) or v == v else "")
        return folded[name]

    mask = pd.Series(True, index=raw.index)
    for key, wanted in match.items():
        if key == "file":
            mask &= column("source_file") == fold(Path(str(wanted)).name)
        elif key == "sheet":
            mask &= column("source_sheet") == fold(wanted)
        elif key == "row":
            rows = {int(r) for r in (wanted if isinstance(wanted, list) else [wanted])}
            mask &= raw["source_row"].astype(int).isin(rows)
        elif key in raw.columns:
            mask &= column(key) == fold(wanted)
        else:
            mask &= fold(wanted) == ""
    return mask


def apply_corrections(raw: pd.DataFrame, raw_rev: pd.DataFrame, rules: list[dict],
                      loaded_files: set[str]) -> tuple[pd.DataFrame, pd.DataFrame, list[dict], list[dict]]:
    """Apply the rules to the raw evaluation and revocation rows (copies).

    Returns (raw, raw_rev, applied records, problem dicts).
    """
    if not rules:
        return raw, raw_rev, [], []
    raw, raw_rev = raw.copy(), raw_rev.copy()
    applied: list[dict] = []
    problems: list[dict] = []
    folded: tuple[dict, dict] = ({}, {})  # per frame: columns folded once, for every rule
    for rule in rules:
        hits = 0
        for frame, cache in zip((raw, raw_rev), folded):
            if len(frame) == 0:
                continue
            mask = _mask(frame, rule["match"], cache)
            if mask.any():
                for column in rule["set"]:
                    cache.pop(column, None)  # changed below: fold it again for the next rule
            for i in mask[mask].index:
                for column, value in rule["set"].items():
                    old = frame.at[i, column] if column in frame.columns else None
                    if column not in frame.columns:
                        frame[column] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
                    frame.at[i, column] = value
                    applied.append({"correction": rule["n"], "file": frame.at[i, "source_file"],
                                    "sheet": frame.at[i, "source_sheet"], "row": int(frame.at[i, "source_row"]),
                                    "column": column, "old_value": _show(old), "new_value": _show(value),
                                    "reason": rule["reason"]})
                hits += 1
        wanted_file = rule["match"].get("file")
        applies_here = wanted_file is None or fold(Path(str(wanted_file)).name) in {fold(f) for f in loaded_files}
        if hits == 0 and applies_here:
            desc = ", ".join(f"{k}={v!r}" for k, v in rule["match"].items())
            problems.append({"file": Path(str(wanted_file)).name if wanted_file else None,
                             "sheet": rule["match"].get("sheet"),
                             "row": rule["match"].get("row") if isinstance(rule["match"].get("row"), int) else None,
                             "column": None, "value": None, "problem": "correction_unmatched", "severity": "warning",
                             "message": f"Correction {rule['n']} ({desc}) matches no row; nothing was changed. "
                                        f"Check data/corrections.yml."})
    return raw, raw_rev, applied, problems


def _show(value: Any):
    if value is None or (isinstance(value, float) and value != value):
        return None
    return str(value)
