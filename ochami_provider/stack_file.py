"""Templates written into a stack's config file (`stacks/Pulumi.<cluster>.yaml`).

A stack file is reviewed and commented by hand, so it is edited round trip (ruamel.yaml): its
comments, key order and `encryptionsalt` stay as they were, and the templates land under
`config: ochami-boot:templates`, where the program reads them.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from .errors import OchamiError
from .stack_config import NAMESPACE

TEMPLATES_KEY = f"{NAMESPACE}:templates"


class StackFileError(OchamiError):
    """The stack file cannot take the templates as asked (not YAML, a name taken)."""


def _yaml() -> YAML:
    yaml = YAML()
    # Kernel command lines stay on one line, as admins grep for them.
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def render(templates: Mapping[str, Any], header: str) -> str:
    """A stack config document holding just these templates."""
    document = CommentedMap({"config": CommentedMap({TEMPLATES_KEY: dict(templates)})})
    document.yaml_set_start_comment(header)
    out = io.StringIO()
    _yaml().dump(document, out)
    return out.getvalue()


def merge_into(path: Path, templates: Mapping[str, Any], *, replace: bool = False) -> list[str]:
    """Add the templates to the stack file at `path` (made if missing); the names replaced.
    A template the file already declares is refused unless `replace`, and then nothing is
    written."""
    yaml = _yaml()
    if path.exists():
        try:
            document = yaml.load(path.read_text()) or CommentedMap()
        except Exception as error:  # ruamel raises several unrelated types for bad YAML
            raise StackFileError(f"{path}: not a YAML stack file: {error}") from None
    else:
        document = CommentedMap()
    if not isinstance(document, dict):
        raise StackFileError(f"{path}: not a stack file (its top level is not a mapping)")
    config = document.setdefault("config", CommentedMap())
    declared = config.setdefault(TEMPLATES_KEY, CommentedMap())
    if not isinstance(declared, dict):
        raise StackFileError(f"{path}: config.{TEMPLATES_KEY} is not a mapping of templates")
    taken = [name for name in templates if name in declared]
    if taken and not replace:
        raise StackFileError(
            f"{path}: config.{TEMPLATES_KEY} already declares {', '.join(taken)};"
            " pass --replace to overwrite"
        )
    for name, spec in templates.items():
        declared[name] = spec
    out = io.StringIO()
    yaml.dump(document, out)
    path.write_text(out.getvalue())
    return taken
