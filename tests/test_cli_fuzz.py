"""The `ochami-boot` commands under input nobody should send: whatever the bytes, the importer
and the status command answer with an exit status (0, or 2 naming what is wrong), never a
Python traceback, and nothing is written (issue 21: a non-UTF-8 file was a traceback; an empty
`--node` showed the whole machine)."""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ochami_provider.cli import main
from ochami_provider.sim import Fleet, SimServer

DATA = Path(__file__).parent / "data" / "bos"
SAMPLE = json.loads((DATA / "compute-cps.json").read_text())

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _json_like() -> st.SearchStrategy[object]:
    leaves = st.none() | st.booleans() | st.integers() | st.text(max_size=12)
    return st.recursive(
        leaves,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=12,
    )


@FUZZ
@given(raw=st.binary(max_size=300))
@example(raw=b"\xff\xfe{\x00}")
@example(raw=json.dumps(SAMPLE).encode("utf-16"))
def test_import_bos_of_any_bytes_exits_0_or_2_and_names_the_problem(
    raw: bytes, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "template.json"
    path.write_bytes(raw)
    stack = path.parent / "Pulumi.c.yaml"
    stack.write_text("config: {}\n")
    code = main(["import-bos", str(path), "--offline", "--output", str(stack)])
    _, err = capsys.readouterr()
    assert code in (0, 2) and "Traceback" not in err
    if code == 2:
        assert err.startswith("ochami-boot: ") and stack.read_text() == "config: {}\n"


@FUZZ
@given(
    path=st.lists(
        st.sampled_from(["boot_sets", "compute", "node_list", "cfs", "name", 0]), max_size=3
    ),
    value=_json_like(),
)
def test_import_bos_of_a_real_template_with_any_field_replaced_exits_0_or_2(
    path: list[object],
    value: object,
    tmp_path_factory: pytest.TempPathFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data: object = json.loads(json.dumps(SAMPLE))
    target = data
    for key in path[:-1]:
        if isinstance(target, dict) and key in target:
            target = target[key]
    if isinstance(target, dict) and path:
        target[str(path[-1])] = value
    file = tmp_path_factory.mktemp("fuzz") / "template.json"
    file.write_text(json.dumps(data))
    code = main(["import-bos", str(file), "--offline"])
    _, err = capsys.readouterr()
    assert code in (0, 2) and "Traceback" not in err


def test_a_file_that_is_not_utf8_is_named_with_the_byte_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('{"name": "compute", "description": "Zürich"}'.encode("latin-1"))
    assert main(["import-bos", str(path), "--offline"]) == 2
    err = capsys.readouterr().err
    assert "latin1.json: not UTF-8 text (byte 0xfc at offset 37)" in err


def test_many_templates_that_share_a_notice_say_it_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 21: 500 templates gave 2,000 repeated notice lines with no summary."""
    listed = [{**SAMPLE, "name": f"compute-{i}"} for i in range(500)]
    path = tmp_path / "list.json"
    path.write_text(json.dumps(listed))
    assert main(["import-bos", str(path), "--offline"]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) < 20, lines
    assert any(
        line.startswith(
            "ochami-boot: 500 templates (compute-0, compute-1, compute-2, compute-3,"
            " compute-4 and 495 more): cfs.configuration: not carried"
        )
        for line in lines
    ), lines
    assert lines[-1].startswith("ochami-boot: 500 templates imported,")


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer(Fleet.generate(8, groups={"compute": range(4)})) as server:
        yield server


@FUZZ
@given(node=st.text(alphabet=string.printable, max_size=30))
@example(node="")
@example(node="   ")
@example(node="x1000c0s[0-1]b0n[0-1],x9000c0s0b0n0")
def test_status_of_any_node_argument_exits_0_or_2_and_names_it(
    node: str, sim: SimServer, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(["status", "--uri", sim.url, "--node", node])
    except SystemExit as exit_:  # argparse's own usage error (`--node -5`), exit status 2
        code = exit_.code  # type: ignore[assignment]
    out, err = capsys.readouterr()
    assert code in (0, 2) and "Traceback" not in err
    if code == 2:
        assert "--node" in err and out == ""
    else:
        assert out.strip() or "no nodes match" in err
