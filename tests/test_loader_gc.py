"""load_registry pauses Python's cycle collector while it works (issue 9) and always gives it back."""
from __future__ import annotations

import gc
from pathlib import Path

import pytest

import ocop_analysis as oa
from ocop_analysis import loading

FLAT = Path(__file__).parent / "fixtures" / "flat_clean.xlsx"


def test_collector_is_off_during_the_load_and_on_after(monkeypatch):
    seen = []
    parse = loading._parse_evaluations

    def spy(*args):
        seen.append(gc.isenabled())
        return parse(*args)

    monkeypatch.setattr(loading, "_parse_evaluations", spy)
    assert gc.isenabled()
    reg = oa.load_registry(FLAT, corrections=None, links=None, cache=False)
    assert seen == [False]
    assert gc.isenabled()
    assert len(reg.evaluations) == 12


def test_collector_comes_back_after_a_refused_file(tmp_path):
    bad = tmp_path / "not_a_workbook.xlsx"
    bad.write_bytes(b"%PDF-1.4 not a spreadsheet")
    with pytest.raises(oa.RegistryError):
        oa.load_registry(bad, cache=False)
    assert gc.isenabled()


def test_collector_left_off_when_the_caller_had_it_off():
    gc.disable()
    try:
        oa.load_registry(FLAT, corrections=None, links=None, cache=False)
        assert not gc.isenabled()
    finally:
        gc.enable()
