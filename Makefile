# Two commands for a fresh machine: `make quickstart` and `make test` (see README).
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup lock system-deps quickstart lab test test-fast lint clean

# Reinstalls when a lock changes: the venv always holds the lock's versions.
$(VENV)/.installed: pyproject.toml scripts/setup_env.sh requirements/cpu.lock requirements/cuda.lock requirements/torch.in
	VENV=$(VENV) scripts/setup_env.sh
	touch $@

setup: $(VENV)/.installed

# Regenerate requirements/cpu.lock and requirements/cuda.lock from pyproject.toml (keeps the
# existing pins where they still fit; `make lock UPGRADE=1` moves everything to the newest releases).
lock:
	VENV=$(VENV) scripts/lock.sh

quickstart: setup
	$(VENV)/bin/workbench quickstart

# JupyterLab on the guided notebooks shipped in the package (workbench/notebooks/README.md), writing to
# the clone's workspace/ as the CLI and the app do. Installed with pip: `workbench notebooks DIR`, then
# `jupyter lab DIR` (docs/install.md, "As a package").
lab: setup
	WORKBENCH_WORKSPACE=$(CURDIR)/workspace $(VENV)/bin/jupyter lab workbench/notebooks/

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
