"""The embedded sample reproduces the published Đồng Tháp figures (shared/domain/OCOP.md §3–§5).

The workbooks are read here with openpyxl directly, not with the kit's loader, and every expected
number is worked out below from the published figures, not taken from the generator. Product
identity across years uses normalize.product_key (the kit's normaliser), so these tests also check
that the spelling variants in the sample still give one key per product.
"""
from __future__ import annotations

import csv
import datetime as dt
from collections import Counter, defaultdict
from pathlib import Path

import openpyxl
import pytest

from ocop_analysis import geography, normalize, sample
from ocop_analysis.paths import SAMPLE_DIR

YEARS = range(2019, 2026)
FAILED = "Không đạt"
KIND_NEW, KIND_RE, KIND_UP = "Mới", "Đánh giá lại", "Nâng hạng"
REASON_NOT_RE = "Không đánh giá lại trong thời hạn 36 tháng"
REASON_FAILED = "Không đạt tiêu chí bắt buộc"

# ---- published figures (OCOP.md §3.2, §4.1, §5) -------------------------------------------------
P2019 = {3: 47, 4: 23}                      # QĐ 1580/QĐ-UBND-HC
P2020_TOTAL = 99                            # QĐ 1850/QĐ-UBND-HC, 07/12/2020; split not published
P2020_CUMULATIVE = {3: 104, 4: 54}          # reported Dec 2020 (158)
P2021 = {3: 100, 4: 4}
P2022 = {3: 115, 4: 41}
P2022_RE = {3: 30, 4: 4}                    # re-evaluations of the 2019 cohort
P2022_UPGRADES = 5                          # 3★ → 4★
P2022_BATCH1 = ("862/QĐ-UBND-HC", dt.date(2022, 8, 8), 6)      # 6 3★
P2022_BATCH2 = ("1446/QĐ-UBND-HC", dt.date(2022, 12, 29), 150)
P2022_BATCH2_RE3 = 28
P2023_ENTRIES, P2023_NEW, P2023_RE, P2023_UP = 207, 149, 55, 3
P2023_3STAR = {"new": 108, "re": 30}
P2023_4STAR = {"new": 20, "re": 20}
P_REVOKED_2019 = {"total": 25, 3: 16, 4: 9, "not_re": 15, "failed": 10}   # QĐ 58, Feb 2023
P_REVOKED_2021 = {"total": 47, 3: 44, 4: 3, "not_re": 41, "failed": 6}
P_REVOKED_2021_MAX = (870, 8)               # huyện Hồng Ngự had the most
P_REVOKED_2021_MIN = (866, 1)               # TP Cao Lãnh the fewest: Ecolotus
P_END_2024 = {3: 464, 4: 116, 5: 1}         # 581 at end 2024
PLAN_2025 = {"new": 60, "new3": 40, "new4": 20, "per_district_4": 2, "five_star": 5, "reeval_share": 0.5}
PLAN_2024_REEVAL_SHARE = 0.5
AS_OF_2025 = dt.date(2025, 11, 30)
VALIDITY_MONTHS = 36


# ---- reading, independent of the loader -----------------------------------------------------------

def read_book(path: Path):
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = list(wb["Danh sách"].iter_rows(values_only=True))
    h = next(i for i, r in enumerate(rows) if r and r[0] == "STT")
    header = rows[h]
    table = [dict(zip(header, r)) for r in rows[h + 1:] if r and r[0] is not None]
    names = wb.sheetnames
    notes = [r[0] for r in wb["Ghi chú"].iter_rows(values_only=True)] if "Ghi chú" in names else []
    wb.close()
    return {"title": [c for r in rows[:h] for c in r if c], "header": list(header), "rows": table, "notes": notes,
            "sheets": names}


@pytest.fixture(scope="module")
def books():
    return {y: read_book(SAMPLE_DIR / f"ocop_dong_thap_{y}.xlsx") for y in YEARS}


@pytest.fixture(scope="module")
def revocations():
    return read_book(SAMPLE_DIR / "thu_hoi_2023_2025.xlsx")


def key(row) -> str:
    return normalize.product_key(row["Tên chủ thể"], row["Tên sản phẩm"])


def stars(row):
    return None if row["Hạng sao"] == FAILED else int(row["Hạng sao"])


def day(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def count(rows, kind=None, star="any"):
    return sum(1 for r in rows if (kind is None or r["Loại đánh giá"] == kind) and (star == "any" or stars(r) == star))


REFORM = dt.date(2025, 7, 1)  # after it: 2025 communes of the merged province, no district level (OCOP.md §7.3)
TIEN_GIANG_PRODUCTS = {t[0] for t in sample.TIEN_GIANG_2025}


def is_tien_giang(row) -> bool:
    return row["Tên sản phẩm"] in TIEN_GIANG_PRODUCTS


def district(row) -> int:
    """The old district: the district column, else (rows after 1 July 2025) the 2025 commune's old district."""
    if row["Huyện/Thành phố"] is None:
        assert day(row["Ngày quyết định"]) >= REFORM and row["Địa chỉ"].endswith("tỉnh Đồng Tháp"), row
        match = geography.legacy_district_for_commune(row["Xã/Phường"], "dong-thap")
        assert match.status == "ok", row["Xã/Phường"]
        return match.district_code
    match = normalize.resolve_district(row["Huyện/Thành phố"])
    assert match.status == "ok", row["Huyện/Thành phố"]
    return match.code


def add_months(d: dt.date, months: int) -> dt.date:
    m = d.month - 1 + months
    y, m = d.year + m // 12, m % 12 + 1
    while True:
        try:
            return dt.date(y, m, d.day)
        except ValueError:
            d = d.replace(day=d.day - 1)


# ---- format -----------------------------------------------------------------------------------------

def test_headers_and_synthetic_label(books, revocations):
    expected = ["STT", "Tên sản phẩm", "Tên chủ thể", "Địa chỉ", "Xã/Phường", "Huyện/Thành phố", "Nhóm sản phẩm",
                "Điểm", "Hạng sao", "Loại đánh giá", "Số quyết định", "Ngày quyết định", "Năm đánh giá",
                "Tiềm năng 5 sao"]
    for year, book in books.items():
        assert book["header"] == expected
        assert book["sheets"] == ["Danh sách", "Ghi chú"]
        assert any("DỮ LIỆU MÔ PHỎNG" in str(t) for t in book["title"]), year
        assert any("mô phỏng" in str(n).lower() for n in book["notes"]), year
        assert {r["Năm đánh giá"] for r in book["rows"]} == {year}
        assert [r["STT"] for r in book["rows"]] == list(range(1, len(book["rows"]) + 1))
    assert revocations["header"][:9] == ["STT", "Tên sản phẩm", "Tên chủ thể", "Huyện/Thành phố", "Hạng sao",
                                         "Năm công nhận", "Số quyết định thu hồi", "Ngày thu hồi", "Lý do thu hồi"]
    assert any("DỮ LIỆU MÔ PHỎNG" in str(t) for t in revocations["title"])
    assert any("mô phỏng" in str(n).lower() for n in revocations["notes"])


def test_readme_says_synthetic_and_calibrated():
    text = (SAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    assert "synthetic" in text.lower() and "calibrat" in text.lower()


def test_districts_resolve_and_are_never_bare(books, revocations):
    for book in list(books.values()) + [revocations]:
        for row in book["rows"]:
            district(row)
            assert normalize.fold(row["Huyện/Thành phố"] or "") not in ("cao lanh", "hong ngu")
    seen = {district(r) for b in books.values() for r in b["rows"] if not is_tien_giang(r)}
    assert seen == set(range(866, 878))


def test_2025_second_half_written_with_the_communes_of_the_merged_province(books):
    rows = books[2025]["rows"]
    late = [r for r in rows if day(r["Ngày quyết định"]) >= REFORM]
    blank = [r for r in late if r["Huyện/Thành phố"] is None]
    assert all(r["Huyện/Thành phố"] is not None for r in rows if day(r["Ngày quyết định"]) < REFORM)
    assert len(blank) >= 20  # most second-half rows name only the 2025 commune
    # a 2025 commune formed from communes of several old districts keeps its old district written
    for r in late:
        if r["Huyện/Thành phố"] is not None and not r["Xã/Phường"].startswith("Phường ") or r["Xã/Phường"] in (
                "Phường Mỹ Trà", "Phường Mỹ Ngãi", "Phường Thường Lạc"):
            match = geography.legacy_district_for_commune(r["Xã/Phường"], "dong-thap")
            assert match.status in ("ambiguous", "ok")
    # five rows of former Tiền Giang, new and certified, commune only
    tg = [r for r in rows if is_tien_giang(r)]
    assert len(tg) == 5 and all(r["Huyện/Thành phố"] is None and r["Loại đánh giá"] == KIND_NEW for r in tg)
    assert {geography.legacy_district_for_commune(r["Xã/Phường"], "dong-thap").legacy_province for r in tg} == {
        "tien-giang"}


def test_groups_follow_the_taxonomy_of_the_year(books):
    for year, book in books.items():
        taxonomy = "1048" if year <= 2022 else "148"
        for row in book["rows"]:
            match = normalize.resolve_group(row["Nhóm sản phẩm"], taxonomy)
            assert match.ok and match.taxonomy == taxonomy, (year, row["Nhóm sản phẩm"])
            if taxonomy == "1048":
                assert match.group != 5  # Sinh vật cảnh exists only from 148/2023


def test_scores_consistent_with_stars(books):
    bands = {3: (50, 70), 4: (70, 90), 5: (90, 100.01)}
    for book in books.values():
        for row in book["rows"]:
            s, score = stars(row), row["Điểm"]
            if s is None:
                assert score is None or score < 50
            else:
                lo, hi = bands[s]
                assert lo <= score < hi, row


def test_no_product_twice_in_one_year(books):
    for year, book in books.items():
        keys = Counter(key(r) for r in book["rows"])
        assert max(keys.values()) == 1, year


# ---- yearly calibration ---------------------------------------------------------------------------

def test_2019(books):
    rows = books[2019]["rows"]
    assert count(rows, KIND_NEW, 3) == P2019[3] and count(rows, KIND_NEW, 4) == P2019[4]
    assert len(rows) == sum(P2019.values())
    assert {(r["Số quyết định"], day(r["Ngày quyết định"]).year) for r in rows} == {("1580/QĐ-UBND-HC", 2019)}
    assert len({normalize.entity_key(r["Tên chủ thể"]) for r in rows}) == 30  # "from 30 entities"


def test_2020_reconciles_with_the_december_cumulative(books):
    rows = books[2020]["rows"]
    assert len(rows) == P2020_TOTAL
    four = P2020_CUMULATIVE[4] - P2019[4]                     # 54 − 23 = 31 4★ in 2020
    assert count(rows, star=4) == four and count(rows, star=3) == P2020_TOTAL - four
    # the 11 = 169 − 158 are upgrades of 2019 3★ products, so they are counted once in the cumulative 158
    upgrades = [r for r in rows if r["Loại đánh giá"] == KIND_UP]
    assert len(upgrades) == sum(P2019.values()) + P2020_TOTAL - sum(P2020_CUMULATIVE.values())   # 70 + 99 − 158
    c2019 = {key(r): stars(r) for r in books[2019]["rows"]}
    assert all(c2019.get(key(r)) == 3 and stars(r) == 4 for r in upgrades)
    new3 = count(rows, KIND_NEW, 3)
    assert P2019[3] - len(upgrades) + new3 == P2020_CUMULATIVE[3]
    assert P2019[4] + count(rows, star=4) == P2020_CUMULATIVE[4]
    assert {(r["Số quyết định"], day(r["Ngày quyết định"])) for r in rows} == {("1850/QĐ-UBND-HC", dt.date(2020, 12, 7))}


def test_2021(books):
    rows = books[2021]["rows"]
    assert count(rows, KIND_NEW, 3) == P2021[3] and count(rows, KIND_NEW, 4) == P2021[4]
    assert len(rows) == sum(P2021.values())
    assert len({normalize.entity_key(r["Tên chủ thể"]) for r in rows}) == 48  # "from 48 entities"


def test_2022(books):
    rows = books[2022]["rows"]
    certified = [r for r in rows if stars(r)]
    assert len(certified) == sum(P2022.values())
    assert count(rows, star=3) == P2022[3] and count(rows, star=4) == P2022[4]
    assert count(rows, KIND_RE, 3) == P2022_RE[3] and count(rows, KIND_RE, 4) == P2022_RE[4]
    assert count(rows, KIND_UP, 4) == P2022_UPGRADES and count(rows, KIND_UP) == P2022_UPGRADES
    assert count(rows, KIND_NEW, 3) == P2022[3] - P2022_RE[3]                         # 85
    assert count(rows, KIND_NEW, 4) == P2022[4] - P2022_RE[4] - P2022_UPGRADES        # 32
    assert count(rows, KIND_RE, None) == P_REVOKED_2019["failed"]                     # the 10 that failed
    b1 = [r for r in certified if (r["Số quyết định"], day(r["Ngày quyết định"])) == P2022_BATCH1[:2]]
    b2 = [r for r in certified if (r["Số quyết định"], day(r["Ngày quyết định"])) == P2022_BATCH2[:2]]
    assert len(b1) == P2022_BATCH1[2] and all(stars(r) == 3 for r in b1)
    assert len(b2) == P2022_BATCH2[2] and len(b1) + len(b2) == len(certified)
    assert count(b2, KIND_RE, 3) == P2022_BATCH2_RE3
    assert count(b1, KIND_RE, 3) == P2022_RE[3] - P2022_BATCH2_RE3
    # the 5 upgrades are 2021 3★ products (the 2022 target: ≥ 5 products of 2020–21 upgraded)
    c2021 = {key(r): stars(r) for r in books[2021]["rows"]}
    assert all(c2021.get(key(r)) == 3 for r in rows if r["Loại đánh giá"] == KIND_UP)


def test_2023(books):
    rows = books[2023]["rows"]
    national = [r for r in rows if "BNN" in r["Số quyết định"]]
    provincial = [r for r in rows if r not in national]
    assert len(provincial) == P2023_ENTRIES == P2023_NEW + P2023_RE + P2023_UP
    assert count(provincial, KIND_NEW) == P2023_NEW
    assert count(provincial, KIND_RE) == P2023_RE
    assert count(provincial, KIND_UP) == P2023_UP
    assert count(provincial, KIND_NEW, 3) == P2023_3STAR["new"] and count(provincial, KIND_RE, 3) == P2023_3STAR["re"]
    assert count(provincial, KIND_NEW, 4) == P2023_4STAR["new"] and count(provincial, KIND_RE, 4) == P2023_4STAR["re"]
    not_certified = P2023_ENTRIES - sum(P2023_3STAR.values()) - sum(P2023_4STAR.values())
    assert sum(1 for r in provincial if stars(r) is None) == not_certified                # 29
    assert count(provincial, KIND_UP, None) == P2023_UP                                   # failed, keep old stars
    entities = {normalize.entity_key(r["Tên chủ thể"]) for r in provincial}
    assert 90 <= len(entities) <= 130                                                     # "from 110 entities"


def test_one_national_five_star_hat_sen(books):
    fives = [(y, r) for y, b in books.items() for r in b["rows"] if stars(r) == 5]
    assert len(fives) == 1
    year, row = fives[0]
    assert year == 2023 and row["Loại đánh giá"] == KIND_UP and "BNN" in row["Số quyết định"]
    assert normalize.fold(row["Tên sản phẩm"]).startswith("hat sen say") and "nam huy" in normalize.fold(row["Tên chủ thể"])
    assert district(row) == 872 and row["Điểm"] >= 90


# ---- cohorts, re-evaluations and revocations ---------------------------------------------------------

def _by_kind(rows, kind):
    return {key(r): r for r in rows if r["Loại đánh giá"] == kind}


def _revoked(revocations, year):
    return {key(r): r for r in revocations["rows"] if r["Năm công nhận"] == year}


def test_2019_cohort_adds_up(books, revocations):
    c2019 = {key(r): r for r in books[2019]["rows"]}
    re22 = _by_kind(books[2022]["rows"], KIND_RE)
    assert set(re22) <= set(c2019)
    recert = {k for k, r in re22.items() if stars(r)}
    failed = set(re22) - recert
    assert len(recert) == sum(P2022_RE.values()) == 34 and len(failed) == P_REVOKED_2019["failed"]
    rev = _revoked(revocations, 2019)
    assert len(rev) == P_REVOKED_2019["total"] and set(rev) <= set(c2019)
    assert Counter(r["Hạng sao"] for r in rev.values()) == {3: P_REVOKED_2019[3], 4: P_REVOKED_2019[4]}
    assert {k for k, r in rev.items() if r["Lý do thu hồi"] == REASON_FAILED} == failed
    not_re = {k for k, r in rev.items() if r["Lý do thu hồi"] == REASON_NOT_RE}
    assert len(not_re) == P_REVOKED_2019["not_re"] and not (not_re & set(re22))
    assert all(r["Số quyết định thu hồi"].startswith("58/") and day(r["Ngày thu hồi"]).strftime("%Y-%m") == "2023-02"
               for r in rev.values())
    others = set(c2019) - set(re22) - set(rev)
    assert len(others) == len(c2019) - 34 - P_REVOKED_2019["failed"] - P_REVOKED_2019["not_re"]   # 11
    assert others == set(_by_kind(books[2020]["rows"], KIND_UP))      # upgraded in 2020
    for k in set(rev):
        assert stars(c2019[k]) == rev[k]["Hạng sao"]


def test_2020_cohort_reevaluated_in_2023(books):
    c2020 = {key(r) for r in books[2020]["rows"]}
    re23 = _by_kind(books[2023]["rows"], KIND_RE)
    assert set(re23) <= c2020 and len(re23) == P2023_RE
    assert sum(1 for r in re23.values() if stars(r)) == sum(P2023_3STAR.values()) + sum(P2023_4STAR.values()) \
        - P2023_3STAR["new"] - P2023_4STAR["new"]                                          # 50 re-certified


def test_2021_cohort_reevaluated_in_2024_and_revoked(books, revocations):
    c2021 = {key(r): r for r in books[2021]["rows"]}
    re24 = _by_kind(books[2024]["rows"], KIND_RE)
    assert set(re24) <= set(c2021)
    assert len(re24) >= PLAN_2024_REEVAL_SHARE * len(c2021)
    failed = {k for k, r in re24.items() if stars(r) is None}
    assert len(failed) == P_REVOKED_2021["failed"]
    rev = _revoked(revocations, 2021)
    assert len(rev) == P_REVOKED_2021["total"] and set(rev) <= set(c2021)
    assert Counter(r["Hạng sao"] for r in rev.values()) == {3: P_REVOKED_2021[3], 4: P_REVOKED_2021[4]}
    assert {k for k, r in rev.items() if r["Lý do thu hồi"] == REASON_FAILED} == failed
    not_re = {k for k, r in rev.items() if r["Lý do thu hồi"] == REASON_NOT_RE}
    assert len(not_re) == P_REVOKED_2021["not_re"] and not (not_re & set(re24))
    # dated 21/02/2025: after the certificates (January 2022 decision) expired, see README
    assert {day(r["Ngày thu hồi"]) for r in rev.values()} == {dt.date(2025, 2, 21)}
    assert all(add_months(day(c2021[k]["Ngày quyết định"]), VALIDITY_MONTHS) <= dt.date(2025, 2, 21) for k in rev)
    by_district = Counter(district(r) for r in rev.values())
    assert max(by_district.values()) == by_district[P_REVOKED_2021_MAX[0]] == P_REVOKED_2021_MAX[1]
    assert min(by_district.values()) == by_district[P_REVOKED_2021_MIN[0]] == P_REVOKED_2021_MIN[1]
    (ecolotus,) = [r for r in rev.values() if district(r) == P_REVOKED_2021_MIN[0]]
    assert "ecolotus" in normalize.fold(ecolotus["Tên chủ thể"])
    assert len({normalize.entity_key(r["Tên chủ thể"]) for r in rev.values()}) <= P_REVOKED_2021["total"]


# the 2025 figures documented in data/sample/README.md (old Đồng Tháp; Tiền Giang rows excluded)
README_2025 = {"new": 52, "new3": 34, "new4": 15, "new4_by_district": {872: 3, 876: 3, 866: 2, 867: 2, 877: 2,
                                                                       869: 1, 870: 1, 873: 1}}


def test_2025_leaves_the_plan_part_met(books):
    rows = [r for r in books[2025]["rows"] if not is_tien_giang(r)]
    assert all(day(r["Ngày quyết định"]) < AS_OF_2025 for r in rows)
    new = [r for r in rows if r["Loại đánh giá"] == KIND_NEW]
    assert 0 < len(new) < PLAN_2025["new"]
    assert count(new, star=3) < PLAN_2025["new3"] and count(new, star=4) < PLAN_2025["new4"]
    per_district = Counter(district(r) for r in new if stars(r) == 4)
    met = [d for d in range(866, 878) if per_district[d] >= PLAN_2025["per_district_4"]]
    assert 0 < len(met) < 12
    # the rows written with 2025 communes find the same old districts as documented
    assert len(new) == README_2025["new"] and count(new, star=3) == README_2025["new3"]
    assert dict(per_district) == README_2025["new4_by_district"]
    candidates = [r for r in rows if r["Tiềm năng 5 sao"] == "x"]
    assert 0 < len(candidates) < PLAN_2025["five_star"]
    assert all(stars(r) == 4 for r in candidates)
    c2022 = {key(r) for r in books[2022]["rows"] if stars(r)}
    re25 = _by_kind(rows, KIND_RE)
    assert set(re25) <= c2022
    target = PLAN_2025["reeval_share"] * len(c2022)                                      # 78
    assert 0.8 * target <= len(re25) < target


def test_valid_stock_at_end_2024_equals_the_published_581(books, revocations):
    on = dt.date(2024, 12, 31)
    latest = {}
    for book in books.values():
        for r in book["rows"]:
            d = day(r["Ngày quyết định"])
            if stars(r) and d <= on and (key(r) not in latest or d >= latest[key(r)][0]):
                latest[key(r)] = (d, stars(r))
    revoked = {key(r): day(r["Ngày thu hồi"]) for r in revocations["rows"]}
    valid = Counter(s for k, (d, s) in latest.items()
                    if add_months(d, VALIDITY_MONTHS) > on and not (k in revoked and revoked[k] <= on))
    assert dict(valid) == P_END_2024


# ---- identity, ground truth, determinism, loader ----------------------------------------------------

def test_spelling_variants_present_and_ground_truth_consistent(books, revocations):
    import unicodedata
    texts = [r["Tên chủ thể"] for b in books.values() for r in b["rows"]]
    assert any(t.startswith("Hợp tác xã ") for t in texts) and any(t.startswith("HTX ") for t in texts)
    assert any(t.startswith("Cty TNHH ") for t in texts) and any(t.startswith("Công ty TNHH ") for t in texts)
    assert any(unicodedata.normalize("NFC", t) != t for t in texts)
    assert any("  " in t for t in texts + [r["Tên sản phẩm"] for b in books.values() for r in b["rows"]])
    with open(SAMPLE_DIR / "ground_truth.csv", encoding="utf-8") as fh:
        truth = list(csv.DictReader(fh))
    rows_by_file = {f"ocop_dong_thap_{y}.xlsx": b for y, b in books.items()}
    rows_by_file["thu_hoi_2023_2025.xlsx"] = revocations
    uid_keys = defaultdict(set)
    key_uids = defaultdict(set)
    for t in truth:
        book = rows_by_file[t["file"]]
        row = book["rows"][int(t["row"]) - 4]          # title, subtitle, header above the table
        uid_keys[t["product_uid"]].add(key(row))
        key_uids[key(row)].add(t["product_uid"])
    assert len(truth) == sum(len(b["rows"]) for b in rows_by_file.values())
    assert all(len(v) == 1 for v in uid_keys.values()) and all(len(v) == 1 for v in key_uids.values())


def _cells(path: Path):
    """Every sheet's cell values (the content, whatever zlib or openpyxl version wrote the bytes)."""
    if path.suffix == ".csv":
        return path.read_text(encoding="utf-8")
    wb = openpyxl.load_workbook(path, read_only=True)
    out = {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}
    wb.close()
    return out


def test_generator_is_deterministic_and_matches_the_committed_sample(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    files_a = sample.generate(a)
    sample.generate(b)
    assert sorted(f.name for f in files_a) == sorted(f.name for f in SAMPLE_DIR.iterdir() if f.suffix in (".xlsx", ".csv"))
    for f in files_a:
        assert f.read_bytes() == (b / f.name).read_bytes(), f.name          # byte-identical run to run
        assert _cells(f) == _cells(SAMPLE_DIR / f.name), f"{f.name} differs from a fresh run: `make sample`, commit"
    props = openpyxl.load_workbook(files_a[0]).properties
    assert props.created == props.modified == sample.FIXED_TIME


def test_cli_subcommand(tmp_path):
    from ocop_analysis.cli import main
    assert main(["sample", str(tmp_path)]) == 0
    assert (tmp_path / "ocop_dong_thap_2019.xlsx").exists()


def test_load_registry_reads_every_row_without_errors(books, revocations):
    import ocop_analysis as oa
    reg = oa.load_registry(SAMPLE_DIR)
    assert len(reg.evaluations) == sum(len(b["rows"]) for b in books.values())
    assert len(reg.revocations) == len(revocations["rows"])
    errors = reg.problems[reg.problems["severity"] == "error"]
    assert errors.empty, errors.head().to_string()
    # the loader's product ids split the rows exactly as the generator's ground truth does
    with open(SAMPLE_DIR / "ground_truth.csv", encoding="utf-8") as fh:
        truth = {(t["file"], int(t["row"])): t["product_uid"] for t in csv.DictReader(fh)}
    ev = reg.evaluations
    pairs = {(truth[(f, int(r))], pid) for f, r, pid in zip(ev["source_file"], ev["source_row"], ev["product_id"])}
    assert len({u for u, _ in pairs}) == len(pairs) == len({p for _, p in pairs})
