"""The package's metadata: environment.yml mirrors pyproject.toml, reference data ships."""
import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# conda-forge names that differ from PyPI names.
CONDA_NAMES = {"pyyaml": "pyyaml"}


def _requirements() -> dict[str, str]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = meta["dependencies"] + meta["optional-dependencies"]["dev"]
    out = {}
    for req in reqs:
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(>=\s*[\w.]+)?", req.strip())
        assert m, f"pyproject requirement {req!r} should be 'name>=version'"
        out[m.group(1).lower()] = (m.group(2) or "").replace(" ", "")
    return out


def _conda() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            # pip: the kit itself (-e .) first, then PyPI-only packages (not on conda-forge),
            # which are compared with pyproject like the conda ones.
            pip = dep.get("pip")
            assert pip and pip[0] == "-e .", "the first pip entry is the kit itself (-e .)"
            for extra in pip[1:]:
                m = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(>=\s*[\w.]+)?", extra.strip())
                assert m, f"environment.yml pip dependency {extra!r} should be 'name>=version'"
                out[m.group(1).lower()] = (m.group(2) or "").replace(" ", "")
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(>=\s*[\w.]+)?", dep.strip())
        assert m, f"environment.yml dependency {dep!r} should be 'name>=version'"
        out[m.group(1).lower()] = (m.group(2) or "").replace(" ", "")
    return out


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    pip_reqs = _requirements()
    conda = _conda()
    conda.pop("python"), conda.pop("pip")
    expected = {CONDA_NAMES.get(k, k): v for k, v in pip_reqs.items()}
    assert conda == expected


def test_python_floor_is_the_same():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    conda = _conda()
    assert meta["requires-python"] == conda["python"] == ">=3.11"


def test_reference_csvs_are_packaged_and_carry_a_source():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "reference/*.csv" in meta["tool"]["setuptools"]["package-data"]["ocop_analysis"]
    for csv in (ROOT / "ocop_analysis" / "reference").glob("*.csv"):
        head = csv.read_text(encoding="utf-8").splitlines()[:8]
        has_source = any(line.startswith("#") and "source" in line.lower() for line in head) or "source" in head[0]
        assert has_source, f"{csv.name} names no source in its header"


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make test" in (ROOT / ".ci" / "run").read_text()
