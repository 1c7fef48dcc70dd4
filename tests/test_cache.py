"""The load cache (ocop_analysis/cache.py): used on a second load, never for changed bytes or another kit.

Parser calls are counted by wrapping loading.stream_workbook; no timing. conftest.py gives every test an
empty OCOP_CACHE_DIR under pytest's tmp folder.
"""
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import ocop_analysis as oa
from ocop_analysis import cache, loading

HEADER = ["STT", "Tên sản phẩm", "Tên chủ thể", "Huyện/Thành phố", "Điểm", "Hạng sao", "Năm đánh giá"]


def write(path: Path, rows) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


ROWS = [[1, "Trà sen", "HTX Tân Lợi", "Lai Vung", 72, 4, 2022],
        [2, "Nem chua", "Cơ sở Út Nhỏ", "Lai Vung", 60, 3, 2022]]


@pytest.fixture
def counted(monkeypatch):
    calls = []
    real = loading.stream_workbook

    def spy(path, *args, **kwargs):
        calls.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(loading, "stream_workbook", spy)
    return calls


@pytest.fixture
def book(tmp_path):
    folder = tmp_path / "inputs"
    folder.mkdir()
    return write(folder / "ds.xlsx", ROWS)


def load(path, **kw):
    return oa.load_registry(path, corrections=None, links=None, **kw)


def entries() -> list[Path]:
    return [p for p in cache.cache_dir().glob("*/*") if p.is_dir() and not p.name.startswith(".tmp-")]


def assert_same(a, b):
    for name in cache.TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert (a.province, a.as_of) == (b.province, b.as_of)


def test_second_load_of_the_same_bytes_reads_the_cache(book, counted):
    first = load(book)
    second = load(book)
    assert counted == ["ds.xlsx"]  # parsed once
    assert_same(first, second)
    assert len(second.evaluations) == 2
    assert second.evaluations["stars"].tolist() == [4, 3]


def test_results_identical_with_and_without_cache_on_the_sample(counted):
    fresh = oa.load_registry(oa.paths.SAMPLE_DIR, cache=False)
    load_1 = oa.load_registry(oa.paths.SAMPLE_DIR)  # miss: parses and stores
    load_2 = oa.load_registry(oa.paths.SAMPLE_DIR)  # hit
    n_files = len(loading.expand_paths(oa.paths.SAMPLE_DIR))
    assert len(counted) == 2 * n_files
    assert_same(fresh, load_1)
    assert_same(fresh, load_2)


def test_cache_false_never_reads_or_writes(book, counted):
    load(book, cache=False)
    load(book, cache=False)
    assert len(counted) == 2
    assert entries() == []


def test_changed_bytes_are_parsed_again(book, counted):
    load(book)
    write(book, [ROWS[0], [2, "Nem chua", "Cơ sở Út Nhỏ", "Lai Vung", 85, 4, 2022]])
    reg = load(book)
    assert counted == ["ds.xlsx", "ds.xlsx"]
    assert reg.evaluations["stars"].tolist() == [4, 4]  # the new value, not the cached 3


def test_new_kit_version_is_parsed_again(book, counted, monkeypatch):
    load(book)
    monkeypatch.setattr(cache, "kit_version", lambda: "99.0+other")
    load(book)
    assert len(counted) == 2
    load(book)
    assert len(counted) == 2  # the new version's entry is used from then on


def test_other_options_are_other_entries(book, counted, tmp_path):
    load(book)
    oa.load_registry(book, province="dong-thap", corrections=None, links=None)
    assert len(counted) == 1
    links = tmp_path / "links.csv"
    links.write_text("entity_a,product_a,entity_b,product_b,action,reason\n", encoding="utf-8")
    oa.load_registry(book, corrections=None, links=links)
    assert len(counted) == 2
    links.write_text("entity_a,product_a,entity_b,product_b,action,reason\n# changed\n", encoding="utf-8")
    oa.load_registry(book, corrections=None, links=links)
    assert len(counted) == 3


def test_cache_lives_outside_the_input_folder_and_the_repository(book):
    load(book)
    [entry] = entries()
    assert book.parent not in entry.parents
    assert sorted(p.name for p in book.parent.iterdir()) == ["ds.xlsx"]  # nothing written beside the input
    if oa.paths.REPO_DIR is not None:
        assert oa.paths.REPO_DIR.resolve() not in entry.resolve().parents
    assert sorted(p.name for p in entry.iterdir()) == sorted([*(f"{t}.parquet" for t in cache.TABLES), "meta.json"])


def test_cache_folder_inside_the_input_folder_is_not_used(book, counted, monkeypatch):
    monkeypatch.setenv("OCOP_CACHE_DIR", str(book.parent / "cache"))
    load(book)
    load(book)
    assert len(counted) == 2
    assert not (book.parent / "cache").exists()


@pytest.mark.parametrize("damage", ["truncate", "garbage_meta", "missing_table"])
def test_a_damaged_entry_is_ignored_and_rebuilt(book, counted, damage):
    first = load(book)
    [entry] = entries()
    if damage == "truncate":
        target = entry / "evaluations.parquet"
        target.write_bytes(target.read_bytes()[:40])
    elif damage == "garbage_meta":
        (entry / "meta.json").write_text("{not json", encoding="utf-8")
    else:
        (entry / "problems.parquet").unlink()
    again = load(book)
    assert len(counted) == 2  # parsed again
    assert_same(first, again)
    third = load(book)  # the rebuilt entry serves the next load
    assert len(counted) == 2
    assert_same(first, third)


def test_as_of_is_not_part_of_the_cached_result(book, counted):
    load(book, as_of="2024-01-01")
    reg = load(book, as_of="2025-06-30")
    assert len(counted) == 1
    assert str(reg.as_of) == "2025-06-30"


def test_clear_deletes_everything(book, counted):
    load(book)
    cache.clear()
    assert not cache.cache_dir().exists()
    load(book)
    assert len(counted) == 2
