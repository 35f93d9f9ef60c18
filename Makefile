# Vigil: the two commands of the quick start are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: run test lint pytest bench clean

## run: set up, then open the station on the simulated demo ward (extra options: ARGS="...")
run: $(STAMP)
	@sh .ci/system-deps.sh gui
	$(PY) main.py $(ARGS)

## test: set up, then lint, type-check and run the whole suite headless
test: $(STAMP)
	@sh .ci/system-deps.sh headless
	$(MAKE) --no-print-directory lint pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

pytest: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

## bench: the performance benchmarks (not part of `make test`)
bench: $(STAMP)
	@sh .ci/system-deps.sh headless
	QT_QPA_PLATFORM=offscreen $(PY) -m tests.bench.bench_station
	QT_QPA_PLATFORM=offscreen $(PY) -m tests.bench.bench_analysis

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[test]"
	@touch $(STAMP)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
