"""Product identity across years (ocop_analysis.linking): exact keys, codes, fuzzy warnings, links.csv."""
import io
import re
import unicodedata

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from ocop_analysis import ConfigError, linking
from ocop_analysis.linking import assign_product_ids, read_links


def frame(rows):
    """rows: (entity, product, district_code, year[, extra dict]); source rows numbered from 5."""
    records = []
    for n, r in enumerate(rows):
        rec = {"entity_name": r[0], "product_name": r[1], "district_code": r[2], "year": r[3],
               "product_code": None, "source_file": "dk.xlsx", "source_sheet": str(r[3]), "source_row": 5 + n}
        if len(r) > 4:
            rec.update(r[4])
        records.append(rec)
    return pd.DataFrame(records)


def ids_of(rows, links=None):
    ids, problems = assign_product_ids(frame(rows), links)
    return ids.tolist(), problems


def links_frame(*rows):
    return pd.DataFrame(rows, columns=linking.LINK_COLUMNS)


# --------------------------------------------------------------------------- exact keys

def test_nfd_and_nfc_names_are_one_product():
    nfc = unicodedata.normalize("NFC", "Hạt sen sấy")
    nfd = unicodedata.normalize("NFD", "Hạt sen sấy")
    assert nfc != nfd
    ids, problems = ids_of([("Công ty TNHH Nam Huy", nfc, 867, 2019),
                            (unicodedata.normalize("NFD", "Công ty TNHH Nam Huy"), nfd, 867, 2022)])
    assert ids[0] == ids[1]
    assert problems == []


@pytest.mark.parametrize("old, new", [
    ("HTX Nông nghiệp Mỹ Xương", "Hợp tác xã Nông nghiệp Mỹ Xương"),
    ("Cty TNHH Ecolotus Việt Nam", "Công ty TNHH Ecolotus Việt Nam"),
    ("Hộ kinh doanh Trần Văn Tư", "HKD Trần Văn Tư"),
])
def test_entity_type_spellings_are_one_entity(old, new):
    ids, problems = ids_of([(old, "Xoài cát Hòa Lộc", 873, 2019), (new, "Xoài cát Hòa Lộc", 873, 2022)])
    assert ids[0] == ids[1]
    assert problems == []


def test_case_spacing_punctuation_and_diacritics_are_folded():
    ids, _ = ids_of([("HTX Quýt hồng Lai Vung", "Quýt hồng Lai Vung", 876, 2019),
                     ("  htx  QUÝT HỒNG lai vung.", "Quyt hong - Lai Vung", 876, 2022)])
    assert ids[0] == ids[1]


def test_product_moved_district_keeps_its_id():
    ids, problems = ids_of([("Cơ sở Bánh phồng Sa Đéc", "Bánh phồng tôm", 867, 2019),
                            ("Cơ sở Bánh phồng Sa Đéc", "Bánh phồng tôm", 877, 2022)])
    assert ids[0] == ids[1]
    assert problems == []


def test_different_products_of_one_entity_get_different_ids():
    ids, problems = ids_of([("HTX Mỹ Xương", "Xoài cát Hòa Lộc", 873, 2019),
                            ("HTX Mỹ Xương", "Xoài sấy dẻo", 873, 2019)])
    assert ids[0] != ids[1]
    assert problems == []


def test_id_is_readable_stable_and_independent_of_row_order():
    rows = [("HTX Mỹ Xương", "Xoài cát Hòa Lộc", 873, 2019), ("Cty A", "Nem", 876, 2020),
            ("Hợp tác xã Mỹ Xương", "Xoài cát Hoà Lộc", 873, 2022), ("Cty A", "Nem", 876, 2023)]
    ids, _ = ids_of(rows)
    again, _ = ids_of(list(reversed(rows)))
    assert ids == list(reversed(again))
    assert all(re.fullmatch(r"P-[0-9a-f]{10}", i) for i in ids)
    assert ids_of(rows)[0] == ids  # same input, same ids on every run


def test_id_follows_the_earliest_name_when_newer_years_are_added():
    first, _ = ids_of([("Cơ sở Ba Hưng", "Bánh tráng sữa", 867, 2019)])
    both, _ = ids_of([("Cơ sở Ba Hưng", "Bánh tráng sữa", 867, 2019),
                      ("Công ty TNHH Ba Hưng", "Bánh tráng sữa", 867, 2022)])
    assert both == [first[0], first[0]]


def test_index_of_the_input_is_kept():
    df = frame([("Cty A", "Nem", 876, 2020), ("Cty B", "Nem", 876, 2020)])
    df.index = [10, 42]
    ids, _ = assign_product_ids(df)
    assert list(ids.index) == [10, 42]
    assert str(ids.dtype) == "string"


def test_empty_frame():
    ids, problems = assign_product_ids(frame([]).reindex(columns=["entity_name", "product_name",
                                                                   "district_code", "year"]))
    assert len(ids) == 0 and problems == []


# --------------------------------------------------------------------------- product codes

def test_registry_code_wins_and_links_the_uncoded_rows_of_that_name():
    ids, _ = ids_of([("Cty TNHH Nam Huy", "Hạt sen sấy", 867, 2019),
                     ("Công ty TNHH Nam Huy", "Hạt sen sấy", 867, 2023, {"product_code": "83-832-28882-2-2022"})])
    assert ids == ["83-832-28882-2-2022", "83-832-28882-2-2022"]


def test_one_code_joins_two_names():
    code = {"product_code": "83-866-00001-1-2021"}
    ids, _ = ids_of([("Cty A", "Trà sen", 866, 2021, code), ("Cty A", "Trà ướp sen Tháp Mười", 866, 2024, code)])
    assert ids == ["83-866-00001-1-2021"] * 2


# --------------------------------------------------------------------------- fuzzy

def test_entity_renamed_with_the_same_name_after_its_type_is_linked():
    ids, problems = ids_of([("Cơ sở Ba Hưng", "Bánh tráng sữa", 867, 2019),
                            ("Công ty TNHH Ba Hưng", "Bánh tráng sữa", 867, 2022)])
    assert ids[0] == ids[1]
    assert problems == []


def test_word_order_only_is_linked_without_warning():
    ids, problems = ids_of([("HTX Ong mật U Minh", "Mật ong hoa tràm U Minh", 872, 2019),
                            ("HTX Ong mật U Minh", "Mật ong U Minh hoa tràm", 872, 2022)])
    assert ids[0] == ids[1]
    assert problems == []


def test_probable_but_uncertain_match_warns_and_does_not_link():
    # one letter in a 14-letter name: token_sort_ratio 92.9, between POSSIBLE_SCORE and LINK_SCORE
    ids, problems = ids_of([("Cty A", "Bánh tráng sữa", 870, 2019), ("Cty A", "Bánh tránh sữa", 870, 2022)])
    assert ids[0] != ids[1]
    assert len(problems) == 1
    p = problems[0]
    assert set(p) >= {"file", "sheet", "row", "column", "value", "problem", "message"}
    assert p["problem"] == "possible_link"
    assert (p["file"], p["sheet"], p["row"], p["value"]) == ("dk.xlsx", "2022", 6, "Bánh tránh sữa")
    # names both rows and tells the analyst what to write
    assert "dk.xlsx, sheet 2019, row 5" in p["message"] and "dk.xlsx, sheet 2022, row 6" in p["message"]
    assert "Cty A,Bánh tráng sữa,Cty A,Bánh tránh sữa,confirm" in p["message"]


def test_one_name_inside_the_other_warns():
    _, problems = ids_of([("Cty TNHH Nam Huy", "Hạt sen sấy", 867, 2019),
                          ("Cty TNHH Nam Huy", "Hạt sen sấy giòn", 867, 2022)])
    assert [p["problem"] for p in problems] == ["possible_link"]


def test_names_whose_numbers_differ_are_never_linked():
    ids, problems = ids_of([("HTX Gạo Lấp Vò", "Gạo ST25", 875, 2019), ("HTX Gạo Lấp Vò", "Gạo ST24", 875, 2022),
                            ("HTX Gạo Lấp Vò", "Bánh phồng tôm 200g", 875, 2020),
                            ("HTX Gạo Lấp Vò", "Bánh phồng tôm 500g", 875, 2023)])
    assert ids[0] != ids[1] and ids[2] != ids[3]
    assert len(problems) == 2


def test_names_evaluated_in_the_same_year_are_different_products():
    ids, problems = ids_of([("Cty A", "Bánh tráng sữa", 870, 2020), ("Cty A", "Bánh tránh sữa", 870, 2020)])
    assert ids[0] != ids[1]
    assert problems == []


def test_revocation_rows_do_not_count_as_an_evaluation_year():
    ids, problems = ids_of([("Cty A", "Bánh tráng sữa", 870, 2019),
                            ("Cty A", "Bánh tránh sữa", 870, 2019, {"revoked_on": pd.Timestamp("2023-02-10")}),
                            ("Cty A", "Bánh tráng sữa", 870, 2019, {"revoked_on": pd.Timestamp("2023-02-10")})])
    assert ids[0] == ids[2] != ids[1]
    assert len(problems) == 1


def test_renamed_entity_with_a_longer_name_warns_across_entities_in_one_district():
    ids, problems = ids_of([("Cơ sở Ba Hưng", "Bánh tráng sữa", 867, 2019),
                            ("Công ty TNHH Thực phẩm Ba Hưng", "Bánh tráng sữa", 867, 2022)])
    assert ids[0] != ids[1]
    assert [p["problem"] for p in problems] == ["possible_link"]


def test_unrelated_entities_with_the_same_product_name_neither_link_nor_warn():
    ids, problems = ids_of([("HTX Tân Thuận", "Bánh phồng tôm", 867, 2019),
                            ("Cơ sở Hai Lúa", "Bánh phồng tôm", 867, 2022)])
    assert ids[0] != ids[1]
    assert problems == []


def test_same_names_in_other_districts_are_not_compared_across_entities():
    _, problems = ids_of([("Cơ sở Ba Hưng", "Bánh tráng sữa", 867, 2019),
                          ("Công ty TNHH Thực phẩm Ba Hưng", "Bánh tráng sữa", 877, 2022)])
    assert problems == []


def test_fuzzy_matching_compares_within_blocks_not_all_pairs(monkeypatch):
    compared = []  # name pairs scored by rapidfuzz: lists of pairs and matrices
    cpdist, cdist = linking._cpdist, linking._cdist
    monkeypatch.setattr(linking, "_cpdist", lambda q, c, cut: compared.append(len(q)) or cpdist(q, c, cut))
    monkeypatch.setattr(linking, "_cdist", lambda q, c, cut: compared.append(len(q) * len(c)) or cdist(q, c, cut))
    words = ["banh", "keo", "tra", "mat", "nem", "gao", "xoai", "kho", "mam", "hat"]
    rows = []
    for e in range(300):  # 300 entities × 5 products = 1,500 names in 12 districts
        for p in range(5):
            rows.append((f"HTX số {e}", f"{words[(e + p) % 10]} loại {e} kiểu {p}", 866 + e % 12, 2019 + p))
    ids, _ = ids_of(rows)
    assert len(set(ids)) == 1500
    all_pairs = 1500 * 1499 // 2
    assert 0 < sum(compared) < all_pairs / 20


# --------------------------------------------------------------------------- links.csv

def test_confirm_in_links_joins_a_renamed_product():
    rows = [("Cơ sở Ba Hưng", "Bánh tráng sữa", 867, 2019),
            ("Công ty TNHH Thực phẩm Ba Hưng", "Bánh tráng sữa Ba Hưng", 877, 2022)]
    ids, _ = ids_of(rows)
    assert ids[0] != ids[1]
    links = links_frame(("CƠ SỞ BA HƯNG", "banh trang sua", "Cty TNHH Thực phẩm Ba Hưng", "Bánh tráng sữa Ba Hưng",
                         "confirm", "same owner, renamed 2021 (phone call 3/2025)"))
    ids, problems = ids_of(rows, links)
    assert ids[0] == ids[1]
    assert problems == []


def test_confirm_removes_the_warning_and_split_keeps_products_apart():
    rows = [("Cty A", "Bánh tráng sữa", 870, 2019), ("Cty A", "Bánh tránh sữa", 870, 2022)]
    confirm = links_frame(("Cty A", "Bánh tráng sữa", "Cty A", "Bánh tránh sữa", "confirm", "typo in 2022 list"))
    ids, problems = ids_of(rows, confirm)
    assert ids[0] == ids[1] and problems == []
    split = links_frame(("Cty A", "Bánh tránh sữa", "Cty A", "Bánh tráng sữa", "split", "two products"))
    ids, problems = ids_of(rows, split)
    assert ids[0] != ids[1] and problems == []


def test_split_overrides_an_automatic_link():
    rows = [("HTX Ong mật U Minh", "Mật ong hoa tràm U Minh", 872, 2019),
            ("HTX Ong mật U Minh", "Mật ong U Minh hoa tràm", 872, 2022)]
    split = links_frame(("HTX Ong mật U Minh", "Mật ong hoa tràm U Minh", "HTX Ong mật U Minh",
                         "Mật ong U Minh hoa tràm", "split", "two honeys"))
    ids, _ = ids_of(rows, split)
    assert ids[0] != ids[1]


def test_links_naming_products_not_in_the_data_are_ignored():
    links = links_frame(("Cty Z", "Không có", "Cty Y", "Cũng không", "confirm", "from another province"))
    ids, problems = ids_of([("Cty A", "Nem", 876, 2020)], links)
    assert len(ids) == 1 and problems == []


LINKS_CSV = """# data/links.csv — analyst's decisions on product identity
# entity_a,product_a: one name as written; entity_b,product_b: the other
entity_a,product_a,entity_b,product_b,action,reason
Cty A,Bánh tráng sữa,Cty A,Bánh tránh sữa,confirm,typo in the 2022 list
"Cơ sở Ba Hưng, Sa Đéc",Bánh tráng,Công ty TNHH Ba Hưng,Bánh tráng,Xác nhận,renamed
Cty B,Trà sen,Cty B,Trà tim sen,SPLIT,two products
"""


def test_read_links_parses_comments_quotes_and_vietnamese_actions(tmp_path):
    path = tmp_path / "links.csv"
    path.write_text(LINKS_CSV, encoding="utf-8-sig")
    links = read_links(path)
    assert list(links.columns[:6]) == linking.LINK_COLUMNS
    assert links["action"].tolist() == ["confirm", "confirm", "split"]
    assert links["entity_a"].tolist()[1] == "Cơ sở Ba Hưng, Sa Đéc"
    assert links["line"].tolist() == [4, 5, 6]
    ids, problems = assign_product_ids(frame([("Cty A", "Bánh tráng sữa", 870, 2019),
                                              ("Cty A", "Bánh tránh sữa", 870, 2022)]), path)
    assert ids.nunique() == 1 and problems == []


@pytest.mark.parametrize("text, message", [
    ("entity_a,product_a,entity_b,product_b,action,reason\nA,x,B,y,merge,because\n", r"line 2: action 'merge'"),
    ("entity_a,product_a,entity_b,product_b,action\nA,x,B,y,confirm\n", r"missing column\(s\) reason"),
    ("entity_a,product_a,entity_b,product_b,action,reason\nA,x,B,y,confirm,\n", r"line 2: reason is empty"),
    ("entity_a,product_a,entity_b,product_b,action,reason\n# c\nA,,B,y,split,r\n", r"line 3: product_a is empty"),
    ("# only a comment\n", r"no header"),
])
def test_read_links_rejects_bad_files_with_the_line(tmp_path, text, message):
    path = tmp_path / "links.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        read_links(path)


def test_read_links_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        read_links(tmp_path / "nope.csv")


def test_read_links_from_a_stream():
    links = read_links(io.StringIO("entity_a,product_a,entity_b,product_b,action,reason\n"))
    assert links.empty


def test_repository_links_file_is_valid():
    from ocop_analysis import paths

    path = paths.DATA_DIR / "links.csv"
    assert path.is_file()
    read_links(path)


def test_large_blocks_give_the_same_answers_as_small_ones():
    # > SMALL_BLOCK names in one entity and in one district/first-word block: the pre-filtered path
    fillers = [("Cty Lớn", f"Bánh loại {chr(65 + i % 26)}{chr(65 + i // 26)} đặc sản", 870, 2019)
               for i in range(60)]
    others = [(f"HTX Số {chr(65 + i % 26)}{chr(65 + i // 26)}", f"Bánh kiểu {chr(65 + i)}", 867, 2020)
              for i in range(50)]
    rows = fillers + others + [
        ("Cty Lớn", "Bánh tráng sữa", 870, 2019), ("Cty Lớn", "Bánh tránh sữa", 870, 2022),        # warn
        ("Cty Lớn", "Bánh pía sầu riêng", 870, 2020), ("Cty Lớn", "Bánh pía sầu riêngg", 870, 2020),  # same year
        ("Cty Lớn", "Hạt sen sấy", 870, 2019), ("Cty Lớn", "Hạt sen sấy giòn", 870, 2023),            # warn
        ("Cơ sở Ba Hưng", "Bánh phồng tôm", 867, 2019),
        ("Công ty TNHH Thực phẩm Ba Hưng", "Bánh phồng tôm", 867, 2022),                            # warn
        ("Cơ sở Sáu Hiền", "Bánh phồng sữa", 867, 2019), ("Công ty TNHH Sáu Hiền", "Bánh phồng sữa", 867, 2023),
    ]
    assert len(fillers) > linking.SMALL_BLOCK and len(others) > linking.SMALL_BLOCK
    ids, problems = ids_of(rows)
    values = sorted(p["value"] for p in problems)
    assert values == ["Bánh phồng tôm", "Bánh tránh sữa", "Hạt sen sấy giòn"]
    assert ids[-1] == ids[-2]  # Sáu Hiền: only the entity type changed
    assert len(set(ids)) == len(rows) - 1


# --------------------------------------------------------------------------- fast paths (numpy, chunked cdist)

# "banh dua nuong xa" (17 letters) is a subsequence of "banh dua lau nuong xanh" (23, words already in
# order): ratio = 2 * 17 / (17 + 23) = 85.0 exactly, the lowest score that warns, at the largest length
# gap that can still reach it (115 * 17 = 85 * 23). The words are not a subset ("xa" is not "xanh").
SHORT, LONG = ("Cty Dừa", "Bánh dừa nướng xa", 870, 2020), ("Cty Dừa", "Bánh dừa lâu nướng xanh", 870, 2023)


@pytest.mark.parametrize("fillers", [0, linking._CHUNK - 1, 150])
def test_the_lowest_warning_score_at_the_largest_length_gap_is_found_in_any_block_size(fillers):
    # fillers: shorter names of the same entity, evaluated in both years, so never admissible with
    # the pair; _CHUNK - 1 of them put SHORT last in the first chunk of the matrix path (band edge exactly 23)
    rows = [("Cty Dừa", f"Kẹo {i:03d}", 870, year) for i in range(fillers) for year in (2020, 2023)]
    ids, problems = ids_of(rows + [SHORT, LONG])
    assert len(set(ids)) == fillers + 2
    assert [p["value"] for p in problems] == ["Bánh dừa lâu nướng xanh"]
    assert "similarity 85/100" in problems[0]["message"]


@pytest.mark.parametrize("fillers", [0, 80])
def test_word_subset_of_common_words_is_found_and_its_low_score_shown(fillers):
    # "banh sen" ⊂ "banh nuong sen": token_sort_ratio = 2 * 8 / (8 + 14) = 72.7, below the cut-off,
    # so only the word rule warns. The fillers share both words (each name's rarest word is common).
    rows = [("Cty Sen", f"Bánh sen {chr(97 + i % 26)}{chr(97 + i // 26)}x", 870, year)
            for i in range(fillers) for year in (2019, 2022)]
    ids, problems = ids_of(rows + [("Cty Sen", "Bánh sen", 870, 2019), ("Cty Sen", "Bánh sen nướng", 870, 2022)])
    assert len(set(ids)) == fillers + 2
    assert [p["value"] for p in problems] == ["Bánh sen nướng"]
    assert "similarity 73/100" in problems[0]["message"]


def test_a_pair_in_two_district_blocks_is_judged_once():
    # both names were listed in two districts: they share the blocks (867, banh) and (870, banh)
    rows = [("Cơ sở Ba Hưng", "Bánh phồng tôm", 867, 2019), ("Cơ sở Ba Hưng", "Bánh phồng tôm", 870, 2019),
            ("Công ty TNHH Thực phẩm Ba Hưng", "Bánh phồng tôm", 867, 2022),
            ("Công ty TNHH Thực phẩm Ba Hưng", "Bánh phồng tôm", 870, 2022)]
    ids, problems = ids_of(rows)
    assert ids[0] == ids[1] != ids[2] == ids[3]
    assert len(problems) == 1


def test_codes_give_a_cluster_its_id_and_two_codes_keep_their_own():
    ids, _ = ids_of([
        ("Cty A", "Mật ong hoa tràm", 872, 2019, {"product_code": "C-1"}),
        ("Cty A", "Mật ong hoa tràm", 872, 2020),                          # same name, no code: C-1
        ("Cty A", "Hoa tràm mật ong", 872, 2022),                          # word order only: linked, C-1
        ("Cty B", "Nem", 876, 2019, {"product_code": "C-2"}),
        ("Cty B", "Nem", 876, 2020, {"product_code": "C-3"}),              # one name, two codes
        ("Cty B", "Nem", 876, 2021),                                       # no code: the anchor's P- id
    ])
    assert ids[:3] == ["C-1"] * 3
    assert ids[3:5] == ["C-2", "C-3"]
    assert ids[5] == linking._anchor_id("cong ty b|nem")
    assert re.fullmatch(r"P-[0-9a-f]{10}", ids[5])


def test_blank_codes_are_not_codes():
    ids, _ = ids_of([("Cty A", "Nem", 876, 2019, {"product_code": "   "}), ("Cty A", "Nem", 876, 2020)])
    assert ids[0] == ids[1] == linking._anchor_id("cong ty a|nem")


def test_components_of_an_edge_list():
    label = linking._components(7, np.array([0, 3, 4, 6, 5]), np.array([1, 4, 5, 5, 3]))
    groups = {}
    for node, lab in enumerate(label.tolist()):
        groups.setdefault(lab, []).append(node)
    assert sorted(groups.values()) == [[0, 1], [2], [3, 4, 5, 6]]
    assert linking._components(3, np.zeros(0, int), np.zeros(0, int)).tolist() == [0, 1, 2]


def test_ranges_concatenates_slices():
    assert linking._ranges(np.array([5, 0, 9]), np.array([2, 0, 3])).tolist() == [5, 6, 9, 10, 11]
    assert linking._ranges(np.array([], int), np.array([], int)).tolist() == []


@pytest.mark.parametrize("tokenize", [linking._tokenize_arrow, linking._tokenize_python])
def test_tokenizers_sort_words_and_list_distinct_words(tokenize):
    sorted_words, lengths, first_word, ptr, words = tokenize(["tra sen tra", "", "sen", "a b", "đá bò"])
    assert sorted_words.tolist() == ["sen tra tra", "", "sen", "a b", "bò đá"]
    assert lengths.tolist() == [11, 0, 3, 3, 5]  # letters, not bytes
    # vocabulary in code-point order: a=0, b=1, bò=2, sen=3, tra=4, đá=5 (đ is U+0111, after the ASCII letters)
    assert first_word.tolist() == [4, -1, 3, 0, 5]
    assert ptr.tolist() == [0, 2, 2, 3, 5, 7]
    assert words.tolist() == [3, 4, 3, 0, 1, 2, 5]


def test_entity_rest_strips_the_longest_canonical_prefix():
    ekeys = ["htx my xuong", "cong ty tnhh mtv tan loc", "cong tyx", "htx", "ho sx le van loi", "", "co so ba hung"]
    expected = ["my xuong", "tan loc", "cong tyx", "htx", "le van loi", "", "ba hung"]
    assert [linking._entity_rest(e) for e in ekeys] == expected
    assert linking._entity_rests(ekeys) == expected


def test_many_new_names_folded_as_one_column_keep_their_spellings_together():
    # > 100 names fold has never met: folded at once by normalize.fold_many. Each product is written twice
    # (as is in 2019, NFD and upper case in 2023): one exact key. All were evaluated in both years, so no
    # two products are ever compared (no warning), and 150 products remain.
    rows = []
    for i in range(150):
        name = f"Sản phẩm thử nghiệm số {i} Đặc Biệt Ưu Tú"
        rows.append((f"HTX Kiểm Thử {i}", name, 866 + i % 12, 2019))
        rows.append((f"HỢP TÁC XÃ KIỂM THỬ {i}", unicodedata.normalize("NFD", name.upper()), 866 + i % 12, 2023))
    ids, problems = ids_of(rows)
    assert len(set(ids)) == 150
    assert all(ids[2 * i] == ids[2 * i + 1] for i in range(150))
    assert problems == []


# --------------------------------------------------------------------------- names folded as Arrow columns (issue 9)

_ENTITY_WORDS = ["HTX", "Hợp tác xã", "Cty TNHH", "Công ty TNHH MTV", "Hộ kinh doanh", "Cơ sở", "CSSX", "Mỹ Xương",
                 "Ba Hưng", "BA HƯNG", "ba hung", "Sáu", "3", "ß", "İ", "（A）", "\u00a0", "_", "e\u0301", "中", ""]
_PRODUCT_WORDS = ["Bánh", "phồng", "tôm", "Trà", "sen", "Tra", "Hạt", "sấy", "giòn", "200g", "500g", "ST25",
                  "ST24", "Mật ong", "hoa tràm", "ß", "İ", "ﬁ", "\u0301", "_", "－", ""]


def _names(words):
    return st.lists(st.sampled_from(words), max_size=4).map(" ".join)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.one_of(_names(_ENTITY_WORDS), st.none()), st.one_of(_names(_PRODUCT_WORDS), st.none()),
                          st.sampled_from([866, 867, None]), st.sampled_from([2019, 2020, 2022, None])),
                min_size=1, max_size=30))
def test_text_columns_folded_in_arrow_give_what_the_per_value_fold_gives(rows):
    # a pandas text column goes through normalize.fold_strings / entity_keys_folded; an object column
    # through fold_many / entity_keys: the same ids and warnings
    text = frame(rows)
    text["entity_name"] = text["entity_name"].astype("string")
    text["product_name"] = text["product_name"].astype("string")
    plain = text.astype({"entity_name": object, "product_name": object})
    assert isinstance(text["entity_name"].dtype, pd.StringDtype) and plain["entity_name"].dtype == object
    ids, problems = assign_product_ids(text)
    plain_ids, plain_problems = assign_product_ids(plain)
    assert ids.tolist() == plain_ids.tolist() and problems == plain_problems


@given(st.lists(st.tuples(st.sampled_from(["htx", "cong ty tnhh", "cong ty tnhh mtv", "cong ty", "ho sx", "ho",
                                           "co so", "lien hiep htx", "dntn", "ba", ""]),
                          st.sampled_from(["", " my xuong", "x", " tan loc 3", "x y", " ß", " dž"])), max_size=20))
def test_entity_rests_in_arrow_equal_the_one_by_one_rule(pairs):
    import pyarrow as pa
    from ocop_analysis.normalize import fold
    ekeys = [fold(prefix + rest) for prefix, rest in pairs]
    expected = [linking._entity_rest(e) for e in ekeys]
    assert linking._entity_rests(ekeys) == expected
    assert linking._entity_rests(pa.array(ekeys, type=pa.large_string())).to_pylist() == expected


@given(st.lists(st.text(min_size=1, max_size=10), unique=True, max_size=40))
def test_code_point_order_of_words_sorts_as_python_does(words):
    # short words as big-endian numbers; a word over 8 bytes sends the whole list to Arrow's sort
    import pyarrow as pa
    for texts in (words, list(dict.fromkeys([*words, "a", "a\x00", "a\x00\x00"]))):  # NUL: Arrow sorts
        order = linking._code_point_order(pa.array(texts, type=pa.large_string()))
        assert [texts[i] for i in order.tolist()] == sorted(texts)
