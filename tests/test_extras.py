"""The core and `ochami-boot` without either engine's SDK or the simulator's server, and the one
line each front end says when its extra is missing (issue 25, item 4). Each check runs in a
fresh interpreter that cannot import the extras' packages, as a `pip install ochami-provider`
without extras would have it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

_WITHOUT_EXTRAS = """
import importlib.abc, sys
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.partition(".")[0] in {"pulumi", "tf", "msgpack", "grpc", "starlette", "uvicorn"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None
sys.meta_path.insert(0, Absent())
"""


def _without_extras(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _WITHOUT_EXTRAS + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_the_core_and_the_command_need_no_engine_sdk() -> None:
    done = _without_extras(
        """
        from ochami_provider import ProviderConfig
        from ochami_provider.cli import main
        from ochami_provider.lifecycle.session import SessionLifecycle
        from ochami_provider.lifecycle.template import TemplateLifecycle
        try:
            main(["status", "--help"])
        except SystemExit as stop:
            assert stop.code == 0
        loaded = {m.partition(".")[0] for m in sys.modules}
        print(sorted(loaded & {"pulumi", "tf", "starlette", "uvicorn"}))
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("[]")


@pytest.mark.parametrize(
    ("code", "extra"),
    [
        ("from ochami_provider import BootTemplate", "pulumi"),
        (
            "import runpy; runpy.run_module('ochami_provider.terraform_adapter', run_name='m')",
            "terraform",
        ),
        ("from ochami_provider.cli import sim_main; sim_main()", "sim"),
    ],
    ids=["pulumi", "terraform", "sim"],
)
def test_a_front_end_without_its_extra_says_in_one_line_which_to_install(
    code: str, extra: str
) -> None:
    done = _without_extras(code)
    assert done.returncode != 0
    said = done.stderr.strip().splitlines()[-1]
    assert f"pip install 'ochami-provider[{extra}]'" in said
    if extra != "pulumi":  # the commands: that line alone, no traceback
        assert done.stderr.strip() == said and said.startswith("error: ")
