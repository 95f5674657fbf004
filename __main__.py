"""The Pulumi program: a cluster's boot templates and sessions, read from its stack config.

Each stack (`stacks/Pulumi.<cluster>.yaml`) holds `ochami-boot:templates` (name -> template
spec) and `ochami-boot:sessions` (name -> session spec naming one of the templates).
"""

from __future__ import annotations

from typing import Any

import pulumi

from ochami_provider import BootSession, BootTemplate

config = pulumi.Config()
templates: dict[str, Any] = config.get_object("templates") or {}
sessions: dict[str, Any] = config.get_object("sessions") or {}

created: dict[str, BootTemplate] = {}
for name, spec in templates.items():
    created[name] = BootTemplate(
        name,
        name=name,
        description=spec.get("description", ""),
        boot_sets=spec["boot_sets"],
        cloud_init=spec.get("cloud_init"),
    )
    pulumi.export(f"template:{name}:version", created[name].version)
    pulumi.export(f"template:{name}:spec", created[name].spec)

for name, spec in sessions.items():
    options = {k: v for k, v in spec.items() if k not in ("template", "max_retries")}
    session = BootSession(
        name,
        name=name,
        template=created[spec["template"]],
        max_retries=spec.get("max_retries", 1),
        **options,
    )
    pulumi.export(f"session:{name}:status", session.status)
    pulumi.export(f"session:{name}:results", session.results)
