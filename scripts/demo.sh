#!/usr/bin/env bash
# The main job: a real `pulumi up` of the sample stack against the embedded OpenCHAMI simulator.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
ENGINE_BIN=$(PYTHON="$PWD/.venv/bin/python" bash scripts/engine.sh)
export PATH="$PWD/.venv/bin:$ENGINE_BIN:$PATH"
WORK=$(mktemp -d)
export PULUMI_HOME="$WORK/home" PULUMI_SKIP_UPDATE_CHECK=1
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-demo-passphrase}"
URI=http://127.0.0.1:27780

python -m ochami_provider.sim --nodes 64 --port 27780 &
SIM=$!
trap 'kill $SIM 2>/dev/null; rm -rf "$WORK"' EXIT
python - <<'PY'
import time, httpx
for _ in range(100):
    try:
        httpx.get("http://127.0.0.1:27780/healthz").raise_for_status()
        break
    except httpx.HTTPError:
        time.sleep(0.1)
PY

pulumi login --non-interactive "file://$WORK" >/dev/null
pulumi stack select --create --non-interactive cluster-a >/dev/null
pulumi up --yes --non-interactive --diff
echo "--- what OpenCHAMI holds now"
python -m ochami_provider.demo "$URI"
echo "--- session outputs"
pulumi stack output --json | python -c 'import json,sys; o=json.load(sys.stdin); [print(k, "=", json.dumps(v)[:300]) for k, v in o.items() if k.startswith("session:")]'
