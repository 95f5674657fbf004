"""One session apply (template written, then a reboot of every node) at fleet sizes 100 to
10,000, on OpenCHAMI v0.1 (BSS, cloud-init) and v0.2 (boot-service; no group data, as
metadata-service is not written yet): requests per service, our overhead (wall time minus the
simulated power delay), and the same change done the way sites do it today
(baseline.per_node_loop, v0.1 only)."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ochami_provider.models.template import TEMPLATE_SPEC_KEYS as SPEC_KEYS
from ochami_provider.pulumi_adapter import BootSessionProvider, BootTemplateProvider
from ochami_provider.session_journal import ENVIRONMENT as JOURNAL_ENVIRONMENT
from ochami_provider.sim import Fleet, SimServer

from .baseline import per_node_loop
from .measure import Run, per_service, timed

POWER_DELAY = 1.0  # seconds a node takes to settle in the simulator: the physical part
POLL_SECONDS = 0.1
KERNEL = "http://images.example/vmlinuz"
PARAMS = "console=ttyS0,115200 quiet"
USER_DATA = "#cloud-config\nruncmd:\n  - echo booted\n"


@dataclass
class ApplyResult:
    nodes: int
    template: Run
    session: Run
    baseline: Run | None
    generation: str = "v0.1"
    power: str = "pcs"


# The simulated BMCs' login, for sessions powered over Redfish.
BMC_LOGIN = ("root", "bmc-password")


def _connection(url: str, generation: str, power: str = "pcs") -> dict[str, Any]:
    v02 = {"bootBackend": "boot-service"} if generation == "v0.2" else {}
    if power == "redfish":
        credentials = Path(tempfile.mkdtemp(prefix="bench-bmc-")) / "bmc.yaml"
        credentials.write_text(f"username: {BMC_LOGIN[0]}\npassword: {BMC_LOGIN[1]}\n")
        v02 |= {"powerBackend": "redfish", "bmcScheme": "http"}
        v02["bmcCredentials"] = str(credentials)
    return {"uri": url, **v02}


def _template_props(url: str, generation: str = "v0.1") -> dict[str, Any]:
    props: dict[str, Any] = {
        "name": "compute",
        "boot_sets": {
            "compute": {"kernel": KERNEL, "kernel_parameters": PARAMS, "node_groups": ["compute"]}
        },
        "connection": {**_connection(url, generation), "verifyArtifacts": False},
    }
    if generation == "v0.1":
        props["cloud_init"] = {"user_data": USER_DATA}
    return props


def _session_props(
    url: str, template: dict[str, Any], generation: str, power: str
) -> dict[str, Any]:
    return {
        "name": "reboot-compute",
        "template": {k: template[k] for k in SPEC_KEYS if k in template},
        "operation": "reboot",
        "poll_interval_seconds": POLL_SECONDS,
        "timeout_seconds": 3600,
        # boot-service keeps no fetch history; PCS's word is the proof there.
        **({"booted_when": "power"} if generation == "v0.2" else {}),
        "connection": _connection(url, generation, power),
    }


def apply_once(
    nodes: int, *, with_baseline: bool, generation: str = "v0.1", power: str = "pcs"
) -> ApplyResult:
    """`power="redfish"`: the session powers every node over Redfish, one reset and one
    power read per node per step (the simulated BMCs act at once: no power delay)."""
    # A journal of its own: one left by an interrupted earlier run of the same session would
    # rightly make this one verify its nodes instead of powering them.
    os.environ[JOURNAL_ENVIRONMENT] = tempfile.mkdtemp(prefix="bench-journal-")
    fleet = Fleet.generate(nodes, power_delay=POWER_DELAY)
    fleet.generation = "v0.2" if generation == "v0.2" else "both"
    fleet.bmc_login = BMC_LOGIN
    with SimServer(fleet) as sim:
        templates, sessions = BootTemplateProvider(), BootSessionProvider()
        inputs = templates.check({}, _template_props(sim.url, generation)).inputs
        created, template_run = timed(fleet, lambda: templates.create(inputs).outs)
        assert created is not None and created["node_count"] == nodes
        checked = sessions.check({}, _session_props(sim.url, created, generation, power))
        assert not checked.failures, checked.failures
        session_inputs = checked.inputs
        outs, session_run = timed(fleet, lambda: sessions.create(session_inputs).outs)
        assert outs is not None and outs["status"] == "completed", outs
        baseline_run = None
        if with_baseline:
            fleet.bootparams.clear()
            fleet.cloud_init_groups.clear()
            _, baseline_run = timed(
                fleet,
                lambda: per_node_loop(
                    sim.url, list(fleet.nodes), kernel=KERNEL, params=PARAMS, user_data=USER_DATA
                ),
            )
            assert len(fleet.bootparams) == nodes
    return ApplyResult(nodes, template_run, session_run, baseline_run, generation, power)


def table(results: list[ApplyResult]) -> list[str]:
    services = ("smd", "bss", "cloud-init", "boot-service", "pcs", "redfish")
    lines = [
        "| nodes | OpenCHAMI, power | what | "
        + " | ".join(f"{s} requests" for s in services)
        + " | wall s | overhead s (wall − power delay) | overhead per node µs |",
        "|---:|---|---|" + "---:|" * (len(services) + 3),
    ]
    for r in results:
        both = Run(r.template.seconds + r.session.seconds, r.template.requests + r.session.requests)
        rows = [
            ("template create", r.template, False),
            ("session apply (reboot)", r.session, True),
            ("**provider: template + reboot**", both, True),
        ]
        if r.baseline is not None:
            rows.append(("**baseline: per-node loop, template + reboot**", r.baseline, True))
        for label, run, powered in rows:
            counts = per_service(run.requests)
            delay = POWER_DELAY if powered and r.power == "pcs" else 0.0
            overhead = run.seconds - delay
            lines.append(
                f"| {r.nodes:,} | {r.generation}, {r.power} | {label} | "
                + " | ".join(str(counts.get(s, 0)) for s in services)
                + f" | {run.seconds:.2f} | {overhead:.2f} | {overhead / r.nodes * 1e6:,.0f} |"
            )
    return lines
