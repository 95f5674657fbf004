"""Which of a session's nodes a template change makes due, and why (pure: no services)."""

from __future__ import annotations

from typing import Any

from ochami_provider.models.template import BootTemplateSpec
from ochami_provider.session_due import due_nodes, targets_changed, template_boot_changed

COMPUTE = [f"x1000c0s{i}b0n0" for i in range(6)]
LOGIN = ["x1000c1s0b0n0", "x1000c1s1b0n0"]
HOSTS = {"compute": COMPUTE, "login": LOGIN}


def _spec(**changes: Any) -> BootTemplateSpec:
    data: dict[str, Any] = {
        "name": "cluster",
        "description": "the cluster",
        "boot_sets": {
            "compute": {
                "kernel": "http://images/vmlinuz",
                "kernel_parameters": "console=ttyS0",
                "node_groups": ["compute"],
            },
            "login": {
                "kernel": "http://images/vmlinuz",
                "kernel_parameters": "console=ttyS0",
                "node_list": LOGIN,
            },
        },
        "cloud_init": {"meta_data": {"site": "a"}, "description": "one"},
    }
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        target = data
        for key in parents:
            target = target[key]
        target[leaf] = value
    return BootTemplateSpec.model_validate(data)


def test_a_description_a_rename_or_the_cloud_init_label_makes_no_node_due() -> None:
    old = _spec()
    for new in (
        _spec(description="edited"),
        _spec(name="renamed"),
        _spec(cloud_init__description="relabelled"),
    ):
        assert not template_boot_changed(old, new)
        assert not due_nodes(old, HOSTS, new, HOSTS, COMPUTE + LOGIN)


def test_another_boot_sets_parameters_make_none_of_this_sessions_nodes_due() -> None:
    old, new = _spec(), _spec(boot_sets__login__kernel_parameters="console=ttyS1")
    assert template_boot_changed(old, new)
    assert not due_nodes(old, HOSTS, new, HOSTS, COMPUTE)
    due = due_nodes(old, HOSTS, new, HOSTS, COMPUTE + LOGIN)
    assert due.nodes == LOGIN
    assert due.describe("s", "reboot") == (
        "session s: reboots 2 nodes 'x1000c1s[0-1]b0n0' whose kernel parameters changed"
    )


def test_this_boot_sets_kernel_and_parameters_make_its_nodes_due_with_why() -> None:
    new = _spec(
        boot_sets__compute__kernel="http://images/vmlinuz-2",
        boot_sets__compute__kernel_parameters="console=ttyS1",
    )
    due = due_nodes(_spec(), HOSTS, new, HOSTS, COMPUTE[:4])
    assert due.nodes == COMPUTE[:4]
    assert due.describe("reboot-compute", "boot") == (
        "session reboot-compute: boots 4 nodes 'x1000c0s[0-3]b0n0' whose kernel and kernel"
        " parameters changed"
    )


def test_cloud_init_data_reaches_only_the_boot_sets_that_name_groups() -> None:
    new = _spec(cloud_init__meta_data={"site": "b"})
    due = due_nodes(_spec(), HOSTS, new, HOSTS, COMPUTE + LOGIN)
    # login targets a node list: the cloud-init server serves it no group data.
    assert due.why == {"whose cloud-init data changed": COMPUTE}


def test_a_node_that_moves_boot_set_is_due_only_if_what_it_boots_changes() -> None:
    moved = {"compute": COMPUTE[1:], "login": LOGIN + COMPUTE[:1]}
    before = _spec(cloud_init=None)
    same_boot = _spec(cloud_init=None, boot_sets__login__node_list=LOGIN + COMPUTE[:1])
    assert targets_changed(before, same_boot)
    assert not due_nodes(before, HOSTS, same_boot, moved, COMPUTE + LOGIN)
    other_boot = _spec(
        cloud_init=None,
        boot_sets__login__node_list=LOGIN + COMPUTE[:1],
        boot_sets__login__kernel_parameters="console=ttyS1",
    )
    due = due_nodes(before, HOSTS, other_boot, moved, COMPUTE + LOGIN)
    assert due.why == {
        "whose kernel parameters changed (moved from boot set 'compute')": COMPUTE[:1],
        "whose kernel parameters changed": LOGIN,
    }
    # Out of a boot set that names groups: the node is no longer served their cloud-init data.
    due = due_nodes(
        _spec(), HOSTS, _spec(boot_sets__login__node_list=LOGIN + COMPUTE[:1]), moved, COMPUTE
    )
    assert due.why == {"whose cloud-init data changed (moved from boot set 'compute')": COMPUTE[:1]}


def test_a_node_new_to_the_template_is_due_and_nodes_outside_the_session_are_not() -> None:
    grown = {"compute": [*COMPUTE, "x1000c0s9b0n0"], "login": LOGIN}
    due = due_nodes(_spec(), HOSTS, _spec(), grown, [*COMPUTE, "x1000c0s9b0n0"])
    assert due.why == {"newly in boot set 'compute'": ["x1000c0s9b0n0"]}
    assert not due_nodes(_spec(), HOSTS, _spec(), grown, COMPUTE)
