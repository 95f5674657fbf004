"""Pydantic models: what users write (template and session specs), what the resources record
(their state), what the services hold (records), and the one shape of an input problem."""

from .names import ARCHES, ROLES, normalize_xname
from .problems import Problem, field_problems
from .session import BootSessionSpec, NodeOutcome, SessionResults, SessionState, SessionStatus
from .template import BootSet, BootTemplateSpec, CloudInitSpec

__all__ = [
    "ARCHES",
    "ROLES",
    "BootSessionSpec",
    "BootSet",
    "BootTemplateSpec",
    "CloudInitSpec",
    "NodeOutcome",
    "Problem",
    "SessionResults",
    "SessionState",
    "SessionStatus",
    "field_problems",
    "normalize_xname",
]
