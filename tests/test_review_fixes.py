"""Fixes from the review round: one test (or a few) per fix, expectations worked out by hand."""
from __future__ import annotations

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
