"""BootSession: apply a template to its nodes and power them, recording the outcome per node."""

from __future__ import annotations

import uuid
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, ReadResult, UpdateResult

from ..lifecycle import SessionLifecycle
from ..lifecycle.session import RETRYABLE
from ..models.inputs import SESSION_FIELDS, by_name, keyword_docs, nested, with_defaults
from ..models.session import SessionInputs, SessionRecord
from ._provider import (
    OchamiResourceProvider,
    deployment,
    info,
    warn,
    without_engine_keys,
)

_FIELDS = by_name(SESSION_FIELDS)


class BootSessionProvider(OchamiResourceProvider):
    input_keys = SessionInputs.KEYS
    # When the template wrote each node: known once it has written them, and needed only
    # when the session runs.
    known_later = ("template_writes",)
    core: SessionLifecycle

    def __init__(self) -> None:
        super().__init__()
        self.core = SessionLifecycle(self.connector, log=info, warn=warn)

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = SessionInputs.from_props(props)
        record = self.core.create(inputs)
        session_id = f"{inputs.spec.name}-{uuid.uuid4().hex[:8]}"
        return CreateResult(session_id, _outputs(props, record))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = SessionInputs.from_props(news)
        # The nodes whose boot the template changed, as the preview's diff named them.
        due = self.core.due(olds, news).nodes
        record = self.core.update(SessionRecord.from_props(olds), inputs, due)
        return UpdateResult(_outputs(news, record))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        # A session is a record of something that happened; nothing in a service holds it.
        return ReadResult(id_, props)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        self.core.delete(SessionInputs.from_props(props), SessionRecord.from_props(props))


def _outputs(inputs: dict[str, Any], record: SessionRecord) -> dict[str, Any]:
    """What the engine records: the inputs as given, and the session's record."""
    return {**without_engine_keys(inputs), **record.to_props()}


class BootSession(pulumi.dynamic.Resource, module="ochami", name="BootSession"):
    """A BOS-style session: apply a BootTemplate to its nodes and boot, reboot or shut them down.

    `operation` is boot (PCS On), reboot (Hard-Restart, or Soft-Restart with graceful=True, of
    the nodes that are on; On for those off),
    shutdown (Soft-Off) or stage (write the boot configuration, power nothing). A node powered on
    counts as booted once it has asked BSS for its boot script (`booted_when: bootscript`, within
    `boot_timeout_seconds`) and has not asked again within `boot_settle_seconds` (a boot loop:
    the kernel or initrd did not load), once `probe_command` shows it running the template's
    kernel command line (`booted_when: cmdline`), or as soon as PCS confirms it
    (`booted_when: power`).
    With `batch_size` (nodes, or '10%') the nodes are powered a batch at a time, each verified
    before the next; with `max_failed` the session stops starting batches once more nodes than
    that have failed, and the next `up` continues with the nodes it did not reach.
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
        graceful: pulumi.Input[bool] | None = None,
        timeout_seconds: pulumi.Input[float] | None = None,
        poll_interval_seconds: pulumi.Input[float] | None = None,
        task_deadline_minutes: pulumi.Input[int] | None = None,
        max_retries: pulumi.Input[int] | None = None,
        booted_when: pulumi.Input[str] | None = None,
        boot_timeout_seconds: pulumi.Input[float] | None = None,
        boot_settle_seconds: pulumi.Input[float] | None = None,
        probe_command: pulumi.Input[str] | None = None,
        include_disabled: pulumi.Input[bool] | None = None,
        pre_command: pulumi.Input[str] | None = None,
        post_command: pulumi.Input[str] | None = None,
        hook_timeout_seconds: pulumi.Input[float] | None = None,
        batch_size: pulumi.Input[int | str] | None = None,
        max_failed: pulumi.Input[int | str] | None = None,
        rerun_on_template_change: pulumi.Input[bool] | None = None,
        shutdown_on_delete: pulumi.Input[bool] | None = None,
        connection: pulumi.Input[dict[str, Any]] | None = None,
        fail_up_on_error: bool = True,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        from .boot_template import BootTemplate

        declared = isinstance(template, BootTemplate)
        template_spec = template.declared_spec if declared else template
        # When the template wrote each node: what `boot` compares the nodes' last fetch with.
        # It also makes the session wait for the template's write.
        writes: Any = template.written if declared else {}
        given = {k: v for k, v in locals().items() if k in _FIELDS}
        props: dict[str, Any] = {
            **session_props(given),
            "name": name or resource_name,
            "template": template_spec,
            "template_writes": writes,
            "connection": connection,
            "deployment": deployment(),
            **{key: None for key in SessionRecord.output_keys()},
        }
        secret = pulumi.ResourceOptions(
            additional_secret_outputs=["connection"],
            depends_on=[template] if declared else None,
        )
        super().__init__(
            _PROVIDER, resource_name, props, pulumi.ResourceOptions.merge(secret, opts)
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


def session_props(given: dict[str, Any]) -> dict[str, Any]:
    """The session's inputs as the provider records them: each one given, the model's default
    for each one left unset (None), nested as the spec nests them (`retry.max_retries`)."""
    flat = with_defaults(SESSION_FIELDS, given)
    optional = ((f, flat[f.name]) for f in SESSION_FIELDS if not f.required)
    return {"operation": given.get("operation"), **nested(optional)}


_PROVIDER = BootSessionProvider()
# help(BootSession) shows each argument as the model describes it.
BootSession.__init__.__doc__ = (
    keyword_docs(tuple(f for f in SESSION_FIELDS if f.name != "template_writes"))
    + "\n    template: a BootTemplate (the session applies its declared spec, after its write,"
    " with its `written` times), or a template's spec (another stack's output).\n"
    "    fail_up_on_error: a failed session fails `pulumi up` (its results recorded first)."
)
