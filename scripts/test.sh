#!/usr/bin/env bash
# The test command: install, lint, type-check, get the Pulumi engine, run the test suite
# (the end-to-end tests drive the real `pulumi` CLI).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff format --check .
.venv/bin/ruff check .
.venv/bin/mypy
ENGINE_BIN=$(PYTHON="$PWD/.venv/bin/python" bash scripts/engine.sh)
export PATH="$PWD/.venv/bin:$ENGINE_BIN:$PATH" OCHAMI_E2E=required
.venv/bin/python -m pytest "$@"
