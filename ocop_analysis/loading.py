"""``load_registry``: registry workbooks in, one canonical evaluation table out.

Steps: open each file (``workbook``), find each sheet's table and label every
row (``layout``), apply the analyst's corrections (``corrections``), then parse
the values column by column — once per distinct value (``normalize.map_unique``)
— into the canonical columns of ``schema.EVALUATION_COLUMNS``. A bad row is
never an exception: it becomes a row of ``reg.problems`` (DESIGN.md "Problems,
not exceptions"); errors keep the row out, warnings load it with the field
empty. Every row of every sheet is accounted for in ``reg.sources``
(seen = loaded + rejected + skipped), and the loader checks that itself.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import gc
import re
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from . import cache as load_cache
from . import linking, reference, schema
from .corrections import apply_corrections, load_corrections
from .errors import ConfigError, RegistryError
from .layout import INPUT_COLUMNS, detect_layout, legacy_letters, legacy_to_unicode
from .normalize import (clean_text, entity_type, entity_types, fold, is_blank, is_failed_result, map_unique, parse_date,
                        parse_decision, parse_kind, parse_score, parse_stars, resolve_district, resolve_group,
                        revocation_reason, taxonomy_for_year, unchanged_by_clean_text)
from .paths import DATA_DIR
from .registry import Registry
from .workbook import WORKBOOK_SUFFIXES, MissingFileError, stream_workbook

__all__ = ["load_registry", "expand_paths", "REVOCATION_COLUMNS"]

REVOCATION_COLUMNS = ["product_id", "product_name", "entity_name", "district_code", "district", "stars",
                      "year_recognized", "revoked_on", "decision_no", "reason", "source_file", "source_sheet",
                      "source_row"]
CORRECTION_COLUMNS = ["correction", "file", "sheet", "row", "column", "old_value", "new_value", "reason"]

_PROVINCE_NAMES = {"dong-thap": "Đồng Tháp"}
_DECISION_OF = {"1048": "1048/2019", "148": "148/2023"}
_TRUTHY = {"x", "co", "1", "yes", "y", "true", "dat", "de xuat", "tiem nang", "v"}
_TRUTHY_SIGNS = set("✓✔☑√✗xX")
_TEXT_COLUMNS = ("product_name", "entity_name", "address", "commune", "product_code")


# --------------------------------------------------------------------------- paths

def expand_paths(paths) -> list[Path]:
    """A path, a folder (its workbooks, sorted; ``~$`` lock files ignored) or a list of either."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found = sorted(f for f in p.iterdir()
                           if f.is_file() and f.suffix.lower() in WORKBOOK_SUFFIXES and not f.name.startswith("~$"))
            out.extend(found)
        elif not p.exists():
            raise MissingFileError(f"{p}: file or folder not found.")
        else:
            out.append(p)
    if not out:
        raise RegistryError(f"no workbooks (.xlsx, .xlsm, .xls, .ods) found in {', '.join(map(str, paths))}.")
    return out


# --------------------------------------------------------------------------- entry point

def load_registry(paths, province: str = reference.DEFAULT_PROVINCE, *, corrections="auto", links="auto",
                  as_of=None, progress: bool = False, cache: bool = True) -> Registry:
    """Load one or many registry workbooks into a :class:`Registry`.

    paths: a path, a folder (every .xlsx/.xlsm/.xls/.ods in it) or a list. corrections: "auto"
    (data/corrections.yml when it exists), None, or a path. links: "auto" (data/links.csv), None,
    or a path. cache: reuse the result of an earlier load of the same bytes with the same options and
    kit version (``ocop_analysis.cache``; a folder outside the repository, safe to delete).
    Raises RegistryError only for a file that cannot be read at all.
    """
    files = expand_paths(paths)
    try:
        reference.districts(province)
    except KeyError as exc:  # unknown province: a configuration error naming the known ones (the CLI prints it)
        raise ConfigError(exc.args[0] if exc.args else f"unknown province {province!r}") from None
    corrections, links = _auto(corrections, DATA_DIR / "corrections.yml"), _auto(links, DATA_DIR / "links.csv")
    as_of_date = pd.Timestamp(as_of).date() if as_of is not None else None
    cache_key = load_cache.key(files, province, corrections, links) if cache else None
    if (hit := load_cache.get(cache_key)) is not None:
        hit.as_of = as_of_date
        return hit
    with _collector_paused():
        reg = _load(files, province, corrections, links, as_of_date, progress)
    load_cache.put(cache_key, reg)
    return reg


@contextlib.contextmanager
def _collector_paused():
    """Python's cycle collector off while loading: a load builds hundreds of thousands of cells and rows that
    live to the end (no cycles among them), and the collector would walk them all again and again (~5% of a
    60,000-row load). Switched back on afterwards, and only if it was on."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _load(files: list[Path], province: str, corrections, links, as_of_date, progress: bool) -> Registry:
    iterator: Iterable[Path] = files
    if progress:
        from tqdm.auto import tqdm
        iterator = tqdm(files, desc="loading", unit="file")
    sheets, problems, ev_parts, rev_parts = [], [], [], []
    for path in iterator:
        _read_file(path, sheets, problems, ev_parts, rev_parts, province)
    raw = _concat(ev_parts)
    raw_rev = _concat(rev_parts)

    rules = load_corrections(corrections)
    loaded_files = {p.name for p in files}
    raw, raw_rev, applied, corr_problems = apply_corrections(raw, raw_rev, rules, loaded_files)
    problems += corr_problems

    ev, ev_problems = _parse_evaluations(raw, province)
    rev, rev_problems = _parse_revocations(raw_rev, province)
    problems += ev_problems + rev_problems

    ev, rev, link_problems = _assign_ids(ev, rev, links)
    ev, dup_problems = _drop_duplicates(ev)
    problems += link_problems + dup_problems

    evaluations = schema.coerce_evaluations(_ensure(ev, list(GEOGRAPHY_COLUMNS))[list(schema.EVALUATION_COLUMNS)]
                                            .reset_index(drop=True))
    revocations = _revocation_frame(rev)
    problem_frame = _sorted_problems(schema.problems_frame(problems), sheets)
    sources = _sources(sheets, evaluations, revocations, problem_frame)
    reg = Registry(evaluations=evaluations, problems=problem_frame, sources=sources, revocations=revocations,
                   corrections=pd.DataFrame(applied, columns=CORRECTION_COLUMNS), province=province,
                   as_of=as_of_date)
    return reg


def _auto(value, default: Path):
    if value == "auto":
        return default if default.exists() else None
    return value


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=[*INPUT_COLUMNS, "source_file", "source_sheet", "source_row"], dtype=object)
    return pd.concat(parts, ignore_index=True, sort=False)


# --------------------------------------------------------------------------- reading files and sheets

def _read_file(path: Path, sheets: list, problems: list, ev_parts: list, rev_parts: list,
               province: str = reference.DEFAULT_PROVINCE) -> None:
    wb = stream_workbook(path)  # sheets come as calamine reads them; the layout of one overlaps reading the next
    name = path.name
    if wb.has_macros:
        problems.append(_problem(name, None, None, None, None, "macros_present",
                                 f"File '{name}' carries macros; they were not run — only the cell values were read."))
    file_year = _year_in(path.stem)
    try:
        for sheet in wb.sheets:
            lay = detect_layout(sheet, province)
            sheets.append((name, lay))
            if lay.status != "table":
                continue
            if lay.legacy_header:
                problems.append(_problem(name, sheet.name, None, "header", None, "legacy_encoding",
                                         f"Sheet '{sheet.name}': the header is typed in the old TCVN3 (.VnTime) encoding; "
                                         f"it was read by converting it to Unicode."))
            if sheet.formula_cells:
                first, col = sheet.formula_cells[0]
                rows_hit = sorted({r for r, _ in sheet.formula_cells})
                column = next((c for c, j in lay.columns.items() if j == col), None)
                problems.append(_problem(
                    name, sheet.name, first, column, None, "formula_without_value",
                    f"Sheet '{sheet.name}', row {first}: {len(rows_hit)} row(s) hold formulas with no saved "
                    f"result (the file was never recalculated); those cells were read as empty. Open the file in Excel, "
                    f"let it recalculate, and save it."))
            frame = lay.data
            title_no, title_date = _title_decision(lay.title)
            context = {"source_file": name, "source_sheet": sheet.name,
                       "ctx_year": _year_in(lay.title) or _year_in(sheet.name) or file_year,
                       "ctx_decision_no": title_no, "ctx_decision_date": title_date,
                       "ctx_sheet_district": lay.sheet_district, "ctx_has_column": ",".join(lay.columns)}
            for column, value in context.items():
                # object columns like the cells' (a plain string would make an Arrow "str" column that every
                # later step converts back to Python objects)
                frame[column] = np.full(len(frame), value, dtype=object)
            (rev_parts if lay.kind == "revocations" else ev_parts).append(frame)
    finally:
        wb.sheets.close()  # stops the reading thread when a layout fails half-way


_YEAR_WORD = re.compile(r"\bnam\s+((?:19|20)\d\d)\b")
_YEAR_ANY = re.compile(r"(?<!\d)(20\d\d)(?!\d)")


def _year_in(text: Any) -> int | None:
    """'DANH SÁCH … NĂM 2019' → 2019; a bare 20xx as a fallback."""
    if not text:
        return None
    key = fold(text)
    m = _YEAR_WORD.search(key) or _YEAR_ANY.search(key)
    return int(m.group(1)) if m else None


# any casing: "Quyết định số", "Quyết Định Số", "QUYẾT ĐỊNH SỐ", "QĐ số" …
_DECISION_IN_TITLE = re.compile(r"(?:quyết\s+định|qđ)\s*(?:số)?\s*[:.]?\s*(\d+\s*/.*)", re.IGNORECASE)


def _title_decision(title: str) -> tuple[str | None, dt.date | None]:
    """The decision a list is attached to: '(Kèm theo Quyết định số 1580/QĐ-UBND-HC ngày 16/12/2019)'."""
    if not title:
        return None, None
    key = fold(title)
    if "quyet dinh" not in key and " qd " not in f" {key} ":
        return None, None
    m = _DECISION_IN_TITLE.search(clean_text(title) or "")
    if not m:
        return None, None
    number, date = parse_decision(m.group(1)[:80])
    if number is None or "/" not in number:
        return None, None
    return number, date


# --------------------------------------------------------------------------- problems

def _problem(file, sheet, row, column, value, code, message) -> dict:
    return {"file": file, "sheet": sheet, "row": row, "column": column, "value": value, "problem": code,
            "severity": schema.PROBLEMS[code], "message": message}


def _where(sheet, row) -> str:
    return f"Sheet '{sheet}', row {row}"


def _show(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _district_label(code: int, province: str) -> str:
    return reference.district_names(province)[code]


def _short_label(code: int, province: str) -> str:
    d = reference.districts(province)
    return d.loc[d["code"] == code, "short_name"].iloc[0]


# --------------------------------------------------------------------------- value parsing

def _col(raw: pd.DataFrame, name: str) -> pd.Series:
    if name in raw.columns:
        return raw[name].astype(object)
    return pd.Series([None] * len(raw), index=raw.index, dtype=object)


def _clean_with_legacy(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(cleaned text, legacy status per row) — TCVN3 text converted where certain.

    Once per distinct value; the values :func:`clean_text` would leave as they are and that hold no
    TCVN3 letter (most of a registry) are found in bulk and skip both calls.
    """
    codes, uniques = pd.factorize(series.astype(object), use_na_sentinel=True)
    values = list(uniques)
    text = np.empty(len(values) + 1, dtype=object)
    text[:-1] = values
    text[-1] = None
    status = np.full(len(values) + 1, None, dtype=object)
    for k in np.flatnonzero(~unchanged_by_clean_text(values, also=legacy_letters())).tolist():
        converted, status[k] = legacy_to_unicode(values[k])
        text[k] = clean_text(converted)
    return (pd.Series(text[codes], index=series.index, dtype=object),
            pd.Series(status[codes], index=series.index, dtype=object))


def _parse_evaluations(raw: pd.DataFrame, province: str) -> tuple[pd.DataFrame, list[dict]]:
    problems: list[dict] = []
    n = len(raw)
    out = pd.DataFrame(index=raw.index)
    out["source_file"] = _col(raw, "source_file")
    out["source_sheet"] = _col(raw, "source_sheet")
    out["source_row"] = _col(raw, "source_row")
    if n == 0:
        for c in schema.EVALUATION_COLUMNS:
            if c not in out:
                out[c] = pd.Series(dtype=object)
        out["rejected"] = pd.Series(dtype=bool)
        return out, problems
    files, sheets, rows = out["source_file"].tolist(), out["source_sheet"].tolist(), out["source_row"].tolist()
    rejected = pd.Series(False, index=raw.index)

    def report(mask: pd.Series, code: str, column: str | None, values: pd.Series | None, msg) -> None:
        for i in mask[mask].index:
            pos = raw.index.get_loc(i)
            value = None if values is None else values.at[i]
            problems.append(_problem(files[pos], sheets[pos], rows[pos], column, value, code, msg(i, value)))

    # --- text columns (TCVN3 converted where certain, NFC, whitespace collapsed)
    for column in _TEXT_COLUMNS:
        text, legacy = _clean_with_legacy(_col(raw, column))
        out[column] = text
        _legacy_warnings(legacy, raw, column, problems)
    _split_entity_from_product(out, raw)

    # --- names
    missing = out["product_name"].isna()
    report(missing, "missing_name", "product_name", None,
           lambda i, v: f"{_where(out.at[i, 'source_sheet'], out.at[i, 'source_row'])}: the product name is empty; "
                        f"the row was not loaded. Fill in Tên sản phẩm.")
    rejected |= missing

    # --- district: column, else section row, else sheet name, else the address
    dist_col, dist_legacy = _clean_with_legacy(_col(raw, "district"))
    _legacy_warnings(dist_legacy, raw, "district", problems)
    section = map_unique(_col(raw, "section_district"), clean_text)
    sheet_name = _col(raw, "ctx_sheet_district")
    from_address = map_unique(out["address"], lambda a: _district_from_address(a, province))
    text = dist_col.where(dist_col.notna(), section)
    text = text.where(text.notna(), sheet_name)
    text = text.where(text.notna(), from_address)
    origin = pd.Series("district", index=raw.index, dtype=object)
    origin = origin.where(dist_col.notna(), "section row")
    origin = origin.where(dist_col.notna() | section.notna(), "sheet name")
    origin = origin.where(dist_col.notna() | section.notna() | sheet_name.notna(), "address")
    match, status, out["district_code"] = _parts(text, lambda t: _district_parts(t, province), 3)
    names = reference.district_names(province)
    out["district"] = map_unique(out["district_code"], names.get)
    status = _locate(raw, out, text, status, rejected, province, problems, from_address=origin == "address")
    prov = _PROVINCE_NAMES.get(province, province)
    bad = ~rejected
    report(bad & (status == "blank"), "unknown_district", "district", None,
           lambda i, v: f"{_where(out.at[i, 'source_sheet'], out.at[i, 'source_row'])}: no district is given (no "
                        f"Huyện/Thành phố column, section row or sheet name naming one); the row was not loaded.")
    report(bad & (status == "unknown"), "unknown_district", "district", text,
           lambda i, v: _unknown_district_msg(out.at[i, "source_sheet"], out.at[i, "source_row"], v,
                                              match.at[i], origin.at[i], prov, province))
    report(bad & (status == "ambiguous"), "ambiguous_district", "district", text,
           lambda i, v: _ambiguous_msg(out.at[i, "source_sheet"], out.at[i, "source_row"], v, match.at[i], province))
    rejected |= ~status.isin(["ok", "located_ambiguous"])

    # --- stars: column, else result column, else a star section row
    stars_raw = _col(raw, "stars")
    result_raw = _col(raw, "result")
    star_text = stars_raw.where(~map_unique(stars_raw, is_blank).astype(bool), result_raw)
    star_text = star_text.where(~map_unique(star_text, is_blank).astype(bool), _col(raw, "section_stars"))
    star_status, out["stars"] = _parts(star_text, _star_value, 2)
    bad = ~rejected
    report(bad & (star_status == "blank"), "missing_stars", "stars", None,
           lambda i, v: f"{_where(out.at[i, 'source_sheet'], out.at[i, 'source_row'])}: the star rank (Hạng sao) is "
                        f"empty; the row was not loaded. Write 3, 4 or 5 sao, or 'Không đạt'.")
    report(bad & (star_status == "invalid"), "invalid_stars", "stars", star_text,
           lambda i, v: f"{_where(out.at[i, 'source_sheet'], out.at[i, 'source_row'])}: '{v}' is not a star rank; the "
                        f"row was not loaded. Write a number of stars from 1 to 5 (e.g. '4 sao') or 'Không đạt'.")
    rejected |= star_status.isin(["blank", "invalid"])
    failed = star_status == "failed"
    certified_set = reference.certified_stars()
    stars_num = pd.to_numeric(out["stars"], errors="coerce")
    out["certified"] = stars_num.isin(certified_set).astype(object).where(stars_num.notna(), None)
    out.loc[failed, "certified"] = False

    # --- score
    score_raw = _col(raw, "score")
    score_status, out["score"] = _parts(score_raw, _score_value, 2)
    report(~rejected & (score_status == "invalid"), "score_out_of_range", "score", score_raw,
           lambda i, v: f"{_where(out.at[i, 'source_sheet'], out.at[i, 'source_row'])}: score '{v}' is not a number; "
                        f"the row was loaded without a score.")
    report(~rejected & (score_status == "range"), "score_out_of_range", "score", score_raw,
           lambda i, v: f"{_where(out.at[i, 'source_sheet'], out.at[i, 'source_row'])}: score {_show(v)} is outside 0–100; "
                        f"the row was loaded without a score.")
    _score_star_mismatch(out, rejected, problems)

    # --- decision, dates, year
    dec_no, dec_date = _parts(_col(raw, "decision"), _decision_value, 2)
    date_raw = _col(raw, "decision_date")
    date_status, ddate = _parts(date_raw, _date_value, 2)
    report(~rejected & (date_status == "invalid"), "invalid_date", "decision_date", date_raw,
           lambda i, v: f"{_where(out.at[i, 'source_sheet'], out.at[i, 'source_row'])}: '{v}' is not a date; the row "
                        f"was loaded without a decision date. Write it as dd/mm/yyyy.")
    ddate = ddate.where(ddate.notna(), dec_date)
    no_own = dec_no.isna()
    dec_no = dec_no.where(~no_own, _col(raw, "ctx_decision_no"))
    ddate = ddate.where(ddate.notna() | ~no_own, _col(raw, "ctx_decision_date"))
    out["decision_no"] = dec_no
    out["decision_date"] = ddate
    year_raw = _col(raw, "year")
    year_status, year_val = _parts(year_raw, _year_value, 2)
    report(~rejected & (year_status == "invalid"), "invalid_date", "year", year_raw,
           lambda i, v: f"{_where(out.at[i, 'source_sheet'], out.at[i, 'source_row'])}: '{v}' is not a year; the year "
                        f"was taken from the decision date or the title instead.")
    year_val = pd.to_numeric(year_val, errors="coerce")
    year_val = year_val.fillna(pd.to_datetime(ddate, errors="coerce").dt.year)
    year_val = year_val.fillna(pd.to_numeric(_col(raw, "ctx_year"), errors="coerce"))
    out["year"] = year_val.astype("Int64")

    # --- kind
    kind_raw = _col(raw, "kind")
    kind_status, kinds = _parts(kind_raw, _kind_value, 2)
    report(~rejected & (kind_status == "invalid"), "unknown_kind", "kind", kind_raw,
           lambda i, v: f"{_where(out.at[i, 'source_sheet'], out.at[i, 'source_row'])}: '{v}' is not a kind of "
                        f"evaluation (Mới, Đánh giá lại, Nâng hạng); the row was loaded without it.")
    kinds = kinds.where(kinds.notna() | (kind_status == "invalid"), _col(raw, "section_kind"))
    out["kind"] = kinds.where(kinds.notna() | (kind_status == "invalid"), "new")

    # --- group, under the taxonomy of the evaluation year
    group_raw = _col(raw, "group")
    sub_raw = _col(raw, "subgroup")
    group_text = group_raw.where(~map_unique(group_raw, is_blank).astype(bool), sub_raw)
    tax = map_unique(out["year"], lambda y: taxonomy_for_year(None if y is None or y is pd.NA else int(y)))
    out["group_source"] = map_unique(group_text, clean_text)
    gstatus, out["group"] = _pair_parts(tax, out["group_source"], _group_parts, 2)
    names = reference.group_names()
    out["group_name"] = map_unique(out["group"], names.get)
    report(~rejected & (gstatus == "unknown"), "unknown_group", "group", group_text,
           lambda i, v: f"{_where(out.at[i, 'source_sheet'], out.at[i, 'source_row'])}: product group '{v}' is not "
                        f"one of the six OCOP product groups of Decision {_DECISION_OF[tax.at[i]]}; the row was loaded without "
                        f"a group.")

    # --- the rest
    codes, uniques = pd.factorize(out["entity_name"].astype(object), use_na_sentinel=True)
    types = np.array([*entity_types(list(uniques)), None], dtype=object)
    out["entity_type"] = pd.Series(types[codes], index=out.index, dtype=object)
    has_five = "five_star_candidate" in raw.columns
    five = map_unique(_col(raw, "five_star_candidate"), _truthy)
    out["five_star_candidate"] = five if has_five else None
    _validity(out, failed)
    out["rejected"] = rejected
    return out, problems


GEOGRAPHY_COLUMNS = {"legacy_province": "string", "commune_code": "Int64", "province_code": "Int64"}


def _locate(raw: pd.DataFrame, out: pd.DataFrame, text: pd.Series, status: pd.Series, rejected: pd.Series,
            province: str, problems: list, *, from_address: pd.Series) -> pd.Series:
    """Rows whose district is blank or not one of ``province``'s: their old district from the 2025 commune,
    the address, or a district of the other old province of a merged 2025 province (``geography.locate_rows``,
    called for those rows only). Sets district_code/district and the geography columns (legacy_province,
    commune_code, province_code) in ``out``; a row whose district came from its address (no district column)
    also gets the address's commune. Returns the new status per row ("located_ambiguous": loaded
    without a district, with an ``ambiguous_legacy_district`` warning naming the candidates)."""
    from . import geography

    current = geography.current_province_code(province)
    ok = status == "ok"
    out["legacy_province"] = pd.Series(province, index=out.index, dtype=object).where(ok, None)
    out["commune_code"] = None
    out["province_code"] = pd.Series(current, index=out.index, dtype=object).where(ok, None)
    need = ~rejected & status.isin(["blank", "unknown"])
    # no district column, the address named an old district: the commune comes from the address too
    addr = ~rejected & ok & from_address & out["commune"].isna() & out["address"].notna()
    if addr.any():
        parsed = geography.parse_addresses(out.loc[addr, "address"], province)
        same = (parsed["district_code"] == pd.to_numeric(out.loc[addr, "district_code"])).fillna(False).astype(bool)
        same &= parsed["commune"].notna()
        sidx = same[same].index
        out.loc[sidx, "commune"] = parsed.loc[sidx, "commune"].astype(object)
        out.loc[sidx, "commune_code"] = parsed.loc[sidx, "commune_code"].astype(object)
    if not need.any():
        return status
    date_raw = _col(raw, "decision_date")[need]
    when = _parts(date_raw, _date_value, 2)[1]
    when = when.where(when.notna(), _parts(_col(raw, "decision")[need], _decision_value, 2)[1])
    when = when.where(when.notna(), _col(raw, "ctx_decision_date")[need])
    sub = pd.DataFrame({"district": text[need], "commune": out.loc[need, "commune"],
                        "address": out.loc[need, "address"], "decision_date": pd.to_datetime(when, errors="coerce"),
                        "source_file": out.loc[need, "source_file"], "source_sheet": out.loc[need, "source_sheet"],
                        "source_row": out.loc[need, "source_row"]})
    found, located_problems = geography.locate_rows(sub, province)
    was_blank = status[need] == "blank"
    # an unknown district is only replaced by a district of the merged province's other old province
    # (written in the district column); a wrong district next to a known commune stays an error
    by_column = found["district_source"].astype("string").eq("district").fillna(False).astype(bool)
    usable = was_blank | by_column
    has_code = found["district_code"].notna() & usable
    ambiguous = (was_blank & found["district_code"].isna()
                 & found["district_candidates"].map(lambda c: len(c) > 1).astype(bool))
    idx = has_code[has_code].index
    out.loc[idx, "district_code"] = found.loc[idx, "district_code"].astype(object)
    out.loc[idx, "district"] = found.loc[idx, "district"].astype(object)
    keep = (has_code | ambiguous)
    kidx = keep[keep].index
    for column in GEOGRAPHY_COLUMNS:
        out.loc[kidx, column] = found.loc[kidx, column].astype(object).where(found.loc[kidx, column].notna(), None)
    fill = kidx[out.loc[kidx, "commune"].isna().to_numpy() & found.loc[kidx, "commune"].notna().to_numpy()]
    out.loc[fill, "commune"] = found.loc[fill, "commune"].astype(object)
    status = status.copy()
    status.loc[idx] = "ok"
    amb_idx = ambiguous[ambiguous].index
    status.loc[amb_idx] = "located_ambiguous"
    wanted = {(f, sh, r) for f, sh, r in zip(sub.loc[amb_idx, "source_file"], sub.loc[amb_idx, "source_sheet"],
                                             sub.loc[amb_idx, "source_row"])}
    problems.extend(p for p in located_problems if (p["file"], p["sheet"], p["row"]) in wanted)
    return status


def _parts(series: pd.Series, func, n: int) -> list[pd.Series]:
    """``func`` returns an n-tuple per distinct value; n Series come back, one per part, without a call per row."""
    codes, uniques = pd.factorize(series.astype(object), use_na_sentinel=True)
    table = [func(u) for u in uniques]
    table.append(func(None) if (codes < 0).any() else (None,) * n)
    return _spread(table, codes, series.index, n)


def _spread(table: list[tuple], codes: np.ndarray, index: pd.Index, n: int) -> list[pd.Series]:
    """n Series, one per part of the tuples in ``table``, placed on the rows by ``codes``."""
    out = []
    for k in range(n):
        column = np.empty(len(table), dtype=object)
        for j, t in enumerate(table):
            column[j] = t[k]
        out.append(pd.Series(column[codes], index=index, dtype=object))
    return out


def _district_parts(text, province: str):
    match = resolve_district(text, province)
    return match, match.status, match.code


def _group_parts(tax: str, text):
    match = resolve_group(text or None, tax)
    return match.status, match.group


def _pair_parts(first: pd.Series, second: pd.Series, func, n: int) -> list[pd.Series]:
    """:func:`_parts` of ``func(a, b)`` over the pairs of two columns: one call per distinct pair."""
    c1, u1 = pd.factorize(first.astype(object), use_na_sentinel=True)
    c2, u2 = pd.factorize(second.astype(object), use_na_sentinel=True)
    u1, u2 = [*u1, None], [*u2, None]  # code -1 (a blank) reads the last entry
    pair = (c1 % len(u1)).astype(np.int64) * len(u2) + c2 % len(u2)
    codes, uniques = pd.factorize(pair)
    table = [func(u1[p // len(u2)], u2[p % len(u2)]) for p in uniques.tolist()]
    return _spread(table, codes, first.index, n)


def _star_value(value) -> tuple[str, int | None]:
    if is_blank(value):
        return "blank", None
    if is_failed_result(value):
        return "failed", None
    try:
        stars = parse_stars(value)
    except ValueError:
        return "invalid", None
    return ("ok", stars) if stars is not None else ("blank", None)


def _score_value(value) -> tuple[str, float | None]:
    try:
        score = parse_score(value)
    except ValueError:
        return "invalid", None
    if score is None:
        return "blank", None
    if not 0 <= score <= 100:
        return "range", None
    return "ok", score


def _decision_value(value) -> tuple[str | None, dt.date | None]:
    if isinstance(value, (dt.date, dt.datetime)):
        return None, parse_date(value)
    return parse_decision(value)


def _date_value(value) -> tuple[str, dt.date | None]:
    try:
        date = parse_date(value)
    except ValueError:
        return "invalid", None
    return ("ok" if date else "blank"), date


def _year_value(value) -> tuple[str, int | None]:
    if is_blank(value):
        return "blank", None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return ("ok", int(value)) if float(value).is_integer() and 1990 <= value <= 2100 else ("invalid", None)
    if isinstance(value, (dt.date, dt.datetime)):
        return "ok", value.year
    year = _year_in(value)
    return ("ok", year) if year else ("invalid", None)


def _kind_value(value) -> tuple[str, str | None]:
    try:
        kind = parse_kind(value)
    except ValueError:
        return "invalid", None
    return ("ok" if kind else "blank"), kind


def _truthy(value) -> bool:
    if is_blank(value):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    text = clean_text(value) or ""
    return fold(text) in _TRUTHY or (len(text) == 1 and text in _TRUTHY_SIGNS)


def _district_from_address(address, province: str):
    """The district named in an address: '…, phường 4, thành phố Cao Lãnh' → 'thành phố Cao Lãnh'."""
    if not isinstance(address, str):
        return None
    for part in reversed(re.split(r"[,;\-–]", address)):
        part = part.strip()
        if part and resolve_district(part, province).status == "ok" and re.match(
                r"(?i)^(huyện|h\.|thành phố|tp\.?|thị xã|tx\.?)\s", part):
            return part
    return None


def _split_entity_from_product(out: pd.DataFrame, raw: pd.DataFrame) -> None:
    """'Chả hấp (Công ty TNHH chế biến thủy sản Tuấn Cường)' with no entity column → product + entity."""
    if "entity_name" in raw.columns:
        return

    def split(name):
        if not isinstance(name, str):
            return None, None
        m = re.match(r"^(.*\S)\s*\(([^()]+)\)\s*$", name)
        if m and entity_type(m.group(2)) != "other":
            return m.group(1), m.group(2)
        return name, None
    out["product_name"], out["entity_name"] = _parts(out["product_name"], split, 2)


def _legacy_warnings(status: pd.Series, raw: pd.DataFrame, column: str, problems: list) -> None:
    hits = status[status.notna()]
    if hits.empty:
        return
    frame = raw.loc[hits.index, ["source_file", "source_sheet", "source_row"]].copy()
    frame["status"] = hits
    for (file, sheet), grp in frame.groupby(["source_file", "source_sheet"], sort=False):
        i = grp.index[0]
        value = raw.at[i, column]
        converted = bool((grp["status"] == "tcvn3").all())
        tail = ("it was converted to Unicode; check the result and retype the source in Unicode." if converted else
                "it could not be converted with certainty and was kept as typed; retype it in Unicode.")
        problems.append(_problem(file, sheet, grp["source_row"].iloc[0], column, value, "legacy_encoding",
                                 f"{_where(sheet, grp['source_row'].iloc[0])}: {len(grp)} value(s) in column "
                                 f"'{column}' (e.g. '{value}') are typed in the old TCVN3 (.VnTime) encoding; {tail}"))


def _unknown_district_msg(sheet, row, value, match, origin, prov, province) -> str:
    where = "" if origin == "district" else f" (from the {origin})"
    msg = f"{_where(sheet, row)}: district '{value}'{where} is not a district of {prov}"
    if match.suggestion is not None:
        msg += f" — did you mean {_district_label(match.suggestion, province)}?"
    else:
        msg += "; the row was not loaded."
    return msg


def _ambiguous_msg(sheet, row, value, match, province) -> str:
    options = [f"{_district_label(c, province)} ({c})" for c in match.candidates]
    shorts = [_short_label(c, province) for c in match.candidates]
    return (f"{_where(sheet, row)}: district '{value}' could be {' or '.join(options)}: write "
            f"{' or '.join(shorts)}; the row was not loaded.")


def _score_star_mismatch(out: pd.DataFrame, rejected: pd.Series, problems: list) -> None:
    """Warn where the score lies outside the band of the star rank (reference.star_bands())."""
    bands = reference.star_bands().set_index("stars")
    stars = pd.to_numeric(out["stars"], errors="coerce")
    score = pd.to_numeric(out["score"], errors="coerce")
    lo, hi = stars.map(bands["min_score"]), stars.map(bands["max_score"])
    rounded = score.round(1)
    bad = ~rejected & score.notna() & stars.notna() & ~((rounded >= lo) & (rounded <= hi))
    for i in bad[bad].index:
        n, sc = int(stars.at[i]), float(score.at[i])
        expected = bands[(bands["min_score"] <= sc) & (bands["max_score"] >= round(sc, 1))].index
        exp = f" ({sc:g} points is {int(expected[0])}★)" if len(expected) else ""
        where = _where(out.at[i, "source_sheet"], out.at[i, "source_row"])
        problems.append(_problem(
            out.at[i, "source_file"], out.at[i, "source_sheet"], out.at[i, "source_row"], "score", f"{sc:g}",
            "score_star_mismatch",
            f"{where}: score {sc:g} does not match {n}★ (a {n}★ product scores {lo.at[i]:g}–{hi.at[i]:g}){exp}; "
            f"loaded as written — check the score and the star rank."))


def _validity(out: pd.DataFrame, failed: pd.Series) -> None:
    months = reference.validity_months()
    certified = out["certified"].eq(True)
    dates = pd.to_datetime(out["decision_date"], errors="coerce")
    from_date = dates + pd.DateOffset(months=months)
    years = pd.to_numeric(out["year"], errors="coerce")
    year_end = pd.to_datetime(pd.DataFrame({"year": years.astype("float64"), "month": 12, "day": 31}, index=out.index),
                              errors="coerce")
    from_year = year_end + pd.DateOffset(months=months)
    valid = from_date.where(dates.notna(), from_year).where(certified)
    out["valid_until"] = valid
    estimated = pd.Series(pd.NA, index=out.index, dtype="boolean")
    estimated[certified & dates.notna()] = False
    estimated[certified & dates.isna() & year_end.notna()] = True
    out["valid_until_estimated"] = estimated


# --------------------------------------------------------------------------- revocations

def _parse_revocations(raw: pd.DataFrame, province: str) -> tuple[pd.DataFrame, list[dict]]:
    problems: list[dict] = []
    out = pd.DataFrame(index=raw.index)
    for c in ("source_file", "source_sheet", "source_row"):
        out[c] = _col(raw, c)
    if len(raw) == 0:
        out["rejected"] = pd.Series(dtype=bool)
        return out, problems
    for column in ("product_name", "entity_name", "product_code"):
        out[column], legacy = _clean_with_legacy(_col(raw, column))
        _legacy_warnings(legacy, raw, column, problems)
    _split_entity_from_product(out, raw)
    rejected = out["product_name"].isna()
    for i in rejected[rejected].index:
        problems.append(_problem(out.at[i, "source_file"], out.at[i, "source_sheet"], out.at[i, "source_row"],
                                 "product_name", None, "missing_name",
                                 f"{_where(out.at[i, 'source_sheet'], out.at[i, 'source_row'])}: the product name of "
                                 f"this revocation is empty; the row was not loaded."))
    dist, _ = _clean_with_legacy(_col(raw, "district"))
    dist = dist.where(dist.notna(), map_unique(_col(raw, "section_district"), clean_text))
    dist = dist.where(dist.notna(), _col(raw, "ctx_sheet_district"))
    match = _parts(dist, lambda t: _district_parts(t, province), 3)[0]
    names = reference.district_names(province)
    prov = _PROVINCE_NAMES.get(province, province)
    for i in match.index:
        m = match.at[i]
        if rejected.at[i] or m.status in ("ok", "blank"):
            continue
        sheet, row = out.at[i, "source_sheet"], out.at[i, "source_row"]
        if m.status == "ambiguous":
            problems.append(_problem(out.at[i, "source_file"], sheet, row, "district", dist.at[i],
                                     "ambiguous_district", _ambiguous_msg(sheet, row, dist.at[i], m, province)))
        else:
            problems.append(_problem(out.at[i, "source_file"], sheet, row, "district", dist.at[i], "unknown_district",
                                     _unknown_district_msg(sheet, row, dist.at[i], m, "district", prov, province)))
        rejected.at[i] = True
    out["district_code"] = match.map(lambda m: m.code)
    out["district"] = map_unique(out["district_code"], names.get)
    # no district anywhere (revocation lists often give only an address): the address's old district
    blank = ~rejected & match.map(lambda m: m.status == "blank").astype(bool)
    if blank.any() and "address" in raw.columns:
        from . import geography

        parsed = geography.parse_addresses(_clean_with_legacy(_col(raw, "address"))[0][blank], province)
        found = parsed["district_code"].notna()
        fidx = found[found].index
        out.loc[fidx, "district_code"] = parsed.loc[fidx, "district_code"].astype(object)
        out.loc[fidx, "district"] = parsed.loc[fidx, "district"].astype(object)
    out["stars"] = map_unique(_col(raw, "stars"), lambda v: _star_value(v)[1])
    year_col = "year_recognized" if "year_recognized" in raw.columns else "year"
    out["year_recognized"] = map_unique(_col(raw, year_col), lambda v: _year_value(v)[1])
    out["decision_no"], dec_date = _parts(_col(raw, "revocation_decision"), _decision_value, 2)
    revoked = map_unique(_col(raw, "revoked_on"), lambda v: _date_value(v)[1])
    out["revoked_on"] = revoked.where(revoked.notna(), dec_date)
    out["reason"] = map_unique(_col(raw, "revocation_reason"), revocation_reason)
    out["year"] = out["year_recognized"]
    out["rejected"] = rejected
    return out, problems


def _revocation_frame(rev: pd.DataFrame) -> pd.DataFrame:
    if len(rev) == 0:
        frame = pd.DataFrame({c: pd.Series(dtype=object) for c in REVOCATION_COLUMNS})
    else:
        frame = rev.loc[~rev["rejected"].astype(bool), REVOCATION_COLUMNS].reset_index(drop=True)
    types = {"product_id": "string", "product_name": "string", "entity_name": "string", "district_code": "Int64",
             "district": "string", "stars": "Int64", "year_recognized": "Int64", "decision_no": "string",
             "reason": "string", "source_file": "string", "source_sheet": "string", "source_row": "Int64"}
    for col, dtype in types.items():
        values = frame[col]
        if dtype == "Int64":
            values = pd.to_numeric(values, errors="coerce")
        frame[col] = values.astype(dtype)
    frame["revoked_on"] = pd.to_datetime(frame["revoked_on"], errors="coerce").astype("datetime64[us]")
    return frame


# --------------------------------------------------------------------------- identity and duplicates

def _assign_ids(ev: pd.DataFrame, rev: pd.DataFrame, links_path) -> tuple[pd.DataFrame, pd.DataFrame, list[dict]]:
    ev = ev[~ev["rejected"].astype(bool)] if len(ev) else ev.copy()  # a new frame either way (copy-on-write)
    rev_ok = rev[~rev["rejected"].astype(bool)] if len(rev) else rev
    cols = ["entity_name", "product_name", "district_code", "year", "product_code",
            "source_file", "source_sheet", "source_row"]
    both = pd.concat([_ensure(ev, cols)[cols], _ensure(rev_ok, cols)[cols]], ignore_index=True)
    for column in ("entity_name", "product_name"):  # text columns: linking folds them in Arrow (fold_strings)
        if both[column].dtype == object:
            both[column] = schema.text_column(both[column])
    links = linking.read_links(links_path) if links_path is not None else None
    if len(both):
        ids, problems = linking.assign_product_ids(both, links)
        ids = ids.to_numpy(dtype=object, na_value=None)  # in C; list() of an Arrow column is a Python loop
    else:
        ids, problems = [], []
    ev["product_id"] = ids[:len(ev)]
    rev = rev.copy()
    if len(rev):
        rev["product_id"] = None
        rev.loc[rev_ok.index, "product_id"] = ids[len(ev):]
    else:
        rev["product_id"] = pd.Series(dtype=object)
    out = []
    for p in problems:
        p = dict(p)
        p.setdefault("problem", "possible_link")
        p["severity"] = schema.PROBLEMS.get(p["problem"], "warning")
        out.append(p)
    return ev, rev, out


def _ensure(frame: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """``frame`` with every column of ``cols`` (missing ones empty); the frame itself when none is missing."""
    missing = [c for c in cols if c not in frame]
    if not missing:
        return frame
    frame = frame.copy()
    for c in missing:
        frame[c] = None
    return frame


def _drop_duplicates(ev: pd.DataFrame) -> tuple[pd.DataFrame, list[dict]]:
    """Same product, same year, same decision (or both without one): the later row is a duplicate error."""
    if len(ev) == 0:
        return ev, []
    key = pd.DataFrame({
        "id": ev["product_id"].astype(object),
        "year": pd.to_numeric(ev["year"], errors="coerce").fillna(-1).astype("int64"),
        "dec": map_unique(ev["decision_no"], lambda d: "" if d is None else fold(d))}, index=ev.index)
    dup = key.duplicated(keep="first")
    problems = []
    if dup.any():
        # the first row of each key, found by a merge rather than a lookup per duplicate row
        firsts = key[~dup].assign(_first=ev.index[~dup.to_numpy()])
        later = key[dup].reset_index().merge(firsts, on=["id", "year", "dec"], how="left").set_index("index")
        cols = {c: ev[c].tolist() for c in ("source_file", "source_sheet", "source_row", "product_name",
                                                   "entity_name")}
        pos = {i: k for k, i in enumerate(ev.index)}
        for i, j, year in zip(later.index, later["_first"], later["year"]):
            a, b = pos[i], pos[j]
            year_txt = f" for {year}" if year != -1 else ""
            where = _where(cols["source_sheet"][a], cols["source_row"][a])
            entity = cols["entity_name"][a]
            entity = entity if isinstance(entity, str) else "no entity"
            problems.append(_problem(
                cols["source_file"][a], cols["source_sheet"][a], cols["source_row"][a], "product_name",
                cols["product_name"][a], "duplicate",
                f"{where}: '{cols['product_name'][a]}' ({entity}) is already listed{year_txt} in the same round "
                f"at {cols['source_file'][b]}, sheet '{cols['source_sheet'][b]}', row {cols['source_row'][b]}; "
                f"this row was not loaded. Remove one of the two rows."))
    return ev[~dup], problems


# --------------------------------------------------------------------------- accounting

def _sorted_problems(problems: pd.DataFrame, sheets) -> pd.DataFrame:
    """In reading order: file, sheet, row (file-level problems first)."""
    if problems.empty:
        return problems
    order = {(f, lay.sheet): i for i, (f, lay) in enumerate(sheets)}
    files = {f: i for i, (f, _) in enumerate(sheets)}
    key = pd.DataFrame({
        "f": problems["file"].map(lambda f: files.get(f, -1)),
        "s": [order.get((f, s), -1) for f, s in zip(problems["file"], problems["sheet"])],
        "r": problems["row"].fillna(0).astype("int64")}, index=problems.index)
    idx = key.sort_values(["f", "s", "r"], kind="stable").index
    return problems.loc[idx].reset_index(drop=True)



def _sources(sheets, evaluations: pd.DataFrame, revocations: pd.DataFrame, problems: pd.DataFrame) -> pd.DataFrame:
    loaded = pd.concat([evaluations[["source_file", "source_sheet"]], revocations[["source_file", "source_sheet"]]])
    loaded_counts = loaded.value_counts().to_dict()
    records = []
    for file, lay in sheets:
        seen = len(lay.row_kinds)
        data_rows = sum(1 for k in lay.row_kinds if k == "data")
        skipped = seen - data_rows
        n_loaded = int(loaded_counts.get((file, lay.sheet), 0))
        rejected = data_rows - n_loaded
        _check_accounting(file, lay.sheet, seen, n_loaded, rejected, skipped, problems)
        records.append({"file": file, "sheet": lay.sheet, "status": "loaded" if lay.status == "table" else "skipped",
                        "layout": lay.layout or None, "header_rows": lay.header_rows, "rows_seen": seen,
                        "rows_loaded": n_loaded, "rows_rejected": rejected, "rows_skipped": skipped,
                        "note": _note(lay)})
    if not records:
        return schema.empty_sources()
    df = pd.DataFrame(records, columns=schema.SOURCE_COLUMNS)
    ints = ["header_rows", "rows_seen", "rows_loaded", "rows_rejected", "rows_skipped"]
    return df.astype({c: "Int64" for c in ints} | {c: "string" for c in schema.SOURCE_COLUMNS if c not in ints})


def _note(lay) -> str | None:
    if lay.status != "table":
        return lay.note
    counts = pd.Series([k for k in lay.row_kinds if k != "data"]).value_counts()
    parts = [f"{n} {kind}" for kind, n in counts.items()]
    return ("skipped rows: " + ", ".join(parts)) if parts else None


class AccountingError(AssertionError):
    """The loader lost track of a row — a bug in the kit, never a problem in the workbook."""


def _check_accounting(file, sheet, seen, loaded, rejected, skipped, problems: pd.DataFrame) -> None:
    errors = problems[(problems["file"] == file) & (problems["sheet"] == sheet) & (problems["severity"] == "error")]
    rejected_rows = errors["row"].dropna().nunique()
    if seen != loaded + rejected + skipped or rejected < 0 or rejected != rejected_rows:
        raise AccountingError(
            f"internal accounting error in {file}, sheet '{sheet}': seen {seen} != loaded {loaded} + rejected "
            f"{rejected} + skipped {skipped}, or {rejected_rows} rows with errors. Please report this bug with the file.")
