"""Plan targets as data (``data/plans/*.yaml``) and the scorecard against a registry.

A plan file lists targets; each names a *metric* the code knows. Another year's or
province's plan is a new file, no code change. ``load_plan`` checks the file and
raises :class:`~ocop_analysis.errors.ConfigError` naming the key and value at fault.

Scorecard semantics (``plan_scorecard``), Y = the plan year (or the target's ``year``):

- ``new_entries`` — rows of year Y with kind "new": products entered, certified or not.
- ``new_certified_at_stars`` — rows of year Y with kind "new", certified at ``stars``.
- ``new_entries_per_district`` — per district, rows of year Y with kind "new" rated
  ``stars``; the target is a minimum per district; the scorecard's actual is the number
  of districts that reach it, against the number of districts (``plan_district_table``
  lists them). A registry records results, not the level a product was entered for, so
  "entered for 4★ evaluation" is measured as "rated 4★" (an undercount of entries).
- ``five_star_dossiers`` — distinct products with a row of year Y marked
  five_star_candidate (the loader reads headers such as "Tiềm năng 5 sao" into it) or
  rated 5★ in year Y.
- ``cohort_reevaluated_share`` — for cohort C: the rate from ``oa.reevaluation_rates``
  (lifecycle) when that module is available; otherwise products certified in C (by
  product_id) that have any row in year Y, over products certified in C. The note says
  which was used and gives numerator / denominator.
- ``budget_vnd`` — the total of a budget scenario (``oa.budget.evaluate``) when
  ``scenarios`` is given; else not measured (actual and met empty).

``gap`` = target − actual (how far short; ≤ 0 when reached). ``met`` compares with
``compare`` (">=" by default, ">" for "more than"); it is <NA> when not measured.
``as_of`` drops rows decided after that date (rows without a decision date stay) and is
passed to the lifecycle rate.

>>> plan = load_plan(paths.DEFAULT_PLAN)                 # doctest: +SKIP
>>> plan_scorecard(reg, plan)                            # doctest: +SKIP
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import reference
from .config import read_yaml
from .errors import ConfigError

__all__ = ["METRICS", "Plan", "Target", "load_plan", "parse_plan", "plan_scorecard", "plan_district_table",
           "scorecard_table"]

# metric -> (its own required keys, its optional keys, default unit)
METRICS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "new_entries": ((), (), "products"),
    "new_certified_at_stars": (("stars",), (), "products"),
    "new_entries_per_district": (("stars",), (), "districts"),
    "five_star_dossiers": ((), (), "products"),
    "cohort_reevaluated_share": (("cohort",), (), "share"),
    "budget_vnd": ((), ("scenario",), "vnd"),
}
_COMMON_REQUIRED = ("id", "label", "metric", "target")
_COMMON_OPTIONAL = ("compare", "unit", "note", "year")
_TOP_REQUIRED = ("year", "province", "targets")
_TOP_OPTIONAL = ("title", "source", "note")
_UNITS = ("products", "districts", "share", "vnd")
_COMPARE = (">=", ">")
SCORECARD_COLUMNS = ["item", "label", "metric", "target", "actual", "gap", "met", "unit", "compare", "note"]


@dataclass(frozen=True)
class Target:
    id: str
    label: dict[str, str]
    metric: str
    target: float
    compare: str = ">="
    unit: str = "products"
    note: dict[str, str] = field(default_factory=dict)
    year: int | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Plan:
    year: int
    province: str
    targets: list[Target]
    title: str = ""
    source: Any = None
    path: Path | None = None

    def to_frame(self, lang: str = "vi") -> pd.DataFrame:
        """The targets as a table (id, label, metric, target, compare, unit, note)."""
        return pd.DataFrame([{"id": t.id, "label": t.label.get(lang) or t.label.get("vi"), "metric": t.metric,
                              "target": t.target, "compare": t.compare, "unit": t.unit,
                              "note": t.note.get(lang, "")}
                             for t in self.targets])


# ---- loading and validation ------------------------------------------------------------------

def load_plan(path) -> Plan:
    """Read and check a plan YAML file (see data/plans/dong_thap_2025.yaml for the schema)."""
    path = Path(path)
    return parse_plan(read_yaml(path, "plan"), source=path.name, path=path)


def _fail(where: str, msg: str):
    raise ConfigError(f"{where}: {msg}")


def _unknown(keys, allowed, where):
    extra = [k for k in keys if k not in allowed]
    if extra:
        _fail(where, f"unknown key {extra[0]!r} (allowed: {', '.join(allowed)})")


def _int(value, key, where, lo=None, hi=None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or (lo is not None and value < lo) \
            or (hi is not None and value > hi):
        rng = f" between {lo} and {hi}" if lo is not None and hi is not None else ""
        _fail(where, f"{key} must be a whole number{rng}, not {value!r}")
    return value


def parse_plan(raw: Any, *, source: str = "plan", path: Path | None = None) -> Plan:
    """Check a plan already read from YAML (a dict) and build the :class:`Plan`."""
    if not isinstance(raw, dict):
        _fail(source, f"a plan is a mapping with keys {', '.join(_TOP_REQUIRED)}; got {type(raw).__name__}")
    for key in _TOP_REQUIRED:
        if key not in raw:
            _fail(source, f"missing key {key!r}")
    _unknown(raw, _TOP_REQUIRED + _TOP_OPTIONAL, source)
    year = _int(raw["year"], "year", source, 2000, 2100)
    province = raw["province"]
    try:
        reference.districts(str(province))
    except KeyError:
        _fail(source, f"province {province!r} has no districts (reference/districts.csv or the 63-province structure)")
    targets_raw = raw["targets"]
    if not isinstance(targets_raw, list) or not targets_raw:
        _fail(source, f"targets must be a non-empty list, not {targets_raw!r}")
    targets, seen = [], set()
    for i, item in enumerate(targets_raw):
        t = _parse_target(item, f"{source}: targets[{i}]")
        if t.id in seen:
            _fail(f"{source}: targets[{i}]", f"id {t.id!r} is used twice")
        seen.add(t.id)
        targets.append(t)
    return Plan(year=year, province=str(province), targets=targets, title=str(raw.get("title") or ""),
                source=raw.get("source"), path=path)


def _parse_target(item: Any, where: str) -> Target:
    if not isinstance(item, dict):
        _fail(where, f"a target is a mapping with keys {', '.join(_COMMON_REQUIRED)}; got {item!r}")
    if "id" in item:
        where = f"{where} ({item['id']!r})"
    for key in _COMMON_REQUIRED:
        if key not in item:
            _fail(where, f"missing key {key!r}")
    metric = item["metric"]
    if metric not in METRICS:
        _fail(where, f"metric {metric!r} is not one of: {', '.join(METRICS)}")
    required, optional, default_unit = METRICS[metric]
    _unknown(item, _COMMON_REQUIRED + _COMMON_OPTIONAL + required + optional, where)
    for key in required:
        if key not in item:
            _fail(where, f"metric {metric!r} needs key {key!r}")
    tid = item["id"]
    if not isinstance(tid, str) or not re.fullmatch(r"[A-Za-z0-9_\-]+", tid):
        _fail(where, f"id must be a short name of letters, digits, _ or -, not {tid!r}")
    label = _bilingual(item["label"], "label", where)
    target = item["target"]
    if isinstance(target, bool) or not isinstance(target, (int, float)) or target < 0 or target != target:
        _fail(where, f"target must be a number ≥ 0, not {target!r}")
    if metric == "cohort_reevaluated_share" and not 0 < target <= 1:
        _fail(where, f"target of a share must be in (0, 1] (50% is 0.5), not {target!r}")
    compare = item.get("compare", ">=")
    if compare not in _COMPARE:
        _fail(where, f"compare must be one of {', '.join(_COMPARE)}, not {compare!r}")
    unit = item.get("unit", default_unit)
    if unit not in _UNITS:
        _fail(where, f"unit must be one of {', '.join(_UNITS)}, not {unit!r}")
    year = item.get("year")
    if year is not None:
        year = _int(year, "year", where, 2000, 2100)
    params = {}
    if "stars" in item:
        params["stars"] = _int(item["stars"], "stars", where, 1, 5)
    if "cohort" in item:
        params["cohort"] = _int(item["cohort"], "cohort", where, 2000, 2100)
    if "scenario" in item:
        if not isinstance(item["scenario"], str):
            _fail(where, f"scenario must be a scenario name, not {item['scenario']!r}")
        params["scenario"] = item["scenario"]
    note = _bilingual(item["note"], "note", where) if item.get("note") else {}
    return Target(id=tid, label=label, metric=metric, target=target, compare=compare, unit=unit,
                  note=note, year=year, params=params)


def _bilingual(value, key: str, where: str) -> dict[str, str]:
    """Text, or {vi: ..., en: ...} (one language is enough: it stands in for the other)."""
    if isinstance(value, str) and value.strip():
        return {"vi": value, "en": value}
    if isinstance(value, dict) and value and all(k in ("vi", "en") for k in value) \
            and all(isinstance(v, str) and v.strip() for v in value.values()):
        return {"vi": value.get("vi") or value.get("en"), "en": value.get("en") or value.get("vi")}
    _fail(where, f"{key} must be text or {{vi: ..., en: ...}}, not {value!r}")


def _as_plan(plan) -> Plan:
    if isinstance(plan, Plan):
        return plan
    if isinstance(plan, dict):
        return parse_plan(plan)
    return load_plan(plan)


# ---- measuring -------------------------------------------------------------------------------

def _rows(reg, as_of, province: str | None = None) -> pd.DataFrame:
    ev = reg.evaluations
    if province is not None and "legacy_province" in ev.columns:
        # A registry of a merged 2025 province (new Đồng Tháp = old Đồng Tháp + Tiền Giang): the plan of the
        # old province counts its own rows only. Rows whose old province is unknown stay counted.
        own = _equals(ev["legacy_province"], province, missing=True)
        if not own.all():
            ev = ev[own]
    if as_of is not None:
        cutoff = pd.Timestamp(as_of)
        decided = ev["decision_date"]
        kept = (decided.isna() | (decided <= cutoff)).to_numpy(dtype=bool)
        if not kept.all():
            ev = ev[kept]
    return ev


def _equals(values: pd.Series, text: str, *, missing: bool = False) -> np.ndarray:
    """``values`` read as text equal ``text`` (``missing`` where NA); a categorical is read once per category."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        same = (pd.Series(values.cat.categories).astype("string") == text).fillna(missing).to_numpy(dtype=bool)
        return np.append(same, missing)[values.cat.codes.to_numpy()]
    return (values.astype("string") == text).fillna(missing).to_numpy(dtype=bool)


_NEW_ROW_COLUMNS = ["stars", "certified", "district_code"]


def _new_rows(ev: pd.DataFrame, year: int) -> pd.DataFrame:
    """Rows of ``year`` with kind "new" (the columns the new-entry metrics count: ``_NEW_ROW_COLUMNS``)."""
    mask = (ev["year"] == year).fillna(False).to_numpy(dtype=bool) & _equals(ev["kind"], "new")
    return ev[[c for c in _NEW_ROW_COLUMNS if c in ev]][mask]


def _certified(ev: pd.DataFrame) -> pd.Series:
    return ev["certified"].fillna(False).astype(bool)


def _district_counts(ev: pd.DataFrame, year: int, stars: int, province: str) -> pd.DataFrame:
    new = _new_rows(ev, year)
    hit = new[(new["stars"] == stars)]
    counts = hit["district_code"].value_counts()
    d = reference.districts(province)
    return pd.DataFrame({"district_code": d["code"].astype("Int64"), "district": d["name"],
                         "short_name": d["short_name"],
                         "count": [int(counts.get(c, 0)) for c in d["code"]]})


# How-counted notes, in both languages (the scorecard's note column).
_MSG = {
    "five_star": ("{cand} sản phẩm đánh dấu tiềm năng 5 sao, {five} sản phẩm đạt 5 sao năm {year}",
                  "{cand} marked potential 5★ (Tiềm năng 5 sao), {five} rated 5★ in {year}"),
    "cohort_none": ("không có sản phẩm công nhận năm {cohort}", "no products recognised in {cohort}"),
    "cohort_rates": ("{n}/{d} sản phẩm công nhận năm {cohort} đã được đánh giá lại (oa.reevaluation_rates)",
                     "{n} of {d} products recognised in {cohort} re-evaluated (oa.reevaluation_rates)"),
    "cohort_plain": ("{n}/{d} sản phẩm công nhận năm {cohort} có kết quả năm {year} (đếm theo product_id; "
                     "chưa có hàm vòng đời)",
                     "{n} of {d} products certified in {cohort} have a {year} row (plain count by product_id; "
                     "lifecycle rates not available)"),
    "no_budget": ("chưa đo được: không có tệp kịch bản kinh phí", "not measured: no budget scenarios given"),
    "budget": ("tổng chi phí ước tính của kịch bản kinh phí '{name}'", "total of budget scenario '{name}'"),
    "new": ("{n} dòng năm {year} loại đánh giá 'Mới'", "{n} rows of {year} with kind 'new'"),
    "no_kind": ("{n} dòng năm {year} không ghi loại đánh giá, không được tính",
                "{n} rows of {year} have no kind and are not counted"),
    "new_stars": ("sản phẩm mới năm {year} được công nhận {stars} sao", "new rows of {year} certified at {stars}★"),
    "districts": ("{n}/{d} huyện/thành phố có ≥ {target} sản phẩm mới {stars} sao",
                  "{n} of {d} districts have ≥ {target} new {stars}★"),
    "short": ("chưa đạt: {names}", "short: {names}"),
}


def _say(key: str, lang: str, **kw) -> str:
    vi, en = _MSG[key]
    return (vi if lang == "vi" else en).format(**kw)


def _five_star(ev: pd.DataFrame, year: int, lang: str) -> tuple[int, str]:
    rows = ev[["five_star_candidate", "stars", "certified", "product_id"]][ev["year"] == year]
    cand = rows["five_star_candidate"].fillna(False).astype(bool)
    five = (rows["stars"] == 5).fillna(False) & _certified(rows)
    keys = rows["product_id"].astype("string")
    if keys.isna().any():  # a row without a product id counts as its own product
        keys = keys.fillna(pd.Series(rows.index.astype(str), index=rows.index))
    n_cand, n_five = keys[cand].nunique(), keys[five].nunique()
    n = keys[cand | five].nunique()
    return n, _say("five_star", lang, cand=n_cand, five=n_five, year=year)


def _cohort_share(reg, ev: pd.DataFrame, cohort: int, year: int, as_of, lang: str) -> tuple[float | None, str]:
    try:
        from .lifecycle import reevaluation_rates
    except ImportError:
        reevaluation_rates = None
    if reevaluation_rates is not None:
        rates = reevaluation_rates(reg, as_of=as_of)
        row = rates[rates["cohort"] == cohort]
        if len(row) == 0:
            return None, _say("cohort_none", lang, cohort=cohort)
        row = row.iloc[0]
        rate = row["rate"]
        rate = None if pd.isna(rate) else float(rate)
        return rate, _say("cohort_rates", lang, n=int(row["reevaluated"]), d=int(row["recognized"]), cohort=cohort)
    cert = ev[(ev["year"] == cohort) & _certified(ev) & ev["product_id"].notna()]
    cohort_ids = set(cert["product_id"])
    later = set(ev.loc[(ev["year"] == year) & ev["product_id"].notna(), "product_id"])
    n = len(cohort_ids & later)
    if not cohort_ids:
        return None, _say("cohort_none", lang, cohort=cohort)
    return n / len(cohort_ids), _say("cohort_plain", lang, n=n, d=len(cohort_ids), cohort=cohort, year=year)


def _budget(target: Target, scenarios, lang: str) -> tuple[float | None, str]:
    if scenarios is None:
        return None, _say("no_budget", lang)
    if isinstance(scenarios, pd.DataFrame):  # budget totals already computed (columns scenario, total)
        totals = scenarios
    else:
        from . import budget

        if isinstance(scenarios, (str, Path)):
            scenarios = budget.load_scenarios(scenarios)
        res = budget.evaluate(scenarios)
        totals = getattr(res, "totals", res)
    name = target.params.get("scenario")
    row = totals[totals["scenario"] == name] if name else totals.iloc[:1]
    if len(row) == 0:
        raise ConfigError(f"target {target.id!r}: scenario {name!r} not in the scenarios "
                          f"({', '.join(map(str, totals['scenario']))})")
    row = row.iloc[0]
    return float(row["total"]), _say("budget", lang, name=row["scenario"])


def _measure(t: Target, reg, ev, plan: Plan, as_of, scenarios, lang: str) -> tuple[float | None, str]:
    year = t.year or plan.year
    if t.metric == "new_entries":
        new = _new_rows(ev, year)
        unknown = int(((ev["year"] == year) & ev["kind"].isna()).sum())
        note = _say("new", lang, n=len(new), year=year)
        if unknown:
            note += "; " + _say("no_kind", lang, n=unknown, year=year)
        return len(new), note
    if t.metric == "new_certified_at_stars":
        new = _new_rows(ev, year)
        n = int(((new["stars"] == t.params["stars"]).fillna(False) & _certified(new)).sum())
        return n, _say("new_stars", lang, year=year, stars=t.params["stars"])
    if t.metric == "new_entries_per_district":
        table = _district_counts(ev, year, t.params["stars"], plan.province)
        reached = int((table["count"] >= t.target).sum())
        short = table.loc[table["count"] < t.target, "short_name"].tolist()
        note = _say("districts", lang, n=reached, d=len(table), target=f"{t.target:g}", stars=t.params["stars"])
        if short:
            note += "; " + _say("short", lang, names=", ".join(short))
        return reached, note
    if t.metric == "five_star_dossiers":
        return _five_star(ev, year, lang)
    if t.metric == "cohort_reevaluated_share":
        return _cohort_share(reg, ev, t.params["cohort"], year, as_of, lang)
    if t.metric == "budget_vnd":
        return _budget(t, scenarios, lang)
    raise ConfigError(f"unknown metric {t.metric!r}")  # unreachable: load_plan checks


def plan_scorecard(reg, plan, as_of=None, *, scenarios=None, lang: str = "vi") -> pd.DataFrame:
    """One row per plan target: item, label, metric, target, actual, gap, met, unit, compare, note.

    ``plan`` is a :class:`Plan`, a path or a dict; ``scenarios`` a budget scenarios file,
    loaded scenarios, or a totals frame (columns scenario, total) for the budget target. For ``new_entries_per_district`` the
    target column holds the number of districts (all must reach the per-district minimum).
    See the module docstring for what each metric counts.
    """
    plan = _as_plan(plan)
    ev = _rows(reg, as_of, plan.province)
    rows = []
    for t in plan.targets:
        actual, how = _measure(t, reg, ev, plan, as_of, scenarios, lang)
        target = t.target
        if t.metric == "new_entries_per_district":
            target = len(reference.districts(plan.province))
        if actual is None:
            met, gap = pd.NA, None
        else:
            met = actual > target if t.compare == ">" else actual >= target
            gap = target - actual
        note = "; ".join(x for x in (how, t.note.get(lang, "")) if x)
        rows.append({"item": t.id, "label": t.label.get(lang) or t.label["vi"], "metric": t.metric,
                     "target": float(target), "actual": actual, "gap": gap, "met": met, "unit": t.unit,
                     "compare": t.compare, "note": note})
    out = pd.DataFrame(rows, columns=SCORECARD_COLUMNS)
    out["actual"] = pd.to_numeric(out["actual"]).astype("Float64")
    out["gap"] = pd.to_numeric(out["gap"]).astype("Float64")
    out["met"] = out["met"].astype("boolean")
    for c in ("item", "label", "metric", "unit", "compare", "note"):
        out[c] = out[c].astype("string")
    return out


def plan_district_table(reg, plan, *, target_id: str | None = None, as_of=None) -> pd.DataFrame:
    """Per district, for the plan's per-district rule: district_code, district, short_name, count, target, met.

    count = rows of the plan year with kind "new" rated the target's stars (4★ in the
    2025 plan) — results, not intended levels (see the module docstring). Every district
    present, official order. ``target_id`` picks the rule when a plan has several.
    """
    plan = _as_plan(plan)
    rules = [t for t in plan.targets if t.metric == "new_entries_per_district"
             and (target_id is None or t.id == target_id)]
    if not rules:
        raise ConfigError("plan has no new_entries_per_district target"
                          + (f" with id {target_id!r}" if target_id else ""))
    t = rules[0]
    table = _district_counts(_rows(reg, as_of, plan.province), t.year or plan.year, t.params["stars"], plan.province)
    table["stars"] = t.params["stars"]
    table["target"] = t.target
    table["met"] = table["count"] >= t.target
    return table


_HEAD = {"vi": ("Chỉ tiêu", "Kế hoạch", "Thực hiện", "Còn thiếu", "Kết quả", "Cách tính"),
         "en": ("Target", "Plan", "Actual", "Short by", "Result", "How counted")}
_STATUS = {"vi": ("Đạt", "Chưa đạt", "Chưa đo được"), "en": ("Met", "Not met", "Not measured")}


def _fmt_value(v, unit: str, lang: str) -> str:
    from . import fmt

    if v is None or pd.isna(v):
        return "–"
    if unit == "share":
        return fmt.percent(float(v), 1 if float(v) * 100 % 1 else 0, lang)
    if unit == "vnd":
        return fmt.vnd(float(v), lang)
    return fmt.number(float(v), 0 if float(v).is_integer() else 1, lang)


def scorecard_table(card: pd.DataFrame, *, lang: str = "vi") -> pd.DataFrame:
    """A plan_scorecard as a table to read: numbers written as Vietnamese reports write them
    ("≥ 60", "45%", "> 8,0 tỷ đồng"), the result as Đạt / Chưa đạt / Chưa đo được, and the note."""
    head, status = _HEAD[lang], _STATUS[lang]
    rows = []
    for _, r in card.iterrows():
        gap = r["gap"]
        short = "–" if pd.isna(gap) or float(gap) <= 0 else _fmt_value(gap, r["unit"], lang)
        result = status[2] if pd.isna(r["met"]) else (status[0] if bool(r["met"]) else status[1])
        sign = "≥" if r["compare"] == ">=" else ">"
        rows.append({head[0]: r["label"], head[1]: f"{sign} {_fmt_value(r['target'], r['unit'], lang)}",
                     head[2]: _fmt_value(r["actual"], r["unit"], lang), head[3]: short, head[4]: result,
                     head[5]: r["note"]})
    return pd.DataFrame(rows, index=pd.Index(card["item"], name=None))
