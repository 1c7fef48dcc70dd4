"""Administrative geography before and after 1 July 2025, for any province, offline.

On 1 July 2025 Vietnam abolished the district level and merged 63 provinces into
34 (domain/OCOP.md §7.3): old Đồng Tháp (code 87, districts 866–877) and Tiền
Giang (82) became the new Đồng Tháp (code 82) with 102 communes and wards. Plans
were set per old district, registries written after the reform name the new
commune. This module finds the old district again, never by guessing.

The data comes from the ``vietnamadminunits`` package (MIT; GSO codes; the
63-province and 34-province tables, the old→new commune links, coordinates),
read from its bundled SQLite/JSON files — nothing is downloaded at run time.
Known errors in its links are dropped by ``reference/admin_link_corrections.csv``;
coordinates that disagree with the unit's own former communes are replaced by
their median (see ``reference/GEOGRAPHY.md``).

A *province* argument always names a province of the old, 63-province structure
(slug "dong-thap", "ben-tre", a name "Tỉnh Bến Tre" or a code 83): the kit's
plans and district codes live there. The 2025 communes are those of the new
province that old province is now part of ("dong-thap" → new Đồng Tháp, which
also holds former Tiền Giang).

>>> legacy_district_for_commune("xã Mỹ Xương").district_code
873
>>> legacy_district_for_commune("Xa Lai Vung").candidates
(875, 876)
>>> legacy_district_for_commune("xã Cái Bè").legacy_province
'tien-giang'
>>> parse_address("Ấp 2, xã Mỹ Ngãi, TP. Cao Lãnh").district_code
866
"""
from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from . import normalize, reference
from .normalize import DistrictMatch, clean_text, district_key, fold

__all__ = [
    "DATA_SOURCE", "province_code", "province_slug", "provinces", "merged_provinces", "current_province_code",
    "districts", "library_districts", "district_index", "resolve_legacy_district", "communes", "commune_links",
    "CommuneMatch", "legacy_district_for_commune", "resolve_communes",
    "RESULT_COLUMNS", "AddressMatch", "parse_address", "parse_addresses", "ADDRESS_COLUMNS",
    "locate_rows", "LOCATE_COLUMNS", "REFORM_DATE",
    "district_coordinates", "commune_coordinates",
]

DATA_SOURCE = "vietnamadminunits"
# A library coordinate further than this from the median of the unit's own parts is a geocoding slip.
_MAX_COORD_DEVIATION_KM = 10.0

_DISTRICT_TYPES = {  # library type -> (kit type, short prefix)
    "Thành phố": ("city", "TP."), "Thị xã": ("town", "TX."), "Huyện": ("district", "H."), "Quận": ("urban_district", "Q."),
}
_COMMUNE_TYPES = {"Xã": "commune", "Phường": "ward", "Thị trấn": "township", "Đặc khu": "special_zone"}


# --------------------------------------------------------------------------- library data

def _query(sql: str) -> pd.DataFrame:
    from vietnamadminunits.database import query  # documented API of the library

    return pd.DataFrame(query(sql))


def _converter() -> dict:
    path = resources.files("vietnamadminunits").joinpath("data", "converter_2025.json")
    return json.loads(path.read_text(encoding="utf-8"))


def _slug(short_name: str) -> str:
    return fold(short_name).replace(" ", "-")


@cache
def _legacy() -> pd.DataFrame:
    df = _query(
        "SELECT provinceCode, province, provinceShort, provinceKey, districtCode, district, districtType, "
        "districtKey, districtLat, districtLon, wardCode, ward, wardShort, wardType, wardKey, wardLat, wardLon "
        "FROM admin_units_legacy"
    )
    out = pd.DataFrame({
        "province_code": df["provinceCode"].astype(int),
        "province": df["province"], "province_slug": df["provinceShort"].map(_slug), "province_key": df["provinceKey"],
        "district_code": df["districtCode"].astype(int), "district": df["district"],
        "district_type": df["districtType"], "district_key": df["districtKey"],
        "district_lat": df["districtLat"].astype(float), "district_lon": df["districtLon"].astype(float),
        "code": pd.to_numeric(df["wardCode"]).astype("Int64"), "name": df["ward"], "short_name": df["wardShort"],
        "type": df["wardType"], "ward_key": df["wardKey"],
        "lat": df["wardLat"].astype(float), "lon": df["wardLon"].astype(float),
    })
    return out.sort_values(["province_code", "district_code", "code"]).reset_index(drop=True)


@cache
def _current() -> pd.DataFrame:
    df = _query(
        "SELECT provinceCode, province, provinceShort, provinceKey, wardCode, ward, wardShort, wardType, wardKey, "
        "wardLat, wardLon, wardAreaKm2 FROM admin_units"
    )
    out = pd.DataFrame({
        "province_code": df["provinceCode"].astype(int), "province": df["province"],
        "province_slug": df["provinceShort"].map(_slug), "province_key": df["provinceKey"],
        "code": df["wardCode"].astype(int), "name": df["ward"], "short_name": df["wardShort"], "type": df["wardType"],
        "ward_key": df["wardKey"], "lat": df["wardLat"].astype(float), "lon": df["wardLon"].astype(float),
        "area_km2": df["wardAreaKm2"].astype(float),
    })
    return out.sort_values(["province_code", "code"]).reset_index(drop=True)


@cache
def _links() -> pd.DataFrame:
    """Every (new commune, old commune) link of the whole country, with ``part`` for a split old commune."""
    conv = _converter()
    legacy = _legacy()
    leg_key = legacy["province_key"] + "_" + legacy["district_key"] + "_" + legacy["ward_key"].fillna("")
    old_by_key = dict(zip(leg_key, legacy.index))
    cur = _current()
    new_by_key = {(p, w): i for i, (p, w) in enumerate(zip(cur["province_key"], cur["ward_key"]))}
    rows = []
    for prov, wards in conv["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_key, olds in wards.items():
            for old in olds:
                rows.append((new_by_key.get((prov, new_key)), old_by_key.get(old), False))
    for prov, olds in conv["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old, news in olds.items():
            for new in news:
                rows.append((new_by_key.get((prov, new["newWardKey"])), old_by_key.get(old), True))
    links = pd.DataFrame(rows, columns=["new", "old", "part"]).dropna().astype({"new": int, "old": int})
    links = links.drop_duplicates(["new", "old"])
    out = pd.DataFrame({
        "province_code": cur.loc[links["new"], "province_code"].to_numpy(),
        "code": cur.loc[links["new"], "code"].to_numpy(), "name": cur.loc[links["new"], "name"].to_numpy(),
        "legacy_province_code": legacy.loc[links["old"], "province_code"].to_numpy(),
        "legacy_province": legacy.loc[links["old"], "province_slug"].to_numpy(),
        "district_code": legacy.loc[links["old"], "district_code"].to_numpy(),
        "district": legacy.loc[links["old"], "district"].to_numpy(),
        "old_code": legacy.loc[links["old"], "code"].to_numpy(), "old_name": legacy.loc[links["old"], "name"].to_numpy(),
        "part": links["part"].to_numpy(),
    })
    fixes = reference.table("admin_link_corrections")
    drop = set(zip(fixes.loc[fixes["action"] == "drop", "old_ward_code"].astype(int),
                   fixes.loc[fixes["action"] == "drop", "new_ward_code"].astype(int)))
    keep = [(int(o), int(n)) not in drop if pd.notna(o) else True for o, n in zip(out["old_code"], out["code"])]
    return out[keep].sort_values(["province_code", "code", "district_code", "old_code"]).reset_index(drop=True)


# --------------------------------------------------------------------------- provinces

@cache
def _province_lookup() -> dict[str, int]:
    legacy = _legacy().drop_duplicates("province_code")
    index: dict[str, int] = {}
    for code, name, slug in zip(legacy["province_code"], legacy["province"], legacy["province_slug"]):
        for key in (str(code), fold(name), slug, slug.replace("-", " ")):
            index[key] = code
    index["hcm"] = index["tp hcm"] = index["ho-chi-minh"]
    return index


def province_code(province: Any) -> int:
    """GSO code of an old (63-province) province from a slug, a name or a code.

    >>> province_code("dong-thap"), province_code("Tỉnh Bến Tre"), province_code(82)
    (87, 83, 82)
    """
    key = fold(province) if not isinstance(province, (int, np.integer)) else str(int(province))
    key = re.sub(r"^(tinh|thanh pho|tp)\s+", "", key)
    lookup = _province_lookup()
    for candidate in (key, key.replace(" ", "-"), str(province).strip().lower()):
        if candidate in lookup:
            return lookup[candidate]
    raise KeyError(f"unknown province {province!r}; use a slug such as 'dong-thap' or 'ben-tre', a name or a GSO code")


def province_slug(province: Any) -> str:
    """Slug of an old province: 'dong-thap', 'tien-giang', 'ben-tre'."""
    code = province_code(province)
    legacy = _legacy()
    return legacy.loc[legacy["province_code"] == code, "province_slug"].iloc[0]


def provinces(structure: str = "legacy") -> pd.DataFrame:
    """The 63 old provinces (structure="legacy") or the 34 of 2025 ("current"): code, name, slug."""
    df = _legacy() if structure == "legacy" else _current() if structure == "current" else None
    if df is None:
        raise ValueError("structure must be 'legacy' or 'current'")
    out = df.drop_duplicates("province_code")[["province_code", "province", "province_slug"]]
    return out.rename(columns={"province_code": "code", "province": "name", "province_slug": "slug"}).reset_index(drop=True)


@cache
def current_province_code(province: Any) -> int:
    """Code of the 2025 province an old province is now part of: 'dong-thap' (87) → 82, 'ben-tre' (83) → 86."""
    code = province_code(province)
    links = _links()
    codes = links.loc[links["legacy_province_code"] == code, "province_code"].unique()
    if len(codes) != 1:
        raise KeyError(f"province {province!r} maps to {len(codes)} provinces of 2025")
    return int(codes[0])


@cache
def merged_provinces(province: Any) -> tuple[int, ...]:
    """Old provinces merged into the same 2025 province, the named one first: 'dong-thap' → (87, 82)."""
    code = province_code(province)
    links = _links()
    others = sorted(set(links.loc[links["province_code"] == current_province_code(code), "legacy_province_code"]) - {code})
    return (code, *map(int, others))


# --------------------------------------------------------------------------- districts (old structure)

def _short_district(name: str, dtype: str) -> str:
    prefix = _DISTRICT_TYPES.get(dtype, (None, ""))[1]
    bare = name[len(dtype):].strip() if name.startswith(dtype) else name
    return f"{prefix} {bare}".strip()


@cache
def _districts(code: int) -> pd.DataFrame:
    legacy = _legacy()
    rows = legacy[legacy["province_code"] == code]
    d = rows.drop_duplicates("district_code").sort_values("district_code")
    out = pd.DataFrame({
        "province": d["province_slug"], "code": d["district_code"], "name": d["district"],
        "short_name": [_short_district(n, t) for n, t in zip(d["district"], d["district_type"])],
        "type": d["district_type"].map(lambda t: _DISTRICT_TYPES.get(t, ("other",))[0]),
        "order": range(1, len(d) + 1),
    }).reset_index(drop=True)
    coords = district_coordinates(code)
    rows_, cols_ = _tile_positions(coords["lat"].to_numpy(), coords["lon"].to_numpy())
    out["tile_row"], out["tile_col"] = rows_, cols_
    return out


def districts(province: Any = reference.DEFAULT_PROVINCE) -> pd.DataFrame:
    """District-level units of any old province, shaped like ``reference.districts()``:
    province, code, name, short_name, type, order, tile_row, tile_col.

    A province with curated reference rows (Đồng Tháp) returns ``reference.districts()``;
    any other is built from the library (GSO order; tiles placed from the coordinates).

    >>> districts("ben-tre")["name"].head(2).tolist()
    ['Thành phố Bến Tre', 'Huyện Châu Thành']
    """
    return _disk_cached("districts", province).copy()


def _districts_uncached(province: Any) -> pd.DataFrame:
    slug = province_slug(province)
    if slug in normalize._curated_provinces():
        return reference.districts(slug)
    return library_districts(slug)


def library_districts(province: Any) -> pd.DataFrame:
    """``districts()`` built from the library alone (GSO order; tiles placed from the coordinates)."""
    return _districts(province_code(province)).copy()


def _tile_positions(lat: np.ndarray, lon: np.ndarray) -> tuple[list[int], list[int]]:
    """A schematic grid (north at the top) keeping each unit near its real position, one unit per tile."""
    n = len(lat)
    if n == 0:
        return [], []
    size = max(2, math.ceil(math.sqrt(n)) + 1)
    span_lat = (np.nanmax(lat) - np.nanmin(lat)) or 1.0
    span_lon = (np.nanmax(lon) - np.nanmin(lon)) or 1.0
    target_r = np.round((np.nanmax(lat) - lat) / span_lat * (size - 1))
    target_c = np.round((lon - np.nanmin(lon)) / span_lon * (size - 1))
    taken: dict[tuple[int, int], int] = {}
    rows, cols = [0] * n, [0] * n
    centre = np.array([np.nanmean(lat), np.nanmean(lon)])
    order = np.argsort(np.hypot(lat - centre[0], lon - centre[1]))
    cells = [(r, c) for r in range(size) for c in range(size)]
    for i in order:
        tr, tc = (0, 0) if np.isnan(target_r[i]) else (int(target_r[i]), int(target_c[i]))
        free = min((cell for cell in cells if cell not in taken), key=lambda cell: (abs(cell[0] - tr) + abs(cell[1] - tc), cell))
        taken[free] = i
        rows[i], cols[i] = free
    return rows, cols


@cache
def district_index(province: Any = reference.DEFAULT_PROVINCE) -> dict[str, tuple[int, ...]]:
    """Alias index for ``normalize.resolve_district``: ``district_key(alias)`` → district codes.

    Official names ("Huyện Châu Thành"), short forms ("H. Châu Thành") and bare names; a bare
    name shared by two units ("Cai Lậy": town 817 and district 820) maps to both (ambiguous).
    The curated aliases of ``reference/district_aliases.csv`` are merged in for their province.
    """
    slug = province_slug(province)
    index: dict[str, set[int]] = {}
    for row in districts(slug).itertuples():
        bare = re.sub(r"^(thành phố|thị xã|huyện|quận)\s+", "", row.name, flags=re.IGNORECASE)
        for name in (row.name, row.short_name, bare):
            index.setdefault(district_key(name), set()).add(int(row.code))
    aliases = reference.table("district_aliases")
    for alias, code in zip(aliases.loc[aliases["province"] == slug, "alias"], aliases.loc[aliases["province"] == slug, "code"]):
        index.setdefault(district_key(alias), set()).add(int(code))
    return {k: tuple(sorted(v)) for k, v in index.items() if k}


@cache
def resolve_legacy_district(value: Any, province: Any = reference.DEFAULT_PROVINCE) -> DistrictMatch:
    """``normalize.resolve_district`` for any old province (same statuses; never guesses).

    >>> resolve_legacy_district("H. Chợ Lách", "ben-tre").code
    832
    >>> resolve_legacy_district("Cai Lậy", "tien-giang").candidates
    (817, 820)
    """
    slug = province_slug(province)
    if slug == reference.DEFAULT_PROVINCE:
        return normalize.resolve_district(value, slug)
    text = clean_text(value)
    if text is None:
        return DistrictMatch(None, "blank")
    index = district_index(slug)
    key = district_key(text)
    if key not in index:  # a trailing ", tỉnh Bến Tre"
        key = re.sub(r"\s*(?:tinh\s+)?" + re.escape(slug.replace("-", " ")) + r"$", "", key) or key
    codes = index.get(key, ())
    if len(codes) == 1:
        return DistrictMatch(text, "ok", codes[0], codes)
    if codes:
        return DistrictMatch(text, "ambiguous", None, codes)
    return DistrictMatch(text, "unknown", None, (), normalize._suggest(key, index))


@cache
def _district_names() -> dict[int, tuple[str, int, str]]:
    legacy = _legacy().drop_duplicates("district_code")
    return {int(c): (n, int(p), s) for c, n, p, s in
            zip(legacy["district_code"], legacy["district"], legacy["province_code"], legacy["province_slug"])}


# --------------------------------------------------------------------------- communes

def communes(province: Any = reference.DEFAULT_PROVINCE, structure: str = "current") -> pd.DataFrame:
    """Communes/wards of a province with their codes and centroids.

    structure="current": the 2025 communes of the new province the old one is part of
    (province, code, name, short_name, type, lat, lon, area_km2, districts = old district
    codes it was formed from, legacy_provinces). structure="legacy": the pre-2025 communes
    of the old province (province, district_code, district, code, name, short_name, type, lat, lon).
    """
    if structure == "current":
        return commune_coordinates(province, structure="current")
    if structure == "legacy":
        return commune_coordinates(province, structure="legacy")
    raise ValueError("structure must be 'current' or 'legacy'")


def commune_links(province: Any = reference.DEFAULT_PROVINCE) -> pd.DataFrame:
    """Old→new links of the 2025 province that ``province`` is part of, one row per (new, old) pair:
    code, name (new commune), legacy_province_code, legacy_province, district_code, district,
    old_code, old_name, part (True when only part of the old commune went to this new one)."""
    links = _links()
    return links[links["province_code"] == current_province_code(province)].reset_index(drop=True)


_TONES = [("oà", "òa"), ("oá", "óa"), ("oả", "ỏa"), ("oã", "õa"), ("oạ", "ọa"), ("oè", "òe"), ("oé", "óe"),
          ("oẻ", "ỏe"), ("oẽ", "õe"), ("oẹ", "ọe"), ("uỳ", "ùy"), ("uý", "úy"), ("uỷ", "ủy"), ("uỹ", "ũy"), ("uỵ", "ụy")]
_UNIT_WORDS = [  # (accent-insensitive prefix tokens, accepted accented spellings of the first token, kind)
    (("thi", "tran"), None, "Thị trấn"), (("tt",), None, "Thị trấn"),
    (("phuong",), None, "Phường"), (("p",), None, "Phường"), (("f",), None, "Phường"),
    (("xa",), {"xã", "xa"}, "Xã"), (("x",), None, "Xã"), (("dac", "khu"), None, "Đặc khu"),
]


def _accent_key(text: str) -> str:
    """Case-folded NFC text with the old/new tone placement unified ("Hoà" = "Hòa"), punctuation as spaces."""
    text = unicodedata.normalize("NFC", text).casefold()
    for old, new in _TONES:
        text = text.replace(old, new)
    text = re.sub(r"[^\w\s]|_", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def _number_norm(key: str) -> str:
    return re.sub(r"\b0+(\d)", r"\1", key)


def _split_unit(text: str) -> tuple[str | None, str, str]:
    """('Xã'|'Phường'|'Thị trấn'|'Đặc khu'|None, folded name, accented name) of a commune name."""
    cleaned = clean_text(text) or ""
    cleaned = re.sub(r"^([PpFfXx])\.?\s*(\d)", r"\1 \2", cleaned)          # "P.4", "P4", "F4"
    cleaned = re.sub(r"^(TT|tt|Tt)\.\s*", "TT ", cleaned)
    folded, accented = fold(cleaned).split(), _accent_key(cleaned).split()
    for tokens, spellings, kind in _UNIT_WORDS:
        n = len(tokens)
        if len(folded) > n and tuple(folded[:n]) == tokens:
            if spellings is not None and accented[0] not in spellings:
                continue
            if len(tokens[0]) == 1 and not (folded[n][0].isdigit() or cleaned[1:2] in (".", " ")):
                continue
            return kind, _number_norm(" ".join(folded[n:])), _number_norm(" ".join(accented[n:]))
    return None, _number_norm(" ".join(folded)), _number_norm(" ".join(accented))


@cache
def _commune_index(structure: str, province_codes: tuple[int, ...]) -> dict[str, list[dict]]:
    """folded short name → records (kind, accented name, code, name, districts, legacy province codes)."""
    index: dict[str, list[dict]] = {}
    if structure == "current":
        cur = _current()
        links = _links()
        cur = cur[cur["province_code"].isin(province_codes)]
        by_code = {c: g for c, g in links[links["province_code"].isin(province_codes)].groupby("code")}
        for row in cur.itertuples():
            g = by_code.get(row.code)
            dists = tuple(sorted(set(map(int, g["district_code"])))) if g is not None else ()
            kind, fkey, akey = _split_unit(row.name)
            index.setdefault(fkey, []).append(dict(kind=kind, akey=akey, code=int(row.code), name=row.name,
                                                   province_code=int(row.province_code), districts=dists))
    else:
        legacy = _legacy()
        legacy = legacy[legacy["province_code"].isin(province_codes) & legacy["name"].notna()]
        links = _links()
        new_of_old = links.groupby("old_code")["code"].agg(lambda s: tuple(sorted(set(map(int, s)))))
        for row in legacy.itertuples():
            kind, fkey, akey = _split_unit(row.name)
            index.setdefault(fkey, []).append(dict(kind=kind, akey=akey, code=int(row.code), name=row.name,
                                                   province_code=int(row.province_code),
                                                   districts=(int(row.district_code),),
                                                   new_codes=new_of_old.get(row.code, ())))
    return index


def _lookup(text: str, structure: str, province_codes: tuple[int, ...], strict_kind: bool) -> list[dict]:
    kind, fkey, akey = _split_unit(text)
    found = _commune_index(structure, province_codes).get(fkey, [])
    if kind is not None:
        typed = [r for r in found if r["kind"] == kind]
        found = typed if (typed or strict_kind) else found
    if len({r["akey"] for r in found}) > 1 and akey != fkey:   # diacritics written: they discriminate
        exact = [r for r in found if r["akey"] == akey]
        found = exact or found
    return found


@dataclass(frozen=True)
class CommuneMatch:
    """Where a commune name leads. status (of the old district): ok | ambiguous | unknown | blank.

    structure says which list the name was found in ("current" = 2025 communes, "legacy" =
    pre-2025 communes). candidates are the old district codes the commune was formed from
    (ambiguous when more than one); legacy_province is the old province ("tien-giang" for a
    commune of former Tiền Giang). province_code is the 2025 province code.
    """

    text: str | None
    status: str
    structure: str | None = None
    commune: str | None = None
    commune_code: int | None = None
    province_code: int | None = None
    district_code: int | None = None
    district: str | None = None
    candidates: tuple[int, ...] = ()
    legacy_province: str | None = None
    legacy_province_code: int | None = None
    communes: tuple[str, ...] = ()
    note: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def candidate_names(self) -> tuple[str, ...]:
        names = _district_names()
        return tuple(names[c][0] for c in self.candidates if c in names)


def _resolve_hint(district: Any, scope: tuple[int, ...]) -> DistrictMatch | None:
    if district is None or normalize.is_blank(district):
        return None
    if isinstance(district, (int, np.integer)) or (isinstance(district, float) and district.is_integer()):
        code = int(district)
        return DistrictMatch(str(code), "ok", code, (code,)) if code in _district_names() else DistrictMatch(str(code), "unknown")
    first = None
    for prov in scope:
        match = resolve_legacy_district(district, prov)
        first = first or match
        if match.status in ("ok", "ambiguous"):
            return match
    return first


@cache
def legacy_district_for_commune(name: Any, province: Any = reference.DEFAULT_PROVINCE, district: Any = None,
                                structure: str = "auto") -> CommuneMatch:
    """The old district of a commune written the 2025 way ("xã Lai Vung", "phường Sa Đéc") or the old way
    ("xã Mỹ Xương", "phường 4" + district). Never guesses: a 2025 commune formed from communes of
    several old districts is ``ambiguous`` with every candidate; a name shared by several communes too.

    ``district`` (a name or code) narrows the candidates — the way to settle "phường 4" or a
    merged commune when the row also names its old district. ``structure`` = "auto" (2025 names
    first, then old ones), "current" or "legacy" (e.g. for rows dated before 1 July 2025).
    Communes of every old province merged into the same 2025 province are searched (old Đồng Tháp
    and Tiền Giang for "dong-thap"); rows from former Tiền Giang keep legacy_province "tien-giang".

    >>> m = legacy_district_for_commune("phường Sa Đéc")
    >>> m.status, m.district_code, m.commune_code
    ('ok', 867, 29905)
    >>> legacy_district_for_commune("phường 4", district="TP. Cao Lãnh").district_code
    866
    """
    text = clean_text(name)
    if text is None:
        return CommuneMatch(None, "blank")
    scope = merged_provinces(province)
    current_scope = (current_province_code(province),)
    if structure not in ("auto", "current", "legacy"):
        raise ValueError("structure must be 'auto', 'current' or 'legacy'")
    order = {"auto": [("current", True), ("legacy", True), ("current", False), ("legacy", False)],
             "current": [("current", True), ("current", False)],
             "legacy": [("legacy", True), ("legacy", False)]}[structure]
    found, used = [], None
    for struct, strict in order:
        found = _lookup(text, struct, current_scope if struct == "current" else scope, strict)
        if found:
            used = struct
            break
    if not found:
        return CommuneMatch(text, "unknown", note="no commune of this name in the province (2025 or before)")
    hint = _resolve_hint(district, scope)
    note = None
    if hint is not None and hint.status in ("ok", "ambiguous"):
        allowed = set(hint.candidates)
        narrowed = [dict(r, districts=tuple(d for d in r["districts"] if d in allowed))
                    for r in found if allowed & set(r["districts"])]
        if narrowed:
            found = narrowed
        else:
            note = f"{text} is not in {hint.text}; the district was ignored"
    return _commune_result(text, used, found, note)


def _commune_result(text: str, structure: str, found: list[dict], note: str | None) -> CommuneMatch:
    names = _district_names()
    candidates = tuple(sorted({d for r in found for d in r["districts"]}))
    provs = {names[d][1] for d in candidates if d in names}
    legacy_prov = legacy_code = None
    if len(provs) == 1:
        legacy_code = provs.pop()
        legacy_prov = names[candidates[0]][2]
    single = found[0] if len({r["code"] for r in found}) == 1 else None
    commune = single["name"] if single else None
    if structure == "current":
        commune_code = single["code"] if single else None
    else:
        new_codes = single.get("new_codes", ()) if single else ()
        commune_code = new_codes[0] if len(new_codes) == 1 else None
    province_code = found[0]["province_code"] if structure == "current" else None
    if structure == "legacy" and candidates:
        try:
            province_code = current_province_code(names[candidates[0]][1])
        except KeyError:
            province_code = None
    status = "ok" if len(candidates) == 1 else "ambiguous" if candidates else "unknown"
    district_code = candidates[0] if status == "ok" else None
    return CommuneMatch(
        text, status, structure, commune, commune_code, province_code, district_code,
        names[district_code][0] if district_code in names else None, candidates, legacy_prov, legacy_code,
        tuple(sorted({r["name"] for r in found})), note,
    )


RESULT_COLUMNS = ["commune_status", "commune", "commune_code", "province_code", "legacy_province",
                  "legacy_province_code", "district_code", "district", "district_candidates", "commune_structure"]


def resolve_communes(communes: pd.Series, province: Any = reference.DEFAULT_PROVINCE, *,
                     districts: pd.Series | None = None, structure: str = "auto") -> pd.DataFrame:
    """Vectorised ``legacy_district_for_commune`` for a loader column (each distinct value once).

    Returns a frame aligned to ``communes.index`` with RESULT_COLUMNS; ``district_candidates``
    holds the tuple of old district codes (several when ambiguous).
    """
    hints = districts if districts is not None else pd.Series([None] * len(communes), index=communes.index)
    pairs = pd.Series(list(zip(communes.astype(object), hints.astype(object))), index=communes.index)
    matches = normalize.map_unique(pairs, lambda p: legacy_district_for_commune(
        _none(p[0]), province, _none(p[1]), structure))
    return _frame(matches, communes.index)


def _none(value: Any) -> Any:
    return None if normalize.is_blank(value) else value


def _frame(matches: pd.Series, index: pd.Index) -> pd.DataFrame:
    out = pd.DataFrame({
        "commune_status": [m.status for m in matches],
        "commune": pd.array([m.commune for m in matches], dtype="string"),
        "commune_code": pd.array([m.commune_code for m in matches], dtype="Int64"),
        "province_code": pd.array([m.province_code for m in matches], dtype="Int64"),
        "legacy_province": pd.array([m.legacy_province for m in matches], dtype="string"),
        "legacy_province_code": pd.array([m.legacy_province_code for m in matches], dtype="Int64"),
        "district_code": pd.array([m.district_code for m in matches], dtype="Int64"),
        "district": pd.array([m.district for m in matches], dtype="string"),
        "district_candidates": [m.candidates for m in matches],
        "commune_structure": pd.array([m.structure for m in matches], dtype="string"),
    }, index=index)
    return out


# --------------------------------------------------------------------------- addresses

@dataclass(frozen=True)
class AddressMatch:
    """An address split into its administrative parts and resolved.

    status is that of the old district (ok | ambiguous | unknown | blank); commune_* and the
    district fields as in CommuneMatch; locality is what came before the commune (house number,
    street, ấp/khóm).
    """

    text: str | None
    status: str
    locality: str | None = None
    commune_text: str | None = None
    district_text: str | None = None
    province_text: str | None = None
    commune: str | None = None
    commune_code: int | None = None
    district_code: int | None = None
    district: str | None = None
    candidates: tuple[int, ...] = ()
    legacy_province: str | None = None
    legacy_province_code: int | None = None
    structure: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


_SPLIT = re.compile(r"\s*[,;]\s*|\s+[-–]\s+")
_DISTRICT_PREFIX = re.compile(r"^(tp|tx|h|q)\s")
_PROVINCE_PREFIX = re.compile(r"^(tinh|t|thanh pho|tp)\s+")


def _province_part(part: str) -> int | None:
    key = fold(part)
    if not key:
        return None
    m = _PROVINCE_PREFIX.match(key)
    bare = key[m.end():] if m else key
    if not m and bare not in _province_lookup():
        return None
    try:
        return province_code(bare)
    except KeyError:
        return None


_LOCALITY = re.compile(r"^(ap|khom|to|so|khu|duong|thon|xom|bon|buon|lo|quoc lo|ql|tinh lo|dt)\b|^\d")


def _is_district(part: str, scope: list[int]) -> bool:
    match = _resolve_hint(part, tuple(scope))
    return match is not None and match.status in ("ok", "ambiguous")


@cache
def parse_address(text: Any, province: Any = reference.DEFAULT_PROVINCE) -> AddressMatch:
    """Commune, old district and old province of an address ("Ấp 2, xã Mỹ Ngãi, TP. Cao Lãnh";
    "số 40/1 Trần Thị Nhượng, khóm 2, phường 4, thành phố Cao Lãnh"; "ấp Tân Hòa, xã Tân Bình,
    huyện Châu Thành, tỉnh Đồng Tháp"; after 2025 "ấp 3, xã Lai Vung, tỉnh Đồng Tháp").

    The administrative parts are read from the right: province, district (an old-style address),
    then commune. A district part settles names shared across districts ("phường 4").

    >>> m = parse_address("số 40/1 Trần Thị Nhượng, khóm 2, phường 4, thành phố Cao Lãnh")
    >>> m.commune, m.district_code
    ('Phường 4', 866)
    """
    raw = clean_text(text)
    if raw is None:
        return AddressMatch(None, "blank")
    parts = [p for p in _SPLIT.split(raw) if p]
    scope = list(merged_provinces(province))
    province_text = district_text = commune_text = None
    # province: the last part when it names one
    if len(parts) > 1 and _province_part(parts[-1]) is not None:
        province_text = parts.pop()
        named = _province_part(province_text)
        scope = [named] + [p for p in scope if p != named] if named in scope else [named]
    kinds = [_split_unit(p)[0] for p in parts]
    # commune: the rightmost part with a commune prefix (xã, phường, thị trấn, P.)
    c_at = next((i for i in range(len(parts) - 1, -1, -1) if kinds[i] is not None), None)
    # district: the rightmost part with a district prefix; else a bare name right of the commune
    d_at = next((i for i in range(len(parts) - 1, -1, -1)
                 if kinds[i] is None and _DISTRICT_PREFIX.match(district_key(parts[i]) + " ")), None)
    if d_at is None:
        start = c_at + 1 if c_at is not None else 1
        d_at = next((i for i in range(len(parts) - 1, start - 1, -1) if _is_district(parts[i], scope)), None)
    if c_at is None:  # a bare commune name just left of the district (or last)
        i = (d_at if d_at is not None else len(parts)) - 1
        if i >= 0 and not _LOCALITY.match(fold(parts[i])) and \
                legacy_district_for_commune(parts[i], scope[0]).status != "unknown":
            c_at = i
    district_text = parts[d_at] if d_at is not None else None
    commune_text = parts[c_at] if c_at is not None else None
    parts = [p for i, p in enumerate(parts) if i not in (c_at, d_at)]
    locality = ", ".join(parts) or None
    base = dict(text=raw, locality=locality, commune_text=commune_text, district_text=district_text,
                province_text=province_text)
    hint = _resolve_hint(district_text, tuple(scope)) if district_text else None
    if commune_text is not None:
        structure = "legacy" if district_text else "auto"
        match = legacy_district_for_commune(commune_text, scope[0], district_text, structure)
        if match.status == "unknown" and district_text:
            match = legacy_district_for_commune(commune_text, scope[0], district_text, "auto")
        if match.status != "unknown" and not (match.note and hint is not None and hint.ok):
            return AddressMatch(**base, status=match.status, commune=match.commune, commune_code=match.commune_code,
                                district_code=match.district_code, district=match.district,
                                candidates=match.candidates, legacy_province=match.legacy_province,
                                legacy_province_code=match.legacy_province_code, structure=match.structure)
    if hint is not None:
        names = _district_names()
        code = hint.code if hint.ok else None
        info = names.get(code) if code else None
        return AddressMatch(**base, status=hint.status if hint.status != "blank" else "unknown",
                            district_code=code, district=info[0] if info else None, candidates=hint.candidates,
                            legacy_province=info[2] if info else None, legacy_province_code=info[1] if info else None,
                            structure="legacy")
    return AddressMatch(**base, status="unknown")


ADDRESS_COLUMNS = ["address_status", "commune", "commune_code", "district_code", "district", "district_candidates",
                   "legacy_province", "legacy_province_code", "locality"]


def parse_addresses(addresses: pd.Series, province: Any = reference.DEFAULT_PROVINCE) -> pd.DataFrame:
    """Vectorised ``parse_address`` (each distinct address once), aligned to the input index."""
    matches = normalize.map_unique(addresses, lambda a: parse_address(_none(a), province))
    return pd.DataFrame({
        "address_status": [m.status for m in matches],
        "commune": pd.array([m.commune for m in matches], dtype="string"),
        "commune_code": pd.array([m.commune_code for m in matches], dtype="Int64"),
        "district_code": pd.array([m.district_code for m in matches], dtype="Int64"),
        "district": pd.array([m.district for m in matches], dtype="string"),
        "district_candidates": [m.candidates for m in matches],
        "legacy_province": pd.array([m.legacy_province for m in matches], dtype="string"),
        "legacy_province_code": pd.array([m.legacy_province_code for m in matches], dtype="Int64"),
        "locality": pd.array([m.locality for m in matches], dtype="string"),
    }, index=addresses.index)


# --------------------------------------------------------------------------- rows of a registry

LOCATE_COLUMNS = ["district_code", "district", "district_source", "district_candidates", "commune", "commune_code",
                  "province_code", "legacy_province", "legacy_province_code"]
REFORM_DATE = pd.Timestamp("2025-07-01")  # two-tier local government (no districts) from this day


def locate_rows(frame: pd.DataFrame, province: Any = reference.DEFAULT_PROVINCE, *, district: str = "district",
                commune: str = "commune", address: str = "address", date: str | None = "decision_date",
                ) -> tuple[pd.DataFrame, list[dict]]:
    """Where each row of a registry is, for the loader: from its district column, else its commune,
    else its address (each distinct value resolved once).

    Returns (frame aligned to ``frame.index`` with LOCATE_COLUMNS, problem dicts). A row whose
    only clue is a 2025 commune formed from several old districts gets no district and an
    ``ambiguous_legacy_district`` problem naming the candidates. Rows dated before 1 July 2025
    read commune names as pre-2025 names. Missing columns are treated as empty.
    """
    idx = frame.index
    empty = pd.Series([None] * len(frame), index=idx, dtype=object)
    col = lambda name: frame[name].astype(object) if name and name in frame.columns else empty  # noqa: E731
    scope = merged_provinces(province)
    d_match = normalize.map_unique(col(district), lambda t: _resolve_hint(_none(t), scope))
    when = pd.to_datetime(col(date), errors="coerce") if date and date in frame.columns else pd.Series(pd.NaT, index=idx)
    old_rows = when < REFORM_DATE
    c_series = col(commune)
    out = pd.concat([
        resolve_communes(c_series[~old_rows], province, districts=col(district)[~old_rows], structure="auto"),
        resolve_communes(c_series[old_rows], province, districts=col(district)[old_rows], structure="legacy"),
    ]).reindex(idx)
    a_res = parse_addresses(col(address), province)
    names = _district_names()
    d_code = d_match.map(lambda m: m.code if m is not None and m.status == "ok" else None)
    has_d = d_code.notna()
    use_c = ~has_d & out["commune_status"].isin(["ok", "ambiguous"])
    use_a = ~has_d & ~use_c & a_res["address_status"].isin(["ok", "ambiguous"])
    source = pd.Series(np.select([has_d, use_c, use_a], ["district", "commune", "address"], ""), index=idx)
    code = d_code.where(has_d, out["district_code"].astype(object).where(use_c, a_res["district_code"].astype(object)))
    code = code.where(has_d | use_c | use_a).map(lambda c: None if c is None or pd.isna(c) else int(c))
    cands = d_code.map(lambda c: (c,) if c is not None and not pd.isna(c) else ())
    cands = cands.where(has_d, out["district_candidates"].where(use_c, a_res["district_candidates"].where(use_a, [()] * len(idx))))
    pick = lambda name: out[name].astype(object).where(~use_a, a_res[name].astype(object))  # noqa: E731
    info = code.map(lambda c: names.get(c) if c is not None else None)
    legacy_code = info.map(lambda t: t[1] if t else None).where(code.notna(), pick("legacy_province_code"))
    legacy_slug = info.map(lambda t: t[2] if t else None).where(code.notna(), pick("legacy_province"))
    current = normalize.map_unique(legacy_code, lambda c: None if c is None or pd.isna(c) else current_province_code(int(c)))
    result = pd.DataFrame({
        "district_code": pd.array(code.tolist(), dtype="Int64"),
        "district": pd.array(info.map(lambda t: t[0] if t else None).tolist(), dtype="string"),
        "district_source": pd.array(source.replace("", None).tolist(), dtype="string"),
        "district_candidates": cands.map(tuple).tolist(),
        "commune": pd.array(pick("commune").map(_none).tolist(), dtype="string"),
        "commune_code": pd.array(pick("commune_code").map(_none).tolist(), dtype="Int64"),
        "province_code": pd.array(current.where(current.notna(), out["province_code"].astype(object)).map(_none).tolist(),
                                  dtype="Int64"),
        "legacy_province": pd.array(legacy_slug.map(_none).tolist(), dtype="string"),
        "legacy_province_code": pd.array(legacy_code.map(_none).tolist(), dtype="Int64"),
    }, index=idx)
    flagged = ((use_c | use_a) & result["district_code"].isna() & result["district_candidates"].map(len).gt(1)).to_numpy()
    positions = np.flatnonzero(flagged)
    if not len(positions):
        return result, []
    meta = {name: (frame[name].to_numpy(dtype=object) if name in frame.columns else np.full(len(frame), None, dtype=object))
            for name in ("source_file", "source_sheet", "source_row")}
    commune_values, address_values = c_series.to_numpy(dtype=object), col(address).to_numpy(dtype=object)
    by_commune, structures = use_c.to_numpy(), out["commune_structure"].to_numpy(dtype=object)
    found_commune, candidates = out["commune"].isna().to_numpy(), result["district_candidates"].to_numpy(dtype=object)
    problems = []
    for k in positions:
        column = "commune" if by_commune[k] else "address"
        value = commune_values[k] if by_commune[k] else address_values[k]
        merged = bool(by_commune[k] and structures[k] == "current" and not found_commune[k])
        problems.append(_ambiguous_problem(meta["source_file"][k], meta["source_sheet"][k], meta["source_row"][k],
                                           column, value, candidates[k], merged))
    return result, problems


def _ambiguous_problem(file: Any, sheet: Any, row: Any, column: str, value: Any, candidates: tuple[int, ...],
                       merged: bool) -> dict:
    names = _district_names()
    options = " or ".join(f"{names[c][0]} ({c})" for c in candidates if c in names)
    where = f"row {row}" if row is not None and not pd.isna(row) else "a row"
    return {
        "file": file, "sheet": sheet, "row": row, "column": column, "value": value,
        "problem": "ambiguous_legacy_district", "severity": "warning",
        "message": (f"{where}: '{value}' " + (f"was formed in 2025 from communes of {options}" if merged else
                                               f"could be in {options}")
                    + "; the old district is left empty — write it in the district column to count this row"),
    }


# --------------------------------------------------------------------------- coordinates

def _haversine_km(lat1, lon1, lat2, lon2):
    lat1, lon1, lat2, lon2 = map(np.radians, (lat1, lon1, lat2, lon2))
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(h))


def _checked(lat: pd.Series, lon: pd.Series, med_lat: pd.Series, med_lon: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Keep the library's point unless missing or further than the limit from the parts' median."""
    dev = pd.Series(_haversine_km(lat, lon, med_lat, med_lon), index=lat.index)
    use_median = lat.isna() | lon.isna() | (dev > _MAX_COORD_DEVIATION_KM)
    use_median &= med_lat.notna()
    source = pd.Series(np.where(use_median, "median of parts", DATA_SOURCE), index=lat.index)
    return lat.where(~use_median, med_lat), lon.where(~use_median, med_lon), source


@cache
def _district_coordinates(code: int) -> pd.DataFrame:
    legacy = _legacy()
    rows = legacy[legacy["province_code"] == code]
    g = rows.groupby("district_code")
    first = g.first()
    med_lat, med_lon = g["lat"].median(), g["lon"].median()
    lat, lon, source = _checked(first["district_lat"], first["district_lon"], med_lat, med_lon)
    return pd.DataFrame({
        "province": first["province_slug"], "code": first.index.astype(int), "name": first["district"],
        "lat": lat.to_numpy(), "lon": lon.to_numpy(), "coord_source": source.to_numpy(),
    }).reset_index(drop=True)


def district_coordinates(province: Any = reference.DEFAULT_PROVINCE) -> pd.DataFrame:
    """Centroids of the old districts of a province: province, code, name, lat, lon, coord_source.

    Kept in the kit's cache folder after the first call (see :func:`_disk_cached`).

    >>> district_coordinates("dong-thap").set_index("code").loc[876, "name"]
    'Huyện Lai Vung'
    """
    return _disk_cached("district_coordinates", province).copy()


@cache
def _commune_coordinates(code: int, structure: str) -> pd.DataFrame:
    if structure == "legacy":
        legacy = _legacy()
        rows = legacy[(legacy["province_code"] == code) & legacy["name"].notna()]
        return pd.DataFrame({
            "province": rows["province_slug"], "district_code": rows["district_code"], "district": rows["district"],
            "code": rows["code"].astype(int), "name": rows["name"], "short_name": rows["short_name"],
            "type": rows["type"].map(lambda t: _COMMUNE_TYPES.get(t, "other")), "lat": rows["lat"], "lon": rows["lon"],
            "coord_source": DATA_SOURCE,
        }).reset_index(drop=True)
    cur = _current()
    rows = cur[cur["province_code"] == code].set_index("code")
    links = _links()
    links = links[(links["province_code"] == code) & ~links["part"]]
    legacy = _legacy().dropna(subset=["code"]).drop_duplicates("code").set_index("code")
    parts = links.join(legacy[["lat", "lon"]], on="old_code")
    med = parts.groupby("code")[["lat", "lon"]].median().reindex(rows.index)
    lat, lon, source = _checked(rows["lat"], rows["lon"], med["lat"], med["lon"])
    all_links = _links()
    all_links = all_links[all_links["province_code"] == code]
    dists = all_links.groupby("code")["district_code"].agg(lambda s: tuple(sorted(set(map(int, s)))))
    provs = all_links.groupby("code")["legacy_province"].agg(lambda s: tuple(sorted(set(s))))
    return pd.DataFrame({
        "province_code": code, "code": rows.index.astype(int), "name": rows["name"].to_numpy(),
        "short_name": rows["short_name"].to_numpy(), "type": rows["type"].map(lambda t: _COMMUNE_TYPES.get(t, "other")).to_numpy(),
        "lat": lat.to_numpy(), "lon": lon.to_numpy(), "coord_source": source.to_numpy(),
        "area_km2": rows["area_km2"].to_numpy(),
        "districts": [dists.get(c, ()) for c in rows.index], "legacy_provinces": [provs.get(c, ()) for c in rows.index],
    })


def commune_coordinates(province: Any = reference.DEFAULT_PROVINCE, structure: str = "current") -> pd.DataFrame:
    """Centroids of communes: the 2025 communes of the province's new province (structure="current";
    with ``districts``, the old district codes each was formed from) or the old communes ("legacy").

    A library point further than 10 km from the median of the unit's former communes (a geocoding
    slip, e.g. a namesake elsewhere) is replaced by that median; ``coord_source`` says which.
    """
    if structure == "current":
        return _commune_coordinates(current_province_code(province), "current").copy()
    if structure == "legacy":
        return _commune_coordinates(province_code(province), "legacy").copy()
    raise ValueError("structure must be 'current' or 'legacy'")


# --------------------------------------------------------------------------- on-disk cache

# The library's data is read with one SQL query over the whole country (and importing the library
# alone takes ~0.7 s), so every fresh process that draws a map paid ~1 s for 12 districts. The two
# results charts need, district_coordinates(province) and districts(province), are therefore kept
# as Parquet in the kit's cache folder (cache.cache_dir(), safe to delete; never inside the
# repository), keyed by the function, the argument as given, the library's version and the kit's
# version + code fingerprint (cache.kit_version()): a new library or a changed kit is never served
# an old table. An entry that cannot be read is recomputed and rewritten; a result that cannot be
# stored is simply not cached. Same values and dtypes as computing it (tests/test_geography_cache.py).

_DISK_TABLES = {
    "district_coordinates": lambda province: _district_coordinates(province_code(province)),
    "districts": lambda province: _districts_uncached(province),
}


def _library_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DATA_SOURCE)
    except PackageNotFoundError:  # pragma: no cover - the library is a dependency
        return "unknown"


def _disk_path(kind: str, province: Any):
    """Where ``kind(province)`` is cached, or None when it cannot be (unkeyable argument, folder unusable)."""
    import hashlib
    from pathlib import Path

    from . import cache as kit_cache

    if not isinstance(province, (str, int, np.integer)) or isinstance(province, bool):
        return None
    if not kit_cache.usable([]):
        return None
    key = json.dumps([kind, type(province).__name__, str(province), _library_version(), kit_cache.kit_version()])
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return Path(kit_cache.cache_dir()) / "geography" / f"{kind}-{digest}.parquet"


@cache
def _disk_cached(kind: str, province: Any) -> pd.DataFrame:
    """``_DISK_TABLES[kind](province)``, read from / written to the cache folder (once per process)."""
    import os
    import tempfile
    from pathlib import Path

    path = _disk_path(kind, province)
    if path is not None and path.is_file():
        try:
            return pd.read_parquet(path)
        except Exception:  # noqa: BLE001 — a damaged entry is a miss; rebuilt below
            try:
                path.unlink(missing_ok=True)
            except OSError:  # read-only cache folder, someone else's entry: computed all the same
                pass
    frame = _DISK_TABLES[kind](province)
    if path is not None:
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".parquet", dir=path.parent)
            os.close(fd)
            frame.to_parquet(tmp, engine="pyarrow", index=True)
            os.replace(tmp, path)
        except Exception:  # noqa: BLE001 — not cached is never an error
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
    return frame
