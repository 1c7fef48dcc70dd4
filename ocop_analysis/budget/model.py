"""The budget model as data: distributions, parameters, line items, scenarios, formulas.

A scenario holds **parameters** (counts, rates and scales: the plan's 40 new 3★
products, a 70% pass rate, a 50% participation rate) and **line items**. A line
item costs ``quantity × unit_cost`` or a fixed ``amount``; its quantity is a
number or a small formula over the parameters (``ceil(new_3star / pass_rate_3star)``).
A parameter may itself be a formula (a *derived* quantity such as the number of
entries needed), so the scenario table shows every step.

Money is integer VND. Every value carries its ``source`` (another province's
figure, the plan, the registry) or the word ``assumption``.

Formulas allow numbers, parameter names, ``+ - * /``, parentheses and the
functions ``ceil``, ``floor``, ``round`` (half up), ``min``, ``max``. They are
parsed once and evaluated with numpy, so the same formula serves one what-if
and 100,000 Monte Carlo draws.

>>> f = Formula.parse("ceil(new_3star / pass_rate)")
>>> f.names, float(f.evaluate({"new_3star": 40, "pass_rate": 0.7}))
(('new_3star', 'pass_rate'), 58.0)
"""
from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Mapping

import numpy as np

__all__ = ["Dist", "Parameter", "LineItem", "Scenario", "Formula", "FormulaError",
           "DIST_KINDS", "CATEGORIES", "category_label", "money", "is_rate_name"]

DIST_KINDS = ("uniform", "triangular", "beta")

# Category key -> (vi, en). Files may use other keys; these get their key as label.
CATEGORIES: dict[str, tuple[str, str]] = {
    "new_products": ("Hỗ trợ sản phẩm mới", "New-product support"),
    "five_star": ("Hồ sơ 5 sao", "Five-star dossiers"),
    "reevaluation": ("Đánh giá lại", "Re-evaluation"),
    "packaging": ("Bao bì, nhãn mác", "Packaging and labels"),
    "evaluation": ("Hội đồng đánh giá", "Evaluation councils"),
    "promotion": ("Xúc tiến thương mại", "Trade promotion"),
    "training": ("Đào tạo, tập huấn", "Training"),
    "communication": ("Truyền thông, TMĐT", "Communication, e-commerce"),
    "management": ("Quản lý chương trình", "Programme management"),
}


def category_label(key: str, lang: str = "vi") -> str:
    """Label of a category key; unknown keys are returned as written.

    >>> category_label("training"), category_label("training", "en"), category_label("other")
    ('Đào tạo, tập huấn', 'Training', 'other')
    """
    pair = CATEGORIES.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "vi" else pair[1]


def is_rate_name(name: str) -> bool:
    """Whether a parameter is a rate or share in 0–1 by its name (pass_rate_3star, participation, ...).

    >>> is_rate_name("pass_rate_3star"), is_rate_name("participation"), is_rate_name("programme_scale")
    (True, True, False)
    """
    return any(word in name for word in ("rate", "participation", "share"))


def money(value: float | int | Fraction) -> int:
    """Round to whole đồng (half up), without float drift for decimal inputs.

    >>> money(1.5 * 539_320_000), money(Fraction(1, 2))
    (808980000, 1)
    """
    if isinstance(value, (int, np.integer)):
        return int(value)
    exact = value if isinstance(value, Fraction) else Fraction(repr(float(value)))
    return math.floor(exact + Fraction(1, 2))


@dataclass(frozen=True)
class Dist:
    """An uncertainty distribution for Monte Carlo.

    uniform(low, high); triangular(low, mode, high) (mode defaults to the stated
    value); beta(a, b), optionally rescaled to [low, high] (default [0, 1]).
    """

    kind: str
    low: float | None = None
    mode: float | None = None
    high: float | None = None
    a: float | None = None
    b: float | None = None

    def sample(self, rng: np.random.Generator, n: int, value: float) -> np.ndarray:
        if self.kind == "uniform":
            return rng.uniform(self.low, self.high, n)
        if self.kind == "triangular":
            mode = value if self.mode is None else self.mode
            if self.low == self.high:
                return np.full(n, float(self.low))
            return rng.triangular(self.low, mode, self.high, n)
        if self.kind == "beta":
            low = 0.0 if self.low is None else self.low
            high = 1.0 if self.high is None else self.high
            return low + (high - low) * rng.beta(self.a, self.b, n)
        raise ValueError(f"unknown distribution {self.kind!r}")

    def bounds(self) -> tuple[float, float]:
        """(low, high) of the distribution's support."""
        if self.kind == "beta":
            return (0.0 if self.low is None else self.low, 1.0 if self.high is None else self.high)
        return (self.low, self.high)

    def interval(self, coverage: float = 0.9) -> tuple[float, float]:
        """The central ``coverage`` interval (a beta's 5th–95th percentiles by default).

        uniform and triangular give their bounds (their support is already a stated range);
        a beta's support is 0–1, which as a "range" would put a pass rate at 0.
        """
        if self.kind != "beta":
            return self.bounds()
        x = np.linspace(0.0, 1.0, 20_001)
        log_pdf = ((self.a - 1) * np.log(np.clip(x, 1e-300, None)) + (self.b - 1) * np.log(np.clip(1 - x, 1e-300, None)))
        pdf = np.exp(log_pdf - log_pdf.max())
        cdf = np.concatenate([[0.0], np.cumsum((pdf[1:] + pdf[:-1]) / 2)])
        cdf /= cdf[-1]
        tail = (1 - coverage) / 2
        lo, hi = np.interp([tail, 1 - tail], cdf, x)
        low, high = self.bounds()
        return (float(low + (high - low) * lo), float(low + (high - low) * hi))

    def mean(self, value: float) -> float:
        if self.kind == "uniform":
            return (self.low + self.high) / 2
        if self.kind == "triangular":
            return (self.low + (value if self.mode is None else self.mode) + self.high) / 3
        low, high = self.bounds()
        return low + (high - low) * self.a / (self.a + self.b)

    def describe(self, money_like: bool = False) -> str:
        def f(x):
            if x is None:
                return "–"
            return f"{x / 1e6:g} M" if money_like else f"{x:g}"
        if self.kind == "uniform":
            return f"uniform({f(self.low)}–{f(self.high)})"
        if self.kind == "triangular":
            mode = "" if self.mode is None else f", mode {f(self.mode)}"
            return f"triangular({f(self.low)}–{f(self.high)}{mode})"
        scale = "" if self.low is None and self.high is None else f" on {f(self.bounds()[0])}–{f(self.bounds()[1])}"
        return f"beta(a={self.a:g}, b={self.b:g}){scale}"


@dataclass(frozen=True)
class Parameter:
    """A count, rate or scale: a stated ``value`` or a ``formula`` over other parameters."""

    name: str
    value: float | int | None = None
    formula: str | None = None
    source: str = "assumption"
    label_vi: str = ""
    label_en: str = ""
    dist: Dist | None = None

    def label(self, lang: str = "vi") -> str:
        return (self.label_vi if lang == "vi" else self.label_en) or self.name


@dataclass(frozen=True)
class LineItem:
    """One budget line: ``quantity × unit_cost`` (quantity: number or formula) or a fixed ``amount``.

    ``dist`` is the uncertainty of the unit cost (or of the fixed amount).
    """

    id: str
    category: str
    label_vi: str = ""
    label_en: str = ""
    quantity: float | int | str | None = None
    unit_cost: int | None = None
    amount: int | None = None
    source: str = "assumption"
    dist: Dist | None = None

    @property
    def is_fixed(self) -> bool:
        return self.amount is not None

    @property
    def cost(self) -> int:
        """The money input of the line: the unit cost, or the fixed amount."""
        return self.amount if self.is_fixed else self.unit_cost

    def label(self, lang: str = "vi") -> str:
        return (self.label_vi if lang == "vi" else self.label_en) or self.id


@dataclass(frozen=True)
class Scenario:
    """A named set of parameters and line items (order kept as written)."""

    name: str
    label_vi: str = ""
    label_en: str = ""
    description: str = ""
    parameters: Mapping[str, Parameter] = field(default_factory=dict)
    items: tuple[LineItem, ...] = ()

    def label(self, lang: str = "vi") -> str:
        return (self.label_vi if lang == "vi" else self.label_en) or self.name

    def item(self, item_id: str) -> LineItem:
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(f"scenario {self.name!r} has no item {item_id!r}; items: {', '.join(i.id for i in self.items)}")

    def with_values(self, **overrides) -> "Scenario":
        """A copy with parameter values or item costs replaced (key = parameter name or item id).

        An item id sets its unit cost (or its fixed amount). A derived parameter
        given a value stops being derived.
        """
        params = dict(self.parameters)
        items = list(self.items)
        index = {it.id: i for i, it in enumerate(items)}
        for key, value in overrides.items():
            if key in params:
                params[key] = replace(params[key], value=value, formula=None)
            elif key in index:
                it = items[index[key]]
                cost = money(value)
                items[index[key]] = replace(it, amount=cost) if it.is_fixed else replace(it, unit_cost=cost)
            else:
                known = ", ".join([*params, *index])
                raise KeyError(f"scenario {self.name!r} has no parameter or item {key!r}; known: {known}")
        return replace(self, parameters=params, items=tuple(items))


# ---- formulas ------------------------------------------------------------------------------------

class FormulaError(ValueError):
    """A quantity formula is not valid (syntax, a forbidden construct or an unknown function)."""


def _round_half_up(x):
    return np.floor(np.round(np.asarray(x, dtype=float), 9) + 0.5)


# Rounding to 9 decimals first: 0.7 * 100 is 70.00000000000001 in floating point, and a
# count of entries must come out as 70, not 71.
_FUNCTIONS = {
    "ceil": lambda x: np.ceil(np.round(np.asarray(x, dtype=float), 9)),
    "floor": lambda x: np.floor(np.round(np.asarray(x, dtype=float), 9)),
    "round": _round_half_up,
    "min": lambda *xs: _reduce(np.minimum, xs),
    "max": lambda *xs: _reduce(np.maximum, xs),
}
_ARITY = {"ceil": (1, 1), "floor": (1, 1), "round": (1, 1), "min": (2, 99), "max": (2, 99)}
_BINOPS = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.true_divide}


def _reduce(op, xs):
    out = xs[0]
    for x in xs[1:]:
        out = op(out, x)
    return out


@dataclass(frozen=True)
class Formula:
    """A parsed quantity formula; ``evaluate(values)`` works on scalars and numpy arrays."""

    text: str
    tree: ast.AST = field(repr=False, compare=False)
    names: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> "Formula":
        try:
            tree = ast.parse(str(text).strip(), mode="eval").body
        except SyntaxError as exc:
            raise FormulaError(f"is not a valid formula ({exc.msg})") from None
        names: list[str] = []
        _check(tree, names)
        return cls(str(text), tree, tuple(dict.fromkeys(names)))

    def evaluate(self, values: Mapping[str, object]):
        with np.errstate(divide="ignore", invalid="ignore"):  # x / 0 gives inf; callers report it
            return _eval(self.tree, values)


def _check(node: ast.AST, names: list[str]) -> None:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return
    if isinstance(node, ast.Name):
        names.append(node.id)
        return
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        _check(node.left, names)
        _check(node.right, names)
        return
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        _check(node.operand, names)
        return
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        fname = node.func.id
        if fname not in _FUNCTIONS:
            raise FormulaError(f"uses unknown function {fname!r} (allowed: {', '.join(_FUNCTIONS)})")
        lo, hi = _ARITY[fname]
        if not lo <= len(node.args) <= hi:
            raise FormulaError(f"calls {fname}() with {len(node.args)} argument(s)")
        for arg in node.args:
            _check(arg, names)
        return
    raise FormulaError(f"uses {ast.unparse(node)!r}, which a formula does not allow "
                       "(numbers, parameter names, + - * /, ceil floor round min max)")


def _eval(node: ast.AST, values: Mapping[str, object]):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.BinOp):
        return _BINOPS[type(node.op)](_eval(node.left, values), _eval(node.right, values))
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, values)
        return -operand if isinstance(node.op, ast.USub) else operand
    return _FUNCTIONS[node.func.id](*(_eval(a, values) for a in node.args))
