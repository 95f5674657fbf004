"""`ochami_boot_session`: SessionLifecycle behind Terraform's plan and apply.

`template` takes the template resource's `spec` output and `template_writes` its `written`
output (what `boot` compares the nodes' last boot-script fetch with). Changing the operation,
limit or `graceful` plans a replacement (a new run); changing the template plans an update that
reruns the session for the nodes whose boot changed; a failed or cancelled run plans an update
that retries its failed nodes, as the next `pulumi up` does.

A session that fails on create is recorded with a warning rather than an error: Terraform
taints a resource whose create ends in an error and replaces it on the next apply, which would
run the session again on every node, rebooting those that had booted. An update (a retry) that
still fails ends in an error, and is recorded too.
"""

from __future__ import annotations

from typing import Any

from tf import types
from tf.iface import (
    Config,
    CreateContext,
    DeleteContext,
    PlanContext,
    ReadContext,
    State,
    UpdateContext,
)
from tf.schema import Attribute, Schema
from tf.types import Unknown
from tf.utils import Diagnostics

from ..lifecycle.session import RERUN_KEYS, RETRYABLE
from ..models.inputs import (
    SESSION_FIELDS,
    SESSION_OUTPUTS,
    SESSION_TEMPLATE,
    SchemaField,
    by_name,
    documented,
    flat_name,
    session_spec_data,
)
from ..models.problems import field_problems
from ..models.session import BootSessionSpec, SessionInputs, SessionRecord
from .values import (
    DEPLOYMENT_ATTRIBUTE,
    TF_TYPES,
    Json,
    ProviderContext,
    decoded,
    diagnosed,
    is_unknown,
    report,
)

# Every input but the template, as the models define them (models/inputs.py).
_FIELDS = by_name(SESSION_FIELDS)
INPUTS = ("template", *_FIELDS)
_OUTPUTS = by_name(SESSION_OUTPUTS)


def where(field: str) -> str:
    head = flat_name(field).partition(".")[0].partition("[")[0]
    return head if head in INPUTS else "template"


def _attribute(field: SchemaField) -> Attribute:
    return Attribute(
        field.name,
        TF_TYPES[field.kind],
        required=field.required,
        optional=not field.required,
        description=documented(field),
    )


class BootSessionResource:
    def __init__(self, provider: ProviderContext) -> None:
        self.provider = provider
        self.core = provider.sessions

    @classmethod
    def get_name(cls) -> str:
        return "boot_session"

    @classmethod
    def get_schema(cls) -> Schema:
        attributes = [
            Attribute("id", types.String(), computed=True),
            Attribute("template", Json(), required=True, description=documented(SESSION_TEMPLATE)),
            *(_attribute(field) for field in _FIELDS.values()),
            *(
                Attribute(f.name, TF_TYPES[f.kind], computed=True, description=f.description)
                for f in _OUTPUTS.values()
            ),
            DEPLOYMENT_ATTRIBUTE,
        ]
        return Schema(
            version=3,
            description="A boot session: apply a template to its nodes and boot, reboot or"
            " shut them down (PCS), verified in BSS.",
            attributes=attributes,
        )

    def props(self, state: State) -> dict[str, Any]:
        props = session_spec_data({k: _whole(_FIELDS[k], state.get(k)) for k in _FIELDS})
        if state.get("template") is not None:
            props["template"] = decoded(state["template"])
        props["shutdown_on_delete"] = bool(state.get("shutdown_on_delete"))
        props["deployment"] = self.provider.recorded_deployment(state)
        for key in SessionRecord.output_keys():
            if state.get(key) not in (None, Unknown):
                props[key] = state[key]
        return props

    def outputs(self, planned: State, record: SessionRecord) -> State:
        return {**planned, **record.to_props(), "id": record.template_name + "/" + planned["name"]}

    def validate(self, diags: Diagnostics, type_name: str, config: Config) -> None:
        if any(is_unknown(config.get(k)) for k in INPUTS):
            return
        data = SessionInputs.spec_data(self.props(config))
        report(diags, field_problems(BootSessionSpec, data), where)

    def replaces(self, current: State, planned: State) -> list[str]:
        """Attributes whose change means a new run: the core's rule, defaults filled, so an
        upgrade that adds a field to the template's spec does not rerun a session. An input
        not known yet replaces it if it is one that reruns it (operation, limit, ...)."""
        unknown = [k for k in INPUTS if is_unknown(planned.get(k))]
        known = {**planned, **{k: current.get(k) for k in unknown}}
        found = self.core.diff(self.props(current), self.props(known)).replaces
        return sorted({*found, *(k for k in unknown if k in RERUN_KEYS)})

    def plan(self, ctx: PlanContext, current: State | None, planned: State) -> State:
        planned = {**planned, "deployment": self.provider.planned_deployment(current)}
        unknown = [k for k in INPUTS if is_unknown(planned.get(k))]
        if set(unknown) <= {"template_writes"}:
            # When the template wrote each node is known after its apply; check needs it not.
            news = self.props({k: v for k, v in planned.items() if k not in unknown})
            olds = self.props(current) if current else {}
            with diagnosed(ctx.diagnostics, where) as checked:
                _, problems = self.core.check(olds, news)
            if checked.failed:
                return planned
            report(ctx.diagnostics, problems, where)
        if current is not None and set(unknown) <= {"template_writes"}:
            # When the template will have written each node is known after apply only; which
            # nodes its change makes due is known now.
            known = {**planned, "template_writes": current.get("template_writes")}
            with diagnosed(ctx.diagnostics, where) as diffed:
                notes = self.core.diff(self.props(current), self.props(known)).notes
            if diffed.failed:
                return planned
            for note in notes:
                ctx.diagnostics.add_warning(note, "")
            if notes:
                return {**planned, **{k: Unknown for k in _OUTPUTS}}
        # Outputs change only when the session runs: created (a replacement is planned as a
        # create), a failed run retried, or nodes a template change made due. An input that
        # reruns nothing (a new template_writes, a template change that changes no node's
        # boot, a longer timeout) is recorded as it is.
        if current is None or current.get("status") in RETRYABLE:
            return {**planned, **{k: Unknown for k in _OUTPUTS}}
        return planned

    def create(self, ctx: CreateContext, planned: State) -> State | None:
        with diagnosed(ctx.diagnostics, where) as created:
            record = self.core.create(SessionInputs.from_props(self.props(planned)))
        if created.failed:
            return None
        if record.status in RETRYABLE:
            ctx.diagnostics.add_warning(*_unfinished(planned, record))
        return self.outputs(planned, record)

    def update(self, ctx: UpdateContext, current: State, planned: State) -> State | None:
        before = SessionRecord.from_props(self.props(current))
        with diagnosed(ctx.diagnostics, where) as updated:
            due = self.core.due(self.props(current), self.props(planned)).nodes
            record = self.core.update(before, SessionInputs.from_props(self.props(planned)), due)
        if updated.failed:
            return current
        if record.status in RETRYABLE:
            ctx.diagnostics.add_error(*_unfinished(planned, record))
        # Outputs the plan kept (the session did not run: an input that reruns nothing, or the
        # `deployment` recorded once after an upgrade) stay as planned: the engine holds the
        # result to them.
        kept = {k: planned[k] for k in _OUTPUTS if k in planned and not is_unknown(planned[k])}
        return {**self.outputs(planned, record), **kept}

    def delete(self, ctx: DeleteContext, current: State) -> None:
        props = self.props(current)
        with diagnosed(ctx.diagnostics, where):
            self.core.delete(SessionInputs.from_props(props), SessionRecord.from_props(props))

    def read(self, ctx: ReadContext, current: State) -> State:
        # A session is a record of something that happened; no service holds it.
        return current

    def upgrade(self, ctx: Any, version: int, old: State) -> State:
        # Version 2 (before the power port) recorded the power action as `pcs_operation`.
        if "pcs_operation" in old and old.get("power_operation") is None:
            return {
                **{k: v for k, v in old.items() if k != "pcs_operation"},
                "power_operation": old["pcs_operation"],
            }
        return old


def _whole(field: SchemaField, value: Any) -> Any:
    """A Terraform number (a float or a Decimal) as the int a count field is."""
    whole = isinstance(field.default, int) and not isinstance(field.default, bool)
    return int(value) if whole and field.kind == "number" and value is not None else value


def _unfinished(planned: State, record: SessionRecord) -> tuple[str, str]:
    """Summary and detail of a diagnostic for a failed or cancelled run."""
    return (
        f"session {planned['name']} {record.status}: {record.error_message}",
        "Its per-node results are recorded; the next apply retries the nodes that did not succeed.",
    )
