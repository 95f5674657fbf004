"""BOS v2 session templates as boot templates: what `ochami-boot import-bos` writes.

A BOS boot set names an IMS image manifest; here a boot set names its kernel and initrd. The
kernel parameters are put together in BOS's order (the image's own, the template's, then the
`root=` BOS builds from `rootfs_provider` and `rootfs_provider_passthrough`), so a node boots
with the command line BOS gave it. What has no equivalent here is reported, one notice per
field, never dropped in silence. Pure apart from the ManifestReader it is given.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import InvalidInputError, OchamiError
from .ims_manifest import ImageArtifacts, ManifestReader
from .models.kernel_params import words as kernel_params_words
from .models.problems import Problem, field_problems, problems_from
from .models.template import BootTemplateSpec

# Fields BOS v1 had and v2 refuses (BOS's own lists), named so a v1 export is recognised.
V1_TEMPLATE_FIELDS = ("cfs_url", "cfs_branch", "templateUrl", "templateUuid")
# v1 fields BOS itself (2.7.0 and later) removes from a template it is given, and that templates
# kept from earlier CSM releases still carry: dropped with a notice, as BOS does.
V1_DROPPED_TEMPLATE_FIELDS = ("partition",)
V1_DROPPED_BOOT_SET_FIELDS = ("boot_ordinal", "shutdown_ordinal", "network")
V1_CFS_FIELDS = ("branch", "clone_url", "commit", "playbook")
# rootfs_provider -> the protocol BOS puts first in `root=`: SBPS (CSM 1.6 and later), and
# CPS before it.
ROOT_PROTOCOLS = {"sbps": "sbps-s3", "cpss3": "craycps-s3"}


class _Bos(BaseModel):
    # BOS v2's schema forbids unknown fields too: a typo is an error there, and here.
    model_config = ConfigDict(extra="forbid", frozen=True)


class BosCfs(_Bos):
    configuration: str = ""


class BosBootSet(_Bos):
    name: str | None = None
    path: str
    type: str
    etag: str | None = None
    kernel_parameters: str | None = None
    node_list: list[str] = Field(default_factory=list)
    node_groups: list[str] = Field(default_factory=list)
    node_roles_groups: list[str] = Field(default_factory=list)
    arch: str | None = None
    rootfs_provider: str | None = None
    rootfs_provider_passthrough: str | None = None
    cfs: BosCfs | None = None


class BosSessionTemplate(_Bos):
    name: str | None = None
    tenant: str | None = None
    description: str | None = None
    enable_cfs: bool | None = None
    cfs: BosCfs | None = None
    boot_sets: dict[str, BosBootSet] = Field(min_length=1)
    links: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class Notice:
    """Something of the BOS template that is not carried over as it was, and what to do."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass
class Imported:
    name: str
    spec: dict[str, Any]
    notices: list[Notice] = field(default_factory=list)


class BosTemplateError(OchamiError):
    """A BOS template that cannot be imported: every problem, named by template and field."""

    def __init__(self, template: str, problems: list[Problem]) -> None:
        self.template = template
        self.problems = problems
        super().__init__("\n".join(f"{template}: {p}" for p in problems))


def read_templates(
    text: str, source: str, name: str | None = None, fallback: str | None = None
) -> list[tuple[str, Any]]:
    """(name, template) for each template in `text`: one template, or the list that
    `cray bos v2 sessiontemplates list --format json` prints. A single template's name is
    `name`, else its own `name` field, else `fallback` (its file's name)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise BosTemplateError(
            source,
            [Problem(f"line {error.lineno} column {error.colno}", f"not JSON: {error.msg}")],
        ) from None
    if isinstance(data, dict):
        chosen = name or data.get("name") or fallback
        if not isinstance(chosen, str) or not chosen:
            raise BosTemplateError(
                source, [Problem("name", "the template names itself nowhere: pass --name")]
            )
        return [(chosen, data)]
    if isinstance(data, list):
        if name is not None:
            raise BosTemplateError(
                source, [Problem("--name", "names one template; the file holds a list")]
            )
        found = []
        for i, item in enumerate(data):
            item_name = item.get("name") if isinstance(item, dict) else None
            if not isinstance(item_name, str) or not item_name:
                raise BosTemplateError(
                    source, [Problem(f"[{i}].name", "a listed template needs its name")]
                )
            found.append((item_name, item))
        return found
    raise BosTemplateError(
        source, [Problem("(input)", f"is a JSON {type(data).__name__}, not a BOS template")]
    )


def import_template(
    name: str,
    data: Any,
    reader: ManifestReader,
    artifact_url: Callable[[str], str] | None = None,
) -> Imported:
    """The boot template for one BOS v2 template; `artifact_url` rewrites the kernel and
    initrd locations (an S3 gateway's http URL for s3://)."""
    if not isinstance(data, dict):
        raise BosTemplateError(name, [Problem("(input)", "is not a JSON object")])
    legacy = _v1_problems(data)
    if legacy:
        raise BosTemplateError(name, legacy)
    data, dropped = _without_dropped_v1_fields(data)
    try:
        bos = BosSessionTemplate.model_validate(data)
    except ValidationError as error:
        raise BosTemplateError(name, problems_from(error)) from None
    notices = _template_notices(bos)
    if dropped:
        notices.append(
            Notice(
                ", ".join(dropped),
                "dropped: BOS v1 fields, which BOS 2.7 and later remove from templates"
                " themselves; nothing here uses them",
            )
        )
    our_name = name.lower()
    if our_name != name:
        notices.append(Notice("name", f"{name!r} is {our_name!r} here (names are lower-case)"))
    boot_sets: dict[str, Any] = {}
    problems: list[Problem] = []
    for set_name, boot_set in bos.boot_sets.items():
        try:
            boot_sets[set_name] = _boot_set(set_name, boot_set, reader, artifact_url, notices)
        except InvalidInputError as error:
            problems += error.problems
    if problems:
        raise BosTemplateError(name, problems)
    spec: dict[str, Any] = {
        "description": bos.description or f"Imported from BOS session template {name}",
        "boot_sets": boot_sets,
    }
    found = field_problems(BootTemplateSpec, {"name": our_name, **spec})
    if found:
        raise BosTemplateError(name, found)
    if artifact_url is None and any(b["kernel"].startswith("s3://") for b in boot_sets.values()):
        notices.append(
            Notice(
                "boot_sets",
                "kernels and initrds are s3:// URLs, which BSS hands to iPXE as they are; if"
                " nodes fetch them over HTTP from an S3 gateway, import with"
                " --artifact-base-url http://<gateway>",
            )
        )
    return Imported(our_name, spec, notices)


def _v1_problems(data: dict[str, Any]) -> list[Problem]:
    problems = [
        Problem(key, "is a BOS v1 field; export the template from BOS v2 (`cray bos v2`)")
        for key in V1_TEMPLATE_FIELDS
        if key in data
    ]
    cfs = data.get("cfs")
    if isinstance(cfs, dict):
        problems += [
            Problem(f"cfs.{key}", "is a BOS v1 field; export the template from BOS v2")
            for key in V1_CFS_FIELDS
            if key in cfs
        ]
    return problems


def _without_dropped_v1_fields(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The template without the v1 fields BOS drops itself, and the paths of those it had."""
    dropped = [key for key in V1_DROPPED_TEMPLATE_FIELDS if key in data]
    kept = {k: v for k, v in data.items() if k not in V1_DROPPED_TEMPLATE_FIELDS}
    boot_sets = data.get("boot_sets")
    if isinstance(boot_sets, dict):
        kept["boot_sets"] = {}
        for set_name, boot_set in boot_sets.items():
            if isinstance(boot_set, dict):
                dropped += [
                    f"boot_sets.{set_name}.{key}"
                    for key in V1_DROPPED_BOOT_SET_FIELDS
                    if key in boot_set
                ]
                boot_set = {
                    k: v for k, v in boot_set.items() if k not in V1_DROPPED_BOOT_SET_FIELDS
                }
            kept["boot_sets"][set_name] = boot_set
    return kept, dropped


def _template_notices(bos: BosSessionTemplate) -> list[Notice]:
    notices = []
    if bos.enable_cfs is not None:
        notices.append(
            Notice(
                "enable_cfs",
                "not carried: OpenCHAMI has no CFS; nodes configure themselves from cloud-init"
                " (add cloud_init.user_data to the template)",
            )
        )
    if bos.cfs is not None:
        notices.append(
            Notice(
                "cfs.configuration",
                f"not carried ({bos.cfs.configuration!r}): put that configuration in"
                " cloud_init.user_data (cloud-config), or run its playbooks after boot",
            )
        )
    if bos.tenant:
        notices.append(
            Notice(
                "tenant",
                f"not carried ({bos.tenant!r}): keep a tenant's templates in a stack of"
                " their own, targeting its SMD groups",
            )
        )
    if bos.links is not None:
        notices.append(Notice("links", "not carried: BOS's own API links"))
    return notices


def _boot_set(
    set_name: str,
    bos: BosBootSet,
    reader: ManifestReader,
    artifact_url: Callable[[str], str] | None,
    notices: list[Notice],
) -> dict[str, Any]:
    at = f"boot_sets.{set_name}"
    if bos.name is not None and bos.name != set_name:
        raise InvalidInputError(f"{at}.name", bos.name, f"must match its key {set_name!r}")
    if bos.type != "s3":
        raise InvalidInputError(
            f"{at}.type", bos.type, "BOS reads image manifests from S3 only: type must be 's3'"
        )
    artifacts = reader.artifacts(bos.path, bos.etag, f"{at}.path")
    if artifacts.assumed:
        notices.append(
            Notice(
                f"{at}.path",
                "--offline: assumed IMS's layout (kernel, initrd, rootfs beside"
                " manifest.json); etag not checked, the image's own kernel parameters not"
                " read, and the rootfs ETag left empty in root=",
            )
        )
    params = [*artifacts.parameters, *kernel_params_words(bos.kernel_parameters or "")]
    root = root_parameter(bos, artifacts, at)
    if root is not None:
        if any(w.startswith("root=") for w in params):
            notices.append(
                Notice(
                    f"{at}.kernel_parameters",
                    "sets root= and rootfs_provider adds another after it; the kernel takes"
                    " the last, as under BOS",
                )
            )
        params.append(root)
    if bos.rootfs_provider == "sbps":
        notices.append(
            Notice(
                f"{at}.rootfs_provider",
                "BOS also adds nmd_data= for HPE's Node Memory Dump service: not added",
            )
        )
    if any("${SPIRE_JOIN_TOKEN}" in w for w in params):
        notices.append(
            Notice(
                f"{at}.kernel_parameters",
                "keeps spire_join_token=${SPIRE_JOIN_TOKEN}: BSS fills it in only when it runs"
                " with SPIRE_TOKEN_URL; without SPIRE, remove the parameter",
            )
        )
    if bos.cfs is not None:
        notices.append(
            Notice(
                f"{at}.cfs.configuration",
                f"not carried ({bos.cfs.configuration!r}): see cfs.configuration",
            )
        )
    if bos.arch is None:
        notices.append(
            Notice(
                f"{at}.arch",
                "not set: BOS then boots only X86 (and Unknown) nodes, this boot set every"
                " node it names; add arch: X86 if its targets mix architectures",
            )
        )
    convert = artifact_url or (lambda url: url)
    out: dict[str, Any] = {"kernel": convert(artifacts.kernel)}
    if artifacts.initrd:
        out["initrd"] = convert(artifacts.initrd)
    out["kernel_parameters"] = " ".join(params)
    for key in ("node_groups", "node_list", "node_roles_groups"):
        if getattr(bos, key):
            out[key] = list(getattr(bos, key))
    if bos.arch is not None:
        out["arch"] = bos.arch
    return out


def root_parameter(bos: BosBootSet, artifacts: ImageArtifacts, at: str) -> str | None:
    """`root=` as BOS builds it: the provider's protocol, the rootfs's S3 path and ETag, then
    the passthrough as it is, joined by ':'; none without provider and passthrough."""
    provider = bos.rootfs_provider or None
    fields: list[str] = []
    if provider is not None:
        if provider not in ROOT_PROTOCOLS:
            raise InvalidInputError(
                f"{at}.rootfs_provider",
                provider,
                "is not a provider BOS builds root= for (sbps; cpss3 before CSM 1.6)",
            )
        if artifacts.rootfs is None:
            raise InvalidInputError(
                f"{at}.path",
                bos.path,
                f"manifest lists no rootfs, which rootfs_provider {provider!r} boots from",
            )
        fields += [ROOT_PROTOCOLS[provider], artifacts.rootfs, artifacts.rootfs_etag]
    else:
        fields += ["", ""]
    if bos.rootfs_provider_passthrough:
        fields.append(bos.rootfs_provider_passthrough)
    return "root=" + ":".join(fields) if any(fields) else None
