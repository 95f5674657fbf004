"""The `ochami-boot` command: what each node boots, read from the cluster's services; one-off
power outside a stack; and BOS session templates imported as boot templates.

    ochami-boot status [--node HOSTLIST] [--group LABEL] [--template NAME] [--json]
                       [--html FILE|- | --map] [--stack NAME | --export FILE | --tf-state FILE]
                       [--nodes-json FILE] [--watch SECONDS]
    ochami-boot power status|on|off|reboot --node HOSTLIST [--graceful] [--dry-run]
    ochami-boot import-bos FILE|- [--name NAME] [--output STACK_FILE [--replace]] [--offline]
    ochami-boot history (--stack NAME | --export FILE | --tf-state FILE) (--template NAME |
                        --node XNAME --at TIME | --show NAME@VERSION) [--checkpoints [DIR]] [--json]

The connection settings of `status` and `power` are the provider's (`ochami:*` stack config
keys as flags: `--uri`, `--smd-uri`, ..., `--ca-bundle`), falling back to the environment as
the `ochami` CLI reads it (OCHAMI_URI, OCHAMI_CLUSTER and <CLUSTER>_ACCESS_TOKEN,
OCHAMI_CACERT, ...). Exit status: 0, 1 when a service (or S3) fails or a node failed to power,
2 for a mistake in the command line or the input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import hostlist
from pydantic import ValidationError

from . import power_command
from .cli_import import BadInput, add_import_bos, import_bos
from .clients.services import Services
from .config import CONFIG_KEYS, CONFIG_NAMESPACE, ProviderConfig, from_sources
from .errors import InvalidInputError, OchamiError
from .extras import needs
from .history_command import HistorySourceError, add_history, history
from .models.names import normalize_xname
from .models.problems import problems_from
from .node_status import gather, rows, table
from .status_map_command import add_map_flags, check_map_flags, status_map, wants_map

# Connection flags: the stack config keys, spelled as options.
_CONNECTION = (
    "cluster",
    "uri",
    "smd_uri",
    "bss_uri",
    "cloud_init_uri",
    "pcs_uri",
    "ca_bundle",
    "config_file",
    "boot_backend",
    "group_data_backend",
    "power_backend",
    "bmc_credentials",
    "bmc_ca_bundle",
    "bmc_scheme",
    "boot_service_uri",
    "metadata_service_uri",
)


class UsageError(Exception):
    """A mistake in the command line: said on stderr, exit status 2."""


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="ochami-boot", description="Boot templates and sessions for OpenCHAMI."
    )
    commands = top.add_subparsers(dest="command", required=True)
    status = commands.add_parser(
        "status",
        help="which template each node boots, its power, and its last boot-script fetch",
        description="One row per run of nodes that agree (hostlist notation); --json per node.",
    )
    status.add_argument("--node", help="only these nodes (hostlist: x1000c0s[0-7]b0n[0-1])")
    status.add_argument("--group", help="only the members of this SMD group")
    status.add_argument("--template", help="only the nodes this template boots")
    status.add_argument("--json", action="store_true", help="one JSON object per node")
    add_map_flags(status)
    _connection_flags(status)
    power = commands.add_parser(
        "power",
        help="power nodes on, off or reboot them (or show their power), outside a stack",
        description="The same power backend, SMD reservations and verification as a session."
        " `on` leaves nodes that are on alone, `off` those that are off; `reboot` powers on"
        " the nodes that are off and restarts those that are on. What it will do is said"
        " first (--dry-run: only that).",
    )
    power.add_argument("action", choices=("status", "on", "off", "reboot"))
    power.add_argument("--node", required=True, help="the nodes (hostlist: x1000c0s[0-7]b0n0)")
    power.add_argument(
        "--graceful", action="store_true", help="reboot: ask the OS (Soft-Restart on PCS)"
    )
    power.add_argument("--dry-run", action="store_true", help="say what it would do, do nothing")
    power.add_argument("--task-deadline-minutes", type=int, help="the power backend's deadline")
    power.add_argument(
        "--wait-seconds", type=float, default=1800.0, help="give up (and abort) after this long"
    )
    _connection_flags(power)
    add_import_bos(commands)
    add_history(commands)
    return top


def _connection_flags(command: argparse.ArgumentParser) -> None:
    for field in _CONNECTION:
        command.add_argument(f"--{field.replace('_', '-')}", dest=field)
    command.add_argument("--insecure", action="store_true", help="skip TLS verification")
    command.add_argument("--timeout", type=float, help="seconds per request")
    command.add_argument(
        "--bmc-insecure", action="store_true", help="skip TLS verification of the BMCs (Redfish)"
    )


def sim_main() -> None:
    """`ochami-sim`: the simulator, or one line naming the extra to install."""
    with needs("ochami-sim", exit_=True):
        from .sim.__main__ import main as serve
    serve()


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "import-bos":
            return import_bos(args)
        if args.command == "power":
            return _power(args)
        if args.command == "history":
            return history(args)
        return _status(args)
    except (UsageError, BadInput, InvalidInputError, HistorySourceError) as error:
        print(f"ochami-boot: {error}", file=sys.stderr)
        return 2
    except OchamiError as error:
        print(f"ochami-boot: {error}", file=sys.stderr)
        return 1


def _status(args: argparse.Namespace) -> int:
    nodes = _nodes(args.node) if args.node is not None else None
    check_map_flags(args, UsageError)
    if wants_map(args):
        return status_map(args, nodes, lambda: _config(args))
    with Services.from_config(_config(args)) as services:
        found = gather(services, nodes=nodes, group=args.group, template=args.template)
    if args.json:
        print(json.dumps([s.as_json() for s in found], indent=2))
    elif found:
        print(table(rows(found)))
    else:
        print("no nodes match", file=sys.stderr)
    return 0


def _power(args: argparse.Namespace) -> int:
    nodes = sorted(set(_nodes(args.node)))
    if args.wait_seconds <= 0:
        raise UsageError(f"--wait-seconds: {args.wait_seconds:g} must be more than 0")
    with Services.from_config(_config(args)) as services:
        states = services.power.power_states(nodes)
        if args.action == "status":
            print("\n".join(power_command.status_lines(states, nodes)))
            return 0
        planned = power_command.plan(args.action, states, graceful=args.graceful)
        for line in power_command.describe(planned, services.power.names):
            print(("would " if args.dry_run else "") + line)
        if args.dry_run or not planned.steps:
            return 0
        outcome = power_command.run(
            services,
            planned,
            deadline_minutes=args.task_deadline_minutes,
            timeout_seconds=args.wait_seconds,
            log=lambda line: print(line, file=sys.stderr),
        )
    print("\n".join(power_command.report(outcome)))
    return 1 if outcome.failed else 0


def _nodes(value: str) -> list[str]:
    if not value.strip():
        # An empty hostlist (a shell variable left unset, say) must not mean the whole machine.
        raise UsageError(f"--node: {value!r} names no node (leave --node out for every node)")
    try:
        expanded = hostlist.expand_hostlist(value)
        return [normalize_xname(node) for node in expanded]
    except (hostlist.BadHostlist, ValueError) as error:
        raise UsageError(f"--node: {value!r} is not a hostlist of node xnames: {error}") from None


def _config(args: argparse.Namespace) -> ProviderConfig:
    given: dict[str, Any] = {
        f"{CONFIG_NAMESPACE}:{CONFIG_KEYS[field]}": getattr(args, field) for field in _CONNECTION
    }
    given[f"{CONFIG_NAMESPACE}:insecure"] = args.insecure or None
    given[f"{CONFIG_NAMESPACE}:timeout"] = args.timeout
    given[f"{CONFIG_NAMESPACE}:bmcInsecure"] = args.bmc_insecure or None
    try:
        return from_sources(given.get)
    except ValidationError as error:
        raise UsageError("; ".join(str(p) for p in problems_from(error))) from None


if __name__ == "__main__":
    sys.exit(main())
