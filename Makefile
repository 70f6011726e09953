# Each target creates .venv and installs the project into it first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DEMO_NAME := digits-cnn-$(shell date +%Y%m%d-%H%M%S)

.PHONY: demo test bench clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/tuner run examples/digits_cnn.yaml --name $(DEMO_NAME)

test: $(INSTALLED)
	$(BIN)/python -m pytest -q

bench: $(INSTALLED)
	$(BIN)/python benchmarks/orchestration_overhead.py
	$(BIN)/python benchmarks/early_stopping.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
