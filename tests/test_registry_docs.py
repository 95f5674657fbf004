"""The registry docs (docs/index.md, resources, data sources, functions) are what the schema
and examples/ say: generated, never edited by hand, and stale docs fail the test lane."""

from __future__ import annotations

from pathlib import Path

from ochami_provider.terraform_adapter.boot_session import BootSessionResource
from ochami_provider.terraform_adapter.boot_template import BootTemplateResource
from ochami_provider.terraform_adapter.docs import ROOT, main, pages, stale
from ochami_provider.terraform_adapter.nodes import NodesDataSource


def test_the_docs_in_the_repository_are_the_generated_ones() -> None:
    assert stale() == [], "run `bash scripts/docs.sh`"


def test_a_changed_example_makes_its_page_stale(tmp_path: Path) -> None:
    for path, text in pages().items():
        copy = tmp_path / path.relative_to(ROOT)
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_text(text)
    examples = tmp_path / "examples"
    for example in (ROOT / "examples").rglob("*.tf"):
        target = examples / example.relative_to(ROOT / "examples")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(example.read_text())
    assert stale(tmp_path) == []
    edited = examples / "resources" / "ochami_boot_session" / "resource.tf"
    edited.write_text(edited.read_text().replace('"25%"', '"10%"'))
    assert stale(tmp_path) == [tmp_path / "docs" / "resources" / "boot_session.md"]


def test_every_attribute_is_documented_on_its_page() -> None:
    docs = ROOT / "docs"
    for page, schema in (
        (docs / "resources" / "boot_template.md", BootTemplateResource.get_schema()),
        (docs / "resources" / "boot_session.md", BootSessionResource.get_schema()),
        (docs / "data-sources" / "nodes.md", NodesDataSource.get_schema()),
    ):
        text = page.read_text()
        for attribute in schema.attributes:
            assert f"- `{attribute.name}` (" in text, f"{page.name}: {attribute.name}"
    template = (docs / "resources" / "boot_template.md").read_text()
    assert "- `cloud_init_user_data` (String, Sensitive)" in template
    assert (
        "### Nested Schema for `boot_sets`" in template
        and "- `kernel` (String) Required." in template
    )
    assert "import {" in template


def test_every_example_is_shown_on_a_page() -> None:
    shown = "\n".join(pages().values())
    for example in (ROOT / "examples").rglob("*.tf"):
        if "terraform" in example.relative_to(ROOT / "examples").parts[:1]:
            continue  # the two-cluster walk-through, read from the README
        assert example.read_text().rstrip() in shown, example


def test_check_mode_writes_nothing_and_says_it_is_current(capsys: object) -> None:
    before = {p: p.stat().st_mtime_ns for p in pages()}
    assert main(["--check"]) == 0
    assert {p: p.stat().st_mtime_ns for p in pages()} == before
