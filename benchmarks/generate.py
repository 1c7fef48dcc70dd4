"""A national-scale synthetic registry for the benchmarks (issue 9). Deterministic; not part of ``make test``.

Writes to benchmarks/data/ (git-ignored):

* ``flat_<rows>.xlsx``  — one flat sheet: a title row, one header row, every evaluation row;
* ``messy_<rows>.xlsx`` — the same rows as 12 district sheets in the messy layout: title rows, a two-row
  merged header, a column-number row, one section row per year ("I. NĂM 2019"), a subtotal after each
  year, a grand total and signature rows. The district is given by the sheet name (no district column).

Products are distinct, as in a real registry: each has its own entity (form + a person's name or a brand,
with a numbered cooperative where names would collide) and a product name "<product type> <brand>", so
product linking sees mostly different names rather than thousands of near-identical ones. A product is
evaluated when it enters (new), re-evaluated every 36 months while the programme runs, sometimes
upgraded in between, and sometimes fails a round ("Không đạt").

    .venv/bin/python benchmarks/generate.py [--rows 60000] [--out benchmarks/data]
"""
from __future__ import annotations

import argparse
import datetime as dt
import functools
import random
import sys
from pathlib import Path

from openpyxl import Workbook

from ocop_analysis import reference
from ocop_analysis.sample import ENTITY_FORMS, HAMLET_NAMES, KIND_LABELS, FAILED_LABEL, _group_label, _save

SEED = 20260901
YEARS = tuple(range(2019, 2026))
DATA_DIR = Path(__file__).resolve().parent / "data"
HEADER = ["STT", "Tên sản phẩm", "Tên chủ thể", "Địa chỉ", "Xã/Phường", "Huyện/Thành phố", "Nhóm sản phẩm",
          "Điểm", "Hạng sao", "Loại đánh giá", "Số quyết định", "Ngày quyết định", "Năm đánh giá", "Tiềm năng 5 sao"]
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X"]


_label = functools.cache(_group_label)


def _names() -> dict[str, list[str]]:
    table = reference.table("sample_names")
    return {kind: table.loc[table["kind"] == kind, "value"].tolist() for kind in table["kind"].unique()}


def _products() -> dict[int, list[tuple[str, int]]]:
    table = reference.table("sample_products")
    table = table[table["group_148"].astype(int) <= 4]  # groups every taxonomy year can name (1048 had no 5)
    out: dict[int, list[tuple[str, int]]] = {}
    for row in table.itertuples():
        code = int(row.district_code) if str(row.district_code).isdigit() else 0
        out.setdefault(code, []).extend([(row.product, int(row.group_148))] * max(1, round(float(row.weight) * 2)))
    return out


def _communes() -> dict[int, list[str]]:
    table = reference.table("sample_communes")
    out: dict[int, list[str]] = {}
    for row in table.itertuples():
        out.setdefault(int(row.district_code), []).append(row.name)
    return out


def rows(n: int = 60_000, seed: int = SEED) -> list[dict]:
    """``n`` evaluation rows (dicts), sorted by year, district and decision order."""
    rng = random.Random(seed)
    names, products, communes = _names(), _products(), _communes()
    districts = reference.districts()
    codes = districts["code"].astype(int).tolist()
    full = dict(zip(codes, districts["name"])), dict(zip(codes, districts["short_name"]))
    forms = [f for f, w in ENTITY_FORMS for _ in range(w)]
    generic = [p for key, items in products.items() if key not in codes for p in items] or \
        [p for items in products.values() for p in items]
    seen_entities: set[str] = set()
    seen_products: set[tuple[str, str]] = set()
    out: list[dict] = []
    serial = 0
    while len(out) < n:
        serial += 1
        code = rng.choice(codes)
        form = rng.choice(forms)
        if form in ("Hộ kinh doanh", "Cơ sở", "DNTN"):
            person = f"{rng.choice(names['surname'])} {rng.choice(names['middle'])} {rng.choice(names['given'])}"
            brand = person.split(" ", 2)[-1]
        else:
            person = rng.choice(names["brand"])
            brand = person
        entity = f"{form} {person}"
        if entity in seen_entities:  # a real registry does not hold two entities of one name: number them
            entity = f"{entity} {serial}"
            brand = f"{brand} {serial}"
        seen_entities.add(entity)
        pool = products.get(code, []) + generic
        product_type, group = rng.choice(pool)
        name = f"{product_type} {brand}"
        if (entity, name) in seen_products:
            continue
        seen_products.add((entity, name))
        commune = rng.choice(communes.get(code, ["Xã Mỹ An"]))
        address = f"Ấp {rng.choice(HAMLET_NAMES)}, {commune}"
        first = rng.choice(YEARS)
        stars = rng.choices([3, 4, 5], weights=[68, 28, 4])[0]
        year, kind = first, "new"
        while year <= YEARS[-1] and len(out) < n:
            failed = kind != "new" and rng.random() < 0.06
            low = {3: 50, 4: 70, 5: 90}[stars]
            score = None if failed and rng.random() < 0.5 else round(rng.uniform(low, min(low + 19.5, 100)) * 2) / 2
            if failed and score is not None:
                score = round(rng.uniform(35, 49.5) * 2) / 2
            month = rng.choice((6, 8, 10, 12))
            day = rng.randint(1, 28)
            label = full[0][code] if year % 2 else full[1][code]
            out.append({"product": name, "entity": entity, "address": address, "commune": commune,
                        "district_code": code, "district": label, "group": _label(group, year),
                        "score": score, "stars": None if failed else stars, "kind": kind,
                        "decision_no": f"{100 + (code * 7 + month) % 900}/QĐ-UBND-{year}",
                        "decision_date": dt.datetime(year, month, day), "year": year,
                        "candidate": stars == 4 and not failed and rng.random() < 0.1})
            if failed:
                break
            if stars < 5 and rng.random() < 0.15:
                year, kind, stars = year + rng.choice((1, 2)), "upgrade", stars + 1
            else:
                year, kind = year + 3, "reevaluation"
    out.sort(key=lambda r: (r["year"], r["district_code"], r["decision_date"], r["entity"], r["product"]))
    return out


def _cells(r: dict, i: int, *, with_district: bool) -> list:
    stars = FAILED_LABEL if r["stars"] is None else (f"{r['stars']} sao" if i % 2 else r["stars"])
    score = None if r["score"] is None else (f"{r['score']:.1f}".replace(".", ",") if i % 3 == 0 else r["score"])
    cells = [i, r["product"], r["entity"], r["address"], r["commune"]]
    if with_district:
        cells.append(r["district"])
    return cells + [r["group"], score, stars, KIND_LABELS[r["kind"]], r["decision_no"], r["decision_date"],
                    r["year"], "x" if r["candidate"] else None]


def write_flat(data: list[dict], path: Path) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "Danh sách"
    ws.append(["DANH SÁCH SẢN PHẨM OCOP 2019–2025 — DỮ LIỆU MÔ PHỎNG (tổng hợp) cho benchmark"])
    ws.append(HEADER)
    for i, r in enumerate(data, 1):
        ws.append(_cells(r, i, with_district=True))
    _save(wb, path)
    return path


def write_messy(data: list[dict], path: Path) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    districts = reference.districts()
    header = [h for h in HEADER if h != "Huyện/Thành phố"]
    top = ["STT", "Tên sản phẩm", "Tên chủ thể", "Địa chỉ", "Xã/Phường", "Nhóm sản phẩm", "Kết quả đánh giá", None,
           "Loại đánh giá", "Quyết định công nhận", None, "Năm đánh giá", "Tiềm năng 5 sao"]
    second = [None] * 6 + ["Điểm", "Hạng sao", None, "Số quyết định", "Ngày quyết định", None, None]
    assert len(top) == len(second) == len(header)
    for d in districts.itertuples():
        ws = wb.create_sheet(str(d.short_name).replace(".", ""))
        ws.append(["UBND TỈNH ĐỒNG THÁP"])
        ws.append([f"DANH SÁCH SẢN PHẨM OCOP {str(d.name).upper()} GIAI ĐOẠN 2019–2025 (DỮ LIỆU MÔ PHỎNG)"])
        ws.append([])
        ws.append(top)
        ws.append(second)
        for col in "ABCDEFLM":
            ws.merge_cells(f"{col}4:{col}5")
        ws.merge_cells("G4:H4")
        ws.merge_cells("J4:K4")
        ws.append([f"({k})" for k in range(1, len(header) + 1)])
        mine = [r for r in data if r["district_code"] == int(d.code)]
        stt = 0
        for k, year in enumerate(YEARS):
            block = [r for r in mine if r["year"] == year]
            if not block:
                continue
            ws.append([f"{ROMAN[k]}. NĂM {year}"])
            for r in block:
                stt += 1
                ws.append(_cells(r, stt, with_district=False))
            ws.append([None, "Cộng", f"{len(block)} sản phẩm"])
        ws.append([f"Tổng cộng: {len(mine)} sản phẩm"])
        ws.append([])
        ws.append([None, None, None, None, None, None, None, None, "KT. CHỦ TỊCH"])
        ws.append([None, None, None, None, None, None, None, None, "PHÓ CHỦ TỊCH"])
    _save(wb, path)
    return path


def generate(n: int = 60_000, out: Path = DATA_DIR, *, force: bool = False) -> dict[str, Path]:
    """Write (or reuse, when present) the flat and messy workbooks of ``n`` rows; return their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"flat": out / f"flat_{n}.xlsx", "messy": out / f"messy_{n}.xlsx"}
    if force or not all(p.exists() for p in paths.values()):
        data = rows(n)
        write_flat(data, paths["flat"])
        write_messy(data, paths["messy"])
    return paths


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=60_000)
    ap.add_argument("--out", type=Path, default=DATA_DIR)
    ap.add_argument("--force", action="store_true", help="rewrite even if the files exist")
    args = ap.parse_args(argv)
    for kind, path in generate(args.rows, args.out, force=args.force).items():
        print(f"{kind}: {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
