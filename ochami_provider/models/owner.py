"""Who wrote a BSS record or a cloud-init group: a template of a deployment (a Pulumi stack).

BSS records carry `ochami.template=<template>@<deployment>` among their kernel parameters and
cloud-init groups carry the same marker at the end of their description, so any reader (another
stack, a later run of this one, `cat /proc/cmdline` on the node) can tell which template of which
stack a node follows. Records written before markers named their deployment say only
`ochami.template=<template>` (cloud-init: `ochami_provider template <template>`). Pure.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from .kernel_params import OWNER_PARAMETER, owner_of
from .names import Deployment, ResourceName

DEFAULT_GROUP_DESCRIPTION = "ochami-boot template"
_GROUP_MARKER = re.compile(rf"\s*\[{re.escape(OWNER_PARAMETER)}=([^\]\s]+)\]$")
_LEGACY_GROUP_DESCRIPTION = re.compile(r"ochami_provider template (\S+)")


@dataclass(frozen=True)
class Owner:
    template: str
    # None in markers written before they named the deployment.
    deployment: str | None = None

    @classmethod
    def parse(cls, value: str) -> Owner:
        template, _, deployment = value.partition("@")
        return cls(template, deployment or None)

    @property
    def value(self) -> str:
        return f"{self.template}@{self.deployment}" if self.deployment else self.template

    def __str__(self) -> str:
        where = f" of stack {self.deployment!r}" if self.deployment else ""
        return f"template {self.template!r}{where}"


@functools.lru_cache(maxsize=4096)
def marked_owner(params: str) -> Owner | None:
    """The owner a command line's marker names (Owner is frozen: 100,000 nodes of a boot set
    share one line, read once)."""
    found = owner_of(params)
    return Owner.parse(found) if found else None


def group_description(text: str | None, owner: Owner) -> str:
    return f"{text or DEFAULT_GROUP_DESCRIPTION} [{OWNER_PARAMETER}={owner.value}]"


def group_owner(description: str) -> Owner | None:
    marked = _GROUP_MARKER.search(description)
    if marked:
        return Owner.parse(marked.group(1))
    legacy = _LEGACY_GROUP_DESCRIPTION.fullmatch(description)
    return Owner(legacy.group(1)) if legacy else None


def group_text(description: str) -> str | None:
    """The description without the marker; None where it is the default one."""
    text = _GROUP_MARKER.sub("", description)
    if text == DEFAULT_GROUP_DESCRIPTION or _LEGACY_GROUP_DESCRIPTION.fullmatch(text):
        return None
    return text


@dataclass(frozen=True)
class Stake:
    """What one template may write over: its own records, and those of templates its
    deployment no longer declares (a rename or a removal in the same `up`)."""

    owner: Owner
    # The templates the deployment declares now; None when not known (a session's write, a
    # program that does not say), and then nothing is taken from another template.
    declared: frozenset[str] | None = None
    # Nodes the other templates of the deployment target, as checked in this run (node ->
    # template): a declared template's node it does not target any more may be taken (a node
    # moving between two templates in one `up`), and one it targets is neither taken nor, when
    # this template lets it go, removed (the other writes it).
    siblings: Mapping[str, str] = field(default_factory=dict)

    def holds(self, found: Owner) -> bool:
        # A marker without a deployment is from before markers named one: the name decides.
        return found.template == self.owner.template and found.deployment in (
            None,
            self.owner.deployment,
        )

    def may_take(self, found: Owner) -> bool:
        return (
            self.declared is not None
            and self.owner.deployment is not None
            and found.deployment == self.owner.deployment
            and found.template not in self.declared
        )

    def same_deployment(self, found: Owner) -> bool:
        return found.deployment in (None, self.owner.deployment)

    def refuses(self, found: Owner | None, node: str | None = None) -> bool:
        return (
            found is not None
            and not self.holds(found)
            and not self.may_take(found)
            and not (node is not None and self.may_take_from_sibling(found, node))
        )

    def may_take_from_sibling(self, found: Owner, node: str) -> bool:
        """`found` is a template this deployment still declares, and it no longer targets
        `node` (or has not been checked yet in this run: if it still targets the node, its own
        check finds the claim and fails the run before anything is written)."""
        return (
            self.declared is not None
            and self.owner.deployment is not None
            and found.deployment == self.owner.deployment
            and found.template in self.declared
            and self.siblings.get(node) != found.template
        )

    def left_to_sibling(self, node: str) -> bool:
        """Another template of the deployment targets `node` now: it writes the node's record,
        so this one must not remove it when it lets the node go."""
        other = self.siblings.get(node)
        return other is not None and other != self.owner.template

    def marked(self, found: Owner | None) -> bool:
        """Whether a BSS record is still the template's to remove: it carries its own marker.
        A record without one was written by hand since (an admin's, for a node the template
        let go of, say) and is left alone."""
        return found is not None and self.holds(found)

    def still_holds(self, found: Owner | None) -> bool:
        """Whether what carries `found` is still the template's to remove: its own marker, or
        none (a record or group edited by hand since); not another template's."""
        return found is None or self.holds(found)


class Ownership(BaseModel):
    """The inputs that say which deployment a resource belongs to. A front end sets them (the
    Pulumi adapter: `<project>/<stack>`, and every template the stack config declares)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    deployment: Deployment | None = None
    deployment_templates: tuple[ResourceName, ...] | None = None

    KEYS: ClassVar[tuple[str, ...]] = ("deployment", "deployment_templates")

    @classmethod
    def from_props(cls, props: Mapping[str, Any]) -> Ownership:
        return cls.model_validate({k: props[k] for k in cls.KEYS if props.get(k) is not None})

    def stake(self, template: str) -> Stake:
        declared = self.deployment_templates
        return Stake(
            Owner(template, self.deployment), None if declared is None else frozenset(declared)
        )
