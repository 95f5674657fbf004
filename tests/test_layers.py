"""The layering that lets more front ends share one core: only the Pulumi adapter imports
`pulumi` and only the Terraform adapter `tf`, the pure modules import no client, and the
simulator's web stack stays its own."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "ochami_provider"


def _imported_after(statement: str) -> set[str]:
    """Top-level modules (and ochami_provider submodules) loaded by `statement` in a fresh
    interpreter."""
    code = f"import sys\n{statement}\nprint('\\n'.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def _importers(engine: str) -> set[str]:
    """The top-level parts of the package that import `engine`."""
    importers = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            if any(n == engine or n.startswith(f"{engine}.") for n in names):
                importers.add(path.relative_to(PACKAGE).parts[0])
    return importers


def test_only_the_adapter_packages_import_their_engine() -> None:
    assert _importers("pulumi") == {"pulumi_adapter"}
    assert _importers("tf") == {"terraform_adapter"}


def test_the_core_loads_no_engine_and_no_web_server() -> None:
    loaded = _imported_after(
        "import ochami_provider, ochami_provider.lifecycle, ochami_provider.demo"
    )
    assert "ochami_provider.lifecycle.template" in loaded
    assert not {"pulumi", "tf", "grpc", "starlette", "uvicorn", "boto3"} & loaded


def test_pure_modules_import_no_client() -> None:
    loaded = _imported_after(
        "import ochami_provider.planning, ochami_provider.session_machine,"
        " ochami_provider.session_progress, ochami_provider.node_map, ochami_provider.map_page,"
        " ochami_provider.map_text"
    )
    assert "ochami_provider.planning" in loaded
    assert not [m for m in loaded if m.startswith("ochami_provider.clients")]
    assert "httpx" not in loaded


def test_the_terraform_adapters_modules_import_one_way() -> None:
    """The resources and data source take what they share from `values`; only the provider's
    entry points (and the docs generator) import `_provider`: no import circle."""
    adapter = PACKAGE / "terraform_adapter"
    importers = set()
    for path in adapter.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module == "_provider":
                importers.add(path.name)
    assert importers == {"plugin.py", "docs.py"}
    values = ast.parse((adapter / "values.py").read_text())
    local = {n.module for n in ast.walk(values) if isinstance(n, ast.ImportFrom) and n.level == 1}
    assert local == set(), local
