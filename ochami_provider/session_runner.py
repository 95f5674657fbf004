"""Drive a SessionMachine against the services: the only place a session does I/O."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from .clients.services import Services
from .errors import InvalidInputError, OchamiError, SessionConflictError
from .models.names import normalize_xname
from .models.owner import Stake
from .models.records import Component
from .models.session import BootSessionSpec, SessionState
from .reservations import NodeReservation
from .session_hooks import hook_environment, run_hook
from .session_limit import LimitTerm, narrow, parse_limit
from .session_machine import (
    CheckBoots,
    Finished,
    Poll,
    Resolve,
    SessionMachine,
    StartPower,
    Survey,
    TaskResult,
    WriteConfig,
)
from .template_writer import Log, quiet, resolve_targets, write_template


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def resolve_limit(services: Services, terms: list[LimitTerm]) -> dict[str, frozenset[str]]:
    """The nodes each named term stands for: an xname itself; else an SMD group, a partition
    or a role (`Role` or `Role_SubRole`), looked up in at most three SMD reads (every group,
    every partition, every node) whatever the number of terms or nodes."""
    resolved: dict[str, frozenset[str]] = {}
    pending: dict[str, LimitTerm] = {}
    for term in terms:
        if term.every or term.name in resolved:
            continue
        try:
            resolved[term.name] = frozenset({normalize_xname(term.name)})
        except ValueError:
            pending.setdefault(term.name, term)

    def groups() -> dict[str, list[str]]:
        return {g.label.lower(): g.members.ids for g in services.smd.list_groups()}

    def partitions() -> dict[str, list[str]]:
        return {p.name.lower(): p.members.ids for p in services.smd.list_partitions()}

    def roles() -> dict[str, list[str]]:
        return _roles(services.smd.list_components(type_="Node"))

    lookups: tuple[Callable[[], dict[str, list[str]]], ...] = (groups, partitions, roles)
    for lookup in lookups:
        if not pending:
            break
        found = lookup()
        for name in [n for n in pending if n.lower() in found]:
            resolved[name] = frozenset(found[name.lower()])
            del pending[name]
    for name, term in pending.items():
        raise InvalidInputError(
            term.field,
            name,
            "not a node xname, and SMD has no group, partition or role of this name",
        )
    return resolved


DISABLED = "disabled in SMD (include_disabled: true acts on them)"
LOCKED = "locked in SMD (an admin's lock: PCS will not power it)"


def left_out(services: Services, nodes: list[str], include_disabled: bool) -> dict[str, str]:
    """Nodes a session skips, and why: disabled in SMD (unless `include_disabled`), or
    locked. One component read and one lock-status read, whatever the number of nodes."""
    if not nodes:
        return {}
    skipped: dict[str, str] = {}
    if not include_disabled:
        wanted = set(nodes)
        for component in services.smd.list_nodes(nodes):
            if component.id in wanted and component.enabled is False:
                skipped[component.id] = DISABLED
    for status in services.smd.lock_status(nodes):
        if status.locked:
            skipped.setdefault(status.id, LOCKED)
    return skipped


def _roles(components: list[Component]) -> dict[str, list[str]]:
    """Nodes by role and by role_subrole, lower case (BOS's limit takes either)."""
    found: dict[str, list[str]] = {}
    for component in components:
        if component.role:
            found.setdefault(component.role.lower(), []).append(component.id)
            if component.sub_role:
                key = f"{component.role}_{component.sub_role}".lower()
                found.setdefault(key, []).append(component.id)
    return found


def run_session(
    services: Services,
    spec: BootSessionSpec,
    stake: Stake,
    *,
    only_nodes: Iterable[str] | None = None,
    log: Log = quiet,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], str] = utc_now,
    epoch: Callable[[], float] = time.time,
) -> SessionState:
    """Run a session to a terminal state. `only_nodes` re-runs just those (a retry)."""
    machine = SessionMachine(spec, now())
    deadline = clock() + spec.timeout_seconds
    template = spec.template
    hosts_by_set: dict[str, list[str]] = {}
    reservation = NodeReservation(services.smd, spec.name, clock, log)
    acting: list[str] = []
    # None until the first power action; then whether the pre-command let the session on.
    pre_ok: bool | None = None
    try:
        while True:
            action = machine.next_action()
            try:
                if isinstance(action, Finished):
                    if pre_ok and spec.post_command:
                        _post_hook(spec, acting, action.state.status, machine, now(), log)
                    return action.state
                if isinstance(action, Resolve):
                    hosts_by_set = resolve_targets(services, template)
                    terms = parse_limit(spec.limit)
                    nodes = narrow(
                        (h for hs in hosts_by_set.values() for h in hs),
                        terms,
                        resolve_limit(services, terms) if terms else None,
                    )
                    if only_nodes is not None:
                        nodes = sorted(set(nodes) & set(only_nodes))
                    skipped = left_out(services, nodes, spec.include_disabled)
                    nodes = [n for n in nodes if n not in skipped]
                    # Before any write: a session over nodes another one holds is refused.
                    reservation.acquire(nodes)
                    log(f"session {spec.name}: {len(nodes)} node(s) to {spec.operation}")
                    for reason, count in Counter(skipped.values()).items():
                        log(f"session {spec.name}: skipped {count} node(s): {reason}")
                    machine.on_resolved(nodes, now(), skipped)
                    acting = nodes
                elif isinstance(action, WriteConfig):
                    # The template's own data, re-asserted for these nodes: a manual edit since
                    # the template was written cannot slip into the boot.
                    report = write_template(
                        services,
                        template,
                        stake,
                        owned_groups=template.cloud_init_groups(),
                        hosts_by_set=hosts_by_set,
                        only_nodes=action.nodes,
                        session=spec.name,
                        log=log,
                    )
                    machine.on_config_written(now(), frozenset(report.written_hosts))
                elif isinstance(action, Survey):
                    # One PCS and one BSS request, however many nodes.
                    power = services.pcs.power_states(list(action.nodes))
                    fetched = services.bss.last_fetches()
                    machine.on_surveyed(power, fetched, now())
                    steps = machine.state.results.steps
                    log(
                        f"session {spec.name}: boot: {steps.get('On', 0)} node(s) off to power"
                        f" on, {sum(v for k, v in steps.items() if k.endswith('Restart'))} on"
                        f" another version to reboot, {steps.get('left alone', 0)} on the"
                        " current version left alone"
                    )
                elif isinstance(action, StartPower):
                    if pre_ok is None:
                        pre_ok = not spec.pre_command or _pre_hook(
                            spec, acting, machine, now(), log
                        )
                        if not pre_ok:
                            continue
                    reservation.keep_alive()
                    already_on: frozenset[str] = frozenset()
                    if action.operation == "On" and machine.verifies_boots():
                        # PCS leaves a node that is on as it is: it will not boot again.
                        states = services.pcs.power_states(list(action.nodes))
                        already_on = frozenset(x for x, st in states.items() if st == "on")
                    started = epoch()
                    transition = services.pcs.start_transition(
                        action.operation,
                        list(action.nodes),
                        spec.task_deadline_minutes,
                        reservation.deputy_keys(),
                    )
                    log(
                        f"session {spec.name}: PCS {action.operation} on"
                        f" {len(action.nodes)} node(s), transition {transition}"
                    )
                    machine.on_power_started(transition, started, already_on)
                elif isinstance(action, Poll):
                    if clock() >= deadline:
                        _abort_quietly(services, action.transition_id, log)
                        machine.on_timeout(now())
                        continue
                    sleep(spec.poll_interval_seconds)
                    reservation.keep_alive()
                    status = services.pcs.get_transition(action.transition_id)
                    counts = status.task_counts
                    log(
                        f"session {spec.name}: {status.transition_status}:"
                        f" {counts.succeeded} succeeded, {counts.failed} failed,"
                        f" {counts.in_progress + counts.new} in progress of {counts.total}"
                    )
                    tasks = {
                        t.xname: TaskResult(t.task_status, t.error or t.task_status_description)
                        for t in status.tasks
                    }
                    machine.on_polled(status.finished, tasks, now())
                elif isinstance(action, CheckBoots):
                    if clock() >= deadline:
                        machine.on_timeout(now())
                        continue
                    sleep(spec.poll_interval_seconds)
                    reservation.keep_alive()
                    # One request for every node, however many there are.
                    fetched = services.bss.last_fetches()
                    booted = sum(fetched.get(n, -1) >= action.since for n in action.nodes)
                    log(
                        f"session {spec.name}: {booted} of {len(action.nodes)} node(s) asked BSS"
                        " for their boot script"
                    )
                    machine.on_boot_checks(fetched, epoch(), now())
            except SessionConflictError:
                raise
            except OchamiError as error:
                machine.on_error(str(error), now())
    finally:
        reservation.release()


def _pre_hook(
    spec: BootSessionSpec, nodes: list[str], machine: SessionMachine, now: str, log: Log
) -> bool:
    """Run the pre-command; False (and the session failed) when it fails."""
    assert spec.pre_command is not None
    log(f"session {spec.name}: pre_command on {len(nodes)} node(s): {spec.pre_command}")
    env = hook_environment(spec.name, spec.operation, nodes)
    failed = run_hook("pre_command", spec.pre_command, env, spec.hook_timeout_seconds)
    if failed:
        machine.on_hook_failed(f"{failed}; no node was powered", now)
        return False
    return True


def _post_hook(
    spec: BootSessionSpec,
    nodes: list[str],
    status: str,
    machine: SessionMachine,
    now: str,
    log: Log,
) -> None:
    assert spec.post_command is not None
    log(f"session {spec.name}: post_command ({status}): {spec.post_command}")
    env = hook_environment(spec.name, spec.operation, nodes, status)
    failed = run_hook("post_command", spec.post_command, env, spec.hook_timeout_seconds)
    if failed:
        machine.on_hook_failed(failed, now)


def _abort_quietly(services: Services, transition_id: str, log: Log) -> None:
    try:
        services.pcs.abort_transition(transition_id)
    except OchamiError as error:
        log(f"could not abort PCS transition {transition_id}: {error}")
