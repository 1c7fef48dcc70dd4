"""The Registry object that ``load_registry`` returns."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from . import schema


@dataclass
class Registry:
    """One or many registry workbooks, loaded.

    evaluations: the canonical long table, one row per product per evaluation round.
    problems:    file, sheet, row, column, value, problem, severity, message.
    sources:     per file and sheet, rows seen / loaded / rejected / skipped and the layout.
    revocations: certificates revoked (product_id, revoked_on, reason, ...) from revocation lists.
    corrections: the corrections applied at load (match, set, reason, rows affected).
    as_of:       the date ``products`` reports certificate status for (default: today).
    """

    evaluations: pd.DataFrame = field(default_factory=schema.coerce_evaluations)
    problems: pd.DataFrame = field(default_factory=schema.empty_problems)
    sources: pd.DataFrame = field(default_factory=schema.empty_sources)
    revocations: pd.DataFrame = field(default_factory=pd.DataFrame)
    corrections: pd.DataFrame = field(default_factory=pd.DataFrame)
    province: str = "dong-thap"
    as_of: dt.date | None = None

    @property
    def products(self) -> pd.DataFrame:
        """One row per product_id: latest result and certificate status as of ``as_of`` (default today)."""
        from .lifecycle import build_products

        return build_products(self, as_of=self.as_of)

    def products_as_of(self, as_of) -> pd.DataFrame:
        from .lifecycle import build_products

        return build_products(self, as_of=as_of)

    @property
    def errors(self) -> pd.DataFrame:
        return self.problems[self.problems["severity"] == "error"]

    def __repr__(self) -> str:
        files = self.sources["file"].nunique() if len(self.sources) else 0
        return (f"<Registry {len(self.evaluations)} evaluations from {files} file(s); "
                f"{int((self.problems['severity'] == 'error').sum())} errors, "
                f"{int((self.problems['severity'] == 'warning').sum())} warnings>")
