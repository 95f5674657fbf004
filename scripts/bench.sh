#!/usr/bin/env bash
# The benchmarks (not part of the test run): session apply at 100, 1,000 and 10,000 nodes
# against a per-node loop, `pulumi preview` with 0, 1, 10 and 50 templates and sessions, `tofu
# plan` (and `terraform plan` where installed) of the empty configuration and of 50 templates
# and sessions, preview lines at scale (to 100,000 nodes), the largest systems (template,
# session and status at 100,000 nodes), and reboot sessions on the lab's two VMs against the
# real services; the status map at 1,024 to 100,000 nodes, and its screenshot in the README.
# Writes docs/benchmarks.md. Arguments go to `python -m benchmarks` (see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
ENGINE_BIN=$(PYTHON="$PWD/.venv/bin/python" bash scripts/engine.sh)
PYTHON="$PWD/.venv/bin/python" bash scripts/openchami-setup.sh >/dev/null
bash scripts/lab-setup.sh >/dev/null
bash scripts/browser-setup.sh
TOFU_BIN=$(bash scripts/tofu.sh)
export PATH="$PWD/.venv/bin:$ENGINE_BIN:$TOFU_BIN:$PATH"
.venv/bin/python -m benchmarks "$@"
