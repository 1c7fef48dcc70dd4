"""Where things are. Computed on import, with no side effects (nothing is created here)."""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
REFERENCE_DIR = PACKAGE_DIR / "reference"
# The repository root when the kit runs from a checkout (editable install); None for a plain install.
_ROOT = PACKAGE_DIR.parent
REPO_DIR: Path | None = _ROOT if (_ROOT / "pyproject.toml").exists() and (_ROOT / "data").is_dir() else None

DATA_DIR = (REPO_DIR / "data") if REPO_DIR else Path.cwd() / "data"
SAMPLE_DIR = DATA_DIR / "sample"
PLANS_DIR = DATA_DIR / "plans"
BUDGET_DIR = DATA_DIR / "budget"
NOTEBOOKS_DIR = (REPO_DIR / "notebooks") if REPO_DIR else Path.cwd() / "notebooks"
REPORTS_DIR = Path(os.environ.get("OCOP_REPORTS_DIR", (REPO_DIR or Path.cwd()) / "reports"))
FIGURES_DIR = REPORTS_DIR / "figures"
DEFAULT_PLAN = PLANS_DIR / "dong_thap_2025.yaml"
DEFAULT_SCENARIOS = BUDGET_DIR / "scenarios_2025.yaml"
