# media-grpc: `make help` lists every target.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NODE_BIN := node_modules/.bin
PYTEST_ARGS ?=

.PHONY: help install lock run serve worker migrate proto proto-check lint buf-lint buf-breaking \
        contract-baseline promtool fmt test test-unit fuzz test-integration test-faults test-browser \
        chromium shell-tools demo services bench rehearsal scaling-figures clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2}'

# Every Python package comes from uv.lock (hashes included), installed by uv, which itself is
# pinned with hashes in requirements-uv.txt. `--locked` refuses a uv.lock that no longer matches
# pyproject.toml; `make lock` upgrades on purpose.
TOOLS := .tools
UV := $(TOOLS)/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
SYNC := $(UV) sync --quiet --locked --python $(PYTHON) --extra embedded --extra dev

$(UV): requirements-uv.txt
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --require-hashes -r requirements-uv.txt
	touch $(UV)

$(STAMP): $(UV) pyproject.toml uv.lock
	$(SYNC)
	touch $(STAMP)

install: $(STAMP) ## Create .venv and install the service with its dev and embedded extras, exactly as uv.lock pins them

lock: $(UV) ## Upgrade every pinned dependency (uv.lock) on purpose, reinstall, then regenerate generated/
	$(UV) lock --upgrade --python $(PYTHON)
	$(SYNC)
	touch $(STAMP)
	$(MAKE) proto

BENCH_STAMP := $(VENV)/.bench-stamp
$(BENCH_STAMP): $(STAMP)
	$(SYNC) --extra bench --inexact
	touch $(BENCH_STAMP)

$(NODE_BIN)/buf:
	npm install --no-save --no-audit --no-fund --silent @bufbuild/buf

run: $(STAMP) ## Run the whole service on 127.0.0.1:50051 (embedded default: SQLite, local S3, in-process worker)
	$(BIN)/media-grpc serve

serve: run ## Same as run

worker: $(STAMP) ## Run a worker against the configured broker (MEDIA_BROKER_URL)
	$(BIN)/media-grpc worker

migrate: $(STAMP) ## Apply database migrations to MEDIA_DATABASE_URL
	$(BIN)/media-grpc migrate

proto: $(STAMP) ## Regenerate generated/ from protos/
	rm -rf generated/media
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m grpc_tools.protoc -I protos \
	  -I "$$($(BIN)/python scripts/proto_include.py)" --python_out=generated --grpc_python_out=generated \
	  --mypy_out=generated --mypy_grpc_out=generated protos/media/v1/media.proto
	touch generated/media/__init__.py generated/media/v1/__init__.py

proto-check: $(STAMP) ## Fail when generated/ is stale against protos/
	$(BIN)/python scripts/check_generated.py

# buf reads google/api/*.proto from the installed googleapis-common-protos (no registry needed):
# links in .buf-deps/, a module of buf.yaml that is not linted.
BUF_DEPS := .buf-deps/google/api
$(BUF_DEPS)/annotations.proto: $(STAMP) scripts/proto_include.py
	mkdir -p $(BUF_DEPS)
	include="$$($(BIN)/python scripts/proto_include.py)" && \
	  ln -sf "$$include/google/api/annotations.proto" "$$include/google/api/http.proto" $(BUF_DEPS)/

buf-lint: $(NODE_BIN)/buf $(BUF_DEPS)/annotations.proto ## Lint the contract with buf
	$(NODE_BIN)/buf lint

# contract/baseline.binpb is the released contract (a buf image of protos/ as on main before a
# change): `buf breaking` compares protos/ with it, so additive changes pass and a breaking one
# fails (it needs a new package version, media.v2). Refresh it when a contract change is released.
CONTRACT_BASELINE := contract/baseline.binpb

buf-breaking: $(NODE_BIN)/buf $(BUF_DEPS)/annotations.proto ## Fail when protos/ breaks the released contract (contract/baseline.binpb)
	$(NODE_BIN)/buf breaking protos --against $(CONTRACT_BASELINE)

contract-baseline: $(NODE_BIN)/buf $(BUF_DEPS)/annotations.proto ## Make the contract in protos/ the released baseline that buf-breaking compares with
	$(NODE_BIN)/buf build protos -o $(CONTRACT_BASELINE)

lint: $(STAMP) buf-lint ## ruff (lint + format check), mypy and buf lint
	$(BIN)/ruff check src tests bench scripts examples
	$(BIN)/ruff format --check src tests bench scripts examples
	$(BIN)/mypy
	$(BIN)/mypy examples/gateway/gateway.py examples/demo.py

fmt: $(STAMP) ## Format and autofix with ruff
	$(BIN)/ruff format src tests bench scripts examples
	$(BIN)/ruff check --fix src tests bench scripts examples

promtool: ## Install promtool (Debian's prometheus package, as root) when it is missing; the alert rules test needs it
	bash scripts/ensure-promtool.sh

services: ## Start PostgreSQL, RabbitMQ and the strict S3 (Ceph RGW, installed when missing) unless they answer; the tests take MEDIA_TEST_DATABASE_URL / MEDIA_TEST_BROKER_URL / MEDIA_TEST_S3_URL instead where set
	bash scripts/ensure-services.sh

# The tests run in a random order (pytest-randomly); the header prints "Using --randomly-seed=N".
# Repeat an order with PYTEST_ARGS=--randomly-seed=N, or run in file order with PYTEST_ARGS="-p no:randomly".
# A red run reruns each failed test alone and marks those that then pass as FLAKY; it stays red.
test: $(STAMP) services chromium shell-tools promtool proto-check lint buf-breaking ## Install what is missing, check generated code and lint, run the whole suite in random order
	rm -f .pytest_cache/v/cache/lastfailed
	$(BIN)/pytest $(PYTEST_ARGS) || { $(BIN)/python scripts/rerun_failed.py; exit 1; }

test-unit: $(STAMP) ## Unit tests only (no services needed)
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

# tests/fuzz runs inside `make test` with a fixed budget (tests/fuzz/budget.py); this is the long hunt.
fuzz: $(STAMP) ## Fuzz the parsers and policies that take hostile input for longer (MEDIA_FUZZ_EXAMPLES, default here 20000 per target)
	MEDIA_FUZZ_EXAMPLES=$${MEDIA_FUZZ_EXAMPLES:-20000} $(BIN)/pytest tests/fuzz -p no:randomly $(PYTEST_ARGS)

test-integration: $(STAMP) services shell-tools ## Integration and end-to-end tests only
	$(BIN)/pytest tests/integration tests/e2e tests/strict_s3 $(PYTEST_ARGS)

test-faults: $(STAMP) services ## Fault tests only (lost DB connections, SIGTERM, 503 or refusing storage, broker outage, worker SIGKILL, serve SIGKILL under watchers and uploads), with a table of counts; part of `make test`
	$(BIN)/pytest tests/faults -m faults $(PYTEST_ARGS)

chromium: ## Install Debian's Chromium for the browser tests when /usr/bin/chromium is missing
	test -x /usr/bin/chromium || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

shell-tools: ## Install curl, jq and openssl (Debian's) when missing: the README's first upload uses them, and a test runs it
	command -v curl >/dev/null && command -v jq >/dev/null && command -v openssl >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq curl jq openssl)

test-browser: $(STAMP) services chromium ## Browser tests only: the demo page in Chromium (Playwright) on the strict S3
	$(BIN)/pytest tests/browser $(PYTEST_ARGS)

demo: $(STAMP) ## Service, reference gateway (:8080) and demo page (http://localhost:3000); embedded S3 unless MEDIA_S3_ENDPOINT_URL is set (then storage init runs first)
	$(BIN)/python examples/demo.py

scaling-figures: $(STAMP) ## Rewrite the figures of docs/operations.md's Scaling section from docs/benchmarks.md (after make bench)
	$(BIN)/python scripts/scaling_section.py

# Root only (network namespaces); `make test` runs a short version (tests/rehearsal/).
rehearsal: $(STAMP) services ## Several-node rehearsal: 2 serve + 2 worker nodes in network namespaces, 200 uploads, a server and a worker killed
	$(BIN)/python -m tests.rehearsal $(REHEARSAL_ARGS)

# The video benchmark's reference is the ffmpeg CLI (Debian's package; the product uses PyAV only).
bench: $(BENCH_STAMP) services ## Run the benchmarks and write docs/benchmarks.md
	command -v ffmpeg >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q ffmpeg
	$(BIN)/python -m bench

clean: ## Remove the virtualenv, caches and the embedded default's data
	rm -rf $(VENV) $(TOOLS) node_modules .buf-deps .pytest_cache .mypy_cache .ruff_cache .media-data
