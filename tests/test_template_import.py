"""Templates rebuilt from what BSS and cloud-init hold (what `tofu import` adopts), against the
simulator and the real services."""

from __future__ import annotations

import pytest

from ochami_provider.errors import InvalidInputError
from ochami_provider.lifecycle import Connector, TemplateLifecycle
from ochami_provider.models.owner import Ownership
from ochami_provider.models.records import BootParams, CloudConfigFile, CloudInitGroup
from ochami_provider.models.template import BootTemplateSpec, TemplateInputs
from tests.backends import Backend

SPEC = {
    "name": "imported",
    "boot_sets": {
        "login": {
            "kernel": "http://h/login",
            "kernel_parameters": "console=ttyS0",
            "node_groups": ["login"],
        },
        "few": {"kernel": "http://h/few", "initrd": "http://h/initrd"},
    },
    "cloud_init": {"meta_data": {"site": "x"}, "user_data": "#cloud-config\n{}\n"},
}


def _lifecycle(backend: Backend) -> TemplateLifecycle:
    return TemplateLifecycle(Connector(backend.config(verify_artifacts=False)))


def test_a_template_comes_back_from_its_own_records(backend: Backend) -> None:
    nodes = backend.nodes
    spec = BootTemplateSpec.model_validate(
        {
            **SPEC,
            "boot_sets": {
                **SPEC["boot_sets"],
                "few": {**SPEC["boot_sets"]["few"], "node_list": nodes[4:6]},
            },
        }
    )
    ours, theirs = Ownership(deployment="tf/import"), Ownership(deployment="ochami-boot/other")
    core = _lifecycle(backend)
    state = core.create(TemplateInputs(spec=spec, ownership=ours))
    try:
        inputs, found = core.import_("imported", ours)
        # Groups and node lists as declared; the description is stored nowhere.
        assert inputs.spec == spec
        assert found.hosts == state.hosts and found.drift == []
        assert found.cloud_init_groups == ["login"]
        with pytest.raises(InvalidInputError) as caught:
            core.import_("imported", theirs)
        assert "template 'imported' of stack 'tf/import' has such records" in str(caught.value)
    finally:
        core.delete(TemplateInputs(spec=spec, ownership=ours).to_props(), state)


def test_hand_made_data_of_a_group_is_adopted_and_put_back_on_destroy(backend: Backend) -> None:
    login = backend.nodes[:4]
    core = _lifecycle(backend)
    services = core.connector.services(None)
    services.bss.put(BootParams(hosts=login, kernel="http://h/hand", params="console=tty0 quiet"))
    hand = CloudInitGroup(
        name="login",
        description="made with the ochami CLI",
        meta_data={"site": "hand"},
        file=CloudConfigFile(content="#cloud-config\nruncmd: [[echo, hand]]\n"),
    )
    services.cloud_init.create_group(hand)
    ours = Ownership(deployment="tf/import")
    try:
        inputs, state = core.import_("login-image:login", ours)
        assert inputs.adopt is True
        boot_set = inputs.spec.boot_sets["login"]
        assert (boot_set.kernel, boot_set.kernel_parameters, boot_set.node_groups) == (
            "http://h/hand",
            "console=tty0 quiet",
            ["login"],
        )
        assert inputs.spec.cloud_init is not None
        assert inputs.spec.cloud_init.meta_data == {"site": "hand"}
        assert "login" in state.adopted
        # Taking it over writes the markers; destroying it puts the hand-made data back.
        written = core.update(state, inputs)
        core.delete(inputs.to_props(), written)
        back = services.cloud_init.get_group("login")
        assert back is not None and back.meta_data == {"site": "hand"}
        with pytest.raises(InvalidInputError, match="SMD has no group"):
            core.import_("x:no-such-group", ours)
    finally:
        services.bss.delete(login)
        if services.cloud_init.get_group("login") is not None:
            services.cloud_init.delete_group("login")
