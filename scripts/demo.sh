#!/usr/bin/env bash
# The main job: apply the sample stack's templates and sessions to the embedded OpenCHAMI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m ochami_provider.demo "$@"
