"""Property tests (hypothesis) for the value parsers as the loader uses them, and for the row accounting."""
from __future__ import annotations

import datetime as dt
import os

import openpyxl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ocop_analysis as oa
from ocop_analysis import loading
from ocop_analysis.layout import legacy_to_unicode

EXAMPLES = int(os.environ.get("OCOP_FUZZ_EXAMPLES", "60"))


@given(st.integers(1, 5), st.sampled_from(["{n}", "{n} sao", "{n}★", "{n}*", "Hạng {n} sao", "{stars}", "{n}.0"]))
def test_star_forms_round_trip(n, form):
    text = form.format(n=n, stars="★" * n)
    assert loading._star_value(text) == ("ok", n)
    assert loading._star_value(float(n)) == ("ok", n)


@given(st.integers(6, 10_000) | st.integers(-10_000, 0))
def test_out_of_range_star_numbers_are_invalid(n):
    assert loading._star_value(n)[0] == "invalid"
    assert loading._star_value(f"{n} sao")[0] == "invalid"


@given(st.sampled_from(["Không đạt", "KHÔNG ĐẠT", "khong dat", "Chưa đạt", "Không xếp hạng"]))
def test_failed_results(text):
    assert loading._star_value(text) == ("failed", None)


@given(st.decimals(min_value=0, max_value=100, places=2))
def test_scores_with_comma_or_dot(value):
    as_float = float(value)
    vn = f"{value:.2f}".replace(".", ",")
    assert loading._score_value(vn) == ("ok", as_float)
    assert loading._score_value(f"{value:.2f}") == ("ok", as_float)
    assert loading._score_value(as_float) == ("ok", as_float)


@given(st.floats(min_value=100.01, max_value=1e6) | st.floats(max_value=-0.01, min_value=-1e6))
def test_scores_outside_0_100_are_flagged(value):
    assert loading._score_value(value) == ("range", None)


@given(st.integers(1000, 999_999), st.integers(0, 9))
def test_thousands_separators_vietnamese(whole, tenth):
    text = f"{whole:,}".replace(",", ".") + f",{tenth}"
    assert loading._score_value(text)[1] in (None, whole + tenth / 10)
    assert oa.normalize.parse_number(text) == whole + tenth / 10


@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2099, 12, 31)))
def test_date_forms(d):
    for text in (f"{d.day:02d}/{d.month:02d}/{d.year}", f"{d.day}-{d.month}-{d.year}",
                 f"ngày {d.day} tháng {d.month} năm {d.year}", dt.datetime(d.year, d.month, d.day)):
        assert loading._date_value(text) == ("ok", d)
    serial = (d - dt.date(1899, 12, 30)).days
    assert loading._date_value(float(serial)) == ("ok", d)


@given(st.integers(1, 9999), st.dates(min_value=dt.date(2019, 1, 1), max_value=dt.date(2030, 12, 31)))
def test_decision_cell_split(number, d):
    no, date = loading._decision_value(f"{number}/QĐ-UBND-HC ngày {d.day:02d}/{d.month:02d}/{d.year}")
    assert (no, date) == (f"{number}/QĐ-UBND-HC", d)


@given(st.integers(1990, 2099))
def test_years(y):
    assert loading._year_value(y) == ("ok", y)
    assert loading._year_value(float(y)) == ("ok", y)
    assert loading._year_value(f"Năm {y}") == ("ok", y)


@given(st.sampled_from(["x", "X", "có", "Có", "1", "yes", "✓", "√"]))
def test_truthy_marks(mark):
    assert loading._truthy(mark) is True


@given(st.sampled_from(["", " ", None, "không", "0", 0]))
def test_falsy_marks(mark):
    assert loading._truthy(mark) is False


_VIET = st.text(alphabet="aăâbcdđeêghiklmnoôơpqrstuưvxyáàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ ",
                min_size=1, max_size=30)


@given(_VIET)
def test_unicode_vietnamese_is_never_taken_for_tcvn3(text):
    assert legacy_to_unicode(text) == (text, None)


def _tcvn3(text: str) -> str:
    table = oa.reference.table("legacy_tcvn3")
    reverse = {u: s for s, u, c in zip(table["shown"], table["unicode"], table["certain"]) if c == "true"}
    return "".join(reverse.get(ch, ch) for ch in text)


@given(_VIET)
def test_tcvn3_round_trip_lowercase(text):
    legacy = _tcvn3(text)
    converted, status = legacy_to_unicode(legacy)
    if status == "tcvn3":
        assert converted == text
    else:  # text without any letter that TCVN3 writes with a distinctive sign
        assert converted == legacy


# --------------------------------------------------------------------------- accounting on random sheets

_CELL = st.one_of(st.none(), st.integers(-5, 120), st.sampled_from(
    ["Hạt sen", "Cộng", "Tổng cộng: 5 sản phẩm", "I. THÀNH PHỐ CAO LÃNH", "2. Huyện Lai Vug", "KT. CHỦ TỊCH",
     "Không đạt", "4 sao", "★★★", "H. Lấp Vò", "Cao Lãnh", "x", "", "Tên sản phẩm", "Hạng sao", "abc"]))


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                     HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(_CELL, min_size=4, max_size=4), max_size=12))
def test_every_row_is_accounted_for(tmp_path, body):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["STT", "Tên sản phẩm", "Huyện", "Hạng sao"])
    for row in body:
        ws.append(row)
    path = tmp_path / "random.xlsx"
    wb.save(path)
    reg = oa.load_registry(path, corrections=None, links=None)
    src = reg.sources.iloc[0]
    assert src.rows_seen == src.rows_loaded + src.rows_rejected + src.rows_skipped
    errors = reg.problems[reg.problems["severity"] == "error"]
    assert errors["row"].nunique() == src.rows_rejected
    assert set(reg.evaluations["source_row"]).isdisjoint(set(errors["row"]))
