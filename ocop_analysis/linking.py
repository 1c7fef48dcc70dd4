"""Product identity across years: which rows of a registry are the same product.

Registries rarely carry a product code, so the same product must be recognised
from its entity (chủ thể) and product name across years, however they are
written. ``assign_product_ids(df, links=None)`` gives every row a product id:

1. **Code.** The registry's own product code (e.g. the national system's
   ``83-832-28882-2-2022``) is the id of its row, every name carrying one code
   is one product, and rows of that name without a code take it too.
2. **Exact key.** ``normalize.product_key(entity, product)``: NFC/NFD, case,
   spacing, punctuation and diacritics folded, the entity-type prefix spelt one
   way ("HTX" = "Hợp tác xã", "Cty TNHH" = "Công ty TNHH", "HKD" = "Hộ kinh
   doanh"). The district is *not* part of the key: a product whose entity moved
   (or whose district was re-drawn) is still one product.
3. **Analyst's links** (``data/links.csv``, read by ``read_links``): ``confirm``
   joins two names into one product (e.g. "Cơ sở Ba Hưng" became "Công ty TNHH
   Ba Hưng" and renamed the product too); ``split`` keeps two names apart that
   the fuzzy rule below would join or warn about.
4. **Fuzzy names**, compared only inside small blocks, never all against all:
   products of the *same entity key* (product names compared), and products of
   *different entities in the same district whose product names start with the
   same word* (entity names without their type prefix compared, and product
   names). Names that were both evaluated in the same year are never compared:
   one entity entering "Trà sen" and "Trà tim sen" in one round has two products.

Thresholds (rapidfuzz ``token_sort_ratio`` on folded names, 0–100):

* ``LINK_SCORE = 95``: linked without asking. After folding, what is left of a
  difference is a typo or a word order ("Mật ong hoa tràm U Minh" / "Mật ong U
  Minh hoa tràm" = 100). 95 allows one wrong letter per 20 characters and no
  more, so "Bánh phồng tôm 200g" / "500g" (94.7) and "Gạo ST25" / "ST24" (87.5)
  are never linked — and names whose numbers differ are never linked at any score.
* ``POSSIBLE_SCORE = 85``: from 85 up to 95, or when one name's words are all in
  the other ("Hạt sen sấy" / "Hạt sen sấy giòn", "HTX Mỹ Xương" / "HTX Nông
  nghiệp Mỹ Xương"), the rows are **not** linked and a ``possible_link`` warning
  names both rows, so the analyst answers once in ``data/links.csv``. Below 85
  the names are different products (e.g. "Xoài cát Hòa Lộc" / "Xoài cát chu", 71).
* Across entities both the product names and the entity names (without the type
  prefix) must pass: "Cơ sở Ba Hưng" → "Công ty TNHH Ba Hưng" with the same product
  in the same district links (the entity changed its legal form, 100/100), while
  "Cơ sở Ba Hưng" → "Công ty TNHH Thực phẩm Ba Hưng" only warns.

A wrong link merges two products' histories and corrupts every rate computed
from them, while a missed link only shows up as a warning the analyst can act
on; so the link band is narrow and the warning band is wide.

The id of a product without a code is ``"P-"`` + 10 hex digits of the SHA-1 of
its anchor key: the key of its earliest-evaluated name (ties: alphabetical).
It does not depend on row order and survives adding newer registries.

Cost grows with the block sizes, not with the registry squared: a block holds
one entity's products, or one district's products that start with one word;
blocks above ``SMALL_BLOCK`` names are pre-filtered: ``rapidfuzz.process.cdist`` (in C) on the
distinct names, an inverted word index for "all words inside the other", and the years each
name was evaluated as bit masks, so only close pairs reach Python.
"""
from __future__ import annotations

import csv
import functools
import hashlib
import io
import re
from collections import defaultdict
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from .errors import ConfigError
from .normalize import _entity_prefixes, clean_text, fold, is_blank, map_unique, product_key

__all__ = ["assign_product_ids", "read_links", "LINK_COLUMNS", "LINK_SCORE", "POSSIBLE_SCORE"]

LINK_SCORE = 95
POSSIBLE_SCORE = 85
SMALL_BLOCK = 40

LINK_COLUMNS = ["entity_a", "product_a", "entity_b", "product_b", "action", "reason"]
# How an analyst may write the action (folded) -> canonical action.
_ACTIONS = {"confirm": "confirm", "same": "confirm", "xac nhan": "confirm", "gop": "confirm",
            "split": "split", "different": "split", "tach": "split"}
_NUMBER = re.compile(r"\d+")


# --------------------------------------------------------------------------- links.csv

def read_links(path) -> pd.DataFrame:
    """Read ``data/links.csv``: one analyst decision per line, columns ``LINK_COLUMNS``.

    Lines starting with ``#`` are comments. Names are written as in the registries
    (any spelling that folds to the same key works). ``action`` is ``confirm``
    (same product) or ``split`` (different products); ``reason`` is required.
    Raises ``ConfigError`` naming the line of a bad entry. Returns the columns plus
    ``line`` (the line number in the file).

    >>> read_links(io.StringIO("entity_a,product_a,entity_b,product_b,action,reason\\n"))  # doctest: +ELLIPSIS
    Empty DataFrame...
    """
    name = getattr(path, "name", str(path))
    if hasattr(path, "read"):
        text = path.read()
    else:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"links file not found: {path}")
        text = path.read_text(encoding="utf-8-sig")
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise ConfigError(f"{name}: no header line; expected {', '.join(LINK_COLUMNS)}")
    rows = list(csv.reader(io.StringIO("\n".join(line for _, line in lines))))
    header = [h.strip() for h in rows[0]]
    frame = pd.DataFrame([r + [""] * (len(header) - len(r)) for r in rows[1:]],
                         columns=header, dtype="string")
    frame["line"] = [n for n, _ in lines[1:]]
    return validate_links(frame, source=name)


def validate_links(links: pd.DataFrame, *, source: str = "links") -> pd.DataFrame:
    """Check a links table (as read or built by hand); actions made canonical. ``ConfigError`` if bad."""
    missing = [c for c in LINK_COLUMNS if c not in links.columns]
    if missing:
        raise ConfigError(f"{source}: missing column(s) {', '.join(missing)}; "
                          f"expected {', '.join(LINK_COLUMNS)}")
    out = links.copy()
    if "line" not in out:
        out["line"] = range(2, len(out) + 2)
    actions = []
    for row in out.itertuples(index=False):
        where = f"{source}, line {row.line}"
        for col in ("entity_a", "product_a", "entity_b", "product_b"):
            if is_blank(getattr(row, col)):
                raise ConfigError(f"{where}: {col} is empty; write the names as in the registry")
        action = _ACTIONS.get(fold(row.action))
        if action is None:
            raise ConfigError(f"{where}: action {row.action!r} is not 'confirm' (same product) "
                              f"or 'split' (different products)")
        if is_blank(row.reason):
            raise ConfigError(f"{where}: reason is empty; say why (every override keeps its reason)")
        actions.append(action)
    out["action"] = pd.Series(actions, index=out.index, dtype="string")
    for col in ("entity_a", "product_a", "entity_b", "product_b", "reason"):
        out[col] = out[col].map(clean_text).astype("string")
    return out[[*LINK_COLUMNS, "line", *[c for c in out.columns if c not in LINK_COLUMNS + ["line"]]]]


# --------------------------------------------------------------------------- ids

def assign_product_ids(df: pd.DataFrame, links=None) -> tuple[pd.Series, list[dict]]:
    """A product id for every row of ``df``, and ``possible_link`` problems.

    ``df`` needs entity_name, product_name, district_code, year, and optionally
    product_code and source_file/source_sheet/source_row. Rows of a revocation list
    (``revoked_on`` not empty) are linked like the others but do not count as an
    evaluation year. ``links`` is a frame from ``read_links``, a path to one, or None.

    >>> df = pd.DataFrame({"entity_name": ["HTX Mỹ Xương", "Hợp tác xã  MỸ XƯƠNG"],
    ...                    "product_name": ["Xoài cát Hòa Lộc", "xoài cát hoà lộc"],
    ...                    "district_code": [873, 873], "year": [2019, 2022]})
    >>> ids, problems = assign_product_ids(df)
    >>> ids.nunique(), problems
    (1, [])
    """
    if len(df) == 0:
        return pd.Series([], index=df.index, dtype="string"), []
    if links is not None and not isinstance(links, pd.DataFrame):
        links = read_links(links)
    elif links is not None:
        links = validate_links(links)
    rows = _row_frame(df)
    keys = _key_table(rows)
    uf = _UnionFind(len(keys))
    index = {k: i for i, k in enumerate(_strings(keys["key"]))}

    by_code: dict[str, list[int]] = defaultdict(list)
    for i, codes in enumerate(keys["codes"]):
        for code in codes:
            by_code[code].append(i)
    for first, *rest in by_code.values():
        for other in rest:
            uf.union(first, other)
    splits: set[frozenset] = set()
    if links is not None:
        for link in links.itertuples(index=False):
            a = index.get(product_key(link.entity_a, link.product_a))
            b = index.get(product_key(link.entity_b, link.product_b))
            if a is None or b is None or a == b:
                continue
            if link.action == "confirm":
                uf.union(a, b)
            else:
                splits.add(frozenset((a, b)))

    possible = []
    for a, b, verdict, score in _fuzzy_pairs(keys):
        if frozenset((a, b)) in splits:
            continue
        if verdict == "link":
            uf.union(a, b)
        else:
            possible.append((a, b, score))

    ids_by_key = _cluster_ids(keys, uf)
    ids = rows["key"].map(dict(zip(_strings(keys["key"]), ids_by_key))).astype("string")
    own = rows["code"]
    ids = own.where(own.notna(), ids).astype("string")
    ids.index = df.index
    possible = [(a, b, score) for a, b, score in possible if uf.find(a) != uf.find(b)]
    needed = sorted({i for a, b, _ in possible for i in (a, b)})  # only the names a warning shows
    shown_cols = keys[["first_year", "entity_name", "product_name", "file", "sheet", "row"]].iloc[needed]
    shown_cols = shown_cols.astype(object)
    shown = dict(zip(needed, shown_cols.where(shown_cols.notna(), None).to_dict("records")))
    problems = [_possible_link_problem(shown, a, b, score) for a, b, score in possible]
    return ids, problems


def _row_frame(df: pd.DataFrame) -> pd.DataFrame:
    n = len(df)

    def col(name, default=pd.NA):
        return df[name].reset_index(drop=True) if name in df else pd.Series([default] * n)

    pairs = list(zip(col("entity_name").astype(object), col("product_name").astype(object)))
    cache: dict = {}
    keys = [cache[p] if p in cache else cache.setdefault(p, product_key(*p)) for p in pairs]
    code = col("product_code").astype("string").str.strip()
    code = code.where(code.str.len() > 0)
    revoked = col("revoked_on").notna() if "revoked_on" in df else pd.Series(False, index=range(n))
    return pd.DataFrame({
        "key": keys,
        "entity_key": [k.split("|", 1)[0] for k in keys],
        "product": [k.split("|", 1)[1] for k in keys],
        "code": code,
        "district_code": pd.to_numeric(col("district_code"), errors="coerce").astype("Int64"),
        "year": pd.to_numeric(col("year"), errors="coerce").astype("Int64").where(~revoked),
        "entity_name": col("entity_name").astype("string"),
        "product_name": col("product_name").astype("string"),
        "file": col("source_file").astype("string"),
        "sheet": col("source_sheet").astype("string"),
        "row": pd.to_numeric(col("source_row"), errors="coerce").astype("Int64"),
        "order": range(n),
    })


def _key_table(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct exact key: its years, districts, codes and a row to show."""
    rows = rows.sort_values(["year", "order"], na_position="first")
    g = rows.groupby("key", sort=True)
    keys = g.agg(entity_key=("entity_key", "first"), product=("product", "first"),
                 first_year=("year", "min")).reset_index()
    keys["years"] = _sets(rows, "year", keys["key"], int)
    keys["districts"] = _sets(rows, "district_code", keys["key"], int)
    keys["codes"] = [sorted(s) for s in _sets(rows, "code", keys["key"], str)]
    shown = g.tail(1).set_index("key").loc[keys["key"]]  # latest evaluated row of the name
    for c in ("entity_name", "product_name", "file", "sheet", "row"):
        keys[c] = shown[c].values
    keys["entity_rest"] = map_unique(keys["entity_key"], _entity_rest)
    return keys


def _sets(rows: pd.DataFrame, column: str, order: pd.Series, cast) -> list[frozenset]:
    sub = rows[["key", column]]
    sub = sub[sub[column].notna()].drop_duplicates()  # one visit per distinct (name, value), not per row
    values = sub[column]
    if cast is int:
        values = values.astype("int64").tolist()
    else:
        values = [cast(v) if not is_blank(v) else None for v in values.to_numpy(dtype=object)]
    found: dict[str, set] = defaultdict(set)
    for key, value in zip(sub["key"].to_numpy(dtype=object), values):
        if value is not None:
            found[key].add(value)
    empty: frozenset = frozenset()
    return [frozenset(found[k]) if k in found else empty for k in order.to_numpy(dtype=object)]


@functools.cache
def _folded_prefixes() -> tuple[str, ...]:
    return tuple(sorted({fold(c) for _, _, c in _entity_prefixes()}, key=len, reverse=True))


def _strings(series: pd.Series) -> list:
    """A string column as a list of str (converted in C: iterating an Arrow-backed column is slow)."""
    return series.to_numpy(dtype=object).tolist()


def _entity_rest(ekey: str) -> str:
    """The entity key without its canonical type prefix ("htx my xuong" -> "my xuong")."""
    for canonical in _folded_prefixes():
        if ekey.startswith(canonical + " "):
            return ekey[len(canonical) + 1:]
    return ekey


# --------------------------------------------------------------------------- fuzzy

def _judge(a: str, b: str) -> tuple[float, bool, bool]:
    """(score, one name's words all in the other's, numbers differ)."""
    score = fuzz.token_sort_ratio(a, b)
    ta, tb = set(a.split()), set(b.split())
    subset = min(len(ta), len(tb)) >= 2 and (ta < tb or tb < ta)
    return score, subset, _NUMBER.findall(a) != _NUMBER.findall(b)


def _verdict(*judgements) -> str | None:
    if all(s >= LINK_SCORE and not digits for s, _, digits in judgements):
        return "link"
    if all(s >= POSSIBLE_SCORE or sub for s, sub, _ in judgements):
        return "possible"
    return None


def _year_masks(years: list[frozenset]) -> np.ndarray:
    """Evaluation years of each name as a bit mask (1990–2052), so overlaps are one AND."""
    masks = np.zeros(len(years), dtype=np.int64)
    for i, ys in enumerate(years):
        for y in ys:
            if 1990 <= y < 2053:
                masks[i] |= np.int64(1) << np.int64(y - 1990)
    return masks


def _similar(texts: list[str]) -> np.ndarray:
    """Boolean matrix: token_sort_ratio ≥ POSSIBLE_SCORE, or one word set inside the other."""
    uniq, inverse = np.unique(np.asarray(texts, dtype=object), return_inverse=True)
    uniq = uniq.tolist()  # names repeat (one entity's products, one product's spellings): score each once
    # token_sort_ratio(a, b) is ratio() of the words sorted: sort each name once, not once per pair (~7x faster)
    sorted_words = [" ".join(sorted(t.split())) for t in uniq]
    close = process.cdist(sorted_words, sorted_words, scorer=fuzz.ratio, score_cutoff=POSSIBLE_SCORE,
                          dtype=np.uint8, workers=1) > 0
    for i, j in _subsets(uniq):
        close[i, j] = close[j, i] = True
    return close[np.ix_(inverse, inverse)]


def _subsets(texts: list[str]):
    """Pairs (i, j) where the words of i (two or more) are all among the words of j.

    An inverted index on each name's rarest word keeps this near-linear: only names sharing
    that word are checked.
    """
    sets = [frozenset(t.split()) for t in texts]
    freq: dict[str, int] = defaultdict(int)
    postings: dict[str, list[int]] = defaultdict(list)
    for i, words in enumerate(sets):
        for w in words:
            freq[w] += 1
            postings[w].append(i)
    for i, words in enumerate(sets):
        if len(words) < 2:
            continue
        rare = min(words, key=lambda w: (freq[w], w))
        for j in postings[rare]:
            if j != i and words < sets[j]:
                yield i, j


def _block_pairs(members: list[int], products: list[str], rests: list[str] | None, masks: np.ndarray):
    """Candidate pairs of one block: never evaluated in the same year, and close enough to judge.

    Small blocks are enumerated; larger ones are pre-filtered in C (rapidfuzz.cdist) on the
    product names (and the entity names for blocks of different entities).
    """
    if len(members) <= SMALL_BLOCK:
        for a, b in combinations(members, 2):
            if not masks[a] & masks[b]:
                yield a, b
        return
    idx = np.asarray(members)
    ok = _similar([products[m] for m in members])
    ok &= (masks[idx][:, None] & masks[idx][None, :]) == 0
    if rests is not None:  # entity names: only for the names that still have a partner
        live = np.flatnonzero(ok.any(axis=1))
        entity_ok = np.zeros_like(ok)
        if len(live):
            entity_ok[np.ix_(live, live)] = _similar([rests[m] for m in idx[live]])
        ok &= entity_ok
    for i, j in zip(*np.nonzero(np.triu(ok, 1))):
        yield int(idx[i]), int(idx[j])


def _fuzzy_pairs(keys: pd.DataFrame):
    """(a, b, verdict, score) for names that may be one product; a, b are key positions."""
    products = _strings(keys["product"])
    rests = _strings(keys["entity_rest"])
    entities = _strings(keys["entity_key"])
    masks = _year_masks(keys["years"].tolist())
    by_entity: dict[str, list[int]] = defaultdict(list)
    by_district_word: dict[tuple, list[int]] = defaultdict(list)
    for i, (ekey, prod, districts) in enumerate(zip(entities, products, keys["districts"])):
        by_entity[ekey].append(i)
        if rests[i]:
            word = prod.split(" ", 1)[0]
            for d in districts:
                by_district_word[(d, word)].append(i)
    seen: set[tuple[int, int]] = set()
    for members in by_entity.values():
        for a, b in _block_pairs(members, products, None, masks) if len(members) > 1 else ():
            seen.add((a, b))
            judged = _judge(products[a], products[b])
            verdict = _verdict(judged)
            if verdict:
                yield a, b, verdict, judged[0]
    for members in by_district_word.values():
        for a, b in _block_pairs(members, products, rests, masks) if len(members) > 1 else ():
            if (a, b) in seen or entities[a] == entities[b]:
                continue
            seen.add((a, b))
            pj, ej = _judge(products[a], products[b]), _judge(rests[a], rests[b])
            verdict = _verdict(pj, ej)
            if verdict:
                yield a, b, verdict, min(pj[0], ej[0])


# --------------------------------------------------------------------------- clusters, problems

class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _cluster_ids(keys: pd.DataFrame, uf: _UnionFind) -> list[str]:
    clusters: dict[int, list[int]] = defaultdict(list)
    for i in range(len(keys)):
        clusters[uf.find(i)].append(i)
    ids = [""] * len(keys)
    first_year = keys["first_year"].astype("Float64").fillna(float("inf")).tolist()
    names, all_codes = _strings(keys["key"]), keys["codes"].tolist()
    for members in clusters.values():
        codes = sorted({c for m in members for c in all_codes[m]})
        if len(codes) == 1:
            pid = codes[0]
        else:
            anchor = min(members, key=lambda m: (first_year[m], names[m]))
            pid = "P-" + hashlib.sha1(names[anchor].encode("utf-8")).hexdigest()[:10]
        for m in members:
            ids[m] = pid
    return ids


def _where(row: dict) -> str:
    parts = [str(row["file"]) if not is_blank(row["file"]) else "?"]
    if not is_blank(row["sheet"]):
        parts.append(f"sheet {row['sheet']}")
    if not is_blank(row["row"]):
        parts.append(f"row {int(row['row'])}")
    return ", ".join(parts)


def _possible_link_problem(shown: list[dict], a: int, b: int, score: float) -> dict:
    """The warning for names a and b (key positions); ``shown`` holds each name's row to cite."""
    ra, rb = shown[a], shown[b]
    if not is_blank(rb["first_year"]) and (is_blank(ra["first_year"]) or rb["first_year"] < ra["first_year"]):
        ra, rb = rb, ra
    line = ",".join(_csv_cell(v) for v in (ra["entity_name"], ra["product_name"],
                                           rb["entity_name"], rb["product_name"])) + ",confirm,<why>"
    message = (f'"{ra["product_name"]}" of {ra["entity_name"]} ({_where(ra)}) may be the same product as '
               f'"{rb["product_name"]}" of {rb["entity_name"]} ({_where(rb)}); similarity {score:.0f}/100, '
               f"not linked. Decide in data/links.csv: {line} (or split if they differ)")
    return {"file": None if is_blank(rb["file"]) else str(rb["file"]),
            "sheet": None if is_blank(rb["sheet"]) else str(rb["sheet"]),
            "row": None if is_blank(rb["row"]) else int(rb["row"]),
            "column": "product_name", "value": str(rb["product_name"]),
            "problem": "possible_link", "message": message}


def _csv_cell(value) -> str:
    text = "" if is_blank(value) else str(value)
    return '"' + text.replace('"', '""') + '"' if any(ch in text for ch in ',"\n') else text
