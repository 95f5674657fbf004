"""A BootTemplate's lifecycle: check its inputs, write it, read it back, remove it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from ..artifacts import artifact_problems
from ..backends import GROUP_DATA_STORES
from ..claims import NodeClaims
from ..clients.services import Services
from ..errors import InvalidInputError
from ..models.history import TemplateWrite, appended, author
from ..models.owner import Ownership, Stake, group_owner
from ..models.problems import Problem
from ..models.template import (
    TEMPLATE_SPEC_KEYS,
    BootTemplateSpec,
    TemplateInputs,
    TemplateState,
    note_writes,
)
from ..planning import FieldChange, group_problem, observed_spec
from ..template_import import import_template
from ..template_writer import (
    HostsBySet,
    Log,
    claim_problems,
    quiet,
    read_template,
    remove_template,
    target_problems,
    write_template,
)
from .connection import Connector
from .diff import Diff, changed_keys, with_defaults
from .inputs import input_problems, recorded_spec, unchanged

# How long a write waits for the stack's other templates to be checked (their checks run on
# the same provider, a few at a time; one that fails is never checked, and the write then goes
# on with what is known).
SIBLINGS_CHECKED_WITHIN = 5.0
# Shown in outputs at most; a 10,000-node change is summarised per field, not per node.
MAX_CHANGES_SHOWN = 50
# `adopt` matters on create only: changing it alone is no change to the template.
# `deployment_templates` only tells check which templates the stack still declares.
DIFF_KEYS = (*TEMPLATE_SPEC_KEYS, "connection", "deployment")


@dataclass(frozen=True)
class TemplateRead:
    # The inputs as the services hold them now: a refresh records them, so the next plan
    # shows the drift being reverted.
    observed: dict[str, Any]
    state: TemplateState


class TemplateLifecycle:
    def __init__(
        self,
        connector: Connector | None = None,
        log: Log = quiet,
        epoch: Callable[[], float] = time.time,
    ) -> None:
        self.connector = connector or Connector()
        self.log = log
        self.epoch = epoch
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
        recorded = recorded_spec(BootTemplateSpec, TemplateInputs.spec_data(olds))
        if unchanged(olds, recorded, inputs.spec, inputs.connection, inputs.ownership.deployment):
            # Nothing of it would be written: what the services hold is for refresh to report.
            # Its nodes are still its own: another template of the deployment that takes one
            # of them is refused (no SMD read: the nodes it was last written for).
            before = TemplateState.from_props(olds)
            if before is not None:
                cluster = self.connector.services(inputs.connection).cluster
                problems += claim_problems(self.claims, cluster, inputs.spec.name, before.hosts)
            return inputs, problems
        settings = self.connector.settings(inputs.connection)
        if inputs.spec.cloud_init is not None:
            store = GROUP_DATA_STORES[settings.group_data_backend]
            problems += store.meta_data_problems(dict(inputs.spec.cloud_init.meta_data))
        if settings.verify_artifacts:
            # Only artifacts that changed: a preview should not re-probe every URL every time.
            fresh = _artifacts(inputs.to_props()) - _artifacts(olds)
            found = artifact_problems(sorted(fresh), s3_endpoint_url=settings.s3_endpoint_url)
            problems += [Problem(field, message) for field, message in found]
        if settings.verify_targets and not problems:
            services = self.connector.services(inputs.connection)
            problems += target_problems(services, inputs.spec, inputs.stake, self.claims, self.log)
            owned = set(recorded.cloud_init_groups()) if recorded else set()
            problems += _group_problems(services, inputs, owned, self.log)
        return inputs, problems

    def check_known(self, news: Mapping[str, Any]) -> list[Problem]:
        """Nothing to judge while inputs are unknown."""
        return []

    def diff(self, olds: Mapping[str, Any], news: Mapping[str, Any]) -> Diff:
        changed = changed_keys(
            with_defaults(olds, BootTemplateSpec, TemplateInputs.spec_data),
            with_defaults(news, BootTemplateSpec, TemplateInputs.spec_data),
            DIFF_KEYS,
        )
        drift = list(olds.get("drift") or [])
        return Diff(
            changed=changed,
            replaces=["name"] if "name" in changed else [],
            # A refresh found what inputs cannot show (a node without a record, a record of a
            # node gone from SMD): the next update puts it right, and the preview says what.
            pending_work=bool(drift),
            delete_before_replace=True,
            notes=[_drift_note(str(news.get("name") or olds.get("name")), drift)] if drift else [],
        )

    def create(self, inputs: TemplateInputs) -> TemplateState:
        spec = inputs.spec
        adopted = spec.cloud_init_groups() if inputs.adopt else []
        services = self.connector.for_writes(inputs.connection)
        at = int(self.epoch())
        stake = self._stake(services, inputs)
        report = write_template(services, spec, stake, owned_groups=adopted, log=self.log)
        state = _state(spec, report.hosts_by_set, report.cloud_init_groups, report.changes)
        # Records already as declared (taken over) count as written now: when they were
        # written is unknown, and a `boot` session then reboots rather than trusts them.
        written = note_writes({}, state.all_hosts(), at, state.all_hosts())
        # Without `adopt`, a group that existed was refused before any write.
        history = self._history(inputs, None, state, at)
        return state.model_copy(
            update={"adopted": report.groups_before, "written": written, "history": history}
        )

    def update(self, before: TemplateState | None, inputs: TemplateInputs) -> TemplateState:
        spec = inputs.spec
        services = self.connector.for_writes(inputs.connection)
        adopted = before.adopted if before else {}
        at = int(self.epoch())
        report = write_template(
            services,
            spec,
            self._stake(services, inputs),
            previous_hosts=before.all_hosts() if before else [],
            owned_groups=before.cloud_init_groups if before else [],
            restore_groups=adopted,
            log=self.log,
        )
        state = _state(spec, report.hosts_by_set, report.cloud_init_groups, report.changes)
        # Adopted groups the template dropped were put back: no longer its to restore.
        kept = {g: data for g, data in adopted.items() if g in state.cloud_init_groups}
        # A node with no write time (a state recorded before they were) stays without one: a
        # `boot` session leaves it alone if it is on, rather than reboot a whole cluster after
        # an upgrade.
        written = note_writes(
            before.written if before else {}, report.written_hosts, at, state.all_hosts()
        )
        history = self._history(inputs, before, state, at)
        return state.model_copy(update={"adopted": kept, "written": written, "history": history})

    def _history(
        self, inputs: TemplateInputs, before: TemplateState | None, state: TemplateState, at: int
    ) -> list[TemplateWrite]:
        """The recorded writes, with this one last when it changed anything."""
        kept = before.history if before else []
        if (
            before is not None
            and not state.changes
            and (state.version, state.hosts)
            == (
                before.version,
                before.hosts,
            )
        ):
            return kept
        entry = TemplateWrite(
            version=state.version,
            at=datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds"),
            by=author(),
            hosts=state.hosts,
            changes=state.changes,
            spec=state.spec,
        )
        return appended(kept, entry, self.connector.settings(inputs.connection).history_length)

    def _stake(self, services: Services, inputs: TemplateInputs) -> Stake:
        """What the template may write over, with the nodes the deployment's other templates
        target as checked in this run: a node moving between two declared templates is taken
        by the one that targets it now, and not removed by the one that let it go."""
        siblings = SiblingTargets(
            self.claims,
            services.cluster,
            inputs.spec.name,
            set(inputs.stake.declared or ()) - {inputs.spec.name},
        )
        return replace(inputs.stake, siblings=siblings)

    def read(self, name: str, props: Mapping[str, Any]) -> TemplateRead:
        """What the boot store and the group-data store hold for the template whose inputs
        (and, once recorded, state) are `props`. Repeatable: it compares with the spec last
        written, never with inputs an earlier refresh recorded from what it found."""
        before = TemplateState.from_props(props)
        spec_data = before.spec if before else TemplateInputs.spec_data(props)
        if "boot_sets" not in spec_data:
            raise InvalidInputError(
                "boot_sets",
                None,
                f"cannot read template {name!r} without its boot sets: declare the template in"
                " the program (with `adopt: true` to take over cloud-init data that exists)",
            )
        spec = BootTemplateSpec.model_validate(spec_data)
        stake = Ownership.from_props(props).stake(spec.name)
        services = self.connector.services(props.get("connection"))
        # One listing per service for every template this run refreshes (clients/listings.py).
        with services.listings.shared():
            observed, plan = read_template(
                services, spec, stake, before.all_hosts() if before else []
            )
        seen = observed_spec(
            spec, observed.hosts_by_set, observed.boots, observed.cloud_init, stake.owner
        )
        if before is None:
            # Read from inputs alone (nothing recorded yet): what it would own comes from its spec.
            before = _state(spec, observed.hosts_by_set, spec.cloud_init_groups(), [])
        # Nodes without a record, and records of nodes the template no longer targets, are
        # drift too; the next update writes or removes them (see diff).
        drift = [*observed.gone, *(c.describe() for c in plan.changes)][:MAX_CHANGES_SHOWN]
        return TemplateRead(observed=seen, state=before.model_copy(update={"drift": drift}))

    def import_(self, import_id: str, ownership: Ownership) -> tuple[TemplateInputs, TemplateState]:
        """A template rebuilt from what the services hold (template_import), read back as
        a refresh would: `<name>` for the template's own records, `<name>:<group>,...` for
        data made by hand, which it adopts."""
        services = self.connector.services(None)
        found = import_template(services, import_id, ownership.deployment)
        inputs = TemplateInputs(spec=found.spec, adopt=bool(found.adopted), ownership=ownership)
        state = self.read(found.spec.name, inputs.to_props()).state
        return inputs, state.model_copy(update={"adopted": found.adopted})

    def delete(self, props: Mapping[str, Any], state: TemplateState) -> None:
        """Remove what the template (its recorded `props` and `state`) wrote and still holds."""
        services = self.connector.for_writes(props.get("connection"))
        stake = Ownership.from_props(props).stake(state.spec["name"])
        remove_template(
            services,
            stake,
            state.all_hosts(),
            state.cloud_init_groups,
            state.adopted,
            log=self.log,
        )


class SiblingTargets(Mapping[str, str]):
    """The nodes the deployment's other templates target (node -> template), read from the
    node claims when first asked: only a write that meets another declared template's record,
    or lets a node go, asks. The engine checks each resource as the program declares it and
    may start writing one before it has checked the next, so the first read waits (at most
    SIBLINGS_CHECKED_WITHIN) until every declared template has been checked: what a template
    takes or lets go then does not depend on the order the engine took them in."""

    def __init__(self, claims: NodeClaims, cluster: str, template: str, waiting: set[str]):
        self._claims, self._cluster, self._template = claims, cluster, template
        self._waiting = waiting
        self._found: dict[str, str] | None = None

    def _read(self) -> dict[str, str]:
        if self._found is None:
            deadline = time.monotonic() + SIBLINGS_CHECKED_WITHIN
            while not self._waiting <= self._claims.checked(self._cluster):
                if time.monotonic() >= deadline:
                    break
                time.sleep(0.05)
            self._found = self._claims.others(self._cluster, self._template)
        return self._found

    def __getitem__(self, node: str) -> str:
        return self._read()[node]

    def __iter__(self) -> Iterator[str]:
        return iter(self._read())

    def __len__(self) -> int:
        return len(self._read())


# Drift lines a preview quotes; the `drift` output has them all (up to MAX_CHANGES_SHOWN).
DRIFT_SHOWN = 5


def _drift_note(name: str, drift: list[str]) -> str:
    """The drift a preview puts back, by field and nodes; never a value (cloud-init data may
    be secret, and the `drift` output says the rest)."""
    shown = "; ".join(_without_values(line) for line in drift[:DRIFT_SHOWN])
    more = f"; and {len(drift) - DRIFT_SHOWN} more" if len(drift) > DRIFT_SHOWN else ""
    return (
        f"template {name}: puts back what the last refresh found changed ({shown}{more};"
        " its `drift` output has the values)"
    )


def _without_values(line: str) -> str:
    field, _, rest = line.partition(":")
    where = rest.rpartition(" on ")[2] if " node(s): " in rest else ""
    return f"{field} on {where}" if where else field


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


def _group_problems(
    services: Services, inputs: TemplateInputs, owned: set[str], log: Log
) -> list[Problem]:
    """Cloud-init data that exists for a group the template would newly write (one read per
    such group): refused as create would refuse it, or said now what will become of it."""
    name = inputs.spec.name
    problems = []
    for group in inputs.spec.cloud_init_groups():
        current = None if group in owned else services.group_data.get_group(group)
        if current is None:
            continue
        owner = group_owner(current.description)
        adopting = inputs.adopt and owner is None
        reason = group_problem(
            inputs.stake,
            group,
            current,
            [group] if adopting else [],
            store=services.group_data.label,
        )
        if reason:
            problems.append(Problem.of("cloud_init", reason, group))
        elif adopting:
            log(
                f"template {name} adopts the cloud-init data group {group} holds now; it is"
                " kept, and destroying the template puts it back"
            )
        elif owner is not None and owner.template != name:
            log(
                f"template {name} takes over cloud-init group {group} from {owner}, which the"
                " stack no longer declares"
            )
    return problems


def _artifacts(props: Mapping[str, Any]) -> set[tuple[str, str]]:
    """(field, URL) of every kernel and initrd in raw inputs (old ones may no longer be valid)."""
    found = set()
    boot_sets = props.get("boot_sets")
    for set_name, boot_set in (boot_sets if isinstance(boot_sets, dict) else {}).items():
        for key in ("kernel", "initrd"):
            if isinstance(boot_set, dict) and boot_set.get(key):
                found.add((f"boot_sets.{set_name}.{key}", boot_set[key]))
    return found
