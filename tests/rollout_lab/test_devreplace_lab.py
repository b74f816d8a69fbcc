"""Replacing dev's only router (a hardware refresh) as a user does it: two rollouts on a
running lab while traffic flows.

The stack (`rrep`) is dev's config under a name of its own (namespaces `cxl.rrep.*`):
one datacenter router, one BGP connection to the VGW. Change 1 adds a second router
(`dc1/edge2`) with its own connection (`router-add`); change 2 removes the original
(`router-remove`). The lab keeps each running router's LAN slot (topology.lan_slots,
lab.json `lan_slots`), so removing the router that sorts first no longer re-addresses the
survivor. Each change is measured with a 20 ms ping and a paced 50 MiB SHA-256-checked
transfer from the datacenter host to the VPC host (`harness.measured`).

- Safe order, both changes: 0 lost, 0 bytes lost; the survivor keeps 10.128.0.2; nothing
  of the removed router is left (namespaces, processes by PID, files); a second rollout
  plans nothing.
- Negative control: the original router added back (safe), then the router the measured
  flow leaves through removed the naive way (everything at once, no drain): it loses
  pings. dev has one host pair, which the host's ECMP hashes onto one router: the safe
  removal of the original is measured on that flow even when it leaves through the new
  router (its replies may still come through the original, which the drain moves).
- Afterwards `crossnet check --quick` is green.

Marked `lab` and `slow`; one lab for the module.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from network import cli
from network.lab.faults import Flow, find_flow
from network.lab.readiness import wait_ready
from network.lab.runtime import open_lab, read_state
from network.lab.system import Proc, alive, namespaces
from network.rollout.execute import execute_naive
from tests.rollout_lab import harness, scenarios
from tests.rollout_lab.harness import Lab, running_lab

STACK = "rrep"
MBPS = 6.0  # 50 MiB at 6 Mbit/s: about 70 s, longer than one router step
OLD, NEW = "dc1-edge1", "dc1-edge2"
pytestmark = [pytest.mark.lab, pytest.mark.slow]
SEEN: dict[str, Any] = {}


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with running_lab(STACK, scenarios.dev_stack()) as running:
        yield running


def _flow(router: str | None = None) -> Flow:
    """The flow leaving through `router`, else dc1's flow as its host's ECMP hashes it:
    its replies may still come back through `router` (the VGW picks its own connection),
    which is what the removal's drain moves."""
    rt = open_lab(STACK)
    flow = find_flow(rt, datacenter="dc1", router=router) or find_flow(rt, datacenter="dc1")
    if flow is None:
        pytest.skip("no datacenter -> VPC flow at all")
    return flow


def _measured(kind: str, run: Any, flow: Flow) -> dict[str, Any]:
    m = harness.measured(kind, run, MBPS, STACK, flow)
    SEEN[kind] = {k: m[k] for k in ("lost", "lostMs", "bytesLost", "wall")}
    return m


def _rollout() -> int:
    return cli.main(["rollout", "--stack", STACK, "--lab"])


def _progress(lab: Lab) -> dict[str, Any]:
    return dict(json.loads((lab.state / STACK / "rollout" / "progress.json").read_text()))


def _step_kinds(lab: Lab) -> list[str]:
    plan = json.loads((lab.state / STACK / "rollout" / "rollout.json").read_text())
    return [s["class"] for s in plan["steps"]]


def _nothing_to_do() -> bool:
    return harness.nothing_to_do(STACK)


def _procs_of(key: str) -> list[Proc]:
    return harness.router_procs(STACK, key)


def _left_of(key: str) -> list[str]:
    return harness.router_left(STACK, key)


def _lan(key: str) -> tuple[str, ...]:
    return next(r.lan for r in open_lab(STACK).lab.routers if r.key == key)


def _safe(lab: Lab, kind: str, flow: Flow, step: str) -> None:
    m = _measured(kind, _rollout, flow)
    assert m["result"] == 0, _progress(lab)
    assert _step_kinds(lab) == [step]
    assert _progress(lab)["status"] == "done"
    assert m["spans"], "the transfer ended before the rollout did: it proves nothing"
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m
    assert m["lost"] == 0, m
    wait_ready(open_lab(STACK), 60)


def test_change_1_adds_a_second_router_safe_order_loses_nothing(lab: Lab) -> None:
    before = _lan(OLD)
    harness.edit_stack(lab, scenarios.dev_router_add("edge2", scenarios.DEV_NEW_ROUTER), STACK)
    _safe(lab, "add the new router (safe)", _flow(OLD), "router-add")
    assert _lan(OLD) == before == ("10.128.0.1/16",)
    assert _lan(NEW) == ("10.128.0.2/16",)
    state = read_state(STACK)
    assert state is not None and state.lan_slots == {OLD: 1, NEW: 2}
    assert _nothing_to_do()
    SEEN["added"] = True


def test_change_2_removes_the_original_safe_order_loses_nothing(lab: Lab) -> None:
    if not SEEN.get("added"):
        pytest.skip("change 1 did not run")
    procs = _procs_of(OLD)
    assert len(procs) >= 4, procs  # zebra, bgpd, staticd and the tunnel ends' charons
    harness.edit_stack(lab, scenarios.dev_router_remove("edge1"), STACK)
    _safe(lab, "remove the original router (safe)", _flow(OLD), "router-remove")
    assert {r.key for r in open_lab(STACK).lab.routers} == {NEW}
    assert _lan(NEW) == ("10.128.0.2/16",)  # the survivor kept its address
    assert _left_of(OLD) == []
    assert [p.name for p in procs if alive(p)] == []  # stopped by PID, every one
    assert _nothing_to_do()
    SEEN["replaced"] = True


def test_the_naive_removal_of_the_original_loses_traffic(lab: Lab) -> None:
    """Negative control: the original added back (safe), then removed at once (AWS deletes
    its connection while it carries, no drain) on a flow leaving through it."""
    if not SEEN.get("replaced"):
        pytest.skip("change 2 did not run")
    harness.edit_stack(
        lab, scenarios.dev_router_add("edge1", scenarios.DEV_OLD_ROUTER, like=f"{NEW}-app"), STACK
    )
    assert _rollout() == 0, _progress(lab)
    wait_ready(open_lab(STACK), 60)
    assert _lan(OLD) == ("10.128.0.1/16",) and _lan(NEW) == ("10.128.0.2/16",)  # freed slot
    # The router removed is the one the measured flow leaves through: the host's ECMP
    # hashes dev's one host pair onto one router, and a removal only loses what the
    # removed router carries (a flow through the other router lost 0 here either way).
    flow = _flow(OLD)
    gone = flow.router.key
    SEEN["survivor"] = NEW if gone == OLD else OLD
    procs = _procs_of(gone)
    path = harness.edit_stack(lab, scenarios.dev_router_remove(gone.split("-", 1)[1]), STACK)
    m = _measured(f"remove {gone}, which carries the flow (naive)", _naive(path), flow)
    wait_ready(open_lab(STACK), 90)
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m  # TCP retransmits what it lost
    assert _left_of(gone) == [] and not any(alive(p) for p in procs)
    assert m["lost"] > 0, m


def _naive(path: Any) -> Any:
    return lambda: execute_naive(STACK, path, print)


def test_afterwards_check_quick_is_green_and_only_the_new_router_runs(lab: Lab) -> None:
    wait_ready(open_lab(STACK), 90)
    res = harness.crossnet("check", "--stack", STACK, "--quick")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert _nothing_to_do()
    left = SEEN.get("survivor", NEW)
    assert {r.key for r in open_lab(STACK).lab.routers} == {left}
    prefix = f"cxl.{STACK}.rtr."
    assert [n for n in namespaces() if n.startswith(prefix)] == [prefix + left]
    print(f"figures: {json.dumps(SEEN, sort_keys=True)}")
