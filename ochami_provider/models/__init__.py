"""Pydantic models of what users write (template and session specs) and what sessions report."""

from .names import ARCHES, ROLES, normalize_xname
from .session import BootSessionSpec, NodeOutcome, SessionResults, SessionState, SessionStatus
from .template import BootSet, BootTemplateSpec, CloudInitSpec
from .validation import FieldProblem, field_problems

__all__ = [
    "ARCHES",
    "ROLES",
    "BootSessionSpec",
    "BootSet",
    "BootTemplateSpec",
    "CloudInitSpec",
    "FieldProblem",
    "NodeOutcome",
    "SessionResults",
    "SessionState",
    "SessionStatus",
    "field_problems",
    "normalize_xname",
]
