"""`ochami-boot status --html FILE|- / --map`: the machine as a map, from the services (the
same reads as `status`) or from `--nodes-json` (what `status --json` or the `ochami_nodes`
data source gave); with a stack or a Tofu state (`--stack`, `--export`, `--tf-state`, as
`history` reads them) and the journal a running session keeps in the engine's directory, each
node's place in its last session. `--watch SECONDS` draws it again that often, until the
running session it saw has ended (or Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from . import map_page, map_text
from .clients.services import Services
from .config import ProviderConfig
from .history_command import HistorySourceError, add_sources, read_source, read_text
from .node_map import NodeMap, build, facts_of
from .node_status import NodeStatus, from_json, gather
from .session_journal import ENVIRONMENT as JOURNAL_ENVIRONMENT
from .session_journal import SessionJournal
from .session_progress import (
    BatchNote,
    NodeFacts,
    Recorded,
    batch_notes,
    from_pulumi_export,
    from_tf_state,
    nodes_from_tf,
    progress,
)


def add_map_flags(status: argparse.ArgumentParser) -> None:
    drawn = status.add_argument_group("the map (--html, --map)")
    drawn.add_argument("--html", metavar="FILE", help="write the map as one HTML page (- stdout)")
    drawn.add_argument("--map", action="store_true", help="print the map, a character per node")
    # Each session's recorded outcome per node, from one of them.
    add_sources(drawn.add_mutually_exclusive_group())
    drawn.add_argument("--cwd", type=Path, help="the engine's directory (Pulumi project, Tofu)")
    drawn.add_argument(
        "--journal",
        type=Path,
        help="where running sessions note their batches (default: the engine directory's"
        f" .ochami-boot/journal, or ${JOURNAL_ENVIRONMENT})",
    )
    drawn.add_argument(
        "--nodes-json",
        metavar="FILE",
        help="the nodes from `status --json`, the ochami_nodes data source's `nodes`, or a"
        " state holding that data source, instead of asking the services",
    )
    drawn.add_argument(
        "--watch", type=float, metavar="SECONDS", help="draw again this often while a session runs"
    )
    drawn.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    drawn.add_argument("--width", type=int, help="--map's columns (default: the terminal's)")


def wants_map(args: argparse.Namespace) -> bool:
    return bool(args.html or args.map)


def check_map_flags(args: argparse.Namespace, usage: Callable[[str], Exception]) -> None:
    sources = [f for f in ("stack", "export", "tf_state") if getattr(args, f) is not None]
    given = [f"--{f.replace('_', '-')}" for f in sources]
    if not wants_map(args):
        extra = given + [
            f"--{f.replace('_', '-')}"
            for f in ("nodes_json", "watch", "journal", "width")
            if getattr(args, f) is not None
        ]
        if extra:
            raise usage(f"{', '.join(extra)}: these draw the map; add --html FILE or --map")
        return
    if args.json:
        raise usage("--json prints rows; leave it out with --html or --map")
    if args.watch is not None and args.watch <= 0:
        raise usage(f"--watch: {args.watch:g} must be more than 0 seconds")
    if args.watch is not None and args.html == "-":
        raise usage("--watch rewrites a file; give --html FILE, not -")
    if args.nodes_json is not None and args.group is not None:
        raise usage("--group asks SMD for its members; with --nodes-json give --node HOSTLIST")
    if args.width is not None and args.width < 20:
        raise usage(f"--width: {args.width} is too narrow (20 columns at least)")


def status_map(
    args: argparse.Namespace, nodes: list[str] | None, config: Callable[[], ProviderConfig]
) -> int:
    """Draw the map of `nodes` (every node when None) once, or until the session ends."""
    colours: dict[str, int] = {}
    seen_running = False
    try:
        while True:
            found = draw(args, nodes, config, colours)
            running = any(view.running for view in found.sessions)
            seen_running = seen_running or running
            last = args.watch is None or (seen_running and not running)
            _show(args, found, refresh=None if last else args.watch)
            if last:
                return 0
            colours = {key.label: key.colour for key in found.keys if key.colour >= 0}
            time.sleep(args.watch)
    except KeyboardInterrupt:
        if args.watch is None:
            raise
        return 0  # Ctrl-C is how a watch that saw no session end stops


def draw(
    args: argparse.Namespace,
    nodes: list[str] | None,
    config: Callable[[], ProviderConfig],
    colours: Mapping[str, int],
) -> NodeMap:
    """One map: the nodes, what the sessions recorded, what running ones noted."""
    sources = []
    if args.nodes_json is not None:
        # What `gather` narrows by asking the services, narrowed here.
        wanted = None if nodes is None else set(nodes)
        statuses = [
            s
            for s in _nodes_json(args.nodes_json)
            if (wanted is None or s.node in wanted)
            and (args.template is None or s.template == args.template)
        ]
        sources.append(args.nodes_json)
    else:
        with Services.from_config(config()) as services:
            statuses = gather(services, nodes=nodes, group=args.group, template=args.template)
            sources.append(services.boot.label)
    recorded: dict[str, Recorded] = {}
    if any(getattr(args, f) is not None for f in ("stack", "export", "tf_state")):
        document, source, tofu = read_source(args)
        recorded = (from_tf_state if tofu else from_pulumi_export)(document, source)
        sources.append(source)
    facts = facts_of(statuses)
    journals = _journals(_journal_dir(args), facts, recorded.values())
    if journals:
        sources.append("the sessions' journal")
    marks, sessions = progress(facts, recorded, journals)
    title = f"ochami-boot status{f' of {args.cluster}' if args.cluster else ''}"
    return build(statuses, marks, sessions, title=title, sources=sources, colours=colours)


def _show(args: argparse.Namespace, found: NodeMap, *, refresh: float | None) -> None:
    if args.map:
        width = args.width or shutil.get_terminal_size((80, 24)).columns
        colour = args.color == "always" or (
            args.color == "auto" and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        )
        if args.watch is not None and sys.stdout.isatty():
            sys.stdout.write("\x1b[H\x1b[2J")
        print(map_text.render(found, width=width, colour=colour), flush=True)
    if args.html:
        page = map_page.render(found, refresh_seconds=refresh)
        if args.html == "-":
            sys.stdout.write(page + "\n")
            return
        _write_whole(Path(args.html), page)
        running = [v for v in found.sessions if v.running]
        doing = f"; {', '.join(f'{v.name} running' for v in running)}" if running else ""
        print(f"wrote {args.html}: {found.total:,} nodes{doing}", file=sys.stderr, flush=True)


def _write_whole(path: Path, page: str) -> None:
    """Replaced whole: a browser reloading it never reads half a page."""
    try:
        with tempfile.NamedTemporaryFile(
            "w", dir=path.parent, prefix=f".{path.name}.", delete=False, encoding="utf-8"
        ) as out:
            out.write(page)
        os.replace(out.name, path)
    except OSError as error:
        raise HistorySourceError(f"--html {path}: {error.strerror or error}") from None


def _nodes_json(path: str) -> list[NodeStatus]:
    source = "<stdin>" if path == "-" else path
    try:
        document = json.loads(read_text(path))
    except json.JSONDecodeError as error:
        raise HistorySourceError(f"--nodes-json {source}: not JSON ({error})") from None
    if isinstance(document, str):  # `tofu output -json` of the data source's `nodes`
        document = json.loads(document)
    if isinstance(document, dict):
        nodes = nodes_from_tf(document)
        if nodes is None:
            raise HistorySourceError(
                f"--nodes-json {source}: a JSON object, and no state holding a"
                ' data "ochami_nodes" (give a list of nodes, as `status --json` prints)'
            )
        document = nodes
    return from_json(document, f"--nodes-json {source}")


def _journal_dir(args: argparse.Namespace) -> Path:
    """Where the engine's provider keeps it: $OCHAMI_BOOT_JOURNAL, else the directory the
    engine runs in (`--cwd`, else this one)."""
    if args.journal is not None:
        return Path(args.journal)
    if os.environ.get(JOURNAL_ENVIRONMENT):
        return Path(os.environ[JOURNAL_ENVIRONMENT])
    return Path(args.cwd or Path.cwd()) / ".ochami-boot" / "journal"


def _journals(
    directory: Path, facts: Iterable[NodeFacts], recorded: Iterable[Recorded]
) -> dict[tuple[str | None, str], list[BatchNote]]:
    """The notes of every session the nodes' records or the engine's name, where its journal
    has any: a file per session, named by its deployment and name."""
    named = {(f.deployment, f.session) for f in facts if f.session}
    named |= {(r.deployment, r.name) for r in recorded}
    found = {}
    for deployment, session in sorted(named, key=str):
        path = SessionJournal(deployment, str(session), directory).path
        try:
            entries: Any = json.loads(path.read_text())
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as error:
            raise HistorySourceError(f"journal {path}: cannot be read ({error})") from None
        notes = batch_notes(entries) if isinstance(entries, list) else []
        if notes:
            found[(deployment, str(session))] = notes
    return found
