"""BootTemplate: a cluster's boot (BSS) and runtime (cloud-init) settings, declared once."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, ReadResult, UpdateResult

from ..lifecycle import TemplateLifecycle
from ..models.inputs import TEMPLATE_FIELDS, with_defaults
from ..models.owner import Ownership
from ..models.template import TEMPLATE_SPEC_KEYS, TemplateInputs, TemplateState, normalized_spec
from ._provider import (
    OchamiResourceProvider,
    deployment,
    info,
    without_engine_keys,
)


class BootTemplateProvider(OchamiResourceProvider):
    input_keys = TemplateInputs.KEYS
    core: TemplateLifecycle

    def __init__(self) -> None:
        super().__init__()
        self.core = TemplateLifecycle(self.connector, log=info)

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = TemplateInputs.from_props(props)
        state = self.core.create(inputs)
        return CreateResult(inputs.spec.name, _outputs(inputs.to_props(), state))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        inputs = TemplateInputs.from_props(news)
        state = self.core.update(TemplateState.from_props(olds), inputs)
        return UpdateResult(_outputs(inputs.to_props(), state))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        found = self.core.read(id_, props)
        # What the services hold replaces the spec; the other inputs are the program's.
        kept = ("connection", "adopt", *Ownership.KEYS)
        inputs = {**{k: props.get(k) for k in kept if k in props}, **found.observed}
        return ReadResult(id_, _outputs({**props, **inputs}, found.state), inputs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        state = TemplateState.from_props(props)
        if state is not None:
            self.core.delete(props, state)


def _outputs(inputs: dict[str, Any], state: TemplateState) -> dict[str, Any]:
    """What the engine records: the inputs as written (or found), and the template's state."""
    return {**without_engine_keys(inputs), **state.to_props()}


class BootTemplate(pulumi.dynamic.Resource, module="ochami", name="BootTemplate"):
    """A BOS-style session template for OpenCHAMI.

    Writes each boot set's kernel, initrd and parameters to BSS for its nodes, and the cloud-init
    data to the cloud-init server for each of its groups; `pulumi refresh` reads both back.
    """

    spec: pulumi.Output[dict[str, Any]]
    version: pulumi.Output[str]
    hosts: pulumi.Output[dict[str, list[str]]]
    node_count: pulumi.Output[int]
    cloud_init_groups: pulumi.Output[list[str]]
    changes: pulumi.Output[list[str]]
    drift: pulumi.Output[list[str]]
    written: pulumi.Output[dict[str, str]]

    def __init__(
        self,
        resource_name: str,
        *,
        boot_sets: pulumi.Input[dict[str, Any]],
        name: pulumi.Input[str] | None = None,
        description: pulumi.Input[str] | None = None,
        cloud_init: pulumi.Input[dict[str, Any]] | None = None,
        connection: pulumi.Input[dict[str, Any]] | None = None,
        adopt: pulumi.Input[bool] | None = None,
        secret_cloud_init: bool = False,
        deployment_templates: list[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """`deployment_templates` names every template the program declares: nodes and groups
        of a template of this stack that is not among them (renamed, or removed) may be taken
        over in the same `up`. Without it, nothing is taken from another template."""
        secret_outputs = ["connection"]
        if secret_cloud_init and cloud_init is not None:
            # User-data often carries passwords or keys: keep it, and every output that can
            # quote it (the spec, change and drift lists, adopted data, the history of writes),
            # encrypted in state and hidden in diffs.
            cloud_init = pulumi.Output.secret(cloud_init)
            secret_outputs += ["cloud_init", "spec", "changes", "drift", "adopted", "history"]
        given = {"description": description, "cloud_init": cloud_init, "adopt": adopt}
        props = {
            **with_defaults(TEMPLATE_FIELDS, given),
            "name": name or resource_name,
            "boot_sets": boot_sets,
            "connection": connection,
            "deployment": deployment(),
            "deployment_templates": deployment_templates,
            **{key: None for key in TemplateState.output_keys()},
        }
        secret = pulumi.ResourceOptions(additional_secret_outputs=secret_outputs)
        super().__init__(
            _PROVIDER, resource_name, props, pulumi.ResourceOptions.merge(secret, opts)
        )
        # The spec as declared: what a session applies. It is known at preview (the `spec`
        # output of a template being updated is not), so a session's preview can say which of
        # its nodes a template change makes due, and a new stack's can judge its limit.
        self.declared_spec: pulumi.Output[dict[str, Any]] = pulumi.Output.from_input(
            {k: props[k] for k in TEMPLATE_SPEC_KEYS}
        ).apply(normalized_spec)


# One provider for every BootTemplate: the engine runs one instance per serialized form, and
# that instance keeps the node claims of the whole deployment.
_PROVIDER = BootTemplateProvider()
