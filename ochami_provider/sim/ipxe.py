"""What an iPXE boot script tells a node's firmware, for the simulated firmware and the test
harnesses that stand in for a node's iPXE (tests/openchami, tests/lab). Two dialects: BSS's
(`kernel --name kernel <url> <params> || goto boot_retry`, bss v1.32) and boot-service's (`set
kernel <url>`, `set params <params>`, then `kernel ${kernel} ${params}`, boot-service v0.3.2's
DefaultIPXETemplate)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class BootScript:
    """The kernel and initrd URLs, the kernel's command line, and the retry path (seconds to
    sleep, the URL to ask again)."""

    kernel: str
    initrd: str | None
    cmdline: str
    retry_sleep: float
    chain: str

    @classmethod
    def parse(cls, text: str) -> BootScript:
        """ValueError when the script boots no kernel."""
        kernel, initrd, cmdline, sleep, chain = "", None, "", 30.0, ""
        variables: dict[str, str] = {}
        for line in text.splitlines():
            command, *args = _arguments(line.split("||")[0]) or [""]
            if command == "set" and len(args) >= 2:
                variables[args[0]] = " ".join(args[1:])
                continue
            args = " ".join(_expanded(a, variables) for a in args).split()
            if command == "kernel" and args:
                kernel, cmdline = args[0], " ".join(args[1:])
            elif command == "initrd" and args:
                initrd = args[0]
            elif command == "sleep" and args:
                sleep = float(args[0])
            elif command == "chain" and args:
                chain = args[0]
        if not kernel:
            raise ValueError(f"no kernel line in the boot script:\n{text}")
        return cls(kernel, initrd, cmdline, sleep, chain)


def kernel_command_line(script: str) -> str:
    """`/proc/cmdline` as it reads after the script boots: `BOOT_IMAGE=<kernel> <params>`, or
    "" when the script boots no kernel."""
    try:
        parsed = BootScript.parse(script)
    except ValueError:
        return ""
    return f"BOOT_IMAGE={parsed.kernel} {parsed.cmdline}".strip()


def _expanded(word: str, variables: dict[str, str]) -> str:
    if word.startswith("${") and word.endswith("}"):
        return variables.get(word[2:-1], "")
    return word


def _arguments(line: str) -> list[str]:
    """An iPXE command's words without its options (`--name kernel` and the like)."""
    words, out = line.split(), []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in ("--name", "-n", "--timeout", "-t"):
            skip = True
        elif not word.startswith("--"):
            out.append(word)
    return out
