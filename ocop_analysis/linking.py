"""Product identity across years (STUB: exact keys only; the lifecycle issue replaces the inside).

``assign_product_ids(df, links=None)`` returns (product_id Series aligned to df.index,
list of problem dicts). The registry's own product code wins where present;
otherwise the id is derived from the normalised entity + product name.
"""
from __future__ import annotations

import hashlib

import pandas as pd

from .normalize import product_key


def assign_product_ids(df: pd.DataFrame, links: pd.DataFrame | None = None) -> tuple[pd.Series, list[dict]]:
    keys = [product_key(e, p) for e, p in zip(df["entity_name"], df["product_name"])]
    ids = pd.Series(["P" + hashlib.sha1(k.encode()).hexdigest()[:10] for k in keys], index=df.index, dtype="string")
    if "product_code" in df:
        code = df["product_code"].astype("string")
        ids = code.where(code.notna() & (code.str.len() > 0), ids)
    return ids, []
