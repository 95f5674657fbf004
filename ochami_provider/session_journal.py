"""A local record of the nodes a session powered, for the run the engine never recorded.

A second Ctrl-C (or a killed engine) ends `pulumi up` while the provider is mid-session: the
engine records nothing, and the next `up` would run the session again and reboot every node a
second time. So before each PCS transition the session notes here which nodes it powers, when,
for which run, template version and operation. A later run of the same session (same
deployment, same name) verifies those nodes instead of powering them again. A run that ends
and hands its record back while the engine is running drops the session's notes; one that the
engine stopped keeps them until the engine shows a state that records it (the session's `run_id`),
or a later run takes them over.

One JSON file per session in `.ochami-boot/journal/` under the directory the engine runs in
(the Pulumi project, the Terraform configuration), or `OCHAMI_BOOT_JOURNAL` when set.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from .models.hostlists import compact, expand

ENVIRONMENT = "OCHAMI_BOOT_JOURNAL"


@dataclass(frozen=True)
class Powered:
    run: str
    template_version: str
    operation: str
    started: int
    nodes: str  # hostlist
    noted: float
    # PCS's id for the transition, once it answered; empty when the run ended between the
    # note and PCS's answer (the nodes may or may not have been powered).
    transition: str = ""


def journal_dir() -> Path:
    return Path(os.environ.get(ENVIRONMENT) or Path.cwd() / ".ochami-boot" / "journal")


class SessionJournal:
    def __init__(self, deployment: str | None, session: str, directory: Path | None = None):
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{deployment or '-'}--{session}")
        self.path = (directory or journal_dir()) / f"{safe}.json"

    def _entries(self) -> list[Powered]:
        try:
            return [Powered(**e) for e in json.loads(self.path.read_text())]
        except (OSError, ValueError, TypeError):
            return []

    def _write(self, entries: list[Powered]) -> None:
        if not entries:
            self.path.unlink(missing_ok=True)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Replaced whole, so an interrupt mid-write leaves the previous journal.
        with tempfile.NamedTemporaryFile(
            "w", dir=self.path.parent, prefix=".tmp-", delete=False
        ) as out:
            json.dump([asdict(e) for e in entries], out)
        os.replace(out.name, self.path)

    def note(self, run: str, version: str, operation: str, started: int, nodes: list[str]) -> None:
        entry = Powered(run, version, operation, started, compact(nodes), time.time())
        self._write([*self._entries(), entry])

    def started(self, run: str, started: int, transition: str) -> None:
        """PCS answered with the transition's id."""
        self._write(
            [
                replace(e, transition=transition) if (e.run, e.started) == (run, started) else e
                for e in self._entries()
            ]
        )

    def powered(self, version: str, operation: str) -> dict[str, Powered]:
        """What an unacknowledged run of this session powered for this template version and
        operation: node -> its latest note."""
        found: dict[str, Powered] = {}
        for entry in self._entries():
            if entry.template_version == version and entry.operation == operation:
                for node in expand(entry.nodes):
                    if node not in found or found[node].noted < entry.noted:
                        found[node] = entry
        return found

    def acknowledge(self, run: str | None) -> None:
        """The engine's state records `run`: drop its notes and every note made before them."""
        entries = self._entries()
        if not run or not entries:
            return
        mine = [e.noted for e in entries if e.run == run]
        if not mine:
            return
        last = max(mine)
        self._write([e for e in entries if e.run != run and e.noted > last])

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
