"""The Pulumi program: a cluster's boot templates and sessions, read from its stack config.

Each stack (`stacks/Pulumi.<cluster>.yaml`) holds, under the `ochami-boot` namespace:
- `templates`: name -> template spec (description, boot_sets, cloud_init; `adopt: true` takes
  over cloud-init group data that already exists for the template's groups;
  `secret_cloud_init: true` keeps the cloud-init data encrypted in state and hidden in diffs);
- `copyFrom`: templates taken from another cluster's stack through a StackReference
  (`stack`, and `templates`: source name -> {`name`, `overrides`});
- `sessions`: name -> session spec naming one of the templates above.
"""

from __future__ import annotations

from typing import Any

import pulumi

from ochami_provider import BootSession, BootTemplate
from ochami_provider.stack_config import (
    SESSION_OPTIONS,
    TEMPLATE_OPTIONS,
    declared_templates,
    stack_problems,
    unknown_config_keys,
)
from ochami_provider.stack_copy import apply_overrides, copies

config = pulumi.Config()
templates: dict[str, Any] = config.get_object("templates") or {}
copy_from: dict[str, Any] = config.get_object("copyFrom") or {}
sessions: dict[str, Any] = config.get_object("sessions") or {}

# The whole stack config first: one error per mistake, named by its path, and nothing declared.
problems = unknown_config_keys(
    {**pulumi.runtime.config.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
) + stack_problems(templates, copy_from, sessions)
for problem in problems:
    pulumi.log.error(str(problem))
if problems:
    raise pulumi.RunError(
        f"{len(problems)} problem(s) in the stack config (stacks/Pulumi.{pulumi.get_stack()}.yaml);"
        " nothing was declared or changed"
    )


every_template = sorted(declared_templates(templates, copy_from))

# A value of `templates` set with `pulumi config set --secret --path ...` makes the whole key a
# secret, and `get_object` hands it over in plain text: keep every template's cloud-init data
# secret then, as `secret_cloud_init: true` does, rather than store it in plain text.
TEMPLATES_KEY = "ochami-boot:templates"
templates_secret = (
    pulumi.runtime.config.is_config_secret(TEMPLATES_KEY)
    or TEMPLATES_KEY in pulumi.runtime.config.get_config_secret_keys_env()
)
if templates_secret:
    pulumi.log.info(
        f"{TEMPLATES_KEY} holds a secret value: the templates' cloud-init data, and every output"
        " that can quote it, are kept secret (as with secret_cloud_init: true)"
    )


def declare(name: str, spec: Any, adopt: bool = False, secret: bool = False) -> BootTemplate:
    """A BootTemplate from a spec that may be plain data or an Output of it."""
    if isinstance(spec, pulumi.Output):
        fields = {
            "description": spec.apply(lambda s: s.get("description", "")),
            "boot_sets": spec.apply(lambda s: s["boot_sets"]),
            "cloud_init": spec.apply(lambda s: s.get("cloud_init")),
        }
    else:
        fields = {k: spec.get(k) for k in ("description", "boot_sets", "cloud_init")}
        fields["description"] = fields["description"] or ""
    template = BootTemplate(
        name,
        name=name,
        adopt=adopt,
        secret_cloud_init=secret,
        # A template that leaves the stack config frees its nodes to the others in the same
        # `up`: renaming a template is one update, without a gap in BSS.
        deployment_templates=every_template,
        **fields,
    )
    pulumi.export(f"template:{name}:version", template.version)
    pulumi.export(f"template:{name}:spec", template.spec)
    return template


declared = {
    name: declare(
        name,
        {k: v for k, v in spec.items() if k not in TEMPLATE_OPTIONS},
        adopt=bool(spec.get("adopt")),
        secret=bool(spec.get("secret_cloud_init")) or templates_secret,
    )
    for name, spec in templates.items()
}

if copy_from:
    source = pulumi.StackReference(copy_from["stack"])
    for name, (source_name, options) in copies(copy_from).items():
        overrides = options.get("overrides") or {}
        copied = source.require_output(f"template:{source_name}:spec").apply(
            lambda spec, o=overrides: apply_overrides(spec, o)
        )
        # Whether the source stack kept this spec secret is known only once the reference
        # resolves, after the template's secret outputs are fixed: a copy is kept secret unless
        # its entry says `secret_cloud_init: false`, so a copied secret is never stored in the
        # clear (issue 24, item 4: a copy's spec and history were).
        declared[name] = declare(name, copied, secret=options.get("secret_cloud_init") is not False)

for name, spec in sessions.items():
    # Each argument as the stack file gives it; the model's default for the rest.
    arguments = {k: v for k, v in spec.items() if k not in SESSION_OPTIONS}
    session = BootSession(
        name,
        name=name,
        template=declared[spec["template"]],
        connection=spec.get("connection"),
        fail_up_on_error=spec.get("fail_up_on_error", True),
        **arguments,
    )
    pulumi.export(f"session:{name}:status", session.status)
    pulumi.export(f"session:{name}:results", session.results)
