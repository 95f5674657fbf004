"""One SMD group's meta-data and user-data in the core's words, whichever service keeps it
(the cloud-init server on OpenCHAMI v0.1, metadata-service on v0.2): the neutral type of the
group-data port (`ochami_provider/ports.py`). Pure."""

from __future__ import annotations

import base64
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class GroupEntry(BaseModel):
    """What every member node of group `name` gets: meta-data and one cloud-config (the user
    data, as the node sees it); the description carries the owner marker."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    meta_data: dict[str, Any] = Field(default_factory=dict)
    user_data: str = ""

    @model_validator(mode="before")
    @classmethod
    def _recorded_before(cls, data: Any) -> Any:
        """A template's state recorded before the port (its `adopted` groups) holds them in the
        cloud-init server's shape: `meta-data` and a `file` that may be base64."""
        if not isinstance(data, dict) or ("meta-data" not in data and "file" not in data):
            return data
        stored = data.get("file") or {}
        text = str(stored.get("content") or "")
        if stored.get("encoding") == "base64":
            text = base64.b64decode(text).decode()
        rest = {k: v for k, v in data.items() if k not in ("meta-data", "file")}
        return {**rest, "meta_data": data.get("meta-data") or {}, "user_data": text}
