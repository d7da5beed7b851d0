# One command each: `make test`, `make demo`, `make up` / `make down`.
# Every target creates the virtual environment and installs what is missing, idempotently.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed

.PHONY: install sdk system-packages test lint format demo up down status bench constraints clean

# Debian packages the tests drive: PostgreSQL and Redis (the Celery scale-out test) and Chromium (the
# reports UI test). Installed only when missing.
DEBIAN_PACKAGES := postgresql redis-server chromium chromium-driver
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt -c constraints.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# The SageMaker Python SDK v2 in a virtualenv of its own (it caps protobuf below the project's pins): the
# image-URI test compares every region with its image_uris.retrieve, tests/parity compares every DAG's
# requests with the ones it builds, and the recordIO benchmark times it.
SDK_VENV := .cache/sagemaker-sdk
SDK_STAMP := $(SDK_VENV)/.installed

sdk: $(SDK_STAMP)

$(SDK_STAMP): benchmarks/requirements-sdk.txt
	test -x $(SDK_VENV)/bin/python || $(PYTHON) -m venv $(SDK_VENV)
	$(SDK_VENV)/bin/python -m pip install --quiet -r benchmarks/requirements-sdk.txt
	touch $(SDK_STAMP)

system-packages:
	@missing=$$(for package in $(DEBIAN_PACKAGES); do dpkg -s $$package >/dev/null 2>&1 || echo $$package; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:" $$missing; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

test: $(STAMP) $(SDK_STAMP) system-packages
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

# Speed and memory measurements, each printed as ratios against a peer in the same run. Fashion-MNIST
# (70,000 images, a Debian package) is the full-size data set of the DAG wall-time benchmark.
bench: $(STAMP)
	$(MAKE) --no-print-directory system-packages DEBIAN_PACKAGES=dataset-fashion-mnist
	for script in benchmarks/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

# Re-resolve the transitive pins after changing requirements.txt.
constraints:
	rm -rf .cache/resolve && $(PYTHON) -m venv .cache/resolve
	.cache/resolve/bin/pip install --quiet -r requirements.txt -r requirements-dev.txt
	{ echo "# Every package the pinned requirements resolve to, so a fresh clone installs the same tree."; \
	  echo "# Regenerate with: make constraints"; \
	  .cache/resolve/bin/pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean:
	rm -rf $(VENV) .airflow .local .pytest_cache .ruff_cache
