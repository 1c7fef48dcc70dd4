"""Certificate lifecycle: products, 36-month validity, re-evaluation cohorts, expiry, transitions.

Every function takes a ``Registry`` (``product_id`` already assigned by
``linking``) and returns tidy frames; the programme rules come from
``reference/rules.csv``:

* a certificate is valid ``certificate_validity_months`` (36) from its decision
  date; when only the year is known, from 31 December of that year
  (``valid_until_estimated``);
* a later result of the same product counts as the **re-evaluation** of a
  certificate when its decision date (31 December when only the year is known)
  falls from ``reevaluation_window_before_months`` (12) before the expiry to
  ``reevaluation_window_after_months`` (6) after it. A certificate of 29/12/2022
  expires 29/12/2025; a 2025 re-evaluation is in its window;
* a failed re-evaluation leaves the older certificate in force until it expires
  (unless revoked); a newer certificate supersedes older ones;
* status ``expiring`` when a certificate in force ends within
  ``expiring_soon_months`` of ``as_of``.

Everything is "as of" a date: results decided after ``as_of`` are ignored, so a
past date shows the registry as it stood then. ``as_of=None`` means the
registry's ``as_of``, else today.

>>> import ocop_analysis as oa                                  # doctest: +SKIP
>>> reg = oa.load_registry(oa.paths.SAMPLE_DIR)                 # doctest: +SKIP
>>> oa.reevaluation_rates(reg, cohorts=range(2019, 2023))       # doctest: +SKIP
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import reference

__all__ = [
    "build_products", "cohort_members", "reevaluation_rates", "cohort_outcomes", "cohort_target",
    "plan_cohort_targets",
    "expiry_calendar", "ExpiryCalendar", "transitions", "revocations_by_district",
    "STATUSES", "OUTCOMES", "REVOCATION_REASONS",
]

STATUSES = ["valid", "expiring", "expired", "revoked", "never_certified"]
# One outcome per cohort certificate (the cohort chart's stacks), in display order.
OUTCOMES = ["upgraded", "same", "downgraded", "superseded", "failed", "lapsed", "revoked", "still_valid"]
REVOCATION_REASONS = ["not_reevaluated", "failed_mandatory", "other"]
FAILED = "failed"

PRODUCT_COLUMNS = [
    "product_id", "product_name", "entity_name", "district_code", "district", "group",
    "first_year", "first_stars", "latest_year", "latest_stars", "stars_now", "latest_certified",
    "valid_until", "valid_until_estimated", "status", "revoked_on", "evaluations",
]


# --------------------------------------------------------------------------- common steps

def _as_of(reg, as_of) -> pd.Timestamp:
    value = as_of if as_of is not None else getattr(reg, "as_of", None)
    if value is None:
        value = dt.date.today()
    return pd.Timestamp(value).normalize()


def _months(n: int) -> pd.DateOffset:
    return pd.DateOffset(months=int(n))


def _shift(dates: pd.Series, *offsets: pd.DateOffset) -> list[np.ndarray]:
    """``dates + offset`` for each offset, as datetime64 arrays, worked out once per distinct date
    (results share their decision dates)."""
    codes, uniques = pd.factorize(dates)
    out = []
    for offset in offsets:
        shifted = (pd.Series(uniques, dtype=dates.dtype) + offset).to_numpy()
        out.append(np.append(shifted, np.array("NaT", dtype=shifted.dtype))[codes])
    return out


def _integers(values: pd.Series) -> pd.Series:
    """The column as Int64 (text and floats read as numbers, the rest NA)."""
    if isinstance(values.dtype, pd.Int64Dtype):
        return values
    return pd.to_numeric(values, errors="coerce").astype("Int64")


@dataclass
class _Results:
    """Evaluation rows placed in time, up to ``as_of``, sorted by product, date, then row.

    rows: pid (the product's number: its position in ``ids``), year, when, stars (NA when not
          certified), certified, valid_until, valid_until_estimated, order (the row's position in ``ev``).
    ids:  the product ids; when ``ordered``, sorted, so ordering by ``pid`` is ordering by ``product_id``.
    key:  product and date as one sorted integer per row (equal for results of a product on the same day).
    Text and other columns of a row are read from ``ev`` at ``order`` only for the rows an answer keeps.
    """

    rows: pd.DataFrame
    ids: pd.Index
    key: np.ndarray
    ev: pd.DataFrame

    def product_id(self, pid) -> pd.Series:
        return pd.Series(self.ids.take(np.asarray(pid, dtype=np.intp)), dtype="string")

    def column(self, name: str, order, dtype: str) -> pd.Series:
        return pd.Series(self.ev[name].array.take(np.asarray(order, dtype=np.intp))).astype(dtype)


def _results(reg, as_of: pd.Timestamp, *, ordered: bool = True) -> _Results:
    """Evaluation rows placed in time (``when``), with their certificate's validity; up to ``as_of``.

    ``ordered=False`` numbers the products in order of appearance (sorting 10,000s of text ids is the
    costliest step), for answers that only count per product.
    """
    ev = reg.evaluations
    year = _integers(ev["year"].reset_index(drop=True))
    decided = pd.to_datetime(ev["decision_date"].reset_index(drop=True), errors="coerce")
    if year.isna().any():
        year = year.fillna(decided.dt.year.astype("Int64"))
    undated = decided.isna()
    when = decided
    if undated.any():
        when = decided.fillna(_year_end(year[undated]).dropna())
    ids = _product_ids(ev).reset_index(drop=True)
    keep = np.flatnonzero((ids.notna() & when.notna() & (when <= as_of)).to_numpy(dtype=bool))
    pid, uniques = pd.factorize(ids if len(keep) == len(ids) else ids.iloc[keep], sort=ordered)
    day, days = pd.factorize(when.to_numpy()[keep], sort=True)
    key = pid.astype(np.int64) * (len(days) + 1) + day
    sort = _stable_argsort(key)
    pos, pid, key = keep[sort], pid[sort], key[sort]

    def take(s: pd.Series) -> pd.Series:
        return pd.Series(s.array.take(pos))

    when, year, undated = take(when), take(year), undated.to_numpy()[pos]
    stars = _integers(take(ev["stars"]))
    certified = take(ev["certified"]).astype("boolean")
    if certified.isna().any():
        certified = certified.fillna(stars.isin(reference.certified_stars()))
    valid = pd.to_datetime(take(ev["valid_until"]), errors="coerce")
    need = valid.isna() & certified
    if need.any():
        valid = valid.fillna(when[need] + _months(reference.validity_months()))
    valid = valid.where(certified)
    estimated = take(ev["valid_until_estimated"]).astype("boolean")
    if estimated.isna().any():
        estimated = estimated.fillna(pd.Series(undated))
    rows = pd.DataFrame({
        "pid": pid, "year": year, "when": when, "stars": stars.where(certified), "certified": certified.astype(bool),
        "valid_until": valid, "valid_until_estimated": estimated.where(certified).astype("boolean"), "order": pos,
    })
    return _Results(rows=rows, ids=pd.Index(uniques), key=key, ev=ev)


def _stable_argsort(key: np.ndarray) -> np.ndarray:
    """``np.argsort(key, kind="stable")``, faster: ties broken by position inside one unique integer."""
    n = len(key)
    if n and int(key.max()) < (1 << 62) // n and key.min() >= 0:
        return np.argsort(key * n + np.arange(n))
    return np.argsort(key, kind="stable")


def _year_end(year: pd.Series) -> pd.Series:
    """31 December of each year (NaT when unknown), parsed once per distinct year."""
    codes, uniques = pd.factorize(year)
    if not len(uniques):
        return pd.to_datetime(year.astype("string") + "-12-31", errors="coerce")
    ends = pd.to_datetime(pd.Series(uniques, dtype=year.dtype).astype("string") + "-12-31", errors="coerce")
    values = ends.to_numpy()
    return pd.Series(np.append(values, np.array("NaT", dtype=values.dtype))[codes], index=year.index)


def _product_ids(ev: pd.DataFrame) -> pd.Series:
    """The evaluations' product ids; assigned here by ``linking`` when none are set (a frame built by hand)."""
    ids = ev["product_id"].astype("string")
    if len(ev) and ids.isna().all():
        from .linking import assign_product_ids

        ids, _ = assign_product_ids(ev)
    return ids


def _certificates(rows: pd.DataFrame) -> np.ndarray:
    """Certificates, one per product per recognition year (the latest of that year): positions in ``rows``."""
    year = rows["year"]
    at = np.flatnonzero((rows["certified"] & year.notna()).to_numpy(dtype=bool))
    cohort, cohorts = pd.factorize(year.to_numpy(dtype="int64", na_value=0)[at], sort=True)
    key = rows["pid"].to_numpy()[at].astype(np.int64) * max(len(cohorts), 1) + cohort
    if len(key) and (key[1:] >= key[:-1]).all():  # years rise with dates: the last of each run
        return at[np.r_[key[1:] != key[:-1], True]]
    return at[~pd.Index(key).duplicated(keep="last")]


def _revocations(reg, res: _Results, at: np.ndarray, as_of: pd.Timestamp) -> pd.DataFrame:
    """Revocations in force by ``as_of``, each tied to the certificate it revoked (product_id, cohort).

    The certificate is the one of the revocation's recognition year when that exists, else the
    product's latest certificate issued by the revocation date (undated: its latest). ``at``: the
    certificates (``_certificates``), positions in ``res.rows``, in product, date and row order.
    """
    cols = ["product_id", "cohort", "revoked_on", "reason"]
    if not _has_revocations(reg):
        return _no_revocations()
    rev = reg.revocations
    revoked_on = pd.to_datetime(rev.get("revoked_on"), errors="coerce") if "revoked_on" in rev else pd.NaT
    rev = pd.DataFrame({
        "product_id": rev["product_id"].astype("string"),
        "year_recognized": pd.to_numeric(rev.get("year_recognized", pd.Series(pd.NA, index=rev.index)),
                                         errors="coerce").astype("Int64"),
        "revoked_on": revoked_on,
        "reason": _reason(rev.get("reason", pd.Series(pd.NA, index=rev.index))),
    })
    rev = rev[rev["revoked_on"].isna() | (rev["revoked_on"] <= as_of)]
    rev = rev.reset_index(drop=True)
    rev["cohort"] = _revoked_cohort(res, at, rev)
    return (rev.sort_values("revoked_on").groupby(["product_id", "cohort"], dropna=False).tail(1)
            [cols].reset_index(drop=True))


def _revoked_cohort(res: _Results, at: np.ndarray, rev: pd.DataFrame) -> pd.Series:
    """The cohort of the certificate each revocation revoked (see ``_revocations``), on integers."""
    rows = res.rows
    cpid = rows["pid"].to_numpy()[at]
    cyear = rows["year"].to_numpy(dtype="int64", na_value=0)[at]
    rpid = res.ids.get_indexer(rev["product_id"])
    cohort = rev["year_recognized"].copy()
    years = pd.Index(np.unique(cyear))
    ryear = years.get_indexer(cohort)
    known = (rpid >= 0) & (ryear >= 0)
    pairs = pd.Index(cpid.astype(np.int64) * len(years) + years.get_indexer(cyear))
    known[known] = pairs.get_indexer(rpid[known].astype(np.int64) * len(years) + ryear[known]) >= 0
    certified = np.zeros(len(res.ids) + 1, dtype=bool)
    certified[cpid] = True
    rest = ~known & certified[rpid]  # rpid -1 reads the last cell: False
    dated = rest & rev["revoked_on"].notna().to_numpy(dtype=bool)
    if dated.any():
        # the latest certificate of the product issued by the revocation date: certificates sorted by
        # product then date, dates ranked together with the revocation dates
        issued = rows["when"].to_numpy().astype("datetime64[us]")[at]
        revoked = rev["revoked_on"].to_numpy().astype("datetime64[us]")[dated]
        rank = pd.factorize(np.concatenate([issued, revoked]), sort=True)[0].astype(np.int64)
        span = int(rank.max()) + 1
        ckey = cpid.astype(np.int64) * span + rank[:len(at)]
        qpid = rpid[dated].astype(np.int64)
        before = np.searchsorted(ckey, qpid * span + rank[len(at):], side="right") - 1
        found = (before >= 0) & (cpid[np.maximum(before, 0)] == qpid)
        where = np.flatnonzero(dated)[found]
        cohort.iloc[where] = pd.array(cyear[before[found]], dtype="Int64")
    undated = rest & rev["revoked_on"].isna().to_numpy(dtype=bool)
    if undated.any():
        last = np.searchsorted(cpid, rpid[undated], side="right") - 1  # the product's latest certificate
        cohort.iloc[np.flatnonzero(undated)] = pd.array(cyear[last], dtype="Int64")
    return cohort.astype("Int64")


def _has_revocations(reg) -> bool:
    rev = reg.revocations
    return rev is not None and len(rev) > 0 and "product_id" in rev


def _no_revocations() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in
                         zip(["product_id", "cohort", "revoked_on", "reason"],
                             ["string", "Int64", "datetime64[us]", "string"])})


def _reason(values: pd.Series) -> pd.Series:
    """Revocation reasons as written -> not_reevaluated | failed_mandatory | the text (normalize.revocation_reason)."""
    from .normalize import map_unique, revocation_reason

    return map_unique(values, revocation_reason).astype("string")


# --------------------------------------------------------------------------- products

def build_products(reg, as_of=None) -> pd.DataFrame:
    """One row per product: first and latest result, the certificate in force and its status.

    Columns (``PRODUCT_COLUMNS``): names and district of the latest result; ``first_year`` /
    ``first_stars`` (first certificate); ``latest_year`` / ``latest_stars`` (latest result,
    stars NA when it failed); ``stars_now`` (the certificate in force, NA if none);
    ``latest_certified`` (decision date of the newest certificate, 31 Dec when only the year is
    known), its ``valid_until`` and ``valid_until_estimated``; ``status`` as of ``as_of``:
    valid | expiring | expired | revoked | never_certified; ``revoked_on`` (latest revocation of
    the product); ``evaluations`` (results so far). Products known only from a revocation list
    are included (status revoked).
    """
    as_of = _as_of(reg, as_of)
    res = _results(reg, as_of)
    rows = res.rows
    n = len(res.ids)
    pid = rows["pid"].to_numpy()
    # rows are sorted by product, date and row: a product's first and last rows are its first and latest
    last = _first_per(pid[::-1], np.arange(len(pid))[::-1], n)
    order = rows["order"].to_numpy()[last]
    group = res.column("group", rows["order"], "Int64")
    known = np.flatnonzero(group.notna().to_numpy(dtype=bool))
    cert = np.flatnonzero(rows["certified"].to_numpy())
    first = _first_per(pid[cert], cert, n)
    newest = _first_per(pid[cert][::-1], cert[::-1], n)

    def pick(col: str, at: np.ndarray) -> pd.Series:
        return pd.Series(rows[col].array.take(at, allow_fill=True))

    out = pd.DataFrame({
        "product_id": res.product_id(np.arange(n)),
        "product_name": res.column("product_name", order, "string"),
        "entity_name": res.column("entity_name", order, "string"),
        "district_code": res.column("district_code", order, "Int64"),
        "district": res.column("district", order, "string"),
        "group": pd.Series(group.array.take(_first_per(pid[known][::-1], known[::-1], n), allow_fill=True)),
        "latest_year": pick("year", last), "latest_stars": pick("stars", last),
        "evaluations": np.bincount(pid, minlength=n),
        "first_year": pick("year", first), "first_stars": pick("stars", first),
        "latest_certified": pick("when", newest), "valid_until": pick("valid_until", newest),
        "valid_until_estimated": pick("valid_until_estimated", newest),
        "_cohort": pick("year", newest), "_stars": pick("stars", newest),
    })
    revs = _revocations(reg, res, _certificates(rows), as_of)
    out = _with_revocations(out, revs, reg, res.ids)
    soon = as_of + _months(reference.rule("expiring_soon_months"))
    valid = out["valid_until"]
    has = valid.notna()
    status = np.select(
        [out["_revoked"].to_numpy(dtype=bool), (has & (valid < as_of)).to_numpy(dtype=bool),
         (has & (valid >= as_of) & (valid <= soon)).to_numpy(dtype=bool), (has & (valid > soon)).to_numpy(dtype=bool)],
        [STATUSES.index(s) for s in ("revoked", "expired", "expiring", "valid")],
        default=STATUSES.index("never_certified"))
    out["status"] = pd.Categorical.from_codes(status, categories=STATUSES)
    in_force = (status == STATUSES.index("valid")) | (status == STATUSES.index("expiring"))
    out["stars_now"] = out["_stars"].where(in_force).astype("Int64")
    for col in ("first_year", "first_stars", "latest_year", "latest_stars", "group", "district_code"):
        out[col] = out[col].astype("Int64")
    out["evaluations"] = out["evaluations"].fillna(0).astype(int)
    out = out[PRODUCT_COLUMNS]
    if len(out) > n:  # products known only from revocation lists, appended: sort them in
        out = out.sort_values("product_id")
    return out.reset_index(drop=True)


def _with_revocations(out: pd.DataFrame, revs: pd.DataFrame, reg, ids: pd.Index) -> pd.DataFrame:
    """Add revoked_on and the _revoked flag; append products known only from revocation lists.

    ``out`` holds one row per product of ``ids``, in that order.
    """
    if not len(revs):
        out["revoked_on"] = pd.Series(np.full(len(out), np.datetime64("NaT", "us")))
        out["_revoked"] = False
        return out
    latest = revs.sort_values("revoked_on").groupby("product_id").tail(1).set_index("product_id")["revoked_on"]
    out["revoked_on"] = pd.to_datetime(latest.reindex(ids)).astype("datetime64[us]").to_numpy()
    # revoked: a revocation of the product tied to its newest certificate's cohort (both unknown match too)
    listed = ids.get_indexer(revs["product_id"])
    years = pd.Index(pd.concat([revs["cohort"], out["_cohort"]]).dropna().unique())
    span = len(years) + 1
    rkey = listed[listed >= 0].astype(np.int64) * span + 1 + years.get_indexer(revs["cohort"])[listed >= 0]
    okey = np.arange(len(out), dtype=np.int64) * span + 1 + years.get_indexer(out["_cohort"])
    out["_revoked"] = np.isin(okey, rkey)
    rid = revs["product_id"].dropna()
    only = sorted(set(rid[ids.get_indexer(rid) < 0]))
    if not only:
        return out
    rv = reg.revocations
    rv = rv[rv["product_id"].isin(only)].drop_duplicates("product_id", keep="last").set_index("product_id")
    extra = pd.DataFrame({
        "product_id": only,
        "product_name": rv["product_name"].reindex(only).values if "product_name" in rv else pd.NA,
        "entity_name": rv["entity_name"].reindex(only).values if "entity_name" in rv else pd.NA,
        "district_code": rv["district_code"].reindex(only).values if "district_code" in rv else pd.NA,
        "district": rv["district"].reindex(only).values if "district" in rv else pd.NA,
        "first_year": rv["year_recognized"].reindex(only).values if "year_recognized" in rv else pd.NA,
        "first_stars": rv["stars"].reindex(only).values if "stars" in rv else pd.NA,
        "revoked_on": latest.reindex(only).values, "_revoked": True, "evaluations": 0,
    })
    return pd.concat([out, extra], ignore_index=True)


# --------------------------------------------------------------------------- cohorts

def _members(reg, as_of, *, ordered: bool = True) -> tuple[pd.DataFrame, _Results]:
    """Cohort certificates and what became of them, on integers (``cohort_members`` adds the text).

    Columns: row (position in ``results.rows``), pid, cohort, stars, issued, valid_until, reevaluated_on,
    stars_after, revoked_on, revocation_reason and the flags due, reevaluated, recertified, superseded,
    failed, lapsed, pending, revoked; sorted by cohort and product (``ordered=False``: in no set order,
    for counts). A product's later results are the rows after its certificate in ``results.rows``
    (sorted by product and date), so every window is a slice: no merge of certificates with results.
    """
    as_of = _as_of(reg, as_of)
    res = _results(reg, as_of, ordered=ordered)
    rows = res.rows
    at = _certificates(rows)
    pid = rows["pid"].to_numpy()
    when = rows["when"].to_numpy()
    key = res.key
    first = np.searchsorted(key, key[at], side="right")        # first result dated after the certificate
    stop = np.searchsorted(pid, pid[at], side="right")         # end of the product's results
    n = stop - first
    cert = np.repeat(np.arange(len(at)), n)                    # one pair per later result of a certificate
    later = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n) + np.repeat(first, n)
    valid = rows["valid_until"].iloc[at]
    opens, closes = _shift(valid, -_months(reference.rule("reevaluation_window_before_months")),
                           _months(reference.rule("reevaluation_window_after_months")))
    opens, closes = opens[cert], closes[cert]
    l_when, l_cert = when[later], rows["certified"].to_numpy()[later]
    stars = rows["stars"]
    l_stars = stars.isna().to_numpy()[later]
    inside = (l_when >= opens) & (l_when <= closes)
    nc = len(at)
    reevaluated = np.bincount(cert[inside], minlength=nc) > 0
    recertified = np.bincount(cert[inside & l_cert], minlength=nc) > 0
    early = np.bincount(cert[(l_when < opens) & l_cert], minlength=nc) > 0
    # the first result in the window is its earliest; the last certificate with stars gives stars_after
    on = _first_per(cert[inside], later[inside], nc)
    rated = inside & l_cert & ~l_stars
    after = _first_per(cert[rated][::-1], later[rated][::-1], nc)
    valid_until = valid.to_numpy()
    due = valid_until <= as_of.to_datetime64()
    superseded = early & ~reevaluated
    m = pd.DataFrame({
        "row": at, "pid": pid[at], "cohort": pd.Series(rows["year"].array.take(at)),
        "stars": pd.Series(stars.array.take(at)),
        "issued": pd.Series(rows["when"].array.take(at)), "valid_until": pd.Series(valid.array),
        "reevaluated_on": pd.Series(rows["when"].array.take(on, allow_fill=True)),
        "stars_after": pd.Series(stars.array.take(after, allow_fill=True)).astype("Int64"),
        "due": due, "reevaluated": reevaluated, "recertified": recertified, "superseded": superseded,
        "failed": reevaluated & ~recertified, "lapsed": due & ~reevaluated & ~superseded,
    })
    revs = _revocations(reg, res, at, as_of)
    hit = _revocation_of(res, m, revs)
    m["revoked"] = revoked = hit >= 0
    m["revoked_on"] = pd.Series(revs["revoked_on"].array.take(hit, allow_fill=True))
    m["revocation_reason"] = pd.Series(revs["reason"].array.take(hit, allow_fill=True))
    m["pending"] = ~due & ~reevaluated & ~superseded & ~revoked
    if not ordered:
        return m, res
    sort = np.lexsort((m["pid"].to_numpy(), m["cohort"].to_numpy(dtype="int64", na_value=0)))
    return m.take(sort).reset_index(drop=True), res


def _first_per(group: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """The first value of each group (groups ``0..n-1``, sorted runs in ``group``; -1 for none)."""
    out = np.full(n, -1, dtype=np.intp)
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]]) if len(group) else np.array([], dtype=np.intp)
    out[group[starts]] = values[starts]
    return out


def _revocation_of(res: _Results, m: pd.DataFrame, revs: pd.DataFrame) -> np.ndarray:
    """For each certificate of ``m``, the position in ``revs`` of the revocation tied to it, else -1."""
    if not len(revs) or not len(m):
        return np.full(len(m), -1, dtype=np.intp)
    rpid = res.ids.get_indexer(revs["product_id"])
    known = (rpid >= 0) & revs["cohort"].notna().to_numpy(dtype=bool)
    years = pd.Index(m["cohort"].dropna().unique())
    ryear = years.get_indexer(revs["cohort"])
    known &= ryear >= 0
    rkey = pd.Index(rpid[known].astype(np.int64) * len(years) + ryear[known])
    hit = rkey.get_indexer(m["pid"].to_numpy().astype(np.int64) * len(years) + years.get_indexer(m["cohort"]))
    return np.append(np.flatnonzero(known), -1)[hit]


def cohort_members(reg, as_of=None) -> pd.DataFrame:
    """One row per certificate of a recognition cohort (product certified twice in a year: once).

    Columns: product_id, cohort, stars, issued, valid_until, valid_until_estimated, product and
    entity names, district; due (expired by ``as_of``); reevaluated (a later result in the
    window, certified or failed), reevaluated_on (its date), recertified, stars_after (the last
    certificate in the window); superseded (a newer certificate before the window opened, e.g.
    an upgrade); failed, lapsed (due, not re-evaluated, not superseded), pending (not due, not
    re-evaluated yet, not revoked); revoked, revoked_on, revocation_reason; outcome (one of ``OUTCOMES``).
    """
    m, res = _members(reg, as_of)
    row = m["row"].to_numpy()
    order = res.rows["order"].to_numpy()[row]
    out = pd.DataFrame({
        "product_id": res.product_id(m["pid"]), "cohort": m["cohort"], "stars": m["stars"], "issued": m["issued"],
        "valid_until": m["valid_until"],
        "valid_until_estimated": pd.Series(res.rows["valid_until_estimated"].array.take(row)),
        "product_name": res.column("product_name", order, "string"),
        "entity_name": res.column("entity_name", order, "string"),
        "district_code": res.column("district_code", order, "Int64"),
        "district": res.column("district", order, "string"),
    })
    cols = ["due", "reevaluated", "reevaluated_on", "recertified", "stars_after", "superseded", "failed", "lapsed",
            "pending", "revoked", "revoked_on", "revocation_reason"]
    out[cols] = m[cols]
    out["outcome"] = _outcome(m)
    return out


def _outcome(m: pd.DataFrame) -> pd.Categorical:
    """Each certificate's outcome; a re-certification's stars decide first, then revoked, failed, superseded, lapsed."""
    diff = (m["stars_after"] - m["stars"]).where(m["recertified"])
    cases = [(diff < 0).fillna(False), (diff == 0).fillna(False), (diff > 0).fillna(False),
             m["revoked"], m["failed"], m["superseded"], m["lapsed"]]
    names = ["downgraded", "same", "upgraded", "revoked", "failed", "superseded", "lapsed"]
    codes = np.select([c.to_numpy(dtype=bool) for c in cases], [OUTCOMES.index(n) for n in names],
                      default=OUTCOMES.index("still_valid"))
    return pd.Categorical.from_codes(codes, categories=OUTCOMES)


def reevaluation_rates(reg, as_of=None, *, cohorts=None) -> pd.DataFrame:
    """Per recognition cohort: who came back for re-evaluation, with every rate's parts beside it.

    Columns: cohort, recognized (products certified that year), due (expired by ``as_of``),
    reevaluated (took part in a re-evaluation in the window: certified or failed), rate =
    reevaluated / recognized, recertified (re-evaluated and certified again), recertified_rate =
    recertified / recognized, upgraded / same / downgraded (stars of the new certificate vs the
    cohort's), failed (re-evaluated, not certified), lapsed (due, not re-evaluated), revoked (on a
    revocation list; overlaps failed and lapsed), superseded (replaced by a newer certificate
    before the window, e.g. an upgrade), pending (not due, not yet re-evaluated, not revoked).
    ``cohorts``: the years to keep (default: all), each listed even when empty.
    """
    m, _ = _members(reg, as_of, ordered=False)
    code, years = pd.factorize(m["cohort"], sort=True)
    diff = m["stars_after"] - m["stars"]
    flags = {"recognized": np.ones(len(m), dtype=bool)}
    for name in ("due", "reevaluated", "recertified", "failed", "lapsed", "revoked", "superseded", "pending"):
        flags[name] = m[name].to_numpy(dtype=bool)
    for name, mask in (("upgraded", diff > 0), ("same", diff == 0), ("downgraded", diff < 0)):
        flags[name] = mask.fillna(False).to_numpy(dtype=bool)
    counted = code >= 0
    out = pd.DataFrame({name: np.bincount(code[counted & mask], minlength=len(years)) for name, mask in flags.items()},
                       index=pd.Index(years, name="cohort"))
    if cohorts is not None:
        out = out.reindex(pd.Index(list(cohorts), name="cohort"))
    out = out.fillna(0).astype(int)
    out["rate"] = out["reevaluated"] / out["recognized"].where(out["recognized"] > 0)
    out["recertified_rate"] = out["recertified"] / out["recognized"].where(out["recognized"] > 0)
    cols = ["recognized", "due", "reevaluated", "rate", "recertified", "recertified_rate", "upgraded", "same",
            "downgraded", "failed", "lapsed", "revoked", "superseded", "pending"]
    out = out[cols].reset_index()
    out["cohort"] = out["cohort"].astype(int)
    return out


def cohort_outcomes(reg, as_of=None, *, cohorts=None) -> pd.DataFrame:
    """Tidy cohort × outcome counts for the cohort chart; every outcome listed (zeros included).

    Each certificate has one outcome (``OUTCOMES``): re-evaluated and upgraded / same /
    downgraded, superseded, failed, lapsed, revoked (taking precedence over failed and lapsed),
    still_valid. Columns: cohort, outcome (ordered), count, recognized, share.
    """
    m, _ = _members(reg, as_of, ordered=False)
    m["outcome"] = _outcome(m)
    years = sorted(m["cohort"].dropna().astype(int).unique()) if cohorts is None else list(cohorts)
    grid = pd.MultiIndex.from_product([years, OUTCOMES], names=["cohort", "outcome"])
    counts = m.groupby(["cohort", m["outcome"].astype(str)]).size().reindex(grid, fill_value=0)
    out = counts.rename("count").reset_index()
    out["outcome"] = pd.Categorical(out["outcome"], categories=OUTCOMES, ordered=True)
    out["recognized"] = out.groupby("cohort")["count"].transform("sum")
    out["share"] = out["count"] / out["recognized"].where(out["recognized"] > 0)
    return out


def cohort_target(rates: pd.DataFrame, cohort: int, share: float) -> pd.DataFrame:
    """A cohort's re-evaluation against a target share (e.g. the 2025 plan: 2022 cohort, 50%).

    Columns: cohort, recognized, target_share, target (products needed, rounded up),
    reevaluated, rate, recertified, gap (target − reevaluated, 0 when met), met.

    >>> r = pd.DataFrame({"cohort": [2022], "recognized": [156], "reevaluated": [80],
    ...                   "rate": [80 / 156], "recertified": [70]})
    >>> row = cohort_target(r, 2022, 0.5).iloc[0]
    >>> int(row["target"]), int(row["gap"]), bool(row["met"])
    (78, 0, True)
    """
    import math

    row = rates[rates["cohort"] == cohort]
    recognized = int(row["recognized"].iloc[0]) if len(row) else 0
    done = int(row["reevaluated"].iloc[0]) if len(row) else 0
    target = math.ceil(round(share * recognized, 9))
    return pd.DataFrame([{
        "cohort": cohort, "recognized": recognized, "target_share": share, "target": target,
        "reevaluated": done, "rate": done / recognized if recognized else float("nan"),
        "recertified": int(row["recertified"].iloc[0]) if len(row) else 0,
        "gap": max(target - done, 0), "met": done >= target,
    }])


def plan_cohort_targets(rates: pd.DataFrame, plan, lang: str = "vi") -> pd.DataFrame:
    """``cohort_target`` for every ``cohort_reevaluated_share`` target of a plan (``oa.load_plan``).

    Columns: item, label, then those of ``cohort_target``. Empty when the plan sets none.
    """
    rows = []
    for t in getattr(plan, "targets", []):
        if t.metric != "cohort_reevaluated_share":
            continue
        row = cohort_target(rates, int(t.params["cohort"]), float(t.target))
        row.insert(0, "label", t.label.get(lang) or t.label.get("vi"))
        row.insert(0, "item", t.id)
        rows.append(row)
    if not rows:
        return pd.DataFrame(columns=["item", "label", "cohort", "recognized", "target_share", "target",
                                     "reevaluated", "rate", "recertified", "gap", "met"])
    return pd.concat(rows, ignore_index=True)


# --------------------------------------------------------------------------- expiry calendar

@dataclass
class ExpiryCalendar:
    """Certificates in force at ``start`` that expire in [start, end); ``end`` is a month's first day.

    counts:   tidy month × district counts (month = first day of the month), zeros included,
              districts in official order.
    products: the list an officer calls from: entity_name, product_name, stars, valid_until,
              valid_until_estimated, district, district_code, status, product_id, sorted by expiry.
    Unpacks as ``counts, products = oa.expiry_calendar(reg)``.
    """

    counts: pd.DataFrame
    products: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp

    def __iter__(self):
        return iter((self.counts, self.products))

    def table(self, *, totals: bool = True) -> pd.DataFrame:
        """Districts × months (column labels "MM/YYYY"), with a total row and column."""
        wide = self.counts.pivot_table(index="district", columns="month", values="count", aggfunc="sum",
                                       sort=False, observed=False)
        wide = wide.reindex(pd.unique(self.counts["district"]))
        wide.columns = [f"{m:%m/%Y}" for m in wide.columns]
        wide = wide.astype(int)
        if totals:
            wide["total"] = wide.sum(axis=1)
            wide.loc["total"] = wide.sum(axis=0)
        return wide

    def to_excel(self, path, *, lang: str = "vi"):
        """The calendar (districts × months) and the call list, one formatted sheet each, titled in ``lang``."""
        from . import excel_out

        vi = lang == "vi"
        return excel_out.write_excel(path, {("Lịch hết hạn" if vi else "Expiry calendar"): self.table().reset_index(),
                                            ("Danh sách liên hệ" if vi else "Contact list"): self.products},
                                     labels=lang)


def expiry_calendar(reg, start=None, months: int = 12) -> ExpiryCalendar:
    """Certificates in force at ``start`` (not superseded, not revoked) expiring in the next ``months``
    calendar months: from ``start`` to the end of the month ``months - 1`` after it (so the table
    has exactly ``months`` columns, the first one counted from ``start``).

    ``start`` defaults to the registry's ``as_of`` (else today). See ``ExpiryCalendar``.
    """
    start = _as_of(reg, start)
    end = start.to_period("M").to_timestamp() + _months(months)
    prods = build_products(reg, as_of=start)
    due = prods[prods["status"].isin(["valid", "expiring"]) & (prods["valid_until"] >= start)
                & (prods["valid_until"] < end)]
    listing = due.rename(columns={"stars_now": "stars"})[
        ["entity_name", "product_name", "stars", "valid_until", "valid_until_estimated", "district",
         "district_code", "status", "product_id"]]
    listing = listing.sort_values(["valid_until", "district_code", "entity_name"]).reset_index(drop=True)
    listing["status"] = listing["status"].astype("string")
    districts = _districts(reg, prods)
    month_index = pd.period_range(start, end - pd.Timedelta(days=1), freq="M").to_timestamp()
    grid = pd.MultiIndex.from_product([month_index, districts["district_code"]], names=["month", "district_code"])
    month = listing["valid_until"].dt.to_period("M").dt.to_timestamp()
    counts = listing.groupby([month.rename("month"), listing["district_code"]]).size()
    counts = counts.reindex(grid, fill_value=0).rename("count").reset_index()
    counts["month"] = counts["month"].astype("datetime64[us]")
    counts = counts.merge(districts, on="district_code", how="left")[["month", "district_code", "district", "count"]]
    return ExpiryCalendar(counts=counts, products=listing, start=start, end=end)


def _districts(reg, frame: pd.DataFrame) -> pd.DataFrame:
    """Reference districts of the province in official order, plus any other code in ``frame``."""
    try:
        ref = reference.districts(getattr(reg, "province", reference.DEFAULT_PROVINCE))
        known = pd.DataFrame({"district_code": ref["code"].astype("Int64"), "district": ref["name"]})
    except KeyError:
        known = pd.DataFrame({"district_code": pd.Series(dtype="Int64"), "district": pd.Series(dtype="string")})
    if "district_code" not in frame:
        return known.reset_index(drop=True)
    seen = frame[[c for c in ("district_code", "district") if c in frame]]
    seen = seen.dropna(subset=["district_code"]).drop_duplicates("district_code")
    seen = pd.DataFrame({"district_code": pd.to_numeric(seen["district_code"]).astype("Int64"),
                         "district": seen["district"] if "district" in seen else pd.NA})
    extra = seen[~seen["district_code"].isin(known["district_code"])].sort_values("district_code")
    out = pd.concat([known, extra], ignore_index=True)
    out["district_code"] = out["district_code"].astype("Int64")
    out["district"] = out["district"].astype("string")
    return out


# --------------------------------------------------------------------------- transitions

def transitions(reg, as_of=None) -> pd.DataFrame:
    """Stars before × stars after, for every later result of a certified product.

    A result is paired with the product's newest certificate issued before it, if the result
    came no later than ``reevaluation_window_after_months`` after that certificate expired (a
    product that lapsed and came back later enters as new). ``kind`` is "reevaluation" when the
    result is in the re-evaluation window, "upgrade" when earlier (re-scored during validity).
    Columns: kind, stars_before (Int64), stars_after (ordered categorical "3", "4", "5", "failed"),
    count — the full grid, zeros included.
    """
    as_of = _as_of(reg, as_of)
    res = _results(reg, as_of, ordered=False)
    rows, key = res.rows, res.key
    pid = rows["pid"].to_numpy()
    cert = np.flatnonzero(rows["certified"].to_numpy())
    # the newest certificate dated strictly before each result (rows are sorted by product and date)
    prev = np.searchsorted(key[cert], key, side="left") - 1
    prev = np.where(prev >= 0, cert[np.maximum(prev, 0)], -1) if len(cert) else np.full(len(rows), -1)
    prev = np.where((prev >= 0) & (pid[np.maximum(prev, 0)] == pid), prev, -1) if len(rows) else prev
    paired = np.flatnonzero(prev >= 0)
    before_at = prev[paired]
    when = rows["when"].to_numpy()[paired]
    valid = rows["valid_until"].iloc[before_at]
    after = _months(reference.rule("reevaluation_window_after_months"))
    before = _months(reference.rule("reevaluation_window_before_months"))
    opens, closes = _shift(valid, -before, after)
    keep = when <= closes
    paired, before_at, when, opens = paired[keep], before_at[keep], when[keep], opens[keep]
    kind = pd.Series(when >= opens).map({True: "reevaluation", False: "upgrade"})
    stars = sorted(reference.certified_stars())
    labels = [str(s) for s in stars] + [FAILED]
    stars_after = pd.Series(rows["stars"].array.take(paired))
    after_label = stars_after.astype("string").where(rows["certified"].to_numpy()[paired], FAILED)
    stars_before = pd.Series(rows["stars"].array.take(before_at))
    counts = pd.DataFrame({"kind": kind, "stars_before": stars_before.astype(int),
                           "stars_after": after_label}).value_counts()
    grid = pd.MultiIndex.from_product([["reevaluation", "upgrade"], stars, labels],
                                      names=["kind", "stars_before", "stars_after"])
    out = counts.reindex(grid, fill_value=0).rename("count").reset_index()
    out["stars_before"] = out["stars_before"].astype("Int64")
    out["stars_after"] = pd.Categorical(out["stars_after"], categories=labels, ordered=True)
    return out


# --------------------------------------------------------------------------- revocations

def revocations_by_district(reg, *, cohort=None) -> pd.DataFrame:
    """Revoked certificates per district and reason; every district listed, official order.

    Columns: district_code, district, not_reevaluated, failed_mandatory, other, total.
    A revocation without a district takes the district of the product's latest result.
    ``cohort``: keep only certificates recognised that year.
    """
    rev = reg.revocations
    districts = _districts(reg, rev if rev is not None else pd.DataFrame())
    cols = ["district_code", "district", *REVOCATION_REASONS, "total"]
    if rev is None or len(rev) == 0:
        out = districts.copy()
        for c in (*REVOCATION_REASONS, "total"):
            out[c] = 0
        return out[cols]
    code = pd.to_numeric(rev["district_code"], errors="coerce").astype("Int64") if "district_code" in rev \
        else pd.Series(pd.NA, index=rev.index, dtype="Int64")
    if "product_id" in rev and len(reg.evaluations):
        latest = reg.evaluations[["product_id", "district_code"]].drop_duplicates("product_id", keep="last")
        latest = latest.set_index("product_id")["district_code"]
        code = code.fillna(rev["product_id"].map(latest).astype("Int64"))
    reason = _reason(rev["reason"] if "reason" in rev else pd.Series(pd.NA, index=rev.index))
    reason = reason.where(reason.isin(REVOCATION_REASONS[:2]), "other")
    frame = pd.DataFrame({"district_code": code, "reason": reason})
    if cohort is not None:
        # a revocation whose recognition year is not given belongs to no cohort
        of_cohort = pd.to_numeric(rev["year_recognized"], errors="coerce").eq(cohort).fillna(False)
        frame = frame[of_cohort.to_numpy(dtype=bool)]
    table = frame.groupby(["district_code", "reason"]).size().unstack(fill_value=0)
    table = table.reindex(columns=REVOCATION_REASONS, fill_value=0)
    out = districts.merge(table, left_on="district_code", right_index=True, how="left")
    out[REVOCATION_REASONS] = out[REVOCATION_REASONS].fillna(0).astype(int)
    out["total"] = out[REVOCATION_REASONS].sum(axis=1)
    return out[cols].reset_index(drop=True)
