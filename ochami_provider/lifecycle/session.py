"""A BootSession's lifecycle: check its inputs, run it, retry its failed nodes, record it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import suppress
from typing import Any

from ..backends import keeps_fetch_history
from ..clients.services import Services
from ..errors import InvalidInputError, OchamiError
from ..models.history import ERRORS_KEPT, SessionRun, appended, author
from ..models.problems import Problem
from ..models.session import (
    BootSessionSpec,
    SessionInputs,
    SessionRecord,
    SessionState,
)
from ..nodesets import NodeSet
from ..session_due import (
    RERUNS_ON_TEMPLATE_CHANGE,
    DueNodes,
    due_nodes,
    targets_changed,
    template_boot_changed,
)
from ..session_journal import SessionJournal
from ..session_limit import limit_problems, missing_limit, narrow, parse_limit
from ..session_machine import POST_COMMAND_FAILED
from ..session_runner import (
    rerun_post_command,
    resolve_limit,
    resolve_limit_saying,
    run_session,
)
from ..template_writer import Log, quiet, resolve_targets
from .connection import Connector
from .diff import Diff, changed_keys, with_defaults
from .inputs import input_problems, recorded_spec, unchanged

# Changing these re-runs the session (a new run, new id); the rest only updates the record. A
# template change is not among them: it makes the session due for the nodes whose boot it
# changed alone (session_due), an update.
RERUN_KEYS = ("name", "operation", "limit", "graceful")
# What the template hands its sessions: a change to them alone is no change to the session
# unless it changes what one of its nodes boots.
TEMPLATE_KEYS = ("template", "template_writes")
RETRYABLE = ("failed", "cancelled")


class SessionLifecycle:
    def __init__(
        self, connector: Connector | None = None, log: Log = quiet, warn: Log = quiet
    ) -> None:
        self.connector = connector or Connector()
        self.log = log
        self.warn = warn

    def check(
        self, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> tuple[SessionInputs | None, list[Problem]]:
        problems = input_problems(
            self.connector,
            BootSessionSpec,
            SessionInputs.spec_data(news),
            news,
            (*SessionInputs.KEYS, *SessionRecord.output_keys()),
        )
        if problems:
            return None, problems
        inputs = SessionInputs.from_props(news)
        spec = inputs.spec
        settings = self.connector.settings(inputs.connection)
        unlimited = missing_limit(spec.operation, spec.limit, settings.session_limit_required)
        if unlimited is not None:
            return inputs, [*problems, unlimited]
        problems += boot_proof_problems(spec, settings.boot_backend)
        if problems:
            return inputs, problems
        # Unchanged since it was recorded (the same spec, connection and owner): nothing to
        # ask the services, as for a template. The owner counts: both front ends record it.
        if not settings.verify_targets or unchanged(
            olds,
            recorded_spec(BootSessionSpec, SessionInputs.spec_data(olds)),
            spec,
            inputs.connection,
            inputs.ownership.deployment,
        ):
            return inputs, problems
        services = self.connector.services(inputs.connection)
        if not spec.limit:
            # The template's own check names what is wrong with its targets.
            with suppress(InvalidInputError):
                problems += _foreign_template(
                    services, inputs, resolve_targets(services, spec.template)
                )
            return inputs, problems
        try:
            terms = parse_limit(spec.limit)
            resolved, ambiguous = resolve_limit_saying(services, terms)
            template_nodes = resolve_targets(services, spec.template)
        except InvalidInputError as error:
            return inputs, [*problems, *_within_template(error.problems)]
        except OchamiError as error:
            return inputs, [*problems, Problem("limit", f"could not be resolved: {error}")]
        nodes = NodeSet.union_of(template_nodes.values()).sorted()
        problems += _foreign_template(services, inputs, template_nodes)
        problems += limit_problems(spec.template.name, nodes, terms, resolved)
        return inputs, problems + ambiguous

    def check_known(self, news: Mapping[str, Any]) -> list[Problem]:
        """What check can judge while other inputs are still unknown: the limit guard."""
        operation, limit = news.get("operation"), news.get("limit") or []
        connection = news.get("connection")
        if not isinstance(operation, str) or not isinstance(limit, list):
            return []
        if connection is not None and not isinstance(connection, Mapping):
            return []
        try:
            required = self.connector.settings(connection).session_limit_required
        except (ValueError, InvalidInputError):
            return []  # the full check says what is wrong with the connection
        unlimited = missing_limit(operation, limit, required)
        return [unlimited] if unlimited else []

    def diff(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> Diff:
        if olds.get("run_id"):
            journal = SessionJournal(olds.get("deployment"), str(olds.get("name")))
            _recorded(journal, str(olds["run_id"]), str(olds.get("status")))
        changed = changed_keys(
            with_defaults(olds, BootSessionSpec, SessionInputs.spec_data),
            with_defaults(news, BootSessionSpec, SessionInputs.spec_data),
            SessionInputs.KEYS,
        )
        replaces = [k for k in changed if k in RERUN_KEYS]
        notes: list[str] = []
        if not replaces and any(k in TEMPLATE_KEYS for k in changed):
            due = self.due(olds, news)
            if due:
                notes.append(due.describe(str(news.get("name")), str(news.get("operation"))))
            elif all(k in TEMPLATE_KEYS for k in changed):
                # Nothing any of its nodes boots changed: the session stays as it is, and the
                # template it last applied stays the one the next change is compared with.
                changed = []
        return Diff(
            changed=changed,
            replaces=replaces,
            # An unfinished or failed run: the next `up` retries its failed nodes.
            pending_work=olds.get("status") in RETRYABLE,
            notes=notes,
        )

    def due(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> DueNodes:
        """The session's nodes whose boot the template changed since the session last applied
        it (`olds`), and why. Nothing for `shutdown` and `stage`, or with
        `rerun_on_template_change: false`. SMD is read (the boot sets' targets, the limit's
        terms) only when something a node boots changed."""
        try:
            old, new = (
                # When the template wrote each node decides nothing here, and is not known yet
                # at preview.
                BootSessionSpec.model_validate(
                    {**SessionInputs.spec_data(props), "template_writes": {}}
                )
                for props in (olds, news)
            )
        except ValueError:
            return DueNodes()
        if (
            new.operation not in RERUNS_ON_TEMPLATE_CHANGE
            or not new.rerun_on_template_change
            or not template_boot_changed(old.template, new.template)
        ):
            return DueNodes()
        services = self.connector.services(news.get("connection"))
        new_hosts = resolve_targets(services, new.template)
        old_hosts = new_hosts
        # A group the old template named may be gone from SMD: whose members were in it is
        # unknown, so nodes are then compared as if they had stayed in their boot set.
        with suppress(InvalidInputError):
            if targets_changed(old.template, new.template):
                old_hosts = resolve_targets(services, old.template)
        terms = parse_limit(new.limit)
        nodes = narrow(
            NodeSet.union_of(new_hosts.values()).sorted(),
            terms,
            resolve_limit(services, terms) if terms else None,
        )
        return due_nodes(old.template, old_hosts, new.template, new_hosts, nodes)

    def create(self, inputs: SessionInputs) -> SessionRecord:
        services = self.connector.for_writes(inputs.connection)
        state = run_session(
            services, inputs.spec, inputs.stake, log=self.log, journal=self._journal_of(inputs)
        )
        return self._record(inputs, state)

    @staticmethod
    def _journal_of(inputs: SessionInputs) -> SessionJournal:
        """The local notes of what this session powered (session_journal)."""
        return SessionJournal(inputs.ownership.deployment, inputs.spec.name)

    def update(
        self, before: SessionRecord, inputs: SessionInputs, due: Iterable[str] = ()
    ) -> SessionRecord:
        """A failed or cancelled run: retry the nodes that did not succeed. Nodes `due`
        (whose boot the template changed: `due`) run again. Otherwise only inputs that do not
        re-run the session changed, and the record stands."""
        due = sorted(due)
        retrying = before.status in RETRYABLE
        if retrying and before.phase == POST_COMMAND_FAILED and not due:
            if inputs.spec.post_command is None:
                # The hook that failed is gone from the session: nothing is left to do.
                done = {"status": "completed", "phase": "done", "error_message": ""}
                return before.model_copy(update={**done, **_applied(inputs.spec)})
            state = rerun_post_command(inputs.spec, before, log=self.log)
            return self._record(inputs, state, before)
        if not retrying and not due:
            return before.model_copy(update=_applied(inputs.spec))
        # A run that failed before it resolved its nodes (SMD down, say) has none to retry:
        # it runs again in full.
        retry_nodes = [*before.results.failed, *before.results.pending] if retrying else []
        if retrying and not retry_nodes and not due and before.node_count:
            return before
        only = sorted({*retry_nodes, *due}) or None
        if due:
            self.log(
                f"session {inputs.spec.name}: runs again for {len(due)} node(s) whose boot the"
                " template changed"
            )
        services = self.connector.for_writes(inputs.connection)
        journal = self._journal_of(inputs)
        _recorded(journal, before.run_id, before.status)
        state = run_session(
            services, inputs.spec, inputs.stake, only_nodes=only, log=self.log, journal=journal
        )
        merged = _merge_retry(before, state, retry=retrying)
        return self._record(inputs, merged, before, run=state)

    def delete(self, inputs: SessionInputs, record: SessionRecord) -> None:
        self._journal_of(inputs).clear()
        if not inputs.shutdown_on_delete:
            return
        nodes = sorted({*record.results.succeeded, *record.results.failed})
        if nodes:
            services = self.connector.for_writes(inputs.connection)
            power = services.power
            run = power.start("off", nodes)
            self.log(
                f"session {inputs.spec.name}: {power.names['off']} of {len(nodes)} node(s): {run}"
            )

    def _record(
        self,
        inputs: SessionInputs,
        state: SessionState,
        before: SessionRecord | None = None,
        *,
        run: SessionState | None = None,
    ) -> SessionRecord:
        """The record of `state`, with `run` (this run's own state: `state` unless it was
        merged with an earlier run's) last in the history `before` kept."""
        spec = inputs.spec
        run = run or state
        summary = list(run.results.error_summary.items())  # largest first
        entry = SessionRun(
            started_at=run.started_at,
            completed_at=run.completed_at,
            by=author(),
            operation=run.operation,
            template_name=spec.template.name,
            template_version=spec.template.version(),
            status=run.status,
            acted=run.acted,
            failed=sorted(run.results.failed),
            errors={error: group.count for error, group in summary[:ERRORS_KEPT]},
            error_message=run.error_message[:500],
        )
        length = self.connector.settings(inputs.connection).history_length
        history = appended(before.history if before else [], entry, length)
        line = (
            f"session {spec.name}: {state.status}: {len(state.results.succeeded)} succeeded,"
            f" {len(state.results.failed)} failed of {state.node_count}"
        )
        if state.status == "completed":
            self.log(line)
        else:
            self.warn(f"{line}; {state.error_message}")
        return SessionRecord.model_validate(
            {**state.model_dump(), **_applied(spec), "history": history}
        )


def _recorded(journal: SessionJournal, run_id: str | None, status: str) -> None:
    """The engine's state records run `run_id`: its journal notes go. Not those of a run the
    engine stopped (cancelled): the power run it had started runs on, and the notes
    tell the next run which nodes to verify instead of powering them again."""
    if status != "cancelled":
        journal.acknowledge(run_id)


def boot_proof_problems(spec: BootSessionSpec, backend: str) -> list[Problem]:
    """What a session asks of its cluster's boot store that the store cannot give: the
    history of boot-script fetches (a store's `keeps_fetch_history`) proves a boot under
    `booted_when: bootscript`, and tells `boot` which nodes already run the template."""
    if keeps_fetch_history(backend) or spec.operation not in ("boot", "reboot"):
        return []
    store = f"this cluster's boot store, {backend} (ochami:bootBackend), records none"
    if spec.booted_when == "bootscript":
        return [
            Problem(
                "booted_when",
                "proves a boot by the node's boot-script fetch, and " + store + ": set"
                " booted_when to 'cmdline' with a probe_command (the nodes show the kernel"
                " command line they run), or to 'power'",
                spec.booted_when,
            )
        ]
    if spec.operation == "boot" and spec.booted_when != "cmdline":
        return [
            Problem(
                "operation",
                "leaves alone the nodes already on the template's version, told by their"
                " boot-script fetches, and " + store + ": set booted_when to 'cmdline' with"
                " a probe_command, so the nodes say what they run",
                spec.operation,
            )
        ]
    return []


def _applied(spec: BootSessionSpec) -> dict[str, str]:
    """Which template, at which version, the session's nodes boot now."""
    return {"template_name": spec.template.name, "template_version": spec.template.version()}


def _foreign_template(
    services: Services, inputs: SessionInputs, hosts_by_set: Mapping[str, list[str]]
) -> list[Problem]:
    """A session re-asserts its template's records in its own stack's name: a template of
    another stack or configuration (copied in through a stack reference or remote state,
    unchanged) would be refused at the write, after the session was recorded as begun. One
    boot store read."""
    nodes = NodeSet.union_of(hosts_by_set.values()).sorted()
    mine = inputs.ownership.deployment
    owners = {b.boot.owner for b in services.boot.read(nodes).values()}
    foreign = sorted(
        (o for o in owners if o is not None and o.deployment not in (None, mine)), key=str
    )
    return [
        Problem(
            "template",
            f"its nodes are booted by {owner} in {services.boot.label}; a session applies a"
            " template of its own stack or configuration: declare the template here (a copy,"
            " through copyFrom or remote state, is a template of this one), or run the session"
            " where it is declared",
        )
        for owner in foreign[:1]
    ]


def _within_template(problems: list[Problem]) -> list[Problem]:
    """Problems the session's template has, named as fields of the session."""
    return [
        p
        if p.field.partition("[")[0] == "limit"
        else Problem(f"template.{p.field}", p.message, p.value)
        for p in problems
    ]


def _merge_retry(previous: SessionState, run: SessionState, *, retry: bool) -> SessionState:
    """A retry's (or a template change's rerun's) outcome on top of the earlier run: nodes it
    took take its results; the others keep what the earlier run said of them (their phase,
    why they were skipped, that they succeeded)."""
    merged = run.model_copy(deep=True)
    merged.created = previous.created
    merged.retry_count = previous.retry_count + run.retry_count + (1 if retry else 0)
    merged.transition_ids = previous.transition_ids + run.transition_ids
    taken = {n for nodes in run.results.phases.values() for n in nodes}
    earlier_nodes = {n for nodes in previous.results.phases.values() for n in nodes}
    merged.node_count = previous.node_count + len(taken - earlier_nodes)
    merged.results.succeeded = sorted(
        (set(previous.results.succeeded) - taken) | set(run.results.succeeded)
    )
    for key in ("phases", "skipped"):
        earlier: dict[str, list[str]] = getattr(previous.results, key)
        mine: dict[str, list[str]] = getattr(merged.results, key)
        for label, nodes in earlier.items():
            kept = [n for n in nodes if n not in taken]
            if kept:
                mine[label] = sorted({*mine.get(label, []), *kept})
    return merged
