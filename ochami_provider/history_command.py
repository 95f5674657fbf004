"""`ochami-boot history`: what a stack or a Tofu configuration's state remembers.

    ochami-boot history (--stack NAME [--cwd DIR] | --export FILE|- | --tf-state FILE|-)
                        (--template NAME | --node XNAME --at TIME | --show NAME@VERSION [--hcl])
                        [--checkpoints [DIR]] [--json]

`--stack` runs `pulumi stack export --show-secrets` (the stack's passphrase or secrets provider
must be at hand, as for `pulumi up`); `--export` reads what that printed. `--tf-state` reads a
state file (`terraform.tfstate`, `tofu state pull`) or `tofu show -json`. Exit status 2 for an
unknown template, version or node, or a source that cannot be read. `--checkpoints` adds what
the earlier states of a Pulumi diy backend kept (its `.pulumi/history/<project>/<stack>`).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from .errors import InvalidInputError
from .history import (
    NodeAt,
    Recorded,
    from_pulumi_export,
    from_tf_state,
    node_at,
    parse_time,
    version_spec,
    versions,
    with_older,
)
from .models.history import TemplateWrite
from .models.hostlists import compact
from .stack_file import render

# `--checkpoints` alone: the backend's own directory of them.
BACKEND_CHECKPOINTS = "backend"


class HistorySourceError(Exception):
    """The stack or state cannot be read: said on stderr, exit status 2."""


def add_history(commands: Any) -> None:
    command = commands.add_parser(
        "history",
        help="a template's versions, what a node was given at a time, a version's spec",
        description="Reads the history each template and session keeps in the engine's state"
        " (the last ochami:historyLength writes and runs).",
    )
    add_sources(command.add_mutually_exclusive_group(required=True))
    command.add_argument("--cwd", type=Path, help="with --stack: the Pulumi project's directory")
    command.add_argument(
        "--checkpoints",
        nargs="?",
        const=BACKEND_CHECKPOINTS,
        metavar="DIR",
        help="also read the earlier states in DIR (a diy backend's"
        " .pulumi/history/<project>/<stack>; alone, with --stack on a file:// backend: its"
        " own) for entries older than the kept history",
    )
    question = command.add_mutually_exclusive_group(required=True)
    question.add_argument("--template", help="this template's versions, newest first")
    question.add_argument("--node", help="what this node was given --at a time")
    question.add_argument("--show", metavar="NAME@VERSION", help="that version's spec")
    command.add_argument("--at", help="with --node: ISO 8601 time, UTC unless a zone is given")
    command.add_argument("--hcl", action="store_true", help="with --show: a Tofu resource block")
    command.add_argument("--json", action="store_true", help="JSON, for scripts")


def history(args: argparse.Namespace) -> int:
    recorded = _read(args)
    if args.checkpoints is not None:
        recorded = with_older(recorded, _checkpoints(args))
        print(_older_text(recorded), file=sys.stderr if args.json else sys.stdout)
    if args.template is not None:
        writes = versions(recorded, args.template)
        if args.json:
            print(json.dumps([w.model_dump(mode="json") for w in writes], indent=2))
        else:
            print(_versions_text(args.template, writes))
        return 0
    if args.node is not None:
        if args.at is None:
            raise InvalidInputError("at", None, "--node needs --at TIME (2026-11-24T10:00)")
        found = node_at(recorded, args.node, parse_time(args.at))
        print(json.dumps(_node_json(found), indent=2) if args.json else _node_text(found))
        return 0
    name, _, version = str(args.show).partition("@")
    if not version:
        raise InvalidInputError("show", args.show, "--show takes NAME@VERSION")
    version, spec = version_spec(recorded, name, version)
    if args.json:
        print(json.dumps({"name": name, **spec}, indent=2))
    elif args.hcl:
        print(_hcl(name, spec))
    else:
        body = {k: v for k, v in spec.items() if k != "name"}
        sys.stdout.write(
            render({name: body}, f"{name} at version {version}, from {recorded.source}")
        )
    return 0


def add_sources(source: Any) -> None:
    """`--stack`, `--export`, `--tf-state`: where what the engine recorded is read
    (`read_source`), as options of a mutually exclusive group."""
    source.add_argument("--stack", help="a Pulumi stack of this project's backend")
    source.add_argument("--export", help="what `pulumi stack export --show-secrets` printed")
    source.add_argument("--tf-state", help="a Tofu state file, or `tofu show -json` (- for stdin)")


# Reading the source ---------------------------------------------------------------------------
def _read(args: argparse.Namespace) -> Recorded:
    document, source, tofu = read_source(args)
    return (from_tf_state if tofu else from_pulumi_export)(document, source)


def read_source(args: argparse.Namespace) -> tuple[dict[str, Any], str, bool]:
    """The document `--stack`, `--export` or `--tf-state` names, what to call it, and whether
    it is a Tofu state (else a Pulumi stack export)."""
    if args.stack is not None:
        command = ["pulumi", "stack", "export", "--stack", args.stack, "--show-secrets"]
        try:
            done = subprocess.run(
                command, cwd=args.cwd, capture_output=True, text=True, check=False
            )
        except FileNotFoundError:
            raise HistorySourceError("--stack needs the `pulumi` command on PATH") from None
        if done.returncode != 0:
            raise HistorySourceError(
                f"`{' '.join(command)}` failed: {done.stderr.strip() or done.stdout.strip()}"
            )
        source = f"stack {args.stack}"
        return _json(done.stdout, source), source, False
    if args.export is not None:
        source = "<stdin>" if args.export == "-" else args.export
        return _json(read_text(args.export), source), source, False
    source = "<stdin>" if args.tf_state == "-" else args.tf_state
    return _json(read_text(args.tf_state), source), source, True


def _checkpoints(args: argparse.Namespace) -> list[Recorded]:
    """The states of a diy backend's checkpoint files: `<stack>-<ns>.checkpoint.json[.gz]`
    (one per update), and `<stack>.json.<ns>` (PULUMI_RETAIN_CHECKPOINTS)."""
    where = Path(args.checkpoints).expanduser()
    if args.checkpoints == BACKEND_CHECKPOINTS:
        where = _backend_checkpoints(args)
    if not where.is_dir():
        raise HistorySourceError(f"--checkpoints {where}: not a directory")
    files = sorted(
        p
        for p in where.iterdir()
        if ".checkpoint.json" in p.name or p.name.rpartition(".")[2].isdigit()
    )
    states = []
    for path in files:
        try:
            raw = path.read_bytes()
            text = gzip.decompress(raw).decode() if path.suffix == ".gz" else raw.decode()
        except (OSError, gzip.BadGzipFile, UnicodeDecodeError) as error:
            raise HistorySourceError(f"{path}: cannot be read ({error})") from None
        states.append(from_pulumi_export(_json(text, str(path)), str(path)))
    return states


def _backend_checkpoints(args: argparse.Namespace) -> Path:
    """Where a file:// backend keeps the stack's checkpoints (Pulumi v3.274.1's layout)."""
    if args.stack is None:
        raise HistorySourceError("--checkpoints without DIR needs --stack; name the directory")
    cwd = args.cwd or Path.cwd()
    url = os.environ.get("PULUMI_BACKEND_URL") or _whoami_url(cwd)
    if not url.startswith("file://"):
        scheme = url.partition("://")[0]
        raise HistorySourceError(
            f"--checkpoints reads a file:// backend's own; on {scheme}:// copy its"
            " .pulumi/history/<project>/<stack>/ objects to a directory and name it"
        )
    try:
        project = _project_name((cwd / "Pulumi.yaml").read_text())
    except OSError:
        raise HistorySourceError(
            f"{cwd}: no Pulumi.yaml (the project's directory: --cwd)"
        ) from None
    root = Path(url.removeprefix("file://")).expanduser()
    stack = str(args.stack).rpartition("/")[2]
    return root / ".pulumi" / "history" / project / stack


def _whoami_url(cwd: Path) -> str:
    try:
        done = subprocess.run(
            ["pulumi", "whoami", "--json"], cwd=cwd, capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise HistorySourceError("--checkpoints needs the `pulumi` command on PATH") from None
    try:
        return str(json.loads(done.stdout)["url"])
    except (ValueError, KeyError, TypeError):
        raise HistorySourceError(f"`pulumi whoami --json` failed: {done.stderr.strip()}") from None


def _project_name(pulumi_yaml: str) -> str:
    """The project's name from Pulumi.yaml."""
    document = YAML(typ="safe").load(pulumi_yaml) or {}
    name = document.get("name") if isinstance(document, dict) else None
    if not isinstance(name, str):
        raise HistorySourceError("Pulumi.yaml names no project")
    return name


def read_text(path: str) -> str:
    """A file's text, or stdin's for `-`."""
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text()
    except OSError as error:
        raise HistorySourceError(f"{path}: {error.strerror}") from None


def _json(text: str, source: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise HistorySourceError(f"{source}: not JSON ({error})") from None
    if not isinstance(document, dict):
        raise HistorySourceError(f"{source}: not a stack export or a state (a JSON object)")
    return document


# Saying it ---------------------------------------------------------------------------------
def _older_text(recorded: Recorded) -> str:
    sealed = (
        f"; {recorded.earlier_sealed} kept their history encrypted (secret_cloud_init),"
        " and are not read"
        if recorded.earlier_sealed
        else ""
    )
    return (
        f"{recorded.older} entr{'y' if recorded.older == 1 else 'ies'} older than the kept"
        f" history, from {recorded.earlier_states} earlier state(s){sealed}"
    )


def _versions_text(template: str, writes: list[TemplateWrite]) -> str:
    if not writes:
        return f"template {template}: no writes recorded (a state from before history)"
    lines = [f"template {template}: {len(writes)} write(s), newest first"]
    for write in writes:
        nodes = "; ".join(f"{name}: {compact(hosts)}" for name, hosts in write.hosts.items())
        lines.append(f"{write.at}  {write.version}  by {write.by or '?'}  {nodes}")
        lines += [f"    {change}" for change in write.changes]
    return "\n".join(lines)


def _node_text(found: NodeAt) -> str:
    at = found.at.isoformat(timespec="seconds")
    if found.write is None:
        given = f"{found.node} at {at}: no recorded template gave it a boot entry then"
    else:
        given = (
            f"{found.node} at {at}: template {found.template} version {found.write.version}"
            f" (boot set {found.boot_set}), written {found.write.at} by {found.write.by or '?'}"
        )
    if found.run is None:
        return f"{given}\n  no recorded session run acted on it before then"
    run = found.run
    steps = ", ".join(a for a, nodes in run.acted.items() if found.node in nodes)
    outcome = run.status + (" (it failed)" if found.node in run.failed else "")
    return (
        f"{given}\n  last session run before then: {found.session} ({run.operation}, {steps}),"
        f" started {run.started_at}, {outcome}, template version {run.template_version}"
    )


def _node_json(found: NodeAt) -> dict[str, Any]:
    return {
        "node": found.node,
        "at": found.at.isoformat(timespec="seconds"),
        "template": found.template,
        "version": found.write.version if found.write else None,
        "boot_set": found.boot_set,
        "written_at": found.write.at if found.write else None,
        "session": found.session,
        "run": found.run.model_dump(mode="json") if found.run else None,
    }


def _hcl(name: str, spec: dict[str, Any]) -> str:
    """A resource block declaring the spec, its JSON values in `jsonencode` (HCL takes JSON's
    object syntax); template sequences escaped so HCL reads them as text."""
    cloud_init = spec.get("cloud_init") or {}
    lines = [f'resource "ochami_boot_template" "{name}" {{', f"  name = {_hcl_string(name)}"]
    if spec.get("description"):
        lines.append(f"  description = {_hcl_string(spec['description'])}")
    lines.append(f"  boot_sets = jsonencode({_hcl_json(spec['boot_sets'])})")
    if "meta_data" in cloud_init:
        lines.append(f"  cloud_init_meta_data = jsonencode({_hcl_json(cloud_init['meta_data'])})")
    if "user_data" in cloud_init:
        lines.append(f"  cloud_init_user_data = {_hcl_string(cloud_init['user_data'])}")
    if cloud_init.get("description"):
        lines.append(f"  cloud_init_description = {_hcl_string(cloud_init['description'])}")
    lines.append("}")
    return "\n".join(lines)


def _hcl_json(value: Any) -> str:
    return _escaped(json.dumps(value, indent=2)).replace("\n", "\n  ")


def _hcl_string(text: str) -> str:
    return _escaped(json.dumps(text))


def _escaped(text: str) -> str:
    return text.replace("${", "$${").replace("%{", "%%{")
