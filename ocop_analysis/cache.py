"""Load cache: a second ``load_registry`` of unchanged files reads Parquet instead of the workbooks.

What is cached: the finished :class:`~ocop_analysis.registry.Registry` of one ``load_registry`` call
(evaluations, problems, sources, revocations, corrections), one Parquet file per table. The whole
result is cached, not each file's cells, because most of the load time is parsing, linking and the
duplicate check, which span files; a cached per-file read alone would leave a second load at a
third of the first.

The key (SHA-256) covers everything the result depends on:

* every input file's name and the SHA-256 of its bytes (a changed file is never served from the cache);
* the kit's version and a fingerprint of its code and reference tables (a fixed parser is never
  hidden by an old entry);
* the province, the bytes of the corrections and links files (or their absence), and the safety
  limits in force (``OCOP_MAX_FILE_MB``: a file refused under a smaller cap is never served from the
  cache, and a malformed setting still raises).

Where: ``$OCOP_CACHE_DIR`` if set, else the user's cache folder (``$XDG_CACHE_HOME/ocop-analysis`` or
``~/.cache/ocop-analysis``; ``%LOCALAPPDATA%\\ocop-analysis\\Cache`` on Windows) — never the repository
and never an input's folder (if it would be, nothing is cached). Everything in it is safe to delete
(:func:`clear`). An entry is written to a temporary folder and renamed into place, so a crash
leaves no half entry; an entry that cannot be read (damaged, truncated, other format) is ignored,
deleted and rebuilt.

Parquet (pyarrow) keeps the kit's dtypes (Int64, boolean, category, string, datetime64) through
pandas' metadata and reads 60,000 rows in tens of milliseconds. A table Parquet cannot store (a
corrections column mixing numbers and text) means that load is simply not cached.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pandas as pd

FORMAT = 1
TABLES = ("evaluations", "problems", "sources", "revocations", "corrections")
PACKAGE_DIR = Path(__file__).resolve().parent


def cache_dir() -> Path:
    """The cache folder (not created here)."""
    env = os.environ.get("OCOP_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "ocop-analysis" / "Cache"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "ocop-analysis"


def kit_version() -> str:
    from . import __version__

    return f"{__version__}+{_code_fingerprint()}"


@functools.cache
def _code_fingerprint() -> str:
    h = hashlib.sha256()
    for path in sorted([*PACKAGE_DIR.rglob("*.py"), *(PACKAGE_DIR / "reference").glob("*.csv")]):
        h.update(str(path.relative_to(PACKAGE_DIR)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def file_hash(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _option_hash(value) -> str | None:
    """'none', the sha256 of a file's bytes, or None when the option cannot be keyed (not cached)."""
    if value is None:
        return "none"
    if isinstance(value, (str, Path)):
        p = Path(value)
        return file_hash(p) if p.is_file() else None
    return None


def usable(files) -> bool:
    """False when the cache folder would be inside the repository or an input's folder."""
    from .paths import REPO_DIR

    where = cache_dir().resolve()
    home = Path.home().resolve()
    folders = {Path(f).resolve().parent for f in files}
    if REPO_DIR is not None:
        folders.add(REPO_DIR.resolve())
    for folder in folders:
        if folder == home:  # ~/.cache is the standard place even for a file kept in the home folder
            if where == home:
                return False
            continue
        if where == folder or folder in where.parents:
            return False
    return True


def key(files, province: str, corrections, links) -> str | None:
    """The cache key of one load, or None when this load cannot be cached."""
    if not usable(files):
        return None
    from .safety import limits

    cap = limits()
    for f in files:  # a FIFO, device or oversized file is never opened here: the loader refuses it itself
        p = Path(f)
        if not p.is_file() or p.stat().st_size > cap.max_file_bytes:
            return None
    parts = {"format": FORMAT, "kit": kit_version(), "province": province, "limits": repr(cap),
             "corrections": _option_hash(corrections), "links": _option_hash(links),
             "files": [[Path(f).name, file_hash(f)] for f in files]}
    if parts["corrections"] is None or parts["links"] is None:
        return None
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _entry(k: str) -> Path:
    return cache_dir() / k[:2] / k


def get(k: str | None):
    """The cached Registry for key ``k``, or None (a missing or unreadable entry)."""
    if k is None:
        return None
    entry = _entry(k)
    if not entry.is_dir():
        return None
    from .registry import Registry

    try:
        meta = json.loads((entry / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT or meta.get("key") != k:
            raise ValueError("other format")
        tables = {name: pd.read_parquet(entry / f"{name}.parquet") for name in TABLES}
        return Registry(**tables, province=meta["province"])
    except Exception:  # noqa: BLE001 — a damaged entry is a miss: delete it, the caller rebuilds it
        shutil.rmtree(entry, ignore_errors=True)
        return None


def put(k: str | None, reg) -> bool:
    """Store ``reg`` under key ``k``; False (nothing stored) if the folder or a table cannot be written."""
    if k is None:
        return False
    entry = _entry(k)
    tmp = None
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=entry.parent))
        for name in TABLES:
            getattr(reg, name).to_parquet(tmp / f"{name}.parquet", engine="pyarrow", index=True)
        (tmp / "meta.json").write_text(json.dumps({"format": FORMAT, "key": k, "province": reg.province,
                                                   "kit": kit_version()}), encoding="utf-8")
        shutil.rmtree(entry, ignore_errors=True)
        os.replace(tmp, entry)
        return True
    except Exception:  # noqa: BLE001 — no cache is never an error: the load itself succeeded
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        return False


def clear() -> None:
    """Delete every cached load (the folder is recreated on the next load)."""
    shutil.rmtree(cache_dir(), ignore_errors=True)
