"""Speed of ``load_registry`` against a bare ``pandas.read_excel(engine="calamine")`` of the same file.

Issue 3 target: loading a 20,000-row workbook costs at most 1.5× the bare read. Both run in this
one process, alternately, several times; the medians are compared. Not part of ``make test``.

    .venv/bin/python benchmarks/bench_loader.py [--rows 20000] [--repeat 5] [--profile]
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import openpyxl
import pandas as pd

import ocop_analysis as oa

HEADER = ["STT", "Tên sản phẩm", "Tên chủ thể", "Địa chỉ", "Xã/Phường", "Huyện/Thành phố", "Nhóm sản phẩm",
          "Điểm", "Hạng sao", "Loại đánh giá", "Số quyết định", "Ngày quyết định", "Năm đánh giá", "Tiềm năng 5 sao"]
DISTRICTS = ["TP. Cao Lãnh", "Thành phố Sa Đéc", "TX. Hồng Ngự", "H. Tân Hồng", "Huyện Hồng Ngự", "Tam Nông",
             "huyện Tháp Mười", "H. Cao Lãnh", "Thanh Bình", "Lấp Vò", "H. Lai Vung", "Châu Thành"]
GROUPS = ["Thực phẩm", "Đồ uống", "Thảo dược", "Hàng thủ công mỹ nghệ", 1, 2]
ENTITIES = ["HTX Nông nghiệp", "Công ty TNHH", "Cơ sở", "Hộ kinh doanh", "DNTN", "Tổ hợp tác"]
KINDS = ["Mới", "Đánh giá lại", "Nâng hạng"]


_SYLLABLES = ("an bình cát diệu gia hòa khánh long minh nam phú quý sơn tân thạnh trung vĩnh xuân yến hưng "
              "lộc phát thành đạt hồng ngọc bảo châu kim mỹ thuận lợi tài đức").split()
_PRODUCTS = ("hạt sen sấy|trà sen|khô cá lóc|nem chua|quýt hồng|bánh phồng tôm|mật ong|chả lụa|gạo hữu cơ|"
             "xoài sấy|bột sen|rượu nếp|nước mắm|chiếu lác|giỏ lục bình|kẹo dừa|tương ớt|cá khô|bánh tráng").split("|")


def _name(i: int, parts: int, salt: int) -> str:
    words = []
    for k in range(parts):
        i, r = divmod(i * 7919 + salt + k, len(_SYLLABLES))
        words.append(_SYLLABLES[r])
    return " ".join(words).title()


def build(path: Path, rows: int) -> Path:
    """A registry like a province's multi-year export: title rows, one flat table, realistic repetition
    (about four evaluation rounds per product, distinct entity and product names)."""
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("Danh sách")
    ws.append(["DANH SÁCH SẢN PHẨM OCOP (dữ liệu mô phỏng cho benchmark)"])
    ws.append([])
    ws.append(HEADER)
    for i in range(rows):
        stars = 3 + i % 3
        score = {3: 50, 4: 70, 5: 90}[stars] + (i % 19) * 0.5
        year = 2019 + i % 7
        p = i % (rows // 4 or 1)
        ws.append([i + 1, f"{_PRODUCTS[p % len(_PRODUCTS)].capitalize()} {_name(p, 2, 11)}",
                   f"{ENTITIES[p % 6]} {_name(p // 2, 3, 5)}",
                   f"ấp {i % 9}, xã X{i % 40}", f"xã X{i % 40}", DISTRICTS[i % 12], GROUPS[i % 6],
                   f"{score:.1f}".replace(".", ","), f"{stars} sao" if i % 2 else stars, KINDS[i % 3],
                   f"{100 + i % 60}/QĐ-UBND-HC", dt.datetime(year, 1 + i % 12, 1 + i % 28), year,
                   "x" if i % 25 == 0 else None])
    wb.save(path)
    return path


def bare(path: Path) -> float:
    t = time.perf_counter()
    pd.read_excel(path, engine="calamine")
    return time.perf_counter() - t


def _options() -> dict:
    """No corrections or links; and no result cache, where the kit has one (the benchmark measures a real load)."""
    import inspect

    opts = {"corrections": None, "links": None}
    if "cache" in inspect.signature(oa.load_registry).parameters:
        opts["cache"] = False
    return opts


def kit(path: Path) -> float:
    t = time.perf_counter()
    reg = oa.load_registry(path, **_options())
    elapsed = time.perf_counter() - t
    assert len(reg.evaluations) > 0
    return elapsed


def _median_time(func, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        func()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _breakdown(path: Path, bare_median: float) -> None:
    """Where the time goes: the steps owned by other modules, measured alone on the same file."""
    from ocop_analysis import linking, safety

    reg = oa.load_registry(path, **_options())
    cols = ["entity_name", "product_name", "district_code", "year", "product_code",
            "source_file", "source_sheet", "source_row"]
    frame = reg.evaluations[cols].copy()
    parts = {
        "safety.check_file (issue 8 pre-parse checks)": _median_time(lambda: safety.check_file(path)),
        "linking.assign_product_ids (product identity)": _median_time(lambda: linking.assign_product_ids(frame)),
    }
    kit_median = _median_time(lambda: kit(path))
    for name, seconds in parts.items():
        print(f"  of which {name}: {seconds:.3f} s")
    rest = kit_median - sum(parts.values())
    print(f"  the loader itself (read, layout, parsing, accounting): {rest:.3f} s "
          f"= {rest / bare_median:.2f}x the bare read")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one load")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = build(Path(tmp) / "bench_registry.xlsx", args.rows)
        bare(path), kit(path)  # warm-up: imports, reference tables, caches
        bares, kits = [], []
        for _ in range(args.repeat):
            bares.append(bare(path))
            kits.append(kit(path))
        b, k = statistics.median(bares), statistics.median(kits)
        print(f"rows: {args.rows:,}; runs: {args.repeat}")
        print(f"pandas.read_excel(engine='calamine'): median {b:.3f} s  {[round(x, 3) for x in bares]}")
        print(f"oa.load_registry:                     median {k:.3f} s  {[round(x, 3) for x in kits]}")
        print(f"ratio load_registry / read_excel: {k / b:.2f}x (target <= 1.5x)")
        _breakdown(path, b)
        if args.profile:
            import cProfile
            import pstats
            cProfile.runctx("kit(path)", globals(), {"kit": kit, "path": path}, str(Path(tmp) / "prof"))
            pstats.Stats(str(Path(tmp) / "prof")).sort_stats("cumulative").print_stats(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
