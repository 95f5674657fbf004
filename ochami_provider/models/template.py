"""A boot template: the BOS session-template idea, written for BSS and the cloud-init server."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, ClassVar
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from . import kernel_params
from .cloud_config import validate_cloud_config
from .group_data import GroupEntry
from .history import TemplateHistory
from .hostlists import NodeList
from .names import Arch, GroupLabel, ResourceName, Role, Xname
from .owner import Ownership, Stake

ARTIFACT_SCHEMES = ("http", "https", "s3")
# x86_64 and aarch64 kernels truncate a command line beyond COMMAND_LINE_SIZE (2048 bytes);
# BSS and iPXE add the initrd, the owner marker and their own parameters, so leave them room.
KERNEL_PARAMETERS_MAX_BYTES = 1536
# The cloud-init server (v1.2.3) takes any size, but every node fetches its group's cloud-config
# at every boot, and cloud-init's NoCloud/EC2-style sources commonly cap user-data at 16 KiB-64 KiB.
USER_DATA_MAX_BYTES = 64 * 1024


def _artifact_url(value: str) -> str:
    if value != value.strip() or any(c.isspace() for c in value):
        raise ValueError(f"{value!r} is not a URL: it contains white space")
    parts = urlsplit(value)
    if parts.scheme not in ARTIFACT_SCHEMES:
        raise ValueError(
            f"{value!r} is not an http://, https:// or s3:// URL"
            + (f" (scheme {parts.scheme!r})" if parts.scheme else "")
        )
    if not parts.netloc:
        what = "bucket" if parts.scheme == "s3" else "host"
        raise ValueError(f"{value!r} is not a valid URL: it names no {what}")
    if parts.path in ("", "/"):
        raise ValueError(f"{value!r} is not a valid artifact URL: it names no file")
    return value


def _kernel_parameters(value: str) -> str:
    problem = kernel_params.problem_with(value)
    if problem:
        raise ValueError(f"{value[:80]!r} {problem}")
    normalized = " ".join(kernel_params.words(value))
    size = len(normalized.encode())
    if size > KERNEL_PARAMETERS_MAX_BYTES:
        raise ValueError(
            f"{normalized[:60]!r}... is {size} bytes; the limit is {KERNEL_PARAMETERS_MAX_BYTES}"
            " (the kernel truncates its command line at 2048 bytes, and BSS adds its own)"
        )
    return normalized


def _user_data_size(value: str) -> str:
    size = len(value.encode())
    if size > USER_DATA_MAX_BYTES:
        raise ValueError(
            f"is {size} bytes; the limit is {USER_DATA_MAX_BYTES} (every node fetches it at"
            " every boot)"
        )
    return value


ArtifactUrl = Annotated[str, AfterValidator(_artifact_url)]
KernelParameters = Annotated[str, AfterValidator(_kernel_parameters)]
CloudConfig = Annotated[str, AfterValidator(_user_data_size), AfterValidator(validate_cloud_config)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BootSet(_Strict):
    """Kernel, initrd and parameters for a set of nodes (a BOS boot set without the manifest)."""

    kernel: ArtifactUrl
    initrd: ArtifactUrl | None = None
    kernel_parameters: KernelParameters = ""
    node_groups: list[GroupLabel] = Field(default_factory=list)
    node_list: list[Xname] = Field(default_factory=list)
    node_roles_groups: list[Role] = Field(default_factory=list)
    # SMD partitions (hard partitions of the machine, `p1`), as OpenCHAMI RFD 73 asks.
    node_partitions: list[GroupLabel] = Field(default_factory=list)
    arch: Arch | None = None

    # Fields added after templates were first versioned: left out of the version while unset,
    # so an upgrade does not give every template a new version (and rewrite every node's
    # marker) for a field nobody uses.
    UNVERSIONED_WHEN_EMPTY: ClassVar[tuple[str, ...]] = ("node_partitions",)

    @model_validator(mode="after")
    def _has_targets(self) -> BootSet:
        if not (
            self.node_groups or self.node_list or self.node_roles_groups or self.node_partitions
        ):
            raise ValueError(
                "a boot set needs at least one target in node_groups, node_list,"
                " node_roles_groups or node_partitions (all four are empty)"
            )
        seen: set[str] = set()
        for xname in self.node_list:
            if xname in seen:
                raise ValueError(f"node_list names {xname!r} twice")
            seen.add(xname)
        return self


class CloudInitSpec(_Strict):
    """Group data for the cloud-init server: meta-data and the group's cloud-config."""

    meta_data: dict[str, Any] = Field(default_factory=dict)
    user_data: CloudConfig | None = None
    description: str = ""


class BootTemplateSpec(_Strict):
    name: ResourceName
    description: str = ""
    boot_sets: dict[ResourceName, BootSet] = Field(min_length=1)
    cloud_init: CloudInitSpec | None = None

    @model_validator(mode="after")
    def _consistent(self) -> BootTemplateSpec:
        owner: dict[str, str] = {}
        for set_name, boot_set in self.boot_sets.items():
            for xname in boot_set.node_list:
                if xname in owner:
                    raise ValueError(
                        f"node {xname!r} is in the node_list of both boot sets"
                        f" {owner[xname]!r} and {set_name!r}; a node boots one way"
                    )
                owner[xname] = set_name
        if self.cloud_init is not None and not self.group_labels():
            raise ValueError(
                "cloud_init is set but no boot set has node_groups: the cloud-init server"
                " keys group data by SMD group, so name at least one group"
            )
        return self

    def group_labels(self) -> list[str]:
        """Every SMD group the boot sets name, once each, in order."""
        groups: list[str] = []
        for boot_set in self.boot_sets.values():
            groups.extend(g for g in boot_set.node_groups if g not in groups)
        return groups

    def cloud_init_groups(self) -> list[str]:
        """The groups whose cloud-init data this template writes (and owns): none without
        `cloud_init`, whatever groups its boot sets name."""
        return self.group_labels() if self.cloud_init is not None else []

    def partition_names(self) -> list[str]:
        """Every SMD partition the boot sets name, once each, in order."""
        names: list[str] = []
        for boot_set in self.boot_sets.values():
            names.extend(p for p in boot_set.node_partitions if p not in names)
        return names

    def version(self) -> str:
        """A content hash: the same spec always has the same version, any change a new one."""
        data = self.model_dump(mode="json")
        for boot_set in data["boot_sets"].values():
            for key in BootSet.UNVERSIONED_WHEN_EMPTY:
                if not boot_set[key]:
                    del boot_set[key]
        canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


# The resource: what a front end passes in, and what it records -------------------------
TEMPLATE_SPEC_KEYS = ("name", "description", "boot_sets", "cloud_init")


def normalized_spec(data: dict[str, Any]) -> dict[str, Any]:
    """A declared spec as the template records it (defaults filled, parameters normalized), so
    what a session applies compares with what it applied before; a spec that does not validate
    is passed on as it is, for the resources' checks to name what is wrong."""
    try:
        spec = BootTemplateSpec.model_validate({k: v for k, v in data.items() if v is not None})
    except ValueError:
        return data
    return spec.model_dump(mode="json")


class TemplateInputs(BaseModel):
    """A BootTemplate's inputs: the spec, a connection override, and `adopt` (on create, take
    over cloud-init group data that already exists for the template's groups)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    spec: BootTemplateSpec
    connection: dict[str, Any] | None = None
    adopt: bool = False
    ownership: Ownership = Ownership()

    KEYS: ClassVar[tuple[str, ...]] = (
        *TEMPLATE_SPEC_KEYS,
        "connection",
        "adopt",
        *Ownership.KEYS,
    )

    @staticmethod
    def spec_data(props: Mapping[str, Any]) -> dict[str, Any]:
        return {k: props[k] for k in TEMPLATE_SPEC_KEYS if props.get(k) is not None}

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> TemplateInputs:
        return cls(
            spec=BootTemplateSpec.model_validate(cls.spec_data(props)),
            connection=props.get("connection"),
            adopt=bool(props.get("adopt")),
            ownership=Ownership.from_props(props),
        )

    def to_props(self) -> dict[str, Any]:
        return {
            **self.spec.model_dump(mode="json"),
            "connection": self.connection,
            "adopt": self.adopt,
            **self.ownership.model_dump(mode="json"),
        }

    @property
    def stake(self) -> Stake:
        return self.ownership.stake(self.spec.name)


class TemplateState(BaseModel):
    """What a BootTemplate records after a write or a read."""

    model_config = ConfigDict(extra="forbid")

    # The normalized spec as one document: what another stack copies (stack references).
    spec: dict[str, Any]
    version: str
    # The nodes each boot set was written for, and the cloud-init groups the template owns.
    hosts: dict[str, NodeList] = Field(default_factory=dict)
    node_count: int = 0
    cloud_init_groups: list[str] = Field(default_factory=list)
    # The last write's field-level changes, and what the last read found different.
    changes: list[str] = Field(default_factory=list)
    drift: list[str] = Field(default_factory=list)
    # Cloud-init data that existed before the template adopted its group (`adopt: true`), as
    # the server held it: destroy puts it back rather than deleting the admin's data.
    adopted: dict[str, GroupEntry] = Field(default_factory=dict)
    # When the template last wrote each node's BSS record (Unix seconds -> nodes): a node that
    # asked BSS for its boot script after that boots the template's current version (a `boot`
    # session leaves it alone).
    written: dict[str, NodeList] = Field(default_factory=dict)
    # The template's last writes, oldest first (`ochami:historyLength` of them).
    history: TemplateHistory = Field(default_factory=list)

    @classmethod
    def output_keys(cls) -> tuple[str, ...]:
        return tuple(cls.model_fields)

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> TemplateState | None:
        """The recorded state, or None when nothing is recorded yet (a read from inputs)."""
        if props.get("spec") is None or props.get("version") is None:
            return None
        return cls.model_validate(
            {k: props[k] for k in cls.output_keys() if props.get(k) is not None}
        )

    def to_props(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)

    def all_hosts(self) -> list[str]:
        return sorted({h for hosts in self.hosts.values() for h in hosts})


def note_writes(
    previous: Mapping[str, list[str]], written: Iterable[str], at: int, targets: Iterable[str]
) -> dict[str, list[str]]:
    """When each target's record was last written: `written` now (`at`), the others as
    `previous` says; nodes no longer targeted are dropped."""
    kept, fresh = set(targets), set(written)
    out: dict[str, list[str]] = {}
    for when, nodes in previous.items():
        left = [n for n in nodes if n in kept and n not in fresh]
        if left:
            out[when] = left
    if fresh & kept:
        out.setdefault(str(at), []).extend(sorted(fresh & kept))
    return out
