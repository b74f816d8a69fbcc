"""Moving dev's VGW connection to a transit gateway on a running lab (ModifyVpnConnection).

The edit: a transit gateway `hub` (AS 64600, no ECMP) attached to the app VPC (a
`transit` tier of /28 subnets for the attachment), and `dc1-edge1-app` moved from
`app-vgw` to `hub`. AWS's documented migration, as the planner orders it: (1) the TGW,
its attachment and route tables first, in an apply of their own, no tunnel touched;
(2) ModifyVpnConnection (with BGP no static route to delete first), the TGW's route
tables and the VPC routes in the same apply, the router peering with the TGW's ASN.
The lab's AWS side moves as AWS's does (`network.lab.gwmove`): both tunnels' old
endpoints deleted (their IKE SAs), new ones on the TGW's FRR namespace (the same outside
addresses, inside CIDRs and keys: the connection stays), the app VPC's host re-linked
to the TGW, kept running.

The connection is dev's only path: AWS forces an outage (both tunnels down while the
new endpoints are provisioned), so step 2 states `outage` and carries no drain (with no
other path a drain moves nothing and its checks cannot hold). The test asserts what
the step states: step 1 loses nothing, the transfer arrives intact (TCP carries it
over the outage), and the ping's loss lies within step 2's own bound, measured on the
lab: from the start of its AWS side until its after-change checks hold (AWS's
endpoint provisioning, then IKE and BGP on the router).

Negative control: the same edit as one apply (`pulumi up` with the gateway changed,
the TGW created in the same run), AWS and the router at once, no checks between. Each
case has a lab of its own (both start from dev's VGW). Marked `lab` and `slow`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from network.lab.readiness import wait_ready
from network.lab.runtime import open_lab
from network.lab.system import namespaces
from network.rollout import execute as executor
from network.state import outputs_path
from tests.rollout_lab.harness import (
    ROOT,
    STACK,
    Lab,
    edit_stack,
    measured,
    naive,
    progress,
    rollout,
    running_lab,
)
from tests.rollout_lab.scenarios import BY_NAME, vgw_to_tgw

pytestmark = [pytest.mark.lab, pytest.mark.slow]
CONN = "dc1-edge1-app"
MBPS = 8.0  # 50 MiB in about 52 s: it spans the two steps and the outage


@pytest.fixture
def lab() -> Iterator[Lab]:
    """A dev lab of the case's own (each case starts on the VGW)."""
    with running_lab(STACK, (ROOT / "stacks" / "Pulumi.dev.yaml").read_text()) as running:
        yield running


def _gateway() -> dict[str, Any]:
    out = json.loads(outputs_path(STACK).read_text())
    [c] = out["routers"]["dc1-edge1"]["connections"]
    return {"gateway": c["gateway"], "id": c["vpnConnectionId"], "ips": c["tunnels"]}


def assert_on_the_tgw(before: dict[str, Any], app_pid: int) -> None:
    """The lab is the edited stack: the connection (same ID, outside addresses) on the
    TGW, the AWS ends in the TGW's namespace, BGP with AS 64600, the VGW's namespace
    gone, the app VPC's host the same process, reached."""
    after = _gateway()
    assert after["gateway"]["type"] == "tgw" and after["gateway"]["asn"] == 64600
    assert after["id"] == before["id"]
    assert [t["awsOutsideIp"] for t in after["ips"]] == [t["awsOutsideIp"] for t in before["ips"]]
    rt = open_lab(STACK)
    wait_ready(rt, 60)  # every planned tunnel, session (AS 64600) and route
    [gw] = rt.lab.gateways
    assert gw.type == "tgw" and gw.ns == f"cxl.{STACK}.gw.hub"
    assert {e.router_ns for e in rt.lab.ends if e.side == "aws"} == {gw.ns}
    assert f"cxl.{STACK}.gw.app-vgw" not in namespaces()
    summary = json.loads(rt.vtysh("frr-dc1-edge1", "show bgp summary json"))
    peers = summary["ipv4Unicast"]["peers"]
    assert {(p["remoteAs"], p["state"]) for p in peers.values()} == {(64600, "Established")}
    [agent] = [p for p in rt.state.procs if p.ns == f"cxl.{STACK}.vpc.app"]
    assert agent.pid == app_pid  # the VPC's host was not restarted


def _app_agent() -> int:
    rt = open_lab(STACK)
    [agent] = [p for p in rt.state.procs if p.ns == f"cxl.{STACK}.vpc.app"]
    return agent.pid


def record_phases(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, float]]:
    """Every (step, phase, time.monotonic()) the executor enters, as it enters it."""
    phases: list[tuple[str, str, float]] = []
    real = executor.execute

    def execute(*a: Any, **kw: Any) -> Any:
        inner = kw.get("phase")

        def phase(step: str, name: str) -> None:
            phases.append((step, name, time.monotonic()))
            if inner is not None:
                inner(step, name)

        return real(*a, **{**kw, "phase": phase})

    monkeypatch.setattr(executor, "execute", execute)
    return phases


def test_move_to_tgw_safe_order_states_its_outage_and_stays_within_it(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, pid = _gateway(), _app_agent()
    edit_stack(lab, BY_NAME["vgw-to-tgw"].safe)
    phases = record_phases(monkeypatch)
    m = measured("gateway-move safe", lambda: rollout(lab), mbps=MBPS)
    assert m["result"] == 0
    plan = json.loads((lab.state / STACK / "rollout" / "rollout.json").read_text())
    assert [s["class"] for s in plan["steps"]] == ["other", "gateway-move"]
    assert [s["impact"]["loss"] for s in plan["steps"]] == ["0", "outage"]
    assert plan["steps"][1]["drained"] == []  # no other path: nothing to drain onto
    p = progress(lab)
    assert p["status"] == "done" and p["steps"] == {"1": "done", "2": "done"}, p
    assert m["spans"], "the transfer ended before the rollout did: it proves nothing"
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m
    start = next(t for s, name, t in phases if s == "2" and name.startswith("apply"))
    end = next(t for s, name, t in phases if s == "2" and name == "checks after restore")
    bound_ms = round((end - start) * 1000)
    print(f"gateway-move safe: step 2 bound (AWS side to checks holding) {bound_ms} ms")
    assert 0 < m["lostMs"] <= bound_ms, (m, bound_ms)  # the outage AWS forces, no more
    assert_on_the_tgw(before, pid)
    assert rollout(lab) == 0  # nothing left to roll out


def test_move_to_tgw_naive_in_one_apply(lab: Lab) -> None:
    """Negative control: the TGW and the move in one apply, the router at once."""
    before, pid = _gateway(), _app_agent()
    path = edit_stack(lab, BY_NAME["vgw-to-tgw"].naive)
    m = measured("gateway-move naive", lambda: naive(lab, path), mbps=MBPS)
    assert m["lost"] > 0, m  # both tunnels down while the endpoints move
    assert_on_the_tgw(before, pid)


# ---------------------------------------------------------------- static (staging)
STATIC_CONN = "dc1-edge1-web"


@pytest.fixture
def static_lab() -> Iterator[Lab]:
    """staging's config (static routing on a VGW, one router) as this package's stack."""
    with running_lab(STACK, (ROOT / "stacks" / "Pulumi.staging.yaml").read_text()) as running:
        yield running


_static_to_tgw = vgw_to_tgw("web", STATIC_CONN)


def test_static_move_to_tgw_deletes_its_routes_first_and_stays_within_its_outage(
    static_lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The static connection: its route deleted (DeleteVpnConnectionRoute, refresh; the
    lab gateway's static routes gone), then the move; the outage starts with the
    deletion and ends when the step's checks hold."""
    edit_stack(static_lab, _static_to_tgw)
    phases = record_phases(monkeypatch)
    m = measured("gateway-move static safe", lambda: rollout(static_lab), mbps=MBPS)
    assert m["result"] == 0
    plan = json.loads((static_lab.state / STACK / "rollout" / "rollout.json").read_text())
    assert [s["class"] for s in plan["steps"]] == ["other", "gateway-move"]
    assert plan["steps"][1]["aws"]["commands"][0].startswith("aws ec2 delete-vpn-connection-route")
    assert progress(static_lab)["status"] == "done"
    assert m["spans"] and m["transfer"]["ok"] and m["bytesLost"] == 0, m
    start = next(t for s, name, t in phases if s == "2" and name.startswith("apply"))
    end = next(t for s, name, t in phases if s == "2" and name == "checks after restore")
    bound_ms = round((end - start) * 1000)
    print(f"gateway-move static safe: step 2 bound {bound_ms} ms")
    assert 0 < m["lostMs"] <= bound_ms, (m, bound_ms)
    rt = open_lab(STACK)
    wait_ready(rt, 60)
    [gw] = rt.lab.gateways
    assert gw.type == "tgw" and {e.router_ns for e in rt.lab.ends if e.side == "aws"} == {gw.ns}
    assert rollout(static_lab) == 0


def test_static_move_to_tgw_naive_in_one_apply_is_refused(static_lab: Lab) -> None:
    """Negative control: the move in one apply. AWS refuses ModifyVpnConnection while the
    connection has static routes: the apply fails, the lab (and the traffic) unchanged."""
    path = edit_stack(static_lab, _static_to_tgw)

    def attempt() -> str:
        try:
            naive(static_lab, path)
        except executor.RolloutFailedError as e:
            return str(e)
        return ""

    m = measured("gateway-move static naive", attempt, mbps=16.0)
    assert "static routes" in m["result"] and "IncorrectState" in m["result"], m["result"]
    assert m["transfer"]["ok"] and m["bytesLost"] == 0 and m["lost"] == 0, m
    rt = open_lab(STACK)
    [gw] = rt.lab.gateways
    assert gw.type == "vgw"
