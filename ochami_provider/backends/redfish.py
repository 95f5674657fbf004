"""Power over Redfish, for sites without PCS: the product asks each node's BMC itself, at the
address SMD holds for it (`Inventory/ComponentEndpoints`: the BMC's FQDN, the system's URI, its
reset action and the reset types it allows), with the credentials the admin names
(`bmc_credentials.py`).

A power run is what a PCS transition is, kept in this process: one reset per node (at most
`bmcParallelism` BMCs at once), then reads of each node's power state until it is what the
action leads to, or the run's deadline passes. `progress` never waits: it reports, and starts
the reads that are due. A run this process did not start is unknown (NotFoundError), so a run
interrupted with its process counts as done when a session resumes (no second reboot).

As PCS does, the nodes of a run that carries no deputy key for them are reserved in SMD for
the run, so two tools never power one node at once.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..bmc_credentials import load as load_credentials
from ..clients.redfish import RedfishClient, RedfishError
from ..clients.transport import tls_context
from ..errors import NotFoundError, OchamiError, ServiceError
from ..models.power import NodePower, NodePowerStatus, PowerAction, PowerProgress
from ..models.records import ComponentEndpoint, Reservation

if TYPE_CHECKING:
    from ..clients.services import Services
    from ..ports import Inventory

# The reset each action sends, in order of preference, and the power state that confirms it.
_RESETS: dict[PowerAction, tuple[str, ...]] = {
    "on": ("On", "ForceOn"),
    "off": ("GracefulShutdown",),
    "restart": ("ForceRestart", "PowerCycle"),
    "graceful-restart": ("GracefulRestart",),
}
_CONFIRMED_BY: dict[PowerAction, str] = {
    "on": "On",
    "off": "Off",
    "restart": "On",
    "graceful-restart": "On",
}
# How long a node's power is left alone between two reads while a run waits for it.
_REREAD_SECONDS = 1.0
_DEFAULT_DEADLINE_MINUTES = 5
_NO_ENDPOINT = (
    "SMD holds no Redfish endpoint for this node (Inventory/ComponentEndpoints): discover its"
    " BMC first (magellan, or SMD's RedfishEndpoints)"
)


@dataclass
class _NodeRun:
    reset_type: str = ""
    endpoint: ComponentEndpoint | None = None
    # The reset, and the power state read right after it; `requested` once it has left.
    sent: Future[str] | None = None
    requested: bool = False
    reading: Future[str] | None = None
    read_after: float = 0.0
    seen: str | None = None
    status: NodePowerStatus = "running"
    error: str = ""


@dataclass
class _Run:
    action: PowerAction
    deadline: float
    minutes: int
    nodes: dict[str, _NodeRun]
    held: list[Reservation] = field(default_factory=list)
    state: str = "in-progress"
    # What `progress` reports, kept up to date as nodes settle: a look at 10,000 nodes
    # walks only those still running.
    reported: dict[str, NodePower] = field(default_factory=dict)
    running: set[str] = field(default_factory=set)


class RedfishPower:
    backend = "redfish"
    label = "Redfish"
    # What results and logs show was sent (the first reset type of each action's list).
    names: Mapping[PowerAction, str] = {action: types[0] for action, types in _RESETS.items()}

    @classmethod
    def over(cls, services: Services) -> RedfishPower:
        """The TLS settings are checked now; the credentials are read (and the client's thread
        started) when a node is first powered or read, so a reviewer without them can preview."""
        config = services.config
        verify: bool | str = config.bmc_ca_bundle or not config.bmc_insecure
        tls = tls_context(verify, "bmcCaBundle")

        def client() -> RedfishClient:
            return RedfishClient(
                load_credentials(config.bmc_credentials),
                scheme=config.bmc_scheme,
                verify=tls,
                timeout=config.timeout_seconds,
                parallelism=config.bmc_parallelism,
            )

        power = cls(services.inventory, client)
        services.on_close(power.close)
        return power

    def __init__(
        self,
        inventory: Inventory,
        client: RedfishClient | Callable[[], RedfishClient],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`client`: the client, or what makes it on first use."""
        self.inventory = inventory
        self._client: RedfishClient | None = None
        self._make_client: Callable[[], RedfishClient] | None = None
        if isinstance(client, RedfishClient):
            self._client = client
        else:
            self._make_client = client
        self.clock = clock
        self._runs: dict[str, _Run] = {}

    @property
    def client(self) -> RedfishClient:
        if self._client is None:
            assert self._make_client is not None
            self._client = self._make_client()
        return self._client

    def ready(self) -> None:
        """Refuse now, naming the setting, when no BMC credentials can be read."""
        self.client  # noqa: B018 (made for what it checks)

    def power_states(self, nodes: Sequence[str]) -> dict[str, str]:
        """One SMD request, then one read per node, `bmcParallelism` at a time; a node SMD
        holds no endpoint for, or whose BMC does not answer, is unknown."""
        endpoints = self._endpoints(nodes)
        found = {n: self.client.submit(self.client.power_state(e)) for n, e in endpoints.items()}
        states = {}
        for node in nodes:
            read = found.get(node)
            try:
                states[node] = _state(read.result()) if read is not None else "unknown"
            except RedfishError:
                states[node] = "unknown"
        return states

    def start(
        self,
        action: PowerAction,
        nodes: Sequence[str],
        deadline_minutes: int | None = None,
        deputy_keys: Mapping[str, str] | None = None,
    ) -> str:
        minutes = deadline_minutes or _DEFAULT_DEADLINE_MINUTES
        endpoints = self._endpoints(nodes)
        run = _Run(action, self.clock() + minutes * 60, minutes, {n: _NodeRun() for n in nodes})
        unkeyed = [n for n in nodes if n not in (deputy_keys or {}) and n in endpoints]
        run.held, refused = self._reserve(unkeyed, minutes)
        for node, part in run.nodes.items():
            endpoint = endpoints.get(node)
            if node in refused:
                part.status, part.error = "failed", refused[node]
            elif endpoint is None or not endpoint.fqdn:
                part.status, part.error = "failed", _NO_ENDPOINT
            elif not (reset := _reset_type(action, endpoint)):
                part.status = "failed"
                part.error = (
                    f"the BMC allows none of {', '.join(_RESETS[action])} (its reset types,"
                    f" as SMD holds them: {', '.join(endpoint.reset_types)})"
                )
            else:
                part.endpoint, part.reset_type = endpoint, reset
                part.sent = self.client.submit(self._reset_and_read(part, endpoint, reset))
        run.running = {n for n, p in run.nodes.items() if p.status == "running"}
        run.reported = {n: NodePower(p.status, p.error) for n, p in run.nodes.items()}
        run_id = f"redfish-{uuid.uuid4()}"
        self._runs[run_id] = run
        return run_id

    def progress(self, run_id: str) -> PowerProgress:
        run = self._runs.get(run_id)
        if run is None:
            raise NotFoundError("redfish", "GET", run_id, None, "no such power run in this process")
        now = self.clock()
        if run.state == "in-progress":
            for node in list(run.running):
                part = run.nodes[node]
                self._follow(run, part, now)
                if part.status != "running":
                    run.running.discard(node)
                    run.reported[node] = NodePower(part.status, part.error)
            if not run.running:
                run.state = "completed"
                self._release(run)
        return PowerProgress(
            finished=run.state != "in-progress",
            state=run.state,
            nodes=dict(run.reported),
            total=len(run.nodes),
        )

    def abort(self, run_id: str) -> None:
        """Resets not sent yet are not sent; the run ends at once. A run that has ended, or
        that this process does not know, needs nothing."""
        run = self._runs.get(run_id)
        if run is None or run.state != "in-progress":
            return
        for node, part in run.nodes.items():
            if part.status != "running":
                continue
            part.status = "failed"
            if part.sent is not None:
                part.sent.cancel()
            if part.requested:
                part.error = f"Transition aborted: {part.reset_type} was sent, not confirmed"
            else:
                part.error = "Transition aborted: its reset was not sent"
            run.reported[node] = NodePower(part.status, part.error)
        run.running.clear()
        run.state = "aborted"
        self._release(run)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    # -- a run's steps -----------------------------------------------------------------------
    def _follow(self, run: _Run, part: _NodeRun, now: float) -> None:
        """Settle what has answered; start the read that is due."""
        assert part.sent is not None and part.endpoint is not None
        if not part.sent.done():
            return
        if (error := part.sent.exception()) is not None:
            part.status, part.error = "failed", str(error)
            return
        if part.seen is None:
            part.seen, part.read_after = part.sent.result(), now + _REREAD_SECONDS
            if part.seen == _CONFIRMED_BY[run.action]:
                part.status = "succeeded"
                return
        if part.reading is not None and part.reading.done():
            try:
                part.seen = part.reading.result()
            except RedfishError as error:
                part.seen = f"unreadable ({error})"
            part.reading, part.read_after = None, now + _REREAD_SECONDS
            if part.seen == _CONFIRMED_BY[run.action]:
                part.status = "succeeded"
                return
        if now >= run.deadline:
            part.status = "failed"
            part.error = (
                f"{part.reset_type} sent, but the BMC still says PowerState"
                f" {part.seen or 'nothing'} {run.minutes} minute(s) later (taskDeadlineMinutes)"
            )
        elif part.reading is None and now >= part.read_after:
            part.reading = self.client.submit(self.client.power_state(part.endpoint))

    async def _reset_and_read(
        self, part: _NodeRun, endpoint: ComponentEndpoint, reset_type: str
    ) -> str:
        """Send the reset; then read the power state at once: a BMC that acts within the
        request is confirmed without waiting for the next look."""

        def sending() -> None:
            part.requested = True

        await self.client.reset(endpoint, reset_type, sending)
        try:
            return await self.client.power_state(endpoint)
        except RedfishError as error:
            return f"unreadable ({error})"

    def _endpoints(self, nodes: Sequence[str]) -> dict[str, ComponentEndpoint]:
        if not nodes:
            return {}
        return {e.id: e for e in self.inventory.component_endpoints(list(nodes))}

    def _reserve(self, nodes: list[str], minutes: int) -> tuple[list[Reservation], dict[str, str]]:
        """SMD reservations of `nodes` for the run, and the ones another holder has (each with
        why it is not powered)."""
        if not nodes:
            return [], {}
        try:
            return self.inventory.reserve(nodes, minutes + 1), {}
        except ServiceError as error:
            if error.status != 400:
                raise
        held = {s.id for s in self.inventory.lock_status(nodes) if s.reserved or s.locked}
        refused = dict.fromkeys(held, "Unable to reserve component: SMD says another holds it")
        free = [n for n in nodes if n not in held]
        return (self.inventory.reserve(free, minutes + 1) if free else []), refused

    def _release(self, run: _Run) -> None:
        if not run.held:
            return
        # Else the reservation lapses a minute past the run's deadline.
        with contextlib.suppress(OchamiError):
            self.inventory.release(run.held)
        run.held = []


def _reset_type(action: PowerAction, endpoint: ComponentEndpoint) -> str:
    """The first of the action's reset types the BMC allows; the first of all when SMD lists
    none (it was loaded without them: the BMC is asked, and answers if it cannot)."""
    wanted = _RESETS[action]
    if not endpoint.reset_types:
        return wanted[0]
    return next((t for t in wanted if t in endpoint.reset_types), "")


def _state(power_state: str) -> str:
    return {"On": "on", "Off": "off"}.get(power_state, "unknown")
