"""Checks on cloud-init documents before they reach the cloud-init server."""

from __future__ import annotations

import re

import yaml

# The cloud-init server renders group files with Jinja when they start with this header.
_JINJA_HEADER = "#template: jinja"
_JINJA_BLOCK = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)


def validate_cloud_config(value: str) -> str:
    """Require `#cloud-config` (after an optional Jinja header) and a YAML mapping body."""
    lines = value.splitlines()
    header = [line.strip() for line in lines[:2]]
    jinja = bool(header) and header[0].replace(" ", "").lower() == _JINJA_HEADER.replace(" ", "")
    cloud_config_line = header[1] if jinja and len(header) > 1 else (header[0] if header else "")
    if cloud_config_line != "#cloud-config":
        raise ValueError(
            "must start with '#cloud-config' (optionally after '#template: jinja');"
            " its first line is something else"
            if lines
            else "is empty; a cloud-config starts with '#cloud-config'"
        )
    # Jinja expressions are filled in per node by the server; a placeholder keeps the YAML shape.
    body = _JINJA_BLOCK.sub("jinja", value) if jinja else value
    try:
        document = yaml.safe_load(body)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ValueError(f"is not valid YAML{where}: {problem}") from None
    if document is not None and not isinstance(document, dict):
        raise ValueError(
            f"must be a YAML mapping of cloud-config modules, got a {type(document).__name__}"
        )
    return value
