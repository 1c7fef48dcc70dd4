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
one entity's products, or one district's products that start with one word.
Everything is computed over integer ids in numpy, per distinct name and never per
row or per pair in Python: the distinct names of a text column folded at once
(``normalize.fold_strings``: each character looked up in a table read off ``fold``;
the entity-type prefix replaced by ``normalize.entity_keys_folded``); the keys and
their years (as bit masks), districts and codes; the blocks as (block, name) lists; the pairs of blocks up to ``SMALL_BLOCK``
names as one list scored by ``rapidfuzz.process.cpdist``, larger blocks by
``process.cdist`` on names sorted by length, a chunk against the names after it
whose length can still reach 85 (ratio <= 200 * shorter / (shorter + longer));
"all words inside the other" by joining each name to the names of its block that
hold its rarest word; the clusters by label propagation over the linked pairs.
Only the pairs that may be one product reach the verdict, and only the warned
names are looked up to cite their rows.
"""
from __future__ import annotations

import bisect
import csv
import functools
import hashlib
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz, process

from .errors import ConfigError
from .normalize import (_entity_prefixes, _head_words, clean_text, entity_keys, entity_keys_folded, fold, fold_many,
                        fold_strings, is_blank, product_key, replace_prefixes)

__all__ = ["assign_product_ids", "read_links", "LINK_COLUMNS", "LINK_SCORE", "POSSIBLE_SCORE"]

LINK_SCORE = 95
POSSIBLE_SCORE = 85
SMALL_BLOCK = 24  # blocks up to this size are scored as one list of pairs; larger ones by matrix chunks
_CHUNK = 24  # names per rapidfuzz.process.cdist call in a large block (calls are cheap; a chunk's
# comparisons with the names before it in the chunk are wasted, so chunks are small)
_YEAR0 = 1990  # evaluation years 1990-2052 as the bits of an int64

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
    keys = _Keys(df)
    n_keys = len(keys.names)

    edges = [_code_edges(keys)]
    splits = np.zeros(0, dtype=np.int64)
    if links is not None:
        confirm, splits = _link_pairs(keys, links)
        edges.append(confirm)
    a, b, is_link, score = _fuzzy_pairs(keys)
    if len(splits):
        kept = ~np.isin(a * n_keys + b, splits)
        a, b, is_link, score = a[kept], b[kept], is_link[kept], score[kept]
    edges.append((a[is_link], b[is_link]))
    comp = _components(n_keys, np.concatenate([e[0] for e in edges]), np.concatenate([e[1] for e in edges]))

    ids = pd.Series(pd.array(pa.array(_cluster_ids(keys, comp), type=pa.string()).take(pa.array(keys.row_key)),
                             dtype="string"))
    own = keys.own_code
    if own.notna().any():  # a row's own code is its id
        ids = own.where(own.notna(), ids).astype("string")
    ids.index = df.index
    warn = ~is_link & (comp[a] != comp[b])
    possible = list(zip(a[warn].tolist(), b[warn].tolist(), score[warn].tolist()))
    shown = keys.shown({i for pair in possible for i in pair[:2]})
    problems = [_possible_link_problem(shown, a, b, score) for a, b, score in possible]
    return ids, problems


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    if name in df:
        return df[name].reset_index(drop=True)
    return pd.Series([pd.NA] * len(df), dtype=object)


def _fold_ids(series: pd.Series, func, entity: bool = False) -> tuple[np.ndarray, pa.Array]:
    """Ids of ``func(values)`` for every row and the distinct results (an Arrow string array); ``func`` maps
    a list of the column's distinct values at once (``normalize.fold_many``, ``normalize.entity_keys``).

    A text column (pandas string dtype) is folded in Arrow and numpy instead, by ``normalize.fold_strings``
    (and ``normalize.entity_keys_folded`` when ``entity``), which give the same results."""
    if isinstance(series.dtype, pd.StringDtype):
        try:
            column = pa.array(series, type=pa.large_string())
        except (pa.ArrowException, UnicodeError):
            column = None
        if column is not None:
            return _fold_ids_arrow(column, entity)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    results = func([*np.asarray(uniques, dtype=object).tolist(), None])  # None: code -1 (a blank cell) takes the last
    ids, distinct = pd.factorize(np.asarray(results, dtype=object))
    return ids[codes], pa.array(distinct.tolist(), type=pa.large_string())


def _fold_ids_arrow(column: pa.Array, entity: bool) -> tuple[np.ndarray, pa.Array]:
    """``_fold_ids`` of a text column in Arrow: distinct texts (in order of first appearance, as
    ``pd.factorize`` numbers them) folded at once, a blank cell folded to "" after them."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    encoded = pc.dictionary_encode(column)
    folded = fold_strings(encoded.dictionary)
    if entity:
        folded = entity_keys_folded(folded)
    results = pa.concat_arrays([folded, pa.array([""], type=pa.large_string())])
    codes = encoded.indices.fill_null(len(encoded.dictionary)).to_numpy(zero_copy_only=False)
    distinct = pc.dictionary_encode(results)
    ids = distinct.indices.to_numpy(zero_copy_only=False).astype(np.intp)
    return ids[codes], distinct.dictionary


def _sorted_keys(entities: pa.Array, products: pa.Array, entity: np.ndarray, product: np.ndarray):
    """The keys ``entity|product`` of the given pairs in code-point order (Arrow sorts UTF-8 bytes, which
    is code-point order), and that order. Joined and sorted by Arrow in C."""
    joined = pc.binary_join_element_wise(entities.take(pa.array(entity)), products.take(pa.array(product)),
                                         pa.scalar("|", entities.type))
    order = pc.sort_indices(joined).to_numpy().astype(np.int64)
    return order, joined.take(pa.array(order)).to_pylist()


class _Keys:
    """The distinct exact keys (``entity key|product key``) of a frame, in alphabetical order, with
    what linking needs of each: years as bits, first year, districts, codes; and each row's key.

    Every aggregate is computed over integer key ids in numpy, not per row in Python.
    """

    def __init__(self, df: pd.DataFrame):
        n = len(df)
        self.df = df
        ent_row, self.entities = _fold_ids(_column(df, "entity_name"), entity_keys, entity=True)
        prod_row, self.products = _fold_ids(_column(df, "product_name"), fold_many)
        n_prod = len(self.products)
        pair = ent_row.astype(np.int64) * n_prod + prod_row
        distinct, row_key = np.unique(pair, return_inverse=True)
        order, self.names = _sorted_keys(self.entities, self.products, distinct // n_prod, distinct % n_prod)
        rank = np.empty_like(order)
        rank[order] = np.arange(len(order))
        self.entity = (distinct // n_prod)[order]
        self.product = (distinct % n_prod)[order]
        self.row_key = rank[row_key.reshape(-1)]
        n_keys = len(self.names)

        revoked = _column(df, "revoked_on").notna().to_numpy() if "revoked_on" in df else np.zeros(n, bool)
        year = pd.to_numeric(_column(df, "year"), errors="coerce").astype("Int64")
        evaluated = year.notna().to_numpy() & ~revoked
        never = np.iinfo(np.int64).min  # rows without an evaluation year sort first
        self.year = np.where(evaluated, year.to_numpy(dtype=np.int64, na_value=0), never)
        years = self.year[evaluated]
        first = np.full(n_keys, np.iinfo(np.int64).max)
        np.minimum.at(first, self.row_key[evaluated], years)
        self.first_year = first  # int64 max: never evaluated
        self.first_year_float = np.where(first == np.iinfo(np.int64).max, np.inf, first.astype(np.float64))
        in_range = (years >= _YEAR0) & (years < _YEAR0 + 63)
        self.masks = np.zeros(n_keys, dtype=np.int64)
        np.bitwise_or.at(self.masks, self.row_key[evaluated][in_range],
                         np.left_shift(np.int64(1), years[in_range] - _YEAR0))

        district = pd.to_numeric(_column(df, "district_code"), errors="coerce").astype("Int64")
        known = district.notna().to_numpy()
        self.district_key, self.district = _distinct_pairs(self.row_key[known],
                                                           district.to_numpy(dtype=np.int64, na_value=0)[known])

        code = _column(df, "product_code").astype("string").str.strip()
        self.own_code = code.where(code.str.len() > 0)
        code_id, code_values = pd.factorize(self.own_code, sort=True, use_na_sentinel=True)
        self.codes: list[str] = np.asarray(code_values, dtype=object).tolist()
        blank = np.array([is_blank(c) for c in self.codes] + [True], dtype=bool)
        coded = ~blank[code_id]
        self.code_key, self.code = _distinct_pairs(self.row_key[coded], code_id[coded])

    def shown(self, needed: set[int]) -> dict[int, dict]:
        """The row cited for each needed key: its latest evaluated row (rows without a year first)."""
        if not needed:
            return {}
        rows = np.flatnonzero(np.isin(self.row_key, np.fromiter(needed, dtype=np.int64)))
        rows = rows[np.lexsort((rows, self.year[rows], self.row_key[rows]))]
        last = rows[_group_starts(self.row_key[rows][::-1])[::-1]]
        values = {name: _column(self.df, column).iloc[last]
                  for name, column in (("entity_name", "entity_name"), ("product_name", "product_name"),
                                       ("file", "source_file"), ("sheet", "source_sheet"))}
        values = {name: [None if missing else str(v) for v, missing in
                         zip(col.astype(object).tolist(), col.isna().tolist())] for name, col in values.items()}
        rows_shown = pd.to_numeric(_column(self.df, "source_row"), errors="coerce").astype("Int64").iloc[last]
        values["row"] = [None if missing else r for r, missing in
                         zip(rows_shown.to_numpy(dtype=np.int64, na_value=0).tolist(), rows_shown.isna().tolist())]
        never = np.iinfo(np.int64).max
        values["first_year"] = [None if y == never else y for y in self.first_year[self.row_key[last]].tolist()]
        records = [dict(zip(values, cells)) for cells in zip(*values.values())]
        for record in records:  # what each warning naming this row writes of it, worked out once
            file, sheet, row = record["file"], record["sheet"], record["row"]
            record["file_out"] = None if is_blank(file) else file
            record["sheet_out"] = None if is_blank(sheet) else sheet
            parts = ["?" if record["file_out"] is None else file]
            if record["sheet_out"] is not None:
                parts.append(f"sheet {sheet}")
            if row is not None:
                parts.append(f"row {row}")
            record["where"] = ", ".join(parts)
            record["csv"] = _csv_cell(record["entity_name"]) + "," + _csv_cell(record["product_name"])
        return dict(zip(self.row_key[last].tolist(), records))


def _distinct_pairs(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (first, second) integer pairs, sorted by first then second."""
    if len(first) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    values, second_id = np.unique(second, return_inverse=True)
    width = len(values)
    pairs = _unique(first.astype(np.int64) * width + second_id.reshape(-1))
    return pairs // width, values[pairs % width]


def _code_edges(keys: _Keys) -> tuple[np.ndarray, np.ndarray]:
    """Every name carrying a code joined to the first name carrying the same code."""
    order = np.lexsort((keys.code_key, keys.code))
    code, key = keys.code[order], keys.code_key[order]
    start = _group_starts(code)
    first = key[start][np.cumsum(start) - 1]
    return first[~start], key[~start]


def _link_pairs(keys: _Keys, links: pd.DataFrame) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """Confirmed pairs (as edges) and split pairs (as ``a * n + b`` with a < b) of the analyst's links."""
    def position(entity, product):
        key = product_key(entity, product)
        i = bisect.bisect_left(keys.names, key)
        return i if i < len(keys.names) and keys.names[i] == key else None

    confirm, split = [], []
    for link in links.itertuples(index=False):
        a, b = position(link.entity_a, link.product_a), position(link.entity_b, link.product_b)
        if a is None or b is None or a == b:
            continue
        (confirm if link.action == "confirm" else split).append((min(a, b), max(a, b)))
    confirm_a = np.array([p[0] for p in confirm], dtype=np.int64)
    confirm_b = np.array([p[1] for p in confirm], dtype=np.int64)
    n_keys = len(keys.names)
    return (confirm_a, confirm_b), np.array([a * n_keys + b for a, b in split], dtype=np.int64)


@functools.cache
def _folded_prefixes() -> tuple[str, ...]:
    return tuple(sorted({fold(c) for _, _, c in _entity_prefixes()}, key=len, reverse=True))


@functools.cache
def _prefix_pattern() -> re.Pattern:
    # alternatives longest first, each followed by a space: the first that fits wins, as in _entity_rest
    return re.compile("(?:" + "|".join(re.escape(p) for p in _folded_prefixes()) + ") ")


def _entity_rest(ekey: str) -> str:
    """The entity key without its canonical type prefix ("htx my xuong" -> "my xuong")."""
    found = _prefix_pattern().match(ekey)
    return ekey[found.end():] if found else ekey


def _entity_rests(ekeys: list[str] | pa.Array) -> list[str] | pa.Array:
    """``_entity_rest`` of each entity key (a list, or an Arrow array: then one is returned), by
    ``normalize.replace_prefixes`` (the prefix followed by a space, replaced by nothing)."""
    prefixes = _folded_prefixes()
    if isinstance(ekeys, pa.Array):
        return replace_prefixes(ekeys, prefixes, ("",) * len(prefixes), whole=False)
    try:
        column = pa.array(ekeys, type=pa.large_string())
    except (pa.ArrowException, UnicodeError):
        return [_entity_rest(e) for e in ekeys]
    return replace_prefixes(column, prefixes, ("",) * len(prefixes), whole=False).to_pylist()


# --------------------------------------------------------------------------- word tables

class _Texts:
    """Folded names prepared for comparison: each with its words sorted (``token_sort_ratio`` is
    ``ratio`` of those), its distinct words as sorted ids (CSR: ``ptr``, ``words``), and its numbers."""

    def __init__(self, texts: list[str] | pa.Array):
        self.texts = texts
        try:
            self.sorted_words, self.lengths, self.first_word, self.ptr, self.words = _tokenize_arrow(texts)
        except (pa.ArrowException, UnicodeError):
            self.sorted_words, self.lengths, self.first_word, self.ptr, self.words = _tokenize_python(texts)
        n = len(texts)
        self.count = np.diff(self.ptr)
        self.width = int(self.words.max()) + 1 if len(self.words) else 1
        owner = np.repeat(np.arange(n, dtype=np.int64), self.count)
        self.codes = owner * self.width + self.words  # sorted: by text, then word

    def contains(self, small: np.ndarray, big: np.ndarray) -> np.ndarray:
        """Whether every word of text ``small[i]`` is a word of text ``big[i]``."""
        count = self.count[small]
        pair = np.repeat(np.arange(len(small), dtype=np.int64), count)
        wanted = big[pair] * self.width + self.words[_ranges(self.ptr[small], count)]
        at = np.minimum(np.searchsorted(self.codes, wanted), max(len(self.codes) - 1, 0))
        found = self.codes[at] == wanted if len(self.codes) else np.zeros(0, bool)
        return np.bincount(pair, weights=found, minlength=len(small)) == count

    def subset(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """One name's words (two or more) all among the other's, which has more."""
        na, nb = self.count[a], self.count[b]
        out = np.zeros(len(a), dtype=bool)
        for small, big, mask in ((a, b, (na >= 2) & (na < nb)), (b, a, (nb >= 2) & (nb < na))):
            if mask.any():
                out[mask] |= self.contains(small[mask], big[mask])
        return out

    def numbers_differ(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The numbers written in the names differ ("200g" / "500g", "ST25" / "ST24")."""
        signatures: dict[tuple, int] = {}
        texts = _unique(np.concatenate([a, b]))
        strings = self.texts.take(pa.array(texts)).to_pylist() if isinstance(self.texts, pa.Array) \
            else [self.texts[i] for i in texts.tolist()]
        ids = np.array([signatures.setdefault(tuple(_NUMBER.findall(t)), len(signatures)) for t in strings],
                       dtype=np.int64)
        return ids[np.searchsorted(texts, a)] != ids[np.searchsorted(texts, b)]

    def scores(self, a: np.ndarray, b: np.ndarray, cutoff: float | None = None) -> np.ndarray:
        """``token_sort_ratio`` of the pairs (a[i], b[i]); 0 below ``cutoff``."""
        if len(a) == 0:
            return np.zeros(0)
        return _cpdist(self.sorted_words[a].tolist(), self.sorted_words[b].tolist(), cutoff)


def _tokenize_arrow(texts: list[str] | pa.Array):
    arr = texts.cast(pa.large_string()) if isinstance(texts, pa.Array) else pa.array(texts, type=pa.large_string())
    split = pc.split_pattern(arr, pattern=" ")
    flat = pc.list_flatten(split)
    owner = pc.list_parent_indices(split).to_numpy()
    nonempty = pc.greater(pc.binary_length(flat), 0).to_numpy(zero_copy_only=False)
    if not nonempty.all():  # an empty text gives one empty "word"
        flat, owner = flat.filter(pa.array(nonempty)), owner[nonempty]
    encoded = pc.dictionary_encode(flat)
    by_rank = _code_point_order(encoded.dictionary)
    width = max(len(by_rank), 1)
    rank = np.empty(len(by_rank), dtype=np.int64)
    rank[by_rank] = np.arange(len(rank))
    word = rank[encoded.indices.to_numpy(zero_copy_only=False)]  # ids in code-point order of the words
    n = len(texts)
    pairs = np.sort(owner * width + word)  # each text's words in code-point order
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=n), out=offsets[1:])
    lists = pa.LargeListArray.from_arrays(pa.array(offsets), encoded.dictionary.take(pa.array(by_rank[pairs % width])))
    sorted_words = pc.binary_join(lists, pa.scalar(" ", pa.large_string()))
    lengths = pc.utf8_length(sorted_words).to_numpy(zero_copy_only=False).astype(np.int64)  # in code points
    first_word = np.full(n, -1, dtype=np.int64)
    first = _group_starts(owner)  # owner is in text order: each text's first word starts its run
    first_word[owner[first]] = word[first]
    distinct = pairs[_group_starts(pairs)] if len(pairs) else pairs  # the (text, word) sets, sorted
    ptr = np.searchsorted(distinct // width, np.arange(n + 1))
    return sorted_words.to_numpy(zero_copy_only=False).astype(object), lengths, first_word, ptr, distinct % width


def _code_point_order(words: pa.Array) -> np.ndarray:
    """The order sorting distinct texts in code-point order (which is UTF-8 byte order): texts of up to 8
    bytes and without NUL as big-endian numbers (zeros after a shorter text sort it first), else by Arrow."""
    offsets = np.frombuffer(words.buffers()[1], dtype=np.int64)[words.offset:words.offset + len(words) + 1]
    data = np.frombuffer(words.buffers()[2], dtype=np.uint8) if words.buffers()[2] is not None else None
    if len(words) and data is not None and np.diff(offsets).max() <= 8 and data[offsets[0]:offsets[-1]].all():
        packed = _head_words(offsets, data, 1)[:, 0]
        return np.argsort(packed.byteswap())  # distinct texts without NUL: distinct numbers, no ties
    return pc.sort_indices(words).to_numpy()


def _tokenize_python(texts: list[str] | pa.Array):
    split = [t.split() for t in (texts.to_pylist() if isinstance(texts, pa.Array) else texts)]
    vocab = {w: i for i, w in enumerate(sorted({w for ws in split for w in ws}))}
    owner = np.repeat(np.arange(len(texts), dtype=np.int64), [len(ws) for ws in split])
    word = np.fromiter((vocab[w] for ws in split for w in ws), dtype=np.int64, count=len(owner))
    sorted_words = np.array([" ".join(sorted(ws)) for ws in split] + [None], dtype=object)[:-1]
    first_word = np.array([vocab[ws[0]] if ws else -1 for ws in split], dtype=np.int64)
    lengths = np.array([len(t) for t in sorted_words.tolist()], dtype=np.int64)
    return (sorted_words, lengths, first_word, *_word_sets(owner, word, len(texts)))


def _word_sets(owner: np.ndarray, word: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    width = int(word.max()) + 1 if len(word) else 1
    pairs = _unique(owner * width + word)
    ptr = np.searchsorted(pairs // width, np.arange(n + 1))
    return ptr, pairs % width


def _unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (by sorting: numpy's hash-based ``unique`` is slower on int64)."""
    values = np.sort(values)
    return values[_group_starts(values)]


def _first_of_each(values: np.ndarray) -> np.ndarray:
    """Positions of the first occurrence of each distinct value, in position order."""
    order = np.argsort(values, kind="stable")
    return np.sort(order[_group_starts(values[order])])


def _group_starts(*columns: np.ndarray) -> np.ndarray:
    """True where a run of equal values (of all the sorted columns together) begins."""
    start = np.zeros(len(columns[0]), dtype=bool)
    start[:1] = True
    for col in columns:
        start[1:] |= col[1:] != col[:-1]
    return start


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The concatenated ranges ``starts[i] .. starts[i] + counts[i] - 1``."""
    counts = np.asarray(counts, dtype=np.int64)
    keep = counts > 0
    starts, counts = np.asarray(starts, dtype=np.int64)[keep], counts[keep]
    if len(counts) == 0:
        return np.zeros(0, dtype=np.int64)
    steps = np.ones(int(counts.sum()), dtype=np.int64)
    ends = np.cumsum(counts)
    steps[0] = starts[0]
    steps[ends[:-1]] = starts[1:] - (starts[:-1] + counts[:-1]) + 1
    return np.cumsum(steps)


def _cdist(queries: list[str], choices: list[str], cutoff: float) -> np.ndarray:
    """``ratio`` of each query with each choice (matrix, computed in C), rounded; 0 below ``cutoff``."""
    return process.cdist(queries, choices, scorer=fuzz.ratio, score_cutoff=cutoff, dtype=np.uint8, workers=1)


def _cpdist(queries: list[str], choices: list[str], cutoff: float | None) -> np.ndarray:
    """``ratio`` of each query with the choice at the same position (in C)."""
    return process.cpdist(queries, choices, scorer=fuzz.ratio, score_cutoff=cutoff, dtype=np.float64, workers=1)


# --------------------------------------------------------------------------- fuzzy

def _blocks(keys: _Keys, prod: _Texts) -> tuple[np.ndarray, np.ndarray, int]:
    """Members of every block of two or more names, as (block, key) sorted by block then key.

    Blocks 0 .. n_entity-1 hold one entity's names each; the next ones one district's names (of named
    entities) that start with one word. Blocks are numbered in the order of their first name.
    """
    n_keys = len(keys.names)
    entity_block = pd.factorize(keys.entity)[0]
    named = pc.not_equal(keys.entities, "").to_numpy(zero_copy_only=False)[keys.entity[keys.district_key]]
    member, district = keys.district_key[named], keys.district[named]
    word = prod.first_word[keys.product[member]] + 1
    place = pd.factorize(district)[0].astype(np.int64) * (int(word.max(initial=0)) + 1) + word
    place_block = pd.factorize(place)[0]  # numbered by first name, the names in key then district order
    n_entity = int(entity_block.max()) + 1
    block = np.concatenate([entity_block, place_block + n_entity])
    key = np.concatenate([np.arange(n_keys), member])
    size = np.bincount(block)
    keep = size[block] >= 2
    block, key = block[keep], key[keep]
    order = np.argsort(block * n_keys + key, kind="stable")
    return block[order], key[order], n_entity


def _admissible(keys: _Keys, a: np.ndarray, b: np.ndarray, block: np.ndarray, n_entity: int) -> np.ndarray:
    """Never evaluated in the same year; in a district block, of different entities."""
    ok = (keys.masks[a] & keys.masks[b]) == 0
    return ok & ((block < n_entity) | (keys.entity[a] != keys.entity[b]))


def _scored_pairs(keys: _Keys, prod: _Texts, block: np.ndarray, member: np.ndarray, n_entity: int):
    """(block, a, b, score) of the admissible pairs of each block whose product names score
    ``POSSIBLE_SCORE`` or more: small blocks as one list of pairs, larger ones as matrices by chunk."""
    starts = np.flatnonzero(_group_starts(block))
    sizes = np.diff(np.r_[starts, len(block)])
    small = sizes <= SMALL_BLOCK
    pos = _ranges(starts[small], sizes[small])
    count = np.repeat(starts[small] + sizes[small], sizes[small]) - pos - 1  # partners after each name
    i, j = np.repeat(pos, count), _ranges(pos + 1, count)
    large_i, large_j = _matrix_pairs(prod, block, member, keys.product, starts[~small], sizes[~small])
    i, j = np.concatenate([i, large_i]), np.concatenate([j, large_j])
    blk, a, b = block[i], np.minimum(member[i], member[j]), np.maximum(member[i], member[j])
    ok = _admissible(keys, a, b, blk, n_entity)
    blk, a, b = blk[ok], a[ok], b[ok]
    score = prod.scores(keys.product[a], keys.product[b], POSSIBLE_SCORE)
    close = score > 0
    return blk[close], a[close], b[close], score[close]


def _matrix_pairs(prod: _Texts, block: np.ndarray, member: np.ndarray, product: np.ndarray,
                  starts: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (i, j) of the pairs of the large blocks scoring ``POSSIBLE_SCORE`` or more, by
    ``rapidfuzz.process.cdist`` (in C).

    Each block's names are sorted by length and compared a chunk at a time with the names after
    them whose length can still reach the score (ratio <= 200 * shorter / (shorter + longer)):
    each pair once, and pairs of very different lengths never reach rapidfuzz."""
    pos = _ranges(starts, sizes)
    if len(pos) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    lengths = prod.lengths[product[member[pos]]]
    span = int(lengths.max()) * 2 + 2
    order = np.argsort(block[pos] * span + lengths, kind="stable")  # by block, then length
    pos, lengths = pos[order], lengths[order]
    texts = prod.sorted_words[product[member[pos]]].tolist()
    place = block[pos] * span + lengths
    offsets = np.cumsum(sizes) - sizes  # each block's names in pos
    n_chunks = (sizes + _CHUNK - 1) // _CHUNK
    nth = np.arange(int(n_chunks.sum())) - np.repeat(np.cumsum(n_chunks) - n_chunks, n_chunks)
    chunk_start = np.repeat(offsets, n_chunks) + nth * _CHUNK
    chunk_end = np.minimum(chunk_start + _CHUNK, np.repeat(offsets + sizes, n_chunks))
    # longer names whose length can still reach the score: P * longer <= (200 - P) * shorter
    reach = (200 - POSSIBLE_SCORE) * lengths[chunk_end - 1] // POSSIBLE_SCORE
    band_end = np.searchsorted(place, place[chunk_end - 1] - lengths[chunk_end - 1] + reach, "right")
    scores = [_cdist(texts[i0:i1], texts[i0:j1], POSSIBLE_SCORE).ravel()
              for i0, i1, j1 in zip(chunk_start.tolist(), chunk_end.tolist(), band_end.tolist())]
    # the cells that reach the score, found in all matrices at once (row by row, matrix by matrix)
    width = band_end - chunk_start
    cells = np.cumsum((chunk_end - chunk_start) * width)
    hit = np.flatnonzero(np.concatenate(scores))
    matrix = np.searchsorted(cells, hit, "right")
    cell = hit - (cells - (chunk_end - chunk_start) * width)[matrix]
    i, j = chunk_start[matrix] + cell // width[matrix], chunk_start[matrix] + cell % width[matrix]
    later = j > i  # each pair once: the upper triangle
    return pos[i[later]], pos[j[later]]


def _subset_pairs(keys: _Keys, prod: _Texts, block: np.ndarray, member: np.ndarray, n_entity: int):
    """(block, a, b) of admissible pairs where one product name's words (two or more) are all in the other.

    Only names sharing the block and the smaller name's rarest word (in that block) are checked."""
    text = keys.product[member]
    count = prod.count[text]
    if count.sum() == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    entry = np.repeat(np.arange(len(member), dtype=np.int64), count)
    word = prod.words[_ranges(prod.ptr[text], count)]
    place = block[entry].astype(np.int64) * prod.width + word
    postings = np.argsort(place)
    starts = np.flatnonzero(_group_starts(place[postings]))  # the postings of each (block, word)
    sizes = np.diff(np.r_[starts, len(place)])
    group = np.empty(len(place), dtype=np.int64)
    group[postings] = np.repeat(np.arange(len(sizes)), sizes)
    # each name's rarest word in its block (ties: the smaller word id); entries are grouped by name, and
    # a name's words are distinct, so one entry of each name holds its minimum
    rank = sizes[group] * prod.width + word  # how many names of the block have the word, then the word
    has_words = count > 0
    lowest = np.minimum.reduceat(rank, (np.cumsum(count) - count)[has_words])
    rare_group = np.zeros(len(member), dtype=np.int64)
    rare_group[has_words] = group[rank == np.repeat(lowest, count[has_words])]
    two = np.flatnonzero(count >= 2)
    lo = starts[rare_group[two]]
    hi = lo + sizes[rare_group[two]]
    i = np.repeat(two, hi - lo)
    j = entry[postings[_ranges(lo, hi - lo)]]
    blk, a, b = block[i], np.minimum(member[i], member[j]), np.maximum(member[i], member[j])
    ok = (count[j] > count[i]) & _admissible(keys, a, b, blk, n_entity)
    i, j, blk, a, b = i[ok], j[ok], blk[ok], a[ok], b[ok]
    inside = prod.contains(text[i], text[j])
    return blk[inside], a[inside], b[inside]


def _fuzzy_pairs(keys: _Keys):
    """(a, b, is_link, score) for names that may be one product; a < b are key positions.

    In the order the blocks are visited (entities, then districts' first-word blocks; each pair once)."""
    prod = _Texts(keys.products)
    block, member, n_entity = _blocks(keys, prod)
    s_blk, s_a, s_b, s_score = _scored_pairs(keys, prod, block, member, n_entity)
    w_blk, w_a, w_b = _subset_pairs(keys, prod, block, member, n_entity)
    blk, a, b = np.concatenate([s_blk, w_blk]), np.concatenate([s_a, w_a]), np.concatenate([s_b, w_b])
    score = np.concatenate([s_score, np.full(len(w_a), np.nan)])
    sub = np.concatenate([np.zeros(len(s_a), bool), np.ones(len(w_a), bool)])
    order = np.lexsort((b, a, blk))
    blk, a, b, score, sub = blk[order], a[order], b[order], score[order], sub[order]
    start = np.flatnonzero(_group_starts(blk, a, b))
    if len(start):
        score = np.fmax.reduceat(score, start)
        sub = np.logical_or.reduceat(sub, start)
        blk, a, b = blk[start], a[start], b[start]
    cross = np.flatnonzero(blk >= n_entity)  # one judgement per pair, in the first block that holds it
    first = cross[_first_of_each(a[cross] * len(keys.names) + b[cross])]
    keep = np.r_[np.flatnonzero(blk < n_entity), first]
    blk, a, b, score, sub = blk[keep], a[keep], b[keep], score[keep], sub[keep]

    unknown = np.isnan(score)  # word-subset pairs below the score cut-off: their score is still shown
    score[unknown] = prod.scores(keys.product[a[unknown]], keys.product[b[unknown]])
    possible = (score >= POSSIBLE_SCORE) | sub
    link = score >= LINK_SCORE
    link[link] = ~prod.numbers_differ(keys.product[a[link]], keys.product[b[link]])
    cross = blk >= n_entity
    if cross.any():
        involved = _unique(np.concatenate([keys.entity[a[cross]], keys.entity[b[cross]]]))
        rests = _Texts(_entity_rests(keys.entities.take(pa.array(involved))))
        ra = np.searchsorted(involved, keys.entity[a[cross]])
        rb = np.searchsorted(involved, keys.entity[b[cross]])
        rest_score = rests.scores(ra, rb)
        possible[cross] &= (rest_score >= POSSIBLE_SCORE) | rests.subset(ra, rb)
        rest_link = link[cross] & (rest_score >= LINK_SCORE)
        rest_link[rest_link] = ~rests.numbers_differ(ra[rest_link], rb[rest_link])
        link[cross] = rest_link
        score[cross] = np.minimum(score[cross], rest_score)
    return a[possible], b[possible], link[possible], score[possible]


# --------------------------------------------------------------------------- clusters, problems

def _components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Connected components of n nodes joined by edges (a[i], b[i]): a label per node.

    Roots are hooked under the smaller root of each edge and paths halved until stable, in numpy."""
    label = np.arange(n)
    while len(a):
        la, lb = label[a], label[b]
        if (la == lb).all():
            break
        low = np.minimum(la, lb)
        np.minimum.at(label, la, low)
        np.minimum.at(label, lb, low)
        while True:
            up = label[label]
            if (up == label).all():
                break
            label = up
    return label


@functools.cache
def _anchor_id(key: str) -> str:
    """``P-`` + 10 hex digits of the SHA-1 of the anchor's key (memoised: registries repeat names)."""
    return "P-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]


def _cluster_ids(keys: _Keys, comp: np.ndarray) -> np.ndarray:
    """The id of each key's product: its one registry code, else from the anchor's key."""
    order = np.lexsort((keys.first_year_float, comp))  # stable: ties by key, i.e. by name
    start = _group_starts(comp[order])
    roots, anchors = comp[order][start], order[start]
    ids = np.empty(len(roots), dtype=object)
    coded = np.zeros(len(roots), dtype=bool)
    comp_code, code = _distinct_pairs(comp[keys.code_key], keys.code)
    if len(comp_code):
        with_code, counts = np.unique(comp_code, return_counts=True)
        single = with_code[counts == 1]
        at = np.searchsorted(roots, single)
        ids[at] = [keys.codes[c] for c in code[np.searchsorted(comp_code, single)].tolist()]
        coded[at] = True
    uncoded = anchors[~coded]
    ids[~coded] = list(map(_anchor_id, np.array(keys.names, dtype=object)[uncoded].tolist())) if len(uncoded) else []
    return ids[np.searchsorted(roots, comp)]


def _possible_link_problem(shown: list[dict], a: int, b: int, score: float) -> dict:
    """The warning for names a and b (key positions); ``shown`` holds each name's row to cite."""
    ra, rb = shown[a], shown[b]
    if rb["first_year"] is not None and (ra["first_year"] is None or rb["first_year"] < ra["first_year"]):
        ra, rb = rb, ra
    line = ra["csv"] + "," + rb["csv"] + ",confirm,<why>"
    message = (f'"{ra["product_name"]}" of {ra["entity_name"]} ({ra["where"]}) may be the same product as '
               f'"{rb["product_name"]}" of {rb["entity_name"]} ({rb["where"]}); similarity {score:.0f}/100, '
               f"not linked. Decide in data/links.csv: {line} (or split if they differ)")
    return {"file": rb["file_out"], "sheet": rb["sheet_out"], "row": rb["row"],
            "column": "product_name", "value": str(rb["product_name"]),
            "problem": "possible_link", "message": message}


def _csv_cell(value) -> str:
    text = "" if is_blank(value) else str(value)
    return '"' + text.replace('"', '""') + '"' if "," in text or '"' in text or "\n" in text else text
