# Two commands: `make demo` and `make test`. Both build the virtual environment in .venv/ first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LINT_DIRS := $(wildcard src tests benchmarks tools examples)
# the Python code blocks of the Markdown docs are formatted too (ruff formats them; it lints only .py)
FORMAT_PATHS := $(LINT_DIRS) $(wildcard docs README.md)

.PHONY: demo test lint fmt venv system-deps bench-deps lock docs clean

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check 'uv>=0.5,<1'
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@# Byte-compile once: with PYTHONDONTWRITEBYTECODE set, every process would recompile.
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib >/dev/null
	@touch $(STAMP)

system-deps:
	@bash tools/system-deps.sh

bench-deps: venv
	@bash tools/system-deps.sh --bench

lint: venv
	$(BIN)/ruff format --check $(FORMAT_PATHS)
	$(BIN)/ruff check $(LINT_DIRS)
	$(BIN)/mypy

fmt: venv
	$(BIN)/ruff format $(FORMAT_PATHS)
	$(BIN)/ruff check --fix $(LINT_DIRS)

test: venv system-deps lint
	$(BIN)/pytest $(PYTEST_ARGS)

demo: venv
	$(BIN)/sightline demo

lock: venv
	$(BIN)/uv pip compile pyproject.toml --extra dev --extra spark --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
