"""The two classes that need a new customer gateway, on a running lab while traffic flows
(a 20 ms ping and a paced, SHA-256-checked 50 MiB TCP transfer from the datacenter host
to the VPC's host, harness.py):

- **router-ip**: the router's public IP changes. EC2 cannot modify a customer gateway,
  so the apply creates a new one and ModifyVpnConnection moves the connection onto it
  (both tunnels down while AWS provisions the new endpoints); the lab's AWS ends become
  new endpoints, the router's tunnel ends (its outside address, in the `dce`
  namespaces) take the new address from the new outputs;
- **customer-asn**: the datacenter's ASN changes: a new customer gateway too; the
  router's FRR gets its new local AS through frr-reload.py, the gateway's FRR the new
  `remote-as`, the AWS ends drop their SAs (new endpoints).

The module's lab (`rcgw`) is dev's config behind a transit gateway: one router, one BGP
connection `dc1-edge1-hub`. The router is its datacenter's only path:
- router-ip there is make before break (network/rollout/cgw.py): a TGW takes several
  connections from one device, so `dc1-edge1-hub-mbb` comes up on the new address (a
  customer gateway of its own), carries while the connection moves, and goes: 0 lost;
- customer-asn is an outage the plan states (FRR has one local AS; AWS takes both
  tunnels down), and the test asserts what was lost stays within it;
- on a VGW (dev's own config, `rdev`, a lab of its own in one case) router-ip is an
  outage too: a VGW takes one connection per customer gateway address.
Each class has its negative control: the same kind of change applied at once
(`execute_naive`: one apply, the router after, no drain, no check). After each case the
lab is the stack: ready, `crossnet check --quick` green, AWS's state holds the new
customer gateway under the same connection, nothing temporary, nothing to roll out.

All `slow` (`make test-slow`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import yaml

from network import cli
from network.lab import traffic
from network.lab.readiness import wait_ready
from network.lab.runtime import frr_instance, open_lab
from network.lab.system import namespaces, run
from network.offline.stack_state import load_state, state_path
from network.rollout.execute import execute_naive
from tests.rollout_lab import scenarios
from tests.rollout_lab.harness import MBPS, NET, ROOT, TRANSFER, Lab, crossnet, running_lab

pytestmark = [pytest.mark.lab, pytest.mark.slow]
STACK = "rcgw"
VGW_STACK = "rdev"
ROUTER = "dc1-edge1"
CGW = "aws:ec2/customerGateway:CustomerGateway"
VPN = "aws:ec2/vpnConnection:VpnConnection"
# What the plan states for the only router: AWS's endpoint provisioning (no figure;
# instant in the emulator) plus IKE and BGP (hold 30 s). The lab's figure must stay
# below the BGP hold time.
OUTAGE_BOUND_MS = 30_000
SAFE_MBPS = 6.0  # the three-step make before break: 50 MiB last about 70 s


tgw_stack = scenarios.rtgw_stack  # dev behind a transit gateway, shared with the bench


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with running_lab(STACK, tgw_stack()) as running:
        yield running


def edit(lab: Lab, stack: str, change: Callable[[dict[str, Any]], None]) -> Any:
    path = lab.stacks / f"Pulumi.{stack}.yaml"
    doc = yaml.safe_load(path.read_text())
    change(doc["config"][NET])
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def public_ip(ip: str, router_id: str = "") -> Callable[[dict[str, Any]], None]:
    def change(net: dict[str, Any]) -> None:
        net["datacenters"]["dc1"]["routers"]["edge1"]["publicIp"] = ip
        if router_id:  # the BGP router ID kept: a new one resets every session
            net["datacenters"]["dc1"]["routers"]["edge1"]["routerId"] = router_id

    return change


def asn(value: int) -> Callable[[dict[str, Any]], None]:
    def change(net: dict[str, Any]) -> None:
        net["datacenters"]["dc1"]["asn"] = value

    return change


def measured(stack: str, kind: str, go: Callable[[], Any], mbps: float) -> dict[str, Any]:
    """`go` while the traffic flows: the counts, the wall time, what `go` returned, and
    whether the transfer was still running when `go` returned (it spans the change)."""
    flows = traffic.start(open_lab(stack), TRANSFER, mbps)
    t0 = time.monotonic()
    result = go()
    wall = round(time.monotonic() - t0, 1)
    spans = flows.send.poll() is None
    m = flows.finish() | {"wall": wall, "result": result, "spans": spans}
    print(
        f"{kind}: {wall} s, pings {m['replies'] + m['lost']} sent, {m['lost']} lost "
        f"({m['lostMs']} ms), bytes lost {m['bytesLost']}, transfer ok {m['transfer']['ok']}, "
        f"spans the change {spans}"
    )
    return m


def aws_cgw(lab: Lab, stack: str) -> dict[str, Any]:
    """AWS's customer gateways and the connection's, from the stack's state."""
    s = load_state(state_path(lab.state / stack), stack)
    assert s is not None
    cgws = [r for r in s.resources if r.type == CGW]
    [vpn] = [r for r in s.resources if r.type == VPN]
    return {
        "count": len(cgws),
        "ids": {r.id for r in cgws},
        "ip": {r.inputs.get("ipAddress") for r in cgws},
        "asn": {str(r.inputs.get("bgpAsn")) for r in cgws},
        "vpnCgw": vpn.inputs.get("customerGatewayId"),
        "vpnId": vpn.id,
    }


def outside_addresses(stack: str, router: str | None = None) -> set[str]:
    """The addresses the routers' tunnel ends (or `router`'s alone) hold on the internet
    side (the lab's `dce`s)."""
    rt = open_lab(stack)
    out: set[str] = set()
    for e in rt.lab.ends:
        if e.side == "dc" and (router is None or rt.lab.router_of(e).key == router):
            res = run(["ip", "-n", e.ns, "-j", "addr", "show"], check=True)
            out |= {
                a["local"]
                for link in json.loads(res.stdout)
                for a in link.get("addr_info", [])
                if a.get("family") == "inet" and not a["local"].startswith("127.")
            }
    return out


def local_as(stack: str) -> set[int]:
    summary = json.loads(open_lab(stack).vtysh(frr_instance(ROUTER), "show bgp summary json"))
    return {int(summary["ipv4Unicast"]["as"])}


def assert_lab_is_the_stack(lab: Lab, stack: str, before: dict[str, Any]) -> dict[str, Any]:
    """Ready, `check --quick` green, one customer gateway (a new one) under the same
    connection, nothing temporary, nothing left to roll out."""
    rt = open_lab(stack)
    wait_ready(rt, 90)
    res = crossnet("check", "--stack", stack, "--quick")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert " 0 failed" in res.stdout
    now = aws_cgw(lab, stack)
    assert now["count"] == 1 and now["vpnCgw"] in now["ids"], now
    assert now["vpnCgw"] != before["vpnCgw"], "the connection is on a new customer gateway"
    assert now["vpnId"] == before["vpnId"], "ModifyVpnConnection: the same connection"
    [conn] = {e.connection for e in rt.lab.ends}
    assert {e.conn_name for e in rt.lab.ends} == {f"{conn}-1", f"{conn}-2"}
    assert not [n for n in namespaces() if "mbb" in n]
    conf_d = sorted(p.name for p in (rt.router_dir(ROUTER) / "conf.d").glob("*.conf"))
    assert conf_d == [f"{conn}-1.conf", f"{conn}-2.conf"]
    res2 = crossnet("rollout", "--stack", stack)
    assert res2.returncode == 0 and "nothing to roll out" in res2.stdout, res2.stdout
    return now


def plan_of(lab: Lab, stack: str) -> dict[str, Any]:
    return dict(json.loads((lab.state / stack / "rollout" / "rollout.json").read_text()))


def safe(lab: Lab, stack: str, kind: str, mbps: float) -> dict[str, Any]:
    """`rollout --lab` under traffic: done, intact, 0 bytes lost, spanning the change."""
    m = measured(
        stack, f"{kind} safe", lambda: cli.main(["rollout", "--stack", stack, "--lab"]), mbps
    )
    assert m["result"] == 0
    p = json.loads((lab.state / stack / "rollout" / "progress.json").read_text())
    assert p["status"] == "done" and set(p["steps"].values()) == {"done"}, p
    assert {s["class"] for s in plan_of(lab, stack)["steps"]} == {kind}
    assert m["spans"], "the transfer ended before the rollout did: it proves nothing"
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m
    return m


def outage_step(lab: Lab, stack: str) -> None:
    """The plan of the only router: one step, no drain, the outage stated."""
    [step] = plan_of(lab, stack)["steps"]
    assert step["impact"]["loss"] == "outage" and step["drained"] == []
    assert any("ModifyVpnConnection" in op for op in step["aws"]["operations"])


# ---------------------------------------------------------------- router-ip, TGW: mbb
def test_router_ip_make_before_break_on_a_tgw_loses_nothing(lab: Lab) -> None:
    before = aws_cgw(lab, STACK)
    assert outside_addresses(STACK) == {"192.0.2.10"}
    edit(lab, STACK, public_ip("192.0.2.11", router_id="192.0.2.10"))
    m = safe(lab, STACK, "router-ip", SAFE_MBPS)
    steps = plan_of(lab, STACK)["steps"]
    assert len(steps) == 3 and {s["impact"]["loss"] for s in steps} == {"0"}
    assert steps[0]["drained"] == ["dc1-edge1-hub-mbb-1", "dc1-edge1-hub-mbb-2"]
    assert steps[1]["drained"] == ["dc1-edge1-hub-1", "dc1-edge1-hub-2"]
    assert m["lost"] == 0, m
    now = assert_lab_is_the_stack(lab, STACK, before)
    assert now["ip"] == {"192.0.2.11"} and outside_addresses(STACK) == {"192.0.2.11"}


def test_router_ip_naive_order_on_a_tgw_loses_traffic(lab: Lab) -> None:
    """Negative control: the same kind of change applied at once, no twin, no drain."""
    before = aws_cgw(lab, STACK)
    path = edit(lab, STACK, public_ip("192.0.2.12"))
    m = measured(STACK, "router-ip naive", lambda: execute_naive(STACK, path, print), MBPS)
    now = assert_lab_is_the_stack(lab, STACK, before)
    assert now["ip"] == {"192.0.2.12"} and outside_addresses(STACK) == {"192.0.2.12"}
    assert m["lost"] > 0 or not m["transfer"]["ok"], m


# ---------------------------------------------------------------- customer-asn: outage
def test_customer_asn_only_router_outage_is_bounded(lab: Lab) -> None:
    before = aws_cgw(lab, STACK)
    assert local_as(STACK) == {65010}
    edit(lab, STACK, asn(65011))
    m = safe(lab, STACK, "customer-asn", 10.0)
    outage_step(lab, STACK)
    assert m["lostMs"] <= OUTAGE_BOUND_MS, m  # within the stated outage
    now = assert_lab_is_the_stack(lab, STACK, before)
    assert now["asn"] == {"65011"} and local_as(STACK) == {65011}


def test_customer_asn_naive_order_loses_traffic(lab: Lab) -> None:
    before = aws_cgw(lab, STACK)
    path = edit(lab, STACK, asn(65012))
    m = measured(STACK, "customer-asn naive", lambda: execute_naive(STACK, path, print), MBPS)
    now = assert_lab_is_the_stack(lab, STACK, before)
    assert now["asn"] == {"65012"} and local_as(STACK) == {65012}
    assert m["lost"] > 0 or not m["transfer"]["ok"], m


# ---------------------------------------------------------------- router-ip, VGW: outage
def test_router_ip_on_a_vgw_only_router_outage_is_bounded() -> None:
    """A VGW takes one connection per customer gateway address: no twin on the new
    address can carry while the connection moves, so the plan states the outage. Its own
    lab (dev's config, `rdev`), safe and naive one after the other."""
    source = (ROOT / "stacks" / "Pulumi.dev.yaml").read_text()
    with running_lab(VGW_STACK, source) as vgw:
        before = aws_cgw(vgw, VGW_STACK)
        edit(vgw, VGW_STACK, public_ip("192.0.2.11"))
        m = safe(vgw, VGW_STACK, "router-ip", 10.0)
        outage_step(vgw, VGW_STACK)
        assert m["lostMs"] <= OUTAGE_BOUND_MS, m
        mid = assert_lab_is_the_stack(vgw, VGW_STACK, before)
        assert outside_addresses(VGW_STACK) == {"192.0.2.11"}
        path = edit(vgw, VGW_STACK, public_ip("192.0.2.12"))
        n = measured(
            VGW_STACK, "router-ip vgw naive", lambda: execute_naive(VGW_STACK, path, print), MBPS
        )
        assert_lab_is_the_stack(vgw, VGW_STACK, mid)
        assert outside_addresses(VGW_STACK) == {"192.0.2.12"}
        assert n["lost"] > 0 or not n["transfer"]["ok"], n
