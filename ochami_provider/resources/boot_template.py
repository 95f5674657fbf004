"""BootTemplate: a cluster's boot (BSS) and runtime (cloud-init) settings, declared once."""

from __future__ import annotations

from typing import Any

import pulumi
from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult

from ..artifacts import artifact_problems
from ..claims import DEPLOYMENT_CLAIMS
from ..errors import InvalidInputError
from ..models.template import BootTemplateSpec
from ..models.validation import FieldProblem
from ..planning import observed_spec
from ..template_apply import (
    apply_template,
    observe,
    plan_template,
    remove_template,
    resolve_targets,
    target_problems,
)
from ._provider import OchamiResourceProvider, changed_keys, pick, progress, to_failures

SPEC_KEYS = ("name", "description", "boot_sets", "cloud_init")
INPUT_KEYS = (*SPEC_KEYS, "connection")
# `adopt`: on create, take over cloud-init group data that already exists for the template's
# groups (written by hand with the ochami CLI, say) instead of refusing it.
ADOPT_KEY = "adopt"
OUTPUT_KEYS = ("spec", "version", "hosts", "node_count", "cloud_init_groups", "changes", "drift")
# Shown in outputs at most; a 10,000-node change is summarised per field, not per node.
MAX_CHANGES_SHOWN = 50


def _artifacts(spec: dict[str, Any]) -> set[tuple[str, str]]:
    found = set()
    for set_name, boot_set in (spec.get("boot_sets") or {}).items():
        for key in ("kernel", "initrd"):
            if boot_set.get(key):
                found.add((f"boot_sets.{set_name}.{key}", boot_set[key]))
    return found


class BootTemplateProvider(OchamiResourceProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        spec, problems = self.check_inputs(
            news, BootTemplateSpec, SPEC_KEYS, (*INPUT_KEYS, ADOPT_KEY, *OUTPUT_KEYS)
        )
        if spec is None:
            return CheckResult(news, to_failures(problems))
        normalized = spec.model_dump(mode="json")
        settings = self.settings(news)
        if settings.verify_artifacts:
            # Only artifacts that changed: a preview should not re-probe every URL every time.
            fresh = _artifacts(normalized) - _artifacts(pick(olds, SPEC_KEYS))
            found = artifact_problems(sorted(fresh), s3_endpoint_url=settings.s3_endpoint_url)
            problems += [FieldProblem(field, message) for field, message in found]
        if settings.verify_targets and not problems:
            with self.services(news) as services:
                problems += target_problems(services, spec, DEPLOYMENT_CLAIMS)
        return CheckResult({**news, **normalized}, to_failures(problems))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = changed_keys(olds, news, INPUT_KEYS)
        return DiffResult(
            changes=bool(changed),
            replaces=["name"] if "name" in changed else [],
            stables=[],
            # The replacement claims the same nodes and cloud-init groups: free them first.
            delete_before_replace=True,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        spec = BootTemplateSpec.model_validate(pick(props, SPEC_KEYS))
        adopted = spec.cloud_init_groups() if props.get(ADOPT_KEY) else []
        with self.services(props) as services:
            report = apply_template(services, spec, owned_groups=adopted, log=progress)
        return CreateResult(spec.name, self._outputs(props, spec, report.hosts_by_set, report))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        spec = BootTemplateSpec.model_validate(pick(news, SPEC_KEYS))
        previous = [h for hosts in (olds.get("hosts") or {}).values() for h in hosts]
        with self.services(news) as services:
            report = apply_template(
                services, spec, previous, olds.get("cloud_init_groups") or [], log=progress
            )
        return UpdateResult(self._outputs(news, spec, report.hosts_by_set, report))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        spec_data = pick(props, SPEC_KEYS)
        if "boot_sets" not in spec_data:
            raise InvalidInputError(
                "boot_sets",
                None,
                f"cannot read template {id_!r} without its boot sets: import it from a program"
                " that declares the template (pulumi import with the resource's inputs)",
            )
        spec = BootTemplateSpec.model_validate(spec_data)
        with self.services(props) as services:
            hosts_by_set = resolve_targets(services, spec)
            observed = observe(services, spec, hosts_by_set)
            # Reading reports what is there: the template's own groups count as owned, so a
            # group present before the template existed shows as drift, not as an error.
            plan = plan_template(
                spec, observed, _flatten(props.get("hosts")), spec.cloud_init_groups()
            )
        seen = observed_spec(spec, hosts_by_set, observed.bss, observed.cloud_init)
        for set_name, hosts in hosts_by_set.items():
            if any(h not in observed.bss for h in hosts):
                # Some node of this set has no boot parameters at all: that is drift too.
                seen["boot_sets"][set_name]["kernel"] = ""
        inputs = {**pick(props, ("connection",)), **seen}
        # Read from inputs alone (nothing recorded yet): what it would own comes from its spec.
        recorded: dict[str, list[str]] = props.get("hosts") or hosts_by_set
        outputs = {
            **props,
            **seen,
            "spec": props.get("spec") or spec.model_dump(mode="json"),
            "version": props.get("version") or spec.version(),
            "hosts": recorded,
            "node_count": sum(len(h) for h in recorded.values()),
            "cloud_init_groups": props.get("cloud_init_groups") or spec.cloud_init_groups(),
            "changes": props.get("changes") or [],
            "drift": [c.describe() for c in plan.changes][:MAX_CHANGES_SHOWN],
        }
        return ReadResult(id_, outputs, inputs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        with self.services(props) as services:
            remove_template(
                services, _flatten(props.get("hosts")), props.get("cloud_init_groups") or []
            )

    def _outputs(
        self,
        props: dict[str, Any],
        spec: BootTemplateSpec,
        hosts: dict[str, list[str]],
        report: Any,
    ) -> dict[str, Any]:
        normalized = spec.model_dump(mode="json")
        return {
            **pick(props, ("connection", ADOPT_KEY)),
            **normalized,
            "spec": normalized,
            "version": spec.version(),
            "hosts": hosts,
            "node_count": sum(len(h) for h in hosts.values()),
            "cloud_init_groups": report.cloud_init_groups,
            "changes": [c.describe() for c in report.changes][:MAX_CHANGES_SHOWN],
            "drift": [],
        }


def _flatten(hosts_by_set: dict[str, list[str]] | None) -> list[str]:
    return sorted({h for hosts in (hosts_by_set or {}).values() for h in hosts})


class BootTemplate(pulumi.dynamic.Resource, module="ochami", name="BootTemplate"):
    """A BOS-style session template for OpenCHAMI.

    Writes each boot set's kernel, initrd and parameters to BSS for its nodes, and the cloud-init
    data to the cloud-init server for each of its groups; `pulumi refresh` reads both back.
    """

    spec: pulumi.Output[dict[str, Any]]
    version: pulumi.Output[str]
    hosts: pulumi.Output[dict[str, list[str]]]
    node_count: pulumi.Output[int]
    cloud_init_groups: pulumi.Output[list[str]]
    changes: pulumi.Output[list[str]]
    drift: pulumi.Output[list[str]]

    def __init__(
        self,
        resource_name: str,
        *,
        boot_sets: pulumi.Input[dict[str, Any]],
        name: pulumi.Input[str] | None = None,
        description: pulumi.Input[str] = "",
        cloud_init: pulumi.Input[dict[str, Any]] | None = None,
        connection: pulumi.Input[dict[str, Any]] | None = None,
        adopt: pulumi.Input[bool] = False,
        secret_cloud_init: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        secret_outputs = ["connection"]
        if secret_cloud_init and cloud_init is not None:
            # User-data often carries passwords or keys: keep it, and every output that can
            # quote it (the spec, change and drift lists), encrypted in state and hidden in diffs.
            cloud_init = pulumi.Output.secret(cloud_init)
            secret_outputs += ["cloud_init", "spec", "changes", "drift"]
        props = {
            ADOPT_KEY: adopt,
            "name": name or resource_name,
            "description": description,
            "boot_sets": boot_sets,
            "cloud_init": cloud_init,
            "connection": connection,
            **{key: None for key in OUTPUT_KEYS},
        }
        secret = pulumi.ResourceOptions(additional_secret_outputs=secret_outputs)
        super().__init__(
            BootTemplateProvider(),
            resource_name,
            props,
            pulumi.ResourceOptions.merge(secret, opts),
        )
