"""Hostile and broken inputs (issue 8): each case's exact outcome, and for the bombs time and peak memory.

Bombs are built at test time in ``tmp_path`` (a few KB to 2 MB on disk) by writing the zip
structures by hand, so a 2 GiB member costs nothing to make. Each bomb is loaded in a child
process: a tiny wrapper runs ``load_registry`` in a grandchild and reports
``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` (the grandchild's peak memory), while the
grandchild reports the CPU time of the ``load_registry`` call itself (CPU seconds, not wall
clock, so a busy machine does not fail the test). The grandchild runs under an address-space
limit, so a regression fails the test instead of swamping the machine.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib
from pathlib import Path

import pytest

import ocop_analysis as oa
from ocop_analysis import safety
from ocop_analysis.errors import RegistryError

FIXTURES = Path(__file__).parent / "fixtures"
FLAT = FIXTURES / "flat_clean.xlsx"       # one sheet "Danh sách", 12 products, inline strings
FLAT_ODS = FIXTURES / "flat_clean.ods"

MAX_CPU_S = 2.0        # CPU seconds of one refused load_registry call
MAX_RSS_MB = 300       # peak resident memory of the whole child (Python + pandas + the kit included)
LEAKS = ("Traceback", "BadZipFile", "zipfile", "XmlError", "CalamineError", "calamine", "Error:", "ParseError",
         "File \"", "expat")


# --------------------------------------------------------------------------- building hostile files

def deflate(data: bytes) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def repeat_deflate(mib: int, unit: bytes) -> bytes:
    """A raw deflate stream of ``mib`` MiB of ``unit`` repeated, made from one flushed 1 MiB block.

    After a full flush each further block compresses to the same bytes, so the stream is
    first + middle × (mib − 1) + end: a real ~1000:1 bomb, built instantly.
    """
    chunk = (unit * ((1 << 20) // len(unit) + 1))[: 1 << 20]
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    middle = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    return first + middle * (mib - 1) + c.flush()


def write_zip(path: Path, members: list[tuple], flags: int = 0) -> Path:
    """Write a zip by hand. members: (name, raw bytes, method 0|8, declared size, crc, share) where
    ``share`` names an earlier member whose local data this central-directory entry points at
    (overlapping entries, as in D. Fifield's non-recursive zip bomb)."""
    out, central, offsets = bytearray(), bytearray(), {}
    for name, raw, method, size, crc, share in members:
        n = name.encode()
        if share is None:
            offsets[name] = len(out)
            out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, flags, method, 0, 0x21, crc, len(raw), size, len(n), 0)
            out += n + raw
        off = offsets[share or name]
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, flags, method, 0, 0x21, crc, len(raw), size,
                               len(n), 0, 0, 0, 0, 0, off) + n
    start = len(out)
    out += central
    count = len(members) & 0xFFFF
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), start, 0)
    path.write_bytes(bytes(out))
    return path


def flat_members(replace: dict[str, bytes] | None = None) -> list[tuple]:
    """flat_clean.xlsx's members as write_zip tuples, some parts replaced."""
    replace = replace or {}
    with zipfile.ZipFile(FLAT) as src:
        parts = {i.filename: src.read(i.filename) for i in src.infolist()}
    parts.update(replace)
    return [(n, deflate(d), 8, len(d), zlib.crc32(d), None) for n, d in parts.items()]


def edited_copy(src: Path, dst: Path, edit) -> Path:
    """Copy a zip workbook, passing every member's bytes through ``edit(name, data)``."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, edit(info.filename, zin.read(info.filename)), compress_type=info.compress_type)
    return dst


def sheet_edit(old: bytes, new: bytes, member="xl/worksheets/sheet1.xml"):
    def edit(name, data):
        if name == member:
            assert old in data, "fixture changed; the test's edit no longer applies"
            return data.replace(old, new, 1)
        return data
    return edit


FIRST_NAME = "Hạt sen sấy giòn".encode()
LAUGHS = ('<!DOCTYPE worksheet [<!ENTITY lol "lol">' + "".join(
    f'<!ENTITY lol{i} "{("&lol%s;" % ("" if i == 1 else i - 1)) * 10}">' for i in range(1, 10)) + "]>")
QUADRATIC = '<!DOCTYPE worksheet [<!ENTITY a "' + "A" * 100_000 + '">]>'
EXTERNAL = '<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
ENTITY_ATTACKS = {"billion_laughs": (LAUGHS, "&lol9;"), "quadratic_blowup": (QUADRATIC, "&a;" * 5000),
                  "external_entity": (EXTERNAL, "&xxe;")}


def entity_xlsx(tmp_path: Path, attack: str) -> Path:
    prolog, ref = ENTITY_ATTACKS[attack]

    def edit(name, data):
        if name == "xl/worksheets/sheet1.xml":
            return prolog.encode() + data.replace(FIRST_NAME, ref.encode(), 1)
        return data
    return edited_copy(FLAT, tmp_path / f"{attack}.xlsx", edit)


# --------------------------------------------------------------------------- measuring a load in a child

CHILD = textwrap.dedent("""
    import json, resource, sys, time, traceback
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    import ocop_analysis as oa
    from ocop_analysis.errors import RegistryError
    mode, path = sys.argv[1], sys.argv[2]
    t = time.process_time()
    try:
        if mode == "load":
            reg = oa.load_registry(path, corrections=None, links=None)
            out = {"outcome": "loaded", "rows": len(reg.evaluations)}
        else:
            import python_calamine as pc
            wb = pc.CalamineWorkbook.from_path(path)
            rows = [wb.get_sheet_by_name(n).to_python() for n in wb.sheet_names]
            out = {"outcome": "read", "cells": sum(len(r) for s in rows for r in s)}
    except RegistryError as exc:
        out = {"outcome": "RegistryError", "message": str(exc)}
    except BaseException as exc:
        out = {"outcome": type(exc).__name__, "message": str(exc)[:500], "trace": traceback.format_exc()[-2000:]}
    out["cpu_s"] = time.process_time() - t
    print(json.dumps(out))
""")

WRAPPER = textwrap.dedent("""
    import json, resource, subprocess, sys
    p = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=300)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"rc": p.returncode, "stdout": p.stdout, "stderr": p.stderr[-2000:],
                      "maxrss_mb": ru.ru_maxrss / 1024}))
""")


def measured(path: Path, mode: str = "load", env: dict | None = None) -> dict:
    import os
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run([sys.executable, "-c", WRAPPER, sys.executable, "-c", CHILD, mode, str(path)],
                          capture_output=True, text=True, timeout=400, env=full_env)
    report = json.loads(proc.stdout)
    result = json.loads(report["stdout"]) if report["rc"] == 0 and report["stdout"].strip() else {}
    result.update(rc=report["rc"], maxrss_mb=report["maxrss_mb"], stderr=report["stderr"])
    MEASURED[f"{path.name} [{mode}]"] = (mode, result.get("outcome"), round(result.get("cpu_s", -1), 3), round(report["maxrss_mb"]))
    return result


MEASURED: dict[str, tuple] = {}


def assert_refused_fast(result: dict, *fragments: str) -> str:
    assert result["rc"] == 0, result["stderr"]
    assert result["outcome"] == "RegistryError", result
    message = result["message"]
    assert_plain(message)
    for fragment in fragments:
        assert fragment in message, message
    assert result["cpu_s"] < MAX_CPU_S, result
    assert result["maxrss_mb"] < MAX_RSS_MB, result
    return message


def assert_plain(message: str) -> None:
    """One plain sentence for a clerk: no parser traceback or exception class names."""
    assert not any(leak in message for leak in LEAKS), message
    assert "\n" not in message
    assert message.rstrip().endswith((".", ")")), message


def refused(path: Path) -> str:
    with pytest.raises(RegistryError) as info:
        oa.load_registry(path, corrections=None, links=None)
    message = str(info.value)
    assert_plain(message)
    assert message.startswith(path.name) or path.name in message
    return message


# --------------------------------------------------------------------------- zip bombs

def test_zip_bomb_one_member_of_2_gib(tmp_path):
    # sharedStrings.xml declared (truthfully) as 2 GiB of "A" inside <t>: one deflate stream of ~2 MB.
    raw = repeat_deflate(2048, b"A")
    members = flat_members() + [("xl/sharedStrings.xml", raw, 8, 2048 << 20, 0, None)]
    path = write_zip(tmp_path / "bomb_2gib.xlsx", members)
    assert path.stat().st_size < 3 << 20
    assert_refused_fast(measured(path), "bomb_2gib.xlsx", "zip bomb", "2,048 MB")


def test_zip_bomb_by_compression_ratio(tmp_path):
    # 200 MiB in one sheet part (under the 256 MB member cap) at ~1000:1: refused by the ratio cap (200).
    raw = repeat_deflate(200, b"<row><c><v>1</v></c></row>")
    members = [m for m in flat_members() if m[0] != "xl/worksheets/sheet1.xml"]
    members.append(("xl/worksheets/sheet1.xml", raw, 8, 200 << 20, 0, None))
    path = write_zip(tmp_path / "bomb_ratio.xlsx", members)
    assert_refused_fast(measured(path), "bomb_ratio.xlsx", "times larger than it is stored (limit 200 times)")


def test_zip_bomb_by_total_size_of_many_members(tmp_path):
    # 1100 parts of exactly 1 MiB each (ratio not checked that small) = 1100 MB > 1024 MB total cap.
    raw = repeat_deflate(1, b"\0")
    members = flat_members() + [(f"xl/media/pad{i}.bin", raw, 8, 1 << 20, 0, None) for i in range(1100)]
    path = write_zip(tmp_path / "bomb_total.xlsx", members)
    assert_refused_fast(measured(path), "bomb_total.xlsx", "in all (limit 1,024 MB)")


def test_zip_bomb_overlapping_entries(tmp_path):
    # Fifield-style: 4000 central-directory entries all pointing at ONE 1 MiB local member.
    raw = repeat_deflate(1, b"\0")
    members = flat_members() + [("xl/media/k0.bin", raw, 8, 1 << 20, 0, None)]
    members += [(f"xl/media/k{i}.bin", raw, 8, 1 << 20, 0, "xl/media/k0.bin") for i in range(1, 4000)]
    path = write_zip(tmp_path / "bomb_overlap.xlsx", members)
    assert path.stat().st_size < 1 << 20
    assert_refused_fast(measured(path), "bomb_overlap.xlsx", "zip bomb")


def test_zip_with_too_many_members(tmp_path):
    members = flat_members() + [(f"xl/x/{i}.xml", b"\x03\x00", 8, 0, 0, None) for i in range(12_000)]
    path = write_zip(tmp_path / "many_parts.xlsx", members)
    assert_refused_fast(measured(path), "many_parts.xlsx", "12,009 parts", "limit 10,000")


def test_lying_declared_size_is_stopped_by_the_reader(tmp_path):
    # The central directory declares the real sheet size (and its CRC) but the deflate stream goes on
    # for 300 MiB more. Python's zipfile and calamine's zip crate both stop at the declared size.
    with zipfile.ZipFile(FLAT) as src:
        data = src.read("xl/worksheets/sheet1.xml")
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = c.compress(data) + c.flush(zlib.Z_FULL_FLUSH)
    blank = b" " * (1 << 20)
    raw += c.compress(blank) + c.flush(zlib.Z_FULL_FLUSH)
    raw += (c.compress(blank) + c.flush(zlib.Z_FULL_FLUSH)) * 300 + c.flush()
    members = [m for m in flat_members() if m[0] != "xl/worksheets/sheet1.xml"]
    members.append(("xl/worksheets/sheet1.xml", raw, 8, len(data), zlib.crc32(data), None))
    path = write_zip(tmp_path / "lying_size.xlsx", members)
    assert_refused_fast(measured(path), "lying_size.xlsx", "damaged")


# --------------------------------------------------------------------------- XML entity attacks

@pytest.mark.parametrize("attack", sorted(ENTITY_ATTACKS))
def test_xml_entity_attack_inside_xlsx_is_refused(tmp_path, attack):
    path = entity_xlsx(tmp_path, attack)
    assert_refused_fast(measured(path), path.name, "declares XML entities")


@pytest.mark.parametrize("attack", sorted(ENTITY_ATTACKS))
def test_calamine_alone_refuses_entities(tmp_path, attack):
    """Checked, not assumed: without our pre-check, calamine (quick-xml) does not expand DTD
    entities — it stops with "unrecognized entity", in bounded time and memory, reading nothing."""
    path = entity_xlsx(tmp_path, attack)
    result = measured(path, mode="calamine")
    assert result["rc"] == 0, result["stderr"]
    assert result["outcome"] == "XmlError" and "unrecognized entity" in result["message"], result
    assert "root:" not in json.dumps(result)  # /etc/passwd was not pulled in
    assert result["cpu_s"] < MAX_CPU_S and result["maxrss_mb"] < MAX_RSS_MB, result


def test_xml_entities_inside_ods_are_refused(tmp_path):
    def edit(name, data):
        if name == "content.xml":
            head, sep, rest = data.partition(b"?>")
            return head + sep + LAUGHS.replace("worksheet", "office:document-content").encode() + rest
        return data
    path = edited_copy(FLAT_ODS, tmp_path / "laughs.ods", edit)
    assert_refused_fast(measured(path), "laughs.ods", "declares XML entities")


def test_spreadsheetml_billion_laughs_fixture(tmp_path):
    path = shutil.copy(FIXTURES / "xml_bomb.xls", tmp_path / "xml_bomb.xls")
    assert_refused_fast(measured(Path(path)), "xml_bomb.xls", "entities")


# --------------------------------------------------------------------------- grid bombs (calamine's dense grid)

def far_cell_xlsx(tmp_path: Path, name: str, row_xml: bytes) -> Path:
    return edited_copy(FLAT, tmp_path / name, sheet_edit(b"</sheetData>", row_xml + b"</sheetData>"))


def test_one_value_in_the_last_cell_is_refused(tmp_path):
    # 6 KB on disk; calamine would allocate 1,048,576 × 16,384 cells (549 GB) and abort the process.
    path = far_cell_xlsx(tmp_path, "far_cell.xlsx", b'<row r="1048576"><c r="XFD1048576" t="n"><v>1</v></c></row>')
    assert path.stat().st_size < 10_000
    assert_refused_fast(measured(path), "far_cell.xlsx", "row 1,048,576 and column 16,384", "5,000,000 cells")


def test_calamine_alone_aborts_on_a_far_cell(tmp_path):
    """Why the grid check exists: calamine alone dies on that file (an uncatchable Rust abort)."""
    path = far_cell_xlsx(tmp_path, "far_cell.xlsx", b'<row r="1048576"><c r="XFD1048576" t="n"><v>1</v></c></row>')
    result = measured(path, mode="calamine")
    assert result["rc"] != 0 or result.get("outcome") in ("MemoryError", "CalamineError"), result


@pytest.mark.parametrize("part", ["xl/worksheets/sheet1.dat", "xl/media/image1.png", "xl/data/sheet1.xml"])
def test_a_far_cell_in_a_part_with_any_name_is_refused(tmp_path, part):
    """The workbook's relationships can send calamine to any part; every part is checked whole, whatever
    its name or extension (a sheet part named .dat was never looked at before review)."""
    def edit(name, data):
        if name == "xl/_rels/workbook.xml.rels":
            return data.replace(b"worksheets/sheet1.xml", part.encode()[3:])
        if name == "xl/worksheets/sheet1.xml":
            return data.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576" t="n"><v>1</v></c></row>'
                                + b"</sheetData>", 1)
        return data
    moved = tmp_path / "moved.xlsx"
    with zipfile.ZipFile(FLAT) as zin, zipfile.ZipFile(moved, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            name = part if info.filename == "xl/worksheets/sheet1.xml" else info.filename
            zout.writestr(name, edit(info.filename, zin.read(info.filename)))
    assert_refused_fast(measured(moved), "moved.xlsx", "row 1,048,576 and column 16,384")


def test_a_sheet_far_down_a_big_part_is_refused(tmp_path):
    """A worksheet's cell table after 2 MB of something else in a part at an unusual path is still found."""
    def edit(name, data):
        if name == "xl/_rels/workbook.xml.rels":
            return data.replace(b"worksheets/sheet1.xml", b"data/blob.xml")
        return data
    moved = tmp_path / "blob.xlsx"
    with zipfile.ZipFile(FLAT) as zin, zipfile.ZipFile(moved, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = edit(info.filename, zin.read(info.filename))
            if info.filename == "xl/worksheets/sheet1.xml":
                head, sep, rest = data.partition(b"<sheetData>")
                noise = b"<!-- " + bytes(random.Random(1).choices(b"abcdefgh ", k=2_000_000)) + b" -->"
                data = head + noise + sep + rest.replace(
                    b"</sheetData>", b'<row r="1048576"><c r="XFD1048576" t="n"><v>1</v></c></row></sheetData>', 1)
                zout.writestr("xl/data/blob.xml", data)
                continue
            zout.writestr(info.filename, data)
    assert_refused_fast(measured(moved), "blob.xlsx", "row 1,048,576 and column 16,384")


def test_a_far_row_without_cell_references_is_refused(tmp_path):
    # <c> without r= takes its row from <row r=…>: 1,048,576 rows × 14 columns (calamine: 470 MB, 3 s).
    path = far_cell_xlsx(tmp_path, "far_row.xlsx", b'<row r="1048576"><c t="n"><v>1</v></c></row>')
    assert_refused_fast(measured(path), "far_row.xlsx", "row 1,048,576 and column 14")


def test_styled_empty_far_cell_is_harmless_and_loads(tmp_path):
    # An empty styled cell far away is not a value; calamine ignores it, but our check counts it only if
    # it is within the grid limit: row 5,000 × column 30 = 150,000 cells, well under the limit.
    path = far_cell_xlsx(tmp_path, "styled_far.xlsx", b'<row r="5000"><c r="AD5000" s="0"/></row>')
    reg = oa.load_registry(path, corrections=None, links=None)
    assert len(reg.evaluations) == 12


def test_ods_repeated_cells_bomb_is_refused(tmp_path):
    # 20,000 rows × 1,000 columns of the value 1, written as one repeated cell (26 KB on disk;
    # calamine alone: 1.3 GB and 5 s before converting anything to Python).
    old = (b'<table:table-row table:style-name="ro1" table:number-rows-repeated="1048562">'
           b'<table:table-cell table:number-columns-repeated="16384"/></table:table-row>')
    new = (b'<table:table-row table:number-rows-repeated="20000"><table:table-cell table:number-columns-repeated="1000" '
           b'office:value-type="float" office:value="1"><text:p>1</text:p></table:table-cell></table:table-row>')
    path = edited_copy(FLAT_ODS, tmp_path / "repeat_bomb.ods", sheet_edit(old, new, member="content.xml"))
    assert_refused_fast(measured(path), "repeat_bomb.ods", "row 20,013 and column 1,000")


def test_libreoffice_padding_rows_do_not_count():
    # LibreOffice pads each sheet with empty rows/cells repeated to XFD1048576: not part of the grid.
    reg = oa.load_registry(FLAT_ODS, corrections=None, links=None)
    assert len(reg.evaluations) == 12


def ssml(tmp_path: Path, name: str, extra: str) -> Path:
    text = (FIXTURES / "fake_xls_spreadsheetml.xls").read_text(encoding="utf-8")
    assert "</Table>" in text
    path = tmp_path / name
    path.write_text(text.replace("</Table>", extra + "</Table>", 1), encoding="utf-8")
    return path


def test_spreadsheetml_index_jump_is_refused(tmp_path):
    # 3 KB of XML; the reader would pad 200,000 rows to 5,000 columns (workbook.py alone: MemoryError after 20 s).
    path = ssml(tmp_path, "ssml_jump.xls", '<Row ss:Index="200000"><Cell ss:Index="5000"><Data ss:Type="String">x'
                                          '</Data></Cell></Row>')
    assert_refused_fast(measured(path), "ssml_jump.xls", "row 200,000 and column 5,000")


def test_spreadsheetml_merge_across_is_refused(tmp_path):
    path = ssml(tmp_path, "ssml_merge.xls", '<Row><Cell ss:MergeAcross="300000000"><Data ss:Type="String">x</Data>'
                                            '</Cell></Row>')
    assert_refused_fast(measured(path), "ssml_merge.xls", "column 300,000,001")


def test_spreadsheetml_fixture_still_reads():
    assert len(oa.load_registry(FIXTURES / "fake_xls_spreadsheetml.xls", corrections=None, links=None).evaluations) > 0


def test_html_with_a_plain_doctype_is_told_as_html(tmp_path):
    path = tmp_path / "export.xls"
    path.write_text("<!DOCTYPE html>\n<html><body><table><tr><td>Tên sản phẩm</td></tr></table></body></html>")
    assert "web page (HTML table)" in refused(path)


def far_cell_xls(tmp_path: Path) -> Path:
    """flat_clean.xls with one cell record (RK or LABELSST) moved to IV65536 (the last cell of a .xls sheet)."""
    data = bytearray((FIXTURES / "flat_clean.xls").read_bytes())
    stream = safety._ole2_stream(bytes(data), ("Workbook", "Book"))
    pos = 0
    while pos + 4 <= len(stream):
        rtype, rlen = struct.unpack_from("<HH", stream, pos)
        record = stream[pos:pos + 4 + rlen]
        if rtype in (0x027E, 0x00FD) and bytes(data).count(record) == 1:  # RK number, shared string
            at = bytes(data).find(record)
            struct.pack_into("<HH", data, at + 4, 65535, 255)
            path = tmp_path / "far_cell.xls"
            path.write_bytes(bytes(data))
            return path
        pos += 4 + rlen
    raise AssertionError("no cell record found in flat_clean.xls")


def test_xls_with_a_value_in_the_last_cell_is_refused(tmp_path):
    # calamine alone: a 65,536 × 256 grid, 1.3 GB and 4 s for a 10 KB file (measured once by hand).
    path = far_cell_xls(tmp_path)
    assert_refused_fast(measured(path), "far_cell.xls", "row 65,536 and column 256")


def test_xls_fixtures_pass_the_grid_check():
    for name in ("flat_clean.xls", "sheet_per_district.xls", "bad_rows.xls", "values_forms.xls"):
        assert safety.check_file(FIXTURES / name) == "ole2"


# --------------------------------------------------------------------------- size cap

def test_file_above_the_size_cap_is_refused_unread(tmp_path):
    path = tmp_path / "huge.xlsx"
    with path.open("wb") as fh:  # sparse: 51 MB long, no disk used, never read
        fh.write(b"PK\x03\x04")
        fh.truncate(51 * 1024 * 1024)
    message = refused(path)
    assert "51.0 MB" in message and "50 MB limit" in message and "OCOP_MAX_FILE_MB" in message


def test_size_cap_from_environment(tmp_path, monkeypatch):
    path = shutil.copy(FLAT, tmp_path / "flat.xlsx")
    monkeypatch.setenv("OCOP_MAX_FILE_MB", "0.001")  # 1,048 bytes: flat_clean.xlsx is bigger
    assert "limit" in refused(Path(path))
    monkeypatch.setenv("OCOP_MAX_FILE_MB", "200")
    assert safety.limits().max_file_bytes == 200 * 1024 * 1024
    assert len(oa.load_registry(path, corrections=None, links=None).evaluations) == 12
    monkeypatch.setenv("OCOP_MAX_FILE_MB", "lots")
    with pytest.raises(RegistryError, match="OCOP_MAX_FILE_MB must be a number of megabytes, not 'lots'"):
        oa.load_registry(path, corrections=None, links=None)


# --------------------------------------------------------------------------- broken and misnamed files

def test_truncated_zip(tmp_path):
    path = tmp_path / "truncated.xlsx"
    path.write_bytes(FLAT.read_bytes()[: FLAT.stat().st_size // 2])
    assert "damaged" in refused(path)


def test_truncated_xls_that_makes_calamine_panic(tmp_path):
    # Found by fuzzing: calamine's OLE2 reader panics (pyo3 PanicException, a BaseException that
    # `except Exception` does not catch) on flat_clean.xls cut at 9,880 bytes (the sniffer still sees a .xls).
    path = tmp_path / "cut.xls"
    path.write_bytes((FIXTURES / "flat_clean.xls").read_bytes()[:9880])
    assert "damaged or truncated" in refused(path)


def test_corrupt_deflate_in_the_mimetype_part(tmp_path):
    # workbook.sniff reads the .ods mimetype part; a broken deflate stream there raised zlib.error.
    with zipfile.ZipFile(FLAT_ODS) as src:
        content = src.read("content.xml")
    path = write_zip(tmp_path / "bad_mimetype.ods", [
        ("mimetype", b"\xff\xff\xff\xff garbage", 8, 46, 0, None),
        ("content.xml", deflate(content), 8, len(content), zlib.crc32(content), None)])
    assert "damaged" in refused(path)


def test_corrupt_fixture():
    assert "damaged" in refused(FIXTURES / "corrupt.xlsx")


def test_bad_crc_in_the_sheet(tmp_path):
    members = flat_members()
    members = [(n, r, m, s, (crc ^ 0xFFFF) if n == "xl/worksheets/sheet1.xml" else crc, sh)
               for n, r, m, s, crc, sh in members]
    path = write_zip(tmp_path / "bad_crc.xlsx", members)
    assert "damaged" in refused(path)


def test_garbage_inside_the_sheet_part(tmp_path):
    path = tmp_path / "garbage_sheet.xlsx"
    write_zip(path, flat_members({"xl/worksheets/sheet1.xml": bytes(range(256)) * 40}))
    assert "damaged" in refused(path)


def test_zip_level_password(tmp_path):
    path = write_zip(tmp_path / "zip_password.xlsx", flat_members(), flags=0x1)  # the "encrypted" bit on every part
    assert "protected with a password" in refused(path)


def test_a_fifo_named_like_a_workbook_does_not_hang(tmp_path):
    fifo = tmp_path / "pipe.xlsx"
    os.mkfifo(fifo)
    # never opened (reading a FIFO would block for ever); in a child with a timeout so a regression fails, not hangs
    proc = subprocess.run([sys.executable, "-c", CHILD, "load", str(fifo)], capture_output=True, text=True, timeout=120)
    result = json.loads(proc.stdout)
    assert result["outcome"] == "RegistryError" and "not a regular file" in result["message"], result
    assert_plain(result["message"])


def test_encrypted_workbook():
    message = refused(FIXTURES / "encrypted.xlsx")
    assert "password" in message


def test_renamed_pdf():
    assert "PDF" in refused(FIXTURES / "renamed_pdf.xlsx")


def test_empty_file():
    assert "empty (0 bytes)" in refused(FIXTURES / "empty.xlsx")


def test_workbook_with_no_sheets(tmp_path):
    path = edited_copy(FLAT, tmp_path / "no_sheets.xlsx", sheet_edit(
        b'<sheets><sheet name="Danh s\xc3\xa1ch" sheetId="1" state="visible" r:id="rId1" /></sheets>', b"<sheets/>",
        member="xl/workbook.xml"))
    assert "no sheets" in refused(path)


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.xlsx"
    path.write_bytes(bytes((i * 7919 + 13) % 256 for i in range(5000)))
    assert "not a spreadsheet" in refused(path)


def test_ole2_header_then_garbage(tmp_path):
    path = tmp_path / "fake_ole.xls"
    path.write_bytes(bytes.fromhex("D0CF11E0A1B11AE1") + bytes(range(256)) * 8)
    message = refused(path)
    assert "not an Excel workbook" in message or "damaged" in message


def test_html_saved_as_xls():
    assert "HTML" in refused(FIXTURES / "fake_xls_html.xls")


def test_xml_with_doctype_saved_as_xls(tmp_path):
    path = tmp_path / "doctype.xls"
    path.write_text('<?xml version="1.0"?>' + EXTERNAL.replace("worksheet", "Workbook")
                    + '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">&xxe;</Workbook>')
    assert "declares XML entities" in refused(path)


# --------------------------------------------------------------------------- macros and external links

def test_xlsm_values_only_with_a_macros_warning(tmp_path):
    path = Path(shutil.copy(FIXTURES / "macro_enabled.xlsm", tmp_path / "macro_enabled.xlsm"))
    before = path.read_bytes()
    reg = oa.load_registry(path, corrections=None, links=None)
    assert list(reg.evaluations["product_name"]) == ["Bánh phồng tôm", "Mắm cá linh"]
    macros = reg.problems[reg.problems["problem"] == "macros_present"]
    assert len(macros) == 1 and macros.iloc[0]["severity"] == "warning"
    assert "not run" in macros.iloc[0]["message"]
    assert path.read_bytes() == before


def test_external_links_are_not_followed(tmp_path):
    """A workbook whose formula points at [1]Sheet1!A1 in http://127.0.0.1:<port>/evil.xlsx: the cached
    value is read and nobody connects to the link target."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    server.settimeout(0.5)
    port = server.getsockname()[1]
    link = (f'<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            f'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f'<externalBook r:id="rId1"><sheetNames><sheetName val="Sheet1"/></sheetNames></externalBook>'
            f'</externalLink>').encode()
    link_rels = (f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                 f'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                 f'externalLinkPath" Target="http://127.0.0.1:{port}/evil.xlsx" TargetMode="External"/>'
                 f'</Relationships>').encode()

    def edit(name, data):
        if name == "xl/worksheets/sheet1.xml":  # the first score becomes a formula on the external book
            return data.replace(b'<c r="H2" t="n"><v>', b'<c r="H2" t="n"><f>[1]Sheet1!A1</f><v>', 1)
        if name == "xl/workbook.xml":
            return data.replace(b"<definedNames />", b'<externalReferences><externalReference r:id="rId9"/>'
                                                      b'</externalReferences><definedNames />')
        if name == "xl/_rels/workbook.xml.rels":
            return data.replace(b"</Relationships>", b'<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/'
                                b'officeDocument/2006/relationships/externalLink" '
                                b'Target="externalLinks/externalLink1.xml"/></Relationships>')
        return data

    path = edited_copy(FLAT, tmp_path / "external_link.xlsx", edit)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("xl/externalLinks/externalLink1.xml", link)
        zf.writestr("xl/externalLinks/_rels/externalLink1.xml.rels", link_rels)
    with zipfile.ZipFile(path) as zf:
        assert b"<f>[1]Sheet1!A1</f>" in zf.read("xl/worksheets/sheet1.xml")
    try:
        reg = oa.load_registry(path, corrections=None, links=None)
        with pytest.raises(socket.timeout):
            server.accept()
    finally:
        server.close()
    assert len(reg.evaluations) == 12
    first = reg.evaluations.sort_values("source_row").iloc[0]
    assert first["product_name"] == "Hạt sen sấy giòn" and first["score"] == 78.5  # H2's cached value


# --------------------------------------------------------------------------- openpyxl paths use defusedxml

def test_openpyxl_uses_defusedxml():
    assert safety.openpyxl_is_defused()


def test_openpyxl_refuses_entities_in_a_workbook(tmp_path):
    import openpyxl
    from defusedxml.common import DefusedXmlException

    for attack in sorted(ENTITY_ATTACKS):
        path = entity_xlsx(tmp_path, attack)
        with pytest.raises(Exception) as info:  # openpyxl wraps the parser's error in a ValueError
            wb = openpyxl.load_workbook(path, read_only=True)
            for ws in wb.worksheets:
                list(ws.values)
        chain = [info.value, info.value.__cause__, info.value.__context__]
        assert any(isinstance(e, DefusedXmlException) for e in chain), repr(info.value)


def test_budget_workbooks_pass_the_same_checks_before_openpyxl(tmp_path):
    from ocop_analysis import budget
    from ocop_analysis.errors import ConfigError

    raw = repeat_deflate(2048, b"A")
    bomb = write_zip(tmp_path / "scenarios.xlsx", flat_members() + [("xl/sharedStrings.xml", raw, 8, 2048 << 20, 0, None)])
    with pytest.raises(ConfigError, match="zip bomb"):
        budget.load_scenarios(bomb)
    with pytest.raises(ConfigError, match="declares XML entities"):
        budget.load_scenarios(entity_xlsx(tmp_path, "billion_laughs"))


def test_every_refusal_message_is_one_plain_sentence(tmp_path):
    for path in [FIXTURES / n for n in ("corrupt.xlsx", "empty.xlsx", "encrypted.xlsx", "renamed_pdf.xlsx",
                                        "renamed_docx.xlsx", "fake_xls_html.xls", "xml_bomb.xls")]:
        refused(path)


def test_zz_measurements_are_recorded():
    """Not a check: prints the measured bombs (run with -s to see them)."""
    for name, row in sorted(MEASURED.items()):
        print(f"{name:28} mode={row[0]:9} outcome={row[1]!s:14} cpu={row[2]} s  maxrss={row[3]} MB")
