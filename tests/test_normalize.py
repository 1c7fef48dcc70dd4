"""The normaliser on every alias form of domain/OCOP.md §7.2, NFD text and the ambiguous names."""
import datetime as dt
import unicodedata

import pytest
from hypothesis import given, strategies as st

from ocop_analysis import normalize as n

# Every spelling named in domain/OCOP.md (§7.1, §7.2 and the district table), with the unit it names.
DOC_ALIASES = {
    "TP. Sa Đéc": 867, "thành phố Cao Lãnh": 866, "huyện Cao Lãnh": 873, "huyện Lai Vung": 876,
    "H. Lai Vung": 876, "thị xã Hồng Ngự": 868, "TP Hồng Ngự": 868, "huyện Hồng Ngự": 870,
    "TP. Cao Lãnh": 866, "TP Cao Lãnh": 866, "TX. Sa Đéc": 867, "TP. Hồng Ngự": 868, "TX. Hồng Ngự": 868,
    "H. Tân Hồng": 869, "H. Hồng Ngự": 870, "H. Tam Nông": 871, "H. Tháp Mười": 872, "H. Cao Lãnh": 873,
    "H. Thanh Bình": 874, "H. Lấp Vò": 875, "H. Châu Thành": 877,
    "Thành phố Cao Lãnh": 866, "Thành phố Sa Đéc": 867, "Thành phố Hồng Ngự": 868, "Huyện Tân Hồng": 869,
    "Huyện Hồng Ngự": 870, "Huyện Tam Nông": 871, "Huyện Tháp Mười": 872, "Huyện Cao Lãnh": 873,
    "Huyện Thanh Bình": 874, "Huyện Lấp Vò": 875, "Huyện Lai Vung": 876, "Huyện Châu Thành": 877,
    "Lấp Vò": 875, "Tháp Mười": 872, "Tân Hồng": 869, "Tam Nông": 871, "Thanh Bình": 874,
}


def _strip_marks(text: str) -> str:
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


@pytest.mark.parametrize("alias,code", DOC_ALIASES.items())
def test_every_documented_alias_resolves(alias, code):
    for form in (alias, alias.upper(), alias.lower(), _strip_marks(alias), unicodedata.normalize("NFD", alias),
                 "  " + alias.replace(" ", "   ") + " "):
        m = n.resolve_district(form)
        assert (m.status, m.code) == ("ok", code), form


@pytest.mark.parametrize("bare,candidates", [("Cao Lãnh", (866, 873)), ("Hồng Ngự", (868, 870)),
                                              ("cao lanh", (866, 873)), ("HỒNG NGỰ", (868, 870))])
def test_bare_shared_names_are_ambiguous_never_guessed(bare, candidates):
    m = n.resolve_district(bare)
    assert m.status == "ambiguous" and m.code is None and m.candidates == candidates


@pytest.mark.parametrize("section,code", [("I. THÀNH PHỐ CAO LÃNH", 866), ("2. Huyện Lai Vung", 876),
                                           ("IV - Huyện Tam Nông", 871), ("a) Huyện Tháp Mười", 872),
                                           ("Huyện Châu Thành, tỉnh Đồng Tháp", 877)])
def test_section_row_forms(section, code):
    assert n.resolve_district(section).code == code


def test_unknown_district_suggests_the_closest_unit():
    m = n.resolve_district("Huyen Lai Vug")
    assert m.status == "unknown" and m.suggestion == 876
    assert n.resolve_district("Quận Ba Đình").suggestion is None
    assert n.resolve_district("  ").status == "blank"


def test_nfd_equals_nfc():
    for text in ("Huyện Lấp Vò", "Thị xã Hồng Ngự", "Hợp tác xã Mỹ Xương"):
        nfd = unicodedata.normalize("NFD", text)
        assert nfd != text
        assert n.clean_text(nfd) == text
        assert n.fold(nfd) == n.fold(text)
    assert n.resolve_district(unicodedata.normalize("NFD", "Huyện Lấp Vò")).code == 875


@pytest.mark.parametrize("value,stars", [(3, 3), (4.0, 4), ("3 sao", 3), ("3★", 3), ("★★★", 3), ("3*", 3),
                                          ("***", 3), ("Ba sao", 3), ("bốn sao", 4), ("Năm sao", 5), ("Hạng 4 sao", 4),
                                          ("4 sao (tiềm năng 5 sao)", 4), (" 5 ", 5), ("★★★★★", 5), ("3.0", 3)])
def test_parse_stars(value, stars):
    assert n.parse_stars(value) == stars


@pytest.mark.parametrize("value", ["6 sao", "0", 75, "abc", "Không đạt", 3.5, "★★★★★★", True])
def test_parse_stars_rejects(value):
    with pytest.raises(ValueError):
        n.parse_stars(value)


def test_blank_stars_and_failed_results():
    assert n.parse_stars(None) is None and n.parse_stars("  ") is None and n.parse_stars(float("nan")) is None
    assert n.is_failed_result("Không đạt") and n.is_failed_result("KHONG DAT") and n.is_failed_result("Chưa đạt")
    assert not n.is_failed_result("Đạt 3 sao") and not n.is_failed_result(None)


@pytest.mark.parametrize("text,value", [("65,5", 65.5), ("1.234,5", 1234.5), ("1,234.5", 1234.5), ("1.234", 1234.0),
                                         ("72 điểm", 72.0), ("80", 80.0), (" 90,25 ", 90.25), ("1.234.567", 1234567.0)])
def test_parse_number(text, value):
    assert n.parse_number(text) == value


def test_parse_number_rejects_text():
    with pytest.raises(ValueError):
        n.parse_number("bảy mươi")


@pytest.mark.parametrize("value,date", [
    ("15/08/2022", dt.date(2022, 8, 15)), ("15-8-2022", dt.date(2022, 8, 15)), ("2022-08-15", dt.date(2022, 8, 15)),
    ("ngày 15 tháng 8 năm 2022", dt.date(2022, 8, 15)), ("Ngày 16 tháng 12 năm 2019", dt.date(2019, 12, 16)),
    (44788, dt.date(2022, 8, 15)), (dt.datetime(2022, 8, 15, 10, 30), dt.date(2022, 8, 15)),
])
def test_parse_date(value, date):
    assert n.parse_date(value) == date


def test_parse_date_rejects_impossible_dates():
    with pytest.raises(ValueError):
        n.parse_date("31/02/2022")


def test_parse_decision_splits_number_and_date():
    assert n.parse_decision("1580/QĐ-UBND-HC ngày 16/12/2019") == ("1580/QĐ-UBND-HC", dt.date(2019, 12, 16))
    assert n.parse_decision("1446/QĐ-UBND-HC") == ("1446/QĐ-UBND-HC", None)
    assert n.parse_decision(None) == (None, None)


@pytest.mark.parametrize("text,kind", [("Mới", "new"), ("moi", "new"), ("Đánh giá lại", "reevaluation"),
                                        ("DANH GIA LAI", "reevaluation"), ("Nâng hạng", "upgrade"),
                                        ("Công nhận lại", "reevaluation")])
def test_parse_kind(text, kind):
    assert n.parse_kind(text) == kind


@pytest.mark.parametrize("value,taxonomy,group", [
    (1, "148", 1), ("5", "148", 5), (5, "1048", 4), (3, "1048", 3), ("Thảo dược", "1048", 3), ("Thảo dược", "148", 3),
    ("Lưu niệm – nội thất – trang trí", "1048", 4), ("Vải và may mặc", "1048", 4), ("Sinh vật cảnh", "148", 5),
    ("Hoa kiểng", "148", 5), ("Nhóm 2", "148", 2), ("2. Đồ uống", "148", 2), ("Thực phẩm chế biến", "148", 1),
    ("DƯỢC LIỆU VÀ SẢN PHẨM TỪ DƯỢC LIỆU", "148", 3), ("Dich vu du lich nong thon, ban hang", "1048", 6),
])
def test_resolve_group(value, taxonomy, group):
    m = n.resolve_group(value, taxonomy)
    assert m.status == "ok" and m.group == group


def test_resolve_group_unknown_and_taxonomy_by_year():
    assert n.resolve_group("Nhóm 9").status == "unknown"
    assert n.resolve_group("Đồ gỗ xyz").status == "unknown"
    assert n.taxonomy_for_year(2022) == "1048" and n.taxonomy_for_year(2023) == "148"


@pytest.mark.parametrize("name,etype", [
    ("Công ty TNHH Ecolotus Việt Nam", "company"), ("Cty CP Sa Giang", "company"), ("DNTN Bùi Thanh Tú", "company"),
    ("HTX Mỹ Xương", "cooperative"), ("Hợp tác xã Quýt hồng Lai Vung", "cooperative"),
    ("Tổ hợp tác sen Tháp Mười", "cooperative_group"), ("Hộ kinh doanh Út Hiền", "household"),
    ("HKD Tư Hiền", "household"), ("Cơ sở Bảy Gòn", "household"), ("Nguyễn Văn Ba", "other"),
])
def test_entity_type(name, etype):
    assert n.entity_type(name) == etype


def test_entity_key_links_prefix_spellings():
    assert n.entity_key("HTX Mỹ Xương") == n.entity_key("Hợp tác xã  Mỹ Xương") == n.entity_key("hop tac xa my xuong")
    assert n.entity_key("Cty TNHH Tuấn Cường") == n.entity_key("Công ty TNHH Tuấn Cường")
    assert n.entity_key("Hộ kinh doanh Út Hiền") == n.entity_key("HKD Út Hiền")
    assert n.entity_key("HTX Mỹ Xương") != n.entity_key("HTX Mỹ Hiệp")


# --- properties -------------------------------------------------------------------------------

vi_text = st.text(alphabet=st.sampled_from(list("aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩị"
                                                 "òóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ ĐÂÊÔƠƯ.-,")), max_size=40)


@given(vi_text)
def test_fold_is_idempotent_and_form_independent(text):
    assert n.fold(n.fold(text)) == n.fold(text)
    assert n.fold(unicodedata.normalize("NFD", text)) == n.fold(text)
    assert n.fold(text.upper()) == n.fold(text)
    assert n.fold(text).isascii()


@given(st.integers(min_value=1, max_value=5), st.sampled_from(["{} sao", "{}★", "{}*", "{}", " {} SAO ", "Hạng {} sao"]))
def test_parse_stars_forms(k, template):
    assert n.parse_stars(template.format(k)) == k
    assert n.parse_stars("★" * k) == k


@given(st.integers(min_value=0, max_value=10_000_000), st.integers(min_value=0, max_value=9))
def test_parse_number_vietnamese_format_roundtrip(whole, tenth):
    from ocop_analysis import fmt
    text = fmt.number(whole + tenth / 10, 1)
    assert n.parse_number(text) == pytest.approx(whole + tenth / 10)


@given(st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2090, 12, 31)))
def test_parse_date_roundtrip(d):
    assert n.parse_date(d.strftime("%d/%m/%Y")) == d
    assert n.parse_date(f"ngày {d.day} tháng {d.month} năm {d.year}") == d
    assert n.parse_date((d - dt.date(1899, 12, 30)).days) == d


# --------------------------------------------------------------------------- bulk fast path (issue 9)

from hypothesis import given, strategies as st  # noqa: E402

from ocop_analysis.layout import legacy_letters, legacy_to_unicode  # noqa: E402
from ocop_analysis.normalize import clean_text, fold, unchanged_by_clean_text  # noqa: E402

# text built from the characters that matter: letters with and without marks (composed and not),
# every kind of space and control, TCVN3 letters, the bulk check's own separator
_PIECES = st.sampled_from(["Lai", "Vung", "Bánh", "tét", "e\u0301", "Đ", " ", "  ", "\t", "\n", "\u00a0", "\u200b",
                           "\x00", "\x1c", "\x7f", "×", "¡", "B×nh", "\uffff", "", "3", "x"])
_TEXTS = st.lists(st.one_of(st.text(alphabet="ab đ\u0301 \t×\uffff", max_size=6),
                            st.lists(_PIECES, max_size=5).map("".join), st.none(), st.floats(allow_nan=True),
                            st.integers()), max_size=30)


@given(_TEXTS)
def test_bulk_check_never_claims_a_text_that_clean_text_would_change(texts):
    marked = unchanged_by_clean_text(texts, also=legacy_letters())
    assert len(marked) == len(texts)
    for t, ok in zip(texts, marked):
        if ok:
            assert clean_text(t) == t
            assert legacy_to_unicode(t) == (t, None)


def test_bulk_check_by_hand():
    texts = ["Huyện Lai Vung", "Huyện  Lai Vung", " Lai Vung", "Lai Vung ", "Lai\tVung", "Lai\u00a0Vung",
             "Bánh te\u0301t", "", None, 3.0, "Ninh B×nh", "Bánh tét", "A\uffffB", "Mắm\x00 cá"]
    assert unchanged_by_clean_text(texts, also=legacy_letters()).tolist() == [
        True, False, False, False, False, False, False, False, False, False, False, True, False, False]
    # without the TCVN3 letters, "Ninh B×nh" is clean text
    assert unchanged_by_clean_text(["Ninh B×nh"]).tolist() == [True]


def _entity_prefix_by_scanning(key):
    """The rule written out plainly: the longest table prefix equal to the key or followed by a space."""
    from ocop_analysis.normalize import _entity_prefixes
    for prefix, etype, canonical in _entity_prefixes():
        if key == prefix or key.startswith(prefix + " "):
            return prefix, (etype, canonical)
    return None


_PREFIX_WORDS = st.sampled_from(["cong", "ty", "tnhh", "htx", "hop", "tac", "xa", "to", "ho", "kinh", "doanh",
                                 "co", "so", "san", "xuat", "dntn", "ctcp", "mot", "thanh", "vien", "ba", "an", ""])


@given(st.lists(_PREFIX_WORDS, max_size=7))
def test_entity_prefix_lookup_equals_the_plain_rule(words):
    from ocop_analysis.normalize import _entity_prefix, fold
    key = fold(" ".join(words))
    assert _entity_prefix(key) == _entity_prefix_by_scanning(key)


def test_entity_prefix_lookup_on_every_table_prefix():
    from ocop_analysis.normalize import _entity_prefix, _entity_prefixes
    for prefix, _, _ in _entity_prefixes():
        for key in (prefix, prefix + " my xuong", prefix + "x my xuong"):
            assert _entity_prefix(key) == _entity_prefix_by_scanning(key), key


def test_fold_drops_every_nonspacing_mark():
    # Vietnamese marks, and marks from other scripts (category Mn), composed or not
    assert fold("Mỹ Xương") == fold("My\u0303 Xu\u031bo\u031bng") == "my xuong"
    assert fold("e\u0301\u0323\u0483\u05b0a") == "ea"       # U+0483 Cyrillic, U+05B0 Hebrew: Mn
    # U+0903 (Devanagari visarga) is Mc: not dropped as a mark, then not a word character -> a space
    assert fold("a\u0903b") == "a b"


_NAMES = st.lists(st.one_of(st.lists(st.sampled_from(["Cty", "TNHH", "HTX", "Hợp", "tác", "xã", "Mỹ", "Xương", "Đặc",
                                                      "sản", "ĐỒNG", "THÁP", " ", "  ", "-", "_", "(", ")", "3",
                                                      "e\u0301", "\u0301", "\u0303", "\u00a0", "×", "\U0002a6d6", "Ǆ", "ß", "İ", ""]),
                                      max_size=6).map(" ".join),
                            st.text(max_size=8), st.none(), st.integers(), st.floats()), max_size=25)


@given(_NAMES)
def test_bulk_fold_and_entity_types_equal_the_one_by_one_versions(values):
    from ocop_analysis.normalize import _FOLDED, _fold, entity_type, entity_types, fold_many
    _FOLDED.clear()   # fold_many fills fold's memo: compare with the plain, unmemoised fold
    assert fold_many(values) == [_fold(v) for v in values]
    assert [fold(v) for v in values] == [_fold(v) for v in values]
    assert entity_types(values) == [entity_type(v) for v in values]
    from ocop_analysis.normalize import entity_key, entity_keys
    entity_key.cache_clear()
    assert entity_keys(values) == [entity_key(v) for v in values]


def test_fold_many_skips_values_it_has_folded_and_keeps_order(monkeypatch):
    from ocop_analysis import normalize as nz
    nz._FOLDED.clear()
    assert nz.fold_many(["Hạt sen", "Mắm  cá", None]) == ["hat sen", "mam ca", ""]
    calls = []
    real = nz.unchanged_by_clean_text
    monkeypatch.setattr(nz, "unchanged_by_clean_text", lambda values, also="": calls.append(list(values)) or real(values))
    assert nz.fold_many(["Mắm  cá", "Bánh pía", "Hạt sen"]) == ["mam ca", "banh pia", "hat sen"]
    assert calls == [["Bánh pía"]]          # only the new name went through the bulk check


def test_fold_keeps_true_apart_from_one():
    # the memo must not merge values that compare equal across types (True == 1 == 1.0)
    assert fold(1) == "1" and fold(True) == "true" and fold(1.0) == "1"
    assert fold(True) == "true"


@pytest.mark.parametrize("written, reason", [
    ("Không đánh giá lại trong thời hạn 36 tháng", "not_reevaluated"),
    ("Hết hạn, không đăng ký", "not_reevaluated"),
    ("not_reevaluated", "not_reevaluated"),
    ("Không đạt tiêu chí bắt buộc", "failed_mandatory"),
    ("Sản phẩm không đạt", "failed_mandatory"),      # the loader kept this as text, lifecycle said failed: now one reading
    ("failed_mandatory", "failed_mandatory"),
    ("  Vi phạm   an toàn thực phẩm ", "Vi phạm an toàn thực phẩm"),
    ("   ", None), (None, None),
])
def test_revocation_reason_is_read_one_way(written, reason):
    from ocop_analysis.normalize import revocation_reason
    assert revocation_reason(written) == reason


# --------------------------------------------------------------------------- columns folded in numpy/Arrow (issue 9)

# Characters whose folding is easy to get wrong: marks alone and stacked, ß (casefold "ss"), Turkish İ/ı,
# fullwidth punctuation, odd spaces, underscores, other digits, ligatures, Greek sigmas, Hangul, CJK,
# an astral letter, controls and a non-Mn combining mark (U+0903, Mc; U+1D165 has class 216).
_ODD = ["\u0301", "\u0323\u0302", "ß", "ẞ", "İ", "ı", "（", "）", "，", "\u00a0", "\u3000", "\u200b", "\t", "\n",
        "_", "__", "٣", "²", "½", "Ⅷ", "ﬁ", "ǅ", "Σ", "ς", "ŉ", "ǰ", "\u0345", "Å", "\u212b", "한", "中",
        "\U0002a6d6", "\U0001d165", "\u0903", "\x00", "\x1f", "\x7f", "\x85", "đ", "Đ", "Ð", "ø", "æ", "'", "’", "-"]
_TEXTS = st.lists(st.one_of(
    st.lists(st.sampled_from(["HTX", "Hợp", "tác", "xã", "Cty", "TNHH", "Công", "ty", "Mỹ", "Xương", "ĐỒNG",
                              "tháp", "sen", "200g", " ", "  ", *_ODD]), max_size=7).map("".join),
    st.lists(st.sampled_from(["HTX", "Hợp tác xã", "Mỹ", " ", *_ODD]), max_size=5).map(" ".join),
    st.text(max_size=10), st.none()), max_size=30)


@given(_TEXTS)
def test_fold_strings_equals_fold_one_by_one(values):
    import pyarrow as pa
    from ocop_analysis.normalize import _fold, fold_strings
    assert fold_strings(pa.array(values, type=pa.string())).to_pylist() == [_fold(v) for v in values]


@given(_TEXTS)
def test_entity_keys_folded_equals_entity_key_one_by_one(values):
    import pyarrow as pa
    from ocop_analysis.normalize import _PREFIX_OF, entity_key, entity_keys_folded, fold_strings
    entity_key.cache_clear()
    _PREFIX_OF.clear()
    keys = entity_keys_folded(fold_strings(pa.array(values, type=pa.large_string()))).to_pylist()
    assert keys == [entity_key(v) for v in values]


def _table_prefix_names():
    from ocop_analysis.normalize import _entity_prefixes
    return st.sampled_from([p for p, _, _ in _entity_prefixes()] + ["HTX", "Cty TNHH", "Công ty TNHH MTV"])


@given(st.lists(st.tuples(_table_prefix_names(), st.sampled_from(["", " ", "x", " Mỹ Xương", "  Ba Hưng 3",
                                                                     "xa", " ß", "_A", " İ"])), max_size=20))
def test_entity_keys_folded_on_every_table_prefix_and_its_neighbours(pairs):
    import pyarrow as pa
    from ocop_analysis.normalize import entity_key, entity_keys_folded, fold_strings
    values = [p + rest for p, rest in pairs] + [p.upper() for p, _ in pairs]
    keys = entity_keys_folded(fold_strings(pa.array(values, type=pa.string()))).to_pylist()
    assert keys == [entity_key(v) for v in values]


def test_fold_strings_on_every_code_point_of_its_table_and_beyond():
    # the table covers code points below _TABLE_END; each is folded alone and between letters and spaces
    import pyarrow as pa
    from ocop_analysis.normalize import _TABLE_END, _fold, fold_strings
    points = [cp for cp in range(_TABLE_END + 0x100) if not 0xD800 <= cp < 0xE000] + [0xFF08, 0x1F600, 0x2A6D6]
    values = [form.format(chr(cp)) for cp in points for form in ("{0}", "a{0}b", " {0} x", "{0}\u0301", "e{0}{0}")]
    assert fold_strings(pa.array(values)).to_pylist() == [_fold(v) for v in values]


def test_fold_strings_takes_slices_chunks_nulls_and_empty_arrays():
    import pyarrow as pa
    from ocop_analysis.normalize import fold_strings
    arr = pa.array(["x", "Hợp tác xã  Mỹ Xương.", None, "", " _ ", "Straße", "中"])
    assert fold_strings(arr.slice(1, 5)).to_pylist() == ["hop tac xa my xuong", "", "", "", "strasse"]
    assert fold_strings(pa.chunked_array([arr[:2], arr[2:]])).to_pylist() == \
        ["x", "hop tac xa my xuong", "", "", "", "strasse", "中"]
    assert fold_strings(pa.array([], pa.string())).to_pylist() == []
    assert fold_strings(pa.array([None, None], pa.string())).to_pylist() == ["", ""]
    assert fold_strings(["Mắm  cá", "ǅ"]).to_pylist() == ["mam ca", "ǆ"]


def test_entity_keys_folded_with_an_empty_canonical_spelling(monkeypatch):
    # no row of the table has one, but entity_key's rule f"{canonical} {rest}".strip() still holds
    import pyarrow as pa
    from ocop_analysis import normalize as nz
    memos = (nz._entity_prefix_rows, nz._prefix_words, nz._prefix_index, nz.entity_key, nz.entity_type)

    def forget():
        for memo in memos:
            memo.cache_clear()
        nz._PREFIX_OF.clear()

    # longest first, as the real table is sorted; "" (a prefix of punctuation only) fits only a blank name
    rows = [("co so", "household", ""), ("htx", "cooperative", "htx"), ("", "nobody", "x")]
    monkeypatch.setattr(nz, "_entity_prefixes", lambda: rows)
    forget()
    try:
        values = ["Cơ sở Ba Hưng", "Cơ sở", "HTX Mỹ", "Cơ sởx", "Ba", "", None, "  "]
        assert nz.entity_keys_folded(nz.fold_strings(pa.array(values))).to_pylist() == \
            [nz.entity_key(v) for v in values] == ["ba hung", "", "htx my", "co sox", "ba", "x", "x", "x"]
        assert nz.entity_types(values) == [nz.entity_type(v) for v in values] == \
            ["household", "household", "cooperative", "other", "other", "nobody", "nobody", "nobody"]
    finally:
        monkeypatch.undo()
        forget()


def test_fold_strings_clean_names_beside_names_folded_apart():
    # clean names take the shortcut (nothing removed); one text of characters outside the table is
    # folded by fold_many and put back in its place
    import pyarrow as pa
    from ocop_analysis.normalize import _fold, fold_strings
    values = ["Mỹ Xương", "中文 ＡＢ", "Đặc sản", "x", "ǅ", "Trà  sen"]
    assert fold_strings(pa.array(values)).to_pylist() == [_fold(v) for v in values] == \
        ["my xuong", "中文 ａｂ", "dac san", "x", "ǆ", "tra sen"]  # no NFKC: fullwidth stays
    assert fold_strings(pa.array(values[:4])).to_pylist() == ["my xuong", "中文 ａｂ", "dac san", "x"]


@given(st.one_of(st.text(alphabet=st.sampled_from([" ", "\t", "\n", "\u00a0", "\u2007", "\u202f", "\u200b", "\u2060",
                                                   "\ufeff", "\u3000", "a", "ữ", "_", "\x00"]), max_size=6),
                 st.text(max_size=6), st.none(), st.floats(), st.integers()))
def test_is_blank_is_whitespace_and_odd_spaces_only(value):
    from ocop_analysis.normalize import _ODD_SPACES, is_blank
    plain = value is None or (isinstance(value, float) and value != value) or \
        (isinstance(value, str) and not value.translate(_ODD_SPACES).strip())
    assert is_blank(value) == plain


@given(_TEXTS)
def test_entity_types_of_texts_in_numpy_equal_entity_type_one_by_one(values):
    from ocop_analysis.normalize import _PREFIX_OF, entity_type, entity_types
    entity_type.cache_clear()
    _PREFIX_OF.clear()
    assert entity_types(values) == [entity_type(v) for v in values]


@given(st.lists(st.tuples(_table_prefix_names(), st.sampled_from(["", " Mỹ Xương", "x", " 3", "  Ba"])), max_size=20))
def test_entity_types_on_every_table_prefix(pairs):
    from ocop_analysis.normalize import entity_type, entity_types
    values = [p + rest for p, rest in pairs]
    assert entity_types(values) == [entity_type(v) for v in values]
