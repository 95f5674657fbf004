#!/usr/bin/env bash
# The Terraform provider's registry docs (docs/index.md, docs/resources, docs/data-sources,
# docs/functions), written from the provider's schema (the models' descriptions) and examples/.
# --check: write nothing, exit 1 naming each stale file (scripts/test.sh runs it).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m ochami_provider.terraform_adapter.docs "$@"
