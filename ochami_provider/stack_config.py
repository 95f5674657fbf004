"""A stack's own config (namespace `ochami-boot`), checked whole before anything is declared.

A mistake in it (a session naming a template that is not declared, a template without boot
sets, a wrong type) comes out as one problem per mistake, named by its path in the stack file,
rather than as a Python traceback from the program. Pure: the same models and rules as the
resources' own checks, with the paths the user wrote.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from .config import CONFIG_KEYS, CONFIG_NAMESPACE
from .models.inputs import SESSION_FIELDS, by_name, flat_name, session_spec_data
from .models.problems import Problem, field_problems
from .models.session import BootSessionSpec
from .models.template import BootTemplateSpec
from .stack_copy import copies

NAMESPACE = "ochami-boot"
# The keys each of the project's namespaces has: any other is a typo (`ochami:verfiyTargets`)
# or a setting of another version (`ochami:bootBackend`), and would change nothing silently.
KNOWN_KEYS = {
    CONFIG_NAMESPACE: tuple(CONFIG_KEYS.values()),
    NAMESPACE: ("templates", "copyFrom", "sessions"),
}
# Template keys that are options of the resource, not part of the template's spec.
TEMPLATE_OPTIONS = ("adopt", "secret_cloud_init")
# Session keys the program passes on its own; every other key is one of the resource's
# arguments (models/inputs.SESSION_FIELDS: the spec's, `max_retries`, `shutdown_on_delete`).
SESSION_OPTIONS = ("template", "connection", "fail_up_on_error")
_SESSION_KEYS = set(by_name(SESSION_FIELDS))
_FLAGS = ("adopt", "secret_cloud_init", "shutdown_on_delete", "fail_up_on_error")
# A template every session field can be checked against while its own template is checked
# where it is declared.
_ANY_TEMPLATE = {
    "name": "t",
    "boot_sets": {"b": {"kernel": "http://h/k", "node_list": ["x0c0s0b0n0"]}},
}


def stack_problems(templates: Any, copy_from: Any, sessions: Any) -> list[Problem]:
    """Every problem in the stack's `templates`, `copyFrom` and `sessions`."""
    problems = _mapping("templates", templates) + _mapping("copyFrom", copy_from)
    problems += _mapping("sessions", sessions)
    if problems:
        return problems
    for name, spec in (templates or {}).items():
        problems += _template_problems(name, spec)
    if copy_from and not isinstance(copy_from.get("stack"), str):
        problems.append(_at("copyFrom.stack", "names the stack to copy from", None))
    declared = declared_templates(templates, copy_from)
    for name, spec in (sessions or {}).items():
        problems += _session_problems(name, spec, declared)
    return problems


def unknown_config_keys(keys: Iterable[str]) -> list[Problem]:
    """Stack config keys of the `ochami` and `ochami-boot` namespaces that this version does
    not know, each named with the nearest known one."""
    problems = []
    for key in sorted(keys):
        namespace, _, name = key.partition(":")
        known = KNOWN_KEYS.get(namespace)
        if known is None or name in known:
            continue
        near = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
        hint = f"did you mean {namespace}:{near[0]}?" if near else f"known: {', '.join(known)}"
        problems.append(Problem(key, f"is not a setting this version of ochami-boot knows; {hint}"))
    return problems


def declared_templates(templates: Any, copy_from: Any) -> set[str]:
    """Every template the stack declares: its own, and those it copies from another stack."""
    return set(templates or {}) | set(copies(copy_from))


def _at(path: str, message: str, value: Any) -> Problem:
    return Problem.of(f"{NAMESPACE}:{path}", message, value)


def _mapping(key: str, value: Any) -> list[Problem]:
    if value is None or isinstance(value, dict):
        return []
    return [_at(key, "must be a mapping of names to specs", value)]


def _flag_problems(path: str, spec: Mapping[str, Any]) -> list[Problem]:
    return [
        _at(f"{path}.{flag}", "must be true or false", spec[flag])
        for flag in _FLAGS
        if flag in spec and not isinstance(spec[flag], bool)
    ]


def _template_problems(name: str, spec: Any) -> list[Problem]:
    path = f"templates.{name}"
    if not isinstance(spec, dict):
        return [_at(path, "must be a template spec (boot_sets, cloud_init, ...)", spec)]
    data = {k: v for k, v in spec.items() if k not in TEMPLATE_OPTIONS}
    return _flag_problems(path, spec) + field_problems(
        BootTemplateSpec, {"name": name, **data}, prefix=f"{NAMESPACE}:{path}"
    )


def _session_problems(name: str, spec: Any, declared: set[str]) -> list[Problem]:
    path = f"sessions.{name}"
    if not isinstance(spec, dict):
        return [_at(path, "must be a session spec (template, operation, ...)", spec)]
    problems = _flag_problems(path, spec)
    template = spec.get("template")
    if template not in declared:
        known = ", ".join(sorted(declared)) or "none"
        problems.append(
            _at(
                f"{path}.template", f"names no template of this stack (declared: {known})", template
            )
        )
    # Keys that are neither options nor fields go to the model too, for it to name the typo.
    data: dict[str, Any] = {
        k: v for k, v in spec.items() if k not in SESSION_OPTIONS and k not in _SESSION_KEYS
    }
    data.update(session_spec_data(spec))
    found = field_problems(
        BootSessionSpec, {"name": name, "template": _ANY_TEMPLATE, **data}, prefix=""
    )
    return problems + [
        Problem(f"{NAMESPACE}:{path}.{flat_name(p.field)}", p.message, p.value) for p in found
    ]
