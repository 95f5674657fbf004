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
from .hostlists import NodeList, NodeSet
from .names import Arch, GroupLabel, ResourceName, Role, Xname
from .owner import Ownership, Stake

ARTIFACT_SCHEMES = ("http", "https", "s3")
# x86_64 and aarch64 kernels truncate a command line beyond COMMAND_LINE_SIZE (2048 bytes);
# BSS and iPXE add the initrd, the owner marker and their own parameters, so leave them room.
KERNEL_PARAMETERS_MAX_BYTES = 1536
# The cloud-init server (v1.2.3) takes any size, but every node fetches its group's cloud-config
# at every boot, and cloud-init's NoCloud/EC2-style sources commonly cap user-data at 16 KiB-64 KiB.
USER_DATA_MAX_BYTES = 64 * 1024
# A field that may carry a secret (the user-data, and every output that quotes it): the
# engines hide it in plans (models/inputs.py reads the mark).
SENSITIVE: dict[str, Any] = {"sensitive": True}


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

    kernel: ArtifactUrl = Field(
        description="The kernel's URL (http://, https:// or s3://), as BSS serves it to iPXE."
        " BOS takes it from the boot set's IMS manifest; `import-bos` reads that manifest."
    )
    initrd: ArtifactUrl | None = Field(default=None, description="The initrd's URL.")
    kernel_parameters: KernelParameters = Field(
        default="",
        description="The kernel command line (BOS `kernel_parameters`), white space"
        f" normalized; at most {KERNEL_PARAMETERS_MAX_BYTES} bytes, as the kernel truncates"
        " at 2048 and BSS adds its own.",
    )
    node_groups: list[GroupLabel] = Field(
        default_factory=list,
        description="SMD group labels whose members boot this set (BOS `node_groups`); the"
        " cloud-init data is written for these groups.",
    )
    node_list: list[Xname] = Field(
        default_factory=list,
        description="Node xnames that boot this set (BOS `node_list`); a node is in one boot"
        " set's list at most.",
    )
    node_roles_groups: list[Role] = Field(
        default_factory=list,
        description="SMD roles whose nodes boot this set, `Compute` or `Compute_Worker` with a"
        " sub-role (BOS `node_roles_groups`).",
    )
    node_partitions: list[GroupLabel] = Field(
        default_factory=list,
        description="SMD partitions (hard partitions of the machine, `p1`) whose members boot"
        " this set, as OpenCHAMI RFD 73 asks.",
    )
    arch: Arch | None = Field(
        default=None,
        description="Only the nodes of this SMD architecture (X86, ARM, Other, Unknown; BOS"
        " `arch`); unset: every architecture.",
    )

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

    meta_data: dict[str, Any] = Field(
        default_factory=dict,
        description="The groups' meta-data, as the node sees it under its group's name.",
    )
    user_data: CloudConfig | None = Field(
        default=None,
        description="The groups' cloud-config (`#cloud-config` YAML, checked before it is"
        f" written), at most {USER_DATA_MAX_BYTES // 1024} KiB. Sensitive: it often carries"
        " keys or passwords.",
        json_schema_extra=SENSITIVE,
    )
    description: str = Field(
        default="", description="The cloud-init group's description (the owner marker is added)."
    )


class BootTemplateSpec(_Strict):
    name: ResourceName = Field(
        description="The template's name (BOS session template `name`): the owner marker of"
        " every record it writes carries it, so renaming a template replaces it."
    )
    description: str = Field(default="", description="Free text for the readers of the stack.")
    boot_sets: dict[ResourceName, BootSet] = Field(
        min_length=1,
        description="The boot sets by name (BOS `boot_sets`): kernel, initrd and parameters,"
        " and the nodes that boot them.",
    )
    cloud_init: CloudInitSpec | None = Field(
        default=None,
        description="Runtime settings for the cloud-init server (v0.2: metadata-service),"
        " written for every group the boot sets name (BOS `cfs`, here as cloud-init).",
    )

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
    adopt: bool = Field(
        default=False,
        description="On create, take over cloud-init group data that already exists for the"
        " template's groups (written by hand with the `ochami` CLI); destroy puts it back."
        " Otherwise such data is a conflict, and nothing is written.",
    )
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

    spec: dict[str, Any] = Field(
        description="The normalized spec as one document (JSON; sensitive, as it quotes the"
        " user-data): what a session applies and another stack copies.",
        json_schema_extra=SENSITIVE,
    )
    version: str = Field(
        description="A content hash of the spec: the same spec always has the same version,"
        " any change a new one. Every node's BSS record carries it."
    )
    hosts: dict[str, NodeList] = Field(
        default_factory=dict, description="The nodes each boot set was written for (hostlists)."
    )
    node_count: int = Field(default=0, description="How many nodes the template boots.")
    cloud_init_groups: list[str] = Field(
        default_factory=list, description="The cloud-init groups the template owns."
    )
    changes: list[str] = Field(
        default_factory=list, description="The last write's changes, field by field."
    )
    drift: list[str] = Field(
        default_factory=list,
        description="What the last refresh found changed in the services by hand.",
    )
    adopted: dict[str, GroupEntry] = Field(
        default_factory=dict,
        description="Cloud-init data that existed before the template adopted its group, as"
        " the server held it (JSON): destroy puts it back rather than deleting it.",
        json_schema_extra=SENSITIVE,
    )
    written: dict[str, NodeList] = Field(
        default_factory=dict,
        description="When the template last wrote each node's BSS record (Unix seconds ->"
        " hostlist): a session's `template_writes`.",
    )
    history: TemplateHistory = Field(
        default_factory=list,
        description="The template's last writes, oldest first (`history_length` of them;"
        " JSON): what `ochami-boot history` reads. Each write's spec quotes the user-data.",
        json_schema_extra=SENSITIVE,
    )

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
        return NodeSet.union_of(self.hosts.values()).sorted()


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
