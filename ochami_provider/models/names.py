"""Names the services accept: xnames, SMD group labels, roles, architectures, resource names."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator

# A node xname: cabinet, chassis, slot, BMC, node (x1000c0s0b0n0). Leading zeros are not part of
# the canonical form SMD stores, so they are refused rather than silently never matching.
_NODE_XNAME = re.compile(r"^x(0|[1-9]\d{0,3})c(0|[1-9]\d?)s(0|[1-9]\d?)b(0|[1-9]\d?)n(0|[1-9]\d?)$")
# SMD's own rule for group and partition labels (after it lower-cases them).
_GROUP_LABEL = re.compile(r"^[-a-z0-9:._]+$")
_RESOURCE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?$")
# Pulumi's rule for project and stack names, joined by '/' (`<project>/<stack>`).
_DEPLOYMENT = re.compile(r"[A-Za-z0-9._-]{1,100}(/[A-Za-z0-9._-]{1,100}){0,2}")

ROLES = ("Compute", "Service", "System", "Application", "Storage", "Management")
ARCHES = ("X86", "ARM", "Other", "Unknown")


def normalize_xname(value: str) -> str:
    candidate = value.strip().lower()
    if not _NODE_XNAME.fullmatch(candidate):
        raise ValueError(
            f"{value!r} is not a node xname (expected the form x<cabinet>c<chassis>s<slot>"
            "b<bmc>n<node>, for example x1000c0s0b0n0, without leading zeros)"
        )
    return candidate


def is_node_xname(name: str) -> bool:
    """Whether `name` is a node xname in the canonical form SMD stores."""
    return _NODE_XNAME.fullmatch(name) is not None


def _group_label(value: str) -> str:
    candidate = value.strip().lower()
    if not _GROUP_LABEL.fullmatch(candidate):
        raise ValueError(
            f"{value!r} is not a valid SMD group label (letters, digits, '-', ':', '.', '_')"
        )
    return candidate


def _matching(pattern: re.Pattern[str], what: str) -> Callable[[str], str]:
    """A validator accepting exactly the values `pattern` matches whole; `what` says what
    such a value is, after "is not"."""

    def validate(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"{value!r} is not {what}")
        return value

    return validate


def canonical_choice(choices: tuple[str, ...], what: str) -> Callable[[str], str]:
    """A validator accepting any casing of `choices` and returning SMD's own spelling."""

    def validate(value: str) -> str:
        for choice in choices:
            if value.lower() == choice.lower():
                return choice
        raise ValueError(f"{value!r} is not an SMD {what} (one of {', '.join(choices)})")

    return validate


Xname = Annotated[str, AfterValidator(normalize_xname)]
GroupLabel = Annotated[str, AfterValidator(_group_label)]
ResourceName = Annotated[
    str,
    AfterValidator(
        _matching(
            _RESOURCE_NAME,
            "a valid name (lower-case letters, digits, '-', '_', '.'; 1 to 63 characters;"
            " starts and ends with a letter or digit)",
        )
    ),
]
Deployment = Annotated[
    str,
    AfterValidator(
        _matching(
            _DEPLOYMENT,
            "a deployment name (a Pulumi <project>/<stack>: letters, digits, '-', '_', '.',"
            " parts joined by '/')",
        )
    ),
]
Role = Annotated[str, AfterValidator(canonical_choice(ROLES, "role"))]
Arch = Annotated[str, AfterValidator(canonical_choice(ARCHES, "architecture"))]
