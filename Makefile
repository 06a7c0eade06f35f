# Two commands for a fresh machine: `make quickstart` and `make test` (see README).
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup system-deps quickstart test test-fast lint clean

$(VENV)/.installed: pyproject.toml scripts/setup_env.sh
	VENV=$(VENV) scripts/setup_env.sh
	touch $@

setup: $(VENV)/.installed

quickstart: setup
	$(VENV)/bin/workbench quickstart

system-deps:
	scripts/system_deps.sh

test: setup system-deps
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow and not real_model"

lint: setup
	$(VENV)/bin/ruff check workbench tests benchmarks

clean:
	rm -rf $(VENV) workspace .pytest_cache
