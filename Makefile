# Every target creates .venv if missing (setup is implicit).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: report test lab sample bench fuzz test-browser browser-deps clean

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
	$(BIN)/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

sample: $(STAMP)  ## regenerate data/sample/ (deterministic)
	$(BIN)/python -m ocop_analysis.sample data/sample

bench: $(STAMP)  ## speed and scale runs (not part of make test)
	$(BIN)/python benchmarks/run.py

# Browser tests (not part of make test): Playwright's Python package drives Debian's chromium
# (never `playwright install`). CI runs as root, so apt-get works there.
$(VENV)/.browser-stamp: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,browser]"
	touch $@

browser-deps: $(VENV)/.browser-stamp  ## Playwright into .venv, Debian's chromium if missing
	@command -v chromium >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium) \
		|| { echo "browser-deps: could not install chromium (needs root: apt-get install -y chromium)"; exit 1; }

test-browser: browser-deps  ## every notebook in JupyterLab in headless Chromium (screenshots in reports/screenshots)
	$(BIN)/python -m pytest -q browser_tests

fuzz: $(STAMP)  ## longer fuzzing run
	OCOP_FUZZ_EXAMPLES=2000 $(BIN)/python -m pytest -q tests -k fuzz

clean:
	rm -rf reports .pytest_cache
