"""Shared test setup: Agg backend, figures closed after every test."""
import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

# Property tests judge values, not speed: no per-example deadline (a loaded 2-core CI machine would
# make the first example of a test, which warms caches, look "flaky"). On CI the examples are
# derandomized so a run is reproducible; locally they stay random to keep finding new cases.
settings.register_profile("ocop", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, database=None)
settings.load_profile("ci" if os.environ.get("CI") else "ocop")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(autouse=True)
def _private_load_cache(tmp_path_factory, monkeypatch):
    """Every test gets its own empty load cache (never the user's ~/.cache/ocop-analysis)."""
    monkeypatch.setenv("OCOP_CACHE_DIR", str(tmp_path_factory.mktemp("ocop-cache")))
