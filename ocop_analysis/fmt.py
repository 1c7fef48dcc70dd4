"""Numbers and money written the way Vietnamese reports write them.

Thousands with dots, decimals with a comma: 1.234; 8,0 tỷ đồng; 450 triệu đồng.
"""
from __future__ import annotations

import math

_UNITS_VI = ((1_000_000_000, "tỷ đồng"), (1_000_000, "triệu đồng"), (1_000, "nghìn đồng"))
_UNITS_EN = ((1_000_000_000, "bn VND"), (1_000_000, "M VND"), (1_000, "k VND"))


def number(value: float | int, decimals: int = 0, lang: str = "vi") -> str:
    """1234.5 → '1.234,5' (vi) or '1,234.5' (en).

    >>> number(1234), number(1234.5, 1), number(0.25, 2)
    ('1.234', '1.234,5', '0,25')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"{value:,.{decimals}f}"
    if lang == "vi":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def percent(value: float, decimals: int = 0, lang: str = "vi") -> str:
    """0.5 → '50%'; 0.493 with 1 decimal → '49,3%'."""
    return number(value * 100, decimals, lang) + "%"


def vnd(amount: float | int, lang: str = "vi", decimals: int | None = None) -> str:
    """Money in the unit a report would use.

    >>> vnd(8_000_000_000), vnd(450_000_000), vnd(1_234_000_000), vnd(12_500_000)
    ('8,0 tỷ đồng', '450 triệu đồng', '1,2 tỷ đồng', '12,5 triệu đồng')
    """
    if amount is None or (isinstance(amount, float) and math.isnan(amount)):
        return "–"
    units = _UNITS_VI if lang == "vi" else _UNITS_EN
    sign = "-" if amount < 0 else ""
    a = abs(amount)
    for size, name in units:
        if a >= size:
            scaled = a / size
            d = decimals if decimals is not None else (1 if size == 1_000_000_000 or not float(scaled).is_integer() else 0)
            return f"{sign}{number(scaled, d, lang)} {name}"
    return f"{sign}{number(a, 0, lang)} {'đồng' if lang == 'vi' else 'VND'}"


def vnd_millions(amount: float | int, lang: str = "vi") -> str:
    """Money in millions, as budget tables write it: 1.234 triệu đồng."""
    return f"{number(amount / 1_000_000, 0, lang)} {'triệu đồng' if lang == 'vi' else 'M VND'}"
