"""What the resources share: the Terraform types of model fields, JSON values, the core's
problems and errors as diagnostics, and what a resource asks of its provider.

It imports none of the resources nor the provider (`_provider.py` imports them all), so the
package's modules import one way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from tf import types
from tf.iface import State
from tf.schema import Attribute
from tf.types import Unknown
from tf.utils import Diagnostics

from ..errors import InvalidInputError, OchamiError
from ..lifecycle import Connector, SessionLifecycle, TemplateLifecycle, holds
from ..models.inputs import Kind
from ..models.problems import Problem


class ProviderContext(Protocol):
    """What a resource asks of the provider it belongs to (OchamiProvider)."""

    connector: Connector
    templates: TemplateLifecycle
    sessions: SessionLifecycle

    def recorded_deployment(self, state: State | None) -> str: ...

    def planned_deployment(self, current: State | None) -> str: ...


# Each resource records the deployment its records carry.
DEPLOYMENT_ATTRIBUTE = Attribute(
    "deployment",
    types.String(),
    computed=True,
    description="the owner its records carry: the provider block's `deployment`, or the"
    " default when this resource was created",
)


def is_unknown(value: Any) -> bool:
    """True while a plan still waits for a value (or a part of one) not known yet."""
    return holds(value, lambda v: v is Unknown)


class Json(types.NormalizedJson):  # type: ignore[misc]
    """JSON text as `jsonencode` writes it (sorted keys, no spaces): a value read back from
    the services then differs from the configuration's only where its content does."""

    def encode(self, value: Any) -> Any:
        if value is None or value is Unknown:
            return value
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


# The Terraform type of each kind of model field: a count or a percentage is a string ("10%"
# or "4"), and what is neither a scalar, a list of strings nor nodes by time is JSON text.
TF_TYPES: dict[Kind, types.TfType] = {
    "bool": types.Bool(),
    "number": types.Number(),
    "string": types.String(),
    "strings": types.List(types.String()),
    "count_or_percent": types.String(),
    "node_map": types.Map(types.String()),
    "object": Json(),
}


def decoded(value: Any) -> Any:
    """A JSON attribute's value: validation gets the configuration's text, plan and apply the
    framework's decoded value. Text that is not JSON stays text, for the model to refuse."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def report(diags: Diagnostics, problems: Iterable[Problem], where: Callable[[str], str]) -> None:
    """Each problem as an error (a warning, if it does not block) at the attribute `where`
    maps its field to."""
    for problem in problems:
        if problem.blocks:
            diags.add_error(str(problem), path=[where(problem.field)])
        else:
            diags.add_warning(str(problem), path=[where(problem.field)])


def report_error(diags: Diagnostics, error: OchamiError, where: Callable[[str], str]) -> None:
    if isinstance(error, InvalidInputError):
        report(diags, error.problems, where)
    else:
        diags.add_error(str(error).splitlines()[0], detail=str(error))


class Outcome:
    """Whether the block under `diagnosed` failed; its error is a diagnostic already."""

    failed = False


@contextmanager
def diagnosed(diags: Diagnostics, where: Callable[[str], str]) -> Iterator[Outcome]:
    """The one place the core's errors become Terraform diagnostics: an OchamiError raised in
    the block is reported (a bad input at the attribute `where` names) and `failed` set; any
    other error is a bug, and goes up to the framework as one."""
    outcome = Outcome()
    try:
        yield outcome
    except OchamiError as error:
        outcome.failed = True
        report_error(diags, error, where)
