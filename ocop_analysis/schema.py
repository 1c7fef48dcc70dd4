"""The canonical tables: columns, types and the problem codes (DESIGN.md "Data model").

Declared once here; the loader, the tests and every analysis take their column
lists and dtypes from this module.
"""
from __future__ import annotations

from typing import Iterable, Mapping

import pandas as pd

ENTITY_TYPES = ["company", "cooperative", "cooperative_group", "household", "other"]
KINDS = ["new", "reevaluation", "upgrade"]

# column -> dtype. Order is the order of reg.evaluations.
EVALUATION_COLUMNS: dict[str, object] = {
    "product_id": "string",
    "product_name": "string",
    "entity_name": "string",
    "entity_type": pd.CategoricalDtype(ENTITY_TYPES),
    "district_code": "Int64",
    "district": "string",
    "commune": "string",
    "address": "string",
    "group": "Int64",
    "group_name": "string",
    "group_source": "string",
    "stars": "Int64",
    "score": "Float64",
    "certified": "boolean",
    "year": "Int64",
    "kind": pd.CategoricalDtype(KINDS),
    "decision_no": "string",
    "decision_date": "datetime64[us]",
    "valid_until": "datetime64[us]",
    "valid_until_estimated": "boolean",
    "five_star_candidate": "boolean",
    "product_code": "string",
    "source_file": "string",
    "source_sheet": "string",
    "source_row": "Int64",
    # where the row is in both administrative structures (geography.py; the loader fills what it can know):
    # the old (63-province) province slug, the commune's GSO code, the 2025 (34-province) province code
    "legacy_province": "string",
    "commune_code": "Int64",
    "province_code": "Int64",
}

PROBLEM_COLUMNS = ["file", "sheet", "row", "column", "value", "problem", "severity", "message"]

SOURCE_COLUMNS = [
    "file", "sheet", "status", "layout", "header_rows", "rows_seen", "rows_loaded",
    "rows_rejected", "rows_skipped", "note",
]

# problem code -> severity. Errors: the row is not loaded. Warnings: loaded (that field empty where said).
PROBLEMS: dict[str, str] = {
    "missing_name": "error",
    "missing_stars": "error",
    "invalid_stars": "error",
    "unknown_district": "error",
    "ambiguous_district": "error",
    "duplicate": "error",
    "score_star_mismatch": "warning",
    "score_out_of_range": "warning",
    "invalid_date": "warning",
    "unknown_group": "warning",
    "unknown_kind": "warning",
    "legacy_encoding": "warning",
    "formula_without_value": "warning",
    "macros_present": "warning",
    "possible_link": "warning",
    "correction_applied": "info",
    "correction_unmatched": "warning",
    "ambiguous_legacy_district": "warning",
}


def coerce_evaluations(df: pd.DataFrame | Iterable[Mapping] | None = None) -> pd.DataFrame:
    """A frame with exactly the canonical columns, in order, with their dtypes.

    Missing columns are added empty; extra columns are kept after the canonical ones.
    Accepts a DataFrame or a list of dicts (handy in tests).

    >>> coerce_evaluations([{"product_name": "Hạt sen sấy", "stars": 5}]).dtypes["stars"]
    Int64Dtype()
    """
    if df is None:
        df = pd.DataFrame()
    elif not isinstance(df, pd.DataFrame):
        df = pd.DataFrame(list(df))
    out = pd.DataFrame(index=df.index)
    for col, dtype in EVALUATION_COLUMNS.items():
        if col in df.columns:
            values = df[col]
            if str(dtype).startswith("datetime64"):
                values = pd.to_datetime(values, errors="coerce")
            elif str(dtype) in ("Int64", "Float64"):
                values = pd.to_numeric(values, errors="coerce")
            elif str(dtype) == "string" and values.dtype == object:
                out[col] = text_column(values)
                continue
            out[col] = values.astype(dtype)
        else:
            out[col] = pd.Series(pd.NA if not str(dtype).startswith("datetime64") else pd.NaT,
                                 index=df.index, dtype=dtype)
    extra = [c for c in df.columns if c not in EVALUATION_COLUMNS]
    for col in extra:
        out[col] = df[col]
    return out


def text_column(values: pd.Series) -> pd.Series:
    """``values.astype("string")`` for an object column: one Arrow conversion when every value is text or
    blank (the loader's columns), else pandas' own conversion (numbers become their text)."""
    import pyarrow as pa

    try:
        arr = pa.array(values.to_numpy(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return values.astype("string")
    if arr.type not in (pa.string(), pa.large_string(), pa.null()):
        return values.astype("string")
    return pd.Series(pd.arrays.ArrowStringArray(arr.cast(pa.large_string())), index=values.index, name=values.name)


def empty_problems() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="Int64" if c == "row" else "string") for c in PROBLEM_COLUMNS})


def problems_frame(records: Iterable[Mapping]) -> pd.DataFrame:
    """reg.problems from a list of dicts with the PROBLEM_COLUMNS keys; severity filled from PROBLEMS."""
    records = list(records)
    if not records:
        return empty_problems()
    df = pd.DataFrame(records)
    for col in PROBLEM_COLUMNS:
        if col not in df:
            df[col] = pd.NA
    df["severity"] = df["severity"].fillna(df["problem"].map(PROBLEMS))
    df["value"] = df["value"].map(lambda v: None if v is None or v is pd.NA else str(v))
    out = df[PROBLEM_COLUMNS].astype({c: "string" for c in PROBLEM_COLUMNS if c != "row"})
    out["row"] = pd.to_numeric(out["row"], errors="coerce").astype("Int64")
    return out


def empty_sources() -> pd.DataFrame:
    ints = {"header_rows", "rows_seen", "rows_loaded", "rows_rejected", "rows_skipped"}
    return pd.DataFrame({c: pd.Series(dtype="Int64" if c in ints else "string") for c in SOURCE_COLUMNS})
