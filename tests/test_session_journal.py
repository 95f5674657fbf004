"""The local journal of what a session powered, for the run the engine never recorded."""

from __future__ import annotations

from pathlib import Path

from ochami_provider.session_journal import SessionJournal

NODES = [f"x1000c0s{i}b0n0" for i in range(4)]


def test_notes_are_read_back_per_version_and_operation_and_dropped_once_acknowledged(
    tmp_path: Path,
) -> None:
    journal = SessionJournal("ochami-boot/dev", "reboot-compute", tmp_path)
    journal.note("run1", "v1", "reboot", 100, NODES[:2])
    journal.started("run1", 100, "t-1")
    journal.note("run1", "v1", "reboot", 110, NODES[2:])
    powered = journal.powered("v1", "reboot")
    assert {n: (e.started, e.transition) for n, e in powered.items()} == {
        NODES[0]: (100, "t-1"),
        NODES[1]: (100, "t-1"),
        NODES[2]: (110, ""),
        NODES[3]: (110, ""),
    }
    # Another version (the template changed) or operation: nothing of it was powered.
    assert journal.powered("v2", "reboot") == {} and journal.powered("v1", "boot") == {}
    # Another session, or the same name in another stack, has its own journal.
    assert (
        SessionJournal("ochami-boot/prod", "reboot-compute", tmp_path).powered("v1", "reboot") == {}
    )
    journal.note("run2", "v1", "reboot", 120, NODES[:1])
    journal.acknowledge("run1")  # the state records run1: its notes, and older, go
    assert sorted(journal.powered("v1", "reboot")) == NODES[:1]
    journal.acknowledge("run2")
    assert not journal.path.exists()


def test_a_damaged_journal_is_read_as_empty(tmp_path: Path) -> None:
    journal = SessionJournal(None, "s", tmp_path)
    journal.path.write_text("{not json")
    assert journal.powered("v1", "reboot") == {}
