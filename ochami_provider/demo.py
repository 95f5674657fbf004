"""`python -m ochami_provider.demo`: apply a sample stack's boot configuration to the simulator.

Starts the embedded OpenCHAMI simulator, then runs each template and session of the stack file
through the providers (check, create) exactly as the Pulumi engine calls them, and prints what
landed in BSS and the cloud-init server and how the session went.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from .resources import BootSessionProvider, BootTemplateProvider
from .sim import Fleet, SimServer
from .sim.__main__ import DEMO_ARTIFACTS

SPEC_KEYS = ("name", "description", "boot_sets", "cloud_init")


def _stack_config(path: Path) -> dict[str, Any]:
    return dict(yaml.safe_load(path.read_text())["config"])


def _checked(provider: Any, props: dict[str, Any]) -> dict[str, Any]:
    result = provider.check({}, props)
    if result.failures:
        for failure in result.failures:
            print(f"  invalid: {failure.property}: {failure.reason}", file=sys.stderr)
        raise SystemExit(2)
    return dict(result.inputs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", default="stacks/Pulumi.cluster-a.yaml")
    parser.add_argument("--nodes", type=int, default=64)
    args = parser.parse_args(argv)
    config = _stack_config(Path(args.stack))
    port = int(config["ochami:uri"].rsplit(":", 1)[1])
    login = max(1, args.nodes // 8)
    fleet = Fleet.generate(
        args.nodes,
        groups={"compute": range(login, args.nodes), "login": range(login)},
        power_delay=0.2,
        artifacts=DEMO_ARTIFACTS,
    )
    with SimServer(fleet, port=port) as sim:
        print(f"simulator: {args.nodes} nodes at {sim.url}")
        connection = {"uri": config["ochami:uri"]}
        templates: dict[str, dict[str, Any]] = {}
        for name, spec in config.get("ochami-boot:templates", {}).items():
            props = _checked(
                BootTemplateProvider(), {"name": name, **spec, "connection": connection}
            )
            outs = BootTemplateProvider().create(props).outs or {}
            templates[name] = outs
            print(f"template {name} version {outs['version']}: {outs['node_count']} nodes")
        for name, spec in config.get("ochami-boot:sessions", {}).items():
            template = templates[spec["template"]]
            props = _checked(
                BootSessionProvider(),
                {
                    "name": name,
                    **{k: v for k, v in spec.items() if k != "template"},
                    "template": {k: template[k] for k in SPEC_KEYS},
                    "connection": connection,
                },
            )
            outs = BootSessionProvider().create(props).outs or {}
            print(
                f"session {name}: {outs['status']} ({len(outs['results']['succeeded'])}"
                f" succeeded, {len(outs['results']['failed'])} failed, retries"
                f" {outs['retry_count']}) completed at {outs['completed_at']}"
            )
        first = sorted(fleet.bootparams)[0]
        print(f"BSS {first}: {json.dumps(fleet.bootparams[first])}")
        print(f"BSS holds boot parameters for {len(fleet.bootparams)} nodes")
        for group, data in fleet.cloud_init_groups.items():
            print(f"cloud-init group {group}: {json.dumps(data)}")


if __name__ == "__main__":
    main()
