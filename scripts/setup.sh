#!/usr/bin/env bash
# Create .venv (once) and install the package with both front ends (the extras `pulumi` and
# `terraform`), the simulator and the test tools from PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv 2>/dev/null || { apt-get install -y python3-venv >/dev/null && python3 -m venv .venv; }
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev,sim,pulumi,terraform]"
