"""`ochami-boot import-bos`: real BOS v2 session templates (tests/data/bos, sources in its
SOURCES.md) imported through IMS manifests in S3 (moto), then checked as boot templates against
the simulator, and against the real SMD where their targets exist there."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from ochami_provider import BootTemplateProvider
from ochami_provider.cli import main
from ochami_provider.models.template import BootTemplateSpec
from ochami_provider.sim import Fleet, SimServer
from ochami_provider.sim.fleet import Node
from ochami_provider.template_writer import resolve_targets
from tests.backends import Backend

DATA = Path(__file__).parent / "data" / "bos"
TEMPLATES = {
    "compute-sbps.json": ["compute-sbps"],
    "compute-cps.json": ["compute-cps"],
    "cpss3-node-list.json": ["cpss3-node-list"],
    "sessiontemplates-list.json": ["cle-1.2.0"],
    "uan-sessiontemplate-2.0.27.json": ["uan-sessiontemplate-2.0.27"],
    "muttler-cos-template.json": ["muttler-cos-template-20221012100753"],
}
# The xnames the templates' node_list entries name.
LISTED = ["x3000c0s19b1n0", "x3000c0s21b1n0", "x3000c0s22b1n0", "x3000c0s15b0n0"]
# The image ef97d3c4... carries its own kernel parameters, as IMS images can.
IMAGE_PARAMETERS = "console=ttyS0,115200 crashkernel=360M"


@pytest.fixture
def fleet() -> Fleet:
    """8 Compute nodes (0-3 in group `muttler`) and the Application nodes the templates list."""
    fleet = Fleet.generate(8, groups={"muttler": range(4)}, power_delay=0.01)
    for i, xname in enumerate(LISTED):
        fleet.nodes[xname] = Node(
            xname, nid=100 + i, role="Application", mac=f"02:01:00:00:0{i}:00"
        )
    return fleet


def _image_ids() -> set[str]:
    ids = set()
    for name in TEMPLATES:
        ids |= {path.split("/")[3] for path in _paths(json.loads((DATA / name).read_text()))}
    return ids


def _paths(data: Any) -> list[str]:
    items = data if isinstance(data, list) else [data]
    return [b["path"] for t in items for b in t["boot_sets"].values()]


@pytest.fixture
def s3(aws_credentials: None) -> Iterator[Any]:
    """Each image as IMS stores it: kernel, initrd, rootfs and manifest.json; one image with
    its own kernel parameters."""
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket="boot-images")
        for image in sorted(_image_ids()):
            artifacts = []
            kinds = [("kernel", "kernel"), ("initrd", "initrd"), ("rootfs", "rootfs.squashfs")]
            if image.startswith("ef97d3c4"):
                kinds.append(("boot_parameters", "parameters.boot"))
            for key, kind in kinds:
                body = IMAGE_PARAMETERS.encode() if key == "boot_parameters" else key.encode()
                put = client.put_object(Bucket="boot-images", Key=f"{image}/{key}", Body=body)
                link = {"path": f"s3://boot-images/{image}/{key}", "etag": put["ETag"].strip('"')}
                artifacts.append(
                    {
                        "link": {**link, "type": "s3"},
                        "md5": hashlib.md5(body).hexdigest(),
                        "type": f"application/vnd.cray.image.{kind}",
                    }
                )
            manifest = {"created": "2024-10-24 12:00:00", "version": "1.0", "artifacts": artifacts}
            client.put_object(
                Bucket="boot-images", Key=f"{image}/manifest.json", Body=json.dumps(manifest)
            )
        yield client


def _etag(client: Any, path: str) -> str:
    key = path.removeprefix("s3://boot-images/")
    return str(client.head_object(Bucket="boot-images", Key=key)["ETag"]).strip('"')


def _as_built(client: Any, name: str, tmp_path: Path) -> Path:
    """The template with each etag set to the manifest's own: the published ETags are of
    manifests that are not public. Everything else is as published."""
    data = json.loads((DATA / name).read_text())
    for template in data if isinstance(data, list) else [data]:
        for boot_set in template["boot_sets"].values():
            if "etag" in boot_set:
                boot_set["etag"] = _etag(client, boot_set["path"])
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["import-bos", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_each_real_template_imports_and_passes_check_against_the_simulator(
    name: str, s3: Any, sim: SimServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = json.loads((DATA / name).read_text())
    stack = tmp_path / "Pulumi.cluster-c.yaml"
    code, out, err = _run(capsys, str(_as_built(s3, name, tmp_path)), "--output", str(stack))
    assert code == 0, err
    assert out == ""
    templates = yaml.safe_load(stack.read_text())["config"]["ochami-boot:templates"]
    assert sorted(templates) == TEMPLATES[name]
    for bos, (our_name, spec) in zip(
        source if isinstance(source, list) else [source], templates.items(), strict=True
    ):
        for set_name, bos_set in bos["boot_sets"].items():
            ours = spec["boot_sets"][set_name]
            image = bos_set["path"].rsplit("/", 1)[0]
            assert (ours["kernel"], ours["initrd"]) == (f"{image}/kernel", f"{image}/initrd")
            # BOS's order: the image's parameters, the template's (kept in order), root=.
            words = ours["kernel_parameters"].split()
            own = bos_set.get("kernel_parameters", "").split()
            start = (
                len(IMAGE_PARAMETERS.split())
                if image.endswith("ef97d3c4-6f10-4d58-b4aa-7b70fcaf41ba")
                else 0
            )
            assert words[:start] == IMAGE_PARAMETERS.split()[:start]
            assert words[start : start + len(own)] == own
            assert words[-1].startswith("root=") and f"{image}/rootfs" in words[-1]
            for key in ("node_list", "node_groups", "node_roles_groups"):
                assert ours.get(key, []) == bos_set.get(key, [])
        # Every BOS field without an equivalent is said on stderr, naming it.
        for said in ("cfs", "enable_cfs"):
            if said in bos:
                assert f"ochami-boot: {our_name}: {said}" in err
        props = {"name": our_name, **spec, "connection": {"uri": sim.url}}
        assert BootTemplateProvider().check({}, props).failures == []


def test_root_is_built_as_bos_builds_it(
    s3: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`root=<protocol>:<rootfs S3 path>:<rootfs ETag>:<passthrough>` (docs-csm's appendix
    on the root= parameter); without a provider only the passthrough, after two empty
    fields; without either, none."""
    data = json.loads((DATA / "compute-sbps.json").read_text())
    boot_set = data["boot_sets"]["computes"]
    image = boot_set["path"].rsplit("/", 1)[0]
    boot_set["etag"] = _etag(s3, boot_set["path"])
    variants = {
        "sbps": dict(boot_set),
        "cps": {
            **boot_set,
            "rootfs_provider": "cpss3",
            "rootfs_provider_passthrough": "dvs:x:300:nmn0",
        },
        "passthrough": {k: v for k, v in boot_set.items() if k != "rootfs_provider"},
        "neither": {
            k: v
            for k, v in boot_set.items()
            if k not in ("rootfs_provider", "rootfs_provider_passthrough")
        },
    }
    data["boot_sets"] = variants
    path = tmp_path / "variants.json"
    path.write_text(json.dumps(data))
    code, out, err = _run(capsys, str(path), "--name", "variants")
    assert code == 0, err
    sets = yaml.safe_load(out)["config"]["ochami-boot:templates"]["variants"]["boot_sets"]
    rootfs = f"{image}/rootfs"
    etag = _etag(s3, rootfs)
    roots = {
        n: [w for w in s["kernel_parameters"].split() if w.startswith("root=")]
        for n, s in sets.items()
    }
    assert roots == {
        "sbps": [f"root=sbps-s3:{rootfs}:{etag}:{boot_set['rootfs_provider_passthrough']}"],
        "cps": [f"root=craycps-s3:{rootfs}:{etag}:dvs:x:300:nmn0"],
        "passthrough": [f"root=::{boot_set['rootfs_provider_passthrough']}"],
        "neither": [],
    }
    assert "boot_sets.sbps.rootfs_provider: BOS also adds nmd_data=" in err


def test_spire_tokens_arch_and_s3_urls_are_said_and_kept(
    s3: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "uan-sessiontemplate-2.0.27.json"
    code, out, err = _run(capsys, str(_as_built(s3, name, tmp_path)))
    assert code == 0, err
    spec = yaml.safe_load(out)["config"]["ochami-boot:templates"]["uan-sessiontemplate-2.0.27"]
    assert "spire_join_token=${SPIRE_JOIN_TOKEN}" in spec["boot_sets"]["uan"]["kernel_parameters"]
    lines = err.splitlines()
    prefix = "ochami-boot: uan-sessiontemplate-2.0.27: "
    assert all(line.startswith(prefix) for line in lines)
    fields = [line.removeprefix(prefix).split(":")[0] for line in lines]
    assert fields == [
        "enable_cfs",
        "cfs.configuration",
        "boot_sets.uan.kernel_parameters",
        "boot_sets.uan.arch",
        "boot_sets",
    ]
    assert "SPIRE_TOKEN_URL" in lines[2] and "--artifact-base-url" in lines[4]


def test_artifact_base_url_serves_kernels_over_http(
    s3: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = "muttler-cos-template.json"
    path = _as_built(s3, name, tmp_path)
    code, out, err = _run(capsys, str(path), "--artifact-base-url", "http://s3.cluster:9000/")
    assert code == 0, err
    spec = yaml.safe_load(out)["config"]["ochami-boot:templates"][TEMPLATES[name][0]]
    image = "2105dd38-2c8e-48c5-8b3f-ca71367a977e"
    assert (
        spec["boot_sets"]["compute"]["kernel"]
        == f"http://s3.cluster:9000/boot-images/{image}/kernel"
    )
    # The root file system stays where BOS's root= names it: in S3, for the node's initrd.
    assert (
        f"root=craycps-s3:s3://boot-images/{image}/rootfs:"
        in spec["boot_sets"]["compute"]["kernel_parameters"]
    )
    assert "--artifact-base-url" not in err
    assert _run(capsys, str(path), "--artifact-base-url", "s3.cluster")[0] == 2


def test_offline_assumes_the_ims_layout_reads_no_s3_and_says_so(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    aws_credentials: None,
) -> None:
    # Nothing answers here: any S3 request would fail the import.
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")
    code, out, err = _run(capsys, str(DATA / "compute-cps.json"), "--offline")
    assert code == 0, err
    spec = yaml.safe_load(out)["config"]["ochami-boot:templates"]["compute-cps"]
    image = "s3://boot-images/ef97d3c4-6f10-4d58-b4aa-7b70fcaf41ba"
    computes = spec["boot_sets"]["computes"]
    assert (computes["kernel"], computes["initrd"]) == (f"{image}/kernel", f"{image}/initrd")
    assert computes["kernel_parameters"].endswith(
        f"root=craycps-s3:{image}/rootfs::dvs:api-gw-service-nmn.local:300:eth0"
    )
    assert "boot_sets.computes.path: --offline: assumed IMS's layout" in err
    # Without --offline the same endpoint is tried, and S3 out of reach is exit status 1.
    code, out, err = _run(capsys, str(DATA / "compute-cps.json"))
    assert code == 1 and out == ""
    assert "S3 could not be reached for s3://boot-images/ef97d3c4" in err


def test_output_adds_to_a_stack_file_keeping_its_comments_and_refuses_a_taken_name(
    s3: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = tmp_path / "Pulumi.cluster-c.yaml"
    stack.write_text(
        "# cluster-c: reviewed by the HPC team\n"
        "config:\n"
        "  ochami:uri: https://cluster-c.example  # the gateway\n"
        "  ochami-boot:templates:\n"
        "    login:\n"
        "      boot_sets:\n"
        "        login: {kernel: 'http://h/k', node_groups: [login]}\n"
        "encryptionsalt: v1:abc\n"
    )
    path = str(_as_built(s3, "sessiontemplates-list.json", tmp_path))
    assert _run(capsys, path, "--output", str(stack))[0] == 0
    text = stack.read_text()
    assert "# cluster-c: reviewed by the HPC team" in text and "# the gateway" in text
    document = yaml.safe_load(text)
    assert sorted(document["config"]["ochami-boot:templates"]) == ["cle-1.2.0", "login"]
    assert document["encryptionsalt"] == "v1:abc"
    # Again: the name is taken, and the file is left as it was.
    code, _, err = _run(capsys, path, "--output", str(stack))
    assert code == 2 and "already declares cle-1.2.0; pass --replace" in err
    assert stack.read_text() == text
    assert _run(capsys, path, "--output", str(stack), "--replace")[0] == 0


def _malformed(s3: Any, tmp_path: Path, change: Any) -> Path:
    data = json.loads((DATA / "compute-sbps.json").read_text())
    data["boot_sets"]["computes"]["etag"] = _etag(s3, data["boot_sets"]["computes"]["path"])
    change(data)
    path = tmp_path / "malformed.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (
            lambda d: d.update(cfs={"clone_url": "https://vcs/config.git"}),
            "compute-sbps: cfs.clone_url: is a BOS v1 field",
        ),
        (
            lambda d: d.update(cfs_url="https://vcs/config.git"),
            "compute-sbps: cfs_url: is a BOS v1 field",
        ),
        (
            lambda d: d.update(boot_sets={}),
            "compute-sbps: boot_sets: Dictionary should have at least 1 item",
        ),
        (lambda d: d.pop("boot_sets"), "compute-sbps: boot_sets: Field required"),
        (
            lambda d: d["boot_sets"]["computes"].update(type="nfs"),
            "compute-sbps: boot_sets.computes.type: BOS reads image manifests from S3 only",
        ),
        (
            lambda d: d["boot_sets"]["computes"].update(
                path="s3://boot-images/no-such-image/manifest.json"
            ),
            "compute-sbps: boot_sets.computes.path: S3 has no such object",
        ),
        (
            lambda d: d["boot_sets"]["computes"].update(etag="b0ace28163302e18b68cf04dd64f2e01"),
            "compute-sbps: boot_sets.computes.etag: is not the ETag of s3://boot-images/ef97d3c4",
        ),
        (
            lambda d: d["boot_sets"]["computes"].update(rootfs_provider="nfs"),
            "boot_sets.computes.rootfs_provider: is not a provider BOS builds root= for",
        ),
        (
            lambda d: d["boot_sets"]["computes"].update(kernel_paramters="quiet"),
            "compute-sbps: boot_sets.computes.kernel_paramters: unknown field",
        ),
        (
            lambda d: d["boot_sets"]["computes"].update(node_list=["node2"]),
            "compute-sbps: boot_sets.computes.node_list[0]: 'node2' is not a node xname",
        ),
    ],
    ids=[
        "v1-cfs",
        "v1-template",
        "no-boot-sets",
        "boot-sets-missing",
        "type",
        "manifest-missing",
        "etag-mismatch",
        "rootfs-provider",
        "typo",
        "not-an-xname",
    ],
)
def test_malformed_templates_exit_2_naming_the_field_and_write_nothing(
    change: Any, said: str, s3: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = tmp_path / "Pulumi.cluster-c.yaml"
    stack.write_text("config: {}\n")
    path = _malformed(s3, tmp_path, change)
    code, out, err = _run(capsys, str(path), "--name", "compute-sbps", "--output", str(stack))
    assert code == 2
    assert said in err, err
    assert out == "" and stack.read_text() == "config: {}\n"


def test_v1_fields_bos_drops_itself_are_dropped_with_one_notice(
    s3: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 21: BOS 2.7+ removes `partition`, `boot_ordinal`, `shutdown_ordinal` and
    `network` from templates itself; templates kept from earlier CSM releases still carry them
    and were refused."""

    def kept_from_csm_1_0(data: dict[str, Any]) -> None:
        data["partition"] = ""
        data["boot_sets"]["computes"].update(boot_ordinal=2, shutdown_ordinal=1, network="nmn")

    path = _malformed(s3, tmp_path, kept_from_csm_1_0)
    code, out, err = _run(capsys, str(path), "--name", "compute-sbps")
    assert code == 0, err
    notices = [line for line in err.splitlines() if "BOS v1 fields" in line]
    assert notices == [
        "ochami-boot: compute-sbps: partition, boot_sets.computes.boot_ordinal,"
        " boot_sets.computes.shutdown_ordinal, boot_sets.computes.network: dropped: BOS v1"
        " fields, which BOS 2.7 and later remove from templates themselves; nothing here uses"
        " them"
    ]
    assert "ordinal" not in out and "network" not in out and "compute-sbps:" in out


def test_input_that_is_not_one_template_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, str(DATA / "malformed-trailing-comma.json"), "--offline")
    assert code == 2 and "malformed-trailing-comma.json: line 33 column 1: not JSON" in err
    listed = str(DATA / "sessiontemplates-list.json")
    code, _, err = _run(capsys, listed, "--name", "x", "--offline")
    assert code == 2 and "--name: names one template; the file holds a list" in err
    (tmp_path / "nameless.json").write_text('[{"boot_sets": {}}]')
    code, _, err = _run(capsys, str(tmp_path / "nameless.json"), "--offline")
    assert code == 2 and "[0].name: a listed template needs its name" in err
    code, _, err = _run(capsys, str(tmp_path / "missing.json"))
    assert code == 2 and "missing.json: cannot be read" in err


def test_imported_templates_resolve_in_the_real_smd_as_in_the_simulator(
    backend: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    """Contract: the role-targeted templates find SMD's Compute nodes (4-15)."""
    for name in ("compute-cps.json", "compute-sbps.json", "sessiontemplates-list.json"):
        code, out, err = _run(capsys, str(DATA / name), "--offline")
        assert code == 0, err
        for our_name, spec in yaml.safe_load(out)["config"]["ochami-boot:templates"].items():
            model = BootTemplateSpec.model_validate({"name": our_name, **spec})
            with backend.services() as services:
                resolved = resolve_targets(services, model, require_members=True)
            assert {n: sorted(h) for n, h in resolved.items()} == {
                "computes": sorted(backend.nodes[4:16])
            }
