"""Session hooks as the shell runs them: what they see, and what their failure records."""

from __future__ import annotations

from pathlib import Path

from ochami_provider.session_hooks import hook_environment, run_hook

NODES = [f"x1000c0s{s}b0n{n}" for s in range(8) for n in range(2)]


def test_a_hook_gets_its_nodes_in_a_form_the_shell_cannot_glob(tmp_path: Path) -> None:
    """Issue 21: README's `$(echo $OCHAMI_NODES)` let the shell glob the hostlist against a
    file named like one node, which turned 16 nodes into that one."""
    (tmp_path / "x1000c0s4b0n1").touch()
    said = tmp_path / "said"
    env = hook_environment("reboot-compute", "reboot", NODES)
    command = f'cd {tmp_path}; echo $OCHAMI_NODES > {said}; echo "$OCHAMI_NODES" >> {said};'
    command += f' wc -l < "$OCHAMI_NODES_FILE" >> {said}; head -1 "$OCHAMI_NODES_FILE" >> {said}'
    assert run_hook("pre_command", command, env, 10) is None
    globbed, quoted, count, first = said.read_text().split()
    assert globbed == "x1000c0s4b0n1"  # what an unquoted expansion does
    assert quoted == "x1000c0s[0-7]b0n[0-1]"
    assert (count, first) == ("16", NODES[0])


def test_a_hook_that_prints_megabytes_records_a_short_tail() -> None:
    """Issue 21: a failing hook's 10 MB of output became the session's error, and 10 MB of
    state."""
    command = "head -c 10000000 /dev/zero | tr '\\0' a; echo; echo 'slurmctld: down' >&2; exit 4"
    failed = run_hook("post_command", command, hook_environment("s", "reboot", NODES), 10)
    assert failed is not None and len(failed) < 1_500
    assert failed.endswith("exited with status 4: slurmctld: down")
    command = "head -c 10000000 /dev/zero | tr '\\0' a >&2; exit 4"
    failed = run_hook("post_command", command, hook_environment("s", "reboot", NODES), 10)
    assert failed is not None and len(failed) < 1_500 and failed.endswith("a" * 200)
