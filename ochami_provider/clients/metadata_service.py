"""metadata-service (OpenCHAMI v0.2's successor to the cloud-init server): Groups under /groups,
with fabrica's REST shape and its quirks (`fabrica.py`). Writes need a TokenSmith JWT.

Modelled from the published code, not tested against the real service (it cannot be built
here): see docs/real-services.md.
"""

from __future__ import annotations

from ..models.metadata_group import MetadataGroup, MetadataGroupSpec
from .fabrica import FabricaCollection


class MetadataServiceClient(FabricaCollection[MetadataGroup, MetadataGroupSpec]):
    path = "/groups"
    resource = MetadataGroup
