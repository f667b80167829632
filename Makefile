# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test faults check lint typecheck worker run bench bench-full clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/dealflow demo

test: $(STAMP)
	$(PY) -m pytest -q

# The fault suite alone, with each fault's stall printed (make test runs it too).
faults: $(STAMP)
	$(PY) -m pytest -q -s tests/faults

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy

check: lint typecheck test

worker: $(STAMP)
	$(VENV)/bin/dealflow worker

# The worker and the HTTP API together (API on http://127.0.0.1:8000, docs at /docs). Ctrl-C (or
# SIGTERM) stops both gracefully; either one stopping stops the other.
run: $(STAMP)
	@$(VENV)/bin/dealflow worker & worker=$$!; \
	$(VENV)/bin/dealflow serve --host $${HOST:-127.0.0.1} --port $${PORT:-8000} & api=$$!; \
	trap 'kill -TERM $$worker $$api 2>/dev/null' INT TERM; \
	while kill -0 $$worker 2>/dev/null && kill -0 $$api 2>/dev/null; do sleep 1; done; \
	kill -TERM $$worker $$api 2>/dev/null; wait $$worker; wait $$api; true

# Every benchmark in one run (a few minutes); bench-full: the documented size, updates BENCHMARKS.md.
bench: $(STAMP)
	$(PY) -m bench.run --size small

bench-full: $(STAMP)
	$(PY) -m bench.run --size full --json bench/results-full.json --markdown BENCHMARKS.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
