"""Drift against a real Linux router of the lab: FRR's running config, charon's connections.

Uses the running lab of dev, or brings one up (offline apply first) and takes it
down again. Needs root, strongSwan and FRR; run under the lab lock:
`flock /tmp/crossnet-lab.lock pytest tests/devices/test_devices_lab_drift.py`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from network.contract import Router, load_outputs
from network.devices.drift import Drift, router_drift
from network.devices.remote import charons as _charons

STACK = "dev"
pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab() -> Iterator[tuple[dict[str, Any], Router]]:
    from network.lab import control
    from network.lab.inventory import inventory as lab_inventory
    from network.lab.runtime import open_lab, read_state
    from network.lab.system import missing_requirements

    missing = missing_requirements()
    if missing:
        pytest.skip(f"the local lab cannot run here: {'; '.join(missing)}")
    state = read_state(STACK)
    started = False
    if state is None or not state.ready:
        from network.offline.apply import offline_up
        from network.state import outputs_path

        if state is not None:
            control.down(STACK)
        if not outputs_path(STACK).exists():
            offline_up(STACK)
        control.up(STACK, outputs=outputs_path(STACK))
        started = True
    try:
        rt = open_lab(STACK)
        inv = lab_inventory(rt)
        outputs = load_outputs(Path(rt.state.outputs))
        key = sorted(inv["routers"])[0]
        # The lab renders every router as linux (docs/lab.md): so does its drift.
        router = outputs.routers[key]
        if router.platform != "linux":
            import dataclasses

            router = dataclasses.replace(router, platform="linux")
        yield inv, router
    finally:
        if started:
            control.down(STACK)


def _drift(inv: dict[str, Any], router: Router) -> tuple[Drift, Drift]:
    entry = inv["routers"][router.key]
    ns = entry["target"][len("netns://") :]

    def run(cmd: str) -> str:
        r = subprocess.run(
            ["ip", "netns", "exec", ns, "sh", "-c", cmd], capture_output=True, text=True, timeout=30
        )
        return r.stdout + r.stderr

    frr, swan = router_drift(router, run, {"vtysh": entry["vtysh"]}, _charons(inv, router.key))
    return frr, swan


def _vtysh(inv: dict[str, Any], router: Router, *lines: str) -> None:
    entry = inv["routers"][router.key]
    ns = entry["target"][len("netns://") :]
    cmd = ["ip", "netns", "exec", ns, *entry["vtysh"].split(), "-c", "configure terminal"]
    for ln in lines:
        cmd += ["-c", ln]
    subprocess.run(cmd, check=True, capture_output=True, timeout=30)


def test_the_lab_router_runs_its_rendering(lab: tuple[dict[str, Any], Router]) -> None:
    inv, router = lab
    frr, swan = _drift(inv, router)
    assert frr.clean, "\n".join(frr.remediation)
    assert swan.clean, "\n".join(swan.remediation)


def test_a_change_made_by_hand_is_reported_exactly(lab: tuple[dict[str, Any], Router]) -> None:
    """An FRR setting changed and a prefix-list entry added with vtysh: drift says how
    to undo exactly those, in FRR's syntax; undone, the router is clean again."""
    inv, router = lab
    c = next(c for c in router.connections if c.routing == "bgp")
    peer = c.tunnels[0].aws_inside_ip
    rogue = f"ip prefix-list {c.name}-out seq 900 permit 10.99.0.0/16"
    bgp = f"router bgp {router.asn}"
    _vtysh(inv, router, bgp, f"neighbor {peer} timers connect 30", "exit", rogue)
    try:
        frr, _ = _drift(inv, router)
        assert sorted(frr.add) == [f"neighbor {peer} timers connect 10"], frr.remediation
        assert sorted(frr.remove) == sorted(
            [f"no {rogue}", f"no neighbor {peer} timers connect 30"]
        ), frr.remediation
    finally:
        _vtysh(inv, router, bgp, f"neighbor {peer} timers connect 10", "exit", f"no {rogue}")
    frr, _ = _drift(inv, router)
    assert frr.clean, "\n".join(frr.remediation)
