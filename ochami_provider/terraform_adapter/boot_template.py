"""`ochami_boot_template`: TemplateLifecycle behind Terraform's plan, apply, refresh and import.

`boot_sets` is the template's boot sets as JSON (`jsonencode({compute = {...}})`, the shape a
Pulumi stack file holds): the engines show a change inside it field by field. Cloud-init data
is three attributes, the user-data sensitive (it often carries keys or passwords).
"""

from __future__ import annotations

from typing import Any

from tf import types
from tf.iface import (
    Config,
    CreateContext,
    DeleteContext,
    ImportContext,
    PlanContext,
    ReadContext,
    State,
    UpdateContext,
)
from tf.schema import Attribute, Schema
from tf.types import Unknown
from tf.utils import Diagnostics

from ..models.inputs import (
    BOOT_SET_FIELDS,
    CLOUD_INIT_FIELDS,
    TEMPLATE_FIELDS,
    TEMPLATE_OUTPUTS,
    SchemaField,
    by_name,
    documented,
)
from ..models.owner import Ownership
from ..models.problems import field_problems
from ..models.template import BootTemplateSpec, TemplateInputs, TemplateState
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

# The cloud-init spec's fields, each an attribute of its own (the user-data sensitive).
_CLOUD_INIT_FIELDS = {f"cloud_init_{f.name}": f for f in CLOUD_INIT_FIELDS}
CLOUD_INIT = tuple(_CLOUD_INIT_FIELDS)
_FIELDS = by_name(TEMPLATE_FIELDS)
INPUTS = ("name", "description", "boot_sets", *CLOUD_INIT, "adopt")
# Outputs a write changes: unknown in a plan that writes.
WRITTEN = (
    "hosts",
    "node_count",
    "cloud_init_groups",
    "changes",
    "written",
    "adopted",
    "history",
)
_HIDDEN = "(cloud-init value not shown)"


def where(field: str) -> str:
    """The attribute a spec field is written in."""
    head, _, rest = field.partition(".")
    if head == "cloud_init":
        key = rest.partition(".")[0]
        return f"cloud_init_{key}" if f"cloud_init_{key}" in CLOUD_INIT else "cloud_init_user_data"
    return head if head in INPUTS else "boot_sets"


def shown(lines: list[str]) -> list[str]:
    """Change and drift lines, cloud-init values left out: the user-data is sensitive."""
    return [
        f"{line.partition(':')[0]}: {_HIDDEN}" if line.startswith("cloud_init") else line
        for line in lines
    ]


class BootTemplateResource:
    def __init__(self, provider: ProviderContext) -> None:
        self.provider = provider
        self.core = provider.templates

    @classmethod
    def get_name(cls) -> str:
        return "boot_template"

    @classmethod
    def get_schema(cls) -> Schema:
        boot_sets = _FIELDS["boot_sets"]
        keys = ", ".join(f.name for f in BOOT_SET_FIELDS)
        return Schema(
            version=2,
            description="A boot template: kernel, initrd and parameters per boot set in BSS,"
            " and cloud-init data for its groups.",
            attributes=[
                Attribute("id", types.String(), computed=True),
                Attribute(
                    "name",
                    types.String(),
                    required=True,
                    requires_replace=True,
                    description=documented(_FIELDS["name"]),
                ),
                _input("description", _FIELDS["description"]),
                Attribute(
                    "boot_sets",
                    Json(),
                    required=True,
                    description=f"{documented(boot_sets)} `jsonencode({{<set> = {{{keys}}}}})`.",
                ),
                *(_input(name, f) for name, f in _CLOUD_INIT_FIELDS.items()),
                _input("adopt", _FIELDS["adopt"]),
                *(
                    Attribute(
                        f.name,
                        TF_TYPES[f.kind],
                        computed=True,
                        sensitive=f.sensitive,
                        description=f.description,
                    )
                    for f in TEMPLATE_OUTPUTS
                ),
                DEPLOYMENT_ATTRIBUTE,
            ],
        )

    # Props: what the core takes ---------------------------------------------------------
    def props(self, state: State) -> dict[str, Any]:
        cloud_init: dict[str, Any] | None = None
        if any(state.get(k) is not None for k in CLOUD_INIT):
            cloud_init = {
                "meta_data": decoded(state.get("cloud_init_meta_data")) or {},
                "description": state.get("cloud_init_description") or "",
            }
            if state.get("cloud_init_user_data") is not None:
                cloud_init["user_data"] = state["cloud_init_user_data"]
        props: dict[str, Any] = {
            "name": state.get("name"),
            "description": state.get("description") or "",
            "boot_sets": decoded(state.get("boot_sets")),
            "cloud_init": cloud_init,
            "adopt": bool(state.get("adopt")),
            "deployment": self.provider.recorded_deployment(state),
        }
        if state.get("spec") not in (None, Unknown):
            for key in TemplateState.output_keys():
                if state.get(key) not in (None, Unknown):
                    props[key] = state[key]
        return props

    def outputs(self, planned: State, state: TemplateState) -> State:
        recorded = state.to_props()
        return {
            **planned,
            **recorded,
            "id": state.spec["name"],
            "changes": shown(recorded["changes"]),
            "drift": shown(recorded["drift"]),
        }

    # Plan ---------------------------------------------------------------------------------
    def validate(self, diags: Diagnostics, type_name: str, config: Config) -> None:
        """The spec's own rules, with nothing read or written (no provider settings yet)."""
        if any(is_unknown(config.get(k)) for k in INPUTS):
            return
        report(
            diags,
            field_problems(BootTemplateSpec, TemplateInputs.spec_data(self.props(config))),
            where,
        )

    def plan(self, ctx: PlanContext, current: State | None, planned: State) -> State:
        planned = {**planned, "deployment": self.provider.planned_deployment(current)}
        if any(is_unknown(planned.get(k)) for k in INPUTS):
            return {**planned, **{k: Unknown for k in ("version", "spec", *WRITTEN)}}
        news = self.props(planned)
        olds = self.props(current) if current else {}
        with diagnosed(ctx.diagnostics, where) as checked:
            inputs, problems = self.core.check(olds, news)
        if checked.failed:
            return planned
        report(ctx.diagnostics, problems, where)
        if inputs is None or problems:
            return planned
        planned = {
            **planned,
            "id": inputs.spec.name,
            "version": inputs.spec.version(),
            "spec": inputs.spec.model_dump(mode="json"),
        }
        diff = self.core.diff(olds, news) if current is not None else None
        for note in diff.notes if diff is not None else []:
            ctx.diagnostics.add_warning(note, "")
        if diff is None or diff.has_changes:
            planned.update({k: Unknown for k in WRITTEN})
            planned["drift"] = []
        return planned

    # Apply --------------------------------------------------------------------------------
    def create(self, ctx: CreateContext, planned: State) -> State | None:
        with diagnosed(ctx.diagnostics, where) as created:
            state = self.core.create(TemplateInputs.from_props(self.props(planned)))
        if created.failed:
            # Nothing stays written: the writer put back what it had written before the error.
            return None
        return self.outputs(planned, state)

    def update(self, ctx: UpdateContext, current: State, planned: State) -> State | None:
        if not self.core.diff(self.props(current), self.props(planned)).has_changes:
            # Nothing to write (the `deployment` recorded once after an upgrade, say): the plan
            # kept every output, and the engine holds the result to it.
            return {**current, **planned}
        before = TemplateState.from_props(self.props(current))
        with diagnosed(ctx.diagnostics, where) as updated:
            state = self.core.update(before, TemplateInputs.from_props(self.props(planned)))
        if updated.failed:
            return current
        return self.outputs(planned, state)

    def delete(self, ctx: DeleteContext, current: State) -> None:
        props = self.props(current)
        state = TemplateState.from_props(props)
        if state is None:
            return
        with diagnosed(ctx.diagnostics, where):
            self.core.delete(props, state)

    # Refresh and import ---------------------------------------------------------------------
    def read(self, ctx: ReadContext, current: State) -> State | None:
        props = self.props(current)
        with diagnosed(ctx.diagnostics, where) as read:
            found = self.core.read(str(current["name"]), props)
        if read.failed:
            return current
        state = self.outputs(current, found.state)
        recorded = TemplateState.from_props(props)
        seen = BootTemplateSpec.model_validate({"name": current["name"], **found.observed})
        if recorded is None or seen.model_dump(mode="json") != recorded.spec:
            # What the services hold now, as a configuration would say it: the next plan shows
            # the drift being put back.
            state.update(attributes_of(seen))
        return state

    def import_(self, ctx: ImportContext, id: str) -> State | None:
        with diagnosed(ctx.diagnostics, lambda _: "id") as imported_:
            deployment = self.provider.planned_deployment(None)
            inputs, state = self.core.import_(id, Ownership(deployment=deployment))
        if imported_.failed:
            return None
        imported = {k: None for k in INPUTS} | attributes_of(inputs.spec)
        imported["adopt"] = inputs.adopt or None
        imported["deployment"] = deployment
        return self.outputs(imported, state)

    def upgrade(self, ctx: Any, version: int, old: State) -> State:
        return old


def _input(name: str, field: SchemaField) -> Attribute:
    return Attribute(
        name,
        TF_TYPES[field.kind],
        optional=True,
        sensitive=field.sensitive,
        description=documented(field),
    )


def attributes_of(spec: BootTemplateSpec) -> dict[str, Any]:
    """The input attributes that declare `spec`, defaults left out as a configuration would."""
    data = spec.model_dump(mode="json", exclude_defaults=True)
    cloud_init = data.get("cloud_init")
    found: dict[str, Any] = {
        "name": spec.name,
        "description": spec.description or None,
        "boot_sets": data["boot_sets"],
        "cloud_init_meta_data": None,
        "cloud_init_user_data": None,
        "cloud_init_description": None,
    }
    if spec.cloud_init is not None and cloud_init is not None:
        found["cloud_init_meta_data"] = spec.cloud_init.meta_data or None
        found["cloud_init_user_data"] = spec.cloud_init.user_data
        found["cloud_init_description"] = spec.cloud_init.description or None
    return found
