"""What each resource does at check, diff, create, read, update and delete, on typed models.

Engine-agnostic: a front end (the Pulumi adapter, a Terraform provider, the `ochami-boot`
command) converts its property values to the models in `ochami_provider.models`, calls these,
and converts the Problems and states back. Nothing here imports an engine.
"""

from .connection import Connector
from .diff import Diff
from .inputs import holds
from .session import SessionLifecycle
from .template import TemplateLifecycle

__all__ = ["Connector", "Diff", "SessionLifecycle", "TemplateLifecycle", "holds"]
