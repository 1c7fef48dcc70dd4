"""Shared test setup: Agg backend, figures closed after every test."""
import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(autouse=True)
def _private_load_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own empty load cache (never the user's ~/.cache/ocop-analysis)."""
    monkeypatch.setenv("OCOP_CACHE_DIR", str(tmp_path_factory.mktemp("ocop-cache")))
