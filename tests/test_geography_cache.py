"""geography's on-disk cache of district_coordinates / districts: same tables, kept across processes,
keyed by the library's and the kit's versions, rebuilt when damaged.

The expected tables are the ones computed without any cache (the private functions the cache wraps),
so the tests check that caching changes nothing; the values themselves are tested in test_geography.py.
"""
import pandas as pd
import pytest

from ocop_analysis import cache as kit_cache
from ocop_analysis import geography as geo


@pytest.fixture()
def fresh(tmp_path, monkeypatch):
    """An empty cache folder and no in-process memo, before and after the test."""
    monkeypatch.setenv("OCOP_CACHE_DIR", str(tmp_path / "cache"))
    geo._disk_cached.cache_clear()
    yield tmp_path / "cache" / "geography"
    geo._disk_cached.cache_clear()


def _uncached(kind, province):
    if kind == "district_coordinates":
        return geo._district_coordinates(geo.province_code(province)).copy()
    return geo._districts_uncached(province).copy()


@pytest.mark.parametrize("kind", ["district_coordinates", "districts"])
@pytest.mark.parametrize("province", ["dong-thap", "ben-tre", 87])
def test_cached_table_equals_computed_one(fresh, kind, province):
    func = getattr(geo, kind)
    first = func(province)                      # computed, written to disk
    assert len(list(fresh.glob(f"{kind}-*.parquet"))) == 1
    geo._disk_cached.cache_clear()
    second = func(province)                     # read back from disk
    expected = _uncached(kind, province)
    pd.testing.assert_frame_equal(first, expected)
    pd.testing.assert_frame_equal(second, expected)


def test_a_disk_hit_does_not_touch_the_library(fresh, monkeypatch):
    expected = geo.district_coordinates("dong-thap")
    geo._disk_cached.cache_clear()

    def no_library():
        raise AssertionError("the library was queried on a cache hit")

    monkeypatch.setattr(geo, "_legacy", no_library)
    monkeypatch.setattr(geo, "_province_lookup", no_library)
    pd.testing.assert_frame_equal(geo.district_coordinates("dong-thap"), expected)
    # Đồng Tháp has 12 old districts (OCOP.md district table 866–877)
    assert sorted(geo.district_coordinates("dong-thap")["code"]) == list(range(866, 878))


def test_callers_get_copies(fresh):
    a = geo.district_coordinates("dong-thap")
    a["lat"] = 0.0
    assert (geo.district_coordinates("dong-thap")["lat"] != 0.0).all()


def test_key_changes_with_library_and_kit_version(fresh, monkeypatch):
    base = geo._disk_path("districts", "dong-thap")
    assert base != geo._disk_path("districts", "ben-tre")
    assert base != geo._disk_path("district_coordinates", "dong-thap")
    assert base != geo._disk_path("districts", 87)          # the argument as given, not its meaning
    monkeypatch.setattr(geo, "_library_version", lambda: "99.0")
    assert geo._disk_path("districts", "dong-thap") != base
    monkeypatch.undo()
    monkeypatch.setenv("OCOP_CACHE_DIR", str(fresh.parent))
    monkeypatch.setattr(kit_cache, "kit_version", lambda: "0.0.0+other")
    assert geo._disk_path("districts", "dong-thap") != base


def test_damaged_entry_is_rebuilt(fresh):
    expected = geo.district_coordinates("dong-thap")
    (entry,) = fresh.glob("district_coordinates-*.parquet")
    entry.write_bytes(b"not parquet")
    geo._disk_cached.cache_clear()
    pd.testing.assert_frame_equal(geo.district_coordinates("dong-thap"), expected)
    geo._disk_cached.cache_clear()
    pd.testing.assert_frame_equal(pd.read_parquet(entry), expected)


def test_unknown_province_still_raises_and_is_not_cached(fresh):
    with pytest.raises(KeyError):
        geo.district_coordinates("atlantis")
    assert not list(fresh.glob("*.parquet")) if fresh.exists() else True


def test_no_cache_inside_the_repository(fresh, monkeypatch):
    from ocop_analysis import paths

    monkeypatch.setenv("OCOP_CACHE_DIR", str(paths.REPO_DIR / "cache-here"))
    assert geo._disk_path("districts", "dong-thap") is None
    assert len(geo.districts("dong-thap")) == 12
    assert not (paths.REPO_DIR / "cache-here").exists()


@pytest.mark.parametrize("kind", ["district_coordinates", "districts"])
def test_damaged_entry_that_cannot_be_removed_is_computed(fresh, monkeypatch, kind):
    # a read-only OCOP_CACHE_DIR or an entry owned by someone else: the unlink is refused (the tests
    # may run as root, which no file mode stops, so the refusal is made by hand)
    func = getattr(geo, kind)
    func("dong-thap")
    (entry,) = fresh.glob(f"{kind}-*.parquet")
    entry.write_bytes(b"not parquet")
    geo._disk_cached.cache_clear()
    original = type(entry).unlink

    def refuse(self, missing_ok=False):
        if self == entry:
            raise PermissionError(13, "Permission denied", str(self))
        return original(self, missing_ok=missing_ok)

    monkeypatch.setattr(type(entry), "unlink", refuse)
    table = func("dong-thap")
    # Đồng Tháp has 12 old districts, codes 866–877 (OCOP.md district table)
    assert len(table) == 12
    assert sorted(table["code"]) == list(range(866, 878))
