# Vigil: the two commands of the quick start are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
FHIR_SERVER := tests/fhir_server
FHIR_STAMP := $(FHIR_SERVER)/node_modules/.package-lock.json
ARGS ?=

.PHONY: run test lint pytest bench clean

## run: set up, then open the station on the simulated demo ward (extra options: ARGS="...")
run: $(STAMP)
	@sh .ci/system-deps.sh gui
	$(PY) main.py $(ARGS)

## test: set up, then lint, type-check and run the whole suite headless
test: $(STAMP) $(FHIR_STAMP)
	@sh .ci/system-deps.sh headless
	$(MAKE) --no-print-directory lint pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

pytest: $(STAMP) $(FHIR_STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

## bench: the performance benchmarks (not part of `make test`)
bench: $(STAMP) $(FHIR_STAMP)
	@sh .ci/system-deps.sh headless
	QT_QPA_PLATFORM=offscreen $(PY) -m tests.bench.bench_station
	QT_QPA_PLATFORM=offscreen $(PY) -m tests.bench.bench_analysis
	QT_QPA_PLATFORM=offscreen $(PY) -m tests.bench.bench_alarms
	QT_QPA_PLATFORM=offscreen $(PY) -m tests.bench.bench_storage
	$(PY) -m tests.bench.bench_sync

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e ".[test]"
	@touch $(STAMP)

# The FHIR test server (Medplum's engine) the sync tests start on loopback.
$(FHIR_STAMP): $(FHIR_SERVER)/package-lock.json
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || { \
	  echo "The FHIR test server needs Node.js >= 20.19 and npm: install them (e.g. from nodejs.org or NodeSource; Debian: apt-get install nodejs npm if its version is >= 20.19)." >&2; exit 1; }
	@node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit((a===20&&b>=19)||(a===22&&b>=12)||a>22?0:1)' || { \
	  echo "The FHIR test server needs Node.js 20.19+ (not 21) or 22.12+; this is $$(node --version)." >&2; exit 1; }
	cd $(FHIR_SERVER) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
