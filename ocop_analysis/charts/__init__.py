"""Report-ready charts: one theme, one star palette, Vietnamese labels that render.

Every ``plot_*`` function takes a tidy analysis result (data first), options
keyword-only, ``ax=None`` and ``lang="vi"|"en"``, and returns the Axes; none
shows or saves. ``save(fig, name)`` writes PNG and SVG to ``reports/figures/``.

The plot functions live in submodules by subject (registry, lifecycle, budget,
maps); every public ``plot_*`` of those is re-exported here.
"""
from __future__ import annotations

from importlib import import_module

from .theme import *  # noqa: F401,F403  (theme, save, palettes, labels, formatters)
from .theme import __all__ as _theme_all

_PLOT_MODULES = ("registry", "lifecycle", "budget", "maps")
__all__ = list(_theme_all)

for _name in _PLOT_MODULES:
    try:
        _mod = import_module(f".{_name}", __name__)
    except ModuleNotFoundError as exc:  # a subject not built yet
        if exc.name != f"{__name__}.{_name}":
            raise
        continue
    for _attr in dir(_mod):
        if _attr.startswith("plot_"):
            globals()[_attr] = getattr(_mod, _attr)
            __all__.append(_attr)
