"""BootSession: apply a template to its nodes and power them, recording the outcome per node."""

from __future__ import annotations

import uuid
from typing import Any

import pulumi
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult

from ..errors import OchamiError
from ..models.session import BootSessionSpec, SessionState
from ..models.validation import FieldProblem
from ..session_runner import limit_nodes, run_session
from ._provider import OchamiResourceProvider, changed_keys, pick, progress, to_failures

SPEC_KEYS = (
    "name",
    "template",
    "operation",
    "limit",
    "graceful",
    "timeout_seconds",
    "poll_interval_seconds",
    "task_deadline_minutes",
    "retry",
)
INPUT_KEYS = (*SPEC_KEYS, "shutdown_on_delete", "connection")
# Changing these re-runs the session (a new run, new id); the rest only updates the record.
RERUN_KEYS = ("name", "template", "operation", "limit", "graceful")
RETRYABLE = ("failed", "cancelled")


class BootSessionProvider(OchamiResourceProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        spec, problems = self.check_inputs(
            news, BootSessionSpec, SPEC_KEYS, (*INPUT_KEYS, *_OUTPUT_KEYS)
        )
        if spec is None:
            return CheckResult(news, to_failures(problems))
        if spec.limit and self.settings(news).verify_targets:
            with self.services(news) as services:
                try:
                    limit_nodes(services, [], spec.limit)
                except OchamiError as error:
                    problems.append(FieldProblem("limit", str(error).removeprefix("limit: ")))
        return CheckResult({**news, **spec.model_dump(mode="json")}, to_failures(problems))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = changed_keys(olds, news, INPUT_KEYS)
        # An unfinished or failed run is a change: the next `up` retries its failed nodes.
        retry = olds.get("status") in RETRYABLE
        return DiffResult(
            changes=bool(changed) or retry,
            replaces=[k for k in changed if k in RERUN_KEYS],
            stables=[],
            delete_before_replace=False,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        spec = BootSessionSpec.model_validate(pick(props, SPEC_KEYS))
        with self.services(props) as services:
            state = run_session(services, spec, log=progress)
        _report(spec, state)
        session_id = f"{spec.name}-{uuid.uuid4().hex[:8]}"
        return CreateResult(session_id, {**props, **self._outputs(spec, state)})

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        spec = BootSessionSpec.model_validate(pick(news, SPEC_KEYS))
        if olds.get("status") not in RETRYABLE:
            return UpdateResult({**olds, **news, **pick(olds, _OUTPUT_KEYS)})
        previous = SessionState.model_validate(pick(olds, SessionState.model_fields))
        retry_nodes = [*previous.results.failed, *previous.results.pending]
        with self.services(news) as services:
            state = run_session(services, spec, only_nodes=retry_nodes, log=progress)
        merged = _merge_retry(previous, state)
        _report(spec, merged)
        return UpdateResult({**news, **self._outputs(spec, merged)})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        # A session is a record of something that happened; nothing in a service holds it.
        return ReadResult(id_, props)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        if not props.get("shutdown_on_delete"):
            return
        results = props.get("results") or {}
        nodes = sorted({*results.get("succeeded", []), *results.get("failed", {})})
        if nodes:
            with self.services(props) as services:
                transition = services.pcs.start_transition("Soft-Off", nodes)
            progress(f"session {props.get('name')}: Soft-Off of {len(nodes)} node(s): {transition}")

    def _outputs(self, spec: BootSessionSpec, state: SessionState) -> dict[str, Any]:
        return {
            **state.model_dump(mode="json"),
            "template_name": spec.template.name,
            "template_version": spec.template.version(),
        }


# Outputs only: `operation` is both an input and a state field, and stays an input.
_OUTPUT_KEYS = tuple(
    k
    for k in (*SessionState.model_fields, "template_name", "template_version")
    if k not in INPUT_KEYS
)


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
    return merged


def _report(spec: BootSessionSpec, state: SessionState) -> None:
    line = (
        f"session {spec.name}: {state.status}: {len(state.results.succeeded)} succeeded,"
        f" {len(state.results.failed)} failed of {state.node_count}"
    )
    if state.status == "completed":
        progress(line)
    else:
        pulumi.log.warn(f"{line}; {state.error_message}")


class BootSession(pulumi.dynamic.Resource, module="ochami", name="BootSession"):
    """A BOS-style session: apply a BootTemplate to its nodes and boot, reboot or shut them down.

    `operation` is boot (PCS On), reboot (Hard-Restart, or Soft-Restart with graceful=True),
    shutdown (Soft-Off) or stage (write the boot configuration, power nothing).
    """

    status: pulumi.Output[str]
    error_message: pulumi.Output[str]
    retry_count: pulumi.Output[int]
    completed_at: pulumi.Output[str]
    results: pulumi.Output[dict[str, Any]]
    template_version: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        template: Any,
        operation: pulumi.Input[str],
        name: pulumi.Input[str] | None = None,
        limit: pulumi.Input[list[str]] | None = None,
        graceful: pulumi.Input[bool] = False,
        timeout_seconds: pulumi.Input[float] = 1800.0,
        poll_interval_seconds: pulumi.Input[float] = 5.0,
        task_deadline_minutes: pulumi.Input[int] = 5,
        max_retries: pulumi.Input[int] = 1,
        shutdown_on_delete: pulumi.Input[bool] = False,
        connection: pulumi.Input[dict[str, Any]] | None = None,
        fail_up_on_error: bool = True,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        from .boot_template import BootTemplate

        template_spec = template.spec if isinstance(template, BootTemplate) else template
        props: dict[str, Any] = {
            "name": name or resource_name,
            "template": template_spec,
            "operation": operation,
            "limit": limit or [],
            "graceful": graceful,
            "timeout_seconds": timeout_seconds,
            "poll_interval_seconds": poll_interval_seconds,
            "task_deadline_minutes": task_deadline_minutes,
            "retry": {"max_retries": max_retries},
            "shutdown_on_delete": shutdown_on_delete,
            "connection": connection,
            **{key: None for key in _OUTPUT_KEYS},
        }
        secret = pulumi.ResourceOptions(additional_secret_outputs=["connection"])
        super().__init__(
            BootSessionProvider(),
            resource_name,
            props,
            pulumi.ResourceOptions.merge(secret, opts),
        )
        if fail_up_on_error:
            # The provider must return a failed session as created, or its per-node results
            # (and the retry of only the failed nodes) would be lost. The program reports it
            # as an error once the state holds it, so `pulumi up` exits non-zero.
            pulumi.Output.all(self.status, self.error_message).apply(self._fail_up_if_failed)

    def _fail_up_if_failed(self, outcome: list[Any]) -> None:
        status, error = outcome
        if status in RETRYABLE:
            # An error diagnostic alone leaves the exit code at 0; a program error does not.
            raise pulumi.RunError(
                f"session {self._name} {status}: {error}; its results are recorded and the"
                " next `pulumi up` retries the nodes that failed"
            )
