"""Drive a SessionMachine against the services: the only place a session does I/O."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import boot_probe, cancellation
from .clients.services import Services
from .errors import (
    BootScriptRefused,
    InvalidInputError,
    NotFoundError,
    OchamiError,
    SessionConflictError,
)
from .models.names import normalize_xname
from .models.owner import Stake
from .models.power import POWERS_ON, PowerAction
from .models.problems import Problem
from .models.records import Component
from .models.session import BootSessionSpec, SessionState
from .nodesets import NodeSet, phrase
from .reservations import NodeReservation
from .session_hooks import hook_environment, run_hook
from .session_journal import Powered, SessionJournal
from .session_limit import LimitTerm, narrow, parse_limit
from .session_machine import (
    CheckBoots,
    Finished,
    Poll,
    Resolve,
    SessionMachine,
    SessionWords,
    StartPower,
    Survey,
    WriteConfig,
)
from .template_writer import Log, quiet, resolve_targets, write_template


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def resolve_limit(services: Services, terms: list[LimitTerm]) -> dict[str, frozenset[str]]:
    """The nodes each named term stands for (see `resolve_limit_saying`)."""
    return resolve_limit_saying(services, terms)[0]


# The kinds a name may be, in BOS's order: a later kind wins when one name is more than one
# (BOS's inventory is SMD's groups, updated with its partitions, then with its roles).
_KINDS = ("group", "partition", "role")


def resolve_limit_saying(
    services: Services, terms: list[LimitTerm]
) -> tuple[dict[str, frozenset[str]], list[Problem]]:
    """The nodes each named term stands for: an xname itself; else an SMD group, a partition
    or a role (`Role` or `Role_SubRole`), looked up in at most three SMD reads (every group,
    every partition, every node) whatever the number of terms or nodes. With it, what to say
    of a term that is more than one kind: it acts as BOS would have it act (a role over a
    partition over a group), and the warning names the kinds it matched.

    Names are case-sensitive, as BOS's are: SMD keeps group and partition labels in lower case
    and roles capitalized, so `compute` is the group and `Compute` the role. A term that
    matches a name only in another case is refused, naming what it would have matched."""
    resolved: dict[str, frozenset[str]] = {}
    pending: dict[str, LimitTerm] = {}
    for term in terms:
        if term.every or term.name in resolved:
            continue
        try:
            resolved[term.name] = frozenset({normalize_xname(term.name)})
        except ValueError:
            pending.setdefault(term.name, term)
    if not pending:
        return resolved, []
    found_as: dict[str, dict[str, list[str]]] = {
        "group": {g.label: g.members.ids for g in services.inventory.list_groups()},
        "partition": {p.name: p.members.ids for p in services.inventory.list_partitions()},
        "role": _roles(services.inventory.list_components(type_="Node")),
    }
    said: list[Problem] = []
    for name, term in pending.items():
        kinds = [kind for kind in _KINDS if name in found_as[kind]]
        if not kinds:
            raise InvalidInputError(term.field, name, _no_such_name(name, found_as))
        acting = kinds[-1]
        resolved[name] = frozenset(found_as[acting][name])
        if len(kinds) > 1:
            matched = " and ".join(
                f"a{'n' if k[0] in 'aeiou' else ''} {k} of {len(found_as[k][name])} node(s)"
                for k in kinds
            )
            said.append(
                Problem(
                    term.field,
                    f"{name!r} is {matched} in SMD: it acts on the {acting}'s nodes, as BOS"
                    " would; to act on others, name them by xname",
                    blocks=False,
                )
            )
    return resolved, said


def _no_such_name(name: str, found_as: Mapping[str, Mapping[str, list[str]]]) -> str:
    """Why a term names nothing, with what it matches in another case (names are case-
    sensitive, as in BOS)."""
    near = [
        f"{kind} {other!r}"
        for kind in _KINDS
        for other in found_as[kind]
        if other.lower() == name.lower()
    ]
    hint = f" (names are case-sensitive, as in BOS; SMD has {' and '.join(near)})" if near else ""
    return f"not a node xname, and SMD has no group, partition or role of this name{hint}"


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
        for component in services.inventory.list_nodes(nodes):
            if component.id in wanted and component.enabled is False:
                skipped[component.id] = DISABLED
    for status in services.inventory.lock_status(nodes):
        if status.locked:
            skipped.setdefault(status.id, LOCKED)
    return skipped


def _roles(components: list[Component]) -> dict[str, list[str]]:
    """Nodes by role and by role_subrole, as SMD spells them (BOS's limit takes either)."""
    found: dict[str, list[str]] = {}
    for component in components:
        if component.role:
            found.setdefault(component.role, []).append(component.id)
            if component.sub_role:
                key = f"{component.role}_{component.sub_role}"
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
    journal: SessionJournal | None = None,
) -> SessionState:
    """Run a session to a terminal state. `only_nodes` re-runs just those (a retry).

    With a `journal`, each power transition is noted there before it starts, and nodes an
    earlier run of this session powered that the engine never recorded (an interrupted `up`)
    are verified rather than powered again. Once the engine asks the process to stop
    (`cancellation`), no further transition starts."""
    power = services.power
    power.ready()  # before anything is written
    run = _Run(
        services=services,
        spec=spec,
        stake=stake,
        only_nodes=only_nodes,
        log=log,
        sleep=sleep,
        clock=clock,
        now=now,
        epoch=epoch,
        journal=journal,
        machine=SessionMachine(
            spec, now(), SessionWords(power.label, power.names, services.boot.label)
        ),
        deadline=clock() + spec.timeout_seconds,
        reservation=NodeReservation(services.inventory, spec.name, clock, log),
        said_once=_changes_only(log),
    )
    try:
        while True:
            action = run.machine.next_action()
            try:
                ended = _STEPS[type(action)](run, action)
            except SessionConflictError:
                raise
            except OchamiError as error:
                run.machine.on_error(str(error), now())
                continue
            if ended is not None:
                return ended.model_copy(update={"run_id": run.run_id})
    finally:
        run.reservation.release()


@dataclass
class _Run:
    """One run of a session: what it was given, the machine, and what the steps learn on the
    way. Each of the machine's actions has one step below (`_STEPS`); a step that ends the
    run returns its final state."""

    services: Services
    spec: BootSessionSpec
    stake: Stake
    only_nodes: Iterable[str] | None
    log: Log
    sleep: Callable[[float], None]
    clock: Callable[[], float]
    now: Callable[[], str]
    epoch: Callable[[], float]
    journal: SessionJournal | None
    machine: SessionMachine
    deadline: float
    reservation: NodeReservation
    # Progress is said when it changes, not on every poll (twice a second for 20 minutes).
    said_once: Log
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    hosts_by_set: dict[str, list[str]] = field(default_factory=dict)
    acting: list[str] = field(default_factory=list)
    # Nodes an interrupted run powered: node -> when its transition started.
    resumed: dict[str, int] = field(default_factory=dict)
    # None until the first power action; then whether the pre-command let the session on.
    pre_ok: bool | None = None
    # booted_when cmdline: node -> when the probe first showed it running the template.
    seen: dict[str, int] = field(default_factory=dict)
    # Each node's power as the survey read it, until the first power step uses it.
    surveyed: Mapping[str, str] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return self.spec.template.version()

    def with_resumed(self, state: SessionState) -> SessionState:
        return _with_resumed(
            self.services,
            self.spec,
            self.stake,
            state,
            self.resumed,
            self.sleep,
            self.epoch,
            self.now,
            self.log,
        )


def _finish(run: _Run, action: Finished) -> SessionState:
    state = action.state
    if run.resumed:
        state = run.with_resumed(state)
    if run.pre_ok and run.spec.post_command:
        _post_hook(run.spec, run.acting, state.status, run.machine, run.now(), run.log)
    _settle(run.journal)
    return state


def _resolve(run: _Run, action: Resolve) -> SessionState | None:
    spec, services, log = run.spec, run.services, run.log
    run.hosts_by_set = resolve_targets(services, spec.template)
    terms = parse_limit(spec.limit)
    resolved, ambiguous = resolve_limit_saying(services, terms)
    for problem in ambiguous:
        log(f"session {spec.name}: {problem}")
    nodes = narrow(
        NodeSet.union_of(run.hosts_by_set.values()).sorted(), terms, resolved if terms else None
    )
    if run.only_nodes is not None:
        nodes = sorted(set(nodes) & set(run.only_nodes))
    skipped = left_out(services, nodes, spec.include_disabled)
    nodes = [n for n in nodes if n not in skipped]
    # Before any write: a session over nodes another one holds is refused.
    run.reservation.acquire(nodes)
    log(f"session {spec.name}: {len(nodes)} node(s) to {spec.operation}")
    for reason, count in Counter(skipped.values()).items():
        log(f"session {spec.name}: skipped {count} node(s): {reason}")
    if run.journal is not None:
        run.resumed = _powered_earlier(
            services, run.journal.powered(run.version, spec.operation), nodes, log
        )
    if run.resumed:
        log(
            f"session {spec.name}: {phrase(run.resumed)} were powered by an earlier"
            " run that was interrupted (Ctrl-C): verified, not powered again."
            " Where the engine never recorded that run, it may still list it as"
            " a pending operation; this run records it now (Pulumi: `pulumi"
            " refresh --clear-pending-creates` drops the entry)"
        )
    rest = [n for n in nodes if n not in run.resumed]
    run.acting = nodes
    if not rest and run.resumed:
        state = run.with_resumed(_resumed_alone(run.machine.state, run.now()))
        _settle(run.journal)
        return state
    run.machine.on_resolved(rest, run.now(), skipped)
    return None


def _write(run: _Run, action: WriteConfig) -> None:
    # The template's own data, re-asserted for these nodes: a manual edit since the template
    # was written cannot slip into the boot.
    template = run.spec.template
    report = write_template(
        run.services,
        template,
        run.stake,
        owned_groups=template.cloud_init_groups(),
        hosts_by_set=run.hosts_by_set,
        only_nodes=action.nodes,
        session=run.spec.name,
        log=run.log,
    )
    run.machine.on_config_written(run.now(), frozenset(report.written_hosts))


def _survey(run: _Run, action: Survey) -> None:
    # One power and one boot store request, however many nodes; a store that keeps no fetch
    # history is answered by the nodes themselves (the probe, which check requires there).
    power = run.services.power
    states = power.power_states(action.nodes)
    run.surveyed = states
    fetched: Mapping[str, int] | None = {}
    if action.boots:
        fetched = run.services.boot.last_fetches()
    if fetched is None:
        on = tuple(n for n in action.nodes if states.get(n) == "on")
        fetched = _probed(run.spec, run.stake, on, 0, {}, run.epoch, run.said_once)
    run.machine.on_surveyed(states, fetched, run.now())
    run.log(f"session {run.spec.name}: {_surveyed(run.machine, power.names, action.boots)}")


def _start_power(run: _Run, action: StartPower) -> None:
    spec, services, machine = run.spec, run.services, run.machine
    if cancellation.requested():
        machine.cancel(run.now(), _STOPPED)
        return
    if run.pre_ok is None:
        if action.action in POWERS_ON and services.boot.renders_ahead:
            # Before the first node is powered: can its script be rendered?
            _preflight_boot_script(services, spec, run.hosts_by_set, run.acting, run.log)
            # The preflight is in the endpoint history: the transition starts in a later
            # second, so it does not count as a boot. The pause is not the session's to wait
            # out.
            pause = 1.0 - run.epoch() % 1.0 + 0.01
            run.sleep(pause)
            run.deadline += pause
        run.pre_ok = not spec.pre_command or _pre_hook(
            spec, run.acting, machine, run.now(), run.log
        )
        if not run.pre_ok:
            return
    run.reservation.keep_alive()
    power = services.power
    already_on: frozenset[str] = frozenset()
    if action.action == "on" and machine.verifies_boots():
        # Powering on leaves a node that is on as it is: it will not boot again. The survey
        # just read them (over Redfish, a request per node); a later step reads again.
        known = run.surveyed or power.power_states(action.nodes)
        already_on = frozenset(x for x in action.nodes if known.get(x) == "on")
    run.surveyed = {}
    started = run.epoch()
    if run.journal is not None:
        run.journal.note(run.run_id, run.version, spec.operation, int(started), list(action.nodes))
    power_run = power.start(
        action.action, action.nodes, spec.task_deadline_minutes, run.reservation.deputy_keys()
    )
    if run.journal is not None:
        run.journal.started(run.run_id, int(started), power_run)
    run.log(
        f"session {spec.name}: {power.label} {power.names[action.action]} on"
        f" {len(action.nodes)} node(s), transition {power_run}"
    )
    machine.on_power_started(power_run, started, already_on)


def _stopped(run: _Run) -> bool:
    """The engine asked to stop: the power run under way runs on (its nodes are in the
    journal), and no other starts."""
    if cancellation.requested():
        run.machine.cancel(run.now(), _STOPPED)
        return True
    return False


def _poll(run: _Run, action: Poll) -> None:
    if _stopped(run):
        return
    if run.clock() >= run.deadline:
        _abort_quietly(run.services, action.run_id, run.log)
        run.machine.on_timeout(run.now())
        return
    run.sleep(run.spec.poll_interval_seconds)
    run.reservation.keep_alive()
    progress = run.services.power.progress(action.run_id)
    run.said_once(
        f"session {run.spec.name}: {progress.state}:"
        f" {progress.count('succeeded')} succeeded,"
        f" {progress.count('failed')} failed,"
        f" {progress.running} in progress of {progress.total}"
    )
    run.machine.on_polled(progress.finished, progress.nodes, run.now())


def _check_boots(run: _Run, action: CheckBoots) -> None:
    if _stopped(run):
        return
    spec = run.spec
    if run.clock() >= run.deadline:
        run.machine.on_timeout(run.now())
        return
    run.sleep(spec.poll_interval_seconds)
    run.reservation.keep_alive()
    fetched: Mapping[str, int]
    if spec.booted_when == "cmdline":
        run.seen = _probed(
            spec, run.stake, action.nodes, action.since, run.seen, run.epoch, run.said_once
        )
        fetched = run.seen
        what = "run this template's kernel command line (probe_command)"
    else:
        # One request for every node, however many there are.
        fetched = run.services.boot.last_fetches() or {}
        what = f"asked {run.services.boot.label} for their boot script"
    booted = sum(fetched.get(n, -1) >= action.since for n in action.nodes)
    run.said_once(f"session {spec.name}: {booted} of {len(action.nodes)} node(s) {what}")
    run.machine.on_boot_checks(fetched, run.epoch(), run.now())


# The step for each of the machine's actions.
_STEPS: dict[type[Any], Callable[[_Run, Any], SessionState | None]] = {
    Finished: _finish,
    Resolve: _resolve,
    WriteConfig: _write,
    Survey: _survey,
    StartPower: _start_power,
    Poll: _poll,
    CheckBoots: _check_boots,
}


def _surveyed(machine: SessionMachine, names: Mapping[PowerAction, str], boots: bool) -> str:
    """What the survey found, as the steps it planned."""
    steps = machine.state.results.steps
    restarts = sum(
        v for k, v in steps.items() if k in (names["restart"], names["graceful-restart"])
    )
    off = f"{steps.get(names['on'], 0)} node(s) off to power on"
    if not boots:
        return f"reboot: {off}, {restarts} on to restart"
    return (
        f"boot: {off}, {restarts} on another version to reboot,"
        f" {steps.get('left alone', 0)} on the current version left alone"
    )


_STOPPED = (
    "stopped: the engine asked the provider to stop (Ctrl-C); no further power action was"
    " started, the nodes already powered are noted in the session's journal, and the next"
    " `up` (or apply) verifies those and continues with the rest"
)


def _probed(
    spec: BootSessionSpec,
    stake: Stake,
    nodes: tuple[str, ...],
    since: float,
    seen: dict[str, int],
    epoch: Callable[[], float],
    say: Callable[[str], None],
) -> dict[str, int]:
    """`seen` with the nodes the probe now shows running this template's version; a node
    keeps the time it was first seen after its power-on (`since`), so seeing it again is no
    second boot, and a retry's power-on has it probed again."""
    assert spec.probe_command is not None
    expected = boot_probe.Expected(stake.owner.value, spec.template.version())
    waiting = sorted(n for n in nodes if seen.get(n, -1) < since)
    if not waiting:
        return seen
    lines, problem = boot_probe.probe(
        spec.probe_command, spec.name, spec.operation, waiting, spec.hook_timeout_seconds
    )
    if problem:
        say(f"session {spec.name}: {problem}")
    at = int(epoch())
    found = boot_probe.booted(lines, dict.fromkeys(waiting, expected))
    return {**seen, **dict.fromkeys(sorted(found), at)}


def _changes_only(log: Log) -> Callable[[str], None]:
    last: list[str] = []

    def say(line: str) -> None:
        if last != [line]:
            last[:] = [line]
            log(line)

    return say


def _preflight_boot_script(
    services: Services,
    spec: BootSessionSpec,
    hosts_by_set: Mapping[str, list[str]],
    acting: Iterable[str],
    log: Log,
) -> None:
    """Ask the boot store for the boot script of one node per boot set (by MAC, as its
    firmware will), and refuse the session with the store's own answer if it cannot render
    one: otherwise every node is powered, none can boot, and the session waits out its boot
    timeout. One request per boot set, by the MACs the store's read of the inventory found."""
    chosen = set(acting)
    firsts = {
        name: min(h for h in hosts if h in chosen)
        for name, hosts in hosts_by_set.items()
        if chosen & set(hosts)
    }
    if not firsts:
        return
    for set_name, node in sorted(firsts.items()):
        mac = services.boot.boot_mac(node)
        problem = services.boot.render_problem(node, mac)
        if problem is not None:
            store = services.boot.label
            raise BootScriptRefused(
                f"{store} cannot render the boot script of {node} (boot set {set_name!r},"
                f" asked {'by MAC ' + mac if mac else 'by name'}): {problem};"
                f" no node was powered. Fix what {store} says (a kernel parameter such as"
                " spire_join_token=${SPIRE_JOIN_TOKEN} needs BSS's SPIRE token service), then"
                " run `up` again"
            )
    log(
        f"session {spec.name}: {services.boot.label} renders the boot script of"
        f" {len(firsts)} boot set(s)"
    )


def _settle(journal: SessionJournal | None) -> None:
    """A run that hands its record back to a running engine leaves nothing for a later run to
    resume: its notes go, and those of any interrupted run it resumed (or that an older
    template version left). One the engine asked to stop keeps them: the engine may never
    record it."""
    if journal is not None and not cancellation.requested():
        journal.clear()


def _powered_earlier(
    services: Services, noted: Mapping[str, Powered], nodes: list[str], log: Log
) -> dict[str, int]:
    """Which of `nodes` an interrupted run of this session powered (node -> when its power
    run started), as the journal and the power backend say: a node whose part the backend
    reports failed, or that a run still under way has not reached (it is aborted), was not
    powered and is powered again; one whose run the backend no longer knows, or that the
    session noted and then ended before the backend answered, counts as powered (a reboot too
    many is worse than a wait).
    `noted`: the journal's notes for this template version and operation."""
    wanted = {n: noted[n] for n in nodes if n in noted}
    powered: dict[str, int] = {}
    for transition in sorted({e.transition for e in wanted.values()}):
        mine = [n for n, e in wanted.items() if e.transition == transition]
        done = set(mine)
        if transition:
            try:
                progress = services.power.progress(transition)
            except NotFoundError:
                progress = None
            if progress is not None:
                done = {n for n, p in progress.nodes.items() if p.status == "succeeded"}
                if not progress.finished:
                    _abort_quietly(services, transition, log)
        powered.update((n, wanted[n].started) for n in mine if n in done)
    return powered


def _resumed_alone(state: SessionState, now: str) -> SessionState:
    """The state of a run whose every node an earlier, interrupted run had powered."""
    return state.model_copy(
        update={"status": "completed", "phase": "done", "started_at": now, "completed_at": now}
    )


def _with_resumed(
    services: Services,
    spec: BootSessionSpec,
    stake: Stake,
    state: SessionState,
    resumed: dict[str, int],
    sleep: Callable[[float], None],
    epoch: Callable[[], float],
    now: Callable[[], str],
    log: Log,
) -> SessionState:
    """`state` with the nodes an interrupted run powered, verified as this run verifies its
    own: asked the boot store for their boot script since their power run started (within
    `boot_timeout_seconds` of it), or seen running the template's command line, or the power
    backend says they are on (off, for a shutdown)."""
    waiting = dict(resumed)
    failed: dict[str, str] = {}
    verified = spec.booted_when in ("bootscript", "cmdline") and spec.operation in (
        "boot",
        "reboot",
    )
    seen: dict[str, int] = {}
    while waiting:
        if verified:
            if spec.booted_when == "cmdline":
                since = min(waiting.values())
                seen = _probed(spec, stake, tuple(waiting), since, seen, epoch, log)
                fetched: Mapping[str, int] = seen
            else:
                fetched = services.boot.last_fetches() or {}
            for node in [n for n, at in waiting.items() if fetched.get(n, -1) >= at]:
                del waiting[node]
            late = epoch() > max(waiting.values(), default=0) + spec.boot_timeout_seconds
            if not waiting or late or cancellation.requested():
                unseen = (
                    "was never seen running this template's kernel command line"
                    if spec.booted_when == "cmdline"
                    else f"did not ask {services.boot.label} for its boot script"
                )
                failed = {
                    n: "powered by an earlier, interrupted run of this session, and it"
                    f" {unseen} within {spec.boot_timeout_seconds:g}s"
                    for n in waiting
                }
                break
            sleep(spec.poll_interval_seconds)
        else:
            want = "off" if spec.operation == "shutdown" else "on"
            power = services.power.power_states(sorted(waiting))
            failed = {
                n: "powered by an earlier, interrupted run of this session;"
                f" {services.power.label} says {power.get(n, 'unknown')!r}, not {want!r}"
                for n in waiting
                if power.get(n) != want
            }
            break
    ok = sorted(set(resumed) - set(failed))
    log(f"session {spec.name}: of the earlier run's nodes, {len(ok)} booted, {len(failed)} failed")
    results = state.results.model_copy(deep=True)
    results.succeeded = sorted({*results.succeeded, *ok})
    results.failed = {**results.failed, **failed}
    for phase, nodes in (("booted", ok), ("failed", sorted(failed))):
        if nodes:
            results.phases[phase] = sorted({*results.phases.get(phase, []), *nodes})
    update: dict[str, object] = {
        "results": results,
        "node_count": state.node_count + len(resumed),
        "completed_at": now(),
    }
    if failed and state.status == "completed":
        first = min(failed)
        update["status"] = "failed"
        update["error_message"] = f"{len(failed)} node(s) failed; first: {first}: {failed[first]}"
    return state.model_copy(update=update)


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


def rerun_post_command(
    spec: BootSessionSpec,
    state: SessionState,
    *,
    now: Callable[[], str] = utc_now,
    log: Log = quiet,
) -> SessionState:
    """A session whose nodes were all done but whose post_command failed: the post_command
    alone, on the session's nodes, and the session completed once it succeeds. Nothing is
    powered (the reboot happened; running it again would be one nobody asked for)."""
    assert spec.post_command is not None
    nodes = sorted({*state.results.succeeded, *state.results.failed})
    log(f"session {spec.name}: post_command again, alone: {spec.post_command}")
    env = hook_environment(spec.name, spec.operation, nodes, "completed")
    failed = run_hook("post_command", spec.post_command, env, spec.hook_timeout_seconds)
    if failed:
        return state.model_copy(update={"error_message": failed, "completed_at": now()})
    return state.model_copy(
        update={"status": "completed", "phase": "done", "error_message": "", "completed_at": now()}
    )


def _abort_quietly(services: Services, run_id: str, log: Log) -> None:
    try:
        services.power.abort(run_id)
    except OchamiError as error:
        log(f"could not abort {services.power.label} transition {run_id}: {error}")
