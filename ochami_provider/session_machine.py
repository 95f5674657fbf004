"""The session state machine, pure: it says what to do next and takes what happened.

resolve members -> write boot config -> power run -> poll -> (for nodes powered on) wait
until each has asked the boot store for its boot script, or runs the template's kernel command
line -> per-node outcome -> retry the failed nodes
up to the policy -> the next step or batch, unless the failure budget is spent -> completed |
failed (or cancelled).
The runner does the I/O; everything decided here is testable without a network.

Everything that moves the session from phase to phase is here: the phases are a closed type,
the moves each may make are one table (`TRANSITIONS`), every move goes through `_move`, which
refuses one the table does not hold, and what each phase asks the runner to do is one table
too (`_NEXT`), as h11's `_state.py` keeps its connection states.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, cast

from .models.power import POWERS_ON, NodePower, PowerAction
from .models.session import (
    BootSessionSpec,
    NodeOutcome,
    NodePhase,
    SessionResults,
    SessionState,
)

# BOS operations as power actions. `stage` writes the boot configuration and powers nothing.
_POWER_ACTION: dict[str, PowerAction | None] = {"boot": "on", "shutdown": "off", "stage": None}
_REBOOT: dict[bool, PowerAction] = {False: "restart", True: "graceful-restart"}

# Why a rolling session's nodes were skipped when it spent its failure budget.
NOT_REACHED = "not reached: the session stopped when more nodes failed than max_failed allows"


def power_action(spec: BootSessionSpec) -> PowerAction | None:
    if spec.operation == "reboot":
        return _REBOOT[spec.graceful]
    return _POWER_ACTION[spec.operation]


@dataclass(frozen=True)
class SessionWords:
    """How the cluster's backends name things, for what the session records and says: the
    power backend and its word for each action, the boot store (each adapter's `label` and
    `names`)."""

    power: str
    actions: Mapping[PowerAction, str] = field(hash=False)
    store: str


# Where a session is: resolving its nodes, writing their boot configuration, reading their
# power (and fetches) to plan the power steps, starting a power run, polling it, verifying
# that the nodes it powered on booted, done; or done with every node but its post_command
# failed (the next `up` runs that alone).
SessionPhase = Literal[
    "created",
    "writing",
    "surveying",
    "powering",
    "polling",
    "verifying",
    "done",
    "post-command-failed",
]
POST_COMMAND_FAILED: SessionPhase = "post-command-failed"
# The moves each phase may make. Any phase may end (`done`): a service error, a timeout, a
# cancel, or a hook that failed; a retry or the next batch goes back to `powering`.
TRANSITIONS: Mapping[SessionPhase, frozenset[SessionPhase]] = {
    "created": frozenset({"writing", "done"}),
    "writing": frozenset({"surveying", "powering", "done"}),
    "surveying": frozenset({"powering", "done"}),
    "powering": frozenset({"polling", "done"}),
    "polling": frozenset({"verifying", "powering", "done"}),
    "verifying": frozenset({"powering", "done"}),
    "done": frozenset({POST_COMMAND_FAILED, "done"}),
    POST_COMMAND_FAILED: frozenset({"done"}),
}


class IllegalTransition(RuntimeError):
    """A move the table does not hold: a bug in the machine or its runner, never an input."""


@dataclass(frozen=True)
class Resolve:
    pass


@dataclass(frozen=True)
class WriteConfig:
    nodes: tuple[str, ...]


@dataclass(frozen=True)
class Survey:
    """Read the nodes' power state, to tell nodes off from nodes on; for `boot` (`boots`),
    also when each last asked the boot store for its boot script, to tell nodes on the
    template's current version from nodes on anything else."""

    nodes: tuple[str, ...]
    boots: bool = True


@dataclass(frozen=True)
class StartPower:
    action: PowerAction
    nodes: tuple[str, ...]


@dataclass(frozen=True)
class Poll:
    run_id: str


@dataclass(frozen=True)
class CheckBoots:
    """Read when each node last asked the boot store for its boot script (or the probe); `since`
    is when the power run started (Unix seconds, as a boot store records fetches)."""

    nodes: tuple[str, ...]
    since: int


@dataclass(frozen=True)
class Finished:
    state: SessionState


Action = Resolve | WriteConfig | Survey | StartPower | Poll | CheckBoots | Finished


class SessionMachine:
    def __init__(self, spec: BootSessionSpec, created: str, words: SessionWords) -> None:
        self.spec = spec
        self.words = words
        action = power_action(spec)
        self.state = SessionState(
            created=created,
            operation=spec.operation,
            power_operation=words.actions[action] if action else None,
        )
        self._nodes: dict[str, NodeOutcome] = {}
        self._attempt: tuple[str, ...] = ()
        self._run: str | None = None
        # The verification of the attempt: nodes still to ask for a boot script, since when,
        # nodes already on before an `on` (the backend leaves them be: nothing to verify), and
        # the attempt's power failures, settled with the verification.
        # The power steps still to run after this one ((action, nodes), in order), the action
        # of the current one, and nodes this session's own write changed (their records are
        # newer than anything they booted).
        self._steps: list[tuple[PowerAction, tuple[str, ...]]] = []
        self._action = action
        self._rewritten: frozenset[str] = frozenset()
        self._verify: tuple[str, ...] = ()
        self._since = 0
        # Each node's first fetch in this attempt, and nodes seen asking again (a boot loop).
        self._first_fetch: dict[str, int] = {}
        self._looping: list[str] = []
        self._already_on: frozenset[str] = frozenset()
        self._power_failed: list[str] = []
        # A rolling session's batches: how many, and how many have run to their end.
        self._batches = 0
        self._batches_done = 0
        # Retries of the current step or batch: each has the whole retry policy. A retry can
        # take two power runs (On for nodes whose power failed, a restart for nodes on that did
        # not boot): the runs of the retry still to start, and each node the runs of this
        # attempt left to mend, with the action that can mend it.
        self._step_retries = 0
        self._retry_runs: list[tuple[PowerAction, tuple[str, ...]]] = []
        self._to_mend: dict[str, PowerAction] = {}

    # What to do next -------------------------------------------------------------------
    @property
    def phase(self) -> SessionPhase:
        return cast(SessionPhase, self.state.phase)

    def next_action(self) -> Action:
        return _NEXT[self.phase](self)

    def _resolve(self) -> Action:
        return Resolve()

    def _write(self) -> Action:
        return WriteConfig(tuple(sorted(self._nodes)))

    def _survey(self) -> Action:
        return Survey(tuple(sorted(self._nodes)), boots=self.spec.operation == "boot")

    def _start_power(self) -> Action:
        assert self._action is not None
        return StartPower(self._action, self._attempt)

    def _poll(self) -> Action:
        assert self._run is not None
        return Poll(self._run)

    def _check_boots(self) -> Action:
        return CheckBoots(self._verify, self._since)

    def _finished(self) -> Action:
        return Finished(self.state)

    def _move(self, to: SessionPhase) -> None:
        """The one place the phase changes."""
        if to not in TRANSITIONS[self.phase]:
            raise IllegalTransition(f"a session cannot go from {self.phase!r} to {to!r}")
        self.state.phase = to

    def verifies_boots(self) -> bool:
        """Whether powered-on nodes must be seen booted: asking the boot store for their boot
        script, or running the template's kernel command line."""
        return self.spec.booted_when in ("bootscript", "cmdline") and self._action in POWERS_ON

    # What happened ---------------------------------------------------------------------
    def on_resolved(
        self, nodes: list[str], now: str, skipped: Mapping[str, str] | None = None
    ) -> None:
        """`nodes`: those to act on; `skipped`: node -> why it is left out (disabled or locked
        in SMD), reported and never touched."""
        self._expect("created")
        self.state.started_at = now
        for node, reason in sorted((skipped or {}).items()):
            self.state.results.skipped.setdefault(reason, []).append(node)
        if not nodes:
            self._finish(
                "failed",
                now,
                "no nodes to act on: the template's targets"
                + (f" narrowed by limit {self.spec.limit}" if self.spec.limit else "")
                + (" (less the skipped ones)" if skipped else "")
                + " resolve to no node",
            )
            return
        self._nodes = {n: NodeOutcome() for n in nodes}
        self.state.node_count = len(nodes)
        self.state.status = "running"
        self._move("writing")

    def on_config_written(self, now: str, rewritten: frozenset[str] = frozenset()) -> None:
        """`rewritten`: nodes whose boot-store entries this write changed."""
        self._expect("writing")
        if self._action is None:
            for outcome in self._nodes.values():
                outcome.status, outcome.phase = "succeeded", "staged"
            self._finish("completed", now)
            return
        self._rewritten = rewritten
        if self.spec.operation in ("boot", "reboot"):
            self._move("surveying")
            return
        self._plan([(self._action, tuple(sorted(self._nodes)))])
        self._next_step()

    def on_surveyed(self, power: Mapping[str, str], fetched: Mapping[str, int], now: str) -> None:
        """Nodes off are powered on, as BOS does for both operations (a power backend may
        refuse to restart a node that is off, and a real one does). `reboot` restarts
        every node on; BOS's `boot` leaves alone a node on that asked the boot store for its
        boot script after the template last wrote its entry (it runs the current version) and
        restarts the others (after the power-on step)."""
        self._expect("surveying")
        if self.spec.operation == "reboot":
            running = tuple(n for n in sorted(self._nodes) if power.get(n) == "on")
            halted = tuple(n for n in sorted(self._nodes) if power.get(n) != "on")
            self._plan([("on", halted), (_REBOOT[self.spec.graceful], running)])
            self._next_step()
            return
        writes = self.spec.last_writes()
        off, stale, current = [], [], []
        for node in sorted(self._nodes):
            if power.get(node) != "on":
                off.append(node)
            # Whole seconds on both sides: a fetch in the second of the write counts as after.
            elif node not in self._rewritten and fetched.get(node, -1) >= writes.get(node, 0):
                current.append(node)
            else:
                stale.append(node)
        for node in current:
            self._nodes[node].status, self._nodes[node].phase = "succeeded", "current"
        if current:
            self.state.results.steps["left alone"] = len(current)
        self._plan([("on", tuple(off)), (_REBOOT[self.spec.graceful], tuple(stale))])
        if not self._next_step():
            self._finish("completed", now)  # every node already runs the current version

    def _plan(self, steps: list[tuple[PowerAction, tuple[str, ...]]]) -> None:
        """The power steps, each cut into batches of the spec's size, in node order."""
        size = self.spec.batch_nodes(len(self._nodes))
        self._steps = [
            (operation, nodes[i : i + size])
            for operation, nodes in steps
            for i in range(0, len(nodes), size)
        ]
        self._batches = len(self._steps)
        if self.spec.batch_size is not None:
            self.state.results.batches = {"total": self._batches, "done": 0}

    def _next_step(self) -> bool:
        """Start the next power step; False when there is none."""
        if not self._steps:
            return False
        self._action, self._attempt = self._steps.pop(0)
        self._step_retries = 0
        self._retry_runs, self._to_mend = [], {}
        self._count_step(self._action, self._attempt)
        self._move("powering")
        return True

    def _count_step(self, action: PowerAction, nodes: tuple[str, ...]) -> None:
        steps, name = self.state.results.steps, self.words.actions[action]
        steps[name] = steps.get(name, 0) + len(nodes)

    def on_power_started(
        self,
        run_id: str,
        started_epoch: float = 0.0,
        already_on: frozenset[str] = frozenset(),
    ) -> None:
        """`already_on`: nodes that were on before an `on` (the backend does not touch them)."""
        self._expect("powering")
        self._run = run_id
        self._since = int(started_epoch)
        self._first_fetch, self._looping = {}, []
        self._already_on = already_on
        self.state.transition_ids.append(run_id)
        name = self._action_name()
        self.state.acted[name] = sorted({*self.state.acted.get(name, []), *self._attempt})
        for node in self._attempt:
            self._nodes[node].attempts += 1
            self._nodes[node].phase = "powering"
        self._move("polling")

    def on_polled(self, finished: bool, tasks: Mapping[str, NodePower], now: str) -> None:
        """Record a poll; once the backend says the power run is over, settle every node in it."""
        self._expect("polling")
        if not finished:
            # Keep what is already settled, so a timeout later fails only the nodes that are not.
            for node in self._attempt:
                task = tasks.get(node)
                outcome = self._nodes[node]
                if task is not None and task.status == "succeeded":
                    outcome.status, outcome.error = "succeeded", ""
                    outcome.phase = self._powered_phase(node)
                elif task is not None and task.status == "failed":
                    outcome.status, outcome.error = "failed", self._task_error(task)
                    outcome.phase = "failed"
            return
        failed: list[str] = []
        powered: list[str] = []
        for node in self._attempt:
            outcome = self._nodes[node]
            task = tasks.get(node)
            if task is not None and task.status == "succeeded":
                outcome.status, outcome.error = "succeeded", ""
                outcome.phase = self._powered_phase(node)
                powered.append(node)
            else:
                outcome.status, outcome.phase = "failed", "failed"
                outcome.error = self._task_error(task)
                failed.append(node)
        verify = [n for n in powered if n not in self._already_on] if self.verifies_boots() else []
        if verify:
            for node in verify:
                self._nodes[node].status, self._nodes[node].phase = "pending", "booting"
            self._verify, self._power_failed = tuple(verify), failed
            self._move("verifying")
            return
        self._settle(failed, [], now)

    def on_boot_checks(self, fetched: Mapping[str, int], now_epoch: float, now: str) -> None:
        """Record one read of the boot store's fetch history (node -> last boot-script fetch), or of
        the probe (node -> when it was first seen running the template's command line: a
        node seen again is no boot loop)."""
        self._expect("verifying")
        waiting = []
        settle = self.spec.boot_settle_seconds
        timed_out = now_epoch >= self._since + self.spec.boot_timeout_seconds
        for node in self._verify:
            last = fetched.get(node, -1)
            if last < self._since:
                waiting.append(node)
                continue
            first = self._first_fetch.setdefault(node, last)
            if last > first:
                self._looping.append(node)
                self._nodes[node].status, self._nodes[node].phase = "failed", "failed"
                self._nodes[node].error = (
                    f"asked {self.words.store} for its boot script again {last - first}s after"
                    " the first time"
                    " without a power cycle: its firmware is retrying, so the kernel or initrd"
                    " the script names did not load (check that their URLs answer)"
                )
            elif now_epoch >= first + settle or timed_out:
                self._nodes[node].status, self._nodes[node].error = "succeeded", ""
                self._nodes[node].phase = "booted"
            else:
                waiting.append(node)  # fetched; watching for a retry until it settles
        if waiting and not timed_out:
            self._verify = tuple(waiting)
            return
        unfetched = [n for n in waiting if n not in self._first_fetch]
        for node in unfetched:
            self._nodes[node].status, self._nodes[node].phase = "failed", "failed"
            self._nodes[node].error = (
                f"powered on ({self.words.power} {self._action_name()} confirmed) but"
                f" {self._unseen()} within"
                f" {self.spec.boot_timeout_seconds:g}s: check its console, its boot order and"
                " its network boot"
            )
        self._settle(self._power_failed, unfetched + self._looping, now)

    def _unseen(self) -> str:
        if self.spec.booted_when == "cmdline":
            version = self.spec.template.version()
            return (
                "probe_command never showed it running this template's kernel command line"
                f" (ochami.version={version})"
            )
        return f"did not ask {self.words.store} for its boot script"

    def on_hook_failed(self, message: str, now: str) -> None:
        """A hook failed: before any power action the session stops (nodes not powered stay
        pending); after the session ended, it fails with the hook's error."""
        if self.phase == "done":
            self.state.status = "failed"
            if not self.state.results.failed:
                # Every node is done: the next `up` runs the post_command alone.
                self._move(POST_COMMAND_FAILED)
            self.state.error_message = "; ".join(
                m for m in (self.state.error_message, message) if m
            )
            return
        self._finish("failed", now, message)

    def on_error(self, message: str, now: str) -> None:
        """A service error the session cannot get past: nodes not yet settled stay pending."""
        self._finish("failed", now, message)

    def on_timeout(self, now: str) -> None:
        for node in self._attempt:
            outcome = self._nodes[node]
            if outcome.status not in ("succeeded", "failed"):
                outcome.status, outcome.phase = "failed", "failed"
                outcome.error = f"timed out after {self.spec.timeout_seconds:g}s"
        self._finish("failed", now, f"session timed out after {self.spec.timeout_seconds:g}s")

    def cancel(self, now: str, reason: str = "cancelled") -> None:
        self._finish("cancelled", now, reason)

    # Internals -------------------------------------------------------------------------
    def _action_name(self) -> str:
        return self.words.actions[self._action] if self._action else ""

    def _task_error(self, task: NodePower | None) -> str:
        if task is None:
            return f"{self.words.power} reported no task for this node"
        return task.error or f"{self.words.power} task ended {task.status}"

    def _powered_phase(self, node: str) -> NodePhase:
        if self._action not in POWERS_ON:
            return "off"
        return "already-on" if node in self._already_on else "booted"

    def _settle(self, power_failed: list[str], unbooted: list[str], now: str) -> None:
        """Retry what another attempt can mend, or finish. A node whose power action failed
        gets the same action again. A node that was powered but did not boot is restarted:
        powering on again does nothing to a node that is on (BOS restarts it too). Both kinds
        of one attempt are one retry, of up to two power runs, On first."""
        assert self._action is not None
        restart = self._action if self._action not in ("on", "off") else None
        for node in power_failed:
            self._to_mend[node] = self._action
        for node in unbooted:
            self._to_mend[node] = restart or _REBOOT[self.spec.graceful]
        if self._retry_runs:  # the rest of this retry first
            self._action, self._attempt = self._retry_runs.pop(0)
            self._move("powering")
            return
        if self._to_mend and self._step_retries < self.spec.retry.max_retries:
            self._step_retries += 1
            self.state.retry_count += 1
            by_action: dict[PowerAction, list[str]] = {}
            for node, action in sorted(self._to_mend.items()):
                by_action.setdefault(action, []).append(node)
            self._to_mend = {}
            self._retry_runs = [
                (action, tuple(nodes))
                for action, nodes in sorted(by_action.items(), key=lambda a: a[0] != "on")
            ]
            self._action, self._attempt = self._retry_runs.pop(0)
            self._move("powering")
            return
        self._to_mend = {}
        self._batches_done += 1
        if self.state.results.batches:
            self.state.results.batches["done"] = self._batches_done
        if self._steps and self._budget_spent():
            self._stop_unreached(now)
            return
        if self._next_step():
            return
        failed = self._failed()
        if failed:
            self._finish("failed", now, self._failure_summary(failed))
        else:
            self._finish("completed", now)

    def _failed(self) -> list[str]:
        return sorted(n for n, o in self._nodes.items() if o.status == "failed")

    def _budget_spent(self) -> bool:
        budget = self.spec.failure_budget(len(self._nodes))
        return budget is not None and len(self._failed()) > budget

    def _stop_unreached(self, now: str) -> None:
        """The failure budget is spent: the batches not started are not started. Their nodes
        are skipped (and pending, so the next `up` continues with them)."""
        unreached = sorted(n for _, nodes in self._steps for n in nodes)
        self._steps = []
        for node in unreached:
            self._nodes[node].phase = "skipped"
        self.state.results.skipped[NOT_REACHED] = unreached
        failed = self._failed()
        budget = self.spec.failure_budget(len(self._nodes))
        self._finish(
            "failed",
            now,
            f"stopped after batch {self._batches_done} of {self._batches}: {len(failed)}"
            f" node(s) failed, more than max_failed {self.spec.max_failed!s} allows ({budget});"
            f" {len(self._nodes) - len(unreached)} of {len(self._nodes)} node(s) acted on,"
            f" {len(unreached)} not reached (skipped); the next `up` continues with them and"
            f" retries the failed; first failure: {failed[0]}: {self._nodes[failed[0]].error}",
        )

    def _expect(self, phase: SessionPhase) -> None:
        if self.phase != phase:
            raise IllegalTransition(f"session is in phase {self.phase!r}, not {phase!r}")

    def _failure_summary(self, failed: list[str]) -> str:
        first = failed[0]
        return (
            f"{len(failed)} of {len(self._nodes)} node(s) failed after"
            f" {self.state.retry_count + 1} attempt(s); first: {first}: {self._nodes[first].error}"
        )

    def _finish(self, status: str, now: str, message: str = "") -> None:
        self.state.status = status  # type: ignore[assignment]
        self._move("done")
        self.state.completed_at = now
        self.state.duration_seconds = _seconds_between(self.state.started_at, now)
        self.state.error_message = message
        results = SessionResults(
            steps=self.state.results.steps,
            skipped=self.state.results.skipped,
            batches=self.state.results.batches,
        )
        # Nodes left out before the session acted (disabled, locked): not among its nodes.
        left_out = sorted(
            n for nodes in results.skipped.values() for n in nodes if n not in self._nodes
        )
        if left_out:
            results.phases["skipped"] = left_out
        for node in sorted(self._nodes):
            outcome = self._nodes[node]
            results.phases.setdefault(outcome.phase, []).append(node)
            if outcome.status == "succeeded":
                results.succeeded.append(node)
            elif outcome.status == "failed":
                results.failed[node] = outcome.error
            else:
                results.pending.append(node)
        for nodes in results.phases.values():
            nodes.sort()
        self.state.results = results


# What each phase asks the runner to do.
_NEXT: Mapping[SessionPhase, Callable[[SessionMachine], Action]] = {
    "created": SessionMachine._resolve,
    "writing": SessionMachine._write,
    "surveying": SessionMachine._survey,
    "powering": SessionMachine._start_power,
    "polling": SessionMachine._poll,
    "verifying": SessionMachine._check_boots,
    "done": SessionMachine._finished,
    POST_COMMAND_FAILED: SessionMachine._finished,
}


def _seconds_between(start: str | None, end: str) -> float | None:
    """Seconds from one ISO time to another; None when either is not one."""
    try:
        begun, ended = datetime.fromisoformat(start or ""), datetime.fromisoformat(end)
    except ValueError:
        return None
    return round((ended - begun).total_seconds(), 1)
