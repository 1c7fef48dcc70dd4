"""Reading and writing scenario files: YAML (``scenarios_2025.yaml``) and its workbook form.

``load_scenarios(path)`` reads either and returns a :class:`ScenarioSet` (a dict
name → :class:`Scenario`, plus the file's ``envelope``). ``to_excel(scenarios, path)``
writes the workbook form: sheets ``scenarios``, ``parameters``, ``items``,
``settings`` and a note sheet. The workbook holds every scenario written out in
full (a YAML scenario may instead say ``base: plan`` and list only what differs).

Every bad value raises :class:`~ocop_analysis.errors.ConfigError` naming the
scenario, the item or parameter, the key and the value, e.g.
``scenario 'lean', item 'packaging': unit_cost 'abc' is not a number``.
"""
from __future__ import annotations

import difflib
import math
from pathlib import Path
from typing import Any, Iterable, Mapping


from .. import safety
from ..config import read_yaml
from ..errors import ConfigError, RegistryError
from ..excel_out import FORMULA_PREFIXES, neutralise
from .model import DIST_KINDS, Dist, Formula, FormulaError, LineItem, Parameter, Scenario, money

__all__ = ["ScenarioSet", "load_scenarios", "parse_scenarios", "to_excel", "to_yaml_dict",
           "PARAMETER_COLUMNS", "ITEM_COLUMNS", "SCENARIO_COLUMNS"]

DEFAULT_ENVELOPE = 8_000_000_000
SCENARIO_KEYS = ("base", "label_vi", "label_en", "description", "parameters", "items", "drop_items")
DIST_KEYS = ("dist", "low", "mode", "high", "a", "b")
PARAMETER_KEYS = ("value", "formula", "label_vi", "label_en", "source", *DIST_KEYS)
ITEM_KEYS = ("id", "category", "label_vi", "label_en", "quantity", "unit_cost", "amount", "source", *DIST_KEYS)
SCENARIO_COLUMNS = ("scenario", "label_vi", "label_en", "description")
PARAMETER_COLUMNS = ("scenario", "name", "value", "formula", "label_vi", "label_en", *DIST_KEYS, "source")
ITEM_COLUMNS = ("scenario", "id", "category", "label_vi", "label_en", "quantity", "unit_cost", "amount",
                *DIST_KEYS, "source")


class ScenarioSet(dict):
    """Scenarios by name, in file order; ``envelope`` is the file's budget envelope (VND)."""

    def __init__(self, scenarios: Iterable[Scenario] = (), envelope: int = DEFAULT_ENVELOPE, source: str = ""):
        super().__init__((s.name, s) for s in scenarios)
        self.envelope = envelope
        self.source = source

    def __repr__(self) -> str:
        return f"ScenarioSet({list(self)}, envelope={self.envelope:_})"


# ---- loading ---------------------------------------------------------------------------------

def load_scenarios(path: str | Path) -> ScenarioSet:
    """Read scenarios from a YAML file or its workbook form (.xlsx).

    >>> s = load_scenarios(paths.DEFAULT_SCENARIOS)      # doctest: +SKIP
    >>> list(s), s.envelope                               # doctest: +SKIP
    (['plan', 'lean', 'ambitious', ...], 8000000000)
    """
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"scenario file not found: {path}")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _read_workbook(path)
    return parse_scenarios(read_yaml(path, "scenario"), source=path.name)


def parse_scenarios(raw: Any, *, source: str = "") -> ScenarioSet:
    """Build and validate scenarios from the YAML structure (a dict with ``scenarios``)."""
    where = f"{source}: " if source else ""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}expected a mapping with a 'scenarios' key, got {type(raw).__name__}")
    _check_keys(raw, ("version", "envelope", "currency", "scenarios", "notes"), f"{where}top level")
    envelope = _money(raw.get("envelope", DEFAULT_ENVELOPE), f"{where}top level", "envelope")
    block = raw.get("scenarios")
    if not isinstance(block, dict) or not block:
        raise ConfigError(f"{where}'scenarios' must be a non-empty mapping of scenario name -> scenario")
    try:
        expanded = {name: _expand(name, block, ()) for name in block}
        scenarios = [_build(str(name), spec) for name, spec in expanded.items()]
    except ConfigError as exc:
        raise ConfigError(f"{where}{exc}") from None
    return ScenarioSet(scenarios, envelope=envelope, source=source)


def _expand(name: str, block: Mapping, seen: tuple) -> dict:
    """The scenario's raw dict with its ``base`` chain merged in (parameters by name, items by id)."""
    spec = block[name]
    ctx = f"scenario {name!r}"
    if not isinstance(spec, dict):
        raise ConfigError(f"{ctx}: expected a mapping, got {spec!r}")
    _check_keys(spec, SCENARIO_KEYS, ctx)
    base_name = spec.get("base")
    if base_name is None:
        return {k: v for k, v in spec.items() if k != "drop_items"} | {"items": _items_list(spec, ctx)}
    if base_name not in block:
        raise ConfigError(f"{ctx}: base {base_name!r} is not a scenario (known: {', '.join(map(str, block))})")
    if name in seen or base_name in seen + (name,):
        raise ConfigError(f"{ctx}: base {base_name!r} makes a cycle")
    base = _expand(base_name, block, seen + (name,))
    out = {k: base.get(k) for k in ("label_vi", "label_en", "description")}
    out.update({k: spec[k] for k in ("label_vi", "label_en", "description") if k in spec})
    params = {k: dict(v) if isinstance(v, dict) else v for k, v in (base.get("parameters") or {}).items()}
    for pname, pspec in (spec.get("parameters") or {}).items():
        params[pname] = _merge(params.get(pname), pspec, ("value", "formula"))
    items = {it["id"]: dict(it) for it in base["items"]}
    for it in _items_list(spec, ctx):
        items[it["id"]] = _merge(items.get(it["id"]), it, ("amount", "quantity", "unit_cost"))
    drops = spec.get("drop_items") or []
    if not isinstance(drops, list):
        raise ConfigError(f"{ctx}: drop_items must be a list of item ids, got {drops!r}")
    for item_id in drops:
        if item_id not in items:
            raise ConfigError(f"{ctx}: drop_items names {item_id!r}, which {base_name!r} does not have")
        del items[item_id]
    out["parameters"] = params
    out["items"] = list(items.values())
    return out


def _merge(base: dict | None, override: Any, exclusive: tuple[str, ...]) -> Any:
    """Override a base entry; setting ``value`` drops a base ``formula`` (and ``amount`` drops quantity × unit cost)."""
    if base is None or not isinstance(override, dict) or not isinstance(base, dict):
        return override
    out = dict(base)
    if "value" in override and "formula" not in override:
        out.pop("formula", None)
    if "formula" in override and "value" not in override:
        out.pop("value", None)
    if "amount" in override:
        out.pop("quantity", None)
        out.pop("unit_cost", None)
    if "unit_cost" in override or "quantity" in override:
        out.pop("amount", None)
    if "dist" in override:  # a new distribution replaces the base's bounds entirely
        for key in DIST_KEYS:
            out.pop(key, None)
    out.update(override)
    return out


def _items_list(spec: Mapping, ctx: str) -> list[dict]:
    items = spec.get("items") or []
    if not isinstance(items, list):
        raise ConfigError(f"{ctx}: items must be a list of line items, got {type(items).__name__}")
    for i, it in enumerate(items, 1):
        if not isinstance(it, dict):
            raise ConfigError(f"{ctx}: item #{i} must be a mapping, got {it!r}")
        if not it.get("id"):
            raise ConfigError(f"{ctx}: item #{i} has no id")
    return items


def _build(name: str, spec: Mapping) -> Scenario:
    ctx = f"scenario {name!r}"
    raw_params = spec.get("parameters") or {}
    if not isinstance(raw_params, dict):
        raise ConfigError(f"{ctx}: parameters must be a mapping of name -> {{value, source}}")
    params = {str(k): _parameter(str(k), v, ctx) for k, v in raw_params.items()}
    items = []
    for raw in spec["items"]:
        item = _item(raw, ctx)
        if item.id in params:
            raise ConfigError(f"{ctx}: item id {item.id!r} is also a parameter name; use distinct names")
        if any(i.id == item.id for i in items):
            raise ConfigError(f"{ctx}: item id {item.id!r} appears twice")
        items.append(item)
    scenario = Scenario(name=name, label_vi=_text(spec.get("label_vi")), label_en=_text(spec.get("label_en")),
                        description=_text(spec.get("description")), parameters=params, items=tuple(items))
    _check_references(scenario)
    return scenario


def _parameter(name: str, raw: Any, ctx: str) -> Parameter:
    where = f"{ctx}, parameter {name!r}"
    if not isinstance(raw, dict):  # shorthand `new_3star: 40`
        raw = {"value": raw}
    _check_keys(raw, PARAMETER_KEYS, where)
    has_value = raw.get("value") is not None
    has_formula = _text(raw.get("formula")) != ""
    if has_value == has_formula:
        raise ConfigError(f"{where}: give either a value or a formula (got {'both' if has_value else 'neither'})")
    value = _number(raw["value"], where, "value") if has_value else None
    formula = _formula(raw["formula"], where, "formula") if has_formula else None
    dist = _dist(raw, where, value, money_like=False)
    if dist is not None and formula is not None:
        raise ConfigError(f"{where}: a derived parameter (formula) cannot have a distribution; "
                          "put it on the parameters the formula uses")
    if value is not None and value < 0:
        raise ConfigError(f"{where}: value {value!r} is negative")
    return Parameter(name=name, value=value, formula=formula, source=_source(raw),
                     label_vi=_text(raw.get("label_vi")), label_en=_text(raw.get("label_en")), dist=dist)


def _item(raw: dict, ctx: str) -> LineItem:
    item_id = str(raw["id"]).strip()
    where = f"{ctx}, item {item_id!r}"
    _check_keys(raw, ITEM_KEYS, where)
    category = _text(raw.get("category"))
    if not category:
        raise ConfigError(f"{where}: category is missing")
    amount = raw.get("amount")
    quantity = raw.get("quantity")
    unit_cost = raw.get("unit_cost")
    if amount is not None:
        if quantity is not None or unit_cost is not None:
            raise ConfigError(f"{where}: give either amount, or quantity and unit_cost, not both")
        amount = _money(amount, where, "amount")
        cost = amount
    else:
        if quantity is None or unit_cost is None:
            missing = "quantity" if quantity is None else "unit_cost"
            raise ConfigError(f"{where}: {missing} is missing (give quantity and unit_cost, or amount)")
        unit_cost = _money(unit_cost, where, "unit_cost")
        quantity = _quantity(quantity, where)
        cost = unit_cost
    dist = _dist(raw, where, cost, money_like=True)
    return LineItem(id=item_id, category=category, label_vi=_text(raw.get("label_vi")),
                    label_en=_text(raw.get("label_en")), quantity=quantity, unit_cost=unit_cost,
                    amount=amount, source=_source(raw), dist=dist)


def _quantity(value: Any, where: str) -> float | int | str:
    if isinstance(value, str) and not _looks_numeric(value):
        return _formula(value, where, "quantity")
    number = _number(value, where, "quantity")
    if number < 0:
        raise ConfigError(f"{where}: quantity {value!r} is negative")
    return int(number) if float(number).is_integer() else number


def _formula(text: Any, where: str, key: str) -> str:
    text = _text(text)
    try:
        Formula.parse(text)
    except FormulaError as exc:
        raise ConfigError(f"{where}: {key} {text!r} {exc}") from None
    return text


def _dist(raw: Mapping, where: str, value: float | None, *, money_like: bool) -> Dist | None:
    kind = _text(raw.get("dist")).lower()
    if not kind or kind in ("none", "fixed"):
        extra = [k for k in ("low", "mode", "high", "a", "b") if raw.get(k) is not None]
        if extra:
            raise ConfigError(f"{where}: {extra[0]} is given but dist is not (set dist: uniform, triangular or beta)")
        return None
    if kind not in DIST_KINDS:
        raise ConfigError(f"{where}: dist {raw.get('dist')!r} is not one of {', '.join(DIST_KINDS)}")
    nums = {k: (_number(raw[k], where, k) if raw.get(k) is not None else None) for k in ("low", "mode", "high", "a", "b")}
    if kind in ("uniform", "triangular"):
        for k in ("low", "high"):
            if nums[k] is None:
                raise ConfigError(f"{where}: dist {kind} needs {k}")
        mode = nums["mode"] if nums["mode"] is not None else value
        if not nums["low"] <= nums["high"]:
            raise ConfigError(f"{where}: low {raw['low']!r} is above high {raw['high']!r}")
        if kind == "triangular" and mode is not None and not nums["low"] <= mode <= nums["high"]:
            raise ConfigError(f"{where}: triangular mode {mode!r} is outside low–high "
                              f"({raw['low']!r}–{raw['high']!r})")
        if kind == "triangular" and mode is None:
            raise ConfigError(f"{where}: triangular needs a mode (or a value to use as the mode)")
        if kind == "uniform" and nums["mode"] is not None:
            raise ConfigError(f"{where}: uniform takes low and high, not mode")
        return Dist(kind, low=nums["low"], mode=nums["mode"], high=nums["high"])
    for k in ("a", "b"):
        if nums[k] is None or nums[k] <= 0:
            raise ConfigError(f"{where}: dist beta needs {k} > 0 (got {raw.get(k)!r})")
    if (nums["low"] is None) != (nums["high"] is None):
        raise ConfigError(f"{where}: beta takes both low and high, or neither (0–1)")
    return Dist("beta", low=nums["low"], high=nums["high"], a=nums["a"], b=nums["b"])


def _check_references(scenario: Scenario) -> None:
    """Every name a formula uses is a parameter, and derived parameters form no cycle."""
    known = set(scenario.parameters)
    ctx = f"scenario {scenario.name!r}"
    for p in scenario.parameters.values():
        if p.formula:
            _check_names(Formula.parse(p.formula), known, f"{ctx}, parameter {p.name!r}", "formula")
    for it in scenario.items:
        if isinstance(it.quantity, str):
            _check_names(Formula.parse(it.quantity), known, f"{ctx}, item {it.id!r}", "quantity")
    from .compute import parameter_order  # late import: compute imports this module's names
    try:
        parameter_order(scenario)
    except ValueError as exc:
        raise ConfigError(f"{ctx}: {exc}") from None


def _check_names(formula: Formula, known: set[str], where: str, key: str) -> None:
    for name in formula.names:
        if name not in known:
            hint = difflib.get_close_matches(name, known, n=1)
            did = f" (did you mean {hint[0]!r}?)" if hint else f" (parameters: {', '.join(sorted(known))})"
            raise ConfigError(f"{where}: {key} {formula.text!r} uses unknown parameter {name!r}{did}")


# ---- value helpers -----------------------------------------------------------------------------

def _check_keys(raw: Mapping, allowed: Iterable[str], where: str) -> None:
    allowed = tuple(allowed)
    for key in raw:
        if key not in allowed:
            hint = difflib.get_close_matches(str(key), allowed, n=1)
            did = f" (did you mean {hint[0]!r}?)" if hint else f" (allowed: {', '.join(allowed)})"
            raise ConfigError(f"{where}: unknown key {key!r}{did}")


def _looks_numeric(text: str) -> bool:
    try:
        float(text.replace("_", "").replace(" ", ""))
        return True
    except ValueError:
        return False


def _number(value: Any, where: str, key: str) -> int | float:
    if isinstance(value, bool) or value is None:
        raise ConfigError(f"{where}: {key} {value!r} is not a number")
    if isinstance(value, (int, float)):
        number = value
    else:
        text = str(value).strip().replace("_", "").replace(" ", "").replace("\u00a0", "")
        try:
            number = int(text)
        except ValueError:
            try:
                number = float(text)
            except ValueError:
                number = _written_number(text)
                if number is None:
                    raise ConfigError(f"{where}: {key} {value!r} is not a number") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise ConfigError(f"{where}: {key} {value!r} is not a finite number")
    return number


def _written_number(text: str) -> int | float | None:
    """A number typed the Vietnamese way in a workbook cell: 50.000.000, 1,5 (digits and separators only;
    "50 triệu" is refused rather than read as 50)."""
    import re
    from ..normalize import parse_number

    if not re.fullmatch(r"[+-]?\d[\d.,]*", text):
        return None
    try:
        number = parse_number(text)
    except ValueError:
        return None
    return int(number) if number is not None and float(number).is_integer() else number


def _money(value: Any, where: str, key: str) -> int:
    number = _number(value, where, key)
    if number < 0:
        raise ConfigError(f"{where}: {key} {value!r} is negative")
    return money(number)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _source(raw: Mapping) -> str:
    return _text(raw.get("source")) or "assumption"


# ---- writing -----------------------------------------------------------------------------------

def _dist_fields(dist: Dist | None) -> dict:
    if dist is None:
        return {k: None for k in DIST_KEYS}
    return {"dist": dist.kind, "low": dist.low, "mode": dist.mode, "high": dist.high, "a": dist.a, "b": dist.b}


def _rows(scenarios: Mapping[str, Scenario]) -> tuple[list[dict], list[dict], list[dict]]:
    srows, prows, irows = [], [], []
    for s in scenarios.values():
        srows.append({"scenario": s.name, "label_vi": s.label_vi, "label_en": s.label_en, "description": s.description})
        for p in s.parameters.values():
            prows.append({"scenario": s.name, "name": p.name, "value": p.value, "formula": p.formula,
                          "label_vi": p.label_vi, "label_en": p.label_en, **_dist_fields(p.dist), "source": p.source})
        for it in s.items:
            irows.append({"scenario": s.name, "id": it.id, "category": it.category, "label_vi": it.label_vi,
                          "label_en": it.label_en, "quantity": it.quantity, "unit_cost": it.unit_cost,
                          "amount": it.amount, **_dist_fields(it.dist), "source": it.source})
    return srows, prows, irows


_NOTES = [
    ("Kịch bản kinh phí OCOP 2025 — dạng bảng tính của scenarios_2025.yaml",
     "OCOP 2025 budget scenarios — workbook form of scenarios_2025.yaml"),
    ("Sửa các sheet scenarios, parameters, items rồi đọc bằng oa.budget.load_scenarios(đường_dẫn).",
     "Edit the scenarios, parameters and items sheets, then read with oa.budget.load_scenarios(path)."),
    ("Tiền: đồng (số nguyên). Mỗi dòng: quantity × unit_cost, hoặc amount cố định.",
     "Money: whole VND. Each line: quantity × unit_cost, or a fixed amount."),
    ("quantity / formula: số hoặc công thức theo tên tham số (+ - * /, ceil, floor, round, min, max).",
     "quantity / formula: a number or a formula over parameter names (+ - * /, ceil, floor, round, min, max)."),
    ("dist: uniform (low, high), triangular (low, mode, high; mode trống = giá trị), beta (a, b; low/high tuỳ chọn).",
     "dist: uniform (low, high), triangular (low, mode, high; empty mode = the value), beta (a, b; optional low/high)."),
    ("source: nguồn số liệu (tỉnh khác, kế hoạch, sổ đăng ký) hoặc 'assumption' (giả định).",
     "source: where the figure comes from (another province, the plan, the registry) or 'assumption'."),
    ("Số liệu của tỉnh khác chỉ là tham chiếu, không phải định mức của Đồng Tháp.",
     "Other provinces' figures are references, not Đồng Tháp's own rates."),
]


def to_excel(scenarios: Mapping[str, Scenario], path: str | Path) -> Path:
    """Write the workbook form of ``scenarios`` (every scenario in full) to ``path``; returns the path."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    from .. import excel_out

    srows, prows, irows = _rows(scenarios)
    envelope = getattr(scenarios, "envelope", DEFAULT_ENVELOPE)
    wb = Workbook()
    notes = wb.active
    notes.title = "Ghi chú"
    for vi, en in _NOTES:
        notes.append([vi, en])
    notes["A1"].font = notes["B1"].font = Font(bold=True)
    notes.column_dimensions["A"].width = notes.column_dimensions["B"].width = 95
    sheets = (("scenarios", SCENARIO_COLUMNS, srows), ("parameters", PARAMETER_COLUMNS, prows),
              ("items", ITEM_COLUMNS, irows), ("settings", ("key", "value"), [{"key": "envelope", "value": envelope}]))
    money_cols = {"unit_cost", "amount", "value"}
    for title, columns, rows in sheets:
        ws = wb.create_sheet(title)
        ws.append(list(columns))
        for row in rows:
            ws.append([row.get(c) for c in columns])
        for col_cells in ws.iter_cols(min_row=2):
            for cell in col_cells:
                if isinstance(cell.value, str):
                    cell.value = neutralise(cell.value)  # text, never a formula ("'=…"; read back without the ')
                elif columns[cell.column - 1] in money_cols and isinstance(cell.value, int) and cell.value >= 1000:
                    cell.number_format = "#,##0"  # per cell: a parameter's value may be a rate
        # the kit's header style and widths (raw column names kept: the file is read back by load_scenarios)
        excel_out.format_sheet(ws, freeze=False, autofilter=False)
        ws.freeze_panes = "C2" if title in ("parameters", "items") else "B2"
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                cell.alignment = Alignment(vertical="top")
    path = Path(path)
    safety.refuse_overwrite(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def _read_workbook(path: Path) -> ScenarioSet:
    from openpyxl import load_workbook

    try:  # size cap, zip bomb and DOCTYPE checks before openpyxl opens it (issue 8)
        safety.check_file(path)
    except RegistryError as exc:
        raise ConfigError(str(exc)) from None
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad config file
        raise ConfigError(f"{path.name}: cannot read the workbook ({exc.__class__.__name__}: {exc})") from None
    try:
        needed = ("scenarios", "parameters", "items")
        missing = [s for s in needed if s not in wb.sheetnames]
        if missing:
            raise ConfigError(f"{path.name}: sheet {missing[0]!r} is missing (needs {', '.join(needed)})")
        tables = {name: _sheet_rows(wb[name], name, path.name) for name in (*needed, "settings") if name in wb.sheetnames}
    finally:
        wb.close()
    block: dict[str, dict] = {}
    for row, _ in tables["scenarios"]:
        name = _text(row.get("scenario"))
        if not name:
            continue
        block[name] = {k: row.get(k) for k in ("label_vi", "label_en", "description") if row.get(k) is not None}
        block[name].update(parameters={}, items=[])
    for row, where in tables["parameters"]:
        spec = _owner(block, row, where)
        pname = _text(row.pop("name", None))
        if not pname:
            raise ConfigError(f"{where}: name is empty")
        spec["parameters"][pname] = row
    for row, where in tables["items"]:
        spec = _owner(block, row, where)
        spec["items"].append(row)
    envelope = DEFAULT_ENVELOPE
    for row, _ in tables.get("settings", []):
        if _text(row.get("key")) == "envelope":
            envelope = row.get("value")
    return parse_scenarios({"envelope": envelope, "scenarios": block}, source=path.name)


def _owner(block: dict, row: dict, where: str) -> dict:
    name = _text(row.pop("scenario", None))
    if name not in block:
        raise ConfigError(f"{where}: scenario {name!r} is not listed on the scenarios sheet")
    return block[name]


def _sheet_rows(ws, name: str, filename: str) -> list[tuple[dict, str]]:
    rows = ws.iter_rows(values_only=True)
    header = next(rows, None)
    if header is None:
        return []
    columns = [_text(h) for h in header]
    allowed = {"scenarios": SCENARIO_COLUMNS, "parameters": PARAMETER_COLUMNS, "items": ITEM_COLUMNS,
               "settings": ("key", "value")}[name]
    _check_keys({c: None for c in columns if c}, allowed, f"{filename}, sheet {name!r}")
    out = []
    for number, values in enumerate(rows, start=2):
        row = {c: (_unneutralise(v.strip()) if isinstance(v, str) else v) for c, v in zip(columns, values) if c}
        row = {c: v for c, v in row.items() if v is not None and v != ""}
        if row:
            out.append((row, f"{filename}, sheet {name!r}, row {number}"))
    return out


def _unneutralise(text: str) -> str:
    """Undo excel_out.neutralise on a cell to_excel wrote ("'=x" -> "=x")."""
    return text[1:] if text.startswith("'") and text[1:2] in FORMULA_PREFIXES else text


def to_yaml_dict(scenarios: Mapping[str, Scenario]) -> dict:
    """The scenarios as a plain YAML-ready dict (every scenario written out in full)."""
    srows, prows, irows = _rows(scenarios)
    out: dict = {"envelope": getattr(scenarios, "envelope", DEFAULT_ENVELOPE), "scenarios": {}}
    for s in srows:
        out["scenarios"][s["scenario"]] = {k: s[k] for k in ("label_vi", "label_en", "description") if s[k]}
        out["scenarios"][s["scenario"]].update(parameters={}, items=[])
    for p in prows:
        scenario, name = p.pop("scenario"), p.pop("name")
        out["scenarios"][scenario]["parameters"][name] = {k: v for k, v in p.items() if v not in (None, "")}
    for it in irows:
        scenario = it.pop("scenario")
        out["scenarios"][scenario]["items"].append({k: v for k, v in it.items() if v not in (None, "")})
    return out
