"""What every resource of OpenCHAMI v0.2's services carries (fabrica's `Metadata`): the UID the
server made, a name, and labels."""

from __future__ import annotations

from typing import Any


def metadata_of(item: dict[str, Any]) -> dict[str, Any]:
    """A resource's identity as the models take it: uid, name and labels."""
    metadata = item.get("metadata") or {}
    return {
        "uid": metadata.get("uid", ""),
        "name": metadata.get("name", ""),
        "labels": metadata.get("labels") or {},
    }
