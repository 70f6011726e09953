# Each target creates .venv and installs the project into it first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DEMO_NAME := digits-cnn-$(shell date +%Y%m%d-%H%M%S)
CHROMIUM := /usr/bin/chromium

.PHONY: demo test bench clean

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/tuner run examples/digits_cnn.yaml --name $(DEMO_NAME)

# The browser test drives Debian's chromium. It is installed here when missing, which needs root
# (as on CI); without root the test is skipped and says why.
test: $(INSTALLED)
	@if [ ! -x $(CHROMIUM) ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
		else \
			echo "$(CHROMIUM) is missing and installing it needs root; the browser test will be skipped"; \
		fi; \
	fi
	$(BIN)/python -m pytest -q

bench: $(INSTALLED)
	$(BIN)/python benchmarks/orchestration_overhead.py
	$(BIN)/python benchmarks/early_stopping.py
	$(BIN)/python benchmarks/searcher_regret.py
	$(BIN)/python benchmarks/service_leaderboard.py
	$(BIN)/python benchmarks/service_download_memory.py
	$(BIN)/python benchmarks/service_concurrent_readers.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
