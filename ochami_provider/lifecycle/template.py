"""A BootTemplate's lifecycle: check its inputs, write it, read it back, remove it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ..artifacts import artifact_problems
from ..claims import NodeClaims
from ..errors import InvalidInputError
from ..models.problems import Problem
from ..models.template import (
    TEMPLATE_SPEC_KEYS,
    BootTemplateSpec,
    TemplateInputs,
    TemplateState,
)
from ..planning import FieldChange, observed_spec
from ..template_writer import (
    HostsBySet,
    Log,
    quiet,
    read_template,
    remove_template,
    target_problems,
    write_template,
)
from .connection import Connector
from .diff import Diff, changed_keys
from .inputs import input_problems

# Shown in outputs at most; a 10,000-node change is summarised per field, not per node.
MAX_CHANGES_SHOWN = 50
# `adopt` matters on create only: changing it alone is no change to the template.
DIFF_KEYS = (*TEMPLATE_SPEC_KEYS, "connection")


@dataclass(frozen=True)
class TemplateRead:
    # The inputs as the services hold them now: a refresh records them, so the next plan
    # shows the drift being reverted.
    observed: dict[str, Any]
    state: TemplateState


class TemplateLifecycle:
    def __init__(self, connector: Connector | None = None, log: Log = quiet) -> None:
        self.connector = connector or Connector()
        self.log = log
        # Which template each node was given to, as this deployment's templates are checked.
        self.claims = NodeClaims()

    def check(
        self, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> tuple[TemplateInputs | None, list[Problem]]:
        """The inputs, normalized, and every problem found; reads only, never writes."""
        problems = input_problems(
            self.connector,
            BootTemplateSpec,
            TemplateInputs.spec_data(news),
            news,
            (*TemplateInputs.KEYS, *TemplateState.output_keys()),
        )
        if problems:
            return None, problems
        inputs = TemplateInputs.from_props(news)
        if _unchanged(olds, inputs):
            # Nothing of it would be written: what the services hold is for refresh to report.
            return inputs, problems
        settings = self.connector.settings(inputs.connection)
        if settings.verify_artifacts:
            # Only artifacts that changed: a preview should not re-probe every URL every time.
            fresh = _artifacts(inputs.to_props()) - _artifacts(olds)
            found = artifact_problems(sorted(fresh), s3_endpoint_url=settings.s3_endpoint_url)
            problems += [Problem(field, message) for field, message in found]
        if settings.verify_targets and not problems:
            services = self.connector.services(inputs.connection)
            problems += target_problems(services, inputs.spec, self.claims)
        return inputs, problems

    def diff(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> Diff:
        changed = changed_keys(olds, news, DIFF_KEYS)
        return Diff(
            changed=changed,
            replaces=["name"] if "name" in changed else [],
            delete_before_replace=True,
        )

    def create(self, inputs: TemplateInputs) -> TemplateState:
        spec = inputs.spec
        adopted = spec.cloud_init_groups() if inputs.adopt else []
        services = self.connector.services(inputs.connection)
        report = write_template(services, spec, owned_groups=adopted, log=self.log)
        return _state(spec, report.hosts_by_set, report.cloud_init_groups, report.changes)

    def update(self, before: TemplateState | None, inputs: TemplateInputs) -> TemplateState:
        spec = inputs.spec
        services = self.connector.services(inputs.connection)
        report = write_template(
            services,
            spec,
            previous_hosts=before.all_hosts() if before else [],
            owned_groups=before.cloud_init_groups if before else [],
            log=self.log,
        )
        return _state(spec, report.hosts_by_set, report.cloud_init_groups, report.changes)

    def read(self, name: str, props: Mapping[str, Any]) -> TemplateRead:
        """What BSS and cloud-init hold for the template whose inputs (and, once recorded,
        state) are `props`."""
        spec_data = TemplateInputs.spec_data(props)
        if "boot_sets" not in spec_data:
            raise InvalidInputError(
                "boot_sets",
                None,
                f"cannot read template {name!r} without its boot sets: declare the template in"
                " the program (with `adopt: true` to take over cloud-init data that exists)",
            )
        spec = BootTemplateSpec.model_validate(spec_data)
        before = TemplateState.from_props(props)
        services = self.connector.services(props.get("connection"))
        observed, plan = read_template(services, spec, before.all_hosts() if before else [])
        seen = observed_spec(spec, observed.hosts_by_set, observed.bss, observed.cloud_init)
        for set_name, hosts in observed.hosts_by_set.items():
            if any(h not in observed.bss for h in hosts):
                # Some node of this set has no boot parameters at all: that is drift too.
                seen["boot_sets"][set_name]["kernel"] = ""
        if before is None:
            # Read from inputs alone (nothing recorded yet): what it would own comes from its spec.
            before = _state(spec, observed.hosts_by_set, spec.cloud_init_groups(), [])
        state = before.model_copy(
            update={"drift": [c.describe() for c in plan.changes][:MAX_CHANGES_SHOWN]}
        )
        return TemplateRead(observed=seen, state=state)

    def delete(self, connection: Mapping[str, Any] | None, state: TemplateState) -> None:
        services = self.connector.services(connection)
        remove_template(services, state.all_hosts(), state.cloud_init_groups)


def _state(
    spec: BootTemplateSpec,
    hosts_by_set: HostsBySet,
    cloud_init_groups: list[str],
    changes: list[FieldChange],
) -> TemplateState:
    return TemplateState(
        spec=spec.model_dump(mode="json"),
        version=spec.version(),
        hosts=hosts_by_set,
        node_count=sum(len(h) for h in hosts_by_set.values()),
        cloud_init_groups=cloud_init_groups,
        changes=[c.describe() for c in changes][:MAX_CHANGES_SHOWN],
    )


def _unchanged(olds: Mapping[str, Any], inputs: TemplateInputs) -> bool:
    """The inputs are those recorded at the last write (or found by the last refresh). The
    engine drops null values from recorded inputs, so both sides are compared as models."""
    if not olds or _without_nulls(olds.get("connection")) != _without_nulls(inputs.connection):
        return False
    try:
        recorded = BootTemplateSpec.model_validate(TemplateInputs.spec_data(olds))
    except ValidationError:  # a refresh recorded what no template may say (drift)
        return False
    return recorded == inputs.spec


def _without_nulls(mapping: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (mapping or {}).items() if v is not None}


def _artifacts(props: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(field, URL) of every kernel and initrd in raw inputs (old ones may no longer be valid)."""
    found = set()
    boot_sets = props.get("boot_sets")
    for set_name, boot_set in (boot_sets if isinstance(boot_sets, dict) else {}).items():
        for key in ("kernel", "initrd"):
            if isinstance(boot_set, dict) and boot_set.get(key):
                found.add((f"boot_sets.{set_name}.{key}", boot_set[key]))
    return found
