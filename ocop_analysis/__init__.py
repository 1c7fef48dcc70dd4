"""ocop-analysis: load OCOP registries however messy, analyse them, report.

>>> import ocop_analysis as oa
>>> reg = oa.load_registry(oa.paths.SAMPLE_DIR)            # doctest: +SKIP
>>> oa.district_breakdown(reg.evaluations, by="stars")     # doctest: +SKIP
"""
from __future__ import annotations

from importlib import import_module

from . import paths, reference, schema, normalize, fmt
from .errors import ConfigError, RegistryError
from .registry import Registry

__version__ = "0.1.0"

# Public names resolved lazily, so `import ocop_analysis` stays fast and a module
# under construction does not break the others.
_LAZY = {
    "load_registry": ("loading", "load_registry"),
    "district_breakdown": ("analysis", "district_breakdown"),
    "star_distribution": ("analysis", "star_distribution"),
    "commune_breakdown": ("analysis", "commune_breakdown"),
    "score_bands": ("analysis", "score_bands"),
    "upgrade_candidates": ("analysis", "upgrade_candidates"),
    "reevaluation_rates": ("lifecycle", "reevaluation_rates"),
    "expiry_calendar": ("lifecycle", "expiry_calendar"),
    "transitions": ("lifecycle", "transitions"),
    "load_plan": ("plan", "load_plan"),
    "plan_scorecard": ("plan", "plan_scorecard"),
    "budget": ("budget", None),
    "charts": ("charts", None),
    "report": ("report", None),
}

__all__ = ["RegistryError", "ConfigError", "Registry", "paths", "reference", "schema",
           "normalize", "fmt", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        module, attr = _LAZY[name]
        mod = import_module(f".{module}", __name__)
        value = mod if attr is None else getattr(mod, attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ocop_analysis' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
