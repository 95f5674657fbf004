"""boot-service (OpenCHAMI v0.2's successor to BSS): BootConfigurations under
/bootconfigurations, with fabrica's REST shape and its quirks (`fabrica.py`); checked against
the real boot-service v0.3.2 by tests/test_boot_service_contract.py."""

from __future__ import annotations

from ..models.boot_configuration import BootConfiguration, BootConfigurationSpec
from .fabrica import FabricaCollection


class BootServiceClient(FabricaCollection[BootConfiguration, BootConfigurationSpec]):
    path = "/bootconfigurations"
    resource = BootConfiguration
