# Two entry points for a fresh machine (Python 3.11, pip, make):
#   make run   -> set up, then train on the built-in default dataset (two moons)
#   make test  -> set up with the test extras, then run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

# This machine keeps the CPU build of torch==2.13.0 (a test-only oracle) in /opt/wheels;
# without it pip would download a multi-gigabyte CUDA build.
ifneq ($(wildcard /opt/wheels),)
export PIP_FIND_LINKS ?= /opt/wheels
endif

.PHONY: run test setup setup-dev lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip

setup: $(BIN)/python
	$(BIN)/pip install -e ".[plot,datasets,progress]"

setup-dev: $(BIN)/python
	$(BIN)/pip install -e ".[dev]"

run: setup
	$(BIN)/neuralnet train --plot runs/

test: setup-dev
	$(BIN)/python -m pytest

lint: setup-dev
	$(BIN)/ruff check src tests benchmarks

bench: setup-dev
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
