"""Packaged reference data (``ocop_analysis/reference/*.csv``), read once and cached.

Domain rules live in those CSV files with their sources, so a rule change or
another province is a data edit. Lines starting with ``#`` are comments.
"""
from __future__ import annotations

from functools import cache

import pandas as pd

from .paths import REFERENCE_DIR

DEFAULT_PROVINCE = "dong-thap"


def table(name: str) -> pd.DataFrame:
    """Read ``reference/<name>.csv`` (comment lines skipped). Returns a fresh copy each call."""
    return _read(name).copy()


@cache
def _read(name: str) -> pd.DataFrame:
    path = REFERENCE_DIR / f"{name}.csv"
    return pd.read_csv(path, comment="#", dtype=str, keep_default_na=False, encoding="utf-8")


def districts(province: str = DEFAULT_PROVINCE) -> pd.DataFrame:
    """District-level units of a province in official order: code (int), name, short_name, type, order,
    tile_row, tile_col. Curated rows (``districts.csv``) first; any other province from ``geography``.
    Built once per province; returns a fresh copy each call (as :func:`table` does)."""
    return _districts(province).copy()


@cache
def _districts(province: str) -> pd.DataFrame:
    df = table("districts")
    df = df[df["province"] == province].copy()
    if df.empty:
        # Any other province of the 63-province structure: its districts from the geography library.
        from . import geography

        try:
            return geography.library_districts(province)
        except KeyError:
            known = ", ".join(sorted(table("districts")["province"].unique()))
            raise KeyError(f"no reference districts for province {province!r} (curated: {known}; any other "
                           f"province of the 63-province structure by slug, e.g. 'ben-tre')") from None
    for col in ("code", "order", "tile_row", "tile_col"):
        df[col] = df[col].astype(int)
    return df.sort_values("order").reset_index(drop=True)


def district_names(province: str = DEFAULT_PROVINCE) -> dict[int, str]:
    """Official name by district code, in official order."""
    d = districts(province)
    return dict(zip(d["code"], d["name"]))


def groups() -> pd.DataFrame:
    """The six product groups of Decision 148/2023: group (int), name, name_en."""
    df = table("groups")
    df["group"] = df["group"].astype(int)
    return df


def group_names(lang: str = "vi") -> dict[int, str]:
    df = groups()
    return dict(zip(df["group"], df["name" if lang == "vi" else "name_en"]))


def groups_1048() -> pd.DataFrame:
    df = table("groups_1048")
    df[["group_1048", "group_148"]] = df[["group_1048", "group_148"]].astype(int)
    return df


def star_bands() -> pd.DataFrame:
    """stars, min_score, max_score, certified (bool), meanings."""
    df = table("star_bands")
    df["stars"] = df["stars"].astype(int)
    df[["min_score", "max_score"]] = df[["min_score", "max_score"]].astype(float)
    df["certified"] = df["certified"].astype(str).str.lower().eq("true")
    return df


def certified_stars() -> frozenset[int]:
    b = star_bands()
    return frozenset(b.loc[b["certified"], "stars"])


def rule(key: str):
    """A programme rule from ``rules.csv``: int for counts, str for dates and text."""
    df = table("rules").set_index("key")
    if key not in df.index:
        raise KeyError(f"unknown rule {key!r}; known: {', '.join(df.index)}")
    value, unit = df.at[key, "value"], df.at[key, "unit"]
    return int(value) if unit in ("months", "days") else value


def validity_months() -> int:
    return rule("certificate_validity_months")
