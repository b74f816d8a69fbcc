"""`crossnet rollout --lab` on a running prod lab (ECMP over a transit gateway, two
datacenters of two routers each) while traffic flows: the safe order loses nothing, the
naive one (everything at once, no drain) is measured the same way.

The stack (`rprod`) is prod's config under a name of its own (namespaces `cxl.rprod.*`),
so the reachability suite's prod lab never meets it. The lab runs its datacenter fabric
(iBGP between a datacenter's routers over the LAN, network.lab.fabric): a router whose
tunnels are drained forwards what the datacenter host's static ECMP hands it to its
peer, so the planner's after-drain `route-avoids` check holds for a whole router.

Each case: a 20 ms ping and a paced, SHA-256-checked 50 MiB TCP transfer from a
datacenter host to a VPC host along a flow whose path crosses the change (the tunnel it
leaves by is measured, `faults.find_flow`), the change run meanwhile, then the counts.
One lab for the module; every case `slow` (`make test-slow`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from network import cli
from network.lab.faults import Flow, find_flow
from network.lab.readiness import wait_ready
from network.lab.runtime import open_lab
from network.rollout.execute import execute_naive
from network.state import outputs_path
from tests.rollout_lab import harness, scenarios
from tests.rollout_lab.harness import MBPS, NET, ROOT, Lab, running_lab

STACK = "rprod"
REPLACED = "fra-edge2-hub"
# The replacement's one step (drain a whole router, delete + create, render, restore)
# takes 30-60 s on a shared 2-core machine: 50 MiB at 6 Mbit/s lasts about 70 s.
SLOW_MBPS = 6.0
pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with running_lab(STACK, (ROOT / "stacks" / "Pulumi.prod.yaml").read_text()) as running:
        yield running


def edit_stack(lab: Lab, edit: Callable[[dict[str, Any]], None]) -> Path:
    return harness.edit_stack(lab, edit, STACK)


def measured(kind: str, run: Callable[[], Any], flow: Flow, mbps: float) -> dict[str, Any]:
    return harness.measured(kind, run, mbps, STACK, flow)


def progress(lab: Lab) -> dict[str, Any]:
    return dict(json.loads((lab.state / STACK / "rollout" / "progress.json").read_text()))


def rollout() -> int:
    return cli.main(["rollout", "--stack", STACK, "--lab"])


def _flow() -> Flow:
    flow = find_flow(open_lab(STACK))
    assert flow is not None, "prod's lab has no datacenter -> VPC flow with ICMP and TCP"
    return flow


def _psk(conn: str, names: tuple[str, str], values: tuple[str, str]) -> Any:
    return scenarios.psk(names, values, conn)


# ---------------------------------------------------------------- PSK rotation
def _dc_connections(flow: Flow) -> list[str]:
    """Every connection of the flow's datacenter (both of its routers), in name order."""
    lab = open_lab(STACK).lab
    dc = lab.router_of(lab.end("dc", flow.tunnel)).datacenter
    return sorted(c.name for r, c in lab.connections() if r.datacenter == dc)


def _psks(conns: list[str], tag: str) -> Any:
    """New keys for both tunnels of every connection in `conns`."""
    edits = [
        _psk(c, (f"{tag}{i}a", f"{tag}{i}b"), (f"Prod{tag}Key{i}One1", f"Prod{tag}Key{i}Two2"))
        for i, c in enumerate(conns)
    ]

    def edit(cfg: dict[str, Any]) -> None:
        for e in edits:
            e(cfg)

    return edit


def test_prod_psk_rotation_safe_order_loses_nothing(lab: Lab) -> None:
    """The keys of every connection of the datacenter the flow leaves from (both routers,
    so its flow's tunnel too), tunnel by tunnel, each drained: the tunnel's other half,
    the datacenter's other router over the fabric, and the TGW's ECMP carry."""
    flow = _flow()
    conns = _dc_connections(flow)
    assert len(conns) >= 2, conns  # two routers: the case this module is for
    edit_stack(lab, _psks(conns, "ps"))
    m = measured("prod psk safe", rollout, flow, MBPS)
    assert m["result"] == 0
    p = progress(lab)
    assert p["status"] == "done", p
    assert list(p["steps"].values()) == ["done"] * (2 * len(conns)), p  # one tunnel each
    assert m["spans"], "the transfer ended before the rollout did: it proves nothing"
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m
    assert m["lost"] == 0, m
    rt = open_lab(STACK)
    wait_ready(rt, 60)
    conn = rt.lab.end("dc", flow.tunnel).connection
    router = rt.lab.router_of(rt.lab.end("dc", flow.tunnel)).key
    conf = (rt.router_dir(router) / "conf.d" / f"{conn}-1.conf").read_text()
    assert f"ProdpsKey{conns.index(conn)}One1" in conf
    assert rollout() == 0  # nothing left to roll out


def test_prod_psk_rotation_naive_order(lab: Lab) -> None:
    """Negative control: the same rotation (every connection of the datacenter) at once,
    AWS side then the routers, no drain: the datacenter has no path until its routers
    follow, so the flow loses traffic."""
    flow = _flow()
    path = edit_stack(lab, _psks(_dc_connections(flow), "pn"))
    m = measured("prod psk naive", lambda: execute_naive(STACK, path, print), flow, MBPS)
    wait_ready(open_lab(STACK), 90)
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m  # TCP retransmits what it lost
    assert m["lost"] > 0, m


# ---------------------------------------------------------------- replacing a connection
def _routing(kind: str) -> Callable[[dict[str, Any]], None]:
    def edit(cfg: dict[str, Any]) -> None:
        cfg[NET]["connections"][REPLACED]["routing"] = kind

    return edit


def _aws_ips() -> set[str]:
    out = json.loads(outputs_path(STACK).read_text())
    [c] = [c for c in out["routers"]["fra-edge2"]["connections"] if c["name"] == REPLACED]
    return {t["awsOutsideIp"] for t in c["tunnels"]}


def _replaced_flow() -> Flow:
    """A flow from fra's host whose packets leave through fra-edge2 (the router drained)."""
    flow = find_flow(open_lab(STACK), datacenter="fra", router="fra-edge2")
    if flow is None:
        pytest.skip("no fra -> VPC flow hashes onto fra-edge2 (the host's static ECMP)")
    return flow


def test_prod_replace_connection_with_another_router_carrying_loses_nothing(lab: Lab) -> None:
    """fra-edge2-hub from BGP to static (ForceNew: a new connection): the whole of
    fra-edge2 is drained, its share carried by fra-edge1 over the fabric (the after-drain
    `route-avoids` checks hold), the connection deleted and created, the router
    reconfigured from the new outputs, checked, restored."""
    flow = _replaced_flow()
    before = _aws_ips()
    edit_stack(lab, _routing("static"))
    m = measured("prod replace safe", rollout, flow, SLOW_MBPS)
    assert m["result"] == 0, progress(lab)
    p = progress(lab)
    assert p["status"] == "done" and p["steps"] == {"1": "done"}, p
    plan = json.loads((lab.state / STACK / "rollout" / "rollout.json").read_text())
    [step] = plan["steps"]
    assert step["class"] == "connection-replace" and step["aws"]["destroyFirst"]
    assert set(step["drained"]) == {f"{REPLACED}-1", f"{REPLACED}-2"}
    assert {c["kind"] for c in step["checks"] if c["when"] == "after-drain"} >= {"route-avoids"}
    assert m["spans"], "the transfer ended before the rollout did: it proves nothing"
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m
    assert m["lost"] == 0, m
    after = _aws_ips()
    assert after and not after & before  # a new connection: new outside addresses
    wait_ready(open_lab(STACK), 60)
    assert rollout() == 0


def test_prod_replace_connection_naive_order(lab: Lab) -> None:
    """Negative control: back to BGP (ForceNew again), deleted and created at once, the
    router following, no drain."""
    flow = _replaced_flow()
    before = _aws_ips()
    path = edit_stack(lab, _routing("bgp"))
    m = measured(
        "prod replace naive",
        lambda: execute_naive(STACK, path, print, destroy=(f"{REPLACED}-vpn",)),
        flow,
        MBPS,
    )
    assert not _aws_ips() & before
    wait_ready(open_lab(STACK), 90)
    assert m["lost"] > 0 or not m["transfer"]["ok"], m
