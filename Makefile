# One command each: `make test`, `make demo`, `make up` / `make down`.
# Every target creates the virtual environment and installs what is missing, idempotently.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed

.PHONY: install test lint format demo up down status bench constraints clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt -c constraints.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

demo: $(STAMP)
	$(PY) -m include.devstack demo

up: $(STAMP)
	$(PY) -m include.devstack up

down: $(STAMP)
	$(PY) -m include.devstack down

status: $(STAMP)
	$(PY) -m include.devstack status

# Speed and memory measurements, each printed as ratios against a peer in the same run.
bench: $(STAMP)
	for script in benchmarks/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

# Re-resolve the transitive pins after changing requirements.txt.
constraints:
	rm -rf .cache/resolve && $(PYTHON) -m venv .cache/resolve
	.cache/resolve/bin/pip install --quiet -r requirements.txt
	.cache/resolve/bin/pip freeze --exclude-editable > constraints.txt.new
	{ sed -n '1,2p' constraints.txt; cat constraints.txt.new; } > constraints.txt && rm constraints.txt.new

clean:
	rm -rf $(VENV) .airflow .local .pytest_cache .ruff_cache
