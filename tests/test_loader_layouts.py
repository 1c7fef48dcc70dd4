"""Loader: layouts built inline with openpyxl; exact loaded rows and exact problem rows, worked out by hand."""
from __future__ import annotations

import datetime as dt

import openpyxl
import pandas as pd
import pytest

import ocop_analysis as oa
from ocop_analysis import schema

HEADER = ["STT", "Tên sản phẩm", "Tên chủ thể", "Địa chỉ", "Xã/Phường", "Huyện/Thành phố", "Nhóm sản phẩm",
          "Điểm", "Hạng sao", "Loại đánh giá", "Số quyết định", "Ngày quyết định", "Năm đánh giá", "Tiềm năng 5 sao"]


def save(tmp_path, name, sheets):
    """sheets: {title: (rows, options)}; options: merges (list), hidden (bool)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, spec in sheets.items():
        rows, opts = spec if isinstance(spec, tuple) else (spec, {})
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
        for m in opts.get("merges", []):
            ws.merge_cells(m)
        if opts.get("hidden"):
            ws.sheet_state = "hidden"
    path = tmp_path / name
    wb.save(path)
    return path


def load(path, **kw):
    return oa.load_registry(path, corrections=None, links=None, **kw)


def rows_of(reg, *cols):
    return [tuple(r) for r in reg.evaluations[["source_row", *cols]].astype(object).where(
        reg.evaluations[["source_row", *cols]].notna(), None).itertuples(index=False)]


def problem_rows(reg):
    return [(None if pd.isna(r.row) else int(r.row), r.problem, None if pd.isna(r.column) else r.column)
            for r in reg.problems.itertuples()]


def test_flat_layout_every_column(tmp_path):
    path = save(tmp_path, "flat.xlsx", {"DS": [
        HEADER,
        [1, "Hạt sen sấy", "HTX Nông nghiệp Mỹ Xương", "ấp 1, xã Mỹ Xương", "xã Mỹ Xương", "H. Cao Lãnh", "Thực phẩm",
         "72,5", "4 sao", "Mới", "1446/QĐ-UBND-HC", "30/11/2022", 2022, "x"],
        [2, "Trà sen", "Cty TNHH Sen Vàng", None, None, "TP. Sa Đéc", 2, 65, 3, "Đánh giá lại", "1446/QĐ-UBND-HC",
         dt.datetime(2022, 11, 30), 2022, None],
        [3, "Khô cá lóc", "Hộ kinh doanh Ba Tèo", None, None, "thị xã Hồng Ngự", "Thực phẩm", 40, "Không đạt",
         "Nâng hạng", None, None, 2023, None],
    ]})
    reg = load(path)
    ev = reg.evaluations
    assert list(ev.columns) == list(schema.EVALUATION_COLUMNS)
    assert rows_of(reg, "district_code", "district", "stars", "score", "certified", "year", "kind") == [
        (2, 873, "Huyện Cao Lãnh", 4, 72.5, True, 2022, "new"),
        (3, 867, "Thành phố Sa Đéc", 3, 65.0, True, 2022, "reevaluation"),
        (4, 868, "Thành phố Hồng Ngự", None, 40.0, False, 2023, "upgrade"),
    ]
    assert ev["entity_type"].tolist() == ["cooperative", "company", "household"]
    assert ev["five_star_candidate"].tolist() == [True, False, False]
    assert ev["decision_date"].tolist() == [pd.Timestamp("2022-11-30")] * 2 + [pd.NaT]
    # 36 months from the decision date; none for a failed round
    assert ev["valid_until"].tolist()[:2] == [pd.Timestamp("2025-11-30")] * 2
    assert pd.isna(ev["valid_until"].iloc[2])
    assert ev["group"].tolist() == [1, 2, 1]
    assert ev["commune"].tolist()[0] == "xã Mỹ Xương"
    assert reg.problems.empty
    src = reg.sources.iloc[0]
    assert (src.rows_seen, src.rows_loaded, src.rows_rejected, src.rows_skipped) == (4, 3, 0, 1)


def test_title_two_row_header_sections_subtotals_signature(tmp_path):
    rows = [
        ["UBND TỈNH ĐỒNG THÁP"],                                                           # 1 title
        ["DANH SÁCH SẢN PHẨM ĐẠT HẠNG OCOP NĂM 2020"],                                     # 2 title
        ["(Kèm theo Quyết định số 999/QĐ-UBND-HC ngày 05/10/2020 của UBND tỉnh)"],         # 3 title
        [],                                                                               # 4 blank
        ["STT", "Tên sản phẩm", "Tên chủ thể", "Kết quả đánh giá", None, "Ghi chú"],      # 5 header
        [None, None, None, "Điểm", "Hạng sao", None],                                     # 6 header
        ["(1)", "(2)", "(3)", "(4)", "(5)", "(6)"],                                       # 7 column numbers
        ["I. THÀNH PHỐ CAO LÃNH"],                                                        # 8 section
        [1, "Bánh phồng tôm", "Cơ sở Tư Hiền", 66, 3],                                    # 9
        [2, "Nem chua", "Cơ sở Út Nhỏ", 81, 4],                                            # 10
        [None, "Cộng", "2 sản phẩm"],                                                      # 11 subtotal
        ["II", "Huyện Lai Vung"],                                                          # 12 section (2 cells)
        [1, "Quýt hồng", "HTX Long Hậu", 71, 4],                                           # 13
        [],                                                                               # 14 blank
        ["Tổng cộng: 3 sản phẩm"],                                                         # 15 total
        [None, None, None, "KT. CHỦ TỊCH"],                                               # 16 signature
        [None, None, None, "PHÓ CHỦ TỊCH"],                                               # 17 signature
        [None, None, None, "Nguyễn Văn A"],                                               # 18 signature
    ]
    path = save(tmp_path, "phu_luc.xlsx", {"Phụ lục": (rows, {"merges": ["D5:E5", "A5:A6", "B5:B6", "C5:C6"]})})
    reg = load(path)
    assert rows_of(reg, "district_code", "stars", "score", "year", "decision_no") == [
        (9, 866, 3, 66.0, 2020, "999/QĐ-UBND-HC"),
        (10, 866, 4, 81.0, 2020, "999/QĐ-UBND-HC"),
        (13, 876, 4, 71.0, 2020, "999/QĐ-UBND-HC"),
    ]
    assert reg.evaluations["decision_date"].tolist() == [pd.Timestamp("2020-10-05")] * 3
    assert reg.problems.empty
    src = reg.sources.iloc[0]
    assert (src.rows_seen, src.rows_loaded, src.rows_rejected, src.rows_skipped, src.header_rows) == (18, 3, 0, 15, 2)
    assert "2-row header" in src.layout and "sections" in src.layout


def test_section_typo_and_ambiguous_section(tmp_path):
    rows = [
        ["STT", "Tên sản phẩm", "Tên chủ thể", "Hạng sao"],
        ["1. Huyện Lai Vug"],
        [1, "Nem", "Cơ sở A", 3],
        ["2. Cao Lãnh"],
        [1, "Xoài", "HTX B", 4],
    ]
    reg = load(save(tmp_path, "s.xlsx", {"Phụ lục": rows}))
    assert reg.evaluations.empty
    assert problem_rows(reg) == [(3, "unknown_district", "district"), (5, "ambiguous_district", "district")]
    msgs = reg.problems["message"].tolist()
    assert msgs[0] == ("Sheet 'Phụ lục', row 3: district 'Huyện Lai Vug' (from the section row) is not a district "
                       "of Đồng Tháp — did you mean Huyện Lai Vung?")
    assert "could be Thành phố Cao Lãnh (866) or Huyện Cao Lãnh (873): write TP. Cao Lãnh or H. Cao Lãnh" in msgs[1]


def test_sheet_per_district_hidden_and_no_table(tmp_path):
    head = ["TT", "Ten san pham", "Chu the", "Hang sao", "Nam"]
    path = save(tmp_path, "per_district.xlsx", {
        "TP Cao Lanh": [head, [1, "Hạt sen", "HTX A", "5*", 2021]],
        "H. Lai Vung": [head, [1, "Quýt", "HTX B", "★★★★", 2021], [2, "Nem", "HTX C", "Ba sao", 2021]],
        "Ẩn": ([head, [1, "Ẩn đi", "HTX D", 3, 2021]], {"hidden": True}),
        "Tổng hợp": [["Huyện", "3 sao", "4 sao"], ["Lai Vung", 1, 1]],
    })
    reg = load(path)
    assert rows_of(reg, "source_sheet", "district_code", "stars") == [
        (2, "TP Cao Lanh", 866, 5), (2, "H. Lai Vung", 876, 4), (3, "H. Lai Vung", 876, 3)]
    src = reg.sources.set_index("sheet")
    assert src.loc["Ẩn", "status"] == "skipped" and src.loc["Ẩn", "note"] == "hidden sheet"
    assert (src.loc["Ẩn", "rows_seen"], src.loc["Ẩn", "rows_skipped"]) == (2, 2)
    assert src.loc["Tổng hợp", "status"] == "skipped"
    assert src.loc["Tổng hợp", "note"].startswith("no product table")
    assert reg.problems.empty


def test_english_headers_and_vertical_merges(tmp_path):
    rows = [
        ["No.", "Product name", "Entity", "District", "Score", "Stars", "Year"],
        [1, "Dried lotus seeds", "HTX Sen", "Huyện Tháp Mười", 70, 4, 2024],
        [2, "Lotus tea", None, None, 60, 3, 2024],
    ]
    # entity and district merged over both product rows
    reg = load(save(tmp_path, "en.xlsx", {"Sheet1": (rows, {"merges": ["C2:C3", "D2:D3"]})}))
    assert rows_of(reg, "entity_name", "district_code", "stars") == [
        (2, "HTX Sen", 872, 4), (3, "HTX Sen", 872, 3)]


def test_star_sections_and_entity_in_brackets(tmp_path):
    rows = [
        ["STT", "Tên sản phẩm", "Địa chỉ", "Số điểm"],
        ["I. SẢN PHẨM ĐẠT 4 SAO"],
        [1, "Chả hấp (Công ty TNHH chế biến thủy sản Tuấn Cường)", "phường 4, thành phố Cao Lãnh", 75],
        ["II. SẢN PHẨM ĐẠT 3 SAO"],
        [1, "Bún sấy (DNTN Bùi Thanh Tú)", "xã Tân Thành, huyện Lai Vung", 60],
    ]
    reg = load(save(tmp_path, "stars_first.xlsx", {"DS": rows}))
    assert rows_of(reg, "product_name", "entity_name", "district_code", "stars") == [
        (3, "Chả hấp", "Công ty TNHH chế biến thủy sản Tuấn Cường", 866, 4),
        (5, "Bún sấy", "DNTN Bùi Thanh Tú", 876, 3)]


def test_every_row_accounted_and_problems_named(tmp_path):
    rows = [
        HEADER[:10],
        [1, "A", "HTX A", None, None, "H. Tam Nông", "Thực phẩm", 72, 4, "Mới"],      # 2 ok
        [2, None, "HTX B", None, None, "H. Tam Nông", "Thực phẩm", 72, 4, "Mới"],     # 3 missing_name
        [3, "C", "HTX C", None, None, "H. Tam Nông", "Thực phẩm", 72, None, "Mới"],   # 4 missing_stars
        [4, "D", "HTX D", None, None, "H. Tam Nông", "Thực phẩm", 72, "7 sao", "Mới"],  # 5 invalid_stars
        [5, "E", "HTX E", None, None, "Tam Nong", "Thực phẩm", 72, 4, "Mới"],        # 6 ok (no diacritics)
        [6, "F", "HTX F", None, None, "H. Tam Nông", "Hàng điện tử", 55, 3, "Mới"],  # 7 unknown_group
        [7, "G", "HTX G", None, None, "H. Tam Nông", "Thực phẩm", 55, 3, "Thi lại"],  # 8 unknown_kind
        [8, "A", "Hợp tác xã A", None, None, "H. Tam Nông", "Thực phẩm", 72, 4, "Mới"],  # 9 duplicate of row 2
        [9, "H", "HTX H", None, None, "H. Tam Nông", "Thực phẩm", 95, 3, "Mới"],     # 10 score_star_mismatch
        [10, "I", "HTX I", None, None, "H. Tam Nông", "Thực phẩm", -5, 3, "Mới"],    # 11 score_out_of_range
    ]
    reg = load(save(tmp_path, "ocop_2023.xlsx", {"Phụ lục": rows}))
    assert reg.evaluations["source_row"].tolist() == [2, 6, 7, 8, 10, 11]
    assert reg.evaluations["year"].tolist() == [2023] * 6           # from the file name
    assert problem_rows(reg) == [
        (3, "missing_name", "product_name"), (4, "missing_stars", "stars"), (5, "invalid_stars", "stars"),
        (7, "unknown_group", "group"), (8, "unknown_kind", "kind"), (9, "duplicate", "product_name"),
        (10, "score_star_mismatch", "score"), (11, "score_out_of_range", "score")]
    dup = reg.problems.set_index("row").loc[9, "message"]
    assert "ocop_2023.xlsx, sheet 'Phụ lục', row 2" in dup
    ev = reg.evaluations.set_index("source_row")
    assert pd.isna(ev.loc[7, "group"]) and pd.isna(ev.loc[8, "kind"]) and pd.isna(ev.loc[11, "score"])
    assert ev.loc[10, "score"] == 95.0 and ev.loc[10, "stars"] == 3
    src = reg.sources.iloc[0]
    assert (src.rows_seen, src.rows_loaded, src.rows_rejected, src.rows_skipped) == (11, 6, 4, 1)


def test_year_fallbacks_and_estimated_validity(tmp_path):
    rows = [["STT", "Tên sản phẩm", "Tên chủ thể", "Huyện", "Hạng sao", "Quyết định công nhận"],
            [1, "A", "HTX A", "H. Lấp Vò", 3, "1580/QĐ-UBND-HC ngày 16/12/2019"],
            [2, "B", "HTX B", "H. Lấp Vò", 3, None]]
    reg = load(save(tmp_path, "ds.xlsx", {"Năm 2021": rows}))
    ev = reg.evaluations
    assert ev["year"].tolist() == [2019, 2021]                   # decision date, else the sheet name
    assert ev["decision_no"].tolist()[0] == "1580/QĐ-UBND-HC"
    assert ev["valid_until"].tolist() == [pd.Timestamp("2022-12-16"), pd.Timestamp("2024-12-31")]
    assert ev["valid_until_estimated"].tolist() == [False, True]


def test_taxonomy_by_year(tmp_path):
    rows = [["STT", "Tên sản phẩm", "Tên chủ thể", "Huyện", "Nhóm", "Hạng sao", "Năm"],
            [1, "A", "HTX A", "H. Lấp Vò", 5, 3, 2020],       # 1048 group 5 (lưu niệm) -> 148 group 4
            [2, "B", "HTX B", "H. Lấp Vò", 5, 3, 2023],       # 148 group 5 (sinh vật cảnh)
            [3, "C", "HTX C", "H. Lấp Vò", "Thảo dược", 3, 2021]]
    reg = load(save(tmp_path, "g.xlsx", {"DS": rows}))
    assert reg.evaluations["group"].tolist() == [4, 5, 3]
    assert reg.evaluations["group_name"].tolist()[2] == "Dược liệu và sản phẩm từ dược liệu"


def test_revocation_list_goes_to_revocations(tmp_path):
    rows = [["DANH SÁCH SẢN PHẨM OCOP BỊ THU HỒI"],
            ["STT", "Tên sản phẩm", "Tên chủ thể", "Huyện/Thành phố", "Hạng sao", "Năm công nhận",
             "Số quyết định thu hồi", "Ngày thu hồi", "Lý do thu hồi"],
            [1, "Hạt sen", "HTX A", "H. Tháp Mười", 3, 2019, "58/QĐ-UBND-HC", "10/02/2023",
             "Không đánh giá lại trong thời hạn 36 tháng"],
            [2, "Trà", "HTX B", "TP. Sa Đéc", 4, 2020, "58/QĐ-UBND-HC", "10/02/2023", "Không đạt tiêu chí bắt buộc"]]
    reg = load(save(tmp_path, "thu_hoi.xlsx", {"DS": rows}))
    assert reg.evaluations.empty
    rv = reg.revocations
    assert rv[["source_row", "district_code", "stars", "year_recognized", "reason"]].values.tolist() == [
        [3, 872, 3, 2019, "not_reevaluated"], [4, 867, 4, 2020, "failed_mandatory"]]
    assert rv["revoked_on"].tolist() == [pd.Timestamp("2023-02-10")] * 2
    assert rv["product_id"].notna().all()
    assert reg.sources.iloc[0]["layout"].startswith("revocation list")


def test_folder_lists_workbooks_and_ignores_lock_files(tmp_path):
    save(tmp_path, "b.xlsx", {"DS": [["Tên sản phẩm", "Hạng sao", "Huyện"], ["A", 3, "H. Lấp Vò"]]})
    save(tmp_path, "a.xlsx", {"DS": [["Tên sản phẩm", "Hạng sao", "Huyện"], ["B", 4, "H. Lấp Vò"]]})
    (tmp_path / "~$a.xlsx").write_bytes(b"lock")
    (tmp_path / "notes.txt").write_text("x")
    reg = load(tmp_path)
    assert reg.sources["file"].tolist() == ["a.xlsx", "b.xlsx"]
    assert reg.evaluations["product_name"].tolist() == ["B", "A"]


def test_inputs_not_modified(tmp_path):
    path = save(tmp_path, "x.xlsx", {"DS": [["Tên sản phẩm", "Hạng sao", "Huyện"], ["A", 3, "H. Lấp Vò"]]})
    before = path.read_bytes()
    load(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_other_formats_through_libreoffice(tmp_path, fmt):
    import shutil
    import subprocess

    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice is not installed (the committed fixtures cover .xls/.ods in CI)")
    rows = [["Tiêu đề"], [], ["STT", "Tên sản phẩm", "Huyện", "Hạng sao"], [1, "A", "H. Lấp Vò", 3]]
    src = save(tmp_path, "lo.xlsx", {"DS": rows})
    subprocess.run(["soffice", "--headless", "--convert-to", fmt, "--outdir", str(tmp_path), str(src)],
                   check=True, capture_output=True, timeout=180)
    reg = load(tmp_path / f"lo.{fmt}")
    assert rows_of(reg, "district_code", "stars") == [(4, 875, 3)]


def test_note_rows_below_the_table_are_skipped(tmp_path):
    rows = [["STT", "Tên sản phẩm", "Tên chủ thể", "Huyện", "Hạng sao"],
            [1, "Hạt sen", "HTX A", "H. Tháp Mười", 4],
            [None, "Ghi chú: danh sách gồm sản phẩm đạt từ 3 sao trở lên"],
            [None, "Nguồn: Sở Nông nghiệp"],
            [None, "Bánh pía"]]                      # a product with nothing else: reported, not skipped
    reg = load(save(tmp_path, "notes.xlsx", {"DS": rows}))
    assert reg.evaluations["source_row"].tolist() == [2]
    assert problem_rows(reg) == [(5, "unknown_district", "district")]  # first error of the row
    src = reg.sources.iloc[0]
    assert (src.rows_seen, src.rows_loaded, src.rows_rejected, src.rows_skipped) == (5, 1, 1, 3)


def test_one_column_per_star_rank_marked_with_x(tmp_path):
    rows = [["STT", "Tên sản phẩm", "Tên chủ thể", "Huyện", "Kết quả phân hạng", None, None],
            [None, None, None, None, "3 sao", "4 sao", "5 sao"],
            [1, "Hạt sen", "HTX A", "H. Tháp Mười", None, "x", None],
            [2, "Trà sen", "HTX A", "H. Tháp Mười", "x", None, None],
            [3, "Mứt sen", "HTX A", "H. Tháp Mười", "x", "x", None]]     # two marks: not a rank
    reg = load(save(tmp_path, "marks.xlsx", {"DS": (rows, {"merges": ["E1:G1"]})}))
    assert rows_of(reg, "stars") == [(3, 4), (4, 3)]
    assert problem_rows(reg) == [(5, "invalid_stars", "stars")]
    assert "'đánh dấu nhiều cột hạng sao: 3, 4' is not a star rank" in reg.problems["message"].iloc[0]
