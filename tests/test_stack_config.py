"""The stack's own config is checked whole before the program declares anything: one problem
per mistake, named by its path in the stack file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ochami_provider.stack_config import stack_problems, unknown_config_keys

ROOT = Path(__file__).resolve().parent.parent

TEMPLATE = {"boot_sets": {"compute": {"kernel": "http://h/k", "node_groups": ["compute"]}}}
SESSION = {"template": "compute", "operation": "reboot"}

# (templates, sessions, path the problem must name, text it must contain)
CASES: list[tuple[Any, Any, str, str]] = [
    ({"compute": TEMPLATE}, {"r": {**SESSION, "template": "gpu"}}, "sessions.r.template", "'gpu'"),
    ({"compute": {"description": "x"}}, {}, "templates.compute.boot_sets", "Field required"),
    ({"compute": None}, {}, "templates.compute", "must be a template spec"),
    ({"compute": TEMPLATE}, {"r": None}, "sessions.r", "must be a session spec"),
    ("not a mapping", {}, "templates", "must be a mapping"),
    (
        {"compute": TEMPLATE},
        {"r": {**SESSION, "operation": "explode"}},
        "sessions.r.operation",
        "explode",
    ),
    (
        {"compute": TEMPLATE},
        {"r": {**SESSION, "max_retries": "x"}},
        "sessions.r.max_retries",
        "'x'",
    ),
    (
        {"compute": TEMPLATE},
        {"r": {**SESSION, "colour": "blue"}},
        "sessions.r.colour",
        "unknown field",
    ),
    ({"compute": {**TEMPLATE, "adopt": "yes"}}, {}, "templates.compute.adopt", "true or false"),
    (
        {"compute": {"boot_sets": {"compute": {"kernel": "ftp://h/k", "node_groups": ["c"]}}}},
        {},
        "templates.compute.boot_sets.compute.kernel",
        "ftp://h/k",
    ),
]


@pytest.mark.parametrize(("templates", "sessions", "path", "text"), CASES)
def test_each_mistake_is_named_by_its_path(
    templates: Any, sessions: Any, path: str, text: str
) -> None:
    problems = stack_problems(templates, {}, sessions)
    matching = [p for p in problems if p.field == f"ochami-boot:{path}"]
    assert matching, [str(p) for p in problems]
    assert text in matching[0].reason


def test_a_session_may_name_a_copied_template() -> None:
    copy_from = {"stack": "org/p/a", "templates": {"compute": {"name": "compute-b"}}}
    assert stack_problems({}, copy_from, {"r": {**SESSION, "template": "compute-b"}}) == []


@pytest.mark.parametrize("cluster", ["cluster-a", "cluster-b"])
def test_the_sample_stacks_are_clean(cluster: str) -> None:
    config = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{cluster}.yaml").read_text())["config"]
    assert (
        stack_problems(
            config.get("ochami-boot:templates"),
            config.get("ochami-boot:copyFrom"),
            config.get("ochami-boot:sessions"),
        )
        == []
    )


def test_an_unknown_key_of_the_projects_namespaces_is_refused_with_the_nearest_known() -> None:
    """Issue 21: `ochami:bootBackend` (then another version's key; `ochami:redfishUri` now)
    and `ochami:verfiyTargets` (a typo) were ignored without a word."""
    problems = unknown_config_keys(
        [
            "ochami:verfiyTargets",
            "ochami:redfishUri",
            "ochami-boot:session",
            "ochami:uri",
            "ochami-boot:templates",
            "aws:region",
        ]
    )
    assert [str(p) for p in problems] == [
        "ochami-boot:session: is not a setting this version of ochami-boot knows; did you mean"
        " ochami-boot:sessions?",
        "ochami:redfishUri: is not a setting this version of ochami-boot knows; known: cluster,"
        " uri, smdUri, bssUri, cloudInitUri, pcsUri, token, caBundle, insecure, timeout,"
        " verifyArtifacts, verifyTargets, s3EndpointUrl, sessionLimitRequired, bootBackend,"
        " groupDataBackend, powerBackend, bmcCredentials, bmcCaBundle, bmcInsecure, bmcScheme,"
        " bmcParallelism, historyLength, bootServiceUri, metadataServiceUri, enableAuth,"
        " configFile",
        "ochami:verfiyTargets: is not a setting this version of ochami-boot knows; did you mean"
        " ochami:verifyTargets?",
    ]
