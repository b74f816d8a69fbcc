"""The two classes that need a new customer gateway, on the package's running dev lab
(conftest.py: stack `rdev`, one router `dc1-edge1`, a VGW, BGP), while the traffic of
harness.measured flows (a 20 ms ping and a paced, SHA-256-checked 50 MiB TCP transfer
from the datacenter host to the app VPC's host):

- **router-ip**: the router's public IP changes. EC2 cannot modify a customer gateway,
  so the apply creates a new one and ModifyVpnConnection moves the connection onto it;
  the lab's AWS ends become new endpoints, the router's tunnel ends (its outside
  address, in the `dce` namespaces) take the new address from the new outputs;
- **customer-asn**: the datacenter's ASN changes: a new customer gateway too; the
  router's FRR gets its new local AS through frr-reload.py, the gateway's the new
  `remote-as`.

`dc1-edge1` is its datacenter's only path to the VGW, and ModifyVpnConnection takes both
tunnels down while AWS provisions the new endpoints: the plan states an outage (nothing
to drain onto), and the test asserts that what was lost stays within it. Each class has
its negative control: the same kind of change applied at once (`execute_naive`: one
apply, the router after, no check in between). After each case the lab is the stack:
ready, `crossnet check --quick` green, AWS's state holds the new customer gateway (the
old one deleted, the connection on the new one), and a second rollout has nothing to do.

All `slow` (`make test-slow`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from network.lab.readiness import wait_ready
from network.lab.runtime import frr_instance, open_lab
from network.lab.system import run
from network.offline.stack_state import load_state, state_path
from tests.rollout_lab.harness import (
    NET,
    ROOT,
    STACK,
    Lab,
    edit_stack,
    measured,
    naive,
    progress,
    rollout,
)

pytestmark = [pytest.mark.lab, pytest.mark.slow]
ROUTER = "dc1-edge1"
CONN = "dc1-edge1-app"
CGW = "aws:ec2/customerGateway:CustomerGateway"
VPN = "aws:ec2/vpnConnection:VpnConnection"
# What the plan states for the only router: AWS's endpoint provisioning (no figure;
# instant in the emulator) plus IKE and BGP (hold 30 s). The lab's figure must stay
# below the BGP hold time plus the router's reconfiguration.
OUTAGE_BOUND_MS = 30_000


def crossnet(*argv: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it (its own process), in this module's state directory."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "network.cli", *argv],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def aws_cgw(lab: Lab) -> dict[str, Any]:
    """AWS's customer gateways and the connection's, from the stack's state."""
    s = load_state(state_path(lab.state / STACK), STACK)
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


def outside_addresses() -> set[str]:
    """The addresses the router's tunnel ends hold on the internet side (lab `dce`s)."""
    rt = open_lab(STACK)
    out = set()
    for e in rt.lab.ends:
        if e.side == "dc":
            res = run(["ip", "-n", e.ns, "-j", "addr", "show"], check=True)
            out |= {
                a["local"]
                for link in json.loads(res.stdout)
                for a in link.get("addr_info", [])
                if a.get("family") == "inet" and not a["local"].startswith("127.")
            }
    return out


def local_as() -> set[int]:
    rt = open_lab(STACK)
    summary = json.loads(rt.vtysh(frr_instance(ROUTER), "show bgp summary json"))
    return {int(summary["ipv4Unicast"]["as"])}


def assert_lab_is_the_stack(lab: Lab, before: dict[str, Any]) -> dict[str, Any]:
    """Ready, `check --quick` green, one customer gateway (a new one) under the same
    connection, nothing temporary, nothing left to roll out."""
    wait_ready(open_lab(STACK), 90)
    res = crossnet("check", "--stack", STACK, "--quick")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert " 0 failed" in res.stdout
    now = aws_cgw(lab)
    assert now["count"] == 1 and now["vpnCgw"] in now["ids"], now
    assert now["vpnCgw"] != before["vpnCgw"], "the connection is on a new customer gateway"
    assert now["vpnId"] == before["vpnId"], "ModifyVpnConnection: the same connection"
    rt = open_lab(STACK)
    assert {e.conn_name for e in rt.lab.ends} == {f"{CONN}-1", f"{CONN}-2"}
    assert not [p for p in (lab.state / STACK).rglob("*mbb*")]
    res2 = crossnet("rollout", "--stack", STACK)
    assert res2.returncode == 0 and "nothing to roll out" in res2.stdout, res2.stdout
    return now


def _public_ip(ip: str) -> Callable[[dict[str, Any]], None]:
    def edit(cfg: dict[str, Any]) -> None:
        cfg[NET]["datacenters"]["dc1"]["routers"]["edge1"]["publicIp"] = ip

    return edit


def _asn(asn: int) -> Callable[[dict[str, Any]], None]:
    def edit(cfg: dict[str, Any]) -> None:
        cfg[NET]["datacenters"]["dc1"]["asn"] = asn

    return edit


def _safe(lab: Lab, kind: str) -> dict[str, Any]:
    m = measured(f"{kind} safe", lambda: rollout(lab), mbps=10.0)
    assert m["result"] == 0
    p = progress(lab)
    assert p["status"] == "done" and p["steps"] == {"1": "done"}, p
    plan = json.loads((lab.state / STACK / "rollout" / "rollout.json").read_text())
    [step] = plan["steps"]
    assert step["class"] == kind and step["impact"]["loss"] == "outage"
    assert step["drained"] == []  # nothing to drain onto: the checks say when it is back
    assert any("ModifyVpnConnection" in op for op in step["aws"]["operations"])
    assert m["spans"], "the transfer ended before the rollout did: it proves nothing"
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m
    assert m["lostMs"] <= OUTAGE_BOUND_MS, m  # within the stated outage
    return m


# ---------------------------------------------------------------- the router's public IP
def test_router_ip_only_router_outage_is_bounded(lab: Lab) -> None:
    before = aws_cgw(lab)
    assert outside_addresses() == {"192.0.2.10"}
    edit_stack(lab, _public_ip("192.0.2.11"))
    _safe(lab, "router-ip")
    now = assert_lab_is_the_stack(lab, before)
    assert now["ip"] == {"192.0.2.11"}
    assert outside_addresses() == {"192.0.2.11"}


def test_router_ip_naive_order_loses_traffic(lab: Lab) -> None:
    """Negative control: the same kind of change applied at once, no check between."""
    before = aws_cgw(lab)
    path = edit_stack(lab, _public_ip("192.0.2.12"))
    m = measured("router-ip naive", lambda: naive(lab, path))
    now = assert_lab_is_the_stack(lab, before)
    assert now["ip"] == {"192.0.2.12"} and outside_addresses() == {"192.0.2.12"}
    assert m["lost"] > 0 or not m["transfer"]["ok"], m


# ---------------------------------------------------------------- the customer ASN
def test_customer_asn_only_router_outage_is_bounded(lab: Lab) -> None:
    before = aws_cgw(lab)
    assert local_as() == {65010}
    edit_stack(lab, _asn(65011))
    _safe(lab, "customer-asn")
    now = assert_lab_is_the_stack(lab, before)
    assert now["asn"] == {"65011"} and local_as() == {65011}


def test_customer_asn_naive_order_loses_traffic(lab: Lab) -> None:
    before = aws_cgw(lab)
    path = edit_stack(lab, _asn(65012))
    m = measured("customer-asn naive", lambda: naive(lab, path))
    now = assert_lab_is_the_stack(lab, before)
    assert now["asn"] == {"65012"} and local_as() == {65012}
    assert m["lost"] > 0 or not m["transfer"]["ok"], m
