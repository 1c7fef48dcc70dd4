"""Fixes from the review round: one test (or a few) per fix, expectations worked out by hand."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import ocop_analysis as oa
from ocop_analysis import cli
from ocop_analysis.errors import ConfigError

FIXTURES = Path(__file__).parent / "fixtures"


# --------------------------------------------------------------------------- 1. unknown province

def test_unknown_province_is_a_config_error_naming_the_known_ones():
    with pytest.raises(ConfigError, match="no reference districts for province 'dongthap'") as info:
        oa.load_registry(FIXTURES / "flat_clean.xlsx", province="dongthap", cache=False)
    assert "dong-thap" in str(info.value)  # the curated province is listed


def test_validate_with_unknown_province_exits_2_without_traceback(capsys):
    status = cli.main(["validate", "--province", "dongthap", str(FIXTURES / "flat_clean.xlsx")])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("ocop-analysis validate: no reference districts for province 'dongthap'")
    assert "Traceback" not in err


# --------------------------------------------------------------------------- 2. decision in a title, any casing

@pytest.mark.parametrize("title", [
    "(Kèm theo Quyết định số 1580/QĐ-UBND-HC ngày 16/12/2019)",   # the usual spelling
    "(Kèm theo Quyết Định số 1580/QĐ-UBND-HC ngày 16/12/2019)",   # capital Đ
    "(Kèm theo Quyết định Số 1580/QĐ-UBND-HC ngày 16/12/2019)",   # capital S
    "(KÈM THEO QUYẾT ĐỊNH SỐ 1580/QĐ-UBND-HC NGÀY 16/12/2019)",   # all capitals
])
def test_title_decision_any_casing(title):
    from ocop_analysis.loading import _title_decision

    assert _title_decision(title) == ("1580/QĐ-UBND-HC", dt.date(2019, 12, 16))


# --------------------------------------------------------------------------- 3. districts() built once per province

def _districts_old_recipe(province):
    """What districts() built on every call before the cache (curated provinces)."""
    df = oa.reference.table("districts")
    df = df[df["province"] == province].copy()
    for col in ("code", "order", "tile_row", "tile_col"):
        df[col] = df[col].astype(int)
    return df.sort_values("order").reset_index(drop=True)


def test_districts_cached_but_each_call_an_independent_copy():
    import pandas as pd

    from ocop_analysis import geography, reference

    first = reference.districts("dong-thap")
    pd.testing.assert_frame_equal(first, _districts_old_recipe("dong-thap"))
    assert len(first) == 12  # Đồng Tháp's 12 district-level units (OCOP.md district table)
    second = reference.districts("dong-thap")
    pd.testing.assert_frame_equal(second, first)
    assert second is not first
    saved = second.copy()
    first.loc[0, "name"] = "changed"
    del first["short_name"]
    pd.testing.assert_frame_equal(reference.districts("dong-thap"), saved)  # the cached table is untouched
    pd.testing.assert_frame_equal(reference.districts(), saved)  # default province, same table
    # a province from the geography library: the library's table, also a fresh copy each call
    bt = reference.districts("ben-tre")
    pd.testing.assert_frame_equal(bt, geography.library_districts("ben-tre"))
    bt.loc[0, "name"] = "changed"
    pd.testing.assert_frame_equal(reference.districts("ben-tre"), geography.library_districts("ben-tre"))
    # an unknown province still raises KeyError each time (errors are not cached)
    for _ in range(2):
        with pytest.raises(KeyError, match="no reference districts"):
            reference.districts("dongthap")
