# The two commands of the README: `make demo` (the main job) and `make test`.
# Each does its own set-up: a .venv, torch CPU first (pip finds torch==2.13.0 on disk and would
# otherwise pull a multi-GB CUDA build through sentence-transformers), the package with its test
# extras, and the front-end assets (YASGUI from npm) for the query UI.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip -q --disable-pip-version-check
STAMP  := $(VENV)/.peerlearn-installed

.PHONY: setup assets demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install torch==2.13.0
	$(PIP) install -e '.[test,data]'
	touch $(STAMP)

setup: $(STAMP)

# Front-end assets (YASGUI for the query UI) from npm, when the project declares them.
assets:
	@if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; fi

# The Climate City Contracts of the dataset's cities come in by default through their bundled
# extract (kg/datasets/ccc); `make demo CCC=../shared/data/ccc` ingests the whole contracts
# instead (tagging them cold takes about 12 minutes on 2 idle cores without native bfloat16).
CCC ?=

demo: setup assets
	$(VENV)/bin/peerlearn run --out out $(if $(CCC),--ccc $(CCC))

lint: setup
	$(VENV)/bin/ruff check .

test: setup assets
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest -n 2

bench: setup
	$(PY) benchmarks/run_all.py

clean:
	rm -rf .peerlearn out test-artifacts
