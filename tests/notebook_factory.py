"""Small notebooks for runner and report tests: a title cell, one ``parameters`` cell, then code cells."""
from __future__ import annotations

from pathlib import Path

import nbformat


def make_notebook(path: Path, cells: list[str], *, params: str, markdown: str | None = None) -> Path:
    """Write a Python 3 notebook to ``path`` (markdown first, ``params`` tagged "parameters", then ``cells``)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells.append(nbformat.v4.new_markdown_cell(markdown if markdown is not None else f"# {path.stem}"))
    parameters = nbformat.v4.new_code_cell(params)
    parameters.metadata["tags"] = ["parameters"]
    nb.cells.append(parameters)
    nb.cells += [nbformat.v4.new_code_cell(src) for src in cells]
    nbformat.write(nb, path)
    return path
