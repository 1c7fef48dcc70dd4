# Every target creates .venv if missing (setup is implicit).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: report test lab sample bench fuzz test-browser clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

report: $(STAMP)  ## run every notebook on the sample data, write reports/
	$(BIN)/ocop-analysis report

test: $(STAMP)  ## the whole test suite, notebooks included
	$(BIN)/python -m pytest -q

lab: $(STAMP)  ## JupyterLab on notebooks/ with the kit importable
	$(BIN)/jupyter lab --notebook-dir=notebooks

sample: $(STAMP)  ## regenerate data/sample/ (deterministic)
	$(BIN)/python -m ocop_analysis.sample data/sample

bench: $(STAMP)  ## speed and scale runs (not part of make test)
	$(BIN)/python benchmarks/run.py

fuzz: $(STAMP)  ## longer fuzzing run
	OCOP_FUZZ_EXAMPLES=2000 $(BIN)/python -m pytest -q tests -k fuzz

clean:
	rm -rf reports .pytest_cache
