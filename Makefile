# The two commands: `make run` (install, then serve on the embedded default) and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test check pytest bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/cortex serve

check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check cortex projections
	$(BIN)/mypy
	$(BIN)/lint-imports

pytest: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: check pytest

bench: install
	$(BIN)/python benchmarks/bench_event_store.py
	$(BIN)/python benchmarks/bench_codec.py
	$(BIN)/python benchmarks/bench_auth.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
