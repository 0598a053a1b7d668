# smtp-hub: every command a developer or CI needs. Each target installs what it uses on first run.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SAM_VENV := .venv-sam
SAM := SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam
FUNCTIONS := $(sort $(wildcard functions/*/app.py))
PORT ?= 3000
FUZZ_MAX_EXAMPLES ?= 200
FUZZ_SEED ?= random
# make test's pytest-xdist workers. --dist loadfile keeps each test file on one worker, so a file's
# module fixtures (a `make run` subprocess, a moto server, an SMTP peer) start once, as in one process;
# every worker has its own moto state and picks free ports. README, "Tests", has the measured times.
PYTEST_WORKERS ?= 2

export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements-dev.txt requirements-dev.lock layers/common/requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements-dev.lock -r requirements-dev.txt
	touch $@

$(SAM_VENV)/.installed: requirements-sam.txt
	test -x $(SAM_VENV)/bin/python || $(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-sam.txt
	touch $@

.PHONY: install
install: $(BIN)/.installed ## create .venv with the pinned development dependencies

.PHONY: lint
lint: $(BIN)/.installed $(SAM_VENV)/.installed ## ruff, ruff format, mypy, bandit, cfn-lint, sam validate --lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	@# Every function is a module named app: type-check each one on its own.
	@for f in $(FUNCTIONS); do $(BIN)/mypy --strict --follow-imports=silent $$f || exit 1; done
	$(BIN)/bandit -q -c pyproject.toml -r layers functions local_runtime tools
	$(BIN)/cfn-lint template.yaml
	$(SAM) validate --lint --template-file template.yaml

.PHONY: test
test: lint ## lint, then every test (on PYTEST_WORKERS processes, 2; 0 for one process)
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile

.PHONY: fuzz
fuzz: $(BIN)/.installed ## schemathesis on the local runtime, FUZZ_MAX_EXAMPLES per operation (FUZZ_SEED)
	FUZZ_MAX_EXAMPLES=$(FUZZ_MAX_EXAMPLES) FUZZ_SEED=$(FUZZ_SEED) FUZZ_REPORT_DIR=build/fuzz \
		$(BIN)/pytest -q -s -p no:cacheprovider tests/e2e/test_fuzz_api.py

.PHONY: run
run: $(BIN)/.installed ## serve the whole API on http://127.0.0.1:$(PORT)/api (no Docker, no AWS account)
	PORT=$(PORT) $(BIN)/python -m local_runtime

.PHONY: aws
aws: $(BIN)/.installed ## moto with the template's tables, pool and demo data on 127.0.0.1:5050 (AWS_PORT) and build/env.json, for sam local invoke
	$(BIN)/python -m local_runtime.aws

.PHONY: openapi
openapi: $(BIN)/.installed ## write openapi.yaml from the routes, the handlers (docstrings, request models, response types) and the errors
	PYTHONPATH=layers/common $(BIN)/python -m tools.openapi

.PHONY: bench
bench: $(BIN)/.installed ## measure cold start, AWS calls, overhead, size and cost
	$(BIN)/python -m bench

# sam build needs the runtime's Python (3.13) on PATH: take pyenv's when there is one.
PY313_BIN := $(shell pyenv root 2>/dev/null)/versions/$(shell pyenv versions --bare 2>/dev/null | grep -E '^3\.13' | tail -1)/bin

.PHONY: build
build: $(SAM_VENV)/.installed ## sam build (needs python3.13 on PATH; pyenv's is used when present)
	PATH="$(PY313_BIN):$$PATH" $(SAM) build

# samconfig.toml's environment (make deploy ENV=prod). Set here rather than taken from the shell, where ENV
# may name sh's start-up file; `make deploy ENV=prod` overrides it.
ENV := default
DEPLOY_FLAGS ?=

.PHONY: deploy
deploy: build ## sam deploy of samconfig.toml's ENV (default; ENV=prod), no questions
	$(SAM) deploy --config-env $(ENV) $(DEPLOY_FLAGS)

.PHONY: deploy-guided
deploy-guided: build ## sam deploy --guided for ENV: asks, deploys, saves the answers to samconfig.toml
	$(SAM) deploy --guided --config-env $(ENV) $(DEPLOY_FLAGS)

.PHONY: backfill-quotas
backfill-quotas: $(BIN)/.installed ## count the apps and servers stored before quotas, once after deploying them (STACK=name)
	@test -n "$(STACK)" || { echo "usage: make backfill-quotas STACK=<stack name> [AWS_REGION=...]"; exit 2; }
	PYTHONPATH=layers/common $(BIN)/python -m smtphub.accounts.backfill --stack "$(STACK)"

.PHONY: format
format: $(BIN)/.installed ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

.PHONY: lock
lock: ## re-resolve requirements-dev.txt into requirements-dev.lock
	rm -rf build/lock && $(PYTHON) -m venv build/lock
	build/lock/bin/python -m pip install --quiet -r requirements-dev.txt
	build/lock/bin/python -m pip freeze --exclude pip --exclude setuptools > requirements-dev.lock

.PHONY: clean
clean: ## remove virtual environments and build output
	rm -rf $(VENV) $(SAM_VENV) .aws-sam build .pytest_cache .mypy_cache .ruff_cache
