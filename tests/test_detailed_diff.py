"""The paths a Pulumi diff names: the deepest that changed, written as Pulumi's property paths."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ochami_provider.lifecycle import Diff
from ochami_provider.pulumi_adapter.detailed_diff import (
    changed_paths,
    detailed_paths,
    property_path,
)

TEMPLATE: dict[str, Any] = {
    "name": "cluster",
    "boot_sets": {
        "compute": {"kernel": "k", "kernel_parameters": "console=ttyS0", "node_groups": ["c"]},
        "login": {"kernel": "k", "kernel_parameters": "console=ttyS0", "node_groups": ["l"]},
    },
}


def _edited(**compute: Any) -> dict[str, Any]:
    boot_sets = {
        **TEMPLATE["boot_sets"],
        "compute": {**TEMPLATE["boot_sets"]["compute"], **compute},
    }
    return {**TEMPLATE, "boot_sets": boot_sets}


def test_one_edited_parameter_is_one_path_and_its_boot_set_siblings_are_not_named() -> None:
    olds = {"template": TEMPLATE, "timeout_seconds": 1800}
    news = {"template": _edited(kernel_parameters="console=ttyS0 quiet"), "timeout_seconds": 1800}
    paths = changed_paths(olds, news, ["template", "timeout_seconds"])
    assert paths == {("template", "boot_sets", "compute", "kernel_parameters"): "update"}
    assert property_path(next(iter(paths))) == "template.boot_sets.compute.kernel_parameters"


def test_lists_are_compared_index_by_index_and_a_longer_one_adds() -> None:
    news = _edited(node_groups=["c", "gpu"])
    assert changed_paths(TEMPLATE, news, ["boot_sets"]) == {
        ("boot_sets", "compute", "node_groups", 1): "add"
    }
    shorter = _edited(node_groups=[])
    assert changed_paths(TEMPLATE, shorter, ["boot_sets"]) == {
        ("boot_sets", "compute", "node_groups", 0): "delete"
    }


def test_a_value_the_engine_does_not_know_yet_is_an_update_of_the_whole_input() -> None:
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    olds = {"template_writes": {"1796125460": "x1000c0s0b0n0"}}
    assert changed_paths(olds, {"template_writes": unknown}, ["template_writes"]) == {
        ("template_writes",): "update"
    }


def test_keys_that_are_not_identifiers_are_quoted() -> None:
    assert property_path(("template_writes", "1796125460")) == 'template_writes["1796125460"]'
    assert property_path(("limit", 0)) == "limit[0]"
    assert property_path(("boot_sets", 'a"b\\c', "kernel")) == 'boot_sets["a\\"b\\\\c"].kernel'
    assert property_path(("boot_sets", "gpu-a100", "kernel")) == 'boot_sets["gpu-a100"].kernel'


def test_a_changed_input_with_no_path_below_it_is_still_named() -> None:
    """The engine needs a path under every changed or replaced key (its invariant): one the
    lifecycle counts as changed after filling defaults shows as the key itself."""
    diff = Diff(changed=["limit"], replaces=["limit", "operation"])
    paths = detailed_paths({"limit": ["a"]}, {"limit": ["b"]}, diff)
    assert paths == {("limit", 0): "update", ("operation",): "update"}


def test_work_without_a_changed_input_names_no_path() -> None:
    """A retry of failed nodes changes no input: the engine then shows the inputs itself."""
    assert detailed_paths({"a": 1}, {"a": 1}, Diff(pending_work=True)) == {}


_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=10,
)


@given(
    st.dictionaries(st.sampled_from("abc"), _values),
    st.dictionaries(st.sampled_from("abc"), _values),
)
def test_the_paths_are_empty_exactly_when_nothing_changed(
    olds: dict[str, Any], news: dict[str, Any]
) -> None:
    """Up to nulls: a key set to null is no key, to Pulumi as here."""
    paths = changed_paths(olds, news, "abc")
    differ = [k for k in "abc" if _without_nulls(olds.get(k)) != _without_nulls(news.get(k))]
    assert (paths == {}) == (differ == [])
    assert {str(path[0]) for path in paths} == set(differ)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value
