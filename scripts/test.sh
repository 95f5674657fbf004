#!/usr/bin/env bash
# The test command: install, lint, type-check, get the Pulumi engine and the real OpenCHAMI
# services, run the test suite (the end-to-end tests drive the real `pulumi` CLI; the contract
# tests and one end-to-end test run against the real SMD, BSS and cloud-init server too; the lab
# test boots two QEMU VMs from the real BSS; the Terraform-protocol provider runs under OpenTofu,
# built from the Go module proxy, and under Terraform where it is installed; both engines keep
# state on PostgreSQL and on versitygw's S3, also built from the Go module proxy; the status
# map's page is checked in Debian's Chromium).
#
# --fast: the unit and simulator tiers alone (pytest -m "unit or sim"; tiers in
# tests/conftest.py), over every core (pytest-xdist), with nothing to build: no engine, no real
# service, no VM.
set -euo pipefail
cd "$(dirname "$0")/.."
FAST=
if [ "${1:-}" = "--fast" ]; then
  FAST=1
  shift
fi
bash scripts/setup.sh
.venv/bin/ruff format --check .
.venv/bin/ruff check .
.venv/bin/mypy
bash scripts/docs.sh --check
if [ -n "$FAST" ]; then
  exec .venv/bin/python -m pytest -m "unit or sim" -n auto "$@"
fi
ENGINE_BIN=$(PYTHON="$PWD/.venv/bin/python" bash scripts/engine.sh)
PYTHON="$PWD/.venv/bin/python" bash scripts/openchami-setup.sh >/dev/null
bash scripts/lab-setup.sh >/dev/null
bash scripts/browser-setup.sh
TOFU_BIN=$(bash scripts/tofu.sh)
S3_BIN=$(bash scripts/versitygw.sh)
export PATH="$PWD/.venv/bin:$ENGINE_BIN:$TOFU_BIN:$S3_BIN:$PATH" OCHAMI_E2E=required OCHAMI_REAL=required
export OCHAMI_LAB=required OCHAMI_TOFU=required OCHAMI_TEAM=required OCHAMI_BROWSER=required
.venv/bin/python -m pytest "$@"
