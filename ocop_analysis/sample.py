"""Synthetic sample registries for Đồng Tháp, calibrated to the published yearly totals.

``python -m ocop_analysis.sample data/sample`` (or ``ocop-analysis sample``) writes one clean
workbook per evaluation year 2019–2025, a revocation list and a ground-truth table for tests.
The products, entities, scores and most decision numbers are invented; the yearly counts by
star and kind, the re-evaluation and revocation figures and the decisions named in the sources
match shared/domain/OCOP.md §3–§5 (see data/sample/README.md for the calibration table and the
choices made where nothing was published). The generator is seeded: two runs give byte-identical
files.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import difflib
import io
import random
import sys
import unicodedata
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.writer.excel import ExcelWriter

from . import normalize, reference
from .paths import REFERENCE_DIR, SAMPLE_DIR

SEED = 20191216
# Workbook properties and zip entry times are fixed so the output is byte-identical run to run.
FIXED_TIME = dt.datetime(2025, 11, 30, 0, 0, 0)
YEARS = tuple(range(2019, 2026))

HEADERS = ["STT", "Tên sản phẩm", "Tên chủ thể", "Địa chỉ", "Xã/Phường", "Huyện/Thành phố", "Nhóm sản phẩm",
           "Điểm", "Hạng sao", "Loại đánh giá", "Số quyết định", "Ngày quyết định", "Năm đánh giá", "Tiềm năng 5 sao"]
REVOCATION_HEADERS = ["STT", "Tên sản phẩm", "Tên chủ thể", "Huyện/Thành phố", "Hạng sao", "Năm công nhận",
                      "Số quyết định thu hồi", "Ngày thu hồi", "Lý do thu hồi"]
KIND_LABELS = {"new": "Mới", "reevaluation": "Đánh giá lại", "upgrade": "Nâng hạng"}
FAILED_LABEL = "Không đạt"
REASON_LABELS = {"not_reevaluated": "Không đánh giá lại trong thời hạn 36 tháng",
                 "failed_mandatory": "Không đạt tiêu chí bắt buộc"}
SYNTHETIC_TITLE = "DỮ LIỆU MÔ PHỎNG (tổng hợp) — không phải danh sách thật"
SHEET = "Danh sách"
NOTE_SHEET = "Ghi chú"


def workbook_name(year: int) -> str:
    return f"ocop_dong_thap_{year}.xlsx"


REVOCATION_FILE = "thu_hoi_2023_2025.xlsx"
GROUND_TRUTH_FILE = "ground_truth.csv"

# --------------------------------------------------------------------------- decisions
# Published: 1580 (2019), 1850 of 07/12/2020, 862 of 08/08/2022, 1446 of 29/12/2022, revocation QĐ 58 (Feb 2023),
# revocation of 47 products (21/02, year inferred; OCOP.md §3.2 ⚠). Everything else (days, numbers) is invented.
D2019 = ("1580/QĐ-UBND-HC", dt.date(2019, 12, 16))
D2020 = ("1850/QĐ-UBND-HC", dt.date(2020, 12, 7))
D2021 = ("52/QĐ-UBND-HC", dt.date(2022, 1, 14))
D2022_1 = ("862/QĐ-UBND-HC", dt.date(2022, 8, 8))
D2022_2 = ("1446/QĐ-UBND-HC", dt.date(2022, 12, 29))
D2023_4 = ("1652/QĐ-UBND-HC", dt.date(2023, 12, 20))
D2023_5 = ("3948/QĐ-BNN-VPĐP", dt.date(2023, 10, 5))
D2024_4 = ("1588/QĐ-UBND-HC", dt.date(2024, 12, 18))
D2025_4 = ("742/QĐ-UBND-HC", dt.date(2025, 6, 20))
D2025_H2 = ("2105/QĐ-UBND", dt.date(2025, 10, 28))
REVOKE_2019 = ("58/QĐ-UBND-HC", dt.date(2023, 2, 10))
REVOKE_2021 = ("196/QĐ-UBND-HC", dt.date(2025, 2, 21))

# District weights for new products (share of the provincial stock; no district breakdown was published).
DISTRICT_WEIGHTS = {866: 6, 867: 10, 868: 6, 869: 6, 870: 8, 871: 6, 872: 14, 873: 10, 874: 7, 875: 7, 876: 11, 877: 9}
# The 47 revoked products of the 2021 cohort by district: huyện Hồng Ngự the most (8), TP Cao Lãnh the fewest (1),
# as published (OCOP.md §3.2); the other counts are invented.
REVOKED_2021_BY_DISTRICT = {866: 1, 867: 4, 868: 3, 869: 3, 870: 8, 871: 4, 872: 5, 873: 5, 874: 3, 875: 4, 876: 4,
                            877: 3}
# 2025 new 4★ entries by district: fewer than 2 in seven districts, so the plan's per-district rule is not met.
# Valid certificates on 31/12/2024 as published (OCOP.md §4.1: 581 = 464 3★ + 116 4★ + 1 5★); the 2024 round is sized to it.
END_2024 = {3: 464, 4: 116, 5: 1}
NEW_4_STAR_2025 = {872: 3, 876: 3, 867: 2, 877: 2, 866: 2, 873: 1, 870: 1, 869: 1}
# How the district column is written in each year's workbook (both forms resolve; never a bare "Cao Lãnh").
DISTRICT_STYLE = {2019: "name", 2020: "short", 2021: "short", 2022: "name", 2023: "short", 2024: "name", 2025: "short"}
ENTITY_FORMS = [("Hộ kinh doanh", 30), ("Công ty TNHH", 20), ("HTX", 16), ("Cơ sở", 12), ("DNTN", 8),
                ("Công ty TNHH MTV", 5), ("Công ty CP", 5), ("Tổ hợp tác", 2)]
# Alternative spellings a clerk uses for the same entity type (all give one normalize.entity_key).
PREFIX_VARIANTS = {"HTX": "Hợp tác xã", "Hợp tác xã": "HTX", "Công ty TNHH": "Cty TNHH", "Cty TNHH": "Công ty TNHH",
                   "DNTN": "Doanh nghiệp tư nhân", "Hộ kinh doanh": "HKD", "Tổ hợp tác": "THT",
                   "Công ty CP": "Công ty cổ phần", "Cơ sở": "CSSX"}
PRODUCT_VARIANTS = ["", " cao cấp", " đặc biệt", " hộp quà", " loại 1", " túi 500g"]
HAMLET_NAMES = ["Tân Lợi", "Phú Hòa", "Bình Hòa", "Mỹ Thới", "An Ninh", "Long Thạnh", "Tân Thuận", "Hưng Lợi"]
HTX_SECTORS = ["Nông nghiệp", "Dịch vụ nông nghiệp", "Sản xuất kinh doanh dịch vụ", "Nông nghiệp sạch"]


@dataclass
class Entity:
    uid: str
    name: str
    district: int
    commune: str
    address: str
    brand: str
    first_year: int


@dataclass
class Product:
    uid: str
    name: str
    entity: Entity
    group: int
    stem: str

    @property
    def district(self) -> int:
        return self.entity.district


@dataclass
class Result:
    product: Product
    year: int
    kind: str
    stars: int | None
    score: float | None
    decision: tuple[str, dt.date]
    role: str
    candidate: bool = False
    written_product: str = ""
    written_entity: str = ""

    @property
    def certified(self) -> bool:
        return self.stars is not None


@dataclass
class Revocation:
    product: Product
    stars: int
    year_recognized: int
    decision: tuple[str, dt.date]
    reason: str
    written_product: str = ""
    written_entity: str = ""


@dataclass
class Slot:
    """A product to create in a year: district, first stars and (for named products) a preset entity/name."""

    district: int
    stars: int | None
    entity: Entity | None = None
    name: str | None = None
    group: int | None = None
    tags: dict = field(default_factory=dict)


@cache
def _canonical_prefixes() -> list[str]:
    """Canonical entity-type prefixes, folded, longest first (from reference/entity_types.csv)."""
    return sorted({normalize.fold(c) for c in reference.table("entity_types")["canonical"]}, key=len, reverse=True)


def _similar(a: str, b: str, cutoff: float = 0.75) -> bool:
    """True when two folded names are close enough that the product linker might take them for one name:
    one's words all in the other's, or a token-sorted similarity at or above ``cutoff`` (kept well below the
    linker's warning threshold, so generated names never trigger a ``possible_link``)."""
    ta, tb = a.split(), b.split()
    sa, sb = set(ta), set(tb)
    if sa == sb or (min(len(sa), len(sb)) >= 2 and (sa < sb or sb < sa)):
        return True
    return difflib.SequenceMatcher(None, " ".join(sorted(ta)), " ".join(sorted(tb))).ratio() >= cutoff


def _read_csv(name: str) -> list[dict]:
    with open(REFERENCE_DIR / name, encoding="utf-8") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` plus whole months (the day clipped to the month's end)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, d)
        except ValueError:
            continue
    raise ValueError(day)


def _spread(total: int, weights: dict[int, float], caps: dict[int, int] | None = None, minimum: int = 0) -> dict[int, int]:
    """Split ``total`` over keys in proportion to ``weights`` (largest remainder), each ≥ minimum and ≤ its cap."""
    keys = sorted(weights)
    caps = caps or {k: total for k in keys}
    out = {k: min(minimum, caps[k]) for k in keys}
    left = total - sum(out.values())
    while left > 0:
        open_keys = [k for k in keys if out[k] < caps[k]]
        if not open_keys:
            raise ValueError("caps too small")
        wsum = sum(weights[k] for k in open_keys) or len(open_keys)
        shares = {k: left * (weights[k] or 1) / wsum for k in open_keys}
        added = 0
        for k in open_keys:
            n = min(int(shares[k]), caps[k] - out[k])
            out[k] += n
            added += n
        if added == 0:
            k = max(open_keys, key=lambda k: (shares[k] - int(shares[k]), -k))
            out[k] += 1
            added = 1
        left -= added
    return out


class _Builder:
    """Builds the synthetic history year by year; every count is set explicitly from the calibration."""

    def __init__(self, seed: int = SEED):
        self.rng = random.Random(seed)
        self.entities: list[Entity] = []
        self.products: list[Product] = []
        self.results: list[Result] = []
        self.revocations: list[Revocation] = []
        self._entity_keys: set[str] = set()
        self._product_keys: set[str] = set()
        self.communes = {}
        for row in _read_csv("sample_communes.csv"):
            self.communes.setdefault(int(row["district_code"]), []).append((row["name"], row["type"]))
        self.stems = {}
        for row in _read_csv("sample_products.csv"):
            self.stems.setdefault(int(row["district_code"]), []).append(
                (row["product"], int(row["group_148"]), float(row["weight"])))
        names = _read_csv("sample_names.csv")
        self.names = {k: [r["value"] for r in names if r["kind"] == k] for k in ("brand", "surname", "middle", "given")}
        self.district_names = reference.district_names()
        self.district_short = dict(zip(reference.districts()["code"], reference.districts()["short_name"]))

    # ------------------------------------------------------------------ names
    def _address(self, district: int, commune: str, ctype: str) -> str:
        rng = self.rng
        if ctype in ("phuong", "thi_tran"):
            hamlet = f"Khóm {rng.randint(1, 5)}"
        else:
            numbered, named = f"Ấp {rng.randint(1, 6)}", f"Ấp {rng.choice(HAMLET_NAMES)}"
            hamlet = rng.choice([numbered, named])
        unit = self.district_names[district]
        unit = unit[0].lower() + unit[1:]
        return f"{hamlet}, {commune[0].lower() + commune[1:]}, {unit}"

    @staticmethod
    def _rest(name: str) -> str:
        """The entity key without its type prefix ("htx nong nghiep my xuong" -> "nong nghiep my xuong")."""
        key = normalize.entity_key(name)
        for canonical in _canonical_prefixes():
            if key.startswith(canonical + " "):
                return key[len(canonical) + 1:]
        return key

    def new_entity(self, district: int, year: int, *, name: str | None = None, commune: str | None = None,
                   address: str | None = None, brand: str | None = None) -> Entity:
        rng = self.rng
        choices = self.communes[district]
        if commune is None:
            commune, ctype = rng.choice(choices)
        else:
            ctype = dict(choices)[commune]
        for _ in range(200):
            if name is not None:
                ent_name, ent_brand = name, brand or name.split()[-1]
                break
            form = rng.choices([f for f, _ in ENTITY_FORMS], [w for _, w in ENTITY_FORMS])[0]
            ent_brand = rng.choice(self.names["brand"])
            place = commune.split(" ", 1)[1] if " " in commune else commune
            if form in ("HTX", "Tổ hợp tác"):
                if ctype == "phuong" and place[0].isdigit():
                    place = ent_brand
                ent_name, ent_brand = f"{form} {rng.choice(HTX_SECTORS)} {place}", place
            elif form == "Hộ kinh doanh":
                person = [rng.choice(self.names[part]) for part in ("surname", "middle", "given")]
                ent_name = f"{form} {' '.join(person)}"
            else:
                ent_name = f"{form} {ent_brand}"
            if normalize.entity_key(ent_name) not in self._entity_keys and not any(
                    _similar(self._rest(ent_name), self._rest(e.name), 0.8) for e in self.entities if e.district == district):
                break
        key = normalize.entity_key(ent_name)
        assert key not in self._entity_keys, ent_name
        self._entity_keys.add(key)
        entity = Entity(f"E{len(self.entities) + 1:04d}", ent_name, district, commune,
                        address or self._address(district, commune, ctype), ent_brand, year)
        self.entities.append(entity)
        return entity

    def new_product(self, entity: Entity, year: int, *, name: str | None = None, group: int | None = None) -> Product | None:
        rng = self.rng
        if name is None:
            options = [(s, g, w) for s, g, w in self.stems[entity.district] if not (g == 5 and year < 2023)]
            for _ in range(200):
                stem, group, _w = rng.choices(options, [w for _, _, w in options])[0]
                variant = rng.choice(PRODUCT_VARIANTS) if rng.random() < 0.35 else ""
                has_place = any(w[0].isupper() for w in stem.split()[1:])
                name = f"{stem}{variant}" if has_place else f"{stem}{variant} {entity.brand}"
                if normalize.product_key(entity.name, name) not in self._product_keys and not any(
                        _similar(normalize.fold(name), normalize.fold(q.name)) for q in self.products if q.entity is entity):
                    break
            else:
                return None
        else:
            stem = name
        key = normalize.product_key(entity.name, name)
        assert key not in self._product_keys, name
        self._product_keys.add(key)
        product = Product(f"P{len(self.products) + 1:04d}", name, entity, group, stem)
        self.products.append(product)
        return product

    def _variant(self, text: str, is_entity: bool) -> str:
        """The same name as a clerk may type it in another year (prefix spelling, case, spacing, NFD)."""
        rng = self.rng
        if rng.random() > 0.35:
            return text
        kind = rng.choice(["prefix", "upper", "spaces", "nfd", "lower"] if is_entity else ["spaces", "nfd", "lower", "upper"])
        if kind == "prefix":
            for a, b in sorted(PREFIX_VARIANTS.items(), key=lambda kv: -len(kv[0])):
                if text.startswith(a + " ") and not text.startswith("Công ty TNHH MTV"):
                    return b + text[len(a):]
            kind = "spaces"
        if kind == "upper":
            return text.upper()
        if kind == "lower":
            return text[0] + text[1:].lower() if not is_entity else text.lower()
        if kind == "nfd":
            return unicodedata.normalize("NFD", text)
        words = text.split(" ")
        i = rng.randrange(1, len(words)) if len(words) > 1 else 0
        return " ".join(words[:i]) + "  " + " ".join(words[i:]) if i else text + " "

    # ------------------------------------------------------------------ cohorts
    def cohort(self, year: int, slots: list[Slot], entity_target: int, reuse: int = 0) -> list[Product]:
        """Create the products of ``slots`` under exactly ``entity_target`` distinct entities (``reuse`` of them
        entities of earlier years in the same districts)."""
        rng = self.rng
        preset = {id(s.entity): s.entity for s in slots if s.entity is not None}
        free = [s for s in slots if s.entity is None]
        by_district: dict[int, list[Slot]] = {}
        for s in free:
            by_district.setdefault(s.district, []).append(s)
        needed = entity_target - len(preset)
        counts = {d: len(v) for d, v in by_district.items()}
        per_district = _spread(needed, {d: n for d, n in counts.items()}, caps=counts, minimum=1)
        old_pool = {d: [e for e in self.entities if e.district == d and e.first_year < year
                        and id(e) not in preset] for d in by_district}
        reuse_left = reuse
        owners_by_district: dict[int, list[Entity]] = {}
        for d in sorted(by_district, key=lambda d: -per_district[d]):
            # 4★ products go last, to a few "strong" entities (published: 41 4★ of 10 entities in 2022)
            group = sorted(by_district[d], key=lambda s: (s.stars == 4, rng.random()))
            n = per_district[d]
            n_old = min(len(old_pool[d]), reuse_left, max(0, n - 1) if n > 1 else (1 if reuse_left and old_pool[d] else 0))
            reuse_left -= n_old
            owners = rng.sample(old_pool[d], n_old) + [self.new_entity(d, year) for _ in range(n - n_old)]
            owners_by_district[d] = owners
            strong = owners[-max(1, len(owners) // 3):]
            load = Counter({id(e): sum(q.entity is e for q in self.products) for e in owners})
            for i, s in enumerate(group):
                # each owner gets one slot, then the least-loaded owner the next (keeps product names distinct)
                pick_from = strong if s.stars == 4 else owners
                s.entity = owners[i] if i < len(owners) else min(pick_from, key=lambda e: (load[id(e)], rng.random()))
                load[id(s.entity)] += 1
        products = []
        for s in slots:
            product = self.new_product(s.entity, year, name=s.name, group=s.group)
            for other in owners_by_district.get(s.district, []):
                if product is not None:
                    break
                product = self.new_product(other, year)  # the entity ran out of distinct product names
            products.append(product or self.new_product(self.new_entity(s.district, year), year))
        return products

    def result(self, product: Product, year: int, kind: str, stars: int | None, decision, role: str, *,
               candidate: bool = False, score: float | None | str = "auto", vary: bool = True) -> Result:
        if score == "auto":
            score = self.score(stars, kind, candidate)
        first = kind == "new" or not vary
        r = Result(product, year, kind, stars, score, decision, role, candidate,
                   product.name if first else self._variant(product.name, False),
                   product.entity.name if first else self._variant(product.entity.name, True))
        self.results.append(r)
        return r

    def score(self, stars: int | None, kind: str, candidate: bool = False) -> float | None:
        rng = self.rng
        if stars is None:
            if kind == "upgrade" or (kind == "reevaluation" and rng.random() < 0.5):
                return None  # failed the mandatory criteria / kept the old certificate: no total recorded
            return round(rng.uniform(32, 49.5) * 2) / 2
        if candidate:
            return round(rng.uniform(88, 89.5) * 4) / 4 if stars == 4 else round(rng.uniform(90.5, 93) * 4) / 4
        low, high = {3: (50, 69.5), 4: (70, 89.5), 5: (90, 95)}[stars]
        mode = low + (high - low) * 0.35
        return round(rng.triangular(low, high, mode) * 2) / 2

    def revoke(self, product: Product, stars: int, year: int, decision, reason: str) -> None:
        self.revocations.append(Revocation(product, stars, year, decision, reason,
                                           self._variant(product.name, False), self._variant(product.entity.name, True)))

    def random_districts(self, n: int, weights: dict[int, float] | None = None) -> list[int]:
        weights = weights or DISTRICT_WEIGHTS
        keys = sorted(weights)
        return self.rng.choices(keys, [weights[k] for k in keys], k=n)

    def district_decisions(self, year: int, start: dt.date, days: int) -> dict[int, tuple[str, dt.date]]:
        """One 3★ decision of each district People's Committee (148/2023: districts certify 3★)."""
        out = {}
        for d in sorted(DISTRICT_WEIGHTS):
            out[d] = (f"{self.rng.randint(180, 4800)}/QĐ-UBND", start + dt.timedelta(days=self.rng.randint(0, days)))
        return out

    # ------------------------------------------------------------------ stock
    def stock(self, on: dt.date) -> Counter:
        """Stars of products holding a valid certificate on ``on``: latest certified result decided on or before
        the day, within 36 months, not revoked by then."""
        months = reference.validity_months()
        revoked = {r.product.uid: r.decision[1] for r in self.revocations}
        latest: dict[str, Result] = {}
        for r in self.results:
            if r.certified and r.decision[1] <= on:
                prev = latest.get(r.product.uid)
                if prev is None or r.decision[1] >= prev.decision[1]:
                    latest[r.product.uid] = r
        out = Counter()
        for uid, r in latest.items():
            if add_months(r.decision[1], months) > on and not (uid in revoked and revoked[uid] <= on):
                out[r.stars] += 1
        return out


def _take(rng: random.Random, pool: list, n: int) -> list:
    """Remove and return ``n`` random items of ``pool``."""
    picked = rng.sample(pool, n)
    ids = {id(p) for p in picked}
    pool[:] = [p for p in pool if id(p) not in ids]
    return picked


class _History:
    """The synthetic story, one method per evaluation year (called in order: each uses earlier cohorts).

    Every count below is set explicitly from the published figures (see the README's calibration table);
    randomness only picks districts, names, scores and which product gets which fate.
    """

    def __init__(self, seed: int):
        self.b = _Builder(seed)
        self.rng = self.b.rng

    def build(self) -> _Builder:
        for step in (self.y2019, self.y2020, self.y2021, self.y2022, self.revoke_2019, self.y2023, self.y2024,
                     self.revoke_2021, self.y2025):
            step()
        return self.b

    def y2019(self) -> None:
        """70 = 47 3★ + 23 4★ from 30 entities, each product given its fate up to 2023."""
        b, rng = self.b, self.rng
        self.nam_huy = b.new_entity(872, 2019, name="Công ty TNHH Nam Huy", brand="Nam Huy")
        my_xuong = b.new_entity(873, 2019, name="HTX Nông nghiệp Mỹ Xương", commune="Xã Mỹ Xương", brand="Mỹ Xương")
        self.quyt = b.new_entity(876, 2019, name="HTX Quýt hồng Lai Vung", brand="Lai Vung")
        slots = [Slot(872, 4, self.nam_huy, "Hạt sen sấy Nam Huy", 1, {"fate": "five_star"}),
                 Slot(873, 3, my_xuong, "Xoài cát chu Mỹ Xương", 1, {"fate": "failed_2022"}),
                 Slot(876, 3, self.quyt, "Quýt hồng Lai Vung", 1, {"fate": "not_reevaluated"})]
        # 3★ 47 = 11 upgraded in 2020 + 20 re-certified 3★ in 2022 + 16 revoked (9 not re-evaluated, 7 failed);
        # 4★ 23 = 4 re-certified 4★ (incl. hạt sen) + 10 re-certified at 3★ + 9 revoked (6 not re-evaluated, 3 failed).
        fates3 = ["upgraded_2020"] * 11 + ["recert3"] * 20 + ["not_reevaluated"] * 8 + ["failed_2022"] * 6
        fates4 = ["recert4"] * 3 + ["recert3"] * 10 + ["not_reevaluated"] * 6 + ["failed_2022"] * 3
        rng.shuffle(fates3)
        rng.shuffle(fates4)
        dists = b.random_districts(len(fates3) + len(fates4))
        slots += [Slot(d, 3, tags={"fate": f}) for d, f in zip(dists, fates3)]
        slots += [Slot(d, 4, tags={"fate": f}) for d, f in zip(dists[len(fates3):], fates4)]
        self.c2019 = b.cohort(2019, slots, entity_target=30)
        for s, p in zip(slots, self.c2019):
            b.result(p, 2019, "new", s.stars, D2019, f"2019 cohort: {s.tags['fate']}",
                     candidate=p.name == "Hạt sen sấy Nam Huy")
        self.fate2019 = {p.uid: s.tags["fate"] for s, p in zip(slots, self.c2019)}
        self.stars2019 = {p.uid: s.stars for s, p in zip(slots, self.c2019)}

    def y2020(self) -> None:
        """99 = 68 3★ + 31 4★: 88 new products and 11 upgrades of 2019 3★ products (the 169 vs 158 gap)."""
        b = self.b
        upgraded = [p for p in self.c2019 if self.fate2019[p.uid] == "upgraded_2020"]
        self.nguyen_hau = b.new_entity(877, 2020, name="Cơ sở Nguyên Hậu", brand="Nguyên Hậu")
        self.viet_duc = b.new_entity(874, 2020, name="Công ty TNHH Việt Đức", brand="Việt Đức")
        slots = [Slot(872, 4, self.nam_huy, "Mít sấy Nam Huy", 1, {"candidate": True}),
                 Slot(877, 4, self.nguyen_hau, "Bánh phồng chay cao cấp hạt sen Nguyên Hậu", 1, {"candidate": True}),
                 Slot(874, 4, self.viet_duc, "Xoài sấy dẻo Việt Đức", 1, {"candidate": True})]
        slots += [Slot(d, 4) for d in b.random_districts(17)] + [Slot(d, 3) for d in b.random_districts(68)]
        new = b.cohort(2020, slots, entity_target=44, reuse=4)
        for s, p in zip(slots, new):
            b.result(p, 2020, "new", s.stars, D2020, "2020 cohort: new", candidate=bool(s.tags.get("candidate")))
        for p in upgraded:
            b.result(p, 2020, "upgrade", 4, D2020, "2020 cohort: upgraded 3★→4★ (2019 product)")
        self.c2020 = [(p, 4) for p in upgraded] + [(p, s.stars) for s, p in zip(slots, new)]

    def y2021(self) -> None:
        """104 = 100 3★ + 4 4★ from 48 entities; the 47 to be revoked placed by district as published."""
        b, rng = self.b, self.rng
        ecolotus = b.new_entity(866, 2021, name="Công ty TNHH Ecolotus Việt Nam", commune="Phường 4",
                                address="40/1 Trần Thị Nhượng, khóm 2, phường 4, thành phố Cao Lãnh", brand="Ecolotus")
        revoked_d = [d for d, n in sorted(REVOKED_2021_BY_DISTRICT.items()) for _ in range(n)]
        revoked_d.remove(866)  # Ecolotus is the TP Cao Lãnh one
        rng.shuffle(revoked_d)
        # 4★ 4 = 2 not re-evaluated + 1 failed 2024 (revoked) + 1 re-certified 4★; 3★ 100 = 39 not re-evaluated +
        # 5 failed 2024 (revoked) + 5 upgraded 2022 + 51 re-certified 2024 (48 3★, 3 4★).
        rev_fates = [(4, "not_reevaluated")] * 2 + [(4, "failed_2024")] + [(3, "not_reevaluated")] * 38 + \
                    [(3, "failed_2024")] * 5
        rng.shuffle(rev_fates)
        slots = [Slot(866, 3, ecolotus, "Túi giấy lá sen Ecolotus", 4, {"fate": "not_reevaluated"})]
        slots += [Slot(d, st, tags={"fate": f}) for d, (st, f) in zip(revoked_d, rev_fates)]
        other = [(4, "recert4")] + [(3, "upgraded_2022")] * 5 + [(3, "recert3")] * 48 + [(3, "recert4")] * 3
        slots += [Slot(d, st, tags={"fate": f}) for d, (st, f) in zip(b.random_districts(len(other)), other)]
        self.c2021 = b.cohort(2021, slots, entity_target=48, reuse=12)
        for s, p in zip(slots, self.c2021):
            b.result(p, 2021, "new", s.stars, D2021, f"2021 cohort: {s.tags['fate']}")
        self.fate2021 = {p.uid: (s.stars, s.tags["fate"]) for s, p in zip(slots, self.c2021)}

    def y2022(self) -> None:
        """156 certified (115 3★, 41 4★) in two batches, plus the 10 failed re-evaluations of 2019 products."""
        b, rng, fate, stars0 = self.b, self.rng, self.fate2019, self.stars2019
        recert3 = [p for p in self.c2019 if fate[p.uid] == "recert3"]
        recert4 = [p for p in self.c2019 if fate[p.uid] in ("recert4", "five_star")]
        batch1_re = _take(rng, [p for p in recert3 if stars0[p.uid] == 3], 2)
        for p in batch1_re:
            b.result(p, 2022, "reevaluation", 3, D2022_1, "2022 cohort: re-evaluated 2019 product (batch 1)")
        for p in recert3:
            if p not in batch1_re:
                b.result(p, 2022, "reevaluation", 3, D2022_2, f"2022 cohort: re-evaluated 2019 product {stars0[p.uid]}★→3★")
        for p in recert4:
            b.result(p, 2022, "reevaluation", 4, D2022_2, "2022 cohort: re-evaluated 2019 product 4★→4★",
                     candidate=p.name == "Hạt sen sấy Nam Huy")
        for p in self.c2019:
            if fate[p.uid] == "failed_2022":
                b.result(p, 2022, "reevaluation", None, D2022_2, "2019 cohort: failed 2022 re-evaluation (revoked QĐ 58)")
        self.up2022 = [p for p in self.c2021 if self.fate2021[p.uid][1] == "upgraded_2022"]
        for p in self.up2022:
            b.result(p, 2022, "upgrade", 4, D2022_2, "2022 cohort: upgraded 3★→4★ (2021 product)")
        slots = [Slot(d, 3, tags={"batch": 1}) for d in b.random_districts(4)]
        slots += [Slot(d, 4, tags={"batch": 2}) for d in b.random_districts(32)]
        slots += [Slot(d, 3, tags={"batch": 2}) for d in b.random_districts(81)]
        self.c2022_new = b.cohort(2022, slots, entity_target=52, reuse=20)
        for s, p in zip(slots, self.c2022_new):
            b.result(p, 2022, "new", s.stars, D2022_1 if s.tags["batch"] == 1 else D2022_2,
                     f"2022 cohort: new (batch {s.tags['batch']})")
        self.c2022 = [(p, 3) for p in recert3] + [(p, 4) for p in recert4] + [(p, 4) for p in self.up2022] + \
                     [(p, s.stars) for s, p in zip(slots, self.c2022_new)]

    def revoke_2019(self) -> None:
        """Feb 2023, QĐ 58: the 25 of the 2019 cohort not re-evaluated (15) or failed (10)."""
        for p in self.c2019:
            f = self.fate2019[p.uid]
            if f in ("not_reevaluated", "failed_2022"):
                self.b.revoke(p, self.stars2019[p.uid], 2019, REVOKE_2019,
                              "failed_mandatory" if f == "failed_2022" else "not_reevaluated")

    def y2023(self) -> None:
        """207 entries: 149 new, 55 re-evaluations of the 2020 cohort, 3 failed upgrade attempts; the national 5★."""
        b, rng = self.b, self.rng
        dd23 = b.district_decisions(2023, dt.date(2023, 11, 20), 24)
        # re-evaluations: 55 = 20 4★ (18 from 4★, 2 from 3★) + 30 3★ (4 from 4★, 26 from 3★) + 5 failed
        pool4 = [p for p, st in self.c2020 if st == 4]
        pool3 = [p for p, st in self.c2020 if st == 3]
        named = [p for p in pool4 if p.entity in (self.nguyen_hau, self.viet_duc) or p.name == "Mít sấy Nam Huy"]
        pool4 = [p for p in pool4 if p not in named]
        plan = [(p, 4, 4) for p in named + _take(rng, pool4, 15)] + [(p, 3, 4) for p in _take(rng, pool3, 2)] + \
               [(p, 4, 3) for p in _take(rng, pool4, 4)] + [(p, 3, 3) for p in _take(rng, pool3, 26)] + \
               [(p, 4, None) for p in _take(rng, pool4, 1)] + [(p, 3, None) for p in _take(rng, pool3, 4)]
        for p, before, after in plan:
            dec = D2023_4 if after == 4 else dd23[p.district]
            b.result(p, 2023, "reevaluation", after, dec, f"2020 cohort: re-evaluated 2023 {before}★→{after or 'failed'}",
                     candidate=p in named)
        new3 = [p for p, st in self.c2022 if st == 3 and p in self.c2022_new]
        for p in _take(rng, new3, 3):  # failed upgrade attempts: they keep their 3★ certificate
            b.result(p, 2023, "upgrade", None, D2023_4, "2022 cohort: failed 2023 upgrade attempt (keeps 3★)")
        self.hat_sen = next(p for p in self.c2019 if p.name == "Hạt sen sấy Nam Huy")
        b.result(self.hat_sen, 2023, "upgrade", 5, D2023_5, "national 5★ (Ministry)", candidate=True, vary=False)
        # new: 149 = 108 3★ + 20 4★ + 21 failed; 3 of the 3★ are 2019 products revoked in Feb 2023 entering again
        lapsed = [p for p in self.c2019 if self.fate2019[p.uid] == "not_reevaluated" and p.entity is not self.quyt]
        for p in _take(rng, lapsed, 3):
            b.result(p, 2023, "new", 3, dd23[p.district], "2019 product revoked Feb 2023, entered again as new in 2023")
        slots = [Slot(d, 4) for d in b.random_districts(20)] + [Slot(d, 3) for d in b.random_districts(105)] + \
                [Slot(d, None) for d in b.random_districts(21)]
        new = b.cohort(2023, slots, entity_target=62, reuse=22)
        for s, p in zip(slots, new):
            dec = D2023_4 if s.stars == 4 else dd23[p.district]
            b.result(p, 2023, "new", s.stars, dec, "2023 cohort: new" if s.stars else "2023: new, failed")
        self.c2023 = [(p, s.stars) for s, p in zip(slots, new) if s.stars]

    def y2024(self) -> None:
        """58 re-evaluations of the 2021 cohort, 4 upgrade attempts, new products sized to the published 581."""
        b, rng = self.b, self.rng
        dd24 = b.district_decisions(2024, dt.date(2024, 10, 7), 60)
        for p in self.c2021:
            stars, f = self.fate2021[p.uid]
            if f in ("recert3", "recert4", "failed_2024"):
                after = {"recert3": 3, "recert4": 4, "failed_2024": None}[f]
                dec = D2024_4 if after == 4 else dd24[p.district]
                b.result(p, 2024, "reevaluation", after, dec, f"2021 cohort: re-evaluated 2024 {stars}★→{after or 'failed'}")
        for i, p in enumerate(_take(rng, [p for p, st in self.c2023 if st == 3], 4)):  # 3 reach 4★, 1 fails
            b.result(p, 2024, "upgrade", 4 if i < 3 else None, D2024_4, "2023 cohort: 2024 upgrade attempt")
        # valid stock on 31/12/2024 = the published 581 (464 3★, 116 4★, 1 5★)
        before = b.stock(dt.date(2024, 12, 31))
        n3, n4 = END_2024[3] - before[3], END_2024[4] - before[4]
        slots = [Slot(d, 4) for d in b.random_districts(n4)] + [Slot(d, 3) for d in b.random_districts(n3)] + \
                [Slot(d, None) for d in b.random_districts(9)]
        new = b.cohort(2024, slots, entity_target=78, reuse=25)
        for s, p in zip(slots, new):
            dec = D2024_4 if s.stars == 4 else dd24[p.district]
            b.result(p, 2024, "new", s.stars, dec, "2024 cohort: new" if s.stars else "2024: new, failed")

    def revoke_2021(self) -> None:
        """21/02/2025: the 47 of the 2021 cohort not re-evaluated (41) or failed in 2024 (6)."""
        for p in self.c2021:
            stars, f = self.fate2021[p.uid]
            if f in ("not_reevaluated", "failed_2024"):
                self.b.revoke(p, stars, 2021, REVOKE_2021, "failed_mandatory" if f == "failed_2024" else "not_reevaluated")

    def y2025(self) -> None:
        """Results to 28/10/2025 that leave every target of the 2025 plan short."""
        b, rng = self.b, self.rng
        dd25 = b.district_decisions(2025, dt.date(2025, 4, 7), 70)

        def decision(p: Product, stars: int | None, late: bool):
            if late:
                return D2025_H2  # after 1 July 2025 the province certifies 3★ and 4★ (Decision 1489)
            return D2025_4 if stars == 4 else dd25[p.district]

        # 70 of the 156 of 2022 (target 78): 45 3★→3★, 4 3★→4★, 9 4★→4★, 3 4★→3★, 9 failed
        pool3 = [p for p, st in self.c2022 if st == 3]
        pool4 = [p for p, st in self.c2022 if st == 4 and p is not self.hat_sen]
        plan = [(p, 3, 3) for p in _take(rng, pool3, 45)] + [(p, 3, 4) for p in _take(rng, pool3, 4)] + \
               [(p, 4, 4) for p in _take(rng, pool4, 9)] + [(p, 4, 3) for p in _take(rng, pool4, 3)] + \
               [(p, 3, None) for p in _take(rng, pool3, 7)] + [(p, 4, None) for p in _take(rng, pool4, 2)]
        candidates = [p for p, before, after in plan if before == 4 and after == 4][:2]
        for i, (p, before, after) in enumerate(plan):
            # the 2022 upgrades (2021 products) come after July 2025, outside the 2021 cohort's window
            b.result(p, 2025, "reevaluation", after, decision(p, after, i % 3 == 2 or p in self.up2022),
                     f"2022 cohort: re-evaluated 2025 {before}★→{after or 'failed'}", candidate=p in candidates)
        # new: 52 = 34 3★ + 15 4★ (by district as NEW_4_STAR_2025; the first a 5★ candidate) + 3 failed
        slots = [Slot(d, 4) for d, n in sorted(NEW_4_STAR_2025.items()) for _ in range(n)]
        slots += [Slot(d, 3) for d in b.random_districts(34)] + [Slot(d, None) for d in b.random_districts(3)]
        new = b.cohort(2025, slots, entity_target=30, reuse=12)
        for i, (s, p) in enumerate(zip(slots, new)):
            b.result(p, 2025, "new", s.stars, decision(p, s.stars, i % 3 == 1),
                     "2025 cohort: new" if s.stars else "2025: new, failed", candidate=i == 0)


def build(seed: int = SEED) -> _Builder:
    """The whole synthetic history, 2019–2025."""
    return _History(seed).build()


# --------------------------------------------------------------------------- writing

def _district_label(b: _Builder, code: int, year: int) -> str:
    if code == 868 and year == 2019:
        return "Thị xã Hồng Ngự"  # a city only from September 2020 (OCOP.md §7.1)
    return b.district_names[code] if DISTRICT_STYLE[year] == "name" else b.district_short[code]


def _group_label(group: int, year: int) -> str:
    if normalize.taxonomy_for_year(year) == "1048":
        g = reference.groups_1048()
        row = g[g["group_148"] == group].iloc[-1]  # 148 group 4 ← 1048 group 5 (souvenirs, furnishing, decoration)
        return str(row["name"])
    return reference.group_names()[group]


def _sort_key(b: _Builder, r: Result):
    order = {code: i for i, code in enumerate(b.district_names)}
    return (r.decision[1], order[r.product.district], -(r.stars or 0), normalize.fold(r.product.entity.name),
            normalize.fold(r.product.name))


def _new_workbook(title: str, subtitle: str, headers: list[str], notes: list[str]) -> tuple[Workbook, object]:
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append([title])
    ws.append([subtitle])
    ws.append(headers)
    ws["A1"].font = Font(bold=True, size=13)
    ws["A2"].font = Font(italic=True)
    for cell in ws[3]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    ws.freeze_panes = "A4"
    note = wb.create_sheet(NOTE_SHEET)
    for line in notes:
        note.append([line])
    note.column_dimensions["A"].width = 120
    wb.properties.creator = "ocop_analysis.sample (synthetic data generator)"
    wb.properties.title = title
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    return wb, ws


def _notes(what: str) -> list[str]:
    return [
        "DỮ LIỆU MÔ PHỎNG (tổng hợp) — SYNTHETIC DATA",
        f"Tệp này là dữ liệu mô phỏng ({what}), do ocop_analysis/sample.py sinh ra với hạt giống cố định {SEED}.",
        "Số lượng theo năm, theo hạng sao và theo loại đánh giá được hiệu chỉnh khớp với số liệu đã công bố của tỉnh "
        "Đồng Tháp (xem data/sample/README.md và shared/domain/OCOP.md §3–§5).",
        "Tên sản phẩm, tên chủ thể, địa chỉ, điểm số và phần lớn số quyết định là giả định; không dùng để tra cứu "
        "chứng nhận thật.",
        "This workbook is synthetic: counts are calibrated to the published Đồng Tháp totals; names, scores and most "
        "decision numbers are invented. See data/sample/README.md.",
    ]


def _save(wb: Workbook, path: Path) -> None:
    """Save with fixed properties and fixed zip entry times, so two runs give identical bytes."""
    raw = io.BytesIO()
    archive = zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    ExcelWriter(wb, archive).save()
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(2025, 11, 30, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            dst.writestr(fixed, src.read(info.filename))
    path.write_bytes(out.getvalue())


# After 1 July 2025 (no district level, Đồng Tháp merged with Tiền Giang, OCOP.md §7.3) the 2025 workbook's
# second-half rows are written as a clerk of the merged province writes them: the 2025 commune or ward, an
# address "…, xã X, tỉnh Đồng Tháp" and the district column blank. Where the 2025 commune was formed from
# communes of several old districts ("Xã Lai Vung": 875/876) the old district is still written, so the
# calibrated per-district figures stay exact. Rows that are not old Đồng Tháp's are added from this table.
TIEN_GIANG_2025 = [  # (product, entity, 2025 commune, hamlet, group 148, stars, score) — synthetic, invented names
    ("Kẹo dừa Hương Quê", "Cơ sở Hương Quê Cái Bè", "Xã Cái Bè", "Ấp 2", 1, 3, 62.5),
    ("Hủ tiếu khô Ngọc Trâm", "Công ty TNHH Ngọc Trâm Mỹ Tho", "Phường Mỹ Tho", "Khu phố 3", 1, 4, 74.0),
    ("Mắm tôm chà Phú Lợi", "Hộ kinh doanh Lê Thị Hạnh Gò Công", "Phường Gò Công", "Khu phố 1", 1, 3, 58.0),
    ("Sầu riêng sấy dẻo Tân Phong", "HTX Nông nghiệp Tân Phong Châu Thành", "Xã Châu Thành", "Ấp Tân Phong", 1, 4, 71.5),
    ("Thanh long sấy Chợ Gạo Xanh", "Tổ hợp tác Chợ Gạo Xanh", "Xã Chợ Gạo", "Ấp 4", 1, 3, 55.0),
]
MERGED_PROVINCE_LABEL = "tỉnh Đồng Tháp"


def _after_reform(r: Result) -> bool:
    return r.decision[1] >= dt.date(2025, 7, 1)


def _place_2025(entity: Entity) -> tuple[str, str, bool]:
    """(2025 commune, 2025-style address, old district still needed) for an entity of old Đồng Tháp.

    The commune's whole (not partial) link in the geography library gives its 2025 commune; the old
    district is needed when that commune was formed from communes of several old districts.
    """
    from . import geography

    codes = {r["name"]: int(r["commune_code"]) for r in _read_csv("sample_communes.csv")
             if int(r["district_code"]) == entity.district}
    links = geography.commune_links("dong-thap")
    whole = links[(links["old_code"] == codes[entity.commune]) & ~links["part"].astype(bool)]
    if whole["code"].nunique() != 1:  # split between new communes: a clerk keeps the old name and district
        return entity.commune, entity.address, True
    new_code, name = int(whole["code"].iloc[0]), str(whole["name"].iloc[0])
    formed_from = set(links.loc[links["code"] == new_code, "district_code"].astype(int))
    hamlet = entity.address.split(",")[0]
    address = f"{hamlet}, {name[0].lower() + name[1:]}, {MERGED_PROVINCE_LABEL}"
    return name, address, formed_from != {entity.district}


def write_year(b: _Builder, year: int, out_dir: Path) -> list[dict]:
    rows = sorted((r for r in b.results if r.year == year), key=lambda r: _sort_key(b, r))
    wb, ws = _new_workbook(
        f"{SYNTHETIC_TITLE}: KẾT QUẢ ĐÁNH GIÁ, PHÂN HẠNG SẢN PHẨM OCOP TỈNH ĐỒNG THÁP NĂM {year}",
        "Số lượng theo hạng sao và loại đánh giá hiệu chỉnh theo số liệu công bố; tên, địa chỉ, điểm là giả định.",
        HEADERS, _notes(f"kết quả đánh giá, phân hạng sản phẩm OCOP năm {year}"))
    truth = []
    for i, r in enumerate(rows, start=1):
        p = r.product
        commune, address, district = p.entity.commune, p.entity.address, _district_label(b, p.district, year)
        if _after_reform(r):
            commune, address, keep = _place_2025(p.entity)
            district = district if keep else None
        ws.append([i, r.written_product, r.written_entity, address, commune,
                   district, _group_label(p.group, year), r.score,
                   r.stars if r.stars is not None else FAILED_LABEL, KIND_LABELS[r.kind], r.decision[0],
                   r.decision[1], year, "x" if r.candidate else None])
        excel_row = ws.max_row
        ws.cell(excel_row, 12).number_format = "DD/MM/YYYY"
        truth.append({"file": workbook_name(year), "sheet": SHEET, "row": excel_row, "product_uid": p.uid,
                      "entity_uid": p.entity.uid, "year": year, "kind": r.kind, "stars": r.stars or "",
                      "certified": r.certified, "decision_no": r.decision[0], "decision_date": r.decision[1].isoformat(),
                      "role": r.role, "legacy_province": "dong-thap"})
    if year == 2025:
        decision = D2025_H2
        for k, (product, entity, commune, hamlet, group, stars, score) in enumerate(TIEN_GIANG_2025, start=1):
            address = f"{hamlet}, {commune[0].lower() + commune[1:]}, {MERGED_PROVINCE_LABEL}"
            ws.append([len(rows) + k, product, entity, address, commune, None, _group_label(group, year), score,
                       stars, KIND_LABELS["new"], decision[0], decision[1], year, None])
            excel_row = ws.max_row
            ws.cell(excel_row, 12).number_format = "DD/MM/YYYY"
            truth.append({"file": workbook_name(year), "sheet": SHEET, "row": excel_row, "product_uid": f"TG{k:02d}",
                          "entity_uid": f"TGE{k:02d}", "year": year, "kind": "new", "stars": stars, "certified": True,
                          "decision_no": decision[0], "decision_date": decision[1].isoformat(),
                          "role": "former Tiền Giang (merged province): not counted for old Đồng Tháp's plan",
                          "legacy_province": "tien-giang"})
    for col, width in zip("ABCDEFGHIJKLMN", (5, 42, 38, 48, 20, 20, 30, 7, 10, 14, 20, 14, 8, 10)):
        ws.column_dimensions[col].width = width
    _save(wb, out_dir / workbook_name(year))
    return truth


def write_revocations(b: _Builder, out_dir: Path) -> list[dict]:
    rows = sorted(b.revocations, key=lambda r: (r.decision[1], list(b.district_names).index(r.product.district),
                                                normalize.fold(r.product.entity.name), normalize.fold(r.product.name)))
    wb, ws = _new_workbook(
        f"{SYNTHETIC_TITLE}: DANH SÁCH SẢN PHẨM OCOP BỊ THU HỒI GIẤY CHỨNG NHẬN (02/2023 VÀ 02/2025)",
        "Số lượng theo đợt, hạng sao và lý do khớp số liệu công bố (QĐ 58, 02/2023: 25 sản phẩm; 21/02/2025: "
        "47 sản phẩm); tên sản phẩm, chủ thể là giả định.",
        REVOCATION_HEADERS, _notes("danh sách thu hồi giấy chứng nhận sản phẩm OCOP"))
    truth = []
    for i, r in enumerate(rows, start=1):
        p = r.product
        ws.append([i, r.written_product, r.written_entity, _district_label(b, p.district, 2022 if r.year_recognized == 2019 else 2024),
                   r.stars, r.year_recognized, r.decision[0], r.decision[1], REASON_LABELS[r.reason]])
        ws.cell(ws.max_row, 8).number_format = "DD/MM/YYYY"
        truth.append({"file": REVOCATION_FILE, "sheet": SHEET, "row": ws.max_row, "product_uid": p.uid,
                      "entity_uid": p.entity.uid, "year": r.decision[1].year, "kind": "revocation", "stars": r.stars,
                      "certified": "", "decision_no": r.decision[0], "decision_date": r.decision[1].isoformat(),
                      "role": f"revoked: {r.reason} (recognised {r.year_recognized})", "legacy_province": "dong-thap"})
    for col, width in zip("ABCDEFGHI", (5, 42, 38, 20, 8, 10, 20, 12, 44)):
        ws.column_dimensions[col].width = width
    _save(wb, out_dir / REVOCATION_FILE)
    return truth


def check(b: _Builder) -> None:
    """Sanity checks of the built history (names of the same product keep one identity key)."""
    keys: dict[str, str] = {}
    for r in b.results:
        key = normalize.product_key(r.written_entity, r.written_product)
        if keys.setdefault(r.product.uid, key) != key:
            raise AssertionError(f"spelling variant breaks identity: {r.written_entity!r} / {r.written_product!r}")
    seen = Counter((r.product.uid, r.year) for r in b.results)
    dup = [k for k, n in seen.items() if n > 1]
    if dup:
        raise AssertionError(f"a product appears twice in one year: {dup[:3]}")


def generate(out_dir: str | Path = SAMPLE_DIR, seed: int = SEED) -> list[Path]:
    """Write the sample workbooks and ground_truth.csv into ``out_dir``; returns the files written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    b = build(seed)
    check(b)
    truth = []
    for year in YEARS:
        truth += write_year(b, year, out)
    truth += write_revocations(b, out)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(truth[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(truth)
    (out / GROUND_TRUTH_FILE).write_text(buf.getvalue(), encoding="utf-8")
    return [out / workbook_name(y) for y in YEARS] + [out / REVOCATION_FILE, out / GROUND_TRUTH_FILE]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out_dir", nargs="?", default=str(SAMPLE_DIR), help="folder to write (default: data/sample)")
    parser.add_argument("--seed", type=int, default=SEED, help=f"random seed (default {SEED}; the committed sample uses it)")


def run_cli(args: argparse.Namespace) -> int:
    for path in generate(args.out_dir, args.seed):
        print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ocop_analysis.sample", description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run_cli(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
