#!/usr/bin/env bash
# The main job: a real `pulumi up` of the sample stacks against the embedded OpenCHAMI
# simulators: cluster-a on OpenCHAMI v0.1 (BSS, cloud-init), cluster-b on v0.2 (boot-service),
# its template copied from cluster-a's through a StackReference.
# With --lab: cluster-a's templates and session against the real SMD, BSS and cloud-init server,
# on two QEMU VMs that network-boot from BSS; shows what each VM booted beside `ochami-boot status`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
ENGINE_BIN=$(PYTHON="$PWD/.venv/bin/python" bash scripts/engine.sh)
export PATH="$PWD/.venv/bin:$ENGINE_BIN:$PATH"
WORK=$(mktemp -d)
export PULUMI_HOME="$WORK/home" PULUMI_SKIP_UPDATE_CHECK=1
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-demo-passphrase}"

if [ "${1:-}" = "--lab" ]; then
  PYTHON="$PWD/.venv/bin/python" bash scripts/openchami-setup.sh >/dev/null
  bash scripts/lab-setup.sh >/dev/null
  python -m tests.lab serve --workdir "$WORK" --stack-config stacks/Pulumi.cluster-a.yaml &
  LAB=$!
  trap 'kill $LAB 2>/dev/null; wait $LAB 2>/dev/null; rm -rf "$WORK"' EXIT
  for _ in $(seq 120); do [ -f "$WORK/ready" ] && break; sleep 0.5; done
  [ -f "$WORK/ready" ] || { echo "the lab did not start" >&2; exit 1; }
  # shellcheck disable=SC1091
  source "$WORK/env"  # the services' addresses and token, as the ochami CLI reads them
  # A copy of the project, so the lab stack's config stays out of stacks/.
  mkdir -p "$WORK/project/stacks"
  cp Pulumi.yaml __main__.py "$WORK/project/" && ln -s "$PWD/.venv" "$WORK/project/.venv"
  cp "$WORK/Pulumi.lab.yaml" "$WORK/project/stacks/"
  cd "$WORK/project"
  pulumi login --non-interactive "file://$WORK" >/dev/null
  pulumi stack select --create --non-interactive lab >/dev/null
  echo "=== lab: cluster-a's templates and session on two VMs, against the real services"
  pulumi up --yes --non-interactive --diff
  echo "--- what each VM booted (its serial console)"
  (cd - >/dev/null && python -m tests.lab show --workdir "$WORK")
  echo "--- ochami-boot status"
  ochami-boot status
  pulumi destroy --yes --non-interactive >/dev/null
  exit 0
fi
# Two clusters, each with its own OpenCHAMI: cluster-a (v0.1) on 27780, cluster-b (v0.2) on 27781.
python -m ochami_provider.sim --nodes 64 --port 27780 &
SIM_A=$!
python -m ochami_provider.sim --nodes 32 --port 27781 --group-prefix b- --generation v0.2 &
SIM_B=$!
trap 'kill $SIM_A $SIM_B 2>/dev/null; rm -rf "$WORK"' EXIT
python - <<'PY'
import time, httpx
for port in (27780, 27781):
    for _ in range(100):
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz").raise_for_status()
            break
        except httpx.HTTPError:
            time.sleep(0.1)
PY

pulumi login --non-interactive "file://$WORK" >/dev/null
for cluster in cluster-a cluster-b; do
  port=$([ "$cluster" = cluster-a ] && echo 27780 || echo 27781)
  backend=$([ "$cluster" = cluster-a ] && echo bss || echo boot-service)
  groups=$([ "$cluster" = cluster-a ] && echo cloud-init || echo metadata-service)
  echo "=== $cluster: pulumi up (boot settings in $backend, group data in $groups)"
  pulumi stack select --create --non-interactive "$cluster" >/dev/null
  pulumi up --yes --non-interactive --diff
  echo "--- what $cluster's OpenCHAMI holds now"
  python -m ochami_provider.demo "http://127.0.0.1:$port" --boot-backend "$backend" \
    --group-data-backend "$groups"
  echo "--- ochami-boot status: what each node boots, its power, its last boot-script fetch"
  ochami-boot status --uri "http://127.0.0.1:$port" --boot-backend "$backend"
  echo "--- $cluster session outputs"
  pulumi stack output --json | python -c 'import json,sys; o=json.load(sys.stdin); [print(k, "=", json.dumps(v)[:200]) for k, v in o.items() if k.startswith("session:")]'
  if [ "$cluster" = cluster-a ]; then
    # The map of cluster-a after its session: each node by template version, power and
    # where it stands in its last session (read from the stack), as a page and in the terminal.
    mkdir -p demo-output
    echo "--- ochami-boot status --map --stack cluster-a"
    ochami-boot status --uri "http://127.0.0.1:$port" --stack cluster-a --map --color never \
      --html demo-output/cluster-a-status.html
    echo "the status map of cluster-a: $PWD/demo-output/cluster-a-status.html"
  fi
done
