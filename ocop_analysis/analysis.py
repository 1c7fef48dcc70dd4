"""District breakdowns, star distributions and score analysis of the evaluation table.

Pure functions: a canonical evaluation frame (``reg.evaluations``) in, a tidy frame
out; nothing is read, printed or plotted here. Rates carry their numerator (count)
and denominator (total).

What is counted, everywhere in this module:

- ``year=None`` — the *stock* of OCOP products: one row per product_id, at its
  latest certified result (a product certified 3★ in 2021 and 4★ in 2024 counts
  once, as 4★). ``valid_only=True`` keeps only products whose latest round is
  certified and whose certificate is still valid at ``as_of`` (valid_until ≥ as_of;
  revocations are not in the evaluation table — ``reg.products`` is the authority
  on certificate status).
- ``year=Y`` — the *results of Y's rounds*: certified rows of evaluation year Y, one per
  product (its last round that year).

Rows without a product_id count as products of their own.

>>> import ocop_analysis as oa
>>> table = oa.district_breakdown(reg.evaluations, by="stars")      # doctest: +SKIP
>>> table[table["is_total"]]                                        # doctest: +SKIP
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from . import reference

__all__ = [
    "district_breakdown", "commune_breakdown", "GEOGRAPHIES", "district_totals", "star_distribution", "national_benchmark",
    "score_bands", "upgrade_candidates", "select", "latest_results", "breakdown_table", "distribution_table",
    "count_table",
]

TOTAL_LABEL = "Toàn tỉnh"  # the all-districts row's district name (data is in Vietnamese, like the names)


# ---- selection -------------------------------------------------------------------------------

def _to_date(as_of) -> pd.Timestamp:
    if as_of is None:
        return pd.Timestamp(dt.date.today())
    return pd.Timestamp(as_of)


def _order_rows(ev: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted oldest → newest round (year, decision date, source order)."""
    return ev.sort_values(["year", "decision_date", "source_file", "source_row"],
                          na_position="first", kind="stable")


def _product_key(ev: pd.DataFrame) -> pd.Series:
    pid = ev["product_id"].astype("string")
    fallback = pd.Series([f"__row{i}" for i in range(len(ev))], index=ev.index, dtype="string")
    return pid.fillna(fallback)


def latest_results(evaluations: pd.DataFrame, *, year=None, valid_only: bool = False,
                   as_of=None) -> pd.DataFrame:
    """The rows that a breakdown counts (see the module docstring): one per product.

    >>> latest_results(ev, year=2024)  # doctest: +SKIP
    """
    ev = evaluations
    if year is not None:
        ev = ev[ev["year"] == int(year)]
    ev = _order_rows(ev)
    key = _product_key(ev)
    if valid_only:
        last = ev[~key.duplicated(keep="last")]
        ok = last["certified"].fillna(False).astype(bool)
        ok &= last["valid_until"].notna() & (last["valid_until"] >= _to_date(as_of))
        return last[ok]
    cert = ev[ev["certified"].fillna(False).astype(bool) & ev["stars"].notna()]
    return cert[~_product_key(cert).duplicated(keep="last")]


def select(evaluations: pd.DataFrame, *, year=None, district=None, group=None) -> pd.DataFrame:
    """Rows of one year / district (code) / group; ``None`` (or "all") means no filter.

    >>> select(ev, year=2024, district=876)  # doctest: +SKIP
    """
    ev = evaluations
    if year not in (None, "all"):
        ev = ev[ev["year"] == int(year)]
    if district not in (None, "all"):
        ev = ev[ev["district_code"] == int(district)]
    if group not in (None, "all"):
        ev = ev[ev["group"] == int(group)]
    return ev


# ---- district breakdown ----------------------------------------------------------------------

def _categories(by: str) -> list[int]:
    if by == "stars":
        return sorted(reference.certified_stars())
    if by == "group":
        return sorted(reference.groups()["group"])
    raise ValueError(f"by must be 'stars' or 'group', not {by!r}")


GEOGRAPHIES = ("legacy_district", "commune")


def _own_rows(evaluations: pd.DataFrame, province: str) -> pd.DataFrame:
    """Rows of ``province`` (old structure): on a merged 2025 registry the other old province's rows
    (``legacy_province``, set by the loader) are left out; rows without it stay."""
    if "legacy_province" not in evaluations.columns:
        return evaluations
    legacy = evaluations["legacy_province"].astype("string")
    return evaluations[(legacy == province).fillna(True).astype(bool)]


def district_breakdown(evaluations: pd.DataFrame, by: str = "stars", year=None, valid_only: bool = False,
                       province: str = "dong-thap", *, as_of=None, geography: str = "legacy_district") -> pd.DataFrame:
    """Certified products per district and star rating (or product group).

    ``geography="legacy_district"`` (default) counts by the district of before July 2025 (rows
    written with a 2025 commune were given their old district by the loader; those whose commune
    spans several old districts have none and are not in any district row).
    ``geography="commune"`` counts by commune instead (see :func:`commune_breakdown`).

    Every district of ``province`` is present, in official order, zeros included, then an
    all-districts row (``is_total``, district "Toàn tỉnh"). Long format, one row per
    district × category: district_code, district, short_name, order, <by>, count,
    total (the district's products), share (count / total; NaN for a district with none),
    is_total. With by="group", products without a group get a row with group <NA> when
    there are any (never dropped silently).

    >>> district_breakdown(ev, by="stars", year=2024)  # doctest: +SKIP
    """
    if geography == "commune":
        return commune_breakdown(evaluations, by=by, year=year, valid_only=valid_only, province=province, as_of=as_of)
    if geography != "legacy_district":
        raise ValueError(f"geography must be one of {', '.join(GEOGRAPHIES)}, not {geography!r}")
    cats = _categories(by)
    rows = latest_results(_own_rows(evaluations, province), year=year, valid_only=valid_only, as_of=as_of)
    col = "stars" if by == "stars" else "group"
    keys = pd.Series(rows[col].astype("Int64"), index=rows.index)
    if by == "group" and keys.isna().any():
        cats = cats + [pd.NA]
    counts = (pd.DataFrame({"district_code": rows["district_code"].astype("Int64"), col: keys})
              .value_counts(dropna=False))
    d = reference.districts(province)[["code", "name", "short_name", "order"]]
    grid = pd.MultiIndex.from_product([d["code"].tolist(), cats], names=["district_code", col])
    long = pd.DataFrame(index=grid).reset_index()
    long["district_code"] = long["district_code"].astype("Int64")
    long[col] = long[col].astype("Int64")
    found = counts.rename("count").reset_index()
    found["district_code"] = found["district_code"].astype("Int64")
    found[col] = found[col].astype("Int64")
    long = long.merge(found, on=["district_code", col], how="left")
    long["count"] = long["count"].fillna(0).astype("int64")
    long = long.merge(d.rename(columns={"code": "district_code", "name": "district"})
                      .astype({"district_code": "Int64"}), on="district_code", how="left")
    tot = long.groupby(col, dropna=False, sort=False)["count"].sum().reset_index()
    tot = tot.assign(district_code=pd.NA, district=TOTAL_LABEL, short_name=TOTAL_LABEL,
                     order=int(d["order"].max()) + 1)
    tot["district_code"] = tot["district_code"].astype("Int64")
    long["is_total"] = False
    tot["is_total"] = True
    out = pd.concat([long, tot[long.columns.drop("is_total").tolist() + ["is_total"]]], ignore_index=True)
    out["total"] = out.groupby("order")["count"].transform("sum").astype("int64")
    out["share"] = np.where(out["total"] > 0, out["count"] / out["total"].where(out["total"] > 0, 1), np.nan)
    cols = ["district_code", "district", "short_name", "order", col, "count", "total", "share", "is_total"]
    return out[cols].sort_values(["order"], kind="stable").reset_index(drop=True)


def commune_breakdown(evaluations: pd.DataFrame, by: str = "stars", year=None, valid_only: bool = False,
                      province: str = "dong-thap", *, as_of=None) -> pd.DataFrame:
    """Certified products per commune (by its official name as the loader wrote it; commune_code where
    the loader found one) and star rating (or group): the commune level of ``district_breakdown(..., geography="commune")``.

    Only communes present in the data, sorted by old district order then name, each with every
    category (zeros included); products without a commune are one row with commune <NA> (never
    dropped); then the all-communes row (``is_total``). Communes of before and after July 2025 are
    different units and are not merged. Rows of another old province of a merged registry
    (``legacy_province``) are left out. Columns: commune_code, commune, district_code, district,
    order, <by>, count, total, share, is_total.
    """
    cats = _categories(by)
    rows = latest_results(_own_rows(evaluations, province), year=year, valid_only=valid_only, as_of=as_of)
    col = "stars" if by == "stars" else "group"
    keys = rows[col].astype("Int64")
    if by == "group" and keys.isna().any():
        cats = cats + [pd.NA]
    code = rows["commune_code"].astype("Int64") if "commune_code" in rows.columns else pd.Series(
        pd.NA, index=rows.index, dtype="Int64")
    frame = pd.DataFrame({"commune": rows["commune"].astype("string"), "commune_code": code,
                          "district_code": rows["district_code"].astype("Int64"), col: keys})
    d = reference.districts(province)
    d_order = dict(zip(d["code"], d["order"]))
    one = lambda s: s.dropna().iloc[0] if s.dropna().nunique() == 1 else pd.NA  # noqa: E731
    units = frame.groupby("commune", dropna=False, sort=False).agg(commune_code=("commune_code", one),
                                                                   district_code=("district_code", one)).reset_index()
    units["commune_code"] = units["commune_code"].astype("Int64")
    units["district_code"] = units["district_code"].astype("Int64")
    units["district"] = units["district_code"].map(dict(zip(d["code"], d["name"]))).astype("string")
    units["_o"] = units["district_code"].map(d_order).astype("Float64").fillna(len(d) + 1)
    units["_blank"] = units["commune"].isna()
    units = units.sort_values(["_blank", "_o", "commune"], kind="stable").reset_index(drop=True)
    units["order"] = range(1, len(units) + 1)
    counts = frame.groupby(["commune", col], dropna=False).size().rename("count").reset_index()
    long = units.merge(pd.DataFrame({col: pd.array(cats, dtype="Int64")}), how="cross")
    long = long.merge(counts.astype({col: "Int64"}), on=["commune", col], how="left")
    long["count"] = long["count"].fillna(0).astype("int64")
    tot = long.groupby(col, dropna=False, sort=False)["count"].sum().reset_index()
    tot = tot.assign(commune=TOTAL_LABEL, commune_code=pd.NA, district_code=pd.NA, district=pd.NA,
                     order=len(units) + 1)
    long["is_total"] = False
    tot["is_total"] = True
    cols = ["commune_code", "commune", "district_code", "district", "order", col, "count", "is_total"]
    out = pd.concat([long[cols], tot[cols]], ignore_index=True)
    out = out.astype({"commune_code": "Int64", "commune": "string", "district_code": "Int64", "district": "string",
                      col: "Int64", "order": "int64"})
    out["total"] = out.groupby("order")["count"].transform("sum").astype("int64")
    out["share"] = np.where(out["total"] > 0, out["count"] / out["total"].where(out["total"] > 0, 1), np.nan)
    cols = ["commune_code", "commune", "district_code", "district", "order", col, "count", "total", "share", "is_total"]
    return out[cols].sort_values("order", kind="stable").reset_index(drop=True)


def district_totals(breakdown: pd.DataFrame, *, include_total: bool = False) -> pd.DataFrame:
    """One row per district from a district_breakdown: district_code, district, short_name, count.

    Handy for the tile map.
    """
    b = breakdown if include_total else breakdown[~breakdown["is_total"]]
    out = (b.groupby(["order", "district_code", "district", "short_name"], dropna=False, sort=True)["count"]
           .sum().reset_index())
    return out[["district_code", "district", "short_name", "count"]]


# ---- star distribution -----------------------------------------------------------------------

def national_benchmark(as_of: str | None = "latest") -> pd.DataFrame:
    """National totals by star (reference/national_benchmark.csv) for one date.

    ``as_of="latest"`` (default) takes the most recent date; else an ISO date present in the
    table. Columns: as_of, label_vi, label_en, stars, count, share, total, derived, source_url, note.
    """
    df = reference.table("national_benchmark").copy()
    df["stars"] = df["stars"].astype(int)
    df["count"] = df["count"].astype(int)
    df["total"] = df["total"].astype(int)
    df["share"] = df["share"].astype(float)
    df["derived"] = df["derived"].str.lower().eq("true")
    dates = sorted(df["as_of"].unique())
    pick = dates[-1] if as_of in (None, "latest") else str(pd.Timestamp(as_of).date())
    if pick not in dates:
        raise ValueError(f"no national benchmark for {as_of!r}; dates available: {', '.join(dates)}")
    return df[df["as_of"] == pick].reset_index(drop=True)


def star_distribution(evaluations: pd.DataFrame, by: str | None = None, *, benchmark: str | None = "latest",
                      province: str = "dong-thap", valid_only: bool = False, as_of=None) -> pd.DataFrame:
    """Certified products by star rating, overall or by year, group or district, with shares.

    by=None counts the product stock (latest certified result per product); by="year"
    the certified results of each year's rounds; by="group"/"district" the stock split so
    (products without a group get a group <NA> level when there are any).
    Columns: [<by>,] stars, count, total, share, source ("registry" or "national"),
    benchmark_as_of, label. Unless ``benchmark=None``, the national totals by star
    (reference/national_benchmark.csv; "latest" or an ISO date) follow as rows with
    source "national" and <by> empty; their shares are as published and may sum to a
    little under 1 (sources also count "potential 5★"). On a registry of a merged 2025 province
    only the rows of ``province`` (old structure, ``legacy_province``) are counted.

    >>> star_distribution(ev, by="year")  # doctest: +SKIP
    """
    stars = sorted(reference.certified_stars())
    if by not in (None, "year", "group", "district"):
        raise ValueError(f"by must be None, 'year', 'group' or 'district', not {by!r}")
    evaluations = _own_rows(evaluations, province)
    if by == "year":
        parts = []
        for y in sorted(evaluations["year"].dropna().unique()):
            r = latest_results(evaluations, year=int(y))
            parts.append(r.assign(_by=int(y)))
        rows = pd.concat(parts) if parts else evaluations.iloc[0:0].assign(_by=pd.NA)
        levels = [int(y) for y in sorted(evaluations["year"].dropna().unique())]
    else:
        rows = latest_results(evaluations, valid_only=valid_only, as_of=as_of)
        if by == "group":
            # products without a group are a level of their own (-1 here, <NA> in the result), never dropped
            rows = rows.assign(_by=rows["group"].astype("Int64").fillna(-1))
            levels = sorted(reference.groups()["group"]) + ([-1] if (rows["_by"] == -1).any() else [])
        elif by == "district":
            rows = rows.assign(_by=rows["district_code"])
            levels = reference.districts(province)["code"].tolist()
        else:
            rows = rows.assign(_by=0)
            levels = [0]
    tab = pd.crosstab(rows["_by"].astype("Int64"), rows["stars"].astype("Int64"))
    tab = tab.reindex(index=levels, columns=stars, fill_value=0)
    long = tab.stack().rename("count").reset_index()
    long.columns = ["_by", "stars", "count"]
    long["total"] = long.groupby("_by")["count"].transform("sum")
    long["share"] = long["count"] / long["total"].where(long["total"] > 0)
    long["source"] = "registry"
    long["benchmark_as_of"] = pd.NA
    long["label"] = pd.NA
    if by == "district":
        names = reference.district_names(province)
        long["label"] = long["_by"].map(names)
    elif by == "group":
        long["label"] = long["_by"].map(reference.group_names("vi"))
        long["_by"] = long["_by"].astype("Int64").mask(long["_by"] == -1)
    if benchmark is not None:
        nb = national_benchmark(benchmark)
        bench = pd.DataFrame({"_by": pd.NA, "stars": nb["stars"], "count": nb["count"], "total": nb["total"],
                              "share": nb["share"], "source": "national", "benchmark_as_of": nb["as_of"],
                              "label": nb["label_vi"]})
        long = pd.concat([long, bench], ignore_index=True)
    long = long.astype({"count": "int64", "total": "int64", "share": "float64", "stars": "int64"})
    long["_by"] = long["_by"].astype("Int64")
    long["benchmark_as_of"] = long["benchmark_as_of"].astype("string")
    long["label"] = long["label"].astype("string")
    if by is None:
        return long.drop(columns="_by")
    return long.rename(columns={"_by": "district_code" if by == "district" else by})


# ---- scores ----------------------------------------------------------------------------------

def score_bands(evaluations: pd.DataFrame, *, year=None) -> pd.DataFrame:
    """Scored rounds per star band (reference.star_bands(): <30, 30–49, 50–69, 70–89, 90–100).

    Every scored row counts (a product evaluated twice counts twice: this is about
    rounds). Columns: stars (the band), min_score, max_score, certified, count, total
    (scored rounds), share, unscored (rounds without a score, the same on every row).
    """
    ev = evaluations if year is None else evaluations[evaluations["year"] == int(year)]
    score = ev["score"].astype("Float64")
    scored = score.dropna().astype(float)
    bands = reference.star_bands()[["stars", "min_score", "max_score", "certified"]].sort_values("stars")
    edges = bands["min_score"].tolist()
    idx = np.searchsorted(np.asarray(edges), scored.to_numpy(), side="right") - 1
    counts = np.bincount(np.clip(idx, 0, len(edges) - 1), minlength=len(edges))
    out = bands.reset_index(drop=True).copy()
    out["count"] = counts.astype("int64")
    out["total"] = int(len(scored))
    out["share"] = out["count"] / len(scored) if len(scored) else np.nan
    out["unscored"] = int(score.isna().sum())
    return out


def upgrade_candidates(evaluations: pd.DataFrame, within: float = 5, *, province: str = "dong-thap") -> pd.DataFrame:
    """Certified products whose latest score is at most ``within`` points below the next star band.

    A product qualifies when its latest round is certified, has a score, is below 5★,
    and ``0 < next_min_score - score <= within`` (e.g. 4★ with 86 points: 4 points short
    of 90). Sorted by points_needed, then district order. Columns: product_id,
    product_name, entity_name, district_code, district, group, group_name, year, stars,
    score, next_stars, next_min_score, points_needed, decision_no, valid_until.
    """
    if not within > 0:
        raise ValueError(f"within must be a positive number of points, not {within!r}")
    ev = _order_rows(evaluations)
    last = ev[~_product_key(ev).duplicated(keep="last")]
    top = max(reference.certified_stars())
    last = last[last["certified"].fillna(False).astype(bool) & last["score"].notna() & last["stars"].notna()]
    last = last[last["stars"] < top]
    mins = reference.star_bands().set_index("stars")["min_score"]
    next_stars = (last["stars"] + 1).astype("Int64")
    next_min = next_stars.map(mins).astype("Float64")
    needed = (next_min - last["score"]).round(2)
    out = last.assign(next_stars=next_stars, next_min_score=next_min, points_needed=needed)
    out = out[(out["points_needed"] > 0) & (out["points_needed"] <= within)]
    order = dict(zip(reference.districts(province)["code"], reference.districts(province)["order"]))
    out = out.assign(_o=out["district_code"].map(order)).sort_values(["points_needed", "_o", "product_name"])
    cols = ["product_id", "product_name", "entity_name", "district_code", "district", "group", "group_name",
            "year", "stars", "score", "next_stars", "next_min_score", "points_needed", "decision_no",
            "valid_until"]
    return out[cols].reset_index(drop=True)


# ---- tables for reading ----------------------------------------------------------------------

def _labels(lang: str):
    from .charts.theme import label, star_label  # labels live with the chart theme (one label table)

    return label, star_label


def breakdown_table(table: pd.DataFrame, *, lang: str = "vi") -> pd.DataFrame:
    """A district_breakdown as a table to read: one row per district (+ total), one column per
    category ("3 sao", … or group names), then the district total.

    >>> breakdown_table(district_breakdown(ev, by="stars"))  # doctest: +SKIP
    """
    label, star_label = _labels(lang)
    by = "stars" if "stars" in table.columns else "group"
    t = table.copy()
    t["_name"] = t["district"].where(~t["is_total"], label("total", lang))
    if by == "stars":
        t["_col"] = t["stars"].map(lambda s: star_label(s, lang))
        cols = [star_label(s, lang) for s in sorted(t["stars"].dropna().unique())]
    else:
        names = reference.group_names(lang)
        t["_col"] = t["group"].map(lambda g: "?" if pd.isna(g) else names.get(int(g), str(g)))
        cols = [names[g] for g in sorted(names)] + (["?"] if t["group"].isna().any() else [])
    wide = t.pivot_table(index=["order", "_name"], columns="_col", values="count", aggfunc="sum", sort=True)
    wide = wide.reindex(columns=[c for c in cols if c in wide.columns]).fillna(0).astype(int)
    wide["Tổng" if lang == "vi" else "Total"] = wide.sum(axis=1)
    wide.index = wide.index.get_level_values("_name")
    wide.index.name = label("district", lang)
    wide.columns.name = None
    return wide


def count_table(frame: pd.DataFrame, index: str, columns: str, *, values: str | None = None,
                lang: str = "vi") -> pd.DataFrame:
    """Rows × columns counts with a total row and column ("Tổng" / "Total"): rows of ``frame`` counted, or
    ``values`` summed (e.g. the ``count`` of a star_distribution). Every category of ``columns`` is kept.

    >>> count_table(reg.evaluations, "year", "kind")  # doctest: +SKIP
    """
    total = "Tổng" if lang == "vi" else "Total"
    if values is None:
        return pd.crosstab(frame[index], frame[columns], margins=True, margins_name=total, dropna=False)
    return frame.pivot_table(index=index, columns=columns, values=values, aggfunc="sum", observed=False,
                             fill_value=0, margins=True, margins_name=total)


def distribution_table(dist: pd.DataFrame, *, by: str | None = None, lang: str = "vi") -> pd.DataFrame:
    """A star_distribution as a table to read: counts per star, the total, then shares in % (1 decimal).
    National benchmark rows are labelled with their date."""
    label, star_label = _labels(lang)
    t = dist.copy()
    if by is None:
        key = pd.Series("registry", index=t.index)
        reg_name = label("total", lang)
    else:
        key = t[by if by != "district" else "district_code"].astype("string")
        reg_name = None
    nat = t["source"] == "national"
    if by == "group":
        names = reference.group_names(lang)
        unknown = "(chưa rõ nhóm)" if lang == "vi" else "(no group)"
        key = t["group"].map(lambda g: names.get(int(g)) if pd.notna(g) else unknown).astype("string")
    elif by == "district":
        key = t["label"].astype("string")
    elif by is None:
        key = key.where(nat, reg_name)
    bench = t.loc[nat, "benchmark_as_of"].astype(str)
    bench_name = (t.loc[nat, "label"] if lang == "vi"
                  else bench.map(lambda d: f"Nationwide ({pd.Timestamp(d).strftime('%b %Y')})"))
    key = key.where(~nat, bench_name)
    t["_row"] = key
    t["_order"] = range(len(t))
    first = t.groupby("_row", sort=False)["_order"].min()
    counts = t.pivot_table(index="_row", columns="stars", values="count", aggfunc="sum").reindex(first.index)
    shares = t.pivot_table(index="_row", columns="stars", values="share", aggfunc="sum").reindex(first.index)
    out = counts.fillna(0).astype(int)
    out.columns = [star_label(s, lang) for s in out.columns]
    out["Tổng" if lang == "vi" else "Total"] = t.groupby("_row", sort=False)["total"].first()
    for s in shares.columns:
        out[f"% {star_label(s, lang)}"] = (shares[s] * 100).round(1)
    out.index.name = label(by, lang) if by in ("year", "group", "district") else None
    return out
