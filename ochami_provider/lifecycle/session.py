"""A BootSession's lifecycle: check its inputs, run it, retry its failed nodes, record it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InvalidInputError, OchamiError
from ..models.problems import Problem
from ..models.session import (
    BootSessionSpec,
    SessionInputs,
    SessionRecord,
    SessionState,
)
from ..session_limit import limit_problems, missing_limit, parse_limit
from ..session_runner import resolve_limit, run_session
from ..template_writer import Log, quiet, resolve_targets
from .connection import Connector
from .diff import Diff, changed_keys, with_defaults
from .inputs import input_problems, recorded_spec, unchanged

# Changing these re-runs the session (a new run, new id); the rest only updates the record.
RERUN_KEYS = ("name", "template", "operation", "limit", "graceful")
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
        if (
            not spec.limit
            or not settings.verify_targets
            or unchanged(
                olds,
                recorded_spec(BootSessionSpec, SessionInputs.spec_data(olds)),
                spec,
                inputs.connection,
            )
        ):
            return inputs, problems
        services = self.connector.services(inputs.connection)
        try:
            terms = parse_limit(spec.limit)
            resolved = resolve_limit(services, terms)
            template_nodes = resolve_targets(services, spec.template)
        except InvalidInputError as error:
            return inputs, [*problems, *_within_template(error.problems)]
        except OchamiError as error:
            return inputs, [*problems, Problem("limit", f"could not be resolved: {error}")]
        nodes = [n for hosts in template_nodes.values() for n in hosts]
        return inputs, problems + limit_problems(spec.template.name, nodes, terms, resolved)

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
        changed = changed_keys(
            with_defaults(olds, BootSessionSpec, SessionInputs.spec_data),
            with_defaults(news, BootSessionSpec, SessionInputs.spec_data),
            SessionInputs.KEYS,
        )
        return Diff(
            changed=changed,
            replaces=[k for k in changed if k in RERUN_KEYS],
            # An unfinished or failed run: the next `up` retries its failed nodes.
            pending_work=olds.get("status") in RETRYABLE,
        )

    def create(self, inputs: SessionInputs) -> SessionRecord:
        services = self.connector.services(inputs.connection)
        state = run_session(services, inputs.spec, inputs.stake, log=self.log)
        return self._record(inputs.spec, state)

    def update(self, before: SessionRecord, inputs: SessionInputs) -> SessionRecord:
        """A failed or cancelled run: retry the nodes that did not succeed. Otherwise only the
        inputs that do not re-run the session changed, and the record stands."""
        if before.status not in RETRYABLE:
            return before
        # A run that failed before it resolved its nodes (SMD down, say) has none to retry:
        # it runs again in full.
        retry_nodes = [*before.results.failed, *before.results.pending] or None
        if before.node_count and retry_nodes is None:
            return before
        services = self.connector.services(inputs.connection)
        state = run_session(
            services, inputs.spec, inputs.stake, only_nodes=retry_nodes, log=self.log
        )
        return self._record(inputs.spec, _merge_retry(before, state))

    def delete(self, inputs: SessionInputs, record: SessionRecord) -> None:
        if not inputs.shutdown_on_delete:
            return
        nodes = sorted({*record.results.succeeded, *record.results.failed})
        if nodes:
            services = self.connector.services(inputs.connection)
            transition = services.pcs.start_transition("Soft-Off", nodes)
            self.log(f"session {inputs.spec.name}: Soft-Off of {len(nodes)} node(s): {transition}")

    def _record(self, spec: BootSessionSpec, state: SessionState) -> SessionRecord:
        line = (
            f"session {spec.name}: {state.status}: {len(state.results.succeeded)} succeeded,"
            f" {len(state.results.failed)} failed of {state.node_count}"
        )
        if state.status == "completed":
            self.log(line)
        else:
            self.warn(f"{line}; {state.error_message}")
        return SessionRecord(
            **state.model_dump(),
            template_name=spec.template.name,
            template_version=spec.template.version(),
        )


def _within_template(problems: list[Problem]) -> list[Problem]:
    """Problems the session's template has, named as fields of the session."""
    return [
        p
        if p.field.partition("[")[0] == "limit"
        else Problem(f"template.{p.field}", p.message, p.value)
        for p in problems
    ]


def _merge_retry(previous: SessionState, retry: SessionState) -> SessionState:
    """A retry's outcome on top of the earlier run: nodes that had succeeded stay succeeded."""
    merged = retry.model_copy(deep=True)
    merged.created = previous.created
    merged.retry_count = previous.retry_count + retry.retry_count + 1
    merged.transition_ids = previous.transition_ids + retry.transition_ids
    merged.node_count = previous.node_count
    merged.results.succeeded = sorted(
        set(previous.results.succeeded) | set(retry.results.succeeded)
    )
    # Nodes the retry did not take keep what the earlier run said of them (their phase, why
    # they were skipped); the retried ones take the retry's.
    retried = {n for nodes in retry.results.phases.values() for n in nodes}
    for key in ("phases", "skipped"):
        earlier: dict[str, list[str]] = getattr(previous.results, key)
        mine: dict[str, list[str]] = getattr(merged.results, key)
        for label, nodes in earlier.items():
            kept = [n for n in nodes if n not in retried]
            if kept:
                mine[label] = sorted({*mine.get(label, []), *kept})
    return merged
