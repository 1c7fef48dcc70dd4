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
