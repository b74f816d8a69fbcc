"""Removing and adding a datacenter router on a running prod lab while traffic flows.

The stack (`rrtr`) is prod's config under a name of its own (namespaces `cxl.rrtr.*`): two
datacenters of two routers each, one BGP connection per router to the transit gateway
(ECMP), the lab's datacenter fabric between a datacenter's routers. The router removed
is a datacenter's second one (`<dc>-edge2`), chosen so that the measured flow (a 20 ms
ping and a paced 50 MiB SHA-256-checked transfer from the datacenter host to a VPC
host, `faults.find_flow`) leaves through it.

- Safe removal (`router-remove`: drain its tunnels, the apply deletes its connection,
  the lab takes the router out of the host's ECMP set, stops it by PID, removes its
  namespaces, the peer's fabric follows): 0 lost, 0 bytes lost; afterwards nothing of
  it is left and a second rollout has nothing to do.
- Safe addition of the same router (`router-add`: the apply creates its connection, the
  lab builds the router drained, it joins the host's ECMP set once it routes, checks,
  restore): 0 lost.
- Negative controls: the same removal and addition the naive way (everything at once,
  no drain, no check), measured the same way.
- The datacenter's first router (`<dc>-edge1`) removed and added back the same way: the
  lab keeps each running router's LAN address (lab.json's slots), so the other router
  keeps .2 and nothing is re-addressed (this was refused before the slots). 0 lost.
- Afterwards `crossnet check --quick` is green.

Marked `lab` and `slow`; one lab for the module.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from network import cli
from network.lab.faults import Flow, find_flow
from network.lab.readiness import wait_ready
from network.lab.runtime import open_lab, read_state
from network.lab.system import Proc, alive, namespaces
from network.rollout.execute import execute_naive
from tests.rollout_lab import harness, scenarios
from tests.rollout_lab.harness import NET, Lab, running_lab

STACK = "rrtr"
# One step (drain, apply, the router taken down or built, checks, restore) takes 20-60 s
# on a shared 2-core machine: 50 MiB at 6 Mbit/s lasts about 70 s.
MBPS = 6.0
pytestmark = [pytest.mark.lab, pytest.mark.slow]
SEEN: dict[str, Any] = {}  # the router removed, its datacenter's original config


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with running_lab(STACK, scenarios.prod_stack()) as running:
        yield running


def _config(lab: Lab) -> dict[str, Any]:
    doc = yaml.safe_load((lab.stacks / f"Pulumi.{STACK}.yaml").read_text())
    return dict(doc["config"])


def _flow_via_second_router() -> Flow:
    rt = open_lab(STACK)
    for dc in sorted({r.datacenter for r in rt.lab.routers}):
        flow = find_flow(rt, datacenter=dc, router=f"{dc}-edge2")
        if flow is not None:
            return flow
    pytest.skip("no datacenter -> VPC flow hashes onto a datacenter's second router")


def _measured(kind: str, run: Any, flow: Flow) -> dict[str, Any]:
    return harness.measured(kind, run, MBPS, STACK, flow)


def _procs_of(key: str) -> list[Proc]:
    return harness.router_procs(STACK, key)


def _left_of(key: str) -> list[str]:
    return harness.router_left(STACK, key)


def _progress(lab: Lab) -> dict[str, Any]:
    return dict(json.loads((lab.state / STACK / "rollout" / "progress.json").read_text()))


def _rollout() -> int:
    return cli.main(["rollout", "--stack", STACK, "--lab"])


def _nothing_to_do() -> bool:
    return harness.nothing_to_do(STACK)


def _step_kinds(lab: Lab) -> list[str]:
    plan = json.loads((lab.state / STACK / "rollout" / "rollout.json").read_text())
    return [s["class"] for s in plan["steps"]]


def test_remove_a_router_safe_order_loses_nothing(lab: Lab) -> None:
    flow = _flow_via_second_router()
    key = flow.router.key
    dc, name = flow.router.datacenter, key.split("-", 1)[1]
    SEEN["key"] = key
    procs = _procs_of(key)
    assert len(procs) >= 7, procs  # zebra, bgpd, staticd and a charon per tunnel end
    harness.edit_stack(lab, scenarios.router_remove(dc, name), STACK)
    m = _measured("router-remove safe", _rollout, flow)
    assert m["result"] == 0, _progress(lab)
    assert _step_kinds(lab) == ["router-remove"]
    p = _progress(lab)
    assert p["status"] == "done", p
    assert m["spans"], "the transfer ended before the rollout did: it proves nothing"
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m
    assert m["lost"] == 0, m
    rt = open_lab(STACK)
    wait_ready(rt, 60)
    assert key not in {r.key for r in rt.lab.routers}
    assert _left_of(key) == []
    assert [p.name for p in procs if alive(p)] == []  # stopped by PID, every one
    assert _nothing_to_do()


def test_add_the_router_back_safe_order_loses_nothing(lab: Lab) -> None:
    key = SEEN.get("key")
    if key is None:
        pytest.skip("the removal case did not run")
    rt = open_lab(STACK)
    dc = key.split("-", 1)[0]
    flow = find_flow(rt, datacenter=dc)
    assert flow is not None
    harness.edit_stack(lab, scenarios.router_add(dc, key.split("-", 1)[1]), STACK)
    m = _measured("router-add safe", _rollout, flow)
    assert m["result"] == 0, _progress(lab)
    assert _step_kinds(lab) == ["router-add"]
    assert m["spans"], "the transfer ended before the rollout did: it proves nothing"
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m
    assert m["lost"] == 0, m
    rt = open_lab(STACK)
    wait_ready(rt, 60)  # every tunnel, BGP session (the fabric's too) and route
    assert key in {r.key for r in rt.lab.routers}
    state = read_state(STACK)
    assert state is not None
    frr = sorted(p.name.split()[0] for p in state.procs if p.ns == f"cxl.{STACK}.rtr.{key}")
    assert frr == ["bgpd", "staticd", "zebra"]
    assert _nothing_to_do()


def test_remove_a_router_naive_order(lab: Lab) -> None:
    """Negative control: the removal at once (AWS deletes the connection while the router
    carries, no drain), measured on the same flow."""
    key = SEEN.get("key")
    if key is None:
        pytest.skip("the removal case did not run")
    flow = find_flow(open_lab(STACK), router=key)
    if flow is None:
        pytest.skip(f"no flow leaves through {key} after it came back")
    dc, name = key.split("-", 1)
    procs = _procs_of(key)
    path = harness.edit_stack(lab, scenarios.router_remove(dc, name), STACK)
    m = _measured("router-remove naive", lambda: execute_naive(STACK, path, print), flow)
    wait_ready(open_lab(STACK), 90)
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m  # TCP retransmits what it lost
    assert _left_of(key) == [] and not any(alive(p) for p in procs)
    # What was in flight on the undrained router's paths (2-3 pings in every run so far:
    # the IKE DELETE, link tracking and the fabric absorb the rest; docs/rollout.md).
    assert m["lost"] > 0, m
    SEEN["naive-remove"] = m["lost"]


def test_add_a_router_naive_order(lab: Lab) -> None:
    """Negative control: the router added at once, its tunnels not drained."""
    key = SEEN.get("key")
    if key is None:
        pytest.skip("the removal case did not run")
    flow = find_flow(open_lab(STACK), datacenter=key.split("-", 1)[0])
    assert flow is not None
    dc, name = key.split("-", 1)
    path = harness.edit_stack(lab, scenarios.router_add(dc, name), STACK)
    m = _measured("router-add naive", lambda: execute_naive(STACK, path, print), flow)
    wait_ready(open_lab(STACK), 90)
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m
    SEEN["naive-add"] = m["lost"]


def _lan_of(key: str) -> tuple[str, ...]:
    return next(r.lan for r in open_lab(STACK).lab.routers if r.key == key)


def test_remove_the_first_router_keeps_the_others_address_and_loses_nothing(lab: Lab) -> None:
    """What a hardware refresh does last: the original router goes, the one added beside
    it stays where it is on the LAN (before lab.json kept slots: refused, re-addressing)."""
    rt = open_lab(STACK)
    flow = next(
        (f for dc in ("ash", "fra") if (f := find_flow(rt, datacenter=dc, router=f"{dc}-edge1"))),
        None,
    )
    if flow is None:
        pytest.skip("no datacenter -> VPC flow hashes onto a datacenter's first router")
    dc = flow.router.datacenter
    first, other = f"{dc}-edge1", f"{dc}-edge2"
    lan_before = _lan_of(other)
    SEEN["first"] = first
    harness.edit_stack(lab, scenarios.router_remove(dc, "edge1"), STACK)
    m = _measured("first router-remove safe", _rollout, flow)
    assert m["result"] == 0, _progress(lab)
    assert _step_kinds(lab) == ["router-remove"]
    assert m["spans"], "the transfer ended before the rollout did: it proves nothing"
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m
    assert m["lost"] == 0, m
    wait_ready(open_lab(STACK), 60)
    assert _lan_of(other) == lan_before  # not re-addressed
    state = read_state(STACK)
    assert state is not None and state.lan_slots[other] == 2 and first not in state.lan_slots
    assert _left_of(first) == []
    assert _nothing_to_do()


def test_add_the_first_router_back_takes_its_freed_slot(lab: Lab) -> None:
    first = SEEN.get("first")
    if first is None:
        pytest.skip("the first router's removal did not run")
    dc = first.split("-", 1)[0]
    flow = find_flow(open_lab(STACK), datacenter=dc)
    assert flow is not None
    harness.edit_stack(lab, scenarios.router_add(dc, "edge1"), STACK)
    m = _measured("first router-add safe", _rollout, flow)
    assert m["result"] == 0, _progress(lab)
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m
    assert m["lost"] == 0, m
    wait_ready(open_lab(STACK), 60)
    state = read_state(STACK)
    assert state is not None and (state.lan_slots[first], state.lan_slots[f"{dc}-edge2"]) == (1, 2)
    assert _nothing_to_do()


def test_afterwards_the_lab_is_the_stack_and_check_quick_is_green(lab: Lab) -> None:
    wait_ready(open_lab(STACK), 90)
    res = harness.crossnet("check", "--stack", STACK, "--quick")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert _nothing_to_do()
    dcs = _config(lab)[NET]["datacenters"]
    want = {f"{dc}-{r}" for dc, d in dcs.items() for r in d["routers"]}
    rt = open_lab(STACK)
    assert {r.key for r in rt.lab.routers} == want
    prefix = f"cxl.{STACK}.rtr."
    assert {n.removeprefix(prefix) for n in namespaces() if n.startswith(prefix)} == want
