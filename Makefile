# Two commands do all set-up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/uv/bin/uv
UV_STAMP := $(TOOLS)/uv/.installed-$(UV_VERSION)
AZURITE_DIR := tools/azurite
AZURITE_STAMP := $(AZURITE_DIR)/node_modules/.installed

# Build .venv with the machine's Python, never a downloaded interpreter.
export UV_PYTHON := $(PYTHON)
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv

.PHONY: run test install install-dev services lint typecheck check clean

run: install
	@exec .venv/bin/stratus server start

# Test files run in parallel, each file's tests on one worker (module fixtures start servers once), in
# collection order: tests/conftest.py puts the slowest files first.
TEST_WORKERS ?= 3
test: install-dev services
	@.venv/bin/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

# --inexact: `make run` and `make test` may run at once; neither removes what the other installed.
install: $(UV_STAMP)
	@$(call sync,--no-dev,.venv/.bytecode-run)

install-dev: $(UV_STAMP)
	@$(call sync,,.venv/.bytecode-dev)

# Bytecode, as pip installs it: uv writes none unless UV_COMPILE_BYTECODE is set, and with
# PYTHONDONTWRITEBYTECODE=1 Python caches none either, so every start would compile every module it
# imports. uv then recompiles the whole venv on every sync (~1.5 s with nothing to do), so that runs only
# when the stamp (inside .venv: a new venv has none) is older than uv.lock or pyproject.toml. src/ is
# outside site-packages (an editable install): compileall, which skips what is up to date (~0.1 s).
# $(1): further uv sync flags; $(2): the stamp.
define sync
$(UV) sync --frozen --inexact --extra all --quiet $(1) && \
if [ ! $(2) -nt uv.lock ] || [ ! $(2) -nt pyproject.toml ]; then \
	UV_COMPILE_BYTECODE=1 $(UV) sync --frozen --inexact --extra all --quiet $(1) && touch $(2); \
fi && \
{ .venv/bin/python -m compileall -q src || echo "warning: src/ not fully byte-compiled"; }
endef

$(UV_STAMP):
	@echo "Installing uv $(UV_VERSION) into $(TOOLS)/uv"
	@rm -rf $(TOOLS)/uv
	@$(PYTHON) -m pip install --quiet --disable-pip-version-check --target $(TOOLS)/uv uv==$(UV_VERSION)
	@touch $@

# PostgreSQL if it is down (where this machine has a cluster), and the pinned Azurite for the blob tests.
services: $(AZURITE_STAMP)
	@if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then \
		echo "Starting PostgreSQL"; \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -n1) main start || true; \
	fi

$(AZURITE_STAMP): $(AZURITE_DIR)/package-lock.json
	@echo "Installing Azurite into $(AZURITE_DIR)"
	@npm ci --prefix $(AZURITE_DIR) --no-audit --no-fund --loglevel=error --engine-strict=false
	@touch $@

lint: install-dev
	@.venv/bin/ruff check src tests benchmarks examples
	@.venv/bin/ruff format --check src tests benchmarks examples

typecheck: install-dev
	@.venv/bin/mypy

# The suite runs ruff (check and format) and mypy itself (tests/test_quality.py).
check: test

clean:
	rm -rf .venv $(TOOLS) $(AZURITE_DIR)/node_modules .pytest_cache .mypy_cache .ruff_cache
