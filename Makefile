# One command each: `make test`, `make demo`, `make up` / `make down`.
# Every target creates the virtual environment and installs what is missing, idempotently.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed

FRAMEWORK_STAMP := $(VENV)/.frameworks

.PHONY: install frameworks test-fast sdk sdk3 sdk3-pins spark system-packages test lint format demo up down status bench constraints clean

# Debian packages the tests drive: PostgreSQL and Redis (the Celery scale-out test), Chromium (the reports
# UI test), a Java runtime (Spark, for the SageMaker Spark seeds) and FUSE 3 (fusermount3 and libfuse3, which
# mount FastFile channels). Installed only when missing.
DEBIAN_PACKAGES := postgresql redis-server chromium chromium-driver openjdk-17-jre-headless fuse3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

install: $(STAMP) $(FRAMEWORK_STAMP)

$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt -c constraints.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# The framework images the DAGs and the tests run (MXNet 1.6.0, PyTorch, scikit-learn 1.2-1), each a
# virtual environment built with uv from its lock file (.cache/frameworks; building one again does
# nothing). `make frameworks` builds every supported one.
DEFAULT_FRAMEWORKS := mxnet-1.6 pytorch-2.13 sklearn-1.2

$(FRAMEWORK_STAMP): $(STAMP) $(wildcard include/local_sagemaker/frameworks/locks/*.txt)
	$(PY) -m include.local_sagemaker.frameworks build $(DEFAULT_FRAMEWORKS)
	touch $(FRAMEWORK_STAMP)

frameworks: $(STAMP)
	$(PY) -m include.local_sagemaker.frameworks build

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

# The SageMaker Python SDK v3 in a virtualenv of its own too (it brings its own boto3, pandas and mlflow):
# tests/local_sagemaker/test_sdk_v3.py drives its ModelTrainer and resources against the local engine.
SDK3_VENV := .cache/sagemaker-sdk-v3
SDK3_STAMP := $(SDK3_VENV)/.installed
SDK3_REQUIREMENTS := tests/local_sagemaker/requirements-sdk-v3.txt
SDK3_VERSION ?= 3.27.0

sdk3: $(SDK3_STAMP)

# The pins are the whole resolved tree, so pip need not resolve again (--no-deps; pip check proves the tree
# whole); --no-compile leaves byte-compiling the gigabyte of packages to the imports that happen.
$(SDK3_STAMP): $(SDK3_REQUIREMENTS)
	test -x $(SDK3_VENV)/bin/python || $(PYTHON) -m venv $(SDK3_VENV)
	$(SDK3_VENV)/bin/python -m pip install --quiet --no-deps --no-compile -r $(SDK3_REQUIREMENTS)
	$(SDK3_VENV)/bin/python -m pip check
	touch $(SDK3_STAMP)

# Re-resolve the SDK v3's pins: every package `pip install sagemaker==$(SDK3_VERSION)` brings.
sdk3-pins:
	rm -rf .cache/resolve-sdk3 && $(PYTHON) -m venv .cache/resolve-sdk3
	.cache/resolve-sdk3/bin/pip install --quiet sagemaker==$(SDK3_VERSION)
	{ grep '^#' $(SDK3_REQUIREMENTS); .cache/resolve-sdk3/bin/pip freeze; } > $(SDK3_REQUIREMENTS).new
	mv $(SDK3_REQUIREMENTS).new $(SDK3_REQUIREMENTS)

# SageMaker Spark (sagemaker-pyspark 1.4.5 with its PySpark 3.3.0) in a virtualenv of its own:
# tests/local_sagemaker/test_spark_seeds.py runs the SageMaker Spark seeds' notebooks against the engine with it,
# on the machine's Java. Both packages are source distributions carrying their jars (about 460 MB from PyPI,
# 730 MB installed; a minute of CPU to build), so nothing is fetched from elsewhere; `make test` builds it once.
SPARK_VENV := .cache/sagemaker-spark
SPARK_STAMP := $(SPARK_VENV)/.installed
SPARK_REQUIREMENTS := tests/local_sagemaker/requirements-spark.txt

spark: $(SPARK_STAMP)

$(SPARK_STAMP): $(SPARK_REQUIREMENTS)
	test -x $(SPARK_VENV)/bin/python || $(PYTHON) -m venv $(SPARK_VENV)
	$(SPARK_VENV)/bin/python -m pip install --quiet --no-deps -r $(SPARK_REQUIREMENTS)
	$(SPARK_VENV)/bin/python -m pip check
	touch $(SPARK_STAMP)

system-packages:
	@missing=$$(for package in $(DEBIAN_PACKAGES); do dpkg -s $$package >/dev/null 2>&1 || echo $$package; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:" $$missing; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

test: $(STAMP) $(FRAMEWORK_STAMP) $(SDK_STAMP) $(SDK3_STAMP) $(SPARK_STAMP) system-packages
	$(PY) -m pytest

# The edit-test loop: everything but the tests marked slow (whole workflows, servers of their own, the
# stack and the Celery topology), on pytest-xdist workers (-n auto: one and a half per core, see
# tests/conftest.py). Each worker has its own Airflow home, engines and temporary directories; each module
# stays on one worker (--dist loadfile in pyproject.toml), so its module fixtures are built once.
test-fast: $(STAMP) $(FRAMEWORK_STAMP)
	$(PY) -m pytest -m "not slow" -q -n auto

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

demo: $(STAMP) $(FRAMEWORK_STAMP)
	$(PY) -m include.devstack demo

up: $(STAMP) $(FRAMEWORK_STAMP)
	$(PY) -m include.devstack up

down: $(STAMP)
	$(PY) -m include.devstack down

status: $(STAMP)
	$(PY) -m include.devstack status

# Speed and memory measurements, each printed as ratios against a peer in the same run. Fashion-MNIST
# (70,000 images, a Debian package) is the full-size data set of the DAG wall-time benchmark.
bench: $(STAMP)
	$(MAKE) --no-print-directory system-packages DEBIAN_PACKAGES=dataset-fashion-mnist
	for script in benchmarks/*.py; do echo "== $$script"; $(PY) -m benchmarks.$$(basename $$script .py) || exit 1; done

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
