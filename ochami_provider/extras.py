"""The optional extras: which front end needs which package, and the one line that says so.

The core and `ochami-boot` need neither engine's SDK. `pip install 'ochami-provider[pulumi]'`
adds the Pulumi front end, `[terraform]` the OpenTofu/Terraform provider, `[sim]` the embedded
simulator (`ochami-sim`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

# The top-level module each extra brings, and the extra's name.
_EXTRA_OF = {
    "pulumi": "pulumi",
    "tf": "terraform",
    "msgpack": "terraform",
    "grpc": "terraform",
    "starlette": "sim",
    "uvicorn": "sim",
}


class MissingExtra(ImportError):
    """A front end whose extra is not installed."""


@contextmanager
def needs(front_end: str, *, exit_: bool = False) -> Iterator[None]:
    """Imports for `front_end`: a module of an extra that is missing becomes one line naming
    the extra to install (MissingExtra, or with `exit_` the command's exit with that line)."""
    try:
        yield
    except ModuleNotFoundError as error:
        top = (error.name or "").partition(".")[0]
        extra = _EXTRA_OF.get(top)
        if extra is None:
            raise
        said = f"{front_end} needs `{top}`: pip install 'ochami-provider[{extra}]'"
        if exit_:
            raise SystemExit(f"error: {said}") from None
        raise MissingExtra(said, name=error.name) from None
