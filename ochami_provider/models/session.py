"""A boot session: the operation to apply a template with, and the state it reports."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    computed_field,
    field_validator,
)

from .history import SessionHistory
from .hostlists import NodeList, compact
from .names import ResourceName
from .owner import Owner, Ownership, Stake
from .template import BootTemplateSpec

Operation = Literal["boot", "reboot", "shutdown", "stage"]
BootedWhen = Literal["power", "bootscript", "cmdline"]
SessionStatus = Literal["pending", "running", "completed", "failed", "cancelled"]


_PERCENT = re.compile(r"^(\d{1,3}(?:\.\d+)?)%$")


def _count_or_percent(least: int) -> Callable[[object], int | str]:
    """A number of nodes (at least `least`), or a share of the session's nodes ('10%', '0.5%'):
    exactly as written, with no space and no true/false (YAML's `true` is no batch size)."""

    def validate(value: object) -> int | str:
        # Engines send numbers as floats (Pulumi's 2 arrives as 2.0): a whole one is a count.
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"{value!r} is not a number of nodes or a percentage of them")
        if isinstance(value, str):
            match = _PERCENT.fullmatch(value)
            if value.isdigit():
                value = int(value)
            elif match and float(match[1]) <= 100 and (least == 0 or float(match[1]) > 0):
                return value
            else:
                lowest = "0%" if least == 0 else "more than 0%"
                raise ValueError(
                    f"{value!r} is not a number of nodes or a percentage of them"
                    f" ({lowest} to 100%, written without spaces, e.g. '10%' or '0.5%')"
                )
        if value < least:
            raise ValueError(f"{value} is less than {least} node(s)")
        return value

    return validate


# Validated before pydantic's own coercion, which would take `true` for 1.
BatchSize = Annotated[int | str, BeforeValidator(_count_or_percent(1))]
FailureBudget = Annotated[int | str, BeforeValidator(_count_or_percent(0))]


def _of(value: int | str, total: int, rounding: Callable[[float], int]) -> int:
    if isinstance(value, int):
        return value
    return rounding(total * float(value.rstrip("%")) / 100)


class RetrySpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    max_retries: int = Field(
        default=1,
        ge=0,
        le=10,
        description="Power attempts after the first, each on the nodes that failed the one"
        " before (0 to 10). Front ends spell it `max_retries`, beside the other settings.",
    )


class BootSessionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: ResourceName = Field(
        description="The session's name (BOS session `name`); its runs and journal notes are"
        " keyed by it. Pulumi and the stack file default it to the resource's name."
    )
    template: BootTemplateSpec = Field(
        description="The template to apply: the template resource's `spec` output (BOS"
        " `template_name`, here the template itself, so a session applies one version)."
    )
    operation: Operation = Field(
        description="`boot` (power on the nodes that are off; reboot those that run another"
        " version), `reboot` (restart those on, power on those off), `shutdown` (power off) or"
        " `stage` (write the boot configuration, power nothing). BOS `operation`."
    )
    limit: list[str] = Field(
        default_factory=list,
        description="Narrow the template's nodes (BOS `limit`): xnames, hostlists, SMD groups,"
        " partitions or roles, comma-separated terms applied left to right; `&term` keeps only"
        " the nodes also in it, `!term` takes them away, `*` is every node of the template.",
    )
    graceful: bool = Field(
        default=False,
        description="How nodes that are on are restarted. false (BOS's reboot): the OS is asked"
        " to shut down and the node is forced off if still on after `task_deadline_minutes`,"
        " then powered on (PCS Hard-Restart; Redfish ForceRestart, at once). true: only the OS"
        " is asked (Soft-Restart, GracefulRestart); a node whose OS ignores it fails at the"
        " deadline.",
    )
    timeout_seconds: float = Field(
        default=1800.0,
        gt=0,
        le=7 * 24 * 3600,
        description="Seconds the whole session may take, power steps and boot checks"
        " included; nodes not done by then fail (at most a week).",
    )
    poll_interval_seconds: float = Field(
        default=5.0,
        gt=0,
        le=600,
        description="Seconds between two reads of the power transition and of the nodes'"
        " boot-script fetches.",
    )
    task_deadline_minutes: int = Field(
        default=5,
        ge=1,
        le=1440,
        description="Minutes a power step waits for each node (PCS `taskDeadlineMinutes`):"
        " for a node whose OS ignores a graceful shutdown, how long it runs on before it is"
        " forced off. 5 is BOS's `max_power_off_wait_time` of 300 s.",
    )
    retry: RetrySpec = Field(
        default_factory=RetrySpec, description="The retry policy: `max_retries`."
    )
    booted_when: BootedWhen = Field(
        default="bootscript",
        description="When a node that was powered on counts as booted: `bootscript` once it"
        " has asked BSS for its boot script after the transition started (its firmware reached"
        " the network boot); `cmdline` once `probe_command` shows its running kernel command"
        " line carrying the template's owner and version markers; `power` as soon as the power"
        " service confirms the power state.",
    )
    probe_command: str | None = Field(
        default=None,
        min_length=1,
        validate_default=True,
        description="For `booted_when = cmdline`: a local shell command that prints `node:"
        " kernel command line` for the nodes in $OCHAMI_NODES (a hostlist) or"
        ' $OCHAMI_NODES_FILE, as `pdsh -w "$OCHAMI_NODES" cat /proc/cmdline` does; run every'
        " poll interval, each run within `hook_timeout_seconds`.",
    )
    boot_timeout_seconds: float = Field(
        default=600.0,
        gt=0,
        le=24 * 3600,
        description="Seconds after the power transition started that a node may take to ask"
        " BSS for its boot script.",
    )
    boot_settle_seconds: float = Field(
        default=0.0,
        ge=0,
        le=3600,
        description="Seconds after its first boot-script fetch that a node must not ask again"
        " for its boot to count: the iPXE script BSS serves asks again 30 s after a kernel or"
        " initrd fails to load, so a second fetch is a boot loop. 0: the first fetch proves the"
        " boot; 45 catches BSS's retry.",
    )
    template_writes: dict[str, NodeList] = Field(
        default_factory=dict,
        description="When the template last wrote each node's BSS record: its `written` output"
        " (Unix seconds -> nodes). `boot` leaves alone a node that is on and asked for its boot"
        " script after that; a node with no write time counts as written at 0.",
    )
    include_disabled: bool = Field(
        default=False,
        description="Act on nodes SMD marks disabled too (BOS `include_disabled`); otherwise"
        " they are skipped.",
    )
    pre_command: str | None = Field(
        default=None,
        min_length=1,
        description="A local shell command run before the first power action (drain the nodes"
        " in the scheduler), with OCHAMI_NODES (hostlist), OCHAMI_NODE_COUNT, OCHAMI_SESSION"
        " and OCHAMI_OPERATION in its environment. If it fails, nothing is powered.",
    )
    post_command: str | None = Field(
        default=None,
        min_length=1,
        description="A local shell command run after the session ends (resume the nodes), with"
        " the same environment and OCHAMI_SESSION_STATUS. If it fails, the session fails.",
    )
    hook_timeout_seconds: float = Field(
        default=600.0,
        gt=0,
        le=24 * 3600,
        description="Seconds each run of `pre_command`, `post_command` and `probe_command` may"
        " take.",
    )
    batch_size: BatchSize | None = Field(
        default=None,
        description="A rolling session: power the nodes this many at a time (a count, or"
        " '10%' of them), each batch one power transition, verified (and retried) before the"
        " next starts. Unset: every node at once.",
    )
    max_failed: FailureBudget | None = Field(
        default=None,
        description="The failure budget (a count, or '5%' of the nodes): once more nodes than"
        " this have failed, no further batch starts; the nodes not reached are skipped, the"
        " session fails, and the next apply continues with them. Unset: no budget.",
    )
    rerun_on_template_change: bool = Field(
        default=True,
        description="A template change makes a `boot` or `reboot` session due again for the"
        " nodes whose boot it changed (their boot set's kernel, initrd, parameters or cloud-init"
        " data), and only for them. false: a template change never runs the session; change a"
        " session field (or replace the session) when the moment is right.",
    )

    @field_validator("probe_command")
    @classmethod
    def _probe_for_cmdline(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("booted_when") == "cmdline":
            raise ValueError(
                "is needed with booted_when 'cmdline': a command that prints `node: kernel"
                ' command line` for $OCHAMI_NODES, such as `pdsh -w "$OCHAMI_NODES" cat'
                " /proc/cmdline`"
            )
        return value

    def last_writes(self) -> dict[str, int]:
        return {n: int(at) for at, nodes in self.template_writes.items() for n in nodes}

    def batch_nodes(self, total: int) -> int:
        """Nodes per batch for a session of `total` nodes (at least one)."""
        if self.batch_size is None:
            return max(total, 1)
        return max(1, _of(self.batch_size, total, math.ceil))

    def failure_budget(self, total: int) -> int | None:
        """How many nodes may fail before the session stops starting batches; None: any."""
        if self.max_failed is None:
            return None
        return _of(self.max_failed, total, math.floor)


# Where a node is in its session: its configuration written, its power transition running,
# powered on and not yet seen asking BSS for its boot script, booted, current (a `boot` left it
# alone: on, and booted since the template last wrote its record), powered off, staged (its
# configuration written, nothing powered), already on (PCS leaves it be), or failed.
NodePhase = Literal[
    "configuring",
    "powering",
    "booting",
    "booted",
    "current",
    "off",
    "staged",
    "already-on",
    "skipped",
    "failed",
]


@dataclass(slots=True)
class NodeOutcome:
    """One node's place in a running session: the machine's working state, never read from
    outside nor recorded as it is (SessionResults is). A slotted dataclass, not a model: the
    machine sets its fields about ten times per node, a million times at 100,000 nodes, and a
    pydantic model's checked assignment made that 0.8 s of a session."""

    status: Literal["pending", "succeeded", "failed"] = "pending"
    phase: NodePhase = "configuring"
    attempts: int = 0
    error: str = ""


class ErrorGroup(BaseModel):
    count: int
    nodes: str


class SessionResults(BaseModel):
    """Per-node results, readable at 10,000 nodes: succeeded and pending nodes as hostlist
    ranges with their counts, failed nodes one by one with their error and grouped by error
    (BOS's `error_summary`). In Python the node sets are lists."""

    # Counts and the summary are derived: a recorded state may carry them, and they are ignored.
    model_config = ConfigDict(extra="ignore")
    succeeded: NodeList = Field(default_factory=list)
    failed: dict[str, str] = Field(default_factory=dict)
    pending: NodeList = Field(default_factory=list)
    # Each node's last phase: phase -> nodes.
    phases: dict[str, NodeList] = Field(default_factory=dict)
    # How many nodes each step touched: PCS operation -> nodes sent, and `left alone`.
    steps: dict[str, int] = Field(default_factory=dict)
    # Nodes the session did not act on, by why: disabled or locked in SMD, or not reached
    # (a rolling session that spent its failure budget).
    skipped: dict[str, NodeList] = Field(default_factory=dict)
    # A rolling session's batches: how many it has, and how many it ran.
    batches: dict[str, int] = Field(default_factory=dict)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def succeeded_count(self) -> int:
        return len(self.succeeded)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def pending_count(self) -> int:
        return len(self.pending)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def percent(self) -> dict[str, float]:
        """Each phase's share of the session's nodes, skipped ones included (BOS's status)."""
        total = sum(len(nodes) for nodes in self.phases.values())
        return {
            phase: round(100 * len(nodes) / total, 1)
            for phase, nodes in sorted(self.phases.items())
            if total
        }

    @computed_field  # type: ignore[prop-decorator]
    @property
    def error_summary(self) -> dict[str, ErrorGroup]:
        by_error: dict[str, list[str]] = {}
        for node, error in self.failed.items():
            by_error.setdefault(error, []).append(node)
        return {
            error: ErrorGroup(count=len(nodes), nodes=compact(nodes))
            for error, nodes in sorted(by_error.items(), key=lambda kv: -len(kv[1]))
        }


class SessionState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: SessionStatus = Field(
        default="pending",
        description="How the last run ended (BOS session `status`): `completed` when every"
        " node succeeded; a `failed` or `cancelled` one is retried by the next apply, for the"
        " nodes that did not succeed.",
    )
    phase: str = Field(default="created", description="Where the last run stopped.")
    error_message: str = Field(default="", description="Why the last run failed, in one line.")
    retry_count: int = Field(default=0, description="Power attempts after the first.")
    created: str = Field(description="When the session was created (ISO 8601, UTC).")
    started_at: str | None = Field(default=None, description="When the last run started.")
    completed_at: str | None = Field(default=None, description="When the last run ended.")
    duration_seconds: float | None = Field(
        default=None,
        description="From start to end, once it ended (as `cray bos v2 sessions status` shows it).",
    )
    operation: Operation
    # Recorded states of releases before the power port call it `pcs_operation`.
    power_operation: str | None = Field(
        default=None,
        validation_alias=AliasChoices("power_operation", "pcs_operation"),
        description="The power action in the power service's own words (PCS: `Hard-Restart`).",
    )
    transition_ids: list[str] = Field(
        default_factory=list, description="The PCS transitions the last run started."
    )
    node_count: int = Field(default=0, description="How many nodes the session applies to.")
    results: SessionResults = Field(
        default_factory=SessionResults,
        description="Per-node results (JSON): succeeded and pending nodes as hostlists, failed"
        " ones with their error and grouped by it, each node's phase, skipped nodes by why,"
        " batches.",
    )
    # Its notes in the local journal (session_journal) are dropped once the engine's state
    # shows it.
    run_id: str = Field(default="", description="The last run's id.")
    # The nodes each power run of this run was sent, by the backend's name of the action:
    # kept in the run's history entry, not recorded as an output of its own.
    acted: dict[str, NodeList] = Field(default_factory=dict, exclude=True)


# The resource: what a front end passes in, and what it records -------------------------
SESSION_SPEC_KEYS = tuple(BootSessionSpec.model_fields)


class SessionInputs(BaseModel):
    """A BootSession's inputs: the spec, what to do on delete, and a connection override."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    spec: BootSessionSpec
    shutdown_on_delete: bool = Field(
        default=False,
        description="On destroy, power off the nodes the session booted (PCS Soft-Off);"
        " otherwise destroying the session powers nothing.",
    )
    connection: dict[str, Any] | None = None
    # The session re-asserts its template's data with the template's own owner marker.
    ownership: Ownership = Ownership()

    KEYS: ClassVar[tuple[str, ...]] = (
        *SESSION_SPEC_KEYS,
        "shutdown_on_delete",
        "connection",
        "deployment",
    )

    @staticmethod
    def spec_data(props: Mapping[str, Any]) -> dict[str, Any]:
        return {k: props[k] for k in SESSION_SPEC_KEYS if props.get(k) is not None}

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> SessionInputs:
        return cls(
            spec=BootSessionSpec.model_validate(cls.spec_data(props)),
            shutdown_on_delete=bool(props.get("shutdown_on_delete")),
            connection=props.get("connection"),
            ownership=Ownership.from_props({"deployment": props.get("deployment")}),
        )

    def to_props(self) -> dict[str, Any]:
        return {
            **self.spec.model_dump(mode="json"),
            "shutdown_on_delete": self.shutdown_on_delete,
            "connection": self.connection,
            "deployment": self.ownership.deployment,
        }

    @property
    def stake(self) -> Stake:
        # Nothing is taken from another template here: the template's own write did that.
        return Stake(Owner(self.spec.template.name, self.ownership.deployment))


# Output names of earlier releases that a recorded state may still hold (read, never written).
_RECORDED_BEFORE = ("pcs_operation",)


class SessionRecord(SessionState):
    """What a BootSession records: its state, and which template version it applied."""

    template_name: str = Field(default="", description="The template the session applied.")
    template_version: str = Field(
        default="", description="The version of the template the last run applied."
    )
    history: SessionHistory = Field(
        default_factory=list,
        description="The session's last runs, oldest first (`history_length` of them; JSON):"
        " what `ochami-boot history` reads.",
    )

    @classmethod
    def output_keys(cls) -> tuple[str, ...]:
        # `operation` is an input too, and stays one; `acted` is the run's, kept in history.
        return tuple(k for k in cls.model_fields if k not in (*SessionInputs.KEYS, "acted"))

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> SessionRecord:
        keys = (*cls.model_fields, *_RECORDED_BEFORE)
        return cls.model_validate({k: props[k] for k in keys if k in props})

    def to_props(self) -> dict[str, Any]:
        return self.model_dump(mode="json", include=set(self.output_keys()))
