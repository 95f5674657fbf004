"""The kernel command line an iPXE boot script gives the kernel, for the simulated firmware
and the test harnesses that stand in for a node's iPXE. Two dialects: BSS's (`kernel --name
kernel <url> <params> || goto boot_retry`, bss v1.32) and boot-service's (`set kernel <url>`,
`set params <params>`, then `kernel ${kernel} ${params}`, boot-service v0.3.2's
DefaultIPXETemplate)."""

from __future__ import annotations


def kernel_command_line(script: str) -> str:
    """`/proc/cmdline` as it reads after the script boots: `BOOT_IMAGE=<kernel> <params>`, or
    "" when the script boots no kernel."""
    variables: dict[str, str] = {}
    for line in script.splitlines():
        words = line.split(" || ")[0].split()
        if len(words) >= 3 and words[0] == "set":
            variables[words[1]] = " ".join(words[2:])
        elif words and words[0] == "kernel":
            args = [w for w in words[1:] if not w.startswith("--")]
            if words[1:3] == ["--name", "kernel"]:
                args = words[3:]
            expanded = [_expand(a, variables) for a in args]
            expanded = [e for e in expanded if e]
            if expanded:
                return f"BOOT_IMAGE={expanded[0]} {' '.join(expanded[1:])}".strip()
    return ""


def _expand(word: str, variables: dict[str, str]) -> str:
    if word.startswith("${") and word.endswith("}"):
        return variables.get(word[2:-1], "")
    return word
