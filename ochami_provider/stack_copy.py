"""Copy a template from another cluster's stack, with per-cluster overrides (pure)."""

from __future__ import annotations

import copy
from typing import Any


def copies(copy_from: Any) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each template `copyFrom` declares: its name in this stack (`name`, else the source's)
    -> (its name in the source stack, its options)."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for source, options in ((copy_from or {}).get("templates") or {}).items():
        options = options if isinstance(options, dict) else {}
        found[options.get("name") or source] = (source, options)
    return found


def apply_overrides(spec: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """`spec` with `overrides` merged in: mappings merge key by key, any other value replaces,
    and None removes the key (to drop a boot set or the cloud-init data of the source)."""
    merged = copy.deepcopy(spec)
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = apply_overrides(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged
