"""What the bounded history costs in a 10,000-node stack's state: a template's 50 kept writes
and a session's 50 kept runs, serialized as the engines store them (issue 24's goal: under
200 KiB with 50 kept versions at 10,000 nodes).

Three node layouts: `dense`, every node in the compute boot set but 16 login nodes; `scattered`,
50 nodes spread over the cluster left out of it (drained, down) and 10 spread failures in every
run, other nodes each time; `every 7th out`, a seventh of the compute nodes left out, one by
one, and 100 failures in every run, which no site does but which shows where hostlists stop
compressing. Each write records six change lines and a spec with two boot sets and cloud-init data;
each run a rolling reboot.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import TypeAdapter

from ochami_provider.models.history import (
    DEFAULT_HISTORY_LENGTH,
    ERRORS_KEPT,
    SessionHistory,
    SessionRun,
    TemplateHistory,
    TemplateWrite,
    appended,
)
from ochami_provider.sim.fleet import node_xname

GOAL_BYTES = 200 * 1024
LOGIN_NODES = 16
LAYOUTS = ("dense", "scattered", "every 7th out")


@dataclass
class HistorySize:
    nodes: int
    layout: str
    template_bytes: int
    session_bytes: int

    @property
    def total(self) -> int:
        return self.template_bytes + self.session_bytes


def _spec(version: int) -> dict[str, object]:
    boot_set = {
        "kernel": f"https://s3.example/boot-images/compute-{version}/vmlinuz",
        "initrd": f"https://s3.example/boot-images/compute-{version}/initramfs.img",
        "kernel_parameters": f"console=ttyS0,115200 ip=dhcp quiet image={version}",
        "node_groups": ["compute"],
        "node_list": [],
        "node_partitions": [],
        "node_roles_groups": [],
        "arch": None,
    }
    return {
        "name": "compute",
        "description": "Rocky 9 compute image",
        "boot_sets": {"compute": boot_set, "login": {**boot_set, "node_groups": ["login"]}},
        "cloud_init": {
            "description": "",
            "meta_data": {"cluster": "alps", "image": version},
            "user_data": "#cloud-config\ntimezone: Europe/Zurich\nruncmd:\n"
            + "".join(f"  - [systemctl, enable, --now, unit{i}]\n" for i in range(8)),
        },
    }


def measure(nodes: int, layout: str) -> HistorySize:
    names = [node_xname(i) for i in range(nodes)]
    login = names[-LOGIN_NODES:]
    compute = names[:-LOGIN_NODES]
    if layout == "scattered":
        out = set(compute[:: max(1, len(compute) // 50)][:50])
        compute = [n for n in compute if n not in out]
    elif layout == "every 7th out":
        compute = [n for i, n in enumerate(compute) if i % 7]
    failures = {"dense": 0, "scattered": 10, "every 7th out": 100}[layout]
    writes: list[TemplateWrite] = []
    runs: list[SessionRun] = []
    for version in range(DEFAULT_HISTORY_LENGTH * 2):  # twice the bound: what is kept is 50
        at = f"2026-{1 + version // 28 % 12:02d}-{1 + version % 28:02d}T10:00:00+00:00"
        write = TemplateWrite(
            version=f"{version:016x}",
            at=at,
            by="admin@mgmt01",
            hosts={"compute": compute, "login": login},
            changes=[
                f"boot_sets.compute.kernel: 'compute-{version - 1}' -> 'compute-{version}'",
                f"boot_sets.compute.initrd: 'compute-{version - 1}' -> 'compute-{version}'",
                "boot_sets.compute.kernel_parameters: changed",
                "boot_sets.login.kernel: changed",
                f"boot_sets.compute.(record): changed on {len(compute)} node(s)",
                "cloud_init.meta_data.image: changed",
            ],
            spec=_spec(version),
        )
        writes = appended(writes, write, DEFAULT_HISTORY_LENGTH)
        step = max(1, len(compute) // max(failures, 1))
        failed = compute[version % step :: step][:failures]
        errors = {f"node did not boot within 600 s (error {e})": 10 for e in range(ERRORS_KEPT)}
        run = SessionRun(
            started_at=at,
            completed_at=at,
            by="admin@mgmt01",
            operation="reboot",
            template_name="compute",
            template_version=write.version,
            status="failed" if failed else "completed",
            # Keyed by power action, batches merged (session_machine.py): the reboot of every
            # node, and the restart that retried the ones that did not come back.
            acted={"soft-restart": compute, **({"on": failed} if failed else {})},
            failed=failed,
            errors=errors if failed else {},
            error_message=f"{len(failed)} node(s) failed" if failed else "",
        )
        runs = appended(runs, run, DEFAULT_HISTORY_LENGTH)
    return HistorySize(
        nodes,
        layout,
        len(TypeAdapter(TemplateHistory).dump_json(writes)),
        len(TypeAdapter(SessionHistory).dump_json(runs)),
    )


def table(results: list[HistorySize]) -> list[str]:
    rows = [
        "| nodes | node sets | template history (50 writes) | session history (50 runs) |"
        " both | goal |",
        "|---:|---|---:|---:|---:|---|",
    ]
    for r in results:
        rows.append(
            f"| {r.nodes:,} | {r.layout} | {r.template_bytes / 1024:.1f} KiB"
            f" | {r.session_bytes / 1024:.1f} KiB | {r.total / 1024:.1f} KiB"
            f" | {'met' if r.total < GOAL_BYTES else '**missed**'} (< 200 KiB) |"
        )
    return rows


def main() -> None:
    """`python -m benchmarks.history_size`: this table alone (scripts/bench.sh has it too)."""
    print("\n".join(table([measure(n, layout) for n in (100, 10_000) for layout in LAYOUTS])))


if __name__ == "__main__":
    main()
