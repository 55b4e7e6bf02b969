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

# The whole suite on the default engine, then the PyTorch-oracle and fast-path tests again on
# the numba engine (neuralnet._engine), which must give the same answers.
ORACLE_TESTS := tests/test_core.py tests/test_gradients.py tests/test_hot_path.py \
	tests/test_losses.py tests/test_normalization.py tests/test_optimizers.py \
	tests/test_schedules.py tests/test_toolbox.py tests/test_engine.py tests/test_learning.py \
	tests/test_concurrency.py

test: setup-dev
	$(BIN)/python -m pytest
	NEURALNET_ENGINE=numba $(BIN)/python -m pytest -q $(ORACLE_TESTS)

lint: setup-dev
	$(BIN)/ruff check src tests benchmarks

bench: setup-dev
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache
