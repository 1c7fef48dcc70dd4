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


def _results(reg, as_of: pd.Timestamp) -> pd.DataFrame:
    """Evaluation rows placed in time (``when``), with their certificate's validity; up to ``as_of``."""
    ev = reg.evaluations
    year = pd.to_numeric(ev["year"], errors="coerce").astype("Int64")
    decided = pd.to_datetime(ev["decision_date"], errors="coerce")
    year = year.fillna(decided.dt.year.astype("Int64"))
    year_end = pd.to_datetime(year.astype("string") + "-12-31", errors="coerce")
    when = decided.fillna(year_end)
    stars = pd.to_numeric(ev["stars"], errors="coerce").astype("Int64")
    certified = ev["certified"].astype("boolean").fillna(stars.isin(reference.certified_stars()))
    valid = pd.to_datetime(ev["valid_until"], errors="coerce")
    valid = valid.fillna(when + _months(reference.validity_months())).where(certified)
    estimated = ev["valid_until_estimated"].astype("boolean").fillna(decided.isna()).where(certified)
    out = pd.DataFrame({
        "product_id": _product_ids(ev),
        "year": year, "when": when, "stars": stars.where(certified), "certified": certified.astype(bool),
        "valid_until": valid, "valid_until_estimated": estimated.astype("boolean"),
        "decision_no": ev["decision_no"].astype("string"),
        "product_name": ev["product_name"].astype("string"), "entity_name": ev["entity_name"].astype("string"),
        "district_code": ev["district_code"].astype("Int64"), "district": ev["district"].astype("string"),
        "group": ev["group"].astype("Int64"),
    })
    out["order"] = range(len(out))
    out = out[out["product_id"].notna() & out["when"].notna() & (out["when"] <= as_of)]
    return out.sort_values(["product_id", "when", "order"]).reset_index(drop=True)


def _product_ids(ev: pd.DataFrame) -> pd.Series:
    """The evaluations' product ids; assigned here by ``linking`` when none are set (a frame built by hand)."""
    ids = ev["product_id"].astype("string")
    if len(ev) and ids.isna().all():
        from .linking import assign_product_ids

        ids, _ = assign_product_ids(ev)
    return ids


def _certificates(results: pd.DataFrame) -> pd.DataFrame:
    """Certificates, one per product per recognition year (the latest of that year)."""
    certs = results[results["certified"]].rename(columns={"year": "cohort", "when": "issued"})
    return certs.groupby(["product_id", "cohort"], sort=False).tail(1).reset_index(drop=True)


def _revocations(reg, certs: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Revocations in force by ``as_of``, each tied to the certificate it revoked (product_id, cohort).

    The certificate is the one of the revocation's recognition year when that exists, else the
    product's latest certificate issued before the revocation date.
    """
    cols = ["product_id", "cohort", "revoked_on", "reason"]
    rev = reg.revocations
    if rev is None or len(rev) == 0 or "product_id" not in rev:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in
                             zip(cols, ["string", "Int64", "datetime64[us]", "string"])})
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
    cohort = rev["year_recognized"].copy()
    known = rev.merge(certs[["product_id", "cohort"]].drop_duplicates(), how="left", indicator=True,
                      left_on=["product_id", "year_recognized"], right_on=["product_id", "cohort"])
    rest = rev[known["_merge"].ne("both").to_numpy() & rev["product_id"].isin(certs["product_id"]).to_numpy()]
    by_date = certs[["product_id", "issued", "cohort"]].astype({"issued": "datetime64[us]"}).sort_values("issued")
    dated = rest[rest["revoked_on"].notna()].astype({"revoked_on": "datetime64[us]"})
    if len(dated):
        hit = pd.merge_asof(dated.reset_index().sort_values("revoked_on"), by_date, left_on="revoked_on",
                            right_on="issued", by="product_id", direction="backward").set_index("index")["cohort"]
        hit = hit.dropna()
        cohort.loc[hit.index] = hit.astype("Int64")
    undated = rest[rest["revoked_on"].isna()]
    if len(undated):
        last = by_date.groupby("product_id").tail(1).set_index("product_id")["cohort"]
        cohort.loc[undated.index] = undated["product_id"].map(last).astype("Int64")
    rev["cohort"] = cohort.astype("Int64")
    return (rev.sort_values("revoked_on").groupby(["product_id", "cohort"], dropna=False).tail(1)
            [cols].reset_index(drop=True))


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
    results = _results(reg, as_of)
    certs = _certificates(results)
    revs = _revocations(reg, certs, as_of)
    g = results.groupby("product_id", sort=True)
    last = g.tail(1).set_index("product_id")
    out = pd.DataFrame({
        "product_name": last["product_name"], "entity_name": last["entity_name"],
        "district_code": last["district_code"], "district": last["district"],
        "group": g["group"].last(), "latest_year": last["year"], "latest_stars": last["stars"],
        "evaluations": g.size(),
    })
    every = results[results["certified"]].rename(columns={"year": "cohort", "when": "issued"})
    cg = every.sort_values(["product_id", "issued", "order"]).groupby("product_id")
    first, newest = cg.head(1).set_index("product_id"), cg.tail(1).set_index("product_id")
    out["first_year"] = first["cohort"]
    out["first_stars"] = first["stars"]
    out["latest_certified"] = newest["issued"]
    out["valid_until"] = newest["valid_until"]
    out["valid_until_estimated"] = newest["valid_until_estimated"]
    out["_cohort"] = newest["cohort"]
    out["_stars"] = newest["stars"]
    out = out.reset_index()
    out = _with_revocations(out, revs, reg)
    soon = as_of + _months(reference.rule("expiring_soon_months"))
    revoked = out["_revoked"]
    status = pd.Series("never_certified", index=out.index, dtype="string")
    has = out["valid_until"].notna()
    status[has & (out["valid_until"] > soon)] = "valid"
    status[has & (out["valid_until"] >= as_of) & (out["valid_until"] <= soon)] = "expiring"
    status[has & (out["valid_until"] < as_of)] = "expired"
    status[revoked] = "revoked"
    out["status"] = pd.Categorical(status, categories=STATUSES)
    out["stars_now"] = out["_stars"].where(status.isin(["valid", "expiring"])).astype("Int64")
    for col in ("first_year", "first_stars", "latest_year", "latest_stars", "group", "district_code"):
        out[col] = out[col].astype("Int64")
    out["evaluations"] = out["evaluations"].fillna(0).astype(int)
    return out[PRODUCT_COLUMNS].sort_values("product_id").reset_index(drop=True)


def _with_revocations(out: pd.DataFrame, revs: pd.DataFrame, reg) -> pd.DataFrame:
    """Add revoked_on and the _revoked flag; append products known only from revocation lists."""
    latest = revs.sort_values("revoked_on").groupby("product_id").tail(1).set_index("product_id")["revoked_on"]
    out["revoked_on"] = pd.to_datetime(out["product_id"].map(latest.to_dict())).astype("datetime64[us]")
    hit = out.merge(revs, left_on=["product_id", "_cohort"], right_on=["product_id", "cohort"], how="left",
                    indicator=True)["_merge"].eq("both").to_numpy()
    out["_revoked"] = hit
    only = sorted(set(revs["product_id"].dropna()) - set(out["product_id"]))
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

def cohort_members(reg, as_of=None) -> pd.DataFrame:
    """One row per certificate of a recognition cohort (product certified twice in a year: once).

    Columns: product_id, cohort, stars, issued, valid_until, valid_until_estimated, product and
    entity names, district; due (expired by ``as_of``); reevaluated (a later result in the
    window, certified or failed), reevaluated_on (its date), recertified, stars_after (the last
    certificate in the window); superseded (a newer certificate before the window opened, e.g.
    an upgrade); failed, lapsed (due, not re-evaluated, not superseded), pending (not due, not
    re-evaluated yet, not revoked); revoked, revoked_on, revocation_reason; outcome (one of ``OUTCOMES``).
    """
    as_of = _as_of(reg, as_of)
    results = _results(reg, as_of)
    certs = _certificates(results)
    before = _months(reference.rule("reevaluation_window_before_months"))
    after = _months(reference.rule("reevaluation_window_after_months"))
    later = certs[["product_id", "cohort", "issued", "valid_until"]].merge(
        results[["product_id", "when", "stars", "certified"]], on="product_id")
    later = later[later["when"] > later["issued"]]
    opens, closes = later["valid_until"] - before, later["valid_until"] + after
    window = later[(later["when"] >= opens) & (later["when"] <= closes)].sort_values("when")
    key = ["product_id", "cohort"]
    wg = window.groupby(key)
    agg = pd.DataFrame({"reevaluated_on": wg["when"].min(),
                        "recertified": wg["certified"].any()})
    agg["stars_after"] = window[window["certified"]].groupby(key)["stars"].last()
    early = later[(later["when"] < opens) & later["certified"]].groupby(key).size().rename("early")
    m = certs.merge(agg.reset_index(), on=key, how="left").merge(early.reset_index(), on=key, how="left")
    m["reevaluated"] = m["reevaluated_on"].notna()
    m["recertified"] = m["recertified"].fillna(False).astype(bool)
    m["stars_after"] = m["stars_after"].astype("Int64")
    m["superseded"] = m["early"].notna() & ~m["reevaluated"]
    m["due"] = m["valid_until"] <= as_of
    m["failed"] = m["reevaluated"] & ~m["recertified"]
    m["lapsed"] = m["due"] & ~m["reevaluated"] & ~m["superseded"]
    revs = _revocations(reg, certs, as_of).rename(columns={"reason": "revocation_reason"})
    m = m.merge(revs, on=key, how="left", indicator=True)
    m["revoked"] = m.pop("_merge").eq("both")
    m["pending"] = ~m["due"] & ~m["reevaluated"] & ~m["superseded"] & ~m["revoked"]
    m["outcome"] = pd.Categorical(_outcome(m), categories=OUTCOMES)
    cols = ["product_id", "cohort", "stars", "issued", "valid_until", "valid_until_estimated", "product_name",
            "entity_name", "district_code", "district", "due", "reevaluated", "reevaluated_on", "recertified",
            "stars_after", "superseded", "failed", "lapsed", "pending", "revoked", "revoked_on",
            "revocation_reason", "outcome"]
    return m[cols].sort_values(["cohort", "product_id"]).reset_index(drop=True)


def _outcome(m: pd.DataFrame) -> pd.Series:
    out = pd.Series("still_valid", index=m.index, dtype=object)
    out[m["lapsed"]] = "lapsed"
    out[m["superseded"]] = "superseded"
    out[m["failed"]] = "failed"
    out[m["revoked"]] = "revoked"
    diff = (m["stars_after"] - m["stars"]).where(m["recertified"])
    out[diff > 0] = "upgraded"
    out[diff == 0] = "same"
    out[diff < 0] = "downgraded"
    return out


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
    m = cohort_members(reg, as_of)
    counts = ["due", "reevaluated", "recertified", "failed", "lapsed", "revoked", "superseded", "pending"]
    g = m.groupby("cohort")
    out = g[counts].sum()
    out.insert(0, "recognized", g.size())
    diff = m["stars_after"] - m["stars"]
    for name, mask in (("upgraded", diff > 0), ("same", diff == 0), ("downgraded", diff < 0)):
        out[name] = mask.fillna(False).groupby(m["cohort"]).sum()
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
    m = cohort_members(reg, as_of)
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
    seen = frame.dropna(subset=["district_code"]).drop_duplicates("district_code")
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
    results = _results(reg, as_of)
    certs = results[results["certified"]].rename(columns={"when": "issued"})[
        ["product_id", "issued", "valid_until", "stars"]]
    left = results[["product_id", "when", "stars", "certified"]].sort_values("when")
    right = certs.rename(columns={"stars": "stars_before"}).sort_values("issued")
    pairs = pd.merge_asof(left, right, left_on="when", right_on="issued", by="product_id",
                          allow_exact_matches=False, direction="backward")
    after = _months(reference.rule("reevaluation_window_after_months"))
    before = _months(reference.rule("reevaluation_window_before_months"))
    pairs = pairs[pairs["issued"].notna() & (pairs["when"] <= pairs["valid_until"] + after)]
    kind = (pairs["when"] >= pairs["valid_until"] - before).map({True: "reevaluation", False: "upgrade"})
    stars = sorted(reference.certified_stars())
    labels = [str(s) for s in stars] + [FAILED]
    after_label = pairs["stars"].astype("string").where(pairs["certified"], FAILED)
    counts = pd.DataFrame({"kind": kind, "stars_before": pairs["stars_before"].astype(int),
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
        latest = reg.evaluations.drop_duplicates("product_id", keep="last").set_index("product_id")["district_code"]
        code = code.fillna(rev["product_id"].map(latest).astype("Int64"))
    reason = _reason(rev["reason"] if "reason" in rev else pd.Series(pd.NA, index=rev.index))
    reason = reason.where(reason.isin(REVOCATION_REASONS[:2]), "other")
    frame = pd.DataFrame({"district_code": code, "reason": reason})
    if cohort is not None:
        frame = frame[pd.to_numeric(rev["year_recognized"], errors="coerce").eq(cohort).to_numpy()]
    table = frame.groupby(["district_code", "reason"]).size().unstack(fill_value=0)
    table = table.reindex(columns=REVOCATION_REASONS, fill_value=0)
    out = districts.merge(table, left_on="district_code", right_index=True, how="left")
    out[REVOCATION_REASONS] = out[REVOCATION_REASONS].fillna(0).astype(int)
    out["total"] = out[REVOCATION_REASONS].sum(axis=1)
    return out[cols].reset_index(drop=True)
