# Two commands matter: `make run` (the whole stack, foreground) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install lock run up down lint fmt test test-only unit bench clean
.PHONY: deploy-tools deploy-check image

install: $(VENV)/.installed

# Installs are reproducible: every dependency comes from a hashed lock file (requirements/).
$(VENV)/.installed: pyproject.toml requirements/dev.lock
	@command -v $(PYTHON) >/dev/null || { echo "make: $(PYTHON) not found: install Python 3.11"; exit 1; }
	PYTHON=$(PYTHON) bash services/system-packages.sh venv
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes -r requirements/dev.lock
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $@

lock: install  ## recompile the hashed lock files after changing pyproject.toml
	$(BIN)/uv pip compile pyproject.toml requirements/build.in --extra dev --generate-hashes \
		--python-version 3.11 --python-platform x86_64-unknown-linux-gnu --no-header -q -o requirements/dev.lock
	$(BIN)/uv pip compile pyproject.toml requirements/build.in --generate-hashes \
		--python-version 3.11 --python-platform x86_64-unknown-linux-gnu --no-header -q -o requirements/runtime.lock

REPLICAS ?= 1
run: install  ## everything, in the foreground (REPLICAS=N processes of each service); Ctrl-C stops it
	bash services/system-packages.sh run
	REPLICAS=$(REPLICAS) $(BIN)/python -m services.stack

up: install  ## only Kafka and PostgreSQL, detached
	bash services/system-packages.sh run
	bash services/postgres.sh start
	bash services/kafka.sh start

down:
	bash services/kafka.sh stop
	bash services/postgres.sh stop

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

fmt: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

unit: install  ## domain and contract tests: no servers needed
	$(BIN)/pytest tests/unit

# Tests get their own Kafka and PostgreSQL (own ports and state dir), so a `make run`
# stack on the default ports is left alone.
test: install
	bash services/system-packages.sh test
	bash services/with-test-stack.sh $(MAKE) --no-print-directory lint test-only

test-only:
	$(BIN)/pytest

bench: install  ## wrk drives the HTTP load: a Python client would be the bottleneck
	bash services/system-packages.sh bench
	bash services/with-test-stack.sh $(BIN)/python -m benchmarks.run

clean:
	bash services/kafka.sh wipe
	bash services/postgres.sh wipe

deploy-tools:  ## kustomize (go install) and checkov (own virtualenv) into .cache/tools
	bash deploy/tools.sh kustomize
	bash deploy/tools.sh checkov

deploy-check: install deploy-tools  ## render, validate and scan deploy/ and the Dockerfile
	$(BIN)/pytest tests/deploy

image: install  ## build the image with buildah and run it (slow; root, buildah, debootstrap)
	@command -v buildah >/dev/null && command -v debootstrap >/dev/null || { \
		apt-get install -y -q buildah debootstrap || \
		{ apt-get update -q && apt-get install -y -q buildah debootstrap; }; }
	$(BIN)/pytest -m image tests/deploy/test_image.py
